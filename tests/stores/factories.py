"""The one list of store factories the contract suite and the state machine run on.

To run the whole contract suite (and the ledger state machine) on a new store, append one
:class:`StoreFactory` to :data:`STORE_FACTORIES`. ``open`` receives a fresh temporary folder and
returns a context manager yielding an empty store; leaving the context must release (and, for a
server, drop) everything it created. ``reopen`` (optional) opens a second handle on the same
data, for persistence checks. ``unavailable`` returns a reason to skip (e.g. no server), or
``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from creditcore.ledger import InMemoryStore, LedgerStore
from creditcore.stores.sqlite import SQLiteStore

__all__ = ["STORE_FACTORIES", "StoreFactory", "factory_params", "require"]


@dataclass(frozen=True)
class StoreFactory:
    """How to get a fresh, empty store of one kind.

    Attributes:
        name: Test id (``memory``, ``sqlite``, ...).
        open: ``open(tmp_dir)`` -> context manager yielding an empty store.
        reopen: ``reopen(tmp_dir)`` -> context manager yielding another handle on the same data
            as the last ``open(tmp_dir)`` (``None`` for stores that do not persist).
        unavailable: Returns why the store cannot run here (skip), or ``None``.
    """

    name: str
    open: Callable[[Path], AbstractContextManager[LedgerStore]]
    reopen: Callable[[Path], AbstractContextManager[LedgerStore]] | None = None
    unavailable: Callable[[], str | None] = lambda: None


@contextmanager
def _memory(_tmp: Path) -> Iterator[LedgerStore]:
    store = InMemoryStore()
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _sqlite(tmp: Path) -> Iterator[LedgerStore]:
    store = SQLiteStore(tmp / "ledger.sqlite3")
    try:
        yield store
    finally:
        store.close()


# PostgreSQL support imports psycopg: loaded only when a PostgreSQL store is wanted, so that
# ``pytest tests/ledger`` collects without the postgres extra installed.


def _pg_open(tmp: Path) -> AbstractContextManager[LedgerStore]:
    from tests.stores.postgres_support import factory_open

    return factory_open(tmp)


def _pg_reopen(tmp: Path) -> AbstractContextManager[LedgerStore]:
    from tests.stores.postgres_support import factory_reopen

    return factory_reopen(tmp)


def _pg_unavailable() -> str | None:
    try:
        from tests.stores.postgres_support import factory_unavailable
    except ImportError as missing:  # the postgres extra is not installed
        from tests.conftest import IN_CI

        if IN_CI:
            pytest.fail(f"psycopg is missing ({missing}); CI=true: PostgreSQL tests may not skip")
        return f"psycopg is not installed: {missing}"
    return factory_unavailable()


STORE_FACTORIES: list[StoreFactory] = [
    StoreFactory("memory", _memory),
    StoreFactory("sqlite", _sqlite, reopen=_sqlite),
    StoreFactory("postgres", _pg_open, reopen=_pg_reopen, unavailable=_pg_unavailable),
]


def factory_params() -> list[Any]:
    """``pytest.param`` per factory (id = its name), for ``@pytest.mark.parametrize``."""
    return [pytest.param(f, id=f.name) for f in STORE_FACTORIES]


def require(factory: StoreFactory) -> None:
    """Skip the calling test when ``factory`` cannot run here."""
    reason = factory.unavailable()
    if reason is not None:
        pytest.skip(reason)
