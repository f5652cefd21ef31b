"""Credit packs: a fixed number of credits for a fixed price, always on sale."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from creditcore._exceptions import InvalidAmount, InvalidInput
from creditcore._pricing.exact import to_decimal
from creditcore._pricing.money import Money, require_credits

__all__ = ["CreditPack", "PricedCredits", "check_sellable"]


def check_sellable(
    id: str, name: str, credits: int, price: Money, price_ids: tuple[str, ...]
) -> None:
    """The checks shared by everything sold for money: ids, credits ≥ 1, price ≥ 0.

    Raises:
        InvalidInput: An empty id or name, an empty or repeated price id.
        InvalidAmount: Credits that are not an int ≥ 1, or a negative price.
    """
    for field, value in (("id", id), ("name", name)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{field}: must be a non-empty string, got {value!r}", field=field)
    require_credits(credits, "credits", minimum=1)
    if not isinstance(price, Money) or price.amount < 0:
        raise InvalidAmount(f"price: must be Money ≥ 0, got {price!r}", field="price")
    if len(set(price_ids)) != len(price_ids) or not all(
        isinstance(item, str) and item for item in price_ids
    ):
        raise InvalidInput(
            f"price_ids: must be distinct non-empty strings, got {list(price_ids)!r}",
            field="price_ids",
        )


class PricedCredits:
    """Mixin for things that sell ``credits`` for ``price``: the value of one credit."""

    __slots__ = ()
    price: Money
    credits: int

    @property
    def exact_credit_value(self) -> Fraction:
        """Price per credit as an exact fraction."""
        return Fraction(self.price.amount) / self.credits

    @property
    def credit_value(self) -> Decimal:
        """Price per credit (exact when it terminates: 299.99/500 = 0.59998)."""
        return to_decimal(self.exact_credit_value)


@dataclass(frozen=True, slots=True)
class CreditPack(PricedCredits):
    """Credits sold in a pack; always available (the platform pays its provider per use).

    Args:
        id: Stable identifier, also the sales channel's id (``"studio-pack"``).
        name: For people (``"Studio Pack"``).
        credits: Credits granted (an int ≥ 1).
        price: What the buyer pays.
        price_ids: The payment provider's price identifiers that sell this pack.
    """

    id: str
    name: str
    credits: int
    price: Money
    price_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "price_ids", tuple(self.price_ids))
        check_sellable(self.id, self.name, self.credits, self.price, self.price_ids)
