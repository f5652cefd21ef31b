"""MapLibre GL JS 6 clusters a geojson source itself; Clusterer(engine="maplibre-6") agrees.

The example server's geojson.html page gives MapLibre the gigs as a clustered ``geojson``
source (clustered in MapLibre's worker by @maplibre/geojson-vt 7). In headless Chromium the
test reads what MapLibre computed, ``querySourceFeatures`` at several zooms and, for clusters
found there, ``getClusterExpansionZoom``, ``getClusterChildren`` and ``getClusterLeaves``, and
compares ids, counts and coordinates with creditcore's Clusterer in the matching mode
(``engine="maplibre-6"``, ``extent=8192``, ``radius=50 * 16``, ``max_zoom=14``).
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import numpy as np
import pytest

from creditcore.geo import Clusterer
from tests.geo.node_support import missing, npm_folder, run_node
from tests.geo.test_maplibre_page import FLAGS, PACKAGES, _load_example

pytestmark = [pytest.mark.node, pytest.mark.slow]

ZOOMS = [3, 8, 11, 13, 15]

DRIVER = r"""
import {chromium} from 'playwright-core';
import fs from 'fs';

const [url, chromiumPath, flags, zooms, out] = process.argv.slice(2);
const browser = await chromium.launch({executablePath: chromiumPath, args: JSON.parse(flags)});
const errors = [];
try {
  const page = await browser.newPage({viewport: {width: 900, height: 600}});
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.mapReady === true, null, {timeout: 60000});
  const views = [];
  for (const zoom of JSON.parse(zooms)) {
    views.push(await page.evaluate(async (zoom) => {
      const map = window.creditcoreMap;
      map.jumpTo({zoom});
      await new Promise((resolve) => map.once('idle', resolve));
      const source = map.getSource('gigs');
      const seen = new Map();
      for (const f of map.querySourceFeatures('gigs')) {
        const key = f.properties.cluster ? 'c' + f.properties.cluster_id : 'p' + f.properties.i;
        if (!seen.has(key)) seen.set(key, {properties: f.properties, coordinates: f.geometry.coordinates});
      }
      const features = [...seen.values()];
      const clusters = features.filter((f) => f.properties.cluster)
        .sort((a, b) => b.properties.point_count - a.properties.point_count).slice(0, 6);
      const details = [];
      for (const c of clusters) {
        const id = c.properties.cluster_id;
        details.push({
          id,
          expansion: await source.getClusterExpansionZoom(id),
          children: (await source.getClusterChildren(id)).map((f) =>
            [f.properties.cluster ? f.id : null, f.properties.i ?? null, f.properties.point_count ?? 1,
             f.geometry.coordinates]),
          leaves: (await source.getClusterLeaves(id, 100000, 0)).map((f) => f.properties.i),
        });
      }
      const canvas = map.getCanvas();
      const nw = map.unproject([60, 60]), se = map.unproject([canvas.clientWidth - 60, canvas.clientHeight - 60]);
      return {zoom, features, details, inner: [nw.lng, se.lat, se.lng, nw.lat]};
    }, zoom));
  }
  fs.writeFileSync(out, JSON.stringify({views, errors}));
} finally {
  await browser.close();
}
"""


def _gigs() -> list[dict[str, Any]]:
    """A data set of its own: a few dense blobs and a scatter, some on the antimeridian."""
    rng = np.random.default_rng(7)
    centres = np.array([[-0.12, 51.50], [-0.05, 51.53], [-0.20, 51.47]])
    pts = np.vstack(
        (
            centres[rng.integers(0, 3, 1500)] + rng.normal(0, 0.015, (1500, 2)),
            np.column_stack((rng.uniform(-0.6, 0.4, 300), rng.uniform(51.2, 51.8, 300))),
        )
    )
    return [
        {
            "type": "Feature",
            "id": f"g{i}",
            "properties": {"i": i},
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
        }
        for i, (x, y) in enumerate(pts)
    ]


@pytest.fixture(scope="module")
def run() -> tuple[dict[str, Any], Clusterer]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        missing("Debian's chromium is needed (.ci/system-deps installs it)")
    folder = npm_folder(PACKAGES)
    example = _load_example()
    gigs = _gigs()
    clusterer = Clusterer(engine="maplibre-6", extent=8192, radius=50 * 16, max_zoom=14)
    app = example.MapApp(
        gigs,
        clusterer=clusterer,
        maplibre_dir=folder / "node_modules" / "maplibre-gl" / "dist",
        center=(-0.12, 51.5),
        zoom=3,
    )
    server, url = example.serve_in_thread(app)
    out = folder / "geojson-run.json"
    try:
        run_node(
            folder,
            DRIVER,
            f"{url}/geojson.html",
            str(chromium),
            json.dumps(FLAGS),
            json.dumps(ZOOMS),
            str(out),
            timeout=180,
        )
    finally:
        server.shutdown()
        server.server_close()
    result: dict[str, Any] = json.loads(out.read_text())
    return result, clusterer


def _key(props: dict[str, Any]) -> str:
    return f"c{props['cluster_id']}" if props.get("cluster") else f"p{props['i']}"


def test_maplibre_computed_the_clusters_creditcore_computes(
    run: tuple[dict[str, Any], Clusterer],
) -> None:
    result, clusterer = run
    assert result["errors"] == []
    world = [-180.0, -90.0, 180.0, 90.0]
    compared = 0
    for view in result["views"]:
        z = view["zoom"]
        ours = {_key(f["properties"]): f for f in clusterer.get_clusters(world, z)}
        tile_unit = 360.0 / (2**z * 8192)
        for f in view["features"]:
            mine = ours[_key(f["properties"])]  # every feature MapLibre made, we made too
            assert f["properties"].get("point_count", 1) == mine["properties"].get("point_count", 1)
            lng, lat = mine["geometry"]["coordinates"]
            assert abs(f["coordinates"][0] - lng) <= 2 * tile_unit
            assert abs(f["coordinates"][1] - lat) <= 4 * tile_unit
            compared += 1
        # and everything of ours well inside the view was in MapLibre's tiles
        inner = {_key(f["properties"]) for f in clusterer.get_clusters(view["inner"], z)}
        assert inner <= {_key(f["properties"]) for f in view["features"]}
    assert compared > 50


def test_maplibre_cluster_navigation_equals_creditcores(
    run: tuple[dict[str, Any], Clusterer],
) -> None:
    result, clusterer = run
    checked = 0
    for view in result["views"]:
        for d in view["details"]:
            cid = d["id"]
            assert clusterer.get_cluster_expansion_zoom(cid) == d["expansion"]
            children = [
                [
                    f["id"] if f["properties"].get("cluster") else None,
                    None if f["properties"].get("cluster") else f["properties"]["i"],
                    f["properties"].get("point_count", 1),
                    f["geometry"]["coordinates"],
                ]
                for f in clusterer.get_children(cid)
            ]
            assert [c[:3] for c in children] == [c[:3] for c in d["children"]]
            for mine, theirs in zip(children, d["children"], strict=True):
                assert mine[3] == pytest.approx(theirs[3], abs=1e-9)
            leaves = [f["properties"]["i"] for f in clusterer.get_leaves(cid, limit=None)]
            assert leaves == d["leaves"]
            checked += 1
    assert checked >= 10
