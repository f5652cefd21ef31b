"""What the ledger needs from pricing, as structural protocols.

:mod:`creditcore.pricing` satisfies these; the ledger depends only on the shapes so either side
can evolve and tests can pass small fakes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

__all__ = ["CatalogLike", "MoneyLike", "OfferLike", "OperationLike", "PackLike", "TierLike"]


class MoneyLike(Protocol):
    """An amount of money in a currency (e.g. ``creditcore.pricing.Money``)."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def currency(self) -> str: ...


class OperationLike(Protocol):
    """A billable operation."""

    @property
    def id(self) -> str: ...

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def credits(self) -> int: ...

    @property
    def api_cost(self) -> MoneyLike: ...


class TierLike(Protocol):
    """A subscription tier."""

    @property
    def name(self) -> str: ...

    @property
    def monthly_credits(self) -> int: ...

    def allows(self, model: str) -> bool: ...


class PackLike(Protocol):
    """A credit pack: credits for a price."""

    @property
    def id(self) -> str: ...

    @property
    def credits(self) -> int: ...

    @property
    def price(self) -> MoneyLike: ...


class OfferLike(Protocol):
    """A lootbox offer with recurring windows."""

    @property
    def id(self) -> str: ...

    @property
    def credits(self) -> int: ...

    @property
    def price(self) -> MoneyLike: ...

    def is_open(self, at: datetime) -> bool: ...

    def next_opening(self, after: datetime) -> datetime: ...


class CatalogLike(Protocol):
    """A pricing catalog."""

    def at(self, instant: datetime) -> CatalogLike: ...

    def operation(self, operation_id: str) -> OperationLike: ...

    def tier(self, name: str) -> TierLike: ...

    def lowest_tier_for(self, model: str) -> TierLike | None: ...

    def offer(self, offer_id: str) -> OfferLike: ...

    def pack(self, pack_id: str) -> PackLike: ...

    @property
    def currency(self) -> str: ...
