"""PostgreSQL test support: where the server is, whether it answers, a fresh schema per test.

Tests reach the server named by ``CREDITCORE_TEST_PG_DSN`` (default: the project's local server,
``127.0.0.1:5432``, trust auth, database ``test``, user ``postgres``). When nothing answers there,
the PostgreSQL tests are skipped on a developer machine and FAIL under ``CI=true``: a CI run that
silently skipped the database would prove nothing.

Every store a test opens lives in its own schema, named after this test run (``cc_t_<run>_<n>``)
and dropped when the test ends; a sweep at the end of the session drops whatever a crashed test
left behind with the run's prefix. Test modules pull the fixtures in by importing them::

    from tests.stores.postgres_support import pg_dsn_fixture, pg_schema_fixture  # noqa: F401
"""

from __future__ import annotations

import atexit
import itertools
import os
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from creditcore import IdempotencyConflict, InsufficientCredits, OverRefund
from creditcore.ledger import Ledger
from creditcore.stores.postgres import PostgresStore
from tests.conftest import IN_CI

__all__ = [
    "DEFAULT_DSN",
    "RUN_PREFIX",
    "ChurnResult",
    "churn_worker",
    "drop_schema",
    "factory_open",
    "factory_reopen",
    "factory_unavailable",
    "new_schema_name",
    "pg_dsn_fixture",
    "pg_schema_fixture",
    "pg_store_fixture",
    "purchase_worker",
    "require_server",
    "server_dsn",
    "server_problem",
]

DEFAULT_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=3"
RUN_PREFIX = f"cc_t_{secrets.token_hex(3)}_{os.getpid()}"
_counter = itertools.count(1)
_named: list[bool] = []  # non-empty once this process named a schema (then the exit sweep runs)


def server_dsn() -> str:
    """The DSN of the server the tests use (``CREDITCORE_TEST_PG_DSN`` or the local default)."""
    return os.environ.get("CREDITCORE_TEST_PG_DSN", DEFAULT_DSN)


@cache
def server_problem(dsn: str) -> str | None:
    """Why the server at ``dsn`` cannot be used, or ``None`` when it answers a query."""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL at {dsn!r} is not reachable: {error}"
    return None


def require_server() -> str:
    """Return the DSN when the server answers; skip the test otherwise (fail under CI)."""
    dsn = server_dsn()
    problem = server_problem(dsn)
    if problem is not None:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: PostgreSQL tests may not be skipped)")
        pytest.skip(problem)
    return dsn


def new_schema_name() -> str:
    """A schema name no other test of any run uses (``cc_t_<run>_<n>``)."""
    _named.append(True)
    return f"{RUN_PREFIX}_{next(_counter)}"


def drop_schema(dsn: str, schema: str) -> None:
    """Drop ``schema`` and everything in it, if it exists."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _drop_run_schemas(dsn: str, prefix: str) -> None:
    """Drop every schema whose name starts with ``prefix`` (leftovers of crashed tests)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall()
        for (name,) in rows:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


# --- the entry of the store contract suite (tests/stores/factories.py) ---------------------------

_kept: dict[Path, str] = {}
"""Schemas left by ``factory_open`` for a later ``factory_reopen`` of the same folder."""
_spare: list[str] = []
"""Migrated schemas of this run, emptied, ready for the next ``factory_open``."""


def factory_unavailable() -> str | None:
    """Why the contract suite cannot run on PostgreSQL here (skip), or ``None``; fails under CI."""
    dsn = server_dsn()
    problem = server_problem(dsn)
    if problem is not None and IN_CI:
        pytest.fail(f"{problem} (CI=true: PostgreSQL tests may not be skipped)")
    return problem


def _empty_schema(dsn: str, schema: str) -> bool:
    """Delete every row of a store's schema (triggers off, so the journal may go); False if not allowed.

    Emptying takes a few milliseconds where dropping and migrating a schema takes a few hundred,
    which matters for hypothesis, which opens a store per example.
    """
    name = sql.Identifier(schema)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            for table in ("transactions", "holds", "lots", "accounts"):
                conn.execute(sql.SQL("DELETE FROM {}.{}").format(name, sql.Identifier(table)))
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def _recycle(dsn: str, schema: str) -> None:
    if _empty_schema(dsn, schema):
        _spare.append(schema)
    else:
        drop_schema(dsn, schema)


@contextmanager
def factory_open(folder: Path) -> Iterator[PostgresStore]:
    """An empty store on a schema of its own, remembered for ``factory_reopen(folder)``.

    The data outlives the context only until the next ``factory_open`` of another folder or the
    ``factory_reopen`` of this one; then the schema is emptied for reuse (or dropped). Every
    schema of the run is dropped at the end of the session.
    """
    dsn = server_dsn()
    for other in [path for path in _kept if path != folder]:
        _recycle(dsn, _kept.pop(other))
    schema = _spare.pop() if _spare else new_schema_name()
    _kept[folder] = schema
    store = PostgresStore(dsn, schema=schema)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def factory_reopen(folder: Path) -> Iterator[PostgresStore]:
    """A second store on the schema of the last ``factory_open(folder)``, recycled on exit."""
    dsn = server_dsn()
    schema = _kept.pop(folder)
    store = PostgresStore(dsn, schema=schema)
    try:
        yield store
    finally:
        store.close()
        _recycle(dsn, schema)


@atexit.register
def _sweep_at_exit() -> None:
    dsn = server_dsn()
    if _named and server_problem(dsn) is None:
        _drop_run_schemas(dsn, RUN_PREFIX)


@pytest.fixture(name="pg_dsn", scope="session")
def pg_dsn_fixture() -> Iterator[str]:
    """The reachable server's DSN; at the end of the session, sweep this run's schemas."""
    dsn = require_server()
    yield dsn
    _drop_run_schemas(dsn, RUN_PREFIX)


@pytest.fixture(name="pg_schema")
def pg_schema_fixture(pg_dsn: str) -> Iterator[str]:
    """A schema name unique to this test, dropped when the test ends."""
    schema = new_schema_name()
    yield schema
    drop_schema(pg_dsn, schema)


@pytest.fixture(name="pg_store")
def pg_store_fixture(pg_dsn: str, pg_schema: str) -> Iterator[PostgresStore]:
    """A store on this test's own schema, closed when the test ends."""
    store = PostgresStore(pg_dsn, schema=pg_schema)
    yield store
    store.close()


# --- workers of the multi-process tests (module level: ``spawn`` imports them by name) ----------


def churn_worker(
    dsn: str,
    schema: str,
    user: str,
    worker: int,
    operations: int,
    barrier: Barrier,
    out: Queue[ChurnResult],
) -> None:
    """Hammer one account with a seeded mix of consume, refund, hold and purchase calls.

    Refusals the rules call for (``InsufficientCredits``, ``OverRefund``) are counted; anything
    else raised is reported as unexpected. Every acknowledged call is reported with its
    transaction id and credits, so the parent can check the journal against it.
    """
    rng = random.Random(worker)
    store = PostgresStore(dsn, schema=schema)
    ledger = Ledger(store)
    result = ChurnResult(worker)
    try:
        barrier.wait(timeout=120)
        for n in range(operations):
            try:
                _churn_step(ledger, store, rng, user, f"pay-{worker}-{n}", result)
            except (InsufficientCredits, OverRefund) as refusal:
                result.refused[type(refusal).__name__] = (
                    result.refused.get(type(refusal).__name__, 0) + 1
                )
            except Exception as error:
                result.unexpected.append(repr(error))
    finally:
        store.close()
        out.put(result)


def _churn_step(
    ledger: Ledger,
    store: PostgresStore,
    rng: random.Random,
    user: str,
    payment: str,
    result: ChurnResult,
) -> None:
    roll = rng.random()
    if roll < 0.45:
        tx = ledger.consume(user, rng.randint(1, 8))
        result.acked.append(("consume", tx.id, tx.credits))
    elif roll < 0.62:
        spent = [
            t
            for t in store.transactions(user, newest_first=True, limit=40)
            if t.kind in ("consume", "capture")
        ]
        if spent:
            target = rng.choice(spent)
            tx = ledger.refund(target.id, rng.randint(1, target.credits))
            result.acked.append(("refund", tx.id, tx.credits))
    elif roll < 0.95:
        hold = ledger.reserve(user, rng.randint(1, 8))
        result.acked.append(("reserve", hold.id, hold.credits))
        if rng.random() < 0.6:
            tx = ledger.capture(hold.id, rng.randint(1, hold.credits))
            result.acked.append(("capture", tx.id, tx.credits))
        else:
            tx = ledger.release(hold.id)
            result.acked.append(("release", tx.id, tx.credits))
    else:
        tx = ledger.purchase(user, rng.randint(5, 20), payment_id=payment)
        result.acked.append(("purchase", tx.id, tx.credits))


def purchase_worker(
    dsn: str,
    schema: str,
    deliveries: list[tuple[str, str]],
    credits: int,
    barrier: Barrier,
    out: Queue[tuple[str, str, str]],
) -> None:
    """For each ``(payment_id, user)``: wait for every process, then deliver that purchase at once.

    Reports ``(payment_id, user, transaction id)``, or ``"conflict"`` in place of the id when
    the ledger answered ``IdempotencyConflict`` (the payment was booked to another user).
    """
    store = PostgresStore(dsn, schema=schema)
    ledger = Ledger(store)
    try:
        for payment_id, user in deliveries:
            barrier.wait(timeout=120)
            try:
                tx = ledger.purchase(user, credits, payment_id=payment_id)
                out.put((payment_id, user, tx.id))
            except IdempotencyConflict:
                out.put((payment_id, user, "conflict"))
            except Exception as error:
                out.put((payment_id, user, f"unexpected: {error!r}"))
    finally:
        store.close()


@dataclass
class ChurnResult:
    """What one churn worker saw: acknowledged calls, counted refusals, unexpected errors."""

    worker: int
    acked: list[tuple[str, str, int]] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
