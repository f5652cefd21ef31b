"""``creditcore economics report|simulate`` and the economics part of the demo."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from creditcore._cli import EXIT_OK
from creditcore._exceptions import InvalidInput
from creditcore.economics import (
    DIMENSIONS,
    MONEY_FIELDS,
    EconomicsReport,
    Figures,
    economics,
    simulate,
)
from creditcore.ledger import InMemoryStore, Ledger, LedgerStore
from creditcore.pricing import Catalog, Money, Operation, example_catalog, load_catalog

__all__ = ["demo_section", "register"]


def _instant(text: str, option: str) -> datetime:
    """An ISO date (midnight UTC) or an aware ISO datetime."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{option}: not an ISO date or datetime such as 2026-11-01 or 2026-11-01T00:00Z: "
            f"{text!r}",
            field=option,
        ) from None
    if value.tzinfo is None:
        raise InvalidInput(
            f"{option}: a datetime needs a UTC offset (…Z, …+01:00): {text!r}", field=option
        )
    return value


def _dimensions(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for name in names:
        if name not in DIMENSIONS:
            raise InvalidInput(
                f"--by: unknown dimension {name!r} (known: {', '.join(DIMENSIONS)})", field="by"
            )
    return names


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``economics report`` and ``economics simulate``."""
    parser = commands.add_parser(
        "economics",
        help="what the price list earned: cash, recognised revenue, cost, deferred revenue",
        description="Join a ledger's journal to a catalog: cash collected and returned, revenue "
        "recognised on consumption, breakage, provider cost, margin and markup, and deferred "
        "revenue with its roll-forward (see docs/economics.md).",
    )
    sub = parser.add_subparsers(dest="economics_command", metavar="SUBCOMMAND", required=True)

    report = sub.add_parser(
        "report",
        help="the economics of a time range",
        description="The economics of [--from, --to) across every account of a ledger.",
    )
    report.add_argument("--db", required=True, help="a SQLite ledger file, or a postgresql:// DSN")
    report.add_argument("--catalog", required=True, type=Path, help="the catalog file (TOML)")
    report.add_argument(
        "--from", dest="start", required=True, help="first instant (ISO; a date is UTC midnight)"
    )
    report.add_argument("--to", dest="end", required=True, help="first instant after the range")
    report.add_argument(
        "--by", default="", help=f"comma-separated grouping: {', '.join(DIMENSIONS)}"
    )
    report.add_argument("--format", choices=("table", "json", "csv"), default="table")
    report.add_argument(
        "--schema", default="creditcore", help="PostgreSQL schema (with a postgresql:// --db)"
    )
    report.set_defaults(handler=_report)

    sim = sub.add_parser(
        "simulate",
        help="write a simulated month of usage into a new SQLite ledger file",
        description="Users across tiers buy packs and lootboxes, make calls following an "
        "operation mix, some calls fail and are refunded; deterministic for a seed.",
    )
    sim.add_argument("--db", required=True, type=Path, help="the SQLite file to create")
    sim.add_argument("--catalog", type=Path, default=None, help="catalog file (default: example)")
    sim.add_argument("--users", type=int, default=100)
    sim.add_argument("--calls", type=int, default=30, help="mean calls per user")
    sim.add_argument("--month", default="2026-11", help="YYYY-MM (UTC)")
    sim.add_argument("--seed", type=int, default=0)
    sim.set_defaults(handler=_simulate)


@contextmanager
def _open_store(db: str, schema: str) -> Iterator[LedgerStore]:
    if db.startswith(("postgresql://", "postgres://")):
        module = importlib.import_module("creditcore.stores.postgres")
        store: LedgerStore = module.PostgresStore(db, schema=schema)
    else:
        path = Path(db)
        if not path.is_file():
            raise InvalidInput(f"--db: no ledger file at {db}", field="db", value=db)
        module = importlib.import_module("creditcore.stores.sqlite")
        store = module.SQLiteStore(path)
    try:
        yield store
    finally:
        store.close()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _figures_json(figures: Figures) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in MONEY_FIELDS:
        money = figures.money(name)
        out[name] = None if money is None else str(money.amount)
    out["gross_margin"] = _text(figures.gross_margin)
    out["markup"] = _text(figures.markup)
    for name in ("credits_consumed", "credits_refunded", "calls", "unvalued_credits"):
        out[name] = getattr(figures, name)
    out["cost_unknown_calls"] = figures.cost_unknown_calls
    return out


def _json(report: EconomicsReport) -> str:
    roll = report.roll_forward
    document = {
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "by": list(report.by),
        "currency": report.currency,
        "rows": [{**row.key, **_figures_json(row.figures)} for row in report.rows],
        "total": _figures_json(report.total),
        "roll_forward": {
            **{label: str(money.amount) for label, money in roll.lines()},
            "reconciles": roll.reconciles,
        },
        "unvalued_lots": dict(report.unvalued_lots),
    }
    return json.dumps(document, indent=2)


def _csv(report: EconomicsReport, out: TextIO) -> None:
    names = [*report.by, *MONEY_FIELDS, "gross_margin", "markup", "calls", "currency"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    rows = [(row.key, row.figures) for row in report.rows]
    rows.append((dict.fromkeys(report.by, "TOTAL"), report.total))
    for key, figures in rows:
        data = _figures_json(figures)
        writer.writerow(
            [
                *(key.get(d) or "" for d in report.by),
                *(data[name] if data[name] is not None else "" for name in MONEY_FIELDS),
                data["gross_margin"] or "",
                data["markup"] or "",
                figures.calls,
                report.currency,
            ]
        )


def _report(args: argparse.Namespace, out: TextIO) -> int:
    start = _instant(args.start, "--from")
    end = _instant(args.end, "--to")
    by = _dimensions(args.by)
    if not start < end:
        raise InvalidInput(f"--to: {args.end} is not after --from {args.start}", field="to")
    catalog = load_catalog(args.catalog)
    with _open_store(args.db, args.schema) as store:
        ledger = Ledger(store)
        report = economics(ledger, catalog, start=start, end=end, by=by)
        if args.format == "json":
            out.write(_json(report) + "\n")
        elif args.format == "csv":
            _csv(report, out)
        else:
            out.write(report.table() + "\n")
    return EXIT_OK


def _simulate(args: argparse.Namespace, out: TextIO) -> int:
    catalog: Catalog = load_catalog(args.catalog) if args.catalog else example_catalog()
    path: Path = args.db
    if path.exists():
        raise InvalidInput(f"--db: {path} already exists (simulate writes a new file)", field="db")
    module = importlib.import_module("creditcore.stores.sqlite")
    store: LedgerStore = module.SQLiteStore(path)
    try:
        sim = simulate(
            store, catalog, users=args.users, month=args.month, seed=args.seed,
            calls_per_user=args.calls,
        )  # fmt: skip
    finally:
        store.close()
    out.write(
        f"simulated {sim.users} users over {sim.start:%Y-%m}: {sim.purchases} packs, "
        f"{sim.lootboxes} lootboxes, {sim.calls} calls ({sim.refunds} refunded, {sim.refused} "
        f"refused for lack of credits) into {path}\n"
        f"report it with: creditcore economics report --db {path} --catalog CATALOG "
        f"--from {sim.start:%Y-%m-%d} --to {sim.end:%Y-%m-%d} --by operation,channel\n"
    )
    return EXIT_OK


def demo_section(out: TextIO) -> None:
    """The demo's ending: a simulated month's economics (in memory)."""
    catalog = example_catalog()
    sim = simulate(InMemoryStore(), catalog, users=60, month="2026-11", seed=7)
    say = out.write
    say(
        f"\n== Economics: a simulated month ({sim.users} users, {sim.start:%Y-%m}; "
        f"{sim.purchases} packs ({sim.chargebacks} charged back), {sim.lootboxes} lootboxes, "
        f"{sim.calls} calls, {sim.refunds} refunded) ==\n"
    )
    report = economics(sim.ledger, catalog, start=sim.start, end=sim.end, by=("channel",))
    say(report.table() + "\n")

    def changed(op: Operation) -> Operation:
        if op.id == "nanobanana":
            return dataclasses.replace(op, credits=3)
        if op.id == "wan-2.5":
            return dataclasses.replace(op, api_cost=Money(Decimal("0.30"), op.api_cost.currency))
        return op

    other = catalog.replace(operations=[changed(op) for op in catalog.operations])
    replay = report.replay(other, by=("operation",))
    say("\nwhat if NanoBanana cost 3 credits and Wavespeed raised WAN 2.5 to $0.30 a call?\n")
    say(f"  {'operation':<20}{'recognised':>14}{'→ replayed':>14}{'cost':>10}{'→ replayed':>12}\n")
    for row in replay.rows:
        if not row.figures.actual.calls:
            continue
        actual, again = row.figures.actual, row.figures.replayed
        say(
            f"  {row.key['operation'] or '-':<20}{actual.recognised.rounded().amount:>14}"
            f"{again.recognised.rounded().amount:>14}{actual.provider_cost.rounded().amount:>10}"
            f"{again.provider_cost.rounded().amount:>12}\n"
        )
    total = replay.total
    say(
        f"  gross profit {total.actual.gross_profit.rounded()} → "
        f"{total.replayed.gross_profit.rounded()}\n"
    )
