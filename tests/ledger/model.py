"""A small, independent reference model of docs/domain.md (plus holds and charge-backs).

Written from the rules alone, with plain ints and lists; it imports nothing from the ledger.
Buckets are named by the ledger's lot ids only so that tests can compare which lot a
consumption drew from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Bucket", "ModelAccount", "ModelHold", "Refused"]


class Refused(Exception):
    """The model says the request must fail (``reason`` names the rule)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ModelHold:
    credits: int
    expires_at: datetime
    resolved: bool = False


@dataclass
class Bucket:
    lot: str
    remaining: int


@dataclass
class ModelAccount:
    """One user's account: the seeds' four numbers, purchase buckets, debt, holds."""

    allowance: int  # issued at each reset
    monthly_allowance: int  # issued for the current period
    expiring_first: bool = False
    consumed_this_month: int = 0
    buckets: list[Bucket] = field(default_factory=list)  # oldest first
    debt: int = 0
    holds: dict[str, ModelHold] = field(default_factory=dict)
    sub_lot: str | None = None

    @property
    def purchased(self) -> int:
        return sum(b.remaining for b in self.buckets)

    @property
    def current(self) -> int:
        return self.monthly_allowance - self.consumed_this_month + self.purchased

    def held(self, now: datetime, *, but: str | None = None) -> int:
        return sum(
            h.credits
            for hid, h in self.holds.items()
            if hid != but and not h.resolved and now < h.expires_at
        )

    def available(self, now: datetime) -> int:
        return max(0, self.current - self.held(now))

    def spend(self, n: int, now: datetime, *, hold: str | None = None) -> dict[str, int]:
        """Take ``n`` credits; returns what each lot gave. Raises Refused."""
        if hold is None and self.debt > 0:
            raise Refused("debt")
        if n > self.current - self.held(now, but=hold):
            raise Refused("insufficient")
        drawn: dict[str, int] = {}
        left = n
        if self.expiring_first:
            left = self._from_subscription(left, drawn)
        for bucket in self.buckets:
            take = min(left, bucket.remaining)
            if take:
                bucket.remaining -= take
                drawn[bucket.lot] = take
                left -= take
        if not self.expiring_first:
            left = self._from_subscription(left, drawn)
        assert left == 0
        return drawn

    def _from_subscription(self, left: int, drawn: dict[str, int]) -> int:
        take = min(left, self.monthly_allowance - self.consumed_this_month)
        if take:
            self.consumed_this_month += take
            assert self.sub_lot is not None
            drawn[self.sub_lot] = take
        return left - take

    def refund(self, n: int) -> int:
        """Subscription first; returns the credits that go to a new purchased bucket."""
        s = min(n, self.consumed_this_month)
        self.consumed_this_month -= s
        return n - s

    def purchase(self, lot_id: str, credits: int) -> None:
        paid = min(self.debt, credits)
        self.debt -= paid
        self.buckets.append(Bucket(lot_id, credits - paid))

    def revoke(self, lot_id: str, credits: int) -> None:
        for bucket in self.buckets:
            if bucket.lot == lot_id:
                unspent = min(credits, bucket.remaining)
                bucket.remaining -= unspent
                self.debt += credits - unspent
                return
        raise AssertionError(f"no bucket {lot_id}")

    def reset(self, sub_lot: str | None) -> None:
        self.consumed_this_month = 0
        self.monthly_allowance = self.allowance
        self.sub_lot = sub_lot
