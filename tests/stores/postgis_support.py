"""PostGIS test support: a gig store on a fresh schema per test, workers of the multi-process tests.

The PostGIS extension is database-wide: stores create it (under an advisory lock) in ``public``
and tests never drop it, so parallel runs by several people on the database ``test`` share it;
every store lives in its own schema (``cc_t_<run>_<n>``), dropped when its test ends. Tests
skip only when no server answers, and fail under ``CI=true`` (see postgres_support).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest

from creditcore.geo import GigIndex
from creditcore.stores.postgis import PostGISGigStore
from tests.stores.postgres_support import drop_schema, new_schema_name

__all__ = ["fingerprint", "postgis_store_fixture", "writer_worker"]


@pytest.fixture(name="postgis_store")
def postgis_store_fixture(pg_dsn: str) -> Iterator[PostGISGigStore]:
    """An empty PostGIS gig store on this test's own schema, dropped when the test ends."""
    schema = new_schema_name()
    store = PostGISGigStore(pg_dsn, schema=schema)
    try:
        yield store
    finally:
        store.close()
        drop_schema(pg_dsn, schema)


def fingerprint(gigs: object) -> list[tuple[object, float, float, dict[str, object]]]:
    """Gigs as comparable tuples, in the order given."""
    return [(g.id, g.lng, g.lat, dict(g.properties)) for g in gigs]  # type: ignore[attr-defined]


def writer_worker(
    dsn: str,
    schema: str,
    worker: int,
    rounds: int,
    barrier: Barrier,
    out: Queue[tuple[int, int, list[tuple[object, float, float, dict[str, object]]]]],
) -> None:
    """A service instance: writes through the store, reads from its own synced index.

    Each round inserts a few gigs of its own, moves one and removes one, then syncs its index
    and checks that the index holds its own writes (read-your-writes after a sync). At the end,
    after every worker is done (barrier), it syncs once more and reports its index's content,
    which the parent compares with the store and the other worker's.
    """
    rng = random.Random(worker)
    store = PostGISGigStore(dsn, schema=schema)
    try:
        index = GigIndex.from_store(store)
        barrier.wait(timeout=120)
        mine: list[str] = []
        for n in range(rounds):
            batch = [
                (f"w{worker}-{n}-{k}", rng.uniform(-180, 180), rng.uniform(-90, 90), {"n": n})
                for k in range(5)
            ]
            store.insert_many(batch)
            mine += [ident for ident, *_ in batch]
            store.update(rng.choice(mine), lng=rng.uniform(-180, 180))
            store.remove(mine.pop(rng.randrange(len(mine))))
            index.sync()
            for ident in mine:
                assert ident in index, f"worker {worker} does not see its own gig {ident}"
        barrier.wait(timeout=120)
        index.sync()
        out.put((worker, index.synced_seq, fingerprint(index)))
    finally:
        store.close()
