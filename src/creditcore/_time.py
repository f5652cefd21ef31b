"""Instants: every module that takes a point in time takes it timezone-aware, through here."""

from __future__ import annotations

from datetime import datetime

from creditcore._exceptions import NaiveDatetime

__all__ = ["require_aware"]


def require_aware(value: object, field: str) -> datetime:
    """Return ``value`` if it is a timezone-aware ``datetime``.

    Args:
        value: What the caller passed.
        field: The argument's name, for the error.

    Raises:
        NaiveDatetime: ``value`` is not a datetime, or one without a time zone.
    """
    if not isinstance(value, datetime):
        raise NaiveDatetime(
            f"{field} must be a timezone-aware datetime, got {type(value).__name__} {value!r}",
            field=field,
            value=value,
        )
    if value.utcoffset() is None:
        raise NaiveDatetime(
            f"{field} must be timezone-aware, got naive {value.isoformat()}",
            field=field,
            value=value,
        )
    return value
