"""Money: a ``Decimal`` amount in a named currency; floats are refused, precision is kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

from creditcore._exceptions import InvalidAmount, InvalidMoney
from creditcore._limits import MAX_CREDITS
from creditcore._pricing.exact import quantize, terminates, to_decimal

__all__ = ["Money", "exact_number", "parse_amount", "parse_decimal", "require_credits"]

_CURRENCY = re.compile(r"[A-Z]{3}")
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Sums, differences and products of money are exact, whatever the ambient context says."""
_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_decimal(value: object, field: str) -> Decimal:
    """Read a decimal amount from a ``Decimal``, an ``int``, a numeric string or a ``Fraction``
    with an exact decimal form (``Fraction(1, 4)``, not ``Fraction(1, 3)``); refuse floats.

    Args:
        value: The amount as given.
        field: The field name, for the error message.

    Raises:
        InvalidAmount: A float, a bool, a non-finite decimal, text that is not a number, or a
            fraction with no finite decimal form.
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
    elif isinstance(value, Fraction):
        if not terminates(value):
            raise InvalidAmount(
                f"{field}: {value} has no exact decimal form; give a Decimal or a string",
                field=field,
                value=value,
            )
        result = to_decimal(value)
    else:
        raise InvalidAmount(
            f"{field}: must be a decimal number, got {value!r}", field=field, value=value
        )
    if not result.is_finite():
        raise InvalidAmount(f"{field}: must be finite, got {value!r}", field=field, value=value)
    return result


def parse_amount(value: object, field: str, currency: str | None = None) -> Decimal:
    """Read an amount of money: a :class:`Money` (in ``currency``, when given) or anything
    :func:`parse_decimal` reads.

    Raises:
        InvalidAmount: As :func:`parse_decimal`.
        InvalidMoney: A ``Money`` in another currency than ``currency``.
    """
    if isinstance(value, Money):
        if currency is not None and value.currency != currency:
            raise InvalidMoney(
                f"{field}: must be in {currency}, got {value}",
                field=field,
                value=value,
                expected=currency,
            )
        return value.amount
    return parse_decimal(value, field)


def exact_number(value: object, field: str) -> Fraction:
    """Read a number exactly for ratio arithmetic: a ``Fraction`` (any), a :class:`Money`'s
    amount, or anything :func:`parse_decimal` reads.

    Raises:
        InvalidAmount: A float, a bool, or anything that is not a finite number.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, Money):
        return Fraction(value.amount)
    return Fraction(parse_decimal(value, field))


def require_credits(value: object, field: str, *, minimum: int = 0) -> int:
    """Check that ``value`` is a whole number of credits (an ``int``, not a bool) from
    ``minimum`` to :data:`~creditcore.ledger.MAX_CREDITS` (2⁵³ − 1, the ledger's bound).

    Raises:
        InvalidAmount: Not an ``int``, a ``bool``, below ``minimum`` or above ``MAX_CREDITS``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(
            f"{field}: credits must be an int, got {type(value).__name__} {value!r}",
            field=field,
            value=value,
        )
    if value < minimum:
        raise InvalidAmount(f"{field}: must be ≥ {minimum}, got {value}", field=field, value=value)
    if value > MAX_CREDITS:
        raise InvalidAmount(
            f"{field}: must be ≤ {MAX_CREDITS} (MAX_CREDITS, 2**53 - 1), got {value}",
            field=field,
            value=value,
        )
    return value


@dataclass(frozen=True, slots=True, init=False)
class Money:
    """An amount of money in one currency, with the full precision it was given.

    Provider costs carry fractional cents (``Money(Decimal("0.038"))``); nothing is rounded
    unless :meth:`rounded` is called. Arithmetic across currencies is refused.

    Args:
        amount: A ``Decimal``, an ``int``, a numeric string or a ``Fraction`` with an exact
            decimal form; a ``float`` is refused.
        currency: A three-letter upper-case code (ISO 4217 style).

    Raises:
        InvalidAmount: The amount is a float, a bool, or not a finite number.
        InvalidMoney: The currency is not three upper-case letters.
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | str | int | Fraction, currency: str = "USD") -> None:
        object.__setattr__(self, "amount", parse_decimal(amount, "amount"))
        if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
            raise InvalidMoney(
                f"currency: must be three upper-case letters such as 'USD', got {currency!r}",
                field="currency",
                value=currency,
            )
        object.__setattr__(self, "currency", currency)

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
