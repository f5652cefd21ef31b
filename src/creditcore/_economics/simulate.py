"""A usage simulator for demos, notebooks and benchmarks: a month of a platform, from a seed.

Users are spread over the catalog's tiers and open their accounts a few days before the month;
the month starts with a reset (last period's unused allowance expires: breakage), then packs
are bought, lootbox offers are bought inside their windows, operations are charged following
an operation mix (only those the user's tier unlocks, only while credits last), and some calls
fail and are refunded. Everything goes through :class:`~creditcore.ledger.Ledger` on the store
given, at simulated instants, so the journal is exactly what a live platform would write.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from creditcore._exceptions import AccountInDebt, InsufficientCredits, InvalidInput
from creditcore.ledger import Ledger, LedgerStore, ManualClock, normalize_period, period_end
from creditcore.pricing import Catalog, LootboxOffer

__all__ = ["OperationMix", "Simulation", "simulate"]

OperationMix = Mapping[str, int]
"""Relative weights of operation ids in the calls users make (``{"seedream-v4": 5, ...}``)."""

_LEAD = timedelta(days=3)
"""Accounts open this long before the month (in the previous period)."""


@dataclass(frozen=True, slots=True)
class Simulation:
    """What :func:`simulate` did.

    Attributes:
        ledger: The ledger it wrote to (its clock is left at the end of the month).
        start: First instant of the simulated month (UTC).
        end: First instant after it.
        users: Accounts opened.
        purchases: Packs bought.
        lootboxes: Lootbox offers bought.
        calls: Operations charged.
        refunds: Failed calls refunded.
        refused: Calls refused for lack of credits (or while in debt after a chargeback).
        chargebacks: Pack payments disputed later in the month (their credits revoked).
    """

    ledger: Ledger
    start: datetime
    end: datetime
    users: int
    purchases: int
    lootboxes: int
    calls: int
    refunds: int
    refused: int
    chargebacks: int = 0


def _windows(
    offer: LootboxOffer, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The offer's open windows that start inside ``[start, end)`` (clipped to it)."""
    found: list[tuple[datetime, datetime]] = []
    current = offer.window_at(start)
    if current is not None:
        found.append((start, min(current[1].astimezone(UTC), end)))
    at = start
    while True:
        opening, closing = offer.next_window(at)
        if opening >= end:
            break
        found.append((opening.astimezone(UTC), min(closing.astimezone(UTC), end)))
        at = opening
    return found


def simulate(
    store: LedgerStore,
    catalog: Catalog,
    *,
    users: int = 100,
    month: str = "2026-11",
    seed: int = 0,
    calls_per_user: int = 30,
    pack_rate: float = 0.3,
    lootbox_rate: float = 0.15,
    failure_rate: float = 0.05,
    chargeback_rate: float = 0.05,
    mix: OperationMix | None = None,
    tier_weights: Mapping[str, int] | None = None,
) -> Simulation:
    """Simulate one month of usage into ``store`` (deterministic for a given ``seed``).

    Args:
        store: Any ledger store (it should be empty of the simulated users ``sim-0000``...).
        catalog: The price list users buy from and are charged by.
        users: How many accounts.
        month: The month simulated (``"YYYY-MM"``, UTC).
        seed: The random seed; the same seed gives the same figures.
        calls_per_user: Mean calls per user over the month.
        pack_rate: Chance that a user buys a pack during the month (each pack of the catalog).
        lootbox_rate: Chance that a user buys an offer in each of its windows.
        failure_rate: Chance that a call fails and is refunded.
        chargeback_rate: Chance that a pack payment is disputed later in the month (its
            unspent credits are revoked, the spent ones become debt).
        mix: Operation weights (default: every operation, weight 1).
        tier_weights: Tier name weights (default: lower tiers more common).

    Raises:
        InvalidInput: Bad sizes or rates, an unknown operation in ``mix`` or tier in
            ``tier_weights``.
    """
    for name, value in (("users", users), ("calls_per_user", calls_per_user)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{name}: must be an int ≥ 0, got {value!r}", field=name)
    for name, rate in (
        ("pack_rate", pack_rate),
        ("lootbox_rate", lootbox_rate),
        ("failure_rate", failure_rate),
        ("chargeback_rate", chargeback_rate),
    ):
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise InvalidInput(f"{name}: must be between 0 and 1, got {rate!r}", field=name)
    period = normalize_period(month)
    start = datetime.fromisoformat(f"{period}-01T00:00:00+00:00")
    end = period_end(period)
    weights = dict(mix) if mix is not None else {op.id: 1 for op in catalog.operations}
    known = {op.id for op in catalog.operations}
    for op_id in weights:
        if op_id not in known:
            raise InvalidInput(f"mix: no operation {op_id!r} in the catalog", field="mix")
    tiers = list(catalog.tiers)
    if tier_weights is None:
        tier_pick = {tier.name: max(1, 2 ** (len(tiers) - i)) for i, tier in enumerate(tiers)}
    else:
        names = {tier.name for tier in tiers}
        for name in tier_weights:
            if name not in names:
                raise InvalidInput(f"tier_weights: no tier {name!r}", field="tier_weights")
        tier_pick = dict(tier_weights)
    rng = random.Random(seed)
    clock = ManualClock(start - _LEAD)
    ledger = Ledger(store, clock=clock)
    seconds = int((end - start).total_seconds())

    # plan: (instant, order, action, user, detail)
    plan: list[tuple[datetime, int, str, str, str]] = []
    tier_of: dict[str, str | None] = {}
    windows = {offer.id: _windows(offer, start, end) for offer in catalog.offers}
    order = 0
    for n in range(users):
        user = f"sim-{n:05d}"
        tier_name: str | None = None
        if tiers:
            tier_name = rng.choices(list(tier_pick), weights=list(tier_pick.values()))[0]
        tier_of[user] = tier_name
        opened = start - _LEAD + timedelta(seconds=rng.randrange(3600))
        plan.append((opened, order, "open", user, tier_name or ""))
        order += 1
        plan.append((start, order, "reset", user, ""))
        order += 1
        for pack in catalog.packs:
            if rng.random() < pack_rate:
                at = start + timedelta(seconds=rng.randrange(seconds))
                plan.append((at, order, "pack", user, pack.id))
                order += 1
                if rng.random() < chargeback_rate:
                    later = at + timedelta(
                        seconds=rng.randrange(max(1, int((end - at).total_seconds())))
                    )
                    plan.append((later, order, "dispute", user, str(order - 1)))
                    order += 1
        for offer in catalog.offers:
            for opening, closing in windows[offer.id]:
                if rng.random() < lootbox_rate:
                    span = max(1, int((closing - opening).total_seconds()))
                    at = opening + timedelta(seconds=rng.randrange(span))
                    plan.append((at, order, "offer", user, offer.id))
                    order += 1
        allowed = [
            op_id
            for op_id in weights
            if tier_name is None
            or catalog.tier(tier_name).allows(catalog.operation(op_id, at=start).model)
        ]
        if not allowed:
            continue
        before = rng.randrange(0, 3)  # a few calls in the days before the month
        for _ in range(before):
            at = opened + timedelta(seconds=rng.randrange(int(_LEAD.total_seconds()) - 3600))
            plan.append(
                (at, order, "call", user, rng.choices(allowed, [weights[a] for a in allowed])[0])
            )
            order += 1
        count = max(0, round(rng.gauss(calls_per_user, calls_per_user / 3)))
        for _ in range(count):
            at = start + timedelta(seconds=rng.randrange(seconds))
            plan.append(
                (at, order, "call", user, rng.choices(allowed, [weights[a] for a in allowed])[0])
            )
            order += 1
    plan.sort(key=lambda item: (item[0], item[1]))

    purchases = lootboxes = calls = refunds = refused = chargebacks = 0
    payments = 0
    paid: dict[str, str] = {}  # plan order of a pack purchase -> its payment id
    for at, step, action, user, detail in plan:
        clock.set(max(at, clock()))
        if action == "open":
            tier_name = detail or None
            allowance = catalog.tier(tier_name).monthly_credits if tier_name else 0
            ledger.open_account(user, monthly_allowance=allowance, tier=tier_name)
        elif action == "reset":
            ledger.reset_month(user, period)
        elif action == "pack":
            pack = catalog.pack(detail)
            payments += 1
            paid[str(step)] = f"sim-pay-{seed}-{payments}"
            ledger.purchase(
                user, pack.credits, payment_id=paid[str(step)], amount=pack.price,
                pack=pack, catalog=catalog,
            )  # fmt: skip
            purchases += 1
        elif action == "dispute":
            ledger.revoke_purchase(paid[detail], reason="dispute")
            chargebacks += 1
        elif action == "offer":
            offer = catalog.offer(detail)
            payments += 1
            ledger.purchase(
                user, offer.credits, payment_id=f"sim-pay-{seed}-{payments}", amount=offer.price,
                kind="lootbox", offer=offer, catalog=catalog,
            )  # fmt: skip
            lootboxes += 1
        else:
            try:
                tx = ledger.charge(user, detail, catalog=catalog)
            except (InsufficientCredits, AccountInDebt):
                refused += 1
                continue
            calls += 1
            if rng.random() < failure_rate:
                clock.advance(timedelta(seconds=1))
                ledger.refund(tx.id)
                refunds += 1
    clock.set(max(end, clock()))
    return Simulation(
        ledger=ledger,
        start=start,
        end=end,
        users=users,
        purchases=purchases,
        lootboxes=lootboxes,
        calls=calls,
        refunds=refunds,
        refused=refused,
        chargebacks=chargebacks,
    )
