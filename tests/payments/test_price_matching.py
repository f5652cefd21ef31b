"""Payments must match the price: mismatched checkouts book nothing, answer 2xx ``rejected``,
wait in the rejection log, and are re-applied once the catalog is fixed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from creditcore import PriceMismatch, UnknownTransaction
from creditcore.ledger import InMemoryStore, Ledger, ManualClock
from creditcore.payments import (
    FileRejectionLog,
    PaymentCompleted,
    WebhookHandler,
    apply_payment_event,
)
from creditcore.payments.stripe import StripeSource
from creditcore.pricing import CreditPack, Money, example_catalog
from tests.ledger.helpers import everything
from tests.payments.harness import Endpoint, T
from tests.payments.stripe_payloads import (
    SECRET,
    charge_refunded,
    checkout_completed,
    dispute_created,
    encode,
    sign,
)


def lot_amounts(endpoint: Endpoint, user: str = "user-1") -> list[tuple[int, Decimal | None]]:
    return [(lot.credits, lot.amount) for lot in endpoint.ledger.store.lots(user)]


# -- mismatches book nothing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_total": 1}, "amount"),  # one cent for a $299.99 pack
        ({"currency": "eur"}, "currency"),
        ({"currency": "jpy", "amount_total": 29999}, "currency"),
        ({"amount_total": 29999, "metadata": {"offer_id": "mid-month-mega-deal"}}, "amount"),
    ],
)
def test_a_checkout_that_disagrees_with_the_catalog_books_nothing_and_is_rejected_with_2xx(
    changes: dict[str, object], field: str
) -> None:
    endpoint = Endpoint()
    before = everything(endpoint.ledger)
    document = checkout_completed("evt_bad", created=T, **changes)  # type: ignore[arg-type]
    result = endpoint.deliver(document)
    assert result.ok  # Stripe must not retry it for three days
    assert result.code == "rejected"
    assert everything(endpoint.ledger) == before  # nothing booked
    [pending] = endpoint.handler.rejected()
    assert pending.event_id == "evt_bad"
    assert pending.reason_code == "price_mismatch"
    assert pending.context["field"] == field
    assert pending.expected is not None
    assert pending.came is not None


def test_the_rejection_names_what_was_expected_and_what_came() -> None:
    endpoint = Endpoint()
    endpoint.deliver(checkout_completed("evt_cent", created=T, amount_total=1))
    [pending] = endpoint.handler.rejected()
    assert pending.expected == "299.99 USD"
    assert pending.came == "0.01 USD"
    assert "studio-pack" in pending.reason


def test_a_redelivered_rejection_is_rejected_again_and_listed_once() -> None:
    endpoint = Endpoint()
    for _ in range(3):
        assert endpoint.deliver(checkout_completed("evt_cent", created=T, amount_total=1)).code == (
            "rejected"
        )
    assert [r.event_id for r in endpoint.handler.rejected()] == ["evt_cent"]
    assert endpoint.purchased() == 0


def test_a_subtotal_that_does_not_add_up_is_rejected() -> None:
    endpoint = Endpoint()
    # total 299.99 but subtotal 299.99 − discount 60.00 = 239.99
    document = checkout_completed(
        "evt_x", created=T, amount_total=29999, amount_subtotal=29999, amount_discount=6000
    )
    assert endpoint.deliver(document).code == "rejected"
    assert endpoint.purchased() == 0
    assert endpoint.handler.rejected()[0].context["field"] == "amount_total"


def test_a_quantity_must_be_paid_for() -> None:
    endpoint = Endpoint()
    item = {"id": "li_1", "quantity": 2, "price": {"id": "price_studio_pack"}}
    short = checkout_completed(
        "evt_q1", created=T, metadata={}, line_items=[item], amount_total=29999,
        amount_subtotal=29999, payment_intent="pi_q1",
    )  # fmt: skip
    assert endpoint.deliver(short).code == "rejected"
    paid = checkout_completed(
        "evt_q2", created=T, metadata={}, line_items=[item], amount_total=59998,
        amount_subtotal=59998, payment_intent="pi_q2",
    )  # fmt: skip
    result = endpoint.deliver(paid)
    assert (result.code, result.outcome and result.outcome.credits) == ("credited", 1000)
    assert lot_amounts(endpoint) == [(1000, Decimal("599.98"))]


# -- what the credits are worth: discounts lower the value, tax is not revenue --------------------


def test_a_promotion_discount_lowers_the_value_of_the_credits_not_their_number() -> None:
    endpoint = Endpoint()
    document = checkout_completed(
        "evt_promo", created=T, amount_subtotal=29999, amount_discount=6000, amount_total=23999
    )
    result = endpoint.deliver(document)
    assert result.code == "credited"
    assert endpoint.purchased() == 500
    assert lot_amounts(endpoint) == [(500, Decimal("239.99"))]
    purchase = endpoint.ledger.purchase_of("pi_1")
    assert purchase is not None
    assert purchase.metadata["discount"] == "60.00"
    assert purchase.metadata["pack"] == "studio-pack"


def test_tax_added_on_top_is_not_revenue() -> None:
    endpoint = Endpoint()
    document = checkout_completed(
        "evt_tax", created=T, amount_subtotal=29999, amount_tax=2400, amount_total=32399
    )
    assert endpoint.deliver(document).code == "credited"
    assert lot_amounts(endpoint) == [(500, Decimal("299.99"))]


def test_tax_included_in_the_price_is_taken_out_of_the_value() -> None:
    endpoint = Endpoint()
    # a tax-inclusive price: the subtotal already contains the 25.00 of tax
    document = checkout_completed(
        "evt_vat", created=T, amount_subtotal=29999, amount_tax=2500, amount_total=29999
    )
    assert endpoint.deliver(document).code == "credited"
    assert lot_amounts(endpoint) == [(500, Decimal("274.99"))]


# -- re-applied once the catalog is fixed ----------------------------------------------------------


def _repriced(price: str) -> object:
    catalog = example_catalog()
    pack = catalog.pack("studio-pack")
    cheaper = dataclasses.replace(pack, price=Money(Decimal(price)))
    return catalog.replace(packs=[cheaper])


def test_a_rejected_checkout_is_reapplied_once_the_catalog_is_fixed() -> None:
    endpoint = Endpoint()
    # the shop already sold at 249.99 while the catalog still says 299.99
    document = checkout_completed("evt_new_price", created=T, amount_total=24999)
    assert endpoint.deliver(document).code == "rejected"
    fixed = _repriced("249.99")
    result = endpoint.handler.reapply("evt_new_price", catalog=fixed)  # type: ignore[arg-type]
    assert result.code == "credited"
    assert endpoint.purchased() == 500
    assert lot_amounts(endpoint) == [(500, Decimal("249.99"))]
    assert endpoint.handler.rejected() == []
    with pytest.raises(UnknownTransaction):
        endpoint.handler.reapply("evt_new_price")


def test_reapplying_with_the_catalog_still_wrong_keeps_it_pending() -> None:
    endpoint = Endpoint()
    endpoint.deliver(checkout_completed("evt_cent", created=T, amount_total=1))
    assert endpoint.handler.reapply("evt_cent").code == "rejected"
    assert len(endpoint.handler.rejected()) == 1
    assert endpoint.purchased() == 0


def test_the_file_log_keeps_rejections_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "rejected.jsonl"
    clock = ManualClock(datetime.fromtimestamp(T, UTC))
    ledger = Ledger(InMemoryStore(), clock=clock)
    ledger.open_account("user-1", monthly_allowance=0)
    handler = WebhookHandler(
        StripeSource(SECRET, clock=clock),
        ledger,
        example_catalog(),
        rejections=FileRejectionLog(path),
    )
    body = encode(
        checkout_completed(
            "evt_promo_bad", created=T, amount_subtotal=24999, amount_discount=1000,
            amount_total=23999,
        )
    )  # fmt: skip
    assert handler.handle_webhook(body, sign(body, timestamp=T)).code == "rejected"
    # a new process, a fixed catalog
    again = WebhookHandler(
        StripeSource(SECRET, clock=clock),
        ledger,
        _repriced("249.99"),  # type: ignore[arg-type]
        rejections=FileRejectionLog(path),
    )
    [pending] = again.rejected()
    assert isinstance(pending.event, PaymentCompleted)
    assert pending.event.discount == Money(Decimal("10.00"))
    assert again.reapply("evt_promo_bad").code == "credited"
    assert [(lot.credits, lot.amount) for lot in ledger.store.lots("user-1")] == [
        (500, Decimal("239.99"))
    ]
    assert FileRejectionLog(path).pending() == ()


# -- refunds and disputes in another currency ----------------------------------------------------


@pytest.mark.parametrize("currency", ["eur", "jpy"])
def test_a_refund_or_dispute_in_another_currency_is_refused(currency: str) -> None:
    endpoint = Endpoint()
    assert endpoint.deliver(checkout_completed("evt_paid", created=T)).code == "credited"
    before = everything(endpoint.ledger)
    refund = charge_refunded("evt_r", created=T, amount_refunded=29999, currency=currency)
    dispute = dispute_created("evt_d", created=T, currency=currency)
    for document in (refund, dispute):
        result = endpoint.deliver(document)
        assert (result.status, result.code) == (200, "rejected")
    assert everything(endpoint.ledger) == before
    assert endpoint.purchased() == 500
    assert {r.event_id for r in endpoint.handler.rejected()} == {"evt_r", "evt_d"}
    assert all(r.context["field"] == "currency" for r in endpoint.handler.rejected())


def test_a_refund_in_the_purchase_currency_still_revokes() -> None:
    endpoint = Endpoint()
    endpoint.deliver(checkout_completed("evt_paid", created=T))
    result = endpoint.deliver(charge_refunded("evt_r", created=T, amount_refunded=29999))
    assert result.code == "revoked"
    assert endpoint.purchased() == 0


# -- the same rules straight through apply_payment_event -------------------------------------------


def test_apply_returns_rejected_with_expected_and_came() -> None:
    ledger = Ledger(InMemoryStore(), clock=ManualClock(datetime(2026, 11, 23, tzinfo=UTC)))
    ledger.open_account("u", monthly_allowance=0)
    event = PaymentCompleted(
        "evt", "pi", "u", Money(Decimal("0.01")), datetime(2026, 11, 22, tzinfo=UTC),
        pack_id="studio-pack",
    )  # fmt: skip
    outcome = apply_payment_event(ledger, event, example_catalog())
    assert outcome.action == "rejected"
    assert (outcome.expected, outcome.came) == ("299.99 USD", "0.01 USD")
    assert ledger.purchase_of("pi") is None


def test_a_pack_object_of_another_price_is_refused_by_the_ledger() -> None:
    ledger = Ledger(InMemoryStore(), clock=ManualClock(datetime(2026, 11, 23, tzinfo=UTC)))
    ledger.open_account("u", monthly_allowance=0)
    pack = CreditPack("p", "P", 100, Money(Decimal("10.00")))
    with pytest.raises(PriceMismatch):
        ledger.purchase("u", 100, payment_id="x", amount=Money(Decimal("9.99")), pack=pack)
    ledger.purchase("u", 100, payment_id="x", amount=Money(Decimal("10.00")), pack=pack)
    assert ledger.balance("u").purchased == 100
