"""The projection equals V8's bit for bit: every latitude, tile edges of every zoom included.

Node (V8, the engine of Chromium and so of MapLibre GL JS) projects the latitudes with
supercluster's formula and stores them in an Int32Array as supercluster 9 does; the test
compares the float64 bits of each mercator y and each stored integer with
:func:`lat_y`. The latitudes are the edges of tiles at every zoom 0-24 (each edge and its
neighbours a few ulps away, where a last-bit difference flips the integer), random ones, and
the poles and mercator limits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from creditcore._geo.cluster_mercator import (
    SCALE,
    fdlibm_log,
    fdlibm_sin,
    lat_y,
    lat_y_scalar,
    to_int32,
)
from creditcore.geo import Clusterer
from tests.geo.node_support import need_node, run_node

pytestmark = [pytest.mark.node]

SCRIPT = r"""
import fs from 'fs';
const buf = fs.readFileSync(process.argv[2]);
const lat = new Float64Array(buf.buffer, buf.byteOffset, buf.length / 8);
const n = lat.length;
const sin = new Float64Array(n), log = new Float64Array(n), y = new Float64Array(n);
const ints = new Int32Array(n);
for (let i = 0; i < n; i++) {
  const s = Math.sin(lat[i] * Math.PI / 180);
  const l = Math.log((1 + s) / (1 - s));
  const v = 0.5 - 0.25 * l / Math.PI;
  sin[i] = s; log[i] = l;
  y[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  ints[i] = (y[i] - 0.5) * 0x40000000;
}
for (const [name, arr] of [['sin', sin], ['log', log], ['y', y], ['int', ints]]) {
  fs.writeFileSync(process.argv[3] + '.' + name, Buffer.from(arr.buffer));
}
"""


def _tile_edge_latitudes(rng: np.random.Generator) -> np.ndarray:
    """Latitudes of tile edges of zooms 0-24 (all of them up to zoom 9, a sample beyond)."""
    out = []
    for z in range(25):
        count = 2**z
        ks = np.arange(count + 1) if z <= 9 else rng.integers(0, count + 1, 1500)
        y = ks / count
        lat = 360.0 * np.arctan(np.exp((180.0 - y * 360.0) * np.pi / 180.0)) / np.pi - 90.0
        out.append(lat)
    edges = np.concatenate(out)
    near = [edges]
    up, down = edges.copy(), edges.copy()
    for _ in range(3):  # the neighbours a few ulps away on both sides
        up = np.nextafter(up, np.inf)
        down = np.nextafter(down, -np.inf)
        near += [up, down]
    result: np.ndarray = np.clip(np.concatenate(near), -90.0, 90.0)
    return result


@pytest.fixture(scope="module")
def latitudes() -> np.ndarray:
    rng = np.random.default_rng(20261202)
    special = np.array(
        [
            0.0,
            -0.0,
            90.0,
            -90.0,
            85.0511287798066,
            -85.0511287798066,
            85.05112877980659,
            60.93043220292333,
            71.96538769913127,
            45.0,
            1e-300,
            -1e-300,
            5e-324,
        ]
    )
    return np.concatenate(
        (special, _tile_edge_latitudes(rng), rng.uniform(-90, 90, 60_000), rng.normal(0, 1, 5000))
    )


@pytest.fixture(scope="module")
def v8(latitudes: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    need_node()
    folder: Path = tmp_path_factory.mktemp("mercator")
    src = folder / "lat.bin"
    latitudes.astype(np.float64).tofile(src)
    run_node(folder, SCRIPT, str(src), str(folder / "out"))
    kinds = {"sin": np.float64, "log": np.float64, "y": np.float64, "int": np.int32}
    return {k: np.fromfile(folder / f"out.{k}", dtype=t) for k, t in kinds.items()}


def _same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    same: np.ndarray = a.view(np.int64) == b.view(np.int64)
    return same


def test_sine_and_logarithm_equal_v8_bit_for_bit(
    latitudes: np.ndarray, v8: dict[str, np.ndarray]
) -> None:
    with np.errstate(divide="ignore"):
        sin = fdlibm_sin(latitudes * np.pi / 180.0)
        log = fdlibm_log((1.0 + v8["sin"]) / (1.0 - v8["sin"]))
    bad = np.flatnonzero(~_same_bits(sin, v8["sin"]))
    assert bad.size == 0, f"sin differs at {latitudes[bad[:5]].tolist()}"
    bad = np.flatnonzero(~_same_bits(log, v8["log"]))
    assert bad.size == 0, f"log differs at {latitudes[bad[:5]].tolist()}"


def test_mercator_y_and_stored_integers_equal_v8(
    latitudes: np.ndarray, v8: dict[str, np.ndarray]
) -> None:
    y = lat_y(latitudes)
    bad = np.flatnonzero(~_same_bits(y, v8["y"]))
    assert bad.size == 0, f"y differs at {latitudes[bad[:5]].tolist()}"
    ints = to_int32((y - 0.5) * SCALE)
    assert np.array_equal(ints, v8["int"])
    # numpy's own sin/log do differ here (the reason for the port): the test has teeth
    with np.errstate(divide="ignore"):
        s = np.sin(latitudes * np.pi / 180.0)
        naive = np.clip(0.5 - 0.25 * np.log((1.0 + s) / (1.0 - s)) / np.pi, 0.0, 1.0)
    assert (~_same_bits(naive, v8["y"])).sum() > 100


def test_scalar_projection_is_the_vector_one(
    latitudes: np.ndarray, v8: dict[str, np.ndarray]
) -> None:
    for i in range(0, latitudes.size, 997):
        assert lat_y_scalar(float(latitudes[i])) == v8["y"][i]


def test_points_one_radius_apart_on_tile_edges_cluster_as_in_supercluster() -> None:
    # The minimal case of the issue: supercluster 9.1 makes one cluster of the two points at
    # zoom 0 (their stored y differ by exactly the radius); libm's sin/log left them apart.
    lats = [60.93043220292333, 71.96538769913127]
    clusterer = Clusterer(max_zoom=0).load_arrays([0.0, 0.0], lats)
    (feature,) = clusterer.get_clusters([-180, -90, 180, 90], 0)
    assert feature["properties"]["point_count"] == 2
