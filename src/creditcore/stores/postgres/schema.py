"""The PostgreSQL store's tables, constraints and triggers, as numbered migrations.

What the database itself refuses, whatever the Python above it does:

- a lot with ``remaining < 0`` or ``remaining > credits`` (``CHECK``);
- a second transaction with the same idempotency key in one account, a second purchase of one
  payment id anywhere, two transactions at one journal position (``UNIQUE``);
- a transaction whose entries do not sum to zero, or whose entry arrays differ in length (``CHECK``);
- editing, deleting or truncating journal rows (triggers: the journal is append-only);
- a hold capturing more than it reserved (``CHECK``).

``{schema}`` stands for the quoted schema name (see :mod:`.migrations`).
"""

from __future__ import annotations

from typing import Final

from creditcore.ledger import OPEN_HOLD_SQL, OPEN_LOT_SQL
from creditcore.stores.postgres.migrations import Migration

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

_V1: Final = (
    # plpgsql, not SQL: a SQL function with a subquery is re-planned on every call of a CHECK.
    """CREATE FUNCTION {schema}.sums_to_zero(deltas bigint[]) RETURNS boolean
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
        DECLARE
            total numeric := 0;
            delta bigint;
        BEGIN
            FOREACH delta IN ARRAY deltas LOOP
                total := total + delta;
            END LOOP;
            RETURN total = 0;
        END $$""",
    """CREATE TABLE {schema}.accounts (
        user_id text PRIMARY KEY,
        tier text,
        allowance bigint NOT NULL CHECK (allowance >= 0),
        period text NOT NULL,
        subscription_lot text,
        seq bigint NOT NULL CHECK (seq >= 1),
        totals jsonb NOT NULL CHECK (jsonb_typeof(totals) = 'object'),
        created_at timestamptz NOT NULL
    ) WITH (fillfactor = 80)""",
    """CREATE TABLE {schema}.lots (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES {schema}.accounts (user_id),
        kind text NOT NULL CHECK (kind IN ('subscription', 'purchased', 'lootbox')),
        credits bigint NOT NULL CHECK (credits > 0),
        remaining bigint NOT NULL,
        created_at timestamptz NOT NULL,
        seq bigint NOT NULL,
        expires_at timestamptz,
        source text,
        amount numeric,
        currency text,
        CONSTRAINT lots_remaining_not_negative CHECK (remaining >= 0),
        CONSTRAINT lots_remaining_at_most_credits CHECK (remaining <= credits)
    ) WITH (fillfactor = 80)""",
    # No partial index on ``remaining``: updating a column an index mentions defeats HOT updates.
    "CREATE INDEX lots_user ON {schema}.lots (user_id, seq)",
    """CREATE TABLE {schema}.holds (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES {schema}.accounts (user_id),
        credits bigint NOT NULL CHECK (credits > 0),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        status text NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
        captured bigint NOT NULL,
        resolved_at timestamptz,
        CONSTRAINT holds_captured_in_range CHECK (captured >= 0 AND captured <= credits)
    )""",
    "CREATE INDEX holds_open ON {schema}.holds (user_id) WHERE status = 'open'",
    # No foreign key to accounts on the hot insert path: every journal row is written in the
    # transaction that holds its account's row lock, so the account exists; the RI check would
    # cost a query per consumption.
    """CREATE TABLE {schema}.transactions (
        id text PRIMARY KEY,
        user_id text NOT NULL,
        seq bigint NOT NULL CHECK (seq >= 1),
        kind text NOT NULL,
        credits bigint NOT NULL,
        created_at timestamptz NOT NULL,
        idem_key text,
        fingerprint text NOT NULL,
        ref text,
        payment_id text,
        entry_accounts text[] NOT NULL,
        entry_deltas bigint[] NOT NULL,
        entry_balances bigint[] NOT NULL,
        metadata json NOT NULL,
        CONSTRAINT transactions_seq_unique UNIQUE (user_id, seq),
        CONSTRAINT transactions_entries_shape CHECK (
            cardinality(entry_accounts) = cardinality(entry_deltas)
            AND cardinality(entry_deltas) = cardinality(entry_balances)),
        CONSTRAINT transactions_entries_sum_to_zero CHECK ({schema}.sums_to_zero(entry_deltas))
    )""",
    # Partial unique indexes: most journal rows have neither a key nor a payment id.
    """CREATE UNIQUE INDEX transactions_key_unique ON {schema}.transactions (user_id, idem_key)
        WHERE idem_key IS NOT NULL""",
    """CREATE UNIQUE INDEX transactions_payment_unique ON {schema}.transactions (payment_id)
        WHERE payment_id IS NOT NULL""",
    "CREATE INDEX transactions_ref ON {schema}.transactions (ref) WHERE ref IS NOT NULL",
    """CREATE FUNCTION {schema}.refuse_journal_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'creditcore: the journal is append-only (% refused)', TG_OP
                USING ERRCODE = 'restrict_violation';
        END $$""",
    """CREATE TRIGGER transactions_append_only
        BEFORE UPDATE OR DELETE ON {schema}.transactions
        FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_journal_change()""",
    """CREATE TRIGGER transactions_no_truncate
        BEFORE TRUNCATE ON {schema}.transactions
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_journal_change()""",
)

# One statement hands a unit of work its snapshot: ``open_unit`` locks the account row, then reads
# the open lots and holds. It is VOLATILE, so under READ COMMITTED each query inside it takes a new
# snapshot: the reads after the lock see what the previous lock holder committed. ``read_unit``
# is the same without the lock and STABLE: all its queries share the calling statement's snapshot,
# so it is one consistent read without an explicit transaction. Rows: ``o_part`` is 'a' (the
# account, first), then 'l' (a lot) or 'h' (a hold), unordered; columns that do not apply to the
# part are NULL.
_UNIT_FUNCTION = """CREATE FUNCTION {schema}.@NAME@(u text)
    RETURNS TABLE (o_part text, o_id text, o_user_id text, o_tier text, o_allowance bigint,
        o_period text, o_subscription_lot text, o_seq bigint, o_totals jsonb,
        o_created_at timestamptz, o_kind text, o_credits bigint, o_remaining bigint,
        o_expires_at timestamptz, o_source text, o_amount numeric, o_currency text,
        o_status text, o_captured bigint, o_resolved_at timestamptz)
    LANGUAGE plpgsql @VOLATILITY@ AS $$
    BEGIN
        RETURN QUERY SELECT 'a'::text, NULL::text, a.user_id, a.tier, a.allowance, a.period,
            a.subscription_lot, a.seq, a.totals, a.created_at, NULL::text, NULL::bigint,
            NULL::bigint, NULL::timestamptz, NULL::text, NULL::numeric, NULL::text, NULL::text,
            NULL::bigint, NULL::timestamptz
            FROM {schema}.accounts a WHERE a.user_id = u @LOCK@;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        RETURN QUERY SELECT 'l'::text, l.id, l.user_id, NULL::text, NULL::bigint, NULL::text,
            NULL::text, l.seq, NULL::jsonb, l.created_at, l.kind, l.credits, l.remaining,
            l.expires_at, l.source, l.amount, l.currency, NULL::text, NULL::bigint,
            NULL::timestamptz
            FROM {schema}.lots l
            WHERE l.user_id = u AND (l.remaining > 0 OR l.id = (
                SELECT a.subscription_lot FROM {schema}.accounts a WHERE a.user_id = u))
            UNION ALL
            SELECT 'h'::text, h.id, h.user_id, NULL::text, NULL::bigint, NULL::text, NULL::text,
            NULL::bigint, NULL::jsonb, h.created_at, NULL::text, h.credits, NULL::bigint,
            h.expires_at, NULL::text, NULL::numeric, NULL::text, h.status, h.captured,
            h.resolved_at
            FROM {schema}.holds h
            WHERE h.user_id = u AND h.status = 'open';
    END $$"""


def _unit_function(name: str, volatility: str, lock: str) -> str:
    return (
        _UNIT_FUNCTION.replace("@NAME@", name)
        .replace("@VOLATILITY@", volatility)
        .replace("@LOCK@", lock)
    )


_V1_UNITS: Final = (
    _unit_function("open_unit", "VOLATILE", "FOR NO KEY UPDATE"),
    _unit_function("read_unit", "STABLE", ""),
)

# Version 2: the snapshot's lots come from a PARTIAL index of the lots with credits left, so
# opening a unit of work does not visit every lot the account ever had (a hot account's spent
# lots pile up); the subscription lot, even empty, by its primary key. The predicates are the
# snapshot rule's (creditcore.ledger.OPEN_LOT_SQL / OPEN_HOLD_SQL). The cost: an update of
# ``remaining`` is no longer HOT (the index names the column), one more index write per draw.
_UNIT_FUNCTION_V2 = """CREATE OR REPLACE FUNCTION {schema}.@NAME@(u text)
    RETURNS TABLE (o_part text, o_id text, o_user_id text, o_tier text, o_allowance bigint,
        o_period text, o_subscription_lot text, o_seq bigint, o_totals jsonb,
        o_created_at timestamptz, o_kind text, o_credits bigint, o_remaining bigint,
        o_expires_at timestamptz, o_source text, o_amount numeric, o_currency text,
        o_status text, o_captured bigint, o_resolved_at timestamptz)
    LANGUAGE plpgsql @VOLATILITY@ AS $$
    DECLARE
        sub text;
    BEGIN
        RETURN QUERY SELECT 'a'::text, NULL::text, a.user_id, a.tier, a.allowance, a.period,
            a.subscription_lot, a.seq, a.totals, a.created_at, NULL::text, NULL::bigint,
            NULL::bigint, NULL::timestamptz, NULL::text, NULL::numeric, NULL::text, NULL::text,
            NULL::bigint, NULL::timestamptz
            FROM {schema}.accounts a WHERE a.user_id = u @LOCK@;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        SELECT a.subscription_lot INTO sub FROM {schema}.accounts a WHERE a.user_id = u;
        RETURN QUERY SELECT 'l'::text, l.id, l.user_id, NULL::text, NULL::bigint, NULL::text,
            NULL::text, l.seq, NULL::jsonb, l.created_at, l.kind, l.credits, l.remaining,
            l.expires_at, l.source, l.amount, l.currency, NULL::text, NULL::bigint,
            NULL::timestamptz
            FROM {schema}.lots l
            WHERE l.user_id = u AND l.@OPEN_LOT@
            UNION ALL
            SELECT 'l'::text, l.id, l.user_id, NULL::text, NULL::bigint, NULL::text,
            NULL::text, l.seq, NULL::jsonb, l.created_at, l.kind, l.credits, l.remaining,
            l.expires_at, l.source, l.amount, l.currency, NULL::text, NULL::bigint,
            NULL::timestamptz
            FROM {schema}.lots l
            WHERE l.id = sub AND l.user_id = u AND NOT (l.@OPEN_LOT@)
            UNION ALL
            SELECT 'h'::text, h.id, h.user_id, NULL::text, NULL::bigint, NULL::text, NULL::text,
            NULL::bigint, NULL::jsonb, h.created_at, NULL::text, h.credits, NULL::bigint,
            h.expires_at, NULL::text, NULL::numeric, NULL::text, h.status, h.captured,
            h.resolved_at
            FROM {schema}.holds h
            WHERE h.user_id = u AND h.@OPEN_HOLD@;
    END $$"""


def _unit_function_v2(name: str, volatility: str, lock: str) -> str:
    return (
        _UNIT_FUNCTION_V2.replace("@NAME@", name)
        .replace("@VOLATILITY@", volatility)
        .replace("@LOCK@", lock)
        .replace("@OPEN_LOT@", OPEN_LOT_SQL)
        .replace("@OPEN_HOLD@", OPEN_HOLD_SQL)
    )


_V2: Final = (
    f"CREATE INDEX lots_open ON {{schema}}.lots (user_id, seq) WHERE {OPEN_LOT_SQL}",
    _unit_function_v2("open_unit", "VOLATILE", "FOR NO KEY UPDATE"),
    _unit_function_v2("read_unit", "STABLE", ""),
)

_V3: Final = (
    'CREATE INDEX transactions_time ON {schema}.transactions (created_at, user_id COLLATE "C", seq)',
)

MIGRATIONS: Final = (
    Migration(1, "accounts, lots, holds, append-only journal, unit functions", _V1 + _V1_UNITS),
    Migration(2, "partial index of open lots; unit functions read through it", _V2),
    Migration(3, "index for the cross-account time-range scan (economics reports)", _V3),
)
"""Every migration, oldest first; a new one is appended, never edited."""

SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The schema version this code writes."""
