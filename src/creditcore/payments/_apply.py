"""Applying a verified payment event to the ledger, exactly once whatever the delivery order.

- A completion books the product's credits with ``ledger.purchase(payment_id=...)``: the ledger
  keeps one purchase per payment id, so a redelivered or duplicated completion adds nothing.
- A refund or a dispute does not apply an *increment*: it computes the TOTAL that should be
  revoked from the payment (``ceil(credits × amount_refunded / amount)`` for a refund, all of it
  for a dispute), reads what was already revoked, and revokes only the difference. Events
  carrying a smaller total than what is already revoked change nothing, so duplicates and
  reorderings converge to the same final state.
- Each revocation's idempotency key is ``revoke:<payment id>:<credits revoked before it>``: two
  deliveries racing from the same starting point use the same key, so one of them is refused
  (``IdempotencyConflict``) instead of both being applied; the loser's retry finds the new total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal

from creditcore._exceptions import OfferClosed, PaymentError, UnknownTransaction
from creditcore.ledger import Ledger, Transaction
from creditcore.payments._events import (
    IgnoredEvent,
    PaymentCompleted,
    PaymentDisputed,
    PaymentEvent,
    PaymentRefunded,
)
from creditcore.pricing import Catalog, CreditPack, LootboxOffer

__all__ = [
    "PaymentAction",
    "PaymentOutcome",
    "apply_payment_event",
    "credits_to_revoke",
    "resolve_product",
    "revoked_so_far",
]

PaymentAction = Literal["credited", "revoked", "already_applied", "ignored"]
"""What applying an event did: added credits, took credits back, nothing new, nothing at all."""


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """The result of applying one event.

    Attributes:
        event_id: The provider's event id.
        action: See :data:`PaymentAction`.
        credits: Credits added (``credited``) or taken back (``revoked``) by THIS application;
            0 for ``already_applied`` and ``ignored``.
        payment_id: The payment concerned, if any.
        user_id: The account concerned, if any.
        transaction_id: The ledger transaction written (or the earlier one for a repeated
            completion).
        debt: Credits of this revocation that were already spent and became debt.
        detail: A short human explanation, for logs.
    """

    event_id: str
    action: PaymentAction
    credits: int = 0
    payment_id: str | None = None
    user_id: str | None = None
    transaction_id: str | None = None
    debt: int = 0
    detail: str = ""

    @property
    def duplicate(self) -> bool:
        """Whether the event had already been applied (a redelivery or an older event)."""
        return self.action == "already_applied"


@dataclass(frozen=True, slots=True)
class _OfferAsPaid:
    """A lootbox offer judged at the payment's instant rather than at the ledger's clock.

    The ledger checks ``is_open(now)``; a webhook may arrive minutes or days after the customer
    paid, so the window that matters is the one at the event's own time.
    """

    offer: LootboxOffer
    paid_at: datetime

    @property
    def id(self) -> str:
        return self.offer.id

    @property
    def credits(self) -> int:
        return self.offer.credits

    def is_open(self, at: datetime) -> bool:
        return self.offer.is_open(self.paid_at)

    def next_opening(self, after: datetime) -> datetime:
        return self.offer.next_opening(self.paid_at)


def resolve_product(catalog: Catalog, event: PaymentCompleted) -> CreditPack | LootboxOffer:
    """The pack or offer a completed payment bought, from its ids (they must agree).

    Raises:
        UnknownChannel: No pack with ``pack_id`` / no product sells ``price_id``.
        UnknownOffer: No offer with ``offer_id``.
        PaymentError: The event names two different products.
    """
    found: list[CreditPack | LootboxOffer] = []
    if event.offer_id is not None:
        found.append(catalog.offer(event.offer_id))
    if event.pack_id is not None:
        found.append(catalog.pack(event.pack_id))
    if event.price_id is not None:
        found.append(catalog.find_by_price_id(event.price_id))
    first = found[0]
    for other in found[1:]:
        if type(other) is not type(first) or other.id != first.id:
            raise PaymentError(
                f"product: event {event.event_id} names {first.id!r} and {other.id!r}",
                event_id=event.event_id,
                products=[first.id, other.id],
            )
    return first


def credits_to_revoke(credits: int, event: PaymentRefunded | PaymentDisputed) -> int:
    """The total credits that should be revoked from a purchase of ``credits`` after ``event``.

    A dispute takes everything back. A refund takes back the refunded share of the payment,
    rounded UP (``ceil``): credits the customer got their money back for are never left behind,
    and because the share is cumulative the rounding never accumulates across partial refunds.
    """
    if isinstance(event, PaymentDisputed):
        return credits
    paid = event.amount.amount
    if paid == 0:
        return credits if event.amount_refunded.amount > 0 else 0
    share = Fraction(event.amount_refunded.amount) / Fraction(paid)
    product = credits * share
    return -(-product.numerator // product.denominator)


def revoked_so_far(ledger: Ledger, purchase: Transaction) -> int:
    """Credits already revoked from ``purchase`` (the ledger's :meth:`~Ledger.revoked`)."""
    assert purchase.payment_id is not None  # a purchase always records its payment id
    return ledger.revoked(purchase.payment_id)


def apply_payment_event(ledger: Ledger, event: PaymentEvent, catalog: Catalog) -> PaymentOutcome:
    """Apply one verified event to ``ledger``; safe to call again with the same or older events.

    Args:
        ledger: The ledger to write to.
        event: What a :class:`PaymentSource` produced.
        catalog: Maps the bought pack/offer/price to credits.

    Returns:
        What was done (:class:`PaymentOutcome`).

    Raises:
        UnknownTransaction: A refund or dispute for a payment the ledger has not booked (yet).
        UnknownAccount: A completion for a user without a ledger account.
        UnknownChannel, UnknownOffer, PaymentError: The completion names no known product.
        OfferClosed: A lootbox offer that was closed when the customer paid.
        IdempotencyConflict: The payment was booked with other details, or a concurrent
            revocation of the same payment won the race (retrying resolves it).
    """
    if isinstance(event, IgnoredEvent):
        return PaymentOutcome(event.event_id, "ignored", detail=f"{event.type}: {event.reason}")
    if isinstance(event, PaymentCompleted):
        return _complete(ledger, event, catalog)
    return _revoke(ledger, event)


def _complete(ledger: Ledger, event: PaymentCompleted, catalog: Catalog) -> PaymentOutcome:
    product = resolve_product(catalog, event)
    existing = ledger.store.purchase_by_payment(event.payment_id)
    if existing is not None and existing.user_id == event.user_id:
        return PaymentOutcome(
            event.event_id,
            "already_applied",
            payment_id=event.payment_id,
            user_id=event.user_id,
            transaction_id=existing.id,
            detail=f"payment already booked by transaction {existing.id}",
        )
    offer: _OfferAsPaid | None = None
    if isinstance(product, LootboxOffer):
        if not product.is_open(event.occurred_at):
            raise OfferClosed(
                f"offer {product.id!r} was closed when payment {event.payment_id} was made "
                f"({event.occurred_at.isoformat()})",
                offer_id=product.id,
                at=event.occurred_at,
                next_opening=product.next_opening(event.occurred_at),
                payment_id=event.payment_id,
            )
        offer = _OfferAsPaid(product, event.occurred_at)
    tx = ledger.purchase(
        event.user_id,
        product.credits,
        payment_id=event.payment_id,
        amount=event.amount,
        kind="purchased" if offer is None else "lootbox",
        offer=offer,
        key=event.event_id,
    )
    return PaymentOutcome(
        event.event_id,
        "credited",
        credits=product.credits,
        payment_id=event.payment_id,
        user_id=event.user_id,
        transaction_id=tx.id,
        detail=f"{product.credits} credits for {product.id!r}",
    )


def _revoke(ledger: Ledger, event: PaymentRefunded | PaymentDisputed) -> PaymentOutcome:
    purchase = ledger.store.purchase_by_payment(event.payment_id)
    if purchase is None:
        raise UnknownTransaction(
            f"payment_id {event.payment_id!r}: no purchase booked (yet) for event {event.event_id}",
            payment_id=event.payment_id,
            event_id=event.event_id,
        )
    reason = "dispute" if isinstance(event, PaymentDisputed) else "refund"
    target = credits_to_revoke(purchase.credits, event)
    before = revoked_so_far(ledger, purchase)
    if target <= before:
        return PaymentOutcome(
            event.event_id,
            "already_applied",
            payment_id=event.payment_id,
            user_id=purchase.user_id,
            detail=f"{before} of {purchase.credits} credits already revoked (target {target})",
        )
    tx = ledger.revoke_purchase(
        event.payment_id,
        target - before,
        key=f"revoke:{event.payment_id}:{before}",
        reason=reason,
    )
    debt = tx.metadata.get("debt", 0)
    return PaymentOutcome(
        event.event_id,
        "revoked",
        credits=tx.credits,
        payment_id=event.payment_id,
        user_id=purchase.user_id,
        transaction_id=tx.id,
        debt=debt if isinstance(debt, int) else 0,
        detail=f"{reason}: revoked {tx.credits}, total {target} of {purchase.credits}",
    )
