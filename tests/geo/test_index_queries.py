"""GigIndex queries against brute-force oracles: boxes, radii (haversine and geodesic), polygons."""

from __future__ import annotations

import itertools
import math

import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from creditcore.geo import GigIndex
from tests.geo import oracle
from tests.strategies.geo import (
    boxes,
    clustered_points,
    crossing_boxes,
    points,
    polar_points,
    radii,
)

limits = st.one_of(st.none(), st.integers(0, 30))
_GEOD = Geod(ellps="WGS84")


def _index(pts: list[tuple[float, float]], moved: int = 0) -> GigIndex:
    """Bulk-build, then push some gigs through the delta and stale paths (same final data)."""
    index = GigIndex((i, x, y) for i, (x, y) in enumerate(pts))
    for i in range(min(moved, len(pts))):
        x, y = pts[i]
        index.update(i, lng=0.5 if x != 0.5 else 0.25, lat=0.0)  # move away ...
        index.update(i, lng=x, lat=y)  # ... and back: now in the delta, old entry stale
    return index


@given(clustered_points(), boxes(), limits, st.integers(0, 5))
def test_in_bbox_equals_brute_force(
    pts: list[tuple[float, float]],
    box: tuple[float, float, float, float],
    limit: int | None,
    moved: int,
) -> None:
    index = _index(pts, moved)
    expected = [i for i, (x, y) in enumerate(pts) if oracle.in_box(x, y, box)]
    if limit is not None:
        expected = expected[:limit]
    got = index.in_bbox(*box, limit=limit)
    assert [gig.id for gig in got] == expected
    assert index.in_bbox_ids(*box, limit=limit) == expected
    assert all((gig.lng, gig.lat) == pts[int(gig.id)] for gig in got)


@given(clustered_points(), crossing_boxes(), limits)
def test_crossing_boxes_hold_both_sides(
    pts: list[tuple[float, float]], box: tuple[float, float, float, float], limit: int | None
) -> None:
    index = _index(pts)
    west, south, east, north = box
    expected = [
        i for i, (x, y) in enumerate(pts) if south <= y <= north and (x >= west or x <= east)
    ]
    assert index.in_bbox_ids(*box, limit=limit) == expected[:limit]


def test_in_bbox_large_index_uses_every_path() -> None:
    """Enough points for the snapshot, the insertion-order scan and the small-box paths."""
    pts = [((i * 7.31) % 360 - 180, (i * 3.17) % 180 - 90) for i in range(5000)]
    pts += [(10.0 + (i % 50) * 1e-3, 45.0 + (i // 50) * 1e-3) for i in range(2500)]
    index = _index(pts, moved=40)
    for box in [
        (-180.0, -90.0, 180.0, 90.0),
        (9.99, 44.99, 10.02, 45.02),
        (0.0, 0.0, 20.0, 50.0),
        (170.0, -10.0, -170.0, 10.0),
        (10.0, 45.0, 10.0, 45.0),
    ]:
        for limit in (None, 1, 10, 1000):
            expected = [i for i, (x, y) in enumerate(pts) if oracle.in_box(x, y, box)][:limit]
            assert index.in_bbox_ids(*box, limit=limit) == expected


def _check_near(
    index: GigIndex,
    pts: list[tuple[float, float]],
    centre: tuple[float, float],
    radius: float,
    limit: int | None,
) -> None:
    sure, maybe, dists = oracle.near(pts, *centre, radius)
    hits = index.near(*centre, radius, limit=limit)
    got = [int(hit.gig.id) for hit in hits]
    # Nearest first (up to rounding); exact ties are checked on duplicates below.
    assert all(dists[a] <= dists[b] + 1e-6 for a, b in itertools.pairwise(got))
    assert len(set(got)) == len(got)
    for hit in hits:
        assert math.isclose(hit.distance_m, dists[int(hit.gig.id)], rel_tol=1e-9, abs_tol=1e-6)
    if limit is None:
        assert sure <= set(got) <= sure | maybe
    else:
        assert len(got) <= limit
        within = sure | maybe
        assert set(got) <= within
        assert len(got) >= min(limit, len(sure))
        # Nothing left out is nearer than the farthest returned gig (up to rounding).
        if got:
            worst = max(dists[i] for i in got)
            missed = sure - set(got)
            assert all(dists[i] >= worst - oracle.BOUNDARY_M for i in missed)


@given(clustered_points(), st.one_of(points, polar_points), radii, limits, st.integers(0, 5))
def test_near_equals_brute_force(
    pts: list[tuple[float, float]],
    centre: tuple[float, float],
    radius: float,
    limit: int | None,
    moved: int,
) -> None:
    _check_near(_index(pts, moved), pts, centre, radius, limit)


@given(clustered_points(spread=0.3), st.data(), st.floats(1.0, 100_000.0), limits)
def test_near_around_a_data_point(
    pts: list[tuple[float, float]], data: st.DataObject, radius: float, limit: int | None
) -> None:
    """Centres on the data itself (often at ±180° or a pole), so circles are full."""
    assume(pts)
    centre = data.draw(st.sampled_from(pts))
    _check_near(_index(pts), pts, centre, radius, limit)


@given(st.sampled_from((179.9, -179.9, 180.0, -180.0)), st.floats(-60, 60), limits)
def test_near_across_the_antimeridian(edge: float, lat: float, limit: int | None) -> None:
    pts = [(lng, lat) for lng in (179.95, 179.99, 180.0, -180.0, -179.99, -179.9, 0.0)]
    _check_near(_index(pts), pts, (edge, lat), 30_000.0, limit)


@given(st.floats(-180, 180), st.sampled_from((90.0, -90.0, 89.95, -89.95)), limits)
def test_near_at_the_poles_sees_every_longitude(lng: float, lat: float, limit: int | None) -> None:
    pole = math.copysign(90.0, lat)
    pts = [(float(x), pole - math.copysign(0.05, pole)) for x in range(-180, 181, 15)]
    _check_near(_index(pts), pts, (lng, lat), 20_000.0, limit)


@settings(max_examples=40)
@given(clustered_points(max_size=60), st.one_of(points, polar_points), radii, limits)
def test_geodesic_mode_matches_pyproj(
    pts: list[tuple[float, float]],
    centre: tuple[float, float],
    radius: float,
    limit: int | None,
) -> None:
    index = _index(pts)
    dists = {i: _GEOD.inv(centre[0], centre[1], x, y)[2] for i, (x, y) in enumerate(pts)}
    hits = index.near(*centre, radius, limit=limit, method="geodesic")
    for hit in hits:
        assert math.isclose(hit.distance_m, dists[int(hit.gig.id)], rel_tol=1e-12, abs_tol=1e-6)
    ranked = sorted((d, i) for i, d in dists.items() if d <= radius)
    assert [int(hit.gig.id) for hit in hits] == [i for _, i in ranked][:limit]


def test_geodesic_decides_the_edge_of_a_radius() -> None:
    """Along a meridian at the equator the ellipsoid is 0.56% shorter than the sphere."""
    index = GigIndex([("g", 0.0, 0.4520)])  # ≈ 49,981 m geodesic, ≈ 50,262 m haversine
    geodesic = _GEOD.inv(0.0, 0.0, 0.0, 0.4520)[2]
    assert geodesic < 50_000 < oracle.great_circle_m(0.0, 0.0, 0.0, 0.4520)
    assert [hit.gig.id for hit in index.near(0.0, 0.0, 50_000, method="geodesic")] == ["g"]
    assert index.near(0.0, 0.0, 50_000) == []


@given(clustered_points(max_size=80, spread=5.0), st.data())
def test_within_equals_shapely_covers(pts: list[tuple[float, float]], data: st.DataObject) -> None:
    index = _index(pts)
    cx = data.draw(st.floats(-170, 170))
    cy = data.draw(st.floats(-80, 80))
    size = data.draw(st.floats(0.1, 10))
    polygon = shapely.Polygon(
        [(cx - size, cy), (cx, cy - size), (cx + size, cy + size / 2), (cx, cy + size)]
    )
    vertex_points = [(float(x), float(y)) for x, y in polygon.exterior.coords[:-1]]
    pts = pts + vertex_points  # some gigs exactly on the boundary
    index = _index(pts)
    expected = [i for i, (x, y) in enumerate(pts) if polygon.covers(shapely.Point(x, y))]
    assert [gig.id for gig in index.within(polygon)] == expected
    assert [gig.id for gig in index.within(polygon, limit=3)] == expected[:3]


def test_within_multipolygon_split_at_the_antimeridian() -> None:
    east = shapely.box(170.0, -10.0, 180.0, 10.0)
    west = shapely.box(-180.0, -10.0, -170.0, 10.0)
    index = GigIndex([("a", 175.0, 0.0), ("b", -175.0, 5.0), ("c", 0.0, 0.0), ("d", 180.0, 10.0)])
    assert [gig.id for gig in index.within(shapely.MultiPolygon([east, west]))] == ["a", "b", "d"]
    assert index.within(shapely.Polygon()) == []


@pytest.mark.parametrize("method", ["haversine", "geodesic"])
def test_near_with_zero_radius_finds_exact_duplicates(method: str) -> None:
    index = GigIndex([("a", 10.0, 20.0), ("b", 10.0, 20.0), ("c", 10.0, 20.000001)])
    hits = index.near(10.0, 20.0, 0.0, method=method)  # type: ignore[arg-type]
    assert [(hit.gig.id, hit.distance_m) for hit in hits] == [("a", 0.0), ("b", 0.0)]


@given(st.permutations(range(12)), st.integers(1, 12))
def test_ties_come_in_insertion_order(order: list[int], limit: int) -> None:
    """Gigs at equal distance (duplicated points) keep the order they were inserted in."""
    spots = [(5.0, 5.0), (5.0, 5.001), (5.001, 5.0)]
    records = [(f"g{n}", *spots[n % 3]) for n in order]
    index = GigIndex(records)
    got = [hit.gig.id for hit in index.near(5.0, 5.0, 1000.0, limit=limit)]
    by_spot: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for name, x, y in records:
        by_spot[spots.index((x, y))].append(name)
    nearest_first = by_spot[0] + sorted(
        by_spot[1] + by_spot[2],
        key=lambda name: oracle.great_circle_m(5.0, 5.0, *spots[int(name[1:]) % 3]),
    )
    assert got[: len(by_spot[0])] == by_spot[0][:limit]
    assert len(got) == limit
    assert sorted(got) == sorted(nearest_first[:limit]) or len(got) > len(by_spot[0])


@pytest.mark.parametrize("size", [1, 3000])
def test_a_crossing_box_counts_a_gig_once(size: int) -> None:
    """Near lng 0 the two halves of a crossing box touch; no gig may come out twice."""
    pts = [(0.0, 0.0)] + [((i * 0.37) % 360 - 180, (i * 0.11) % 160 - 80) for i in range(1, size)]
    index = _index(pts)
    box = (1e-300, -1.0, 0.0, 1.0)
    expected = [i for i, (x, y) in enumerate(pts) if oracle.in_box(x, y, box)]
    assert index.in_bbox_ids(*box) == expected
    assert expected[0] == 0


@pytest.mark.parametrize("kind", ["int", "huge int", "str", "mixed"])
def test_ids_of_every_kind_come_back_right(kind: str) -> None:
    """Ids reach the answers whatever their type, from the snapshot and from the delta."""

    def ident(i: int) -> str | int:
        if kind == "int" or (kind == "mixed" and i % 2):
            return i
        if kind == "huge int":
            return 2**53 - 1 - i  # the largest ids JSON keeps exactly
        return f"gig-{i}"

    pts = [(10.0 + (i % 40) * 1e-3, 50.0 + (i // 40) * 1e-3) for i in range(400)]
    index = GigIndex((ident(i), x, y) for i, (x, y) in enumerate(pts[:300]))
    index.insert_many((ident(i), x, y) for i, (x, y) in enumerate(pts[300:], start=300))
    dists = {i: oracle.great_circle_m(10.01037, 50.00517, x, y) for i, (x, y) in enumerate(pts)}
    nearest = sorted(dists, key=lambda i: (dists[i], i))[:60]
    ids, got = index.near_ids(10.01037, 50.00517, 5_000.0, limit=60)
    assert ids == [ident(i) for i in nearest]
    assert got.tolist() == pytest.approx([dists[i] for i in nearest], rel=1e-9, abs=1e-6)
    hits = index.near(10.01037, 50.00517, 5_000.0, limit=60)
    assert [(h.gig.id, h.gig.lng, h.gig.lat) for h in hits] == [
        (ident(i), *pts[i]) for i in nearest
    ]
    box = (10.005, 50.001, 10.02, 50.004)
    expected = [ident(i) for i, (x, y) in enumerate(pts) if oracle.in_box(x, y, box)]
    assert index.in_bbox_ids(*box) == expected
    assert [g.id for g in index.in_bbox(*box, limit=5)] == expected[:5]
