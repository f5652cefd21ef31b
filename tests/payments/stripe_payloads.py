"""Stripe-shaped webhook payloads and signatures for tests, built by hand (no network, no SDK).

The signature follows Stripe's documented scheme independently of the ``stripe`` package:
``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

__all__ = [
    "SECRET",
    "charge_refunded",
    "checkout_completed",
    "dispute_created",
    "encode",
    "event",
    "sign",
]

SECRET = "whsec_test_creditcore_0123456789"
"""The endpoint secret the tests sign with."""


def sign(payload: bytes, *, timestamp: int, secret: str = SECRET) -> str:
    """A ``Stripe-Signature`` header for ``payload`` signed at ``timestamp``."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def encode(document: dict[str, Any]) -> bytes:
    """The JSON body as Stripe would send it."""
    return json.dumps(document, separators=(",", ":")).encode()


def event(event_id: str, event_type: str, obj: dict[str, Any], *, created: int) -> dict[str, Any]:
    """A Stripe event envelope around ``obj``."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }


def checkout_completed(
    event_id: str,
    *,
    created: int,
    session_id: str = "cs_test_1",
    payment_intent: str | None = "pi_1",
    user_id: str | None = "user-1",
    metadata: dict[str, str] | None = None,
    amount_total: int = 29999,
    currency: str = "usd",
    payment_status: str = "paid",
    mode: str = "payment",
    event_type: str = "checkout.session.completed",
    line_items: list[dict[str, Any]] | None = None,
    amount_subtotal: int | None = None,
    amount_discount: int = 0,
    amount_tax: int = 0,
) -> dict[str, Any]:
    """A ``checkout.session.completed`` event (metadata defaults to the Studio Pack).

    Amounts follow Checkout's shape: ``amount_subtotal`` before discounts and taxes,
    ``amount_total`` after both, ``total_details.amount_discount``/``amount_tax`` (given
    ``amount_subtotal``; without it the session carries only ``amount_total``, as older tests
    did).
    """
    session: dict[str, Any] = {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": amount_total,
        "currency": currency,
        "client_reference_id": user_id,
        "created": created - 60,
        "metadata": {"pack_id": "studio-pack"} if metadata is None else metadata,
        "mode": mode,
        "payment_intent": payment_intent,
        "payment_status": payment_status,
        "status": "complete",
    }
    if amount_subtotal is not None:
        session["amount_subtotal"] = amount_subtotal
        session["total_details"] = {
            "amount_discount": amount_discount,
            "amount_shipping": 0,
            "amount_tax": amount_tax,
        }
    if line_items is not None:
        session["line_items"] = {"object": "list", "data": line_items}
    return event(event_id, event_type, session, created=created)


def charge_refunded(
    event_id: str,
    *,
    created: int,
    amount_refunded: int,
    amount: int = 29999,
    payment_intent: str | None = "pi_1",
    charge_id: str = "ch_1",
    currency: str = "usd",
) -> dict[str, Any]:
    """A ``charge.refunded`` event; ``amount_refunded`` is cumulative, as Stripe sends it."""
    charge = {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "currency": currency,
        "payment_intent": payment_intent,
        "refunded": amount_refunded == amount,
    }
    return event(event_id, "charge.refunded", charge, created=created)


def dispute_created(
    event_id: str,
    *,
    created: int,
    amount: int = 29999,
    payment_intent: str | None = "pi_1",
    charge_id: str = "ch_1",
    currency: str = "usd",
) -> dict[str, Any]:
    """A ``charge.dispute.created`` event."""
    dispute = {
        "id": f"dp_{event_id}",
        "object": "dispute",
        "amount": amount,
        "charge": charge_id,
        "currency": currency,
        "payment_intent": payment_intent,
        "reason": "fraudulent",
        "status": "needs_response",
    }
    return event(event_id, "charge.dispute.created", dispute, created=created)
