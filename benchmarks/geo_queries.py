"""Query rows of the geo benchmark: GigIndex against rtree, shapely STRtree, BallTree, geokdbush.

For each size (10k, 100k, 1M points) and data set (``uniform`` over the sphere, ``city``: 200
Gaussian blobs a few tens of km wide), side by side in one run:

- index build time (GigIndex from records; the peers' own builds) and memory;
- ``in_bbox`` with ``limit=100`` over 1°×1° viewports vs a bare ``rtree`` ``intersection``
  (all ids, no order) and shapely ``STRtree.query``;
- ``near`` (the 100 nearest within 10 km) vs scikit-learn ``BallTree(metric="haversine")``
  ``query_radius`` (sorted, cut to 100), shapely ``STRtree`` (box query + haversine + sort),
  ``rtree.nearest`` (100 nearest in planar degrees, then cut at 10 km) and geokdbush in Node
  (installed with npm into a temporary folder, timed inside node).

Per-query figures are in µs: the queries are cut into chunks of 50, every pass times each
chunk with each contender in turn, and a contender's figure sums its best time per chunk over
``--repeat`` passes (geokdbush does the same inside node). On a shared machine this keeps
bursts of other work out of the figures and gives the contenders the same conditions.
Goals (issue 4), at 1M: ``near`` with limit 100 faster than BallTree and within 1.5× of
geokdbush; ``in_bbox`` with a limit faster than the bare rtree query.

Run::

    .venv/bin/python benchmarks/geo_queries.py                    # 10k, 100k, 1M
    .venv/bin/python benchmarks/geo_queries.py --sizes 10000,100000 --queries 500

It prints a table and writes ``benchmarks/results/geo_queries.json``. ``benchmarks/geo.py``
calls :func:`run_queries` and :func:`format_table` to add these rows to its own report.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil
import shapely
from rtree import index as rtree_index

from creditcore.geo import EARTH_RADIUS_M, GigIndex, haversine_m

__all__ = [
    "DEFAULT_SIZES",
    "format_table",
    "main",
    "make_points",
    "run_queries",
    "write_json",
]

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
KINDS = ("uniform", "city")
RADIUS_M = 10_000.0
LIMIT = 100
BOX_DEG = 1.0
CITY_BOX_DEG = 0.25  # a city-sized box, about 28 km wide: the STRtree comparison of issue 11
_CHUNK = 50  # queries per timed chunk

FloatArray = npt.NDArray[np.float64]

_NODE_SCRIPT = r"""
import fs from 'fs';
import KDBush from 'kdbush';
import {around} from 'geokdbush';
const [pointsFile, queriesFile, limit, radiusKm, repeat] = process.argv.slice(2);
const read = (f) => { const b = fs.readFileSync(f); return new Float64Array(b.buffer, b.byteOffset, b.length / 8); };
const pts = read(pointsFile), qs = read(queriesFile);
const n = pts.length / 2, m = qs.length / 2;
let t0 = performance.now();
const index = new KDBush(n);
for (let i = 0; i < n; i++) index.add(pts[2 * i], pts[2 * i + 1]);
index.finish();
const buildS = (performance.now() - t0) / 1000;
const chunk = 50, chunks = Math.ceil(m / chunk);
const best = new Array(chunks).fill(Infinity);
let hits = 0;
for (let rep = 0; rep <= +repeat; rep++) {  // pass 0 warms the JIT up
  hits = 0;
  for (let c = 0; c < chunks; c++) {
    const t = performance.now();
    for (let i = c * chunk; i < Math.min(m, (c + 1) * chunk); i++) hits += around(index, qs[2 * i], qs[2 * i + 1], +limit, +radiusKm).length;
    const dt = performance.now() - t;
    if (rep > 0 && dt < best[c]) best[c] = dt;
  }
}
const total = best.reduce((a, b) => a + b, 0);
console.log(JSON.stringify({build_s: buildS, near_us: total * 1000 / m, mean_hits: hits / m}));
"""


# --- data ----------------------------------------------------------------------------------------


def make_points(n: int, kind: str, seed: int = 42) -> tuple[FloatArray, FloatArray]:
    """``n`` points: ``uniform`` over the sphere, or ``city`` (200 blobs, σ ≈ 15 km)."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        lng = rng.uniform(-180.0, 180.0, n)
        lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
        return lng, lat
    centres = _city_centres(seed)
    which = rng.integers(0, len(centres), n)
    lng = centres[which, 0] + rng.normal(0.0, 0.15, n)
    lat = centres[which, 1] + rng.normal(0.0, 0.1, n)
    lng = (lng + 180.0) % 360.0 - 180.0
    return lng, np.clip(lat, -90.0, 90.0)


def _city_centres(seed: int) -> FloatArray:
    rng = np.random.default_rng(seed + 1)
    return np.column_stack((rng.uniform(-180.0, 180.0, 200), rng.uniform(-60.0, 70.0, 200)))


def make_queries(count: int, kind: str, seed: int = 7) -> FloatArray:
    """Query centres: anywhere for ``uniform``, around the blobs' centres for ``city``."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return np.column_stack((rng.uniform(-179.0, 179.0, count), rng.uniform(-80.0, 80.0, count)))
    centres = _city_centres(42)[rng.integers(0, 200, count)]
    jitter = rng.normal(0.0, 0.1, (count, 2))
    points = centres + jitter
    points[:, 0] = np.clip(points[:, 0], -179.0, 179.0)
    return points


# --- timing helpers ------------------------------------------------------------------------------


def _interleaved_us(
    calls: dict[str, Callable[[float, float], object]], queries: FloatArray, repeat: int
) -> dict[str, float]:
    """µs per query of each call, robust to a busy machine.

    The queries are cut into chunks of 50; each pass times every chunk with every call in
    turn, and a call's figure is the sum over chunks of its best time for that chunk (over
    ``repeat`` passes), divided by the number of queries. A burst of other work spoils a chunk
    of one pass, not the figure, and the contenders see the same conditions.
    """
    pairs = queries.tolist()
    chunks = [pairs[at : at + _CHUNK] for at in range(0, len(pairs), _CHUNK)]
    best = {name: [math.inf] * len(chunks) for name in calls}
    for call in calls.values():
        for x, y in pairs[:50]:  # warm caches and lazy imports
            call(x, y)
    clock = time.perf_counter
    for _ in range(repeat):
        for at, chunk in enumerate(chunks):
            for name, call in calls.items():
                start = clock()
                for x, y in chunk:
                    call(x, y)
                elapsed = clock() - start
                if elapsed < best[name][at]:
                    best[name][at] = elapsed
    return {name: sum(times) / len(pairs) * 1e6 for name, times in best.items()}


def _mean_len(call: Callable[[float, float], Any], queries: FloatArray) -> float:
    return sum(len(call(x, y)) for x, y in queries.tolist()) / len(queries)


def _timed(build: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = build()
    return value, time.perf_counter() - start


def _memory(build: Callable[[], Any]) -> tuple[Any, float, float]:
    """Build something; return it, the RSS growth it kept and tracemalloc's peak, in MB."""
    process = psutil.Process()
    before = process.memory_info().rss
    tracemalloc.start()
    value = build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return value, (process.memory_info().rss - before) / 2**20, peak / 2**20


# --- peers ---------------------------------------------------------------------------------------


def _balltree(lng: FloatArray, lat: FloatArray) -> Callable[[float, float], object] | None:
    try:
        from sklearn.neighbors import BallTree
    except ImportError:  # pragma: no cover - the bench extra installs it
        return None
    tree = BallTree(np.radians(np.column_stack((lat, lng))), metric="haversine")
    radius = RADIUS_M / EARTH_RADIUS_M

    def near(x: float, y: float) -> object:
        ind, dist = tree.query_radius(
            np.radians([[y, x]]), r=radius, return_distance=True, sort_results=True
        )
        return ind[0][:LIMIT], dist[0][:LIMIT]

    return near


Calls = tuple[
    Callable[[float, float], object],
    Callable[[float, float], object],
    Callable[[float, float], object],
]


def _strtree(lng: FloatArray, lat: FloatArray) -> Calls:
    tree = shapely.STRtree(shapely.points(lng, lat))
    half = BOX_DEG / 2.0
    city = CITY_BOX_DEG / 2.0

    def bbox(x: float, y: float) -> object:
        return tree.query(shapely.box(x - half, y - half, x + half, y + half))

    def city_box(x: float, y: float) -> object:
        return tree.query(shapely.box(x - city, y - city, x + city, y + city))

    def near(x: float, y: float) -> object:
        dlat = math.degrees(RADIUS_M / EARTH_RADIUS_M)
        dlng = dlat / max(math.cos(math.radians(abs(y) + dlat)), 1e-9)
        found = tree.query(shapely.box(x - dlng, y - dlat, x + dlng, y + dlat))
        dist = haversine_m(x, y, lng[found], lat[found])
        keep = dist <= RADIUS_M
        order = np.argsort(dist[keep], kind="stable")[:LIMIT]
        return found[keep][order]

    return bbox, near, city_box


def _rtree_peer(lng: FloatArray, lat: FloatArray) -> Calls:
    points = np.column_stack((lng, lat))
    tree = rtree_index.Index((np.arange(lng.size, dtype=np.int64), points, points))
    half = BOX_DEG / 2.0
    city = CITY_BOX_DEG / 2.0

    def bbox(x: float, y: float) -> object:
        return list(tree.intersection((x - half, y - half, x + half, y + half)))

    def city_box(x: float, y: float) -> object:
        return list(tree.intersection((x - city, y - city, x + city, y + city)))

    def near(x: float, y: float) -> object:
        found = np.fromiter(tree.nearest((x, y, x, y), LIMIT), dtype=np.int64)
        dist = haversine_m(x, y, lng[found], lat[found])
        return found[dist <= RADIUS_M]

    return bbox, near, city_box


def _geokdbush(
    lng: FloatArray, lat: FloatArray, queries: FloatArray, repeat: int, node_dir: Path | None
) -> dict[str, Any] | None:
    if node_dir is None:
        return None
    with tempfile.TemporaryDirectory(prefix="geo-queries-") as tmp:
        points_file = Path(tmp) / "points.bin"
        queries_file = Path(tmp) / "queries.bin"
        np.column_stack((lng, lat)).astype(np.float64).tofile(points_file)
        np.ascontiguousarray(queries, dtype=np.float64).tofile(queries_file)
        args = [str(points_file), str(queries_file), str(LIMIT), str(RADIUS_M / 1000.0)]
        done = _run(["node", str(node_dir / "bench.mjs"), *args, str(repeat)], node_dir)
    if done is None:
        return None
    result: dict[str, Any] = json.loads(done.strip().splitlines()[-1])
    return result


def _run(command: list[str], cwd: Path | None = None) -> str | None:
    """Run a command; its stdout, or None (and a note on stderr) when it fails."""
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, timeout=600, check=False
    )
    if done.returncode != 0:
        print(f"{' '.join(command[:3])} failed: {done.stderr.strip()[:300]}", file=sys.stderr)
        return None
    return done.stdout


def install_geokdbush(folder: Path) -> Path | None:
    """``npm install geokdbush kdbush`` into ``folder``; None when node or npm is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    if _run(["npm", "install", "--silent", "--prefix", str(folder), "geokdbush", "kdbush"]) is None:
        return None
    (folder / "package.json").write_text('{"type": "module"}\n')
    (folder / "bench.mjs").write_text(_NODE_SCRIPT)
    return folder


# --- structures for box queries ------------------------------------------------------------------


class PackedRTree:
    """A packed (STR) R-tree of points in numpy, two levels: the third contender for boxes.

    Points are sorted into leaves of 64 by Sort-Tile-Recursive (slices by longitude, then by
    latitude within a slice); leaves are grouped 64 to a node the same way. A query tests every
    node box at once, then the leaves of the nodes it hits, then their points, all vectorised.
    """

    def __init__(self, lng: FloatArray, lat: FloatArray, leaf: int = 64) -> None:
        order = self._str_order(lng, lat, leaf)
        self.ids = order
        self.lng = lng[order]
        self.lat = lat[order]
        count = lng.size
        starts = np.arange(0, count, leaf)
        self.leaf = leaf
        self.leaf_box = np.column_stack(
            (
                np.minimum.reduceat(self.lng, starts),
                np.minimum.reduceat(self.lat, starts),
                np.maximum.reduceat(self.lng, starts),
                np.maximum.reduceat(self.lat, starts),
            )
        )
        nodes = np.arange(0, len(starts), leaf)
        self.node_box = np.column_stack(
            (
                np.minimum.reduceat(self.leaf_box[:, 0], nodes),
                np.minimum.reduceat(self.leaf_box[:, 1], nodes),
                np.maximum.reduceat(self.leaf_box[:, 2], nodes),
                np.maximum.reduceat(self.leaf_box[:, 3], nodes),
            )
        )

    @staticmethod
    def _str_order(lng: FloatArray, lat: FloatArray, leaf: int) -> npt.NDArray[np.int64]:
        count = lng.size
        slices = max(1, math.ceil(math.sqrt(count / leaf)))
        by_lng = np.argsort(lng, kind="stable")
        per = math.ceil(count / slices)
        parts = []
        for at in range(0, count, per):
            part = by_lng[at : at + per]
            parts.append(part[np.argsort(lat[part], kind="stable")])
        return np.concatenate(parts).astype(np.int64)

    @staticmethod
    def _hits(boxes: FloatArray, w: float, s: float, e: float, n: float) -> npt.NDArray[np.intp]:
        return np.flatnonzero(
            (boxes[:, 0] <= e) & (boxes[:, 2] >= w) & (boxes[:, 1] <= n) & (boxes[:, 3] >= s)
        )

    def query(self, w: float, s: float, e: float, n: float) -> npt.NDArray[np.int64]:
        """Ids of the points in the box (no order)."""
        nodes = self._hits(self.node_box, w, s, e, n)
        if not nodes.size:
            return np.empty(0, dtype=np.int64)
        leaves = (nodes[:, None] * self.leaf + np.arange(self.leaf)).ravel()
        leaves = leaves[leaves < len(self.leaf_box)]
        leaves = leaves[self._hits(self.leaf_box[leaves], w, s, e, n)]
        if not leaves.size:
            return np.empty(0, dtype=np.int64)
        at = (leaves[:, None] * self.leaf + np.arange(self.leaf)).ravel()
        at = at[at < self.lng.size]
        x, y = self.lng[at], self.lat[at]
        inside = (x >= w) & (x <= e) & (y >= s) & (y <= n)
        return self.ids[at[inside]]


def _cpu_timed(build: Callable[[], Any], times: int = 3) -> tuple[Any, float, float, float]:
    """Build ``times`` times; the last value, and the median wall, its spread, median CPU (s)."""
    walls: list[float] = []
    cpus: list[float] = []
    value: Any = None
    for _ in range(times):
        value = None
        start, cpu = time.perf_counter(), time.process_time()
        value = build()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    walls.sort()
    return value, walls[len(walls) // 2], walls[-1] - walls[0], sorted(cpus)[len(cpus) // 2]


# --- PostGIS ----------------------------------------------------------------------------------------


def _postgis_rows(
    n: int,
    kind: str,
    index: GigIndex,
    lng: FloatArray,
    lat: FloatArray,
    centres: FloatArray,
    dsn: str,
    repeat: int,
) -> dict[str, Any]:
    """PostGISGigStore beside GigIndex: load, queries, from_store, sync costs and lag."""
    import psycopg
    from psycopg import sql

    from creditcore.stores.postgis import PostGISGigStore

    schema = f"bench_gigs_{os.getpid()}"
    out: dict[str, Any] = {}
    store = PostGISGigStore(dsn, schema=schema)
    try:
        records = list(zip(range(n), lng.tolist(), lat.tolist(), strict=True))
        _, out["pg_load_s"] = _timed(lambda: store.insert_many(records))
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("VACUUM ANALYZE {}.gigs").format(sql.Identifier(schema)))
        built, wall, spread, cpu = _cpu_timed(lambda: GigIndex.from_store(store))
        out.update(from_store_s=wall, from_store_spread_s=spread, from_store_cpu_s=cpu)
        half = BOX_DEG / 2.0
        hexagon = [
            (math.cos(t) * half, math.sin(t) * half) for t in np.linspace(0.0, 2 * math.pi, 7)[:-1]
        ]

        def area(x: float, y: float) -> shapely.Polygon:
            return shapely.Polygon([(x + a, y + b) for a, b in hexagon])

        few = centres[: max(50, len(centres) // 5)]
        calls: dict[str, Callable[[float, float], object]] = {
            "pg_near_us": lambda x, y: store.near(x, y, RADIUS_M, limit=LIMIT),
            "pg_bbox_us": lambda x, y: store.in_bbox(x - half, y - half, x + half, y + half, LIMIT),
            "pg_within_us": lambda x, y: store.within(area(x, y), limit=LIMIT),
            "mem_near_us": lambda x, y: index.near(x, y, RADIUS_M, limit=LIMIT),
            "mem_bbox_us": lambda x, y: index.in_bbox(
                x - half, y - half, x + half, y + half, LIMIT
            ),
            "mem_within_us": lambda x, y: index.within(area(x, y), limit=LIMIT),
        }
        out.update(_interleaved_us(calls, few, max(1, repeat // 2)))
        out["pg_queries"] = len(few)
        rng = np.random.default_rng(5)
        for count in (1, 1_000, 100_000):
            if count > n:
                continue
            start = time.perf_counter()
            if count == 1:
                store.update(int(rng.integers(0, n)), lng=float(rng.uniform(-180, 180)))
            else:
                base = 10_000_000 + count
                store.insert_many(
                    [
                        (base + k, float(x), float(y))
                        for k, (x, y) in enumerate(
                            zip(
                                rng.uniform(-180, 180, count),
                                rng.uniform(-80, 80, count),
                                strict=True,
                            )
                        )
                    ]
                )
            written = time.perf_counter()
            cpu = time.process_time()
            applied = built.sync()
            done = time.perf_counter()
            assert applied == count, (applied, count)
            out[f"sync_{count}_write_s"] = written - start
            out[f"sync_{count}_s"] = done - written
            out[f"sync_{count}_cpu_s"] = time.process_time() - cpu
            out[f"sync_{count}_lag_s"] = done - start
    finally:
        store.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    return out


# --- the run -------------------------------------------------------------------------------------


def _one(
    n: int,
    kind: str,
    queries: int,
    repeat: int,
    node_dir: Path | None,
    postgis: str | None = None,
    postgis_max: int = 0,
) -> dict[str, Any]:
    lng, lat = make_points(n, kind)
    centres = make_queries(queries, kind)
    records = list(zip(range(n), lng.tolist(), lat.tolist(), strict=True))
    row: dict[str, Any] = {"n": n, "kind": kind, "queries": queries}

    ids = np.arange(n, dtype=np.int64)
    index, rss_mb, py_peak_mb = _memory(lambda: GigIndex.from_arrays(ids, lng, lat))
    _, row["build_s"], row["build_spread_s"], row["build_cpu_s"] = _cpu_timed(
        lambda: GigIndex.from_arrays(ids, lng, lat)
    )
    _, row["build_records_s"], _, row["build_records_cpu_s"] = _cpu_timed(
        lambda: GigIndex(records), 1
    )
    features = [
        {"type": "Feature", "id": i, "geometry": {"type": "Point", "coordinates": [x, y]}}
        for i, x, y in records
    ]
    _, row["build_geojson_s"], _, row["build_geojson_cpu_s"] = _cpu_timed(
        lambda: GigIndex.from_geojson(features), 1
    )
    row["rss_mb"] = round(rss_mb, 1)
    row["py_peak_mb"] = round(py_peak_mb, 1)
    half = BOX_DEG / 2.0
    city = CITY_BOX_DEG / 2.0
    packed, row["packed_build_s"] = _timed(lambda: PackedRTree(lng, lat))

    def ours_city_ids(x: float, y: float) -> object:
        return index.in_bbox_ids(x - city, y - city, x + city, y + city)

    def packed_city(x: float, y: float) -> object:
        return packed.query(x - city, y - city, x + city, y + city)

    def packed_bbox(x: float, y: float) -> object:
        return packed.query(x - half, y - half, x + half, y + half)

    def ours_bbox(x: float, y: float) -> object:
        return index.in_bbox(x - half, y - half, x + half, y + half, limit=LIMIT)

    def ours_bbox_ids(x: float, y: float) -> object:
        return index.in_bbox_ids(x - half, y - half, x + half, y + half, limit=LIMIT)

    def ours_near(x: float, y: float) -> object:
        return index.near(x, y, RADIUS_M, limit=LIMIT)

    def ours_near_ids(x: float, y: float) -> object:
        return index.near_ids(x, y, RADIUS_M, limit=LIMIT)

    (rtree_bbox, rtree_near, rtree_city), row["rtree_build_s"] = _timed(
        lambda: _rtree_peer(lng, lat)
    )
    (str_bbox, str_near, str_city), row["strtree_build_s"] = _timed(lambda: _strtree(lng, lat))
    ball, row["balltree_build_s"] = _timed(lambda: _balltree(lng, lat))
    calls = {
        "bbox_us": ours_bbox,
        "bbox_ids_us": ours_bbox_ids,
        "rtree_bbox_us": rtree_bbox,
        "strtree_bbox_us": str_bbox,
        "packed_bbox_us": packed_bbox,
        "city_bbox_ids_us": ours_city_ids,
        "strtree_city_us": str_city,
        "rtree_city_us": rtree_city,
        "packed_city_us": packed_city,
        "near_us": ours_near,
        "near_ids_us": ours_near_ids,
        "rtree_near_us": rtree_near,
        "strtree_near_us": str_near,
    }
    if ball is not None:
        calls["balltree_near_us"] = ball
    row.update(_interleaved_us(calls, centres, repeat))
    row.setdefault("balltree_near_us", None)
    row["near_mean_hits"] = _mean_len(ours_near, centres)
    row["bbox_mean_hits"] = _mean_len(ours_bbox, centres)
    row["rtree_bbox_mean_hits"] = _mean_len(rtree_bbox, centres)
    row["city_bbox_mean_hits"] = _mean_len(ours_city_ids, centres)
    del rtree_bbox, rtree_near, str_bbox, str_near, ball, rtree_city, str_city
    if postgis is not None and n <= postgis_max:
        row.update(_postgis_rows(n, kind, index, lng, lat, centres, postgis, repeat))

    peer = _geokdbush(lng, lat, centres, repeat, node_dir)
    row["geokdbush_build_s"] = peer["build_s"] if peer else None
    row["geokdbush_near_us"] = peer["near_us"] if peer else None
    return row


def run_queries(
    sizes: Sequence[int] = DEFAULT_SIZES,
    kinds: Sequence[str] = KINDS,
    *,
    queries: int = 1000,
    repeat: int = 5,
    node: bool = True,
    postgis: str | None = None,
    postgis_max: int = 1_000_000,
) -> dict[str, Any]:
    """Run every row; returns ``{"rows": [...], "goals": {...}, "environment": {...}}``."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="geokdbush-") as tmp:
        node_dir = install_geokdbush(Path(tmp)) if node else None
        for n in sizes:
            for kind in kinds:
                rows.append(_one(n, kind, queries, repeat, node_dir, postgis, postgis_max))
                print(f"  done: {n:>9,} {kind}", file=sys.stderr)
    return {"rows": rows, "goals": _goals(rows), "environment": _environment()}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _goals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    goals: dict[str, Any] = {}
    for row in rows:
        tag = f"{row['n']}_{row['kind']}"
        goals[tag] = {
            "near_vs_balltree": _ratio(row["near_us"], row["balltree_near_us"]),
            "near_vs_geokdbush": _ratio(row["near_us"], row["geokdbush_near_us"]),
            "near_ids_vs_geokdbush": _ratio(row["near_ids_us"], row["geokdbush_near_us"]),
            "bbox_vs_rtree": _ratio(row["bbox_us"], row["rtree_bbox_us"]),
            "city_bbox_ids_vs_strtree": _ratio(row["city_bbox_ids_us"], row["strtree_city_us"]),
            "build_under_1s": row["build_s"] <= 1.0,
        }
    return goals


def _environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "shapely": shapely.__version__,
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_table(result: dict[str, Any]) -> str:
    """The rows as a Markdown table (µs per query; ratios < 1 mean GigIndex is faster)."""
    head = (
        "| points | data | build s (rtree s) | RSS MB | in_bbox µs | in_bbox_ids µs | rtree bbox µs "
        "| STRtree bbox µs | near µs | near_ids µs | BallTree µs | STRtree near µs "
        "| rtree nearest µs | geokdbush µs | near/BallTree | near/geokdbush | near_ids/geokdbush "
        "| in_bbox/rtree |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in result["rows"]:
        goal = result["goals"][f"{row['n']}_{row['kind']}"]
        lines.append(
            f"| {row['n']:,} | {row['kind']} | {row['build_s']:.2f} ({row['rtree_build_s']:.2f}) "
            f"| {_fmt(row['rss_mb'], 0)} | {_fmt(row['bbox_us'])} | {_fmt(row['bbox_ids_us'])} "
            f"| {_fmt(row['rtree_bbox_us'])} | {_fmt(row['strtree_bbox_us'])} "
            f"| {_fmt(row['near_us'])} | {_fmt(row['near_ids_us'])} "
            f"| {_fmt(row['balltree_near_us'])} | {_fmt(row['strtree_near_us'])} "
            f"| {_fmt(row['rtree_near_us'])} | {_fmt(row['geokdbush_near_us'])} "
            f"| {_fmt(goal['near_vs_balltree'], 2)} | {_fmt(goal['near_vs_geokdbush'], 2)} "
            f"| {_fmt(goal['near_ids_vs_geokdbush'], 2)} | {_fmt(goal['bbox_vs_rtree'], 2)} |"
        )
    return "\n".join(lines)


def format_build_table(result: dict[str, Any]) -> str:
    """Builds (median wall s, spread, CPU s) and the box structures compared (µs per query)."""
    head = (
        "| points | data | from_arrays s (spread; CPU) | from records s (CPU) | from GeoJSON s (CPU) "
        "| STRtree build s | rtree build s | packed build s | city box hits | in_bbox_ids city µs "
        "| STRtree city µs | rtree city µs | packed city µs | in_bbox_ids/STRtree "
        "| 1° box: packed µs |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in result["rows"]:
        goal = result["goals"][f"{row['n']}_{row['kind']}"]
        lines.append(
            f"| {row['n']:,} | {row['kind']} | {row['build_s']:.3f} ({row['build_spread_s']:.3f}; "
            f"{row['build_cpu_s']:.3f}) | {row['build_records_s']:.2f} ({row['build_records_cpu_s']:.2f}) "
            f"| {row['build_geojson_s']:.2f} ({row['build_geojson_cpu_s']:.2f}) "
            f"| {row['strtree_build_s']:.2f} | {row['rtree_build_s']:.2f} | {row['packed_build_s']:.2f} "
            f"| {row['city_bbox_mean_hits']:.1f} | {_fmt(row['city_bbox_ids_us'])} "
            f"| {_fmt(row['strtree_city_us'])} | {_fmt(row['rtree_city_us'])} "
            f"| {_fmt(row['packed_city_us'])} | {_fmt(goal['city_bbox_ids_vs_strtree'], 2)} "
            f"| {_fmt(row['packed_bbox_us'])} |"
        )
    return "\n".join(lines)


def format_postgis_table(result: dict[str, Any]) -> str:
    """PostGISGigStore beside GigIndex in the same run: queries (µs), from_store, sync."""
    head = (
        "| points | data | PostGIS load s | from_store s (CPU) | near µs PostGIS / GigIndex "
        "| in_bbox µs PostGIS / GigIndex | within µs PostGIS / GigIndex "
        "| sync 1: write / sync / lag ms | sync 1,000: write / sync / lag ms "
        "| sync 100,000: write / sync / lag s |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in result["rows"]:
        if "pg_near_us" not in row:
            continue

        def ms(count: int, row: dict[str, Any] = row) -> str:
            if f"sync_{count}_s" not in row:
                return "—"
            return " / ".join(
                f"{row[f'sync_{count}_{key}'] * 1000:.1f}" for key in ("write_s", "s", "lag_s")
            )

        big = (
            " / ".join(f"{row[f'sync_100000_{key}']:.2f}" for key in ("write_s", "s", "lag_s"))
            if "sync_100000_s" in row
            else "—"
        )
        lines.append(
            f"| {row['n']:,} | {row['kind']} | {row['pg_load_s']:.1f} "
            f"| {row['from_store_s']:.2f} ({row['from_store_cpu_s']:.2f}) "
            f"| {row['pg_near_us']:.0f} / {row['mem_near_us']:.1f} "
            f"| {row['pg_bbox_us']:.0f} / {row['mem_bbox_us']:.1f} "
            f"| {row['pg_within_us']:.0f} / {row['mem_within_us']:.1f} "
            f"| {ms(1)} | {ms(1_000)} | {big} |"
        )
    return "\n".join(lines)


def write_json(result: dict[str, Any], path: Path | None = None) -> Path:
    """Write the result to ``benchmarks/results/geo_queries.json`` (or ``path``)."""
    target = path or RESULTS / "geo_queries.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--sizes``, ``--kinds``, ``--queries``, ``--repeat``, ``--no-node``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-node", action="store_true", help="skip geokdbush")
    parser.add_argument(
        "--postgis",
        default="host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=3",
        help="DSN of a PostgreSQL with PostGIS for the PostGISGigStore rows ('' to skip)",
    )
    parser.add_argument(
        "--postgis-max", type=int, default=1_000_000, help="largest size with PostGIS rows"
    )
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    kinds = [kind for kind in args.kinds.split(",") if kind]
    result = run_queries(
        sizes,
        kinds,
        queries=args.queries,
        repeat=args.repeat,
        node=not args.no_node,
        postgis=args.postgis or None,
        postgis_max=args.postgis_max,
    )
    print(format_table(result))
    print()
    print(format_build_table(result))
    if any("pg_near_us" in row for row in result["rows"]):
        print()
        print(format_postgis_table(result))
    print(f"\nwrote {write_json(result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
