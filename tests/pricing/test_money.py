"""Money: Decimal with a currency, floats refused, full precision kept, explicit rounding."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from operator import add, ge, gt, le, lt, sub
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcore import InvalidAmount, InvalidMoney
from creditcore.pricing import Money
from tests.strategies.pricing import amounts


def test_keeps_fractional_cents_exactly() -> None:
    cost = Money(Decimal("0.038"))
    assert cost.amount == Decimal("0.038")
    assert cost.currency == "USD"
    assert str(cost * 1000) == "38.000 USD"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_refuses_any_float(value: float) -> None:
    with pytest.raises(InvalidAmount):
        Money(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, "abc", "1e", Decimal("NaN"), Decimal("Infinity"), None])
def test_refuses_non_numbers(value: object) -> None:
    with pytest.raises(InvalidAmount):
        Money(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["usd", "US", "USDT", "", 840])
def test_refuses_bad_currency_codes(currency: object) -> None:
    with pytest.raises(InvalidMoney) as error:
        Money(Decimal(1), currency)  # type: ignore[arg-type]
    assert error.value.context["field"] == "currency"


def test_refuses_arithmetic_across_currencies() -> None:
    with pytest.raises(InvalidMoney):
        _ = Money(Decimal(1), "USD") + Money(Decimal(1), "EUR")
    with pytest.raises(InvalidMoney):
        _ = Money(Decimal(1), "USD") < Money(Decimal(2), "EUR")


def test_accepts_int_and_numeric_text() -> None:
    assert Money(3).amount == Decimal(3)
    assert Money("299.99").amount == Decimal("299.99")


def test_rounding_is_explicit_and_half_even_by_default() -> None:
    assert Money(Decimal("0.125")).rounded().amount == Decimal("0.12")
    assert Money(Decimal("0.135")).rounded().amount == Decimal("0.14")
    assert Money(Decimal("0.125")).rounded(rounding=ROUND_HALF_UP).amount == Decimal("0.13")


@given(amounts(max_value="1000"), amounts(max_value="1000"))
def test_sums_and_differences_are_exact(a: Decimal, b: Decimal) -> None:
    total = Money(a) + Money(b)
    assert total.amount == a + b
    assert (total - Money(b)).amount == a
    assert isinstance(total.amount, Decimal)


def test_arithmetic_is_exact_even_under_a_tiny_ambient_precision() -> None:
    import decimal

    with decimal.localcontext(decimal.Context(prec=2)):
        total = Money(Decimal("1234.567")) + Money(Decimal("0.001"))
        assert total.amount == Decimal("1234.568")
        assert (Money(Decimal("0.038")) * 1000).amount == Decimal("38.000")


@pytest.mark.parametrize("other", [1, Decimal("1"), 1.5, "1 USD", None])
@pytest.mark.parametrize("operator", [add, sub, lt, le, gt, ge])
def test_refuses_arithmetic_and_comparison_with_a_non_money(
    other: object, operator: Callable[[Any, Any], object]
) -> None:
    price = Money(Decimal("1.00"))
    with pytest.raises(InvalidMoney) as caught:
        operator(price, other)
    assert caught.value.context["field"] == "other"
    assert repr(other) in caught.value.message
    assert price == Money(Decimal("1.00"))
