"""The framework-free webhook handler: signed Stripe payloads in, status codes out."""

from __future__ import annotations

import json

import pytest

from creditcore import InvalidInput
from creditcore.payments import WebhookHandler
from creditcore.payments.stripe import StripeSource
from tests.payments.harness import NOW, Endpoint, T
from tests.payments.stripe_payloads import (
    SECRET,
    charge_refunded,
    checkout_completed,
    dispute_created,
    encode,
    event,
    sign,
)


def test_a_signed_completion_credits_once_and_a_redelivery_is_a_200_duplicate() -> None:
    endpoint = Endpoint()
    document = checkout_completed("evt_1", created=T)
    first = endpoint.deliver(document)
    second = endpoint.deliver(document)
    assert (first.status, first.code, first.changed, first.duplicate) == (
        200,
        "credited",
        True,
        False,
    )
    assert (second.status, second.code, second.changed, second.duplicate) == (
        200, "already_applied", False, True,
    )  # fmt: skip
    assert endpoint.purchased() == 500
    assert json.loads(first.body()) == {
        "code": "credited",
        "message": "500 credits for 'studio-pack'",
        "event_id": "evt_1",
        "credits": 500,
    }


def test_a_forged_signature_is_answered_400_and_changes_nothing() -> None:
    endpoint = Endpoint()
    body = encode(checkout_completed("evt_1", created=T))
    result = endpoint.handler.handle_webhook(body, sign(body, timestamp=T, secret="whsec_forger"))
    assert (result.status, result.code, result.ok) == (400, "signature_verification_failed", False)
    assert endpoint.purchased() == 0
    assert b"studio-pack" not in result.body()


def test_a_replayed_old_delivery_is_answered_400() -> None:
    endpoint = Endpoint()
    result = endpoint.deliver(checkout_completed("evt_1", created=T), signed_at=T - 3600)
    assert result.status == 400
    assert endpoint.purchased() == 0


def test_a_missing_header_is_answered_400() -> None:
    endpoint = Endpoint()
    result = endpoint.handler.handle_webhook(encode(checkout_completed("e", created=T)), None)
    assert result.status == 400


def test_unknown_event_types_are_acknowledged_and_ignored() -> None:
    endpoint = Endpoint()
    result = endpoint.deliver(event("evt_x", "invoice.paid", {"id": "in_1"}, created=T))
    assert (result.status, result.code, result.event_type, result.changed) == (
        200, "ignored", "invoice.paid", False,
    )  # fmt: skip


def test_a_refund_before_its_payment_is_answered_409_so_stripe_retries() -> None:
    endpoint = Endpoint()
    result = endpoint.deliver(charge_refunded("evt_r", created=T, amount_refunded=29999))
    assert (result.status, result.code) == (409, "unknown_transaction")
    assert endpoint.deliver(checkout_completed("evt_1", created=T)).status == 200
    assert (
        endpoint.deliver(charge_refunded("evt_r", created=T, amount_refunded=29999)).status == 200
    )
    assert endpoint.purchased() == 0


def test_unknown_payments_may_be_acknowledged_instead() -> None:
    endpoint = Endpoint(unknown_payment="acknowledge")
    result = endpoint.deliver(dispute_created("evt_d", created=T))
    assert (result.status, result.code) == (200, "ignored")


def test_a_payment_for_an_account_not_opened_yet_is_answered_409() -> None:
    endpoint = Endpoint()
    result = endpoint.deliver(checkout_completed("evt_1", created=T, user_id="later"))
    assert (result.status, result.code) == (409, "unknown_account")
    endpoint.ledger.open_account("later", monthly_allowance=0)
    assert endpoint.deliver(checkout_completed("evt_1", created=T, user_id="later")).status == 200
    assert endpoint.purchased("later") == 500


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (checkout_completed("e", created=T, metadata={"pack_id": "nope"}), "unknown_channel"),
        (checkout_completed("e", created=T, metadata={}), "payment_error"),
        (
            checkout_completed(
                "e", created=T, metadata={"offer_id": "weekend-flash-sale"}, amount_total=999
            ),
            "offer_closed",
        ),
    ],
)
def test_genuine_but_unusable_events_are_answered_422_and_change_nothing(
    document: dict[str, object], code: str
) -> None:
    endpoint = Endpoint()
    result = endpoint.deliver(document)
    assert (result.status, result.code) == (422, code)
    assert endpoint.purchased() == 0


def test_a_payment_id_reused_for_another_user_is_answered_422() -> None:
    endpoint = Endpoint(("user-1", "user-2"))
    endpoint.deliver(checkout_completed("evt_1", created=T))
    result = endpoint.deliver(checkout_completed("evt_2", created=T, user_id="user-2"))
    assert (result.status, result.code) == (422, "idempotency_conflict")
    assert endpoint.purchased("user-2") == 0


def test_a_store_failure_is_answered_503(monkeypatch: pytest.MonkeyPatch) -> None:
    from creditcore import StoreError

    endpoint = Endpoint()

    def broken(_payment_id: str) -> None:
        raise StoreError("database unreachable")

    monkeypatch.setattr(endpoint.ledger.store, "purchase_by_payment", broken)
    assert endpoint.deliver(checkout_completed("evt_1", created=T)).status == 503


def test_a_chargeback_after_spending_leaves_debt() -> None:
    endpoint = Endpoint(allowance=15)
    endpoint.deliver(checkout_completed("evt_1", created=T))
    endpoint.ledger.consume("user-1", 300)
    result = endpoint.deliver(dispute_created("evt_d", created=T))
    assert result.outcome is not None
    assert (result.code, result.outcome.credits, result.outcome.debt) == ("revoked", 500, 300)
    assert (endpoint.purchased(), endpoint.debt()) == (0, 300)


def test_the_handler_refuses_an_unknown_policy() -> None:
    endpoint = Endpoint()
    source = StripeSource(SECRET, clock=lambda: NOW)
    with pytest.raises(InvalidInput):
        WebhookHandler(
            source,
            endpoint.ledger,
            endpoint.catalog,
            unknown_payment="drop",  # type: ignore[arg-type]
        )
