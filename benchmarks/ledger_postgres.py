"""PostgreSQL rows of the ledger benchmark: PostgresStore against a raw psycopg baseline.

Consume throughput (one credit per call) with 1, 4 and 8 worker PROCESSES, each holding one
connection, on distinct accounts (one per process) and on one hot account shared by all, side by
side in the same run with a raw psycopg baseline doing the least the same durable work needs:
one transaction with a conditional ``UPDATE`` of the balance and one ``INSERT`` of the journal row.
Both run on the same server with its own ``synchronous_commit`` (durable by default).

Goal (issue 5): the store reaches at least half the baseline's throughput in every row, and no
error reaches the caller (the ``errors`` column counts exceptions the calls raised).

Run::

    .venv/bin/python benchmarks/ledger_postgres.py            # table + benchmarks/results/ledger_postgres.json
    .venv/bin/python benchmarks/ledger_postgres.py --seconds 5 --processes 1,4,8

``benchmarks/ledger.py --postgres`` runs the same rows after its own.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import secrets
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from _stats import percentile

__all__ = ["DEFAULT_DSN", "Row", "main", "print_table", "run_rows", "write_json"]

DEFAULT_DSN = os.environ.get(
    "CREDITCORE_BENCH_PG_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)
RESULTS = Path(__file__).resolve().parent / "results"
STORE = "PostgresStore"
RAW = "raw psycopg"
START_CREDITS = 10**12
WARMUP_CALLS = 20


@dataclass(frozen=True, slots=True)
class Row:
    """One measured row: an implementation, a process count, an account layout."""

    impl: str
    processes: int
    accounts: str
    calls: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


# --- the raw baseline ----------------------------------------------------------------------------


def _raw_setup(dsn: str, schema: str, users: list[str]) -> None:
    name = sql.Identifier(schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.accounts (user_id text PRIMARY KEY,"
                " balance bigint NOT NULL CHECK (balance >= 0))"
            ).format(name)
        )
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.journal (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                " user_id text NOT NULL, credits integer NOT NULL, balance_after bigint NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            ).format(name)
        )
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {}.accounts VALUES (%s, %s)").format(name),
                [(user, START_CREDITS) for user in users],
            )


def _raw_worker(dsn: str, schema: str, user: str, seconds: float, barrier: Barrier) -> Any:
    name = sql.Identifier(schema)
    update = sql.SQL(
        "UPDATE {}.accounts SET balance = balance - %s"
        " WHERE user_id = %s AND balance >= %s RETURNING balance"
    ).format(name)
    insert = sql.SQL(
        "INSERT INTO {}.journal (user_id, credits, balance_after) VALUES (%s, %s, %s)"
    ).format(name)
    with psycopg.connect(dsn, autocommit=True) as conn:

        def call() -> None:
            with conn.transaction():
                row = conn.execute(update, (1, user, 1)).fetchone()
                if row is None:
                    raise RuntimeError(f"{user}: insufficient credits")
                conn.execute(insert, (user, 1, row[0]))

        return _measure(call, seconds, barrier)


# --- the store -----------------------------------------------------------------------------------


def _store_setup(dsn: str, schema: str, users: list[str]) -> None:
    from creditcore.ledger import Ledger
    from creditcore.stores.postgres import PostgresStore

    store = PostgresStore(dsn, schema=schema)
    try:
        ledger = Ledger(store)
        for user in users:
            ledger.open_account(user, monthly_allowance=0)
            ledger.purchase(user, START_CREDITS, payment_id=f"bench-{user}")
    finally:
        store.close()


def _store_worker(dsn: str, schema: str, user: str, seconds: float, barrier: Barrier) -> Any:
    from creditcore.ledger import Ledger
    from creditcore.stores.postgres import PostgresStore

    store = PostgresStore(dsn, schema=schema)
    try:
        ledger = Ledger(store)
        return _measure(lambda: ledger.consume(user, 1), seconds, barrier)
    finally:
        store.close()


# --- measuring -----------------------------------------------------------------------------------


def _measure(call: Any, seconds: float, barrier: Barrier) -> tuple[int, int, list[float], float]:
    """Warm up, wait for every process, then call for ``seconds``: (calls, errors, ms, elapsed)."""
    for _ in range(WARMUP_CALLS):
        call()
    barrier.wait()
    latencies: list[float] = []
    errors = 0
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds
    now = start
    while now < deadline:
        before = now
        try:
            call()
        except Exception:
            errors += 1
        now = clock()
        latencies.append((now - before) * 1000.0)
    return len(latencies), errors, latencies, now - start


def _child(
    impl: str, dsn: str, schema: str, user: str, seconds: float, barrier: Barrier, out: Any
) -> None:
    worker = _store_worker if impl == STORE else _raw_worker
    try:
        out.put(worker(dsn, schema, user, seconds, barrier))
    except BaseException as error:
        barrier.abort()
        out.put(repr(error))
        raise


def _measure_once(
    impl: str, dsn: str, schema: str, users: list[str], processes: int, seconds: float
) -> tuple[int, int, list[float], float]:
    """One timed run of ``processes`` spawned workers: (calls, errors, latencies ms, seconds)."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    children = [
        ctx.Process(
            target=_child, args=(impl, dsn, schema, users[i % len(users)], seconds, barrier, out)
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    results = [out.get(timeout=seconds + 120) for _ in children]
    for child in children:
        child.join()
    failures = [result for result in results if isinstance(result, str)]
    if failures:
        raise RuntimeError(f"{impl}, {processes} processes: {failures[0]}")
    return (
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        [value for r in results for value in r[2]],
        max(r[3] for r in results),
    )


def _pair(dsn: str, processes: int, accounts: str, seconds: float, repeats: int) -> list[Row]:
    """Baseline and store on one row, alternating ``repeats`` times; median throughput of each.

    Alternating short runs spreads the noise of a shared machine over both; the median keeps
    one disturbed run from deciding the row.
    """
    users = [f"u{i}" for i in range(processes)] if accounts == "distinct" else ["hot"]
    schemas = {
        RAW: f"cc_bench_raw_{secrets.token_hex(4)}",
        STORE: f"cc_bench_store_{secrets.token_hex(4)}",
    }
    _raw_setup(dsn, schemas[RAW], users)
    _store_setup(dsn, schemas[STORE], users)
    runs: dict[str, list[tuple[int, int, list[float], float]]] = {RAW: [], STORE: []}
    try:
        for rep in range(repeats):
            order = (RAW, STORE) if rep % 2 == 0 else (STORE, RAW)
            for impl in order:
                runs[impl].append(
                    _measure_once(impl, dsn, schemas[impl], users, processes, seconds)
                )
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for schema in schemas.values():
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
    rows = []
    for impl in (RAW, STORE):
        done = runs[impl]
        rates = [calls / elapsed for calls, _, _, elapsed in done]
        latencies = sorted(value for _, _, values, _ in done for value in values)
        rows.append(
            Row(
                impl=impl,
                processes=processes,
                accounts=accounts,
                calls=sum(calls for calls, _, _, _ in done),
                seconds=round(sum(elapsed for _, _, _, elapsed in done), 3),
                per_second=round(statistics.median(rates), 1),
                p50_ms=round(percentile(latencies, 0.5), 3),
                p99_ms=round(percentile(latencies, 0.99), 3),
                errors=sum(errors for _, errors, _, _ in done),
            )
        )
    return rows


def run_rows(
    dsn: str = DEFAULT_DSN,
    *,
    seconds: float = 2.0,
    repeats: int = 5,
    processes: tuple[int, ...] = (1, 4, 8),
    layouts: tuple[str, ...] = ("distinct", "hot"),
    echo: bool = True,
) -> list[Row]:
    """Measure every (processes, layout) pair: baseline and store, alternating."""
    rows: list[Row] = []
    for count in processes:
        for layout in layouts:
            rows.extend(_pair(dsn, count, layout, seconds, repeats))
            if echo:
                print(f"  measured {count} processes, {layout}", file=sys.stderr)
    return rows


def ratios(rows: list[Row]) -> list[dict[str, Any]]:
    """Store throughput over baseline throughput, per (processes, layout)."""
    by_key = {(row.impl, row.processes, row.accounts): row for row in rows}
    out: list[dict[str, Any]] = []
    for row in rows:
        if row.impl != STORE:
            continue
        raw = by_key.get((RAW, row.processes, row.accounts))
        if raw is None or raw.per_second == 0:
            continue
        ratio = row.per_second / raw.per_second
        out.append(
            {
                "processes": row.processes,
                "accounts": row.accounts,
                "ratio": round(ratio, 3),
                "goal_met": ratio >= 0.5 and row.errors == 0,
            }
        )
    return out


def print_table(rows: list[Row]) -> None:
    """Print the rows and the store/baseline ratio of each pair."""
    header = f"{'impl':<14} {'proc':>4} {'accounts':<9} {'calls':>8} {'calls/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.impl:<14} {row.processes:>4} {row.accounts:<9} {row.calls:>8} "
            f"{row.per_second:>10.1f} {row.p50_ms:>8.3f} {row.p99_ms:>8.3f} {row.errors:>6}"
        )
    print()
    for item in ratios(rows):
        verdict = "ok" if item["goal_met"] else "BELOW GOAL"
        print(
            f"store/raw  {item['processes']} processes, {item['accounts']:<8}: "
            f"{item['ratio']:.2f}  ({verdict}; goal >= 0.50, zero errors)"
        )


def _server_facts(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        facts: dict[str, Any] = {}
        for setting in ("server_version", "synchronous_commit", "fsync", "wal_sync_method"):
            row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting))).fetchone()
            facts[setting] = row[0] if row else None
        return facts


def write_json(
    rows: list[Row], dsn: str, seconds: float, repeats: int, path: Path | None = None
) -> Path:
    """Write the rows, the ratios and the environment to ``benchmarks/results/``."""
    path = path or RESULTS / "ledger_postgres.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "ledger consume throughput on PostgreSQL",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "seconds_per_run": seconds,
        "runs_per_row": repeats,
        "throughput": "median over the runs; latencies pooled over the runs",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "psycopg": psycopg.__version__,
        "server": _server_facts(dsn),
        "rows": [asdict(row) for row in rows],
        "ratios": ratios(rows),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: measure, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per row")
    parser.add_argument("--processes", default="1,4,8", help="comma-separated process counts")
    parser.add_argument("--only", choices=("distinct", "hot"), help="one account layout only")
    parser.add_argument("--json", type=Path, default=None, help="output path of the JSON")
    args = parser.parse_args(argv)
    counts = tuple(int(item) for item in args.processes.split(","))
    layouts = (args.only,) if args.only else ("distinct", "hot")
    rows = run_rows(
        args.dsn, seconds=args.seconds, repeats=args.repeats, processes=counts, layouts=layouts
    )
    print_table(rows)
    path = write_json(rows, args.dsn, args.seconds, args.repeats, args.json)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
