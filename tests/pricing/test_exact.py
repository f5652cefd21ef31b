"""Exact ratios to Decimal: exact when the fraction terminates, 28 significant digits otherwise."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from creditcore._pricing.exact import ceil_div, display, to_decimal
from tests.strategies.pricing import amounts


@given(amounts(min_value="-1000", max_value="1000", places=8))
def test_terminating_fractions_convert_exactly(value: Decimal) -> None:
    assert to_decimal(Fraction(value)) == value


@given(st.integers(1, 10**6), st.integers(1, 10**6))
def test_any_fraction_is_within_half_an_ulp_of_28_digits(numerator: int, denominator: int) -> None:
    exact = Fraction(numerator, denominator)
    approx = to_decimal(exact)
    if Fraction(approx) == exact:
        return  # it terminates: exact, whatever its length
    digits = approx.as_tuple().digits
    assert len(digits) == 28
    # One unit in the last of 28 significant digits, from the exponent of the leading digit.
    ulp = Fraction(10) ** (approx.adjusted() - 27)
    assert abs(Fraction(approx) - exact) <= ulp / 2


@given(
    st.fractions(min_value=0, max_value=1000),
    st.fractions(min_value=Fraction(1, 1000), max_value=1000),
)
def test_ceil_div_is_the_smallest_integer_not_below_the_quotient(a: Fraction, b: Fraction) -> None:
    result = ceil_div(a, b)
    assert result >= a / b > result - 1


def test_display_rounds_half_even_to_four_places() -> None:
    assert display(Decimal("0.48148")) == "0.4815"
    assert display(Decimal("0.05")) == "0.0500"
    assert display(Decimal("0.00005")) == "0.0000"
    assert display(None) == "-"


def test_rounding_does_not_depend_on_the_ambient_context() -> None:
    import decimal

    with decimal.localcontext(decimal.Context(prec=3)):
        assert display(Decimal("123456.78901")) == "123456.7890"
        assert to_decimal(Fraction(1, 3)) == Decimal("0.3333333333333333333333333333")
