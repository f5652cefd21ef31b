"""Applying a verified payment event to the ledger, exactly once whatever the delivery order.

- A completion books the product's credits with ``ledger.purchase(payment_id=...)``: the ledger
  keeps one purchase per payment id, so a redelivered or duplicated completion adds nothing.
  The sale must match the catalog at the payment's time: credits = the product's × quantity,
  the list amount (Stripe's ``amount_subtotal``) = its price × quantity, in the catalog's
  currency. A promotion discount is legitimate and lowers the value of the credits (the ledger
  records the amount kept, net of tax); tax is not revenue. A mismatch books nothing and is
  ``rejected``: answered 2xx (a retry cannot fix it), recorded for an operator, re-applicable
  once the catalog is fixed.
- A refund or a dispute in another currency than the purchase is ``rejected`` the same way.
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

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from creditcore._exceptions import PaymentError, PriceMismatch, UnknownTransaction
from creditcore.ledger import Ledger
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
]

PaymentAction = Literal["credited", "revoked", "already_applied", "ignored", "rejected"]
"""What applying an event did: added credits, took credits back, nothing new, nothing at all,
or refused a genuine event that disagrees with the catalog or the purchase (nothing booked)."""


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
        reason_code: For ``rejected``: the stable code of the refusal (``price_mismatch``).
        expected: For ``rejected``: what the catalog or the purchase says, as text.
        came: For ``rejected``: what the event said, as text.
    """

    event_id: str
    action: PaymentAction
    credits: int = 0
    payment_id: str | None = None
    user_id: str | None = None
    transaction_id: str | None = None
    debt: int = 0
    detail: str = ""
    reason_code: str | None = None
    expected: str | None = None
    came: str | None = None
    context: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def duplicate(self) -> bool:
        """Whether the event had already been applied (a redelivery or an older event)."""
        return self.action == "already_applied"


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

    A completion whose credits, price or currency disagree with the catalog, or a refund or
    dispute in another currency than its purchase, returns the outcome ``rejected`` (nothing
    booked) instead of raising.
        IdempotencyConflict: The payment was booked with other details, or a concurrent
            revocation of the same payment won the race (retrying resolves it).
    """
    if isinstance(event, IgnoredEvent):
        return PaymentOutcome(event.event_id, "ignored", detail=f"{event.type}: {event.reason}")
    if isinstance(event, PaymentCompleted):
        return _complete(ledger, event, catalog)
    return _revoke(ledger, event)


def _rejected(event_id: str, error: PriceMismatch, **ids: str | None) -> PaymentOutcome:
    context = error.context
    expected = context.get("expected")
    came = context.get("came")
    return PaymentOutcome(
        event_id,
        "rejected",
        payment_id=ids.get("payment_id"),
        user_id=ids.get("user_id"),
        detail=error.message,
        reason_code=error.code,
        expected=None if expected is None else str(expected),
        came=None if came is None else str(came),
        context={k: str(v) for k, v in context.items()},
    )


def _check_totals(event: PaymentCompleted) -> None:
    """The session's own figures must add up: total = subtotal − discount (+ tax when the tax is
    added on top; a tax-inclusive price already contains it)."""
    if event.subtotal is None:
        return
    discount = event.discount.amount if event.discount is not None else 0
    tax = event.tax.amount if event.tax is not None else 0
    kept = event.subtotal.amount - discount
    if event.amount.amount not in (kept + tax, kept):
        raise PriceMismatch(
            f"payment_id {event.payment_id!r}: amount_total {event.amount.amount} is neither "
            f"subtotal − discount + tax ({kept + tax}) nor subtotal − discount ({kept}); "
            "nothing was booked",
            field="amount_total",
            expected=f"{kept + tax} {event.amount.currency}",
            came=f"{event.amount.amount} {event.amount.currency}",
            payment_id=event.payment_id,
        )


def _complete(ledger: Ledger, event: PaymentCompleted, catalog: Catalog) -> PaymentOutcome:
    product = resolve_product(catalog, event)
    existing = ledger.purchase_of(event.payment_id)
    if existing is not None and existing.user_id == event.user_id:
        return PaymentOutcome(
            event.event_id,
            "already_applied",
            payment_id=event.payment_id,
            user_id=event.user_id,
            transaction_id=existing.id,
            detail=f"payment already booked by transaction {existing.id}",
        )
    credits = product.credits * event.quantity
    try:
        _check_totals(event)
        net = event.net
        off = event.list_amount - net  # discounts (and a tax-inclusive price's tax)
        paid_at = min(event.occurred_at, ledger.now())
        if isinstance(product, LootboxOffer):
            tx = ledger.purchase(
                event.user_id, credits, payment_id=event.payment_id, amount=net,
                discount=off if off.amount else None, kind="lootbox", offer=product,
                catalog=catalog, paid_at=paid_at, key=event.event_id,
            )  # fmt: skip
        else:
            tx = ledger.purchase(
                event.user_id, credits, payment_id=event.payment_id, amount=net,
                discount=off if off.amount else None, pack=product, catalog=catalog,
                paid_at=paid_at, key=event.event_id,
            )  # fmt: skip
    except PriceMismatch as error:
        return _rejected(event.event_id, error, payment_id=event.payment_id, user_id=event.user_id)
    quantity = f"{event.quantity} × " if event.quantity != 1 else ""
    return PaymentOutcome(
        event.event_id,
        "credited",
        credits=credits,
        payment_id=event.payment_id,
        user_id=event.user_id,
        transaction_id=tx.id,
        detail=f"{credits} credits for {quantity}{product.id!r}",
    )


def _revoke(ledger: Ledger, event: PaymentRefunded | PaymentDisputed) -> PaymentOutcome:
    purchase = ledger.purchase_of(event.payment_id)
    if purchase is None:
        raise UnknownTransaction(
            f"payment_id {event.payment_id!r}: no purchase booked (yet) for event {event.event_id}",
            payment_id=event.payment_id,
            event_id=event.event_id,
        )
    reason = "dispute" if isinstance(event, PaymentDisputed) else "refund"
    paid_in = purchase.metadata.get("currency")
    if isinstance(paid_in, str) and paid_in != event.amount.currency:
        error = PriceMismatch(
            f"payment_id {event.payment_id!r}: {reason} in {event.amount.currency} of a purchase "
            f"paid in {paid_in}; nothing was revoked",
            field="currency",
            expected=paid_in,
            came=event.amount.currency,
            payment_id=event.payment_id,
        )
        return _rejected(
            event.event_id, error, payment_id=event.payment_id, user_id=purchase.user_id
        )
    target = credits_to_revoke(purchase.credits, event)
    before = ledger.revoked(event.payment_id)
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
