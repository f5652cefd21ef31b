"""Notebook helpers: records, DataFrame, and "what if" repricing with a diff of both ratios."""

from __future__ import annotations

import math
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


def test_dataframe_money_and_ratios_are_floats_beside_exact_twins() -> None:
    frame = to_dataframe(example_catalog())
    assert frame.shape == (20, 19 + 5)
    numeric = ["credit_value", "cost", "revenue", "markup", "gross_margin"]
    assert all(str(frame[column].dtype) == "float64" for column in numeric)
    subscription = frame[frame["channel"] == "subscription"].set_index("operation")
    # Hand values: NanoBanana's markup is 0.002/0.038 = 1/19 = 0.05263…, 0.053 at 3 places;
    # Seedream's 13/27 = 0.48148…, 0.481.
    assert subscription["markup"].round(3).to_dict() == {
        "nanobanana": 0.053,
        "seedream-v4": 0.481,
        "seedance-pro-720p": 0.6,
        "wan-2.5": 0.6,
    }
    pivot = frame.pivot_table(index="operation", columns="channel", values="gross_margin")
    # On the Mega Deal a credit is 19.99/500 = 0.03998: (2 × 0.03998 − 0.038)/0.07996 = 0.52476…
    assert pivot.round(3).loc["nanobanana", "mid-month-mega-deal"] == 0.525
    # The exact twins are the Decimals of to_records, untouched.
    pack = frame[(frame["operation"] == "wan-2.5") & (frame["channel"] == "studio-pack")]
    # 20 credits × 0.59998 = 11.9996 of revenue for a 0.25 call.
    assert pack["revenue_exact"].iloc[0] == Decimal("11.9996")
    assert pack["revenue"].iloc[0] == 11.9996


def test_dataframe_has_one_missing_value_convention() -> None:
    catalog = example_catalog()
    records = to_records(catalog)
    frame = to_dataframe(catalog)
    for row, record in zip(frame.itertuples(index=False), records, strict=True):
        for key, value in record.items():
            cell = getattr(row, key)
            assert cell is not None, key
            if value is None:  # undefined ratio, no variant, no validity bound
                assert isinstance(cell, float), (key, cell)
                assert math.isnan(cell), (key, cell)
    assert frame.isna().any().to_dict()["gross_margin"]  # the free channel: no revenue
    assert frame["gross_margin"].isna().sum() == frame["gross_margin_exact"].isna().sum() == 4


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
    assert (change.revenue_before, change.revenue_after) == (Decimal("0.04"), Decimal("0.06"))
    assert change.cost_before == change.cost_after == Decimal("0.038")
    assert {c.operation for c in diff.changed()} == {"nanobanana"}


def test_an_api_cost_what_if_shows_cost_and_revenue_before_and_after() -> None:
    _, diff = reprice(example_catalog(), api_costs={"wan-2.5": "0.30"})
    moved = diff.changed()
    assert {c.operation for c in moved} == {"wan-2.5"}
    assert len(moved) == 5  # every channel of WAN (the free one too: its cost moved)
    on_subscription = next(c for c in moved if c.channel == "subscription")
    assert (on_subscription.cost_before, on_subscription.cost_after) == (
        Decimal("0.25"),
        Decimal("0.30"),
    )
    # 20 credits × 0.02 either way; gross margin (0.40 − 0.30)/0.40 = 0.25.
    assert on_subscription.revenue_before == on_subscription.revenue_after == Decimal("0.40")
    assert on_subscription.gross_margin_after == Decimal("0.25")
    table = diff.to_records()
    assert {"cost_before", "cost_after", "revenue_before", "revenue_after"} <= set(table[0])


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
