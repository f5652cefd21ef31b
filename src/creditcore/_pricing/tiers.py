"""Subscription tiers: ordered, with monthly credits and cumulative model unlocks."""

from __future__ import annotations

from dataclasses import dataclass

from creditcore._exceptions import InvalidInput
from creditcore._pricing.money import Money, require_credits

__all__ = ["Tier"]


@dataclass(frozen=True, slots=True)
class Tier:
    """A subscription tier.

    ``models`` are the models this tier *adds*; a tier also unlocks everything the tiers below
    it unlock. A :class:`~creditcore.pricing.Catalog` fills ``inherited`` from the tiers listed
    before this one, so :meth:`allows` answers for the whole ladder.

    Args:
        name: The tier's name (``"PLUS"``).
        monthly_credits: Subscription credits granted each month (an int ≥ 0).
        price: The monthly price, or ``None`` while it is not decided.
        models: Models this tier adds (``Operation.model`` values).
        inherited: Models unlocked by lower tiers (set by the catalog).

    Raises:
        InvalidInput: An empty name, or a model named twice.
        InvalidAmount: ``monthly_credits`` not an int ≥ 0, or a negative price.
    """

    name: str
    monthly_credits: int
    price: Money | None = None
    models: tuple[str, ...] = ()
    inherited: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInput(f"name: must be a non-empty string, got {self.name!r}", field="name")
        require_credits(self.monthly_credits, "monthly_credits", minimum=0)
        if self.price is not None and self.price.amount < 0:
            raise InvalidInput(
                f"price: must be ≥ 0, got {self.price.amount}", field="price", value=self.price
            )
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "inherited", frozenset(self.inherited))
        seen: set[str] = set()
        for model in self.models:
            if model in seen:
                raise InvalidInput(
                    f"models: {model!r} is listed twice", field="models", value=model
                )
            seen.add(model)

    @property
    def unlocks(self) -> frozenset[str]:
        """Every model this tier allows: its own and those of the tiers below it."""
        return self.inherited | frozenset(self.models)

    def allows(self, model: str) -> bool:
        """Whether a subscriber on this tier may use ``model``."""
        return model in self.models or model in self.inherited
