"""Every error a store raises, built in one place (so every store words them alike).

Stores import this module through the public port (``creditcore.ledger.store_errors``); each
function returns the exception for the caller to ``raise``.
"""

from __future__ import annotations

from typing import Any

from creditcore._exceptions import (
    DuplicateId,
    InvalidInput,
    NotACreditcoreStore,
    SchemaVersionError,
    StoreBusy,
    StoreError,
    UnknownAccount,
)

__all__ = [
    "busy",
    "closed",
    "duplicate_account",
    "duplicate_key",
    "duplicate_payment",
    "failed",
    "invalid",
    "not_a_ledger",
    "outcome_unknown",
    "schema_too_new",
    "unknown_account",
]


def unknown_account(user_id: str) -> UnknownAccount:
    """No account for ``user_id``."""
    return UnknownAccount(f"no account for user_id {user_id!r}", user_id=user_id)


def duplicate_account(user_id: str) -> DuplicateId:
    """Opening an account twice."""
    return DuplicateId(f"user_id {user_id!r} already has an account", user_id=user_id)


def duplicate_key(key: str | None) -> DuplicateId:
    """A second transaction with one idempotency key in one account."""
    return DuplicateId(f"idempotency key {key!r} is already used", key=key)


def duplicate_payment(payment_id: str | None) -> DuplicateId:
    """A second purchase of one payment id (in any account)."""
    return DuplicateId(f"payment_id {payment_id!r} is already booked", payment_id=payment_id)


def closed(**where: Any) -> StoreError:
    """A call on a store after :meth:`close`."""
    return StoreError("the store is closed", **where)


def busy(detail: object, *, retry_after: float = 1.0, **where: Any) -> StoreBusy:
    """The store could not get a lock or a connection in time; nothing was written: retry."""
    return StoreBusy(
        f"the store is busy, nothing was written (retry in {retry_after:g} s): {detail}",
        retry_after=retry_after,
        **where,
    )


def failed(detail: object, **where: Any) -> StoreError:
    """The database refused or failed; nothing was written."""
    return StoreError(f"the store failed, nothing was written: {detail}", **where)


def outcome_unknown(detail: object, **where: Any) -> StoreError:
    """The connection failed during COMMIT: the write may or may not be kept."""
    return StoreError(
        "the connection failed while committing; the outcome is unknown (retry with the same "
        f"idempotency key to be safe): {detail}",
        **where,
    )


def schema_too_new(where: str, version: int, supported: int, **context: Any) -> SchemaVersionError:
    """The store was written by a newer creditcore."""
    return SchemaVersionError(
        f"{where} has schema version {version}; this creditcore understands up to {supported}; "
        "upgrade creditcore",
        version=version,
        supported=supported,
        **context,
    )


def not_a_ledger(where: str, detail: object, **context: Any) -> NotACreditcoreStore:
    """The database or file holds something else than a creditcore ledger."""
    return NotACreditcoreStore(f"{where} is not a creditcore ledger: {detail}", **context)


def invalid(message: str, *, field: str, value: object) -> InvalidInput:
    """An argument of the store itself (a path, a schema name) is malformed."""
    return InvalidInput(message, field=field, value=value)
