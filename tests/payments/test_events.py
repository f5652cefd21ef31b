"""Payment event values: frozen, and they refuse what cannot be a real event."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from creditcore import InvalidInput, NaiveDatetime
from creditcore.payments import PaymentCompleted, PaymentDisputed, PaymentRefunded
from creditcore.pricing import Money

AT = datetime(2026, 11, 23, tzinfo=UTC)
USD = Money(Decimal("10.00"))


def test_events_are_frozen() -> None:
    event = PaymentCompleted("e", "p", "u", USD, AT, pack_id="studio-pack")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.user_id = "someone-else"  # type: ignore[misc]


def test_a_completion_must_name_what_was_bought() -> None:
    with pytest.raises(InvalidInput, match="pack_id"):
        PaymentCompleted("e", "p", "u", USD, AT)


@pytest.mark.parametrize("field", ["event_id", "payment_id", "user_id"])
def test_ids_must_be_non_empty_text(field: str) -> None:
    values: dict[str, object] = {"event_id": "e", "payment_id": "p", "user_id": "u", field: ""}
    with pytest.raises(InvalidInput, match=field):
        PaymentCompleted(amount=USD, occurred_at=AT, pack_id="x", **values)  # type: ignore[arg-type]


def test_naive_times_are_refused() -> None:
    naive = datetime(2026, 11, 23)
    with pytest.raises(NaiveDatetime):
        PaymentDisputed("e", "p", USD, naive)
    with pytest.raises(NaiveDatetime):
        PaymentRefunded("e", "p", USD, USD, naive)


@pytest.mark.parametrize(
    "refunded", [Money(Decimal("10.01")), Money(Decimal("-1")), Money(Decimal("5"), "EUR")]
)
def test_a_refund_must_lie_within_the_charge_in_its_currency(refunded: Money) -> None:
    with pytest.raises(InvalidInput, match="amount_refunded"):
        PaymentRefunded("e", "p", USD, refunded, AT)
