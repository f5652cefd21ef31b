"""Cross-reference rules of a catalog: ids, versions, tier models, channel and price ids.

Each rule reports ``(path, code, message)`` triples instead of raising, so a loader can add
them to the field problems of the same run and report everything at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from creditcore._pricing.channels import FREE_CHANNEL, SUBSCRIPTION_CHANNEL
from creditcore._pricing.offers import LootboxOffer
from creditcore._pricing.operations import Operation
from creditcore._pricing.packs import CreditPack
from creditcore._pricing.tiers import Tier

__all__ = ["Triple", "consistency_problems"]

Triple = tuple[str, str, str]
"""``(path, code, message)``."""

_RESERVED = (SUBSCRIPTION_CHANNEL, FREE_CHANNEL)


def _operation_problems(operations: Sequence[tuple[int, Operation]], currency: str) -> list[Triple]:
    found: list[Triple] = []
    for position, (index, operation) in enumerate(operations):
        if operation.api_cost.currency != currency:
            found.append(
                (
                    f"operations[{index}].api_cost",
                    "currency_mismatch",
                    f"must be in {currency}, got {operation.api_cost.currency}",
                )
            )
        for earlier_index, earlier in operations[:position]:
            if earlier.id == operation.id and earlier.overlaps(operation):
                found.append(
                    (
                        f"operations[{index}].id",
                        "duplicate_operation",
                        f"{operation.id!r} is already operations[{earlier_index}] with an "
                        "overlapping validity (a price change is a new row with "
                        "non-overlapping valid_from/valid_to)",
                    )
                )
                break
    return found


def _tier_problems(tiers: Sequence[tuple[int, Tier]], known_models: set[str]) -> list[Triple]:
    found: list[Triple] = []
    seen: dict[str, int] = {}
    for index, tier in tiers:
        if tier.name in seen:
            found.append(
                (
                    f"tiers[{index}].name",
                    "duplicate_tier",
                    f"{tier.name!r} is already tiers[{seen[tier.name]}]",
                )
            )
        seen.setdefault(tier.name, index)
        for position, model in enumerate(tier.models):
            if model not in known_models:
                known = ", ".join(sorted(known_models)) or "none"
                found.append(
                    (
                        f"tiers[{index}].models[{position}]",
                        "unknown_model",
                        f"no operation has model {model!r} (known: {known})",
                    )
                )
    return found


def _channel_problems(
    sellables: Iterable[tuple[str, int, CreditPack | LootboxOffer]], currency: str
) -> list[Triple]:
    found: list[Triple] = []
    ids: dict[str, str] = {}
    price_ids: dict[str, str] = {}
    for section, index, item in sellables:
        where = f"{section}[{index}]"
        if item.id in _RESERVED:
            found.append(
                (f"{where}.id", "reserved_channel_id", f"{item.id!r} names a built-in channel")
            )
        elif item.id in ids:
            found.append(
                (f"{where}.id", "duplicate_channel", f"{item.id!r} is already {ids[item.id]}")
            )
        ids.setdefault(item.id, where)
        if item.price.currency != currency:
            found.append(
                (f"{where}.price", "currency_mismatch", f"must be in {currency}, got {item.price}")
            )
        for position, price_id in enumerate(item.price_ids):
            if price_id in price_ids:
                found.append(
                    (
                        f"{where}.price_ids[{position}]",
                        "duplicate_price_id",
                        f"{price_id!r} already sells {price_ids[price_id]}",
                    )
                )
            price_ids.setdefault(price_id, where)
    return found


def consistency_problems(
    *,
    currency: str,
    operations: Sequence[tuple[int, Operation]],
    tiers: Sequence[tuple[int, Tier]],
    packs: Sequence[tuple[int, CreditPack]],
    offers: Sequence[tuple[int, LootboxOffer]],
    extra_models: Iterable[str] = (),
) -> list[Triple]:
    """Every cross-reference problem, each entry paired with its index in the document.

    Args:
        currency: The catalog's currency; every amount must use it.
        operations: ``(index, operation)`` pairs.
        tiers: ``(index, tier)`` pairs.
        packs: ``(index, pack)`` pairs.
        offers: ``(index, offer)`` pairs.
        extra_models: Models known from entries that failed to load (so a tier naming one is
            not reported twice).
    """
    known_models = {operation.model for _index, operation in operations} | set(extra_models)
    sellables: list[tuple[str, int, CreditPack | LootboxOffer]] = [
        ("packs", index, pack) for index, pack in packs
    ]
    sellables += [("offers", index, offer) for index, offer in offers]
    return (
        _operation_problems(operations, currency)
        + _tier_problems(tiers, known_models)
        + _channel_problems(sellables, currency)
    )
