"""The audit: replay an account's journal and compare it with the stored state.

Apart from the rules and the service: it reads one :class:`AuditView` (one consistent read of
the store, so concurrent writers cannot make it report a problem that is not there) and reports
what does not match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from creditcore._ledger.journal import balance_of_replay, replay
from creditcore._ledger.store import AuditView
from creditcore._ledger.values import ACCOUNT_NAMES, Transaction, VerifyReport

__all__ = ["over_reversals", "verify"]


def over_reversals(journal: Sequence[Transaction]) -> list[str]:
    """Refunds above their consumption, revokes above their purchase."""
    size = {t.id: (t.kind, t.credits) for t in journal}
    back: dict[str, int] = {}
    for t in journal:
        if t.kind in ("refund", "revoke") and t.ref is not None:
            back[t.ref] = back.get(t.ref, 0) + t.credits
    problems = []
    for ref, total in back.items():
        kind, credits = size.get(ref, ("missing", 0))
        if total > credits:
            problems.append(f"{ref} ({kind}, {credits} credits) reversed {total} credits")
    return problems


def verify(view: AuditView, now: datetime) -> VerifyReport:
    """Compare the replay of ``view.transactions`` with the stored records of ``view``.

    Checks: each transaction sums to zero; every running balance; the sequence has no gap;
    every lot's remaining credits; the system totals and debt; the subscription lot; the open
    holds; and that everything sums to zero.
    """
    snap = view.snapshot
    journal = view.transactions
    account = snap.account
    user_id = account.user_id
    lots = {lot.id: lot for lot in view.lots}
    state = replay(journal, {i: lot.kind for i, lot in lots.items()})
    problems = list(state.problems)
    if account.seq != len(journal):
        problems.append(f"account seq {account.seq}, journal has {len(journal)}")
    for lot in view.lots:
        if state.lots.get(lot.id, 0) != lot.remaining:
            problems.append(
                f"lot {lot.id}: stored {lot.remaining}, replay {state.lots.get(lot.id, 0)}"
            )
        if lot.remaining < 0 or (lot.remaining > lot.credits and lot.kind == "subscription"):
            problems.append(f"lot {lot.id}: remaining {lot.remaining} out of range")
    for lot_id in state.lots.keys() - lots.keys():
        problems.append(f"journal names lot {lot_id} that the store does not have")
    for name in ACCOUNT_NAMES:
        if state.totals.get(name, 0) != account.totals.get(name, 0):
            problems.append(
                f"{name}: stored {account.totals.get(name, 0)}, replay {state.totals.get(name, 0)}"
            )
    if state.subscription_lot != account.subscription_lot:
        problems.append(
            f"subscription lot: stored {account.subscription_lot}, replay {state.subscription_lot}"
        )
    if sum(state.lots.values()) + sum(state.totals.values()) != 0:
        problems.append("journal does not sum to zero")
    problems.extend(over_reversals(journal))
    holds = {h.id: h for h in view.holds}
    stored_open = {h.id for h in snap.holds}
    for hold_id in stored_open - state.open_holds.keys():
        problems.append(f"hold {hold_id}: open in the store, resolved in the journal")
    for hold_id in state.open_holds.keys() - stored_open:
        stored = holds.get(hold_id)
        if stored is None or stored.status != "expired":
            problems.append(f"hold {hold_id}: open in the journal, not in the store")
    balance = replace(balance_of_replay(state, lots, now), user_id=user_id)
    return VerifyReport(user_id, not problems, len(journal), tuple(problems), balance)
