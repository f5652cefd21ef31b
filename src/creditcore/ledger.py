"""A credit ledger that never loses, invents or double-spends a credit.

Accounts hold credits as lots (the period's subscription allowance; one lot per purchase) on an
append-only double-entry journal. Spending and refunds follow policy objects; holds reserve
credits for jobs; every mutating call is idempotent on a key. Storage is a port
(:class:`LedgerStore`): :class:`InMemoryStore` here, ``creditcore.stores.sqlite.SQLiteStore`` for
a file. See ``docs/ledger.md``.

Example::

    from creditcore.ledger import Ledger, InMemoryStore

    ledger = Ledger(InMemoryStore())
    ledger.open_account("u1", monthly_allowance=150, tier="PLUS")
    ledger.purchase("u1", 500, payment_id="pi_123")
    tx = ledger.consume("u1", 12)
    ledger.refund(tx.id)
"""

from __future__ import annotations

from creditcore._ledger.clock import Clock, ManualClock, utc_now
from creditcore._ledger.memory import InMemoryStore
from creditcore._ledger.periods import normalize_period, period_end, period_of
from creditcore._ledger.policies import (
    ExpiringFirst,
    PurchasedFirst,
    RefundPolicy,
    RestoreDrawnLots,
    SpendOrder,
    SubscriptionFirst,
)
from creditcore._ledger.service import DEFAULT_HOLD_TTL, MAX_CREDITS, Ledger
from creditcore._ledger.store import LedgerStore, UnitOfWork
from creditcore._ledger.values import (
    SYSTEM_ACCOUNTS,
    Account,
    AccountView,
    Balance,
    Entry,
    HistoryPage,
    Hold,
    HoldStatus,
    Lot,
    LotKind,
    MetadataValue,
    Snapshot,
    Transaction,
    TransactionKind,
    VerifyReport,
)

__all__ = [
    "DEFAULT_HOLD_TTL",
    "MAX_CREDITS",
    "SYSTEM_ACCOUNTS",
    "Account",
    "AccountView",
    "Balance",
    "Clock",
    "Entry",
    "ExpiringFirst",
    "HistoryPage",
    "Hold",
    "HoldStatus",
    "InMemoryStore",
    "Ledger",
    "LedgerStore",
    "Lot",
    "LotKind",
    "ManualClock",
    "MetadataValue",
    "PurchasedFirst",
    "RefundPolicy",
    "RestoreDrawnLots",
    "Snapshot",
    "SpendOrder",
    "SubscriptionFirst",
    "Transaction",
    "TransactionKind",
    "UnitOfWork",
    "VerifyReport",
    "normalize_period",
    "period_end",
    "period_of",
    "utc_now",
]
