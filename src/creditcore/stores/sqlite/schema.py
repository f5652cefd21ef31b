"""The SQLite store's schema, as numbered migrations (``PRAGMA user_version`` counts them).

A migration is appended, never edited. :data:`LEDGER_TABLES` are the tables a creditcore file
has; a file at version 0 that already has one of them is not a creditcore ledger.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LEDGER_TABLES", "MIGRATIONS", "SCHEMA_VERSION"]

LEDGER_TABLES: Final = frozenset({"accounts", "lots", "holds", "transactions"})

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (  # version 1
        """CREATE TABLE accounts (
            user_id TEXT PRIMARY KEY,
            tier TEXT,
            allowance INTEGER NOT NULL CHECK (allowance >= 0),
            period TEXT NOT NULL,
            subscription_lot TEXT,
            seq INTEGER NOT NULL CHECK (seq >= 1),
            totals TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )""",
        """CREATE TABLE lots (
            id TEXT PRIMARY KEY NOT NULL,
            user_id TEXT NOT NULL REFERENCES accounts(user_id),
            kind TEXT NOT NULL CHECK (kind IN ('subscription', 'purchased', 'lootbox')),
            credits INTEGER NOT NULL CHECK (credits > 0),
            remaining INTEGER NOT NULL CHECK (remaining >= 0),
            created_at INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            expires_at INTEGER,
            source TEXT,
            amount TEXT,
            currency TEXT
        ) WITHOUT ROWID""",
        "CREATE INDEX lots_open ON lots(user_id, seq) WHERE remaining > 0",
        "CREATE INDEX lots_user ON lots(user_id, seq)",
        """CREATE TABLE holds (
            id TEXT PRIMARY KEY NOT NULL,
            user_id TEXT NOT NULL REFERENCES accounts(user_id),
            credits INTEGER NOT NULL CHECK (credits > 0),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
            captured INTEGER NOT NULL CHECK (captured >= 0 AND captured <= credits),
            resolved_at INTEGER
        ) WITHOUT ROWID""",
        "CREATE INDEX holds_open ON holds(user_id) WHERE status = 'open'",
        """CREATE TABLE transactions (
            user_id TEXT NOT NULL REFERENCES accounts(user_id),
            seq INTEGER NOT NULL CHECK (seq >= 1),
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            credits INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            idem_key TEXT,
            fingerprint TEXT NOT NULL,
            ref TEXT,
            payment_id TEXT,
            entries TEXT NOT NULL,
            metadata TEXT NOT NULL,
            PRIMARY KEY (user_id, seq)
        ) WITHOUT ROWID""",
        "CREATE UNIQUE INDEX transactions_key ON transactions(user_id, idem_key) "
        "WHERE idem_key IS NOT NULL",
        "CREATE UNIQUE INDEX transactions_payment ON transactions(payment_id) "
        "WHERE payment_id IS NOT NULL",
        "CREATE INDEX transactions_ref ON transactions(ref) WHERE ref IS NOT NULL",
    ),
    (  # version 2: the cross-account time-range scan (economics reports)
        "CREATE INDEX transactions_time ON transactions(created_at, user_id, seq)",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The schema version this code writes (``PRAGMA user_version``)."""
