"""Where rejected payment events wait for an operator: listed, then re-applied once fixed.

A ``rejected`` event (its price disagrees with the catalog, a refund in another currency) is
answered 2xx so the provider stops retrying, and recorded here with its reason. An operator
lists them (:meth:`RejectionLog.pending`), fixes the catalog, and re-applies them
(:meth:`creditcore.payments.WebhookHandler.reapply`); an event applied successfully is resolved.

:class:`InMemoryRejectionLog` keeps them in the process; :class:`FileRejectionLog` appends them
to a JSON-lines file (one record per line, resolutions appended too), so they survive restarts
and can be read with any tool.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from creditcore._exceptions import InvalidInput
from creditcore.payments._events import (
    IgnoredEvent,
    PaymentCompleted,
    PaymentDisputed,
    PaymentEvent,
    PaymentRefunded,
)
from creditcore.pricing import Money

__all__ = [
    "FileRejectionLog",
    "InMemoryRejectionLog",
    "RejectedEvent",
    "RejectionLog",
    "event_from_json",
    "event_to_json",
]


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    """A genuine event that was not applied, and why.

    Attributes:
        event: The translated event (what re-applying uses).
        reason_code: The stable code of the refusal (``price_mismatch``).
        reason: The human explanation.
        expected: What the catalog or the purchase says.
        came: What the event said.
        rejected_at: When it was rejected (the ledger's clock).
        context: Every value the refusal named, as text.
    """

    event: PaymentEvent
    reason_code: str
    reason: str
    expected: str | None
    came: str | None
    rejected_at: datetime
    context: Mapping[str, str] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        """The provider's event id."""
        return self.event.event_id


@runtime_checkable
class RejectionLog(Protocol):
    """Keeps rejected events until they are re-applied."""

    def record(self, rejected: RejectedEvent) -> None:
        """Keep ``rejected`` (a second record for the same event id replaces the first)."""
        ...

    def pending(self) -> Sequence[RejectedEvent]:
        """Rejected events not yet resolved, oldest first."""
        ...

    def get(self, event_id: str) -> RejectedEvent | None:
        """The pending rejection of ``event_id``, if any."""
        ...

    def resolve(self, event_id: str) -> None:
        """Forget ``event_id`` (it was re-applied, or an operator dismissed it)."""
        ...


class InMemoryRejectionLog:
    """A :class:`RejectionLog` in this process's memory (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, RejectedEvent] = {}

    def record(self, rejected: RejectedEvent) -> None:
        """See :meth:`RejectionLog.record`."""
        with self._lock:
            self._items.pop(rejected.event_id, None)
            self._items[rejected.event_id] = rejected

    def pending(self) -> Sequence[RejectedEvent]:
        """See :meth:`RejectionLog.pending`."""
        with self._lock:
            return tuple(self._items.values())

    def get(self, event_id: str) -> RejectedEvent | None:
        """See :meth:`RejectionLog.get`."""
        with self._lock:
            return self._items.get(event_id)

    def resolve(self, event_id: str) -> None:
        """See :meth:`RejectionLog.resolve`."""
        with self._lock:
            self._items.pop(event_id, None)


def _money(value: Money | None) -> list[str] | None:
    return None if value is None else [str(value.amount), value.currency]


def _from_money(value: object) -> Money | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise InvalidInput(f"money: expected [amount, currency], got {value!r}", field="money")
    return Money(Decimal(str(value[0])), str(value[1]))


def event_to_json(event: PaymentEvent) -> dict[str, Any]:
    """A JSON-ready dict of a payment event (exact amounts as text)."""
    if isinstance(event, IgnoredEvent):
        return {"kind": "ignored", "event_id": event.event_id, "type": event.type}
    base: dict[str, Any] = {
        "event_id": event.event_id,
        "payment_id": event.payment_id,
        "amount": _money(event.amount),
        "occurred_at": event.occurred_at.isoformat(),
    }
    if isinstance(event, PaymentCompleted):
        base.update(
            kind="completed",
            user_id=event.user_id,
            pack_id=event.pack_id,
            offer_id=event.offer_id,
            price_id=event.price_id,
            quantity=event.quantity,
            subtotal=_money(event.subtotal),
            discount=_money(event.discount),
            tax=_money(event.tax),
        )
    elif isinstance(event, PaymentRefunded):
        base.update(
            kind="refunded",
            amount_refunded=_money(event.amount_refunded),
            charge_id=event.charge_id,
        )
    else:
        base.update(kind="disputed", dispute_id=event.dispute_id, reason=event.reason)
    return base


def event_from_json(data: Mapping[str, Any]) -> PaymentEvent:
    """The payment event :func:`event_to_json` wrote.

    Raises:
        InvalidInput: Not such a record.
    """
    kind = data.get("kind")
    if kind == "ignored":
        return IgnoredEvent(str(data["event_id"]), str(data["type"]))
    amount = _from_money(data.get("amount"))
    if amount is None:
        raise InvalidInput("amount: missing in a rejected event record", field="amount")
    occurred = datetime.fromisoformat(str(data["occurred_at"]))
    if kind == "completed":
        return PaymentCompleted(
            event_id=str(data["event_id"]),
            payment_id=str(data["payment_id"]),
            user_id=str(data["user_id"]),
            amount=amount,
            occurred_at=occurred,
            pack_id=data.get("pack_id"),
            offer_id=data.get("offer_id"),
            price_id=data.get("price_id"),
            quantity=int(data.get("quantity", 1)),
            subtotal=_from_money(data.get("subtotal")),
            discount=_from_money(data.get("discount")),
            tax=_from_money(data.get("tax")),
        )
    if kind == "refunded":
        refunded = _from_money(data.get("amount_refunded"))
        assert refunded is not None
        return PaymentRefunded(
            event_id=str(data["event_id"]),
            payment_id=str(data["payment_id"]),
            amount=amount,
            amount_refunded=refunded,
            occurred_at=occurred,
            charge_id=data.get("charge_id"),
        )
    if kind == "disputed":
        return PaymentDisputed(
            event_id=str(data["event_id"]),
            payment_id=str(data["payment_id"]),
            amount=amount,
            occurred_at=occurred,
            dispute_id=data.get("dispute_id"),
            reason=data.get("reason"),
        )
    raise InvalidInput(f"kind: not a payment event record: {kind!r}", field="kind", value=kind)


class FileRejectionLog:
    """A :class:`RejectionLog` appended to a JSON-lines file (survives restarts).

    Each line is ``{"op": "rejected", ...}`` or ``{"op": "resolved", "event_id": ...}``; the
    pending set is the replay of the file. Appends are flushed and fsynced.

    Args:
        path: The file (created when missing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()

    def _append(self, line: Mapping[str, Any]) -> None:
        with self._lock, self._path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def record(self, rejected: RejectedEvent) -> None:
        """See :meth:`RejectionLog.record`."""
        self._append(
            {
                "op": "rejected",
                "event": event_to_json(rejected.event),
                "reason_code": rejected.reason_code,
                "reason": rejected.reason,
                "expected": rejected.expected,
                "came": rejected.came,
                "rejected_at": rejected.rejected_at.isoformat(),
                "context": dict(rejected.context),
            }
        )

    def _state(self) -> dict[str, RejectedEvent]:
        items: dict[str, RejectedEvent] = {}
        if not self._path.exists():
            return items
        with self._lock:
            lines = self._path.read_text(encoding="utf-8").splitlines()
        for line in lines:
            if not line.strip():
                continue
            data = json.loads(line)
            if data.get("op") == "resolved":
                items.pop(str(data.get("event_id")), None)
                continue
            event = event_from_json(data["event"])
            items.pop(event.event_id, None)
            items[event.event_id] = RejectedEvent(
                event=event,
                reason_code=str(data["reason_code"]),
                reason=str(data["reason"]),
                expected=data.get("expected"),
                came=data.get("came"),
                rejected_at=datetime.fromisoformat(str(data["rejected_at"])),
                context={str(k): str(v) for k, v in dict(data.get("context", {})).items()},
            )
        return items

    def pending(self) -> Sequence[RejectedEvent]:
        """See :meth:`RejectionLog.pending`."""
        return tuple(self._state().values())

    def get(self, event_id: str) -> RejectedEvent | None:
        """See :meth:`RejectionLog.get`."""
        return self._state().get(event_id)

    def resolve(self, event_id: str) -> None:
        """See :meth:`RejectionLog.resolve`."""
        self._append({"op": "resolved", "event_id": event_id})
