"""Credit values per channel and the two ratios, checked against the seed figures by hand."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given

from creditcore import InvalidInput, UnknownChannel
from creditcore.pricing import (
    Catalog,
    Money,
    Operation,
    example_catalog,
    gross_margin_of,
    markup_of,
    price_point,
)
from tests.strategies.pricing import amounts, credit_values


def test_seedream_at_two_cents_a_credit() -> None:
    # Hand computation: revenue 2 × 0.02 = 0.04; cost 0.027.
    # markup = 0.013 / 0.027 = 13/27 = 0.48148..., gross margin = 0.013 / 0.04 = 0.325.
    point = example_catalog().price("seedream-v4", "subscription")
    assert point.revenue == Money(Decimal("0.04"))
    assert point.exact_markup == Fraction(13, 27)
    assert point.markup is not None
    assert point.markup.quantize(Decimal("0.0001")) == Decimal("0.4815")
    assert point.gross_margin == Decimal("0.325")


def test_nanobanana_gross_margin_is_exactly_five_percent() -> None:
    # 0.002 / 0.04 = 1/20; markup 0.002 / 0.038 = 1/19 (the seeds' "5% margin").
    point = example_catalog().price("nanobanana")
    assert point.gross_margin == Decimal("0.05")
    assert point.exact_markup == Fraction(1, 19)


@pytest.mark.parametrize(
    ("operation", "markup", "gross_margin"),
    [("seedance-pro-720p", "0.6", "0.375"), ("wan-2.5", "0.6", "0.375")],
)
def test_video_seed_figures(operation: str, markup: str, gross_margin: str) -> None:
    # Seedance: 12 × 0.02 = 0.24 vs 0.15 → 0.09/0.15 = 0.6 and 0.09/0.24 = 0.375.
    # WAN: 20 × 0.02 = 0.40 vs 0.25 → 0.15/0.25 = 0.6 and 0.15/0.40 = 0.375.
    point = example_catalog().price(operation, "subscription")
    assert point.markup == Decimal(markup)
    assert point.gross_margin == Decimal(gross_margin)


def test_credit_value_of_each_channel() -> None:
    catalog = example_catalog()
    values = {channel.id: channel.credit_value for channel in catalog.channels}
    assert values == {
        "subscription": Decimal("0.02"),
        "studio-pack": Decimal("0.59998"),  # 299.99 / 500, exact
        "weekend-flash-sale": Decimal("0.04995"),  # 9.99 / 200
        "mid-month-mega-deal": Decimal("0.03998"),  # 19.99 / 500
        "free": Decimal(0),
    }
    assert catalog.pack("studio-pack").credit_value == Decimal("0.59998")


def test_default_basis_is_the_lowest_paid_value_and_free_is_never_a_basis() -> None:
    catalog = example_catalog()
    assert catalog.basis_channel().id == "subscription"
    assert catalog.basis_channel("studio-pack").credit_value == Decimal("0.59998")
    with pytest.raises(InvalidInput):
        catalog.basis_channel("free")
    with pytest.raises(UnknownChannel):
        catalog.basis_channel("nope")


def test_basis_falls_back_to_the_cheapest_pack_without_a_subscription() -> None:
    catalog = example_catalog().replace(subscription_credit_value=None)
    assert catalog.basis_channel().id == "mid-month-mega-deal"  # 0.03998 < 0.04995 < 0.59998


def test_non_terminating_ratios_are_rounded_to_28_significant_digits() -> None:
    point = example_catalog().price("nanobanana")
    assert point.markup == Decimal("0.05263157894736842105263157895")  # 1/19


def test_zero_cost_has_no_markup_and_free_revenue_has_no_gross_margin() -> None:
    free_op = Operation("x", "p", "m", None, "image", Money(Decimal(0)), 1)
    catalog = Catalog(operations=[free_op], subscription_credit_value=Decimal("0.02"))
    point = price_point(free_op, catalog.channel("subscription"))
    assert point.markup is None
    assert point.gross_margin == Decimal(1)
    assert price_point(free_op, catalog.channel("free")).gross_margin is None


@given(
    amounts(min_value="0.0001", max_value="5"),
    credit_values(),
    amounts(min_value="1", max_value="500", places=0),
)
def test_gross_margin_equals_markup_over_one_plus_markup(
    cost: Decimal, value: Decimal, credits: Decimal
) -> None:
    revenue = Fraction(value) * int(credits)
    markup = markup_of(revenue, Fraction(cost))
    margin = gross_margin_of(revenue, Fraction(cost))
    assert markup is not None
    assert margin is not None
    assert margin == markup / (1 + markup)
    # and both agree with their definitions, computed here from scratch
    assert margin == (revenue - Fraction(cost)) / revenue
    assert markup == revenue / Fraction(cost) - 1
