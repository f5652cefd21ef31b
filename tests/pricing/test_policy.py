"""Margin policy and validation: floors, targets, suggestions, warnings, order independence."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcore import InvalidAmount, InvalidInput
from creditcore.pricing import (
    Catalog,
    MarginPolicy,
    Money,
    Operation,
    ValidationReport,
    catalog_from_data,
    example_catalog,
    smallest_charge,
    validate,
)
from tests.strategies.pricing import (
    WHOLE_CATALOG_SETTINGS,
    amounts,
    catalog_documents,
    credit_values,
    fractions_below_one,
)


def _gross_margin(credits: int, value: Fraction, cost: Fraction) -> Fraction:
    revenue = credits * value
    return (revenue - cost) / revenue


def test_nanobanana_passes_a_floor_of_five_percent_and_fails_six() -> None:
    catalog = example_catalog()
    passing = validate(catalog, MarginPolicy(Decimal("0.05")))
    assert passing.ok
    failing = validate(catalog, MarginPolicy(Decimal("0.06")))
    assert not failing.ok
    assert [(e.code, e.path) for e in failing.errors] == [
        ("gross_margin_below_floor", "operations[0]")
    ]
    assert "nanobanana" in failing.errors[0].message


def test_example_policy_suggests_three_credits_for_nanobanana() -> None:
    # Target 0.30 at 0.02/credit: c ≥ 0.038 / (0.02 × 0.7) = 2.714..., so 3 credits
    # (0.06 revenue, gross margin 0.022/0.06 = 0.3666...); 2 credits gives 0.05.
    report = validate(example_catalog())
    assert report.ok
    assert [(s.operation, s.credits, s.suggested_credits) for s in report.suggestions] == [
        ("nanobanana", 2, 3)
    ]
    assert report.suggestions[0].gross_margin == Decimal("0.3666666666666666666666666667")
    codes = {(w.code, w.path) for w in report.warnings}
    assert ("gross_margin_below_target", "operations[0]") in codes


def test_studio_pack_warns_and_the_offers_do_not() -> None:
    # 0.59998 / 0.02 = 29.999× > 3; offers: 0.04995/0.02 = 2.4975×, 0.03998/0.02 = 1.999×.
    report = validate(example_catalog())
    far = [w for w in report.warnings if w.code.endswith("_far_from_subscription")]
    assert [(w.code, w.path) for w in far] == [
        ("pack_credit_value_far_from_subscription", "packs[0]")
    ]
    narrow = validate(example_catalog(), MarginPolicy(Decimal("0.05"), channel_spread=Decimal("2")))
    assert {w.path for w in narrow.warnings if w.code.endswith("_far_from_subscription")} == {
        "packs[0]",
        "offers[0]",
    }


def test_above_the_band_is_a_warning_not_an_error() -> None:
    report = validate(
        example_catalog(), MarginPolicy(Decimal("0"), (Decimal("0"), Decimal("0.35")))
    )
    assert report.ok
    above = {w.path for w in report.warnings if w.code == "gross_margin_above_target"}
    assert above == {"operations[2]", "operations[3]"}  # 0.375 > 0.35; Seedream 0.325 is not


def test_every_violation_is_reported_at_once() -> None:
    report = validate(example_catalog(), MarginPolicy(Decimal("0.4")))
    assert [e.path for e in report.errors] == [f"operations[{i}]" for i in range(4)]


def test_validation_on_a_named_channel() -> None:
    report = validate(example_catalog(), MarginPolicy(Decimal("0.9")), channel="studio-pack")
    assert report.channel.id == "studio-pack"
    # nanobanana on the pack: revenue 2 × 0.59998 = 1.19996, gross margin 1.15796/1.19996
    # = 0.96499… ≥ 0.9; on the subscription it would be 0.05, an error.
    nanobanana = report.points[0]
    assert nanobanana.exact_revenue == Fraction("1.19996")
    assert nanobanana.exact_gross_margin == (Fraction("1.19996") - Fraction("0.038")) / Fraction(
        "1.19996"
    )
    assert report.ok
    assert not validate(example_catalog(), MarginPolicy(Decimal("0.9"))).ok


@pytest.mark.parametrize(
    ("floor", "target"),
    [
        (Decimal("1"), None),
        (Decimal("-0.1"), None),
        (Decimal("0.3"), Decimal("0.2")),
        (Decimal("0.1"), (Decimal("0.5"), Decimal("0.4"))),
    ],
)
def test_policy_refuses_impossible_bounds(floor: Decimal, target: Any) -> None:
    with pytest.raises(InvalidInput):
        MarginPolicy(floor, target)


def test_policy_refuses_floats() -> None:
    with pytest.raises(InvalidAmount):
        MarginPolicy(0.05)  # type: ignore[arg-type]


@given(amounts(max_value="5"), credit_values(), fractions_below_one())
def test_suggested_charge_is_the_smallest_that_meets_the_target(
    cost: Decimal, value: Decimal, target: Decimal
) -> None:
    exact_cost, exact_value, goal = Fraction(cost), Fraction(value), Fraction(target)
    charge = smallest_charge(exact_cost, exact_value, goal)
    assert charge >= 1
    assert _gross_margin(charge, exact_value, exact_cost) >= goal
    if charge > 1:
        assert _gross_margin(charge - 1, exact_value, exact_cost) < goal


@given(
    amounts(min_value="0.001", max_value="1"),
    st.integers(1, 50),
    credit_values(),
    fractions_below_one(),
)
def test_validation_suggests_for_exactly_the_operations_under_target(
    cost: Decimal, credits: int, value: Decimal, target: Decimal
) -> None:
    operation = Operation("op", "p", "m", None, "image", Money(cost), credits)
    catalog = Catalog(operations=[operation], subscription_credit_value=value)
    report = validate(catalog, MarginPolicy(Decimal(0), target))
    margin = _gross_margin(credits, Fraction(value), Fraction(cost))
    if margin >= Fraction(target):
        assert report.suggestions == ()
    else:
        (suggestion,) = report.suggestions
        suggested = suggestion.suggested_credits
        assert _gross_margin(suggested, Fraction(value), Fraction(cost)) >= Fraction(target)
        assert _gross_margin(suggested - 1, Fraction(value), Fraction(cost)) < Fraction(target)


def _summary(report: ValidationReport, catalog: Catalog) -> dict[str, Any]:
    def who(path: str) -> str:
        section, index = path.rstrip("]").split("[")
        ids = {
            "operations": [item.id for item in catalog.operations],
            "packs": [item.id for item in catalog.packs],
            "offers": [item.id for item in catalog.offers],
        }
        return ids[section][int(index)]

    return {
        "errors": sorted((p.code, who(p.path)) for p in report.errors),
        "warnings": sorted((p.code, who(p.path)) for p in report.warnings),
        "suggestions": sorted((s.operation, s.suggested_credits) for s in report.suggestions),
        "channel": report.channel.id,
    }


@WHOLE_CATALOG_SETTINGS
@given(catalog_documents(), st.randoms(use_true_random=False))
def test_validation_is_unchanged_by_reordering_the_file(
    document: dict[str, Any], shuffler: random.Random
) -> None:
    # Tiers keep their order: it is meaningful (the unlock ladder). Everything else may move.
    original = catalog_from_data(document)
    shuffled = dict(document)
    for key in ("operations", "packs", "offers"):
        entries = list(document[key])
        shuffler.shuffle(entries)
        shuffled[key] = entries
    reordered = catalog_from_data(shuffled)
    assert _summary(validate(original), original) == _summary(validate(reordered), reordered)
