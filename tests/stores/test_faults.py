"""Fault injection: an exception at EVERY driver call of a unit of work, in turn.

For SQLite and PostgreSQL, each kind of write (consume, purchase, capture, refund, opening an
account) is first run once to count its driver calls; then, for each call in turn, it is run
again with that call failing, by an ordinary exception (``RuntimeError``) and by a
``BaseException`` (``KeyboardInterrupt``), raised before the call reaches the driver or right
after it returned (the interrupt that lands between two statements). After each:

- nothing is half-written: the account's journal has the transaction whole or not at all (not at
  all when the fault came before the call), and ``verify`` finds the stored state equal to the
  replay of the journal;
- no lock is left: another process writes on the same account within a second;
- the next call on the same thread and store works.
"""

from __future__ import annotations

import os
import select
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from creditcore.ledger import Ledger, LedgerStore, ManualClock
from tests.ledger.conftest import T0

ROOT = Path(__file__).resolve().parents[2]
Call = Callable[[], Any]


@dataclass
class Plan:
    """Which driver call of the armed operation fails, and how."""

    armed: bool = False
    count: int = 0
    fail_at: int | None = None
    error: type[BaseException] = RuntimeError
    after: bool = False
    fired: bool = False
    calls: list[str] = field(default_factory=list)

    def arm(self, fail_at: int | None, error: type[BaseException], after: bool) -> None:
        self.armed, self.count, self.fired, self.calls = True, 0, False, []
        self.fail_at, self.error, self.after = fail_at, error, after

    def step(self, what: str, call: Call) -> Any:
        if not self.armed:
            return call()
        self.count += 1
        self.calls.append(what)
        if self.count == self.fail_at and not self.fired:
            self.fired = True
            if self.after:
                call()
            raise self.error(f"injected at driver call {self.count} ({what})")
        return call()


class Writer:
    """The other process (tests/stores/fault_writer.py): one write per request."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.stores.fault_writer", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert self._read(60) == "ready"

    def _read(self, timeout: float) -> str:
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        assert ready, "the other process did not answer"
        return self._proc.stdout.readline().strip()

    def writes_within_a_second(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write("go\n")
        self._proc.stdin.flush()
        answer = self._read(10)
        assert answer.startswith("ok"), f"another process could not write: {answer}"
        assert float(answer.split()[1]) < 1.0, answer

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


OPERATIONS = ("consume", "purchase", "capture", "refund", "open")


def _operation(ledger: Ledger, name: str, n: int) -> Call:
    """A fresh write of kind ``name`` (its set-up done now, unarmed); returns the write."""
    if name == "consume":
        return lambda: ledger.consume("a", 2, key=f"c{n}", metadata={"n": n})
    if name == "purchase":
        return lambda: ledger.purchase("a", 10, payment_id=f"pay{n}")
    if name == "capture":
        hold = ledger.reserve("a", 5)
        return lambda: ledger.capture(hold.id, 3)
    if name == "refund":
        spent = ledger.consume("a", 4)
        return lambda: ledger.refund(spent.id, 3)
    return lambda: ledger.open_account(f"u{n}", monthly_allowance=3)


def _check_after(
    ledger: Ledger, store: LedgerStore, name: str, n: int, before: int, plan: Plan
) -> None:
    user = f"u{n}" if name == "open" else "a"
    exists = user in store.user_ids()
    written = len(store.transactions(user)) - (before if user == "a" else 0) if exists else 0
    if not plan.fired or plan.after:
        assert written in (0, 1), plan.calls
    else:
        assert written == 0, f"a write that failed before call {plan.fail_at} landed"
    if exists:
        report = ledger.verify(user)
        assert report.ok, (plan.calls, report.problems)


def _run_every_fault(ledger: Ledger, store: LedgerStore, plan: Plan, writer: Writer) -> int:
    """Every operation, every driver call, both errors, before and after; returns the cases."""
    ledger.open_account("a", monthly_allowance=10**9)
    cases = 0
    n = 0
    for name in OPERATIONS:
        n += 1
        write = _operation(ledger, name, n)
        plan.arm(None, RuntimeError, False)
        write()  # the dry run counts the driver calls of one such write
        plan.armed = False
        total = plan.count
        assert total >= 1, plan.calls
        for at in range(1, total + 1):
            for error in (RuntimeError, KeyboardInterrupt):
                for after in (False, True):
                    n += 1
                    write = _operation(ledger, name, n)
                    before = len(store.transactions("a"))
                    plan.arm(at, error, after)
                    try:
                        write()
                    except error:
                        assert plan.fired
                    else:
                        assert not plan.fired, f"{error.__name__} at call {at} was swallowed"
                    finally:
                        plan.armed = False
                    _check_after(ledger, store, name, n, before, plan)
                    writer.writes_within_a_second()
                    ledger.consume("a", 1)  # the next call on this thread and store works
                    cases += 1
    assert ledger.verify("a").ok
    return cases


@pytest.fixture
def sqlite_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LedgerStore, Plan, Path]]:
    from creditcore.stores.sqlite import SQLiteStore

    plan = Plan()

    class Faulty(sqlite3.Connection):
        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            cursor: sqlite3.Cursor = plan.step(
                sql.split()[0], lambda: sqlite3.Connection.execute(self, sql, parameters)
            )
            return cursor

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
            cursor: sqlite3.Cursor = plan.step(
                "executemany", lambda: sqlite3.Connection.executemany(self, sql, parameters)
            )
            return cursor

    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs["factory"] = Faulty
        conn: sqlite3.Connection = real(*args, **kwargs)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    path = tmp_path / "faults.sqlite3"
    with SQLiteStore(path, timeout=5.0) as store:
        yield store, plan, path


def test_sqlite_every_driver_call_of_a_unit_of_work_can_fail(
    sqlite_faults: tuple[LedgerStore, Plan, Path],
) -> None:
    store, plan, path = sqlite_faults
    ledger = Ledger(store, ManualClock(T0))
    writer_ready = False
    ledger.open_account("seed", monthly_allowance=1)  # the file exists for the other process
    writer = Writer("sqlite", str(path))
    writer_ready = True
    try:
        cases = _run_every_fault(ledger, store, plan, writer)
    finally:
        if writer_ready:
            writer.close()
    assert cases >= 4 * 4 * 4  # the unit-of-work writes have at least four calls each


@pytest.fixture
def pg_faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LedgerStore, Plan, str, str]]:
    import psycopg

    from creditcore.stores.postgres import PostgresStore
    from creditcore.stores.postgres import store as pg_store
    from tests.stores.postgres_support import drop_schema, new_schema_name, require_server

    dsn = require_server()
    schema = new_schema_name()
    plan = Plan()
    real_execute = psycopg.Connection.execute
    real_command = pg_store._command

    def execute(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        text = query.decode() if isinstance(query, bytes) else str(query)
        return plan.step(text.split()[0], lambda: real_execute(self, query, params, **kwargs))

    def command(conn: Any, what: bytes) -> None:
        plan.step(what.decode(), lambda: real_command(conn, what))

    monkeypatch.setattr(psycopg.Connection, "execute", execute)
    monkeypatch.setattr(pg_store, "_command", command)
    store = PostgresStore(dsn, schema=schema)
    try:
        yield store, plan, dsn, schema
    finally:
        store.close()
        monkeypatch.undo()
        drop_schema(dsn, schema)


@pytest.mark.postgres
def test_postgres_every_driver_call_of_a_unit_of_work_can_fail(
    pg_faults: tuple[LedgerStore, Plan, str, str],
) -> None:
    store, plan, dsn, schema = pg_faults
    ledger = Ledger(store, ManualClock(T0))
    writer = Writer("postgres", dsn, schema)
    try:
        cases = _run_every_fault(ledger, store, plan, writer)
    finally:
        writer.close()
    assert cases >= 4 * 4 * 4
