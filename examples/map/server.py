"""A map of clustered gigs: MapLibre GL JS over creditcore's vector tiles, standard library only.

Run it (after ``npm install`` in this folder, which brings MapLibre GL JS from npm)::

    cd examples/map && npm install && python server.py --port 8000

then open http://127.0.0.1:8000/. The page (``static/``) loads the clusters as a ``vector``
source from ``/tiles/{z}/{x}/{y}.pbf`` (served by :class:`creditcore.geo.VectorTiles`),
draws cluster circles with their counts and single gigs, zooms to a cluster's expansion zoom
on a click and lists the clicked cluster's gigs in a sidebar from ``/leaves/{cluster_id}``.

Endpoints:
    ``/tiles/{z}/{x}/{y}.pbf``  the tile (200), 204 when empty, 304 on a matching ETag, 400
        for an address off the grid.
    ``/leaves/{cluster_id}?limit=&offset=``  the cluster's gigs as GeoJSON (404 unknown id).
    ``/clusters?bbox=w,s,e,n&zoom=z``  the view as a FeatureCollection (``viewport``).
    ``/points.geojson``  every gig, for a map that clusters them itself.
    ``/config.json``  the start view and zoom range for the page.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from creditcore import CreditcoreError, InvalidInput, NotFound
from creditcore.geo import Clusterer, VectorTiles

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
MAPLIBRE = HERE / "node_modules" / "maplibre-gl" / "dist"


def city_gigs(n: int = 20_000, seed: int = 1) -> list[dict[str, Any]]:
    """Made-up gigs around a city centre (Berlin), as GeoJSON point features."""
    rng = np.random.default_rng(seed)
    centres = np.array([[13.40, 52.52], [13.30, 52.50], [13.45, 52.48], [13.52, 52.55]])
    which = rng.integers(0, len(centres), n)
    pts = centres[which] + rng.normal(0, 0.03, (n, 2)) * [1.6, 1.0]
    kinds = ["portrait", "logo", "voice-over", "translation", "video"]
    return [
        {
            "type": "Feature",
            "id": f"gig-{i}",
            "properties": {"title": f"{kinds[i % 5]} #{i}", "credits": int(5 + i % 45)},
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
        }
        for i, (x, y) in enumerate(pts)
    ]


class MapApp:
    """What the handler serves: the clusterer, its tile function and the static files."""

    def __init__(
        self,
        features: list[dict[str, Any]],
        clusterer: Clusterer | None = None,
        maplibre_dir: Path = MAPLIBRE,
        center: tuple[float, float] = (13.40, 52.52),
        zoom: float = 10,
    ) -> None:
        self.features = features
        self.clusterer = clusterer if clusterer is not None else Clusterer(max_zoom=16)
        self.clusterer.load(features)
        self.tiles = VectorTiles(self.clusterer, layer="gigs")
        self.maplibre_dir = maplibre_dir
        self.config = {
            "center": list(center),
            "zoom": zoom,
            "maxzoom": self.clusterer.max_zoom + 1,
            "layer": "gigs",
        }


def _handler(app: MapApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "creditcore-map/1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet; a real service logs

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, value: object) -> None:
            body = json.dumps(value, separators=(",", ":")).encode()
            self._send(status, body, {"Content-Type": "application/json"})

        def _error(self, status: int, err: Exception) -> None:
            code = getattr(err, "code", "bad_request")
            self._json(status, {"error": code, "message": str(err)})

        def _file(self, root: Path, name: str) -> None:
            path = (root / name).resolve()
            if root.resolve() not in path.parents or not path.is_file():
                self._json(404, {"error": "not_found", "message": name})
                return
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if path.suffix in {".mjs", ".js"}:
                kind = "text/javascript"
            self._send(200, path.read_bytes(), {"Content-Type": kind})

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                if not parts:
                    self._file(STATIC, "index.html")
                elif parts[0] == "tiles" and len(parts) == 4 and parts[3].endswith(".pbf"):
                    z, x, y = (int(v) for v in (parts[1], parts[2], parts[3][: -len(".pbf")]))
                    tile = app.tiles(z, x, y, if_none_match=self.headers.get("If-None-Match"))
                    self._send(tile.status, tile.body, tile.headers)
                elif parts[0] == "leaves" and len(parts) == 2:
                    limit = int(query.get("limit", "50"))
                    offset = int(query.get("offset", "0"))
                    leaves = app.clusterer.get_leaves(int(parts[1]), limit=limit, offset=offset)
                    self._json(200, {"type": "FeatureCollection", "features": leaves})
                elif parts == ["clusters"]:
                    bbox = [float(v) for v in query["bbox"].split(",")]
                    self._json(200, app.clusterer.viewport(bbox, float(query["zoom"])))
                elif parts == ["points.geojson"]:
                    self._json(200, {"type": "FeatureCollection", "features": app.features})
                elif parts == ["config.json"]:
                    self._json(200, app.config)
                elif parts[0] == "maplibre" and len(parts) == 2:
                    self._file(app.maplibre_dir, parts[1])
                elif len(parts) == 1:
                    self._file(STATIC, parts[0])
                else:
                    self._json(404, {"error": "not_found", "message": url.path})
            except NotFound as err:
                self._error(404, err)
            except (InvalidInput, ValueError, KeyError) as err:
                self._error(400, err)
            except CreditcoreError as err:  # pragma: no cover - a bug, reported as such
                self._error(500, err)

        do_HEAD = do_GET

    return Handler


def make_server(app: MapApp, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server for ``app`` (port 0 picks a free one: see ``server_address``)."""
    server = ThreadingHTTPServer((host, port), _handler(app))
    server.daemon_threads = True
    return server


def serve_in_thread(app: MapApp) -> tuple[ThreadingHTTPServer, str]:
    """Start a server on a free loopback port in a daemon thread; returns it and its URL."""
    server = make_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host!s}:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--gigs", type=int, default=20_000, help="made-up gigs to show")
    parser.add_argument("--maplibre", type=Path, default=MAPLIBRE, help="maplibre-gl/dist")
    args = parser.parse_args()
    if not (args.maplibre / "maplibre-gl.mjs").exists():
        parser.error(f"no MapLibre GL JS at {args.maplibre}: run `npm install` in {HERE}")
    app = MapApp(city_gigs(args.gigs), maplibre_dir=args.maplibre)
    server = make_server(app, port=args.port)
    print(f"serving the map at http://127.0.0.1:{server.server_address[1]}/")
    server.serve_forever()


if __name__ == "__main__":
    main()
