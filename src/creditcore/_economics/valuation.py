"""Valuation rules as pure functions: what one credit of a lot is worth, what a call cost.

Every rule here reads only the journal (a :class:`~creditcore.ledger.Transaction` and its
metadata) and a catalog; none touches a store. ``None`` means *unknown* (a lot written before
lots were valued, a consumption recorded without its provider cost): the report counts those
apart and never books them as $0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Final, Literal

from creditcore._exceptions import NotFound
from creditcore.ledger import Transaction
from creditcore.pricing import Catalog

__all__ = [
    "CHANNELS",
    "Channel",
    "LotValue",
    "allowance_value",
    "consumption_cost",
    "purchase_value",
    "refund_lot_value",
]

Channel = Literal["subscription", "pack", "offer", "custom", "free"]
"""How a lot's credits were sold: a tier's allowance, a pack, a lootbox offer, a sale at a
custom price (a negotiated deal), or given for nothing (a free tier, a support grant)."""

CHANNELS: Final[tuple[Channel, ...]] = ("subscription", "pack", "offer", "custom", "free")


@dataclass(frozen=True, slots=True)
class LotValue:
    """What one credit of a lot is worth, and where the credits came from.

    Attributes:
        value: Exact value of one credit in the catalog's currency; ``None``: unvalued (a lot
            written before purchases recorded their price, or paid in another currency).
        channel: See :data:`Channel`.
        product: The pack id, offer id or tier name the lot came from, when known.
        reason: Why the lot is unvalued (``None`` when valued).
    """

    value: Fraction | None
    channel: Channel
    product: str | None = None
    reason: str | None = None


def _decimal(text: object) -> Decimal | None:
    if not isinstance(text, str):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def allowance_value(catalog: Catalog, tier: str | None, at: datetime) -> LotValue:
    """The value of one credit of a subscription allowance issued at ``at``.

    The tier's monthly price over its monthly credits where the tier has a price (a $0 tier
    makes the allowance a free grant: value 0, channel ``free``); otherwise the catalog's
    subscription credit value; unvalued when the catalog has neither.
    """
    view = catalog.at(at)
    if tier is not None:
        try:
            found = view.tier(tier)
        except NotFound:
            found = None
        if found is not None and found.price is not None and found.monthly_credits > 0:
            if found.price.amount == 0:
                return LotValue(Fraction(0), "free", tier)
            return LotValue(
                Fraction(found.price.amount) / found.monthly_credits, "subscription", tier
            )
    if view.subscription_credit_value is not None:
        return LotValue(Fraction(view.subscription_credit_value), "subscription", tier)
    return LotValue(None, "subscription", tier, "the catalog gives no subscription credit value")


def purchase_value(purchase: Transaction, currency: str) -> LotValue:
    """The value of one credit of the lot a ``purchase`` transaction created.

    The amount paid (net of tax, after discounts: what the ledger recorded as ``amount``) over
    the credits bought. A free grant (``price`` ``free``) is worth 0. A purchase without an
    amount written before prices were recorded, or paid in another currency than ``currency``,
    is unvalued.
    """
    meta = purchase.metadata
    price = meta.get("price")
    kind = meta.get("kind")
    product: str | None = None
    channel: Channel
    if isinstance(meta.get("offer"), str) or kind == "lootbox":
        channel = "offer"
        offer = meta.get("offer")
        product = offer if isinstance(offer, str) else None
    elif isinstance(meta.get("pack"), str):
        channel = "pack"
        pack = meta.get("pack")
        product = pack if isinstance(pack, str) else None
    elif price == "custom":
        channel = "custom"
    elif price == "free":
        return LotValue(Fraction(0), "free")
    else:
        channel = "pack"  # written before sales named their pack: a sale for money
    amount = _decimal(meta.get("amount"))
    if amount is None:
        return LotValue(None, channel, product, "no amount recorded for this purchase")
    paid_in = meta.get("currency")
    if paid_in != currency:
        return LotValue(None, channel, product, f"paid in {paid_in}, not {currency}")
    if amount == 0 and channel == "custom":
        return LotValue(Fraction(0), "free", product)
    return LotValue(Fraction(amount) / purchase.credits, channel, product)


def refund_lot_value(drawn: list[tuple[LotValue, int]]) -> LotValue:
    """The value of a lot a refund created for credits that have no lot to go back to.

    Such credits are the ones the refunded consumption drew: their value is the consumption's
    average value per credit (pro rata over the lots it drew), their channel the channel it
    drew most from (no product: a replay keeps their value). Unvalued when any lot drawn was.
    """
    if not drawn:
        return LotValue(None, "custom", None, "refund of an unknown consumption")
    total = sum(n for _, n in drawn)
    main = max(drawn, key=lambda item: item[1])[0]
    if any(lot.value is None for lot, _ in drawn) or total == 0:
        return LotValue(None, main.channel, None, "refund of unvalued credits")
    value = sum((lot.value * n for lot, n in drawn if lot.value is not None), Fraction(0))
    return LotValue(value / total, main.channel)


def consumption_cost(tx: Transaction, currency: str) -> Fraction | None:
    """The provider cost recorded on a consumption (``api_cost``), or ``None`` when unknown.

    ``charge`` records the cost of the operation in the catalog in force at that instant;
    ``consume`` and ``capture`` record the cost they were given. A consumption without one, or
    in another currency, has an unknown cost.
    """
    meta = tx.metadata
    cost = _decimal(meta.get("api_cost"))
    if cost is None or meta.get("currency", currency) != currency:
        return None
    return Fraction(cost)
