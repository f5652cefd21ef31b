"""Opening accounts, purchases (idempotent on payment id), lootbox windows, charge-backs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from creditcore import (
    AccountInDebt,
    DuplicateId,
    IdempotencyConflict,
    InvalidAmount,
    InvalidInput,
    OfferClosed,
    OverRefund,
    UnknownAccount,
    UnknownOffer,
    UnknownTransaction,
)
from creditcore.ledger import InMemoryStore, Ledger, ManualClock
from creditcore.pricing import Money, example_catalog
from tests.ledger.helpers import everything


def test_open_account_issues_the_allowance_for_the_current_month(ledger: Ledger) -> None:
    tx = ledger.open_account("u", monthly_allowance=150, tier="PLUS")
    assert tx.kind == "open"
    assert tx.seq == 1
    bal = ledger.balance("u")
    assert (bal.current, bal.purchased, bal.monthly_allowance, bal.consumed_this_month) == (
        150,
        0,
        150,
        0,
    )
    view = ledger.account("u")
    assert view.account.period == "2026-11"
    (lot,) = view.lots
    assert lot.kind == "subscription"
    assert lot.expires_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_open_account_twice_is_a_duplicate(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15)
    before = everything(ledger)
    with pytest.raises(DuplicateId):
        ledger.open_account("u", monthly_allowance=500)
    assert everything(ledger) == before


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10", None])
def test_open_account_refuses_bad_allowances(ledger: Ledger, bad: object) -> None:
    with pytest.raises(InvalidAmount):
        ledger.open_account("u", monthly_allowance=bad)  # type: ignore[arg-type]
    with pytest.raises(UnknownAccount):
        ledger.balance("u")


def test_zero_allowance_account_has_no_subscription_lot(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=0)
    assert ledger.account("u").lots == ()
    assert ledger.balance("u").current == 0


def test_purchase_adds_to_purchased_only(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15)
    tx = ledger.purchase("u", 500, payment_id="pi_1", amount=Money(Decimal("299.99")))
    bal = ledger.balance("u")
    assert (bal.purchased, bal.monthly_allowance, bal.current) == (500, 15, 515)
    assert tx.metadata["amount"] == "299.99"
    assert tx.metadata["currency"] == "USD"
    lot = next(lot for lot in ledger.account("u").lots if lot.kind == "purchased")
    assert (lot.amount, lot.currency, lot.source) == (Decimal("299.99"), "USD", "pi_1")


def test_same_payment_twice_adds_once_and_returns_the_first(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=0)
    first = ledger.purchase("u", 500, payment_id="pi_1")
    again = ledger.purchase("u", 500, payment_id="pi_1")
    assert again == first
    assert ledger.balance("u").purchased == 500
    assert len(ledger.history("u").transactions) == 2


def test_same_payment_with_other_details_is_a_conflict(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=0)
    ledger.open_account("v", monthly_allowance=0)
    ledger.purchase("u", 500, payment_id="pi_1")
    before = everything(ledger)
    with pytest.raises(IdempotencyConflict):
        ledger.purchase("u", 499, payment_id="pi_1")
    with pytest.raises(IdempotencyConflict):
        ledger.purchase("v", 500, payment_id="pi_1")
    assert everything(ledger) == before


@pytest.mark.parametrize("amount", [9.99, Decimal("NaN"), Decimal("-1"), "9.99"])
def test_purchase_refuses_bad_money(ledger: Ledger, amount: object) -> None:
    ledger.open_account("u", monthly_allowance=0)
    before = everything(ledger)
    with pytest.raises(InvalidAmount):
        ledger.purchase("u", 10, payment_id="p", amount=amount)  # type: ignore[arg-type]
    assert everything(ledger) == before


def test_purchase_for_unknown_account(ledger: Ledger) -> None:
    with pytest.raises(UnknownAccount):
        ledger.purchase("ghost", 10, payment_id="p")
    assert ledger.store.purchase_by_payment("p") is None


# The Weekend Flash Sale runs Friday 18:00 to Sunday 23:00 in the catalog's time zone
# (America/New_York in the example: UTC-5 in November).
FRIDAY_EVENING = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # 15:00 New York: closed
SATURDAY = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)  # open


def test_lootbox_succeeds_while_the_window_is_open(clock: ManualClock, ledger: Ledger) -> None:
    catalog = example_catalog()
    offer = catalog.offer("weekend-flash-sale")
    ledger.open_account("u", monthly_allowance=0)
    clock.set(SATURDAY)
    tx = ledger.purchase(
        "u", offer.credits, payment_id="p1", amount=offer.price, kind="lootbox", offer=offer
    )
    assert tx.metadata["offer"] == "weekend-flash-sale"
    lot = next(lot for lot in ledger.account("u").lots)
    assert lot.kind == "lootbox"
    assert ledger.balance("u").purchased == offer.credits  # lootbox counts as purchased
    # by id, through the catalog
    ledger.purchase(
        "u", 200, payment_id="p2", amount=Money(Decimal("9.99")), kind="lootbox",
        offer="weekend-flash-sale", catalog=catalog,
    )  # fmt: skip
    assert ledger.balance("u").purchased == 2 * offer.credits


def test_lootbox_outside_the_window_is_refused_with_next_opening(
    clock: ManualClock, ledger: Ledger
) -> None:
    offer = example_catalog().offer("weekend-flash-sale")
    ledger.open_account("u", monthly_allowance=0)
    clock.set(FRIDAY_EVENING)
    before = everything(ledger)
    with pytest.raises(OfferClosed) as err:
        ledger.purchase("u", 200, payment_id="p1", amount=offer.price, kind="lootbox", offer=offer)
    assert err.value.context["next_opening"] == datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    assert everything(ledger) == before
    # the payment id was not used up: the same payment goes through once the window opens
    clock.set(SATURDAY)
    ledger.purchase("u", 200, payment_id="p1", amount=offer.price, kind="lootbox", offer=offer)


def test_lootbox_needs_an_offer(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=0)
    with pytest.raises(InvalidInput):
        ledger.purchase("u", 5, payment_id="p", kind="lootbox")
    with pytest.raises(InvalidInput):
        ledger.purchase("u", 5, payment_id="p", kind="lootbox", offer="weekend-flash-sale")
    with pytest.raises(UnknownOffer):
        ledger.purchase(
            "u", 5, payment_id="p", kind="lootbox", offer="nope", catalog=example_catalog()
        )
    with pytest.raises(InvalidInput):
        ledger.purchase("u", 5, payment_id="p", kind="gift")  # type: ignore[arg-type]


def test_replayed_lootbox_webhook_after_the_window_returns_the_first(
    clock: ManualClock, ledger: Ledger
) -> None:
    offer = example_catalog().offer("weekend-flash-sale")
    ledger.open_account("u", monthly_allowance=0)
    clock.set(SATURDAY)
    first = ledger.purchase(
        "u", 200, payment_id="p1", amount=offer.price, kind="lootbox", offer=offer
    )
    clock.set(FRIDAY_EVENING.replace(day=27))
    again = ledger.purchase(
        "u", 200, payment_id="p1", amount=offer.price, kind="lootbox", offer=offer
    )
    assert again == first


def test_revoke_removes_unspent_and_turns_spent_into_debt(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=10)
    ledger.purchase("u", 50, payment_id="p1")
    ledger.consume("u", 30)  # all from the purchase (purchased first)
    tx = ledger.revoke_purchase("p1", reason="chargeback")
    assert tx.credits == 50
    assert tx.metadata["reason"] == "chargeback"
    bal = ledger.balance("u")
    assert (bal.purchased, bal.debt, bal.current) == (0, 30, 10)
    for spend in (
        lambda: ledger.consume("u", 1),
        lambda: ledger.reserve("u", 1),
        lambda: ledger.charge("u", "seedream-v4", catalog=example_catalog()),
    ):
        before = everything(ledger)
        with pytest.raises(AccountInDebt) as err:
            spend()
        assert err.value.context["debt"] == 30
        assert everything(ledger) == before
    # the next purchase pays the debt first
    ledger.purchase("u", 40, payment_id="p2")
    bal = ledger.balance("u")
    assert (bal.purchased, bal.debt) == (10, 0)
    ledger.consume("u", 1)
    assert ledger.verify("u").ok


def test_revoke_partially_then_over_revoke(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=0)
    ledger.purchase("u", 50, payment_id="p1")
    ledger.revoke_purchase("p1", 20)
    assert ledger.balance("u").purchased == 30
    before = everything(ledger)
    with pytest.raises(OverRefund) as err:
        ledger.revoke_purchase("p1", 31)
    assert err.value.context["refundable"] == 30
    assert everything(ledger) == before
    ledger.revoke_purchase("p1")
    with pytest.raises(OverRefund):
        ledger.revoke_purchase("p1")
    assert ledger.balance("u").purchased == 0


def test_revoke_unknown_payment(ledger: Ledger) -> None:
    with pytest.raises(UnknownTransaction):
        ledger.revoke_purchase("nope")


def test_revoke_is_idempotent_on_its_key(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=0)
    ledger.purchase("u", 50, payment_id="p1")
    first = ledger.revoke_purchase("p1", 10, key="evt_1")
    assert ledger.revoke_purchase("p1", 10, key="evt_1") == first
    with pytest.raises(IdempotencyConflict):
        ledger.revoke_purchase("p1", 11, key="evt_1")
    assert ledger.balance("u").purchased == 40


@pytest.mark.parametrize("store", [None, object(), "ledger.sqlite3"])
def test_ledger_refuses_what_is_not_a_store(store: object) -> None:
    with pytest.raises(InvalidInput) as err:
        Ledger(store)  # type: ignore[arg-type]
    assert err.value.context["field"] == "store"


def test_ledger_refuses_a_clock_that_cannot_be_called() -> None:
    with pytest.raises(InvalidInput) as err:
        Ledger(InMemoryStore(), clock=datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]
    assert err.value.context["field"] == "clock"


def test_revoked_counts_only_that_payments_revocations(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=0)
    ledger.purchase("u", 500, payment_id="pay-a")
    ledger.purchase("u", 300, payment_id="pay-b")
    assert ledger.revoked("pay-a") == 0
    ledger.revoke_purchase("pay-a", 100)
    ledger.revoke_purchase("pay-b", 30)
    ledger.revoke_purchase("pay-a", 50)
    assert ledger.revoked("pay-a") == 150
    assert ledger.revoked("pay-b") == 30
    journal = ledger.store.transactions("u")
    assert sum(t.credits for t in journal if t.kind == "revoke") == 180
    with pytest.raises(UnknownTransaction):
        ledger.revoked("pay-unknown")
