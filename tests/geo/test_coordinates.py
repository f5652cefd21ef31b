"""One coordinate rule for the index, the clusterer, features and distances; query areas; ids."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import shapely

from creditcore import InvalidCoordinates, InvalidFeature, InvalidGeometry, InvalidInput
from creditcore.geo import Clusterer, GigIndex, geodesic_m, haversine_m

BAD_POINTS = [
    (math.nan, 0.0),
    (0.0, math.nan),
    (math.inf, 0.0),
    (0.0, -math.inf),
    (180.000001, 0.0),
    (-181.0, 0.0),
    (0.0, 90.5),
    (0.0, -200.0),
]


def _feature(ident: object, lng: float, lat: float) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": ident,
        "geometry": {"type": "Point", "coordinates": [lng, lat]},
        "properties": {},
    }


ENTRY_POINTS: dict[str, Callable[[float, float], object]] = {
    "GigIndex(records)": lambda x, y: GigIndex([("a", 0.0, 0.0), ("b", x, y)]),
    "GigIndex.from_geojson": lambda x, y: GigIndex.from_geojson(
        [_feature("a", 0.0, 0.0), _feature("b", x, y)]
    ),
    "GigIndex.insert": lambda x, y: GigIndex().insert("b", x, y),
    "GigIndex.update": lambda x, y: GigIndex([("b", 1.0, 1.0)]).update("b", lng=x, lat=y),
    "GigIndex.near": lambda x, y: GigIndex().near(x, y, 10.0),
    "GigIndex.in_bbox": lambda x, y: GigIndex().in_bbox(x, y, x, y),
    "Clusterer.load": lambda x, y: Clusterer().load([_feature("a", 0.0, 0.0), _feature("b", x, y)]),
    "Clusterer.load_arrays": lambda x, y: Clusterer().load_arrays([0.0, x], [0.0, y]),
    "haversine_m": lambda x, y: haversine_m(x, y, 0.0, 0.0),
    "haversine_m second point": lambda x, y: haversine_m(0.0, 0.0, x, y),
    "haversine_m arrays": lambda x, y: haversine_m(
        0.0, 0.0, np.array([1.0, x]), np.array([1.0, y])
    ),
    "geodesic_m": lambda x, y: geodesic_m(x, y, 0.0, 0.0),
    "geodesic_m arrays": lambda x, y: geodesic_m(np.array([x]), np.array([y]), 0.0, 0.0),
}


@pytest.mark.parametrize("point", BAD_POINTS, ids=str)
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_the_same_bad_coordinates(
    entry: str, point: tuple[float, float]
) -> None:
    with pytest.raises(InvalidCoordinates) as caught:
        ENTRY_POINTS[entry](*point)
    bad = point[0] if not -180.0 <= point[0] <= 180.0 else point[1]
    text = str(caught.value)
    assert f"{bad}" in text
    if math.isnan(bad) or math.isinf(bad):
        assert "NaN or infinity" in text
    else:
        assert "outside" in text


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_entry_point_accepts_the_edges(entry: str) -> None:
    for point in [(180.0, 90.0), (-180.0, -90.0), (0.0, 0.0)]:
        ENTRY_POINTS[entry](*point)


def test_distances_refuse_non_numbers() -> None:
    with pytest.raises(InvalidInput, match="lat1 must be a number"):
        haversine_m(0.0, "1", 0.0, 0.0)  # type: ignore[call-overload]
    with pytest.raises(InvalidInput, match="must be a number"):
        geodesic_m(0.0, 0.0, None, 0.0)  # type: ignore[call-overload]


def test_int_coordinates_still_work_in_distances() -> None:
    assert haversine_m(0, 0, 0, 1) == pytest.approx(haversine_m(0.0, 0.0, 0.0, 1.0))


BIG_IDS = [2**53, -(2**53), 2**63, 2**70]


@pytest.mark.parametrize("ident", BIG_IDS)
def test_int_ids_beyond_json_are_refused_everywhere(ident: int) -> None:
    with pytest.raises(InvalidFeature, match="2\\*\\*53"):
        GigIndex([("a", 0.0, 0.0), (ident, 1.0, 1.0)])
    with pytest.raises(InvalidFeature, match="2\\*\\*53"):
        GigIndex.from_geojson([_feature(ident, 1.0, 1.0)])
    index = GigIndex([("a", 0.0, 0.0)])
    with pytest.raises(InvalidFeature, match="2\\*\\*53"):
        index.insert(ident, 1.0, 1.0)
    assert len(index) == 1


def test_the_largest_exact_ids_are_accepted_and_survive_json() -> None:
    import json

    top = 2**53 - 1
    index = GigIndex([(top, 0.0, 0.0), (-top, 1.0, 1.0)])
    back = json.loads(json.dumps(index.to_geojson()), parse_int=float)
    assert [int(f["id"]) for f in back["features"]] == [top, -top]
    assert index.in_bbox_ids(-1, -1, 2, 2) == [top, -top]


SQUARE_WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]],
        [[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]],
    ],
}


def test_within_accepts_a_geojson_polygon_with_a_hole() -> None:
    grid = [(f"{x}:{y}", float(x), float(y)) for x in range(-2, 13) for y in range(-2, 13)]
    index = GigIndex(grid)
    found = {gig.id for gig in index.within(SQUARE_WITH_HOLE)}
    # Oracle by hand: inside the outer square (edges count), not strictly inside the hole.
    expected = {
        ident
        for ident, x, y in grid
        if 0 <= x <= 10 and 0 <= y <= 10 and not (4 < x < 6 and 4 < y < 6)
    }
    assert found == expected
    assert "5:5" not in found
    assert "4:5" in found  # on the hole's edge: covered


@pytest.mark.parametrize(
    ("area", "words"),
    [
        (shapely.LineString([(0, 0), (1, 1)]), "got a LineString"),
        (shapely.Point(0, 0), "got a Point"),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "got a LineString"),
        (
            shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)]),
            "not valid: Self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]},
            "not valid: Self-intersection",
        ),
        ({"type": "Polygon"}, "not a GeoJSON geometry"),
        ({"type": "Blob", "coordinates": []}, "not a GeoJSON geometry"),
        ("POLYGON ((0 0, 1 0, 1 1, 0 0))", "got str"),
    ],
)
def test_within_refuses_what_is_not_a_valid_area(area: object, words: str) -> None:
    index = GigIndex([("a", 1.0, 1.0)])
    with pytest.raises(InvalidGeometry, match=words) as caught:
        index.within(area)
    assert caught.value.code == "invalid_geometry"
    assert isinstance(caught.value, InvalidInput)


def test_clusterer_refuses_a_box_upside_down_like_the_index() -> None:
    clusterer = Clusterer().load_arrays([0.0, 1.0], [0.0, 1.0])
    with pytest.raises(InvalidInput, match="north"):
        clusterer.get_clusters([-10.0, 10.0, 10.0, -10.0], 3)
    with pytest.raises(InvalidInput, match="north"):
        clusterer.get_clusters_arrays([-10.0, 10.0, 10.0, -10.0], 3)
    with pytest.raises(InvalidInput, match="north"):
        GigIndex().in_bbox(-10.0, 10.0, 10.0, -10.0)
    assert len(clusterer.get_clusters([-10.0, -10.0, 10.0, 10.0], 20)) == 2


def test_clusterer_refuses_min_zoom_above_max_zoom() -> None:
    with pytest.raises(InvalidInput, match="min_zoom 10 is above max_zoom 5"):
        Clusterer(min_zoom=10, max_zoom=5)
    assert Clusterer(min_zoom=5, max_zoom=5).min_zoom == 5
    assert Clusterer(min_zoom=31, max_zoom=40).max_zoom == 30
