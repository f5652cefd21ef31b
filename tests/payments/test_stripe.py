"""The Stripe adapter: signature verification and translation of Stripe events."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcore import InvalidInput, PaymentError, SignatureVerificationError
from creditcore.payments import (
    IgnoredEvent,
    PaymentCompleted,
    PaymentDisputed,
    PaymentRefunded,
    PaymentSource,
)
from creditcore.payments.stripe import StripeSource, minor_units_to_money
from creditcore.pricing import Money
from tests.payments.stripe_payloads import (
    SECRET,
    charge_refunded,
    checkout_completed,
    dispute_created,
    encode,
    event,
    sign,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


def source(tolerance: int = 300) -> StripeSource:
    return StripeSource(SECRET, tolerance=tolerance, clock=lambda: NOW)


def signed(document: dict[str, object], *, at: int = T) -> tuple[bytes, str]:
    body = encode(document)
    return body, sign(body, timestamp=at)


def test_stripe_source_satisfies_the_payment_source_port() -> None:
    assert isinstance(source(), PaymentSource)


# -- signatures ----------------------------------------------------------------------------------


def test_a_genuine_signature_is_accepted() -> None:
    body, header = signed(checkout_completed("evt_1", created=T))
    assert isinstance(source().parse_webhook(body, header), PaymentCompleted)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    body = encode(checkout_completed("evt_1", created=T))
    header = sign(body, timestamp=T, secret="whsec_attacker")
    with pytest.raises(SignatureVerificationError):
        source().parse_webhook(body, header)


def test_a_body_changed_after_signing_is_refused() -> None:
    body, header = signed(checkout_completed("evt_1", created=T))
    forged = body.replace(b"user-1", b"user-2")
    assert forged != body
    with pytest.raises(SignatureVerificationError):
        source().parse_webhook(forged, header)


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", "t=1,v0=deadbeef"])
def test_a_missing_or_unreadable_header_is_refused(header: str | None) -> None:
    body = encode(checkout_completed("evt_1", created=T))
    with pytest.raises(SignatureVerificationError):
        source().parse_webhook(body, header)


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_a_signature_outside_the_tolerance_is_refused_even_if_genuine(offset: int) -> None:
    body, header = signed(checkout_completed("evt_1", created=T), at=T + offset)
    with pytest.raises(SignatureVerificationError) as caught:
        source().parse_webhook(body, header)
    assert caught.value.context["tolerance"] == 300


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_a_signature_inside_the_tolerance_is_accepted(offset: int) -> None:
    body, header = signed(checkout_completed("evt_1", created=T), at=T + offset)
    assert isinstance(source().parse_webhook(body, header), PaymentCompleted)


def test_any_one_of_several_v1_signatures_may_match_during_secret_rotation() -> None:
    body = encode(checkout_completed("evt_1", created=T))
    old = sign(body, timestamp=T, secret="whsec_old").split(",")[1]
    header = f"{sign(body, timestamp=T)},{old}"
    assert isinstance(source().parse_webhook(body, header), PaymentCompleted)


@given(st.data())
def test_flipping_any_byte_of_the_body_breaks_the_signature(data: st.DataObject) -> None:
    body, header = signed(checkout_completed("evt_1", created=T))
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    with pytest.raises(SignatureVerificationError):
        source().parse_webhook(tampered, header)


def test_a_body_that_is_not_utf8_is_refused_as_unsigned() -> None:
    body = b"\xff\xfe{}"
    with pytest.raises(SignatureVerificationError):
        source().parse_webhook(body, sign(body, timestamp=T))


def test_a_signed_body_that_is_not_a_json_object_is_a_payment_error() -> None:
    for body in (b"not json", b"[1, 2]"):
        with pytest.raises(PaymentError) as caught:
            source().parse_webhook(body, sign(body, timestamp=T))
        assert not isinstance(caught.value, SignatureVerificationError)


@pytest.mark.parametrize("bad", ["", "   "])
def test_an_empty_secret_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        StripeSource(bad)


@pytest.mark.parametrize("bad", [0, -5, True])
def test_a_tolerance_that_is_not_a_positive_int_is_refused(bad: int) -> None:
    with pytest.raises(InvalidInput):
        StripeSource(SECRET, tolerance=bad)


def test_the_payments_core_and_the_adapter_module_import_without_loading_stripe() -> None:
    code = (
        "import sys, creditcore.payments, creditcore.payments.stripe; "
        "sys.exit('stripe' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_without_the_stripe_package_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "stripe", None)
    with pytest.raises(ImportError, match=r"creditcore\[stripe\]"):
        StripeSource(SECRET)


# -- checkout.session.completed ------------------------------------------------------------------


def parse(document: dict[str, object]) -> object:
    body, header = signed(document)
    return source().parse_webhook(body, header)


def test_a_paid_checkout_session_becomes_a_completed_payment() -> None:
    got = parse(checkout_completed("evt_1", created=T - 7))
    assert got == PaymentCompleted(
        event_id="evt_1",
        payment_id="pi_1",
        user_id="user-1",
        amount=Money(Decimal("299.99"), "USD"),
        occurred_at=datetime.fromtimestamp(T - 7, UTC),
        pack_id="studio-pack",
    )


def test_the_payment_id_falls_back_to_the_session_id_without_a_payment_intent() -> None:
    got = parse(checkout_completed("evt_1", created=T, payment_intent=None, session_id="cs_9"))
    assert isinstance(got, PaymentCompleted)
    assert got.payment_id == "cs_9"


def test_an_expanded_payment_intent_object_gives_its_id() -> None:
    document = checkout_completed("evt_1", created=T)
    document["data"]["object"]["payment_intent"] = {"id": "pi_expanded", "object": "payment_intent"}
    got = parse(document)
    assert isinstance(got, PaymentCompleted)
    assert got.payment_id == "pi_expanded"


def test_the_user_may_come_from_metadata() -> None:
    got = parse(
        checkout_completed(
            "evt_1", created=T, user_id=None, metadata={"user_id": "u-7", "offer_id": "o"}
        )
    )
    assert isinstance(got, PaymentCompleted)
    assert (got.user_id, got.offer_id, got.pack_id) == ("u-7", "o", None)


def test_a_user_named_twice_differently_is_refused() -> None:
    with pytest.raises(PaymentError, match="differ"):
        parse(checkout_completed("evt_1", created=T, metadata={"user_id": "someone-else"}))


def test_a_session_without_a_user_is_refused() -> None:
    with pytest.raises(PaymentError, match="client_reference_id"):
        parse(checkout_completed("evt_1", created=T, user_id=None))


def test_a_session_without_a_product_is_refused() -> None:
    with pytest.raises(PaymentError, match="product"):
        parse(checkout_completed("evt_1", created=T, metadata={}))


def test_the_price_may_come_from_metadata_or_one_expanded_line_item() -> None:
    meta = parse(checkout_completed("evt_1", created=T, metadata={"price_id": "price_a"}))
    item = {"id": "li_1", "quantity": 1, "price": {"id": "price_b", "object": "price"}}
    expanded = parse(checkout_completed("evt_2", created=T, metadata={}, line_items=[item]))
    assert isinstance(meta, PaymentCompleted)
    assert isinstance(expanded, PaymentCompleted)
    assert (meta.price_id, expanded.price_id) == ("price_a", "price_b")


def test_more_than_one_line_item_in_a_session_is_refused_rather_than_undercredited() -> None:
    items = [{"id": f"li_{i}", "quantity": 1, "price": "price_b"} for i in range(2)]
    with pytest.raises(PaymentError, match="line item"):
        parse(checkout_completed("evt_1", created=T, metadata={}, line_items=items))


def test_the_quantity_of_the_one_line_item_is_read() -> None:
    items = [{"id": "li_1", "quantity": 3, "price": "price_b"}]
    event = parse(checkout_completed("evt_1", created=T, metadata={}, line_items=items))
    assert isinstance(event, PaymentCompleted)
    assert event.quantity == 3
    for bad in (0, "2", True):
        items = [{"id": "li_1", "quantity": bad, "price": "price_b"}]
        with pytest.raises(PaymentError, match="quantity"):
            parse(checkout_completed("evt_1", created=T, metadata={}, line_items=items))


def test_an_unpaid_session_waits_for_the_async_success_event() -> None:
    unpaid = parse(checkout_completed("evt_1", created=T, payment_status="unpaid"))
    later = parse(
        checkout_completed(
            "evt_2", created=T, event_type="checkout.session.async_payment_succeeded"
        )
    )
    assert isinstance(unpaid, IgnoredEvent)
    assert isinstance(later, PaymentCompleted)
    assert later.payment_id == "pi_1"


def test_a_free_session_from_a_full_discount_still_grants_the_pack() -> None:
    got = parse(
        checkout_completed(
            "evt_1",
            created=T,
            payment_status="no_payment_required",
            payment_intent=None,
            amount_total=0,
        )
    )
    assert isinstance(got, PaymentCompleted)
    assert got.amount == Money(Decimal(0), "USD")


def test_a_subscription_checkout_is_ignored() -> None:
    assert isinstance(
        parse(checkout_completed("evt_1", created=T, mode="subscription")), IgnoredEvent
    )


# -- refunds, disputes, others ---------------------------------------------------------------------


def test_a_refunded_charge_carries_the_cumulative_amount_refunded() -> None:
    got = parse(charge_refunded("evt_r", created=T, amount_refunded=10000))
    assert got == PaymentRefunded(
        event_id="evt_r",
        payment_id="pi_1",
        amount=Money(Decimal("299.99"), "USD"),
        amount_refunded=Money(Decimal("100.00"), "USD"),
        occurred_at=datetime.fromtimestamp(T, UTC),
        charge_id="ch_1",
    )


def test_a_refund_without_payment_intent_names_the_charge() -> None:
    got = parse(charge_refunded("evt_r", created=T, amount_refunded=1, payment_intent=None))
    assert isinstance(got, PaymentRefunded)
    assert got.payment_id == "ch_1"


def test_a_refund_above_the_charge_is_refused() -> None:
    with pytest.raises(PaymentError):
        parse(charge_refunded("evt_r", created=T, amount=100, amount_refunded=101))


def test_a_dispute_names_the_payment_intent() -> None:
    got = parse(dispute_created("evt_d", created=T))
    assert isinstance(got, PaymentDisputed)
    assert (got.payment_id, got.dispute_id, got.reason) == ("pi_1", "dp_evt_d", "fraudulent")
    assert got.amount == Money(Decimal("299.99"), "USD")


def test_unknown_event_types_are_ignored_by_type() -> None:
    got = parse(event("evt_x", "customer.created", {"id": "cus_1"}, created=T))
    assert got == IgnoredEvent("evt_x", "customer.created")


@pytest.mark.parametrize(
    "document",
    [
        {"type": "charge.refunded", "created": T, "data": {"object": {}}},
        {"id": "evt_1", "created": T, "data": {"object": {}}},
        {"id": "evt_1", "type": "x", "created": "yesterday", "data": {"object": {}}},
        {"id": "evt_1", "type": "x", "created": T, "data": []},
        {"id": "evt_1", "type": "charge.refunded", "created": T, "data": {"object": {"id": "ch"}}},
    ],
)
def test_a_signed_document_that_is_not_a_usable_event_is_a_payment_error(
    document: dict[str, object],
) -> None:
    with pytest.raises(PaymentError):
        parse(document)


# -- money ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (29999, "usd", Money(Decimal("299.99"), "USD")),
        (5000, "jpy", Money(Decimal(5000), "JPY")),
        (1500, "kwd", Money(Decimal("1.500"), "KWD")),
        (5, "eur", Money(Decimal("0.05"), "EUR")),
    ],
)
def test_minor_units_become_exact_money(minor: int, currency: str, expected: Money) -> None:
    assert minor_units_to_money(minor, currency) == expected


@pytest.mark.parametrize(
    ("minor", "currency"), [(1.5, "usd"), (True, "usd"), (-1, "usd"), ("100", "usd"), (1, "us")]
)
def test_amounts_that_are_not_minor_units_are_refused(minor: object, currency: object) -> None:
    with pytest.raises(PaymentError):
        minor_units_to_money(minor, currency)


# -- issue 8, class 5: the header is parsed once, strictly ----------------------------------------


def test_a_fresh_timestamp_prepended_to_a_day_old_signature_is_refused() -> None:
    day_old = T - 86_400
    body, header = signed(checkout_completed("evt_old", created=day_old), at=day_old)
    with pytest.raises(SignatureVerificationError):
        source().parse_webhook(body, header)  # stale, as it should be
    for smuggled in (f" t={T},{header}", f"t={T},{header}", f"{header},t={T}"):
        with pytest.raises(SignatureVerificationError):
            source().parse_webhook(body, smuggled)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: h.replace("t=", "t=", 1).replace(",", "=x,", 1),  # t=<ts>=x
        lambda h: h.replace("t=", "t=+", 1),
        lambda h: h.replace("t=", "t= ", 1),
        lambda h: h.replace("t=", "t=\uff11", 1),  # a full-width digit
        lambda h: h + ",",
        lambda h: h.replace(",", ", ", 1),
    ],
)
def test_an_ambiguous_header_is_a_signature_error_not_a_crash(mangle: object) -> None:
    body, header = signed(checkout_completed("evt_1", created=T))
    assert callable(mangle)
    with pytest.raises(SignatureVerificationError):
        source().parse_webhook(body, mangle(header))


def test_a_signed_absurd_document_is_a_payment_error() -> None:
    nested = (
        b'{"id":"evt_n","type":"x","created":1,"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    )
    with pytest.raises(PaymentError, match="nested"):
        source().parse_webhook(nested, sign(nested, timestamp=T))
    body, header = signed(checkout_completed("evt_big", created=10**20))
    with pytest.raises(PaymentError, match="created"):
        source().parse_webhook(body, header)
