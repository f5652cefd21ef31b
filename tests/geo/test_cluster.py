"""Clusterer: against a deliberately simple re-implementation of supercluster's greedy pass,
plus paging, validation and error behaviour.

The oracle below follows supercluster's description literally: per zoom, visit records in
order; an unvisited record gathers every unvisited record within the radius (brute force);
enough points make a cluster at the truncated weighted mean, id ``(i << 5) + zoom + 1 + n``;
too few stay as they are, the seed first. It shares no code with the library.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from creditcore._exceptions import InvalidCoordinates, InvalidFeature, InvalidInput, UnknownCluster
from creditcore._geo import cluster_kdbush, cluster_query
from creditcore._geo.cluster_kdbush import jit_kernels, walk_orders
from creditcore.geo import Clusterer

Record = tuple[int, int, int, int]  # x, y, point count, point index or cluster id

WORLD = [-180.0, -90.0, 180.0, 90.0]


def _encode_lng(lng: float) -> int:
    return int((lng / 360 + 0.5 - 0.5) * 2**30)


def _encode_lat(lat: float) -> int:
    s = math.sin(lat * math.pi / 180)
    if s >= 1:
        y = 0.0
    elif s <= -1:
        y = 1.0
    else:
        y = min(1.0, max(0.0, 0.5 - 0.25 * math.log((1 + s) / (1 - s)) / math.pi))
    return int((y - 0.5) * 2**30)


def kd_walk(xy: list[tuple[int, int]], node_size: int) -> list[int]:
    """Record numbers in the order a KDBush tree over ``xy`` answers a query (sequential)."""
    ids = list(range(len(xy)))
    coords = [c for p in xy for c in p]

    def swap(i: int, j: int) -> None:
        ids[i], ids[j] = ids[j], ids[i]
        for a in (0, 1):
            coords[2 * i + a], coords[2 * j + a] = coords[2 * j + a], coords[2 * i + a]

    def select(k: int, left: int, right: int, axis: int) -> None:
        while right > left:
            if right - left > 600:
                n, m = right - left + 1, k - left + 1
                z = math.log(n)
                s = 0.5 * math.exp(2 * z / 3)
                sd = 0.5 * math.sqrt(z * s * (n - s) / n) * (-1 if m - n / 2 < 0 else 1)
                select(
                    k,
                    max(left, math.floor(k - m * s / n + sd)),
                    min(right, math.floor(k + (n - m) * s / n + sd)),
                    axis,
                )
            t = coords[2 * k + axis]
            i, j = left, right
            swap(left, k)
            if coords[2 * right + axis] > t:
                swap(left, right)
            while i < j:
                swap(i, j)
                i, j = i + 1, j - 1
                while coords[2 * i + axis] < t:
                    i += 1
                while coords[2 * j + axis] > t:
                    j -= 1
            if coords[2 * left + axis] == t:
                swap(left, j)
            else:
                j += 1
                swap(j, right)
            if j <= k:
                left = j + 1
            if k <= j:
                right = j - 1

    def sort(left: int, right: int, axis: int) -> None:
        if right - left <= node_size:
            return
        m = (left + right) >> 1
        select(m, left, right, axis)
        sort(left, m - 1, 1 - axis)
        sort(m + 1, right, 1 - axis)

    def walk(left: int, right: int) -> list[int]:
        if right - left <= node_size:
            return ids[left : right + 1]
        m = (left + right) >> 1
        return [ids[m], *walk(m + 1, right), *walk(left, m - 1)]

    sort(0, len(ids) - 1, 0)
    return walk(0, len(ids) - 1)


def oracle(
    points: list[tuple[float, float]],
    *,
    radius: float,
    extent: float,
    min_zoom: int,
    max_zoom: int,
    min_points: int,
    node_size: int,
) -> dict[int, list[Record]]:
    """Each zoom's records, listed in the order supercluster's KD-tree returns them."""
    n = len(points)
    records: list[Record] = [
        (_encode_lng(lng), _encode_lat(lat), 1, i) for i, (lng, lat) in enumerate(points)
    ]
    levels = {max_zoom + 1: records}
    for z in range(max_zoom, min_zoom - 1, -1):
        walk = kd_walk([(x, y) for x, y, _, _ in records], node_size)
        rank = {k: pos for pos, k in enumerate(walk)}
        r = radius / (extent * 2**z) * 2**30
        visited = [False] * len(records)
        out: list[Record] = []
        for i, (x, y, count, _ident) in enumerate(records):
            if visited[i]:
                continue
            visited[i] = True
            near = sorted(
                (
                    k
                    for k, (x2, y2, _, _) in enumerate(records)
                    if not visited[k] and float(x2 - x) ** 2 + float(y2 - y) ** 2 <= r * r
                ),
                key=rank.__getitem__,
            )
            for k in near:
                visited[k] = True
            total = count + sum(records[k][2] for k in near)
            if near and total >= min_points:
                wx = x * count + sum(records[k][0] * records[k][2] for k in near)
                wy = y * count + sum(records[k][1] * records[k][2] for k in near)
                out.append((int(wx / total), int(wy / total), total, (i << 5) + z + 1 + n))
            else:
                out.append(records[i])
                out.extend(records[k] for k in near)
        if len(out) != len(records):
            records = out
        levels[z] = records
    return {
        z: [level[k] for k in kd_walk([(x, y) for x, y, _, _ in level], node_size)]
        for z, level in levels.items()
    }


def _decode_lng(x: int) -> float:
    return (x / 2**30 + 0.5 - 0.5) * 360


def _decode_lat(y: int) -> float:
    m = y / 2**30 + 0.5
    return 360 * math.atan(math.exp((180 - m * 360) * math.pi / 180)) / math.pi - 90


scales = st.sampled_from([1e-5, 1e-3, 0.05, 1.0, 20.0])


@st.composite
def point_sets(draw: st.DrawFn) -> list[tuple[float, float]]:
    scale = draw(scales)
    c_lng = draw(st.floats(-170, 170))
    c_lat = draw(st.floats(-80, 80))
    offsets = st.tuples(st.floats(-1, 1), st.floats(-1, 1))
    pool = draw(st.lists(offsets, min_size=1, max_size=25))
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=45))
    return [
        (
            min(180.0, max(-180.0, c_lng + pool[p][0] * scale)),
            min(90.0, max(-90.0, c_lat + pool[p][1] * scale)),
        )
        for p in picks
    ]


@example(  # too few for a cluster: the absorbed points follow in KD-tree order, not index order
    points=[(0.0, 0.0)] * 4 + [(0.0, 20.0)] * 3,
    radius=10,
    extent=256,
    min_points=4,
    max_zoom=0,
    node_size=2,
)
@given(
    points=point_sets(),
    radius=st.sampled_from([10, 40, 80]),
    extent=st.sampled_from([256, 512]),
    min_points=st.integers(1, 5),
    max_zoom=st.integers(0, 18),
    node_size=st.sampled_from([2, 3, 8, 64]),
)
def test_every_zoom_matches_the_simple_greedy_oracle(
    points: list[tuple[float, float]],
    radius: int,
    extent: int,
    min_points: int,
    max_zoom: int,
    node_size: int,
) -> None:
    expected = oracle(
        points,
        radius=radius,
        extent=extent,
        min_zoom=0,
        max_zoom=max_zoom,
        min_points=min_points,
        node_size=node_size,
    )
    lngs = [p[0] for p in points]
    lats = [p[1] for p in points]
    ours = Clusterer(
        radius=radius, extent=extent, min_points=min_points, max_zoom=max_zoom, node_size=node_size
    )
    ours.load_arrays(lngs, lats)
    for z, records in expected.items():
        got = ours.get_clusters_arrays(WORLD, z)
        mine = list(
            zip(
                got.is_cluster.tolist(),
                np.where(got.is_cluster, got.cluster_id, got.point_index).tolist(),
                got.point_count.tolist(),
                got.lng.tolist(),
                got.lat.tolist(),
                strict=True,
            )
        )
        ref = [
            (
                count > 1,
                ident,
                count,
                _decode_lng(x) if count > 1 else lngs[ident],
                _decode_lat(y) if count > 1 else _decode_lat(_encode_lat(lats[ident])),
            )
            for x, y, count, ident in records
        ]
        assert [r[:3] for r in mine] == [r[:3] for r in ref], f"zoom {z}"
        for a, b in zip(mine, ref, strict=True):
            assert math.isclose(a[3], b[3], abs_tol=1e-9)
            if b[0]:
                assert math.isclose(a[4], b[4], abs_tol=1e-9)


@pytest.mark.parametrize("min_points", [2, 300])
def test_a_dense_pile_matches_the_oracle(min_points: int) -> None:
    # 200 jittered points in one grid cell (a "crowded" cell) among scattered ones
    rng = np.random.default_rng(11)
    pile = np.array([13.4, 52.5]) + rng.normal(0, 2e-5, (200, 2))
    around = np.array([13.4, 52.5]) + rng.normal(0, 0.01, (60, 2))
    pts = np.vstack([pile, around])[rng.permutation(260)]
    points = [(float(a), float(b)) for a, b in pts]
    expected = oracle(
        points, radius=40, extent=512, min_zoom=0, max_zoom=16, min_points=min_points, node_size=64
    )
    ours = Clusterer(min_points=min_points).load_arrays(pts[:, 0], pts[:, 1])
    for z, records in expected.items():
        got = ours.get_clusters_arrays(WORLD, z)
        ident = np.where(got.is_cluster, got.cluster_id, got.point_index).tolist()
        assert ident == [r[3] for r in records], f"zoom {z}"
        assert got.point_count.tolist() == [r[2] for r in records]


def _feature(lng: float, lat: float, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [lng, lat]},
    }


@pytest.fixture
def city() -> Clusterer:
    rng = np.random.default_rng(7)
    lng = 13.4 + rng.normal(0, 0.05, 500)
    lat = 52.5 + rng.normal(0, 0.03, 500)
    return Clusterer().load(
        [_feature(a, b, i=i) for i, (a, b) in enumerate(zip(lng, lat, strict=True))]
    )


def test_zoom_zero_is_one_cluster_holding_every_point_and_its_leaves(city: Clusterer) -> None:
    (top,) = city.get_clusters(WORLD, 0)
    assert top["properties"]["point_count"] == 500
    leaves = city.get_leaves(top["id"], limit=None)
    assert sorted(f["properties"]["i"] for f in leaves) == list(range(500))
    children = city.get_children(top["id"])
    assert sum(f["properties"].get("point_count", 1) for f in children) == 500


def test_leaf_pages_tile_the_full_list(city: Clusterer) -> None:
    (top,) = city.get_clusters(WORLD, 0)
    everything = [f["properties"]["i"] for f in city.get_leaves(top["id"], limit=None)]
    pages = [
        f["properties"]["i"]
        for offset in range(0, 500, 37)
        for f in city.get_leaves(top["id"], limit=37, offset=offset)
    ]
    assert pages == everything
    assert len(city.get_leaves(top["id"])) == 10  # the default limit, as in supercluster
    assert len(city.get_leaves(top["id"], limit=0)) == 10


def test_expansion_zoom_is_where_the_cluster_splits(city: Clusterer) -> None:
    for z in range(14):
        for f in city.get_clusters(WORLD, z):
            if not f["properties"].get("cluster"):
                continue
            at = city.get_cluster_expansion_zoom(f["id"])
            assert at > z
            ids = {g.get("id") for g in city.get_clusters(WORLD, at)}
            assert f["id"] not in ids  # split (or changed) by then


def test_columns_agree_with_the_dicts(city: Clusterer) -> None:
    for z in (0, 5, 9, 12, 17):
        dicts = city.get_clusters([13.0, 52.0, 14.0, 53.0], z)
        cols = city.get_clusters_arrays([13.0, 52.0, 14.0, 53.0], z)
        assert len(cols) == len(dicts)
        assert cols.cluster_id.dtype == cols.point_index.dtype == np.int64
        for j, f in enumerate(dicts):
            p = f["properties"]
            assert bool(cols.is_cluster[j]) == bool(p.get("cluster"))
            assert cols.lng[j] == f["geometry"]["coordinates"][0]
            if p.get("cluster"):
                assert cols.cluster_id[j] == p["cluster_id"] == f["id"]
            else:
                assert cols.point_index[j] == p["i"]


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (999, 999),
        (1000, "1k"),
        (1049, "1k"),
        (1050, "1.1k"),
        (1250, "1.3k"),
        (9949, "9.9k"),
        (9950, "10k"),
        (10000, "10k"),
        (12500, "13k"),
        (123456, "123k"),
    ],
)
def test_point_count_abbreviated_like_supercluster(count: int, expected: int | str) -> None:
    ours = Clusterer(max_zoom=0).load_arrays(np.full(count, 10.0), np.full(count, 20.0))
    (cluster,) = ours.get_clusters(WORLD, 0)
    assert cluster["properties"]["point_count"] == count
    assert cluster["properties"]["point_count_abbreviated"] == expected


def test_map_reduce_sums_budgets_across_zooms(city: Clusterer) -> None:
    budgets = list(range(500))
    ours = Clusterer(
        map=lambda p: {"budget": p["budget"]},
        reduce=lambda a, p: a.update(budget=a["budget"] + p["budget"]),
    )
    rng = np.random.default_rng(3)
    ours.load_arrays(
        rng.uniform(13, 14, 500), rng.uniform(52, 53, 500), [{"budget": b} for b in budgets]
    )
    for z in (0, 6, 10):
        features = ours.get_clusters(WORLD, z)
        total = sum(f["properties"]["budget"] for f in features)
        assert total == sum(budgets)
        for f in features:
            if f["properties"].get("cluster"):
                leaves = ours.get_leaves(f["id"], limit=None)
                assert f["properties"]["budget"] == sum(x["properties"]["budget"] for x in leaves)


def test_bad_coordinates_name_the_point_and_keep_the_previous_load(city: Clusterer) -> None:
    before = city.get_clusters(WORLD, 3)
    with pytest.raises(InvalidCoordinates, match="point 2"):
        city.load_arrays([0.0, 1.0, 181.0], [0.0, 1.0, 2.0])
    with pytest.raises(InvalidCoordinates, match="point 1"):
        city.load_arrays([0.0, float("nan")], [0.0, 1.0])
    with pytest.raises(InvalidCoordinates, match="feature 1"):
        city.load([_feature(0, 0), _feature(0, 91)])
    with pytest.raises(InvalidFeature, match="feature 1"):
        city.load([_feature(0, 0), {"type": "Feature", "geometry": None, "properties": {}}])
    with pytest.raises(InvalidFeature):
        city.load_arrays([0.0, 1.0], [0.0])
    assert city.get_clusters(WORLD, 3) == before


@pytest.mark.parametrize("bad", [-1, 0, 499, 500, 501, 532, 10**9, True, "x", 1.5])
def test_unknown_cluster_ids_are_refused(city: Clusterer, bad: Any) -> None:
    with pytest.raises(UnknownCluster):
        city.get_children(bad)
    with pytest.raises(UnknownCluster):
        city.get_leaves(bad)
    with pytest.raises(UnknownCluster):
        city.get_cluster_expansion_zoom(bad)


@pytest.mark.parametrize(
    "options",
    [
        {"radius": -1},
        {"radius": "40"},
        {"extent": -1},
        {"min_zoom": -1},
        {"max_zoom": 1.5},
        {"min_points": True},
        {"reduce": 3},
    ],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        Clusterer(**options)


def test_max_zoom_is_capped_at_30_and_high_zooms_serve_raw_points() -> None:
    ours = Clusterer(max_zoom=40).load_arrays([0.0, 0.0], [0.0, 0.0])
    assert ours.max_zoom == 30
    assert len(ours.get_clusters(WORLD, 31)) == 2
    assert len(ours.get_clusters(WORLD, 30)) == 1


def test_empty_tiles_are_none_and_tiles_hold_pixel_coordinates(city: Clusterer) -> None:
    assert city.get_tile(3, 0, 0) is None
    tile = city.get_tile(0, 0, 0)
    assert tile is not None
    (feature,) = tile["features"]
    x, y = feature["geometry"][0]
    # Berlin at 13.4E 52.5N: x = (13.4/360 + 0.5) * 512, y near 0.33 of the map height
    assert abs(x - (13.4 / 360 + 0.5) * 512) < 1.0
    assert 160 < y < 180


def test_queries_before_any_load_are_empty() -> None:
    ours = Clusterer()
    assert ours.get_clusters(WORLD, 5) == []
    assert ours.get_tile(0, 0, 0) is None
    with pytest.raises(UnknownCluster):
        ours.get_children(0)


# --- the KD layout: numpy lockstep and compiled kernels against the sequential KDBush ---------

coordinate_spans = st.sampled_from([2, 50, 2**29])  # ties everywhere .. almost none


@settings(max_examples=30)  # the sequential oracle is slow; 30 cases cover both selections
@given(
    sizes=st.lists(st.integers(0, 1300), min_size=1, max_size=4),
    span=coordinate_spans,
    node_size=st.sampled_from([2, 3, 8, 64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_layouts_of_many_levels_at_once_are_kdbush_s(
    sizes: list[int], span: int, node_size: int, seed: int
) -> None:
    # ranges above 600 records take Floyd-Rivest's sampled selection, the rest plain Hoare
    rng = np.random.default_rng(seed)
    xs = [rng.integers(-span, span, n).astype(np.int32) for n in sizes]
    ys = [rng.integers(-span, span, n).astype(np.int32) for n in sizes]
    engines = [False] + ([True] if jit_kernels() is not None else [])
    for jit in engines:
        walks = walk_orders(xs, ys, node_size, jit=jit)
        for x, y, walk in zip(xs, ys, walks, strict=True):
            expected = kd_walk(list(zip(x.tolist(), y.tolist(), strict=True)), node_size)
            assert walk.tolist() == expected, f"jit={jit}"


def _answers(ours: Clusterer) -> list[Any]:
    out: list[Any] = []
    for z in range(ours.min_zoom, ours.max_zoom + 2):
        got = ours.get_clusters_arrays(WORLD, z)
        out.append((z, got.cluster_id.tolist(), got.point_index.tolist()))
        out.append(ours.get_clusters_arrays([13.0, 52.3, 13.5, 52.6], z).point_count.tolist())
        for cid in got.cluster_id[got.is_cluster][:20].tolist():
            out.append([f.get("id") for f in ours.get_children(cid)])
            out.append([f["properties"]["i"] for f in ours.get_leaves(cid, limit=7, offset=3)])
    tile = ours.get_tile(9, 274, 167)
    out.append(None if tile is None else [f["geometry"] for f in tile["features"]])
    return out


@pytest.fixture
def city_points() -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    rng = np.random.default_rng(21)
    lng = np.concatenate((13.4 + rng.normal(0, 0.05, 3000), rng.uniform(-180, 180, 1000)))
    lat = np.concatenate((52.5 + rng.normal(0, 0.03, 3000), rng.uniform(-85, 85, 1000)))
    return lng, lat, [{"i": i} for i in range(lng.size)]


def test_a_lazy_load_answers_exactly_as_the_eager_default(
    city_points: tuple[np.ndarray, np.ndarray, list[dict[str, Any]]],
) -> None:
    lng, lat, props = city_points
    eager = Clusterer(min_points=3).load_arrays(lng, lat, props)
    lazy = Clusterer(min_points=3, lazy=True).load_arrays(lng, lat, props)
    levels = {id(level): level for level in eager._state.levels.values()}.values()
    assert all(level.walked for level in levels), "load builds every level's layout"
    assert not any(level.walked for level in lazy._state.levels.values())
    assert _answers(lazy) == _answers(eager)


def test_without_numba_the_numpy_layouts_give_the_same_answers(
    city_points: tuple[np.ndarray, np.ndarray, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lng, lat, props = city_points
    expected = _answers(Clusterer().load_arrays(lng, lat, props))
    monkeypatch.setattr(cluster_kdbush, "jit_kernels", lambda: None)
    monkeypatch.setattr(cluster_query, "jit_kernels", lambda: None)
    assert _answers(Clusterer().load_arrays(lng, lat, props)) == expected
