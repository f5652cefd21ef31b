"""Gig-map part of the CLI (placeholder until the geo module lands)."""

from __future__ import annotations

from typing import TextIO

__all__ = ["demo_section"]


def demo_section(out: TextIO) -> None:
    """Print the map part of the demo."""
