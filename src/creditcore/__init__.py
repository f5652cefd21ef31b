"""creditcore: the money-and-map core of platforms that sell AI generation for credits.

The domain lives in three public modules, imported by name:

- :mod:`creditcore.pricing`: catalogs of billable operations, credit values per sales channel,
  subscription tiers, credit packs, lootbox offers, and margin/markup validation.
- :mod:`creditcore.ledger`: per-user credit accounts on an append-only double-entry journal.
- :mod:`creditcore.geo`: gigs on a map: box and radius queries, supercluster-style clustering.

The package itself exports the exception hierarchy, so ``from creditcore import
CreditcoreError`` catches everything the library raises on purpose, and the wire forms of a
service: :func:`to_jsonable` (one JSON form for every public value, with
:func:`jsonable_schema` and :func:`jsonable_type` for pydantic/FastAPI) and
:func:`problem_document` / :func:`http_status` (every error as an RFC 9457 answer).
"""

from creditcore._exceptions import (
    AccountInDebt,
    Conflict,
    CreditcoreError,
    CreditLimitExceeded,
    DuplicateId,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidAmount,
    InvalidCatalog,
    InvalidCoordinates,
    InvalidFeature,
    InvalidGeometry,
    InvalidInput,
    InvalidMoney,
    InvalidTile,
    LedgerRuleViolation,
    NaiveDatetime,
    NotACreditcoreStore,
    NotFound,
    OfferClosed,
    OverRefund,
    PaymentError,
    PriceMismatch,
    SchemaVersionError,
    SignatureVerificationError,
    StoreBusy,
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
from creditcore._problems import (
    PROBLEM_CONTENT_TYPE,
    http_status,
    problem_document,
    problem_headers,
    problem_title,
)
from creditcore._public import publish
from creditcore._wire import JSONValue, jsonable_schema, jsonable_type, to_jsonable

__version__ = "0.1.0"

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "AccountInDebt",
    "Conflict",
    "CreditLimitExceeded",
    "CreditcoreError",
    "DuplicateId",
    "HoldNotActive",
    "IdempotencyConflict",
    "InsufficientCredits",
    "InvalidAmount",
    "InvalidCatalog",
    "InvalidCoordinates",
    "InvalidFeature",
    "InvalidGeometry",
    "InvalidInput",
    "InvalidMoney",
    "InvalidTile",
    "JSONValue",
    "LedgerRuleViolation",
    "NaiveDatetime",
    "NotACreditcoreStore",
    "NotFound",
    "OfferClosed",
    "OverRefund",
    "PaymentError",
    "PriceMismatch",
    "SchemaVersionError",
    "SignatureVerificationError",
    "StoreBusy",
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
    "http_status",
    "jsonable_schema",
    "jsonable_type",
    "problem_document",
    "problem_headers",
    "problem_title",
    "to_jsonable",
]

publish(__name__, __all__)
