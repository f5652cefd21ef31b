"""Validation: every operation's gross margin against a policy, all problems at once.

Errors (under the floor) are kept apart from warnings (under the target, over its maximum, a
channel's credit value far from the subscription's), and every operation under the target gets
the smallest whole charge that meets it. Comparisons are made on exact fractions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from creditcore._exceptions import InvalidAmount, InvalidInput
from creditcore._pricing.catalog import Catalog
from creditcore._pricing.channels import Channel, PricePoint, gross_margin_of, price_point
from creditcore._pricing.exact import ceil_div, display, to_decimal
from creditcore._pricing.money import Money, exact_number
from creditcore._pricing.operations import Operation
from creditcore._pricing.policy import MarginPolicy
from creditcore._pricing.problem import Problem

__all__ = ["Number", "Suggestion", "ValidationReport", "smallest_charge", "validate"]


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


Number = Decimal | str | int | Fraction
"""A number as every pricing entry accepts it (never a float)."""


def smallest_charge(cost: Money | Number, credit_value: Money | Number, target: Number) -> int:
    """The smallest whole credit charge ``c ≥ 1`` whose gross margin reaches ``target``.

    Gross margin at ``c`` credits is ``(c·v − cost)/(c·v)``; it reaches ``t`` exactly when
    ``c ≥ cost / (v·(1 − t))``, so the answer is that bound rounded up (at least 1). Computed
    exactly, whatever form the arguments take.

    Args:
        cost: The provider's cost of one call: ``Money``, ``Decimal``, a numeric string, an
            ``int`` or a ``Fraction``; never a float.
        credit_value: What one credit is worth, in the same forms (same currency as ``cost``
            when both are ``Money``).
        target: The gross margin to reach, a fraction below 1 (``Decimal``, string, ``Fraction``).

    Raises:
        InvalidAmount: A float, a bool, a value that is not a number, or a negative cost.
        InvalidMoney: ``cost`` and ``credit_value`` are ``Money`` in two currencies.
        InvalidInput: A credit value ≤ 0 or a target ≥ 1 (no charge can meet it).
    """
    if isinstance(cost, Money) and isinstance(credit_value, Money):
        cost._same(credit_value)  # one currency
    exact_cost = exact_number(cost, "cost")
    value = exact_number(credit_value, "credit_value")
    goal = exact_number(target, "target")
    if exact_cost < 0:
        raise InvalidAmount(f"cost: must be ≥ 0, got {cost}", field="cost", value=cost)
    return _smallest(exact_cost, value, goal)


def _smallest(cost: Fraction, credit_value: Fraction, target: Fraction) -> int:
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
                    path,
                    "gross_margin_below_floor",
                    f"{operation.id}: {_describe(point)} is below the floor {rules.floor}",
                )
            )
        elif margin < target_min:
            warnings.append(
                Problem(
                    path,
                    "gross_margin_below_target",
                    f"{operation.id}: {_describe(point)} is below the target {rules.target_min}",
                    "warning",
                )
            )
        if target_max is not None and margin > target_max:
            warnings.append(
                Problem(
                    path,
                    "gross_margin_above_target",
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
    credits = _smallest(cost, value, target)
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
