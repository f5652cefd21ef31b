"""SQLiteStore specifics: pragmas, schema versions, several threads and processes on one file,
and a SIGKILL in the middle of a stream (files on the real disk, synchronous=FULL)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from creditcore import (
    InsufficientCredits,
    NotACreditcoreStore,
    SchemaVersionError,
    StoreBusy,
    StoreError,
)
from creditcore.ledger import Ledger, Transaction
from creditcore.stores.sqlite import SCHEMA_VERSION, SQLiteStore

WORKER = Path(__file__).with_name("sqlite_worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def test_new_file_is_migrated_with_wal_and_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    store = SQLiteStore(path)
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"accounts", "lots", "holds", "transactions"} <= tables
    reopened = SQLiteStore(path)  # opening again migrates nothing and keeps data
    assert reopened.user_ids() == []
    reopened.close()


def test_connections_run_with_synchronous_full(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "l.db")
    conn = store._conn()
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError) as err:
        SQLiteStore(path)
    assert err.value.context["version"] == SCHEMA_VERSION + 1


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        SQLiteStore(path)


def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "l.db")
    store.close()
    with pytest.raises(StoreError):
        store.user_ids()


def test_only_the_adapter_imports_sqlite3() -> None:
    importers = [
        p.relative_to(SRC).as_posix()
        for p in (SRC / "creditcore").rglob("*.py")
        if "import sqlite3" in p.read_text()
    ]
    assert importers == ["creditcore/stores/sqlite/store.py"]


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_eight_threads_and_four_processes_on_one_account(tmp_path: Path) -> None:
    """No overdraft, credits conserved, every acknowledged call present after reopening."""
    path = tmp_path / "shared.db"
    store = SQLiteStore(path)
    ledger = Ledger(store)
    ledger.open_account("hot", monthly_allowance=100)
    # 1,200 credits; the workers ask for about 1,600 (8 threads x 50 calls + 4 processes x 100
    # calls, 1-3 credits each), so the account runs dry under contention
    ledger.purchase("hot", 1100, payment_id="seed")
    procs = [_spawn("consume", str(path), "hot", "100", str(seed)) for seed in range(4)]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    acked: list[tuple[str, int]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def thread_worker(seed: int) -> None:
        import random

        rng = random.Random(100 + seed)
        try:
            for _ in range(50):
                try:
                    tx = ledger.consume("hot", rng.randint(1, 3))
                except InsufficientCredits:
                    if ledger.balance("hot").available == 0:
                        return
                    continue
                with lock:
                    acked.append((tx.id, tx.credits))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=thread_worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for t in threads:
        t.join()
    by_threads = len(acked)
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        lines = out.splitlines()
        assert proc.returncode == 0
        assert lines[-1] == "done"
        acked += [(row["id"], row["credits"]) for row in map(json.loads, lines[:-1])]
    assert errors == []
    assert 0 < by_threads < len(acked), (by_threads, len(acked), errors)  # both got some
    store.close()

    again = SQLiteStore(path)
    reopened = Ledger(again)
    bal = reopened.balance("hot")
    assert 0 <= bal.current <= 2  # ran dry (a call of 1-3 was refused), never below zero
    assert sum(c for _, c in acked) == 1200 - bal.current  # conserved
    journal = {tx.id: tx for tx in again.transactions("hot")}
    for tx_id, credits in acked:
        assert journal[tx_id].credits == credits
    assert sum(1 for tx in journal.values() if tx.kind == "consume") == len(acked)
    assert reopened.verify("hot").ok
    again.close()


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    store = SQLiteStore(path)
    Ledger(store).open_account("u", monthly_allowance=50)
    store.close()
    proc = _spawn("stream", str(path), "u")
    assert proc.stdout is not None
    acked: list[str] = []
    for line in proc.stdout:
        acked.append(line.strip())
        if len(acked) >= 150:
            break
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: it is writing the next ones
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    again = SQLiteStore(path)
    ledger = Ledger(again)
    report = ledger.verify("u")
    assert report.ok, report.problems
    for tx_id in acked:
        found = again.transaction(tx_id)
        assert isinstance(found, Transaction), tx_id
    assert report.transactions >= len(acked) + 1
    again.close()


def test_two_handles_on_one_file_see_each_others_commits(tmp_path: Path) -> None:
    """Each connection re-reads an account once another connection has committed to the file."""
    path = tmp_path / "l.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    a, b = Ledger(first), Ledger(second)
    a.open_account("u", monthly_allowance=0)
    a.purchase("u", 10, payment_id="p")
    for turn in range(5):
        (a if turn % 2 else b).consume("u", 1)
        (b if turn % 2 else a).consume("u", 1)
    assert a.balance("u").current == b.balance("u").current == 0
    with pytest.raises(InsufficientCredits):
        a.consume("u", 1)
    assert a.verify("u").ok
    first.close()
    second.close()


def test_group_commit_keeps_good_writes_and_drops_failed_ones(tmp_path: Path) -> None:
    """8 threads mix good consumes, refused consumes (they fail inside a grouped transaction)
    and racing duplicate purchases; the survivors are all there, the refused left nothing."""
    import random

    store = SQLiteStore(tmp_path / "g.db")
    ledger = Ledger(store)
    for user in ("a", "b"):
        ledger.open_account(user, monthly_allowance=0)
        ledger.purchase(user, 400, payment_id=f"seed-{user}")
    done: list[Transaction] = []
    refused: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        rng = random.Random(n)
        for i in range(40):
            user = "ab"[rng.randrange(2)]
            try:
                if i % 10 == 0:
                    tx = ledger.purchase(user, 5, payment_id=f"dup-{user}-{i}")  # raced by all
                else:
                    tx = ledger.consume(user, rng.choice([1, 2, 10_000]))
            except InsufficientCredits:
                with lock:
                    refused.append(n)
                continue
            with lock:
                done.append(tx)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    again = SQLiteStore(tmp_path / "g.db")
    reopened = Ledger(again)
    assert refused  # some writes failed inside groups
    for user in ("a", "b"):
        spent = {t.id: t.credits for t in done if t.user_id == user and t.kind == "consume"}
        bought = {t.id: t.credits for t in done if t.user_id == user and t.kind == "purchase"}
        journal = {t.id for t in again.transactions(user)}
        assert set(spent) | set(bought) <= journal  # every acknowledged write is on disk
        assert reopened.balance(user).current == 400 + sum(bought.values()) - sum(spent.values())
        assert reopened.verify(user).ok
    again.close()


# --- issue 8: no raw driver error, no stuck lock -------------------------------------------------


def test_a_write_lock_held_past_the_timeout_is_store_busy(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    with SQLiteStore(path, timeout=0.2) as store:
        ledger = Ledger(store)
        ledger.open_account("u", monthly_allowance=5)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holding the file's write lock
        try:
            with pytest.raises(StoreBusy) as busy:
                ledger.consume("u", 1)
            assert busy.value.context["retry_after"] > 0
            assert isinstance(busy.value.__cause__, sqlite3.OperationalError)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert ledger.consume("u", 1).credits == 1  # the lock is free again, the store works
        assert ledger.verify("u").ok


def test_memory_path_is_a_working_private_store() -> None:
    with SQLiteStore(":memory:") as store:
        ledger = Ledger(store)
        ledger.open_account("u", monthly_allowance=5)
        ledger.consume("u", 2)
        assert ledger.balance("u").current == 3
        assert ledger.verify("u").ok
        file = store.path
        assert file.exists()
    assert not file.exists()  # removed on close


def test_a_foreign_database_with_an_accounts_table_is_named(tmp_path: Path) -> None:
    path = tmp_path / "foreign.db"
    with contextlib.closing(sqlite3.connect(path)) as foreign:
        foreign.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
        foreign.commit()
    with pytest.raises(NotACreditcoreStore, match="not a creditcore ledger"):
        SQLiteStore(path)
    with contextlib.closing(sqlite3.connect(path)) as foreign:  # untouched
        tables = [r[0] for r in foreign.execute("SELECT name FROM sqlite_schema")]
    assert tables == ["accounts"]


def test_an_interrupt_right_after_begin_leaves_no_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8, class 3: the interrupt lands after BEGIN IMMEDIATE returned, before anything
    else of the store ran (``after=True`` at the first driver call of the write)."""
    path = tmp_path / "interrupt.db"

    class Interrupting(sqlite3.Connection):
        armed = False

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            cursor = sqlite3.Connection.execute(self, sql, parameters)
            if Interrupting.armed and sql.startswith("BEGIN IMMEDIATE"):
                Interrupting.armed = False
                raise KeyboardInterrupt
            return cursor

    with SQLiteStore(path) as store:
        ledger = Ledger(store)
        ledger.open_account("u", monthly_allowance=5)
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real(*args, **kwargs, factory=Interrupting)

    monkeypatch.setattr(sqlite3, "connect", connect)
    with SQLiteStore(path, timeout=0.5) as store:
        ledger = Ledger(store)
        Interrupting.armed = True
        with pytest.raises(KeyboardInterrupt):
            ledger.consume("u", 1)
        with SQLiteStore(path, timeout=0.5) as other:  # another handle writes at once
            assert Ledger(other).consume("u", 1).credits == 1
        assert ledger.consume("u", 1).credits == 1  # and so does this one
        assert ledger.balance("u").current == 3


def test_verify_reports_no_problem_while_other_processes_write(tmp_path: Path) -> None:
    """Issue 8, class 6: verify reads the snapshot, journal, lots and holds in one read."""
    path = tmp_path / "load.db"
    with SQLiteStore(path) as store:
        ledger = Ledger(store)
        ledger.open_account("hot", monthly_allowance=10**6)
        workers = [_spawn("stream", str(path), "hot") for _ in range(2)]
        try:
            for worker in workers:
                assert worker.stdout is not None
                worker.stdout.readline()  # it has written at least once
            reports = [ledger.verify("hot") for _ in range(60)]
        finally:
            for worker in workers:
                worker.kill()
                worker.wait()
        assert [r.problems for r in reports if not r.ok] == []
        assert reports[-1].transactions > reports[0].transactions
