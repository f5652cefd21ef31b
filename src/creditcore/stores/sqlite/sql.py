"""The SQLite store's SQL text: column lists and the statements of the store."""

from __future__ import annotations

from typing import Final

from creditcore.ledger import OPEN_HOLD_SQL, OPEN_LOT_SQL

__all__ = ["HOLD_COLUMNS", "LOT_COLUMNS", "SNAPSHOT_SQL", "TX_COLUMNS", "VALUES"]

VALUES: Final = {n: "VALUES (" + ",".join("?" * n) + ")" for n in (8, 11, 12)}
TX_COLUMNS = (
    "id, user_id, seq, kind, credits, created_at, idem_key, fingerprint, ref, payment_id, "
    "entries, metadata"
)
LOT_COLUMNS = (
    "id, user_id, kind, credits, remaining, created_at, seq, expires_at, source, amount, currency"
)
HOLD_COLUMNS = "id, user_id, credits, created_at, expires_at, status, captured, resolved_at"


# One statement (so one consistent read, no explicit transaction): the account row and what the
# snapshot rule (creditcore.ledger.lot_in_snapshot / hold_in_snapshot) keeps: its lots with
# credits left, its current subscription lot when empty, its open holds; tagged 0/1/2.
SNAPSHOT_SQL: Final = f"""
SELECT 0, user_id, tier, allowance, period, subscription_lot, seq, totals, created_at,
       NULL, NULL, NULL
  FROM accounts WHERE user_id = :u
UNION ALL
SELECT 1, {LOT_COLUMNS} FROM lots WHERE user_id = :u AND {OPEN_LOT_SQL}
UNION ALL
SELECT 1, {LOT_COLUMNS} FROM lots
 WHERE id = (SELECT subscription_lot FROM accounts WHERE user_id = :u)
   AND user_id = :u AND NOT ({OPEN_LOT_SQL})
UNION ALL
SELECT 2, {HOLD_COLUMNS}, NULL, NULL, NULL FROM holds WHERE user_id = :u AND {OPEN_HOLD_SQL}
"""
