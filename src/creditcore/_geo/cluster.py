"""Map clustering with supercluster's answers: :class:`Clusterer`.

Same options, defaults and meaning as Mapbox's supercluster 9 (which MapLibre GL runs for
GeoJSON sources): points within ``radius`` pixels (of a tile ``extent`` pixels wide) merge into
a cluster per zoom, from ``max_zoom`` down to ``min_zoom``. Cluster ids, point counts and
coordinates equal supercluster's (the projection, its 2**30 integer grid and the visiting order
are reproduced); the clustering itself is vectorised with numpy (see
:mod:`.cluster_pyramid`). Features come back as GeoJSON dicts, or as numpy columns from
:meth:`Clusterer.get_clusters_arrays` when dicts are not needed.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt

from creditcore._exceptions import InvalidFeature, InvalidInput, UnknownCluster
from creditcore._geo.cluster_mercator import (
    SCALE,
    decode,
    encode_scalar,
    js_round,
    lat_y,
    lat_y_scalar,
    lng_x,
    lng_x_scalar,
    to_int32,
    to_int32_rounded,
    x_lng,
    y_lat,
)
from creditcore._geo.cluster_pyramid import Level, Reducer, build_pyramid, walk_levels
from creditcore._geo.cluster_query import children_of, range_query
from creditcore._geo.coordinates import check_columns
from creditcore._geo.features import parse_point_features
from creditcore._geo.mvt import encode_point_layer, encode_tile
from creditcore._geo.tiles import check_tile, member_bounds

__all__ = ["ENGINES", "ClusterArrays", "Clusterer", "Engine"]

Engine = Literal["supercluster-9.1", "maplibre-6"]
ENGINES: tuple[Engine, ...] = ("supercluster-9.1", "maplibre-6")
"""The clusterings :class:`Clusterer` reproduces: supercluster 9.1, and MapLibre GL JS 6.x's
own (@maplibre/geojson-vt 7, which rounds coordinates to the integer grid where supercluster
truncates, answers a cluster's expansion zoom as the zoom its children are at, and clusters a point at
longitude 180 as its wrapped copy at -180, after the other points)."""

Props = dict[str, Any]
Feature = dict[str, Any]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ClusterArrays:
    """Clusters and points of a box at a zoom, as columns (one row per feature).

    Attributes:
        lng: Longitude of each feature (a cluster's weighted centre).
        lat: Latitude of each feature.
        point_count: Points in each feature (1 for a point).
        cluster_id: The cluster id, or -1 for a point.
        is_cluster: True for clusters.
        point_index: Position of a point in the loaded data, or -1 for a cluster.
    """

    lng: FloatArray
    lat: FloatArray
    point_count: IntArray
    cluster_id: IntArray
    is_cluster: npt.NDArray[np.bool_]
    point_index: IntArray

    def __len__(self) -> int:
        return int(self.lng.size)


def _abbreviate(count: int) -> int | str:
    """supercluster's ``point_count_abbreviated``: 1234 -> '1.2k', 12345 -> '12k'."""
    if count >= 10000:
        return f"{math.floor(count / 1000 + 0.5)}k"
    if count >= 1000:
        tenths = math.floor(count / 100 + 0.5) / 10
        text = str(int(tenths)) if tenths.is_integer() else repr(tenths)
        return f"{text}k"
    return count


def _js_mod_lng(lng: float) -> float:
    """``((lng + 180) % 360 + 360) % 360 - 180`` with JavaScript's remainder (NaN for ±inf)."""
    if not math.isfinite(lng):
        return math.nan
    return math.fmod(math.fmod(lng + 180.0, 360.0) + 360.0, 360.0) - 180.0


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidInput(
            f"{name} must be a number, got {type(value).__name__} {value!r}",
            field=name,
            value=value,
        )
    result = float(value)
    if math.isnan(result):
        raise InvalidInput(f"{name} must not be NaN", field=name, value=value)
    return result


def _int_option(value: object, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidInput(
            f"{name} must be an int >= {low}, got {value!r}", field=name, value=value
        )
    return value


def _positive(value: object, name: str, zero: bool = False) -> float:
    result = _number(value, name)
    if not math.isfinite(result) or result < 0 or (result == 0 and not zero):
        kind = "non-negative" if zero else "positive"
        raise InvalidInput(f"{name} must be a {kind} number, got {value!r}", field=name)
    return result


def _columns(lngs: object, lats: object) -> tuple[FloatArray, FloatArray]:
    try:
        lng = np.asarray(lngs, dtype=np.float64)
        lat = np.asarray(lats, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidFeature(
            f"longitudes and latitudes must be numbers: {err}", field="coordinates"
        ) from None
    if lng.ndim != 1 or lat.ndim != 1 or lng.size != lat.size:
        raise InvalidFeature(
            f"longitudes and latitudes must be 1-D of equal length, got shapes "
            f"{lng.shape} and {lat.shape}",
            field="coordinates",
        )
    check_columns(lng, lat, lambda at: f"point {at}")
    return lng, lat


@dataclass(frozen=True, slots=True)
class _Loaded:
    """Everything one load produced; swapped in whole, so a failed load changes nothing."""

    levels: dict[int, Level]
    px: FloatArray
    py: FloatArray
    ids: Sequence[object] | None
    props: Sequence[Props | None]
    cluster_props: list[Props]
    lng: FloatArray
    lat: FloatArray
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def num_points(self) -> int:
        return int(self.px.size)


class Clusterer:
    """supercluster-compatible point clustering for map views.

    Args:
        min_zoom: Lowest zoom to build clusters on.
        max_zoom: Highest zoom to cluster on (capped at 30, like supercluster); above it the
            raw points are served.
        min_points: Fewest points that form a cluster.
        radius: Cluster radius in pixels (0 merges only points at the same position).
        extent: Tile extent in pixels (the radius is relative to it).
        node_size: supercluster's KD-tree leaf size. It does not change which clusters form,
            but it fixes the order of features in answers, which follows supercluster's tree.
        map: Turns a point's properties into the dict that ``reduce`` accumulates.
        reduce: ``reduce(accumulated, props)`` folds a member's mapped properties into a
            cluster's, in place (for example a sum of budgets). Without it clusters carry only
            the cluster properties.
        generate_id: In :meth:`get_tile`, give points their position as ``id``.
        lazy: Leave each zoom level's KD-tree layout to the first query that needs it. By
            default :meth:`load` builds every level's layout, as supercluster's ``load``
            builds its trees, so that any query at any zoom is answered at warm speed. A lazy
            load returns sooner and the first query at a zoom pays for that level (tens of
            milliseconds per million records with numba, about a second without): for
            callers that reload often and query few zooms.
        engine: Whose clusters to reproduce: ``"supercluster-9.1"`` (the default; what
            supercluster 9.1 computes in Node or a browser) or ``"maplibre-6"`` (what
            MapLibre GL JS 6.x computes for a ``geojson`` source with ``cluster: true``:
            pass MapLibre's own numbers, ``extent=8192`` and ``radius=clusterRadius * 16``
            for its default 512-pixel tiles, ``max_zoom=clusterMaxZoom``). In
            ``"maplibre-6"`` a point at longitude 180 is clustered at -180 and after all the
            others (positions, and so cluster ids, shift as in MapLibre).

    Raises:
        InvalidInput: An option of the wrong type or out of range, naming it.
    """

    def __init__(
        self,
        min_zoom: int = 0,
        max_zoom: int = 16,
        min_points: int = 2,
        radius: float = 40,
        extent: float = 512,
        node_size: int = 64,
        map: Callable[[Props], Props] | None = None,
        reduce: Callable[[Props, Props], object] | None = None,
        generate_id: bool = False,
        lazy: bool = False,
        engine: Engine = "supercluster-9.1",
    ) -> None:
        max_zoom = _int_option(max_zoom, "max_zoom", 0)
        min_zoom = _int_option(min_zoom, "min_zoom", 0)
        if min_zoom > max_zoom:
            raise InvalidInput(
                f"min_zoom {min_zoom} is above max_zoom {max_zoom}",
                field="min_zoom",
                value=min_zoom,
                max_zoom=max_zoom,
            )
        self.max_zoom = max_zoom = min(max_zoom, 30)
        self.min_zoom = min(min_zoom, max_zoom)
        self.min_points = _int_option(min_points, "min_points", 0)
        self.radius = _positive(radius, "radius", zero=True)
        self.extent = _positive(extent, "extent")
        self.node_size = _int_option(node_size, "node_size", 1)
        for name, fn in (("map", map), ("reduce", reduce)):
            if fn is not None and not callable(fn):
                raise InvalidInput(f"{name} must be callable, got {fn!r}", field=name)
        self.map = map
        self.reduce = reduce
        self.generate_id = bool(generate_id)
        self.lazy = bool(lazy)
        if engine not in ENGINES:
            raise InvalidInput(
                f"engine must be one of {', '.join(ENGINES)}, got {engine!r}",
                field="engine",
                value=engine,
            )
        self.engine: Engine = engine
        self._state = self._build(np.empty(0), np.empty(0), None, [])

    # --- loading --------------------------------------------------------------------------------

    def load(self, features: Iterable[Any]) -> Self:
        """Cluster GeoJSON point features (dicts), replacing what was loaded before.

        Raises:
            InvalidFeature: A malformed feature, named by its position (and id).
            InvalidCoordinates: A coordinate out of range or NaN, naming the feature.
        """
        ids, lngs, lats, props = parse_point_features(features)
        has_ids = any(i is not None for i in ids)
        self._state = self._build(lngs, lats, ids if has_ids else None, props)
        return self

    def load_arrays(
        self,
        lngs: npt.ArrayLike,
        lats: npt.ArrayLike,
        properties: Sequence[Props | None] | None = None,
        ids: Sequence[object] | None = None,
    ) -> Self:
        """Cluster points given as columns (the fast path: no dicts to read).

        Args:
            lngs: Longitudes in degrees.
            lats: Latitudes in degrees.
            properties: Optional properties per point (dicts or None).
            ids: Optional feature ids per point, echoed as GeoJSON ``id``.

        Raises:
            InvalidCoordinates: A coordinate out of range or NaN, naming the point.
            InvalidFeature: Columns of different lengths or non-numbers.
        """
        lng, lat = _columns(lngs, lats)
        n = lng.size
        for name, column in (("properties", properties), ("ids", ids)):
            if column is not None and len(column) != n:
                raise InvalidFeature(f"{name} has {len(column)} entries for {n} points", field=name)
        if properties is not None:
            for i, p in enumerate(properties):
                if p is not None and not isinstance(p, dict):
                    raise InvalidFeature(
                        f"point {i}: properties must be a dict or None, got {type(p).__name__}",
                        index=i,
                        field="properties",
                    )
        props: Sequence[Props | None] = properties if properties is not None else [None] * n
        self._state = self._build(lng, lat, ids, props)
        return self

    def _build(
        self,
        lng: FloatArray,
        lat: FloatArray,
        ids: Sequence[object] | None,
        props: Sequence[Props | None],
    ) -> _Loaded:
        rounding = to_int32
        if self.engine == "maplibre-6":
            rounding = to_int32_rounded
            # MapLibre wraps the world: a point at longitude 180 is clustered as its copy at
            # -180 (x = 0), which geojson-vt appends after every other point
            east = lng == 180.0
            if east.any():
                order = np.concatenate((np.flatnonzero(~east), np.flatnonzero(east)))
                lng = np.where(east, -180.0, lng)[order]
                lat = lat[order]
                moved = order.tolist()
                ids = [ids[i] for i in moved] if ids is not None else None
                props = [props[i] for i in moved]
        px = lng_x(lng)
        py = lat_y(lat)
        cluster_props: list[Props] = []
        reducer = None
        if self.reduce is not None:
            mapper = self.map if self.map is not None else _identity
            reducer = Reducer(mapper, self.reduce, list(props), cluster_props)
        levels = build_pyramid(
            rounding((px - 0.5) * SCALE),
            rounding((py - 0.5) * SCALE),
            min_zoom=self.min_zoom,
            max_zoom=self.max_zoom,
            min_points=self.min_points,
            radius=self.radius,
            extent=self.extent,
            reducer=reducer,
            node_size=self.node_size,
            rounding=rounding,
            reuse_unclustered=self.engine != "maplibre-6",
        )
        if not self.lazy:
            walk_levels(levels, self.node_size)
        return _Loaded(levels, px, py, ids, props, cluster_props, lng, lat)

    # --- queries --------------------------------------------------------------------------------

    def _level(self, zoom: object) -> Level:
        return self._state.levels[self._level_index(zoom)]

    def _level_index(self, zoom: object) -> int:
        z = _number(zoom, "zoom")
        floor = math.floor(z) if math.isfinite(z) else z  # ±inf clamps, as in supercluster
        return int(max(self.min_zoom, min(floor, self.max_zoom + 1)))

    @property
    def data_version(self) -> object:
        """An object that changes identity with each load (a cache key for derived data)."""
        return self._state

    def _box_indexes(self, bbox: Sequence[float], zoom: object) -> tuple[Level, IntArray]:
        if not isinstance(bbox, Sequence) or len(bbox) != 4:
            raise InvalidInput(
                f"bbox must be [west, south, east, north], got {bbox!r}", field="bbox", value=bbox
            )
        w, s, e, n = (_number(v, f"bbox[{i}]") for i, v in enumerate(bbox))
        if s > n:
            raise InvalidInput(
                f"bbox south {s} is north of its north {n}", field="bbox", value=bbox
            )
        level = self._level(zoom)
        parts = self._box_parts(w, s, e, n)
        found = [
            range_query(
                level,
                encode_scalar(lng_x_scalar(a)),
                encode_scalar(lat_y_scalar(top)),
                encode_scalar(lng_x_scalar(b)),
                encode_scalar(lat_y_scalar(bottom)),
                self.node_size,
            )
            for a, bottom, b, top in parts
        ]
        if not found:
            return level, np.empty(0, dtype=np.int64)
        return level, found[0] if len(found) == 1 else np.concatenate(found)

    @staticmethod
    def _box_parts(
        w: float, s: float, e: float, n: float
    ) -> list[tuple[float, float, float, float]]:
        """supercluster's box normalisation; an antimeridian box splits into east, west."""
        min_lng = _js_mod_lng(w)
        min_lat = max(-90.0, min(90.0, s))
        max_lng = 180.0 if e == 180 else _js_mod_lng(e)
        max_lat = max(-90.0, min(90.0, n))
        if e - w >= 360:
            return [(-180.0, min_lat, 180.0, max_lat)]
        if math.isnan(min_lng) or math.isnan(max_lng):
            return []  # an infinite edge: supercluster's range test fails for every point
        if min_lng > max_lng:
            east = Clusterer._box_parts(min_lng, min_lat, 180.0, max_lat)
            west = Clusterer._box_parts(-180.0, min_lat, max_lng, max_lat)
            return east + west
        return [(min_lng, min_lat, max_lng, max_lat)]

    def get_clusters(self, bbox: Sequence[float], zoom: float) -> list[Feature]:
        """Clusters and points inside ``bbox`` (west, south, east, north) at ``zoom``.

        A box whose west is greater than its east crosses the antimeridian, as in supercluster.

        Returns:
            GeoJSON Feature dicts: clusters carry ``cluster``, ``cluster_id``, ``point_count``,
            ``point_count_abbreviated`` (and reduced properties); points carry their own
            properties (the loaded dict itself) and id.
        """
        level, found = self._box_indexes(bbox, zoom)
        return self._features(level, found)

    def get_clusters_arrays(self, bbox: Sequence[float], zoom: float) -> ClusterArrays:
        """:meth:`get_clusters` as numpy columns: no dict per feature, so much faster."""
        level, found = self._box_indexes(bbox, zoom)
        count = level.count[found]
        is_cluster = count > 1
        ident = level.ident[found].astype(np.int64)
        lng, lat = self._coordinates(level, found, is_cluster)
        return ClusterArrays(
            lng=lng,
            lat=lat,
            point_count=count.astype(np.int64),
            cluster_id=np.where(is_cluster, ident, -1),
            is_cluster=is_cluster,
            point_index=np.where(is_cluster, -1, ident),
        )

    def _coordinates(
        self, level: Level, found: IntArray, is_cluster: npt.NDArray[np.bool_]
    ) -> tuple[FloatArray, FloatArray]:
        state = self._state
        point = np.where(is_cluster, 0, level.ident[found])
        mx = np.where(is_cluster, decode(level.x[found]), state.px[point] if point.size else 0.0)
        my = np.where(is_cluster, decode(level.y[found]), state.py[point] if point.size else 0.0)
        return x_lng(mx), y_lat(my)

    def _cluster_properties(self, count: int, cluster_id: int, prop: int) -> Props:
        fields: Props = {
            "cluster": True,
            "cluster_id": cluster_id,
            "point_count": count,
            "point_count_abbreviated": count if count < 1000 else _abbreviate(count),
        }
        return {**self._state.cluster_props[prop], **fields} if prop >= 0 else fields

    def _features(self, level: Level, found: IntArray) -> list[Feature]:
        # Many small dicts: the cyclic collector would rescan them again and again (half the
        # time); they hold no cycles, so it pauses while they are built.
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._build_features(level, found)
        finally:
            if paused:
                gc.enable()

    def _build_features(self, level: Level, found: IntArray) -> list[Feature]:
        state = self._state
        counts = level.count[found]
        is_cluster = counts > 1
        lng, lat = self._coordinates(level, found, is_cluster)
        out: list[Any] = [None] * found.size
        where = np.flatnonzero(is_cluster)
        if level.prop is None:
            # no reduce: the cluster properties inline (a call per cluster costs a fifth)
            for j, count, ident, x, y in zip(
                where.tolist(),
                counts[where].tolist(),
                level.ident[found[where]].tolist(),
                lng[where].tolist(),
                lat[where].tolist(),
                strict=True,
            ):
                out[j] = {
                    "type": "Feature",
                    "properties": {
                        "cluster": True,
                        "cluster_id": ident,
                        "point_count": count,
                        "point_count_abbreviated": count if count < 1000 else _abbreviate(count),
                    },
                    "geometry": {"type": "Point", "coordinates": [x, y]},
                    "id": ident,
                }
        else:
            for j, count, ident, pi, x, y in zip(
                where.tolist(),
                counts[where].tolist(),
                level.ident[found[where]].tolist(),
                _prop_indexes(level, found[where]),
                lng[where].tolist(),
                lat[where].tolist(),
                strict=True,
            ):
                out[j] = {
                    "type": "Feature",
                    "properties": self._cluster_properties(count, ident, pi),
                    "geometry": {"type": "Point", "coordinates": [x, y]},
                    "id": ident,
                }
        where = np.flatnonzero(~is_cluster)
        props = state.props
        ids = state.ids
        for j, ident, x, y in zip(
            where.tolist(),
            level.ident[found[where]].tolist(),
            lng[where].tolist(),
            lat[where].tolist(),
            strict=True,
        ):
            feature = {
                "type": "Feature",
                "properties": props[ident],
                "geometry": {"type": "Point", "coordinates": [x, y]},
            }
            if ids is not None and ids[ident] is not None:
                feature["id"] = ids[ident]
            out[j] = feature
        return out

    # --- cluster navigation ---------------------------------------------------------------------

    def _children(self, cluster_id: object, ordered: bool = True) -> tuple[Level, IntArray]:
        error = UnknownCluster(
            f"no cluster with the id {cluster_id!r}", field="cluster_id", value=cluster_id
        )
        if isinstance(cluster_id, bool) or not isinstance(cluster_id, int | np.integer):
            raise error
        offset = int(cluster_id) - self._state.num_points
        if offset < 0:
            raise error
        origin_zoom = offset % 32
        origin_id = offset >> 5
        level = self._state.levels.get(origin_zoom)
        if level is None or origin_id >= level.size:
            raise error
        found = children_of(level, int(cluster_id), self.node_size, ordered)
        if found.size == 0:
            raise error
        return level, found

    def get_children(self, cluster_id: int) -> list[Feature]:
        """The clusters and points that merged into ``cluster_id`` one zoom deeper.

        Raises:
            UnknownCluster: No cluster has this id.
        """
        level, found = self._children(cluster_id)
        return self._features(level, found)

    def get_leaves(self, cluster_id: int, limit: int | None = 10, offset: int = 0) -> list[Feature]:
        """The points of a cluster, paged: ``limit`` of them (None: all) after ``offset``.

        As in supercluster, a ``limit`` of 0 means the default, 10.

        Raises:
            UnknownCluster: No cluster has this id.
        """
        cap = math.inf if limit is None else _int_option(limit, "limit", 0) or 10
        skip = _int_option(offset, "offset", 0)
        leaves: list[Feature] = []
        self._append_leaves(leaves, cluster_id, cap, skip, 0)
        return leaves

    def _append_leaves(
        self, result: list[Feature], cluster_id: int, limit: float, offset: int, skipped: int
    ) -> int:
        level, found = self._children(cluster_id)
        counts = level.count[found].tolist()
        idents = level.ident[found].tolist()
        for pos, (count, ident) in enumerate(zip(counts, idents, strict=True)):
            if count > 1:
                if skipped + count <= offset:
                    skipped += count
                else:
                    skipped = self._append_leaves(result, ident, limit, offset, skipped)
            elif skipped < offset:
                skipped += 1
            else:
                result.extend(self._features(level, found[pos : pos + 1]))
            if len(result) == limit:
                break
        return skipped

    def get_cluster_expansion_zoom(self, cluster_id: int) -> int:
        """The zoom at which the cluster breaks up into more than one feature.

        Raises:
            UnknownCluster: No cluster has this id.
        """
        self._children(cluster_id, ordered=False)  # refuses unknown ids before the walk
        if self.engine == "maplibre-6":  # geojson-vt 7: the zoom the cluster's children are at
            return (int(cluster_id) - self._state.num_points) % 32
        expansion = (int(cluster_id) - self._state.num_points) % 32 - 1
        current = int(cluster_id)
        while expansion <= self.max_zoom:
            level, found = self._children(current, ordered=False)
            expansion += 1
            if found.size != 1:
                break
            current = int(level.ident[found[0]])
        return expansion

    # --- vector tiles ---------------------------------------------------------------------------

    def get_tile(
        self,
        z: int,
        x: int,
        y: int,
        format: Literal["geojson-vt", "mvt"] = "geojson-vt",
        layer: str = "clusters",
    ) -> Any:
        """Features of tile ``z/x/y``, as supercluster's ``getTile`` selects them.

        A tile holds the clusters and points of its zoom inside the tile and a buffer of
        ``radius`` pixels around it (across the antimeridian too), at tile coordinates
        ``round(extent * (mercator * 2**z - tile))``.

        Args:
            z: Tile zoom.
            x: Tile column.
            y: Tile row.
            format: ``"geojson-vt"`` (supercluster's JSON tile) or ``"mvt"`` (a Mapbox
                Vector Tile, protobuf bytes, with one point layer).
            layer: The MVT layer name.

        Returns:
            For ``geojson-vt``, ``{"features": [...]}`` with ``type`` 1, ``geometry``
            ``[[x, y]]`` in tile pixels, ``tags`` and ``id``; for ``mvt``, the tile's bytes
            (see :mod:`creditcore._geo.tiles` for the properties). None when the tile is empty.

        Raises:
            InvalidTile: ``mvt`` tile address off the grid.
            InvalidInput: A negative or non-integer coordinate, or an unknown format.
        """
        if format == "mvt":
            check_tile(z, x, y)
            return self._mvt_tile(z, x, y, layer)
        if format != "geojson-vt":
            raise InvalidInput(
                f"format must be 'geojson-vt' or 'mvt', got {format!r}", field="format"
            )
        for name, value in (("z", z), ("x", x), ("y", y)):
            _int_option(value, name, 0)
        level = self._level(z)
        z2 = float(2**z)
        features: list[Feature] = []
        for found, tile_x in self._tile_ranges(level, z, x, y):
            features.extend(self._tile_features(level, found, tile_x, y, z2))
        return {"features": features} if features else None

    def _tile_ranges(self, level: Level, z: int, x: int, y: int) -> list[tuple[IntArray, int]]:
        """The records of a tile (with its buffer), per box: ``(indexes, tile x)``."""
        z2 = float(2**z)
        p = self.radius / self.extent
        top = encode_scalar((y - p) / z2)
        bottom = encode_scalar((y + 1 + p) / z2)
        boxes: list[tuple[float, float, int]] = [
            (encode_scalar((x - p) / z2), encode_scalar((x + 1 + p) / z2), x)
        ]
        if x == 0:
            boxes.append((encode_scalar(1 - p / z2), encode_scalar(1.0), int(z2)))
        if x == z2 - 1:
            boxes.append((encode_scalar(0.0), encode_scalar(p / z2), -1))
        return [
            (range_query(level, min_x, top, max_x, bottom, self.node_size), tile_x)
            for min_x, max_x, tile_x in boxes
        ]

    def _mvt_tile(self, z: int, x: int, y: int, layer: str) -> bytes | None:
        index = self._level_index(z)
        level = self._state.levels[index]
        z2 = float(2**z)
        rows: list[tuple[int | None, int, int, Props | None]] = []
        for found, tile_x in self._tile_ranges(level, z, x, y):
            if found.size == 0:
                continue
            counts = level.count[found]
            is_cluster = counts > 1
            mx, my = self._mercator(level, found, is_cluster)
            tx = js_round(self.extent * (mx * z2 - tile_x)).tolist()
            ty = js_round(self.extent * (my * z2 - y)).tolist()
            props = self._feature_properties(index, level, found, is_cluster, bbox_text=True)
            idents = level.ident[found].tolist()
            rows.extend(zip(idents, tx, ty, props, strict=True))
        if not rows:
            return None
        return encode_tile([encode_point_layer(layer, int(self.extent), rows)])

    def _mercator(
        self, level: Level, found: IntArray, is_cluster: npt.NDArray[np.bool_]
    ) -> tuple[FloatArray, FloatArray]:
        state = self._state
        point = np.where(is_cluster, 0, level.ident[found])
        mx = np.where(is_cluster, decode(level.x[found]), state.px[point] if point.size else 0.0)
        my = np.where(is_cluster, decode(level.y[found]), state.py[point] if point.size else 0.0)
        return mx, my

    def _feature_properties(
        self,
        index: int,
        level: Level,
        found: IntArray,
        is_cluster: npt.NDArray[np.bool_],
        bbox_text: bool = False,
    ) -> list[Props | None]:
        """Properties of tile and viewport features: clusters with expansion zoom and bbox
        (a list, or its JSON text for a vector tile), points with their own properties and
        ``point_id``."""
        state = self._state
        out: list[Props | None] = []
        idents = level.ident[found].tolist()
        where = np.flatnonzero(is_cluster)
        bounds: list[list[float]] = []
        if where.size:
            w, s, e, n = member_bounds(
                state.levels, index, self.max_zoom + 1, state.lng, state.lat, state.cache
            )
            at = found[where]
            bounds = np.column_stack((w[at], s[at], e[at], n[at])).tolist()
        cluster_rank = dict(zip(where.tolist(), range(where.size), strict=True))
        prop_indexes = _prop_indexes(level, found)
        counts = level.count[found].tolist()
        ids = state.ids
        for j, (ident, count) in enumerate(zip(idents, counts, strict=True)):
            rank = cluster_rank.get(j)
            if rank is not None:
                props = self._cluster_properties(count, ident, prop_indexes[j])
                props["expansion_zoom"] = self._expansion_zoom_cached(ident)
                box = bounds[rank]
                props["bbox"] = (
                    f"[{box[0]!r},{box[1]!r},{box[2]!r},{box[3]!r}]" if bbox_text else box
                )
                out.append(props)
            else:
                own = state.props[ident]
                point_id = ids[ident] if ids is not None else None
                if point_id is None:
                    out.append(own)
                else:
                    out.append({**own, "point_id": point_id} if own else {"point_id": point_id})
        return out

    def _expansion_zoom_cached(self, cluster_id: int) -> int:
        memo: dict[int, int] = self._state.cache.setdefault("expansion", {})
        zoom = memo.get(cluster_id)
        if zoom is None:
            zoom = memo[cluster_id] = self.get_cluster_expansion_zoom(cluster_id)
        return zoom

    # --- viewports ------------------------------------------------------------------------------

    def viewport(self, bbox: Sequence[float], zoom: float) -> dict[str, Any]:
        """The clusters and points of a map view as a GeoJSON FeatureCollection.

        Ready for a MapLibre/Mapbox ``geojson`` source (with its own clustering off). A box
        whose west is greater than its east crosses the antimeridian. Every feature's ``id``
        is a number: a cluster's ``cluster_id`` or a point's position in the loaded data
        (the point's own id is in ``properties.point_id``). Clusters also carry
        ``expansion_zoom`` and ``bbox`` (their points' ``[west, south, east, north]``).
        """
        level, found = self._box_indexes(bbox, zoom)
        index = self._level_index(zoom)
        counts = level.count[found]
        is_cluster = counts > 1
        lng, lat = self._coordinates(level, found, is_cluster)
        props = self._feature_properties(index, level, found, is_cluster)
        features = [
            {
                "type": "Feature",
                "id": ident,
                "properties": p if p is not None else {},
                "geometry": {"type": "Point", "coordinates": [x, y]},
            }
            for ident, p, x, y in zip(
                level.ident[found].tolist(), props, lng.tolist(), lat.tolist(), strict=True
            )
        ]
        return {"type": "FeatureCollection", "features": features}

    def viewport_arrays(self, bbox: Sequence[float], zoom: float) -> ClusterArrays:
        """:meth:`viewport` as numpy columns (:meth:`get_clusters_arrays`)."""
        return self.get_clusters_arrays(bbox, zoom)

    def _tile_features(
        self, level: Level, found: IntArray, x: int, y: int, z2: float
    ) -> list[Feature]:
        state = self._state
        counts = level.count[found]
        is_cluster = counts > 1
        point = np.where(is_cluster, 0, level.ident[found])
        mx = np.where(is_cluster, decode(level.x[found]), state.px[point] if point.size else 0.0)
        my = np.where(is_cluster, decode(level.y[found]), state.py[point] if point.size else 0.0)
        tx = js_round(self.extent * (mx * z2 - x)).tolist()
        ty = js_round(self.extent * (my * z2 - y)).tolist()
        out: list[Feature] = []
        for cl, count, ident, pi, fx, fy in zip(
            is_cluster.tolist(),
            counts.tolist(),
            level.ident[found].tolist(),
            _prop_indexes(level, found),
            tx,
            ty,
            strict=True,
        ):
            feature: Feature = {
                "type": 1,
                "geometry": [[fx, fy]],
                "tags": self._cluster_properties(count, ident, pi) if cl else state.props[ident],
            }
            if cl or self.generate_id:
                feature["id"] = ident
            elif state.ids is not None and state.ids[ident] is not None:
                feature["id"] = state.ids[ident]
            out.append(feature)
        return out

    def __repr__(self) -> str:
        return (
            f"Clusterer(points={self._state.num_points}, zooms={self.min_zoom}..{self.max_zoom}, "
            f"radius={self.radius:g}, extent={self.extent:g}, min_points={self.min_points})"
        )


def _identity(props: Props) -> Props:
    return props


def _prop_indexes(level: Level, found: IntArray) -> list[int]:
    """Cluster property indexes of some records (-1 everywhere without ``reduce``)."""
    if level.prop is None:
        return [-1] * found.size
    indexes: list[int] = level.prop[found].tolist()
    return indexes
