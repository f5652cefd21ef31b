"""Exact ratios: computed as fractions, handed out as ``Decimal`` with an explicit rule.

A ratio such as a markup of 0.002/0.038 = 1/19 has no finite decimal expansion, so the
library computes with :class:`fractions.Fraction` and converts at the edge: exactly when the
fraction terminates in base 10, otherwise to :data:`SIGNIFICANT_DIGITS` significant digits,
half-even. Comparisons against a policy are always made on the exact fractions.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

__all__ = ["SIGNIFICANT_DIGITS", "ceil_div", "display", "quantize", "terminates", "to_decimal"]

SIGNIFICANT_DIGITS = 28
"""Significant digits kept when a ratio does not terminate in base 10."""

_CONTEXT = Context(prec=SIGNIFICANT_DIGITS, rounding=ROUND_HALF_EVEN)


def _power_of_ten_scale(denominator: int) -> int | None:
    """The smallest k with ``denominator`` dividing 10**k, or None when there is none."""
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    return max(twos, fives) if denominator == 1 else None


def terminates(value: Fraction) -> bool:
    """Whether ``value`` has a finite decimal expansion (its denominator divides a power of 10)."""
    return _power_of_ten_scale(value.denominator) is not None


def to_decimal(value: Fraction) -> Decimal:
    """``value`` as a ``Decimal``: exact when it terminates, else 28 significant digits."""
    scale = _power_of_ten_scale(value.denominator)
    if scale is not None:
        whole = value.numerator * 10**scale // value.denominator  # exact: the division is whole
        sign, digits, _exponent = Decimal(whole).as_tuple()
        return Decimal((sign, digits, -scale))  # built from its digits: no context rounding
    return _CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))


def quantize(value: Decimal, places: int, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """``value`` rounded to ``places`` decimals with ``rounding``, whatever its magnitude.

    The precision is set here, never taken from the ambient decimal context.
    """
    digits = max(value.adjusted(), 0) + places + 2
    context = Context(prec=max(digits, SIGNIFICANT_DIGITS), rounding=rounding)
    return value.quantize(Decimal(1).scaleb(-places), context=context)


def display(value: Decimal | None, places: int = 4) -> str:
    """A ratio for people: ``places`` decimals, half-even; ``"-"`` when undefined."""
    return "-" if value is None else str(quantize(value, places))


def ceil_div(numerator: Fraction, denominator: Fraction) -> int:
    """The smallest integer ≥ ``numerator / denominator`` (exact; ``denominator`` > 0)."""
    quotient = numerator / denominator
    return -((-quotient.numerator) // quotient.denominator)
