"""Payments: verified provider events turned into ledger purchases and chargebacks, exactly once.

The port is provider-free: a :class:`PaymentSource` verifies a raw webhook and translates it into
a :data:`PaymentEvent`; :func:`apply_payment_event` applies it to a :class:`~creditcore.ledger.Ledger`
so that duplicated and reordered deliveries end in the same state as one in-order delivery;
:class:`WebhookHandler` does both for one HTTP request, in any web framework. Provider adapters
live in submodules: :mod:`creditcore.payments.stripe` (extra ``creditcore[stripe]``). See
``docs/payments.md``.

Example::

    from creditcore.ledger import Ledger, InMemoryStore
    from creditcore.payments import WebhookHandler
    from creditcore.payments.stripe import StripeSource
    from creditcore.pricing import example_catalog

    handler = WebhookHandler(StripeSource("whsec_..."), Ledger(InMemoryStore()), example_catalog())
    result = handler.handle_webhook(request_body, request_headers["Stripe-Signature"])
    # answer result.status with result.body()
"""

from creditcore._public import publish
from creditcore.payments._apply import (
    PaymentAction,
    PaymentOutcome,
    apply_payment_event,
    credits_to_revoke,
    resolve_product,
)
from creditcore.payments._events import (
    IgnoredEvent,
    PaymentCompleted,
    PaymentDisputed,
    PaymentEvent,
    PaymentRefunded,
)
from creditcore.payments._handler import UnknownPaymentPolicy, WebhookHandler, WebhookResult
from creditcore.payments._rejections import (
    FileRejectionLog,
    InMemoryRejectionLog,
    RejectedEvent,
    RejectionLog,
)
from creditcore.payments._source import PaymentSource

__all__ = [
    "FileRejectionLog",
    "IgnoredEvent",
    "InMemoryRejectionLog",
    "PaymentAction",
    "PaymentCompleted",
    "PaymentDisputed",
    "PaymentEvent",
    "PaymentOutcome",
    "PaymentRefunded",
    "PaymentSource",
    "RejectedEvent",
    "RejectionLog",
    "UnknownPaymentPolicy",
    "WebhookHandler",
    "WebhookResult",
    "apply_payment_event",
    "credits_to_revoke",
    "resolve_product",
]

publish(__name__, __all__)
