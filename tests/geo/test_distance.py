"""Distance models and the search box: against pyproj, an independent sphere formula, brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Geod

from creditcore import InvalidInput
from creditcore._geo.distance import GEODESIC_SLACK, check_method
from creditcore.geo import geodesic_m, haversine_m, search_boxes
from tests.geo import oracle
from tests.strategies.geo import latitudes, longitudes, points, polar_points, radii

_GEOD = Geod(ellps="WGS84")
MAX_RELATIVE_ERROR = 0.0057  # measured 0.5604% (meridian at the equator), see docs/geo.md


def test_a_degree_of_arc_is_the_iugg_mean_spheres() -> None:
    """Published figure: a degree of the IUGG mean sphere (R1 = 6,371,008.8 m) is 111,195.08 m.

    Fails if the radius, the degree conversion or the formula drifts; the figure comes from
    the geodesy literature (2π·R1/360), not from the code.
    """
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_195.08, abs=0.005)
    assert haversine_m(10.0, 0.0, 11.0, 0.0) == pytest.approx(111_195.08, abs=0.005)
    assert haversine_m(0.0, -90.0, 0.0, 90.0) == pytest.approx(180 * 111_195.0802, abs=0.5)


@given(points, points)
def test_haversine_matches_an_independent_sphere_formula(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    expected = oracle.great_circle_m(*a, *b)
    assert math.isclose(haversine_m(*a, *b), expected, rel_tol=1e-9, abs_tol=1e-3)
    array = haversine_m(a[0], a[1], np.array([b[0]]), np.array([b[1]]))
    assert math.isclose(float(array[0]), expected, rel_tol=1e-9, abs_tol=1e-3)


def test_haversine_by_hand() -> None:
    # A quarter of a great circle, and one degree of longitude on the equator.
    assert haversine_m(0.0, 0.0, 90.0, 0.0) == pytest.approx(math.pi / 2 * 6_371_008.8, rel=1e-12)
    assert haversine_m(0.0, 90.0, 123.0, 0.0) == pytest.approx(math.pi / 2 * 6_371_008.8)
    assert haversine_m(179.5, 0.0, -179.5, 0.0) == pytest.approx(6_371_008.8 * math.pi / 180)


@given(points, points)
def test_geodesic_is_pyproj(a: tuple[float, float], b: tuple[float, float]) -> None:
    expected = _GEOD.inv(a[0], a[1], b[0], b[1])[2]
    assert geodesic_m(*a, *b) == pytest.approx(expected, rel=1e-12, abs=1e-9)
    array = geodesic_m(a[0], a[1], np.array([b[0], a[0]]), np.array([b[1], a[1]]))
    assert array.tolist() == pytest.approx([expected, 0.0], rel=1e-12, abs=1e-9)


@given(points, points)
def test_haversine_error_against_the_ellipsoid_is_bounded(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    geodesic = _GEOD.inv(a[0], a[1], b[0], b[1])[2]
    if geodesic > 1.0:
        error = abs(haversine_m(*a, *b) - geodesic) / geodesic
        assert error <= MAX_RELATIVE_ERROR
        assert geodesic <= haversine_m(*a, *b) * GEODESIC_SLACK


def test_worst_case_error_is_the_meridian_at_the_equator() -> None:
    """The figure quoted in the issue and docs: -0.56%, about 280 m at 50 km."""
    lat = np.linspace(-0.45, 0.0, 2)
    geodesic = _GEOD.inv(0.0, float(lat[0]), 0.0, float(lat[1]))[2]
    sphere = haversine_m(0.0, float(lat[0]), 0.0, float(lat[1]))
    assert (sphere - geodesic) / geodesic == pytest.approx(0.0056, abs=0.0001)
    at_50_km = 50_000.0 * (sphere - geodesic) / geodesic
    assert 270 < at_50_km < 285


def test_unknown_method_is_refused() -> None:
    assert check_method("geodesic") == "geodesic"
    with pytest.raises(InvalidInput, match="'haversine' or 'geodesic'"):
        check_method("flat")


def _in_any(lng: float, lat: float, boxes: list[tuple[float, float, float, float]]) -> bool:
    return any(w <= lng <= e and s <= lat <= n for w, s, e, n in boxes)


@given(st.one_of(points, polar_points), radii, st.data())
def test_search_boxes_hold_every_point_of_the_circle(
    centre: tuple[float, float], radius: float, data: st.DataObject
) -> None:
    """Points on (and just inside) the circle, in every direction, lie in one of the boxes."""
    boxes = search_boxes(*centre, radius)
    assert 1 <= len(boxes) <= 2
    for w, s, e, n in boxes:
        assert -180.0 <= w <= e <= 180.0
        assert -90.0 <= s <= n <= 90.0
    for bearing in [*range(0, 360, 15), data.draw(st.floats(0, 360))]:
        for share in (1.0, 0.999, 0.5):
            x, y = _destination(centre, bearing, radius * share)
            if oracle.great_circle_m(*centre, x, y) <= radius:  # rounding can push it out
                assert _in_any(x, y, boxes), (x, y, boxes)


@given(longitudes, latitudes, radii, st.data())
def test_geodesic_search_boxes_hold_the_ellipsoidal_circle(
    lng: float, lat: float, radius: float, data: st.DataObject
) -> None:
    boxes = search_boxes(lng, lat, radius, "geodesic")
    bearing = data.draw(st.floats(0, 360))
    x, y, _ = _GEOD.fwd(lng, lat, bearing, radius)
    assert _in_any(x, y, boxes)


def _destination(
    centre: tuple[float, float], bearing: float, distance: float
) -> tuple[float, float]:
    """Point at ``distance`` along ``bearing`` on the sphere (textbook direct formula)."""
    p1 = math.radians(centre[1])
    l1 = math.radians(centre[0])
    theta = math.radians(bearing)
    delta = distance / oracle.R
    p2 = math.asin(
        min(
            1.0,
            max(
                -1.0,
                math.sin(p1) * math.cos(delta) + math.cos(p1) * math.sin(delta) * math.cos(theta),
            ),
        )
    )
    l2 = l1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(p1),
        math.cos(delta) - math.sin(p1) * math.sin(p2),
    )
    lng = (math.degrees(l2) + 540.0) % 360.0 - 180.0
    return lng, math.degrees(p2)


@pytest.mark.parametrize(
    ("lng", "lat", "radius", "expect"),
    [
        (179.99, 0.0, 10_000.0, 2),  # runs over the antimeridian: two boxes
        (-179.99, 0.0, 10_000.0, 2),
        (0.0, 89.95, 10_000.0, 1),  # holds the pole: every longitude
        (0.0, 0.0, 10_000.0, 1),
    ],
)
def test_search_box_shapes(lng: float, lat: float, radius: float, expect: int) -> None:
    boxes = search_boxes(lng, lat, radius)
    assert len(boxes) == expect
    if lat > 89:
        assert boxes == [(-180.0, boxes[0][1], 180.0, 90.0)]
