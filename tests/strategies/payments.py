"""Hypothesis strategies for payment events: purchases with partial refunds and disputes, and
their delivery as a provider does it (duplicated, in any order)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

__all__ = ["PaymentStory", "deliveries", "payment_stories", "refund_amounts"]


@dataclass(frozen=True, slots=True)
class PaymentStory:
    """One paid Checkout Session and what happened to its charge afterwards.

    Attributes:
        index: Distinguishes payments (ids ``pi_<index>``, ``ch_<index>``, events ``evt_<index>_*``).
        user_id: Who paid.
        amount: The charge in cents.
        refunds: Cumulative ``amount_refunded`` of each ``charge.refunded`` event, increasing.
        disputed: Whether a ``charge.dispute.created`` follows.
        async_success: Whether a ``checkout.session.async_payment_succeeded`` also arrives for
            the same payment (Stripe sends it after a delayed payment method succeeds).
    """

    index: int
    user_id: str
    amount: int
    refunds: tuple[int, ...]
    disputed: bool
    async_success: bool


def refund_amounts(amount: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Cumulative refund totals of a charge of ``amount`` cents: 0 to 3 increasing values."""
    return st.lists(st.integers(1, amount), max_size=3, unique=True).map(
        lambda values: tuple(sorted(values))
    )


@st.composite
def _story(draw: st.DrawFn, index: int, users: tuple[str, ...]) -> PaymentStory:
    amount = draw(st.sampled_from([29999, 100, 1]) | st.integers(1, 50_000))
    return PaymentStory(
        index=index,
        user_id=draw(st.sampled_from(users)),
        amount=amount,
        refunds=draw(refund_amounts(amount)),
        disputed=draw(st.booleans()),
        async_success=draw(st.booleans()),
    )


@st.composite
def payment_stories(
    draw: st.DrawFn, users: tuple[str, ...] = ("user-a", "user-b"), max_payments: int = 3
) -> tuple[PaymentStory, ...]:
    """1 to ``max_payments`` payments spread over ``users``."""
    count = draw(st.integers(1, max_payments))
    return tuple(draw(_story(i, users)) for i in range(count))


@st.composite
def deliveries(draw: st.DrawFn, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` with some delivered more than once, in any order."""
    repeats = draw(st.lists(st.sampled_from(range(len(events))), max_size=len(events)))
    return draw(st.permutations(events + [events[i] for i in repeats]))
