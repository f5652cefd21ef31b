"""Clustering benchmark: creditcore's Clusterer against supercluster 9.1 (Node) and pysupercluster.

Usage::

    .venv/bin/python benchmarks/geo.py                       # 10k, 100k, 1M; uniform and city
    .venv/bin/python benchmarks/geo.py --sizes 10000,100000  # a subset
    .venv/bin/python benchmarks/geo.py --runs 5              # loads per row (default 3)
    .venv/bin/python benchmarks/geo.py --ten-million         # adds the 10M uniform rows (slow)
    .venv/bin/python benchmarks/geo.py --no-queries          # skip benchmarks/geo_queries.py

The headline is equal work: **ready to answer any query at any zoom**. supercluster's ``load``
builds the KD-tree of every zoom before it returns, and so does ``Clusterer.load`` by default
(eager): for both, ready = load. For ``Clusterer(lazy=True)`` ready = load + what the first
queries build, measured as (first world-box query at every zoom 0..17) - (the same queries
warm). Every row also prints load alone, and the first and warm query sums at every zoom.

For each size and data set (uniform over the world; "city": 200 city-sized blobs), every peer
runs in its own subprocess on the same points (written once to benchmarks/.peers/data/) and
loads ``--runs`` times; a row prints the median and the spread (min-max) of its runs, the CPU
time of a load (median), and the process's peak RSS after the loads (getrusage, the same kernel
counter for Python and Node), with its input in memory: numpy columns for ``load_arrays``,
GeoJSON dicts for ``load(features)`` and for supercluster (which takes GeoJSON only). Then
``get_clusters`` (dicts, as the peers answer) at a few zooms, world box and a city box.
supercluster is npm-installed into benchmarks/.peers/; pysupercluster is pip-installed into its
own venv there (skipped, with a note, when it does not build). Prints tables and writes
benchmarks/results/geo.json (with the machine's core count and every peer's version). Ends by
running the index/query benchmark benchmarks/geo_queries.py when it exists.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
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
RUNS = 3
MAX_ZOOM = 16
ALL_ZOOMS = tuple(range(MAX_ZOOM + 2))  # 0..17: every level, the raw points included
WORLD_ZOOMS = (2, 6, 10)
CITY_ZOOMS = (10, 13, 16)
CITIES = 200
WORLD = [-180.0, -90.0, 180.0, 90.0]

NODE_BENCH = r"""
import fs from 'fs';
import Supercluster from 'supercluster';
const [path, worldZooms, cityZooms, allZooms, city, runs, queries] = [process.argv[2],
  JSON.parse(process.argv[3]), JSON.parse(process.argv[4]), JSON.parse(process.argv[5]),
  JSON.parse(process.argv[6]), +process.argv[7], process.argv[8] === '1'];
const buf = fs.readFileSync(path);
const xy = new Float64Array(buf.buffer, buf.byteOffset, buf.length / 8);
const features = [];
for (let i = 0; i < xy.length / 2; i++) features.push({type: 'Feature', properties: {i},
  geometry: {type: 'Point', coordinates: [xy[2 * i], xy[2 * i + 1]]}});
const baseRss = process.memoryUsage().rss / 1048576;
const median = a => a.slice().sort((p, q) => p - q)[a.length >> 1];
const loads = [], cpus = [];
let sc = null;
for (let r = 0; r < runs; r++) {
  sc = null;
  const c = process.cpuUsage();
  const t = performance.now();
  sc = new Supercluster({minZoom: 0, maxZoom: 16, radius: 40, extent: 512}).load(features);
  loads.push((performance.now() - t) / 1000);
  const d = process.cpuUsage(c);
  cpus.push((d.user + d.system) / 1e6);
}
const loadPeak = process.resourceUsage().maxRSS / 1024;
const world = [-180, -90, 180, 90];
const sweep = () => { const t = performance.now();
  for (const z of allZooms) sc.getClusters(world, z); return (performance.now() - t) / 1000; };
const out = {loads, cpus, load_peak_rss_mb: loadPeak, base_rss_mb: baseRss,
  version: JSON.parse(fs.readFileSync('node_modules/supercluster/package.json')).version,
  node: process.version};
if (queries) {
  out.first_sweep_s = sweep();
  out.warm_sweep_s = median([sweep(), sweep(), sweep()]);
  const query = (box, zooms) => {
    let total = 0, count = 0;
    for (const z of zooms) {
      const times = [];
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        const got = sc.getClusters(box, z);
        times.push((performance.now() - t) / 1000);
        if (r === 0) count += got.length;
      }
      total += median(times);
    }
    return [total, count];
  };
  [out.world_s, out.world_n] = query(world, worldZooms);
  [out.city_s, out.city_n] = query(city, cityZooms);
}
out.peak_rss_mb = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify(out));
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


def _rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process, MB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576
    except OSError:
        current = peak
    return current, peak


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _timed_queries(call: Any, box: list[float], zooms: tuple[int, ...]) -> tuple[float, int]:
    total = 0.0
    count = 0
    for z in zooms:
        times = []
        for r in range(3):
            t = time.perf_counter()
            out = call(box, z)
            times.append(time.perf_counter() - t)
            if r == 0:
                count += len(out)
        total += statistics.median(times)
    return total, count


def _sweep(call: Any) -> float:
    t = time.perf_counter()
    for z in ALL_ZOOMS:
        call(WORLD, z)
    return time.perf_counter() - t


def child_ours(path: str, mode: str, runs: int, queries: bool) -> dict[str, Any]:
    sys.path.insert(0, str(HERE.parent / "src"))
    from creditcore._geo.cluster_kdbush import jit_kernels
    from creditcore.geo import Clusterer

    xy = np.fromfile(path, dtype=np.float64).reshape(-1, 2)
    lng = np.ascontiguousarray(xy[:, 0])
    lat = np.ascontiguousarray(xy[:, 1])
    del xy
    lazy = mode.endswith("-lazy")
    features = None
    if mode.startswith("features"):
        features = [
            {
                "type": "Feature",
                "properties": {"i": i},
                "geometry": {"type": "Point", "coordinates": [a, b]},
            }
            for i, (a, b) in enumerate(zip(lng.tolist(), lat.tolist(), strict=True))
        ]
    # numba loads its compiled kernels once per process: timed apart, not in the loads
    t = time.perf_counter()
    Clusterer().load_arrays(lng[:100], lat[:100]).get_clusters_arrays(WORLD, 3)
    warmup = time.perf_counter() - t
    base_rss, _ = _rss_mb()
    loads: list[float] = []
    cpus: list[float] = []
    clusterer = None
    for _ in range(runs):
        clusterer = None
        c = time.process_time()
        t = time.perf_counter()
        clusterer = Clusterer(min_zoom=0, max_zoom=MAX_ZOOM, radius=40, extent=512, lazy=lazy)
        if features is not None:
            clusterer.load(features)
        else:
            clusterer.load_arrays(lng, lat)
        loads.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    assert clusterer is not None
    _, load_peak = _rss_mb()
    result: dict[str, Any] = {
        "loads": loads,
        "cpus": cpus,
        "load_peak_rss_mb": load_peak,
        "base_rss_mb": base_rss,
        "jit": jit_kernels() is not None,
        "warmup_s": warmup,
    }
    done = clusterer
    result["first_sweep_s"] = _sweep(done.get_clusters_arrays)
    result["warm_sweep_s"] = _median([_sweep(done.get_clusters_arrays) for _ in range(3)])
    if queries:
        result["world_s"], result["world_n"] = _timed_queries(done.get_clusters, WORLD, WORLD_ZOOMS)
        result["city_s"], result["city_n"] = _timed_queries(
            done.get_clusters, city_box(), CITY_ZOOMS
        )
        result["world_cols_s"], _ = _timed_queries(done.get_clusters_arrays, WORLD, WORLD_ZOOMS)
        result["city_cols_s"], _ = _timed_queries(done.get_clusters_arrays, city_box(), CITY_ZOOMS)
    result["peak_rss_mb"] = _rss_mb()[1]
    return result


def child_pysupercluster(path: str, runs: int, queries: bool) -> dict[str, Any]:
    import pysupercluster  # type: ignore[import-not-found]

    xy = np.fromfile(path, dtype=np.float64).reshape(-1, 2)
    base_rss, _ = _rss_mb()
    loads: list[float] = []
    cpus: list[float] = []
    index: Any = None
    for _ in range(runs):
        index = None
        c = time.process_time()
        t = time.perf_counter()
        index = pysupercluster.SuperCluster(xy, min_zoom=0, max_zoom=16, radius=40, extent=512)
        loads.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    _, load_peak = _rss_mb()
    built: Any = index

    def query(box: list[float], z: int) -> list[Any]:
        clusters: list[Any] = built.getClusters(
            top_left=(box[0], box[3]), bottom_right=(box[2], box[1]), zoom=z
        )
        return clusters

    result: dict[str, Any] = {
        "loads": loads,
        "cpus": cpus,
        "load_peak_rss_mb": load_peak,
        "base_rss_mb": base_rss,
    }
    try:
        from importlib.metadata import version

        result["version"] = version("pysupercluster")
    except Exception:  # the version is informative only
        result["version"] = "unknown"
    result["first_sweep_s"] = _sweep(query)
    result["warm_sweep_s"] = _median([_sweep(query) for _ in range(3)])
    if queries:
        result["world_s"], result["world_n"] = _timed_queries(query, WORLD, WORLD_ZOOMS)
        result["city_s"], result["city_n"] = _timed_queries(query, city_box(), CITY_ZOOMS)
    result["peak_rss_mb"] = _rss_mb()[1]
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


def _summarise(result: dict[str, Any], eager: bool) -> dict[str, Any]:
    """Median and spread of the runs; ready-at-every-zoom for this peer."""
    if "error" in result:
        return result
    loads = result["loads"]
    out = dict(result)
    out["load_s"] = _median(loads)
    out["load_min_s"] = min(loads)
    out["load_max_s"] = max(loads)
    out["cpu_s"] = _median(result["cpus"])
    # what the first queries build (zero for an eager index, up to noise)
    deferred = max(0.0, result["first_sweep_s"] - result["warm_sweep_s"])
    out["deferred_s"] = deferred
    extra = 0.0 if eager else deferred
    out["ready_s"] = out["load_s"] + extra
    out["ready_min_s"] = out["load_min_s"] + extra
    out["ready_max_s"] = out["load_max_s"] + extra
    out["first_over_warm"] = (
        result["first_sweep_s"] / result["warm_sweep_s"] if result["warm_sweep_s"] else math.nan
    )
    return out


def clustering(args: argparse.Namespace) -> dict[str, Any]:
    """The clustering rows: every peer on every size and data set."""
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    plan = [(n, kind) for n in sizes for kind in kinds]
    if args.ten_million:
        plan.append((10_000_000, "uniform"))
    sc_dir, sc_note = ensure_supercluster()
    pysc, pysc_note = ensure_pysupercluster()
    notes = [n for n in (sc_note and f"supercluster skipped: {sc_note}", pysc_note) if n]
    me = str(Path(__file__).resolve())
    rows: list[dict[str, Any]] = []
    versions: dict[str, str] = {}
    for n, kind in plan:
        path = str(make_points(kind, n))
        big = n >= 10_000_000
        runs = 1 if big else args.runs
        queries = "0" if big else "1"
        peers: dict[str, tuple[dict[str, Any], bool]] = {}
        flags = ["--path", path, "--runs", str(runs), "--queries", queries]
        ours = [sys.executable, me, "--child"]
        peers["creditcore load_arrays"] = (run_child([*ours, "ours-arrays", *flags]), True)
        peers["creditcore load_arrays, lazy"] = (
            run_child([*ours, "ours-arrays-lazy", *flags]),
            False,
        )
        if not big:
            peers["creditcore load(features)"] = (
                run_child([*ours, "ours-features", *flags]),
                True,
            )
        if sc_dir is not None:
            sc = run_child(
                [
                    "node",
                    "--max-old-space-size=16384",
                    "bench.mjs",
                    path,
                    json.dumps(WORLD_ZOOMS),
                    json.dumps(CITY_ZOOMS),
                    json.dumps(ALL_ZOOMS),
                    json.dumps(city_box()),
                    str(runs),
                    queries,
                ],
                cwd=sc_dir,
            )
            if "version" in sc:
                versions["supercluster"] = sc["version"]
                versions["node"] = sc["node"]
            peers["supercluster 9.1 (node)"] = (sc, True)
        if pysc is not None:
            py = run_child([str(pysc), me, "--child", "pysupercluster", *flags])
            if "version" in py:
                versions["pysupercluster"] = py["version"]
            peers["pysupercluster (C++)"] = (py, True)
        for peer, (result, eager) in peers.items():
            rows.append({"points": n, "data": kind, "peer": peer, **_summarise(result, eager)})
            print(_line(rows[-1]), flush=True)
    _ratios(rows)
    print()
    print(_ready_table(rows))
    print()
    print(_query_table(rows))
    for note in notes:
        print(f"note: {note}")
    try:
        import numba

        versions["numba"] = numba.__version__
    except ImportError:
        versions["numba"] = "not installed (numpy layouts)"
    versions["numpy"] = np.__version__
    versions["python"] = platform.python_version()
    return {
        "runs": args.runs,
        "zooms_swept": list(ALL_ZOOMS),
        "world_zooms": WORLD_ZOOMS,
        "city_zooms": CITY_ZOOMS,
        "city_box": city_box(),
        "versions": versions,
        "notes": notes,
        "rows": rows,
        "scaling": _scaling(rows),
    }


def _ratios(rows: list[dict[str, Any]]) -> None:
    """Each row's ready time over supercluster's and pysupercluster's, same size and data."""
    for r in rows:
        for peer, key in (
            ("supercluster 9.1 (node)", "vs_supercluster"),
            ("pysupercluster (C++)", "vs_pysupercluster"),
        ):
            ref = next(
                (
                    o
                    for o in rows
                    if o["peer"] == peer
                    and o["points"] == r["points"]
                    and o["data"] == r["data"]
                    and "error" not in o
                ),
                None,
            )
            if ref is not None and "error" not in r:
                r[key] = r["ready_s"] / ref["ready_s"]


def _scaling(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Least-squares exponents of ready time and memory against points (uniform, eager)."""
    out: dict[str, Any] = {}
    for peer in ("creditcore load_arrays", "supercluster 9.1 (node)", "pysupercluster (C++)"):
        pts = [r for r in rows if r["peer"] == peer and r["data"] == "uniform" and "error" not in r]
        if len(pts) < 2:
            continue
        n = np.log([r["points"] for r in pts])
        t = np.log([r["ready_s"] for r in pts])
        mem = np.log([max(1.0, r["load_peak_rss_mb"] - r["base_rss_mb"]) for r in pts])
        out[peer] = {
            "points": [r["points"] for r in pts],
            "time_exponent": float(np.polyfit(n, t, 1)[0]),
            "memory_exponent": float(np.polyfit(n, mem, 1)[0]),
        }
    return out


def _fmt(value: Any, unit: str = "s") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "s":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    if unit == "x":
        return f"{value:.2f}×"
    return f"{value:.0f}"


def _spread(r: dict[str, Any], key: str) -> str:
    return f"{_fmt(r[key + '_s'])} ({_fmt(r[key + '_min_s'])}–{_fmt(r[key + '_max_s'])})"


def _line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['points']:>8} {row['data']:<8} {row['peer']:<30} ERROR {row['error'][:200]}"
    return (
        f"{row['points']:>8} {row['data']:<8} {row['peer']:<30} ready {_spread(row, 'ready')} s, "
        f"load {_spread(row, 'load')} s, cpu {_fmt(row['cpu_s'])} s, "
        f"peak after load {_fmt(row['load_peak_rss_mb'], 'mb')} MB"
    )


def _ready_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| points | data | peer | ready at every zoom (s) | load alone (s) | CPU per load (s) "
        "| first / warm sweep, zooms 0–17 (s) | vs supercluster | vs pysupercluster "
        "| peak RSS after load (MB) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['points']:,} | {r['data']} | {r['peer']} | error |||||||")
            continue
        lines.append(
            f"| {r['points']:,} | {r['data']} | {r['peer']} | {_spread(r, 'ready')} | "
            f"{_spread(r, 'load')} | {_fmt(r['cpu_s'])} | {_fmt(r['first_sweep_s'])} / "
            f"{_fmt(r['warm_sweep_s'])} | {_fmt(r.get('vs_supercluster'), 'x')} | "
            f"{_fmt(r.get('vs_pysupercluster'), 'x')} | {_fmt(r['load_peak_rss_mb'], 'mb')} |"
        )
    return "\n".join(lines)


def _query_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| points | data | peer | get_clusters world z2,6,10 (s) | city z10,13,16 (s) "
        "| columnar world / city (s) |"
    )
    lines = [head, "|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r or "world_s" not in r or r["peer"].endswith("lazy"):
            continue
        cols = (
            f"{_fmt(r['world_cols_s'])} / {_fmt(r['city_cols_s'])}" if "world_cols_s" in r else "-"
        )
        lines.append(
            f"| {r['points']:,} | {r['data']} | {r['peer']} | {_fmt(r['world_s'])} "
            f"({r['world_n']:,} features) | {_fmt(r['city_s'])} ({r['city_n']:,}) | {cols} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kinds", default="uniform,city")
    parser.add_argument("--runs", type=int, default=RUNS, help="loads per row")
    parser.add_argument(
        "--ten-million", action="store_true", help="add the 10M uniform rows (one run each, slow)"
    )
    parser.add_argument("--no-queries", action="store_true", help="skip benchmarks/geo_queries.py")
    parser.add_argument("--no-tiles", action="store_true", help="skip benchmarks/geo_tiles.py")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--queries", default="1", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        queries = args.queries == "1"
        if args.child == "pysupercluster":
            out = child_pysupercluster(args.path, args.runs, queries)
        else:
            out = child_ours(args.path, args.child.removeprefix("ours-"), args.runs, queries)
        print(json.dumps(out))
        return

    payload: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "benchmarks/geo.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    payload["clustering"] = clustering(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
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
        sizes = [int(s) for s in args.sizes.split(",")]
        subprocess.run([sys.executable, str(tiles), "--points", str(max(sizes))], check=False)


if __name__ == "__main__":
    main()
