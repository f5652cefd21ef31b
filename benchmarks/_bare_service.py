"""The peer of benchmarks/service.py: a bare FastAPI charge endpoint with the least SQL it needs.

Same framework, same request model (strict JSON body, ``Idempotency-Key`` header), same thread
pool, same durability (SQLite WAL with ``synchronous=FULL``; PostgreSQL's default commit), same
idempotency (a unique ``(user_id, key)``): the charge is one transaction of a conditional
``UPDATE`` of the balance and one ``INSERT`` of the journal row; a reused key rolls back and
answers the first row. What it skips is everything creditcore adds: lots, double-entry legs,
holds, tiers, the fingerprint of the request, the snapshot and the JSON form of a Transaction.

``BARE_DATABASE`` is a SQLite path or a PostgreSQL DSN (``BARE_SCHEMA`` names the schema).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from creditcore.pricing import example_catalog

__all__ = ["create_app", "setup"]


class ChargeBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    operation_id: str = Field(min_length=1)
    metadata: dict[str, str | int | bool | None] | None = None


def _postgres(database: str) -> bool:
    return database.startswith(("postgresql://", "postgres://")) or "host=" in database


def setup(database: str, schema: str, users: list[str], credits: int) -> None:
    """Create the two tables and the accounts (once, before the workers start)."""
    if _postgres(database):
        import psycopg
        from psycopg import sql

        name = sql.Identifier(schema)
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {}.accounts (user_id text PRIMARY KEY,"
                    " balance bigint NOT NULL CHECK (balance >= 0))"
                ).format(name)
            )
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {}.journal (id text PRIMARY KEY, user_id text NOT NULL,"
                    " key text, credits integer NOT NULL, balance_after bigint NOT NULL,"
                    " operation text NOT NULL, created_at timestamptz NOT NULL,"
                    " UNIQUE (user_id, key))"
                ).format(name)
            )
            with conn.cursor() as cur:
                cur.executemany(
                    sql.SQL("INSERT INTO {}.accounts VALUES (%s, %s)").format(name),
                    [(user, credits) for user in users],
                )
        return
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(
            "CREATE TABLE accounts (user_id TEXT PRIMARY KEY,"
            " balance INTEGER NOT NULL CHECK (balance >= 0))"
        )
        conn.execute(
            "CREATE TABLE journal (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, key TEXT,"
            " credits INTEGER NOT NULL, balance_after INTEGER NOT NULL, operation TEXT NOT NULL,"
            " created_at TEXT NOT NULL, UNIQUE (user_id, key))"
        )
        conn.executemany("INSERT INTO accounts VALUES (?, ?)", [(u, credits) for u in users])


def create_app() -> FastAPI:
    """The bare app (uvicorn ``--factory``)."""
    database = os.environ["BARE_DATABASE"]
    threads = int(os.environ.get("CREDITCORE_THREADS", "8"))
    credits_of = {op.id: op.credits for op in example_catalog().operations}
    charge_tx = _pg_charge(database, os.environ.get("BARE_SCHEMA", "bare"), threads) if _postgres(
        database
    ) else _sqlite_charge(database)  # fmt: skip

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/accounts/{user_id}/charges", status_code=201)
    def charge(
        user_id: str,
        body: ChargeBody,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> JSONResponse:
        credits = credits_of[body.operation_id]
        row = charge_tx(user_id, idempotency_key, credits, body.operation_id)
        if row is None:
            return JSONResponse({"code": "insufficient_credits"}, 402)
        return JSONResponse(row, 201)

    return app


def _document(row: tuple[Any, ...]) -> dict[str, Any]:
    tx_id, user_id, key, credits, after, operation, created = row
    return {
        "id": tx_id,
        "user_id": user_id,
        "kind": "consume",
        "credits": credits,
        "created_at": created if isinstance(created, str) else created.isoformat(),
        "key": key,
        "balance_after": after,
        "metadata": {"operation": operation},
    }


def _sqlite_charge(database: str) -> Any:
    local = threading.local()
    writer = threading.Lock()  # this process's threads queue here, not in SQLite's busy handler

    def conn() -> sqlite3.Connection:
        found: sqlite3.Connection | None = getattr(local, "conn", None)
        if found is None:
            found = sqlite3.connect(database, isolation_level=None, timeout=60)
            found.execute("PRAGMA journal_mode = WAL")
            found.execute("PRAGMA synchronous = FULL")
            local.conn = found
        return found

    def charge(user: str, key: str | None, credits: int, op: str) -> dict[str, Any] | None:
        with writer:
            return locked(user, key, credits, op)

    def locked(user: str, key: str | None, credits: int, op: str) -> dict[str, Any] | None:
        db = conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            got = db.execute(
                "UPDATE accounts SET balance = balance - ? WHERE user_id = ? AND balance >= ?"
                " RETURNING balance",
                (credits, user, credits),
            ).fetchone()
            if got is None:
                db.execute("ROLLBACK")
                return None
            row = (f"tx_{secrets.token_hex(14)}", user, key, credits, got[0], op,
                   datetime.now(UTC).isoformat())  # fmt: skip
            try:
                db.execute("INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            except sqlite3.IntegrityError:  # the key was used: answer the first charge
                db.execute("ROLLBACK")
                first = db.execute(
                    "SELECT * FROM journal WHERE user_id = ? AND key = ?", (user, key)
                ).fetchone()
                return _document(tuple(first))
            db.execute("COMMIT")
            return _document(row)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    return charge


def _pg_charge(database: str, schema: str, threads: int) -> Any:
    import psycopg
    from psycopg import sql
    from psycopg_pool import ConnectionPool

    pool: ConnectionPool[Any] = ConnectionPool(
        database, min_size=1, max_size=threads, kwargs={"autocommit": True}, open=True
    )
    name = sql.Identifier(schema)
    update = sql.SQL(
        "UPDATE {}.accounts SET balance = balance - %s WHERE user_id = %s AND balance >= %s"
        " RETURNING balance"
    ).format(name)
    insert = sql.SQL("INSERT INTO {}.journal VALUES (%s, %s, %s, %s, %s, %s, %s)").format(name)
    first = sql.SQL("SELECT * FROM {}.journal WHERE user_id = %s AND key = %s").format(name)

    def charge(user: str, key: str | None, credits: int, op: str) -> dict[str, Any] | None:
        with pool.connection() as db:
            try:
                with db.transaction():
                    got = db.execute(update, (credits, user, credits)).fetchone()
                    if got is None:
                        return None
                    row = (f"tx_{secrets.token_hex(14)}", user, key, credits, got[0], op,
                           datetime.now(UTC))  # fmt: skip
                    db.execute(insert, row)
            except psycopg.errors.UniqueViolation:
                again = db.execute(first, (user, key)).fetchone()
                assert again is not None
                return _document(tuple(again))
            return _document(row)

    return charge
