"""Exact figures handed out as ``Decimal``: exactly when they terminate, else 28 digits."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

__all__ = ["ratio", "to_decimal"]

_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)


def _scale(denominator: int) -> int | None:
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    return max(twos, fives) if denominator == 1 else None


def to_decimal(value: Fraction) -> Decimal:
    """``value`` as a ``Decimal``: exact when it terminates in base 10, else 28 significant
    digits (half-even)."""
    scale = _scale(value.denominator)
    if scale is not None:
        whole = value.numerator * 10**scale // value.denominator
        sign, digits, _exponent = Decimal(whole).as_tuple()
        return Decimal((sign, digits, -scale))
    return _CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))


def ratio(numerator: Fraction, denominator: Fraction) -> Fraction | None:
    """``numerator / denominator``, or ``None`` when the denominator is zero (undefined)."""
    return None if denominator == 0 else numerator / denominator
