"""Builds the ``creditcore`` argument parser and turns errors into one-line messages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from creditcore import __version__
from creditcore._cli import EXIT_BAD_INPUT, Handler
from creditcore._cli import demo as demo_cli
from creditcore._cli import economics as economics_cli
from creditcore._cli import pricing as pricing_cli
from creditcore._exceptions import CreditcoreError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="creditcore",
        description="Pricing, credit ledger and gig-map tools of the creditcore library.",
    )
    parser.add_argument("--version", action="version", version=f"creditcore {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo_cli.register(commands)
    pricing_cli.register(commands)
    economics_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; return its exit code (0 ok, 1 violations found, 2 bad input).

    Args:
        argv: The arguments (without the program name); ``sys.argv[1:]`` when omitted.
        out: Where the command prints; standard output when omitted.
    """
    stream = out if out is not None else sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse already printed its usage message
        return int(stop.code) if isinstance(stop.code, int) else EXIT_BAD_INPUT
    handler: Handler = args.handler
    try:
        return handler(args, stream)
    except CreditcoreError as error:
        print(f"creditcore: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"creditcore: error: {error.strerror or error}: {error.filename}", file=sys.stderr)
        return EXIT_BAD_INPUT
