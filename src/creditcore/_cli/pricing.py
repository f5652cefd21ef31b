"""``creditcore pricing report|check|offers|schema|example`` and the pricing part of the demo."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from creditcore._cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATIONS, Handler
from creditcore._cli.pricing_report import (
    github_annotation,
    problem_record,
    render_csv,
    render_json,
    render_table,
    render_validation,
    report_rows,
    validation_document,
)
from creditcore._exceptions import CreditcoreError, InvalidCatalog, InvalidInput, NaiveDatetime
from creditcore._pricing.catalog import Catalog
from creditcore._pricing.example import EXAMPLE_RESOURCE, example_catalog
from creditcore._pricing.loading import load_catalog
from creditcore._pricing.locate import Part, json_lines, line_of, toml_lines
from creditcore._pricing.policy import MarginPolicy
from creditcore._pricing.schema import json_schema_text
from creditcore._pricing.toml import catalog_to_toml
from creditcore._pricing.validation import validate

__all__ = ["demo_section", "register"]

_EXAMPLE_HEADER = (
    "creditcore example pricing catalog (seed figures, observed 2025-10-14).\n"
    "Amounts are strings; margin bounds are gross-margin fractions.\n"
    "Offer prices are example values: the seeds give only the windows.\n"
    "Check it with: creditcore pricing check FILE"
)


def _fraction(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a decimal fraction: {text!r}") from None
    if not value.is_finite() or not Decimal(0) <= value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 0 and < 1, got {text!r}")
    return value


def _target(text: str) -> Decimal | tuple[Decimal, Decimal]:
    for separator in ("..", ":"):
        if separator in text:
            low, high = text.split(separator, 1)
            return _fraction(low), _fraction(high)
    return _fraction(text)


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--at: not an ISO-8601 date-time, got {text!r}", field="at", value=text
        ) from None
    if value.utcoffset() is None:
        # Refused here, with the library's error, so the message says what is missing.
        raise NaiveDatetime(
            f"--at: needs a UTC offset or 'Z' (e.g. {text}-05:00), got {text!r}",
            field="at",
            value=text,
        )
    return value


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``pricing`` subcommands."""
    parser = commands.add_parser(
        "pricing",
        help="price lists: report, check, offers, schema, example",
        description="Report and check the margins of a pricing catalog (TOML or JSON).",
    )
    sub = parser.add_subparsers(dest="pricing_command", metavar="SUBCOMMAND", required=True)

    def policy_options(command: argparse.ArgumentParser, *, every_channel: bool) -> None:
        command.add_argument("--floor", type=_fraction, help="gross-margin floor, e.g. 0.05")
        command.add_argument(
            "--target", type=_target, help="gross-margin target: 0.3 or a band 0.3..0.6"
        )
        all_help = (
            "; 'all': one row per operation on every channel (validation stays on the "
            "lowest paid value)"
            if every_channel
            else ""
        )
        command.add_argument(
            "--channel",
            metavar="all|CHANNEL" if every_channel else "CHANNEL",
            help="credit value to judge on: subscription, a pack or offer id "
            f"(default: the lowest paid value){all_help}",
        )

    report = sub.add_parser(
        "report",
        help="cost, revenue, markup and gross margin of every operation",
        description="Print the pricing report of a catalog (the example catalog if no PATH).",
    )
    report.add_argument("path", nargs="?", type=Path, help="catalog file (.toml or .json)")
    policy_options(report, every_channel=True)
    report.add_argument("--format", choices=("table", "json", "csv"), default="table")
    precision = report.add_mutually_exclusive_group()
    precision.add_argument(
        "--places",
        type=_places,
        default=4,
        help="round markup and gross margin to this many decimals (default: 4)",
    )
    precision.add_argument(
        "--exact",
        action="store_true",
        help="print markup and gross margin exactly: a decimal when it terminates, else a "
        "fraction such as 1/19 (money columns are always exact)",
    )
    report.set_defaults(handler=_listing_problems(_report))

    check = sub.add_parser(
        "check",
        help="validate a catalog file; exit 1 on margin violations, 2 on a bad file",
        description="Load PATH strictly (every problem is listed) and check its margins.",
    )
    check.add_argument("path", type=Path, help="catalog file (.toml or .json)")
    policy_options(check, every_channel=False)
    check.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text for people; json (one document on stdout); github: one workflow command "
        "per problem (::error file=...,line=...::), which GitHub Actions shows as annotations",
    )
    check.set_defaults(handler=_listing_problems(_check))

    offers = sub.add_parser(
        "offers",
        help="which lootbox offers are open at an instant, and when each next opens",
    )
    offers.add_argument("path", nargs="?", type=Path, help="catalog file (default: the example)")
    offers.add_argument(
        "--at",
        default=None,
        help="ISO-8601 instant with an offset, e.g. 2026-03-08T22:59-04:00 (default: now); "
        "each offer also prints it in its own time zone",
    )
    offers.set_defaults(handler=_listing_problems(_offers))

    schema = sub.add_parser("schema", help="print the JSON Schema of catalog files")
    schema.set_defaults(handler=_schema)

    example = sub.add_parser("example", help="print the example catalog as TOML")
    example.set_defaults(handler=_example)


def _load(path: Path | None) -> tuple[Catalog, str]:
    if path is None:
        return example_catalog(), f"example catalog ({EXAMPLE_RESOURCE})"
    return load_catalog(path), str(path)


def _policy(args: argparse.Namespace, catalog: Catalog) -> MarginPolicy | None:
    floor: Decimal | None = args.floor
    target: Decimal | tuple[Decimal, Decimal] | None = args.target
    if floor is None and target is None:
        return None
    own = catalog.policy
    if floor is None:
        floor = own.floor if own is not None else Decimal(0)
        low = target[0] if isinstance(target, tuple) else target
        if low is not None and floor > low:
            floor = low
    if target is None and own is not None and own.target_min >= floor:
        target = own.target
    return MarginPolicy(floor, target)


def _places(text: str) -> int:
    """``--places``: a whole number of decimals from 0 to 28 (Decimal's default precision)."""
    try:
        places = int(text)
    except ValueError:
        places = -1
    if not 0 <= places <= 28:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 28, got {text!r}")
    return places


def _report(args: argparse.Namespace, out: TextIO) -> int:
    catalog, label = _load(args.path)
    report = validate(catalog, _policy(args, catalog), channel=_basis(args.channel))
    places: int | None = None if args.exact else args.places
    rows = report_rows(catalog, channel=args.channel, places=places)
    if args.format == "json":
        out.write(render_json(rows, report))
    elif args.format == "csv":
        out.write(render_csv(rows))
    else:
        out.write(f"Pricing report: {label}\n\n")
        out.write(render_table(rows))
        out.write("\n")
        out.write(render_validation(report))
    return EXIT_OK


def _basis(channel: str | None) -> str | None:
    return None if channel == "all" else channel


def _label(args: argparse.Namespace) -> str:
    path = getattr(args, "path", None)
    return f"example catalog ({EXAMPLE_RESOURCE})" if path is None else str(path)


def _listing_problems(handler: Handler) -> Handler:
    """Run ``handler``; every error names the file. A bad catalog file exits 2 with one line per
    problem (and, for ``check --format json|github``, the problems in that form on stdout)."""

    def run(args: argparse.Namespace, out: TextIO) -> int:
        try:
            return handler(args, out)
        except InvalidCatalog as error:
            where = error.source or _label(args)
            form = getattr(args, "format", "text") if args.pricing_command == "check" else "text"
            if form == "json":
                document = {
                    "file": where,
                    "ok": False,
                    "problems": [problem_record(problem) for problem in error.problems],
                }
                out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            elif form == "github":
                out.writelines(
                    github_annotation(problem, where) + "\n" for problem in error.problems
                )
            count = len(error.problems)
            print(f"creditcore: error: {where}: {count} problem(s)", file=sys.stderr)
            for problem in error.problems:  # file:line: as compilers print, for editors
                at = where if problem.line is None else f"{where}:{problem.line}"
                print(
                    f"  {at}: {problem.path}: {problem.message} [{problem.code}]", file=sys.stderr
                )
            return EXIT_BAD_INPUT
        except CreditcoreError as error:
            print(f"creditcore: error: {_label(args)}: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT

    return run


def _check(args: argparse.Namespace, out: TextIO) -> int:
    catalog, label = _load(args.path)
    report = validate(catalog, _policy(args, catalog), channel=args.channel)
    if args.format == "text":
        out.write(f"{label}: {len(catalog.operations)} operations\n")
        out.write(render_validation(report))
    else:
        lines = _source_lines(args.path)
        findings = [
            dataclasses.replace(problem, line=line_of(lines, problem.path))
            for problem in (*report.errors, *report.warnings)
        ]
        if args.format == "json":
            document = {"file": label, **validation_document(report)}
            document["errors"] = [problem_record(p) for p in findings if p.severity == "error"]
            document["warnings"] = [problem_record(p) for p in findings if p.severity != "error"]
            out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        else:
            out.writelines(github_annotation(problem, label) + "\n" for problem in findings)
    return EXIT_OK if report.ok else EXIT_VIOLATIONS


def _source_lines(path: Path) -> dict[tuple[Part, ...], int]:
    """Where each path of the catalog file is written (the file loaded, so it is readable)."""
    text = path.read_text(encoding="utf-8")
    return json_lines(text) if path.suffix.lower() == ".json" else toml_lines(text)


def _offers(args: argparse.Namespace, out: TextIO) -> int:
    catalog, label = _load(args.path)
    # Parsed here, not by argparse, so a naive time exits 2 with the library's own message.
    at = datetime.now(UTC) if args.at is None else _instant(args.at)
    out.write(f"Offers of {label} at {at.isoformat()}:\n")
    if not catalog.offers:
        out.write("  (no offers)\n")
    width = max((len(offer.id) for offer in catalog.offers), default=0)
    for offer in catalog.offers:
        window = offer.window_at(at)
        state = "OPEN  " if window else "closed"
        until = f", closes {window[1].isoformat()}" if window else ""
        opening = offer.next_opening(at).isoformat()
        local = at.astimezone(ZoneInfo(offer.timezone))
        out.write(
            f"  {offer.id.ljust(width)}  {state}  at {local:%a %Y-%m-%d %H:%M} {local.tzname()} "
            f"local: {offer.credits} credits for "
            f"{offer.price}{until}; next opens {opening} ({offer.window.describe()}, "
            f"{offer.timezone})\n"
        )
    return EXIT_OK


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    out.write(json_schema_text())
    return EXIT_OK


def _example(args: argparse.Namespace, out: TextIO) -> int:
    out.write(catalog_to_toml(example_catalog(), header=_EXAMPLE_HEADER))
    return EXIT_OK


def demo_section(out: TextIO) -> None:
    """Print the pricing part of the demo: the example catalog's report and its validation."""
    catalog = example_catalog()
    report = validate(catalog)
    out.write("== Pricing: the example catalog ==\n\n")
    out.write(render_table(report_rows(catalog, places=4)))
    out.write("\n")
    out.write(render_validation(report))
    out.write("\nTiers (each unlocks the models of the tiers below it):\n")
    for tier in catalog.tiers:
        added = ", ".join(tier.models) or "nothing new in this catalog"
        out.write(f"  {tier.name:<8} {tier.monthly_credits:>5} credits/month  adds: {added}\n")
    at = datetime(2026, 3, 8, 22, 59, tzinfo=ZoneInfo("America/New_York"))
    out.write(f"\nLootbox offers at {at.isoformat()} (the Sunday clocks sprang forward):\n")
    for offer in catalog.offers:
        window = offer.window_at(at)
        if window is not None:
            hours = (window[1] - window[0]).total_seconds() / 3600
            state = f"open until {window[1].isoformat()} (this window lasts {hours:g} h)"
        else:
            state = f"closed; next opens {offer.next_opening(at).isoformat()}"
        out.write(f"  {offer.id:<20} {offer.credits} credits for {offer.price}: {state}\n")
    out.write("\n")
