"""Writing a catalog as TOML in the file format of :mod:`.schema` (a tiny emitter, no dependency).

The output reads back (:func:`~creditcore.pricing.loads_catalog`) as an equal catalog.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from creditcore._pricing.catalog import Catalog
from creditcore._pricing.money import Money
from creditcore._pricing.policy import DEFAULT_CHANNEL_SPREAD, MarginPolicy
from creditcore._pricing.windows import WEEKDAYS, MonthlyWindow, WeeklyWindow

__all__ = ["catalog_to_toml"]

Value = str | int | Decimal | Money | date | Sequence[str] | None


def _value(value: Value) -> str:
    if isinstance(value, Money):
        return _value(value.amount)
    if isinstance(value, Decimal):
        return _value(format(value, "f"))  # plain digits: the file format has no exponents
    if isinstance(value, bool):  # pragma: no cover - the format has no booleans
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None:  # pragma: no cover - None keys are skipped by _pairs
        raise TypeError("None has no TOML form")
    return "[" + ", ".join(_value(item) for item in value) + "]"


def _pairs(pairs: Sequence[tuple[str, Value]]) -> list[str]:
    return [f"{key} = {_value(value)}" for key, value in pairs if value is not None]


def _window(window: WeeklyWindow | MonthlyWindow) -> str:
    if isinstance(window, WeeklyWindow):
        start = f"{WEEKDAYS[window.start_weekday]} {window.start:%H:%M}"
        end = f"{WEEKDAYS[window.end_weekday]} {window.end:%H:%M}"
        return f'{{ kind = "weekly", start = "{start}", end = "{end}" }}'
    return (
        f'{{ kind = "monthly", start_day = {window.start_day}, start = "{window.start:%H:%M}", '
        f'end_day = {window.end_day}, end = "{window.end:%H:%M}" }}'
    )


def _policy(policy: MarginPolicy) -> list[str]:
    target: Value
    if policy.target_max is None:
        target = str(policy.target_min)
    else:
        target = [str(policy.target_min), str(policy.target_max)]
    spread = None if policy.channel_spread == DEFAULT_CHANNEL_SPREAD else policy.channel_spread
    pairs: list[tuple[str, Value]] = [
        ("floor", policy.floor),
        ("target", target),
        ("channel_spread", spread),
    ]
    return ["", "[policy]", *_pairs(pairs)]


def catalog_to_toml(catalog: Catalog, *, header: str | None = None) -> str:
    """``catalog`` as TOML text in the catalog file format.

    Args:
        catalog: The catalog to write.
        header: A comment block to put first (each line gets ``# ``).
    """
    lines: list[str] = [f"# {line}".rstrip() for line in (header or "").splitlines()]
    if lines:
        lines.append("")
    lines.append(f"currency = {_value(catalog.currency)}")
    if catalog.subscription_credit_value is not None:
        lines += [
            "",
            "[subscription]",
            f"credit_value = {_value(catalog.subscription_credit_value)}",
        ]
    if catalog.policy is not None:
        lines += _policy(catalog.policy)
    for op in catalog.operations:
        lines += ["", "[[operations]]"]
        lines += _pairs(
            [
                ("id", op.id),
                ("provider", op.provider),
                ("model", op.model),
                ("variant", op.variant),
                ("kind", op.kind),
                ("api_cost", op.api_cost),
                ("credits", op.credits),
                ("source", op.source),
                ("observed", op.observed),
                ("valid_from", op.valid_from),
                ("valid_to", op.valid_to),
            ]
        )
    for tier in catalog.tiers:
        lines += ["", "[[tiers]]"]
        lines += _pairs(
            [
                ("name", tier.name),
                ("monthly_credits", tier.monthly_credits),
                ("price", tier.price),
                ("models", list(tier.models)),
            ]
        )
    for pack in catalog.packs:
        lines += ["", "[[packs]]"]
        lines += _pairs(
            [
                ("id", pack.id),
                ("name", pack.name),
                ("credits", pack.credits),
                ("price", pack.price),
                ("price_ids", list(pack.price_ids)),
            ]
        )
    for offer in catalog.offers:
        lines += ["", "[[offers]]"]
        lines += _pairs(
            [
                ("id", offer.id),
                ("name", offer.name),
                ("credits", offer.credits),
                ("price", offer.price),
                ("timezone", offer.timezone),
            ]
        )
        lines.append(f"window = {_window(offer.window)}")
        lines += _pairs([("price_ids", list(offer.price_ids))])
    return "\n".join(lines) + "\n"
