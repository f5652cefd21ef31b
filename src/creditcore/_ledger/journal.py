"""The journal: posting entries with running balances, and replaying a journal into balances.

Replay is how :meth:`Ledger.verify` and ``balance(at=...)`` work: they trust nothing but the
append-only transactions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from creditcore._ledger.values import (
    ACCOUNT_NAMES,
    Balance,
    Entry,
    Lot,
    Snapshot,
    Transaction,
)

__all__ = ["Posting", "Replay", "balance_of", "balance_of_replay", "replay"]


class Posting:
    """Collects the legs of one transaction and writes them with running balances.

    Args:
        lots: Current remaining credits per lot id (for running balances of lot accounts).
        totals: Current balances of the system accounts and ``debt``.
    """

    __slots__ = ("_deltas", "_lot_change", "_lots", "_totals")

    def __init__(self, lots: Mapping[str, int], totals: Mapping[str, int]) -> None:
        self._lots = lots
        self._totals = totals
        self._deltas: dict[str, int] = {}
        self._lot_change = 0

    def lot(self, lot_id: str, delta: int) -> None:
        """Move ``delta`` credits on a lot."""
        if delta:
            key = "lot:" + lot_id
            self._deltas[key] = self._deltas.get(key, 0) + delta
            self._lot_change += delta

    def system(self, name: str, delta: int) -> None:
        """Move ``delta`` credits on a system account (or ``debt``)."""
        if delta:
            self._deltas[name] = self._deltas.get(name, 0) + delta

    def entries(self) -> tuple[Entry, ...]:
        """The legs (lots first, then system accounts), each with its balance after."""
        lots: list[Entry] = []
        system: list[Entry] = []
        for name, delta in self._deltas.items():
            if not delta:
                continue
            if name.startswith("lot:"):
                lots.append(Entry(name, delta, self._lots.get(name[4:], 0) + delta))
            else:
                system.append(Entry(name, delta, self._totals.get(name, 0) + delta))
        return (*lots, *system)

    def lot_change(self) -> int:
        """The net change of the lots' credits (what the account's balance moves by)."""
        return self._lot_change

    def totals(self) -> dict[str, int]:
        """The system totals after this posting."""
        new = dict(self._totals)
        for name, delta in self._deltas.items():
            if not name.startswith("lot:"):
                new[name] = new.get(name, 0) + delta
        return new


@dataclass(slots=True)
class Replay:
    """State rebuilt from a journal.

    Attributes:
        lots: Remaining credits per lot id.
        totals: System account balances.
        subscription_lot: The lot id of the latest period's allowance (``None`` if none).
        subscription_credits: That lot's issued credits.
        open_holds: Holds reserved and not yet captured or released: id -> (credits, expires_at).
        problems: Internal inconsistencies found (unbalanced transaction, wrong running balance,
            gap in sequence).
        count: Transactions replayed.
    """

    lots: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    subscription_lot: str | None = None
    subscription_credits: int = 0
    open_holds: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    count: int = 0


def replay(
    transactions: Sequence[Transaction], lot_kinds: Mapping[str, str], at: datetime | None = None
) -> Replay:
    """Rebuild an account's state from its journal (in ``seq`` order).

    Args:
        transactions: The journal, oldest first.
        lot_kinds: Kind of every lot (``subscription`` lots are tracked as the period allowance).
        at: Stop before the first transaction recorded after this instant (``None``: replay all).
    """
    state = Replay()
    expected_seq = 1
    for tx in transactions:
        if at is not None and tx.created_at > at:
            break
        state.count += 1
        if tx.seq != expected_seq:
            state.problems.append(f"{tx.id}: seq {tx.seq}, expected {expected_seq}")
        expected_seq = tx.seq + 1
        total = 0
        for entry in tx.entries:
            total += entry.delta
            lot_id = entry.lot_id
            if lot_id is not None:
                after = state.lots.get(lot_id, 0) + entry.delta
                state.lots[lot_id] = after
                if after < 0:
                    state.problems.append(f"{tx.id}: lot {lot_id} negative ({after})")
                if (
                    entry.delta > 0
                    and lot_kinds.get(lot_id) == "subscription"
                    and tx.kind in ("open", "reset")
                ):
                    state.subscription_lot = lot_id
                    state.subscription_credits = entry.delta
            else:
                if entry.account not in ACCOUNT_NAMES:
                    state.problems.append(f"{tx.id}: unknown account {entry.account!r}")
                after = state.totals.get(entry.account, 0) + entry.delta
                state.totals[entry.account] = after
            if after != entry.balance_after:
                state.problems.append(
                    f"{tx.id}: {entry.account} balance_after {entry.balance_after}, replay {after}"
                )
        if total != 0:
            state.problems.append(f"{tx.id}: entries sum to {total}, not 0")
        if tx.kind == "reset" and not any(
            e.delta > 0 and lot_kinds.get(e.lot_id or "") == "subscription" for e in tx.entries
        ):
            state.subscription_lot = None
            state.subscription_credits = 0
        _replay_hold(state, tx)
    return state


def _replay_hold(state: Replay, tx: Transaction) -> None:
    if tx.ref is None:
        return
    if tx.kind == "reserve":
        expires = tx.metadata.get("expires_at")
        if isinstance(expires, str):
            state.open_holds[tx.ref] = (tx.credits, datetime.fromisoformat(expires))
        else:
            state.problems.append(f"{tx.id}: reserve without expires_at")
    elif tx.kind in ("capture", "release"):
        state.open_holds.pop(tx.ref, None)


def balance_of(snapshot: Snapshot, at: datetime) -> Balance:
    """The balance of a live snapshot at instant ``at`` (holds expire at ``at >= expires_at``)."""
    return _balance(
        snapshot.account.user_id,
        {lot.id: lot.remaining for lot in snapshot.lots},
        {lot.id: lot for lot in snapshot.lots},
        snapshot.account.subscription_lot,
        sum(h.credits for h in snapshot.holds if h.is_active(at)),
        -snapshot.account.totals.get("debt", 0),
        at,
    )


def balance_of_replay(state: Replay, lots: Mapping[str, Lot], at: datetime) -> Balance:
    """The balance a replay describes at ``at``."""
    user_id = next(iter(lots.values())).user_id if lots else ""
    held = sum(c for c, expires in state.open_holds.values() if at < expires)
    return _balance(
        user_id,
        state.lots,
        lots,
        state.subscription_lot,
        held,
        -state.totals.get("debt", 0),
        at,
        subscription_credits=state.subscription_credits,
    )


def _balance(
    user_id: str,
    remaining: Mapping[str, int],
    lots: Mapping[str, Lot],
    subscription_lot: str | None,
    held: int,
    debt: int,
    at: datetime,
    *,
    subscription_credits: int | None = None,
) -> Balance:
    purchased = 0
    current = 0
    for lot_id, left in remaining.items():
        current += left
        lot = lots.get(lot_id)
        if lot is not None and lot.kind != "subscription":
            purchased += left
    allowance = 0
    consumed = 0
    if subscription_lot is not None:
        sub = lots.get(subscription_lot)
        if subscription_credits is None:
            allowance = sub.credits if sub is not None else 0
        else:
            allowance = subscription_credits
        consumed = allowance - remaining.get(subscription_lot, 0)
    return Balance(
        user_id=user_id,
        current=current,
        purchased=purchased,
        monthly_allowance=allowance,
        consumed_this_month=consumed,
        held=held,
        available=max(0, current - held),
        debt=debt,
        at=at,
    )
