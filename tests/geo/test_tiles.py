"""Vector tiles and viewports: MVT decoded by an independent decoder, the tile endpoint, viewports.

Tiles are decoded with ``mapbox-vector-tile`` (not our encoder's code) and compared with the
GeoJSON (geojson-vt) form of the same tile and with brute-force answers: each cluster's
``bbox`` against the extent of its leaves, its ``expansion_zoom`` against the zoom where a
viewport first shows more than one of its points' parents.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditcore import InvalidInput, InvalidTile
from creditcore.geo import Clusterer, VectorTiles

WORLD = [-180.0, -90.0, 180.0, 90.0]


def _decode(tile: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = mapbox_vector_tile.decode(
        tile, default_options={"y_coord_down": True}
    )
    return decoded


CITIES: dict[int, tuple[int, int]] = {}


def _city_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lng = np.clip(rng.normal(13.4, 0.25, n), -180, 180)
    lat = np.clip(rng.normal(52.5, 0.15, n), -90, 90)
    return lng, lat


def _city(n: int, seed: int = 7) -> Clusterer:
    lng, lat = _city_points(n, seed)
    props = [{"i": i, "budget": i % 40} for i in range(n)]
    c = Clusterer(
        map=lambda p: {"budget": p["budget"]},
        reduce=lambda acc, p: acc.update(budget=acc["budget"] + p["budget"]),
    ).load_arrays(lng, lat, props, ids=[f"gig-{i}" for i in range(n)])
    CITIES[id(c)] = (seed, n)
    return c


@pytest.fixture
def city() -> Clusterer:
    return _city(4000)


def _tiles_with_features(c: Clusterer, z: int) -> list[tuple[int, int, int]]:
    """Every non-empty tile of zoom z (found from the features of the world)."""
    found = set()
    for f in c.get_clusters(WORLD, z):
        lng, lat = f["geometry"]["coordinates"]
        x = int((lng + 180) / 360 * 2**z)
        s = math.sin(math.radians(lat))
        y = int((0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * 2**z)
        found.add((z, min(x, 2**z - 1), min(max(y, 0), 2**z - 1)))
    return sorted(found)


@pytest.mark.parametrize("z", [0, 4, 9, 13, 16])
def test_mvt_tiles_decode_to_the_geojson_vt_tiles(city: Clusterer, z: int) -> None:
    for tz, tx, ty in _tiles_with_features(city, z):
        json_tile = city.get_tile(tz, tx, ty)
        raw = city.get_tile(tz, tx, ty, format="mvt")
        assert json_tile is not None
        assert isinstance(raw, bytes)
        layer = _decode(raw)["clusters"]
        assert layer["extent"] == 512
        assert len(layer["features"]) == len(json_tile["features"])
        for mine, ref in zip(layer["features"], json_tile["features"], strict=True):
            assert mine["type"] == "Feature"
            assert mine["geometry"]["coordinates"] == ref["geometry"][0]
            props = mine["properties"]
            if ref["tags"].get("cluster"):
                assert mine["id"] == ref["id"] == props["cluster_id"]
                for key in ("cluster", "cluster_id", "point_count", "budget"):
                    assert props[key] == ref["tags"][key]
                assert props["point_count_abbreviated"] == ref["tags"]["point_count_abbreviated"]
            else:
                i = ref["tags"]["i"]
                assert mine["id"] == i  # a point's id is its position in the loaded data
                assert props == {"i": i, "budget": i % 40, "point_id": f"gig-{i}"}


def _leaf_extent(c: Clusterer, cluster_id: int) -> list[float]:
    """The extent of a cluster's leaves, from the coordinates the test loaded."""
    seed, n = CITIES[id(c)]
    lng, lat = _city_points(n, seed)
    which = [f["properties"]["i"] for f in c.get_leaves(cluster_id, limit=None)]
    return [
        float(lng[which].min()),
        float(lat[which].min()),
        float(lng[which].max()),
        float(lat[which].max()),
    ]


def _expansion_oracle(c: Clusterer, cluster_id: int, zoom: int, count: int) -> int:
    """First zoom above ``zoom`` where the cluster's points are not all in one feature."""
    leaves = {f["properties"]["i"] for f in c.get_leaves(cluster_id, limit=None)}
    for z in range(zoom + 1, c.max_zoom + 2):
        for f in c.get_clusters(WORLD, z):
            p = f["properties"]
            members = (
                {g["properties"]["i"] for g in c.get_leaves(f["id"], limit=None)}
                if p.get("cluster")
                else {p["i"]}
            )
            if members & leaves:
                if len(members) != count:
                    return z
                break
    return c.max_zoom + 1


def test_cluster_bbox_and_expansion_zoom_against_brute_force() -> None:
    c = _city(600, seed=3)
    checked = 0
    for z in (2, 8, 11, 14):
        for tz, tx, ty in _tiles_with_features(c, z):
            layer = _decode(c.get_tile(tz, tx, ty, format="mvt"))["clusters"]
            for f in layer["features"]:
                p = f["properties"]
                if not p.get("cluster"):
                    continue
                assert json.loads(p["bbox"]) == _leaf_extent(c, p["cluster_id"])
                if checked < 25:
                    oracle = _expansion_oracle(c, p["cluster_id"], tz, p["point_count"])
                    assert p["expansion_zoom"] == oracle
                checked += 1
    assert checked > 25


def test_viewport_is_a_feature_collection_of_get_clusters(city: Clusterer) -> None:
    box = [13.2, 52.3, 13.6, 52.7]
    for zoom in (6, 10, 12, 15):
        fc = city.viewport(box, zoom)
        assert fc["type"] == "FeatureCollection"
        json.dumps(fc)  # serialisable as it is
        plain = city.get_clusters(box, zoom)
        assert len(fc["features"]) == len(plain)
        for v, g in zip(fc["features"], plain, strict=True):
            assert v["geometry"] == g["geometry"]
            assert isinstance(v["id"], int)
            if g["properties"].get("cluster"):
                assert v["id"] == g["id"]
                assert v["properties"]["bbox"] == _leaf_extent(city, g["id"])
                assert v["properties"]["expansion_zoom"] == city.get_cluster_expansion_zoom(g["id"])
            else:
                i = g["properties"]["i"]
                assert v["id"] == i
                assert v["properties"]["point_id"] == g["id"] == f"gig-{i}"
        arrays = city.viewport_arrays(box, zoom)
        assert arrays.point_count.tolist() == [
            f["properties"].get("point_count", 1) for f in fc["features"]
        ]


def test_viewport_across_the_antimeridian_joins_both_sides() -> None:
    rng = np.random.default_rng(11)
    lng = np.concatenate((rng.uniform(170, 180, 300), rng.uniform(-180, -170, 300)))
    lat = rng.uniform(-20, 20, 600)
    c = Clusterer().load_arrays(lng, lat)
    for zoom in (3, 8, 17):
        across = c.viewport([175, -10, -175, 10], zoom)["features"]
        east = c.viewport([175, -10, 180, 10], zoom)["features"]
        west = c.viewport([-180, -10, -175, 10], zoom)["features"]
        assert [f["id"] for f in across] == [f["id"] for f in east + west]
        if zoom == 17:  # raw points: exactly those inside the two boxes
            inside = np.flatnonzero(((lng >= 175) | (lng <= -175)) & (np.abs(lat) <= 10))
            assert sorted(f["id"] for f in across) == inside.tolist()


def test_property_values_are_written_as_vt_pbf_writes_them() -> None:
    props = {
        "text": "Zoë",
        "yes": True,
        "no": False,
        "count": 7,
        "negative": -3,
        "big": 2**40,
        "ratio": 0.25,
        "whole": 2.0,
        "missing": None,
        "nested": {"a": [1, 2]},
        "price": Decimal("9.90"),
    }
    c = Clusterer().load_arrays([10.0], [20.0], [props], ids=[42])
    (f,) = _decode(c.get_tile(0, 0, 0, format="mvt"))["clusters"]["features"]
    assert f["properties"] == {
        "text": "Zoë",
        "yes": True,
        "no": False,
        "count": 7,
        "negative": -3,
        "big": 2**40,
        "ratio": 0.25,
        "whole": 2,
        "nested": '{"a":[1,2]}',
        "price": "9.90",
        "point_id": 42,
    }
    assert f["id"] == 0


def test_tile_endpoint_statuses_etags_and_cache(city: Clusterer) -> None:
    tiles = VectorTiles(city, layer="gigs", cache_size=8)
    full = tiles(10, 550, 335)
    assert full.status == 200
    assert full.media_type == "application/vnd.mapbox-vector-tile"
    assert _decode(full.body)["gigs"]["features"]
    assert full.headers["Content-Type"] == full.media_type
    assert tiles(10, 550, 335) is full  # cached
    assert tiles(10, 550, 335, if_none_match=full.etag).status == 304
    assert tiles(10, 550, 335, if_none_match='"other", ' + full.etag).body == b""
    empty = tiles(10, 0, 0)
    assert (empty.status, empty.body) == (204, b"")
    assert "Content-Type" not in empty.headers
    for i in range(20):
        tiles(12, i, i)
    assert len(tiles._cache) == 8
    # new data: new tiles and new ETags for the same address
    lng, lat = _city_points(500, seed=99)
    tiles.clusterer.load_arrays(lng, lat, [{"i": i, "budget": 1} for i in range(500)])
    again = tiles(10, 550, 335)
    assert again.etag != full.etag


def test_tile_addresses_off_the_grid_are_refused(city: Clusterer) -> None:
    tiles = VectorTiles(city)
    for z, x, y in [(-1, 0, 0), (31, 0, 0), (0, 1, 0), (0, 0, 1), (3, 8, 0), (3, -1, 2)]:
        with pytest.raises(InvalidTile) as err:
            tiles(z, x, y)
        assert err.value.code == "invalid_tile"
        assert isinstance(err.value, ValueError)
    for bad in (1.0, "1", True, None):
        with pytest.raises(InvalidTile):
            tiles(bad, 0, 0)
    with pytest.raises(InvalidTile):
        city.get_tile(2, 4, 0, format="mvt")
    with pytest.raises(InvalidInput):
        city.get_tile(0, 0, 0, format="png")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        VectorTiles(city, layer="")


points = st.lists(
    st.tuples(
        st.floats(-180, 180, allow_nan=False),
        st.floats(-85, 85, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=15)
@given(pts=points, z=st.integers(0, 6), data=st.data())
def test_every_tile_feature_decodes_inside_its_buffer(
    pts: list[tuple[float, float]], z: int, data: st.DataObject
) -> None:
    c = Clusterer(radius=60, extent=256).load_arrays([p[0] for p in pts], [p[1] for p in pts])
    x = data.draw(st.integers(0, 2**z - 1))
    y = data.draw(st.integers(0, 2**z - 1))
    raw = c.get_tile(z, x, y, format="mvt")
    json_tile = c.get_tile(z, x, y)
    if json_tile is None:
        assert raw is None
        return
    layer = _decode(raw)["clusters"]
    assert layer["extent"] == 256
    assert [f["geometry"]["coordinates"] for f in layer["features"]] == [
        f["geometry"][0] for f in json_tile["features"]
    ]
    buffer = 60
    counts: dict[int, int] = {}
    for f in layer["features"]:
        fx, fy = f["geometry"]["coordinates"]
        assert -buffer - 1 <= fx <= 256 + buffer + 1
        assert -buffer - 1 <= fy <= 256 + buffer + 1
        counts[f["id"]] = f["properties"].get("point_count", 1)  # wrapped copies share an id
    assert sum(counts.values()) <= len(pts)
