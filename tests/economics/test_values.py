"""Valuation rules, old journals (unvalued, cost unknown: never $0), the replay, the plots."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from creditcore import InvalidInput, NaiveDatetime
from creditcore.economics import (
    allowance_value,
    economics,
    economics_of,
    purchase_value,
    simulate,
)
from creditcore.ledger import InMemoryStore, Ledger, ManualClock, Transaction
from creditcore.pricing import Money, Operation, Tier, example_catalog

CATALOG = example_catalog()
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


def usd(text: str) -> Money:
    return Money(Decimal(text))


def test_allowance_values_follow_the_tier_price_else_the_subscription_value() -> None:
    # PLUS has no price in the seeds: the catalog's subscription credit value, 0.02
    assert allowance_value(CATALOG, "PLUS", NOV).value == Fraction("0.02")
    assert allowance_value(CATALOG, None, NOV).value == Fraction("0.02")
    free = allowance_value(CATALOG, "FREE", NOV)  # $0: a free grant
    assert (free.value, free.channel) == (Fraction(0), "free")
    tiers = [
        Tier(t.name, t.monthly_credits, usd("10") if t.name == "PLUS" else t.price, t.models)
        for t in CATALOG.tiers
    ]
    priced = CATALOG.replace(tiers=tiers)
    assert allowance_value(priced, "PLUS", NOV).value == Fraction(10, 150)  # not terminating
    bare = CATALOG.replace(subscription_credit_value=None)
    assert allowance_value(bare, "PLUS", NOV).value is None


def test_an_old_journal_is_reported_unvalued_and_cost_unknown_never_as_zero() -> None:
    clock = ManualClock(NOV + timedelta(hours=1))
    ledger = Ledger(InMemoryStore(), clock=clock)
    ledger.open_account("old", monthly_allowance=0)
    ledger.purchase("old", 100, payment_id="legacy", amount=usd("60.00"))
    ledger.consume("old", 30)  # no cost given: unknown
    ledger.charge("old", "wan-2.5", catalog=CATALOG)  # cost known
    # written before lots were valued: a purchase with neither amount nor price marker
    journal: list[Transaction] = []
    for tx in ledger.journal():
        if tx.kind == "purchase":
            meta = {
                k: v for k, v in tx.metadata.items() if k not in ("amount", "currency", "price")
            }
            tx = dataclasses.replace(tx, metadata=meta)
        journal.append(tx)
    report = economics_of(journal, CATALOG, start=NOV, end=DEC)
    total = report.total
    assert total.unvalued_credits == 50
    assert total.recognised == usd("0")  # nothing valued was consumed...
    assert total.gross_margin is None
    assert total.markup is None
    assert total.cost_unknown_calls == 1
    assert total.provider_cost == usd("0.25")
    assert list(report.unvalued_lots.values()) == ["no amount recorded for this purchase"]
    assert "unvalued" in report.table()
    # the same journal as written today is fully valued
    today = economics(ledger, CATALOG, start=NOV, end=DEC).total
    assert today.recognised == usd("30.00")  # 50 × 0.60 (60.00 over 100 credits)
    assert today.unvalued_credits == 0
    assert today.cost_unknown_calls == 1


def test_a_purchase_in_another_currency_is_unvalued() -> None:
    ledger = Ledger(InMemoryStore(), clock=ManualClock(NOV))
    ledger.open_account("e", monthly_allowance=0)
    tx = ledger.purchase("e", 10, payment_id="eur", amount=Money(Decimal("5"), "EUR"))
    value = purchase_value(tx, "USD")
    assert value.value is None
    assert value.reason == "paid in EUR, not USD"


def test_a_replay_under_the_same_catalog_changes_nothing() -> None:
    sim = simulate(InMemoryStore(), CATALOG, users=15, seed=3, calls_per_user=20)
    report = economics(sim.ledger, CATALOG, start=sim.start, end=sim.end, by=("operation",))
    replay = report.replay(CATALOG)
    assert replay.total.replayed.recognised == report.total.recognised
    assert replay.total.replayed.provider_cost == report.total.provider_cost
    for row in replay.rows:
        assert row.figures.replayed.recognised == row.figures.actual.recognised


def test_a_replay_reprices_credits_and_costs() -> None:
    sim = simulate(InMemoryStore(), CATALOG, users=15, seed=3, calls_per_user=20)
    report = economics(sim.ledger, CATALOG, start=sim.start, end=sim.end, by=("operation",))

    def change(op: Operation) -> Operation:
        if op.id == "nanobanana":
            return dataclasses.replace(op, credits=3)
        if op.id == "wan-2.5":
            return dataclasses.replace(op, api_cost=usd("0.30"))
        return op

    other = CATALOG.replace(operations=[change(op) for op in CATALOG.operations])
    replay = report.replay(other)
    nano = next(r for r in replay.rows if r.key["operation"] == "nanobanana").figures
    wan = next(r for r in replay.rows if r.key["operation"] == "wan-2.5").figures
    # 3 credits instead of 2 at the same credit values: revenue × 3/2; the cost is unchanged
    assert nano.replayed.recognised_exact == nano.actual.recognised_exact * 3 / 2
    assert nano.replayed.provider_cost == nano.actual.provider_cost
    # WAN at 0.30 instead of 0.25 per call, net of refunds
    assert wan.replayed.provider_cost_exact == wan.actual.provider_cost_exact * Fraction(6, 5)
    assert wan.replayed.recognised == wan.actual.recognised
    frame = replay.to_dataframe()
    assert {"actual_recognised", "replayed_recognised"} <= set(frame.columns)


def test_bad_arguments_are_named_errors() -> None:
    ledger = Ledger(InMemoryStore())
    with pytest.raises(InvalidInput, match="by"):
        economics(ledger, CATALOG, start=NOV, end=DEC, by=("colour",))
    with pytest.raises(InvalidInput, match="end"):
        economics(ledger, CATALOG, start=DEC, end=NOV)
    with pytest.raises(NaiveDatetime):
        economics(ledger, CATALOG, start=datetime(2026, 11, 1), end=DEC)
    with pytest.raises(InvalidInput, match="ledger"):
        economics("ledger", CATALOG, start=NOV, end=DEC)  # type: ignore[arg-type]


def test_the_simulator_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> tuple[object, ...]:
        sim = simulate(InMemoryStore(), CATALOG, users=10, seed=seed, calls_per_user=15)
        total = economics(sim.ledger, CATALOG, start=sim.start, end=sim.end).total
        return (sim.calls, sim.purchases, total.recognised, total.cash_collected)

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_the_plots_draw(tmp_path: Path) -> None:
    sim = simulate(InMemoryStore(), CATALOG, users=20, seed=2, calls_per_user=20)
    report = economics(sim.ledger, CATALOG, start=sim.start, end=sim.end)
    margin = report.plot("margin")
    timeline = report.plot("timeline")
    assert len(margin.axes) == 1
    assert margin.axes[0].get_legend() is not None
    assert len(timeline.axes) == 2
    # the last deferred point is the closing deferred revenue
    line = timeline.axes[1].get_lines()[0]
    points: list[float] = [float(y) for y in line.get_ydata()]  # type: ignore[union-attr, arg-type]
    assert points[-1] == pytest.approx(float(report.roll_forward.closing))
    for name, figure in (("margin", margin), ("timeline", timeline)):
        figure.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    with pytest.raises(InvalidInput):
        report.plot("pie")
