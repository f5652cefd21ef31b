"""Ledger under faults: worker processes on ONE hot account while they are killed and interrupted.

For each store (SQLite on a file, PostgreSQL on a fresh schema), ``--workers`` processes consume
1 credit at a time from the same account, each call with its own idempotency key. Meanwhile a
killer, every ``--every`` seconds, picks a worker at random and does one of:

- ``SIGKILL`` (the process dies anywhere, even inside COMMIT); a new incarnation of the worker
  first retries the key the dead one had sent but not seen acknowledged, then goes on;
- ``SIGINT`` (a ``KeyboardInterrupt`` at a random point of a call); the worker retries the same
  key at once, on the same thread and store;
- PostgreSQL only: ``pg_terminate_backend`` of the worker's server session.

A worker prints ``send <key>`` before a call and ``ack <key>`` after it returned. At the end the
journal is read back: ``lost`` counts acknowledged keys missing from it (must be 0), ``twice``
keys booked more than once (must be 0); ``verify`` replays the account; and the balance must be
the allowance minus the credits in the journal. Run::

    .venv/bin/python benchmarks/ledger_faults.py            # 20 s per store
    .venv/bin/python benchmarks/ledger_faults.py --short    # 4 s per store (the CI version)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from creditcore.ledger import Ledger, LedgerStore

__all__ = ["Outcome", "main", "run_store"]

RESULTS = Path(__file__).resolve().parent / "results"
HOT = "hot"
ALLOWANCE = 10**9
DSN = os.environ.get(
    "CREDITCORE_TEST_PG_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=3"
)


def _open(kind: str, target: str, app: str = "cc-faults") -> LedgerStore:
    if kind == "sqlite":
        from creditcore.stores.sqlite import SQLiteStore

        return SQLiteStore(target, timeout=30.0)
    from creditcore.stores.postgres import PostgresStore

    return PostgresStore(f"{DSN} application_name={app}", schema=target)


# --- the worker process ---------------------------------------------------------------------------


def worker(kind: str, target: str, name: str, retry: str | None) -> None:
    """Consume 1 credit per call, forever; ``retry``: a key to send again first."""
    interrupted = False

    def on_sigint(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    with _open(kind, target, app=f"cc-faults-{name}") as store:
        ledger = Ledger(store)
        ledger.balance(HOT)  # connected
        _say("ready")
        n = 0
        pending = retry
        while True:
            if pending is None:
                n += 1
                pending = f"{name}-{n}"
            key = pending
            try:
                _say(f"send {key}")
                ledger.consume(HOT, 1, key=key)
                _say(f"ack {key}")
                pending = None
            except KeyboardInterrupt:
                interrupted = True  # retry the same key on the same thread and store
            except Exception as error:
                _say(f"error {key} {type(error).__name__}")
                time.sleep(0.01)
            if interrupted:
                _say(f"interrupted {key}")
                interrupted = False


# --- the parent ---------------------------------------------------------------------------------


@dataclass
class _Worker:
    name: str
    proc: subprocess.Popen[str]
    sent: str | None = None
    buffer: str = ""
    ready: bool = False


@dataclass
class Outcome:
    """One store's run."""

    store: str
    workers: int
    seconds: float
    acknowledged: int
    sigkills: int
    interrupts: int
    backend_kills: int
    errors: int
    restarts: int
    lost: int
    applied_twice: int
    verify_ok: bool
    balance_ok: bool
    problems: list[str] = field(default_factory=list)


_LINE = re.compile(r"(ready|send|ack|interrupted|error)(?: (w\d+\.\d+-\d+))?(?: \w+)?")


def _say(line: str) -> None:
    """One whole line in one write (``print`` writes the text and the newline separately, and an
    interrupt may land between them)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _spawn(kind: str, target: str, name: str, retry: str | None) -> _Worker:
    args = [sys.executable, __file__, "--worker", kind, target, name]
    if retry is not None:
        args.append(retry)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, bufsize=1)
    return _Worker(name, proc)


def _drain(workers: list[_Worker], acked: set[str], counts: Counter[str], wait: float) -> None:
    streams = {w.proc.stdout: w for w in workers if w.proc.stdout is not None}
    ready, _, _ = select.select(list(streams), [], [], wait)
    for stream in ready:
        w = streams[stream]
        chunk = os.read(stream.fileno(), 65536).decode()
        if not chunk:
            continue
        w.buffer += chunk
        *lines, w.buffer = w.buffer.split("\n")
        for line in lines:
            if os.environ.get("LEDGER_FAULTS_LOG"):
                with open(os.environ["LEDGER_FAULTS_LOG"], "a") as log:
                    log.write(f"{w.name} {line}\n")
            match = _LINE.fullmatch(line)
            if match is None:  # a line an interrupt cut short (its retry follows): not counted
                counts["garbled"] += 1
                continue
            verb, key = match.group(1), match.group(2) or ""
            counts[verb] += 1
            if verb == "ready":
                w.ready = True
            elif verb == "send":
                w.sent = key
            elif verb == "ack":
                acked.add(key)
                if w.sent == key:
                    w.sent = None


def _terminate_backend(name: str) -> int:
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (f"cc-faults-{name}",),
        ).fetchone()
        return int(row[0]) if row else 0


def run_store(kind: str, *, seconds: float, workers: int, every: float, seed: int) -> Outcome:
    """One store: spawn, fault, stop, read the journal back."""
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="ledger-faults-"))
    target = (
        str(folder / "faults.sqlite3") if kind == "sqlite" else f"cc_faults_{secrets.token_hex(4)}"
    )
    with _open(kind, target) as store:
        Ledger(store).open_account(HOT, monthly_allowance=ALLOWANCE)
    pool = [_spawn(kind, target, f"w{i}.0", None) for i in range(workers)]
    acked: set[str] = set()
    counts: Counter[str] = Counter()
    sigkills = interrupts = backend_kills = 0
    deadline = time.monotonic() + 120
    while not all(w.ready for w in pool) and time.monotonic() < deadline:  # imports, connects
        _drain(pool, acked, counts, 0.1)
    start = time.monotonic()
    next_fault = start + every
    incarnation = 0
    died = 0
    try:
        while time.monotonic() - start < seconds:
            _drain(pool, acked, counts, 0.02)
            for i, w in enumerate(pool):
                if w.proc.poll() is not None:  # an interrupt outside a call ended it: restart
                    _drain([w], acked, counts, 0.0)
                    incarnation += 1
                    pool[i] = _spawn(kind, target, f"{w.name.split('.')[0]}.{incarnation}", w.sent)
                    died += 1
            if time.monotonic() < next_fault:
                continue
            next_fault += every
            ready = [i for i, w in enumerate(pool) if w.ready]
            if not ready:
                continue
            victim = rng.choice(ready)
            w = pool[victim]
            action = rng.choice(["kill", "interrupt"] + (["backend"] if kind == "postgres" else []))
            if action == "kill":
                w.proc.kill()
                w.proc.wait()
                _drain([w], acked, counts, 0.0)
                incarnation += 1
                base = w.name.split(".")[0]
                pool[victim] = _spawn(kind, target, f"{base}.{incarnation}", w.sent)
                sigkills += 1
            elif action == "interrupt":
                w.proc.send_signal(signal.SIGINT)
                interrupts += 1
            else:
                backend_kills += _terminate_backend(w.name)
        for w in pool:
            w.proc.send_signal(signal.SIGKILL)
            w.proc.wait()
        _drain(pool, acked, counts, 0.0)
    finally:
        for w in pool:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait()
    elapsed = time.monotonic() - start
    with _open(kind, target) as store:
        ledger = Ledger(store)
        journal = [t for t in store.transactions(HOT) if t.kind == "consume"]
        booked = Counter(t.key for t in journal)
        report = ledger.verify(HOT)
        balance = ledger.balance(HOT)
    lost = len(acked - set(booked))
    twice = sum(1 for n in booked.values() if n > 1)
    spent = sum(t.credits for t in journal)
    outcome = Outcome(
        store=kind,
        workers=workers,
        seconds=round(elapsed, 1),
        acknowledged=len(acked),
        sigkills=sigkills,
        interrupts=interrupts,
        backend_kills=backend_kills,
        errors=counts["error"],
        restarts=died,
        lost=lost,
        applied_twice=twice,
        verify_ok=report.ok,
        balance_ok=balance.current == ALLOWANCE - spent,
        problems=[*report.problems[:5], *(f"lost {k}" for k in sorted(acked - set(booked))[:5])],
    )
    if kind == "postgres":
        import psycopg
        from psycopg import sql

        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(target)))
    return outcome


def _postgres_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as error:
        return str(error)
    return None


def print_table(outcomes: list[Outcome]) -> None:
    """One line per store."""
    header = (
        f"{'store':<9} {'workers':>7} {'s':>5} {'acked':>7} {'SIGKILL':>7} {'SIGINT':>6} "
        f"{'backend':>7} {'errors':>6} {'lost':>5} {'twice':>5} {'verify':>6} {'balance':>7}"
    )
    print(header)
    print("-" * len(header))
    for o in outcomes:
        print(
            f"{o.store:<9} {o.workers:>7} {o.seconds:>5.1f} {o.acknowledged:>7} {o.sigkills:>7} "
            f"{o.interrupts:>6} {o.backend_kills:>7} {o.errors:>6} {o.lost:>5} "
            f"{o.applied_twice:>5} {'ok' if o.verify_ok else 'FAIL':>6} "
            f"{'ok' if o.balance_ok else 'FAIL':>7}"
        )


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 1 when anything was lost, applied twice or fails to verify."""
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--worker"]:
        kind, target, name, *retry = args_in[1:]
        worker(kind, target, name, retry[0] if retry else None)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per store")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--every", type=float, default=0.25, help="seconds between faults")
    parser.add_argument("--short", action="store_true", help="4 s per store, 3 workers (CI)")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--require-postgres", action="store_true", help="fail if unreachable")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(args_in)
    if args.short:
        args.seconds, args.workers, args.every = 4.0, 3, 0.2
    outcomes: list[Outcome] = []
    for kind in args.stores.split(","):
        if kind == "postgres":
            problem = _postgres_reachable()
            if problem is not None:
                print(f"PostgreSQL unreachable, its row is skipped: {problem}", file=sys.stderr)
                if args.require_postgres:
                    return 2
                continue
        outcomes.append(
            run_store(
                kind, seconds=args.seconds, workers=args.workers, every=args.every, seed=args.seed
            )
        )
    print_table(outcomes)
    path = args.json or RESULTS / "ledger_faults.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "benchmark": "ledger under SIGKILL, SIGINT and terminated PostgreSQL backends",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "rows": [asdict(o) for o in outcomes],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nJSON: {path}")
    bad = [o for o in outcomes if o.lost or o.applied_twice or not o.verify_ok or not o.balance_ok]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
