"""Idempotency keys on every mutating call, including concurrent duplicates."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from creditcore import IdempotencyConflict, InsufficientCredits
from creditcore.ledger import Ledger, ManualClock, Transaction
from tests.ledger.conftest import T0
from tests.stores.factories import StoreFactory, factory_params, require


def test_same_key_same_request_returns_the_first(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    first = ledger.consume("u", 5, key="k", metadata={"job": "a"})
    assert ledger.consume("u", 5, key="k", metadata={"job": "a"}) == first
    assert ledger.balance("u").current == 95


def test_same_key_other_request_is_a_conflict(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    ledger.consume("u", 5, key="k", metadata={"job": "a"})
    with pytest.raises(IdempotencyConflict) as err:
        ledger.consume("u", 6, key="k")
    assert err.value.context["key"] == "k"
    with pytest.raises(IdempotencyConflict):
        ledger.consume("u", 5, key="k", metadata={"job": "b"})
    with pytest.raises(IdempotencyConflict):
        ledger.reserve("u", 5, key="k")
    assert ledger.balance("u").current == 95


def test_a_rejected_request_does_not_use_up_its_key(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=10)
    with pytest.raises(InsufficientCredits):
        ledger.consume("u", 11, key="k")
    ledger.purchase("u", 5, payment_id="p")
    assert ledger.consume("u", 11, key="k").credits == 11


def test_keys_are_per_account(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=10)
    ledger.open_account("v", monthly_allowance=10)
    a = ledger.consume("u", 1, key="k")
    b = ledger.consume("v", 2, key="k")
    assert a.id != b.id


def test_refund_release_capture_and_tier_keys(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    spent = ledger.consume("u", 10)
    back = ledger.refund(spent.id, 3, key="r")
    assert ledger.refund(spent.id, 3, key="r") == back
    with pytest.raises(IdempotencyConflict):
        ledger.refund(spent.id, 4, key="r")
    hold = ledger.reserve("u", 5)
    cap = ledger.capture(hold.id, key="c")
    assert ledger.capture(hold.id, key="c") == cap  # would be HoldNotActive without the key
    other = ledger.reserve("u", 5)
    rel = ledger.release(other.id, key="l")
    assert ledger.release(other.id, key="l") == rel
    tier = ledger.change_tier("u", "PRO", monthly_allowance=500, key="t")
    assert ledger.change_tier("u", "PRO", monthly_allowance=500, key="t") == tier
    assert ledger.verify("u").ok


def _race(n: int, call: Callable[[], Transaction]) -> list[Transaction | BaseException]:
    results: list[Transaction | BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def run() -> None:
        barrier.wait()
        try:
            out: Transaction | BaseException = call()
        except BaseException as err:
            out = err
        with lock:
            results.append(out)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("factory", factory_params())
def test_concurrent_duplicates_land_once(factory: StoreFactory, tmp_path: Path) -> None:
    require(factory)
    with factory.open(tmp_path) as store:
        ledger = Ledger(store, ManualClock(T0))
        ledger.open_account("u", monthly_allowance=100)
        ledger.open_account("v", monthly_allowance=100)
        spent = _race(8, lambda: ledger.consume("u", 7, key="job-1"))
        assert all(isinstance(r, Transaction) for r in spent)
        assert len({r.id for r in spent if isinstance(r, Transaction)}) == 1
        bought = _race(8, lambda: ledger.purchase("u", 50, payment_id="pi_1"))
        assert len({r.id for r in bought if isinstance(r, Transaction)}) == 1
        assert all(isinstance(r, Transaction) for r in bought)
        # the same payment id for two accounts at once: one lands, the other conflicts
        mixed = _race(
            8,
            lambda: ledger.purchase(
                "u" if threading.get_ident() % 2 else "v", 5, payment_id="pi_2"
            ),
        )
        landed = {r.id for r in mixed if isinstance(r, Transaction)}
        assert len(landed) == 1
        assert all(isinstance(r, Transaction | IdempotencyConflict) for r in mixed)
        bal = ledger.balance("u")
        assert bal.current + ledger.balance("v").current == 100 - 7 + 50 + 100 + 5
        assert ledger.verify("u").ok
        assert ledger.verify("v").ok
