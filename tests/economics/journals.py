"""Random journals written through the real ledger, and an independent valuation oracle.

The oracle values the lots the STORE holds (not the report's own lot table): a purchased lot at
its stored amount over its credits, a free grant at 0, an allowance at its tier's price over
its monthly credits (else the catalog's subscription credit value), a refund lot at the average
value of the credits its consumption drew.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from creditcore import AccountInDebt, InsufficientCredits, OfferClosed, OverRefund, TierNotAllowed
from creditcore.ledger import InMemoryStore, Ledger, Lot, ManualClock, Transaction
from creditcore.pricing import Catalog, Money, Tier, example_catalog

__all__ = ["CATALOG", "START", "deferred_at", "lot_values", "random_journal"]

START = datetime(2026, 10, 1, tzinfo=UTC)


def _catalog() -> Catalog:
    base = example_catalog()
    prices = {"PLUS": Money(Decimal("9.99")), "PRO": Money(Decimal("29.00"))}
    tiers = [
        Tier(t.name, t.monthly_credits, prices.get(t.name, t.price), t.models) for t in base.tiers
    ]
    return base.replace(tiers=tiers)


CATALOG = _catalog()
"""Example catalog with PLUS and PRO priced (CREATOR keeps the subscription credit value)."""


def random_journal(seed: int, *, users: int, steps: int, days: int = 75) -> Ledger:
    """A ledger whose journal holds about ``steps`` random operations over ``days`` days."""
    rng = random.Random(seed)
    clock = ManualClock(START)
    ledger = Ledger(InMemoryStore(), clock=clock)
    tiers = [t.name for t in CATALOG.tiers] + [None]
    names = [f"u{n}" for n in range(users)]
    tier_of: dict[str, str | None] = {}
    for name in names:
        tier = rng.choice(tiers)
        tier_of[name] = tier
        allowance = CATALOG.tier(tier).monthly_credits if tier else rng.choice([0, 40])
        ledger.open_account(name, monthly_allowance=allowance, tier=tier)
    ops = [op.id for op in CATALOG.operations]
    consumptions: list[Transaction] = []
    purchases: list[str] = []
    step_seconds = days * 86400 / max(steps, 1)
    payment = 0
    month = START.month
    for _ in range(steps):
        clock.advance(timedelta(seconds=rng.uniform(0, 2 * step_seconds)))
        now = clock()
        if now.month != month:
            month = now.month
            ledger.reset_all(now)
        user = rng.choice(names)
        roll = rng.random()
        try:
            if roll < 0.06:
                payment += 1
                kind = rng.random()
                if kind < 0.5:
                    pack = CATALOG.pack("studio-pack")
                    quantity = rng.choice([1, 1, 2])
                    discount = rng.choice([None, Money(Decimal("10.00"))])
                    paid = pack.price.amount * quantity - (discount.amount if discount else 0)
                    ledger.purchase(
                        user, pack.credits * quantity, payment_id=f"p{payment}",
                        amount=Money(paid), discount=discount, pack=pack, catalog=CATALOG,
                    )  # fmt: skip
                elif kind < 0.7:
                    offer = rng.choice(CATALOG.offers)
                    ledger.purchase(
                        user, offer.credits, payment_id=f"p{payment}", amount=offer.price,
                        kind="lootbox", offer=offer, catalog=CATALOG,
                    )  # fmt: skip
                elif kind < 0.85:
                    amount = Money(Decimal(rng.randrange(1, 5000)) / 100)
                    ledger.purchase(
                        user, rng.randrange(1, 400), payment_id=f"p{payment}", amount=amount
                    )
                else:
                    ledger.purchase(user, rng.randrange(1, 50), payment_id=f"p{payment}")
                purchases.append(f"p{payment}")
            elif roll < 0.70:
                op = rng.choice(ops)
                consumptions.append(ledger.charge(user, op, catalog=CATALOG))
            elif roll < 0.78:
                cost = rng.choice([None, Money(Decimal(rng.randrange(0, 100)) / 1000)])
                consumptions.append(ledger.consume(user, rng.randrange(1, 30), cost=cost))
            elif roll < 0.82:
                hold = ledger.reserve(user, rng.randrange(1, 20))
                if rng.random() < 0.7:
                    consumptions.append(ledger.capture(hold.id, rng.randrange(1, hold.credits + 1)))
                else:
                    ledger.release(hold.id)
            elif roll < 0.93 and consumptions:
                target = rng.choice(consumptions[-50:])
                credits = None if rng.random() < 0.5 else rng.randrange(1, target.credits + 1)
                ledger.refund(target.id, credits)
            elif roll < 0.96 and purchases:
                pid = rng.choice(purchases)
                ledger.revoke_purchase(
                    pid, None if rng.random() < 0.5 else rng.randrange(1, 10), reason="dispute"
                )
            elif roll < 0.98:
                tier = rng.choice(tiers)
                allowance = CATALOG.tier(tier).monthly_credits if tier else 0
                ledger.change_tier(user, tier, monthly_allowance=allowance)
            else:
                ledger.consume(user, rng.randrange(1, 5))
        except (InsufficientCredits, AccountInDebt, OverRefund, OfferClosed, TierNotAllowed):
            pass
    return ledger


def _allowance_value(tier: str | None) -> Fraction:
    if tier is not None:
        found = CATALOG.tier(tier)
        if found.price is not None:
            return Fraction(found.price.amount) / found.monthly_credits
    assert CATALOG.subscription_credit_value is not None
    return Fraction(CATALOG.subscription_credit_value)


def lot_values(ledger: Ledger) -> dict[str, Fraction]:
    """Every stored lot's value per credit, by the oracle's rules."""
    store = ledger.store
    values: dict[str, Fraction] = {}
    by_tx: dict[str, Transaction] = {}
    creators: dict[tuple[str, int], Transaction] = {}
    lots: list[Lot] = []
    for user in store.user_ids():
        for tx in store.transactions(user):
            by_tx[tx.id] = tx
            creators[(user, tx.seq)] = tx
        lots.extend(store.lots(user))
    lots.sort(key=lambda lot: (lot.user_id, lot.seq))
    for lot in lots:
        if lot.kind == "subscription":
            tier = creators[(lot.user_id, lot.seq)].metadata.get("tier")
            values[lot.id] = _allowance_value(tier if isinstance(tier, str) else None)
        elif lot.source is not None and lot.source.startswith("refund:"):
            drawn = by_tx[lot.source[len("refund:") :]].drawn()
            total = sum(drawn.values())
            values[lot.id] = sum((values[i] * n for i, n in drawn.items()), Fraction(0)) / total
        elif lot.amount is None:
            values[lot.id] = Fraction(0)  # a free grant
        else:
            values[lot.id] = Fraction(lot.amount) / lot.credits
    return values


def deferred_at(ledger: Ledger, instant: datetime | None) -> Fraction:
    """Deferred revenue at ``instant`` (``None``: the lots' stored balances now)."""
    values = lot_values(ledger)
    store = ledger.store
    if instant is None:
        return sum(
            (values[lot.id] * lot.remaining for u in store.user_ids() for lot in store.lots(u)),
            Fraction(0),
        )
    balance: dict[str, int] = defaultdict(int)
    for user in store.user_ids():
        for tx in store.transactions(user):
            if tx.created_at < instant:
                for entry in tx.entries:
                    if entry.lot_id is not None:
                        balance[entry.lot_id] += entry.delta
    return sum((values[lot_id] * n for lot_id, n in balance.items()), Fraction(0))
