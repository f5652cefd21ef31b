"""Money: a ``Decimal`` amount in a named currency; floats are refused, precision is kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

from creditcore._exceptions import InvalidAmount, InvalidMoney
from creditcore._pricing._exact import quantize

__all__ = ["Money", "parse_decimal", "require_credits"]

_CURRENCY = re.compile(r"[A-Z]{3}")
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Sums, differences and products of money are exact, whatever the ambient context says."""
_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_decimal(value: object, field: str) -> Decimal:
    """Read a decimal amount from a ``Decimal``, an ``int`` or a numeric string; refuse floats.

    Args:
        value: The amount as given.
        field: The field name, for the error message.

    Raises:
        InvalidAmount: A float, a bool, a non-finite decimal, or text that is not a number.
    """
    if isinstance(value, bool | float):
        raise InvalidAmount(
            f"{field}: money must be a Decimal or a string such as '0.038', "
            f"got {type(value).__name__} {value!r}",
            field=field,
            value=value,
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
        result = Decimal(value.strip())
    else:
        raise InvalidAmount(
            f"{field}: must be a decimal number, got {value!r}", field=field, value=value
        )
    if not result.is_finite():
        raise InvalidAmount(f"{field}: must be finite, got {value!r}", field=field, value=value)
    return result


def require_credits(value: object, field: str, *, minimum: int = 0) -> int:
    """Check that ``value`` is a whole number of credits (an ``int``, not a bool) ≥ ``minimum``.

    Raises:
        InvalidAmount: Not an ``int``, a ``bool``, or below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(
            f"{field}: credits must be an int, got {type(value).__name__} {value!r}",
            field=field,
            value=value,
        )
    if value < minimum:
        raise InvalidAmount(f"{field}: must be ≥ {minimum}, got {value}", field=field, value=value)
    return value


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money in one currency, with the full precision it was given.

    Provider costs carry fractional cents (``Money(Decimal("0.038"))``); nothing is rounded
    unless :meth:`rounded` is called. Arithmetic across currencies is refused.

    Args:
        amount: A ``Decimal`` (or an ``int``, or a numeric string); a ``float`` is refused.
        currency: A three-letter upper-case code (ISO 4217 style).

    Raises:
        InvalidAmount: The amount is a float, a bool, or not a finite number.
        InvalidMoney: The currency is not three upper-case letters.
    """

    amount: Decimal
    currency: str = "USD"

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", parse_decimal(self.amount, "amount"))
        if not isinstance(self.currency, str) or not _CURRENCY.fullmatch(self.currency):
            raise InvalidMoney(
                f"currency: must be three upper-case letters such as 'USD', got {self.currency!r}",
                field="currency",
                value=self.currency,
            )

    @classmethod
    def zero(cls, currency: str = "USD") -> Money:
        """No money in ``currency``."""
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise InvalidMoney(
                f"other: cannot combine Money with {type(other).__name__} {other!r}",
                field="other",
                value=other,
            )
        if self.currency != other.currency:
            raise InvalidMoney(
                f"currency: cannot combine {self.currency} with {other.currency}",
                field="currency",
                value=other.currency,
                expected=self.currency,
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(_EXACT.add(self.amount, other.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(_EXACT.subtract(self.amount, other.amount), self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(_EXACT.multiply(self.amount, parse_decimal(factor, "factor")), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(self.amount.copy_negate(), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def exact(self) -> Fraction:
        """The amount as an exact fraction (for ratio arithmetic that must not round)."""
        return Fraction(self.amount)

    def rounded(self, places: int = 2, rounding: str = ROUND_HALF_EVEN) -> Money:
        """This amount rounded to ``places`` decimals with an explicit rounding mode."""
        amount = quantize(self.amount, places, rounding)
        return Money(amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)
