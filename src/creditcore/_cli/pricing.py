"""``creditcore pricing ...`` (placeholder until the pricing commands land)."""

from __future__ import annotations

import argparse
from typing import TextIO

__all__ = ["demo_section", "register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``pricing`` subcommands."""


def demo_section(out: TextIO) -> None:
    """Print the pricing part of the demo."""
