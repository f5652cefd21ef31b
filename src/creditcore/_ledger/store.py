"""The store port: the narrow interface every storage adapter implements.

All ledger rules live in the core (:class:`creditcore.ledger.Ledger`); a store only keeps records
and serialises writers per account. A write is one *unit of work* on one account::

    with store.unit_of_work(user_id) as uow:   # locks the account (one lock per account)
        snap = uow.snapshot                    # account + open lots + open holds, as of the lock
        prior = uow.by_key("k")                # idempotency lookup inside the lock
        uow.append(tx, account=new_account, lots=changed_lots, holds=changed_holds)
    # commit on a clean exit (durable when the ``with`` returns), rollback on an exception

Reads outside a unit of work see committed data only.

The snapshot rule (which lots and holds a :class:`Snapshot` holds) is written once, here
(:func:`lot_in_snapshot`, :func:`hold_in_snapshot`, :func:`snapshot_of`, :func:`snapshot_after`,
and the SQL form :data:`OPEN_LOT_SQL` / :data:`OPEN_HOLD_SQL`); every store applies it from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Final, Protocol, Self, runtime_checkable

from creditcore._ledger.values import Account, Hold, Lot, Snapshot, Transaction

__all__ = [
    "OPEN_HOLD_SQL",
    "OPEN_LOT_SQL",
    "AuditView",
    "ClosingStore",
    "LedgerStore",
    "UnitOfWork",
    "hold_in_snapshot",
    "lot_in_snapshot",
    "snapshot_after",
    "snapshot_of",
]

# --- the snapshot rule (once for every store) -----------------------------------------------------

OPEN_LOT_SQL: Final = "remaining > 0"
"""The SQL predicate of the lots a snapshot holds besides the account's subscription lot."""

OPEN_HOLD_SQL: Final = "status = 'open'"
"""The SQL predicate of the holds a snapshot holds."""


def lot_in_snapshot(lot: Lot, account: Account) -> bool:
    """A snapshot holds the lots with credits left, and the current subscription lot even empty."""
    return lot.remaining > 0 or lot.id == account.subscription_lot


def hold_in_snapshot(hold: Hold) -> bool:
    """A snapshot holds the open holds (those past ``expires_at`` included: the rules see them)."""
    return hold.status == "open"


def _lot_order(lot: Lot) -> tuple[int, str]:
    return (lot.seq, lot.id)


def _hold_order(hold: Hold) -> tuple[datetime, str]:
    return (hold.created_at, hold.id)


def snapshot_of(account: Account, lots: Iterable[Lot], holds: Iterable[Hold]) -> Snapshot:
    """The snapshot of ``account`` among ``lots`` and ``holds`` (any superset of its own):
    the rule applied, lots in ``(seq, id)`` order, holds in ``(created_at, id)`` order."""
    kept = sorted((lot for lot in lots if lot_in_snapshot(lot, account)), key=_lot_order)
    open_holds = sorted((h for h in holds if hold_in_snapshot(h)), key=_hold_order)
    return Snapshot(account, tuple(kept), tuple(open_holds))


def snapshot_after(
    snap: Snapshot, account: Account, lots: Sequence[Lot], holds: Sequence[Hold]
) -> Snapshot:
    """The snapshot after writing ``account`` and the new versions ``lots`` and ``holds`` on
    top of ``snap`` (what a store would read back after the commit).

    Equal to ``snapshot_of(account, <snap's lots updated by lots>, <snap's holds updated by
    holds>)``, without re-sorting what did not move (a lot's ``seq`` and ``id`` never change).
    """
    sub = account.subscription_lot
    if lots or sub != snap.account.subscription_lot:
        changed = {lot.id: lot for lot in lots}
        kept: list[Lot] = []
        for lot in snap.lots:
            new = changed.pop(lot.id, lot) if changed else lot
            if new.remaining > 0 or new.id == sub:
                kept.append(new)
        if changed:  # lots new to the snapshot
            kept.extend(lot for lot in changed.values() if lot.remaining > 0 or lot.id == sub)
            kept.sort(key=_lot_order)
        kept_lots = tuple(kept)
    else:
        kept_lots = snap.lots
    if holds:
        by_hold = {hold.id: hold for hold in snap.holds}
        by_hold.update((hold.id, hold) for hold in holds)
        kept_holds = tuple(
            sorted((h for h in by_hold.values() if hold_in_snapshot(h)), key=_hold_order)
        )
    else:
        kept_holds = snap.holds
    return Snapshot(account, kept_lots, kept_holds)


@dataclass(frozen=True, slots=True)
class AuditView:
    """Everything :meth:`~creditcore.ledger.Ledger.verify` reads, from ONE consistent read.

    Attributes:
        snapshot: The account's snapshot.
        transactions: Its whole journal, in ``seq`` order.
        lots: Every lot it ever had, in ``(seq, id)`` order.
        holds: Every hold it ever had.
    """

    snapshot: Snapshot
    transactions: tuple[Transaction, ...]
    lots: tuple[Lot, ...]
    holds: tuple[Hold, ...]


class UnitOfWork(Protocol):
    """One locked, atomic write on one account (see :meth:`LedgerStore.unit_of_work`)."""

    @property
    def snapshot(self) -> Snapshot:
        """The account, its open lots and its open holds, read under the lock."""
        ...

    def by_key(self, key: str) -> Transaction | None:
        """The account's transaction recorded with idempotency key ``key``, if any."""
        ...

    def transaction(self, tx_id: str) -> Transaction | None:
        """This account's transaction ``tx_id``, if any."""
        ...

    def referencing(self, tx_id: str) -> Sequence[Transaction]:
        """This account's transactions whose ``ref`` is ``tx_id``, in journal order."""
        ...

    def lot(self, lot_id: str) -> Lot | None:
        """Any lot of this account (open or not)."""
        ...

    def hold(self, hold_id: str) -> Hold | None:
        """Any hold of this account (whatever its status)."""
        ...

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        """The purchase transaction booking ``payment_id``, in any account."""
        ...

    def append(
        self,
        tx: Transaction,
        *,
        account: Account,
        lots: Sequence[Lot] = (),
        holds: Sequence[Hold] = (),
    ) -> None:
        """Stage a transaction with the new account record and the lots/holds it created or changed.

        ``tx.seq`` equals ``account.seq``. Lots and holds are full new versions (upserts). The
        store raises :class:`~creditcore.DuplicateId` (now or at commit) when ``tx.key`` is already
        used in this account or ``tx.payment_id`` is already booked in any account; then nothing
        of the unit of work is kept. Several appends in one unit of work are allowed.
        """
        ...


@runtime_checkable
class LedgerStore(Protocol):
    """Where accounts, lots, holds and the journal live. Implementations: InMemoryStore,
    SQLiteStore (and PostgresStore)."""

    def create_account(self, account: Account, tx: Transaction, lots: Sequence[Lot]) -> None:
        """Atomically create an account with its opening transaction and lots.

        Raises:
            DuplicateId: The user already has an account (nothing is written).
        """
        ...

    def unit_of_work(self, user_id: str) -> AbstractContextManager[UnitOfWork]:
        """Lock the account for writing and open an atomic unit of work on it.

        Concurrent units of work on one account run one after another (each sees the previous
        one's commit); on different accounts they may run in parallel. The lock is taken on
        entry and released on exit; commit happens on a clean exit and is durable when the
        ``with`` block returns; an exception rolls everything back and propagates.

        Raises:
            UnknownAccount: No such account (raised on entry).
        """
        ...

    def snapshot(self, user_id: str) -> Snapshot:
        """A consistent, committed snapshot of the account (no write lock).

        Raises:
            UnknownAccount: No such account.
        """
        ...

    def lots(self, user_id: str) -> Sequence[Lot]:
        """Every lot of the account ever created, in creation order (empty if unknown)."""
        ...

    def transactions(
        self,
        user_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Sequence[Transaction]:
        """The account's journal with ``after_seq < seq < before_seq``, ordered by ``seq``
        (descending when ``newest_first``), at most ``limit`` of them. Empty if unknown."""
        ...

    def transaction(self, tx_id: str) -> Transaction | None:
        """Any transaction by id."""
        ...

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        """The purchase transaction booking ``payment_id``, if any."""
        ...

    def hold(self, hold_id: str) -> Hold | None:
        """Any hold by id."""
        ...

    def user_ids(self) -> Sequence[str]:
        """Every account's user id, sorted."""
        ...

    def transactions_between(
        self, start: datetime | None, end: datetime | None
    ) -> Iterator[Transaction]:
        """Every account's transactions with ``start <= created_at < end`` (a bound of ``None``
        is open), ordered by ``(created_at, user_id, seq)``: a cross-account time-range scan,
        served by an index on the SQL stores and read lazily (committed data only)."""
        ...

    def audit_view(self, user_id: str) -> AuditView:
        """The account's snapshot, journal, lots and holds as of one instant (one consistent
        read: no write committed between the parts).

        Raises:
            UnknownAccount: No such account.
        """
        ...

    def close(self) -> None:
        """Release connections/files; the store is unusable afterwards (idempotent)."""
        ...

    def __enter__(self) -> Self:
        """The store itself (``with SQLiteStore(path) as store: ...`` closes it on exit)."""
        ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """:meth:`close`."""
        ...


class ClosingStore:
    """Mixin for stores: a context manager whose exit calls ``self.close()``."""

    def close(self) -> None:
        """Release what the store holds (overridden)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
