"""The economics report against a hand-written SQL ``GROUP BY``, on SQLite and PostgreSQL.

A month of ``--consumptions`` consumptions (default 10⁶) over ``--users`` accounts (default
10⁴): each account opens the day before the month, is reset at its start (breakage), may buy
the Studio Pack, then consumes operations of the example catalog (cost recorded), 5 % of them
refunded. The journal is built as the ledger writes it (same transaction kinds, entries and
metadata) by a fast generator, then loaded through the store port (one unit of work per
account), so both sides read the store's own tables.

Side by side, in the same run, on the same tables:

- ``report``: ``creditcore.economics.economics(ledger, catalog, start, end, by=("operation",))``,
  the full report (cash, recognised revenue, breakage, provider cost, deferred revenue opening
  and closing, roll-forward), exact;
- ``SQL GROUP BY``: two hand-written queries computing recognised revenue (entries × lot value)
  and provider cost (refunds reversed pro rata) per operation, in floating point (SQLite) or
  numeric (PostgreSQL).

Goal (issue 9): report ≤ 2 × the SQL. Run::

    .venv/bin/python benchmarks/economics.py                         # 10⁶ over 10⁴, both stores
    .venv/bin/python benchmarks/economics.py --consumptions 100000 --users 1000 --stores sqlite
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from creditcore.economics import economics
from creditcore.ledger import (
    Entry,
    Ledger,
    LedgerStore,
    Lot,
    Transaction,
)
from creditcore.pricing import example_catalog

RESULTS = Path(__file__).resolve().parent / "results"
DSN = os.environ.get(
    "CREDITCORE_BENCH_PG_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
CATALOG = example_catalog()
ALLOWANCE = 150  # PLUS: no tier price in the seeds, so credits are worth the subscription 0.02
PACK = CATALOG.pack("studio-pack")


@dataclass
class _Book:
    """One account being generated: its lots' balances and its running system totals."""

    user: str
    seq: int
    totals: dict[str, int]
    lots: dict[str, int]  # lot id -> remaining
    sub: str
    txs: list[Transaction]
    new_lots: dict[int, list[Lot]]  # seq -> lots created by that transaction
    tier: str = "PLUS"


def _entries(
    book: _Book, lot_moves: list[tuple[str, int]], system: list[tuple[str, int]]
) -> tuple[Entry, ...]:
    out: list[Entry] = []
    for lot_id, delta in lot_moves:
        book.lots[lot_id] = book.lots.get(lot_id, 0) + delta
        out.append(Entry(f"lot:{lot_id}", delta, book.lots[lot_id]))
    for name, delta in system:
        book.totals[name] = book.totals.get(name, 0) + delta
        out.append(Entry(name, delta, book.totals[name]))
    return tuple(out)


def _tx(
    book: _Book, kind: str, credits: int, at: datetime, entries: tuple[Entry, ...], **extra: Any
) -> Transaction:
    book.seq += 1
    tx = Transaction(
        id=f"tx_{book.user}_{book.seq}",
        user_id=book.user,
        seq=book.seq,
        kind=kind,  # type: ignore[arg-type]
        credits=credits,
        created_at=at,
        entries=entries,
        fingerprint="",
        **extra,
    )
    book.txs.append(tx)
    return tx


def _buy(book: _Book, at: datetime, number: int) -> str:
    """A Studio Pack purchase, as ``Ledger.purchase(..., pack=...)`` writes it."""
    user = book.user
    lot_id = f"pack_{user}_{number}"
    pay = f"pay_{user}_{number}"
    seq = book.seq + 1
    book.new_lots[seq] = [
        Lot(lot_id, user, "purchased", PACK.credits, PACK.credits, at, seq, None, pay,
            PACK.price.amount, "USD")
    ]  # fmt: skip
    meta = {
        "lot": lot_id, "kind": "purchased", "amount": str(PACK.price.amount),
        "currency": "USD", "pack": PACK.id, "price": "catalog", "quantity": 1,
    }  # fmt: skip
    moves = _entries(book, [(lot_id, PACK.credits)], [("debt", 0), ("issued", -PACK.credits)])
    _tx(book, "purchase", PACK.credits, at, moves, payment_id=pay, metadata=meta)
    return lot_id


def generate(consumptions: int, users: int, seed: int) -> list[_Book]:
    """The month's journal, account by account, as the ledger would write it."""
    rng = random.Random(seed)
    ops = list(CATALOG.operations)
    per_user = consumptions // users
    books: list[_Book] = []
    span = int((END - START).total_seconds())
    for n in range(users):
        user = f"bench-{n:05d}"
        book = _Book(user, 0, {}, {}, f"sub_{user}_0", [], {})
        opened = START - timedelta(days=1)
        sub = Lot(book.sub, user, "subscription", ALLOWANCE, ALLOWANCE, opened, 1, START, "2026-10")
        book.new_lots[1] = [sub]
        _tx(
            book,
            "open",
            ALLOWANCE,
            opened,
            _entries(book, [(book.sub, ALLOWANCE)], [("issued", -ALLOWANCE)]),
            metadata={"tier": "PLUS", "period": "2026-10"},
        )
        # the reset at the start of the month: October's allowance expires unused
        new_sub = f"sub_{user}_1"
        lot_new = Lot(new_sub, user, "subscription", ALLOWANCE, ALLOWANCE, START, 2, END, "2026-11")
        book.new_lots[2] = [lot_new]
        _tx(
            book,
            "reset",
            ALLOWANCE,
            START,
            _entries(
                book,
                [(book.sub, -ALLOWANCE), (new_sub, ALLOWANCE)],
                [("expired", ALLOWANCE), ("issued", -ALLOWANCE)],
            ),
            metadata={"period": "2026-11", "expired": ALLOWANCE, "tier": "PLUS"},
        )
        book.sub = new_sub
        times = sorted(
            START + timedelta(seconds=1 + rng.randrange(span - 10)) for _ in range(per_user)
        )
        packs = 0
        pack_lot: str | None = None
        if rng.random() < 0.6:
            packs += 1
            pack_lot = _buy(book, times[0] - timedelta(seconds=1), packs)
        for at in times:
            op = rng.choice(ops)
            want = op.credits
            available = book.lots.get(book.sub, 0) + (book.lots.get(pack_lot, 0) if pack_lot else 0)
            if available < want:  # out of credits: the user tops up with another pack
                packs += 1
                pack_lot = _buy(book, at - timedelta(milliseconds=1), packs)
            draws: list[tuple[str, int]] = []
            left = want
            for lot_id in ([pack_lot] if pack_lot else []) + [book.sub]:
                take = min(left, book.lots.get(lot_id, 0))
                if take:
                    draws.append((lot_id, -take))
                    left -= take
            meta = {
                "operation": op.id, "provider": op.provider, "model": op.model,
                "api_cost": str(op.api_cost.amount), "currency": "USD",
            }  # fmt: skip
            moves = _entries(book, draws, [("consumed", want)])
            consumed = _tx(book, "consume", want, at, moves, metadata=meta)
            if rng.random() < 0.05:  # the call failed: refunded to the lots it drew
                back = [(lot_id, -delta) for lot_id, delta in draws]
                refund = _entries(book, back, [("refunded", -want)])
                _tx(book, "refund", want, at + timedelta(milliseconds=500), refund, ref=consumed.id)
        books.append(book)
    return books


def _rows(book: _Book) -> tuple[tuple[Any, ...], list[Lot], list[Transaction]]:
    """The account's final record, its lots (final balances) and its journal."""
    totals: dict[str, int] = {}
    for tx in book.txs:
        for entry in tx.entries:
            if not entry.account.startswith("lot:"):
                totals[entry.account] = entry.balance_after
    account = (book.user, book.tier, ALLOWANCE, "2026-11", book.sub, book.seq, json.dumps(totals))
    lots = [
        dataclasses.replace(lot, remaining=book.lots[lot.id])
        for seq in sorted(book.new_lots)
        for lot in book.new_lots[seq]
    ]
    return account, lots, book.txs


def load_sqlite(path: Path, books: list[_Book]) -> None:
    """Bulk-insert the journal into a SQLite store's tables (setup, not measured)."""
    import sqlite3

    module = importlib.import_module("creditcore.stores.sqlite")
    module.SQLiteStore(path).close()  # creates the schema
    conn = sqlite3.connect(path)
    opened = _micros(START - timedelta(days=1))
    with conn:
        for book in books:
            account, lots, txs = _rows(book)
            conn.execute(
                "INSERT INTO accounts (user_id, tier, allowance, period, subscription_lot, seq, "
                "totals, created_at) VALUES (?,?,?,?,?,?,?,?)",
                (*account, opened),
            )
            conn.executemany(
                "INSERT INTO lots (id, user_id, kind, credits, remaining, created_at, seq, "
                "expires_at, source, amount, currency) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        lot.id, lot.user_id, lot.kind, lot.credits, lot.remaining,
                        _micros(lot.created_at), lot.seq,
                        None if lot.expires_at is None else _micros(lot.expires_at), lot.source,
                        None if lot.amount is None else str(lot.amount), lot.currency,
                    )
                    for lot in lots
                ],
            )  # fmt: skip
            conn.executemany(
                "INSERT INTO transactions (id, user_id, seq, kind, credits, created_at, idem_key, "
                "fingerprint, ref, payment_id, entries, metadata) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        tx.id, tx.user_id, tx.seq, tx.kind, tx.credits, _micros(tx.created_at),
                        tx.key, tx.fingerprint, tx.ref, tx.payment_id,
                        json.dumps([[e.account, e.delta, e.balance_after] for e in tx.entries]),
                        json.dumps(dict(tx.metadata)),
                    )
                    for tx in txs
                ],
            )  # fmt: skip
    conn.close()


def load_postgres(schema: str, books: list[_Book]) -> None:
    """COPY the journal into a PostgreSQL store's tables (setup, not measured)."""
    psycopg = importlib.import_module("psycopg")
    module = importlib.import_module("creditcore.stores.postgres")
    module.PostgresStore(DSN, schema=schema).close()  # creates the schema
    quoted = '"' + schema + '"'
    opened = START - timedelta(days=1)
    with psycopg.connect(DSN) as conn, conn.cursor() as cur:
        with cur.copy(
            f"COPY {quoted}.accounts (user_id, tier, allowance, period, subscription_lot, seq, "
            "totals, created_at) FROM STDIN"
        ) as copy:
            for book in books:
                copy.write_row((*_rows(book)[0], opened))
        with cur.copy(
            f"COPY {quoted}.lots (id, user_id, kind, credits, remaining, created_at, seq, "
            "expires_at, source, amount, currency) FROM STDIN"
        ) as copy:
            for book in books:
                for lot in _rows(book)[1]:
                    copy.write_row(
                        (lot.id, lot.user_id, lot.kind, lot.credits, lot.remaining,
                         lot.created_at, lot.seq, lot.expires_at, lot.source, lot.amount,
                         lot.currency)
                    )  # fmt: skip
        with cur.copy(
            f"COPY {quoted}.transactions (id, user_id, seq, kind, credits, created_at, idem_key, "
            "fingerprint, ref, payment_id, entry_accounts, entry_deltas, entry_balances, "
            "metadata) FROM STDIN"
        ) as copy:
            for book in books:
                for tx in book.txs:
                    copy.write_row(
                        (tx.id, tx.user_id, tx.seq, tx.kind, tx.credits, tx.created_at, tx.key,
                         tx.fingerprint, tx.ref, tx.payment_id,
                         [e.account for e in tx.entries], [e.delta for e in tx.entries],
                         [e.balance_after for e in tx.entries], json.dumps(dict(tx.metadata)))
                    )  # fmt: skip
        cur.execute(f"ANALYZE {quoted}.transactions")
        cur.execute(f"ANALYZE {quoted}.lots")


SQLITE_RECOGNISED = """
SELECT json_extract(COALESCE(c.metadata, t.metadata), '$.operation') AS op,
       SUM(-json_extract(e.value, '$[1]') *
           CASE WHEN l.amount IS NULL THEN 0.02 ELSE CAST(l.amount AS REAL) / l.credits END)
  FROM transactions t
  LEFT JOIN transactions c ON t.kind = 'refund' AND c.id = t.ref
  JOIN json_each(t.entries) e
  JOIN lots l ON l.id = substr(json_extract(e.value, '$[0]'), 5)
 WHERE t.kind IN ('consume', 'refund') AND t.created_at >= ? AND t.created_at < ?
   AND json_extract(e.value, '$[0]') LIKE 'lot:%'
 GROUP BY op
"""
SQLITE_COST = """
SELECT op, SUM(cost) FROM (
  SELECT json_extract(t.metadata, '$.operation') AS op,
         CAST(json_extract(t.metadata, '$.api_cost') AS REAL) AS cost
    FROM transactions t
   WHERE t.kind = 'consume' AND t.created_at >= ? AND t.created_at < ?
  UNION ALL
  SELECT json_extract(c.metadata, '$.operation'),
         -CAST(json_extract(c.metadata, '$.api_cost') AS REAL) * t.credits / c.credits
    FROM transactions t JOIN transactions c ON c.id = t.ref
   WHERE t.kind = 'refund' AND t.created_at >= ? AND t.created_at < ?
) GROUP BY op
"""

PG_RECOGNISED = """
SELECT COALESCE(c.metadata, t.metadata) ->> 'operation' AS op,
       SUM(-e.delta * CASE WHEN l.amount IS NULL THEN 0.02 ELSE l.amount / l.credits END)
  FROM {s}.transactions t
  LEFT JOIN {s}.transactions c ON t.kind = 'refund' AND c.id = t.ref
  CROSS JOIN LATERAL unnest(t.entry_accounts, t.entry_deltas) AS e(account, delta)
  JOIN {s}.lots l ON l.id = substr(e.account, 5)
 WHERE t.kind IN ('consume', 'refund') AND t.created_at >= %s AND t.created_at < %s
   AND e.account LIKE 'lot:%%'
 GROUP BY 1
"""
PG_COST = """
SELECT op, SUM(cost) FROM (
  SELECT t.metadata ->> 'operation' AS op, (t.metadata ->> 'api_cost')::numeric AS cost
    FROM {s}.transactions t
   WHERE t.kind = 'consume' AND t.created_at >= %s AND t.created_at < %s
  UNION ALL
  SELECT c.metadata ->> 'operation',
         -(c.metadata ->> 'api_cost')::numeric * t.credits / c.credits
    FROM {s}.transactions t JOIN {s}.transactions c ON c.id = t.ref
   WHERE t.kind = 'refund' AND t.created_at >= %s AND t.created_at < %s
) x GROUP BY op
"""


def _micros(value: datetime) -> int:
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], list[float], Any]:
    walls: list[float] = []
    cpus: list[float] = []
    result: Any = None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus, result


def _sqlite(path: Path, books: list[_Book]) -> tuple[LedgerStore, Callable[[], Any]]:
    import sqlite3

    load_sqlite(path, books)
    module = importlib.import_module("creditcore.stores.sqlite")
    store: LedgerStore = module.SQLiteStore(path)
    conn = sqlite3.connect(path)
    bounds = (_micros(START), _micros(END))

    def sql() -> Any:
        recognised = conn.execute(SQLITE_RECOGNISED, bounds).fetchall()
        cost = conn.execute(SQLITE_COST, bounds * 2).fetchall()
        return dict(recognised), dict(cost)

    return store, sql


def _postgres(
    schema: str, books: list[_Book]
) -> tuple[LedgerStore, Callable[[], Any], Callable[[], None]]:
    psycopg = importlib.import_module("psycopg")
    load_postgres(schema, books)
    module = importlib.import_module("creditcore.stores.postgres")
    store: LedgerStore = module.PostgresStore(DSN, schema=schema)
    conn = psycopg.connect(DSN, autocommit=True)
    quoted = '"' + schema + '"'

    def sql() -> Any:
        with conn.cursor() as cur:
            cur.execute(PG_RECOGNISED.format(s=quoted), (START, END))
            recognised = dict(cur.fetchall())
            cur.execute(PG_COST.format(s=quoted), (START, END, START, END))
            cost = dict(cur.fetchall())
        return recognised, cost

    def drop() -> None:
        conn.execute(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")
        conn.close()

    return store, sql, drop


def measure(name: str, store: LedgerStore, sql: Callable[[], Any], repeats: int) -> dict[str, Any]:
    ledger = Ledger(store)

    def report() -> Any:
        return economics(ledger, CATALOG, start=START, end=END, by=("operation",))

    sql_walls, sql_cpus, (recognised, cost) = timed(sql, repeats)
    rep_walls, rep_cpus, rep = timed(report, repeats)
    assert rep.roll_forward.reconciles
    # the two sides agree on what they both compute (SQLite's side is floating point)
    for row in rep.rows:
        op = row.key["operation"]
        if op is None:
            continue
        assert abs(float(recognised[op]) - float(row.figures.recognised_exact)) < 1e-6 * max(
            1.0, float(recognised[op])
        ), op
        assert abs(float(cost[op]) - float(row.figures.provider_cost_exact)) < 1e-6 * max(
            1.0, float(cost[op])
        ), op
    return {
        "store": name,
        "report_s": statistics.median(rep_walls),
        "report_spread_s": [min(rep_walls), max(rep_walls)],
        "report_cpu_s": statistics.median(rep_cpus),
        "sql_s": statistics.median(sql_walls),
        "sql_cpu_s": statistics.median(sql_cpus),
        "sql_spread_s": [min(sql_walls), max(sql_walls)],
        "ratio": statistics.median(rep_walls) / statistics.median(sql_walls),
        "recognised": str(rep.total.recognised.rounded()),
        "provider_cost": str(rep.total.provider_cost.rounded()),
        "deferred_closing": str(rep.total.deferred_closing.rounded())
        if rep.total.deferred_closing
        else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumptions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    books = generate(args.consumptions, args.users, args.seed)
    transactions = sum(len(b.txs) for b in books)
    consumed = sum(1 for b in books for t in b.txs if t.kind == "consume")
    print(
        f"journal: {transactions} transactions ({consumed} consumptions) over {args.users} accounts, "
        f"generated in {time.perf_counter() - began:.1f} s"
    )
    rows: list[dict[str, Any]] = []
    for name in args.stores.split(","):
        began = time.perf_counter()
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                store, sql = _sqlite(Path(tmp) / "bench.sqlite3", books)
                print(f"sqlite: loaded in {time.perf_counter() - began:.1f} s")
                rows.append(measure("SQLite", store, sql, args.repeats))
                store.close()
        elif name == "postgres":
            schema = f"bench_econ_{os.getpid()}"
            store, sql, drop = _postgres(schema, books)
            try:
                print(f"postgres: loaded in {time.perf_counter() - began:.1f} s")
                rows.append(measure("PostgreSQL", store, sql, args.repeats))
            finally:
                store.close()
                drop()
        else:
            parser.error(f"unknown store {name!r}")
    print()
    print(
        f"{'store':<12}{'report (s)':>12}{'spread':>16}{'cpu (s)':>10}{'SQL GROUP BY (s)':>19}{'spread':>16}{'ratio':>8}"
    )
    for row in rows:
        rs, ss = row["report_spread_s"], row["sql_spread_s"]
        print(
            f"{row['store']:<12}{row['report_s']:>12.2f}{f'{rs[0]:.2f}-{rs[1]:.2f}':>16}{row['report_cpu_s']:>10.2f}"
            f"{row['sql_s']:>19.2f}{f'{ss[0]:.2f}-{ss[1]:.2f}':>16}{row['ratio']:>8.2f}"
        )
    print(
        "goal: report ≤ 2 × the SQL (median of",
        args.repeats,
        "runs; machine shared: wall times are noisy)",
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "economics.json"
    out.write_text(
        json.dumps(
            {
                "consumptions": consumed,
                "transactions": transactions,
                "users": args.users,
                "repeats": args.repeats,
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
