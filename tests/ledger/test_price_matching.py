"""Ledger.purchase books a catalog product only at the catalog's credits, price and currency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from creditcore import InvalidInput, OfferClosed, PriceMismatch
from creditcore.ledger import Ledger, ManualClock
from creditcore.pricing import Money, example_catalog
from tests.ledger.helpers import everything

CATALOG = example_catalog()
SATURDAY = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)  # inside the Weekend Flash Sale
MONDAY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # outside every offer window


def usd(text: str) -> Money:
    return Money(Decimal(text))


@pytest.mark.parametrize(
    ("credits", "amount", "field"),
    [
        (5, "9.99", "credits"),  # 5 credits for an offer of 200
        (200, "0.01", "amount"),  # one cent for its $9.99 price
        (200, None, "amount"),
        (300, "14.99", "credits"),  # not a whole quantity
    ],
)
def test_a_lootbox_must_match_the_offer(
    clock: ManualClock, ledger: Ledger, credits: int, amount: str | None, field: str
) -> None:
    ledger.open_account("ada", monthly_allowance=0)
    clock.set(SATURDAY)
    before = everything(ledger)
    with pytest.raises(PriceMismatch) as caught:
        ledger.purchase(
            "ada", credits, payment_id="pi", kind="lootbox", offer="weekend-flash-sale",
            catalog=CATALOG, amount=None if amount is None else usd(amount),
        )  # fmt: skip
    assert caught.value.context["field"] == field
    assert everything(ledger) == before
    assert ledger.purchase_of("pi") is None


def test_the_mismatch_carries_expected_and_came(clock: ManualClock, ledger: Ledger) -> None:
    ledger.open_account("ada", monthly_allowance=0)
    with pytest.raises(PriceMismatch) as caught:
        ledger.purchase(
            "ada", 500, payment_id="pi", amount=usd("0.01"), pack="studio-pack", catalog=CATALOG
        )
    assert caught.value.context["expected"] == "299.99 USD"
    assert caught.value.context["came"] == "0.01 USD"
    assert caught.value.code == "price_mismatch"


def test_a_pack_in_another_currency_is_refused(ledger: Ledger) -> None:
    ledger.open_account("ada", monthly_allowance=0)
    with pytest.raises(PriceMismatch) as caught:
        ledger.purchase(
            "ada", 500, payment_id="pi", amount=Money(Decimal("299.99"), "EUR"),
            pack="studio-pack", catalog=CATALOG,
        )  # fmt: skip
    assert caught.value.context["field"] == "currency"


def test_a_matching_pack_with_a_discount_is_booked_at_the_amount_paid(ledger: Ledger) -> None:
    ledger.open_account("ada", monthly_allowance=0)
    tx = ledger.purchase(
        "ada", 1000, payment_id="pi", amount=usd("539.98"), discount=usd("60.00"),
        pack="studio-pack", catalog=CATALOG,
    )  # fmt: skip
    assert tx.metadata["quantity"] == 2
    assert tx.metadata["price"] == "catalog"
    [lot] = ledger.store.lots("ada")
    assert (lot.credits, lot.amount, lot.currency) == (1000, Decimal("539.98"), "USD")
    with pytest.raises(PriceMismatch):  # the discount must make up the list price exactly
        ledger.purchase(
            "ada", 500, payment_id="pi2", amount=usd("239.99"), discount=usd("50.00"),
            pack="studio-pack", catalog=CATALOG,
        )  # fmt: skip


def test_an_offer_is_judged_at_the_payment_time_not_the_arrival(
    clock: ManualClock, ledger: Ledger
) -> None:
    ledger.open_account("ada", monthly_allowance=0)
    clock.set(MONDAY)  # the webhook arrives on Monday; the customer paid on Saturday
    with pytest.raises(OfferClosed):
        ledger.purchase(
            "ada", 200, payment_id="pi", amount=usd("9.99"), kind="lootbox",
            offer="weekend-flash-sale", catalog=CATALOG,
        )  # fmt: skip
    tx = ledger.purchase(
        "ada", 200, payment_id="pi", amount=usd("9.99"), kind="lootbox",
        offer="weekend-flash-sale", catalog=CATALOG, paid_at=SATURDAY,
    )  # fmt: skip
    assert tx.created_at == MONDAY
    assert tx.metadata["paid_at"] == SATURDAY.isoformat()
    # paid on a Monday: closed whatever the arrival time
    with pytest.raises(OfferClosed):
        ledger.purchase(
            "ada", 200, payment_id="pi2", amount=usd("9.99"), kind="lootbox",
            offer="weekend-flash-sale", catalog=CATALOG, paid_at=MONDAY - timedelta(hours=1),
        )  # fmt: skip


def test_a_payment_time_in_the_future_is_refused(clock: ManualClock, ledger: Ledger) -> None:
    ledger.open_account("ada", monthly_allowance=0)
    with pytest.raises(InvalidInput):
        ledger.purchase(
            "ada", 500, payment_id="pi", amount=usd("299.99"), pack="studio-pack",
            catalog=CATALOG, paid_at=clock() + timedelta(days=1),
        )  # fmt: skip


def test_custom_sales_and_free_grants_stay_possible_explicitly(ledger: Ledger) -> None:
    ledger.open_account("ada", monthly_allowance=0)
    deal = ledger.purchase("ada", 5000, payment_id="deal-1", amount=usd("1000.00"))
    grant = ledger.purchase("ada", 50, payment_id="support-1")
    assert (deal.metadata["price"], grant.metadata["price"]) == ("custom", "free")
    assert ledger.balance("ada").purchased == 5050
    with pytest.raises(InvalidInput):  # a discount needs a list price to be taken from
        ledger.purchase("ada", 5, payment_id="x", amount=usd("1"), discount=usd("1"))


def test_purchase_of_finds_the_purchase_in_any_account(ledger: Ledger) -> None:
    ledger.open_account("ada", monthly_allowance=0)
    tx = ledger.purchase(
        "ada", 500, payment_id="pi", amount=usd("299.99"), pack="studio-pack", catalog=CATALOG
    )
    assert ledger.purchase_of("pi") == tx
    assert ledger.purchase_of("nope") is None
