"""Fixtures of the store contract suite: ``factory`` and ``store`` run once per store factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from creditcore.ledger import LedgerStore
from tests.stores.factories import STORE_FACTORIES, StoreFactory, require


@pytest.fixture(params=STORE_FACTORIES, ids=lambda f: f.name)
def factory(request: pytest.FixtureRequest) -> StoreFactory:
    """Each store factory of :data:`STORE_FACTORIES` in turn (skipped when unavailable)."""
    chosen: StoreFactory = request.param
    require(chosen)
    return chosen


@pytest.fixture
def store(factory: StoreFactory, tmp_path: Path) -> Iterator[LedgerStore]:
    """A fresh, empty store of each kind."""
    with factory.open(tmp_path) as opened:
        yield opened
