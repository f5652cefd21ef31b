"""``creditcore demo``: the main job, a walk through pricing, the ledger and the map."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TextIO

from creditcore._cli import EXIT_OK
from creditcore._cli import economics as economics_cli
from creditcore._cli import geo as geo_cli
from creditcore._cli import ledger as ledger_cli
from creditcore._cli import pricing as pricing_cli

__all__ = ["register", "run_demo"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    parser = commands.add_parser(
        "demo",
        help="walk through pricing, the ledger (on SQLite), the gig map and a month's economics",
        description="Runs the example catalog's pricing report, a ledger walk-through on a "
        "SQLite file, the gig map (queries and clusters), and the economics of a simulated "
        "month (cash, recognised revenue, cost, deferred revenue, a what-if replay).",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="folder for the demo's SQLite file (default: a fresh temporary folder)",
    )
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Print the four sections of the demo."""
    workdir: Path | None = args.workdir
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        return _run_sections(workdir, out)
    with tempfile.TemporaryDirectory(prefix="creditcore-demo-") as tmp:
        return _run_sections(Path(tmp), out)


def _run_sections(workdir: Path, out: TextIO) -> int:
    pricing_cli.demo_section(out)
    ledger_cli.demo_section(out, workdir)
    geo_cli.demo_section(out)
    economics_cli.demo_section(out)
    return EXIT_OK
