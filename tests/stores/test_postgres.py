"""PostgresStore beyond the shared contract: schema names, migrations, what the database itself
refuses, locking, pools, text the server cannot hold, and the skip/fail rule of the test setup."""

from __future__ import annotations

import re
import signal
import threading
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors, sql
from psycopg_pool import ConnectionPool

from creditcore import DuplicateId, InvalidInput, SchemaVersionError, StoreError, UnknownAccount
from creditcore.ledger import Entry, Ledger, Snapshot, Transaction
from creditcore.pricing import Money
from creditcore.stores.postgres import PostgresStore
from creditcore.stores.postgres.migrations import (
    Migration,
    advisory_key,
    current_version,
    migrate,
    validate_schema_name,
)
from creditcore.stores.postgres.rows import decode, encode, int_array, text_array
from creditcore.stores.postgres.schema import SCHEMA_VERSION
from tests.stores import postgres_support
from tests.stores.postgres_support import (
    new_schema_name,
    pg_dsn_fixture,  # noqa: F401  (fixture)
    pg_schema_fixture,  # noqa: F401  (fixture)
    pg_store_fixture,  # noqa: F401  (fixture)
    require_server,
)

pytestmark = pytest.mark.postgres


def _sql(dsn: str, schema: str, text: str, params: tuple[object, ...] = ()) -> list[Any]:
    """Run one statement with ``{s}`` = the schema, in its own autocommit transaction."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(sql.SQL(text).format(s=sql.Identifier(schema)), params)
        return cur.fetchall() if cur.description else []


# --- schema names --------------------------------------------------------------------------------


def _plain_identifier(name: str) -> bool:
    """Oracle, written apart from the code: lower-case letters, digits, '_', not a digit first."""
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789_")
    return (
        0 < len(name) <= 63
        and all(ch in allowed for ch in name)
        and not name[0].isdigit()
        and not name.startswith("pg_")
    )


@given(st.text(max_size=70) | st.from_regex(r"[a-z_][a-z0-9_]{0,70}", fullmatch=True))
def test_schema_names_are_plain_identifiers_or_refused(name: str) -> None:
    if _plain_identifier(name):
        assert validate_schema_name(name) == name
    else:
        with pytest.raises(InvalidInput) as caught:
            validate_schema_name(name)
        assert caught.value.context["field"] == "schema"


@pytest.mark.parametrize(
    "bad", ['x"; DROP SCHEMA public; --', "Ledger", "", "a" * 64, "pg_ledger", "1abc", None, 7]
)
def test_a_bad_schema_name_is_refused_before_any_connection(bad: object) -> None:
    # a DSN that could not connect proves nothing was attempted
    with pytest.raises(InvalidInput):
        PostgresStore("host=127.0.0.1 port=1 connect_timeout=1", schema=bad)  # type: ignore[arg-type]


def test_dsn_or_pool_must_be_one_of_the_two() -> None:
    with pytest.raises(InvalidInput, match="dsn_or_pool"):
        PostgresStore(b"host=x", schema="fine")  # type: ignore[arg-type]


def test_an_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        PostgresStore("host=127.0.0.1 port=1 connect_timeout=1", schema="fine")


# --- migrations ------------------------------------------------------------------------------------


def test_opening_creates_and_versions_the_schema_once(pg_dsn: str, pg_schema: str) -> None:
    PostgresStore(pg_dsn, schema=pg_schema).close()
    PostgresStore(pg_dsn, schema=pg_schema).close()
    rows = _sql(pg_dsn, pg_schema, "SELECT version, description FROM {s}.schema_migrations")
    assert [row[0] for row in rows] == list(range(1, SCHEMA_VERSION + 1))
    tables = _sql(
        pg_dsn,
        pg_schema,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
        (pg_schema,),
    )
    assert {row[0] for row in tables} >= {"accounts", "lots", "holds", "transactions"}


def test_a_schema_from_a_newer_creditcore_is_refused_untouched(pg_dsn: str, pg_schema: str) -> None:
    PostgresStore(pg_dsn, schema=pg_schema).close()
    _sql(pg_dsn, pg_schema, "INSERT INTO {s}.schema_migrations VALUES (99, 'future', now())")
    with pytest.raises(SchemaVersionError) as caught:
        PostgresStore(pg_dsn, schema=pg_schema)
    assert caught.value.context["version"] == 99
    count = _sql(pg_dsn, pg_schema, "SELECT count(*) FROM {s}.schema_migrations")
    assert count == [(SCHEMA_VERSION + 1,)]


def test_a_failing_migration_leaves_nothing_behind(pg_dsn: str, pg_schema: str) -> None:
    steps = [
        Migration(1, "a table", ("CREATE TABLE {schema}.t (x int)",)),
        Migration(2, "broken", ("SELECT * FROM {schema}.nowhere",)),
    ]
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        with pytest.raises(StoreError) as caught:
            migrate(conn, pg_schema, steps)
        assert caught.value.context["version"] == 2
        assert current_version(conn, pg_schema) == 0
        found = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (pg_schema,)
        ).fetchone()
        assert found == (0,)
        assert migrate(conn, pg_schema, steps[:1]) == (0, 1)  # the good part alone applies
        assert migrate(conn, pg_schema, steps[:1]) == (1, 1)  # and only once


def test_migrations_must_be_numbered_without_gaps(pg_dsn: str, pg_schema: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn, pytest.raises(ValueError, match="2"):
        migrate(conn, pg_schema, [Migration(1, "a", ()), Migration(3, "c", ())])


def test_concurrent_openers_of_a_new_schema_do_not_race(pg_dsn: str, pg_schema: str) -> None:
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def opener() -> None:
        try:
            barrier.wait(timeout=30)
            PostgresStore(pg_dsn, schema=pg_schema).close()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=opener) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rows = _sql(pg_dsn, pg_schema, "SELECT version FROM {s}.schema_migrations")
    assert sorted(row[0] for row in rows) == list(range(1, SCHEMA_VERSION + 1))


def test_advisory_keys_are_stable_and_distinct_per_schema() -> None:
    assert advisory_key("creditcore") == advisory_key("creditcore")
    assert advisory_key("creditcore") != advisory_key("creditcore2")
    assert -(2**63) <= advisory_key("x") < 2**63


# --- the database refuses what the ledger must never write ----------------------------------------


@pytest.fixture
def booked(pg_dsn: str, pg_schema: str) -> dict[str, str]:
    """An account with a purchase and a keyed consumption; returns their ids."""
    store = PostgresStore(pg_dsn, schema=pg_schema)
    ledger = Ledger(store)
    ledger.open_account("alice", monthly_allowance=10)
    ledger.open_account("bob", monthly_allowance=0)
    purchase = ledger.purchase("alice", 50, payment_id="pay-1")
    spent = ledger.consume("alice", 20, key="k-1")
    hold = ledger.reserve("alice", 5)
    store.close()
    lot = purchase.entries[0].lot_id
    assert lot is not None
    return {"purchase": purchase.id, "consume": spent.id, "lot": lot, "hold": hold.id}


_INSERT_TX = (
    "INSERT INTO {s}.transactions (id, user_id, seq, kind, credits, created_at, idem_key, "
    "fingerprint, payment_id, entry_accounts, entry_deltas, entry_balances, metadata) "
    "VALUES (%s, %s, %s, 'consume', 1, now(), %s, '', %s, %s, %s, %s, '{{}}')"
)


@pytest.mark.parametrize(
    ("statement", "params", "refusal"),
    [
        ("UPDATE {s}.lots SET remaining = -1 WHERE id = %s", ("lot",), errors.CheckViolation),
        (
            "UPDATE {s}.lots SET remaining = credits + 1 WHERE id = %s",
            ("lot",),
            errors.CheckViolation,
        ),
        (
            "UPDATE {s}.holds SET captured = credits + 1 WHERE id = %s",
            ("hold",),
            errors.CheckViolation,
        ),
        (
            "UPDATE {s}.transactions SET credits = 999 WHERE id = %s",
            ("consume",),
            errors.RestrictViolation,
        ),
        ("DELETE FROM {s}.transactions WHERE id = %s", ("consume",), errors.RestrictViolation),
    ],
    ids=["negative-lot", "lot-above-its-credits", "over-capture", "edit-journal", "delete-journal"],
)
def test_the_database_refuses_bad_writes_to_existing_rows(
    pg_dsn: str,
    pg_schema: str,
    booked: dict[str, str],
    statement: str,
    params: tuple[str, ...],
    refusal: type[Exception],
) -> None:
    before = _sql(pg_dsn, pg_schema, "SELECT * FROM {s}.lots ORDER BY id")
    with pytest.raises(refusal):
        _sql(pg_dsn, pg_schema, statement, tuple(booked[p] for p in params))
    assert _sql(pg_dsn, pg_schema, "SELECT * FROM {s}.lots ORDER BY id") == before


def test_the_journal_cannot_be_truncated(
    pg_dsn: str, pg_schema: str, booked: dict[str, str]
) -> None:
    with pytest.raises(errors.RestrictViolation):
        _sql(pg_dsn, pg_schema, "TRUNCATE {s}.transactions CASCADE")
    assert _sql(pg_dsn, pg_schema, "SELECT count(*) FROM {s}.transactions")[0][0] == 5


@pytest.mark.parametrize(
    ("row", "refusal"),
    [
        # (id, user, seq, key, payment, accounts, deltas, balances)
        (("t1", "alice", 99, "k-1", None, [], [], []), errors.UniqueViolation),  # same key
        (
            ("t2", "bob", 2, None, "pay-1", [], [], []),
            errors.UniqueViolation,
        ),  # payment, other user
        (("t3", "alice", 2, None, None, [], [], []), errors.UniqueViolation),  # seq taken
        (
            ("t4", "alice", 99, None, None, ["lot:x", "consumed"], [-3, 2], [0, 2]),
            errors.CheckViolation,
        ),
        (("t5", "alice", 99, None, None, ["consumed"], [0, 0], [0]), errors.CheckViolation),
    ],
    ids=["duplicate-key", "duplicate-payment", "duplicate-seq", "unbalanced", "ragged-entries"],
)
def test_the_database_refuses_bad_journal_rows(
    pg_dsn: str,
    pg_schema: str,
    booked: dict[str, str],
    row: tuple[object, ...],
    refusal: type[Exception],
) -> None:
    with pytest.raises(refusal):
        _sql(pg_dsn, pg_schema, _INSERT_TX, row)
    assert _sql(pg_dsn, pg_schema, "SELECT count(*) FROM {s}.transactions")[0][0] == 5


def test_a_balanced_journal_row_is_accepted(
    pg_dsn: str, pg_schema: str, booked: dict[str, str]
) -> None:
    # the control of the test above: the same statement with a row that breaks no rule
    _sql(pg_dsn, pg_schema, _INSERT_TX, ("t6", "bob", 2, None, None, ["a", "b"], [-3, 3], [-3, 3]))
    assert _sql(pg_dsn, pg_schema, "SELECT count(*) FROM {s}.transactions")[0][0] == 6


# --- the store's own behaviour --------------------------------------------------------------------


def test_two_appends_with_one_key_in_one_unit_of_work(pg_store: PostgresStore) -> None:
    ledger = Ledger(pg_store)
    ledger.open_account("alice", monthly_allowance=10)
    snap = pg_store.snapshot("alice")
    first, second = (
        Transaction(f"t{seq}", "alice", seq, "tier", 0, snap.account.created_at, (), key="same")
        for seq in (2, 3)
    )

    def stage_both() -> None:
        with pg_store.unit_of_work("alice") as uow:
            uow.append(first, account=replace(snap.account, seq=2))
            uow.append(second, account=replace(snap.account, seq=3))

    with pytest.raises(DuplicateId):
        stage_both()
    assert pg_store.snapshot("alice").account.seq == 1


def test_closed_store_refuses_work(pg_dsn: str, pg_schema: str) -> None:
    store = PostgresStore(pg_dsn, schema=pg_schema)
    store.close()
    with pytest.raises(StoreError):
        store.user_ids()


def test_text_postgres_cannot_hold_round_trips(pg_store: PostgresStore) -> None:
    ledger = Ledger(pg_store)
    user = "u\x00\\0 \\ é"
    ledger.open_account(user, monthly_allowance=30)
    spent = ledger.consume(user, 4, key="k\x00\\", metadata={"note\x00": "a\x00b"})
    other = ledger.consume(user, 3, key="k\\0\\")  # would collide with the key above if mangled
    assert other.id != spent.id
    assert ledger.consume(user, 4, key="k\x00\\", metadata={"note\x00": "a\x00b"}) == spent
    assert pg_store.transaction(spent.id) == spent
    assert list(pg_store.user_ids()) == [user]
    assert ledger.verify(user).ok


@given(st.text())
def test_text_encoding_is_invertible(text: str) -> None:
    stored = encode(text)
    assert "\x00" not in stored
    assert decode(stored) == text
    if "\\" not in text and "\x00" not in text:
        assert stored == text


@given(st.text(max_size=6), st.text(max_size=6))
def test_text_encoding_keeps_distinct_strings_distinct(a: str, b: str) -> None:
    assert (encode(a) == encode(b)) == (a == b)


def test_money_and_instants_round_trip(pg_store: PostgresStore) -> None:
    ledger = Ledger(pg_store)
    ledger.open_account("alice", monthly_allowance=0)
    tx = ledger.purchase("alice", 5, payment_id="p", amount=Money(Decimal("2.50"), "EUR"))
    lot = pg_store.lots("alice")[-1]
    assert (lot.amount, lot.currency) == (Decimal("2.50"), "EUR")
    assert str(lot.amount) == "2.50"  # the scale is kept
    assert pg_store.transaction(tx.id) == tx


# --- locking ---------------------------------------------------------------------------------------


def _waiting_on_a_lock(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        ).fetchone()
        return int(row[0]) if row else 0


def _bump(snapshot: Snapshot, credits: int) -> tuple[Transaction, Any, Any]:
    """A consumption of ``credits`` from the first lot, built by hand (seq + 1)."""
    account = snapshot.account
    lot = snapshot.lots[0]
    seq = account.seq + 1
    consumed = account.totals.get("consumed", 0) + credits
    tx = Transaction(
        f"manual-{seq}", account.user_id, seq, "consume", credits, account.created_at,
        (Entry(f"lot:{lot.id}", -credits, lot.remaining - credits), Entry("consumed", credits, consumed)),
    )  # fmt: skip
    new_account = replace(account, seq=seq, totals={**account.totals, "consumed": consumed})
    return tx, new_account, replace(lot, remaining=lot.remaining - credits)


def test_a_waiting_writer_reads_what_the_lock_holder_committed(
    pg_dsn: str, pg_store: PostgresStore
) -> None:
    """READ COMMITTED pitfall: the reads after the lock must see the previous holder's commit."""
    ledger = Ledger(pg_store)
    ledger.open_account("alice", monthly_allowance=50)
    ledger.open_account("bob", monthly_allowance=50)
    holding = threading.Event()
    seen: dict[str, Snapshot] = {}
    order: list[str] = []

    def first() -> None:
        with pg_store.unit_of_work("alice") as uow:
            tx, account, lot = _bump(uow.snapshot, 7)
            uow.append(tx, account=account, lots=[lot])
            holding.set()
            deadline = time.monotonic() + 20
            while _waiting_on_a_lock(pg_dsn) == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            order.append("first commits")

    def second() -> None:
        with pg_store.unit_of_work("alice") as uow:
            order.append("second locked")
            seen["alice"] = uow.snapshot

    a = threading.Thread(target=first)
    a.start()
    assert holding.wait(20)
    with pg_store.unit_of_work("bob") as uow:  # another account does not wait
        seen["bob"] = uow.snapshot
    b = threading.Thread(target=second)
    b.start()
    a.join()
    b.join()
    assert order == ["first commits", "second locked"]
    assert seen["alice"].account.seq == 2
    assert seen["alice"].lots[0].remaining == 50 - 7
    assert seen["bob"].account.seq == 1


# --- pools -----------------------------------------------------------------------------------------


def test_a_pool_works_and_stays_the_callers(pg_dsn: str, pg_schema: str) -> None:
    with ConnectionPool(pg_dsn, min_size=1, max_size=3, open=True) as pool:
        store = PostgresStore(pool, schema=pg_schema)
        ledger = Ledger(store)
        ledger.open_account("alice", monthly_allowance=10)
        spent = ledger.consume("alice", 4)
        with pytest.raises(UnknownAccount):
            ledger.consume("nobody", 1)
        assert ledger.balance("alice").current == 6
        store.close()
        with pool.connection() as conn:  # connections go back as the pool lent them
            assert conn.autocommit is False
            row = conn.execute(
                sql.SQL("SELECT kind FROM {}.transactions WHERE id = %s").format(
                    sql.Identifier(pg_schema)
                ),
                (spent.id,),
            ).fetchone()
            assert row == ("consume",)


# --- the test setup's own rule: skip only without a server, never under CI ------------------------


def test_an_unreachable_server_skips_here_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREDITCORE_TEST_PG_DSN", "host=127.0.0.1 port=1 connect_timeout=1")
    monkeypatch.setattr(postgres_support, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        require_server()
    reason = postgres_support.factory_unavailable()  # the contract suite's entry: a skip reason
    assert reason is not None
    assert "not reachable" in reason
    monkeypatch.setattr(postgres_support, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_server()
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        postgres_support.factory_unavailable()


def test_schema_names_of_a_run_are_unique_and_valid() -> None:
    names = {new_schema_name() for _ in range(50)}
    assert len(names) == 50
    assert all(re.fullmatch(r"cc_t_[0-9a-f]{6}_\d+_\d+", name) for name in names)
    assert all(validate_schema_name(name) == name for name in names)


@given(
    items=st.lists(st.text().map(encode), max_size=5),
    numbers=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=5),
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_array_literals_read_back_as_the_lists(
    pg_dsn: str, items: list[str], numbers: list[int]
) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT %s::text[], %s::bigint[]", (text_array(items), int_array(numbers))
        ).fetchone()
    assert row == (items, numbers)


def test_a_unit_of_work_inside_another_on_one_thread_is_refused(pg_store: PostgresStore) -> None:
    ledger = Ledger(pg_store)
    ledger.open_account("alice", monthly_allowance=10)
    ledger.open_account("bob", monthly_allowance=10)
    with pg_store.unit_of_work("alice") as outer:
        tx, account, lot = _bump(outer.snapshot, 3)
        outer.append(tx, account=account, lots=[lot])
        with pytest.raises(StoreError, match="already open"), pg_store.unit_of_work("bob"):
            pass
    assert pg_store.snapshot("alice").lots[0].remaining == 7  # the outer one still committed
    assert pg_store.snapshot("bob").account.seq == 1


def _kill_other_backends(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = 'cc-victim'"
        ).fetchone()
        return int(row[0]) if row else 0


def test_a_dropped_connection_is_reopened(pg_dsn: str, pg_schema: str) -> None:
    store = PostgresStore(f"{pg_dsn} application_name=cc-victim", schema=pg_schema)
    ledger = Ledger(store)
    ledger.open_account("alice", monthly_allowance=10)
    assert _kill_other_backends(pg_dsn) == 1
    assert list(store.user_ids()) == ["alice"]  # a read reconnects
    assert _kill_other_backends(pg_dsn) == 1
    ledger.consume("alice", 4)  # so does a unit of work, before anything of it ran
    assert ledger.balance("alice").current == 6
    store.close()


def test_a_connection_lost_before_commit_is_a_store_error_and_nothing_lands(
    pg_dsn: str, pg_schema: str
) -> None:
    store = PostgresStore(f"{pg_dsn} application_name=cc-victim", schema=pg_schema)
    ledger = Ledger(store)
    ledger.open_account("alice", monthly_allowance=10)

    def lose_the_connection_inside() -> None:
        with store.unit_of_work("alice") as uow:
            tx, account, lot = _bump(uow.snapshot, 3)
            uow.append(tx, account=account, lots=[lot])
            assert _kill_other_backends(pg_dsn) == 1

    with pytest.raises(StoreError, match="outcome") as caught:
        lose_the_connection_inside()
    assert isinstance(caught.value.__cause__, psycopg.Error)
    assert store.snapshot("alice").account.seq == 1  # the server rolled it back
    assert ledger.verify("alice").ok
    store.close()


def test_snapshots_read_during_writes_are_consistent(pg_store: PostgresStore) -> None:
    """Each snapshot is one committed state: its lots and totals balance (double entry) and its
    lots match its journal position, however the writer's commits interleave with the reads."""
    ledger = Ledger(pg_store)
    ledger.open_account("alice", monthly_allowance=100)
    ledger.purchase("alice", 10_000, payment_id="p")
    done = threading.Event()

    def writer() -> None:
        try:
            for n in range(300):
                ledger.consume("alice", 1 + n % 5)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen = 0
    while not done.is_set():
        snap = pg_store.snapshot("alice")
        held_in_lots = sum(lot.remaining for lot in snap.lots)
        assert held_in_lots + sum(snap.account.totals.values()) == 0
        assert held_in_lots == 10_100 - snap.account.totals.get("consumed", 0)
        seen += 1
    thread.join()
    assert seen > 1


# --- issue 8: whatever is raised, no lost write and no lock left --------------------------------


def _sessions_idle_in_transaction(dsn: str, application: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND state LIKE 'idle in transaction%%'",
            (application,),
        ).fetchone()
        return int(row[0]) if row else 0


def test_an_ordinary_exception_in_a_unit_of_work_loses_no_later_write(
    pg_dsn: str, pg_schema: str
) -> None:
    """Issue 8, class 1: after any exception, the next write on the thread is committed."""
    app = f"cc-lost-{pg_schema}"[:60]
    store = PostgresStore(f"{pg_dsn} application_name={app}", schema=pg_schema)
    ledger = Ledger(store)
    ledger.open_account("ada", monthly_allowance=10)

    def a_bug_in_the_block() -> None:
        with store.unit_of_work("ada") as uow:
            uow.by_key("k")  # a statement ran: the transaction is open
            raise LookupError("a bug in the caller's block, not a driver error")

    with pytest.raises(LookupError):
        a_bug_in_the_block()
    assert _sessions_idle_in_transaction(pg_dsn, app) == 0
    ledger.open_account("bob", monthly_allowance=1)
    with PostgresStore(pg_dsn, schema=pg_schema) as other:  # another connection sees bob
        assert list(other.user_ids()) == ["ada", "bob"]
    store.close()
    with PostgresStore(pg_dsn, schema=pg_schema) as again:  # and bob outlives the store
        assert list(again.user_ids()) == ["ada", "bob"]
        assert Ledger(again).consume("bob", 1).credits == 1


def test_a_timeout_raised_while_waiting_for_the_lock_leaves_no_lock(
    pg_dsn: str, pg_schema: str
) -> None:
    """Issue 8, class 2: a SIGALRM handler raises TimeoutError while consume waits for the
    account's row lock; the session must not stay idle in transaction holding it."""
    app = f"cc-alarm-{pg_schema}"[:60]
    store = PostgresStore(f"{pg_dsn} application_name={app}", schema=pg_schema)
    ledger = Ledger(store)
    ledger.open_account("ada", monthly_allowance=10)
    holder = psycopg.connect(pg_dsn)
    holder.execute(
        sql.SQL("SELECT 1 FROM {}.accounts WHERE user_id = 'ada' FOR UPDATE").format(
            sql.Identifier(pg_schema)
        )
    )

    def timeout(_signum: int, _frame: object) -> None:
        raise TimeoutError("request timeout")

    previous = signal.signal(signal.SIGALRM, timeout)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(TimeoutError):
            ledger.consume("ada", 1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        holder.rollback()
        holder.close()
    with PostgresStore(
        f"{pg_dsn} options='-c lock_timeout=1000'", schema=pg_schema
    ) as other:  # another writer gets the lock within a second
        assert Ledger(other).consume("ada", 2).credits == 2
    assert _sessions_idle_in_transaction(pg_dsn, app) == 0
    assert ledger.consume("ada", 1).credits == 1  # the next call on this thread works
    assert ledger.balance("ada").current == 7
    assert ledger.verify("ada").ok
    store.close()


def test_verify_reports_no_problem_while_writers_run(pg_dsn: str, pg_schema: str) -> None:
    """Issue 8, class 6: verify reads one consistent snapshot."""
    store = PostgresStore(pg_dsn, schema=pg_schema)
    ledger = Ledger(store)
    ledger.open_account("hot", monthly_allowance=10**6)
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            tx = ledger.consume("hot", 2)
            if n % 3 == 0:
                ledger.refund(tx.id, 1)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for thread in writers:
        thread.start()
    try:
        reports = [ledger.verify("hot") for _ in range(40)]
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    assert [r.problems for r in reports if not r.ok] == []
    assert reports[-1].transactions > reports[0].transactions  # the writers did run meanwhile
    store.close()
