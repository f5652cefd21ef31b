"""Subscription periods: calendar months in UTC, written ``"YYYY-MM"``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from creditcore._exceptions import InvalidInput
from creditcore._time import require_aware

__all__ = ["normalize_period", "period_end", "period_of"]

_PERIOD = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])", re.ASCII)
"""ASCII digits only, matched in full (``fullmatch``: no trailing newline, no other digits)."""


def period_of(instant: datetime) -> str:
    """The UTC calendar month containing ``instant``."""
    utc = instant.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"


def normalize_period(value: str | date | datetime) -> str:
    """Turn ``"2026-11"``, a date or an aware datetime into ``"YYYY-MM"``.

    Raises:
        InvalidInput: A string other than ASCII ``YYYY-MM`` (no trailing newline, no
            full-width or other non-ASCII digits), a naive datetime or another type.
    """
    if isinstance(value, datetime):
        return _bounded(period_of(require_aware(value, "period")), value)
    if isinstance(value, date):
        return _bounded(f"{value.year:04d}-{value.month:02d}", value)
    if type(value) is str and _PERIOD.fullmatch(value):
        return _bounded(value, value)
    raise InvalidInput(
        f"period must look like '2026-11', got {value!r}", field="period", value=value
    )


def _bounded(period: str, value: object) -> str:
    """``period`` if it and its end are on the calendar (years 1 to 9999), else InvalidInput."""
    if period[:4] == "0000" or period == "9999-12":
        raise InvalidInput(
            f"period must lie between 0001-01 and 9999-11 (its end must be a date), got {value!r}",
            field="period",
            value=value,
        )
    return period


def period_end(period: str) -> datetime:
    """The first instant after ``period`` (midnight UTC on the 1st of the next month)."""
    year, month = int(period[:4]), int(period[5:7])
    if month == 12:
        return datetime(year + 1, 1, 1, tzinfo=UTC)
    return datetime(year, month + 1, 1, tzinfo=UTC)
