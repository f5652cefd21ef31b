"""The report as one pass over the journal: a pure function of transactions and a catalog.

Value follows credits entry by entry. Every lot gets a value per credit when the transaction
that creates it is read (:mod:`creditcore._economics.valuation`); every later entry on the lot
moves ``delta × value`` between deferred revenue and one of the flows (issued, recognised,
breakage, revoked). Deferred revenue at an instant is the sum over lots of their balance then
times their value, so the roll-forward holds by construction and is checked independently from
the lots' balances.

The inner loop counts whole credits per lot (integers); fractions are multiplied in once per
(group, lot) at the end, which keeps a pass over millions of consumptions cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from creditcore._economics.figures import DIMENSIONS, Dimension, Figures, ReplayFigures
from creditcore._economics.valuation import (
    LotValue,
    allowance_value,
    consumption_cost,
    purchase_value,
    refund_lot_value,
)
from creditcore._exceptions import NotFound
from creditcore.ledger import Transaction
from creditcore.pricing import Catalog

__all__ = ["DEFERRED_DIMENSIONS", "Fold", "GroupKey", "fold"]

GroupKey = tuple[str | None, ...]
"""The values of the ``by`` dimensions of one group, in ``by`` order."""

DEFERRED_DIMENSIONS: frozenset[str] = frozenset({"channel", "user"})
"""Groupings under which every lot belongs to one group, so deferred revenue splits by group."""

_OP, _PROVIDER, _KIND, _CHANNEL, _TIER, _USER, _DAY, _MONTH = range(8)


@dataclass(slots=True)
class _Lot:
    value: LotValue
    user: str
    tier: str | None
    created_at: datetime
    opening: int = 0
    closing: int = 0


@dataclass(slots=True)
class _Use:
    credits: int
    cost: int  # index into _Pass.cost_values; -1: unknown
    drawn: tuple[tuple[str, int], ...]
    operation: str | None
    provider: str | None
    kind: str | None


@dataclass(slots=True)
class _Acc:
    recognised: dict[str, int] = field(default_factory=dict)
    breakage: dict[str, int] = field(default_factory=dict)
    issued: dict[str, int] = field(default_factory=dict)
    revoked: dict[str, int] = field(default_factory=dict)
    written_off: dict[str, int] = field(default_factory=dict)
    recovered: dict[str, int] = field(default_factory=dict)
    cost: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (cost, share, of)
    cash_in: Fraction = Fraction(0)
    consumed: int = 0
    refunded: int = 0
    calls: int = 0
    cost_unknown: int = 0
    # replay
    replay_recognised: Fraction = Fraction(0)
    replay_cost: Fraction = Fraction(0)
    replay_unvalued: int = 0
    not_priced: int = 0


def _bump(counts: dict[Any, int], key: Any, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


@dataclass(frozen=True, slots=True)
class Fold:
    """What one pass produced: figures per group, the total, and (for a replay) both sides.

    Attributes:
        groups: Figures per group key, in first-seen order.
        total: Figures of the whole range.
        replay: Per group, actual and replayed figures (empty unless a replay catalog was given).
        replay_total: Actual and replayed figures of the whole range, when replayed.
        unvalued_lots: Lots whose value is unknown, with the reason (by lot id).
    """

    groups: dict[GroupKey, Figures]
    total: Figures
    replay: dict[GroupKey, ReplayFigures]
    replay_total: ReplayFigures | None
    unvalued_lots: dict[str, str]


class _Pass:
    """The state of one pass (kept out of :func:`fold` to keep that readable)."""

    def __init__(
        self,
        catalog: Catalog,
        start: datetime,
        end: datetime,
        by: Sequence[Dimension],
        other: Catalog | None,
    ) -> None:
        self.catalog = catalog
        self.currency = catalog.currency
        self.start = start
        self.end = end
        self.by = tuple(by)
        self.index = tuple(DIMENSIONS.index(d) for d in self.by)
        self.split_channel = "channel" in self.by
        self.need_time = "day" in self.by or "month" in self.by
        self.other = other
        self.lots: dict[str, _Lot] = {}
        self.uses: dict[str, _Use] = {}
        self.purchases: dict[str, str] = {}  # purchase tx id -> lot id
        self.tiers: dict[str, str | None] = {}
        self.groups: dict[GroupKey, _Acc] = {}
        self.calls = 0
        self.kinds: dict[str | None, str | None] = {}
        self.costs: dict[str, int] = {}  # api_cost text -> index in cost_values
        self.cost_values: list[Fraction] = []
        self.other_values: dict[str, Fraction | None] = {}

    # --- helpers ----------------------------------------------------------------------------

    def acc(self, values: Sequence[str | None]) -> _Acc:
        index = self.index
        if len(index) == 1:
            key: GroupKey = (values[index[0]],)
        else:
            key = tuple([values[i] for i in index])
        found = self.groups.get(key)
        if found is None:
            found = self.groups[key] = _Acc()
        return found

    def dims(
        self,
        tx: Transaction,
        operation: str | None = None,
        provider: str | None = None,
        kind: str | None = None,
        channel: str | None = None,
    ) -> list[str | None]:
        day = month = None
        if self.need_time:
            instant = tx.created_at.astimezone(UTC)
            day = instant.date().isoformat()
            month = day[:7]
        return [
            operation,
            provider,
            kind,
            channel,
            self.tiers.get(tx.user_id),
            tx.user_id,
            day,
            month,
        ]

    def op_kind(self, operation: str | None) -> str | None:
        if operation not in self.kinds:
            kind = None
            for op in self.catalog.operations:
                if op.id == operation:
                    kind = op.kind
                    break
            self.kinds[operation] = kind
        return self.kinds[operation]

    def new_lot(self, lot_id: str, value: LotValue, tx: Transaction, tier: str | None) -> _Lot:
        lot = _Lot(value, tx.user_id, tier, tx.created_at)
        self.lots[lot_id] = lot
        return lot

    def move(self, tx: Transaction, in_range: bool) -> None:
        """Apply every lot entry of ``tx`` to the lots' balances at start and at end."""
        for entry in tx.entries:
            account = entry.account
            if account.startswith("lot:"):
                lot = self.lots.get(account[4:])
                if lot is None:  # a lot we could not attribute: value unknown
                    lot = self.new_lot(
                        account[4:],
                        LotValue(None, "custom", None, f"no transaction creates it ({tx.kind})"),
                        tx,
                        self.tiers.get(tx.user_id),
                    )
                lot.closing += entry.delta
                if not in_range:
                    lot.opening += entry.delta

    # --- transactions -----------------------------------------------------------------------

    def read(self, tx: Transaction) -> None:
        when = tx.created_at
        if when >= self.end:
            return
        in_range = when >= self.start
        kind = tx.kind
        if kind == "consume" or kind == "capture":
            self.consume(tx, in_range)
            return  # it moved its own lots
        if kind == "refund":
            self.refund(tx, in_range)
        elif kind == "purchase":
            self.purchase(tx, in_range)
        elif kind in ("open", "reset"):
            self.allowance(tx, in_range)
        elif kind == "revoke":
            self.revoke(tx, in_range)
        elif kind == "tier":
            tier = tx.metadata.get("tier")
            self.tiers[tx.user_id] = tier if isinstance(tier, str) else None
        self.move(tx, in_range)

    def cost_of(self, tx: Transaction) -> int:
        """The index of the consumption's cost in ``cost_values`` (-1: unknown)."""
        meta = tx.metadata
        text = meta.get("api_cost")
        if not isinstance(text, str) or meta.get("currency", self.currency) != self.currency:
            return -1
        index = self.costs.get(text)
        if index is None:
            cost = consumption_cost(tx, self.currency)
            if cost is None:
                return -1
            index = self.costs[text] = len(self.cost_values)
            self.cost_values.append(cost)
        return index

    def cost_value(self, index: int) -> Fraction | None:
        return None if index < 0 else self.cost_values[index]

    def consume(self, tx: Transaction, in_range: bool) -> None:
        meta = tx.metadata
        operation = meta.get("operation")
        op = operation if isinstance(operation, str) else None
        provider = meta.get("provider")
        prov = provider if isinstance(provider, str) else None
        drawn_list: list[tuple[str, int]] = []
        lots_by_id = self.lots
        for entry in tx.entries:  # the lots' balances (what move() does), and what was drawn
            account = entry.account
            if account[:4] != "lot:":
                continue
            lot_id = account[4:]
            found = lots_by_id.get(lot_id)
            if found is None:
                self.move(tx, in_range)  # an unknown lot: the general path records it
                return self._consume_rest(tx, in_range, op, prov, None)
            delta = entry.delta
            found.closing += delta
            if not in_range:
                found.opening += delta
            if delta < 0:
                drawn_list.append((lot_id, -delta))
        self._consume_rest(tx, in_range, op, prov, tuple(drawn_list))

    def _consume_rest(
        self,
        tx: Transaction,
        in_range: bool,
        op: str | None,
        prov: str | None,
        drawn_given: tuple[tuple[str, int], ...] | None,
    ) -> None:
        drawn = (
            drawn_given
            if drawn_given is not None
            else tuple(
                (e.account[4:], -e.delta)
                for e in tx.entries
                if e.delta < 0 and e.account.startswith("lot:")
            )
        )
        cost = self.cost_of(tx)
        op_kind = self.op_kind(op)
        credits = tx.credits
        self.uses[tx.id] = _Use(credits, cost, drawn, op, prov, op_kind)
        if not in_range:
            return
        self.calls += 1
        base = self.dims(tx, op, prov, op_kind)
        if self.split_channel:
            parts: dict[str, list[tuple[str, int]]] = {}
            for lot_id, n in drawn:
                lot = self.lots.get(lot_id)
                name = lot.value.channel if lot is not None else "custom"
                parts.setdefault(name, []).append((lot_id, n))
            split: list[tuple[str, Sequence[tuple[str, int]]]] = list(parts.items())
        else:
            split = [("", drawn)]
        for channel, lots in split:
            if self.split_channel:
                base[_CHANNEL] = channel
            acc = self.acc(base)
            acc.calls += 1
            recognised = acc.recognised
            share = 0
            for lot_id, n in lots:
                recognised[lot_id] = recognised.get(lot_id, 0) + n
                share += n
            acc.consumed += share
            if cost < 0:
                acc.cost_unknown += 1
            else:
                costs = acc.cost
                slot = (cost, share, credits)
                costs[slot] = costs.get(slot, 0) + 1
            if self.other is not None:
                self.replay_use(
                    acc, op, tx.created_at, credits, list(lots), self.cost_value(cost), 1
                )

    def refund(self, tx: Transaction, in_range: bool) -> None:
        use = self.uses.get(tx.ref or "")
        restored = [
            (e.account[4:], e.delta)
            for e in tx.entries
            if e.delta > 0 and e.account.startswith("lot:")
        ]
        for lot_id, _n in restored:
            if lot_id not in self.lots:  # a refund lot: the consumption's average value
                drawn = [
                    (self.lots[i].value, n) for i, n in (use.drawn if use else ()) if i in self.lots
                ]
                self.new_lot(lot_id, refund_lot_value(drawn), tx, self.tiers.get(tx.user_id))
        if not in_range:
            return
        op = use.operation if use else None
        prov = use.provider if use else None
        op_kind = use.kind if use else None
        base = self.dims(tx, op, prov, op_kind)
        if self.split_channel:
            parts: dict[str, list[tuple[str, int]]] = {}
            for lot_id, n in restored:
                parts.setdefault(self.lots[lot_id].value.channel, []).append((lot_id, n))
            split = list(parts.items())
        else:
            split = [("", restored)]
        for channel, lots in split:
            if self.split_channel:
                base[_CHANNEL] = channel
            acc = self.acc(tuple(base))
            share = 0
            for lot_id, n in lots:
                _bump(acc.recognised, lot_id, -n)
                share += n
            acc.refunded += share
            if use is not None and use.cost >= 0:
                _bump(acc.cost, (use.cost, -share, use.credits), 1)
            if self.other is not None and use is not None:
                self.replay_use(
                    acc, op, tx.created_at, use.credits, lots, self.cost_value(use.cost), -1
                )

    def purchase(self, tx: Transaction, in_range: bool) -> None:
        meta = tx.metadata
        lot_id = meta.get("lot")
        if not isinstance(lot_id, str):
            lot_id = next(
                (e.account[4:] for e in tx.entries if e.account.startswith("lot:")), tx.id
            )
        value = purchase_value(tx, self.currency)
        self.new_lot(lot_id, value, tx, self.tiers.get(tx.user_id))
        self.purchases[tx.id] = lot_id
        if not in_range:
            return
        debt_paid = meta.get("debt_paid", 0)
        paid = debt_paid if isinstance(debt_paid, int) else 0
        acc = self.acc(tuple(self.dims(tx, channel=value.channel)))
        _bump(acc.issued, lot_id, tx.credits - paid)
        if paid:
            _bump(acc.recovered, lot_id, paid)
        if value.value is not None:
            acc.cash_in += value.value * tx.credits

    def allowance(self, tx: Transaction, in_range: bool) -> None:
        meta = tx.metadata
        tier = meta.get("tier")
        tier_name = tier if isinstance(tier, str) else None
        self.tiers[tx.user_id] = tier_name
        for entry in tx.entries:
            if not entry.account.startswith("lot:"):
                continue
            lot_id = entry.account[4:]
            if entry.delta > 0 and lot_id not in self.lots:
                value = allowance_value(self.catalog, tier_name, tx.created_at)
                self.new_lot(lot_id, value, tx, tier_name)
                if in_range:
                    acc = self.acc(tuple(self.dims(tx, channel=value.channel)))
                    _bump(acc.issued, lot_id, entry.delta)
            elif entry.delta < 0 and in_range:  # a reset expiring last period's allowance
                lot = self.lots.get(lot_id)
                channel = lot.value.channel if lot is not None else "subscription"
                acc = self.acc(tuple(self.dims(tx, channel=channel)))
                _bump(acc.breakage, lot_id, -entry.delta)

    def revoke(self, tx: Transaction, in_range: bool) -> None:
        if not in_range:
            return
        lot_id = self.purchases.get(tx.ref or "")
        unspent = sum(-e.delta for e in tx.entries if e.delta < 0 and e.account.startswith("lot:"))
        if lot_id is None:
            lot_id = next((e.account[4:] for e in tx.entries if e.account.startswith("lot:")), None)
        if lot_id is None:
            return
        lot = self.lots.get(lot_id)
        channel = lot.value.channel if lot is not None else "custom"
        acc = self.acc(tuple(self.dims(tx, channel=channel)))
        if unspent:
            _bump(acc.revoked, lot_id, unspent)
        if tx.credits - unspent:
            _bump(acc.written_off, lot_id, tx.credits - unspent)

    # --- replay -----------------------------------------------------------------------------

    def other_value(self, lot_id: str) -> Fraction | None:
        if lot_id in self.other_values:
            return self.other_values[lot_id]
        assert self.other is not None
        lot = self.lots.get(lot_id)
        value: Fraction | None = None
        if lot is not None:
            value = lot.value.value
            product = lot.value.product
            channel = lot.value.channel
            try:
                if channel in ("subscription", "free") and lot.value.product == lot.tier:
                    value = allowance_value(self.other, lot.tier, lot.created_at).value
                elif channel == "pack" and product is not None:
                    value = self.other.pack(product).exact_credit_value
                elif channel == "offer" and product is not None:
                    value = self.other.offer(product).exact_credit_value
            except NotFound:
                value = lot.value.value
        self.other_values[lot_id] = value
        return value

    def replay_use(
        self,
        acc: _Acc,
        operation: str | None,
        at: datetime,
        credits: int,
        lots: list[tuple[str, int]],
        cost: Fraction | None,
        sign: int,
    ) -> None:
        """Re-price ``lots`` (credits of a consumption of ``credits``) under the other catalog:
        its credits for the operation, its credit values, its cost (``sign`` −1: a refund)."""
        assert self.other is not None
        new_credits = credits
        new_cost = cost
        priced = False
        if operation is not None:
            try:
                row = self.other.operation(operation, at=at)
            except NotFound:
                row = None
            if row is not None and row.api_cost.currency == self.currency:
                new_credits = row.credits
                new_cost = Fraction(row.api_cost.amount)
                priced = True
        if not priced and sign > 0:
            acc.not_priced += 1
        share = 0
        for lot_id, n in lots:
            share += n
            value = self.other_value(lot_id)
            if value is None:
                acc.replay_unvalued += sign * n
            else:
                acc.replay_recognised += sign * value * n * new_credits / credits
        if new_cost is not None:
            acc.replay_cost += sign * new_cost * share / credits

    # --- results ----------------------------------------------------------------------------

    def figures(self, acc: _Acc, deferred: tuple[Fraction, Fraction] | None) -> Figures:
        lots = self.lots
        unvalued = 0

        def value(counts: dict[str, int], track: bool = False) -> Fraction:
            nonlocal unvalued
            total = Fraction(0)
            for lot_id, n in counts.items():
                worth = lots[lot_id].value.value if lot_id in lots else None
                if worth is None:
                    if track:
                        unvalued += n
                    continue
                total += worth * n
            return total

        recognised = value(acc.recognised, track=True)
        revoked = value(acc.revoked)
        written_off = value(acc.written_off)
        cost = Fraction(0)
        values = self.cost_values
        for (index, num, den), count in acc.cost.items():
            cost += values[index] * (num * count) / den
        return Figures(
            currency=self.currency,
            cash_collected_exact=acc.cash_in,
            cash_returned_exact=revoked + written_off,
            value_issued_exact=value(acc.issued),
            recognised_exact=recognised,
            breakage_exact=value(acc.breakage),
            provider_cost_exact=cost,
            revoked_exact=revoked,
            written_off_exact=written_off,
            debt_recovered_exact=value(acc.recovered),
            deferred_opening_exact=None if deferred is None else deferred[0],
            deferred_closing_exact=None if deferred is None else deferred[1],
            credits_consumed=acc.consumed,
            credits_refunded=acc.refunded,
            calls=acc.calls,
            unvalued_credits=unvalued,
            cost_unknown_calls=acc.cost_unknown,
        )

    def deferred(
        self,
    ) -> tuple[tuple[Fraction, Fraction], dict[GroupKey, tuple[Fraction, Fraction]]]:
        by_group: dict[GroupKey, list[Fraction]] = {}
        total = [Fraction(0), Fraction(0)]
        splits = set(self.by) <= DEFERRED_DIMENSIONS
        for lot in self.lots.values():
            worth = lot.value.value
            if worth is None or (lot.opening == 0 and lot.closing == 0):
                continue
            opening = worth * lot.opening
            closing = worth * lot.closing
            total[0] += opening
            total[1] += closing
            if splits:
                values: list[str | None] = [None] * len(DIMENSIONS)
                values[_CHANNEL] = lot.value.channel
                values[_USER] = lot.user
                key = tuple(values[i] for i in self.index)
                pair = by_group.setdefault(key, [Fraction(0), Fraction(0)])
                pair[0] += opening
                pair[1] += closing
        groups = {key: (pair[0], pair[1]) for key, pair in by_group.items()} if splits else {}
        return (total[0], total[1]), groups

    def result(self) -> Fold:
        (opening, closing), deferred = self.deferred()
        splits = set(self.by) <= DEFERRED_DIMENSIONS
        for key in deferred:
            self.groups.setdefault(key, _Acc())
        groups = {
            key: self.figures(
                acc, deferred.get(key, (Fraction(0), Fraction(0))) if splits else None
            )
            for key, acc in self.groups.items()
        }
        merged = _Acc()
        for acc in self.groups.values():
            for name in ("recognised", "breakage", "issued", "revoked", "written_off", "recovered"):
                target: dict[str, int] = getattr(merged, name)
                for lot_id, n in getattr(acc, name).items():
                    _bump(target, lot_id, n)
            for key3, count in acc.cost.items():
                _bump(merged.cost, key3, count)
            merged.cash_in += acc.cash_in
            merged.consumed += acc.consumed
            merged.refunded += acc.refunded
            merged.cost_unknown += acc.cost_unknown
            merged.replay_recognised += acc.replay_recognised
            merged.replay_cost += acc.replay_cost
            merged.replay_unvalued += acc.replay_unvalued
        total = self.figures(merged, (opening, closing))
        total = _with_calls(total, self.calls)
        replay: dict[GroupKey, ReplayFigures] = {}
        replay_total: ReplayFigures | None = None
        if self.other is not None:
            for key, acc in self.groups.items():
                replay[key] = self.replayed(groups[key], acc)
            merged.not_priced = sum(acc.not_priced for acc in self.groups.values())
            replay_total = self.replayed(total, merged)
        unvalued = {
            lot_id: lot.value.reason or "unvalued"
            for lot_id, lot in self.lots.items()
            if lot.value.value is None
        }
        return Fold(groups, total, replay, replay_total, unvalued)

    def replayed(self, actual: Figures, acc: _Acc) -> ReplayFigures:
        other = Figures(
            currency=self.currency,
            recognised_exact=acc.replay_recognised,
            provider_cost_exact=acc.replay_cost,
            credits_consumed=actual.credits_consumed,
            credits_refunded=actual.credits_refunded,
            calls=actual.calls,
            unvalued_credits=acc.replay_unvalued,
            cost_unknown_calls=actual.cost_unknown_calls,
        )
        base = Figures(
            currency=self.currency,
            recognised_exact=actual.recognised_exact,
            provider_cost_exact=actual.provider_cost_exact,
            credits_consumed=actual.credits_consumed,
            credits_refunded=actual.credits_refunded,
            calls=actual.calls,
            unvalued_credits=actual.unvalued_credits,
            cost_unknown_calls=actual.cost_unknown_calls,
        )
        return ReplayFigures(base, other, acc.not_priced)


def _with_calls(figures: Figures, calls: int) -> Figures:
    from dataclasses import replace

    return replace(figures, calls=calls)


def fold(
    transactions: Iterable[Transaction],
    catalog: Catalog,
    *,
    start: datetime,
    end: datetime,
    by: Sequence[Dimension] = (),
    other: Catalog | None = None,
) -> Fold:
    """One pass over a journal: the economics of ``[start, end)`` grouped ``by``.

    Args:
        transactions: Every transaction recorded before ``end`` (earlier ones give the opening
            balances and the lots' values), each account's in journal order; accounts may be
            interleaved. Later ones are skipped.
        catalog: Values subscription allowances and names operation kinds.
        start: First instant of the range (aware).
        end: First instant after it.
        by: Dimensions to group by.
        other: A catalog to replay the range's usage under.
    """
    state = _Pass(catalog, start, end, by, other)
    read = state.read
    for tx in transactions:
        read(tx)
    return state.result()
