"""Helpers for ledger tests: the whole observable state of an account, for "nothing changed"."""

from __future__ import annotations

from typing import Any

from creditcore.ledger import Ledger

__all__ = ["everything"]


def everything(ledger: Ledger) -> Any:
    """Every account's snapshot, lots and journal, and every store-wide lookup we can name."""
    store = ledger.store
    return [
        (store.snapshot(u), tuple(store.lots(u)), tuple(store.transactions(u)))
        for u in store.user_ids()
    ]
