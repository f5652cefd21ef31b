"""8 client processes × 500 requests on a few hot accounts, keys repeated across clients.

Afterwards: no 5xx was answered, every request succeeded, no key was applied twice (one answer
per key, one journal entry per key), credits are conserved (each account's balance is what the
clients' own answers add up to) and ``verify`` passes on every account.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.load import HOT, Reply, run_client
from tests.service.server import Service, running_service

CLIENTS = 8
REQUESTS = 500
FUNDS = 200_000


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder: Path = tmp_path_factory.mktemp("load")
    env = {"CREDITCORE_DATABASE": str(folder / "ledger.sqlite3"), "CREDITCORE_THREADS": "8"}
    with running_service(env, workers=2) as running:
        yield running


def journal(http: httpx.Client, user: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = http.get(f"/accounts/{user}/history", params=params).json()
        rows += page["transactions"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def test_the_service_under_load_answers_no_5xx_and_conserves_every_credit(
    service: Service,
) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as http:
        for user in HOT:
            assert http.post("/accounts", json={"user_id": user}).status_code == 201
            bought = http.post(
                f"/accounts/{user}/purchases", json={"payment_id": f"fund-{user}", "credits": FUNDS}
            )
            assert bought.status_code == 201
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
        results = pool.map(partial(run_client, service.url, requests=REQUESTS), range(CLIENTS))
    wall = time.perf_counter() - started
    replies: list[Reply] = [reply for result in results for reply in result]
    assert len(replies) >= CLIENTS * REQUESTS

    statuses = Counter(reply.status for reply in replies)
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 201}, statuses  # funds never run out; every key names one request

    # one key, one answer: whoever sent it, whenever
    answers: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    for reply in replies:
        answers[(reply.account, reply.key)].add(reply.id)
    assert all(len(ids) == 1 for ids in answers.values())
    repeated = Counter((reply.account, reply.key) for reply in replies)
    assert sum(1 for count in repeated.values() if count > 1) > 50  # keys did race

    # the clients' own answers add up to each balance
    applied: dict[str, Reply] = {}
    for reply in replies:
        assert reply.id is not None
        applied[reply.id] = reply
    with httpx.Client(base_url=service.url, timeout=60) as http:
        for user in HOT:
            expected = FUNDS
            for reply in applied.values():
                if reply.account != user or reply.tx_kind is None:
                    continue
                if reply.tx_kind in ("consume", "capture"):
                    expected -= reply.credits or 0
                elif reply.tx_kind == "refund":
                    expected += reply.credits or 0
            balance = http.get(f"/accounts/{user}/balance").json()
            assert (balance["current"], balance["held"]) == (expected, 0), user
            rows = journal(http, user)
            keys = Counter(row["key"] for row in rows if row["key"] is not None)
            assert keys
            assert max(keys.values()) == 1
            seen = {i for i, r in applied.items() if r.account == user and r.tx_kind}
            booked = {
                row["id"] for row in rows if row["kind"] not in ("open", "purchase", "reserve")
            }
            assert seen == booked  # nothing applied that no client was told of, and vice versa
            report = http.get(f"/accounts/{user}/verify").json()
            assert report["ok"], report["problems"]
            assert report["transactions"] == len(rows)

    latencies = sorted(reply.seconds for reply in replies)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000
    print(
        f"\nload: {len(replies)} requests from {CLIENTS} processes in {wall:.1f} s "
        f"({len(replies) / wall:.0f} req/s), p50 {p50:.1f} ms, p99 {p99:.1f} ms; {dict(statuses)}"
    )
