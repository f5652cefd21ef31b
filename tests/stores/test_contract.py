"""The store contract: every store of STORE_FACTORIES must pass this file unchanged.

The tests drive the port directly with hand-built records (what a store must keep and return),
then through the Ledger (what the core relies on).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditcore import CreditLimitExceeded, DuplicateId, InvalidAmount, UnknownAccount
from creditcore.ledger import (
    MAX_CREDITS,
    Account,
    Entry,
    Hold,
    InMemoryStore,
    Ledger,
    LedgerStore,
    Lot,
    ManualClock,
    Transaction,
)
from tests.stores.factories import STORE_FACTORIES, StoreFactory, require
from tests.strategies.ledger import holds, lots, transactions

T0 = datetime(2026, 11, 3, 12, 30, 15, 123456, tzinfo=UTC)


def account(user: str, seq: int = 1, **changes: object) -> Account:
    base = Account(
        user_id=user,
        tier="PLUS",
        allowance=150,
        period="2026-11",
        subscription_lot=f"sub-{user}",
        seq=seq,
        totals={"issued": -150},
        created_at=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def sub_lot(user: str, remaining: int = 150) -> Lot:
    return Lot(
        id=f"sub-{user}",
        user_id=user,
        kind="subscription",
        credits=150,
        remaining=remaining,
        created_at=T0,
        seq=1,
        expires_at=datetime(2026, 12, 1, tzinfo=UTC),
        source="2026-11",
    )


def tx(user: str, seq: int, **changes: object) -> Transaction:
    base = Transaction(
        id=f"tx-{user}-{seq}",
        user_id=user,
        seq=seq,
        kind="open" if seq == 1 else "consume",
        credits=150 if seq == 1 else 1,
        created_at=T0 + timedelta(seconds=seq),
        entries=(Entry(f"lot:sub-{user}", 150, 150), Entry("issued", -150, -150))
        if seq == 1
        else (),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def opened(store: LedgerStore, user: str = "alice") -> None:
    store.create_account(account(user), tx(user, 1), [sub_lot(user)])


def test_implements_the_protocol(store: LedgerStore) -> None:
    assert isinstance(store, LedgerStore)


def test_create_account_round_trips(store: LedgerStore) -> None:
    opened(store)
    snap = store.snapshot("alice")
    assert snap.account == account("alice")
    assert snap.lots == (sub_lot("alice"),)
    assert snap.holds == ()
    assert store.transactions("alice") == (tx("alice", 1),)
    assert store.transaction("tx-alice-1") == tx("alice", 1)
    assert store.lots("alice") == (sub_lot("alice"),)


def test_create_account_twice_is_duplicate_and_keeps_the_first(store: LedgerStore) -> None:
    opened(store)
    with pytest.raises(DuplicateId):
        store.create_account(
            account("alice", allowance=5), tx("alice", 1, id="other"), [sub_lot("alice", 3)]
        )
    assert store.snapshot("alice").account.allowance == 150
    assert store.transaction("other") is None


def test_unknown_account(store: LedgerStore) -> None:
    with pytest.raises(UnknownAccount):
        store.snapshot("nobody")
    with pytest.raises(UnknownAccount), store.unit_of_work("nobody"):
        pass
    assert store.transactions("nobody") == ()
    assert store.lots("nobody") == ()


def test_append_commits_account_lots_holds_and_tx(store: LedgerStore) -> None:
    opened(store)
    bought = Lot("p1", "alice", "purchased", 40, 40, T0, 2, None, "pay-1", Decimal("9.99"), "USD")
    hold = Hold("h1", "alice", 5, T0, T0 + timedelta(minutes=5))
    purchase = tx("alice", 2, kind="purchase", payment_id="pay-1", credits=40)
    with store.unit_of_work("alice") as uow:
        assert uow.snapshot.account.seq == 1
        uow.append(purchase, account=account("alice", 2), lots=[bought], holds=[hold])
    snap = store.snapshot("alice")
    assert snap.account.seq == 2
    assert snap.lots == (sub_lot("alice"), bought)
    assert snap.holds == (hold,)
    assert store.purchase_by_payment("pay-1") == purchase
    assert store.hold("h1") == hold


def test_exception_rolls_everything_back(store: LedgerStore) -> None:
    opened(store)

    def failing() -> None:
        with store.unit_of_work("alice") as uow:
            uow.append(
                tx("alice", 2, key="k"),
                account=account("alice", 2, tier="PRO"),
                lots=[sub_lot("alice", 10)],
                holds=[Hold("h1", "alice", 5, T0, T0 + timedelta(minutes=5))],
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    snap = store.snapshot("alice")
    assert (snap.account, snap.lots, snap.holds) == (account("alice"), (sub_lot("alice"),), ())
    assert store.transactions("alice") == (tx("alice", 1),)
    assert store.hold("h1") is None
    with store.unit_of_work("alice") as uow:
        assert uow.by_key("k") is None


def test_unit_of_work_reads(store: LedgerStore) -> None:
    opened(store)
    opened(store, "bob")
    first = tx("alice", 2, key="k1", ref="target", payment_id="pay-a")
    with store.unit_of_work("alice") as uow:
        uow.append(first, account=account("alice", 2))
    second = tx("alice", 3, ref="target")
    with store.unit_of_work("alice") as uow:
        uow.append(second, account=account("alice", 3))
    with store.unit_of_work("alice") as uow:
        assert uow.by_key("k1") == first
        assert uow.by_key("k2") is None
        assert uow.transaction(first.id) == first
        assert uow.transaction("tx-bob-1") is None  # another account's
        assert list(uow.referencing("target")) == [first, second]
        assert uow.referencing("nothing") == ()
        assert uow.lot("sub-alice") == sub_lot("alice")
        assert uow.lot("sub-bob") is None
        assert uow.hold("none") is None
    with store.unit_of_work("bob") as uow:
        assert uow.purchase_by_payment("pay-a") == first  # any account
        assert uow.by_key("k1") is None  # keys are per account


def test_duplicate_key_in_one_account_is_refused_and_rolled_back(store: LedgerStore) -> None:
    opened(store)
    with store.unit_of_work("alice") as uow:
        uow.append(tx("alice", 2, key="k"), account=account("alice", 2))
    with pytest.raises(DuplicateId), store.unit_of_work("alice") as uow:
        uow.append(tx("alice", 3, key="k"), account=account("alice", 3), lots=[sub_lot("alice", 1)])
    assert store.snapshot("alice").account.seq == 2
    assert store.snapshot("alice").lots == (sub_lot("alice"),)


def test_same_key_in_two_accounts_is_fine(store: LedgerStore) -> None:
    opened(store)
    opened(store, "bob")
    for user in ("alice", "bob"):
        with store.unit_of_work(user) as uow:
            uow.append(tx(user, 2, key="k"), account=account(user, 2))
    assert store.transactions("bob")[-1].key == "k"


def test_payment_id_is_unique_across_accounts(store: LedgerStore) -> None:
    opened(store)
    opened(store, "bob")
    with store.unit_of_work("alice") as uow:
        uow.append(tx("alice", 2, payment_id="pay"), account=account("alice", 2))
    with pytest.raises(DuplicateId), store.unit_of_work("bob") as uow:
        uow.append(tx("bob", 2, payment_id="pay"), account=account("bob", 2))
    assert store.snapshot("bob").account.seq == 1
    assert store.purchase_by_payment("pay") == tx("alice", 2, payment_id="pay")


def test_snapshot_keeps_open_lots_and_the_current_subscription_lot(store: LedgerStore) -> None:
    opened(store)
    spent = Lot("a", "alice", "purchased", 5, 5, T0, 2)
    kept = Lot("b", "alice", "lootbox", 7, 7, T0, 3)
    with store.unit_of_work("alice") as uow:
        uow.append(tx("alice", 2), account=account("alice", 2), lots=[kept, spent])
    with store.unit_of_work("alice") as uow:
        uow.append(
            tx("alice", 3),
            account=account("alice", 3),
            lots=[replace(spent, remaining=0), sub_lot("alice", 0)],
        )
    snap = store.snapshot("alice")
    assert [lot.id for lot in snap.lots] == [*["sub-alice", "a", "b"][:1], "b"]
    assert snap.lots[0].remaining == 0  # current subscription lot stays even when empty
    assert [lot.id for lot in store.lots("alice")] == ["sub-alice", "a", "b"]
    # once another lot is the subscription lot, the empty old one leaves the snapshot
    new_sub = replace(sub_lot("alice"), id="sub2", seq=4, source="2026-12")
    with store.unit_of_work("alice") as uow:
        uow.append(
            tx("alice", 4), account=account("alice", 4, subscription_lot="sub2"), lots=[new_sub]
        )
    assert [lot.id for lot in store.snapshot("alice").lots] == ["b", "sub2"]
    # a lot refilled (a refund restoring it) comes back
    with store.unit_of_work("alice") as uow:
        uow.append(
            tx("alice", 5),
            account=account("alice", 5, subscription_lot="sub2"),
            lots=[replace(spent, remaining=2)],
        )
    assert [lot.id for lot in store.snapshot("alice").lots] == ["a", "b", "sub2"]


def test_snapshot_holds_are_the_open_ones(store: LedgerStore) -> None:
    opened(store)
    h1 = Hold("h1", "alice", 5, T0, T0 + timedelta(minutes=5))
    h2 = Hold("h2", "alice", 3, T0, T0 - timedelta(minutes=5))  # open but past its limit
    with store.unit_of_work("alice") as uow:
        uow.append(tx("alice", 2), account=account("alice", 2), holds=[h1, h2])
    assert {h.id for h in store.snapshot("alice").holds} == {"h1", "h2"}
    done = replace(h1, status="captured", captured=4, resolved_at=T0 + timedelta(minutes=1))
    gone = replace(h2, status="expired")
    with store.unit_of_work("alice") as uow:
        uow.append(tx("alice", 3), account=account("alice", 3), holds=[done, gone])
    assert store.snapshot("alice").holds == ()
    assert store.hold("h1") == done
    assert store.hold("h2") == gone


def test_transactions_paging(store: LedgerStore) -> None:
    opened(store)
    for seq in range(2, 8):
        with store.unit_of_work("alice") as uow:
            uow.append(tx("alice", seq), account=account("alice", seq))

    def seqs(rows: Sequence[Transaction]) -> list[int]:
        return [row.seq for row in rows]

    assert seqs(store.transactions("alice")) == [1, 2, 3, 4, 5, 6, 7]
    assert seqs(store.transactions("alice", after_seq=5)) == [6, 7]
    assert seqs(store.transactions("alice", before_seq=3)) == [1, 2]
    assert seqs(store.transactions("alice", after_seq=2, before_seq=6, limit=2)) == [3, 4]
    assert seqs(store.transactions("alice", newest_first=True, limit=3)) == [7, 6, 5]
    assert seqs(store.transactions("alice", newest_first=True, before_seq=3)) == [2, 1]
    assert seqs(store.transactions("alice", limit=0)) == []


def test_the_time_range_scan_crosses_accounts_half_open_in_time_order(
    store: LedgerStore,
) -> None:
    # alice's transactions at T0 + 1..7 s, bob's at T0 + 1 s and then every 2 s
    for user, step in (("alice", 1), ("bob", 2)):
        opened(store, user)
        for seq in range(2, 8):
            at = T0 + timedelta(seconds=1 + (seq - 1) * step)
            with store.unit_of_work(user) as uow:
                uow.append(tx(user, seq, created_at=at), account=account(user, seq))

    def scan(start: datetime | None, end: datetime | None) -> list[tuple[str, int]]:
        return [(t.user_id, t.seq) for t in store.transactions_between(start, end)]

    everything = scan(None, None)
    assert len(everything) == 14
    # ordered by (created_at, user_id, seq): each account's journal in order
    rows = list(store.transactions_between(None, None))
    assert [(t.created_at, t.user_id, t.seq) for t in rows] == sorted(
        (t.created_at, t.user_id, t.seq) for t in rows
    )
    # half-open: the start is in, the end is out
    assert scan(T0 + timedelta(seconds=3), T0 + timedelta(seconds=5)) == [
        ("alice", 3),
        ("bob", 2),
        ("alice", 4),
    ]
    assert scan(T0 + timedelta(seconds=13), None) == [("bob", 7)]
    assert scan(None, T0 + timedelta(seconds=1)) == []
    assert scan(T0 + timedelta(seconds=5), T0 + timedelta(seconds=5)) == []
    assert rows[0] == tx("alice", 1)  # full transactions come back


def test_user_ids_sorted(store: LedgerStore) -> None:
    for user in ("carol", "alice", "bob"):
        opened(store, user)
    assert list(store.user_ids()) == ["alice", "bob", "carol"]


@given(data=st.data())
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_values_round_trip_exactly(
    factory: StoreFactory, tmp_path: Path, data: st.DataObject
) -> None:
    """Whatever the core writes comes back equal: instants, Decimals, unicode, big ints."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    with factory.open(folder) as store:
        opened(store)
        lot = data.draw(lots("alice", 2))
        hold = data.draw(holds("alice"))
        written = data.draw(transactions("alice", 2))
        with store.unit_of_work("alice") as uow:
            uow.append(written, account=account("alice", 2), lots=[lot], holds=[hold])
        assert store.transactions("alice", after_seq=1) == (written,)
        assert store.transaction(written.id) == written
        assert store.lots("alice")[-1] == lot
        assert store.hold(hold.id) == hold
        got = store.transactions("alice")[-1]
        assert got.created_at == written.created_at
        assert got.created_at.utcoffset() is not None


def test_writers_on_one_account_are_serialised(store: LedgerStore) -> None:
    """8 threads each bump the account's seq 25 times inside units of work: none is lost."""
    opened(store)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                with store.unit_of_work("alice") as uow:
                    seq = uow.snapshot.account.seq + 1
                    uow.append(tx("alice", seq, id=f"w{n}-{i}"), account=account("alice", seq))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.snapshot("alice").account.seq == 201
    assert [row.seq for row in store.transactions("alice")] == list(range(1, 202))


PERSISTENT = [pytest.param(f, id=f.name) for f in STORE_FACTORIES if f.reopen is not None]


@pytest.mark.parametrize("persistent", PERSISTENT)
def test_persists_across_reopen(persistent: StoreFactory, tmp_path: Path) -> None:
    require(persistent)
    factory = persistent
    assert factory.reopen is not None
    clock = ManualClock(T0)
    with factory.open(tmp_path) as store:
        ledger = Ledger(store, clock)
        ledger.open_account("alice", monthly_allowance=10)
        ledger.purchase("alice", 5, payment_id="pay")
        spent = ledger.consume("alice", 7, key="k")
        before = ledger.balance("alice")
    with factory.reopen(tmp_path) as again:
        ledger = Ledger(again, clock)
        assert ledger.balance("alice") == before
        assert ledger.consume("alice", 7, key="k") == spent
        assert ledger.verify("alice").ok


def test_memory_store_is_in_the_suite_and_behaves_as_a_store() -> None:
    # behaviour, not names: a runtime_checkable isinstance only checks that the names exist
    assert "memory" in {f.name for f in STORE_FACTORIES}
    with InMemoryStore() as store:
        ledger = Ledger(store, ManualClock(T0))
        ledger.open_account("m", monthly_allowance=5)
        tx = ledger.consume("m", 2)
        assert store.transaction(tx.id) == tx
        assert [t.id for t in store.transactions("m")][-1] == tx.id
        assert store.snapshot("m").account.seq == 2
        assert store.audit_view("m").transactions[-1] == tx


def test_the_largest_amount_is_stored_exactly_and_one_more_is_refused(store: LedgerStore) -> None:
    ledger = Ledger(store, ManualClock(T0))
    ledger.open_account("whale", monthly_allowance=MAX_CREDITS - 7)
    ledger.purchase("whale", 7, payment_id="pay-max")
    before = ledger.balance("whale")
    assert before.current == 2**53 - 1  # exact, no float on the way
    with pytest.raises(InvalidAmount):
        ledger.purchase("whale", MAX_CREDITS + 1, payment_id="pay-more")
    # the balance itself is bounded too: one credit more is refused by name, nothing written
    with pytest.raises(CreditLimitExceeded) as refused:
        ledger.purchase("whale", 1, payment_id="pay-one-more")
    assert refused.value.context["balance"] == 2**53
    assert store.purchase_by_payment("pay-one-more") is None
    with pytest.raises(InvalidAmount):
        ledger.open_account("orca", monthly_allowance=2**63)
    with pytest.raises(InvalidAmount):
        ledger.consume("whale", 10**30)
    assert ledger.balance("whale") == before
    assert store.user_ids() == ["whale"]
    assert ledger.verify("whale").ok
