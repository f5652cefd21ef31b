"""Spend-order and refund policies: which lots a consumption draws from, where a refund goes.

Policies are small frozen objects with one method each; the :class:`Ledger` takes one of each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from creditcore._ledger.values import Lot, Transaction

__all__ = [
    "NEW_REFUND_LOT",
    "ExpiringFirst",
    "PurchasedFirst",
    "RefundPolicy",
    "RestoreDrawnLots",
    "SpendOrder",
    "SubscriptionFirst",
]

NEW_REFUND_LOT = ""
"""Target id meaning "a new purchased lot created by this refund" (never expires)."""


class SpendOrder(Protocol):
    """Orders an account's lots for spending: credits are drawn from the first lot first."""

    def order(self, lots: Sequence[Lot]) -> list[Lot]:
        """The lots with credits left, in the order they are to be drawn from."""
        ...


@dataclass(frozen=True, slots=True)
class PurchasedFirst:
    """The default (docs/domain.md §2): purchased and lootbox lots first, oldest first; then the
    subscription allowance."""

    def order(self, lots: Sequence[Lot]) -> list[Lot]:
        """Purchased lots by creation, then subscription lots."""
        if len(lots) == 1:
            return [lots[0]] if lots[0].remaining > 0 else []
        bought = [lot for lot in lots if lot.remaining > 0 and lot.kind != "subscription"]
        sub = [lot for lot in lots if lot.remaining > 0 and lot.kind == "subscription"]
        bought.sort(key=_by_creation)
        sub.sort(key=_by_creation)
        return bought + sub


@dataclass(frozen=True, slots=True)
class ExpiringFirst:
    """The alternative (Stripe, Orb, OpenMeter): soonest expiry first, never-expiring lots last,
    ties oldest first. In practice: the subscription allowance first, then purchases."""

    def order(self, lots: Sequence[Lot]) -> list[Lot]:
        """Lots by expiry (``None`` last), then by creation."""
        live = [lot for lot in lots if lot.remaining > 0]
        live.sort(key=_by_expiry)
        return live


def _by_creation(lot: Lot) -> tuple[int, str]:
    return (lot.seq, lot.id)


def _by_expiry(lot: Lot) -> tuple[int, datetime | int, int, str]:
    if lot.expires_at is None:
        return (1, 0, lot.seq, lot.id)
    return (0, lot.expires_at, lot.seq, lot.id)


class RefundPolicy(Protocol):
    """Decides which lots a refund of a consumption credits."""

    def plan(
        self,
        consumption: Transaction,
        earlier_refunds: Sequence[Transaction],
        credits: int,
        subscription: Lot | None,
        lots: Mapping[str, Lot],
    ) -> list[tuple[str, int]]:
        """``(lot id, credits)`` pairs summing to ``credits``; lot id :data:`NEW_REFUND_LOT`
        means a new purchased lot.

        Args:
            consumption: The consumption being reversed.
            earlier_refunds: Refunds of it already recorded.
            credits: How many to refund now (already checked against what is refundable).
            subscription: The current period's subscription lot, if any.
            lots: The lots the consumption drew from, by id (as they are now).
        """
        ...


@dataclass(frozen=True, slots=True)
class SubscriptionFirst:
    """The default (docs/domain.md §2): restore the subscription first,
    ``s = min(n, consumed_this_month)``, and the rest into a new purchased lot.

    A new lot (rather than an old purchase lot) keeps every purchase lot's history clean for
    charge-backs; being the newest purchased lot, it is spent last among purchases.
    """

    def plan(
        self,
        consumption: Transaction,
        earlier_refunds: Sequence[Transaction],
        credits: int,
        subscription: Lot | None,
        lots: Mapping[str, Lot],
    ) -> list[tuple[str, int]]:
        """Subscription up to what it has consumed, the rest to a new purchased lot."""
        plan: list[tuple[str, int]] = []
        rest = credits
        if subscription is not None:
            s = min(rest, subscription.credits - subscription.remaining)
            if s > 0:
                plan.append((subscription.id, s))
                rest -= s
        if rest > 0:
            plan.append((NEW_REFUND_LOT, rest))
        return plan


@dataclass(frozen=True, slots=True)
class RestoreDrawnLots:
    """The alternative: give back exactly the lots the consumption drew from (last drawn first).

    A share drawn from a subscription lot that has since expired (an earlier period) cannot go
    back; it goes to a new purchased lot, like the default policy's remainder.
    """

    def plan(
        self,
        consumption: Transaction,
        earlier_refunds: Sequence[Transaction],
        credits: int,
        subscription: Lot | None,
        lots: Mapping[str, Lot],
    ) -> list[tuple[str, int]]:
        """Drawn lots, newest draw first, minus what earlier refunds restored to them."""
        owed = consumption.drawn()
        for refund in earlier_refunds:
            for lot_id, back in refund.restored().items():
                if lot_id in owed:
                    owed[lot_id] -= back
        plan: list[tuple[str, int]] = []
        rest = credits
        spill = 0
        for lot_id in reversed(list(owed)):
            take = min(rest, owed[lot_id])
            if take <= 0:
                continue
            lot = lots.get(lot_id)
            expired = lot is None or (
                lot.kind == "subscription" and (subscription is None or lot.id != subscription.id)
            )
            if expired:
                spill += take
            else:
                plan.append((lot_id, take))
            rest -= take
        spill += rest  # earlier refunds sent to a new lot also counted against the lots above
        if spill > 0:
            plan.append((NEW_REFUND_LOT, spill))
        return plan
