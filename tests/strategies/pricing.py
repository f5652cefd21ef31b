"""Hypothesis strategies for pricing: exact amounts, operations, and whole catalog documents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from tests.conftest import IN_CI

__all__ = [
    "WHOLE_CATALOG_SETTINGS",
    "amounts",
    "catalog_documents",
    "credit_values",
    "fractions_below_one",
    "operation_entries",
]


WHOLE_CATALOG_SETTINGS = settings(max_examples=150 if IN_CI else 50)
"""Fewer examples for properties over whole generated catalogs: drawing one costs ~10 ms."""


def amounts(
    *, min_value: str = "0", max_value: str = "10", places: int = 4
) -> st.SearchStrategy[Decimal]:
    """Finite decimals with at most ``places`` decimals (API costs, prices)."""
    return st.decimals(
        min_value=Decimal(min_value),
        max_value=Decimal(max_value),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


def credit_values() -> st.SearchStrategy[Decimal]:
    """Positive per-credit values, $0.0001 to $1."""
    return amounts(min_value="0.0001", max_value="1", places=4)


def fractions_below_one() -> st.SearchStrategy[Decimal]:
    """Gross-margin bounds in [0, 0.99]."""
    return amounts(min_value="0", max_value="0.99", places=2)


@st.composite
def operation_entries(draw: st.DrawFn, operation_id: str, model: str) -> dict[str, Any]:
    """One ``[[operations]]`` table of a catalog document."""
    entry: dict[str, Any] = {
        "id": operation_id,
        "provider": draw(st.sampled_from(["wavespeed", "other"])),
        "model": model,
        "kind": draw(st.sampled_from(["image", "video"])),
        "api_cost": str(draw(amounts(max_value="2"))),
        "credits": draw(st.integers(min_value=1, max_value=200)),
    }
    if draw(st.booleans()):
        entry["variant"] = draw(st.sampled_from(["720p", "1080p"]))
    return entry


_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8)


@st.composite
def catalog_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid catalog document (the dict a TOML file parses to): unique ids, known models."""
    operation_ids = draw(st.lists(_NAMES, min_size=1, max_size=6, unique=True))
    models = [f"m-{draw(st.integers(0, 3))}" for _ in operation_ids]
    operations = [
        draw(operation_entries(operation_id, model))
        for operation_id, model in zip(operation_ids, models, strict=True)
    ]
    distinct_models = sorted(set(models))
    tier_count = draw(st.integers(0, 3))
    tiers = []
    for index in range(tier_count):
        added = draw(st.lists(st.sampled_from(distinct_models), unique=True, max_size=2))
        tiers.append(
            {"name": f"T{index}", "monthly_credits": draw(st.integers(0, 2000)), "models": added}
        )
    packs = [
        {
            "id": f"pack-{index}",
            "name": f"Pack {index}",
            "credits": draw(st.integers(1, 1000)),
            "price": str(draw(amounts(min_value="0.01", max_value="500", places=2))),
            "price_ids": [f"price_pack_{index}"],
        }
        for index in range(draw(st.integers(0, 2)))
    ]
    offers = [
        {
            "id": f"offer-{index}",
            "name": f"Offer {index}",
            "credits": draw(st.integers(1, 1000)),
            "price": str(draw(amounts(min_value="0.01", max_value="100", places=2))),
            "timezone": draw(st.sampled_from(["America/New_York", "Europe/Paris", "UTC"])),
            "window": draw(
                st.sampled_from(
                    [
                        {"kind": "weekly", "start": "fri 18:00", "end": "sun 23:00"},
                        {
                            "kind": "monthly",
                            "start_day": 15,
                            "start": "00:00",
                            "end_day": 18,
                            "end": "00:00",
                        },
                    ]
                )
            ),
            "price_ids": [f"price_offer_{index}"],
        }
        for index in range(draw(st.integers(0, 2)))
    ]
    document: dict[str, Any] = {
        "currency": "USD",
        "subscription": {"credit_value": str(draw(credit_values()))},
        "operations": operations,
        "tiers": tiers,
        "packs": packs,
        "offers": offers,
    }
    floor = draw(amounts(min_value="0", max_value="0.5", places=2))
    high = draw(amounts(min_value=str(floor), max_value="0.9", places=2))
    document["policy"] = {"floor": str(floor), "target": [str(floor), str(high)]}
    return document
