"""The catalog: operations, tiers, packs, offers and the subscription's credit value, checked."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from creditcore._exceptions import (
    InvalidCatalog,
    InvalidInput,
    NotFound,
    UnknownChannel,
    UnknownOffer,
    UnknownOperation,
    UnknownTier,
)
from creditcore._pricing.channels import (
    FREE_CHANNEL,
    SUBSCRIPTION_CHANNEL,
    Channel,
    PricePoint,
    price_point,
)
from creditcore._pricing.consistency import consistency_problems
from creditcore._pricing.money import Money, parse_amount
from creditcore._pricing.offers import LootboxOffer
from creditcore._pricing.operations import Operation
from creditcore._pricing.packs import CreditPack
from creditcore._pricing.policy import MarginPolicy
from creditcore._pricing.tiers import Tier
from creditcore._time import require_aware

__all__ = ["Catalog"]


class Catalog:
    """A price list: what each operation costs and charges, and how credits are sold.

    Construction checks the cross-references and raises :class:`InvalidCatalog` listing every
    problem (duplicate operation rows with overlapping validity, tiers naming models no
    operation has, repeated tier names, channel ids or price ids, mixed currencies).

    Several rows may share an operation id when their validity periods do not overlap (a price
    change is a new row); :meth:`at` keeps the rows in force at an instant, and
    :meth:`operation` picks the row in force now when an id has several.

    Args:
        operations: The billable operations, in document order.
        tiers: Subscription tiers, lowest first; each unlocks what the ones before it do.
        packs: Credit packs.
        offers: Lootbox offers.
        subscription_credit_value: What one subscription credit is worth: ``Money``,
            ``Decimal``, a numeric string or an exact ``Fraction`` (``None``: no subscription
            channel).
        currency: The currency of every amount.
        policy: The catalog's own margin policy, if it states one.

    Raises:
        InvalidCatalog: Every cross-reference problem, each with its path.
    """

    __slots__ = (
        "currency",
        "offers",
        "operations",
        "packs",
        "policy",
        "subscription_credit_value",
        "tiers",
    )

    operations: tuple[Operation, ...]
    tiers: tuple[Tier, ...]
    packs: tuple[CreditPack, ...]
    offers: tuple[LootboxOffer, ...]
    subscription_credit_value: Decimal | None
    currency: str
    policy: MarginPolicy | None

    def __init__(
        self,
        *,
        operations: Iterable[Operation],
        tiers: Iterable[Tier] = (),
        packs: Iterable[CreditPack] = (),
        offers: Iterable[LootboxOffer] = (),
        subscription_credit_value: Money | Decimal | str | Fraction | None = None,
        currency: str = "USD",
        policy: MarginPolicy | None = None,
    ) -> None:
        ops, tier_list = tuple(operations), tuple(tiers)
        pack_list, offer_list = tuple(packs), tuple(offers)
        value = None
        if subscription_credit_value is not None:
            value = parse_amount(subscription_credit_value, "subscription_credit_value", currency)
            if value <= 0:
                raise InvalidInput(
                    f"subscription_credit_value: must be > 0, got {value}",
                    field="subscription_credit_value",
                )
        Money.zero(currency)  # checks the currency code
        problems = consistency_problems(
            currency=currency,
            operations=list(enumerate(ops)),
            tiers=list(enumerate(tier_list)),
            packs=list(enumerate(pack_list)),
            offers=list(enumerate(offer_list)),
        )
        if problems:
            raise InvalidCatalog(problems)
        self._set(ops, _ladder(tier_list), pack_list, offer_list, value, currency, policy)

    def _set(
        self,
        operations: tuple[Operation, ...],
        tiers: tuple[Tier, ...],
        packs: tuple[CreditPack, ...],
        offers: tuple[LootboxOffer, ...],
        value: Decimal | None,
        currency: str,
        policy: MarginPolicy | None,
    ) -> None:
        object.__setattr__(self, "operations", operations)
        object.__setattr__(self, "tiers", tiers)
        object.__setattr__(self, "packs", packs)
        object.__setattr__(self, "offers", offers)
        object.__setattr__(self, "subscription_credit_value", value)
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "policy", policy)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Catalog is immutable; cannot set {name!r}")

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.operations,
            self.tiers,
            self.packs,
            self.offers,
            self.subscription_credit_value,
            self.currency,
            self.policy,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Catalog) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Catalog({len(self.operations)} operations, {len(self.tiers)} tiers, "
            f"{len(self.packs)} packs, {len(self.offers)} offers, {self.currency})"
        )

    def replace(self, **changes: Any) -> Catalog:
        """A copy with some constructor arguments changed (checked like a new catalog)."""
        arguments: dict[str, Any] = {
            "operations": self.operations,
            "tiers": [_unladder(tier) for tier in self.tiers],
            "packs": self.packs,
            "offers": self.offers,
            "subscription_credit_value": self.subscription_credit_value,
            "currency": self.currency,
            "policy": self.policy,
        }
        arguments.update(changes)
        return Catalog(**arguments)

    # --- operations --------------------------------------------------------------------------

    def at(self, instant: datetime) -> Catalog:
        """The same catalog with only the operation rows in force at ``instant``.

        Tiers keep every model they name, even one with no row in force then.

        Raises:
            NaiveDatetime: ``instant`` has no time zone.
        """
        require_aware(instant, "instant")
        view = object.__new__(Catalog)
        kept = tuple(op for op in self.operations if op.in_force(instant))
        _operations, *rest = self._fields()
        view._set(kept, *rest)
        return view

    def operation(self, operation_id: str, *, at: datetime | None = None) -> Operation:
        """The operation with this id.

        With one row for the id, that row. With several (price changes), the row in force at
        ``at`` (default: now, UTC). Never a $0 default.

        Raises:
            UnknownOperation: No row has this id, or none of its rows is in force then.
            NaiveDatetime: ``at`` has no time zone.
        """
        rows = [op for op in self.operations if op.id == operation_id]
        if at is not None:
            require_aware(at, "at")
        if len(rows) == 1 and at is None:
            return rows[0]
        instant = at if at is not None else datetime.now(UTC)
        for row in rows:
            if row.in_force(instant):
                return row
        known = sorted({op.id for op in self.operations})
        detail = f"no row in force at {instant.isoformat()}" if rows else f"known: {known}"
        raise UnknownOperation(
            f"operation_id: no operation {operation_id!r} ({detail})",
            operation_id=operation_id,
            known=known,
        )

    @property
    def models(self) -> tuple[str, ...]:
        """The distinct models of the operations, in order of first appearance."""
        return tuple(dict.fromkeys(op.model for op in self.operations))

    # --- tiers -------------------------------------------------------------------------------

    def tier(self, name: str) -> Tier:
        """The tier named ``name``.

        Raises:
            UnknownTier: No tier has this name.
        """
        return _lookup(self.tiers, name, lambda tier: tier.name, UnknownTier, "tier")

    def lowest_tier_for(self, model: str) -> Tier | None:
        """The lowest tier that unlocks ``model`` ("upgrade to unlock"), or ``None``."""
        for tier in self.tiers:
            if tier.allows(model):
                return tier
        return None

    # --- channels ----------------------------------------------------------------------------

    def pack(self, pack_id: str) -> CreditPack:
        """The credit pack with this id.

        Raises:
            UnknownChannel: No pack has this id.
        """
        return _lookup(self.packs, pack_id, lambda pack: pack.id, UnknownChannel, "pack")

    def offer(self, offer_id: str) -> LootboxOffer:
        """The lootbox offer with this id.

        Raises:
            UnknownOffer: No offer has this id.
        """
        return _lookup(self.offers, offer_id, lambda offer: offer.id, UnknownOffer, "offer")

    def find_by_price_id(self, price_id: str) -> CreditPack | LootboxOffer:
        """The pack or offer sold through the payment provider's price ``price_id``.

        Raises:
            UnknownChannel: No pack or offer lists this price id.
        """
        sellables: tuple[CreditPack | LootboxOffer, ...] = (*self.packs, *self.offers)
        for item in sellables:
            if price_id in item.price_ids:
                return item
        raise UnknownChannel(
            f"price_id: no pack or offer sells price {price_id!r}", price_id=price_id
        )

    @property
    def subscription_channel(self) -> Channel | None:
        """The subscription channel, when the catalog gives a subscription credit value."""
        if self.subscription_credit_value is None:
            return None
        price = Money(self.subscription_credit_value, self.currency)
        return Channel(SUBSCRIPTION_CHANNEL, "subscription", price)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """Every sales channel: subscription, each pack, each offer, then free grants ($0)."""
        found: list[Channel] = []
        if (subscription := self.subscription_channel) is not None:
            found.append(subscription)
        found += [Channel(pack.id, "pack", pack.price, pack.credits) for pack in self.packs]
        found += [Channel(offer.id, "offer", offer.price, offer.credits) for offer in self.offers]
        found.append(Channel(FREE_CHANNEL, "free", Money.zero(self.currency)))
        return tuple(found)

    def channel(self, channel_id: str) -> Channel:
        """The channel with this id (``"subscription"``, ``"free"``, a pack's or offer's id).

        Raises:
            UnknownChannel: No channel has this id.
        """
        return _lookup(
            self.channels, channel_id, lambda channel: channel.id, UnknownChannel, "channel"
        )

    def basis_channel(self, channel_id: str | None = None) -> Channel:
        """The channel margins are judged on: ``channel_id``, else the lowest paid credit value.

        Raises:
            UnknownChannel: ``channel_id`` names no channel, or nothing is sold for money.
            InvalidInput: ``channel_id`` names a channel that sells credits at $0.
        """
        if channel_id is not None:
            chosen = self.channel(channel_id)
            if not chosen.paid:
                raise InvalidInput(
                    f"channel: {channel_id!r} grants credits at $0; gross margin is undefined "
                    "there (name a paid channel)",
                    channel=channel_id,
                )
            return chosen
        paid = [channel for channel in self.channels if channel.paid]
        if not paid:
            raise UnknownChannel("channel: the catalog sells no credits for money", channel=None)
        rank = {"subscription": 0, "pack": 1, "offer": 2, "free": 3}
        # Ties go to the subscription, then packs, then offers, then by id: never file order.
        return min(
            paid, key=lambda channel: (channel.exact_credit_value, rank[channel.kind], channel.id)
        )

    def price(self, operation_id: str, channel: str | None = None) -> PricePoint:
        """Cost, revenue, markup and gross margin of one call of an operation on a channel.

        Raises:
            UnknownOperation: No such operation.
            UnknownChannel: No such channel.
        """
        return price_point(self.operation(operation_id), self.basis_channel(channel))


_Item = TypeVar("_Item")


def _lookup(
    items: Sequence[_Item],
    wanted: str,
    key: Callable[[_Item], str],
    error: type[NotFound],
    what: str,
) -> _Item:
    """The item whose ``key`` is ``wanted``, else ``error`` naming the value and the known ones."""
    for item in items:
        if key(item) == wanted:
            return item
    known = [key(item) for item in items]
    raise error(f"{what}: no {what} {wanted!r} (known: {known})", **{what: wanted}, known=known)


def _ladder(tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    """Give each tier the models of the tiers before it (unlocks are cumulative)."""
    below: set[str] = set()
    result: list[Tier] = []
    for tier in tiers:
        result.append(
            Tier(tier.name, tier.monthly_credits, tier.price, tier.models, frozenset(below))
        )
        below |= set(tier.models)
    return tuple(result)


def _unladder(tier: Tier) -> Tier:
    return Tier(tier.name, tier.monthly_credits, tier.price, tier.models)
