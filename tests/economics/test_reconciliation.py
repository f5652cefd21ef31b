"""The roll-forward on random journals: opening + issued − recognised − breakage − revoked =
closing, exactly, with opening and closing checked against an independent valuation of the
store's lots; groups add up to the total."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from creditcore.economics import MONEY_FIELDS, economics
from creditcore.ledger import Ledger
from tests.conftest import IN_CI
from tests.economics.journals import CATALOG, START, deferred_at, random_journal

BIG_STEPS = 125_000 if IN_CI else 30_000
"""About 0.83 transactions per step (refusals write nothing; resets add some)."""


def check(ledger: Ledger, start_day: float, days: float) -> int:
    start = START + timedelta(days=start_day)
    end = start + timedelta(days=days)
    last = max(tx.created_at for tx in ledger.journal())
    report = economics(ledger, CATALOG, start=start, end=end, by=("channel",))
    roll = report.roll_forward
    assert roll.reconciles, roll.difference
    assert roll.opening == deferred_at(ledger, start)
    closing = deferred_at(ledger, None) if end > last else deferred_at(ledger, end)
    assert roll.closing == closing
    # the channels partition every flow
    for name in MONEY_FIELDS:
        parts = [row.figures.exact(name) for row in report.rows]
        if all(p is not None for p in parts):
            assert sum((p for p in parts if p is not None), Fraction(0)) == report.total.exact(name)
    assert report.total.complete or report.total.cost_unknown_calls > 0
    return sum(1 for _ in ledger.journal())


@settings(max_examples=40 if IN_CI else 15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    users=st.integers(1, 6),
    steps=st.integers(1, 400),
    start_day=st.floats(0, 60),
    days=st.floats(0.5, 40),
)
def test_the_roll_forward_reconciles_on_random_journals(
    seed: int, users: int, steps: int, start_day: float, days: float
) -> None:
    check(random_journal(seed, users=users, steps=steps), start_day, days)


def test_the_roll_forward_reconciles_on_a_journal_of_100k_transactions() -> None:
    ledger = random_journal(20261202, users=300, steps=BIG_STEPS, days=75)
    count = check(ledger, 20, 31)  # a month in the middle: opening and closing both non-zero
    if IN_CI:
        assert count >= 100_000
