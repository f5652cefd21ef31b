"""Vector tiles of clusters: the MVT form of a tile, and a framework-free tile endpoint.

:class:`VectorTiles` turns a :class:`~creditcore.geo.Clusterer` into the function a tile
service needs: ``(z, x, y) -> TileResponse`` with the body (a Mapbox Vector Tile), its media
type and an ETag, cached per clusterer load, 204 with an empty body for an empty tile, and
:class:`~creditcore.InvalidTile` for an address off the tile grid. Any web framework mounts
it in a few lines (see ``examples/map/server.py`` for the standard library's http.server).

Cluster features carry ``cluster``, ``cluster_id``, ``point_count``,
``point_count_abbreviated``, ``expansion_zoom`` and ``bbox`` (the extent of its points as
``[west, south, east, north]``; JSON text inside a tile, as vt-pbf writes a list) and the
map/reduce properties; points carry their own properties and ``point_id`` (their id in the
loaded data, when they have one). Feature ids are one integer space: a point's position in
the loaded data, a cluster's ``cluster_id`` (always greater), so MapLibre's feature state
works for both.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from creditcore._exceptions import InvalidTile
from creditcore._geo.cluster_pyramid import Level
from creditcore._geo.mvt import MEDIA_TYPE

if TYPE_CHECKING:
    from creditcore._geo.cluster import Clusterer

__all__ = ["MAX_TILE_ZOOM", "TileResponse", "VectorTiles", "check_tile", "member_bounds"]

FloatArray = npt.NDArray[np.float64]
Bounds = tuple[FloatArray, FloatArray, FloatArray, FloatArray]

MAX_TILE_ZOOM = 30


def check_tile(z: object, x: object, y: object) -> tuple[int, int, int]:
    """Validate a tile address and return it as ints.

    Raises:
        InvalidTile: A non-integer, ``z`` outside 0..30, or ``x``/``y`` outside 0..2**z - 1.
    """
    for name, value in (("z", z), ("x", x), ("y", y)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InvalidTile(
                f"tile {name} must be an int, got {type(value).__name__} {value!r}",
                field=name,
                value=value,
            )
    zi, xi, yi = int(z), int(x), int(y)  # type: ignore[call-overload]
    if not 0 <= zi <= MAX_TILE_ZOOM:
        raise InvalidTile(
            f"tile zoom {zi} is outside 0..{MAX_TILE_ZOOM}", field="z", value=zi, tile=(zi, xi, yi)
        )
    size = 1 << zi
    for name, value in (("x", xi), ("y", yi)):
        if not 0 <= value < size:
            raise InvalidTile(
                f"tile {name} {value} is outside 0..{size - 1} at zoom {zi}",
                field=name,
                value=value,
                tile=(zi, xi, yi),
            )
    return zi, xi, yi


def member_bounds(
    levels: Mapping[int, Level],
    zoom: int,
    top: int,
    lng: FloatArray,
    lat: FloatArray,
    cache: dict[str, Any],
) -> Bounds:
    """``(west, south, east, north)`` of the points under each record of ``levels[zoom]``.

    Computed from the top level (the points) downward, once per level, through the parent
    links: a new cluster's extent is the union of its children's.
    """
    memo: dict[int, Bounds] = cache.setdefault("bounds", {})
    found = memo.get(id(levels[zoom]))
    if found is not None:
        return found
    first = levels[top]
    if id(first) not in memo:
        points = first.ident.astype(np.int64)
        memo[id(first)] = (lng[points], lat[points], lng[points], lat[points])
    for z in range(top - 1, zoom - 1, -1):
        upper, lower = levels[z + 1], levels[z]
        if id(lower) in memo:
            continue
        if lower is upper or upper.parent is None:
            memo[id(lower)] = memo[id(upper)]
            continue
        w, s, e, n = memo[id(upper)]
        keys = np.where(upper.parent >= 0, upper.parent, upper.ident).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        at = np.searchsorted(sorted_keys[starts], lower.ident.astype(np.int64))
        memo[id(lower)] = (
            np.minimum.reduceat(w[order], starts)[at],
            np.minimum.reduceat(s[order], starts)[at],
            np.maximum.reduceat(e[order], starts)[at],
            np.maximum.reduceat(n[order], starts)[at],
        )
    return memo[id(levels[zoom])]


@dataclass(frozen=True, slots=True)
class TileResponse:
    """What a tile endpoint answers.

    Attributes:
        status: 200 with a tile, 204 for an empty tile (empty body), 304 when the client's
            ``If-None-Match`` already names this tile.
        body: The Mapbox Vector Tile bytes (empty for 204 and 304).
        media_type: ``application/vnd.mapbox-vector-tile``.
        etag: A strong ETag (quoted), the same for the same tile of the same load.
    """

    status: int
    body: bytes
    media_type: str
    etag: str

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers to send with the response."""
        headers = {"ETag": self.etag, "Cache-Control": "no-cache"}
        if self.status == 200:
            headers["Content-Type"] = self.media_type
            headers["Content-Length"] = str(len(self.body))
        return headers


class VectorTiles:
    """The tile function of a service: ``tiles(z, x, y) -> TileResponse``.

    Args:
        clusterer: The loaded clusterer whose clusters the tiles hold. Loading new data into
            it invalidates the cache (the ETags change with the data).
        layer: The layer name (the ``source-layer`` of a map style).
        cache_size: Tiles kept (least recently used dropped first); 0 keeps none.

    Thread-safe: a lock guards the cache; tiles are encoded outside it.
    """

    def __init__(self, clusterer: Clusterer, layer: str = "clusters", cache_size: int = 4096):
        if not isinstance(layer, str) or not layer:
            from creditcore._exceptions import InvalidInput

            raise InvalidInput(f"layer must be a non-empty str, got {layer!r}", field="layer")
        self.clusterer = clusterer
        self.layer = layer
        self.cache_size = max(0, int(cache_size))
        self._cache: OrderedDict[tuple[int, int, int], tuple[object, TileResponse]] = OrderedDict()
        self._lock = threading.Lock()
        self._encode: Callable[[int, int, int], bytes | None] = lambda z, x, y: clusterer.get_tile(
            z, x, y, format="mvt", layer=layer
        )

    def __call__(
        self, z: object, x: object, y: object, if_none_match: str | None = None
    ) -> TileResponse:
        """The tile ``z/x/y``.

        Args:
            z: Zoom (0..30).
            x: Column (0..2**z - 1).
            y: Row (0..2**z - 1), from the north as in XYZ tile URLs.
            if_none_match: The request's ``If-None-Match`` header, if any.

        Raises:
            InvalidTile: An address off the grid (a service answers 400 or 404).
        """
        key = check_tile(z, x, y)
        state = self.clusterer.data_version
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] is state:
                self._cache.move_to_end(key)
                response = hit[1]
            else:
                response = None
        if response is None:
            body = self._encode(*key)
            digest = hashlib.blake2b(body or b"", digest_size=12)
            digest.update(repr(key).encode())
            etag = f'"{digest.hexdigest()}"'
            response = TileResponse(
                status=200 if body else 204, body=body or b"", media_type=MEDIA_TYPE, etag=etag
            )
            if self.cache_size:
                with self._lock:
                    self._cache[key] = (state, response)
                    self._cache.move_to_end(key)
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
        if if_none_match is not None and response.etag in {
            tag.strip() for tag in if_none_match.split(",")
        }:
            return TileResponse(status=304, body=b"", media_type=MEDIA_TYPE, etag=response.etag)
        return response

    def __repr__(self) -> str:
        return f"VectorTiles(layer={self.layer!r}, cached={len(self._cache)})"
