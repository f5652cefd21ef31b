"""SQLiteStore: the ledger's store port on one SQLite file (the embedded default).

- WAL journal, ``synchronous=FULL``: when a call returns, its transaction is on disk.
- Every unit of work is one ``BEGIN IMMEDIATE`` transaction: SQLite's single writer lock
  serialises writers across threads and processes, so the snapshot a unit of work reads cannot
  change before it commits (no overdraft, no lost update). Readers never wait (WAL).
- One connection per thread (and per process), opened on first use.
- The schema is versioned (``PRAGMA user_version``) and migrated on open; a file written by a
  newer creditcore raises :class:`~creditcore.SchemaVersionError`.
- ``CHECK`` and ``UNIQUE`` constraints back the invariants (no negative lot, one transaction per
  idempotency key per account, one purchase per payment id).

This is the only module of creditcore that imports :mod:`sqlite3`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from creditcore.ledger import (
    Account,
    AuditView,
    ClosingStore,
    Hold,
    Lot,
    Snapshot,
    Transaction,
    snapshot_after,
    store_errors,
)
from creditcore.stores.sqlite.rows import (
    DECODED_MAX,
    Memo,
    account_of,
    account_row,
    hold_of,
    hold_row,
    lot_of,
    lot_row,
    micros,
    opt_micros,
    tx_decoder,
    tx_of,
    tx_row,
)
from creditcore.stores.sqlite.schema import LEDGER_TABLES, MIGRATIONS, SCHEMA_VERSION
from creditcore.stores.sqlite.sql import HOLD_COLUMNS, LOT_COLUMNS, SNAPSHOT_SQL, TX_COLUMNS, VALUES

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

_SCAN_BATCH: Final = 2000
"""Rows fetched at a time by the time-range scan (it never holds the whole range)."""


def _read_snapshot(conn: sqlite3.Connection, user_id: str, memo: Memo) -> Snapshot:
    account: Account | None = None
    lots: list[Lot] = []
    holds: list[Hold] = []
    for row in conn.execute(SNAPSHOT_SQL, {"u": user_id}):
        tag = row[0]
        if tag == 1:
            lots.append(memo.get(row, lot_of))
        elif tag == 2:
            holds.append(memo.get(row, hold_of))
        else:
            account = memo.get(row, account_of)
    if account is None:
        raise store_errors.unknown_account(user_id)
    if len(lots) > 1:
        lots.sort(key=lambda lot: (lot.seq, lot.id))
    return Snapshot(account, tuple(lots), tuple(holds))


def _translated(err: sqlite3.Error, where: str) -> Exception:
    """The ledger error for a SQLite error (no raw driver error leaves the store)."""
    text = str(err)
    if isinstance(err, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return store_errors.busy(f"SQLite {where}: {text}", path=where)
    if isinstance(err, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "no such table" in text
    ):
        return store_errors.not_a_ledger(where, text, path=where)
    return store_errors.failed(f"SQLite {where}: {text}", path=where)


def _rollback(conn: sqlite3.Connection) -> None:
    """End whatever transaction ``conn`` has open, whatever it takes (close it if need be)."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except BaseException:
        with contextlib.suppress(BaseException):
            conn.close()  # closing a connection releases its locks
        raise


@contextmanager
def _transaction(conn: sqlite3.Connection, where: str) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; on ANY exception (``KeyboardInterrupt`` included,
    wherever it lands, even inside BEGIN or COMMIT) the transaction is rolled back."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("COMMIT")
    except BaseException as error:
        _rollback(conn)
        if isinstance(error, sqlite3.Error):
            raise _translated(error, where) from error
        raise


def _duplicate(err: sqlite3.IntegrityError, tx: Transaction) -> Exception:
    text = str(err)
    if "payment_id" in text:
        return store_errors.duplicate_payment(tx.payment_id)
    if "idem_key" in text:
        return store_errors.duplicate_key(tx.key)
    if "accounts.user_id" in text:
        return store_errors.duplicate_account(tx.user_id)
    return store_errors.failed(f"SQLite refused transaction {tx.id}: {text}", transaction_id=tx.id)


class _SQLiteUnitOfWork:
    """A unit of work inside one ``BEGIN IMMEDIATE`` transaction."""

    __slots__ = ("_conn", "_holds", "_lots", "after", "snapshot")

    def __init__(self, conn: sqlite3.Connection, snapshot: Snapshot) -> None:
        self._conn = conn
        self.snapshot = snapshot
        self.after = snapshot  # the account as it will be once this unit of work commits
        # rows known to exist: written with a plain UPDATE instead of an upsert
        self._lots = {lot.id for lot in snapshot.lots}
        self._holds = {hold.id for hold in snapshot.holds}

    def _mine(self, sql: str, key: str) -> Any:
        """One row of this account: ``sql`` has ``... = ? AND user_id = ?``."""
        return self._conn.execute(sql, (key, self.snapshot.account.user_id)).fetchone()

    def by_key(self, key: str) -> Transaction | None:
        row = self._mine(
            f"SELECT {TX_COLUMNS} FROM transactions WHERE idem_key = ? AND user_id = ?", key
        )
        return None if row is None else tx_of(row)

    def transaction(self, tx_id: str) -> Transaction | None:
        row = self._mine(
            f"SELECT {TX_COLUMNS} FROM transactions WHERE id = ? AND user_id = ?", tx_id
        )
        return None if row is None else tx_of(row)

    def referencing(self, tx_id: str) -> Sequence[Transaction]:
        rows = self._conn.execute(
            f"SELECT {TX_COLUMNS} FROM transactions WHERE ref = ? AND user_id = ? ORDER BY seq",
            (tx_id, self.snapshot.account.user_id),
        ).fetchall()
        return tuple(tx_of(r) for r in rows)

    def lot(self, lot_id: str) -> Lot | None:
        row = self._mine(f"SELECT {LOT_COLUMNS} FROM lots WHERE id = ? AND user_id = ?", lot_id)
        if row is None:
            return None
        self._lots.add(lot_id)
        return lot_of(row)

    def hold(self, hold_id: str) -> Hold | None:
        row = self._mine(f"SELECT {HOLD_COLUMNS} FROM holds WHERE id = ? AND user_id = ?", hold_id)
        if row is None:
            return None
        self._holds.add(hold_id)
        return hold_of(row)

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        row = self._conn.execute(
            f"SELECT {TX_COLUMNS} FROM transactions WHERE payment_id = ?", (payment_id,)
        ).fetchone()
        return None if row is None else tx_of(row)

    def append(
        self,
        tx: Transaction,
        *,
        account: Account,
        lots: Sequence[Lot] = (),
        holds: Sequence[Hold] = (),
    ) -> None:
        conn = self._conn
        try:
            conn.execute(
                f"INSERT INTO transactions ({TX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                tx_row(tx),
            )
        except sqlite3.IntegrityError as err:
            raise _duplicate(err, tx) from err
        conn.execute(
            "UPDATE accounts SET tier = ?, allowance = ?, period = ?, subscription_lot = ?, "
            "seq = ?, totals = ? WHERE user_id = ?",
            (
                account.tier,
                account.allowance,
                account.period,
                account.subscription_lot,
                account.seq,
                json.dumps(dict(account.totals)),
                account.user_id,
            ),
        )
        for lot in lots:
            if lot.id not in self._lots:
                self._lots.add(lot.id)
                if self._insert(f"INSERT INTO lots ({LOT_COLUMNS}) {VALUES[11]}", lot_row(lot)):
                    continue
            conn.execute("UPDATE lots SET remaining = ? WHERE id = ?", (lot.remaining, lot.id))
        self.after = snapshot_after(self.after, account, lots, holds)
        for hold in holds:
            if hold.id not in self._holds:
                self._holds.add(hold.id)
                if self._insert(f"INSERT INTO holds ({HOLD_COLUMNS}) {VALUES[8]}", hold_row(hold)):
                    continue
            conn.execute(
                "UPDATE holds SET status = ?, captured = ?, resolved_at = ? WHERE id = ?",
                (hold.status, hold.captured, opt_micros(hold.resolved_at), hold.id),
            )

    def _insert(self, statement: str, row: tuple[object, ...]) -> bool:
        """Insert a row; ``False`` when its id exists already (then the caller updates it)."""
        try:
            self._conn.execute(statement, row)
        except sqlite3.IntegrityError as err:
            if "UNIQUE" not in str(err) or ".id" not in str(err):
                raise store_errors.failed(f"SQLite refused a row: {err}", row=row) from err
            return False
        return True


_GROUP_MAX: Final = 32


@dataclass(slots=True)
class _Group:
    """Writes sharing one transaction. ``done`` (made, under the lock, only once a writer hands
    the transaction on) is set when it is committed or has failed."""

    members: int = 0
    failure: BaseException | None = None
    finished: bool = False
    done: threading.Event | None = None


class SQLiteStore(ClosingStore):
    """The ledger's store port on a SQLite file; safe across threads and processes.

    Args:
        path: The database file (created if missing; its folder must exist).
        timeout: Seconds a writer waits for the file's write lock before failing.

    Raises:
        SchemaVersionError: The file was written by a newer creditcore.
        StoreError: The file is not a SQLite database.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if os.fspath(path) == ":memory:":  # a private file, removed on close (see the docs)
            self._scratch = tempfile.TemporaryDirectory(prefix="creditcore-")
            path = Path(self._scratch.name) / "ledger.sqlite3"
        self._path = Path(path)
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writer = threading.Lock()  # threads of this process queue here, not in busy-waits
        self._count = threading.Lock()
        self._wanting = 0  # threads waiting for the writer lock
        self._group: _Group | None = None  # the open, not yet committed, group transaction
        self._writer_conn: sqlite3.Connection | None = None  # the one writing connection
        self._writer_pid = 0
        self._snapshots: dict[str, Snapshot] = {}  # what this process's own commits produced
        self._version: int | None = None
        self._connections: list[sqlite3.Connection] = []
        self._decoded: dict[str, Transaction] = {}  # committed rows never change: decode once
        self._memo = Memo()
        self._closed = False
        self._migrate()

    def _cached(self, row: Sequence[Any]) -> Transaction:
        tx = self._decoded.get(row[0])
        if tx is None:
            tx = tx_of(row)
            if len(self._decoded) >= DECODED_MAX:
                self._decoded.clear()
            self._decoded[row[0]] = tx
        return tx

    @property
    def path(self) -> Path:
        """The database file (a private temporary file for ``":memory:"``)."""
        return self._path

    def _where(self) -> str:
        return repr(str(self._path))

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as err:
            raise store_errors.not_a_ledger(self._where(), err, path=str(self._path)) from err
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = " + ("OFF" if self._scratch else "FULL"))
        except sqlite3.Error as err:
            conn.close()
            raise _translated(err, self._where()) from err
        with self._lock:
            self._connections.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise store_errors.closed(path=str(self._path))
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or getattr(local, "pid", None) != os.getpid():
            conn = self._connect()
            local.conn = conn
            local.pid = os.getpid()
        return conn

    def _migrate(self) -> None:
        try:
            conn = self._conn()
            with _transaction(conn, self._where()):
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise store_errors.schema_too_new(
                        self._where(), version, SCHEMA_VERSION, path=str(self._path)
                    )
                if version == 0:
                    names = {
                        row[0]
                        for row in conn.execute(
                            "SELECT name FROM sqlite_schema WHERE type = 'table'"
                        )
                    }
                    if names & LEDGER_TABLES:
                        raise store_errors.not_a_ledger(
                            self._where(),
                            f"it already has the table(s) {', '.join(sorted(names & LEDGER_TABLES))} "
                            "but no creditcore schema version",
                            path=str(self._path),
                        )
                for number in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[number]:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            self.close()
            raise

    def _writing(self) -> sqlite3.Connection:
        """The process's writing connection (call with ``self._writer`` held)."""
        if self._closed:
            raise store_errors.closed(path=str(self._path))
        conn = self._writer_conn
        if conn is None or self._writer_pid != os.getpid():
            conn = self._writer_conn = self._connect()
            self._writer_pid = os.getpid()
            self._snapshots = {}
            self._version = None
        return conn

    def _drop_writer(self) -> None:
        """Forget the writing connection (closed after a failure it could not undo): the next
        write opens a fresh one (call with ``self._writer`` held)."""
        conn, self._writer_conn = self._writer_conn, None
        self._snapshots = {}
        self._version = None
        if conn is not None:
            with contextlib.suppress(BaseException):
                conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write, grouped with those of other threads into one durable commit.

        SQLite has one writer at a time. The threads of a process share one writing connection
        behind a lock, so they queue here (woken at once) rather than in SQLite's busy handler
        (which sleeps in growing steps). Group commit: a writer that finds others queued leaves
        the transaction open for them (each later write runs inside a SAVEPOINT, so a failing
        one is undone alone); the last writer of the group, or the ``_GROUP_MAX``-th, commits.
        Every writer returns only after the COMMIT that holds its write: one fsync serves the
        whole group, and every returned call is durable.

        Whatever is raised, wherever (an ``Exception`` or a ``BaseException`` such as
        ``KeyboardInterrupt``, inside ``BEGIN``, the caller's block, ``SAVEPOINT`` or
        ``COMMIT``), the write is undone or committed whole and the file's lock is released:
        the group is recorded *before* ``BEGIN`` so an interrupt right after it still rolls
        back, and a connection that cannot be rolled back is closed (which releases the lock).
        """
        with self._count:
            self._wanting += 1
        try:
            self._writer.acquire()
        finally:
            with self._count:
                self._wanting -= 1
        joined: _Group | None = None
        interrupt: BaseException | None = None
        try:
            group: _Group | None = None
            nested = False
            try:
                conn = self._writing()
                if self._group is not None and not conn.in_transaction:
                    # the open group's transaction is gone (SQLite rolled it back on an error)
                    self._group.failure = store_errors.failed("the group transaction was lost")
                    self._finish(self._group)
                if self._group is None:
                    if conn.in_transaction:  # left over by an interrupted step: undo it
                        conn.execute("ROLLBACK")
                    self._group = _Group()
                    group = self._group
                    conn.execute("BEGIN IMMEDIATE")
                else:
                    group = self._group
                    nested = group.members > 0
                    if nested:
                        conn.execute("SAVEPOINT uow")
                yield conn
                if nested:
                    conn.execute("RELEASE uow")
                group.members += 1
                joined = group
            except BaseException as error:
                self._undo(group, nested)
                if isinstance(error, sqlite3.Error):
                    raise _translated(error, self._where()) from error
                raise
        finally:
            try:
                pending = self._group
                if pending is not None:
                    if self._wanting == 0 or pending.members >= _GROUP_MAX or self._closed:
                        interrupt = self._finish(pending)
                    elif pending.done is None:  # handed on: someone will wake us
                        pending.done = threading.Event()
            finally:
                self._writer.release()
        if interrupt is not None:  # raised while this thread committed
            if isinstance(interrupt, sqlite3.Error):
                raise _translated(interrupt, self._where()) from interrupt
            raise interrupt
        assert joined is not None
        if not joined.finished:
            assert joined.done is not None
            joined.done.wait()  # outside the lock: the commit that makes this write durable
        if joined.failure is not None:
            failure = joined.failure
            if isinstance(failure, sqlite3.Error):
                raise _translated(failure, self._where()) from failure
            raise store_errors.failed(
                f"SQLite could not commit to {self._where()}: {failure}", path=str(self._path)
            ) from failure

    def _undo(self, group: _Group | None, nested: bool) -> None:
        """Take back the failed write only (call with the lock held). If even that fails, the
        whole group is given up and the connection closed: never left inside a transaction."""
        conn = self._writer_conn
        if group is None or conn is None:
            return
        try:
            if nested and conn.in_transaction:
                conn.execute("ROLLBACK TO uow")
                conn.execute("RELEASE uow")
                return
            if group.members == 0 and self._group is group:
                self._group = None
                _rollback(conn)
                return
            raise store_errors.failed("the failed write could not be undone alone")
        except BaseException as err:  # the transaction is in doubt: give the whole group up
            group.failure = err
            self._group = group
            try:
                self._finish(group)
            finally:
                if conn.in_transaction:
                    self._drop_writer()

    def _finish(self, group: _Group) -> BaseException | None:
        """COMMIT the group's transaction and wake its writers (call with the lock held).

        Returns what was raised while committing (an ``Exception`` or an interrupt), for the
        calling thread to re-raise once the lock is released; the other writers of the group
        learn only whether their write was committed. When it landed after ``COMMIT`` returned
        the group is committed; otherwise it is rolled back.
        """
        conn = self._writer_conn
        raised: BaseException | None = None
        try:
            if conn is not None and conn.in_transaction:
                conn.execute("COMMIT" if group.failure is None else "ROLLBACK")
            elif group.failure is None:
                group.failure = store_errors.failed("the group transaction was lost")
        except BaseException as err:
            raised = err
            if conn is not None and conn.in_transaction:  # COMMIT did not happen: undo
                if group.failure is None:
                    group.failure = err
                try:
                    conn.execute("ROLLBACK")
                except BaseException:
                    self._drop_writer()
        finally:
            if group.failure is not None:  # what this process remembers may not be on disk
                self._snapshots = {}
                self._version = None
            if self._group is group:
                self._group = None
            group.finished = True
            if group.done is not None:
                group.done.set()
        return raised

    def create_account(self, account: Account, tx: Transaction, lots: Sequence[Lot]) -> None:
        """Insert the account, its opening transaction and lots in one transaction."""
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO accounts (user_id, tier, allowance, period, subscription_lot, "
                    "seq, totals, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    account_row(account),
                )
            except sqlite3.IntegrityError as err:
                raise _duplicate(err, tx) from err
            conn.executemany(
                f"INSERT INTO lots ({LOT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [lot_row(lot) for lot in lots],
            )
            conn.execute(
                f"INSERT INTO transactions ({TX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                tx_row(tx),
            )

    @contextmanager
    def unit_of_work(self, user_id: str) -> Iterator[_SQLiteUnitOfWork]:
        """``BEGIN IMMEDIATE`` (the write lock), read the snapshot, commit on a clean exit.

        The writing connection remembers the snapshots its own commits produced; under the
        write lock, ``PRAGMA data_version`` tells whether another connection (another process,
        or another store on the same file) has committed since, and only then is the account
        read again.
        """
        with self._write() as conn:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version or len(self._snapshots) > 4096:
                self._snapshots = {}
                self._version = version
            snap = self._snapshots.pop(user_id, None)
            uow = _SQLiteUnitOfWork(
                conn, snap if snap is not None else _read_snapshot(conn, user_id, self._memo)
            )
            yield uow
            self._snapshots[user_id] = uow.after  # dropped again if the group's commit fails

    def _rows(self, sql: str, params: Sequence[object] | dict[str, object]) -> list[Any]:
        """Run one read on this thread's connection (no raw driver error leaves the store)."""
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise _translated(err, self._where()) from err

    def snapshot(self, user_id: str) -> Snapshot:
        """A committed snapshot, read by one statement."""
        try:
            return _read_snapshot(self._conn(), user_id, self._memo)
        except sqlite3.Error as err:
            raise _translated(err, self._where()) from err

    def audit_view(self, user_id: str) -> AuditView:
        """Snapshot, journal, lots and holds in one read transaction (one WAL snapshot)."""
        conn = self._conn()
        try:
            conn.execute("BEGIN")
            try:
                snap = _read_snapshot(conn, user_id, self._memo)
                journal = conn.execute(
                    f"SELECT {TX_COLUMNS} FROM transactions WHERE user_id = ? ORDER BY seq",
                    (user_id,),
                ).fetchall()
                lots = conn.execute(
                    f"SELECT {LOT_COLUMNS} FROM lots WHERE user_id = ? ORDER BY seq, id",
                    (user_id,),
                ).fetchall()
                holds = conn.execute(
                    f"SELECT {HOLD_COLUMNS} FROM holds WHERE user_id = ?", (user_id,)
                ).fetchall()
            finally:
                _rollback(conn)  # read only: ending it is all
        except sqlite3.Error as err:
            raise _translated(err, self._where()) from err
        return AuditView(
            snap,
            tuple(self._cached(r) for r in journal),
            tuple(self._memo.get(r, lot_of) for r in lots),
            tuple(hold_of(r) for r in holds),
        )

    def lots(self, user_id: str) -> Sequence[Lot]:
        """Every lot of the account, oldest first."""
        rows = self._rows(
            f"SELECT {LOT_COLUMNS} FROM lots WHERE user_id = ? ORDER BY seq, id", (user_id,)
        )
        return tuple(self._memo.get(r, lot_of) for r in rows)

    def transactions(
        self,
        user_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Sequence[Transaction]:
        """The account's journal in a ``seq`` range, in order."""
        order = "DESC" if newest_first else "ASC"
        rows = self._rows(
            f"SELECT {TX_COLUMNS} FROM transactions WHERE user_id = ? AND seq > ? AND seq < ? "
            f"ORDER BY seq {order} LIMIT ?",
            (
                user_id,
                after_seq,
                before_seq if before_seq is not None else 2**62,
                limit if limit is not None else -1,
            ),
        )
        return tuple(self._cached(r) for r in rows)

    def _one(self, sql: str, key: str) -> Any:
        rows = self._rows(sql, (key,))
        return rows[0] if rows else None

    def transaction(self, tx_id: str) -> Transaction | None:
        """A transaction by id."""
        row = self._one(f"SELECT {TX_COLUMNS} FROM transactions WHERE id = ?", tx_id)
        return None if row is None else self._cached(row)

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        """The purchase booking ``payment_id``."""
        row = self._one(f"SELECT {TX_COLUMNS} FROM transactions WHERE payment_id = ?", payment_id)
        return None if row is None else self._cached(row)

    def hold(self, hold_id: str) -> Hold | None:
        """A hold by id."""
        row = self._one(f"SELECT {HOLD_COLUMNS} FROM holds WHERE id = ?", hold_id)
        return None if row is None else hold_of(row)

    def transactions_between(
        self, start: datetime | None, end: datetime | None
    ) -> Iterator[Transaction]:
        """Every account's transactions in ``[start, end)`` by ``(created_at, user_id, seq)``,
        read lazily through the ``transactions_time`` index."""
        low = -(2**62) if start is None else micros(start)
        high = 2**62 if end is None else micros(end)
        try:
            cursor = self._conn().execute(
                f"SELECT {TX_COLUMNS} FROM transactions WHERE created_at >= ? AND created_at < ? "
                "ORDER BY created_at, user_id, seq",
                (low, high),
            )
            decode = tx_decoder()
            while rows := cursor.fetchmany(_SCAN_BATCH):
                yield from map(decode, rows)
        except sqlite3.Error as err:
            raise _translated(err, self._where()) from err

    def user_ids(self) -> Sequence[str]:
        """Every user id, sorted."""
        return [r[0] for r in self._rows("SELECT user_id FROM accounts ORDER BY user_id", ())]

    def close(self) -> None:
        """Close every connection this store opened (in any thread); idempotent. A
        ``":memory:"`` store's private file is removed."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):  # best effort
                conn.close()
        if self._scratch is not None:
            with contextlib.suppress(OSError):
                self._scratch.cleanup()
