"""The ledger's rules as pure functions of a :class:`Snapshot` (and the transactions named).

Nothing here reads a store or the clock: the instant is an argument. The service
(:mod:`._ledger.service`) gathers what a rule needs inside a unit of work, calls the rule, and
writes what it returns. The rules (docs/domain.md states them):

- :func:`available`: credits left in the lots minus the credits of active holds.
- :func:`draw`: take credits from the lots in the spend order, refusing more than available.
- :func:`no_debt`: spending and reserving are refused while a charge-back left debt.
- :func:`reversal_left`: what is left to refund of a consumption / to revoke of a purchase.
- :func:`expired_holds`: open holds past their limit, recorded as expired by the next write.
- :func:`within_limits`: no balance past ``MAX_CREDITS``, no running total past the SQL range.
- :func:`reset`: a new period: the unused allowance expires, the account's allowance is issued.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from creditcore._exceptions import (
    AccountInDebt,
    CreditLimitExceeded,
    HoldNotActive,
    InsufficientCredits,
    OverRefund,
)
from creditcore._ledger.journal import Posting
from creditcore._ledger.periods import period_end
from creditcore._ledger.policies import SpendOrder
from creditcore._ledger.values import Account, Hold, Lot, Snapshot, Transaction
from creditcore._limits import MAX_CREDITS, MAX_RUNNING_TOTAL

__all__ = [
    "Reset",
    "active_hold",
    "available",
    "draw",
    "expired_holds",
    "no_debt",
    "reset",
    "reversal_left",
    "reversed_so_far",
    "within_limits",
]


def available(snap: Snapshot, now: datetime, *, exclude_hold: str | None = None) -> int:
    """Credits that can be spent or reserved at ``now``: the lots' remaining credits minus the
    active holds (``exclude_hold`` is the hold being captured: its credits are the ones spent)."""
    held = 0
    for hold in snap.holds:
        if hold.id != exclude_hold and hold.is_active(now):
            held += hold.credits
    current = 0
    for lot in snap.lots:
        current += lot.remaining
    return current - held


def no_debt(account: Account) -> None:
    """Refuse spending while the account owes credits from a charged-back payment."""
    if account.debt > 0:
        raise AccountInDebt(
            f"user_id {account.user_id!r} owes {account.debt} credits from a charged-back "
            "payment; a purchase must settle it first",
            user_id=account.user_id,
            debt=account.debt,
        )


def require_available(snap: Snapshot, credits: int, now: datetime, *, verb: str = "spend",
                      exclude_hold: str | None = None) -> None:  # fmt: skip
    """Refuse ``credits`` above :func:`available`."""
    left = available(snap, now, exclude_hold=exclude_hold)
    if credits > left:
        raise InsufficientCredits(
            f"cannot {verb} {credits} credits: only {max(0, left)} are available for "
            f"user_id {snap.account.user_id!r}",
            requested=credits,
            available=max(0, left),
            user_id=snap.account.user_id,
        )


def draw(
    snap: Snapshot,
    credits: int,
    now: datetime,
    order: SpendOrder,
    posting: Posting,
    *,
    exclude_hold: str | None = None,
) -> list[Lot]:
    """Take ``credits`` from the snapshot's lots in ``order``; post the draw; the lots changed.

    Raises:
        InsufficientCredits: More than available (or the order left lots out).
    """
    require_available(snap, credits, now, exclude_hold=exclude_hold)
    changed: list[Lot] = []
    left = credits
    for lot in order.order(snap.lots):
        take = lot.remaining if lot.remaining < left else left
        if take <= 0:
            continue
        changed.append(lot.with_remaining(lot.remaining - take))
        posting.lot(lot.id, -take)
        left -= take
        if left == 0:
            break
    if left:  # the policy left lots out: refuse rather than overdraw
        raise InsufficientCredits(
            f"spend order found only {credits - left} of {credits} credits",
            requested=credits,
            available=credits - left,
            user_id=snap.account.user_id,
        )
    posting.system("consumed", credits)
    return changed


def reversed_so_far(later: Iterable[Transaction], original: Transaction) -> int:
    """Credits refunded from consumption ``original`` (or revoked from purchase ``original``)
    by the transactions ``later``."""
    kind = "revoke" if original.kind == "purchase" else "refund"
    return sum(t.credits for t in later if t.kind == kind and t.ref == original.id)


def reversal_left(
    original: Transaction, later: Iterable[Transaction], wanted: int | None, *, name: str
) -> int:
    """How many credits to reverse of ``original``: ``wanted`` (default: all that is left).

    ``name`` names the original in messages (``transaction 'tx_1'``, ``payment_id 'pi_1'``).

    Raises:
        OverRefund: Nothing left (already fully refunded/revoked) or more than what is left.
    """
    verb, past = ("revoke", "revoked") if original.kind == "purchase" else ("refund", "refunded")
    done = reversed_so_far(later, original)
    left = original.credits - done
    amount = left if wanted is None else wanted
    context = {"requested": amount, "refundable": left}
    if left == 0:
        raise OverRefund(
            f"{name} was already fully {past} ({done} credits); nothing is left to {verb}",
            **context,
        )
    if amount > left:
        raise OverRefund(
            f"{name}: cannot {verb} {amount} credits, only {left} of {original.credits} are "
            f"left to {verb}",
            **context,
        )
    return amount


def active_hold(hold: Hold, now: datetime) -> Hold:
    """``hold`` when it is active at ``now``.

    Raises:
        HoldNotActive: Captured, released or past ``expires_at``.
    """
    if not hold.is_active(now):
        status = hold.status_at(now)
        raise HoldNotActive(
            f"hold {hold.id!r} is {status}, not open", hold_id=hold.id, status=status
        )
    return hold


def expired_holds(snap: Snapshot, now: datetime, touched: Sequence[Hold]) -> list[Hold]:
    """Open holds of ``snap`` past their limit at ``now`` (not among ``touched``), as expired."""
    if not snap.holds:
        return []
    ids = {h.id for h in touched}
    return [
        replace(hold, status="expired")
        for hold in snap.holds
        if hold.id not in ids and hold.status == "open" and now >= hold.expires_at
    ]


def within_limits(account: Account, balance: int, totals: dict[str, int]) -> None:
    """Refuse a change that takes the balance past ``MAX_CREDITS`` or a running total out of
    the range every store keeps exactly.

    Raises:
        CreditLimitExceeded: The balance (or a running total) would pass its limit.
    """
    if balance > MAX_CREDITS:
        raise CreditLimitExceeded(
            f"user_id {account.user_id!r} would hold {balance} credits, more than the limit "
            f"{MAX_CREDITS}; nothing was changed",
            user_id=account.user_id,
            balance=balance,
            limit=MAX_CREDITS,
        )
    for name, total in totals.items():
        if abs(total) > MAX_RUNNING_TOTAL:
            raise CreditLimitExceeded(
                f"user_id {account.user_id!r}: the running total {name!r} would reach {total}, "
                f"past {MAX_RUNNING_TOTAL}; nothing was changed",
                user_id=account.user_id,
                balance=total,
                limit=MAX_RUNNING_TOTAL,
            )


@dataclass(frozen=True, slots=True)
class Reset:
    """What a reset writes: the changed and new lots, the posting, the moved account."""

    lots: tuple[Lot, ...]
    posting: Posting
    account: Account
    expired: int


def reset(snap: Snapshot, target: str, now: datetime, lot_id: str) -> Reset | None:
    """Start period ``target``: ``None`` when the account is already in it or a later one.

    The current subscription lot's credits expire; the account's allowance (if any) is issued
    as a new subscription lot ``lot_id`` expiring at the end of ``target``; purchased lots are
    untouched.
    """
    account = snap.account
    if account.period >= target:
        return None
    posting = Posting({lot.id: lot.remaining for lot in snap.lots}, account.totals)
    changed: list[Lot] = []
    expired = 0
    for lot in snap.lots:
        if lot.id == account.subscription_lot and lot.remaining:
            expired = lot.remaining
            changed.append(replace(lot, remaining=0))
            posting.lot(lot.id, -expired)
            posting.system("expired", expired)
    new_lot: str | None = None
    if account.allowance:
        lot = Lot(
            id=lot_id, user_id=account.user_id, kind="subscription", credits=account.allowance,
            remaining=account.allowance, created_at=now, seq=account.seq + 1,
            expires_at=period_end(target), source=target,
        )  # fmt: skip
        changed.append(lot)
        posting.lot(lot.id, account.allowance)
        posting.system("issued", -account.allowance)
        new_lot = lot.id
    moved = replace(account, period=target, subscription_lot=new_lot)
    return Reset(tuple(changed), posting, moved, expired)
