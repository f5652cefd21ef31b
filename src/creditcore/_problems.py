"""Every :class:`~creditcore.CreditcoreError` as an HTTP answer: a status and an RFC 9457 document.

The status of an error is the one listed for its class, or for the nearest listed class it
descends from, so a leaf added later inherits its category's status. The table (also in
``docs/service.md``):

=====================================  ======  ===========================================
error (code)                           status  why
=====================================  ======  ===========================================
``InvalidInput`` and its leaves        422     well-formed request, unacceptable values
``SignatureVerificationError``         400     a webhook that cannot be trusted
``NotFound`` and its leaves            404     something named does not exist
``Conflict``, ``DuplicateId``          409     clashes with what exists
``IdempotencyConflict``                422     same key, different request (IETF
                                               ``Idempotency-Key`` draft)
``InsufficientCredits``                402     pay (or wait for the reset) to go on
``AccountInDebt``                      402     a charge-back left the account owing
``TierNotAllowed``                     403     ``required_tier`` names the lowest tier
                                               that unlocks the model
``OfferClosed``                        409     ``next_opening`` says when it opens again
``OverRefund``, ``HoldNotActive``      409     the state moved on
``LedgerRuleViolation`` (other)        422
``StoreError``                         503     ``Retry-After`` set: the store is
                                               unavailable; try again
``SchemaVersionError``                 500     a deployment problem, not worth a retry
``PaymentError`` (other)               422     genuine but unusable event
``CreditcoreError`` (other)            500
=====================================  ======  ===========================================

A problem document has ``type`` (a URI made from the stable ``code``), ``title`` (one per
class), ``status``, ``detail`` (the error's message), ``code`` and ``context`` (the error's
context in its JSON form, see :func:`creditcore.to_jsonable`), and ``instance`` when given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from creditcore._exceptions import (
    AccountInDebt,
    Conflict,
    CreditcoreError,
    DuplicateId,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidInput,
    LedgerRuleViolation,
    NotFound,
    OfferClosed,
    OverRefund,
    PaymentError,
    SchemaVersionError,
    SignatureVerificationError,
    StoreError,
    TierNotAllowed,
)
from creditcore._wire import JSONValue, to_jsonable

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_TYPE_BASE",
    "STORE_RETRY_AFTER_SECONDS",
    "http_status",
    "problem_document",
    "problem_headers",
    "problem_title",
]

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
"""The media type of a problem document (RFC 9457 §3)."""

PROBLEM_TYPE_BASE: Final = "urn:creditcore:problem:"
"""Default prefix of ``type``: the document's type is this followed by the error's code."""

STORE_RETRY_AFTER_SECONDS: Final = 1
"""``Retry-After`` of a 503 answered for a :class:`~creditcore.StoreError`."""

_STATUS: Final[Mapping[type[CreditcoreError], int]] = {
    CreditcoreError: 500,
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    DuplicateId: 409,
    IdempotencyConflict: 422,
    LedgerRuleViolation: 422,
    InsufficientCredits: 402,
    AccountInDebt: 402,
    TierNotAllowed: 403,
    OfferClosed: 409,
    OverRefund: 409,
    HoldNotActive: 409,
    StoreError: 503,
    SchemaVersionError: 500,
    PaymentError: 422,
    SignatureVerificationError: 400,
}

_TITLES: Final[Mapping[type[CreditcoreError], str]] = {
    CreditcoreError: "Request failed",
    InvalidInput: "Invalid input",
    NotFound: "Not found",
    Conflict: "Conflict",
    DuplicateId: "Already exists",
    IdempotencyConflict: "Idempotency key reused for a different request",
    LedgerRuleViolation: "Refused by a ledger rule",
    InsufficientCredits: "Insufficient credits",
    AccountInDebt: "Account in debt",
    TierNotAllowed: "Tier required",
    OfferClosed: "Offer closed",
    OverRefund: "Refund exceeds what is left to refund",
    HoldNotActive: "Hold not active",
    StoreError: "Store unavailable",
    SchemaVersionError: "Store schema too new",
    PaymentError: "Payment event unusable",
    SignatureVerificationError: "Signature verification failed",
}


def _nearest(cls: type[CreditcoreError], table: Mapping[type[CreditcoreError], Any]) -> Any:
    for klass in cls.__mro__:
        if klass in table:
            return table[klass]
    return table[CreditcoreError]


def http_status(error: CreditcoreError | type[CreditcoreError]) -> int:
    """The HTTP status code answering ``error`` (an instance or a class), by the module table."""
    cls = error if isinstance(error, type) else type(error)
    status: int = _nearest(cls, _STATUS)
    return status


def problem_title(error: CreditcoreError | type[CreditcoreError]) -> str:
    """The short, constant title of the error's kind (RFC 9457 ``title``)."""
    cls = error if isinstance(error, type) else type(error)
    if cls in _TITLES:
        return _TITLES[cls]
    doc = (cls.__doc__ or "").strip().splitlines()
    first = doc[0].rstrip(".") if doc else ""
    return first or str(_nearest(cls, _TITLES))


def _context(context: Mapping[str, Any]) -> dict[str, JSONValue]:
    out: dict[str, JSONValue] = {}
    for key, value in context.items():
        try:
            out[str(key)] = to_jsonable(value)
        except CreditcoreError:
            out[str(key)] = type(value).__name__  # never a repr of an arbitrary object
    return out


def problem_document(
    error: CreditcoreError,
    *,
    instance: str | None = None,
    type_base: str = PROBLEM_TYPE_BASE,
) -> dict[str, JSONValue]:
    """The RFC 9457 problem document for ``error``, as a JSON-ready dict.

    Args:
        error: Any creditcore error.
        instance: A URI reference naming this occurrence (e.g. the request path), if wanted.
        type_base: Prefix of ``type`` (``type`` is ``type_base + error.code``); a service that
            documents its problem types at ``/problems/<code>`` passes ``"/problems/"``.

    Returns:
        ``type``, ``title``, ``status``, ``detail``, ``code``, ``context`` (and ``instance``).
    """
    document: dict[str, JSONValue] = {
        "type": f"{type_base}{error.code}",
        "title": problem_title(error),
        "status": http_status(error),
        "detail": error.message,
        "code": error.code,
        "context": _context(error.context),
    }
    if instance is not None:
        document["instance"] = instance
    return document


def problem_headers(error: CreditcoreError) -> dict[str, str]:
    """Headers to send with the problem document: ``Content-Type``, and ``Retry-After`` on a 503."""
    headers = {"Content-Type": PROBLEM_CONTENT_TYPE}
    if http_status(error) == 503:
        headers["Retry-After"] = str(STORE_RETRY_AFTER_SECONDS)
    return headers
