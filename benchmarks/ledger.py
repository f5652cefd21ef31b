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
    .venv/bin/python benchmarks/ledger.py --aged          # consume p50 with 0/10k/100k spent lots

``--aged`` (issue 8): one row per store and number of spent lots on the account (0, 10,000,
100,000): the p50 of single-thread consumptions. Goal: the 100k row within 1.2x of the 0 row on
SQLite and PostgreSQL (a hot account must not slow as it ages). The spent lots of the SQL stores
are written straight into their ``lots`` table (what 100,000 purchases each spent to 0 would
leave: ``remaining = 0``), then ANALYZEd; the in-memory store's are made by the ledger itself.
The levels are measured in turns (``--rounds`` slices each) so background load falls on all.

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
                    "goal": f"SQLiteStore >= 0.6 x raw sqlite3, {r.threads} threads",
                    "value": round(ratio, 3),
                    "met": ratio >= 0.6 and r.errors == 0,
                }
            )
            if raw.cpu_us_per_call:
                out.append(
                    {
                        "goal": f"CPU per consume, SQLiteStore / raw sqlite3, {r.threads} threads"
                        " (not a goal: the figure noise does not move)",
                        "value": round(r.cpu_us_per_call / raw.cpu_us_per_call, 2),
                        "met": True,
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


# --- consume on an aged account (issue 8) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgedRow:
    """Consume latency on an account with ``spent_lots`` lots spent to 0."""

    store: str
    spent_lots: int
    calls: int
    p50_us: float
    p99_us: float
    cpu_us_per_call: float


_PG_DSN = os.environ.get(
    "CREDITCORE_BENCH_PG_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)


def _consumer(ledger: Ledger) -> Consume:
    def call() -> None:
        ledger.consume("hot", 1)

    return call


def _aged_memory(n: int, _folder: Path) -> tuple[Consume, Callable[[], None]]:
    store = InMemoryStore()
    ledger = Ledger(store)
    ledger.open_account("hot", monthly_allowance=START_CREDITS)
    for i in range(n):  # purchased first: each consume spends the lot just bought
        ledger.purchase("hot", 1, payment_id=f"spent-{i}")
        ledger.consume("hot", 1)
    return _consumer(ledger), store.close


def _aged_sqlite(n: int, folder: Path) -> tuple[Consume, Callable[[], None]]:
    path = Path(tempfile.mkdtemp(prefix="ledger-aged-", dir=folder)) / "aged.sqlite3"
    with SQLiteStore(path) as setup:
        Ledger(setup).open_account("hot", monthly_allowance=START_CREDITS)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO lots (id, user_id, kind, credits, remaining, created_at, seq) "
            "VALUES (?, 'hot', 'purchased', 1, 0, 0, 1)",
            ((f"lot_spent_{i:08d}",) for i in range(n)),
        )
        conn.execute("ANALYZE")
    conn.close()
    store = SQLiteStore(path)
    ledger = Ledger(store)

    def cleanup() -> None:
        store.close()
        shutil.rmtree(path.parent, ignore_errors=True)

    return _consumer(ledger), cleanup


def _aged_postgres(n: int, _folder: Path) -> tuple[Consume, Callable[[], None]]:
    import secrets

    import psycopg
    from psycopg import sql

    from creditcore.stores.postgres import PostgresStore

    schema = f"cc_bench_aged_{secrets.token_hex(3)}"
    store = PostgresStore(_PG_DSN, schema=schema)
    ledger = Ledger(store)
    ledger.open_account("hot", monthly_allowance=START_CREDITS)
    with psycopg.connect(_PG_DSN, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO {}.lots (id, user_id, kind, credits, remaining, created_at, seq) "
                "SELECT 'lot_spent_' || lpad(g::text, 8, '0'), 'hot', 'purchased', 1, 0, "
                "now(), 1 FROM generate_series(1, %s) AS g"
            ).format(sql.Identifier(schema)),
            (n,),
        )
        conn.execute(sql.SQL("VACUUM ANALYZE {}.lots").format(sql.Identifier(schema)))

    def cleanup() -> None:
        store.close()
        with psycopg.connect(_PG_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))

    return _consumer(ledger), cleanup


AGED_STORES: dict[str, Callable[[int, Path], tuple[Consume, Callable[[], None]]]] = {
    "InMemoryStore": _aged_memory,
    "SQLiteStore": _aged_sqlite,
    "PostgresStore": _aged_postgres,
}


def run_aged(
    levels: tuple[int, ...],
    *,
    calls: int,
    rounds: int,
    folder: Path,
    stores: tuple[str, ...] = tuple(AGED_STORES),
) -> list[AgedRow]:
    """For each store, one account per level, measured in turns (``rounds`` slices each)."""
    rows: list[AgedRow] = []
    for name in stores:
        build = AGED_STORES[name]
        try:
            built = {n: build(n, folder) for n in levels}
        except Exception as error:
            print(f"  {name}: skipped ({error})", file=sys.stderr)
            continue
        samples: dict[int, list[float]] = {n: [] for n in levels}
        cpu: dict[int, float] = dict.fromkeys(levels, 0.0)
        try:
            for consume, _ in built.values():
                for _ in range(WARMUP_CALLS):
                    consume()
            for _ in range(rounds):
                for n, (consume, _) in built.items():
                    clock = time.perf_counter_ns
                    c0 = time.process_time()
                    for _ in range(max(1, calls // rounds)):
                        t0 = clock()
                        consume()
                        samples[n].append((clock() - t0) / 1000)
                    cpu[n] += time.process_time() - c0
        finally:
            for _, cleanup in built.values():
                cleanup()
        for n in levels:
            flat = samples[n]
            rows.append(
                AgedRow(
                    store=name,
                    spent_lots=n,
                    calls=len(flat),
                    p50_us=round(percentile(flat, 0.5), 1),
                    p99_us=round(percentile(flat, 0.99), 1),
                    cpu_us_per_call=round(cpu[n] / len(flat) * 1e6, 1),
                )
            )
        print(f"  measured {name} at {levels} spent lots", file=sys.stderr)
    return rows


def aged_verdicts(rows: list[AgedRow]) -> list[dict[str, Any]]:
    """Goal of issue 8: the largest level's p50 within 1.2x of the 0 row (SQL stores)."""
    out: list[dict[str, Any]] = []
    for store in ("SQLiteStore", "PostgresStore"):
        mine = sorted((r for r in rows if r.store == store), key=lambda r: r.spent_lots)
        if len(mine) < 2 or mine[0].spent_lots != 0 or not mine[0].p50_us:
            continue
        top = mine[-1]
        ratio = top.p50_us / mine[0].p50_us
        out.append(
            {
                "goal": f"{store}: p50 at {top.spent_lots} spent lots <= 1.2 x at 0",
                "value": round(ratio, 3),
                "met": ratio <= 1.2,
            }
        )
    return out


def print_aged(rows: list[AgedRow]) -> None:
    """The aged rows, then their goals."""
    header = (
        f"{'store':<14} {'spent lots':>10} {'calls':>7} {'p50 us':>9} {'p99 us':>9} {'cpu us':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.store:<14} {r.spent_lots:>10} {r.calls:>7} {r.p50_us:>9.1f} {r.p99_us:>9.1f} "
            f"{r.cpu_us_per_call:>7.1f}"
        )
    print()
    for v in aged_verdicts(rows):
        print(f"{v['goal']:<52} {v['value']:>8}  {'ok' if v['met'] else 'BELOW GOAL'}")


def write_aged_json(rows: list[AgedRow], path: Path | None = None) -> Path:
    """The aged rows to ``benchmarks/results/ledger_aged.json``."""
    path = path or RESULTS / "ledger_aged.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "ledger consume p50 on an account with spent lots (issue 8)",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite_version": sqlite3.sqlite_version,
        "rows": [asdict(r) for r in rows],
        "goals": aged_verdicts(rows),
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
    parser.add_argument(
        "--aged", action="store_true", help="only the consume p50 rows with spent lots"
    )
    parser.add_argument("--aged-calls", type=int, default=2000, help="consumes per aged row")
    parser.add_argument("--aged-lots", default="0,10000,100000", help="spent lots per row")
    parser.add_argument(
        "--aged-stores", default=",".join(AGED_STORES), help="comma-separated store names"
    )
    args = parser.parse_args(argv)
    if args.aged:
        levels = tuple(int(x) for x in args.aged_lots.split(","))
        names = tuple(args.aged_stores.split(","))
        aged = run_aged(
            levels, calls=args.aged_calls, rounds=args.rounds, folder=args.dir, stores=names
        )
        print_aged(aged)
        print(f"\nJSON: {write_aged_json(aged, args.json)}")
        return 0
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
