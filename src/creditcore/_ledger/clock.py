"""The clock port: where the ledger's notion of "now" comes from.

A clock is any zero-argument callable returning a timezone-aware datetime. Tests inject a
:class:`ManualClock`; production uses :func:`utc_now`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from creditcore._exceptions import InvalidInput
from creditcore._time import require_aware

__all__ = ["Clock", "ManualClock", "utc_now"]

Clock = Callable[[], datetime]
"""A source of aware datetimes."""


def utc_now() -> datetime:
    """The system time in UTC (the default clock)."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (thread-safe), for tests and demos.

    Args:
        start: The initial instant (aware).
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "start")
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (aware; may go backwards)."""
        value = require_aware(instant, "instant")
        with self._lock:
            self._now = value

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new instant.

        Raises:
            InvalidInput: ``delta`` is not a ``timedelta``.
        """
        if not isinstance(delta, timedelta):
            raise InvalidInput(
                f"delta must be a timedelta, got {delta!r}", field="delta", value=delta
            )
        with self._lock:
            self._now = self._now + delta
            return self._now
