"""Notebook helpers: records, DataFrame, and "what if" repricing with a diff of both ratios."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given

from creditcore import InvalidAmount, UnknownOperation
from creditcore.pricing import (
    Money,
    catalog_from_data,
    example_catalog,
    reprice,
    to_dataframe,
    to_records,
)
from tests.strategies.pricing import WHOLE_CATALOG_SETTINGS, amounts, catalog_documents


def test_records_are_one_per_operation_and_channel() -> None:
    catalog = example_catalog()
    records = to_records(catalog)
    assert len(records) == 4 * 5  # 4 operations × (subscription, pack, 2 offers, free)
    row = next(
        r for r in records if r["operation"] == "seedream-v4" and r["channel"] == "subscription"
    )
    assert row["cost"] == Decimal("0.027")
    assert row["revenue"] == Decimal("0.04")
    assert row["gross_margin"] == Decimal("0.325")
    assert row["tier"] == "FREE"
    free = next(r for r in records if r["operation"] == "nanobanana" and r["channel"] == "free")
    assert free["revenue"] == Decimal(0)
    assert free["gross_margin"] is None
    assert free["markup"] == Decimal(-1)  # all cost, no revenue
    assert free["tier"] == "PLUS"
    assert not any(isinstance(value, float) for record in records for value in record.values())


def test_dataframe_has_the_record_columns() -> None:
    frame = to_dataframe(example_catalog())
    assert frame.shape == (20, 19)
    pack = frame[(frame["operation"] == "wan-2.5") & (frame["channel"] == "studio-pack")]
    # 20 credits × 0.59998 = 11.9996 of revenue for a 0.25 call.
    assert pack["revenue"].iloc[0] == Decimal("11.9996")


def test_reprice_returns_a_new_catalog_and_the_ratio_diff() -> None:
    catalog = example_catalog()
    after, diff = reprice(catalog, credits={"nanobanana": 3})
    assert catalog.operation("nanobanana").credits == 2  # unchanged
    assert after.operation("nanobanana").credits == 3
    (change,) = [c for c in diff.changed() if c.channel == "subscription"]
    assert change.operation == "nanobanana"
    assert (change.credits_before, change.credits_after) == (2, 3)
    assert change.gross_margin_before == Decimal("0.05")
    # 3 × 0.02 = 0.06: (0.06 − 0.038)/0.06 = 11/30; markup 0.022/0.038 = 11/19.
    assert change.gross_margin_after == Decimal(11) / Decimal(30)
    assert change.markup_after == Decimal(11) / Decimal(19)
    assert {c.operation for c in diff.changed()} == {"nanobanana"}


def test_reprice_credit_value_and_costs() -> None:
    after, diff = reprice(example_catalog(), credit_value="0.025", api_costs={"wan-2.5": "0.30"})
    point = after.price("wan-2.5", "subscription")
    # 20 × 0.025 = 0.50 vs 0.30: gross margin 0.4, markup 2/3.
    assert point.gross_margin == Decimal("0.4")
    moved = {c.operation for c in diff.changed() if c.channel == "subscription"}
    assert moved == {"nanobanana", "seedream-v4", "seedance-pro-720p", "wan-2.5"}
    untouched = [c for c in diff.changes if c.channel == "studio-pack" and c.operation != "wan-2.5"]
    assert untouched
    assert not any(c.changed for c in untouched)


def test_reprice_refuses_unknown_operations_and_floats() -> None:
    catalog = example_catalog()
    with pytest.raises(UnknownOperation):
        reprice(catalog, credits={"kling": 4})
    with pytest.raises(InvalidAmount):
        reprice(catalog, api_costs={"wan-2.5": 0.3})  # type: ignore[dict-item]
    with pytest.raises(InvalidAmount):
        reprice(catalog, credits={"wan-2.5": 0})


@given(amounts(min_value="0.001", max_value="1"))
def test_reprice_to_the_same_figures_changes_nothing(cost: Decimal) -> None:
    catalog, _ = reprice(example_catalog(), api_costs={"wan-2.5": Money(cost)})
    again, diff = reprice(catalog, api_costs={"wan-2.5": Money(cost)})
    assert again == catalog
    assert diff.changed() == ()


@WHOLE_CATALOG_SETTINGS
@given(catalog_documents())
def test_records_never_hold_floats(document: dict[str, Any]) -> None:
    records = to_records(catalog_from_data(document))
    assert records
    assert not any(isinstance(value, float) for record in records for value in record.values())
