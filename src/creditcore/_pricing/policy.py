"""Margin policy: the gross margins a catalog must reach.

Both bounds of a :class:`MarginPolicy` are *gross-margin* fractions (0.05 = 5 % of revenue).
The seeds wrote their "30–60 % margin" band in markup terms; in gross margin that band is about
0.23–0.375, and the example catalog states its own band explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from creditcore._exceptions import InvalidInput
from creditcore._pricing.money import parse_decimal

__all__ = ["DEFAULT_CHANNEL_SPREAD", "MarginPolicy", "Ratio"]

Ratio = Decimal | str | Fraction
"""A ratio as every pricing entry takes it: ``Decimal``, numeric string, or a ``Fraction`` with an
exact decimal form (never a float)."""

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
        floor: Ratio,
        target: Ratio | tuple[Ratio, Ratio] | None = None,
        *,
        channel_spread: Ratio = DEFAULT_CHANNEL_SPREAD,
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
