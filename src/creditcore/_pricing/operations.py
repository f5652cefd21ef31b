"""Operations: one billable call (provider + model + variant) with its API cost and credits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from creditcore._exceptions import InvalidAmount, InvalidInput
from creditcore._pricing.money import Money, require_credits
from creditcore._time import require_aware

__all__ = ["Operation"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One billable call and its price: what the provider charges, what the user is charged.

    A price change is a new row with the same ``id`` and a later validity, never an edit;
    validity is half-open, ``[valid_from, valid_to)``, and ``None`` means unbounded.

    Args:
        id: Stable identifier (``"seedance-pro-720p"``).
        provider: Who is paid for the call (``"wavespeed"``).
        model: The model the call runs; tiers gate on it (``"seedance-pro"``).
        variant: A variant of the model (``"720p"``), or ``None``.
        kind: What it produces (``"image"``, ``"video"``, ...).
        api_cost: The provider's cost per call, full precision, ≥ 0.
        credits: The fixed whole number of credits charged, ≥ 1.
        source: Where the cost figure comes from (provenance), if known.
        observed: When the cost figure was observed, if known.
        valid_from: First instant the row is in force (aware), or ``None``.
        valid_to: First instant it is no longer in force (aware), or ``None``.

    Raises:
        InvalidAmount: A negative cost or credits that are not an int ≥ 1.
        NaiveDatetime: A validity bound without a time zone.
        InvalidInput: An empty id or model, or ``valid_to`` not after ``valid_from``.
    """

    id: str
    provider: str
    model: str
    variant: str | None
    kind: str
    api_cost: Money
    credits: int
    source: str | None = None
    observed: date | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def __post_init__(self) -> None:
        for field in ("id", "provider", "model", "kind"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(
                    f"{field}: must be a non-empty string, got {value!r}", field=field, value=value
                )
        if not isinstance(self.api_cost, Money):
            raise InvalidAmount(f"api_cost: must be Money, got {self.api_cost!r}", field="api_cost")
        if self.api_cost.amount < 0:
            raise InvalidAmount(
                f"api_cost: must be ≥ 0, got {self.api_cost.amount}",
                field="api_cost",
                value=self.api_cost.amount,
            )
        require_credits(self.credits, "credits", minimum=1)
        if self.valid_from is not None:
            require_aware(self.valid_from, "valid_from")
        if self.valid_to is not None:
            require_aware(self.valid_to, "valid_to")
        if (
            self.valid_from is not None
            and self.valid_to is not None
            and self.valid_to <= self.valid_from
        ):
            raise InvalidInput(
                f"valid_to: must be after valid_from ({self.valid_from.isoformat()}), "
                f"got {self.valid_to.isoformat()}",
                field="valid_to",
                value=self.valid_to,
            )

    def in_force(self, instant: datetime) -> bool:
        """Whether this row applies at ``instant`` (``valid_from ≤ instant < valid_to``).

        Raises:
            NaiveDatetime: ``instant`` has no time zone.
        """
        require_aware(instant, "instant")
        if self.valid_from is not None and instant < self.valid_from:
            return False
        return self.valid_to is None or instant < self.valid_to

    def overlaps(self, other: Operation) -> bool:
        """Whether the validity periods of two rows share an instant."""
        starts_before_other_ends = (
            self.valid_from is None or other.valid_to is None or self.valid_from < other.valid_to
        )
        ends_after_other_starts = (
            self.valid_to is None or other.valid_from is None or other.valid_from < self.valid_to
        )
        return starts_before_other_ends and ends_after_other_starts

    @property
    def label(self) -> str:
        """``model`` and ``variant`` for people (``"seedance-pro 720p"``)."""
        return self.model if self.variant is None else f"{self.model} {self.variant}"
