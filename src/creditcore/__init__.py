"""creditcore: the money-and-map core of platforms that sell AI generation for credits.

The domain lives in three public modules, imported by name:

- :mod:`creditcore.pricing`: catalogs of billable operations, credit values per sales channel,
  subscription tiers, credit packs, lootbox offers, and margin/markup validation.
- :mod:`creditcore.ledger`: per-user credit accounts on an append-only double-entry journal.
- :mod:`creditcore.geo`: gigs on a map: box and radius queries, supercluster-style clustering.

The package itself exports only the exception hierarchy, so ``from creditcore import
CreditcoreError`` catches everything the library raises on purpose.
"""

from creditcore._exceptions import (
    AccountInDebt,
    Conflict,
    CreditcoreError,
    DuplicateId,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidAmount,
    InvalidCatalog,
    InvalidCoordinates,
    InvalidFeature,
    InvalidInput,
    InvalidMoney,
    LedgerRuleViolation,
    NaiveDatetime,
    NotFound,
    OfferClosed,
    OverRefund,
    PaymentError,
    SchemaVersionError,
    SignatureVerificationError,
    StoreError,
    TierNotAllowed,
    UnknownAccount,
    UnknownChannel,
    UnknownCluster,
    UnknownGig,
    UnknownHold,
    UnknownOffer,
    UnknownOperation,
    UnknownTier,
    UnknownTransaction,
)

__version__ = "0.1.0"

__all__ = [
    "AccountInDebt",
    "Conflict",
    "CreditcoreError",
    "DuplicateId",
    "HoldNotActive",
    "IdempotencyConflict",
    "InsufficientCredits",
    "InvalidAmount",
    "InvalidCatalog",
    "InvalidCoordinates",
    "InvalidFeature",
    "InvalidInput",
    "InvalidMoney",
    "LedgerRuleViolation",
    "NaiveDatetime",
    "NotFound",
    "OfferClosed",
    "OverRefund",
    "PaymentError",
    "SchemaVersionError",
    "SignatureVerificationError",
    "StoreError",
    "TierNotAllowed",
    "UnknownAccount",
    "UnknownChannel",
    "UnknownCluster",
    "UnknownGig",
    "UnknownHold",
    "UnknownOffer",
    "UnknownOperation",
    "UnknownTier",
    "UnknownTransaction",
    "__version__",
]
