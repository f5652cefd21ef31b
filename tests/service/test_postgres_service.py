"""The reference service on PostgreSQL (one setting), and a store that goes away: 503 + Retry-After."""

from __future__ import annotations

import httpx
import pytest

from tests.service.server import running_service
from tests.stores.postgres_support import drop_schema, new_schema_name, require_server

pytestmark = pytest.mark.postgres


def test_on_postgresql_it_serves_and_a_lost_store_answers_503_with_retry_after() -> None:
    dsn = require_server()
    schema = new_schema_name()
    env = {"CREDITCORE_DATABASE": dsn, "CREDITCORE_PG_SCHEMA": schema, "CREDITCORE_THREADS": "2"}
    try:
        with running_service(env) as service, httpx.Client(base_url=service.url) as http:
            assert http.get("/healthz").json()["store"] == "postgresql"
            assert http.post("/accounts", json={"user_id": "u", "monthly_allowance": 15}).is_success
            charged = http.post("/accounts/u/charges", json={"operation_id": "seedream-v4"})
            assert charged.status_code == 201, charged.text
            assert http.get("/accounts/u/balance").json()["current"] == 13
            drop_schema(dsn, schema)  # the database loses the ledger's tables under the service
            lost = http.get("/accounts/u/balance")
            assert lost.status_code == 503, lost.text
            assert lost.headers["retry-after"] == "1"
            assert lost.headers["content-type"].startswith("application/problem+json")
            document = lost.json()
            assert (document["code"], document["title"]) == ("store_error", "Store unavailable")
            assert "Traceback" not in lost.text
            write = http.post("/accounts/u/consumes", json={"credits": 1})
            assert write.status_code == 503, write.text
    finally:
        drop_schema(dsn, schema)
