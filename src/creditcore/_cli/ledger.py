"""Ledger part of the CLI (placeholder until the ledger lands)."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

__all__ = ["demo_section"]


def demo_section(out: TextIO, workdir: Path) -> None:
    """Print the ledger part of the demo, on a SQLite file inside ``workdir``."""
