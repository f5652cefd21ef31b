"""Rows <-> ledger values for the SQLite store (instants as integer microseconds since 1970)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

from creditcore.ledger import (
    Account,
    Entry,
    Hold,
    HoldStatus,
    Lot,
    LotKind,
    MetadataValue,
    Transaction,
    TransactionKind,
)

__all__ = [
    "DECODED_MAX",
    "Memo",
    "account_of",
    "account_row",
    "hold_of",
    "hold_row",
    "lot_of",
    "lot_row",
    "micros",
    "opt_micros",
    "tx_of",
    "tx_row",
]

_V = TypeVar("_V")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)
DECODED_MAX: Final = 20_000


def micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICRO


def _instant(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def opt_micros(value: datetime | None) -> int | None:
    return None if value is None else micros(value)


def _opt_instant(value: int | None) -> datetime | None:
    return None if value is None else _instant(value)


def tx_row(tx: Transaction) -> tuple[object, ...]:
    return (
        tx.id,
        tx.user_id,
        tx.seq,
        tx.kind,
        tx.credits,
        micros(tx.created_at),
        tx.key,
        tx.fingerprint,
        tx.ref,
        tx.payment_id,
        json.dumps([[e.account, e.delta, e.balance_after] for e in tx.entries]),
        json.dumps(dict(tx.metadata)),
    )


def tx_of(row: Sequence[Any]) -> Transaction:
    return Transaction(
        id=row[0],
        user_id=row[1],
        seq=row[2],
        kind=cast(TransactionKind, row[3]),
        credits=row[4],
        created_at=_instant(row[5]),
        key=row[6],
        fingerprint=row[7],
        ref=row[8],
        payment_id=row[9],
        entries=tuple(Entry(a, d, b) for a, d, b in json.loads(row[10])),
        metadata=cast(dict[str, MetadataValue], json.loads(row[11])),
    )


def tx_decoder() -> Callable[[Sequence[Any]], Transaction]:
    """:func:`tx_of` for a long scan: metadata documents that repeat (every charge of one
    operation writes the same one) are decoded once and shared between the transactions."""
    seen: dict[str, dict[str, MetadataValue]] = {}
    loads = json.loads
    epoch = _EPOCH

    def decode(row: Sequence[Any]) -> Transaction:
        text = row[11]
        metadata = seen.get(text)
        if metadata is None:
            metadata = cast(dict[str, MetadataValue], loads(text))
            if len(seen) < 4096:
                seen[text] = metadata
        return Transaction(
            row[0], row[1], row[2], cast(TransactionKind, row[3]), row[4],
            epoch + timedelta(microseconds=row[5]),
            tuple([Entry(a, d, b) for a, d, b in loads(row[10])]),
            row[6], row[7], row[8], row[9], metadata,
        )  # fmt: skip

    return decode


def lot_row(lot: Lot) -> tuple[object, ...]:
    return (
        lot.id,
        lot.user_id,
        lot.kind,
        lot.credits,
        lot.remaining,
        micros(lot.created_at),
        lot.seq,
        opt_micros(lot.expires_at),
        lot.source,
        None if lot.amount is None else str(lot.amount),
        lot.currency,
    )


def lot_of(row: Sequence[Any]) -> Lot:
    return Lot(
        id=row[0],
        user_id=row[1],
        kind=cast(LotKind, row[2]),
        credits=row[3],
        remaining=row[4],
        created_at=_instant(row[5]),
        seq=row[6],
        expires_at=_opt_instant(row[7]),
        source=row[8],
        amount=None if row[9] is None else Decimal(row[9]),
        currency=row[10],
    )


def hold_row(hold: Hold) -> tuple[object, ...]:
    return (
        hold.id,
        hold.user_id,
        hold.credits,
        micros(hold.created_at),
        micros(hold.expires_at),
        hold.status,
        hold.captured,
        opt_micros(hold.resolved_at),
    )


def hold_of(row: Sequence[Any]) -> Hold:
    return Hold(
        id=row[0],
        user_id=row[1],
        credits=row[2],
        created_at=_instant(row[3]),
        expires_at=_instant(row[4]),
        status=cast(HoldStatus, row[5]),
        captured=row[6],
        resolved_at=_opt_instant(row[7]),
    )


def account_of(row: Sequence[Any]) -> Account:
    return Account(
        user_id=row[0],
        tier=row[1],
        allowance=row[2],
        period=row[3],
        subscription_lot=row[4],
        seq=row[5],
        totals=json.loads(row[6]),
        created_at=_instant(row[7]),
    )


class Memo:
    """Decoded values by their row (rows are hashable tuples; an unchanged row decodes once)."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[tuple[Any, ...], Any] = {}

    def get(self, row: tuple[Any, ...], decode: Callable[[Sequence[Any]], _V]) -> _V:
        value: _V | None = self._values.get(row)
        if value is None:
            value = decode(row[1:] if len(row) == 12 else row)
            if len(self._values) >= DECODED_MAX:
                self._values.clear()
            self._values[row] = value
        return value


def account_row(account: Account) -> tuple[object, ...]:
    """The ``accounts`` row of ``account`` (column order of the INSERT)."""
    return (
        account.user_id,
        account.tier,
        account.allowance,
        account.period,
        account.subscription_lot,
        account.seq,
        json.dumps(dict(account.totals)),
        micros(account.created_at),
    )
