"""A separate process for the SQLite concurrency and crash tests (run as a script).

``consume PATH USER N SEED``: print ``ready``, wait for a line on stdin, then consume 1-3
credits until refused or N calls; print one JSON line
per acknowledged transaction (``{"id": ..., "credits": ...}``), flushed right after the call
returns, then ``done``.

``stream PATH USER``: an endless stream of purchases, consumptions and refunds with
idempotency keys; prints each acknowledged transaction id as soon as its call returns. The
parent kills it with SIGKILL mid-stream.
"""

from __future__ import annotations

import json
import random
import sys

from creditcore import AccountInDebt, InsufficientCredits
from creditcore.ledger import Ledger
from creditcore.stores.sqlite import SQLiteStore


def consume(path: str, user: str, calls: int, seed: int) -> None:
    ledger = Ledger(SQLiteStore(path))
    rng = random.Random(seed)
    print("ready", flush=True)
    sys.stdin.readline()  # start together with the parent's threads
    for _ in range(calls):
        n = rng.randint(1, 3)
        try:
            tx = ledger.consume(user, n)
        except InsufficientCredits:
            if ledger.balance(user).available == 0:
                break
            continue
        print(json.dumps({"id": tx.id, "credits": tx.credits}), flush=True)
    print("done", flush=True)


def stream(path: str, user: str) -> None:
    ledger = Ledger(SQLiteStore(path))
    rng = random.Random(7)
    spent: list[str] = []
    i = 0
    while True:
        i += 1
        choice = rng.random()
        try:
            if choice < 0.3:
                tx = ledger.purchase(user, rng.randint(1, 20), payment_id=f"pay-{i}")
            elif choice < 0.8:
                tx = ledger.consume(user, rng.randint(1, 5), key=f"job-{i}")
                spent.append(tx.id)
            elif spent:
                tx = ledger.refund(spent.pop(rng.randrange(len(spent))))
            else:
                continue
        except (InsufficientCredits, AccountInDebt):
            continue
        print(tx.id, flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "consume":
        consume(args[0], args[1], int(args[2]), int(args[3]))
    else:
        stream(args[0], args[1])
