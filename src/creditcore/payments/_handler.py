"""A framework-free webhook endpoint: bytes and a header in, a status code and a body out.

Mount :meth:`WebhookHandler.handle_webhook` in any web framework: pass the raw request body
(unparsed: the signature covers its exact bytes) and the signature header, answer with
``result.status`` and ``result.body()``.

Status codes (a payment provider retries every non-2xx answer, Stripe for up to three days):

==========  ==================================================================================
200         applied, already applied, acknowledged and ignored, or ``rejected``: a genuine
            event that disagrees with the catalog (price, credits, currency) or with its
            purchase (a refund in another currency); nothing was booked, the event waits in
            the handler's rejection log until an operator re-applies it
400         signature missing, forged or stale: nothing changed
409         not applicable YET: a refund/dispute before its payment, a purchase for an account
            not opened yet, or a revocation that lost a race with a concurrent delivery
422         genuine but unusable: unknown product, closed lootbox offer, malformed event, a
            payment booked with different details; retries fail the same way until fixed
503         the ledger's store failed; retry
==========  ==================================================================================
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Literal

from creditcore._exceptions import (
    CreditcoreError,
    IdempotencyConflict,
    InvalidInput,
    OverRefund,
    SignatureVerificationError,
    StoreError,
    UnknownAccount,
    UnknownTransaction,
)
from creditcore.ledger import Ledger
from creditcore.payments._apply import PaymentOutcome, apply_payment_event
from creditcore.payments._events import IgnoredEvent, PaymentCompleted, PaymentEvent
from creditcore.payments._rejections import InMemoryRejectionLog, RejectedEvent, RejectionLog
from creditcore.payments._source import PaymentSource
from creditcore.pricing import Catalog

__all__ = ["UnknownPaymentPolicy", "WebhookHandler", "WebhookResult"]

_log = logging.getLogger("creditcore.payments")

UnknownPaymentPolicy = Literal["retry", "acknowledge"]
"""What to answer for a refund/dispute of a payment the ledger never booked: ``retry`` (409, the
provider redelivers later, when the completion may have landed) or ``acknowledge`` (200, for
platforms whose Stripe account also takes payments that are not credit purchases)."""


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What the endpoint should answer, and what happened.

    Attributes:
        status: The HTTP status code to answer.
        code: ``credited``, ``revoked``, ``already_applied``, ``ignored``, ``rejected``, or the stable
            ``code`` of the error that stopped it (``signature_verification_failed``, ...).
        message: A short human explanation.
        event_id: The provider's event id, when the payload got that far.
        event_type: ``PaymentCompleted``, ``PaymentRefunded``, ... or the ignored provider type.
        outcome: The ledger outcome when the event was applied.
    """

    status: int
    code: str
    message: str
    event_id: str | None = None
    event_type: str | None = None
    outcome: PaymentOutcome | None = None

    @property
    def ok(self) -> bool:
        """Whether the provider should consider the delivery done (2xx)."""
        return 200 <= self.status < 300

    @property
    def duplicate(self) -> bool:
        """Whether the event had already been applied (an idempotent repeat)."""
        return self.outcome is not None and self.outcome.duplicate

    @property
    def changed(self) -> bool:
        """Whether the ledger changed because of this delivery."""
        return self.outcome is not None and self.outcome.action in ("credited", "revoked")

    def body(self) -> bytes:
        """A small JSON body for the answer (never echoes the payload)."""
        document: dict[str, object] = {"code": self.code, "message": self.message}
        if self.event_id is not None:
            document["event_id"] = self.event_id
        if self.outcome is not None:
            document["credits"] = self.outcome.credits
        return json.dumps(document).encode()


def _kind(event: PaymentEvent) -> str:
    return event.type if isinstance(event, IgnoredEvent) else type(event).__name__


class WebhookHandler:
    """Verifies, translates and applies one webhook delivery; never raises for a bad request.

    Args:
        source: The provider adapter (e.g. :class:`creditcore.payments.stripe.StripeSource`).
        ledger: The ledger to credit and debit.
        catalog: Maps packs, offers and provider prices to credits.
        unknown_payment: See :data:`UnknownPaymentPolicy`.
        rejections: Where rejected events are recorded for an operator (default: in memory;
            :class:`~creditcore.payments.FileRejectionLog` keeps them in a file).
    """

    __slots__ = ("_catalog", "_ledger", "_rejections", "_source", "_unknown_payment")

    def __init__(
        self,
        source: PaymentSource,
        ledger: Ledger,
        catalog: Catalog,
        *,
        unknown_payment: UnknownPaymentPolicy = "retry",
        rejections: RejectionLog | None = None,
    ) -> None:
        if unknown_payment not in ("retry", "acknowledge"):
            raise InvalidInput(
                f"unknown_payment: must be 'retry' or 'acknowledge', got {unknown_payment!r}",
                unknown_payment=unknown_payment,
            )
        self._source = source
        self._ledger = ledger
        self._catalog = catalog
        self._unknown_payment = unknown_payment
        self._rejections: RejectionLog = (
            rejections if rejections is not None else InMemoryRejectionLog()
        )

    @property
    def rejections(self) -> RejectionLog:
        """The log of rejected events."""
        return self._rejections

    def rejected(self) -> list[RejectedEvent]:
        """Rejected events waiting for an operator, oldest first."""
        return list(self._rejections.pending())

    def reapply(self, event_id: str, *, catalog: Catalog | None = None) -> WebhookResult:
        """Apply a rejected event again (after the catalog was fixed); resolved when it is no
        longer rejected.

        Args:
            event_id: The rejected event's id.
            catalog: The fixed catalog (default: the handler's).

        Raises:
            UnknownTransaction: No pending rejection with that id.
        """
        pending = self._rejections.get(event_id)
        if pending is None:
            raise UnknownTransaction(
                f"event_id: no rejected event {event_id!r} is pending", event_id=event_id
            )
        result = self._apply(pending.event, catalog if catalog is not None else self._catalog)
        if result.ok and result.code != "rejected":
            self._rejections.resolve(event_id)
        return result

    def handle_webhook(self, payload: bytes, signature_header: str | None) -> WebhookResult:
        """Handle one delivery: verify, translate, apply exactly once, choose the answer.

        Args:
            payload: The raw request body, byte for byte.
            signature_header: The provider's signature header (Stripe: ``Stripe-Signature``).

        Returns:
            The answer to give (see the module docs for the status codes). Errors of creditcore
            become answers; anything else (a bug) propagates.
        """
        try:
            event = self._source.parse_webhook(payload, signature_header)
        except SignatureVerificationError as error:
            _log.warning("webhook refused: %s", error.message)
            return WebhookResult(400, error.code, error.message)
        except CreditcoreError as error:
            _log.error("webhook unusable: %s", error.message)
            return WebhookResult(422, error.code, error.message)
        return self._apply(event, self._catalog)

    def _apply(self, event: PaymentEvent, catalog: Catalog) -> WebhookResult:
        kind = _kind(event)
        try:
            outcome = apply_payment_event(self._ledger, event, catalog)
        except CreditcoreError as error:
            status = self._status_for(error, event)
            log = _log.warning if status in (409, 503) else _log.error
            log("event %s (%s) not applied [%d]: %s", event.event_id, kind, status, error.message)
            if status == 200:  # an unknown payment we were told to acknowledge
                return WebhookResult(200, "ignored", error.message, event.event_id, kind)
            return WebhookResult(status, error.code, error.message, event.event_id, kind)
        if outcome.action == "rejected":
            _log.error("event %s (%s) rejected: %s", event.event_id, kind, outcome.detail)
            self._rejections.record(
                RejectedEvent(
                    event=event,
                    reason_code=outcome.reason_code or "rejected",
                    reason=outcome.detail,
                    expected=outcome.expected,
                    came=outcome.came,
                    rejected_at=self._ledger.now(),
                    context=outcome.context,
                )
            )
        else:
            _log.info("event %s (%s): %s %s", event.event_id, kind, outcome.action, outcome.detail)
        return WebhookResult(200, outcome.action, outcome.detail, event.event_id, kind, outcome)

    def _status_for(self, error: CreditcoreError, event: PaymentEvent) -> int:
        if isinstance(error, UnknownTransaction):
            return 409 if self._unknown_payment == "retry" else 200
        if isinstance(error, UnknownAccount | OverRefund):
            return 409
        if isinstance(error, IdempotencyConflict):
            # a revocation that lost a race resolves on retry; a payment id booked with other
            # details (another user, another product) does not
            return 422 if isinstance(event, PaymentCompleted) else 409
        if isinstance(error, StoreError):
            return 503
        return 422
