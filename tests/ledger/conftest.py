"""Fixtures for the ledger tests: a manual clock and a ledger on an in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from creditcore.ledger import InMemoryStore, Ledger, ManualClock

T0 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    """Tuesday 2026-11-10 12:00 UTC, moved only by the test."""
    return ManualClock(T0)


@pytest.fixture
def ledger(clock: ManualClock) -> Ledger:
    """A ledger with the default policies on a fresh in-memory store."""
    return Ledger(InMemoryStore(), clock)
