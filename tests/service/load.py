"""The load of the service test: client processes mixing charges, consumes, holds and refunds.

Every client draws its requests from a seeded generator. Half of the keyed requests take their
``Idempotency-Key`` from a pool shared by all clients, and a shared key always names the same
request (the same account, operation and size), so clients racing on one key must see one
application and the same answer.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import httpx

__all__ = ["HOT", "Reply", "run_client"]

HOT = ("hot-0", "hot-1", "hot-2", "hot-3")
"""The few accounts every client hammers."""

OPERATIONS = ("seedream-v4", "seedance-pro-720p")  # 2 and 12 credits (DOMAIN.md §2)
SHARED = 120  # shared keys per kind of request


@dataclass(frozen=True, slots=True)
class Reply:
    """What one request answered, as the client saw it."""

    kind: str  # charge, consume, reserve, capture, release, refund
    account: str
    key: str
    status: int
    id: str | None  # the transaction's (or hold's) id on success
    tx_kind: str | None
    credits: int | None
    seconds: float


def run_client(base_url: str, seed: int, requests: int) -> list[Reply]:
    """Send ``requests`` requests; return every answer."""
    rng = random.Random(seed)
    replies: list[Reply] = []
    charges: list[tuple[str, str]] = []  # (account, transaction id) this client saw
    with httpx.Client(base_url=base_url, timeout=60) as http:

        def send(kind: str, account: str, key: str, path: str, body: dict[str, object]) -> Reply:
            started = time.perf_counter()
            answer = http.post(path, json=body, headers={"Idempotency-Key": key})
            took = time.perf_counter() - started
            data = answer.json() if answer.headers.get("content-type", "").startswith(
                "application/json"
            ) else {}  # fmt: skip
            reply = Reply(
                kind,
                account,
                key,
                answer.status_code,
                data.get("id") if answer.is_success else None,
                data.get("kind") if answer.is_success else None,
                data.get("credits") if answer.is_success else None,
                took,
            )
            replies.append(reply)
            return reply

        while len(replies) < requests:
            roll = rng.random()
            shared = rng.random() < 0.5
            j = rng.randrange(SHARED)
            if roll < 0.40:
                account = HOT[j % len(HOT)] if shared else rng.choice(HOT)
                op = OPERATIONS[j % 2] if shared else rng.choice(OPERATIONS)
                key = f"charge-{j}" if shared else f"charge-{seed}-{len(replies)}"
                reply = send("charge", account, key, f"/accounts/{account}/charges",
                             {"operation_id": op})  # fmt: skip
                if reply.id is not None:
                    charges.append((account, reply.id))
            elif roll < 0.55:
                account = HOT[j % len(HOT)] if shared else rng.choice(HOT)
                credits = 1 + j % 5 if shared else rng.randint(1, 5)
                key = f"consume-{j}" if shared else f"consume-{seed}-{len(replies)}"
                send("consume", account, key, f"/accounts/{account}/consumes", {"credits": credits})
            elif roll < 0.80:
                account = HOT[j % len(HOT)] if shared else rng.choice(HOT)
                key = f"hold-{j}" if shared else f"hold-{seed}-{len(replies)}"
                held = send("reserve", account, key, f"/accounts/{account}/holds", {"credits": 6})
                if held.id is None:
                    continue
                take = (j % 2 == 0) if shared else rng.random() < 0.5
                if take:
                    send("capture", account, f"capture-{key}", f"/holds/{held.id}/capture",
                         {"credits": 4})  # fmt: skip
                else:
                    send("release", account, f"release-{key}", f"/holds/{held.id}/release", {})
            elif charges:
                account, tx_id = charges.pop(rng.randrange(len(charges)))
                send("refund", account, f"refund-{tx_id}", f"/transactions/{tx_id}/refunds", {})
    return replies
