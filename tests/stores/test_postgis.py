"""PostGISGigStore against PostGIS itself, migrations, the missing extension, faults, processes.

The oracle of the adapter is PostGIS queried directly: a plain table of the same points, asked
with ``ST_DWithin(geography)``, ``ST_Intersects`` and ``&&`` plus exact coordinate ranges; the
in-memory GigIndex answers the same questions and must agree with both.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import secrets
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest
import shapely
from psycopg import sql

from creditcore import SchemaVersionError, StoreError
from creditcore.geo import GigIndex
from creditcore.stores.postgis import POSTGIS_SPHERE_RADIUS_M, SCHEMA_VERSION, PostGISGigStore
from tests.stores.postgis_support import (  # noqa: F401
    fingerprint,
    postgis_store_fixture,
    writer_worker,
)
from tests.stores.postgres_support import (  # noqa: F401
    drop_schema,
    new_schema_name,
    pg_dsn_fixture,
)

pytestmark = pytest.mark.postgres


def _city_points(seed: int, count: int) -> list[tuple[Any, float, float]]:
    """Gaussian blobs (cities), some across the antimeridian and near a pole, duplicates."""
    rng = np.random.default_rng(seed)
    centres = [(13.4, 52.5), (179.9, -17.0), (-73.9, 40.7), (10.0, 88.5), (151.2, -33.9)]
    out: list[tuple[Any, float, float]] = []
    for i in range(count):
        cx, cy = centres[i % len(centres)]
        x = float(cx + rng.normal(0, 0.3))
        y = float(np.clip(cy + rng.normal(0, 0.2), -90, 90))
        x = (x + 180.0) % 360.0 - 180.0
        out.append((i, x, y))
    out += [(count + k, *out[k][1:]) for k in range(0, count, 97)]  # duplicated points
    return out


@pytest.fixture(name="raw")
def raw_fixture(
    pg_dsn: str, postgis_store: PostGISGigStore
) -> Iterator[tuple[psycopg.Connection[Any], list[tuple[Any, float, float]]]]:
    """The same points in the store and in a plain PostGIS table (``raw``) of its schema."""
    points = _city_points(7, 3000)
    postgis_store.insert_many(points)
    name = sql.Identifier(postgis_store.schema)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.raw (id bigint PRIMARY KEY, lng float8, lat float8,"
                " g geography(Point, 4326))"
            ).format(name)
        )
        with conn.cursor().copy(sql.SQL("COPY {}.raw (id, lng, lat) FROM STDIN").format(name)) as c:
            for row in points:
                c.write_row(row)
        conn.execute(
            sql.SQL(
                "UPDATE {}.raw SET g = ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography"
            ).format(name)
        )
        conn.execute(sql.SQL("SET search_path TO {}, public").format(name))
        yield conn, points


def _radius_cases(points: list[tuple[Any, float, float]]) -> list[tuple[float, float, float]]:
    rng = random.Random(9)
    cases = [(0.0, 90.0, 300_000.0), (180.0, -17.0, 60_000.0), (-180.0, -17.0, 20_000.0)]
    for _ in range(25):
        _, x, y = points[rng.randrange(len(points))]
        cases.append((x, y, rng.choice([0.0, 500.0, 5_000.0, 30_000.0, 2_000_000.0])))
    cases.append((0.0, 0.0, 20_010_000.0))
    return cases


def test_near_geodesic_is_st_dwithin_geography(raw: Any, postgis_store: PostGISGigStore) -> None:
    conn, points = raw
    index = GigIndex(points)
    edge = 0
    for x, y, r in _radius_cases(points):
        rows = conn.execute(
            "SELECT id, ST_Distance(g, c) FROM raw,"
            " (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography c) q"
            " WHERE ST_DWithin(g, c, %s)",
            (x, y, r),
        ).fetchall()
        truth = {int(i): float(d) for i, d in rows}
        # Points within 1e-6 m of the edge may fall either way (PostGIS rounds to 1e-8 m).
        near_edge = {i for i, d in truth.items() if abs(d - r) <= 1e-6 and r > 0}
        edge += len(near_edge)
        for found in (
            postgis_store.near(x, y, r, method="geodesic"),
            index.near(x, y, r, method="geodesic"),
        ):
            got = {h.gig.id: h.distance_m for h in found}
            assert set(got) - near_edge == set(truth) - near_edge, (x, y, r)
            for ident, d in got.items():
                assert d == pytest.approx(truth.get(int(ident), d), rel=1e-9, abs=1e-6)
    assert edge <= 2


def test_near_haversine_uses_one_sphere_on_both_sides(
    raw: Any, postgis_store: PostGISGigStore
) -> None:
    """PostGIS's sphere is 6,371,008.7714 m; scaled to ours, its answers are the index's."""
    conn, points = raw
    index = GigIndex(points)
    ratio = 6_371_008.8 / POSTGIS_SPHERE_RADIUS_M
    assert pytest.approx(6_371_008.7714, abs=1e-4) == POSTGIS_SPHERE_RADIUS_M
    for x, y, r in _radius_cases(points):
        rows = conn.execute(
            "SELECT id, ST_Distance(g, c, false) FROM raw,"
            " (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography c) q"
            " WHERE ST_DWithin(g, c, %s, false)",
            (x, y, r / ratio),
        ).fetchall()
        truth = {int(i): float(d) * ratio for i, d in rows}
        near_edge = {i for i, d in truth.items() if abs(d - r) <= 1e-6}
        ours = {h.gig.id: h.distance_m for h in index.near(x, y, r, limit=None)}
        stored = {h.gig.id: h.distance_m for h in postgis_store.near(x, y, r)}
        assert set(ours) - near_edge == set(truth) - near_edge
        assert set(stored) - near_edge == set(truth) - near_edge
        for ident, d in ours.items():
            assert stored[ident] == pytest.approx(d, rel=1e-9, abs=1e-6)


def test_boxes_and_polygons_are_postgis_exactly(raw: Any, postgis_store: PostGISGigStore) -> None:
    conn, points = raw
    index = GigIndex(points)
    rng = random.Random(4)
    boxes = [(179.5, -18.0, -179.5, -16.0), (13.0, 52.0, 14.0, 53.0), (-180, 88, 180, 90)]
    for _ in range(20):
        _, x, y = points[rng.randrange(len(points))]
        boxes.append((x - 0.2, max(y - 0.1, -90), min(x + 0.3, 180), min(y + 0.1, 90)))
    for w, s, e, n in boxes:
        parts = [(w, s, 180.0, n), (-180.0, s, e, n)] if w > e else [(w, s, e, n)]
        truth: set[int] = set()
        for a, b, c, d in parts:
            rows = conn.execute(
                "SELECT id FROM raw WHERE g::geometry && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
                " AND lng BETWEEN %s AND %s AND lat BETWEEN %s AND %s",
                (a, b, c, d, a, c, b, d),
            ).fetchall()
            truth |= {int(r[0]) for r in rows}
        expected = sorted(truth)  # ids are insertion positions here
        assert [g.id for g in postgis_store.in_bbox(w, s, e, n)] == expected
        assert index.in_bbox_ids(w, s, e, n) == expected
    for k in range(10):
        _, x, y = points[rng.randrange(len(points))]
        ring = [
            (
                x + 0.3 * math.cos(t) * (1 + 0.5 * (j % 2)),
                y + 0.2 * math.sin(t) * (1 + 0.5 * (j % 2)),
            )
            for j, t in enumerate(np.linspace(0, 2 * math.pi, 11)[:-1])
        ]
        hole = [(x + 0.05 * math.cos(t), y + 0.05 * math.sin(t)) for t in np.linspace(0, 6, 6)]
        area = shapely.Polygon(ring, [hole] if k % 2 else None)
        assert area.is_valid
        rows = conn.execute(
            "SELECT id FROM raw WHERE ST_Intersects(ST_GeomFromWKB(%s, 4326), g::geometry)",
            (shapely.to_wkb(area),),
        ).fetchall()
        expected = sorted(int(r[0]) for r in rows)
        assert [g.id for g in postgis_store.within(area)] == expected
        assert [g.id for g in index.within(area)] == expected


def test_columns_come_back_whole_by_binary_copy(postgis_store: PostGISGigStore) -> None:
    rng = random.Random(2)
    records: list[Any] = [
        (
            i if i % 4 else f"s{i}",
            rng.uniform(-180, 180),
            rng.uniform(-90, 90),
            {"n": i, "tag": "x"} if i % 5 == 0 else None,
        )
        for i in range(3000)
    ]
    records += [(2**53 - 1, 180.0, 90.0), (-(2**53 - 1), -180.0, -90.0)]
    postgis_store.insert_many(records)
    postgis_store.remove(1)
    columns = postgis_store.columns()
    kept = [r for r in records if r[0] != 1]
    assert list(columns.ids) == [r[0] for r in kept]
    assert columns.lngs.tolist() == [r[1] for r in kept]  # bit for bit: doubles in, doubles out
    assert columns.lats.tolist() == [r[2] for r in kept]
    assert columns.properties is not None
    assert list(columns.properties) == [r[3] if len(r) > 3 else None for r in kept]
    assert columns.seq == postgis_store.last_seq == len(records) + 1
    index = GigIndex.from_store(postgis_store)
    assert fingerprint(index) == fingerprint(postgis_store.in_bbox(-180, -90, 180, 90))


def test_reopening_migrates_once_and_a_newer_schema_is_refused(pg_dsn: str) -> None:
    schema = new_schema_name()
    try:
        with PostGISGigStore(pg_dsn, schema=schema) as first:
            first.insert("a", 1.0, 2.0)
        with PostGISGigStore(pg_dsn, schema=schema) as again:
            assert again.get("a").lat == 2.0
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            versions = conn.execute(
                sql.SQL("SELECT version FROM {}.gig_schema_migrations").format(
                    sql.Identifier(schema)
                )
            ).fetchall()
            assert versions == [(SCHEMA_VERSION,)]
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.gig_schema_migrations (version, description) VALUES (%s, 'x')"
                ).format(sql.Identifier(schema)),
                (SCHEMA_VERSION + 1,),
            )
        with pytest.raises(SchemaVersionError, match="upgrade creditcore"):
            PostGISGigStore(pg_dsn, schema=schema)
    finally:
        drop_schema(pg_dsn, schema)


def test_a_database_without_postgis_says_what_to_do(pg_dsn: str) -> None:
    """A fresh database and a role that may not create extensions: a clear StoreError."""
    tag = secrets.token_hex(4)
    database, role = f"cc_t_nogis_{tag}", f"cc_t_role_{tag}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )
    try:
        info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
        info.update(dbname=database, user=role)
        dsn = psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="CREATE EXTENSION postgis") as caught:
            PostGISGigStore(dsn, schema="gigs")
        assert "may not create it" in str(caught.value)
        with pytest.raises(StoreError, match="create_extension=True"):
            PostGISGigStore(dsn, schema="gigs", create_extension=False)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


class _Failing:
    """A connection that raises at its ``fail_at``-th statement (execute or copy)."""

    def __init__(self, conn: psycopg.Connection[Any], fail_at: int) -> None:
        self._conn = conn
        self.calls = 0
        self.fail_at = fail_at

    def _step(self) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise psycopg.OperationalError("injected fault")

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._step()
        return self._conn.execute(*args, **kwargs)

    def cursor(self) -> Any:
        outer = self

        class _Cursor:
            def copy(self, statement: Any) -> Any:
                outer._step()
                return outer._conn.cursor().copy(statement)

        return _Cursor()

    def transaction(self) -> Any:
        return self._conn.transaction()


@pytest.mark.parametrize("action", ["insert_many", "update", "remove"])
def test_a_fault_at_any_step_of_a_write_changes_nothing(
    postgis_store: PostGISGigStore, action: str
) -> None:
    postgis_store.insert_many([("a", 1.0, 1.0, {"k": 1}), ("b", 2.0, 2.0)])
    before = fingerprint(postgis_store.in_bbox(-180, -90, 180, 90))
    seq = postgis_store.last_seq
    writes = {
        "insert_many": lambda: postgis_store.insert_many([("c", 3.0, 3.0), ("d", 4.0, 4.0)]),
        "update": lambda: postgis_store.update("a", lng=5.0, properties={"k": 2}),
        "remove": lambda: postgis_store.remove("b"),
    }
    real = postgis_store._conn
    step = 1
    while True:
        failing = _Failing(real, step)
        postgis_store._conn = failing  # type: ignore[assignment]
        try:
            writes[action]()  # type: ignore[no-untyped-call]
            failed = ""
        except StoreError as error:
            failed = str(error)
        finally:
            postgis_store._conn = real
        if not failed:
            assert failing.calls < step  # every step has had its fault
            break
        assert "injected fault" in failed
        assert fingerprint(postgis_store.in_bbox(-180, -90, 180, 90)) == before, step
        assert postgis_store.last_seq == seq
        step += 1
    assert step >= 4
    assert postgis_store.last_seq == seq + (2 if action == "insert_many" else 1)


def test_two_service_processes_write_through_the_store_and_read_synced_indexes(
    pg_dsn: str,
) -> None:
    schema = new_schema_name()
    rounds = 8
    try:
        with PostGISGigStore(pg_dsn, schema=schema) as store:
            first = _city_points(3, 300)
            store.insert_many(first)
            ctx = multiprocessing.get_context("spawn")
            barrier = ctx.Barrier(2)
            out: Any = ctx.Queue()
            workers = [
                ctx.Process(target=writer_worker, args=(pg_dsn, schema, w, rounds, barrier, out))
                for w in range(2)
            ]
            for p in workers:
                p.start()
            # Meanwhile, a reader of the feed: sequence numbers arrive without gaps, in order.
            seen = 0
            while any(p.is_alive() for p in workers):
                for change in store.changes(seen, limit=1000):
                    assert change.seq == seen + 1
                    seen = change.seq
            results = [out.get(timeout=60) for _ in workers]
            for p in workers:
                p.join(timeout=60)
                assert p.exitcode == 0
            final = fingerprint(store.in_bbox(-180, -90, 180, 90))
            last = store.last_seq
            assert last == len(first) + 2 * rounds * 7
            for _worker, synced, content in results:
                assert synced == last
                assert content == final
            assert len(final) == len(first) + 2 * rounds * 4
    finally:
        drop_schema(pg_dsn, schema)
