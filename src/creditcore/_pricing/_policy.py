"""Margin policy and the validation report: every problem at once, errors apart from warnings.

Both bounds of a :class:`MarginPolicy` are *gross-margin* fractions (0.05 = 5 % of revenue).
The seeds wrote their "30–60 % margin" band in markup terms; in gross margin that band is about
0.23–0.375, and the example catalog states its own band explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from creditcore._exceptions import InvalidInput
from creditcore._pricing._channels import Channel, PricePoint, gross_margin_of, price_point
from creditcore._pricing._exact import ceil_div, display, to_decimal
from creditcore._pricing._money import parse_decimal
from creditcore._pricing._operations import Operation

if TYPE_CHECKING:
    from creditcore._pricing._catalog import Catalog

__all__ = [
    "DEFAULT_CHANNEL_SPREAD",
    "MarginPolicy",
    "Problem",
    "Suggestion",
    "ValidationReport",
    "smallest_charge",
    "validate",
]

DEFAULT_CHANNEL_SPREAD = Decimal(3)
"""A pack or offer whose credit value is over this many times (or under 1/this) the
subscription's draws a warning."""


def _fraction(value: object, name: str) -> Decimal:
    number = parse_decimal(value, name)
    if not Decimal(0) <= number < Decimal(1):
        raise InvalidInput(f"{name}: must be ≥ 0 and < 1, got {number}", field=name, value=number)
    return number


@dataclass(frozen=True, slots=True, init=False)
class MarginPolicy:
    """The gross margins a catalog must reach.

    Args:
        floor: Lowest acceptable gross margin; an operation under it is an *error*.
        target: The gross margin to aim for: one value (a minimum) or a ``(min, max)`` band.
            An operation under the minimum gets a suggested charge; one over the maximum gets a
            warning (it may be overcharging). Defaults to the floor.
        channel_spread: How far (as a factor) a pack's or offer's credit value may stray from
            the subscription's before a warning.

    Raises:
        InvalidInput: Bounds outside [0, 1), a float, ``floor`` above the target's minimum, or
            a band whose maximum is below its minimum.
    """

    floor: Decimal
    target_min: Decimal
    target_max: Decimal | None
    channel_spread: Decimal

    def __init__(
        self,
        floor: Decimal | str,
        target: Decimal | str | tuple[Decimal | str, Decimal | str] | None = None,
        *,
        channel_spread: Decimal | str = DEFAULT_CHANNEL_SPREAD,
    ) -> None:
        low = _fraction(floor, "floor")
        if target is None:
            target_min, target_max = low, None
        elif isinstance(target, tuple):
            if len(target) != 2:
                raise InvalidInput(f"target: a band is (min, max), got {target!r}", field="target")
            target_min = _fraction(target[0], "target.min")
            target_max = _fraction(target[1], "target.max")
            if target_max < target_min:
                raise InvalidInput(
                    f"target: maximum {target_max} is below minimum {target_min}", field="target"
                )
        else:
            target_min, target_max = _fraction(target, "target"), None
        if target_min < low:
            raise InvalidInput(
                f"target: minimum {target_min} is below the floor {low}", field="target"
            )
        spread = parse_decimal(channel_spread, "channel_spread")
        if spread < 1:
            raise InvalidInput(f"channel_spread: must be ≥ 1, got {spread}", field="channel_spread")
        object.__setattr__(self, "floor", low)
        object.__setattr__(self, "target_min", target_min)
        object.__setattr__(self, "target_max", target_max)
        object.__setattr__(self, "channel_spread", spread)

    @property
    def target(self) -> Decimal | tuple[Decimal, Decimal]:
        """The target as given: a minimum, or a ``(min, max)`` band."""
        return self.target_min if self.target_max is None else (self.target_min, self.target_max)

    def describe(self) -> str:
        """``"floor 0.05, target 0.30–0.60 (gross margin)"``."""
        band = str(self.target_min)
        if self.target_max is not None:
            band += f"–{self.target_max}"
        return f"floor {self.floor}, target {band} (gross margin)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: a stable ``code``, where (``path``, e.g. ``operations[1]``), and a message."""

    code: str
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def as_triple(self) -> tuple[str, str, str]:
        """``(path, code, message)``."""
        return self.path, self.code, self.message


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The smallest whole credit charge that brings an operation to the target.

    Attributes:
        path: Where the operation is (``operations[0]``).
        operation: The operation's id.
        credits: Its current charge.
        suggested_credits: The smallest charge meeting the target's minimum.
        gross_margin: The gross margin at the suggested charge.
        markup: The markup at the suggested charge (``None`` at zero cost).
    """

    path: str
    operation: str
    credits: int
    suggested_credits: int
    gross_margin: Decimal
    markup: Decimal | None


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What :func:`validate` found.

    Attributes:
        channel: The basis: the channel whose credit value priced every operation.
        policy: The policy applied.
        points: Every operation priced on ``channel``, in catalog order.
        errors: Operations under the floor (the catalog sells at an unacceptable margin).
        warnings: Things to look at that do not fail a check.
        suggestions: For every operation under the target, the smallest charge meeting it.
    """

    channel: Channel
    policy: MarginPolicy
    points: tuple[PricePoint, ...]
    errors: tuple[Problem, ...] = field(default=())
    warnings: tuple[Problem, ...] = field(default=())
    suggestions: tuple[Suggestion, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings do not count)."""
        return not self.errors


def smallest_charge(cost: Fraction, credit_value: Fraction, target: Fraction) -> int:
    """The smallest whole credit charge ``c ≥ 1`` whose gross margin reaches ``target``.

    Gross margin at ``c`` credits is ``(c·v − cost)/(c·v)``; it reaches ``t`` exactly when
    ``c ≥ cost / (v·(1 − t))``, so the answer is that bound rounded up (at least 1).

    Raises:
        InvalidInput: A credit value ≤ 0 or a target ≥ 1 (no charge can meet it).
    """
    if credit_value <= 0 or target >= 1:
        raise InvalidInput(
            f"credit_value/target: no charge meets target {target} at credit value {credit_value}",
            field="target",
        )
    return max(1, ceil_div(cost, credit_value * (1 - target)))


def _channel_warnings(catalog: Catalog, spread: Fraction) -> list[Problem]:
    subscription = catalog.subscription_channel
    if subscription is None:
        return []
    base = subscription.exact_credit_value
    found: list[Problem] = []
    sections: Sequence[tuple[str, Sequence[tuple[str, Fraction]]]] = (
        ("pack", [(item.id, item.exact_credit_value) for item in catalog.packs]),
        ("offer", [(item.id, item.exact_credit_value) for item in catalog.offers]),
    )
    for kind, entries in sections:
        for index, (item_id, value) in enumerate(entries):
            ratio = value / base
            if ratio > spread or ratio < 1 / spread:
                found.append(
                    Problem(
                        code=f"{kind}_credit_value_far_from_subscription",
                        path=f"{kind}s[{index}]",
                        message=(
                            f"{item_id}: a credit costs {to_decimal(value)} on this {kind}, "
                            f"{display(to_decimal(ratio), 3)}× the subscription's "
                            f"{subscription.credit_value} (allowed spread ×{spread})"
                        ),
                        severity="warning",
                    )
                )
    return found


def _describe(point: PricePoint) -> str:
    return (
        f"gross margin {display(point.gross_margin)} (markup {display(point.markup)}) at "
        f"{point.credits} credits × {point.channel.credit_value} ({point.channel.id})"
    )


def validate(
    catalog: Catalog, policy: MarginPolicy | None = None, *, channel: str | None = None
) -> ValidationReport:
    """Check every operation of ``catalog`` against ``policy`` on one channel's credit value.

    Args:
        catalog: The catalog (every row is checked, whatever its validity).
        policy: The policy; the catalog's own, else a floor and target of 0 (no loss).
        channel: The basis channel's id; by default the lowest *paid* credit value.

    Raises:
        UnknownChannel: ``channel`` names no channel of the catalog.
        InvalidInput: The basis sells credits at $0 (no gross margin exists there).
    """
    rules = policy or catalog.policy or MarginPolicy(Decimal(0))
    basis = catalog.basis_channel(channel)
    floor, target_min = Fraction(rules.floor), Fraction(rules.target_min)
    target_max = None if rules.target_max is None else Fraction(rules.target_max)
    errors: list[Problem] = []
    warnings: list[Problem] = []
    suggestions: list[Suggestion] = []
    points: list[PricePoint] = []
    for index, operation in enumerate(catalog.operations):
        point = price_point(operation, basis)
        points.append(point)
        margin = point.exact_gross_margin
        assert margin is not None  # the basis is paid, so revenue > 0
        path = f"operations[{index}]"
        if margin < floor:
            errors.append(
                Problem(
                    "gross_margin_below_floor",
                    path,
                    f"{operation.id}: {_describe(point)} is below the floor {rules.floor}",
                )
            )
        elif margin < target_min:
            warnings.append(
                Problem(
                    "gross_margin_below_target",
                    path,
                    f"{operation.id}: {_describe(point)} is below the target {rules.target_min}",
                    "warning",
                )
            )
        if target_max is not None and margin > target_max:
            warnings.append(
                Problem(
                    "gross_margin_above_target",
                    path,
                    f"{operation.id}: {_describe(point)} is above the target's maximum "
                    f"{rules.target_max} (overcharging?)",
                    "warning",
                )
            )
        if margin < target_min:
            suggestions.append(_suggest(path, operation, basis, target_min))
    warnings.extend(_channel_warnings(catalog, Fraction(rules.channel_spread)))
    return ValidationReport(
        channel=basis,
        policy=rules,
        points=tuple(points),
        errors=tuple(errors),
        warnings=tuple(warnings),
        suggestions=tuple(suggestions),
    )


def _suggest(path: str, operation: Operation, basis: Channel, target: Fraction) -> Suggestion:
    cost = operation.api_cost.exact()
    value = basis.exact_credit_value
    credits = smallest_charge(cost, value, target)
    revenue = credits * value
    margin = gross_margin_of(revenue, cost)
    assert margin is not None
    return Suggestion(
        path=path,
        operation=operation.id,
        credits=operation.credits,
        suggested_credits=credits,
        gross_margin=to_decimal(margin),
        markup=None if cost == 0 else to_decimal((revenue - cost) / cost),
    )
