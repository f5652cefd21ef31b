"""Lootbox offers: credits for a price, on sale only inside a recurring window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from creditcore._exceptions import CreditcoreError, InvalidInput
from creditcore._pricing.money import Money
from creditcore._pricing.packs import PricedCredits, check_sellable
from creditcore._pricing.windows import MonthlyWindow, WeeklyWindow, localize
from creditcore._time import require_aware

__all__ = ["LootboxOffer", "load_zone"]

_SEARCH_LIMIT = 64
"""Periods scanned for a next opening (a window opens at least every month)."""


def load_zone(key: str, field: str = "timezone") -> ZoneInfo:
    """The IANA zone named ``key``.

    Raises:
        InvalidInput: ``key`` is not an IANA time zone name.
    """
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise InvalidInput(
            f"{field}: not an IANA time zone such as 'America/New_York', got {key!r}",
            field=field,
            value=key,
        ) from error


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` in ``zone``'s wall-clock time, with a *fixed* UTC offset.

    Python subtracts two datetimes that share one ``ZoneInfo`` by wall clock (closing − opening
    of a DST weekend would say 53 h); fixed offsets make the arithmetic exact (52 h) and still
    print the local time (``2026-03-06T18:00:00-05:00``).
    """
    local = instant.astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None
    return local.replace(tzinfo=timezone(offset))


@dataclass(frozen=True, slots=True)
class LootboxOffer(PricedCredits):
    """A time-limited offer: ``credits`` for ``price`` while its window is open.

    Windows are half-open, ``[opening, closing)``, evaluated in ``timezone``.

    Args:
        id: Stable identifier, also the sales channel's id (``"weekend-flash-sale"``).
        name: For people.
        credits: Credits granted (an int ≥ 1).
        price: What the buyer pays.
        timezone: IANA zone name the window is written in (``"America/New_York"``).
        window: When it is on sale (:class:`WeeklyWindow` or :class:`MonthlyWindow`).
        price_ids: The payment provider's price identifiers that sell this offer.
    """

    id: str
    name: str
    credits: int
    price: Money
    timezone: str
    window: WeeklyWindow | MonthlyWindow
    price_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "price_ids", tuple(self.price_ids))
        check_sellable(self.id, self.name, self.credits, self.price, self.price_ids)
        load_zone(self.timezone)
        if not isinstance(self.window, WeeklyWindow | MonthlyWindow):
            raise InvalidInput(f"window: not a window, got {self.window!r}", field="window")

    @property
    def zone(self) -> ZoneInfo:
        """The offer's time zone."""
        return ZoneInfo(self.timezone)

    def _windows(self, around: datetime) -> list[tuple[datetime, datetime]]:
        zone = self.zone
        local_day = around.astimezone(zone).date()
        found: list[tuple[datetime, datetime]] = []
        for opening, closing in self.window.occurrences(local_day):
            start, end = localize(opening, zone), localize(closing, zone)
            if start < end:
                found.append((start, end))
            if start > around or len(found) >= _SEARCH_LIMIT:
                break
        return found

    def window_at(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The ``(opening, closing)`` of the window open at ``at``, if any (local, fixed offsets).

        Raises:
            NaiveDatetime: ``at`` has no time zone.
        """
        aware = require_aware(at, "at")
        try:
            instant = aware.astimezone(UTC)
            for start, end in self._windows(instant):
                if start <= instant < end:
                    return _local(start, self.zone), _local(end, self.zone)
        except CreditcoreError:
            raise
        except (OverflowError, ValueError):  # a date past year 9999 or before year 1
            raise _beyond_calendar("at", aware) from None
        return None

    def is_open(self, at: datetime) -> bool:
        """Whether the offer is on sale at ``at`` (opening ≤ at < closing).

        Raises:
            NaiveDatetime: ``at`` has no time zone.
        """
        return self.window_at(at) is not None

    def next_window(self, after: datetime) -> tuple[datetime, datetime]:
        """The first window that opens strictly after ``after`` (local times, fixed offsets).

        Raises:
            NaiveDatetime: ``after`` has no time zone.
        """
        aware = require_aware(after, "after")
        zone = self.zone
        try:
            instant = aware.astimezone(UTC)
            local_day = instant.astimezone(zone).date()
            for count, (opening, closing) in enumerate(self.window.occurrences(local_day)):
                start, end = localize(opening, zone), localize(closing, zone)
                if start > instant and start < end:
                    return _local(start, zone), _local(end, zone)
                if count > _SEARCH_LIMIT:  # pragma: no cover - a window opens every week or month
                    break
        except CreditcoreError:
            raise
        except (OverflowError, ValueError):  # a date past year 9999 or before year 1
            raise _beyond_calendar("after", aware) from None
        raise InvalidInput(f"window: {self.window.describe()} never opens", field="window")

    def next_opening(self, after: datetime) -> datetime:
        """When the offer next opens, strictly after ``after`` (aware, local time).

        Raises:
            NaiveDatetime: ``after`` has no time zone.
        """
        return self.next_window(after)[0]


def _beyond_calendar(field: str, value: datetime) -> InvalidInput:
    """The error for an instant whose offer windows would fall outside years 1 to 9999."""
    return InvalidInput(
        f"{field}: {value.isoformat()} is too near the ends of the calendar (years 1 and 9999) "
        "to place offer windows",
        field=field,
        value=value,
    )
