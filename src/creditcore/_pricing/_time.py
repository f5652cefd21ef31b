"""Instants: timezone-aware datetimes only."""

from __future__ import annotations

from datetime import datetime

from creditcore._exceptions import NaiveDatetime

__all__ = ["require_aware"]


def require_aware(value: object, field: str) -> datetime:
    """Return ``value`` if it is a timezone-aware ``datetime``.

    Raises:
        NaiveDatetime: ``value`` is a datetime without a time zone (or not a datetime at all).
    """
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise NaiveDatetime(
            f"{field}: must be a timezone-aware datetime, got {value!r}", field=field, value=value
        )
    return value
