"""The payment-source port: a provider adapter that verifies and parses raw webhooks."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from creditcore.payments._events import PaymentEvent

__all__ = ["PaymentSource"]


@runtime_checkable
class PaymentSource(Protocol):
    """Turns a provider's raw webhook into one verified :data:`PaymentEvent`.

    Implementations check the signature BEFORE reading anything from the payload, and touch no
    ledger: they only translate. :class:`creditcore.payments.stripe.StripeSource` is one.
    """

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> PaymentEvent:
        """Verify ``payload`` against ``signature_header`` and translate it.

        Args:
            payload: The request body exactly as received (the signature covers these bytes).
            signature_header: The provider's signature header value, or ``None`` if absent.

        Returns:
            The event; :class:`IgnoredEvent` for verified events that change no credits.

        Raises:
            SignatureVerificationError: missing, forged or stale signature.
            PaymentError: a verified event that cannot be understood (missing user, product...).
        """
        ...
