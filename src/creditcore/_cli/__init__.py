"""Command-line entry points: argument parsing and printing only, no domain rules.

Each domain has a module here that registers its subcommands and contributes a section to
``creditcore demo``. Exit codes are the same for every command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

__all__ = ["EXIT_BAD_INPUT", "EXIT_OK", "EXIT_VIOLATIONS", "Handler"]

EXIT_OK = 0
"""The command did what was asked and found nothing wrong."""
EXIT_VIOLATIONS = 1
"""A check ran and found violations."""
EXIT_BAD_INPUT = 2
"""Bad arguments, or a file that could not be read or parsed."""

Handler = Callable[[argparse.Namespace, TextIO], int]
"""A subcommand: takes the parsed arguments and the output stream, returns the exit code."""
