"""Verified payment events: what a payment provider told us, as frozen values.

A :class:`PaymentSource` turns a raw, signed webhook into exactly one of these. They carry facts
(who paid, which payment, how much, for what), never decisions: turning them into credits is
the job of :func:`creditcore.payments.apply_payment_event`, which consults the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditcore._exceptions import InvalidInput
from creditcore._time import require_aware
from creditcore.pricing import Money

__all__ = [
    "IgnoredEvent",
    "PaymentCompleted",
    "PaymentDisputed",
    "PaymentEvent",
    "PaymentRefunded",
]


def _require_text(field: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field}: expected a non-empty string, got {value!r}", **{field: value})


@dataclass(frozen=True, slots=True)
class PaymentCompleted:
    """A payment that was collected: the user is owed the credits of what they bought.

    Exactly one of ``pack_id``, ``offer_id`` or ``price_id`` names what was bought (several may
    be given if they agree); the catalog turns it into credits.

    Attributes:
        event_id: The provider's id of this event (``evt_...``), unique per delivery subject.
        payment_id: The provider's id of the payment (Stripe: the PaymentIntent, else the
            Checkout Session); credits are added once per payment id.
        user_id: The ledger account to credit.
        amount: What the customer paid in total (discounts applied, taxes included).
        occurred_at: When the provider says the event happened (not when it arrived).
        pack_id: A credit pack id of the catalog.
        offer_id: A lootbox offer id of the catalog.
        price_id: A provider price id the catalog maps to a pack or an offer.
        quantity: How many of the product were bought.
        subtotal: The list amount before discounts and taxes (``None``: not reported; then
            ``amount`` is taken as the list amount).
        discount: Promotion discounts applied (``None``: none).
        tax: Tax collected (``None``: none); tax is not revenue.
    """

    event_id: str
    payment_id: str
    user_id: str
    amount: Money
    occurred_at: datetime
    pack_id: str | None = None
    offer_id: str | None = None
    price_id: str | None = None
    quantity: int = 1
    subtotal: Money | None = None
    discount: Money | None = None
    tax: Money | None = None

    def __post_init__(self) -> None:
        _require_text("event_id", self.event_id)
        _require_text("payment_id", self.payment_id)
        _require_text("user_id", self.user_id)
        require_aware(self.occurred_at, "occurred_at")
        if self.pack_id is None and self.offer_id is None and self.price_id is None:
            raise InvalidInput(
                "pack_id/offer_id/price_id: a completed payment must name what was bought",
                event_id=self.event_id,
            )
        if (
            isinstance(self.quantity, bool)
            or not isinstance(self.quantity, int)
            or self.quantity < 1
        ):
            raise InvalidInput(
                f"quantity: must be an int ≥ 1, got {self.quantity!r}", event_id=self.event_id
            )

    @property
    def net(self) -> Money:
        """What the platform keeps: the amount paid less tax (discounts already applied)."""
        return self.amount if self.tax is None else self.amount - self.tax

    @property
    def list_amount(self) -> Money:
        """The list amount the catalog price is compared with (``subtotal``, else ``amount``)."""
        return self.subtotal if self.subtotal is not None else self.amount


@dataclass(frozen=True, slots=True)
class PaymentRefunded:
    """Money of a payment went back to the customer (possibly in part).

    Attributes:
        event_id: The provider's id of this event.
        payment_id: The payment the refund belongs to (same id as its :class:`PaymentCompleted`).
        amount: The whole amount of the charge.
        amount_refunded: The CUMULATIVE amount refunded so far (not this refund's increment),
            so that late or repeated events can be applied by difference.
        occurred_at: When the provider says the event happened.
        charge_id: The provider's charge id, for the record.
    """

    event_id: str
    payment_id: str
    amount: Money
    amount_refunded: Money
    occurred_at: datetime
    charge_id: str | None = None

    def __post_init__(self) -> None:
        _require_text("event_id", self.event_id)
        _require_text("payment_id", self.payment_id)
        require_aware(self.occurred_at, "occurred_at")
        if self.amount.currency != self.amount_refunded.currency:
            raise InvalidInput(
                f"amount_refunded: currency {self.amount_refunded.currency!r} differs from "
                f"the charge's {self.amount.currency!r}",
                event_id=self.event_id,
            )
        if not (0 <= self.amount_refunded.amount <= self.amount.amount):
            raise InvalidInput(
                f"amount_refunded: {self.amount_refunded.amount} is outside "
                f"[0, {self.amount.amount}]",
                event_id=self.event_id,
                amount_refunded=self.amount_refunded.amount,
            )


@dataclass(frozen=True, slots=True)
class PaymentDisputed:
    """The customer's bank opened a dispute (chargeback): all credits of the payment go back.

    Attributes:
        event_id: The provider's id of this event.
        payment_id: The disputed payment (same id as its :class:`PaymentCompleted`).
        amount: The disputed amount.
        occurred_at: When the provider says the event happened.
        dispute_id: The provider's dispute id, for the record.
        reason: The provider's reason code (``fraudulent``, ``duplicate``, ...), if any.
    """

    event_id: str
    payment_id: str
    amount: Money
    occurred_at: datetime
    dispute_id: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        _require_text("event_id", self.event_id)
        _require_text("payment_id", self.payment_id)
        require_aware(self.occurred_at, "occurred_at")


@dataclass(frozen=True, slots=True)
class IgnoredEvent:
    """A verified event that changes no credits (an event type we do not act on).

    Attributes:
        event_id: The provider's id of this event.
        type: The provider's event type (``customer.created``, ...).
        reason: Why it is ignored, for logs.
    """

    event_id: str
    type: str
    reason: str = "event type not handled"


PaymentEvent = PaymentCompleted | PaymentRefunded | PaymentDisputed | IgnoredEvent
"""Every event a :class:`PaymentSource` can produce."""
