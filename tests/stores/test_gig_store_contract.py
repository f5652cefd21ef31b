"""The gig store contract: one suite, run unchanged on GigIndex (memory) and PostGISGigStore.

Oracles are written apart from the library: brute force on the sphere (tests/geo/oracle.py,
an atan2 great-circle formula), pyproj's Geod for geodesics, and hand-written point-in-box and
point-in-polygon tests. Data: uniform over the sphere plus clusters at the antimeridian and the
poles, and duplicated points, drawn with a seeded generator the suite does not store.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from pyproj import Geod

from creditcore import (
    DuplicateId,
    InvalidCoordinates,
    InvalidFeature,
    InvalidGeometry,
    InvalidInput,
    UnknownGig,
)
from creditcore.geo import GigIndex, GigStore
from tests.geo import oracle
from tests.stores.postgis_support import fingerprint, postgis_store_fixture  # noqa: F401
from tests.stores.postgres_support import pg_dsn_fixture  # noqa: F401

_GEOD = Geod(ellps="WGS84")
FLAT: Any = "flat"
EDGE_M = 1e-4  # points this close to a radius may fall either way (PostGIS rounds to 1e-8 m)

Point = tuple[Any, float, float]


@pytest.fixture(params=["memory", "postgis"])
def gig_store(request: pytest.FixtureRequest) -> Iterator[GigStore]:
    """An empty gig store of each kind."""
    if request.param == "memory":
        yield GigIndex()
    else:
        yield request.getfixturevalue("postgis_store")


def _points(seed: int, count: int = 400) -> list[Point]:
    rng = random.Random(seed)
    pts: list[Point] = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.5:
            lng, lat = rng.uniform(-180, 180), math.degrees(math.asin(rng.uniform(-1, 1)))
        elif roll < 0.7:  # across the antimeridian
            lng, lat = rng.choice([-1, 1]) * rng.uniform(179.0, 180.0), rng.uniform(-5, 5)
        elif roll < 0.85:  # at the poles
            lng, lat = rng.uniform(-180, 180), rng.choice([-1, 1]) * rng.uniform(88.0, 90.0)
        else:  # duplicates of an earlier point
            _, lng, lat = pts[rng.randrange(len(pts))] if pts else (0, 0.0, 0.0)
        pts.append((i if i % 3 else f"g{i}", lng, lat))
    pts += [
        ("north", 0.0, 90.0),
        ("south", 77.0, -90.0),
        ("east", 180.0, 1.0),
        ("west", -180.0, 1.0),
    ]
    return pts


def _ids(gigs: Any) -> list[Any]:
    return [g.id for g in gigs]


BOXES = [
    (170.0, -10.0, -170.0, 10.0),  # across the antimeridian
    (179.5, -2.0, -179.5, 2.0),
    (-180.0, 85.0, 180.0, 90.0),  # a polar cap
    (-180.0, -90.0, 180.0, -89.0),
    (-180.0, -90.0, 180.0, 90.0),  # the world
    (180.0, 0.0, 180.0, 2.0),  # a line at the antimeridian
    (-10.0, -10.0, 30.0, 40.0),
]


@pytest.mark.parametrize("seed", [11, 12])
def test_in_bbox_is_brute_force_in_insertion_order(gig_store: GigStore, seed: int) -> None:
    pts = _points(seed)
    gig_store.insert_many(pts)
    rng = random.Random(seed)
    boxes = list(BOXES)
    for _ in range(12):
        w, e = rng.uniform(-180, 180), rng.uniform(-180, 180)
        s, n = sorted(rng.uniform(-90, 90) for _ in range(2))
        boxes.append((w, s, e, n))
    for box in boxes:
        expected = [i for i, x, y in pts if oracle.in_box(x, y, box)]
        assert _ids(gig_store.in_bbox(*box)) == expected, box
        assert _ids(gig_store.in_bbox(*box, limit=3)) == expected[:3], box
        assert gig_store.in_bbox(*box, limit=0) == []


def _oracle_near(
    pts: list[Point], lng: float, lat: float, radius: float, geodesic: bool
) -> list[tuple[float, int]] | None:
    """(distance, position) within the radius, nearest first; None if a point is at the edge."""
    found = []
    for at, (_, x, y) in enumerate(pts):
        if geodesic:
            d = float(_GEOD.inv(lng, lat, x, y)[2])
        else:
            d = oracle.great_circle_m(lng, lat, x, y)
        if abs(d - radius) <= EDGE_M:
            return None
        if d <= radius:
            found.append((d, at))
    return sorted(found)


TIE_M = 1e-6  # distances closer than this are one tie (each side rounds its own way)


def _canon(found: list[tuple[float, int]]) -> list[int]:
    """Positions nearest first, each group of (near-)equal distances in insertion order."""
    out: list[int] = []
    group: list[int] = []
    last = -math.inf
    for d, at in found:
        if d - last > TIE_M and group:
            out += sorted(group)
            group = []
        group.append(at)
        last = d
    return out + sorted(group)


def _tie_at(found: list[tuple[float, int]], limit: int) -> bool:
    return 0 < limit < len(found) and found[limit][0] - found[limit - 1][0] <= TIE_M


@pytest.mark.parametrize("method", ["haversine", "geodesic"])
def test_near_is_brute_force_nearest_first(gig_store: GigStore, method: Any) -> None:
    pts = _points(21 if method == "haversine" else 22)
    gig_store.insert_many(pts)
    position = {ident: at for at, (ident, _, _) in enumerate(pts)}
    rng = random.Random(5)
    centres = [(0.0, 90.0), (10.0, -90.0), (180.0, 0.0), (-179.9, 1.0), (0.0, 0.0)]
    centres += [(pts[k][1], pts[k][2]) for k in rng.sample(range(len(pts)), 4)]  # on gigs
    radii = [0.0, 5_000.0, 300_000.0, 2_500_000.0, 20_015_000.0]
    checked = 0
    for lng, lat in centres:
        for radius in radii:
            expected = _oracle_near(pts, lng, lat, radius, method == "geodesic")
            if expected is None:
                continue
            checked += 1
            for limit in (None, 7):
                if limit is not None and _tie_at(expected, limit):
                    continue  # the cut falls between points at the same distance
                hits = gig_store.near(lng, lat, radius, limit=limit, method=method)
                want = expected if limit is None else expected[:limit]
                got = [(h.distance_m, position[h.gig.id]) for h in hits]
                assert _canon(got) == _canon(want), (lng, lat, radius)
                assert [d for d, _ in got] == pytest.approx(
                    [d for d, _ in want], rel=1e-9, abs=1e-4
                )
                assert all(a[0] <= b[0] for a, b in itertools.pairwise(got))
    assert checked >= 35


def _in_polygon_with_hole(x: float, y: float) -> bool:
    outer = -20.0 <= x <= 20.0 and -10.0 <= y <= 30.0
    in_hole = -5.0 < x < 5.0 and 0.0 < y < 10.0  # the hole's edge belongs to the polygon
    return outer and not in_hole


def test_within_a_polygon_with_a_hole_and_across_the_antimeridian(gig_store: GigStore) -> None:
    grid = [(f"{x}:{y}", float(x), float(y)) for x in range(-25, 26, 1) for y in range(-15, 35, 1)]
    ring = [(179.0 + k * 0.25, -3.0 + k * 0.5) for k in range(5)]
    edge = [(f"e{k}", x, y) for k, (x, y) in enumerate(ring)]
    edge += [("far-west", -179.5, 0.0), ("far-east", 179.5, 0.0), ("dup", 1.0, 20.0)]
    gig_store.insert_many(grid + edge)
    area = {
        "type": "Polygon",
        "coordinates": [
            [[-20, -10], [20, -10], [20, 30], [-20, 30], [-20, -10]],
            [[-5, 0], [5, 0], [5, 10], [-5, 10], [-5, 0]],
        ],
    }
    expected = [i for i, x, y in grid + edge if _in_polygon_with_hole(x, y)]
    assert _ids(gig_store.within(area)) == expected
    assert _ids(gig_store.within(shapely.geometry.shape(area), limit=4)) == expected[:4]
    split = shapely.MultiPolygon(
        [shapely.box(179.0, -1.0, 180.0, 1.0), shapely.box(-180.0, -1.0, -179.0, 1.0)]
    )
    across = [i for i, x, y in grid + edge if (x >= 179.0 or x <= -179.0) and -1.0 <= y <= 1.0]
    assert set(_ids(gig_store.within(split))) == set(across)
    assert {"far-west", "far-east", "e4"} <= set(across)  # e4: the corner (180, -1)
    with pytest.raises(InvalidGeometry):
        gig_store.within(shapely.LineString([(0, 0), (1, 1)]))
    with pytest.raises(InvalidGeometry, match="Self-intersection"):
        gig_store.within(shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]))


def _state(store: GigStore) -> list[tuple[object, float, float, dict[str, object]]]:
    return fingerprint(store.in_bbox(-180, -90, 180, 90))


def test_writes_are_all_or_nothing_with_named_errors(gig_store: GigStore) -> None:
    gig_store.insert_many([("a", 1.0, 1.0, {"k": 1}), (2, 2.0, 2.0)])
    before, seq = _state(gig_store), gig_store.last_seq
    cases: list[tuple[Any, type[Exception], str]] = [
        (
            lambda: gig_store.insert_many([("c", 0, 0), ("d", 0, 91)]),
            InvalidCoordinates,
            "record 1",
        ),
        (lambda: gig_store.insert_many([("c", 0, 0), ("c", 1, 1)]), DuplicateId, "record 1"),
        (lambda: gig_store.insert_many([("c", 0, 0), (2, 1, 1)]), DuplicateId, "record 1"),
        (lambda: gig_store.insert_many([("c", 0, 0), (True, 1, 1)]), InvalidFeature, "record 1"),
        (lambda: gig_store.insert_many([(2**60, 0, 0)]), InvalidFeature, "2\\*\\*53"),
        (lambda: gig_store.insert("a", 0, 0), DuplicateId, "'a'"),
        (lambda: gig_store.update("a", lat=math.nan), InvalidCoordinates, "NaN"),
        (lambda: gig_store.update("zz", lat=1.0), UnknownGig, "'zz'"),
        (lambda: gig_store.remove("zz"), UnknownGig, "'zz'"),
        (lambda: gig_store.get(3), UnknownGig, "3"),
        (lambda: gig_store.in_bbox(0, 10, 1, 5), InvalidInput, "north"),
        (lambda: gig_store.near(0, 0, -1), InvalidInput, "radius_m"),
        (lambda: gig_store.near(200, 0, 1), InvalidCoordinates, "lng"),
        (lambda: gig_store.near(0, 0, 1, method=FLAT), InvalidInput, "method"),
        (lambda: gig_store.in_bbox(0, 0, 1, 1, limit=-1), InvalidInput, "limit"),
    ]
    for call, error, words in cases:
        with pytest.raises(error, match=words):
            call()
        assert _state(gig_store) == before
        assert gig_store.last_seq == seq


def test_insertion_order_update_keeps_place_reinsert_goes_last(gig_store: GigStore) -> None:
    gig_store.insert_many([("a", 0, 0), ("b", 1, 1), ("c", 2, 2)])
    moved = gig_store.update("a", lng=3.0, properties={"v": 2})
    assert (moved.id, moved.lng, moved.lat, dict(moved.properties)) == ("a", 3.0, 0.0, {"v": 2})
    assert gig_store.remove("b").id == "b"
    gig_store.insert("b", 1.0, 1.0)
    assert _ids(gig_store.in_bbox(-10, -10, 10, 10)) == ["a", "c", "b"]
    assert len(gig_store) == 3
    assert gig_store.get("a").lng == 3.0


def _replay(changes: list[Any]) -> dict[Any, tuple[float, float, dict[str, object]]]:
    model: dict[Any, tuple[float, float, dict[str, object]]] = {}
    for change in changes:
        if change.kind == "remove":
            del model[change.gig_id]
        else:
            model[change.gig_id] = (change.lng, change.lat, dict(change.properties))
    return model


def test_the_change_feed_replays_to_the_state_in_order(gig_store: GigStore) -> None:
    rng = random.Random(3)
    live: list[Any] = []
    for n in range(40):
        roll = rng.random()
        if roll < 0.5 or len(live) < 3:
            batch = [(f"n{n}-{k}", rng.uniform(-180, 180), rng.uniform(-90, 90)) for k in range(3)]
            gig_store.insert_many(batch)
            live += [b[0] for b in batch]
        elif roll < 0.8:
            gig_store.update(rng.choice(live), lat=rng.uniform(-90, 90), properties={"n": n})
        else:
            gig_store.remove(live.pop(rng.randrange(len(live))))
    feed = gig_store.changes()
    assert [c.seq for c in feed] == list(range(1, gig_store.last_seq + 1))
    model = _replay(feed)
    assert {g[0]: (g[1], g[2], g[3]) for g in _state(gig_store)} == model
    paged = gig_store.changes(0, limit=7)
    while len(paged) < len(feed):
        paged += gig_store.changes(paged[-1].seq, limit=7)
    assert paged == feed
    assert gig_store.changes(feed[-1].seq) == []
    assert gig_store.changes(10, limit=2) == feed[10:12]


def test_an_index_built_from_the_store_follows_it(gig_store: GigStore) -> None:
    pts = _points(31, 200)
    gig_store.insert_many(pts[:150])
    index = GigIndex.from_store(gig_store)
    assert fingerprint(index) == _state(gig_store)
    assert index.synced_seq == gig_store.last_seq
    gig_store.insert_many(pts[150:])
    gig_store.update(pts[0][0], lng=12.5, properties={"moved": True})
    gig_store.remove(pts[1][0])
    assert index.sync() == len(pts) - 150 + 2
    assert fingerprint(index) == _state(gig_store)
    assert index.sync() == 0
    for lng, lat in [(0.0, 90.0), (180.0, 0.0), (12.5, pts[0][2])]:
        ours = index.near(lng, lat, 1_000_000.0, limit=10)
        theirs = gig_store.near(lng, lat, 1_000_000.0, limit=10)
        assert [h.distance_m for h in ours] == pytest.approx(
            [h.distance_m for h in theirs], rel=1e-9, abs=1e-4
        )
    assert _ids(index.in_bbox(170, -10, -170, 10)) == _ids(gig_store.in_bbox(170, -10, -170, 10))
