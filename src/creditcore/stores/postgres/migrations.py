"""Versioned schema migrations for the PostgreSQL store.

The store's tables live in one schema the user names. Opening a store runs :func:`migrate`: one
transaction that takes a transaction-scoped advisory lock derived from the schema name, creates
the schema and its ``schema_migrations`` table when missing, and applies every migration newer
than the recorded version, in order, recording each. Two processes opening the same schema at
once therefore serialize on the lock: the second finds the work done. A schema written by a newer
creditcore (a version this code does not know) is refused with ``SchemaVersionError`` rather than
used half-understood.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from creditcore.ledger import store_errors

__all__ = [
    "Migration",
    "advisory_key",
    "current_version",
    "migrate",
    "validate_schema_name",
]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema's history.

    Attributes:
        version: Its number; a store's migrations are numbered 1, 2, 3, ... without gaps.
        description: What the step does, recorded beside the version.
        statements: SQL statements run in order; ``{schema}`` stands for the quoted schema name.
    """

    version: int
    description: str
    statements: tuple[str, ...]


def validate_schema_name(schema: object) -> str:
    """Return ``schema`` when it is a plain lower-case SQL identifier, else raise.

    Plain names (``[a-z_][a-z0-9_]*``, at most 63 bytes) need no quoting in ``psql`` and cannot
    be confused with another schema by case folding; the store still quotes them everywhere.

    Raises:
        InvalidInput: ``schema`` is not such a name, or starts with ``pg_`` (reserved).
    """
    if not isinstance(schema, str) or _SCHEMA_NAME.fullmatch(schema) is None:
        raise store_errors.invalid(
            f"schema: expected a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 "
            f"characters), got {schema!r}",
            field="schema",
            value=schema,
        )
    if schema.startswith("pg_"):
        raise store_errors.invalid(
            f"schema: names starting with 'pg_' are reserved by PostgreSQL, got {schema!r}",
            field="schema",
            value=schema,
        )
    return schema


def advisory_key(schema: str) -> int:
    """The 64-bit advisory lock key that serializes migrations of ``schema`` (stable across runs)."""
    digest = hashlib.blake2b(f"creditcore.migrate:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _check_sequence(migrations: Sequence[Migration]) -> None:
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise ValueError(
                f"migrations: expected version {expected}, got {migration.version} "
                f"({migration.description!r})"
            )


def current_version(
    conn: psycopg.Connection[Any], schema: str, table: str = "schema_migrations"
) -> int:
    """The schema's recorded version: 0 when the schema or its version table does not exist."""
    # to_regclass parses its argument as SQL: quote the (validated, quote-free) names.
    qualified = f'"{schema}"."{table}"'
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (qualified,)).fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute(
        sql.SQL("SELECT coalesce(max(version), 0) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
    ).fetchone()
    return int(found[0]) if found is not None else 0


def migrate(
    conn: psycopg.Connection[Any],
    schema: str,
    migrations: Sequence[Migration],
    table: str = "schema_migrations",
) -> tuple[int, int]:
    """Bring ``schema`` up to the last of ``migrations``; return ``(version_before, version_after)``.

    Runs in one transaction on ``conn`` (which must not be inside another one) under an advisory
    lock, so concurrent openers never race and a failing migration leaves nothing half-applied.
    ``table`` names the version table, so two stores (the ledger's, the gigs') can share a schema.

    Raises:
        SchemaVersionError: The schema records a version newer than the last migration known here.
        StoreError: The database refused a migration (the message names its version).
    """
    _check_sequence(migrations)
    target = len(migrations)
    schema = validate_schema_name(schema)
    name = sql.Identifier(schema)
    # Fast path without the lock: an up-to-date schema needs no writes.
    with conn.transaction():
        before = current_version(conn, schema, table)
    if before == target:
        return before, before
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(schema),))
        exists = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", (schema,)
        ).fetchone()
        if exists is None or not exists[0]:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.{} ("
                " version integer PRIMARY KEY,"
                " description text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(name, sql.Identifier(table))
        )
        before = current_version(conn, schema, table)
        if before > target:
            raise store_errors.schema_too_new(f"schema {schema!r}", before, target, schema=schema)
        for migration in migrations[before:]:
            try:
                for statement in migration.statements:
                    conn.execute(sql.SQL(statement).format(schema=name))
            except psycopg.Error as error:
                raise store_errors.failed(
                    f"schema {schema!r}: migration {migration.version} "
                    f"({migration.description}) failed: {error}",
                    schema=schema,
                    version=migration.version,
                ) from error
            conn.execute(
                sql.SQL("INSERT INTO {}.{} (version, description) VALUES (%s, %s)").format(
                    name, sql.Identifier(table)
                ),
                (migration.version, migration.description),
            )
    return before, target
