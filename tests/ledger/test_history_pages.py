"""History pages iterate, and an opaque cursor walks the whole journal exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditcore import InvalidInput, UnknownAccount, to_jsonable
from creditcore.ledger import InMemoryStore, Ledger, ManualClock

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def ledger_with(spends: int) -> Ledger:
    book = Ledger(InMemoryStore(), clock=ManualClock(NOW))
    book.open_account("u", monthly_allowance=1000)
    for _ in range(spends):
        book.consume("u", 1)
    return book


@settings(max_examples=40)
@given(st.integers(0, 25), st.integers(1, 30))
def test_the_cursor_walks_every_transaction_once_newest_first(spends: int, limit: int) -> None:
    book = ledger_with(spends)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = book.history("u", limit=limit, cursor=cursor)
        assert len(page) <= limit
        seen += [tx.seq for tx in page]  # a page iterates its transactions
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    total = spends + 1  # the opening and one transaction per consume
    assert seen == list(range(total, 0, -1))
    assert pages == max(1, -(-total // limit))


def test_a_page_iterates_and_its_cursor_is_opaque() -> None:
    book = ledger_with(4)
    page = book.history("u", limit=2)
    assert [tx.seq for tx in page] == [5, 4]
    assert list(page) == list(page.transactions)
    assert page.next_cursor is not None
    assert page.next_before is not None
    assert str(page.next_before) not in page.next_cursor
    assert book.history("u", limit=2, cursor=page.next_cursor) == book.history(
        "u", limit=2, before=page.next_before
    )
    document = to_jsonable(page)
    assert isinstance(document, dict)
    assert document["next_cursor"] == page.next_cursor
    last = book.history("u", limit=10)
    assert (last.next_cursor, last.next_before) == (None, None)


@pytest.mark.parametrize("cursor", ["", "bogus!", "aDE6MA", "aDI6Mw", "x" * 100, "é"])
def test_a_cursor_not_handed_out_is_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ledger_with(1).history("u", cursor=cursor)
    assert caught.value.context["field"] == "cursor"


def test_before_and_cursor_together_are_refused_and_unknown_accounts_stay_unknown() -> None:
    book = ledger_with(3)
    cursor = book.history("u", limit=1).next_cursor
    with pytest.raises(InvalidInput):
        book.history("u", before=2, cursor=cursor)
    with pytest.raises(UnknownAccount):
        book.history("nobody", cursor=cursor)
