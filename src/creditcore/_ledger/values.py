"""Frozen values of the ledger: journal entries, transactions, lots, holds, accounts, balances.

Every value here is immutable; a change to the ledger is a new :class:`Transaction` plus new
versions of the :class:`Lot`, :class:`Hold` and :class:`Account` records it touched.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final, Literal

from creditcore._exceptions import InvalidInput

__all__ = [
    "ACCOUNT_NAMES",
    "SYSTEM_ACCOUNTS",
    "Account",
    "AccountView",
    "Balance",
    "Entry",
    "HistoryPage",
    "Hold",
    "HoldStatus",
    "Lot",
    "LotKind",
    "MetadataValue",
    "Snapshot",
    "Transaction",
    "TransactionKind",
    "VerifyReport",
    "decode_cursor",
    "encode_cursor",
]

LotKind = Literal["subscription", "purchased", "lootbox"]
"""Where a lot's credits came from; ``lootbox`` counts as purchased everywhere."""

HoldStatus = Literal["open", "captured", "released", "expired"]
"""Lifecycle of a hold; ``open`` holds stop counting at ``expires_at`` (half-open)."""

TransactionKind = Literal[
    "open",
    "purchase",
    "consume",
    "refund",
    "reserve",
    "capture",
    "release",
    "reset",
    "revoke",
    "tier",
]
"""What a transaction did; ``consume`` and ``capture`` are the consumptions a refund can name."""

MetadataValue = str | int | bool | None
"""A metadata value: JSON scalars only, so every store can keep them unchanged."""

SYSTEM_ACCOUNTS: Final = ("issued", "consumed", "expired", "refunded", "revoked")
"""The per-user system accounts of the double-entry journal.

Sign convention: user lots hold positive balances; ``issued`` and ``refunded`` go negative as
credits are handed out; ``consumed``, ``expired`` and ``revoked`` go positive as credits leave;
the user's ``debt`` account is negative while the user owes credits. The sum over all of an
account's lots, its system accounts and its debt is always zero.
"""

ACCOUNT_NAMES: Final = (*SYSTEM_ACCOUNTS, "debt")
"""Every non-lot journal account name (an entry on a lot is named ``lot:<lot id>``)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One leg of a transaction: ``delta`` credits on one journal account.

    Attributes:
        account: ``"lot:<id>"`` for a user lot, else one of :data:`ACCOUNT_NAMES`.
        delta: Signed change in credits.
        balance_after: That account's balance right after this entry (running balance).
    """

    account: str
    delta: int
    balance_after: int

    @property
    def lot_id(self) -> str | None:
        """The lot this entry moves, or ``None`` for a system account."""
        return self.account[4:] if self.account.startswith("lot:") else None


@dataclass(frozen=True, slots=True)
class Transaction:
    """An append-only journal record; its entries always sum to zero.

    Attributes:
        id: Globally unique id (``tx_...``).
        user_id: The account it belongs to.
        seq: Position in the account's journal (1, 2, 3, ...); orders history and replay.
        kind: What it did (:data:`TransactionKind`).
        credits: The size of the request (consumed, refunded, reserved, purchased, ...).
        created_at: When it was recorded (timezone-aware, from the ledger's clock).
        entries: The legs; user lots first, then system accounts.
        key: The caller's idempotency key, if any.
        fingerprint: Hash of the request (used to tell a replay from a conflicting reuse of ``key``).
        ref: The id it refers to: the consumption a refund reverses, the hold a reserve/capture/
            release acts on, the purchase a revoke takes back.
        payment_id: For purchases, the payment it books (unique across the store).
        metadata: JSON scalars (operation, provider, model, api_cost, currency, ...).
    """

    id: str
    user_id: str
    seq: int
    kind: TransactionKind
    credits: int
    created_at: datetime
    entries: tuple[Entry, ...]
    key: str | None = None
    fingerprint: str = ""
    ref: str | None = None
    payment_id: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    def drawn(self) -> dict[str, int]:
        """Credits taken from each lot by this transaction (positive numbers), by lot id."""
        return {
            e.account[4:]: -e.delta
            for e in self.entries
            if e.delta < 0 and e.account.startswith("lot:")
        }

    def restored(self) -> dict[str, int]:
        """Credits added to each lot by this transaction, by lot id."""
        return {
            e.account[4:]: e.delta
            for e in self.entries
            if e.delta > 0 and e.account.startswith("lot:")
        }


@dataclass(frozen=True, slots=True)
class Lot:
    """A batch of credits with one origin: a period's allowance or one purchase.

    Attributes:
        id: Unique id (``lot_...``).
        user_id: Owner.
        kind: ``subscription``, ``purchased`` or ``lootbox``.
        credits: Credits it was created with.
        remaining: Credits still in it (never negative).
        created_at: When it was created.
        seq: Journal position of the transaction that created it (orders "oldest first").
        expires_at: Period end for a subscription lot; ``None`` for purchased credits (never expire).
        source: Payment id for a purchase, ``refund:<tx id>`` for a refund lot, the period
            (``"2026-11"``) for a subscription lot.
        amount: Money paid for it (a purchase), if known.
        currency: Currency of ``amount``.
    """

    id: str
    user_id: str
    kind: LotKind
    credits: int
    remaining: int
    created_at: datetime
    seq: int
    expires_at: datetime | None = None
    source: str | None = None
    amount: Decimal | None = None
    currency: str | None = None

    @property
    def is_purchased(self) -> bool:
        """Whether it counts as purchased (``purchased`` or ``lootbox``)."""
        return self.kind != "subscription"

    def with_remaining(self, remaining: int) -> Lot:
        """A copy holding ``remaining`` credits (faster than ``dataclasses.replace``)."""
        return Lot(
            self.id,
            self.user_id,
            self.kind,
            self.credits,
            remaining,
            self.created_at,
            self.seq,
            self.expires_at,
            self.source,
            self.amount,
            self.currency,
        )


@dataclass(frozen=True, slots=True)
class Hold:
    """Credits set aside for a job: capture all or part of them, or release them.

    Attributes:
        id: Unique id (``hold_...``).
        user_id: Owner.
        credits: Credits reserved.
        created_at: When reserved.
        expires_at: The hold stops counting at this instant (half-open: active while now < it).
        status: ``open``, ``captured``, ``released`` or ``expired`` (as stored; see
            :meth:`is_active` for the effective state at an instant).
        captured: Credits captured (0 unless captured).
        resolved_at: When captured or released.
    """

    id: str
    user_id: str
    credits: int
    created_at: datetime
    expires_at: datetime
    status: HoldStatus = "open"
    captured: int = 0
    resolved_at: datetime | None = None

    def is_active(self, at: datetime) -> bool:
        """Whether the hold still sets credits aside at ``at``."""
        return self.status == "open" and at < self.expires_at

    def status_at(self, at: datetime) -> HoldStatus:
        """The effective status at ``at`` (an open hold past its limit is ``expired``)."""
        if self.status == "open" and at >= self.expires_at:
            return "expired"
        return self.status


@dataclass(frozen=True, slots=True)
class Account:
    """The account record a store keeps per user (its lots and holds are kept beside it).

    Attributes:
        user_id: Owner.
        tier: Tier name used for model gating (``None``: no gating).
        allowance: Subscription credits issued at each reset (a change applies at the next one).
        period: The subscription period in force (``"YYYY-MM"``, UTC months).
        subscription_lot: Id of the current period's subscription lot (``None`` if allowance 0).
        seq: Journal position of the account's last transaction.
        totals: Running balances of the system accounts and ``debt`` (see :data:`SYSTEM_ACCOUNTS`).
        created_at: When the account was opened.
    """

    user_id: str
    tier: str | None
    allowance: int
    period: str
    subscription_lot: str | None
    seq: int
    totals: Mapping[str, int]
    created_at: datetime

    @property
    def debt(self) -> int:
        """Credits the user owes after a charged-back purchase (≥ 0)."""
        return -self.totals.get("debt", 0)

    def advanced(self, seq: int, totals: Mapping[str, int]) -> Account:
        """A copy at journal position ``seq`` with new system totals."""
        return Account(
            self.user_id,
            self.tier,
            self.allowance,
            self.period,
            self.subscription_lot,
            seq,
            totals,
            self.created_at,
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a store hands the core for one account: the record, its open lots, its open holds.

    Attributes:
        account: The account record.
        lots: Lots with credits left, plus the current subscription lot even when empty; in
            creation order (``seq``).
        holds: Holds whose stored status is ``open`` (some may have expired by now).
    """

    account: Account
    lots: tuple[Lot, ...]
    holds: tuple[Hold, ...]


@dataclass(frozen=True, slots=True)
class Balance:
    """The seeds' view of an account plus holds and debt.

    Attributes:
        user_id: Owner.
        current: Credits spendable before holds: subscription left + purchased.
        purchased: Purchased (and lootbox) credits left; they never expire.
        monthly_allowance: Subscription credits issued for the current period.
        consumed_this_month: Subscription credits used (net of refunds) this period.
        held: Credits set aside by active holds.
        available: ``current - held`` (never below 0): what a consume may take.
        debt: Credits owed after a charge-back; spending is refused while > 0.
        at: The instant the balance describes.
    """

    user_id: str
    current: int
    purchased: int
    monthly_allowance: int
    consumed_this_month: int
    held: int
    available: int
    debt: int
    at: datetime

    @property
    def subscription(self) -> int:
        """Subscription credits left this period."""
        return self.monthly_allowance - self.consumed_this_month

    @property
    def current_balance(self) -> int:
        """Seeds' name for :attr:`current`."""
        return self.current

    @property
    def purchased_balance(self) -> int:
        """Seeds' name for :attr:`purchased`."""
        return self.purchased


@dataclass(frozen=True, slots=True)
class AccountView:
    """Everything about one account at one instant, for display and debugging."""

    account: Account
    balance: Balance
    lots: tuple[Lot, ...]
    holds: tuple[Hold, ...]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of an account's journal, newest first; iterate it for its transactions.

    Attributes:
        transactions: The page.
        next_before: Pass as ``before=`` to get the next (older) page; ``None`` at the end.
    """

    transactions: tuple[Transaction, ...]
    next_before: int | None

    def __iter__(self) -> Iterator[Transaction]:
        return iter(self.transactions)

    def __len__(self) -> int:
        return len(self.transactions)

    @property
    def next_cursor(self) -> str | None:
        """An opaque token for the next (older) page: pass it as ``cursor=``; ``None`` at the end.

        Hand this to HTTP clients rather than ``next_before``: its form may change, its meaning
        will not.
        """
        return None if self.next_before is None else encode_cursor(self.next_before)


_CURSOR_TAG = "h1:"


def encode_cursor(before: int) -> str:
    """The opaque history cursor standing for journal position ``before``."""
    return base64.urlsafe_b64encode(f"{_CURSOR_TAG}{before}".encode()).decode().rstrip("=")


def decode_cursor(cursor: object) -> int:
    """The journal position of a cursor made by :func:`encode_cursor`.

    Raises:
        InvalidInput: Not a cursor this library handed out (``field="cursor"``).
    """
    text = ""
    if isinstance(cursor, str) and cursor.isascii() and len(cursor) <= 64:
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            text = ""
    number = text.removeprefix(_CURSOR_TAG)
    if not text.startswith(_CURSOR_TAG) or not number.isdigit() or int(number) <= 0:
        raise InvalidInput(
            f"cursor: {cursor!r} is not a history cursor", field="cursor", value=cursor
        )
    return int(number)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Result of replaying an account's journal against its stored state.

    Attributes:
        user_id: The account.
        ok: ``True`` when the replay matches the store exactly.
        transactions: How many transactions were replayed.
        problems: One line per mismatch (empty when ``ok``).
        balance: The balance the replay produced.
    """

    user_id: str
    ok: bool
    transactions: int
    problems: tuple[str, ...]
    balance: Balance
