"""The adaptive ``near`` search with a limit: its circle grows from a guess to the full radius.

The data are rings of gigs around an empty middle, so the first circle tried (sized from the
count in the radius box) holds too few gigs and must grow, sometimes up to the radius. The
centres sit on the antimeridian, near a pole and in plain places; answers are checked against
the brute-force oracle, with exact ties (duplicate points) in insertion order.
"""

from __future__ import annotations

import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from creditcore.geo import GigIndex
from tests.geo import oracle
from tests.geo.test_index_queries import _check_near, _index

_CENTRES = st.one_of(
    st.tuples(st.sampled_from((180.0, -180.0, 179.999, -179.999)), st.floats(-60.0, 60.0)),
    st.tuples(st.floats(-180.0, 180.0), st.sampled_from((89.95, -89.95, 89.99, 90.0))),
    st.tuples(st.floats(-179.0, 179.0), st.floats(-70.0, 70.0)),
)


def _destination(lng: float, lat: float, bearing: float, dist_m: float) -> tuple[float, float]:
    """The point ``dist_m`` from (lng, lat) along ``bearing`` (radians) on the oracle sphere."""
    phi, lam, delta = math.radians(lat), math.radians(lng), dist_m / oracle.R
    sin_phi2 = math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(bearing)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lam2 = lam + math.atan2(
        math.sin(bearing) * math.sin(delta) * math.cos(phi),
        math.cos(delta) - math.sin(phi) * sin_phi2,
    )
    lng2 = (math.degrees(lam2) + 180.0) % 360.0 - 180.0
    return lng2, max(-90.0, min(90.0, math.degrees(phi2)))


def _ring(
    centre: tuple[float, float], inner_m: float, outer_m: float, count: int, seed: int
) -> list[tuple[float, float]]:
    """``count`` points between ``inner_m`` and ``outer_m`` from ``centre``, every 5th twice."""
    golden = math.pi * (3.0 - math.sqrt(5.0))
    pts: list[tuple[float, float]] = []
    for i in range(count):
        share = ((i * 0.6180339887 + seed * 0.1) % 1.0) ** 0.5
        dist = inner_m + (outer_m - inner_m) * share
        pts.append(_destination(*centre, (i + seed) * golden, dist))
        if i % 5 == 0:
            pts.append(pts[-1])  # an exact duplicate: a tie to order by insertion
    return pts


def _check_ties(index: GigIndex, centre: tuple[float, float], radius: float, limit: int) -> None:
    """Exact ties (same point) in insertion order; ``near_ids`` agrees with ``near``."""
    hits = index.near(*centre, radius, limit=limit)
    for a, b in itertools.pairwise(hits):
        if (a.gig.lng, a.gig.lat) == (b.gig.lng, b.gig.lat):
            assert a.distance_m == b.distance_m
            assert int(a.gig.id) < int(b.gig.id)
    ids, dists = index.near_ids(*centre, radius, limit=limit)
    assert ids == [hit.gig.id for hit in hits]
    assert dists.tolist() == [hit.distance_m for hit in hits]


@given(
    _CENTRES,
    st.floats(0.05, 0.8),
    st.integers(300, 1500),
    st.integers(1, 120),
    st.integers(0, 5),
    st.integers(0, 9),
)
def test_near_grows_its_circle_through_an_empty_middle(
    centre: tuple[float, float], hole: float, count: int, limit: int, moved: int, seed: int
) -> None:
    radius = 10_000.0
    pts = _ring(centre, radius * hole, radius * 1.2, count, seed)
    index = _index(pts, moved)
    _check_near(index, pts, centre, radius, limit)
    _check_ties(index, centre, radius, limit)


@given(_CENTRES, st.integers(1, 60), st.integers(0, 9))
def test_near_stops_growing_at_the_radius(
    centre: tuple[float, float], limit: int, seed: int
) -> None:
    """Few gigs inside the radius, many just outside it: the search ends at the radius."""
    radius = 5_000.0
    pts = _ring(centre, radius * 0.9, radius * 1.05, 800, seed)
    index = _index(pts)
    _check_near(index, pts, centre, radius, limit)
    _check_ties(index, centre, radius, limit)


def test_near_in_a_dense_city_matches_brute_force() -> None:
    """A dense blob: the first small circle already holds the limit (no growth)."""
    centre = (13.4, 52.5)
    pts = _ring(centre, 0.0, 3_000.0, 4000, 3)
    index = _index(pts, moved=30)
    for limit in (1, 10, 100, 500):
        for radius in (500.0, 2_000.0, 10_000.0):
            _check_near(index, pts, centre, radius, limit)
            _check_ties(index, centre, radius, limit)


def test_queries_hand_out_the_stored_gigs_with_their_latest_properties() -> None:
    """Gigs are built once per change: queries return them, updated ones included."""
    centre = (2.35, 48.85)
    pts = _ring(centre, 0.0, 2_000.0, 3000, 1)
    index = GigIndex((i, x, y, {"n": i}) for i, (x, y) in enumerate(pts))
    box = (2.3, 48.8, 2.4, 48.9)
    # Straight from the snapshot: the very objects get() returns.
    small = (2.349, 48.849, 2.351, 48.851)  # a handful of gigs: the few-candidates path
    assert index.in_bbox(*small)
    for gig in index.in_bbox(*small) + index.in_bbox(*box, limit=50):
        assert gig is index.get(gig.id)
    for hit in index.near(*centre, 5_000.0, limit=50):
        assert hit.gig is index.get(hit.gig.id)
    nearest = [hit.gig.id for hit in index.near(*centre, 5_000.0, limit=20)]
    index.update(nearest[0], properties={"n": -1})  # same place, new properties
    index.update(nearest[1], lng=centre[0], lat=centre[1])  # moved onto the centre
    index.remove(nearest[2])
    hits = index.near(*centre, 5_000.0, limit=20)
    assert hits[0].gig.id == nearest[1]
    assert hits[0].distance_m == 0.0
    by_id = {hit.gig.id: hit.gig for hit in hits}
    assert dict(by_id[nearest[0]].properties) == {"n": -1}
    assert nearest[2] not in by_id
    boxed = {gig.id: gig for gig in index.in_bbox(*box)}
    assert dict(boxed[nearest[0]].properties) == {"n": -1}
    assert (boxed[nearest[1]].lng, boxed[nearest[1]].lat) == centre
    assert nearest[2] not in boxed
    assert all(gig is index.get(gig.id) for gig in boxed.values())
    assert dict(index.get(nearest[0]).properties) == {"n": -1}
