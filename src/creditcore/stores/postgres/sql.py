"""The PostgreSQL store's SQL text, rendered once per schema.

Column lists and queries are rendered once per schema (``{s}`` replaced by the quoted name)
into bytes, so that psycopg can prepare each statement once per connection and reuse it. All the
writes of one ledger transaction go in ONE statement (data-modifying CTEs; many lots or holds as
arrays through ``unnest``), so a unit of work costs four round trips: ``BEGIN``, the
lock-and-read function, the write statement, ``COMMIT``.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

__all__ = ["ACCOUNT_COLUMNS", "HOLD_COLUMNS", "LOT_COLUMNS", "TX_COLUMNS", "Queries"]

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


# The entry arrays travel as array literals (``rows.text_array``, ``rows.int_array``): cheaper
# than psycopg's generic list adaptation on the hot path.
TX_VALUES = ", ".join(["%s"] * 10 + ["%s::text[]", "%s::bigint[]", "%s::bigint[]", "%s"])


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
    all_holds: bytes
    hold_in_account: bytes
    journal_asc: bytes
    journal_desc: bytes
    user_ids: bytes
    range_first: bytes
    range_next: bytes

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
            all_holds=q(f"SELECT {HOLD_COLUMNS} FROM {{s}}.holds WHERE user_id = %s"),
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
            # the time-range scan, one page at a time (keyset pagination on transactions_time)
            range_first=q(
                f"SELECT {TX_COLUMNS} FROM {{s}}.transactions WHERE created_at >= %s "
                'AND created_at < %s ORDER BY created_at, user_id COLLATE "C", seq LIMIT %s'
            ),
            range_next=q(
                f"SELECT {TX_COLUMNS} FROM {{s}}.transactions "
                'WHERE (created_at, user_id COLLATE "C", seq) > (%s, %s, %s) AND created_at < %s '
                'ORDER BY created_at, user_id COLLATE "C", seq LIMIT %s'
            ),
        )
