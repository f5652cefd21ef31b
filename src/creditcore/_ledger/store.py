"""The store port: the narrow interface every storage adapter implements.

All ledger rules live in the core (:class:`creditcore.ledger.Ledger`); a store only keeps records
and serialises writers per account. A write is one *unit of work* on one account::

    with store.unit_of_work(user_id) as uow:   # locks the account (one lock per account)
        snap = uow.snapshot                    # account + open lots + open holds, as of the lock
        prior = uow.by_key("k")                # idempotency lookup inside the lock
        uow.append(tx, account=new_account, lots=changed_lots, holds=changed_holds)
    # commit on a clean exit (durable when the ``with`` returns), rollback on an exception

Reads outside a unit of work see committed data only.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from creditcore._ledger.values import Account, Hold, Lot, Snapshot, Transaction

__all__ = ["LedgerStore", "UnitOfWork"]


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

    def close(self) -> None:
        """Release connections/files; the store is unusable afterwards."""
        ...
