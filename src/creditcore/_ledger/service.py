"""The Ledger service: orchestrates units of work; the rules are in :mod:`.rules`.

Each mutating call is one unit of work on one account: check the arguments (:mod:`.checks`),
lock the account, look the idempotency key up, apply the rule (:mod:`.rules`) to the locked
snapshot, append one transaction with the lots and holds it changed, commit. A call that raises
has written nothing. The audit (:meth:`Ledger.verify`) is in :mod:`.audit`. The rules are
stated in ``docs/domain.md``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal, TypeVar

from creditcore._exceptions import (
    DuplicateId,
    IdempotencyConflict,
    InvalidAmount,
    InvalidInput,
    OfferClosed,
    PriceMismatch,
    TierNotAllowed,
    UnknownHold,
    UnknownTransaction,
)
from creditcore._ledger import audit, checks, rules
from creditcore._ledger.clock import Clock, utc_now
from creditcore._ledger.journal import Posting, balance_of, balance_of_replay, replay
from creditcore._ledger.periods import normalize_period, period_end
from creditcore._ledger.policies import (
    NEW_REFUND_LOT,
    PurchasedFirst,
    RefundPolicy,
    SpendOrder,
    SubscriptionFirst,
)
from creditcore._ledger.pricing_port import CatalogLike, MoneyLike, OfferLike, PackLike
from creditcore._ledger.store import LedgerStore, UnitOfWork
from creditcore._ledger.values import (
    Account,
    AccountView,
    Balance,
    HistoryPage,
    Hold,
    Lot,
    MetadataValue,
    Snapshot,
    Transaction,
    TransactionKind,
    VerifyReport,
    decode_cursor,
)
from creditcore._time import require_aware

__all__ = ["DEFAULT_HOLD_TTL", "Ledger"]

DEFAULT_HOLD_TTL = timedelta(minutes=15)
"""How long a hold lasts when ``reserve`` is given neither ``ttl`` nor ``expires_at``."""

_T = TypeVar("_T")
_RETRIES = 4
_STORE_METHODS = (
    "create_account",
    "unit_of_work",
    "snapshot",
    "lots",
    "transactions",
    "transaction",
    "purchase_by_payment",
    "hold",
    "user_ids",
    "audit_view",
    "close",
)


def _new_id(prefix: str) -> str:
    # time-ordered (nanoseconds, hex) then random: unique, and appended near each other in
    # a store's indexes instead of scattered over them
    return f"{prefix}{time.time_ns():016x}{os.urandom(6).hex()}"


def _check_store(store: object) -> None:
    """The store offers every method of the port (as callables, not only as names)."""
    missing = [m for m in _STORE_METHODS if not callable(getattr(store, m, None))]
    if missing:
        raise InvalidInput(
            f"store must implement LedgerStore, got {type(store).__name__} "
            f"(missing {', '.join(missing)})",
            field="store",
            value=store,
        )


def _check_catalog(catalog: object, *methods: str) -> None:
    if not all(callable(getattr(catalog, m, None)) for m in methods):
        raise InvalidInput(
            f"catalog must be a pricing catalog, got {catalog!r}", field="catalog", value=catalog
        )


def _match_price(
    product: PackLike | OfferLike,
    credits: int,
    price: Decimal | None,
    currency: str | None,
    discount: Decimal | None,
    discount_currency: str | None,
    catalog: CatalogLike | None,
    payment_id: str,
) -> int:
    """The quantity bought when credits, price and currency match ``product``; else raise."""

    def mismatch(field: str, expected: object, came: object, why: str) -> PriceMismatch:
        return PriceMismatch(
            f"payment_id {payment_id!r}: {why} for {product.id!r} (expected {expected}, "
            f"came {came}); nothing was booked",
            field=field,
            expected=expected,
            came=came,
            product=product.id,
            payment_id=payment_id,
        )

    quantity, rest = divmod(credits, product.credits)
    if rest or quantity < 1:
        raise mismatch("credits", product.credits, credits, "credits are not a whole quantity")
    list_price = product.price
    expected_currency = catalog.currency if catalog is not None else list_price.currency
    expected = list_price.amount * quantity
    if price is None:
        raise mismatch("amount", f"{expected} {expected_currency}", None, "no amount paid")
    if currency != expected_currency or (
        discount_currency is not None and discount_currency != expected_currency
    ):
        came_currency = currency if currency != expected_currency else discount_currency
        raise mismatch("currency", expected_currency, came_currency, "wrong currency")
    came = price + (discount or Decimal(0))
    if came != expected:
        why = "amount paid plus discount is not the list price" if discount else "wrong price"
        raise mismatch("amount", f"{expected} {expected_currency}", f"{came} {currency}", why)
    return quantity


def _with_cost(meta: dict[str, MetadataValue], cost: MoneyLike | None) -> None:
    """Record a provider cost given to ``consume``/``capture`` in the metadata (as ``charge``)."""
    if cost is None:
        return
    value = getattr(cost, "amount", None)
    currency = getattr(cost, "currency", None)
    if (
        not isinstance(value, Decimal)
        or not isinstance(currency, str)
        or not value.is_finite()
        or value < 0
    ):
        raise InvalidAmount(
            f"cost must be Money ≥ 0 (a Decimal amount and a currency), got {cost!r}",
            field="cost",
            value=cost,
        )
    meta["api_cost"] = str(value)
    meta["currency"] = currency


class Ledger:
    """A credit ledger over a store: lots, a double-entry journal, holds, idempotency.

    Args:
        store: Any :class:`~creditcore.ledger.LedgerStore` (``InMemoryStore``, ``SQLiteStore``, ...).
        clock: Returns the current aware datetime; default UTC system time.
        spend_order: Which lots a consumption draws from first (default :class:`PurchasedFirst`).
        refund_policy: Where refunded credits go (default :class:`SubscriptionFirst`).

    Raises:
        InvalidInput: ``store`` lacks a method of the store port, or ``clock`` is not callable.
    """

    def __init__(
        self,
        store: LedgerStore,
        clock: Clock | None = None,
        *,
        spend_order: SpendOrder | None = None,
        refund_policy: RefundPolicy | None = None,
    ) -> None:
        _check_store(store)
        if clock is not None and not callable(clock):
            raise InvalidInput(
                f"clock must be callable, got {type(clock).__name__}", field="clock", value=clock
            )
        self._store = store
        self._clock: Clock = clock if clock is not None else utc_now
        self._spend: SpendOrder = spend_order if spend_order is not None else PurchasedFirst()
        self._refund: RefundPolicy = (
            refund_policy if refund_policy is not None else SubscriptionFirst()
        )

    @property
    def store(self) -> LedgerStore:
        """The store this ledger writes to."""
        return self._store

    def now(self) -> datetime:
        """The ledger clock's current instant (aware)."""
        if self._clock is utc_now:
            return utc_now()
        return require_aware(self._clock(), "clock()")

    # --- the unit-of-work helper ------------------------------------------------------------

    def _write(
        self,
        user_id: str,
        key: str | None,
        request: tuple[object, ...],
        action: Callable[[UnitOfWork, datetime, str], _T],
        on_replay: Callable[[UnitOfWork, Transaction], _T],
        *,
        fingerprint: str | None = None,
    ) -> _T:
        checks.text(user_id, "user_id")
        fp = (
            fingerprint if fingerprint is not None else (checks.fingerprint(request) if key else "")
        )
        for attempt in range(_RETRIES):
            try:
                with self._store.unit_of_work(user_id) as uow:
                    if key is not None:
                        prior = uow.by_key(key)
                        if prior is not None:
                            if prior.fingerprint != fp:
                                raise IdempotencyConflict(
                                    f"idempotency key {key!r} was first used for a different "
                                    f"request (transaction {prior.id})",
                                    key=key,
                                    transaction_id=prior.id,
                                )
                            return on_replay(uow, prior)
                    return action(uow, self.now(), fp)
            except DuplicateId:
                # another account booked the same payment id concurrently: look again
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _commit(
        self,
        uow: UnitOfWork,
        now: datetime,
        kind: TransactionKind,
        credits: int,
        posting: Posting,
        *,
        key: str | None,
        fingerprint: str,
        lots: Sequence[Lot] = (),
        holds: Sequence[Hold] = (),
        ref: str | None = None,
        payment_id: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        account: Account | None = None,
    ) -> Transaction:
        snap = uow.snapshot
        base = account if account is not None else snap.account
        seq = base.seq + 1
        totals = posting.totals()
        change = posting.lot_change()
        balance = sum(lot.remaining for lot in snap.lots) + change if change > 0 else 0
        rules.within_limits(base, balance, totals)
        new_account = base.advanced(seq, totals)
        tx = Transaction(
            id=_new_id("tx_"),
            user_id=base.user_id,
            seq=seq,
            kind=kind,
            credits=credits,
            created_at=now,
            entries=posting.entries(),
            key=key,
            fingerprint=fingerprint,
            ref=ref,
            payment_id=payment_id,
            metadata=metadata if metadata is not None else {},
        )
        changed_holds = [*holds, *rules.expired_holds(snap, now, holds)]
        uow.append(tx, account=new_account, lots=lots, holds=changed_holds)
        return tx

    @staticmethod
    def _posting(snap: Snapshot) -> Posting:
        return Posting({lot.id: lot.remaining for lot in snap.lots}, snap.account.totals)

    @staticmethod
    def _same(_uow: UnitOfWork, tx: Transaction) -> Transaction:
        return tx

    def _period_now(self) -> tuple[datetime, str]:
        """Now and its period (refused when the clock is past the last period with an end)."""
        now = self.now()
        return now, normalize_period(now)

    def _check_tier(self, tier: str | None, catalog: CatalogLike | None, now: datetime) -> None:
        if tier is None:
            return
        checks.text(tier, "tier")
        if catalog is not None:
            _check_catalog(catalog, "at")
            catalog.at(now).tier(tier)  # UnknownTier when the catalog in force has no such tier

    # --- accounts -----------------------------------------------------------------------------

    def open_account(
        self,
        user_id: str,
        *,
        monthly_allowance: int,
        tier: str | None = None,
        catalog: CatalogLike | None = None,
    ) -> Transaction:
        """Open an account and issue the current period's allowance (expiring at month end).

        With a ``catalog``, ``tier`` must be a tier of the catalog in force now. Without one the
        tier is any id and is checked only when :meth:`charge` gates a model by it (an unknown
        tier then raises ``UnknownTier``).

        Raises:
            DuplicateId: The user already has an account.
            InvalidAmount: ``monthly_allowance`` negative or not an int.
            UnknownTier: ``catalog`` given and it has no tier ``tier``.
        """
        checks.text(user_id, "user_id")
        allowance = checks.allowance(monthly_allowance)
        now, period = self._period_now()
        self._check_tier(tier, catalog, now)
        posting = Posting({}, {})
        lots: list[Lot] = []
        if allowance:
            lot = Lot(
                id=_new_id("lot_"),
                user_id=user_id,
                kind="subscription",
                credits=allowance,
                remaining=allowance,
                created_at=now,
                seq=1,
                expires_at=period_end(period),
                source=period,
            )
            lots.append(lot)
            posting.lot(lot.id, allowance)
            posting.system("issued", -allowance)
        account = Account(
            user_id=user_id,
            tier=tier,
            allowance=allowance,
            period=period,
            subscription_lot=lots[0].id if lots else None,
            seq=1,
            totals=posting.totals(),
            created_at=now,
        )
        tx = Transaction(
            id=_new_id("tx_"),
            user_id=user_id,
            seq=1,
            kind="open",
            credits=allowance,
            created_at=now,
            entries=posting.entries(),
            metadata={"tier": tier, "period": period},
        )
        self._store.create_account(account, tx, lots)
        return tx

    def change_tier(
        self,
        user_id: str,
        tier: str | None,
        *,
        monthly_allowance: int,
        key: str | None = None,
        catalog: CatalogLike | None = None,
    ) -> Transaction:
        """Change the account's tier and allowance.

        The tier (model gating) applies at once; the new allowance is issued at the next
        :meth:`reset_month` (the current period keeps what was issued for it). With a
        ``catalog``, ``tier`` must be one of its tiers in force now (see :meth:`open_account`).

        Raises:
            UnknownTier: ``catalog`` given and it has no tier ``tier``.
        """
        allowance = checks.allowance(monthly_allowance)
        key = checks.key(key)
        self._check_tier(tier, catalog, self.now())

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Transaction:
            old = uow.snapshot.account
            account = replace(old, tier=tier, allowance=allowance)
            return self._commit(
                uow, now, "tier", allowance, self._posting(uow.snapshot), key=key,
                fingerprint=fp, account=account,
                metadata={"tier": tier, "previous_tier": old.tier, "allowance": allowance},
            )  # fmt: skip

        return self._write(user_id, key, ("tier", user_id, tier, allowance), act, self._same)

    # --- credits in ---------------------------------------------------------------------------

    def purchase(
        self,
        user_id: str,
        credits: int,
        *,
        payment_id: str,
        amount: MoneyLike | None = None,
        kind: Literal["purchased", "lootbox"] = "purchased",
        offer: OfferLike | str | None = None,
        pack: PackLike | str | None = None,
        catalog: CatalogLike | None = None,
        discount: MoneyLike | None = None,
        paid_at: datetime | None = None,
        key: str | None = None,
    ) -> Transaction:
        """Book a payment as a new purchased (or lootbox) lot; credits pay any debt first.

        Idempotent on ``payment_id``: the same payment again returns the first transaction.

        A sale of a catalog product is booked only when it matches the catalog: a ``pack``
        (a pack, or a pack id plus ``catalog``) or, for ``kind="lootbox"``, an ``offer`` (an
        offer, or an offer id plus ``catalog``). ``credits`` must be the product's credits
        times a whole quantity, ``amount + discount`` its price times that quantity, in the
        catalog's currency; an offer must be open at ``paid_at`` (the payment's time, default
        now: a webhook may arrive after the window closed). ``amount`` is what was paid, net of
        tax, after any discount: the value of the credits (a discount lowers their value, not
        their number); ``discount`` is the part of the list price not kept.

        Without a pack or an offer the sale is at a custom price (a negotiated deal, a support
        grant): ``amount`` is what was paid, or ``None`` for a free grant (credits worth 0).

        Raises:
            PriceMismatch: Credits, price or currency disagree with the product (``expected``,
                ``came`` and ``field`` in the context); nothing is booked.
            IdempotencyConflict: The payment id (or key) was booked with different details.
            OfferClosed: A lootbox outside its window at ``paid_at`` (``next_opening``).
            CreditLimitExceeded: The balance would pass ``MAX_CREDITS``.
        """
        checks.credits(credits)
        checks.text(user_id, "user_id")
        checks.text(payment_id, "payment_id")
        key = checks.key(key)
        if kind not in ("purchased", "lootbox"):
            raise InvalidInput(
                f"kind must be 'purchased' or 'lootbox', got {kind!r}", field="kind", value=kind
            )
        price, currency = checks.money(amount)
        off, off_currency = checks.money(discount)
        if paid_at is not None:
            require_aware(paid_at, "paid_at")
        the_offer = self._offer(kind, offer, catalog)
        the_pack = self._pack(kind, pack, catalog)
        product: PackLike | OfferLike | None = the_offer if the_offer is not None else the_pack
        if off is not None and product is None:
            raise InvalidInput(
                "discount is only for a catalog pack or offer (a custom sale records what was "
                "paid)",
                field="discount",
            )
        quantity = 1
        if product is not None:
            quantity = _match_price(
                product, credits, price, currency, off, off_currency, catalog, payment_id
            )
        offer_id = the_offer.id if the_offer is not None else None
        pack_id = the_pack.id if the_pack is not None else None
        request = (
            "purchase", user_id, credits, payment_id, price, currency, kind, offer_id, pack_id,
            off,
        )  # fmt: skip
        fp = checks.fingerprint(request)

        def booked(existing: Transaction) -> Transaction:
            if existing.fingerprint != fp:
                raise IdempotencyConflict(
                    f"payment_id {payment_id!r} was already booked with different details "
                    f"(transaction {existing.id})",
                    payment_id=payment_id,
                    transaction_id=existing.id,
                )
            return existing

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Transaction:
            existing = uow.purchase_by_payment(payment_id)
            if existing is not None:
                return booked(existing)
            if paid_at is not None and paid_at > now:
                raise InvalidInput(
                    f"paid_at {paid_at.isoformat()} is after now ({now.isoformat()})",
                    field="paid_at",
                    value=paid_at,
                )
            judged = paid_at if paid_at is not None else now
            if the_offer is not None and not the_offer.is_open(judged):
                nxt = the_offer.next_opening(judged)
                raise OfferClosed(
                    f"offer {the_offer.id!r} is closed at {judged.isoformat()}; it next opens "
                    f"{nxt.isoformat()}",
                    offer_id=the_offer.id,
                    at=judged,
                    next_opening=nxt,
                )
            snap = uow.snapshot
            seq = snap.account.seq + 1
            pay_debt = min(snap.account.debt, credits)
            lot = Lot(
                id=_new_id("lot_"), user_id=user_id, kind=kind, credits=credits,
                remaining=credits - pay_debt, created_at=now, seq=seq, source=payment_id,
                amount=price, currency=currency,
            )  # fmt: skip
            posting = self._posting(snap)
            posting.lot(lot.id, credits - pay_debt)
            posting.system("debt", pay_debt)
            posting.system("issued", -credits)
            meta: dict[str, MetadataValue] = {"lot": lot.id, "kind": kind}
            if price is not None:
                meta["amount"] = str(price)
                meta["currency"] = currency
            if offer_id is not None:
                meta["offer"] = offer_id
            if pack_id is not None:
                meta["pack"] = pack_id
            if product is not None:
                meta["price"] = "catalog"
                meta["quantity"] = quantity
                if off:
                    meta["discount"] = str(off)
            else:
                meta["price"] = "custom" if price is not None else "free"
            if paid_at is not None:
                meta["paid_at"] = paid_at.isoformat()
            if pay_debt:
                meta["debt_paid"] = pay_debt
            return self._commit(
                uow, now, "purchase", credits, posting, key=key, fingerprint=fp, lots=[lot],
                payment_id=payment_id, metadata=meta,
            )  # fmt: skip

        existing = self._store.purchase_by_payment(payment_id)
        if existing is not None:  # a redelivered webhook: no lock needed
            return booked(existing)
        return self._write(user_id, key, request, act, self._same, fingerprint=fp)

    @staticmethod
    def _pack(
        kind: str, pack: PackLike | str | None, catalog: CatalogLike | None
    ) -> PackLike | None:
        """The catalog pack of a purchase (checked), or ``None`` for a sale without one."""
        if pack is None:
            return None
        if kind != "purchased":
            raise InvalidInput("a lootbox purchase takes an offer, not a pack", field="pack")
        if isinstance(pack, str):
            if catalog is None:
                raise InvalidInput(
                    f"pack id {pack!r} needs a catalog to look it up", field="catalog", value=None
                )
            _check_catalog(catalog, "pack")
            return catalog.pack(checks.text(pack, "pack"))
        if not (
            isinstance(getattr(pack, "id", None), str)
            and isinstance(getattr(pack, "credits", None), int)
            and getattr(pack, "price", None) is not None
        ):
            raise InvalidInput(
                f"pack must be a credit pack or a pack id, got {pack!r}", field="pack", value=pack
            )
        return pack

    @staticmethod
    def _offer(
        kind: str, offer: OfferLike | str | None, catalog: CatalogLike | None
    ) -> OfferLike | None:
        """The lootbox offer of a purchase (checked), or ``None`` for a plain purchase."""
        if kind != "lootbox":
            if offer is not None:
                raise InvalidInput(
                    "offer is only for kind='lootbox'",
                    field="offer",
                    value=getattr(offer, "id", offer),
                )
            return None
        if offer is None:
            raise InvalidInput("a lootbox purchase needs its offer", field="offer", value=None)
        if isinstance(offer, str):
            if catalog is None:
                raise InvalidInput(
                    f"offer id {offer!r} needs a catalog to look it up",
                    field="catalog",
                    value=None,
                )
            _check_catalog(catalog, "offer")
            offer = catalog.offer(checks.text(offer, "offer"))
        if not (
            isinstance(getattr(offer, "id", None), str)
            and callable(getattr(offer, "is_open", None))
            and callable(getattr(offer, "next_opening", None))
        ):
            raise InvalidInput(
                f"offer must be a lootbox offer or an offer id, got {offer!r}",
                field="offer",
                value=offer,
            )
        checks.text(offer.id, "offer.id")
        return offer

    def revoke_purchase(
        self,
        payment_id: str,
        credits: int | None = None,
        *,
        key: str | None = None,
        reason: str = "refund",
    ) -> Transaction:
        """Take back a payment's credits (a refund or a charge-back of the payment).

        What is still unspent in the payment's lot is removed; the part already spent becomes
        debt (``balance().debt``), which blocks spending until purchases pay it off.

        Raises:
            UnknownTransaction: No purchase with this payment id.
            OverRefund: Already fully revoked, or more than is left to revoke (``refundable``).
        """
        checks.text(payment_id, "payment_id")
        if credits is not None:
            checks.credits(credits)
        checks.text(reason, "reason")
        key = checks.key(key)
        purchase = self._purchase_of(payment_id)
        lot_id = purchase.metadata.get("lot")
        assert isinstance(lot_id, str)

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Transaction:
            wanted = rules.reversal_left(
                purchase, uow.referencing(purchase.id), credits, name=f"payment_id {payment_id!r}"
            )
            lot = uow.lot(lot_id)
            assert lot is not None
            unspent = min(wanted, lot.remaining)
            posting = self._posting(uow.snapshot)
            posting.lot(lot.id, -unspent)
            posting.system("debt", -(wanted - unspent))
            posting.system("revoked", wanted)
            changed = [replace(lot, remaining=lot.remaining - unspent)] if unspent else []
            return self._commit(
                uow, now, "revoke", wanted, posting, key=key, fingerprint=fp, lots=changed,
                ref=purchase.id,
                metadata={"payment_id": payment_id, "reason": reason, "debt": wanted - unspent},
            )  # fmt: skip

        request = ("revoke", payment_id, credits, reason)
        return self._write(purchase.user_id, key, request, act, self._same)

    def revoked(self, payment_id: str) -> int:
        """Credits revoked so far from the purchase of ``payment_id`` (refunds, chargebacks).

        Raises:
            UnknownTransaction: No purchase with that payment id.
        """
        checks.text(payment_id, "payment_id")
        purchase = self._purchase_of(payment_id)
        later = self._store.transactions(purchase.user_id, after_seq=purchase.seq)
        return rules.reversed_so_far(later, purchase)

    def purchase_of(self, payment_id: str) -> Transaction | None:
        """The purchase that booked ``payment_id``, in any account, or ``None``."""
        checks.text(payment_id, "payment_id")
        return self._store.purchase_by_payment(payment_id)

    def _purchase_of(self, payment_id: str) -> Transaction:
        purchase = self._store.purchase_by_payment(payment_id)
        if purchase is None:
            raise UnknownTransaction(
                f"no purchase with payment_id {payment_id!r}", payment_id=payment_id
            )
        return purchase

    # --- credits out --------------------------------------------------------------------------

    def _spend_in(
        self,
        uow: UnitOfWork,
        now: datetime,
        fingerprint: str,
        credits: int,
        key: str | None,
        metadata: Mapping[str, MetadataValue],
    ) -> Transaction:
        """The "consume" transaction of ``consume`` and ``charge``: refused while in debt, drawn
        by the spend order."""
        snap = uow.snapshot
        rules.no_debt(snap.account)
        posting = self._posting(snap)
        lots = rules.draw(snap, credits, now, self._spend, posting)
        return self._commit(
            uow, now, "consume", credits, posting, key=key, fingerprint=fingerprint, lots=lots,
            metadata=metadata,
        )  # fmt: skip

    def consume(
        self,
        user_id: str,
        credits: int,
        *,
        key: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        cost: MoneyLike | None = None,
    ) -> Transaction:
        """Spend credits by the spend order; the transaction records each lot drawn.

        ``cost`` is what the provider bills for the call, recorded as ``api_cost`` and
        ``currency`` in the metadata (as :meth:`charge` does from the catalog); without it the
        consumption's cost is unknown to the economics report (never $0).

        Raises:
            InsufficientCredits: More than ``available`` (``requested``, ``available``).
            AccountInDebt: A charge-back left debt.
        """
        checks.credits(credits)
        meta = dict(checks.metadata(metadata))
        _with_cost(meta, cost)
        key = checks.key(key)

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Transaction:
            return self._spend_in(uow, now, fp, credits, key, meta)

        request: tuple[object, ...] = ("consume", user_id, credits)
        if meta and key:
            request += (meta,)
        return self._write(user_id, key, request, act, self._same)

    def charge(
        self,
        user_id: str,
        operation_id: str,
        *,
        catalog: CatalogLike,
        key: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
    ) -> Transaction:
        """Consume an operation's credits from the catalog in force now, gated by tier.

        The transaction's metadata records operation, provider, model, api_cost and currency.

        Raises:
            UnknownOperation: No such operation in force now.
            TierNotAllowed: The account's tier does not unlock the model (``required_tier``).
        """
        checks.text(operation_id, "operation_id")
        _check_catalog(catalog, "at")
        extra = checks.metadata(metadata)
        key = checks.key(key)

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Transaction:
            snap = uow.snapshot
            current = catalog.at(now)
            op = current.operation(operation_id)
            tier_name = snap.account.tier
            if tier_name is not None and not current.tier(tier_name).allows(op.model):
                lowest = current.lowest_tier_for(op.model)
                needed = lowest.name if lowest is not None else None
                raise TierNotAllowed(
                    f"tier {tier_name!r} does not unlock model {op.model!r} of operation "
                    f"{op.id!r}; lowest tier that does: {needed}",
                    tier=tier_name,
                    model=op.model,
                    operation_id=op.id,
                    required_tier=needed,
                )
            meta: dict[str, MetadataValue] = dict(extra)
            meta.update(
                operation=op.id,
                provider=op.provider,
                model=op.model,
                api_cost=str(op.api_cost.amount),
                currency=op.api_cost.currency,
            )
            return self._spend_in(uow, now, fp, op.credits, key, meta)

        request = ("charge", user_id, operation_id, extra)
        return self._write(user_id, key, request, act, self._same)

    def refund(
        self, transaction_id: str, credits: int | None = None, *, key: str | None = None
    ) -> Transaction:
        """Give back (part of) a consumption, by the refund policy.

        ``credits`` defaults to everything not yet refunded of that consumption.

        Raises:
            UnknownTransaction: No consumption (``consume``/``capture``) with this id.
            OverRefund: Already fully refunded, or more than is left to refund (``refundable``).
        """
        checks.text(transaction_id, "transaction_id")
        if credits is not None:
            checks.credits(credits)
        key = checks.key(key)
        consumption = self._store.transaction(transaction_id)
        if consumption is None or consumption.kind not in ("consume", "capture"):
            raise UnknownTransaction(
                f"no consumption with transaction_id {transaction_id!r}",
                transaction_id=transaction_id,
            )

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Transaction:
            earlier = [t for t in uow.referencing(consumption.id) if t.kind == "refund"]
            wanted = rules.reversal_left(
                consumption, earlier, credits, name=f"transaction {transaction_id!r}"
            )
            snap = uow.snapshot
            sub_id = snap.account.subscription_lot
            live = {lot.id: lot for lot in snap.lots}
            sub = live.get(sub_id) if sub_id is not None else None
            drawn: dict[str, Lot] = {}
            for lot_id in consumption.drawn():
                lot = live.get(lot_id) or uow.lot(lot_id)
                if lot is not None:
                    drawn[lot_id] = lot
            plan = self._refund.plan(consumption, earlier, wanted, sub, drawn)
            posting = self._posting(snap)
            changed: dict[str, Lot] = {}
            seq = snap.account.seq + 1
            for target, amount in plan:
                if target == NEW_REFUND_LOT:
                    lot = Lot(
                        id=_new_id("lot_"), user_id=snap.account.user_id, kind="purchased",
                        credits=amount, remaining=amount, created_at=now, seq=seq,
                        source=f"refund:{consumption.id}",
                    )  # fmt: skip
                else:
                    old = changed.get(target) or drawn.get(target) or live.get(target)
                    assert old is not None
                    lot = replace(old, remaining=old.remaining + amount)
                changed[lot.id] = lot
                posting.lot(lot.id, amount)
            posting.system("refunded", -wanted)
            return self._commit(
                uow, now, "refund", wanted, posting, key=key, fingerprint=fp,
                lots=list(changed.values()), ref=consumption.id,
            )  # fmt: skip

        request = ("refund", transaction_id, credits)
        return self._write(consumption.user_id, key, request, act, self._same)

    # --- holds --------------------------------------------------------------------------------

    def reserve(
        self,
        user_id: str,
        credits: int,
        *,
        ttl: timedelta | None = None,
        expires_at: datetime | None = None,
        key: str | None = None,
    ) -> Hold:
        """Set credits aside for a job until ``expires_at`` (or now + ``ttl``, default 15 min).

        Raises:
            InsufficientCredits: Not enough available credits.
            AccountInDebt: A charge-back left debt.
        """
        checks.credits(credits)
        key = checks.key(key)
        if ttl is not None and expires_at is not None:
            raise InvalidInput("give ttl or expires_at, not both", field="ttl", value=ttl)
        if ttl is not None:
            checks.ttl(ttl)
        if expires_at is not None:
            require_aware(expires_at, "expires_at")
        limit = ttl if ttl is not None else DEFAULT_HOLD_TTL

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Hold:
            try:
                until = expires_at if expires_at is not None else now + limit
            except OverflowError:
                raise InvalidInput(
                    f"ttl {limit!r} from now ({now.isoformat()}) is past the end of the calendar",
                    field="ttl",
                    value=limit,
                ) from None
            if until <= now:
                raise InvalidInput(
                    f"expires_at {until.isoformat()} is not after now ({now.isoformat()})",
                    field="expires_at",
                    value=until,
                )
            snap = uow.snapshot
            rules.no_debt(snap.account)
            rules.require_available(snap, credits, now, verb="reserve")
            hold = Hold(
                id=_new_id("hold_"), user_id=user_id, credits=credits, created_at=now,
                expires_at=until,
            )  # fmt: skip
            self._commit(
                uow, now, "reserve", credits, self._posting(snap), key=key, fingerprint=fp,
                holds=[hold], ref=hold.id, metadata={"expires_at": until.isoformat()},
            )  # fmt: skip
            return hold

        def again(uow: UnitOfWork, prior: Transaction) -> Hold:
            hold = uow.hold(prior.ref or "")
            assert hold is not None
            return hold

        when: object = expires_at if expires_at is not None else limit
        return self._write(user_id, key, ("reserve", user_id, credits, when), act, again)

    def _stored_hold(self, hold_id: str) -> Hold:
        checks.text(hold_id, "hold_id")
        hold = self._store.hold(hold_id)
        if hold is None:
            raise UnknownHold(f"no hold with hold_id {hold_id!r}", hold_id=hold_id)
        return hold

    @staticmethod
    def _locked_hold(uow: UnitOfWork, hold_id: str, now: datetime) -> Hold:
        hold = uow.hold(hold_id)
        assert hold is not None
        return rules.active_hold(hold, now)

    def capture(
        self,
        hold_id: str,
        credits: int | None = None,
        *,
        key: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        cost: MoneyLike | None = None,
    ) -> Transaction:
        """Spend all or part of a hold (the rest is released); a consumption, so refundable.

        ``cost``: the provider's bill for the call, recorded as in :meth:`consume`.

        Raises:
            UnknownHold: No such hold.
            HoldNotActive: Already captured/released, or past ``expires_at``.
            InvalidAmount: More than the hold.
        """
        if credits is not None:
            checks.credits(credits)
        meta = dict(checks.metadata(metadata))
        _with_cost(meta, cost)
        key = checks.key(key)
        user_id = self._stored_hold(hold_id).user_id

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Transaction:
            hold = self._locked_hold(uow, hold_id, now)
            take = credits if credits is not None else hold.credits
            if take > hold.credits:
                raise InvalidAmount(
                    f"credits {take} exceed the {hold.credits} held by {hold_id!r}",
                    field="credits",
                    value=take,
                    held=hold.credits,
                )
            snap = uow.snapshot
            posting = self._posting(snap)
            lots = rules.draw(snap, take, now, self._spend, posting, exclude_hold=hold_id)
            done = replace(hold, status="captured", captured=take, resolved_at=now)
            return self._commit(
                uow, now, "capture", take, posting, key=key, fingerprint=fp, lots=lots,
                holds=[done], ref=hold_id, metadata=meta,
            )  # fmt: skip

        request: tuple[object, ...] = ("capture", hold_id, credits)
        if "api_cost" in meta:
            request += (meta["api_cost"], meta["currency"])
        return self._write(user_id, key, request, act, self._same)

    def release(self, hold_id: str, *, key: str | None = None) -> Transaction:
        """Give a hold's credits back to ``available`` without spending them.

        Raises:
            UnknownHold: No such hold.
            HoldNotActive: Already captured/released, or past ``expires_at``.
        """
        key = checks.key(key)
        user_id = self._stored_hold(hold_id).user_id

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Transaction:
            hold = self._locked_hold(uow, hold_id, now)
            done = replace(hold, status="released", resolved_at=now)
            return self._commit(
                uow, now, "release", hold.credits, self._posting(uow.snapshot), key=key,
                fingerprint=fp, holds=[done], ref=hold_id,
            )  # fmt: skip

        return self._write(user_id, key, ("release", hold_id), act, self._same)

    def hold(self, hold_id: str) -> Hold:
        """A hold as stored (use :meth:`Hold.status_at` for its state at an instant).

        Raises:
            UnknownHold: No such hold.
        """
        return self._stored_hold(hold_id)

    # --- periods ------------------------------------------------------------------------------

    def reset_month(self, user_id: str, period: str | date | datetime) -> Transaction | None:
        """Start a subscription period: expire unused allowance, issue the account's allowance.

        Idempotent per (user, period): when the account is already in ``period`` (or a later
        one) nothing changes and ``None`` is returned. Purchased lots are untouched. Periods
        are ASCII ``"YYYY-MM"`` strings, dates or aware datetimes (see ``normalize_period``).
        """
        checks.text(user_id, "user_id")
        target = normalize_period(period)

        def act(uow: UnitOfWork, now: datetime, fp: str) -> Transaction | None:
            plan = rules.reset(uow.snapshot, target, now, _new_id("lot_"))
            if plan is None:
                return None
            old = uow.snapshot.account
            return self._commit(
                uow, now, "reset", old.allowance, plan.posting, key=None, fingerprint=fp,
                lots=plan.lots, account=plan.account,
                metadata={"period": target, "expired": plan.expired, "tier": old.tier},
            )  # fmt: skip

        def never(_uow: UnitOfWork, prior: Transaction) -> Transaction | None:
            return prior  # pragma: no cover - resets take no key

        return self._write(user_id, None, ("reset", user_id, target), act, never)

    def reset_all(self, period: str | date | datetime) -> list[Transaction]:
        """:meth:`reset_month` for every account; returns the resets that did something."""
        target = normalize_period(period)
        done: list[Transaction] = []
        for user_id in self._store.user_ids():
            tx = self.reset_month(user_id, target)
            if tx is not None:
                done.append(tx)
        return done

    # --- queries ------------------------------------------------------------------------------

    def journal(
        self, *, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[Transaction]:
        """Every account's transactions recorded in ``[start, end)`` (unbounded where ``None``),
        ordered by time, then account, then journal position (each account's in journal order).

        Reads through the store's time-range scan (:meth:`LedgerStore.transactions_between`,
        indexed on the SQL stores); a store without it is read one account at a time.

        Raises:
            NaiveDatetime: A bound without a time zone.
        """
        if start is not None:
            require_aware(start, "start")
        if end is not None:
            require_aware(end, "end")
        scan = getattr(self._store, "transactions_between", None)
        if callable(scan):
            yield from scan(start, end)
            return
        rows: list[Transaction] = []
        for user_id in self._store.user_ids():
            rows.extend(
                t
                for t in self._store.transactions(user_id)
                if (start is None or t.created_at >= start) and (end is None or t.created_at < end)
            )
        rows.sort(key=lambda t: (t.created_at, t.user_id, t.seq))
        yield from rows

    def balance(self, user_id: str, at: datetime | None = None) -> Balance:
        """The seeds' view plus ``held``, ``available`` and ``debt``, now or at instant ``at``
        (rebuilt from the journal).

        Raises:
            UnknownAccount: No such account.
        """
        checks.text(user_id, "user_id")
        if at is None:
            return balance_of(self._store.snapshot(user_id), self.now())
        require_aware(at, "at")
        view = self._store.audit_view(user_id)
        lots = {lot.id: lot for lot in view.lots}
        kinds = {i: lot.kind for i, lot in lots.items()}
        state = replay(view.transactions, kinds, at)
        return replace(balance_of_replay(state, lots, at), user_id=user_id)

    def account(self, user_id: str) -> AccountView:
        """The account record, its balance, its open lots and open holds."""
        checks.text(user_id, "user_id")
        snap = self._store.snapshot(user_id)
        return AccountView(snap.account, balance_of(snap, self.now()), snap.lots, snap.holds)

    def history(
        self,
        user_id: str,
        *,
        limit: int = 50,
        before: int | None = None,
        cursor: str | None = None,
    ) -> HistoryPage:
        """The journal newest first, ``limit`` at a time.

        Page on with ``cursor=page.next_cursor`` (opaque, for clients) or
        ``before=page.next_before`` (the journal position); iterate the page for its
        transactions.

        Raises:
            UnknownAccount: No such account.
            InvalidInput: A bad ``limit``, ``before`` or ``cursor``, or both of the last two.
        """
        checks.text(user_id, "user_id")
        if cursor is not None:
            if before is not None:
                raise InvalidInput("give before or cursor, not both", field="cursor")
            before = decode_cursor(cursor)
        if type(limit) is not int or limit <= 0:
            raise InvalidInput(
                f"limit must be a positive int, got {limit!r}", field="limit", value=limit
            )
        if before is not None and (type(before) is not int or before <= 0):
            raise InvalidInput(
                f"before must be a positive int, got {before!r}", field="before", value=before
            )
        self._store.snapshot(user_id)
        # Past 2**62 both bounds mean "all": clamp so SQL stores (64-bit integers) can take them.
        rows = self._store.transactions(
            user_id,
            before_seq=None if before is None else min(before, checks.SEQ_CAP),
            limit=min(limit, checks.SEQ_CAP) + 1,
            newest_first=True,
        )
        page = tuple(rows[:limit])
        more = len(rows) > limit
        return HistoryPage(page, page[-1].seq if more and page else None)

    def verify(self, user_id: str) -> VerifyReport:
        """Replay the account's journal and compare it with the stored state, all read in one
        consistent read (see :mod:`creditcore._ledger.audit` for the checks).

        Raises:
            UnknownAccount: No such account.
        """
        checks.text(user_id, "user_id")
        return audit.verify(self._store.audit_view(user_id), self.now())
