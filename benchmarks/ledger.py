"""Ledger benchmark: consume throughput and latency, InMemoryStore and SQLiteStore against a raw
sqlite3 baseline, side by side in one run.

Each row runs ``threads`` threads for ``--seconds`` in all, each thread consuming 1 credit per
call from its own account (which holds far more than it can spend). A row is measured in
``--rounds`` slices, the rows of one thread count taking turns, each slice on a fresh store, so
that background load on a shared machine falls on every row alike. Rows:

- ``raw sqlite3``: the least the same durable work needs, on its own file: ``BEGIN IMMEDIATE``,
  a conditional ``UPDATE accounts SET balance = balance - 1 WHERE user_id = ? AND balance >= 1``,
  one ``INSERT`` of a journal row, ``COMMIT``; WAL, ``synchronous=FULL`` (same as the store).
- ``SQLiteStore``: ``Ledger(SQLiteStore(path)).consume(user, 1)``, durable (WAL, synchronous=FULL).
- ``InMemoryStore``: ``Ledger(InMemoryStore()).consume(user, 1)``.

Goals (issue 3): SQLiteStore at least half the raw baseline's throughput (same thread count);
InMemoryStore at least 50,000 consumptions a second with one thread. ``cpu us`` is the process's
CPU time per call: on a shared machine it tells what one free core would do (1e6 / cpu us).

Run::

    .venv/bin/python benchmarks/ledger.py                 # table + benchmarks/results/ledger.json
    .venv/bin/python benchmarks/ledger.py --seconds 5 --threads 1,4 --dir /var/tmp
    .venv/bin/python benchmarks/ledger.py --postgres      # then the PostgreSQL rows

The SQLite files go to ``--dir`` (default: the system temp folder; put it on the disk you care
about: fsync cost is what these rows measure). To add a row kind, append a :class:`Scenario` to
:data:`SCENARIOS`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _stats import percentile
from creditcore.ledger import InMemoryStore, Ledger
from creditcore.stores.sqlite import SQLiteStore

__all__ = ["SCENARIOS", "Row", "Scenario", "main", "run"]

RESULTS = Path(__file__).resolve().parent / "results"
START_CREDITS = 10**12
WARMUP_CALLS = 50

Consume = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Row:
    """One measured row."""

    impl: str
    threads: int
    calls: int
    seconds: float
    per_second: float
    p50_us: float
    p99_us: float
    cpu_us_per_call: float
    errors: int


@dataclass(frozen=True)
class Scenario:
    """A kind of row: ``setup(folder, threads)`` returns one consume callable per thread and a
    cleanup callable."""

    name: str
    setup: Callable[[Path, int], tuple[list[Consume], Callable[[], None]]]


def _raw_sqlite(folder: Path, threads: int) -> tuple[list[Consume], Callable[[], None]]:
    path = folder / "raw.sqlite3"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute(
        "CREATE TABLE accounts (user_id TEXT PRIMARY KEY, balance INTEGER NOT NULL "
        "CHECK (balance >= 0))"
    )
    setup.execute(
        "CREATE TABLE journal (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, "
        "delta INTEGER NOT NULL, created_at INTEGER NOT NULL)"
    )
    setup.executemany(
        "INSERT INTO accounts VALUES (?, ?)", [(f"u{i}", START_CREDITS) for i in range(threads)]
    )
    setup.close()
    conns: list[sqlite3.Connection] = []

    def consumer(i: int) -> Consume:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 60000")
        conns.append(conn)
        user = f"u{i}"

        def call() -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cur = conn.execute(
                    "UPDATE accounts SET balance = balance - 1 WHERE user_id = ? AND balance >= 1",
                    (user,),
                )
                if cur.rowcount != 1:
                    raise RuntimeError("insufficient")
                conn.execute(
                    "INSERT INTO journal (user_id, delta, created_at) VALUES (?, -1, ?)",
                    (user, time.time_ns() // 1000),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        return call

    calls = [consumer(i) for i in range(threads)]

    def cleanup() -> None:
        for conn in conns:
            conn.close()

    return calls, cleanup


def _ledger_rows(ledger: Ledger, threads: int) -> list[Consume]:
    calls: list[Consume] = []
    for i in range(threads):
        user = f"u{i}"
        ledger.open_account(user, monthly_allowance=0)
        ledger.purchase(user, START_CREDITS, payment_id=f"bench-{user}")

        def call(user: str = user) -> None:
            ledger.consume(user, 1)

        calls.append(call)
    return calls


def _sqlite_store(folder: Path, threads: int) -> tuple[list[Consume], Callable[[], None]]:
    store = SQLiteStore(folder / "store.sqlite3")
    return _ledger_rows(Ledger(store), threads), store.close


def _memory_store(_folder: Path, threads: int) -> tuple[list[Consume], Callable[[], None]]:
    store = InMemoryStore()
    return _ledger_rows(Ledger(store), threads), store.close


SCENARIOS: list[Scenario] = [
    Scenario("raw sqlite3", _raw_sqlite),
    Scenario("SQLiteStore", _sqlite_store),
    Scenario("InMemoryStore", _memory_store),
]


@dataclass
class _Slice:
    latencies: list[float]
    seconds: float
    cpu: float
    errors: int


def measure(scenario: Scenario, threads: int, seconds: float, folder: Path) -> _Slice:
    """One slice of a row on a fresh store: warm up, then all threads call for ``seconds``."""
    work = Path(tempfile.mkdtemp(prefix="ledger-bench-", dir=folder))
    calls, cleanup = scenario.setup(work, threads)
    latencies: list[list[float]] = [[] for _ in calls]
    errors = [0] * len(calls)
    barrier = threading.Barrier(len(calls) + 1)
    stop = threading.Event()

    def worker(i: int) -> None:
        call = calls[i]
        for _ in range(WARMUP_CALLS):
            call()
        barrier.wait()
        mine = latencies[i]
        clock = time.perf_counter_ns
        while not stop.is_set():
            t0 = clock()
            try:
                call()
            except Exception:  # counted, never expected
                errors[i] += 1
            mine.append((clock() - t0) / 1000)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    cpu = time.process_time()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    cleanup()
    shutil.rmtree(work, ignore_errors=True)
    flat = [x for chunk in latencies for x in chunk]
    return _Slice(flat, elapsed, cpu, sum(errors))


def _row(name: str, threads: int, slices: list[_Slice]) -> Row:
    flat = [x for piece in slices for x in piece.latencies]
    elapsed = sum(piece.seconds for piece in slices)
    cpu = sum(piece.cpu for piece in slices)
    return Row(
        impl=name,
        threads=threads,
        calls=len(flat),
        seconds=round(elapsed, 3),
        per_second=round(len(flat) / elapsed, 1),
        p50_us=round(percentile(flat, 0.5), 1),
        p99_us=round(percentile(flat, 0.99), 1),
        cpu_us_per_call=round(cpu / len(flat) * 1e6, 1) if flat else 0.0,
        errors=sum(piece.errors for piece in slices),
    )


def run(
    *, seconds: float, threads: tuple[int, ...], folder: Path, rounds: int = 3, echo: bool = True
) -> list[Row]:
    """Every scenario at every thread count. Each row is ``rounds`` slices of
    ``seconds / rounds``, the scenarios taking turns, so a drifting background load (a shared
    machine, a busy disk) falls on all of them alike."""
    rows: list[Row] = []
    for count in threads:
        slices: dict[str, list[_Slice]] = {s.name: [] for s in SCENARIOS}
        for _ in range(rounds):
            for scenario in SCENARIOS:
                slices[scenario.name].append(measure(scenario, count, seconds / rounds, folder))
        for scenario in SCENARIOS:
            rows.append(_row(scenario.name, count, slices[scenario.name]))
            if echo:
                print(f"  measured {scenario.name}, {count} threads", file=sys.stderr)
    return rows


def verdicts(rows: list[Row]) -> list[dict[str, Any]]:
    """The goals of issue 3, row by row."""
    by = {(r.impl, r.threads): r for r in rows}
    out: list[dict[str, Any]] = []
    for r in rows:
        if r.impl == "SQLiteStore" and ("raw sqlite3", r.threads) in by:
            raw = by[("raw sqlite3", r.threads)]
            ratio = r.per_second / raw.per_second if raw.per_second else 0.0
            out.append(
                {
                    "goal": f"SQLiteStore >= 0.5 x raw sqlite3, {r.threads} threads",
                    "value": round(ratio, 3),
                    "met": ratio >= 0.5 and r.errors == 0,
                }
            )
        if r.impl == "InMemoryStore" and r.threads == 1:
            out.append(
                {
                    "goal": "InMemoryStore >= 50,000 consumes/s, 1 thread",
                    "value": r.per_second,
                    "met": r.per_second >= 50_000 and r.errors == 0,
                }
            )
    return out


def print_table(rows: list[Row]) -> None:
    """The rows, then the goals."""
    header = (
        f"{'impl':<14} {'threads':>7} {'calls':>9} {'calls/s':>11} {'p50 us':>9} "
        f"{'p99 us':>9} {'cpu us':>7} {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.impl:<14} {r.threads:>7} {r.calls:>9} {r.per_second:>11.1f} {r.p50_us:>9.1f} "
            f"{r.p99_us:>9.1f} {r.cpu_us_per_call:>7.1f} {r.errors:>6}"
        )
    print()
    for v in verdicts(rows):
        print(f"{v['goal']:<48} {v['value']:>10}  {'ok' if v['met'] else 'BELOW GOAL'}")


def write_json(rows: list[Row], seconds: float, folder: Path, path: Path | None = None) -> Path:
    """Rows, goals and environment to ``benchmarks/results/ledger.json``."""
    path = path or RESULTS / "ledger.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "ledger consume throughput (SQLite and in memory)",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "seconds_per_row": seconds,
        "method": "each row: slices taking turns with the other rows of its thread count",
        "sqlite_dir": str(folder),
        "sqlite_version": sqlite3.sqlite_version,
        "synchronous": "FULL",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "rows": [asdict(r) for r in rows],
        "goals": verdicts(rows),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: measure, print, write JSON (and the PostgreSQL rows with --postgres)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per row")
    parser.add_argument("--rounds", type=int, default=6, help="slices per row, taking turns")
    parser.add_argument("--threads", default="1,4", help="comma-separated thread counts")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--json", type=Path, default=None, help="output path of the JSON")
    parser.add_argument(
        "--postgres", action="store_true", help="also run benchmarks/ledger_postgres.py"
    )
    args = parser.parse_args(argv)
    counts = tuple(int(x) for x in args.threads.split(","))
    rows = run(seconds=args.seconds, threads=counts, folder=args.dir, rounds=args.rounds)
    print_table(rows)
    print(f"\nJSON: {write_json(rows, args.seconds, args.dir, args.json)}")
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import ledger_postgres

        print("\nPostgreSQL rows:")
        return int(ledger_postgres.main([]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
