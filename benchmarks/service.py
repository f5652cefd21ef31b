"""A charge through the reference service against a bare endpoint of the same framework.

For SQLite and PostgreSQL, with 1 and 4 uvicorn worker processes, client processes POST charges
(``seedream-v4``, 2 credits, a fresh ``Idempotency-Key`` each) over keep-alive HTTP for a fixed
time, each on its own account; the same run measures ``examples/service`` (creditcore's ledger)
and ``benchmarks/_bare_service.py`` (FastAPI too, a conditional ``UPDATE`` and one ``INSERT``).
Rows alternate service/bare in each repeat; the table gives the median of the repeats, their
spread, and the ratio service ÷ bare of requests per second. Goal (issue 12): ratio ≥ 0.6.

Run::

    .venv/bin/python benchmarks/service.py                      # table + benchmarks/results/service.json
    .venv/bin/python benchmarks/service.py --seconds 3 --repeats 1 --stores sqlite
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from _bare_service import setup as bare_setup
from _stats import percentile

__all__ = ["Row", "main"]

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DSN = os.environ.get(
    "CREDITCORE_BENCH_PG_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)
FUNDS = 10**9
SERVICE = "creditcore service"
BARE = "bare FastAPI + SQL"
_LISTENING = re.compile(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@dataclass(frozen=True, slots=True)
class Row:
    """One measured run."""

    impl: str
    store: str
    workers: int
    clients: int
    calls: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


@contextmanager
def serving(app: str, env: dict[str, str], workers: int) -> Iterator[tuple[str, int]]:
    """uvicorn on 127.0.0.1, a free port; yields (host, port)."""
    command = [
        sys.executable, "-m", "uvicorn", "--factory", app, "--app-dir", str(REPO),
        "--host", "127.0.0.1", "--port", "0", "--no-access-log", "--log-level", "info",
        "--workers", str(workers),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, env={**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    port: list[int] = []
    ready = threading.Event()
    lines: list[bytes] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, b""):
            lines.append(line)
            found = _LISTENING.search(line)
            if found and not port:
                port.append(int(found.group(1)))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(120) or not port:
            raise RuntimeError(b"".join(lines).decode())
        deadline = time.monotonic() + 120
        answered = 0
        while answered < 3 * workers:  # every worker up (roughly): several answers in a row
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port[0], timeout=5)
                conn.request("GET", "/openapi.json")
                conn.getresponse().read()
                conn.close()
                answered += 1
            except OSError:
                time.sleep(0.2)
            if time.monotonic() > deadline:
                raise RuntimeError(b"".join(lines).decode())
        yield "127.0.0.1", port[0]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _post(conn: http.client.HTTPConnection, path: str, body: bytes, key: str) -> int:
    conn.request("POST", path, body, {"Content-Type": "application/json", "Idempotency-Key": key})
    answer = conn.getresponse()
    answer.read()
    return answer.status


def _client(host: str, port: int, user: str, start: float, seconds: float) -> Any:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    body = json.dumps({"operation_id": "seedream-v4"}).encode()
    path = f"/accounts/{user}/charges"
    tag = secrets.token_hex(4)
    for n in range(20):  # warm-up, not measured
        _post(conn, path, body, f"warm-{tag}-{n}")
    while time.time() < start:
        time.sleep(0.001)
    latencies: list[float] = []
    errors = 0
    cpu = time.process_time()
    end = start + seconds
    n = 0
    while time.time() < end:
        began = time.perf_counter()
        status = _post(conn, path, body, f"{tag}-{n}")
        latencies.append(time.perf_counter() - began)
        errors += status != 201
        n += 1
    conn.close()
    return latencies, errors, time.process_time() - cpu


def _measure(host: str, port: int, users: list[str], seconds: float) -> tuple[list[float], int]:
    start = time.time() + 1.0 + 0.2 * len(users)
    with mp.get_context("fork").Pool(len(users)) as pool:
        results = pool.starmap(_client, [(host, port, u, start, seconds) for u in users])
    latencies = [x for r in results for x in r[0]]
    return latencies, sum(r[1] for r in results)


def _row(impl: str, store: str, workers: int, users: list[str], lat: list[float], errors: int,
         seconds: float) -> Row:  # fmt: skip
    return Row(
        impl, store, workers, len(users), len(lat), seconds, len(lat) / seconds,
        percentile(lat, 0.5) * 1000, percentile(lat, 0.99) * 1000, errors,
    )  # fmt: skip


def run_service(store: str, workers: int, users: list[str], seconds: float, dsn: str) -> Row:
    """One run of the reference service (fresh database)."""
    with tempfile.TemporaryDirectory() as folder:
        schema = f"bench_svc_{secrets.token_hex(4)}"
        env = {"CREDITCORE_THREADS": "8"}
        if store == "postgresql":
            env |= {"CREDITCORE_DATABASE": dsn, "CREDITCORE_PG_SCHEMA": schema}
            from creditcore.stores.postgres import PostgresStore

            PostgresStore(dsn, schema=schema).close()  # migrate once, before the workers start
        else:
            env["CREDITCORE_DATABASE"] = str(Path(folder) / "ledger.sqlite3")
        try:
            with serving("examples.service.app:create_app", env, workers) as (host, port):
                conn = http.client.HTTPConnection(host, port, timeout=60)
                for user in users:
                    body = json.dumps({"user_id": user}).encode()
                    conn.request("POST", "/accounts", body, {"Content-Type": "application/json"})
                    opened = conn.getresponse()
                    opened.read()
                    assert opened.status == 201, opened.status
                    fund = json.dumps({"payment_id": f"fund-{user}", "credits": FUNDS}).encode()
                    conn.request(
                        "POST", f"/accounts/{user}/purchases", fund,
                        {"Content-Type": "application/json"},
                    )  # fmt: skip
                    answer = conn.getresponse()
                    answer.read()
                    assert answer.status == 201, answer.status
                conn.close()
                lat, errors = _measure(host, port, users, seconds)
        finally:
            if store == "postgresql":
                _drop(dsn, schema)
    return _row(SERVICE, store, workers, users, lat, errors, seconds)


def run_bare(store: str, workers: int, users: list[str], seconds: float, dsn: str) -> Row:
    """One run of the bare endpoint (fresh database)."""
    with tempfile.TemporaryDirectory() as folder:
        schema = f"bench_bare_{secrets.token_hex(4)}"
        database = dsn if store == "postgresql" else str(Path(folder) / "bare.sqlite3")
        bare_setup(database, schema, users, FUNDS)
        env = {"BARE_DATABASE": database, "BARE_SCHEMA": schema, "CREDITCORE_THREADS": "8"}
        try:
            with serving("benchmarks._bare_service:create_app", env, workers) as (host, port):
                lat, errors = _measure(host, port, users, seconds)
        finally:
            if store == "postgresql":
                _drop(dsn, schema)
    return _row(BARE, store, workers, users, lat, errors, seconds)


def _drop(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def summary(rows: list[Row]) -> list[dict[str, Any]]:
    """Median and spread per (impl, store, workers), with the service ÷ bare ratio."""
    out: list[dict[str, Any]] = []
    keys = sorted({(r.store, r.workers) for r in rows}, key=lambda k: (k[0] != "sqlite", k[1]))
    for store, workers in keys:
        line: dict[str, Any] = {"store": store, "workers": workers}
        for impl in (SERVICE, BARE):
            mine = [r for r in rows if (r.impl, r.store, r.workers) == (impl, store, workers)]
            rates = [r.per_second for r in mine]
            line[impl] = {
                "per_second_median": statistics.median(rates),
                "per_second_min": min(rates),
                "per_second_max": max(rates),
                "p50_ms_median": statistics.median(r.p50_ms for r in mine),
                "p99_ms_median": statistics.median(r.p99_ms for r in mine),
                "errors": sum(r.errors for r in mine),
                "repeats": len(mine),
            }
        line["ratio"] = line[SERVICE]["per_second_median"] / line[BARE]["per_second_median"]
        out.append(line)
    return out


def print_table(lines: list[dict[str, Any]], clients: int) -> None:
    print(f"\ncharge through HTTP, {clients} client processes (keep-alive), median of repeats")
    head = f"{'store':<11}{'workers':>8}  {'impl':<20}{'req/s':>8}{'spread':>16}{'p50 ms':>9}{'p99 ms':>9}{'err':>5}"
    print(head)
    print("-" * len(head))
    for line in lines:
        for impl in (SERVICE, BARE):
            s = line[impl]
            spread = f"{s['per_second_min']:.0f}-{s['per_second_max']:.0f}"
            print(
                f"{line['store']:<11}{line['workers']:>8}  {impl:<20}{s['per_second_median']:>8.0f}"
                f"{spread:>16}{s['p50_ms_median']:>9.1f}{s['p99_ms_median']:>9.1f}{s['errors']:>5}"
            )
        verdict = "meets" if line["ratio"] >= 0.6 else "MISSES"
        print(f"{'':<19}ratio service / bare: {line['ratio']:.2f}  ({verdict} the 0.6 goal)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    args = parser.parse_args(argv)
    users = [f"bench-{i}" for i in range(args.clients)]
    rows: list[Row] = []
    for store in args.stores.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            for repeat in range(args.repeats):
                order = (run_service, run_bare) if repeat % 2 == 0 else (run_bare, run_service)
                for run in order:
                    row = run(store, workers, users, args.seconds, args.dsn)
                    rows.append(row)
                    print(
                        f"  {row.impl:<20} {store:<10} workers={workers} "
                        f"{row.per_second:7.0f} req/s p50 {row.p50_ms:.1f} ms "
                        f"p99 {row.p99_ms:.1f} ms errors {row.errors}",
                        flush=True,
                    )
    lines = summary(rows)
    print_table(lines, args.clients)
    RESULTS.mkdir(exist_ok=True)
    document = {
        "benchmark": "service",
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
        "settings": vars(args) | {"dsn": None},
        "summary": lines,
        "rows": [asdict(r) for r in rows],
    }
    (RESULTS / "service.json").write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'service.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
