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
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from creditcore._exceptions import DuplicateId, SchemaVersionError, StoreError, UnknownAccount
from creditcore._ledger.values import (
    Account,
    Entry,
    Hold,
    HoldStatus,
    Lot,
    LotKind,
    MetadataValue,
    Snapshot,
    Transaction,
    TransactionKind,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

_V = TypeVar("_V")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)

_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (  # version 1
        """CREATE TABLE accounts (
            user_id TEXT PRIMARY KEY,
            tier TEXT,
            allowance INTEGER NOT NULL CHECK (allowance >= 0),
            period TEXT NOT NULL,
            subscription_lot TEXT,
            seq INTEGER NOT NULL CHECK (seq >= 1),
            totals TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )""",
        """CREATE TABLE lots (
            id TEXT PRIMARY KEY NOT NULL,
            user_id TEXT NOT NULL REFERENCES accounts(user_id),
            kind TEXT NOT NULL CHECK (kind IN ('subscription', 'purchased', 'lootbox')),
            credits INTEGER NOT NULL CHECK (credits > 0),
            remaining INTEGER NOT NULL CHECK (remaining >= 0),
            created_at INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            expires_at INTEGER,
            source TEXT,
            amount TEXT,
            currency TEXT
        ) WITHOUT ROWID""",
        "CREATE INDEX lots_open ON lots(user_id, seq) WHERE remaining > 0",
        "CREATE INDEX lots_user ON lots(user_id, seq)",
        """CREATE TABLE holds (
            id TEXT PRIMARY KEY NOT NULL,
            user_id TEXT NOT NULL REFERENCES accounts(user_id),
            credits INTEGER NOT NULL CHECK (credits > 0),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
            captured INTEGER NOT NULL CHECK (captured >= 0 AND captured <= credits),
            resolved_at INTEGER
        ) WITHOUT ROWID""",
        "CREATE INDEX holds_open ON holds(user_id) WHERE status = 'open'",
        """CREATE TABLE transactions (
            user_id TEXT NOT NULL REFERENCES accounts(user_id),
            seq INTEGER NOT NULL CHECK (seq >= 1),
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            credits INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            idem_key TEXT,
            fingerprint TEXT NOT NULL,
            ref TEXT,
            payment_id TEXT,
            entries TEXT NOT NULL,
            metadata TEXT NOT NULL,
            PRIMARY KEY (user_id, seq)
        ) WITHOUT ROWID""",
        "CREATE UNIQUE INDEX transactions_key ON transactions(user_id, idem_key) "
        "WHERE idem_key IS NOT NULL",
        "CREATE UNIQUE INDEX transactions_payment ON transactions(payment_id) "
        "WHERE payment_id IS NOT NULL",
        "CREATE INDEX transactions_ref ON transactions(ref) WHERE ref IS NOT NULL",
    ),
)
SCHEMA_VERSION: Final = len(_MIGRATIONS)
"""The schema version this code writes (``PRAGMA user_version``)."""

_DECODED_MAX: Final = 20_000
_VALUES: Final = {n: "VALUES (" + ",".join("?" * n) + ")" for n in (8, 11, 12)}
_TX_COLUMNS = (
    "id, user_id, seq, kind, credits, created_at, idem_key, fingerprint, ref, payment_id, "
    "entries, metadata"
)
_LOT_COLUMNS = (
    "id, user_id, kind, credits, remaining, created_at, seq, expires_at, source, amount, currency"
)
_HOLD_COLUMNS = "id, user_id, credits, created_at, expires_at, status, captured, resolved_at"


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICRO


def _instant(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _opt_micros(value: datetime | None) -> int | None:
    return None if value is None else _micros(value)


def _opt_instant(value: int | None) -> datetime | None:
    return None if value is None else _instant(value)


def _tx_row(tx: Transaction) -> tuple[object, ...]:
    return (
        tx.id,
        tx.user_id,
        tx.seq,
        tx.kind,
        tx.credits,
        _micros(tx.created_at),
        tx.key,
        tx.fingerprint,
        tx.ref,
        tx.payment_id,
        json.dumps([[e.account, e.delta, e.balance_after] for e in tx.entries]),
        json.dumps(dict(tx.metadata)),
    )


def _tx(row: Sequence[Any]) -> Transaction:
    return Transaction(
        id=row[0],
        user_id=row[1],
        seq=row[2],
        kind=cast(TransactionKind, row[3]),
        credits=row[4],
        created_at=_instant(row[5]),
        key=row[6],
        fingerprint=row[7],
        ref=row[8],
        payment_id=row[9],
        entries=tuple(Entry(a, d, b) for a, d, b in json.loads(row[10])),
        metadata=cast(dict[str, MetadataValue], json.loads(row[11])),
    )


def _lot_row(lot: Lot) -> tuple[object, ...]:
    return (
        lot.id,
        lot.user_id,
        lot.kind,
        lot.credits,
        lot.remaining,
        _micros(lot.created_at),
        lot.seq,
        _opt_micros(lot.expires_at),
        lot.source,
        None if lot.amount is None else str(lot.amount),
        lot.currency,
    )


def _lot(row: Sequence[Any]) -> Lot:
    return Lot(
        id=row[0],
        user_id=row[1],
        kind=cast(LotKind, row[2]),
        credits=row[3],
        remaining=row[4],
        created_at=_instant(row[5]),
        seq=row[6],
        expires_at=_opt_instant(row[7]),
        source=row[8],
        amount=None if row[9] is None else Decimal(row[9]),
        currency=row[10],
    )


def _hold_row(hold: Hold) -> tuple[object, ...]:
    return (
        hold.id,
        hold.user_id,
        hold.credits,
        _micros(hold.created_at),
        _micros(hold.expires_at),
        hold.status,
        hold.captured,
        _opt_micros(hold.resolved_at),
    )


def _hold(row: Sequence[Any]) -> Hold:
    return Hold(
        id=row[0],
        user_id=row[1],
        credits=row[2],
        created_at=_instant(row[3]),
        expires_at=_instant(row[4]),
        status=cast(HoldStatus, row[5]),
        captured=row[6],
        resolved_at=_opt_instant(row[7]),
    )


def _account(row: Sequence[Any]) -> Account:
    return Account(
        user_id=row[0],
        tier=row[1],
        allowance=row[2],
        period=row[3],
        subscription_lot=row[4],
        seq=row[5],
        totals=json.loads(row[6]),
        created_at=_instant(row[7]),
    )


# One statement (so one consistent read, no explicit transaction): the account row, its lots
# with credits left, its current subscription lot when empty, its open holds; tagged 0/1/2.
_SNAPSHOT_SQL: Final = f"""
SELECT 0, user_id, tier, allowance, period, subscription_lot, seq, totals, created_at,
       NULL, NULL, NULL
  FROM accounts WHERE user_id = :u
UNION ALL
SELECT 1, {_LOT_COLUMNS} FROM lots WHERE user_id = :u AND remaining > 0
UNION ALL
SELECT 1, {_LOT_COLUMNS} FROM lots
 WHERE id = (SELECT subscription_lot FROM accounts WHERE user_id = :u)
   AND user_id = :u AND remaining = 0
UNION ALL
SELECT 2, {_HOLD_COLUMNS}, NULL, NULL, NULL FROM holds WHERE user_id = :u AND status = 'open'
"""


class _Memo:
    """Decoded values by their row (rows are hashable tuples; an unchanged row decodes once)."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[tuple[Any, ...], Any] = {}

    def get(self, row: tuple[Any, ...], decode: Callable[[Sequence[Any]], _V]) -> _V:
        value: _V | None = self._values.get(row)
        if value is None:
            value = decode(row[1:] if len(row) == 12 else row)
            if len(self._values) >= _DECODED_MAX:
                self._values.clear()
            self._values[row] = value
        return value


def _read_snapshot(conn: sqlite3.Connection, user_id: str, memo: _Memo) -> Snapshot:
    account: Account | None = None
    lots: list[Lot] = []
    holds: list[Hold] = []
    for row in conn.execute(_SNAPSHOT_SQL, {"u": user_id}):
        tag = row[0]
        if tag == 1:
            lots.append(memo.get(row, _lot))
        elif tag == 2:
            holds.append(memo.get(row, _hold))
        else:
            account = memo.get(row, _account)
    if account is None:
        raise UnknownAccount(f"no account for user_id {user_id!r}", user_id=user_id)
    if len(lots) > 1:
        lots.sort(key=lambda lot: (lot.seq, lot.id))
    return Snapshot(account, tuple(lots), tuple(holds))


def _commit(conn: sqlite3.Connection) -> None:
    """COMMIT; if even that fails, roll back so the connection is usable, and re-raise."""
    try:
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _duplicate(err: sqlite3.IntegrityError, tx: Transaction) -> DuplicateId:
    text = str(err)
    if "payment_id" in text:
        return DuplicateId(
            f"payment_id {tx.payment_id!r} is already booked", payment_id=tx.payment_id
        )
    if "idem_key" in text:
        return DuplicateId(f"idempotency key {tx.key!r} is already used", key=tx.key)
    if "accounts.user_id" in text:
        return DuplicateId(f"user_id {tx.user_id!r} already has an account", user_id=tx.user_id)
    raise StoreError(f"SQLite refused transaction {tx.id}: {text}", transaction_id=tx.id) from err


def _advance(
    snap: Snapshot, account: Account, lots: Sequence[Lot], holds: Sequence[Hold]
) -> Snapshot:
    """The snapshot after writing ``account``, ``lots`` and ``holds`` (what a re-read returns)."""
    by_id = {lot.id: lot for lot in snap.lots}
    for lot in lots:
        by_id[lot.id] = lot
    sub = account.subscription_lot
    kept = sorted(
        (lot for lot in by_id.values() if lot.remaining > 0 or lot.id == sub),
        key=lambda lot: (lot.seq, lot.id),
    )
    open_holds = {hold.id: hold for hold in snap.holds}
    for hold in holds:
        open_holds[hold.id] = hold
    return Snapshot(
        account, tuple(kept), tuple(h for h in open_holds.values() if h.status == "open")
    )


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
            f"SELECT {_TX_COLUMNS} FROM transactions WHERE idem_key = ? AND user_id = ?", key
        )
        return None if row is None else _tx(row)

    def transaction(self, tx_id: str) -> Transaction | None:
        row = self._mine(
            f"SELECT {_TX_COLUMNS} FROM transactions WHERE id = ? AND user_id = ?", tx_id
        )
        return None if row is None else _tx(row)

    def referencing(self, tx_id: str) -> Sequence[Transaction]:
        rows = self._conn.execute(
            f"SELECT {_TX_COLUMNS} FROM transactions WHERE ref = ? AND user_id = ? ORDER BY seq",
            (tx_id, self.snapshot.account.user_id),
        ).fetchall()
        return tuple(_tx(r) for r in rows)

    def lot(self, lot_id: str) -> Lot | None:
        row = self._mine(f"SELECT {_LOT_COLUMNS} FROM lots WHERE id = ? AND user_id = ?", lot_id)
        if row is None:
            return None
        self._lots.add(lot_id)
        return _lot(row)

    def hold(self, hold_id: str) -> Hold | None:
        row = self._mine(f"SELECT {_HOLD_COLUMNS} FROM holds WHERE id = ? AND user_id = ?", hold_id)
        if row is None:
            return None
        self._holds.add(hold_id)
        return _hold(row)

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        row = self._conn.execute(
            f"SELECT {_TX_COLUMNS} FROM transactions WHERE payment_id = ?", (payment_id,)
        ).fetchone()
        return None if row is None else _tx(row)

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
                f"INSERT INTO transactions ({_TX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                _tx_row(tx),
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
                if self._insert(f"INSERT INTO lots ({_LOT_COLUMNS}) {_VALUES[11]}", _lot_row(lot)):
                    continue
            conn.execute("UPDATE lots SET remaining = ? WHERE id = ?", (lot.remaining, lot.id))
        self.after = _advance(self.after, account, lots, holds)
        for hold in holds:
            if hold.id not in self._holds:
                self._holds.add(hold.id)
                if self._insert(
                    f"INSERT INTO holds ({_HOLD_COLUMNS}) {_VALUES[8]}", _hold_row(hold)
                ):
                    continue
            conn.execute(
                "UPDATE holds SET status = ?, captured = ?, resolved_at = ? WHERE id = ?",
                (hold.status, hold.captured, _opt_micros(hold.resolved_at), hold.id),
            )

    def _insert(self, statement: str, row: tuple[object, ...]) -> bool:
        """Insert a row; ``False`` when its id exists already (then the caller updates it)."""
        try:
            self._conn.execute(statement, row)
        except sqlite3.IntegrityError as err:
            if "UNIQUE" not in str(err) or ".id" not in str(err):
                raise StoreError(f"SQLite refused a row: {err}", row=row) from err
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


class SQLiteStore:
    """The ledger's store port on a SQLite file; safe across threads and processes.

    Args:
        path: The database file (created if missing; its folder must exist).
        timeout: Seconds a writer waits for the file's write lock before failing.

    Raises:
        SchemaVersionError: The file was written by a newer creditcore.
        StoreError: The file is not a SQLite database.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
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
        self._memo = _Memo()
        self._closed = False
        self._migrate()

    def _cached(self, row: Sequence[Any]) -> Transaction:
        tx = self._decoded.get(row[0])
        if tx is None:
            tx = _tx(row)
            if len(self._decoded) >= _DECODED_MAX:
                self._decoded.clear()
            self._decoded[row[0]] = tx
        return tx

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as err:
            raise StoreError(
                f"cannot open {str(self._path)!r} as a SQLite ledger: {err}", path=str(self._path)
            ) from err
        with self._lock:
            self._connections.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed", path=str(self._path))
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or getattr(local, "pid", None) != os.getpid():
            conn = self._connect()
            local.conn = conn
            local.pid = os.getpid()
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as err:
            raise StoreError(
                f"cannot open {str(self._path)!r} as a SQLite ledger: {err}", path=str(self._path)
            ) from err
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{str(self._path)!r} has schema version {version}; this creditcore "
                    f"understands up to {SCHEMA_VERSION}",
                    path=str(self._path),
                    version=version,
                    supported=SCHEMA_VERSION,
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[number]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")
            _commit(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            self.close()
            raise

    def _writing(self) -> sqlite3.Connection:
        """The process's writing connection (call with ``self._writer`` held)."""
        if self._closed:
            raise StoreError("the store is closed", path=str(self._path))
        conn = self._writer_conn
        if conn is None or self._writer_pid != os.getpid():
            conn = self._writer_conn = self._connect()
            self._writer_pid = os.getpid()
            self._snapshots = {}
            self._version = None
        return conn

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
        """
        with self._count:
            self._wanting += 1
        self._writer.acquire()
        with self._count:
            self._wanting -= 1
        joined: _Group | None = None
        try:
            conn = self._writing()
            if self._group is None:
                conn.execute("BEGIN IMMEDIATE")
                self._group = _Group()
            group = self._group
            nested = group.members > 0
            if nested:
                conn.execute("SAVEPOINT uow")
            try:
                yield conn
            except BaseException:
                self._undo(conn, group, nested)
                raise
            if nested:
                conn.execute("RELEASE uow")
            group.members += 1
            joined = group
        finally:
            try:
                pending = self._group
                if pending is not None:
                    if self._wanting == 0 or pending.members >= _GROUP_MAX or self._closed:
                        self._finish(pending)
                    elif pending.done is None:  # handed on: someone will wake us
                        pending.done = threading.Event()
            finally:
                self._writer.release()
        if not joined.finished:
            assert joined.done is not None
            joined.done.wait()  # outside the lock: the commit that makes this write durable
        if joined.failure is not None:
            raise StoreError(
                f"SQLite could not commit to {str(self._path)!r}: {joined.failure}",
                path=str(self._path),
            ) from joined.failure

    def _undo(self, conn: sqlite3.Connection, group: _Group, nested: bool) -> None:
        """Take back the failed write only (call with the lock held)."""
        try:
            if nested:
                conn.execute("ROLLBACK TO uow")
                conn.execute("RELEASE uow")
                return
            conn.execute("ROLLBACK")
            self._group = None
        except sqlite3.Error as err:  # the transaction is in doubt: give the whole group up
            group.failure = err
            self._finish(group)

    def _finish(self, group: _Group) -> None:
        """COMMIT the group's transaction and wake its writers (call with the lock held)."""
        conn = self._writer_conn
        try:
            if group.failure is None and conn is not None:
                conn.execute("COMMIT")
            elif conn is not None:
                conn.execute("ROLLBACK")
        except BaseException as err:
            if group.failure is None:
                group.failure = err
            with contextlib.suppress(sqlite3.Error):
                if conn is not None:
                    conn.execute("ROLLBACK")
        finally:
            if group.failure is not None:  # what this process remembers may not be on disk
                self._snapshots = {}
                self._version = None
            self._group = None
            group.finished = True
            if group.done is not None:
                group.done.set()

    def create_account(self, account: Account, tx: Transaction, lots: Sequence[Lot]) -> None:
        """Insert the account, its opening transaction and lots in one transaction."""
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO accounts (user_id, tier, allowance, period, subscription_lot, "
                    "seq, totals, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        account.user_id,
                        account.tier,
                        account.allowance,
                        account.period,
                        account.subscription_lot,
                        account.seq,
                        json.dumps(dict(account.totals)),
                        _micros(account.created_at),
                    ),
                )
            except sqlite3.IntegrityError as err:
                raise _duplicate(err, tx) from err
            conn.executemany(
                f"INSERT INTO lots ({_LOT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [_lot_row(lot) for lot in lots],
            )
            conn.execute(
                f"INSERT INTO transactions ({_TX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                _tx_row(tx),
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

    def snapshot(self, user_id: str) -> Snapshot:
        """A committed snapshot, read by one statement."""
        return _read_snapshot(self._conn(), user_id, self._memo)

    def lots(self, user_id: str) -> Sequence[Lot]:
        """Every lot of the account, oldest first."""
        rows = self._conn().execute(
            f"SELECT {_LOT_COLUMNS} FROM lots WHERE user_id = ? ORDER BY seq, id", (user_id,)
        )
        return tuple(self._memo.get(r, _lot) for r in rows)

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
        rows = self._conn().execute(
            f"SELECT {_TX_COLUMNS} FROM transactions WHERE user_id = ? AND seq > ? AND seq < ? "
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
        return self._conn().execute(sql, (key,)).fetchone()

    def transaction(self, tx_id: str) -> Transaction | None:
        """A transaction by id."""
        row = self._one(f"SELECT {_TX_COLUMNS} FROM transactions WHERE id = ?", tx_id)
        return None if row is None else self._cached(row)

    def purchase_by_payment(self, payment_id: str) -> Transaction | None:
        """The purchase booking ``payment_id``."""
        row = self._one(f"SELECT {_TX_COLUMNS} FROM transactions WHERE payment_id = ?", payment_id)
        return None if row is None else self._cached(row)

    def hold(self, hold_id: str) -> Hold | None:
        """A hold by id."""
        row = self._one(f"SELECT {_HOLD_COLUMNS} FROM holds WHERE id = ?", hold_id)
        return None if row is None else _hold(row)

    def user_ids(self) -> Sequence[str]:
        """Every user id, sorted."""
        rows = self._conn().execute("SELECT user_id FROM accounts ORDER BY user_id")
        return [r[0] for r in rows]

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):  # best effort
                conn.close()
