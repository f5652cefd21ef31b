"""InMemoryStore: the store port in process memory, thread-safe, one lock per account.

Like every store it imports only the public port, :mod:`creditcore.ledger`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from creditcore.ledger import (
    Account,
    AuditView,
    ClosingStore,
    Hold,
    Lot,
    Snapshot,
    Transaction,
    snapshot_after,
    snapshot_of,
    store_errors,
)

__all__ = ["InMemoryStore"]


@dataclass(slots=True)
class _Book:
    """Everything kept for one account; guarded by ``lock``."""

    snap: Snapshot
    lock: threading.Lock = field(default_factory=threading.Lock)
    lots: dict[str, Lot] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    journal: list[Transaction] = field(default_factory=list)
    keys: dict[str, Transaction] = field(default_factory=dict)
    refs: dict[str, list[Transaction]] = field(default_factory=dict)

    def record(self, tx: Transaction) -> None:
        self.journal.append(tx)
        if tx.key is not None:
            self.keys[tx.key] = tx
        if tx.ref is not None:
            self.refs.setdefault(tx.ref, []).append(tx)


def _lot_order(lot: Lot) -> tuple[int, str]:
    return (lot.seq, lot.id)


@dataclass(slots=True)
class _Staged:
    tx: Transaction
    account: Account
    lots: Sequence[Lot]
    holds: Sequence[Hold]


class _MemoryUnitOfWork:
    """A unit of work holding one account's lock; changes are staged and published on commit."""

    __slots__ = ("_book", "_released", "_staged", "_store", "snapshot")

    def __init__(self, store: InMemoryStore, book: _Book) -> None:
        self._store = store
        self._book = book
        self._staged: list[_Staged] = []
        self._released = False
        self.snapshot = book.snap

    def by_key(self, key: str) -> Transaction | None:
        return self._book.keys.get(key)

    def transaction(self, tx_id: str) -> Transaction | None:
        tx = self._store._txs.get(tx_id)
        return tx if tx is not None and tx.user_id == self._book.snap.account.user_id else None

    def referencing(self, tx_id: str) -> Sequence[Transaction]:
        return tuple(self._book.refs.get(tx_id, ()))

    def lot(self, lot_id: str) -> Lot | None:
        return self._book.lots.get(lot_id)

    def hold(self, hold_id: str) -> Hold | None:
        return self._book.holds.get(hold_id)

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        return self._store._payments.get(payment_id)

    def append(
        self,
        tx: Transaction,
        *,
        account: Account,
        lots: Sequence[Lot] = (),
        holds: Sequence[Hold] = (),
    ) -> None:
        book = self._book
        if tx.key is not None and (
            tx.key in book.keys or any(s.tx.key == tx.key for s in self._staged)
        ):
            raise store_errors.duplicate_key(tx.key)
        if tx.payment_id is not None and (
            tx.payment_id in self._store._payments
            or any(s.tx.payment_id == tx.payment_id for s in self._staged)
        ):
            raise store_errors.duplicate_payment(tx.payment_id)
        self._staged.append(_Staged(tx, account, tuple(lots), tuple(holds)))

    def _commit(self) -> None:
        """Publish the staged writes, whole or not at all.

        Everything that can be refused runs before the first change; if anything is raised
        while publishing (an interrupt between two statements), what was published is taken
        back before it propagates, so the account is as before (and never half-written).
        """
        if not self._staged:
            return
        store = self._store
        book = self._book
        snap = book.snap
        for staged in self._staged:  # compute the new state first: nothing published yet
            snap = snapshot_after(snap, staged.account, staged.lots, staged.holds)
        staged_all = self._staged
        old_lots: dict[str, Lot | None] = {}
        old_holds: dict[str, Hold | None] = {}
        for staged in staged_all:
            for lot in staged.lots:
                old_lots[lot.id] = book.lots.get(lot.id)
            for hold in staged.holds:
                old_holds[hold.id] = book.holds.get(hold.id)
        journal_length = len(book.journal)
        old_snap = book.snap
        claimed: list[str] = []
        try:
            if any(staged.tx.payment_id is not None for staged in staged_all):
                with store._global:  # payment ids are unique across accounts: check and claim
                    for staged in staged_all:
                        pid = staged.tx.payment_id
                        if pid is not None and pid in store._payments:
                            raise store_errors.duplicate_payment(pid)
                    for staged in staged_all:
                        pid = staged.tx.payment_id
                        if pid is not None:
                            claimed.append(pid)
                            store._payments[pid] = staged.tx
            for staged in staged_all:
                store._txs[staged.tx.id] = staged.tx
                for hold in staged.holds:
                    store._hold_owner[hold.id] = hold.user_id
                    book.holds[hold.id] = hold
                for lot in staged.lots:
                    book.lots[lot.id] = lot
                book.record(staged.tx)
            book.snap = snap
        except BaseException:
            self._undo(old_snap, journal_length, old_lots, old_holds, claimed)
            raise

    def _undo(
        self,
        old_snap: Snapshot,
        journal_length: int,
        old_lots: dict[str, Lot | None],
        old_holds: dict[str, Hold | None],
        claimed: list[str],
    ) -> None:
        """Take back a commit that was interrupted while publishing."""
        store = self._store
        book = self._book
        book.snap = old_snap
        del book.journal[journal_length:]
        book.keys = {t.key: t for t in book.journal if t.key is not None}
        book.refs = {}
        for t in book.journal:
            if t.ref is not None:
                book.refs.setdefault(t.ref, []).append(t)
        for staged in self._staged:
            store._txs.pop(staged.tx.id, None)
        for pid in claimed:
            store._payments.pop(pid, None)
        for lot_id, lot in old_lots.items():
            if lot is None:
                book.lots.pop(lot_id, None)
            else:
                book.lots[lot_id] = lot
        for hold_id, hold in old_holds.items():
            if hold is None:
                book.holds.pop(hold_id, None)
                store._hold_owner.pop(hold_id, None)
            else:
                book.holds[hold_id] = hold

    def __enter__(self) -> _MemoryUnitOfWork:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if kind is None:
                self._commit()
        finally:
            if not self._released:
                self._released = True
                self._book.lock.release()


class InMemoryStore(ClosingStore):
    """The store port in memory: fast, thread-safe, gone when the process ends.

    Writers on one account are serialised by that account's lock; different accounts proceed in
    parallel (as far as the GIL allows). Good for tests, demos and single-process services that
    persist elsewhere. A context manager (closing does nothing).
    """

    def __init__(self) -> None:
        self._global = threading.Lock()
        self._books: dict[str, _Book] = {}
        self._txs: dict[str, Transaction] = {}
        self._payments: dict[str, Transaction] = {}
        self._hold_owner: dict[str, str] = {}

    def _book(self, user_id: str) -> _Book:
        book = self._books.get(user_id)
        if book is None:
            raise store_errors.unknown_account(user_id)
        return book

    def create_account(self, account: Account, tx: Transaction, lots: Sequence[Lot]) -> None:
        book = _Book(snapshot_of(account, lots, ()))
        for lot in lots:
            book.lots[lot.id] = lot
        book.record(tx)
        with self._global:
            if account.user_id in self._books:
                raise store_errors.duplicate_account(account.user_id)
            self._books[account.user_id] = book
            self._txs[tx.id] = tx

    def unit_of_work(self, user_id: str) -> _MemoryUnitOfWork:
        """Take the account's lock; the returned unit of work commits and unlocks on exit.

        Use it only in a ``with`` statement: the lock is released by ``__exit__``.
        """
        book = self._book(user_id)
        book.lock.acquire()
        try:
            return _MemoryUnitOfWork(self, book)
        except BaseException:  # pragma: no cover - constructing cannot fail in practice
            book.lock.release()
            raise

    def snapshot(self, user_id: str) -> Snapshot:
        return self._book(user_id).snap  # replaced whole on commit: always consistent

    def lots(self, user_id: str) -> Sequence[Lot]:
        book = self._books.get(user_id)
        if book is None:
            return ()
        with book.lock:
            return tuple(sorted(book.lots.values(), key=_lot_order))

    def transactions(
        self,
        user_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Sequence[Transaction]:
        book = self._books.get(user_id)
        if book is None:
            return ()
        journal = book.journal[: book.snap.account.seq]  # journal[i].seq == i + 1
        stop = len(journal) if before_seq is None else max(0, min(len(journal), before_seq - 1))
        start = max(0, after_seq)
        selected = journal[start:stop]
        if newest_first:
            selected.reverse()
        if limit is not None:
            selected = selected[: max(0, limit)]
        return tuple(selected)

    def transactions_between(
        self, start: datetime | None, end: datetime | None
    ) -> Iterator[Transaction]:
        """Every account's transactions in ``[start, end)``, by ``(created_at, user_id, seq)``."""
        with self._global:
            books = list(self._books.values())
        found: list[Transaction] = []
        for book in books:
            with book.lock:
                journal = book.journal[: book.snap.account.seq]
            found.extend(
                tx
                for tx in journal
                if (start is None or tx.created_at >= start)
                and (end is None or tx.created_at < end)
            )
        found.sort(key=lambda tx: (tx.created_at, tx.user_id, tx.seq))
        yield from found

    def audit_view(self, user_id: str) -> AuditView:
        book = self._book(user_id)
        with book.lock:
            return AuditView(
                book.snap,
                tuple(book.journal),
                tuple(sorted(book.lots.values(), key=_lot_order)),
                tuple(book.holds.values()),
            )

    def transaction(self, tx_id: str) -> Transaction | None:
        return self._txs.get(tx_id)

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        return self._payments.get(payment_id)

    def hold(self, hold_id: str) -> Hold | None:
        owner = self._hold_owner.get(hold_id)
        if owner is None:
            return None
        return self._books[owner].holds.get(hold_id)

    def user_ids(self) -> Sequence[str]:
        with self._global:
            return sorted(self._books)

    def close(self) -> None:
        """Nothing to release."""
