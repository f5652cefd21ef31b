"""Regression tests for the failure classes of issue 8 that every store shares.

Each runs on every store of the contract suite (memory, SQLite, PostgreSQL): the refusal must be
the same named error everywhere, and nothing may be written by a refused call.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from creditcore import (
    CreditLimitExceeded,
    IdempotencyConflict,
    InvalidInput,
    OverRefund,
    UnknownTier,
)
from creditcore.ledger import MAX_CREDITS, MAX_ID_LENGTH, Ledger, LedgerStore, ManualClock
from creditcore.pricing import Money, example_catalog
from tests.ledger.conftest import T0
from tests.stores.factories import StoreFactory, factory_params, require


@pytest.fixture(params=factory_params())
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    factory: StoreFactory = request.param
    require(factory)
    with factory.open(tmp_path) as store:
        yield store


@pytest.fixture
def on_any(any_store: LedgerStore) -> Ledger:
    return Ledger(any_store, ManualClock(T0))


# --- 1, 7: text no store can keep, and ids past the one limit --------------------------------


def test_a_lone_surrogate_is_invalid_input_and_the_next_write_lands(on_any: Ledger) -> None:
    with pytest.raises(InvalidInput, match="surrogate"):
        on_any.consume("\ud800", 1)
    on_any.open_account("bob", monthly_allowance=1)
    # visible through the store's own reads (another connection on SQL stores)
    assert on_any.store.user_ids() == ["bob"]
    with pytest.raises(InvalidInput):
        on_any.change_tier("bob", "PLUS\ud83d", monthly_allowance=1)
    with pytest.raises(InvalidInput):
        on_any.consume("bob", 1, metadata={"note": "\udfff"})
    assert on_any.consume("bob", 1).credits == 1
    assert on_any.verify("bob").ok


@pytest.mark.parametrize("field", ["user_id", "key", "payment_id"])
def test_ids_and_keys_past_the_limit_are_invalid_input_on_every_store(
    on_any: Ledger, field: str
) -> None:
    on_any.open_account("u", monthly_allowance=5)
    at_limit = "k" * 255  # MAX_ID_LENGTH, written out
    too_long = "k" * 3000
    assert len(at_limit) == MAX_ID_LENGTH
    on_any.purchase("u", 1, payment_id=at_limit, key=at_limit)  # the limit itself is accepted
    calls = {
        "user_id": lambda: on_any.open_account(too_long, monthly_allowance=1),
        "key": lambda: on_any.consume("u", 1, key=too_long),
        "payment_id": lambda: on_any.purchase("u", 1, payment_id=too_long),
    }
    with pytest.raises(InvalidInput, match="at most 255") as refused:
        calls[field]()
    assert refused.value.context["limit"] == 255
    assert on_any.store.user_ids() == ["u"]
    assert len(on_any.store.transactions("u")) == 2


# --- 4: only ASCII YYYY-MM, dates and aware datetimes are periods ------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "2026-12\n",
        "2026-12 ",
        "\uff12\uff10\uff12\uff16-12",
        "\u0662\u0660\u0662\u0666-12",
        "2026-1",
    ],
)
def test_only_ascii_periods_reset(on_any: Ledger, bad: str) -> None:
    on_any.open_account("u", monthly_allowance=10)
    assert on_any.reset_month("u", "2026-12") is not None
    before = on_any.store.transactions("u")
    with pytest.raises(InvalidInput):
        on_any.reset_month("u", bad)
    assert on_any.reset_month("u", "2026-12") is None  # no second allowance
    assert on_any.store.transactions("u") == before
    assert on_any.account("u").account.period == "2026-12"


def test_a_date_and_an_aware_datetime_are_periods(on_any: Ledger) -> None:
    on_any.open_account("u", monthly_allowance=10)
    assert on_any.reset_month("u", date(2026, 12, 31)) is not None
    # 2027-01-01 00:30 at +01:00 is still December in UTC
    late = datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert on_any.reset_month("u", late) is None


# --- 8: what used to escape as a raw builtin ----------------------------------------------------


def test_bad_offers_and_catalogs_are_invalid_input(on_any: Ledger) -> None:
    on_any.open_account("u", monthly_allowance=1)
    with pytest.raises(InvalidInput):
        on_any.purchase("u", 5, payment_id="p1", kind="lootbox", offer=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        on_any.purchase("u", 5, payment_id="p2", kind="lootbox", offer="x", catalog={})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        on_any.charge("u", "op", catalog={})  # type: ignore[arg-type]
    assert len(on_any.store.transactions("u")) == 1


def test_a_clock_in_the_last_month_of_the_calendar_is_invalid_input(any_store: LedgerStore) -> None:
    ledger = Ledger(any_store, ManualClock(datetime(9999, 12, 15, tzinfo=UTC)))
    with pytest.raises(InvalidInput):
        ledger.open_account("u", monthly_allowance=1)
    assert any_store.user_ids() == []


# --- 9: equal requests are equal --------------------------------------------------------------


def test_a_redelivered_purchase_with_an_equal_amount_is_not_a_conflict(on_any: Ledger) -> None:
    on_any.open_account("u", monthly_allowance=0)
    first = on_any.purchase("u", 500, payment_id="pi", amount=Money(Decimal("299.99"), "USD"))
    again = on_any.purchase("u", 500, payment_id="pi", amount=Money(Decimal("299.990"), "USD"))
    assert again == first
    with pytest.raises(IdempotencyConflict):
        on_any.purchase("u", 500, payment_id="pi", amount=Money(Decimal("299.98"), "USD"))


def test_a_reserve_with_the_same_instant_in_another_offset_is_the_same_request(
    on_any: Ledger,
) -> None:
    on_any.open_account("u", monthly_allowance=10)
    utc = datetime(2026, 11, 10, 13, 0, tzinfo=UTC)
    paris = datetime(2026, 11, 10, 14, 0, tzinfo=timezone(timedelta(hours=1)))
    first = on_any.reserve("u", 3, expires_at=utc, key="r")
    assert on_any.reserve("u", 3, expires_at=paris, key="r") == first
    with pytest.raises(IdempotencyConflict):
        on_any.reserve("u", 3, expires_at=utc + timedelta(seconds=1), key="r")


# --- issue 13 (a): one credit bound on requests and on balances ---------------------------------


def test_a_purchase_past_the_balance_limit_is_refused_by_name(on_any: Ledger) -> None:
    on_any.open_account("u", monthly_allowance=0)
    on_any.purchase("u", 2**53 - 11, payment_id="big")
    with pytest.raises(CreditLimitExceeded) as refused:
        on_any.purchase("u", 11, payment_id="over")
    assert refused.value.context["limit"] == MAX_CREDITS == 2**53 - 1
    on_any.purchase("u", 10, payment_id="exactly")  # up to the limit itself is fine
    assert on_any.balance("u").current == 2**53 - 1
    assert on_any.store.purchase_by_payment("over") is None


# --- issue 13 (b): tiers checked against a catalog when one is given ----------------------------


def test_tiers_are_checked_against_a_catalog_when_one_is_given(on_any: Ledger) -> None:
    catalog = example_catalog()
    with pytest.raises(UnknownTier):
        on_any.open_account("u", monthly_allowance=5, tier="GOLD", catalog=catalog)
    assert on_any.store.user_ids() == []
    on_any.open_account("u", monthly_allowance=5, tier="PLUS", catalog=catalog)
    with pytest.raises(UnknownTier):
        on_any.change_tier("u", "GOLD", monthly_allowance=5, catalog=catalog)
    assert on_any.account("u").account.tier == "PLUS"
    on_any.change_tier("u", "PRO", monthly_allowance=5, catalog=catalog)
    on_any.change_tier("u", "ANY-NAME", monthly_allowance=5)  # no catalog: not checked
    assert on_any.account("u").account.tier == "ANY-NAME"


# --- issue 13 (c): twice says "already" ---------------------------------------------------------


def test_refunding_or_revoking_twice_says_it_was_already_done(on_any: Ledger) -> None:
    on_any.open_account("u", monthly_allowance=10)
    spent = on_any.consume("u", 4)
    on_any.refund(spent.id)
    with pytest.raises(OverRefund, match="already fully refunded") as refund:
        on_any.refund(spent.id)
    assert refund.value.context["refundable"] == 0
    on_any.purchase("u", 5, payment_id="pi")
    on_any.revoke_purchase("pi")
    with pytest.raises(OverRefund, match="already fully revoked"):
        on_any.revoke_purchase("pi")
    second = on_any.consume("u", 4)
    on_any.refund(second.id, 2)
    with pytest.raises(OverRefund, match="only 2 of 4"):
        on_any.refund(second.id, 3)
