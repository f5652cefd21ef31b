"""The map page of examples/map in real Chromium: what MapLibre GL JS drew is what we computed.

The example's own server serves the page, MapLibre GL JS from npm (no CDN) and creditcore's
vector tiles; Debian's headless Chromium, driven by playwright-core (``executablePath``, no
browser download), loads it. The test reads what MapLibre rendered (``queryRenderedFeatures``)
and compares ids, counts, coordinates and expansion zooms with :meth:`Clusterer.viewport` for
the same view, clicks the largest cluster, and checks that the map reached the cluster's
expansion zoom and that the sidebar lists ``get_leaves`` of that cluster. The screenshot is
saved as docs/map.png.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from creditcore.geo import Clusterer
from tests.geo.node_support import missing, npm_folder, run_node

pytestmark = [pytest.mark.node, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "map.png"
PACKAGES = {"maplibre-gl": "6.20.0", "playwright-core": "1.65.1"}
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

DRIVER = r"""
import {chromium} from 'playwright-core';
import fs from 'fs';

const [url, chromiumPath, flags, out, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({executablePath: chromiumPath, args: JSON.parse(flags)});
const errors = [];
try {
  const page = await browser.newPage({viewport: {width: 1000, height: 640}});
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.mapState && window.mapState.ready, null, {timeout: 60000});

  const snapshot = () => page.evaluate(() => {
    const map = window.creditcoreMap;
    const canvas = map.getCanvas();
    const w = canvas.clientWidth, h = canvas.clientHeight;
    const box = (m) => {
      const nw = map.unproject([m, m]), se = map.unproject([w - m, h - m]);
      return [nw.lng, se.lat, se.lng, nw.lat];
    };
    const features = map.queryRenderedFeatures({layers: ['clusters', 'gigs']}).map((f) => ({
      id: f.id, layer: f.layer.id, properties: f.properties, coordinates: f.geometry.coordinates,
    }));
    return {zoom: map.getZoom(), inner: box(40), outer: box(-40), features};
  });
  const idle = () => page.evaluate(() => new Promise((resolve) => {
    const map = window.creditcoreMap;
    if (!map.isMoving() && map.loaded()) resolve(); else map.once('idle', resolve);
  }));

  const before = await snapshot();
  // the largest cluster well inside the view
  const rect = await page.evaluate(() => {
    const r = window.creditcoreMap.getCanvas().getBoundingClientRect();
    return {x: r.left, y: r.top};
  });
  const clusters = before.features.filter((f) => f.layer === 'clusters');
  const target = await page.evaluate((cs) => {
    const map = window.creditcoreMap;
    const canvas = map.getCanvas();
    const inside = cs.map((c) => ({c, p: map.project(c.coordinates)}))
      .filter(({p}) => p.x > 60 && p.y > 60 && p.x < canvas.clientWidth - 60 && p.y < canvas.clientHeight - 60)
      .sort((a, b) => b.c.properties.point_count - a.c.properties.point_count);
    return inside.length ? {cluster: inside[0].c, x: inside[0].p.x, y: inside[0].p.y} : null;
  }, clusters);
  let after = null, sidebar = null, leavesOf = null;
  if (target) {
    await page.mouse.click(rect.x + target.x, rect.y + target.y);
    await page.waitForFunction(() => window.mapState.leavesOf !== null, null, {timeout: 30000});
    await page.waitForTimeout(400);
    await idle();
    after = await snapshot();
    sidebar = await page.$$eval('#leaves li', (lis) => lis.map((li) => li.dataset.id));
    leavesOf = await page.evaluate(() => window.mapState.leavesOf);
  }
  await page.screenshot({path: screenshot});
  fs.writeFileSync(out, JSON.stringify({before, target, after, sidebar, leavesOf, errors}));
} finally {
  await browser.close();
}
"""


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "map_example_server", ROOT / "examples" / "map" / "server.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gigs() -> list[dict[str, Any]]:
    """A data set of its own (not the example's): three neighbourhoods and a scatter."""
    rng = np.random.default_rng(20261202)
    centres = np.array([[2.30, 48.85], [2.38, 48.87], [2.34, 48.83]])
    pts = np.vstack(
        (
            centres[rng.integers(0, 3, 2400)] + rng.normal(0, 0.012, (2400, 2)),
            np.column_stack((rng.uniform(2.1, 2.6, 300), rng.uniform(48.7, 49.0, 300))),
        )
    )
    return [
        {
            "type": "Feature",
            "id": f"g{i}",
            "properties": {"title": f"gig {i}", "credits": i % 30},
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
        }
        for i, (x, y) in enumerate(pts)
    ]


def _ids(features: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {int(f["id"]): f for f in features}


def _compare(snapshot: dict[str, Any], clusterer: Clusterer) -> int:
    zoom = snapshot["zoom"]
    assert zoom == int(zoom), zoom
    rendered = _ids(snapshot["features"])
    ours_outer = _ids(clusterer.viewport(snapshot["outer"], int(zoom))["features"])
    ours_inner = _ids(clusterer.viewport(snapshot["inner"], int(zoom))["features"])
    assert ours_inner, "the view should hold features"
    # everything well inside the view is drawn, and nothing is drawn that we did not compute
    assert set(ours_inner) <= set(rendered), sorted(set(ours_inner) - set(rendered))[:10]
    assert set(rendered) <= set(ours_outer), sorted(set(rendered) - set(ours_outer))[:10]
    tile_px = 360.0 / (2**zoom * clusterer.extent)  # one tile coordinate, in degrees
    for ident, f in rendered.items():
        ours = ours_outer[ident]
        props = ours["properties"]
        lng, lat = ours["geometry"]["coordinates"]
        assert abs(f["coordinates"][0] - lng) <= tile_px
        assert abs(f["coordinates"][1] - lat) <= tile_px * 2 / math.cos(math.radians(lat))
        if props.get("cluster"):
            assert f["layer"] == "clusters"
            assert f["properties"]["point_count"] == props["point_count"]
            assert f["properties"]["cluster_id"] == props["cluster_id"] == ident
            assert f["properties"]["expansion_zoom"] == props["expansion_zoom"]
            assert json.loads(f["properties"]["bbox"]) == props["bbox"]
        else:
            assert f["layer"] == "gigs"
            assert f["properties"]["point_id"] == props["point_id"]
    return len(rendered)


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Clusterer]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        missing("Debian's chromium is needed (.ci/system-deps installs it)")
    folder = npm_folder(PACKAGES)
    example = _load_example()
    gigs = _gigs()
    app = example.MapApp(
        gigs,
        maplibre_dir=folder / "node_modules" / "maplibre-gl" / "dist",
        center=(2.34, 48.855),
        zoom=11,
    )
    server, url = example.serve_in_thread(app)
    out = tmp_path_factory.mktemp("maplibre") / "run.json"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    try:
        run_node(
            folder,
            DRIVER,
            f"{url}/",
            str(chromium),
            json.dumps(FLAGS),
            str(out),
            str(SCREENSHOT),
            timeout=180,
        )
    finally:
        server.shutdown()
        server.server_close()
    result: dict[str, Any] = json.loads(out.read_text())
    clusterer: Clusterer = app.clusterer
    return result, clusterer


def test_rendered_features_are_the_clusters_creditcore_computed(
    browser_run: tuple[dict[str, Any], Clusterer],
) -> None:
    result, clusterer = browser_run
    assert result["errors"] == []
    assert _compare(result["before"], clusterer) > 10


def test_a_click_on_a_cluster_reaches_its_expansion_zoom_and_lists_its_leaves(
    browser_run: tuple[dict[str, Any], Clusterer],
) -> None:
    result, clusterer = browser_run
    target = result["target"]
    assert target is not None, "no cluster inside the view to click"
    cluster_id = target["cluster"]["properties"]["cluster_id"]
    assert result["leavesOf"] == cluster_id
    assert result["after"]["zoom"] == clusterer.get_cluster_expansion_zoom(cluster_id)
    expected = [f["id"] for f in clusterer.get_leaves(cluster_id, limit=50)]
    assert result["sidebar"] == expected
    # at the new zoom the map again shows exactly what creditcore computes, and the clicked
    # cluster has broken up
    assert _compare(result["after"], clusterer) > 1
    assert cluster_id not in {f["id"] for f in result["after"]["features"]}


def test_screenshot_was_saved() -> None:
    assert SCREENSHOT.exists()
    head = SCREENSHOT.read_bytes()[:8]
    assert head == b"\x89PNG\r\n\x1a\n"
