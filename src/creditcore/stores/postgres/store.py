"""PostgresStore: the ledger's store port on PostgreSQL, for many processes and hosts at once.

How concurrent writers stay correct (READ COMMITTED, one row lock per unit of work):

- Every unit of work on an account starts with ``SELECT ... FOR NO KEY UPDATE`` on that account's
  row, and takes no other row lock it could wait on. Writers on one account therefore run one
  after another, each reading the state the previous one committed (no overdraft, no lost
  update); writers on different accounts never wait for each other. One lock per transaction
  means no lock-order cycle, hence no deadlock, however hot the account.
- The lots and holds are read by the statements *after* the lock statement: under READ
  COMMITTED each statement takes a fresh snapshot, so they see the previous holder's commit.
- Idempotency keys are looked up under the lock, and backed by a unique index on
  ``(user_id, idem_key)``; payment ids by a unique index on ``payment_id`` across accounts (two accounts racing for one payment:
  the loser gets :class:`~creditcore.DuplicateId` at commit and the ledger looks again).
- Transient refusals the database asks to retry (serialization failure, deadlock, lock not
  available) and a dropped connection are retried while taking the lock, before anything of the
  caller's ran; none happen after it in this scheme.

Round trips: a unit of work costs four, as many as the raw "conditional UPDATE + INSERT"
transaction: ``BEGIN``; one function call that locks the account row then reads its open lots and
holds; one statement holding every write of the ledger transaction (data-modifying CTEs);
``COMMIT``. Statements are prepared by psycopg after a few uses, and
connections are kept (one per thread and process with a DSN, or borrowed from a
:class:`psycopg_pool.ConnectionPool`).

Whatever is raised, wherever (a driver error, any other ``Exception``, or a ``BaseException``
such as ``KeyboardInterrupt`` or a timeout raised by a signal handler while waiting for the lock),
the connection leaves the unit of work outside any transaction: rolled back, or closed when it
cannot be (closing ends the server session, which releases its locks). One place does it:
:meth:`PostgresStore._connection`.

The schema is created and migrated on open (:mod:`.migrations`, :mod:`.schema`); the statements
are in :mod:`.sql`, rows to values in :mod:`.rows`. The package is the only part of creditcore
that imports psycopg; like every store it uses only the public port :mod:`creditcore.ledger`.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from creditcore.ledger import (
    Account,
    AuditView,
    ClosingStore,
    Hold,
    Lot,
    Snapshot,
    Transaction,
    store_errors,
)
from creditcore.stores.postgres.migrations import migrate, validate_schema_name
from creditcore.stores.postgres.rows import (
    create_params,
    decode,
    encode,
    hold_of,
    lot_of,
    snapshot_in,
    tx_of,
    write_params,
)
from creditcore.stores.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from creditcore.stores.postgres.sql import Queries

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

_SCAN_PAGE: Final = 5000
"""Rows per page of the time-range scan."""
_EARLIEST: Final = datetime(1, 1, 2, tzinfo=UTC)
_LATEST: Final = datetime(9999, 12, 30, tzinfo=UTC)

_ATTEMPTS: Final = 8
"""How many times taking an account's lock is tried when the database asks for a retry."""

_RETRY_SQLSTATES: Final = frozenset({"40001", "40P01", "55P03"})
"""serialization_failure, deadlock_detected, lock_not_available."""

_BIG: Final = 2**62


def _transient(error: psycopg.Error) -> bool:
    return error.sqlstate in _RETRY_SQLSTATES or isinstance(error, psycopg.OperationalError)


def _connection_lost(error: psycopg.Error, conn: psycopg.Connection[Any]) -> bool:
    """The connection (not the statement) failed: the server's answer was not received."""
    state = error.sqlstate or ""
    return conn.broken or conn.closed or state.startswith(("08", "57P")) or not state


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.002 * 2**attempt))


def _command(conn: psycopg.Connection[Any], command: bytes) -> None:
    """Run a parameterless command (``BEGIN``, ``COMMIT``) straight through libpq.

    The same protocol message psycopg would send, minus its cursor machinery: about half the
    client CPU of ``conn.execute`` for these one-word statements.
    """
    result = conn.pgconn.exec_(command)
    if result.status != ExecStatus.COMMAND_OK:
        raise pg_errors.error_from_result(result, encoding=conn.info.encoding)


def _abandon(conn: psycopg.Connection[Any]) -> bool:
    """Leave ``conn`` outside any transaction, whatever state an exception left it in.

    ``ROLLBACK`` when a transaction is open; when the connection is busy (a query interrupted
    in flight), broken, or the rollback itself fails or is interrupted, the connection is
    closed: the server then ends the session and releases its locks. Returns whether ``conn``
    is still usable.
    """
    if conn.closed:
        return False
    try:
        status = conn.info.transaction_status
        if status == TransactionStatus.IDLE and not conn.broken:
            return True
        if status in (TransactionStatus.INTRANS, TransactionStatus.INERROR) and not conn.broken:
            _command(conn, b"ROLLBACK")
            if conn.info.transaction_status == TransactionStatus.IDLE:
                return True
    except BaseException:
        pass
    with contextlib.suppress(BaseException):
        conn.close()
    return False


def _invalid_text(error: UnicodeEncodeError) -> Exception:
    return store_errors.invalid(
        f"text that is not valid Unicode (a lone surrogate) cannot be stored: {error}",
        field="text",
        value=error.object[error.start : error.end] if isinstance(error.object, str) else None,
    )


def _refusal(error: psycopg.Error, **where: Any) -> Exception:
    """The ledger error for a statement the server refused (nothing was written)."""
    if error.sqlstate in _RETRY_SQLSTATES or error.sqlstate == "57014":  # 57014: cancelled
        return store_errors.busy(f"PostgreSQL: {error}", sqlstate=error.sqlstate, **where)
    if (error.sqlstate or "").startswith("54"):  # program_limit_exceeded (index row size ...)
        return store_errors.invalid(
            f"a value is too large for PostgreSQL: {error}", field="text", value=None
        )
    return store_errors.failed(f"PostgreSQL: {error}", sqlstate=error.sqlstate, **where)


class _PostgresUnitOfWork:
    """A unit of work inside one transaction holding the account's row lock.

    Reads run at once; :meth:`append` stages its writes, which :meth:`commit` sends as one
    statement per ledger transaction, then ``COMMIT`` (constraint violations are raised then).
    """

    __slots__ = ("_conn", "_known", "_q", "_staged", "_user", "_writes", "snapshot")

    def __init__(self, conn: psycopg.Connection[Any], queries: Queries, snapshot: Snapshot) -> None:
        self._conn = conn
        self._q = queries
        self._user = encode(snapshot.account.user_id)
        self._known: set[str] = {lot.id for lot in snapshot.lots}
        self._staged: list[Transaction] = []
        self._writes: list[tuple[bytes, tuple[object, ...]]] = []
        self.snapshot = snapshot

    def _rows(self, query: bytes, params: Sequence[object]) -> list[Any]:
        return self._conn.execute(query, params).fetchall()

    def _one(self, query: bytes, params: Sequence[object]) -> Any:
        rows = self._rows(query, params)
        return rows[0] if rows else None

    def by_key(self, key: str) -> Transaction | None:
        row = self._one(self._q.tx_by_key, (self._user, encode(key)))
        return None if row is None else tx_of(row)

    def transaction(self, tx_id: str) -> Transaction | None:
        row = self._one(self._q.tx_by_id_in_account, (encode(tx_id), self._user))
        return None if row is None else tx_of(row)

    def referencing(self, tx_id: str) -> Sequence[Transaction]:
        rows = self._rows(self._q.tx_referencing, (encode(tx_id), self._user))
        return tuple(tx_of(row) for row in rows)

    def lot(self, lot_id: str) -> Lot | None:
        row = self._one(self._q.lot_in_account, (encode(lot_id), self._user))
        if row is None:
            return None
        self._known.add(lot_id)
        return lot_of(row)

    def hold(self, hold_id: str) -> Hold | None:
        row = self._one(self._q.hold_in_account, (encode(hold_id), self._user))
        return None if row is None else hold_of(row)

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        row = self._one(self._q.tx_by_payment, (encode(payment_id),))
        return None if row is None else tx_of(row)

    def append(
        self,
        tx: Transaction,
        *,
        account: Account,
        lots: Sequence[Lot] = (),
        holds: Sequence[Hold] = (),
    ) -> None:
        for staged in self._staged:
            if tx.key is not None and staged.key == tx.key:
                raise store_errors.duplicate_key(tx.key)
            if tx.payment_id is not None and staged.payment_id == tx.payment_id:
                raise store_errors.duplicate_payment(tx.payment_id)
        known = self._known
        updated = [lot for lot in lots if lot.id in known]
        upserted = [lot for lot in lots if lot.id not in known]
        known.update(lot.id for lot in upserted)
        query = self._q.writes[min(len(updated), 2), bool(upserted), bool(holds)]
        self._writes.append((query, write_params(tx, account, updated, upserted, holds)))
        self._staged.append(tx)

    def commit(self) -> None:
        """Send the staged writes (one statement per ledger transaction), then ``COMMIT``.

        Plain round trips, not a pipeline: psycopg's pipeline mode costs more CPU (client and
        server) than the round trip it saves on a local server, and CPU is what limits
        throughput when many processes share a machine.
        """
        conn = self._conn
        for query, params in self._writes:
            conn.execute(query, params)
        _command(conn, b"COMMIT")

    def refused(self, error: psycopg.Error, committing: bool) -> Exception:
        """The ledger error for a driver error inside the unit of work."""
        if committing and _connection_lost(error, self._conn):
            return store_errors.outcome_unknown(
                f"user_id {self._user!r}: {error}", user_id=self._user, sqlstate=error.sqlstate
            )
        if error.sqlstate == "23505":  # unique_violation
            constraint = error.diag.constraint_name
            for tx in self._staged:
                duplicate = _duplicate(constraint, tx)
                if duplicate is not None:
                    return duplicate
        return _refusal(error, user_id=self._user)


def _duplicate(constraint: str | None, tx: Transaction) -> Exception | None:
    if constraint == "transactions_payment_unique" and tx.payment_id is not None:
        return store_errors.duplicate_payment(tx.payment_id)
    if constraint == "transactions_key_unique" and tx.key is not None:
        return store_errors.duplicate_key(tx.key)
    if constraint in ("accounts_pkey", "transactions_seq_unique") and tx.seq == 1:
        # opening an account twice: whichever of its rows the database meets first
        return store_errors.duplicate_account(tx.user_id)
    return None


class PostgresStore(ClosingStore):
    """The ledger's store port on PostgreSQL; safe across threads, processes and hosts.

    Args:
        dsn_or_pool: A libpq connection string (``"host=... dbname=... user=..."`` or a
            ``postgresql://`` URL): the store then keeps one connection per thread and process.
            Or a :class:`psycopg_pool.ConnectionPool`: each call borrows a connection from it
            (the pool stays the caller's to close).
        schema: The PostgreSQL schema holding the store's tables (created and migrated on open);
            a lower-case identifier. Several ledgers can share a database in different schemas.

    Raises:
        InvalidInput: ``dsn_or_pool`` is neither a str nor a pool, or ``schema`` is not a plain
            lower-case identifier.
        SchemaVersionError: The schema was written by a newer creditcore.
        StoreError: The server cannot be reached or refused the migration.
    """

    def __init__(
        self, dsn_or_pool: str | ConnectionPool[Any], *, schema: str = "creditcore"
    ) -> None:
        self._schema = validate_schema_name(schema)
        self._q = Queries.for_schema(self._schema)
        self._pool: ConnectionPool[Any] | None = None
        self._dsn: str | None = None
        if isinstance(dsn_or_pool, str):
            self._dsn = dsn_or_pool
        elif isinstance(dsn_or_pool, ConnectionPool):
            self._pool = dsn_or_pool
        else:
            raise store_errors.invalid(
                f"dsn_or_pool: expected a DSN str or a psycopg_pool.ConnectionPool, "
                f"got {type(dsn_or_pool).__name__}",
                field="dsn_or_pool",
                value=type(dsn_or_pool).__name__,
            )
        self._local = threading.local()
        self._lock = threading.Lock()
        self._owned: list[psycopg.Connection[Any]] = []
        self._closed = False
        with self._connection() as conn:
            try:
                migrate(conn, self._schema, MIGRATIONS)
            except psycopg.Error as error:
                raise store_errors.failed(
                    f"cannot migrate schema {self._schema!r}: {error}", schema=self._schema
                ) from error

    @property
    def schema(self) -> str:
        """The schema holding this store's tables."""
        return self._schema

    # --- connections -----------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        assert self._dsn is not None
        try:
            conn = psycopg.connect(self._dsn, autocommit=True)
        except psycopg.Error as error:
            raise store_errors.failed(
                f"cannot connect to PostgreSQL: {error}", schema=self._schema
            ) from error
        with self._lock:
            self._owned = [c for c in self._owned if not c.closed]
            self._owned.append(conn)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's connection (or one borrowed from the pool) for one call.

        The one place that makes every failure safe: whatever propagates out of the block, the
        connection is left outside any transaction (:func:`_abandon`), and a closed one is
        replaced on the next call. Text the driver cannot encode becomes ``InvalidInput``.
        """
        if self._closed:
            raise store_errors.closed(schema=self._schema)
        if self._pool is not None:
            with contextlib.ExitStack() as stack:
                try:
                    borrowed = stack.enter_context(self._pool.connection())
                except PoolTimeout as error:
                    raise store_errors.busy(
                        f"no pooled connection became free: {error}", schema=self._schema
                    ) from error
                autocommit = borrowed.autocommit
                try:
                    if not autocommit:
                        borrowed.autocommit = True
                    yield borrowed
                except BaseException as error:
                    _abandon(borrowed)
                    if isinstance(error, UnicodeEncodeError):
                        raise _invalid_text(error) from error
                    raise
                finally:
                    if not autocommit and not borrowed.closed:
                        with contextlib.suppress(Exception):
                            borrowed.autocommit = False
            return
        local = self._local
        conn: psycopg.Connection[Any] | None = getattr(local, "conn", None)
        if conn is None or conn.closed or conn.broken or getattr(local, "pid", None) != os.getpid():
            conn = self._connect()
            local.conn = conn
            local.pid = os.getpid()
        try:
            yield conn
        except BaseException as error:
            if not _abandon(conn):
                local.conn = None
            if isinstance(error, UnicodeEncodeError):
                raise _invalid_text(error) from error
            raise

    # --- writes ----------------------------------------------------------------------------

    def create_account(self, account: Account, tx: Transaction, lots: Sequence[Lot]) -> None:
        """Insert the account, its opening lots and transaction in one statement."""
        with self._connection() as conn:
            try:
                conn.execute(self._q.create_account, create_params(account, tx, lots))
            except psycopg.Error as error:
                duplicate = (
                    _duplicate(error.diag.constraint_name, tx)
                    if error.sqlstate == "23505"
                    else None
                )
                if duplicate is not None:
                    raise duplicate from error
                if _connection_lost(error, conn):
                    raise store_errors.outcome_unknown(
                        f"opening user_id {account.user_id!r}: {error}", user_id=account.user_id
                    ) from error
                raise _refusal(error, user_id=account.user_id) from error

    def _lock_account(self, conn: psycopg.Connection[Any], user_id: str) -> Snapshot:
        """``BEGIN``, then lock the account row and read its open lots and holds (one statement)."""
        if conn.info.transaction_status != TransactionStatus.IDLE:
            # a unit of work inside another on the same thread: its COMMIT would end both
            raise store_errors.failed(
                f"a unit of work is already open on this thread; cannot open one for user_id "
                f"{user_id!r} inside it",
                user_id=user_id,
            )
        _command(conn, b"BEGIN")
        rows = conn.execute(self._q.open_unit, (encode(user_id),)).fetchall()
        snapshot = snapshot_in(rows)
        if snapshot is None:
            raise store_errors.unknown_account(user_id)
        return snapshot

    @contextmanager
    def unit_of_work(self, user_id: str) -> Iterator[_PostgresUnitOfWork]:
        """Lock the account row, yield the unit of work, commit on a clean exit.

        Any exception (any ``BaseException``) rolls back: see :meth:`_connection`.
        """
        for attempt in range(_ATTEMPTS):
            with self._connection() as conn:
                try:
                    snapshot = self._lock_account(conn, user_id)
                except psycopg.Error as error:
                    usable = _abandon(conn)
                    if not usable and self._pool is None:
                        self._local.conn = None
                    if not (_transient(error) or not usable) or attempt == _ATTEMPTS - 1:
                        if error.sqlstate in _RETRY_SQLSTATES or not usable:
                            raise store_errors.busy(
                                f"cannot lock the account of user_id {user_id!r}: {error}",
                                user_id=user_id,
                                sqlstate=error.sqlstate,
                            ) from error
                        raise _refusal(error, user_id=user_id) from error
                    _backoff(attempt)
                    continue
                uow = _PostgresUnitOfWork(conn, self._q, snapshot)
                committing = False
                try:
                    yield uow
                    committing = True
                    uow.commit()
                except psycopg.Error as error:
                    refusal = uow.refused(error, committing)
                    raise refusal from error
                return

    # --- reads -----------------------------------------------------------------------------

    def snapshot(self, user_id: str) -> Snapshot:
        """A committed, consistent snapshot: one statement (a STABLE function: one MVCC snapshot)."""
        snapshot = snapshot_in(self._all(self._q.read_unit, (encode(user_id),)))
        if snapshot is None:
            raise store_errors.unknown_account(user_id)
        return snapshot

    def audit_view(self, user_id: str) -> AuditView:
        """Snapshot, journal, lots and holds in one ``REPEATABLE READ READ ONLY`` transaction
        (one MVCC snapshot for every statement)."""
        key = (encode(user_id),)
        for attempt in range(2):
            with self._connection() as conn:
                try:
                    _command(conn, b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    snap_rows = conn.execute(self._q.read_unit, key).fetchall()
                    journal = conn.execute(self._q.journal_asc, (key[0], 0, _BIG, None)).fetchall()
                    lots = conn.execute(self._q.all_lots, key).fetchall()
                    holds = conn.execute(self._q.all_holds, key).fetchall()
                    _command(conn, b"COMMIT")
                except psycopg.Error as error:
                    usable = _abandon(conn)
                    if not usable and self._pool is None:
                        self._local.conn = None
                    if attempt == 0 and not usable:
                        continue
                    raise _refusal(error) from error
            snapshot = snapshot_in(snap_rows)
            if snapshot is None:
                raise store_errors.unknown_account(user_id)
            return AuditView(
                snapshot,
                tuple(tx_of(row) for row in journal),
                tuple(lot_of(row) for row in lots),
                tuple(hold_of(row) for row in holds),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _all(self, query: bytes, params: Sequence[object]) -> list[Any]:
        """Run one read-only statement; a dropped connection is reopened and the read retried."""
        for attempt in range(2):
            with self._connection() as conn:
                try:
                    return conn.execute(query, params).fetchall()
                except psycopg.Error as error:
                    usable = _abandon(conn)
                    if not usable and self._pool is None:
                        self._local.conn = None
                    if attempt == 0 and not usable:
                        continue
                    raise _refusal(error) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def _first(self, query: bytes, params: Sequence[object]) -> Any:
        rows = self._all(query, params)
        return rows[0] if rows else None

    def lots(self, user_id: str) -> Sequence[Lot]:
        """Every lot of the account, oldest first."""
        return tuple(lot_of(row) for row in self._all(self._q.all_lots, (encode(user_id),)))

    def transactions(
        self,
        user_id: str,
        *,
        after_seq: int = 0,
        before_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> Sequence[Transaction]:
        """The account's journal with ``after_seq < seq < before_seq``, in ``seq`` order."""
        query = self._q.journal_desc if newest_first else self._q.journal_asc
        params = (
            encode(user_id),
            max(after_seq, -_BIG),
            _BIG if before_seq is None else min(before_seq, _BIG),
            None if limit is None else max(0, limit),
        )
        return tuple(tx_of(row) for row in self._all(query, params))

    def transactions_between(
        self, start: datetime | None, end: datetime | None
    ) -> Iterator[Transaction]:
        """Every account's transactions in ``[start, end)`` by ``(created_at, user_id, seq)``,
        read in pages of committed rows through the ``transactions_time`` index."""
        low = _EARLIEST if start is None else start
        high = _LATEST if end is None else end
        rows = self._all(self._q.range_first, (low, high, _SCAN_PAGE))
        while rows:
            yield from map(tx_of, rows)
            if len(rows) < _SCAN_PAGE:
                return
            last = rows[-1]
            rows = self._all(self._q.range_next, (last[5], last[1], last[2], high, _SCAN_PAGE))

    def transaction(self, tx_id: str) -> Transaction | None:
        """A transaction by id."""
        row = self._first(self._q.tx_by_id, (encode(tx_id),))
        return None if row is None else tx_of(row)

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        """The purchase booking ``payment_id``."""
        row = self._first(self._q.tx_by_payment, (encode(payment_id),))
        return None if row is None else tx_of(row)

    def hold(self, hold_id: str) -> Hold | None:
        """A hold by id."""
        row = self._first(self._q.hold_by_id, (encode(hold_id),))
        return None if row is None else hold_of(row)

    def user_ids(self) -> Sequence[str]:
        """Every user id, sorted by code point."""
        return sorted(decode(row[0]) for row in self._all(self._q.user_ids, ()))

    def close(self) -> None:
        """Close the connections this store opened (a pool given to it stays open); idempotent."""
        with self._lock:
            self._closed = True
            owned, self._owned = self._owned, []
        for conn in owned:
            with contextlib.suppress(Exception):
                conn.close()
