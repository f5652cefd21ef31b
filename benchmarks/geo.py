"""Clustering benchmark: creditcore's Clusterer against supercluster 9.1 (Node) and pysupercluster.

Usage::

    .venv/bin/python benchmarks/geo.py                       # 10k, 100k, 1M; uniform and city
    .venv/bin/python benchmarks/geo.py --sizes 10000,100000  # a subset
    .venv/bin/python benchmarks/geo.py --no-queries          # skip benchmarks/geo_queries.py

For each size and data set (uniform over the world; "city": 200 city-sized blobs), every peer
runs in its own subprocess on the same points (written once to benchmarks/.peers/data/): load
time of the whole zoom pyramid 0-16 (median of 3 loads), get_clusters time at a few zooms for
the world box and a city box (median of 3 each), and the process's peak RSS (getrusage, the
same kernel counter for Python and Node). supercluster is npm-installed into
benchmarks/.peers/; pysupercluster is pip-installed into its own venv there (skipped, with a
note, when it does not build). Prints a table and writes benchmarks/results/geo.json. Ends by
running the index/query benchmark benchmarks/geo_queries.py when it exists.
"""

from __future__ import annotations

import argparse
import json
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
RESULTS = HERE / "results" / "geo.json"
SUPERCLUSTER = "9.1.0"
PYSC_VENV = PEERS / "pysupercluster-venv"
REPEATS = 3
WORLD_ZOOMS = (2, 6, 10)
CITY_ZOOMS = (10, 13, 16)
CITIES = 200

NODE_BENCH = r"""
import fs from 'fs';
import Supercluster from 'supercluster';
const [path, worldZooms, cityZooms, city, repeats] = [process.argv[2],
  JSON.parse(process.argv[3]), JSON.parse(process.argv[4]), JSON.parse(process.argv[5]),
  +process.argv[6]];
const buf = fs.readFileSync(path);
const xy = new Float64Array(buf.buffer, buf.byteOffset, buf.length / 8);
const features = [];
for (let i = 0; i < xy.length / 2; i++) features.push({type: 'Feature', properties: {i},
  geometry: {type: 'Point', coordinates: [xy[2 * i], xy[2 * i + 1]]}});
const median = a => a.slice().sort((p, q) => p - q)[a.length >> 1];
const loads = [];
let sc = null;
for (let r = 0; r < repeats; r++) {
  sc = null;
  const t = performance.now();
  sc = new Supercluster({minZoom: 0, maxZoom: 16, radius: 40, extent: 512}).load(features);
  loads.push((performance.now() - t) / 1000);
}
const loadPeak = process.resourceUsage().maxRSS / 1024;
const query = (box, zooms) => {
  let total = 0, count = 0;
  for (const z of zooms) {
    const times = [];
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      const out = sc.getClusters(box, z);
      times.push((performance.now() - t) / 1000);
      count = r === 0 ? count + out.length : count;
    }
    total += median(times);
  }
  return [total, count];
};
const [worldS, worldN] = query([-180, -90, 180, 90], worldZooms);
const [cityS, cityN] = query(city, cityZooms);
console.log(JSON.stringify({load_s: median(loads), loads, world_s: worldS, world_n: worldN,
  city_s: cityS, city_n: cityN, load_peak_rss_mb: loadPeak,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024}));
"""


# --- data -----------------------------------------------------------------------------------


def _centres() -> np.ndarray:
    rng = np.random.default_rng(42)
    return np.column_stack((rng.uniform(-150, 150, CITIES), rng.uniform(-50, 60, CITIES)))


def city_box() -> list[float]:
    """A box of about 1 degree around the first city (used for both data sets)."""
    lng, lat = _centres()[0]
    return [float(lng - 0.5), float(lat - 0.5), float(lng + 0.5), float(lat + 0.5)]


def make_points(kind: str, n: int) -> Path:
    """Write ``n`` points as interleaved float64 lng, lat; return the file."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{kind}_{n}.f64"
    if path.exists():
        return path
    rng = np.random.default_rng(n)
    if kind == "uniform":
        pts = np.column_stack((rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)))
    else:
        centres = _centres()
        which = rng.integers(0, CITIES, n)
        spread = rng.uniform(0.05, 0.2, CITIES)[which][:, None]  # 5-20 km: city-sized
        pts = centres[which] + rng.normal(0, 1, (n, 2)) * spread
        pts[:, 0] = np.clip(pts[:, 0], -180, 180)
        pts[:, 1] = np.clip(pts[:, 1], -85, 85)
    np.ascontiguousarray(pts, dtype=np.float64).tofile(path)
    return path


# --- children (each peer runs alone in its own process) -------------------------------------


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_queries(call: Any, box: list[float], zooms: tuple[int, ...]) -> tuple[float, int]:
    total = 0.0
    count = 0
    for z in zooms:
        times = []
        for r in range(REPEATS):
            t = time.perf_counter()
            out = call(box, z)
            times.append(time.perf_counter() - t)
            if r == 0:
                count += len(out)
        total += statistics.median(times)
    return total, count


def child_ours(path: str, mode: str) -> dict[str, Any]:
    sys.path.insert(0, str(HERE.parent / "src"))
    from creditcore.geo import Clusterer

    xy = np.fromfile(path, dtype=np.float64).reshape(-1, 2)
    lng = np.ascontiguousarray(xy[:, 0])
    lat = np.ascontiguousarray(xy[:, 1])
    features = None
    if mode == "features":
        features = [
            {
                "type": "Feature",
                "properties": {"i": i},
                "geometry": {"type": "Point", "coordinates": [a, b]},
            }
            for i, (a, b) in enumerate(zip(lng.tolist(), lat.tolist(), strict=True))
        ]
    loads = []
    clusterer = None
    for _ in range(REPEATS):
        clusterer = None
        t = time.perf_counter()
        clusterer = Clusterer(min_zoom=0, max_zoom=16, radius=40, extent=512)
        if features is not None:
            clusterer.load(features)
        else:
            clusterer.load_arrays(lng, lat)
        loads.append(time.perf_counter() - t)
    assert clusterer is not None
    world = [-180.0, -90.0, 180.0, 90.0]
    result: dict[str, Any] = {"load_s": statistics.median(loads), "loads": loads}
    result["load_peak_rss_mb"] = _peak_rss_mb()
    # the first query at a zoom builds that level's KD-order index (supercluster builds its
    # trees inside load): timed apart, then queries are timed warm like every peer's
    t = time.perf_counter()
    for z in sorted({*WORLD_ZOOMS, *CITY_ZOOMS}):
        clusterer.get_clusters_arrays(world, z)
    result["index_s"] = time.perf_counter() - t
    result["world_s"], result["world_n"] = _timed_queries(
        clusterer.get_clusters, world, WORLD_ZOOMS
    )
    result["city_s"], result["city_n"] = _timed_queries(
        clusterer.get_clusters, city_box(), CITY_ZOOMS
    )
    result["world_cols_s"], _ = _timed_queries(clusterer.get_clusters_arrays, world, WORLD_ZOOMS)
    result["city_cols_s"], _ = _timed_queries(clusterer.get_clusters_arrays, city_box(), CITY_ZOOMS)
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def child_pysupercluster(path: str) -> dict[str, Any]:
    import pysupercluster  # type: ignore[import-not-found]

    xy = np.fromfile(path, dtype=np.float64).reshape(-1, 2)
    loads = []
    index: Any = None
    for _ in range(REPEATS):
        index = None
        t = time.perf_counter()
        index = pysupercluster.SuperCluster(xy, min_zoom=0, max_zoom=16, radius=40, extent=512)
        loads.append(time.perf_counter() - t)
    load_peak = _peak_rss_mb()
    built: Any = index

    def query(box: list[float], z: int) -> list[Any]:
        clusters: list[Any] = built.getClusters(
            top_left=(box[0], box[3]), bottom_right=(box[2], box[1]), zoom=z
        )
        return clusters

    result: dict[str, Any] = {"load_s": statistics.median(loads), "loads": loads}
    result["load_peak_rss_mb"] = load_peak
    result["world_s"], result["world_n"] = _timed_queries(
        query, [-180.0, -90.0, 180.0, 90.0], WORLD_ZOOMS
    )
    result["city_s"], result["city_n"] = _timed_queries(query, city_box(), CITY_ZOOMS)
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


# --- peers ----------------------------------------------------------------------------------


def ensure_supercluster() -> tuple[Path | None, str]:
    """npm-install supercluster into benchmarks/.peers/; return its folder or a reason."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None, "node/npm not found"
    folder = PEERS / f"supercluster-{SUPERCLUSTER}"
    if not (folder / "node_modules" / "supercluster" / "package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(folder),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"supercluster@{SUPERCLUSTER}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return None, f"npm install failed: {done.stderr.strip()[-300:]}"
    (folder / "bench.mjs").write_text(NODE_BENCH)
    return folder, ""


def ensure_pysupercluster() -> tuple[Path | None, str]:
    """pip-install pysupercluster into its own venv (its sdist needs the legacy build)."""
    python = PYSC_VENV / "bin" / "python"
    probe = [str(python), "-c", "import pysupercluster"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python, ""
    steps = [
        [sys.executable, "-m", "venv", str(PYSC_VENV)],
        [str(python), "-m", "pip", "install", "-q", "numpy", "setuptools", "wheel"],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-use-pep517",
            "--no-build-isolation",
            "pysupercluster",
        ],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None, f"pysupercluster did not build: {done.stderr.strip()[-300:]}"
    if subprocess.run(probe, capture_output=True, check=False).returncode != 0:
        return None, "pysupercluster installed but does not import"
    return python, ""


def run_child(cmd: list[str], cwd: Path | None = None) -> dict[str, Any]:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-500:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kinds", default="uniform,city")
    parser.add_argument("--no-queries", action="store_true", help="skip benchmarks/geo_queries.py")
    parser.add_argument("--no-tiles", action="store_true", help="skip benchmarks/geo_tiles.py")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "pysupercluster":
            out = child_pysupercluster(args.path)
        else:
            out = child_ours(args.path, args.child.removeprefix("ours-"))
        print(json.dumps(out))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    sc_dir, sc_note = ensure_supercluster()
    pysc, pysc_note = ensure_pysupercluster()
    notes = [n for n in (sc_note and f"supercluster skipped: {sc_note}", pysc_note) if n]
    me = str(Path(__file__).resolve())
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for kind in kinds:
            path = str(make_points(kind, n))
            peers: dict[str, dict[str, Any]] = {}
            peers["creditcore (arrays)"] = run_child(
                [sys.executable, me, "--child", "ours-arrays", "--path", path]
            )
            peers["creditcore (features)"] = run_child(
                [sys.executable, me, "--child", "ours-features", "--path", path]
            )
            if sc_dir is not None:
                peers["supercluster 9.1 (node)"] = run_child(
                    [
                        "node",
                        "--max-old-space-size=8192",
                        "bench.mjs",
                        path,
                        json.dumps(WORLD_ZOOMS),
                        json.dumps(CITY_ZOOMS),
                        json.dumps(city_box()),
                        str(REPEATS),
                    ],
                    cwd=sc_dir,
                )
            if pysc is not None:
                peers["pysupercluster (C++)"] = run_child(
                    [str(pysc), me, "--child", "pysupercluster", "--path", path]
                )
            for peer, result in peers.items():
                rows.append({"points": n, "data": kind, "peer": peer, **result})
                print(_line(rows[-1]), flush=True)

    print()
    print(_table(rows))
    for note in notes:
        print(f"note: {note}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": " ".join([".venv/bin/python", "benchmarks/geo.py", *sys.argv[1:]]),
        "repeats": REPEATS,
        "world_zooms": WORLD_ZOOMS,
        "city_zooms": CITY_ZOOMS,
        "city_box": city_box(),
        "machine": {"cpus": os.cpu_count()},
        "notes": notes,
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(payload, indent=2))
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")

    queries = HERE / "geo_queries.py"
    if not args.no_queries:
        if queries.exists():
            print("\nrunning benchmarks/geo_queries.py", flush=True)
            subprocess.run([sys.executable, str(queries), "--sizes", args.sizes], check=False)
        else:
            print("benchmarks/geo_queries.py not found: index/query benchmark skipped")

    # --- vector tiles: benchmarks/geo_tiles.py (MVT pyramid against supercluster + vt-pbf) ---
    tiles = HERE / "geo_tiles.py"
    if not args.no_tiles and tiles.exists():
        print("\nrunning benchmarks/geo_tiles.py", flush=True)
        subprocess.run([sys.executable, str(tiles), "--points", str(max(sizes))], check=False)


def _fmt(value: Any, unit: str = "s") -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return f"{value:.0f}"


def _line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['points']:>8} {row['data']:<8} {row['peer']:<24} ERROR {row['error'][:200]}"
    return (
        f"{row['points']:>8} {row['data']:<8} {row['peer']:<24} load {_fmt(row['load_s'])} s, "
        f"peak after load {_fmt(row['load_peak_rss_mb'], 'mb')} MB"
    )


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| points | data | peer | load (s) | get_clusters world z2,6,10 (s) | city z10,13,16 (s) "
        "| columnar world / city (s) | first-query indexes (s) "
        "| peak RSS after load / overall (MB) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['points']:,} | {r['data']} | {r['peer']} | error | | | | | |")
            continue
        cols = (
            f"{_fmt(r['world_cols_s'])} / {_fmt(r['city_cols_s'])}" if "world_cols_s" in r else "-"
        )
        lines.append(
            f"| {r['points']:,} | {r['data']} | {r['peer']} | {_fmt(r['load_s'])} | "
            f"{_fmt(r['world_s'])} ({r['world_n']:,} features) | {_fmt(r['city_s'])} "
            f"({r['city_n']:,}) | {cols} | {_fmt(r.get('index_s'))} | "
            f"{_fmt(r['load_peak_rss_mb'], 'mb')} / "
            f"{_fmt(r['peak_rss_mb'], 'mb')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
