"""Rows <-> ledger values for the PostgreSQL store (parameters out, rows in)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, cast

from creditcore.ledger import (
    Account,
    Entry,
    Hold,
    HoldStatus,
    Lot,
    LotKind,
    MetadataValue,
    Snapshot,
    Transaction,
    TransactionKind,
    snapshot_of,
)

__all__ = [
    "account_of",
    "account_params",
    "account_update_params",
    "create_params",
    "decode",
    "encode",
    "hold_of",
    "hold_params",
    "int_array",
    "lot_of",
    "lot_params",
    "snapshot_in",
    "text_array",
    "tx_of",
    "tx_params",
    "write_params",
]


def text_array(items: Sequence[str]) -> str:
    """A PostgreSQL ``text[]`` literal of ``items`` (each element quoted and escaped)."""
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"


def int_array(items: Sequence[int]) -> str:
    """A PostgreSQL integer array literal of ``items``."""
    return "{" + ",".join(map(str, items)) + "}"


_ESCAPED = re.compile(r"\\([\\0])")


def encode(text: str) -> str:
    """``text`` as stored: PostgreSQL text cannot hold NUL, so ``\\`` -> ``\\\\``, NUL -> ``\\0``.

    Strings without a backslash or NUL (every id the ledger makes, ordinary keys and payment ids)
    are stored unchanged; the mapping is one-to-one, so uniqueness is kept.
    """
    if "\\" not in text and "\x00" not in text:
        return text
    return text.replace("\\", "\\\\").replace("\x00", "\\0")


def decode(stored: str) -> str:
    """The inverse of :func:`encode`."""
    if "\\" not in stored:
        return stored
    return _ESCAPED.sub(lambda m: "\x00" if m.group(1) == "0" else "\\", stored)


def _enc(text: str | None) -> str | None:
    return None if text is None else encode(text)


def _dec(stored: str | None) -> str | None:
    return None if stored is None else decode(stored)


def _columns(rows: Sequence[Sequence[object]], width: int) -> list[list[object]]:
    """Rows of ``width`` values as ``width`` lists (the arrays ``unnest`` takes)."""
    return [[row[i] for row in rows] for i in range(width)] if rows else [[] for _ in range(width)]


def write_params(
    tx: Transaction,
    account: Account,
    updated: Sequence[Lot],
    upserted: Sequence[Lot],
    holds: Sequence[Hold],
) -> tuple[object, ...]:
    """Parameters of ``Queries.writes[min(len(updated), 2), bool(upserted), bool(holds)]``."""
    params: list[object] = [*tx_params(tx), *account_update_params(account)]
    if len(updated) == 1:
        params.extend((updated[0].remaining, encode(updated[0].id), encode(account.user_id)))
    elif updated:
        params.append(text_array([encode(lot.id) for lot in updated]))
        params.append(int_array([lot.remaining for lot in updated]))
        params.append(encode(account.user_id))
    if upserted:
        params.extend(_columns([lot_params(lot) for lot in upserted], 11))
    if holds:
        params.extend(_columns([hold_params(hold) for hold in holds], 8))
    return tuple(params)


def create_params(account: Account, tx: Transaction, lots: Sequence[Lot]) -> tuple[object, ...]:
    """Parameters of ``Queries.create_account``."""
    return (
        *account_params(account),
        *_columns([lot_params(lot) for lot in lots], 11),
        *tx_params(tx),
    )


# Where each column of ``LOT_COLUMNS`` / ``HOLD_COLUMNS`` sits in a row of ``open_unit``.
_LOT_AT = (1, 2, 10, 11, 12, 9, 7, 13, 14, 15, 16)
_HOLD_AT = (1, 2, 11, 9, 13, 17, 18, 19)


def snapshot_in(rows: Sequence[Sequence[Any]]) -> Snapshot | None:
    """The snapshot in the rows of ``open_unit``/``read_unit``; ``None`` when there is no account.

    The first row (part ``'a'``) holds ``ACCOUNT_COLUMNS`` at positions 2-9; lot rows (``'l'``)
    and hold rows (``'h'``) follow in any order: lots are sorted by ``(seq, id)`` here, holds by
    ``(created_at, id)``.
    """
    if not rows:
        return None
    lots: list[Lot] = []
    holds: list[Hold] = []
    for row in rows[1:]:
        if row[0] == "l":
            lots.append(lot_of([row[i] for i in _LOT_AT]))
        else:
            holds.append(hold_of([row[i] for i in _HOLD_AT]))
    return snapshot_of(account_of(rows[0][2:10]), lots, holds)


# --- values -> parameters (text through :func:`encode`) -------------------------------------------


def account_params(account: Account) -> tuple[object, ...]:
    """Parameters of ``insert_account`` (column order)."""
    return (
        encode(account.user_id),
        _enc(account.tier),
        account.allowance,
        encode(account.period),
        _enc(account.subscription_lot),
        account.seq,
        json.dumps(dict(account.totals)),
        account.created_at,
    )


def account_update_params(account: Account) -> tuple[object, ...]:
    """Parameters of the account ``UPDATE``: the changeable columns, then ``user_id``."""
    user_id, *changeable, _created_at = account_params(account)
    return (*changeable, user_id)


def lot_params(lot: Lot) -> tuple[object, ...]:
    """Parameters of ``insert_lot``/``upsert_lot`` (column order)."""
    return (
        encode(lot.id),
        encode(lot.user_id),
        lot.kind,
        lot.credits,
        lot.remaining,
        lot.created_at,
        lot.seq,
        lot.expires_at,
        _enc(lot.source),
        lot.amount,
        _enc(lot.currency),
    )


def hold_params(hold: Hold) -> tuple[object, ...]:
    """Parameters of ``upsert_hold`` (column order)."""
    return (
        encode(hold.id),
        encode(hold.user_id),
        hold.credits,
        hold.created_at,
        hold.expires_at,
        hold.status,
        hold.captured,
        hold.resolved_at,
    )


def tx_params(tx: Transaction) -> tuple[object, ...]:
    """Parameters of ``insert_tx`` (column order)."""
    entries = tx.entries
    return (
        encode(tx.id),
        encode(tx.user_id),
        tx.seq,
        tx.kind,
        tx.credits,
        tx.created_at,
        _enc(tx.key),
        encode(tx.fingerprint),
        _enc(tx.ref),
        _enc(tx.payment_id),
        text_array([encode(e.account) for e in entries]),
        int_array([e.delta for e in entries]),
        int_array([e.balance_after for e in entries]),
        json.dumps(dict(tx.metadata)),
    )


# --- rows -> values ------------------------------------------------------------------------------


def account_of(row: Sequence[Any]) -> Account:
    """An :class:`Account` from a row in ``ACCOUNT_COLUMNS`` order."""
    return Account(
        user_id=decode(row[0]),
        tier=_dec(row[1]),
        allowance=row[2],
        period=decode(row[3]),
        subscription_lot=_dec(row[4]),
        seq=row[5],
        totals=row[6],
        created_at=row[7],
    )


def lot_of(row: Sequence[Any]) -> Lot:
    """A :class:`Lot` from a row in ``LOT_COLUMNS`` order."""
    return Lot(
        id=decode(row[0]),
        user_id=decode(row[1]),
        kind=cast(LotKind, row[2]),
        credits=row[3],
        remaining=row[4],
        created_at=row[5],
        seq=row[6],
        expires_at=row[7],
        source=_dec(row[8]),
        amount=row[9],
        currency=_dec(row[10]),
    )


def hold_of(row: Sequence[Any]) -> Hold:
    """A :class:`Hold` from a row in ``HOLD_COLUMNS`` order."""
    return Hold(
        id=decode(row[0]),
        user_id=decode(row[1]),
        credits=row[2],
        created_at=row[3],
        expires_at=row[4],
        status=cast(HoldStatus, row[5]),
        captured=row[6],
        resolved_at=row[7],
    )


def tx_of(row: Sequence[Any]) -> Transaction:
    """A :class:`Transaction` from a row in ``TX_COLUMNS`` order."""
    return Transaction(
        id=decode(row[0]),
        user_id=decode(row[1]),
        seq=row[2],
        kind=cast(TransactionKind, row[3]),
        credits=row[4],
        created_at=row[5],
        key=_dec(row[6]),
        fingerprint=decode(row[7]),
        ref=_dec(row[8]),
        payment_id=_dec(row[9]),
        entries=tuple(map(Entry, map(decode, row[10]), row[11], row[12])),
        metadata=cast(dict[str, MetadataValue], row[13]),
    )
