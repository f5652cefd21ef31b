"""balance(at=...), history paging, verify (which catches tampering), the journal's shape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcore import InvalidInput, UnknownAccount
from creditcore.ledger import SYSTEM_ACCOUNTS, InMemoryStore, Ledger, ManualClock
from creditcore.stores.sqlite import SQLiteStore
from tests.ledger.conftest import T0


def test_balance_at_a_past_instant(clock: ManualClock, ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    clock.advance(timedelta(hours=1))
    ledger.purchase("u", 50, payment_id="p")
    clock.advance(timedelta(hours=1))
    ledger.consume("u", 70)
    at = ledger.balance
    assert at("u", at=T0).current == 100
    assert at("u", at=T0 + timedelta(minutes=90)).current == 150
    later = at("u", at=T0 + timedelta(hours=3))
    assert (later.current, later.purchased, later.consumed_this_month) == (80, 0, 20)
    assert at("u", at=T0 - timedelta(days=1)).current == 0


def test_history_pages_newest_first(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    for _ in range(6):
        ledger.consume("u", 1)
    page = ledger.history("u", limit=4)
    assert [t.seq for t in page.transactions] == [7, 6, 5, 4]
    assert page.next_before == 4
    rest = ledger.history("u", limit=4, before=page.next_before)
    assert [t.seq for t in rest.transactions] == [3, 2, 1]
    assert rest.next_before is None
    with pytest.raises(InvalidInput):
        ledger.history("u", limit=0)
    with pytest.raises(UnknownAccount):
        ledger.history("ghost")


@given(ops=st.lists(st.tuples(st.sampled_from(["buy", "use", "back"]), st.integers(1, 30))))
def test_every_transaction_balances_and_carries_running_balances(
    ops: list[tuple[str, int]],
) -> None:
    ledger = Ledger(InMemoryStore(), ManualClock(T0))
    ledger.open_account("u", monthly_allowance=20)
    spent: list[str] = []
    for i, (op, n) in enumerate(ops):
        if op == "buy":
            ledger.purchase("u", n, payment_id=f"p{i}")
        elif op == "use" and n <= ledger.balance("u").available:
            spent.append(ledger.consume("u", n).id)
        elif op == "back" and spent:
            ledger.refund(spent.pop())
    running: dict[str, int] = {}
    for tx in ledger.store.transactions("u"):
        assert sum(e.delta for e in tx.entries) == 0
        for e in tx.entries:
            running[e.account] = running.get(e.account, 0) + e.delta
            assert e.balance_after == running[e.account]
            assert e.account.startswith("lot:") or e.account in (*SYSTEM_ACCOUNTS, "debt")
    lots = sum(v for k, v in running.items() if k.startswith("lot:"))
    assert lots == ledger.balance("u").current
    assert ledger.verify("u").ok


def test_verify_catches_a_tampered_lot(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "l.db"
    ledger = Ledger(SQLiteStore(path), ManualClock(T0))
    ledger.open_account("u", monthly_allowance=100)
    ledger.purchase("u", 50, payment_id="p")
    assert ledger.verify("u").ok
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE lots SET remaining = remaining + 1 WHERE kind = 'purchased'")
    report = ledger.verify("u")
    assert not report.ok
    assert any("stored 51, replay 50" in p for p in report.problems)


def test_verify_catches_an_unbalanced_transaction(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "l.db"
    ledger = Ledger(SQLiteStore(path), ManualClock(T0))
    ledger.open_account("u", monthly_allowance=100)
    ledger.consume("u", 10)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE transactions SET entries = replace(entries, '\"consumed\", 10', "
            "'\"consumed\", 9') WHERE kind = 'consume'"
        )
    report = ledger.verify("u")
    assert not report.ok
    assert any("sum to" in p for p in report.problems)


def test_history_bounds_past_64_bits_mean_everything_on_sqlite(tmp_path: Path) -> None:
    ledger = Ledger(SQLiteStore(tmp_path / "big.sqlite3"), ManualClock(T0))
    ledger.open_account("u", monthly_allowance=100)
    for n in range(3):
        ledger.consume("u", 1 + n)
    everything_newest_first = [t.seq for t in ledger.history("u", limit=10).transactions]
    assert everything_newest_first == [4, 3, 2, 1]  # open + three consumptions, by hand
    huge = 10**30
    assert [t.seq for t in ledger.history("u", limit=huge).transactions] == [4, 3, 2, 1]
    page = ledger.history("u", limit=2, before=huge)
    assert ([t.seq for t in page.transactions], page.next_before) == ([4, 3], 3)
