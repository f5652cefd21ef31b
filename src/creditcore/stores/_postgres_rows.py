"""Rows <-> ledger values for the PostgreSQL store, and the store's SQL text.

Column lists and queries are rendered once per schema (``{schema}`` replaced by the quoted name)
into bytes, so that psycopg can prepare each statement once per connection and reuse it. All the
writes of one ledger transaction go in ONE statement (data-modifying CTEs; many lots or holds as
arrays through ``unnest``), so a unit of work costs four round trips: ``BEGIN``, the
lock-and-read function, the write statement, ``COMMIT``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from psycopg import sql

from creditcore._ledger.values import (
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
)

__all__ = [
    "Queries",
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
    "snapshot_of",
    "text_array",
    "tx_of",
    "tx_params",
    "write_params",
]

ACCOUNT_COLUMNS = "user_id, tier, allowance, period, subscription_lot, seq, totals, created_at"
LOT_COLUMNS = (
    "id, user_id, kind, credits, remaining, created_at, seq, expires_at, source, amount, currency"
)
HOLD_COLUMNS = "id, user_id, credits, created_at, expires_at, status, captured, resolved_at"
TX_COLUMNS = (
    "id, user_id, seq, kind, credits, created_at, idem_key, fingerprint, ref, payment_id, "
    "entry_accounts, entry_deltas, entry_balances, metadata"
)


def _placeholders(columns: str) -> str:
    return ", ".join(["%s"] * len(columns.split(",")))


# The entry arrays travel as array literals built here (``text_array``, ``int_array``): cheaper
# than psycopg's generic list adaptation on the hot path.
TX_VALUES = ", ".join(["%s"] * 10 + ["%s::text[]", "%s::bigint[]", "%s::bigint[]", "%s"])


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


_LOT_TYPES = (
    "text, text, text, bigint, bigint, timestamptz, bigint, timestamptz, text, numeric, text"
)
_HOLD_TYPES = "text, text, bigint, timestamptz, timestamptz, text, bigint, timestamptz"


def _unnest(columns: str, types: str) -> str:
    """``SELECT * FROM unnest(%s::t1[], %s::t2[], ...)``: many rows from one array per column."""
    arrays = ", ".join(f"%s::{t.strip()}[]" for t in types.split(","))
    assert len(columns.split(",")) == len(types.split(","))
    return f"SELECT * FROM unnest({arrays})"


@dataclass(frozen=True, slots=True)
class Queries:
    """Every statement of the store, rendered for one schema."""

    open_unit: bytes
    read_unit: bytes
    create_account: bytes
    writes: dict[tuple[int, bool, bool], bytes]
    tx_by_key: bytes
    tx_by_id: bytes
    tx_by_id_in_account: bytes
    tx_referencing: bytes
    tx_by_payment: bytes
    lot_in_account: bytes
    all_lots: bytes
    hold_by_id: bytes
    hold_in_account: bytes
    journal_asc: bytes
    journal_desc: bytes
    user_ids: bytes

    @classmethod
    def for_schema(cls, schema: str) -> Queries:
        """Render every statement for ``schema`` (a validated identifier)."""
        name = sql.Identifier(schema)

        def q(text: str) -> bytes:
            return sql.SQL(text).format(s=name).as_bytes(None)

        insert_tx = (
            f"INSERT INTO {{s}}.transactions ({TX_COLUMNS}) VALUES ({_placeholders(TX_COLUMNS)})"
        )
        insert_lots = f"INSERT INTO {{s}}.lots ({LOT_COLUMNS}) {_unnest(LOT_COLUMNS, _LOT_TYPES)}"
        writes: dict[tuple[int, bool, bool], bytes] = {}
        for update_lots in (0, 1, 2):  # lots updated: none, one (by primary key), several
            for upsert_lots in (False, True):
                for upsert_holds in (False, True):
                    parts = [
                        f"t AS ({insert_tx})",
                        "a AS (UPDATE {s}.accounts SET tier = %s, allowance = %s, period = %s, "
                        "subscription_lot = %s, seq = %s, totals = %s WHERE user_id = %s)",
                    ]
                    if update_lots == 1:
                        parts.append(
                            "lu AS (UPDATE {s}.lots SET remaining = %s "
                            "WHERE id = %s AND user_id = %s)"
                        )
                    elif update_lots == 2:
                        parts.append(
                            "lu AS (UPDATE {s}.lots SET remaining = v.r "
                            "FROM unnest(%s::text[], %s::bigint[]) AS v (i, r) "
                            "WHERE lots.id = v.i AND lots.user_id = %s)"
                        )
                    if upsert_lots:
                        parts.append(
                            f"li AS ({insert_lots} ON CONFLICT (id) DO UPDATE "
                            "SET remaining = EXCLUDED.remaining WHERE lots.user_id = EXCLUDED.user_id)"
                        )
                    if upsert_holds:
                        parts.append(
                            f"h AS (INSERT INTO {{s}}.holds ({HOLD_COLUMNS}) "
                            f"{_unnest(HOLD_COLUMNS, _HOLD_TYPES)} ON CONFLICT (id) DO UPDATE "
                            "SET status = EXCLUDED.status, captured = EXCLUDED.captured, "
                            "resolved_at = EXCLUDED.resolved_at "
                            "WHERE holds.user_id = EXCLUDED.user_id)"
                        )
                    writes[update_lots, upsert_lots, upsert_holds] = q(
                        "WITH " + ", ".join(parts) + " SELECT 1"
                    )
        return cls(
            open_unit=q("SELECT * FROM {s}.open_unit(%s)"),
            read_unit=q("SELECT * FROM {s}.read_unit(%s)"),
            # one statement, hence atomic without BEGIN/COMMIT
            create_account=q(
                f"WITH a AS (INSERT INTO {{s}}.accounts ({ACCOUNT_COLUMNS}) "
                f"VALUES ({_placeholders(ACCOUNT_COLUMNS)})), "
                f"l AS ({insert_lots}), t AS ({insert_tx}) SELECT 1"
            ),
            writes=writes,
            tx_by_key=q(
                f"SELECT {TX_COLUMNS} FROM {{s}}.transactions WHERE user_id = %s AND idem_key = %s"
            ),
            tx_by_id=q(f"SELECT {TX_COLUMNS} FROM {{s}}.transactions WHERE id = %s"),
            tx_by_id_in_account=q(
                f"SELECT {TX_COLUMNS} FROM {{s}}.transactions WHERE id = %s AND user_id = %s"
            ),
            tx_referencing=q(
                f"SELECT {TX_COLUMNS} FROM {{s}}.transactions WHERE ref = %s AND user_id = %s "
                "ORDER BY seq"
            ),
            tx_by_payment=q(f"SELECT {TX_COLUMNS} FROM {{s}}.transactions WHERE payment_id = %s"),
            lot_in_account=q(
                f"SELECT {LOT_COLUMNS} FROM {{s}}.lots WHERE id = %s AND user_id = %s"
            ),
            all_lots=q(f"SELECT {LOT_COLUMNS} FROM {{s}}.lots WHERE user_id = %s ORDER BY seq, id"),
            hold_by_id=q(f"SELECT {HOLD_COLUMNS} FROM {{s}}.holds WHERE id = %s"),
            hold_in_account=q(
                f"SELECT {HOLD_COLUMNS} FROM {{s}}.holds WHERE id = %s AND user_id = %s"
            ),
            journal_asc=q(
                f"SELECT {TX_COLUMNS} FROM {{s}}.transactions WHERE user_id = %s "
                "AND seq > %s AND seq < %s ORDER BY seq ASC LIMIT %s"
            ),
            journal_desc=q(
                f"SELECT {TX_COLUMNS} FROM {{s}}.transactions WHERE user_id = %s "
                "AND seq > %s AND seq < %s ORDER BY seq DESC LIMIT %s"
            ),
            user_ids=q("SELECT user_id FROM {s}.accounts"),
        )


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


def snapshot_of(rows: Sequence[Sequence[Any]]) -> Snapshot | None:
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
    lots.sort(key=_lot_order)
    holds.sort(key=_hold_order)
    return Snapshot(account_of(rows[0][2:10]), tuple(lots), tuple(holds))


def _lot_order(lot: Lot) -> tuple[int, str]:
    return (lot.seq, lot.id)


def _hold_order(hold: Hold) -> tuple[datetime, str]:
    return (hold.created_at, hold.id)


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
