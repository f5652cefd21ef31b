"""A webhook endpoint wired to a real in-memory ledger and the example catalog, for tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from creditcore.ledger import InMemoryStore, Ledger, ManualClock
from creditcore.payments import UnknownPaymentPolicy, WebhookHandler, WebhookResult
from creditcore.payments.stripe import StripeSource
from creditcore.pricing import Catalog, example_catalog
from tests.payments.stripe_payloads import SECRET, encode, sign

__all__ = ["NOW", "STUDIO_CREDITS", "Endpoint", "T"]

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
"""A Monday afternoon: no lootbox window is open (weekend sale ended, 15th-17th is past)."""
T = int(NOW.timestamp())

STUDIO_CREDITS = 500
"""The Studio Pack's credits, as the seeds state them (DOMAIN.md §2)."""


class Endpoint:
    """A ledger with accounts for ``users`` (allowance ``allowance`` each) behind a handler."""

    def __init__(
        self,
        users: tuple[str, ...] = ("user-1",),
        *,
        allowance: int = 0,
        catalog: Catalog | None = None,
        unknown_payment: UnknownPaymentPolicy = "retry",
    ) -> None:
        self.clock = ManualClock(NOW)
        self.ledger = Ledger(InMemoryStore(), clock=self.clock)
        self.catalog = catalog if catalog is not None else example_catalog()
        for user in users:
            self.ledger.open_account(user, monthly_allowance=allowance)
        self.handler = WebhookHandler(
            StripeSource(SECRET, clock=self.clock),
            self.ledger,
            self.catalog,
            unknown_payment=unknown_payment,
        )

    def deliver(self, document: dict[str, Any], *, signed_at: int | None = None) -> WebhookResult:
        """Sign ``document`` as Stripe would (at the clock's time) and hand it to the handler."""
        body = encode(document)
        at = int(self.clock().timestamp()) if signed_at is None else signed_at
        return self.handler.handle_webhook(body, sign(body, timestamp=at))

    def purchased(self, user: str = "user-1") -> int:
        return self.ledger.balance(user).purchased

    def debt(self, user: str = "user-1") -> int:
        return self.ledger.balance(user).debt

    def revoked(self, user: str, payment_id: str) -> int:
        """Credits revoked from ``payment_id``, read straight from the journal."""
        return sum(
            tx.credits
            for tx in self.ledger.store.transactions(user)
            if tx.kind == "revoke" and tx.metadata.get("payment_id") == payment_id
        )
