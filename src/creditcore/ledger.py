"""A credit ledger that never loses, invents or double-spends a credit.

Accounts hold credits as lots (the period's subscription allowance; one lot per purchase) on an
append-only double-entry journal. Spending and refunds follow policy objects; holds reserve
credits for jobs; every mutating call is idempotent on a key. Storage is a port
(:class:`LedgerStore`): :class:`InMemoryStore` (``creditcore.stores.memory``, re-exported here),
``creditcore.stores.sqlite.SQLiteStore`` for a file, ``creditcore.stores.postgres.PostgresStore``
for a server. This module is also the whole port a store needs (the values, the snapshot rule,
:data:`store_errors`): the three stores import nothing else of creditcore. See ``docs/ledger.md``,
``docs/stores.md`` and ``docs/domain.md``.

Example::

    from creditcore.ledger import Ledger, InMemoryStore

    ledger = Ledger(InMemoryStore())
    ledger.open_account("u1", monthly_allowance=150, tier="PLUS")
    ledger.purchase("u1", 500, payment_id="pi_123")
    tx = ledger.consume("u1", 12)
    ledger.refund(tx.id)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from creditcore._ledger import store_errors
from creditcore._ledger.clock import Clock, ManualClock, utc_now
from creditcore._ledger.periods import normalize_period, period_end, period_of
from creditcore._ledger.policies import (
    ExpiringFirst,
    PurchasedFirst,
    RefundPolicy,
    RestoreDrawnLots,
    SpendOrder,
    SubscriptionFirst,
)
from creditcore._ledger.service import DEFAULT_HOLD_TTL, Ledger
from creditcore._ledger.store import (
    OPEN_HOLD_SQL,
    OPEN_LOT_SQL,
    AuditView,
    ClosingStore,
    LedgerStore,
    UnitOfWork,
    hold_in_snapshot,
    lot_in_snapshot,
    snapshot_after,
    snapshot_of,
)
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
from creditcore._limits import MAX_CREDITS, MAX_ID_LENGTH
from creditcore._public import publish

if TYPE_CHECKING:
    from creditcore.stores.memory import InMemoryStore

__all__ = [
    "DEFAULT_HOLD_TTL",
    "MAX_CREDITS",
    "MAX_ID_LENGTH",
    "OPEN_HOLD_SQL",
    "OPEN_LOT_SQL",
    "SYSTEM_ACCOUNTS",
    "Account",
    "AccountView",
    "AuditView",
    "Balance",
    "Clock",
    "ClosingStore",
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
    "hold_in_snapshot",
    "lot_in_snapshot",
    "normalize_period",
    "period_end",
    "period_of",
    "snapshot_after",
    "snapshot_of",
    "store_errors",
    "utc_now",
]


def __getattr__(name: str) -> object:
    # InMemoryStore lives with its peers in creditcore.stores.memory, which imports this module:
    # loaded on first use, so either module can be imported first.
    if name == "InMemoryStore":
        from creditcore.stores.memory import InMemoryStore

        return InMemoryStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


publish(__name__, __all__)
