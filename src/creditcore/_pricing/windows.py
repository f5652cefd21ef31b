"""Recurring windows in local wall-clock time, and the DST-safe way to turn them into instants.

A window is described in wall-clock terms ("Friday 18:00 to Sunday 23:00") and evaluated in
an IANA time zone. Each end is built from its own local date and time, so a weekend across a
DST change lasts 52 or 54 hours, not 53. Two deliberate rules for local times that are not a
single instant:

- an ambiguous time (a fall-back hour that happens twice) means its first occurrence (``fold=0``);
- a nonexistent time (inside a spring-forward gap) means the first instant after the gap.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from creditcore._exceptions import InvalidInput

__all__ = [
    "WEEKDAYS",
    "MonthlyWindow",
    "WeeklyWindow",
    "Window",
    "localize",
    "parse_clock",
    "parse_weekday_clock",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as written in catalog files, Monday first (``date.weekday()`` order)."""

_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def parse_clock(text: str, field: str) -> time:
    """Read ``"HH:MM"`` (24-hour clock).

    Raises:
        InvalidInput: Text that is not ``HH:MM`` with 00 ≤ HH ≤ 23, 00 ≤ MM ≤ 59.
    """
    match = _CLOCK.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(
            f"{field}: must be a 24-hour time 'HH:MM', got {text!r}", field=field, value=text
        )
    return time(int(match.group(1)), int(match.group(2)))


def parse_weekday_clock(text: str, field: str) -> tuple[int, time]:
    """Read ``"fri 18:00"``: a weekday (mon..sun) and a 24-hour time.

    Raises:
        InvalidInput: An unknown weekday or a malformed time.
    """
    parts = text.strip().lower().split() if isinstance(text, str) else []
    if len(parts) != 2 or parts[0][:3] not in WEEKDAYS:
        raise InvalidInput(
            f"{field}: must be a weekday and a time such as 'fri 18:00', got {text!r}",
            field=field,
            value=text,
        )
    return WEEKDAYS.index(parts[0][:3]), parse_clock(parts[1], field)


def localize(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of the wall-clock time ``local`` (naive) in ``zone``.

    Ambiguous times take their first occurrence; times inside a gap map to the instant the gap
    ends (the first valid wall-clock time after it).
    """
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first
    # Inside a gap: the two folds give instants on either side of the transition; bisect to it.
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(first, second), max(first, second)
    offset_after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return high


def _empty_window(described: str) -> InvalidInput:
    return InvalidInput(
        f"window: opens and closes at the same time ({described}), a zero-length window; "
        "write the time it closes",
        field="window",
        problem="empty_window",
    )


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """Every week from one weekday and time to the next occurrence of another.

    Args:
        start_weekday: 0 = Monday ... 6 = Sunday.
        start: Local opening time.
        end_weekday: Weekday of the closing time.
        end: Local closing time (the window is open strictly before it).

    Raises:
        InvalidInput: A weekday outside 0-6, or a window that closes when it opens (zero length).
    """

    kind: ClassVar[str] = "weekly"
    start_weekday: int
    start: time
    end_weekday: int
    end: time

    def __post_init__(self) -> None:
        for field in ("start_weekday", "end_weekday"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
                raise InvalidInput(
                    f"{field}: must be 0 (Monday) to 6 (Sunday), got {value!r}", field=field
                )
        if (self.start_weekday, self.start) == (self.end_weekday, self.end):
            raise _empty_window(self.describe())

    @property
    def length_days(self) -> int:
        """Days from the opening weekday to the closing one (7 when they coincide and wrap)."""
        days = (self.end_weekday - self.start_weekday) % 7
        if days == 0 and self.end <= self.start:
            days = 7
        return days

    def occurrences(self, around: date) -> Iterator[tuple[datetime, datetime]]:
        """Local (naive) ``(opening, closing)`` pairs, from the one before ``around`` onwards."""
        back = (around.weekday() - self.start_weekday) % 7 + 7
        day = around - timedelta(days=back)
        while True:
            end_day = day + timedelta(days=self.length_days)
            yield datetime.combine(day, self.start), datetime.combine(end_day, self.end)
            day += timedelta(days=7)

    def describe(self) -> str:
        """``"weekly fri 18:00 → sun 23:00"``."""
        return (
            f"weekly {WEEKDAYS[self.start_weekday]} {self.start:%H:%M} → "
            f"{WEEKDAYS[self.end_weekday]} {self.end:%H:%M}"
        )


@dataclass(frozen=True, slots=True)
class MonthlyWindow:
    """Every month from one day and time to another (in the next month when it wraps).

    A day past the end of a short month means that month's last day.

    Args:
        start_day: Day of the month the window opens (1-31).
        start: Local opening time.
        end_day: Day of the month it closes (1-31).
        end: Local closing time (open strictly before it).

    Raises:
        InvalidInput: A day outside 1-31, or a window that closes when it opens (zero length).
    """

    kind: ClassVar[str] = "monthly"
    start_day: int
    start: time
    end_day: int
    end: time

    def __post_init__(self) -> None:
        for field in ("start_day", "end_day"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
                raise InvalidInput(f"{field}: must be 1 to 31, got {value!r}", field=field)
        if (self.start_day, self.start) == (self.end_day, self.end):
            raise _empty_window(self.describe())

    @property
    def wraps(self) -> bool:
        """Whether the window closes in the month after it opens."""
        return (self.end_day, self.end) <= (self.start_day, self.start)

    @staticmethod
    def _day(year: int, month: int, day: int) -> date:
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))

    def occurrences(self, around: date) -> Iterator[tuple[datetime, datetime]]:
        """Local (naive) ``(opening, closing)`` pairs, from two months before ``around`` onwards."""
        index = around.year * 12 + around.month - 1 - 2
        while True:
            year, month = divmod(index, 12)
            end_year, end_month = divmod(index + 1, 12) if self.wraps else (year, month)
            opening = datetime.combine(self._day(year, month + 1, self.start_day), self.start)
            closing = datetime.combine(self._day(end_year, end_month + 1, self.end_day), self.end)
            yield opening, closing
            index += 1

    def describe(self) -> str:
        """``"monthly 15 00:00 → 18 00:00"``."""
        return f"monthly {self.start_day} {self.start:%H:%M} → {self.end_day} {self.end:%H:%M}"


Window = WeeklyWindow | MonthlyWindow
"""A recurring window."""
