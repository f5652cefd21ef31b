"""Applying payment events to the real ledger: credits once, revocations by cumulative target."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcore import (
    AccountInDebt,
    IdempotencyConflict,
    OfferClosed,
    PaymentError,
    UnknownAccount,
    UnknownChannel,
    UnknownOffer,
    UnknownTransaction,
)
from creditcore.ledger import InMemoryStore, Ledger, ManualClock
from creditcore.payments import (
    IgnoredEvent,
    PaymentCompleted,
    PaymentDisputed,
    PaymentRefunded,
    apply_payment_event,
    credits_to_revoke,
)
from creditcore.pricing import Money, example_catalog

CATALOG = example_catalog()
MONDAY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
# Friday 2026-11-20 19:00 in New York (UTC-5): inside the Weekend Flash Sale (Fri 18:00-Sun 23:00)
FRIDAY_EVENING = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
# Thursday 2026-11-19 12:00 in New York: outside both offers' windows
THURSDAY = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
PRICE = Money(Decimal("299.99"))


def usd(text: str) -> Money:
    return Money(Decimal(text))


def new_ledger(*users: str, allowance: int = 0) -> Ledger:
    ledger = Ledger(InMemoryStore(), clock=ManualClock(MONDAY))
    for user in users or ("u",):
        ledger.open_account(user, monthly_allowance=allowance)
    return ledger


def paid(
    event_id: str = "evt_paid",
    payment_id: str = "pi_1",
    *,
    user_id: str = "u",
    at: datetime = MONDAY,
    pack_id: str | None = "studio-pack",
    offer_id: str | None = None,
    price_id: str | None = None,
    amount: Money = PRICE,
) -> PaymentCompleted:
    return PaymentCompleted(
        event_id, payment_id, user_id, amount, at, pack_id=pack_id, offer_id=offer_id,
        price_id=price_id,
    )  # fmt: skip


def refunded(event_id: str, refunded_amount: str, payment_id: str = "pi_1") -> PaymentRefunded:
    return PaymentRefunded(event_id, payment_id, PRICE, usd(refunded_amount), MONDAY)


def disputed(event_id: str = "evt_dispute", payment_id: str = "pi_1") -> PaymentDisputed:
    return PaymentDisputed(event_id, payment_id, PRICE, MONDAY)


# -- completions -----------------------------------------------------------------------------------


def test_a_completed_payment_adds_the_pack_to_purchased_credits_once() -> None:
    ledger = new_ledger(allowance=15)
    first = apply_payment_event(ledger, paid(), CATALOG)
    again = apply_payment_event(ledger, paid(), CATALOG)
    other_event = apply_payment_event(ledger, paid("evt_async"), CATALOG)
    assert (first.action, first.credits) == ("credited", 500)
    assert [again.action, other_event.action] == ["already_applied"] * 2
    assert again.duplicate
    assert again.transaction_id == first.transaction_id
    balance = ledger.balance("u")
    assert (balance.purchased, balance.current, balance.consumed_this_month) == (500, 515, 0)


@pytest.mark.parametrize(
    ("ids", "credits"),
    [
        ({"price_id": "price_studio_pack", "pack_id": None}, 500),
        ({"pack_id": "studio-pack", "price_id": "price_studio_pack"}, 500),
    ],
)
def test_the_product_may_be_named_by_a_provider_price(ids: dict[str, str], credits: int) -> None:
    ledger = new_ledger()
    outcome = apply_payment_event(ledger, paid(**ids), CATALOG)  # type: ignore[arg-type]
    assert outcome.credits == credits
    assert ledger.balance("u").purchased == credits


def test_two_different_products_in_one_event_are_refused_and_change_nothing() -> None:
    ledger = new_ledger()
    with pytest.raises(PaymentError, match="names"):
        apply_payment_event(ledger, paid(price_id="price_weekend_flash_sale"), CATALOG)
    assert ledger.balance("u").purchased == 0


@pytest.mark.parametrize(
    ("ids", "error"),
    [
        ({"pack_id": "no-such-pack"}, UnknownChannel),
        ({"pack_id": None, "price_id": "price_unknown"}, UnknownChannel),
        ({"pack_id": None, "offer_id": "no-such-offer"}, UnknownOffer),
    ],
)
def test_an_unknown_product_changes_nothing(ids: dict[str, str], error: type[Exception]) -> None:
    ledger = new_ledger()
    with pytest.raises(error):
        apply_payment_event(ledger, paid(**ids), CATALOG)  # type: ignore[arg-type]
    assert ledger.balance("u").purchased == 0


def test_a_payment_for_a_user_without_an_account_changes_nothing() -> None:
    ledger = new_ledger()
    with pytest.raises(UnknownAccount):
        apply_payment_event(ledger, paid(user_id="stranger"), CATALOG)
    assert ledger.store.purchase_by_payment("pi_1") is None


def test_the_same_payment_claimed_for_another_user_is_a_conflict() -> None:
    ledger = new_ledger("u", "v")
    apply_payment_event(ledger, paid(), CATALOG)
    with pytest.raises(IdempotencyConflict):
        apply_payment_event(ledger, paid("evt_other", user_id="v"), CATALOG)
    assert (ledger.balance("u").purchased, ledger.balance("v").purchased) == (500, 0)


def test_a_lootbox_paid_in_its_window_lands_even_when_delivered_after_it_closed() -> None:
    ledger = new_ledger()  # the ledger's clock says Monday: the weekend sale is over
    event = paid(pack_id=None, offer_id="weekend-flash-sale", at=FRIDAY_EVENING, amount=usd("9.99"))
    outcome = apply_payment_event(ledger, event, CATALOG)
    assert outcome.credits == 200
    lots = ledger.account("u").lots
    assert [(lot.kind, lot.credits) for lot in lots] == [("lootbox", 200)]


def test_a_lootbox_paid_outside_its_window_is_refused_with_the_next_opening() -> None:
    ledger = new_ledger()
    event = paid(pack_id=None, price_id="price_weekend_flash_sale", at=THURSDAY, amount=usd("9.99"))
    with pytest.raises(OfferClosed) as caught:
        apply_payment_event(ledger, event, CATALOG)
    # next opening: Friday 2026-11-20 18:00 New York = 23:00 UTC
    assert caught.value.context["next_opening"] == datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    assert ledger.balance("u").purchased == 0


def test_an_ignored_event_changes_nothing() -> None:
    ledger = new_ledger()
    outcome = apply_payment_event(ledger, IgnoredEvent("evt_x", "customer.created"), CATALOG)
    assert outcome.action == "ignored"
    assert ledger.history("u").transactions[0].kind == "open"


# -- refunds and disputes ------------------------------------------------------------------------


def test_a_partial_refund_takes_back_the_refunded_share_rounded_up() -> None:
    ledger = new_ledger()
    apply_payment_event(ledger, paid(), CATALOG)
    outcome = apply_payment_event(ledger, refunded("evt_r1", "100.00"), CATALOG)
    # 500 × 100.00 / 299.99 = 166.67 → 167
    assert (outcome.action, outcome.credits) == ("revoked", 167)
    assert ledger.balance("u").purchased == 333


def test_partial_refunds_use_the_cumulative_total_so_rounding_never_adds_up() -> None:
    ledger = new_ledger()
    apply_payment_event(ledger, paid(), CATALOG)
    apply_payment_event(ledger, refunded("evt_r1", "0.01"), CATALOG)
    apply_payment_event(ledger, refunded("evt_r2", "0.02"), CATALOG)
    # 0.02 of 299.99 is 0.033 credits: one credit in all, not one per refund
    assert ledger.balance("u").purchased == 499


def test_an_older_refund_event_arriving_late_changes_nothing() -> None:
    ledger = new_ledger()
    apply_payment_event(ledger, paid(), CATALOG)
    apply_payment_event(ledger, refunded("evt_r2", "150.00"), CATALOG)
    late = apply_payment_event(ledger, refunded("evt_r1", "50.00"), CATALOG)
    assert late.action == "already_applied"
    # 500 × 150 / 299.99 = 250.008 → 251
    assert ledger.balance("u").purchased == 249


def test_a_full_refund_then_a_dispute_takes_everything_once() -> None:
    ledger = new_ledger()
    apply_payment_event(ledger, paid(), CATALOG)
    apply_payment_event(ledger, refunded("evt_r", "299.99"), CATALOG)
    assert apply_payment_event(ledger, disputed(), CATALOG).action == "already_applied"
    assert ledger.balance("u").purchased == 0


def test_a_dispute_after_spending_leaves_debt_that_blocks_spending_until_repaid() -> None:
    ledger = new_ledger(allowance=15)
    apply_payment_event(ledger, paid(), CATALOG)
    ledger.consume("u", 420)  # purchased credits go first
    outcome = apply_payment_event(ledger, disputed(), CATALOG)
    assert (outcome.credits, outcome.debt) == (500, 420)
    balance = ledger.balance("u")
    assert (balance.purchased, balance.debt) == (0, 420)
    with pytest.raises(AccountInDebt):
        ledger.consume("u", 1)
    apply_payment_event(ledger, paid("evt_2", "pi_2"), CATALOG)  # the next pack pays the debt
    balance = ledger.balance("u")
    assert (balance.purchased, balance.debt) == (80, 0)
    ledger.consume("u", 1)
    assert ledger.verify("u").ok


def test_a_refund_for_a_payment_never_booked_changes_nothing() -> None:
    ledger = new_ledger()
    with pytest.raises(UnknownTransaction):
        apply_payment_event(ledger, refunded("evt_r", "10.00"), CATALOG)
    with pytest.raises(UnknownTransaction):
        apply_payment_event(ledger, disputed(), CATALOG)
    assert len(ledger.history("u").transactions) == 1


def test_a_revocation_racing_from_a_stale_total_is_refused_then_converges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger = new_ledger()
    apply_payment_event(ledger, paid(), CATALOG)
    apply_payment_event(ledger, refunded("evt_r1", "30.00"), CATALOG)  # 50.002 → 51
    # a second process read the total before the first refund landed
    with monkeypatch.context() as patch:
        patch.setattr(ledger, "revoked", lambda _payment_id: 0)
        with pytest.raises(IdempotencyConflict):
            apply_payment_event(ledger, refunded("evt_r2", "60.00"), CATALOG)
    assert ledger.balance("u").purchased == 449
    apply_payment_event(ledger, refunded("evt_r2", "60.00"), CATALOG)  # the retry
    # 500 × 60 / 299.99 = 100.003 → 101
    assert ledger.balance("u").purchased == 399


@given(
    credits=st.integers(1, 10_000),
    cents=st.integers(1, 10**7),
    data=st.data(),
)
def test_credits_to_revoke_is_the_fewest_credits_covering_the_refund(
    credits: int, cents: int, data: st.DataObject
) -> None:
    amount = Money(Decimal(cents) / 100)
    back = data.draw(st.integers(0, cents))
    event = PaymentRefunded("e", "p", amount, Money(Decimal(back) / 100), MONDAY)
    n = credits_to_revoke(credits, event)
    # n credits are worth n × amount / credits; they cover the refund, n − 1 would not
    assert 0 <= n <= credits
    assert n * Fraction(cents) >= credits * Fraction(back)
    assert n == 0 or (n - 1) * Fraction(cents) < credits * Fraction(back)


def test_a_dispute_revokes_everything_and_a_zero_price_refund_is_handled() -> None:
    assert credits_to_revoke(500, disputed()) == 500
    free = PaymentRefunded("e", "p", usd("0"), usd("0"), MONDAY)
    assert credits_to_revoke(500, free) == 0
