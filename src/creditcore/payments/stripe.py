"""Stripe webhooks as a :class:`~creditcore.payments.PaymentSource` (extra ``creditcore[stripe]``).

This is the only module of creditcore that imports the official ``stripe`` package, and it does
so lazily: importing it costs nothing, building a :class:`StripeSource` without ``stripe``
installed raises an :class:`ImportError` that says which extra to install.

Events understood (everything else becomes :class:`~creditcore.payments.IgnoredEvent`):

- ``checkout.session.completed`` and ``checkout.session.async_payment_succeeded`` of a
  ``mode="payment"`` session whose ``payment_status`` is ``paid`` (or ``no_payment_required``):
  :class:`~creditcore.payments.PaymentCompleted`. The user is ``client_reference_id`` or
  ``metadata.user_id``; the product is ``metadata.pack_id``, ``metadata.offer_id``,
  ``metadata.price_id`` or the price of the single expanded line item; the payment id is the
  session's ``payment_intent`` (the session id when there is none). Amounts as Checkout
  reports them: ``amount_subtotal`` (before discounts and taxes), ``amount_total`` (after
  both), ``total_details.amount_discount`` and ``total_details.amount_tax``, in the session's
  ``currency``; the quantity is the expanded line item's (else ``metadata.quantity``, else 1).
- ``charge.refunded``: :class:`~creditcore.payments.PaymentRefunded` with the charge's cumulative
  ``amount_refunded``; the payment id is the charge's ``payment_intent`` (else the charge id).
- ``charge.dispute.created``: :class:`~creditcore.payments.PaymentDisputed`; the payment id is
  the dispute's ``payment_intent`` (else its charge id).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

from creditcore._exceptions import InvalidInput, PaymentError, SignatureVerificationError
from creditcore.payments._events import (
    IgnoredEvent,
    PaymentCompleted,
    PaymentDisputed,
    PaymentEvent,
    PaymentRefunded,
)
from creditcore.pricing import Money

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "StripeSource", "minor_units_to_money"]

DEFAULT_TOLERANCE_SECONDS = 300
"""How old (or how far in the future) a signature timestamp may be: Stripe's default, 5 min."""

# Stripe's zero-decimal and three-decimal currencies (amounts are sent in minor units).
_ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
_THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])

_COMPLETION_TYPES = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)
_PAID_STATUSES = frozenset({"paid", "no_payment_required"})


def _load_stripe() -> ModuleType:
    """Import the official ``stripe`` package, or explain which extra provides it."""
    try:
        return importlib.import_module("stripe")
    except ImportError as error:
        raise ImportError(
            "creditcore.payments.stripe needs the 'stripe' package: "
            "pip install 'creditcore[stripe]'"
        ) from error


def minor_units_to_money(minor: object, currency: object, *, field: str = "amount") -> Money:
    """Turn Stripe's integer minor units (cents, yen, fils) into exact :class:`Money`.

    Args:
        minor: The integer amount as Stripe sends it (``29999`` for $299.99).
        currency: Stripe's lower-case currency code (``"usd"``).
        field: The payload field, for the error message.

    Raises:
        PaymentError: The amount is not an integer or the currency is not a 3-letter code.
    """
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        raise PaymentError(
            f"{field}: expected a non-negative integer of minor units, got {minor!r}",
            field=field,
            value=minor,
        )
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise PaymentError(
            f"currency: expected a 3-letter code, got {currency!r}",
            field="currency",
            value=currency,
        )
    code = currency.upper()
    places = 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2
    return Money(Decimal(minor).scaleb(-places), code)


def _mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PaymentError(f"{field}: expected an object, got {value!r}", field=field)
    return value


def _text(obj: Mapping[str, Any], key: str) -> str | None:
    """A non-empty string field, or ``None`` when absent/empty."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PaymentError(f"{key}: expected a string, got {value!r}", field=key, value=value)
    return value


def _id_of(obj: Mapping[str, Any], key: str) -> str | None:
    """The id in ``obj[key]``, whether Stripe sent it as a string or as an expanded object."""
    value = obj.get(key)
    if isinstance(value, Mapping):
        return _text(value, "id")
    return _text(obj, key)


def _required(value: str | None, field: str, event_id: str) -> str:
    if value is None:
        raise PaymentError(f"{field}: missing in event {event_id}", field=field, event_id=event_id)
    return value


class StripeSource:
    """Verifies Stripe webhook signatures and translates Stripe events into payment events.

    Args:
        endpoint_secret: The endpoint's signing secret (``whsec_...``) from the Stripe dashboard
            or ``stripe listen``.
        tolerance: Seconds a signature timestamp may differ from now (replay protection).
        clock: Returns the current aware datetime; defaults to the system clock (UTC).

    Raises:
        ImportError: The ``stripe`` package is not installed.
        InvalidInput: The secret is empty or the tolerance is not a positive int.
    """

    __slots__ = ("_clock", "_secret", "_stripe", "_tolerance")

    def __init__(
        self,
        endpoint_secret: str,
        *,
        tolerance: int = DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not isinstance(endpoint_secret, str) or not endpoint_secret.strip():
            raise InvalidInput("endpoint_secret: must be a non-empty string (whsec_...)")
        if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance <= 0:
            raise InvalidInput(
                f"tolerance: must be a positive number of seconds, got {tolerance!r}",
                tolerance=tolerance,
            )
        self._stripe = _load_stripe()
        self._secret = endpoint_secret
        self._tolerance = tolerance
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- verification -----------------------------------------------------------------------

    def verify(self, payload: bytes, signature_header: str | None) -> None:
        """Check the ``Stripe-Signature`` header over ``payload``; return quietly if genuine.

        The HMAC-SHA256 comparison is Stripe's own (``stripe.WebhookSignature``); the timestamp
        window is checked here against the injected clock, in both directions.

        Raises:
            SignatureVerificationError: no header, no ``v1`` signature matching the secret, an
                unreadable header, or a timestamp more than ``tolerance`` seconds from now.
        """
        if not isinstance(payload, bytes | bytearray):
            raise SignatureVerificationError(
                f"payload: expected the raw request body as bytes, got {type(payload).__name__}"
            )
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as error:
            raise SignatureVerificationError(
                "payload: not UTF-8, cannot be a Stripe event"
            ) from error
        if not signature_header or not signature_header.strip():
            # said here: stripe-python's own text advises the *_without_verification methods,
            # which is no message for an HTTP client
            raise SignatureVerificationError("Stripe-Signature: header missing", header=None)
        signed_at = _header_timestamp(signature_header)  # parsed once, strictly, before use
        try:
            self._stripe.WebhookSignature.verify_header(
                text, signature_header, self._secret, tolerance=None
            )
        except self._stripe.SignatureVerificationError as error:
            raise SignatureVerificationError(
                f"Stripe-Signature: {error}", header=signature_header
            ) from error
        now = self._clock().timestamp()
        if abs(now - signed_at) > self._tolerance:
            raise SignatureVerificationError(
                f"Stripe-Signature: timestamp {signed_at} is more than {self._tolerance} s "
                f"from now ({int(now)}); a replayed or stale delivery",
                timestamp=signed_at,
                now=int(now),
                tolerance=self._tolerance,
            )

    # -- translation ------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> PaymentEvent:
        """Verify the signature, then translate the Stripe event (see the module docs).

        Raises:
            SignatureVerificationError: the signature is missing, forged or stale.
            PaymentError: a genuine event that lacks what it needs (user, product, amounts).
        """
        self.verify(payload, signature_header)
        try:
            document = json.loads(payload)
        except ValueError as error:
            raise PaymentError(f"payload: not JSON ({error})") from error
        except RecursionError as error:  # a signed but absurdly nested document
            raise PaymentError("payload: JSON nested too deeply to be a Stripe event") from error
        return self.translate(_mapping(document, "event"))

    def translate(self, event: Mapping[str, Any]) -> PaymentEvent:
        """Translate an already verified Stripe event document (a parsed JSON object).

        Raises:
            PaymentError: the document is not a Stripe event or lacks what it needs.
        """
        event_id = _required(_text(event, "id"), "id", "?")
        event_type = _required(_text(event, "type"), "type", event_id)
        created = event.get("created")
        if isinstance(created, bool) or not isinstance(created, int):
            raise PaymentError(
                f"created: expected a Unix timestamp in event {event_id}, got {created!r}",
                event_id=event_id,
            )
        try:
            occurred_at = datetime.fromtimestamp(created, UTC)
        except (OverflowError, OSError, ValueError) as error:
            raise PaymentError(
                f"created: {created!r} is not an instant on the calendar in event {event_id}",
                event_id=event_id,
            ) from error
        data = _mapping(event.get("data"), "data")
        obj = _mapping(data.get("object"), "data.object")
        try:
            if event_type in _COMPLETION_TYPES:
                return _completion(event_id, event_type, occurred_at, obj)
            if event_type == "charge.refunded":
                return _refund(event_id, occurred_at, obj)
            if event_type == "charge.dispute.created":
                return _dispute(event_id, occurred_at, obj)
        except InvalidInput as error:  # an event value refused what the payload said
            raise PaymentError(f"event {event_id}: {error.message}", event_id=event_id) from error
        return IgnoredEvent(event_id, event_type)


def _header_timestamp(header: str) -> int:
    """The one ``t=`` of a ``Stripe-Signature`` header, read strictly (else a 400).

    The header is ``key=value`` items joined by ``,`` with no spaces; exactly one ``t`` whose
    value is ASCII digits. Anything that could be read two ways (a second ``t``, an item with
    spaces, ``t=<ts>=x``) is refused, so the timestamp checked here is the one Stripe signed.
    """
    stamps: list[str] = []
    for item in header.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key or item != item.strip() or not key.isascii() or not key.isalnum():
            raise SignatureVerificationError(
                f"Stripe-Signature: malformed item {item[:40]!r}", header=header[:200]
            )
        if key == "t":
            stamps.append(value)
    if len(stamps) != 1:
        raise SignatureVerificationError(
            f"Stripe-Signature: expected exactly one t=, found {len(stamps)}", header=header[:200]
        )
    value = stamps[0]
    if not (value.isascii() and value.isdigit() and len(value) <= 12):
        raise SignatureVerificationError(
            f"Stripe-Signature: t= must be a Unix timestamp, got {value[:40]!r}",
            header=header[:200],
        )
    return int(value)


def _completion(
    event_id: str, event_type: str, occurred_at: datetime, session: Mapping[str, Any]
) -> PaymentEvent:
    mode = _text(session, "mode")
    if mode is not None and mode != "payment":
        return IgnoredEvent(event_id, event_type, f"checkout mode {mode!r} sells no credits")
    status = _text(session, "payment_status")
    if status not in _PAID_STATUSES:
        return IgnoredEvent(
            event_id,
            event_type,
            f"payment_status {status!r}: credits wait for checkout.session.async_payment_succeeded",
        )
    session_id = _required(_text(session, "id"), "data.object.id", event_id)
    metadata = _mapping(session.get("metadata") or {}, "metadata")
    reference = _text(session, "client_reference_id")
    meta_user = _text(metadata, "user_id")
    if reference and meta_user and reference != meta_user:
        raise PaymentError(
            f"user: client_reference_id {reference!r} and metadata.user_id {meta_user!r} differ "
            f"in event {event_id}",
            event_id=event_id,
        )
    user_id = _required(reference or meta_user, "client_reference_id/metadata.user_id", event_id)
    pack_id = _text(metadata, "pack_id")
    offer_id = _text(metadata, "offer_id")
    price_id = _text(metadata, "price_id") or _line_item_price(session, event_id)
    if pack_id is None and offer_id is None and price_id is None:
        raise PaymentError(
            f"product: event {event_id} names no metadata.pack_id, metadata.offer_id, "
            "metadata.price_id nor an expanded line item",
            event_id=event_id,
        )
    currency = session.get("currency")
    total = session.get("amount_total")
    amount = minor_units_to_money(0 if total is None else total, currency)
    subtotal_minor = session.get("amount_subtotal")
    subtotal = (
        None
        if subtotal_minor is None
        else minor_units_to_money(subtotal_minor, currency, field="amount_subtotal")
    )
    details = _mapping(session.get("total_details") or {}, "total_details")
    discount = _optional_money(details, "amount_discount", currency)
    tax = _optional_money(details, "amount_tax", currency)
    return PaymentCompleted(
        event_id=event_id,
        payment_id=_id_of(session, "payment_intent") or session_id,
        user_id=user_id,
        amount=amount,
        occurred_at=occurred_at,
        pack_id=pack_id,
        offer_id=offer_id,
        price_id=price_id,
        quantity=_quantity(session, metadata, event_id),
        subtotal=subtotal,
        discount=discount,
        tax=tax,
    )


def _optional_money(details: Mapping[str, Any], key: str, currency: object) -> Money | None:
    """``total_details[key]`` as money, ``None`` when absent or zero."""
    value = details.get(key)
    if value is None or value == 0:
        return None
    return minor_units_to_money(value, currency, field=f"total_details.{key}")


def _quantity(session: Mapping[str, Any], metadata: Mapping[str, Any], event_id: str) -> int:
    """The quantity bought: the expanded line item's, else ``metadata.quantity``, else 1."""
    line_items = session.get("line_items")
    if isinstance(line_items, Mapping):
        items = line_items.get("data")
        if isinstance(items, list) and len(items) == 1:
            value = _mapping(items[0], "line_item").get("quantity", 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PaymentError(
                    f"line_items: quantity {value!r} in event {event_id} is not an int ≥ 1",
                    event_id=event_id,
                )
            return value
    text = _text(metadata, "quantity")
    if text is None:
        return 1
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise PaymentError(
            f"metadata.quantity: expected a whole number ≥ 1 in event {event_id}, got {text!r}",
            event_id=event_id,
        )
    return int(text)


def _line_item_price(session: Mapping[str, Any], event_id: str) -> str | None:
    """The price id of the session's one expanded line item, if expanded."""
    line_items = session.get("line_items")
    if not isinstance(line_items, Mapping):
        return None
    items = line_items.get("data")
    if not isinstance(items, list) or not items:
        return None
    if len(items) != 1:
        raise PaymentError(
            f"line_items: event {event_id} sells {len(items)} line items; one pack or offer "
            "(of any quantity) per Checkout Session is supported",
            event_id=event_id,
        )
    return _id_of(_mapping(items[0], "line_item"), "price")


def _refund(event_id: str, occurred_at: datetime, charge: Mapping[str, Any]) -> PaymentRefunded:
    charge_id = _required(_text(charge, "id"), "data.object.id", event_id)
    currency = charge.get("currency")
    captured = charge.get("amount_captured")
    collected = captured if isinstance(captured, int) and captured > 0 else charge.get("amount")
    return PaymentRefunded(
        event_id=event_id,
        payment_id=_id_of(charge, "payment_intent") or charge_id,
        amount=minor_units_to_money(collected, currency),
        amount_refunded=minor_units_to_money(
            charge.get("amount_refunded"), currency, field="amount_refunded"
        ),
        occurred_at=occurred_at,
        charge_id=charge_id,
    )


def _dispute(event_id: str, occurred_at: datetime, dispute: Mapping[str, Any]) -> PaymentDisputed:
    charge_id = _id_of(dispute, "charge")
    payment_id = _required(
        _id_of(dispute, "payment_intent") or charge_id, "payment_intent/charge", event_id
    )
    return PaymentDisputed(
        event_id=event_id,
        payment_id=payment_id,
        amount=minor_units_to_money(dispute.get("amount"), dispute.get("currency")),
        occurred_at=occurred_at,
        dispute_id=_text(dispute, "id"),
        reason=_text(dispute, "reason"),
    )
