"""The one exception hierarchy of creditcore.

Every error carries a stable, machine-readable ``code`` (a class attribute, safe to branch on
and to log) beside its human message, and a ``context`` mapping with the values that were wrong.
Where a builtin exception fits, the error also subclasses it, so ``except ValueError`` and
``except LookupError`` keep working in code that does not know creditcore.

The tree::

    CreditcoreError
    ├── InvalidInput (ValueError)                   bad arguments; nothing was changed
    │   ├── InvalidAmount                           credits ≤ 0, non-integer credits, float money
    │   ├── InvalidMoney                            bad currency, mismatched currencies
    │   ├── NaiveDatetime                           a datetime without a time zone
    │   ├── InvalidCatalog                          a catalog file or mapping with problems
    │   ├── InvalidCoordinates                      longitude/latitude out of range or NaN
    │   ├── InvalidTile                             a tile z/x/y outside the tile grid
    │   ├── InvalidFeature                          a malformed GeoJSON feature or record
    │   └── InvalidGeometry                         a query polygon that is no valid area
    ├── NotFound (LookupError)                      something named does not exist
    │   ├── UnknownOperation
    │   ├── UnknownTier
    │   ├── UnknownOffer
    │   ├── UnknownChannel
    │   ├── UnknownAccount
    │   ├── UnknownTransaction
    │   ├── UnknownHold
    │   ├── UnknownGig
    │   └── UnknownCluster
    ├── Conflict (ValueError)                       the request clashes with what exists
    │   ├── DuplicateId                             an id that must be unique is taken
    │   └── IdempotencyConflict                     same key, different request
    ├── LedgerRuleViolation                         a ledger rule refused the request
    │   ├── InsufficientCredits
    │   ├── OverRefund
    │   ├── TierNotAllowed
    │   ├── OfferClosed
    │   ├── HoldNotActive
    │   ├── AccountInDebt
    │   ├── CreditLimitExceeded                     a balance would pass MAX_CREDITS
    │   └── PriceMismatch                           credits or price disagree with the catalog
    ├── StoreError                                  a storage adapter failed
    │   ├── SchemaVersionError
    │   ├── NotACreditcoreStore                     a foreign database or file
    │   └── StoreBusy                               a lock not taken in time; retry
    └── PaymentError                                a payment adapter refused an event
        └── SignatureVerificationError

The builtin mixin rule: a builtin is mixed in once, on a branch (``InvalidInput``, ``NotFound``,
``Conflict``), and every leaf inherits it; a leaf never adds a builtin of its own. Branches with
no fitting builtin (rule violations, adapters) have none.

Every error pickles and unpickles to an equal error (same class, message, ``context`` and other
attributes), so it crosses ``multiprocessing`` and task queues intact, whatever arguments its
constructor takes.

Domain modules may add leaves to this tree; they never raise a bare builtin for a rule of the
domain.
"""

from __future__ import annotations

import copyreg
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from creditcore._pricing.problem import Problem

__all__ = [
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
]


class CreditcoreError(Exception):
    """Root of every error raised by creditcore.

    Args:
        message: What went wrong, naming the field and the value that was wrong.
        **context: The values involved, kept for programs (``err.context["requested"]``).

    Attributes:
        code: A stable machine-readable identifier of the kind of error.
        message: The human message.
        context: The values involved.
    """

    code: ClassVar[str] = "creditcore_error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: Mapping[str, Any] = dict(context)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt without calling __init__, whose arguments differ from class to class (the
        # builtin's default would call ``cls(message)``): a new instance with the same ``args``,
        # then every attribute restored from the instance dict.
        rebuild = copyreg.__newobj__  # type: ignore[attr-defined]
        return (rebuild, (type(self), *self.args), dict(self.__dict__))


# --- bad input ---------------------------------------------------------------------------------


class InvalidInput(CreditcoreError, ValueError):
    """An argument or a document is malformed; nothing was changed."""

    code = "invalid_input"


class InvalidAmount(InvalidInput):
    """A credit amount that is zero, negative or not an integer, or money given as a float."""

    code = "invalid_amount"


class InvalidMoney(InvalidInput):
    """A currency code that is not three letters, or arithmetic across two currencies."""

    code = "invalid_money"


class NaiveDatetime(InvalidInput):
    """A datetime without a time zone where an instant is needed."""

    code = "naive_datetime"


class InvalidCatalog(InvalidInput):
    """A catalog with problems; ``problems`` lists every one of them, each with its path.

    Args:
        problems: Every :class:`~creditcore.pricing.Problem`, in document order (a
            ``(path, code, message)`` tuple is read as a problem of severity ``"error"``).
        source: Where the catalog came from (a file path), if anywhere.

    Attributes:
        problems: The problems, as a tuple of :class:`~creditcore.pricing.Problem`.
        source: Where the catalog came from, or ``None``.
    """

    code = "invalid_catalog"

    def __init__(
        self,
        problems: Iterable[Problem | tuple[str, str, str]],
        *,
        source: str | None = None,
    ) -> None:
        self.problems: tuple[Problem, ...] = tuple(
            item if isinstance(item, Problem) else Problem(*item) for item in problems
        )
        self.source = source
        head = f"{source}: " if source else ""
        lines = "; ".join(f"{problem.path}: {problem.message}" for problem in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{head}{count} {noun}: {lines}", problems=self.problems, source=source)


class InvalidCoordinates(InvalidInput):
    """A longitude outside [-180, 180], a latitude outside [-90, 90], a NaN or an infinity."""

    code = "invalid_coordinates"


class InvalidTile(InvalidInput):
    """A tile address ``z/x/y`` that is not on the tile grid (z outside 0..30, x or y outside 0..2**z - 1)."""

    code = "invalid_tile"


class InvalidFeature(InvalidInput):
    """A GeoJSON feature or gig record that is not well formed."""

    code = "invalid_feature"


class InvalidGeometry(InvalidInput):
    """A query geometry that is not an area (a LineString, a Point) or not valid (a bow-tie)."""

    code = "invalid_geometry"


# --- lookups -----------------------------------------------------------------------------------


class NotFound(CreditcoreError, LookupError):
    """Something named by the caller does not exist."""

    code = "not_found"

    def __str__(self) -> str:  # LookupError would otherwise quote the message like a key
        return self.message


class UnknownOperation(NotFound):
    """No billable operation with this id (pricing never falls back to $0)."""

    code = "unknown_operation"


class UnknownTier(NotFound):
    """No subscription tier with this name."""

    code = "unknown_tier"


class UnknownOffer(NotFound):
    """No lootbox offer with this id."""

    code = "unknown_offer"


class UnknownChannel(NotFound):
    """No sales channel with this id."""

    code = "unknown_channel"


class UnknownAccount(NotFound):
    """No ledger account for this user."""

    code = "unknown_account"


class UnknownTransaction(NotFound):
    """No ledger transaction with this id."""

    code = "unknown_transaction"


class UnknownHold(NotFound):
    """No hold (reservation) with this id."""

    code = "unknown_hold"


class UnknownGig(NotFound):
    """No gig with this id in the index."""

    code = "unknown_gig"


class UnknownCluster(NotFound):
    """No cluster with this id at the zoom its id encodes."""

    code = "unknown_cluster"


# --- conflicts ---------------------------------------------------------------------------------


class Conflict(CreditcoreError, ValueError):
    """The request clashes with something that already exists."""

    code = "conflict"


class DuplicateId(Conflict):
    """An id that must be unique is already taken (an account, an operation, a gig)."""

    code = "duplicate_id"


class IdempotencyConflict(Conflict):
    """An idempotency key was reused for a different request."""

    code = "idempotency_conflict"


# --- ledger rules ------------------------------------------------------------------------------


class LedgerRuleViolation(CreditcoreError):
    """A rule of the credit ledger refused the request; nothing was changed."""

    code = "ledger_rule_violation"


class InsufficientCredits(LedgerRuleViolation):
    """More credits were asked for than are available (``requested``, ``available``)."""

    code = "insufficient_credits"


class OverRefund(LedgerRuleViolation):
    """A refund larger than what is left to refund of its consumption (``refundable``)."""

    code = "over_refund"


class TierNotAllowed(LedgerRuleViolation):
    """The account's tier does not unlock the model (``required_tier`` names the lowest that does)."""

    code = "tier_not_allowed"


class OfferClosed(LedgerRuleViolation):
    """A lootbox purchase outside its offer's window (``next_opening`` says when it opens)."""

    code = "offer_closed"


class HoldNotActive(LedgerRuleViolation):
    """A capture or release of a hold that was already resolved or has expired."""

    code = "hold_not_active"


class AccountInDebt(LedgerRuleViolation):
    """Spending refused while a charged-back payment left the account owing credits."""

    code = "account_in_debt"


class PriceMismatch(LedgerRuleViolation):
    """A sale whose credits, price or currency disagree with the catalog in force when it was
    paid; nothing was booked. ``context["expected"]`` and ``context["came"]`` say what differs
    (and ``field`` which figure)."""

    code = "price_mismatch"


# --- adapters ----------------------------------------------------------------------------------


class StoreError(CreditcoreError):
    """A storage adapter failed (the database refused, a file is not a creditcore store)."""

    code = "store_error"


class SchemaVersionError(StoreError):
    """The store's schema is newer than this version of creditcore understands."""

    code = "schema_version"


class NotACreditcoreStore(StoreError):
    """The file or database schema holds tables that are not a creditcore ledger's."""

    code = "not_a_creditcore_store"


class StoreBusy(StoreError):
    """The store could not take a lock in time; nothing was written, retry after
    ``context["retry_after"]`` seconds."""

    code = "store_busy"


class CreditLimitExceeded(LedgerRuleViolation):
    """The change would take a balance past ``MAX_CREDITS`` (``limit``, ``balance`` in the
    context); nothing was changed."""

    code = "credit_limit_exceeded"


class PaymentError(CreditcoreError):
    """A payment adapter could not turn an event into a ledger change."""

    code = "payment_error"


class SignatureVerificationError(PaymentError):
    """A webhook whose signature is missing, forged or too old; nothing was changed."""

    code = "signature_verification_failed"
