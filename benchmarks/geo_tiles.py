"""Tile benchmark: creditcore's MVT tiles against supercluster getTile + vt-pbf (Node).

Usage::

    .venv/bin/python benchmarks/geo_tiles.py                   # 1M points of one city
    .venv/bin/python benchmarks/geo_tiles.py --points 100000   # smaller

A city of ``--points`` gigs (three neighbourhoods of a city about 60 km across). Both peers
load the same points (timed apart, not in the tile rate), then produce the same pyramid of
tiles, every tile of zooms 0-14 that the city's bounding box touches: creditcore with
``Clusterer.get_tile(z, x, y, format="mvt")`` (no cache: every tile is built and encoded),
supercluster 9.1 with ``getTile`` and ``vt-pbf``'s ``fromGeojsonVt`` (encoded bytes, extent
512). Each peer runs in its own process; the pyramid is timed ``--repeats`` times (median and
spread printed, with CPU time). Our tiles carry more per cluster (``expansion_zoom`` and the
members' ``bbox``); supercluster's carry its four cluster properties. The point properties
are the same on both sides. Also times ``mapbox-vector-tile``'s encoder on the same features
(one pass, when installed), the reason creditcore has its own point-layer encoder. Writes
benchmarks/results/geo_tiles.json. ``benchmarks/geo.py`` runs it at its end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
DATA = PEERS / "data"
RESULTS = HERE / "results" / "geo_tiles.json"
NPM = {"supercluster": "9.1.0", "vt-pbf": "3.1.3"}
MAX_TILE_ZOOM = 14

NODE_TILES = r"""
import fs from 'fs';
import Supercluster from 'supercluster';
import vtpbf from 'vt-pbf';
const [path, tilesPath, repeats] = [process.argv[2], process.argv[3], +process.argv[4]];
const buf = fs.readFileSync(path);
const xy = new Float64Array(buf.buffer, buf.byteOffset, buf.length / 8);
const features = [];
for (let i = 0; i < xy.length / 2; i++) features.push({type: 'Feature', id: 'gig-' + i,
  properties: {i, credits: 5 + i % 45}, geometry: {type: 'Point', coordinates: [xy[2 * i], xy[2 * i + 1]]}});
const tiles = JSON.parse(fs.readFileSync(tilesPath, 'utf8'));
let t = process.hrtime.bigint();
const sc = new Supercluster({minZoom: 0, maxZoom: 16, radius: 40, extent: 512}).load(features);
const load = Number(process.hrtime.bigint() - t) / 1e9;
const times = [], cpus = [];
let bytes = 0, nonEmpty = 0;
for (let r = 0; r < repeats; r++) {
  const c0 = process.cpuUsage();
  t = process.hrtime.bigint();
  bytes = 0; nonEmpty = 0;
  for (const [z, x, y] of tiles) {
    const tile = sc.getTile(z, x, y);
    if (tile === null) continue;
    const pbf = vtpbf.fromGeojsonVt({gigs: tile}, {version: 2, extent: 512});
    bytes += pbf.length; nonEmpty++;
  }
  times.push(Number(process.hrtime.bigint() - t) / 1e9);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1e6);
}
console.log(JSON.stringify({load_s: load, times, cpus, bytes, non_empty: nonEmpty}));
"""


def make_city(n: int) -> Path:
    """``n`` points of one city (interleaved float64 lng, lat), written once."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"tile_city_{n}.f64"
    if path.exists():
        return path
    rng = np.random.default_rng(n + 10)
    centres = np.array([[13.40, 52.52], [13.25, 52.45], [13.55, 52.58]])
    which = rng.integers(0, 3, n)
    spread = np.array([0.08, 0.05, 0.04])[which][:, None] * [1.6, 1.0]
    pts = centres[which] + rng.normal(0, 1, (n, 2)) * spread
    np.ascontiguousarray(pts, dtype=np.float64).tofile(path)
    return path


def pyramid(path: Path) -> list[tuple[int, int, int]]:
    """Every tile of zooms 0..14 that the points' bounding box touches."""
    xy = np.fromfile(path, dtype=np.float64).reshape(-1, 2)
    west, south = xy.min(axis=0)
    east, north = xy.max(axis=0)

    def tile_y(lat: float, z: int) -> int:
        s = math.sin(math.radians(lat))
        return int((0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * 2**z)

    tiles = []
    for z in range(MAX_TILE_ZOOM + 1):
        x0, x1 = int((west + 180) / 360 * 2**z), int((east + 180) / 360 * 2**z)
        y0, y1 = tile_y(north, z), tile_y(south, z)
        tiles += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return tiles


def child_ours(path: str, tiles_path: str, repeats: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE.parent / "src"))
    from creditcore.geo import Clusterer

    xy = np.fromfile(path, dtype=np.float64).reshape(-1, 2)
    n = xy.shape[0]
    props = [{"i": i, "credits": 5 + i % 45} for i in range(n)]
    ids = [f"gig-{i}" for i in range(n)]
    tiles = [tuple(t) for t in json.loads(Path(tiles_path).read_text())]
    t = time.perf_counter()
    clusterer = Clusterer(min_zoom=0, max_zoom=16, radius=40, extent=512)
    clusterer.load_arrays(xy[:, 0].copy(), xy[:, 1].copy(), props, ids=ids)
    load = time.perf_counter() - t
    times, cpus = [], []
    size = non_empty = 0
    for r in range(repeats + 1):  # the first pass builds the per-level indexes: not timed
        c = time.process_time()
        t = time.perf_counter()
        size = non_empty = 0
        for z, x, y in tiles:
            body = clusterer.get_tile(z, x, y, format="mvt", layer="gigs")
            if body is not None:
                size += len(body)
                non_empty += 1
        if r:
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        else:
            first = time.perf_counter() - t
    out: dict[str, Any] = {
        "load_s": load,
        "first_pass_s": first,
        "times": times,
        "cpus": cpus,
        "bytes": size,
        "non_empty": non_empty,
    }
    try:
        import mapbox_vector_tile
    except ImportError:
        return out
    # the general encoder on the same features (the geojson-vt form of each tile)
    t = time.perf_counter()
    for z, x, y in tiles:
        tile = clusterer.get_tile(z, x, y)
        if tile is None:
            continue
        features = [
            {
                "geometry": f"POINT({f['geometry'][0][0]} {f['geometry'][0][1]})",
                "properties": {k: v for k, v in f["tags"].items() if v is not None},
                "id": f.get("id"),
            }
            for f in tile["features"]
        ]
        mapbox_vector_tile.encode(
            [{"name": "gigs", "features": features}],
            default_options={"extents": 512, "y_coord_down": True, "quantize_bounds": None},
        )
    out["mapbox_vector_tile_s"] = time.perf_counter() - t
    return out


def ensure_node_peers() -> tuple[Path | None, str]:
    """npm-install supercluster and vt-pbf into benchmarks/.peers/; return the folder."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None, "node/npm not found"
    folder = PEERS / ("tiles-" + "-".join(f"{k}-{v}" for k, v in NPM.items()))
    if not all((folder / "node_modules" / k / "package.json").exists() for k in NPM):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"private": true}\n')
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]
            + [f"{k}@{v}" for k, v in NPM.items()],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return None, f"npm install failed: {done.stderr[-300:]}"
    (folder / "tiles.mjs").write_text(NODE_TILES)
    return folder, ""


def _summary(times: list[float], tiles: int) -> dict[str, float]:
    med = statistics.median(times)
    return {
        "median_s": med,
        "min_s": min(times),
        "max_s": max(times),
        "tiles_per_s": tiles / med,
    }


def run(points: int, repeats: int) -> dict[str, Any]:
    """Run both peers on ``points`` city points; print the table; return the results."""
    path = make_city(points)
    tiles = pyramid(path)
    tiles_path = DATA / f"tile_pyramid_{points}.json"
    tiles_path.write_text(json.dumps(tiles))
    print(f"tile pyramid: {len(tiles)} tiles of zooms 0-{MAX_TILE_ZOOM} over {points:,} points")
    rows: dict[str, Any] = {}
    me = str(Path(__file__).resolve())
    done = subprocess.run(
        [
            sys.executable,
            me,
            "--child",
            "--path",
            str(path),
            "--tiles",
            str(tiles_path),
            "--repeats",
            str(repeats),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        rows["creditcore MVT"] = json.loads(done.stdout.strip().splitlines()[-1])
    else:
        rows["creditcore MVT"] = {"error": done.stderr[-500:]}
    folder, note = ensure_node_peers()
    if folder is not None:
        done = subprocess.run(
            [
                "node",
                "--max-old-space-size=8192",
                "tiles.mjs",
                str(path),
                str(tiles_path),
                str(repeats),
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            rows["supercluster getTile + vt-pbf (node)"] = json.loads(done.stdout.strip())
        else:
            rows["supercluster getTile + vt-pbf (node)"] = {"error": done.stderr[-500:]}
    print("| peer | load (s) | pyramid median (min-max) s | CPU s | tiles/s | non-empty | bytes |")
    print("|---|---|---|---|---|---|---|")
    for peer, r in rows.items():
        if "error" in r:
            print(f"| {peer} | error: {r['error'][:120]} | | | | | |")
            continue
        r.update(_summary(r["times"], len(tiles)))
        print(
            f"| {peer} | {r['load_s']:.2f} | {r['median_s']:.3f} ({r['min_s']:.3f}-"
            f"{r['max_s']:.3f}) | {statistics.median(r['cpus']):.3f} | {r['tiles_per_s']:,.0f} | "
            f"{r['non_empty']:,} | {r['bytes']:,} |"
        )
    ours = rows.get("creditcore MVT", {})
    theirs = rows.get("supercluster getTile + vt-pbf (node)", {})
    if "tiles_per_s" in ours and "tiles_per_s" in theirs:
        ratio = ours["tiles_per_s"] / theirs["tiles_per_s"]
        print(f"creditcore / supercluster tile rate: {ratio:.2f}x (goal >= 1x)")
    if "mapbox_vector_tile_s" in ours:
        print(
            f"mapbox-vector-tile encoder on the same tiles (one pass, with our tile selection): "
            f"{ours['mapbox_vector_tile_s']:.2f} s"
        )
    if note:
        print(f"note: node peer skipped: {note}")
    payload = {
        "command": " ".join([".venv/bin/python", "benchmarks/geo_tiles.py", *sys.argv[1:]]),
        "points": points,
        "tiles": len(tiles),
        "repeats": repeats,
        "machine": {"cpus": os.cpu_count(), "note": "shared machine: timings are noisy"},
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2))
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--tiles", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_ours(args.path, args.tiles, args.repeats)))
        return
    run(args.points, args.repeats)


if __name__ == "__main__":
    main()
