"""Sales channels, the value of a credit on each, and what one call earns on a channel.

A credit is worth what its buyer paid for it: the subscription's per-credit value, a pack's
price / credits, an offer's price / credits, nothing for a free grant. Revenue of a call is
``credits × credit value``; the two ratios are kept apart by name:

- gross margin = (revenue − cost) / revenue (undefined at zero revenue);
- markup = (revenue − cost) / cost (undefined at zero cost).

Everything is computed as exact fractions; ``Decimal`` views follow :mod:`._exact`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from creditcore._pricing.exact import to_decimal
from creditcore._pricing.money import Money
from creditcore._pricing.operations import Operation
from creditcore._pricing.packs import PricedCredits

__all__ = [
    "FREE_CHANNEL",
    "SUBSCRIPTION_CHANNEL",
    "Channel",
    "ChannelKind",
    "PricePoint",
    "gross_margin_of",
    "markup_of",
    "price_point",
]

ChannelKind = Literal["subscription", "pack", "offer", "free"]
"""How the credits were sold."""

SUBSCRIPTION_CHANNEL = "subscription"
"""Id of the subscription channel."""
FREE_CHANNEL = "free"
"""Id of the free-grant channel (credits worth $0)."""


@dataclass(frozen=True, slots=True)
class Channel(PricedCredits):
    """A way credits are sold, and so what one credit is worth.

    Args:
        id: ``"subscription"``, ``"free"``, or a pack's or offer's id.
        kind: Which kind of channel.
        price: What ``credits`` credits cost on this channel.
        credits: How many credits ``price`` buys (1 for subscription and free).

    ``credit_value`` and ``exact_credit_value`` give the value of one credit.
    """

    id: str
    kind: ChannelKind
    price: Money
    credits: int = 1

    @property
    def paid(self) -> bool:
        """Whether credits on this channel were paid for (a free grant is not)."""
        return self.price.amount > 0


def gross_margin_of(revenue: Fraction, cost: Fraction) -> Fraction | None:
    """(revenue − cost) / revenue, or ``None`` when revenue is zero."""
    return None if revenue == 0 else (revenue - cost) / revenue


def markup_of(revenue: Fraction, cost: Fraction) -> Fraction | None:
    """(revenue − cost) / cost, or ``None`` when cost is zero."""
    return None if cost == 0 else (revenue - cost) / cost


@dataclass(frozen=True, slots=True)
class PricePoint:
    """One operation sold on one channel: cost, revenue and both ratios.

    Attributes:
        operation: The operation.
        channel: The channel whose credit value prices it.
        exact_revenue: credits × credit value, exactly.
        exact_markup: markup as a fraction (``None`` at zero cost).
        exact_gross_margin: gross margin as a fraction (``None`` at zero revenue).
    """

    operation: Operation
    channel: Channel
    exact_revenue: Fraction
    exact_markup: Fraction | None
    exact_gross_margin: Fraction | None

    @property
    def cost(self) -> Money:
        """The provider's cost of one call."""
        return self.operation.api_cost

    @property
    def credits(self) -> int:
        """Credits charged for one call."""
        return self.operation.credits

    @property
    def revenue(self) -> Money:
        """What one call earns on this channel (exact when it terminates)."""
        return Money(to_decimal(self.exact_revenue), self.channel.price.currency)

    @property
    def markup(self) -> Decimal | None:
        """(revenue − cost) / cost."""
        return None if self.exact_markup is None else to_decimal(self.exact_markup)

    @property
    def gross_margin(self) -> Decimal | None:
        """(revenue − cost) / revenue."""
        return None if self.exact_gross_margin is None else to_decimal(self.exact_gross_margin)


def price_point(operation: Operation, channel: Channel) -> PricePoint:
    """Price one call of ``operation`` with credits valued as on ``channel``."""
    revenue = operation.credits * channel.exact_credit_value
    cost = operation.api_cost.exact()
    return PricePoint(
        operation=operation,
        channel=channel,
        exact_revenue=revenue,
        exact_markup=markup_of(revenue, cost),
        exact_gross_margin=gross_margin_of(revenue, cost),
    )
