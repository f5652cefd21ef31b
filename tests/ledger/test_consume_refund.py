"""Consumption (purchased first), refunds (subscription first), the alternative policies, and
"a failed call changes nothing"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcore import (
    InsufficientCredits,
    InvalidAmount,
    InvalidInput,
    NaiveDatetime,
    OverRefund,
    UnknownAccount,
    UnknownTransaction,
)
from creditcore.ledger import (
    ExpiringFirst,
    InMemoryStore,
    Ledger,
    ManualClock,
    RestoreDrawnLots,
)
from tests.ledger.conftest import T0
from tests.ledger.helpers import everything
from tests.strategies.ledger import bad_credits


def lot_ids(ledger: Ledger, user: str) -> dict[str, str]:
    """Lot id by source (payment id, or ``sub`` for the subscription lot)."""
    return {
        (lot.source if lot.kind != "subscription" else "sub") or lot.id: lot.id
        for lot in ledger.store.lots(user)
    }


def test_consume_takes_purchased_first_oldest_first(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    ledger.purchase("u", 30, payment_id="old")
    ledger.purchase("u", 20, payment_id="new")
    ids = lot_ids(ledger, "u")
    tx = ledger.consume("u", 60)
    # by hand: p = min(60, 50) = 50 purchased (30 oldest, then 20), 10 from the subscription
    assert tx.drawn() == {ids["old"]: 30, ids["new"]: 20, ids["sub"]: 10}
    bal = ledger.balance("u")
    assert (bal.purchased, bal.consumed_this_month, bal.current) == (0, 10, 90)
    assert [e.balance_after for e in tx.entries] == [0, 0, 90, 60]


def test_expiring_first_takes_the_subscription_first(clock: ManualClock) -> None:
    ledger = Ledger(InMemoryStore(), clock, spend_order=ExpiringFirst())
    ledger.open_account("u", monthly_allowance=100)
    ledger.purchase("u", 30, payment_id="p")
    ids = lot_ids(ledger, "u")
    tx = ledger.consume("u", 110)
    assert tx.drawn() == {ids["sub"]: 100, ids["p"]: 10}


def test_consume_more_than_available_changes_nothing(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15)
    ledger.purchase("u", 5, payment_id="p")
    before = everything(ledger)
    with pytest.raises(InsufficientCredits) as err:
        ledger.consume("u", 21)
    assert err.value.context["requested"] == 21
    assert err.value.context["available"] == 20
    assert everything(ledger) == before


@given(bad=bad_credits())
def test_bad_amounts_are_refused_everywhere(bad: Any) -> None:
    ledger = Ledger(InMemoryStore(), ManualClock(T0))
    ledger.open_account("u", monthly_allowance=15)
    ledger.purchase("u", 5, payment_id="p")
    spent = ledger.consume("u", 3)
    hold = ledger.reserve("u", 2)
    before = everything(ledger)
    calls: list[Callable[[], object]] = [
        lambda: ledger.consume("u", bad),
        lambda: ledger.purchase("u", bad, payment_id="q"),
        lambda: ledger.reserve("u", bad),
    ]
    if bad is not None:  # None means "all" for these three
        calls += [
            lambda: ledger.refund(spent.id, bad),
            lambda: ledger.capture(hold.id, bad),
            lambda: ledger.revoke_purchase("p", bad),
        ]
    for call in calls:
        with pytest.raises(InvalidAmount):
            call()
    assert everything(ledger) == before


def test_unknown_account_and_bad_ids(ledger: Ledger) -> None:
    with pytest.raises(UnknownAccount):
        ledger.consume("ghost", 1)
    with pytest.raises(UnknownAccount):
        ledger.balance("ghost")
    with pytest.raises(InvalidInput):
        ledger.consume("", 1)
    with pytest.raises(UnknownTransaction):
        ledger.refund("tx_nope")


def test_metadata_is_kept_and_checked(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15)
    tx = ledger.consume("u", 1, metadata={"job": "j1", "seconds": 5, "ok": True, "n": None})
    assert ledger.store.transaction(tx.id) == tx
    assert dict(tx.metadata) == {"job": "j1", "seconds": 5, "ok": True, "n": None}
    before = everything(ledger)
    with pytest.raises(InvalidInput):
        ledger.consume("u", 1, metadata={"cost": 0.5})  # type: ignore[dict-item]
    assert everything(ledger) == before


def test_refund_restores_the_subscription_first(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    ledger.purchase("u", 30, payment_id="p")
    tx = ledger.consume("u", 50)  # 30 purchased + 20 subscription
    ledger.refund(tx.id, 25)
    # by hand: s = min(25, consumed_this_month=20) = 20 back to the subscription, 5 to purchased
    bal = ledger.balance("u")
    assert (bal.consumed_this_month, bal.purchased, bal.current) == (0, 5, 105)
    with pytest.raises(OverRefund) as err:
        ledger.refund(tx.id, 26)
    assert err.value.context["refundable"] == 25
    ledger.refund(tx.id)  # the rest: 25, all to purchased (nothing consumed this month)
    assert ledger.balance("u").purchased == 30
    with pytest.raises(OverRefund) as err:
        ledger.refund(tx.id)
    assert err.value.context["refundable"] == 0
    assert ledger.verify("u").ok


def test_refund_names_a_consumption(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=10)
    bought = ledger.purchase("u", 30, payment_id="p")
    before = everything(ledger)
    with pytest.raises(UnknownTransaction):
        ledger.refund(bought.id)
    assert everything(ledger) == before


def test_restore_drawn_lots_gives_back_exactly_what_was_taken(clock: ManualClock) -> None:
    ledger = Ledger(InMemoryStore(), clock, refund_policy=RestoreDrawnLots())
    ledger.open_account("u", monthly_allowance=100)
    ledger.purchase("u", 30, payment_id="p")
    ids = lot_ids(ledger, "u")
    tx = ledger.consume("u", 50)  # 30 from p, 20 from the subscription
    first = ledger.refund(tx.id, 25)  # last drawn first: 20 subscription, then 5 to p
    assert first.restored() == {ids["sub"]: 20, ids["p"]: 5}
    second = ledger.refund(tx.id)
    assert second.restored() == {ids["p"]: 25}
    bal = ledger.balance("u")
    assert (bal.purchased, bal.consumed_this_month) == (30, 0)
    assert ledger.verify("u").ok


def test_restore_drawn_lots_after_a_reset_sends_expired_share_to_a_new_lot(
    clock: ManualClock,
) -> None:
    ledger = Ledger(InMemoryStore(), clock, refund_policy=RestoreDrawnLots())
    ledger.open_account("u", monthly_allowance=100)
    tx = ledger.consume("u", 40)
    clock.advance(timedelta(days=25))
    ledger.reset_month("u", "2026-12")
    back = ledger.refund(tx.id)
    ((lot_id, credits),) = back.restored().items()
    assert credits == 40
    lot = next(lot for lot in ledger.store.lots("u") if lot.id == lot_id)
    assert lot.kind == "purchased"
    assert lot.expires_at is None
    bal = ledger.balance("u")
    assert (bal.monthly_allowance, bal.consumed_this_month, bal.purchased) == (100, 0, 40)


def test_refund_across_a_reset_goes_to_purchased(clock: ManualClock, ledger: Ledger) -> None:
    """docs/domain.md §2 by hand: after the reset consumed_this_month is 0, so s = 0 and all n go to
    purchased_balance."""
    ledger.open_account("u", monthly_allowance=100)
    tx = ledger.consume("u", 40)
    clock.advance(timedelta(days=25))
    ledger.reset_month("u", "2026-12")
    ledger.consume("u", 10)  # consumed_this_month = 10
    ledger.refund(tx.id, 15)  # s = min(15, 10) = 10, purchased += 5
    bal = ledger.balance("u")
    assert (bal.consumed_this_month, bal.purchased, bal.current) == (0, 5, 105)


@given(
    allowance=st.integers(0, 50),
    bought=st.lists(st.integers(1, 40), max_size=4),
    spend=st.integers(1, 120),
    back=st.integers(1, 120),
)
def test_refund_arithmetic_matches_the_domain(
    allowance: int, bought: list[int], spend: int, back: int
) -> None:
    """Consume then refund against the formulas of docs/domain.md §2, written out here."""
    ledger = Ledger(InMemoryStore(), ManualClock(T0))
    ledger.open_account("u", monthly_allowance=allowance)
    for i, credits in enumerate(bought):
        ledger.purchase("u", credits, payment_id=f"p{i}")
    purchased, consumed = sum(bought), 0
    if spend > allowance + purchased:
        with pytest.raises(InsufficientCredits):
            ledger.consume("u", spend)
        return
    tx = ledger.consume("u", spend)
    p = min(spend, purchased)
    purchased, consumed = purchased - p, consumed + spend - p
    if back > spend:
        with pytest.raises(OverRefund):
            ledger.refund(tx.id, back)
        back = spend
    ledger.refund(tx.id, back)
    s = min(back, consumed)
    consumed, purchased = consumed - s, purchased + back - s
    bal = ledger.balance("u")
    assert (bal.purchased, bal.consumed_this_month) == (purchased, consumed)
    assert bal.current == allowance - consumed + purchased
    assert ledger.verify("u").ok


def test_a_naive_clock_is_refused() -> None:
    from datetime import datetime

    ledger = Ledger(InMemoryStore(), lambda: datetime(2026, 11, 1))
    with pytest.raises(NaiveDatetime):
        ledger.open_account("u", monthly_allowance=1)


@pytest.mark.parametrize("delta", [5, 1.5, None, "1h"])
def test_manual_clock_refuses_a_non_timedelta_step(delta: object) -> None:
    clock = ManualClock(T0)
    with pytest.raises(InvalidInput) as caught:
        clock.advance(delta)  # type: ignore[arg-type]
    assert caught.value.context["field"] == "delta"
    assert clock() == T0
