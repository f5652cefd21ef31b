"""Catalog lookups, versions in time, tiers and channels of the example catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given

from creditcore import (
    InvalidCatalog,
    InvalidInput,
    NaiveDatetime,
    UnknownChannel,
    UnknownOffer,
    UnknownOperation,
    UnknownTier,
)
from creditcore.pricing import (
    Catalog,
    CreditPack,
    LootboxOffer,
    Money,
    Operation,
    Tier,
    catalog_from_data,
    example_catalog,
)
from tests.strategies.pricing import WHOLE_CATALOG_SETTINGS, catalog_documents

JAN = datetime(2026, 1, 1, tzinfo=UTC)
JUL = datetime(2026, 7, 1, tzinfo=UTC)


def _row(
    credits: int, start: datetime | None, end: datetime | None, cost: str = "0.038"
) -> Operation:
    return Operation(
        "nanobanana",
        "wavespeed",
        "nanobanana",
        None,
        "image",
        Money(Decimal(cost)),
        credits,
        valid_from=start,
        valid_to=end,
    )


def test_example_catalog_has_the_seed_rows() -> None:
    catalog = example_catalog()
    assert [op.id for op in catalog.operations] == [
        "nanobanana",
        "seedream-v4",
        "seedance-pro-720p",
        "wan-2.5",
    ]
    seedance = catalog.operation("seedance-pro-720p")
    assert (seedance.model, seedance.variant, seedance.kind) == ("seedance-pro", "720p", "video")
    assert seedance.api_cost == Money(Decimal("0.15"))
    assert seedance.credits == 12
    assert {op.provider for op in catalog.operations} == {"wavespeed"}
    assert [(t.name, t.monthly_credits) for t in catalog.tiers] == [
        ("FREE", 15),
        ("PLUS", 150),
        ("PRO", 500),
        ("CREATOR", 1500),
    ]
    assert catalog.tier("FREE").price == Money(Decimal(0))
    assert catalog.tier("PLUS").price is None
    pack = catalog.pack("studio-pack")
    assert (pack.name, pack.credits, pack.price, pack.price_ids) == (
        "Studio Pack",
        500,
        Money(Decimal("299.99")),
        ("price_studio_pack",),
    )
    assert [o.id for o in catalog.offers] == ["weekend-flash-sale", "mid-month-mega-deal"]
    assert all(o.timezone == "America/New_York" and len(o.price_ids) == 1 for o in catalog.offers)


def test_unknown_names_raise_their_own_errors_never_a_zero_default() -> None:
    catalog = example_catalog()
    with pytest.raises(UnknownOperation) as error:
        catalog.operation("kling")
    assert "kling" in str(error.value)
    with pytest.raises(UnknownTier):
        catalog.tier("ULTRA")
    with pytest.raises(UnknownChannel):
        catalog.pack("weekend-flash-sale")
    with pytest.raises(UnknownOffer):
        catalog.offer("studio-pack")
    with pytest.raises(UnknownChannel):
        catalog.find_by_price_id("price_nothing")


def test_find_by_price_id_maps_to_pack_or_offer() -> None:
    catalog = example_catalog()
    assert isinstance(catalog.find_by_price_id("price_studio_pack"), CreditPack)
    offer = catalog.find_by_price_id("price_weekend_flash_sale")
    assert isinstance(offer, LootboxOffer)
    assert offer.id == "weekend-flash-sale"


def test_tiers_unlock_cumulatively() -> None:
    catalog = example_catalog()
    free, plus, pro, creator = catalog.tiers
    assert free.allows("seedream-v4")
    assert free.allows("seedance-pro")
    assert not free.allows("nanobanana")
    assert not free.allows("wan-2.5")
    assert plus.allows("nanobanana")
    assert plus.allows("seedream-v4")
    assert all(t.allows(m) for t in (pro, creator) for m in catalog.models)
    assert not creator.allows("sora-2")
    assert catalog.lowest_tier_for("nanobanana") == plus
    assert catalog.lowest_tier_for("seedance-pro") == free
    assert catalog.lowest_tier_for("sora-2") is None


def test_price_change_is_a_new_row_and_at_keeps_the_one_in_force() -> None:
    catalog = Catalog(
        operations=[_row(1, None, JUL), _row(2, JUL, None)],
        subscription_credit_value=Decimal("0.02"),
    )
    assert [op.credits for op in catalog.at(JAN).operations] == [1]
    assert [op.credits for op in catalog.at(JUL).operations] == [2]  # half-open: JUL is new
    assert [op.credits for op in catalog.at(JUL - timedelta(microseconds=1)).operations] == [1]
    assert catalog.operation("nanobanana", at=JAN).credits == 1
    assert catalog.operation("nanobanana", at=JUL).credits == 2


def test_operation_with_versions_and_none_in_force_is_unknown() -> None:
    catalog = Catalog(operations=[_row(1, JAN, JUL), _row(2, JUL, JUL + timedelta(days=1))])
    with pytest.raises(UnknownOperation):
        catalog.operation("nanobanana", at=JUL + timedelta(days=2))


def test_overlapping_versions_are_a_duplicate() -> None:
    with pytest.raises(InvalidCatalog) as error:
        Catalog(operations=[_row(1, None, JUL), _row(2, JAN, None)])
    assert [(p.path, p.code) for p in error.value.problems] == [
        ("operations[1].id", "duplicate_operation")
    ]


def test_naive_instants_are_refused() -> None:
    catalog = example_catalog()
    with pytest.raises(NaiveDatetime):
        catalog.at(datetime(2026, 1, 1))
    with pytest.raises(NaiveDatetime):
        _row(1, datetime(2026, 1, 1), None)


def test_operation_rows_refuse_bad_values() -> None:
    with pytest.raises(InvalidInput):
        _row(1, None, None, cost="-0.01")
    with pytest.raises(InvalidInput):
        _row(0, None, None)
    with pytest.raises(InvalidInput):
        _row(1, JUL, JAN)


def test_catalog_reports_all_cross_reference_problems_with_paths() -> None:
    pack = CreditPack("p", "P", 10, Money(Decimal(1)), ("price_x",))
    with pytest.raises(InvalidCatalog) as error:
        Catalog(
            operations=[_row(1, None, None)],
            tiers=[Tier("A", 1, models=("kling",)), Tier("A", 2)],
            packs=[pack, CreditPack("p", "Q", 5, Money(Decimal(1), "EUR"), ("price_x",))],
        )
    assert [(p.path, p.code) for p in error.value.problems] == [
        ("tiers[0].models[0]", "unknown_model"),
        ("tiers[1].name", "duplicate_tier"),
        ("packs[1].id", "duplicate_channel"),
        ("packs[1].price", "currency_mismatch"),
        ("packs[1].price_ids[0]", "duplicate_price_id"),
    ]


def test_catalog_is_immutable_and_equal_by_value() -> None:
    catalog = example_catalog()
    assert catalog == example_catalog()
    assert hash(catalog) == hash(example_catalog())
    cheaper = catalog.replace(subscription_credit_value="0.019")
    assert cheaper != catalog  # equality looks at the values, not only at the shape
    assert cheaper.replace(subscription_credit_value="0.02") == catalog
    with pytest.raises(AttributeError):
        catalog.currency = "EUR"


@WHOLE_CATALOG_SETTINGS
@given(catalog_documents())
def test_lowest_tier_for_is_the_first_tier_whose_ladder_names_the_model(
    document: dict[str, Any],
) -> None:
    catalog = catalog_from_data(document)
    for model in {entry["model"] for entry in document["operations"]} | {"unlisted"}:
        expected = None
        seen: set[str] = set()
        for tier in document["tiers"]:
            seen |= set(tier["models"])
            if model in seen:
                expected = tier["name"]
                break
        found = catalog.lowest_tier_for(model)
        assert (None if found is None else found.name) == expected
        for position, tier_entry in enumerate(document["tiers"]):
            ladder = {m for t in document["tiers"][: position + 1] for m in t["models"]}
            assert catalog.tier(tier_entry["name"]).allows(model) == (model in ladder)
