"""charge(): tier gating, credits from the catalog in force, metadata."""

from __future__ import annotations

import pytest

from creditcore import InsufficientCredits, InvalidInput, TierNotAllowed, UnknownOperation
from creditcore.ledger import Ledger
from creditcore.pricing import example_catalog
from tests.ledger.helpers import everything


def test_charge_records_operation_provider_and_cost(ledger: Ledger) -> None:
    catalog = example_catalog()
    op = catalog.operation("wan-2.5")
    ledger.open_account("u", monthly_allowance=150, tier="PLUS")
    tx = ledger.charge("u", "wan-2.5", catalog=catalog, metadata={"job": "j1"})
    assert tx.credits == 20  # the pricing catalog (docs/pricing.md): WAN 2.5 costs 20 credits
    assert tx.metadata == {
        "job": "j1",
        "operation": "wan-2.5",
        "provider": op.provider,
        "model": op.model,
        "api_cost": "0.25",  # the pricing catalog (docs/pricing.md): $0.25 per call
        "currency": "USD",
    }
    assert ledger.balance("u").consumed_this_month == 20


def test_tier_gating_names_the_lowest_tier(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15, tier="FREE")
    before = everything(ledger)
    with pytest.raises(TierNotAllowed) as err:
        ledger.charge("u", "wan-2.5", catalog=example_catalog())
    assert (
        err.value.context["required_tier"] == "PLUS"
    )  # the pricing catalog (docs/pricing.md): PLUS adds WAN
    assert everything(ledger) == before
    # FREE unlocks Seedream: 2 credits
    assert ledger.charge("u", "seedream-v4", catalog=example_catalog()).credits == 2


def test_upgrade_unlocks_at_once(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15, tier="FREE")
    ledger.purchase("u", 100, payment_id="p")
    ledger.change_tier("u", "PLUS", monthly_allowance=150)
    assert ledger.charge("u", "nanobanana", catalog=example_catalog()).credits == 2


def test_charge_errors_change_nothing(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15, tier="PLUS")
    before = everything(ledger)
    with pytest.raises(UnknownOperation):
        ledger.charge("u", "sora-9", catalog=example_catalog())
    with pytest.raises(InsufficientCredits) as err:
        ledger.charge("u", "wan-2.5", catalog=example_catalog())
    assert err.value.context["requested"] == 20
    assert err.value.context["available"] == 15
    assert everything(ledger) == before


def test_charge_without_tier_is_not_gated(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=50)
    assert ledger.charge("u", "wan-2.5", catalog=example_catalog()).credits == 20


def test_charge_is_idempotent(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=50, tier="PLUS")
    first = ledger.charge("u", "wan-2.5", catalog=example_catalog(), key="job-7")
    assert ledger.charge("u", "wan-2.5", catalog=example_catalog(), key="job-7") == first
    assert ledger.balance("u").consumed_this_month == 20


@pytest.mark.parametrize("catalog", [None, "example", 5])
def test_a_non_catalog_is_refused_before_anything_is_booked(
    ledger: Ledger, catalog: object
) -> None:
    ledger.open_account("u", monthly_allowance=150, tier="PLUS")
    before = everything(ledger)
    with pytest.raises(InvalidInput) as caught:
        ledger.charge("u", "wan-2.5", catalog=catalog)  # type: ignore[arg-type]
    assert caught.value.context["field"] == "catalog"
    assert repr(catalog) in caught.value.message
    assert everything(ledger) == before
