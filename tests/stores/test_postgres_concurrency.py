"""Concurrency proof of PostgresStore: 8 PROCESSES (spawn, one connection each) on one account.

The expectations are derived from what each process was told (acknowledged calls and their
credits), from docs/domain.md and from the ledger's own replay (``verify``), never from the
store's answer to the same question.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from collections import Counter, defaultdict
from typing import Any

import pytest

from creditcore.ledger import Ledger
from creditcore.stores.postgres import PostgresStore
from tests.conftest import IN_CI
from tests.stores.postgres_support import (
    ChurnResult,
    churn_worker,
    pg_dsn_fixture,  # noqa: F401  (fixture)
    pg_schema_fixture,  # noqa: F401  (fixture)
    purchase_worker,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 8
OPERATIONS = 500 if IN_CI else 250  # per process: 4,000 (CI) or 2,000 calls on one account
ALLOWANCE = 200
OPENING_PURCHASE = 300
WAIT = 150.0


class _Children:
    """Spawned worker processes sharing a start barrier and a result queue."""

    def __init__(self, target: Any, args_for: Any) -> None:
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(PROCESSES)  # kept referenced until the children are done
        self.out: Any = ctx.Queue()
        self.processes = [
            ctx.Process(target=target, args=(*args_for(i), self.barrier, self.out))
            for i in range(PROCESSES)
        ]
        for process in self.processes:
            process.start()

    def results(self, count: int) -> list[Any]:
        """``count`` results; fails fast when a worker died before reporting."""
        got: list[Any] = []
        deadline = time.monotonic() + WAIT
        while len(got) < count:
            try:
                got.append(self.out.get(timeout=1.0))
            except queue.Empty:
                dead = [p.exitcode for p in self.processes if p.exitcode not in (None, 0)]
                assert not dead, f"a worker died (exit codes {dead})"
                assert time.monotonic() < deadline, f"only {len(got)} of {count} results"
        for process in self.processes:
            process.join(timeout=WAIT)
            assert process.exitcode == 0, f"worker exited with {process.exitcode}"
        return got


def test_hot_account_under_eight_processes_conserves_credits(pg_dsn: str, pg_schema: str) -> None:
    store = PostgresStore(pg_dsn, schema=pg_schema)
    ledger = Ledger(store)
    ledger.open_account("hot", monthly_allowance=ALLOWANCE)
    ledger.purchase("hot", OPENING_PURCHASE, payment_id="opening")

    children = _Children(churn_worker, lambda i: (pg_dsn, pg_schema, "hot", i, OPERATIONS))
    results: list[ChurnResult] = children.results(PROCESSES)

    assert [r.unexpected for r in results if r.unexpected] == []
    acked = [item for r in results for item in r.acked]
    sums: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for kind, _id, credits in acked:
        sums[kind] += credits
        counts[kind] += 1
    refused = Counter[str]()
    for r in results:
        refused.update(r.refused)
    print(f"acknowledged {dict(counts)}, refused {dict(refused)}")
    # the account ran dry at times: the race at the boundary was really exercised
    assert refused["InsufficientCredits"] > 0
    assert min(counts["consume"], counts["refund"], counts["capture"]) > 0

    # every acknowledged call is in the journal, exactly once
    journal = store.transactions("hot")
    assert [t.seq for t in journal] == list(range(1, len(journal) + 1))
    by_id = {t.id: t for t in journal}
    for kind, item_id, credits in acked:
        if kind == "reserve":
            assert store.hold(item_id) is not None
            continue
        tx = by_id[item_id]
        assert (tx.kind, tx.credits) == (kind, credits)
    journal_kinds = Counter[str](t.kind for t in journal)
    for kind in ("consume", "refund", "reserve", "capture", "release"):
        assert journal_kinds[kind] == counts[kind], kind
    assert journal_kinds["purchase"] == counts["purchase"] + 1

    # credits conserved: hand computation from docs/domain.md over what the callers were told
    expected = (
        ALLOWANCE
        + OPENING_PURCHASE
        + sums["purchase"]
        - sums["consume"]
        - sums["capture"]
        + sums["refund"]
    )
    balance = ledger.balance("hot")
    assert balance.current == expected
    assert balance.held == 0  # every hold was captured or released
    assert balance.available == expected
    # nothing overdrawn, ever: no lot's running balance went below zero
    assert all(e.balance_after >= 0 for t in journal for e in t.entries if e.lot_id)
    assert all(lot.remaining >= 0 for lot in store.lots("hot"))
    # no consumption refunded beyond what it took
    refunded: dict[str, int] = defaultdict(int)
    for t in journal:
        if t.kind == "refund" and t.ref is not None:
            refunded[t.ref] += t.credits
    for ref, total in refunded.items():
        assert total <= by_id[ref].credits
    report = ledger.verify("hot")
    assert report.ok, report.problems
    store.close()


def test_the_same_purchase_from_eight_processes_lands_once(pg_dsn: str, pg_schema: str) -> None:
    """Rounds of one payment delivered by 8 processes at once: first all to one user, then split
    between two users (a misrouted webhook: one user gets it, the other a conflict)."""
    store = PostgresStore(pg_dsn, schema=pg_schema)
    ledger = Ledger(store)
    names = ["buyer0", "buyer1"]
    for name in names:
        ledger.open_account(name, monthly_allowance=0)
    same_user = [f"pay-same-{n}" for n in range(4)]
    split = [f"pay-split-{n}" for n in range(4)]

    def deliveries(worker: int) -> list[tuple[str, str]]:
        return [(p, "buyer0") for p in same_user] + [(p, names[worker % 2]) for p in split]

    children = _Children(purchase_worker, lambda i: (pg_dsn, pg_schema, deliveries(i), 25))
    answers = children.results(PROCESSES * (len(same_user) + len(split)))

    assert [a for a in answers if a[2].startswith("unexpected")] == []
    for payment in same_user + split:
        booked = store.purchase_by_payment(payment)
        assert booked is not None
        mine = [a for a in answers if a[0] == payment]
        assert len(mine) == PROCESSES
        # every process of the winning user got the first transaction; the others a conflict
        for _pid, user, answer in mine:
            assert answer == (booked.id if user == booked.user_id else "conflict")
        if payment in same_user:
            assert booked.user_id == "buyer0"
    total = sum(ledger.balance(name).purchased for name in names)
    assert total == 25 * (len(same_user) + len(split))
    for name in names:
        purchases = [t for t in store.transactions(name) if t.kind == "purchase"]
        assert len({t.payment_id for t in purchases}) == len(purchases)
        assert ledger.verify(name).ok
    store.close()
