"""Argument checks and limits of the ledger's calls, in one place, and the canonical fingerprint.

Every public call of :class:`~creditcore.ledger.Ledger` checks its arguments here before it takes
a lock; a value refused here never reaches a store, so every store refuses it alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from creditcore._exceptions import InvalidAmount, InvalidInput
from creditcore._ledger.pricing_port import MoneyLike
from creditcore._ledger.values import MetadataValue
from creditcore._limits import MAX_CREDITS, MAX_ID_LENGTH

__all__ = [
    "SEQ_CAP",
    "allowance",
    "credits",
    "fingerprint",
    "key",
    "metadata",
    "money",
    "text",
    "ttl",
]

SEQ_CAP = 2**62
"""Larger than any journal; small enough for a SQL 64-bit integer (history's bounds clamp here)."""


def credits(value: object, field: str = "credits") -> int:
    """A positive ``int`` credit amount up to :data:`~creditcore.ledger.MAX_CREDITS`."""
    if type(value) is not int or not 0 < value <= MAX_CREDITS:
        raise InvalidAmount(
            f"{field} must be a positive int ≤ {MAX_CREDITS}, got {value!r}",
            field=field,
            value=value,
        )
    return value


def allowance(value: object) -> int:
    """A monthly allowance: an ``int`` from 0 to ``MAX_CREDITS``."""
    if type(value) is not int or not 0 <= value <= MAX_CREDITS:
        raise InvalidAmount(
            f"monthly_allowance must be an int from 0 to {MAX_CREDITS}, got {value!r}",
            field="monthly_allowance",
            value=value,
        )
    return value


def encodable(value: str, field: str) -> str:
    """``value`` when every store can keep it: no lone surrogate (text that is not Unicode)."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInput(
            f"{field} is not valid Unicode text (a lone surrogate at index {error.start}), "
            f"got {value!r}",
            field=field,
            value=value,
        ) from None
    return value


def text(value: object, field: str) -> str:
    """An id or key: a non-empty ``str`` of at most ``MAX_ID_LENGTH`` encodable characters."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(
            f"{field} must be a non-empty str, got {value!r}", field=field, value=value
        )
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInput(
            f"{field} is {len(value)} characters long; ids and keys hold at most {MAX_ID_LENGTH}",
            field=field,
            value=value[:40] + "...",
            limit=MAX_ID_LENGTH,
        )
    return encodable(value, field)


def key(value: object) -> str | None:
    """An optional idempotency key."""
    return None if value is None else text(value, "key")


def metadata(value: Mapping[str, MetadataValue] | None) -> dict[str, MetadataValue]:
    """Caller metadata: str keys to JSON scalars (str, int, bool, None), all text encodable."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(
            f"metadata must be a mapping, got {value!r}", field="metadata", value=value
        )
    out: dict[str, MetadataValue] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not (v is None or isinstance(v, str | int | bool)):
            raise InvalidInput(
                f"metadata[{k!r}] must map a str to a str, int, bool or None, got {v!r}",
                field=f"metadata[{k!r}]",
                value=v,
            )
        encodable(k, "metadata key")
        if isinstance(v, str):
            encodable(v, f"metadata[{k!r}]")
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_CREDITS:
            raise InvalidInput(
                f"metadata[{k!r}] must be an int within ±{MAX_CREDITS}, got {v!r}",
                field=f"metadata[{k!r}]",
                value=v,
            )
        out[k] = v
    return out


def money(amount: MoneyLike | None) -> tuple[Decimal | None, str | None]:
    """``(amount, currency)`` of a Money-like value (``(None, None)`` for ``None``)."""
    if amount is None:
        return None, None
    value = getattr(amount, "amount", None)
    currency = getattr(amount, "currency", None)
    if not isinstance(value, Decimal) or not isinstance(currency, str):
        raise InvalidAmount(
            f"amount must be Money (a Decimal amount and a currency), got {amount!r}",
            field="amount",
            value=amount,
        )
    if not value.is_finite() or value < 0:
        raise InvalidAmount(
            f"amount must be finite and ≥ 0, got {value}", field="amount", value=amount
        )
    return value, text(currency, "currency")


def ttl(value: object) -> timedelta:
    """A positive ``timedelta``."""
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidInput(
            f"ttl must be a positive timedelta, got {value!r}", field="ttl", value=value
        )
    return value


def _canonical(value: object) -> object:
    """A JSON-able form in which equal requests are equal: decimals normalised (``299.990`` is
    ``299.99``), instants in UTC, durations in microseconds, sequences as lists."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return {"decimal": str(value)}
        text = format(value.normalize(), "f")
        return {"decimal": "0" if text in ("-0", "0") else text}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return {"naive": value.isoformat()}
        return {"instant": value.astimezone(UTC).isoformat()}
    if isinstance(value, timedelta):
        return {"micros": value // timedelta(microseconds=1)}
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {"map": sorted(([str(k), _canonical(v)] for k, v in value.items()), key=_first)}
    if value is None or isinstance(value, str | int | bool):
        return value
    return {"repr": repr(value)}


def _first(pair: list[object]) -> str:
    return str(pair[0])


def fingerprint(request: tuple[object, ...]) -> str:
    """The request's fingerprint: a hash of its canonical form (equal requests, equal prints)."""
    canon = json.dumps(_canonical(request), ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("ascii")).hexdigest()[:32]
