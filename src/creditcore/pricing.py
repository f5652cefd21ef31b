"""Pricing: a price list of billable operations that cannot sell at a loss unnoticed.

A :class:`Catalog` holds :class:`Operation` rows (provider API cost, credits charged),
subscription :class:`Tier` s, :class:`CreditPack` s and time-windowed :class:`LootboxOffer` s.
Each sales channel gives a credit its own value; :func:`validate` checks every operation's
*gross margin* (never a bare "margin") against a :class:`MarginPolicy` and suggests the smallest
whole credit charge that meets the target. Money is ``Decimal`` (:class:`Money`), never float.

Example:
    >>> from creditcore.pricing import example_catalog
    >>> catalog = example_catalog()
    >>> point = catalog.price("seedream-v4", "subscription")
    >>> point.gross_margin
    Decimal('0.325')
"""

from creditcore._pricing.catalog import Catalog
from creditcore._pricing.channels import (
    FREE_CHANNEL,
    SUBSCRIPTION_CHANNEL,
    Channel,
    ChannelKind,
    PricePoint,
    gross_margin_of,
    markup_of,
    price_point,
)
from creditcore._pricing.example import example_catalog, example_catalog_text
from creditcore._pricing.loading import catalog_from_data, load_catalog, loads_catalog
from creditcore._pricing.money import Money
from creditcore._pricing.offers import LootboxOffer
from creditcore._pricing.operations import Operation
from creditcore._pricing.packs import CreditPack
from creditcore._pricing.policy import MarginPolicy
from creditcore._pricing.problem import Problem
from creditcore._pricing.records import (
    RatioChange,
    Record,
    RepriceDiff,
    reprice,
    to_dataframe,
    to_records,
)
from creditcore._pricing.schema import json_schema
from creditcore._pricing.tiers import Tier
from creditcore._pricing.toml import catalog_to_toml
from creditcore._pricing.validation import Suggestion, ValidationReport, smallest_charge, validate
from creditcore._pricing.windows import MonthlyWindow, WeeklyWindow, Window
from creditcore._public import publish

__all__ = [
    "FREE_CHANNEL",
    "SUBSCRIPTION_CHANNEL",
    "Catalog",
    "Channel",
    "ChannelKind",
    "CreditPack",
    "LootboxOffer",
    "MarginPolicy",
    "Money",
    "MonthlyWindow",
    "Operation",
    "PricePoint",
    "Problem",
    "RatioChange",
    "Record",
    "RepriceDiff",
    "Suggestion",
    "Tier",
    "ValidationReport",
    "WeeklyWindow",
    "Window",
    "catalog_from_data",
    "catalog_to_toml",
    "example_catalog",
    "example_catalog_text",
    "gross_margin_of",
    "json_schema",
    "load_catalog",
    "loads_catalog",
    "markup_of",
    "price_point",
    "reprice",
    "smallest_charge",
    "to_dataframe",
    "to_records",
    "validate",
]

publish(__name__, __all__)
