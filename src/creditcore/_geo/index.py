"""The gig index: numpy columns and a latitude-row snapshot for box, radius and polygon queries.

Storage: every gig gets a *slot* (its insertion position, never reused until a compaction) in
numpy columns of longitude and latitude; its ``Gig`` value is built on first use and kept.
Queries run on a :class:`~creditcore._geo.rows.LatRows` snapshot (points sorted by latitude row and longitude)
plus a small *delta* of gigs inserted or moved since the snapshot, scanned with numpy; the
snapshot is rebuilt when the delta and the dead entries grow past 1/64 of the index (at least
1024 gigs), and at once after a bulk load.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from creditcore._exceptions import (
    CreditcoreError,
    InvalidFeature,
    InvalidInput,
    StoreError,
    UnknownGig,
)
from creditcore._geo.coordinates import (
    check_area,
    check_bbox,
    check_columns,
    check_gig_id,
    check_lat,
    check_limit,
    check_lng,
    check_point,
    check_radius,
)
from creditcore._geo.distance import (
    EARTH_RADIUS_M,
    GEODESIC_SLACK,
    Box,
    Method,
    check_method,
    search_boxes,
)
from creditcore._geo.distance import geodesic_unchecked as geodesic_m
from creditcore._geo.features import (
    GigId,
    collection_features,
    describe,
    parse_point_features,
    parse_records,
    read_columns,
    refuse_duplicates,
)
from creditcore._geo.frames import frame_columns, to_frame
from creditcore._geo.gig import Gig, Hit, make_gig, make_gigs, make_hits
from creditcore._geo.rows import ID, LAT, LNG, SLOT, LatRows, X, Z, unit_vectors
from creditcore._geo.store import Change, GigColumns, GigStore

__all__ = ["GigIndex"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_MIN_REBUILD = 1024  # the delta may hold this many gigs whatever the index size
_DELTA_SHARE = 64  # ... or this share of the index: 1/64
_SCAN_CHUNK = 65536  # slots per step when a huge box is scanned in insertion order
_MAX_ROWS = 4000  # a box spanning more latitude rows than this is scanned instead
_SYNC_PAGE = 50_000  # changes read from a store per round trip of sync()
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _view(props: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return _EMPTY if props is None else MappingProxyType(props)


def _in_boxes(lngs: FloatArray, lats: FloatArray, boxes: list[Box]) -> BoolArray:
    mask: BoolArray | None = None
    for min_lng, min_lat, max_lng, max_lat in boxes:
        inside = (lngs >= min_lng) & (lngs <= max_lng) & (lats >= min_lat) & (lats <= max_lat)
        mask = inside if mask is None else mask | inside
    assert mask is not None
    return mask


_NO_INTS = np.empty(0, dtype=np.int64)
_FEW = 24  # candidates up to which the radius filter runs on plain floats
_FEW_BOX = 64  # ... and the box filter
_TRIAL_FACTOR = 4  # a radius search with a limit first tries a smaller circle above limit·this
_HALF_TURN_M = math.pi * EARTH_RADIUS_M


def _chord_bound(radius: float, model: Method) -> float:
    """The squared chord (unit sphere) beyond which no point can be within ``radius``.

    The chord between unit vectors grows with the angle and gives the great-circle distance
    exactly, d = 2R·asin(chord / 2), so the radius filter needs no trigonometry per point.
    """
    angle = min(radius * (GEODESIC_SLACK if model == "geodesic" else 1.0), _HALF_TURN_M)
    chord = 2.0 * math.sin(angle / (2.0 * EARTH_RADIUS_M))
    return chord * chord * (1.0 + 1e-9) + 1e-20


def _few_within(
    records: FloatArray, positions: list[int], x: float, y: float, radius: float, model: Method
) -> list[tuple[float, int, float, float, int]]:
    """The radius query for a handful of candidates, on plain floats (numpy calls cost more).

    Returns ``(distance, slot, lng, lat, position)`` for each hit, nearest first, ties in slot
    order.
    """
    bound = _chord_bound(radius, model)
    cx, cy, cz = _unit(x, y)
    asin, sqrt, diameter = math.asin, math.sqrt, 2.0 * EARTH_RADIUS_M
    hits: list[tuple[float, int, float, float, int]] = []
    for (lng, lat, px, py, pz, slot, _, _), at in zip(records.tolist(), positions, strict=True):
        chord2 = (px - cx) ** 2 + (py - cy) ** 2 + (pz - cz) ** 2
        if chord2 <= bound:
            if model == "geodesic":
                dist = geodesic_m(x, y, lng, lat)
            else:
                dist = diameter * asin(min(sqrt(chord2) * 0.5, 1.0))
            if dist <= radius:
                hits.append((dist, int(slot), lng, lat, at))
    hits.sort()
    return hits


Local = list[tuple[int, int]]
"""Few results read straight from the snapshot: ``(slot, position)``, in order."""


def _few_in_boxes(
    rows: LatRows,
    sure: list[tuple[int, int]],
    check: list[tuple[int, int, int]],
    boxes: list[Box],
    limit: int | None,
) -> Local:
    """The box query for a handful of candidates, on plain Python lists, in slot order."""
    positions = [at for start, end in sure for at in range(start, end)]
    lat = rows.lat
    for start, end, which in check:
        south, north = boxes[which][1], boxes[which][3]
        positions += [
            at
            for at, value in zip(range(start, end), lat[start:end].tolist(), strict=True)
            if south <= value <= north
        ]
    found = sorted(zip(rows.slot.take(positions).tolist(), positions, strict=True))
    return found if limit is None else found[:limit]


def _many_within(
    found: FloatArray, x: float, y: float, bound: float, radius: float, model: Method
) -> tuple[FloatArray, FloatArray]:
    """The radius filter for many candidates, vectorised in few numpy calls.

    A dot product with the centre's unit vector (one BLAS call) prefilters: chord² = 2 - 2·dot,
    widened by 1e-15 for the rounding of the dot. The survivors get their exact chord from
    coordinate differences, and the great-circle distance from it. Returns the records
    within the radius and their distances.
    """
    centre = np.array(_unit(x, y))
    chosen = found[found[:, X : Z + 1] @ centre >= 1.0 - bound / 2.0 - 1e-15]
    if model == "geodesic":
        dists = geodesic_m(x, y, chosen[:, LNG], chosen[:, LAT])
    else:
        diff = chosen[:, X : Z + 1] - centre
        half_chord = np.sqrt((diff * diff).sum(axis=1)) * 0.5
        if bound > 3.99:  # near-antipodal points: keep asin's argument within [0, 1]
            half_chord = np.minimum(half_chord, 1.0)
        dists = (2.0 * EARTH_RADIUS_M) * np.arcsin(half_chord)
    keep = dists <= radius
    if keep.all():
        return chosen, dists
    return chosen[keep], dists[keep]


def _int_ids(ids: list[Any], column: IntArray, first: int) -> IntArray | None:
    """Write int ids into the id column from ``first``; None once an id is not an int."""
    if set(map(type, ids)) != {int}:
        return None
    try:
        values = np.array(ids, dtype=np.int64)
    except OverflowError:
        return None
    if column.size < first + len(ids):
        bigger = np.empty(first + len(ids), dtype=np.int64)
        bigger[:first] = column[:first]
        column = bigger
    column[first : first + len(ids)] = values
    return column


def _unit(lng: float, lat: float) -> tuple[float, float, float]:
    # one vector per place: longitude -180 is 180, and a pole has no longitude
    lam = math.radians(180.0 if lng == -180.0 else lng)
    phi = math.radians(lat)
    cos_phi = 0.0 if abs(lat) == 90.0 else math.cos(phi)
    return cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi)


def _first_in_order(slots: IntArray, limit: int | None) -> IntArray:
    """The ``limit`` smallest slots, ascending (all of them when ``limit`` is None)."""
    if limit is not None and slots.size > limit:
        slots = np.partition(slots, limit - 1)[:limit] if limit else slots[:0]
    return np.sort(slots)


class GigIndex:
    """A spatial index of gigs with box, radius and polygon queries, and a change feed.

    Build it in bulk from ``(id, lng, lat)`` / ``(id, lng, lat, properties)`` records (the
    constructor), from numpy columns (:meth:`from_arrays`, the fast path), from GeoJSON
    (:meth:`from_geojson`), from a GeoDataFrame (:meth:`from_geodataframe`) or from a gig store
    of record (:meth:`from_store`, then :meth:`sync`); change it with :meth:`insert`,
    :meth:`insert_many`, :meth:`remove` and :meth:`update`. Every change is all or nothing and
    gets a sequence number in the change feed (:meth:`changes`, :attr:`last_seq`): the index
    satisfies the :class:`~creditcore.geo.GigStore` port.

    Orders: :meth:`in_bbox`, :meth:`within` and iteration return gigs in *insertion order*
    (the order gigs entered the index; :meth:`update` keeps a gig's place, a removed and
    re-inserted gig goes last). :meth:`near` returns nearest first, ties in insertion order.
    ``properties`` are kept as given (not copied) and handed out behind read-only views.

    Threads: every method holds the index's lock while it runs, so readers in several threads
    may query while another thread writes; each answer is of one state of the index, before
    or after any concurrent write, never in between. The values handed out (gigs, hits, id
    lists, arrays) are the caller's own: later writes do not change them.

    Args:
        records: Gigs as ``(id, lng, lat[, properties])``; ids are unique ``str`` or ``int``
            (ints within ``±(2**53 - 1)``).

    Raises:
        InvalidFeature: A malformed record (named by index and id).
        InvalidCoordinates: A longitude outside [-180, 180], latitude outside [-90, 90], NaN.
        DuplicateId: An id given twice.
    """

    __slots__ = (
        "__weakref__",
        "_alive",
        "_count",
        "_delta",
        "_delta_cache",
        "_gig_of",
        "_id_column",
        "_ids",
        "_in_rows",
        "_lat",
        "_lng",
        "_lock",
        "_log",
        "_log_seqs",
        "_missing",
        "_props",
        "_rows",
        "_seq",
        "_size",
        "_slot_of",
        "_source",
        "_source_seq",
        "_stale",
    )

    def __init__(self, records: Iterable[Any] = ()) -> None:
        self._lock = threading.RLock()
        self._ids: list[GigId | None] = []
        # While every id is an int, a copy of them in slot order: queries then read ids with
        # one numpy gather instead of touching a Python object per hit.
        self._id_column: IntArray | None = np.empty(0, dtype=np.int64)
        self._props: list[Any] = []
        # Each slot's Gig value, built on first use and kept (None until then): a bulk load
        # builds no objects, a query builds those it hands out.
        self._gig_of: list[Gig | None] = []
        self._missing = 0  # slots of live gigs whose Gig is not built yet
        # id -> slot; None after a bulk load of int ids until first needed (it costs about a
        # tenth of a second per million gigs to build, and a read-only index never needs it).
        self._slot_of: dict[GigId, int] | None = {}
        self._count = 0  # live gigs
        self._lng: FloatArray = np.empty(0, dtype=np.float64)
        self._lat: FloatArray = np.empty(0, dtype=np.float64)
        self._alive: BoolArray = np.empty(0, dtype=np.bool_)
        self._in_rows: BoolArray = np.empty(0, dtype=np.bool_)
        self._size = 0
        self._rows = LatRows(
            np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), np.empty(0)
        )
        self._stale = 0
        self._delta: dict[int, None] = {}
        self._delta_cache: IntArray | None = None
        self._seq = 0
        # The change feed: entries ("insert", first_seq, ids, lngs, lats, props) for a batch,
        # ("update", seq, id, lng, lat, props), ("remove", seq, id); _log_seqs holds each
        # entry's first sequence number, for a bisect.
        self._log: list[tuple[Any, ...]] = []
        self._log_seqs: list[int] = []
        self._source: GigStore | None = None
        self._source_seq = 0
        ids, lngs, lats, props = parse_records(records)
        self._add(ids, lngs, lats, props, kind="record")

    # --- construction --------------------------------------------------------------------------

    @classmethod
    def from_geojson(cls, data: Mapping[str, Any] | Iterable[Any]) -> GigIndex:
        """Build an index from a GeoJSON FeatureCollection or a list of Point features.

        Each feature needs an ``id`` (``str`` or ``int``); its ``properties`` become the
        gig's properties.

        Raises:
            InvalidFeature: A malformed collection or feature (named by index and id).
            InvalidCoordinates: A coordinate out of range or NaN (naming the feature).
            DuplicateId: Two features with the same id.
        """
        index = cls()
        index.insert_features(data)
        return index

    @classmethod
    def from_arrays(
        cls,
        ids: Sequence[GigId] | npt.NDArray[Any],
        lngs: npt.ArrayLike,
        lats: npt.ArrayLike,
        properties: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> GigIndex:
        """Build an index from columns: the fast path (no record tuples to read).

        Args:
            ids: Unique gig ids: an integer numpy array, or a sequence of ``str``/``int``.
            lngs: Longitudes (anything numpy reads as float64), one per id.
            lats: Latitudes, one per id.
            properties: Each gig's properties (a mapping or None), or None for none at all.

        Raises:
            InvalidFeature: Columns of different lengths, a bad id, or properties that are not
                mappings (naming the position).
            InvalidCoordinates: A coordinate out of range, NaN or infinite (naming it).
            DuplicateId: An id given twice.
        """
        index = cls()
        id_list, x, y, props = read_columns(ids, lngs, lats, properties)
        id_array = ids.astype(np.int64) if isinstance(ids, np.ndarray) else None
        index._add(id_list, x, y, props, kind="entry", id_array=id_array)
        return index

    @classmethod
    def from_store(cls, store: GigStore) -> GigIndex:
        """Build an index of everything in a gig store, kept in step by :meth:`sync`.

        Reads the store's :meth:`~creditcore.geo.GigStore.columns` (PostGIS: one binary
        ``COPY`` into numpy arrays) and remembers the sequence number they were read at.
        """
        if not isinstance(store, GigStore):
            raise InvalidInput(
                f"store must be a GigStore, got {type(store).__name__}",
                field="store",
                value=store,
            )
        columns = store.columns()
        index = cls._from_columns(columns)
        index._source = store
        index._source_seq = columns.seq
        return index

    @classmethod
    def _from_columns(cls, columns: GigColumns) -> GigIndex:
        index = cls()
        ids = columns.ids
        id_list: list[Any] = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
        id_array = ids.astype(np.int64) if isinstance(ids, np.ndarray) else None
        props: list[Any] = (
            [None] * len(id_list) if columns.properties is None else list(columns.properties)
        )
        index._add(
            id_list,
            np.ascontiguousarray(columns.lngs, dtype=np.float64),
            np.ascontiguousarray(columns.lats, dtype=np.float64),
            props,
            kind="entry",
            checked=True,
            id_array=id_array,
        )
        return index

    @classmethod
    def from_geodataframe(cls, frame: Any, id_column: str | None = None) -> GigIndex:
        """Build an index from a GeoPandas GeoDataFrame of points (``creditcore[analysis]``).

        Args:
            frame: A GeoDataFrame whose active geometry holds Points. A frame in another CRS
                is converted to WGS84 (EPSG:4326) first; one without a CRS is taken as WGS84.
            id_column: The column of gig ids; None to use the frame's index.

        Every other column becomes a property (the row's values, as a dict).

        Raises:
            InvalidFeature: Not a GeoDataFrame, a geometry that is not a Point, a missing
                ``id_column``, or a bad id.
            InvalidCoordinates: A coordinate out of range, NaN or infinite.
            DuplicateId: An id given twice.
        """
        ids, lngs, lats, props = frame_columns(frame, id_column)
        return cls.from_arrays(ids, lngs, lats, props)

    def to_geodataframe(self) -> Any:
        """All gigs as a GeoPandas GeoDataFrame in insertion order (``creditcore[analysis]``).

        Columns: ``id``, one per property name (missing values None), and ``geometry``
        (Points, CRS EPSG:4326). :meth:`from_geodataframe` with ``id_column="id"`` reads it
        back.
        """
        with self._lock:
            columns = self._columns()
        return to_frame(columns)

    def insert_features(self, data: Mapping[str, Any] | Iterable[Any]) -> None:
        """Insert GeoJSON Point features (a FeatureCollection or a list), all or nothing."""
        features = collection_features(data) if isinstance(data, Mapping) else data
        ids, lngs, lats, props = parse_point_features(features, require_id=True)
        with self._lock:
            self._add(ids, lngs, lats, props, kind="feature")

    def insert_many(self, records: Iterable[Any]) -> None:
        """Insert ``(id, lng, lat[, properties])`` records, all or nothing."""
        ids, lngs, lats, props = parse_records(records)
        with self._lock:
            self._add(ids, lngs, lats, props, kind="record")

    def insert(
        self, gig_id: GigId, lng: float, lat: float, properties: Mapping[str, Any] | None = None
    ) -> Gig:
        """Insert one gig and return it.

        Raises:
            DuplicateId: The id is taken.
            InvalidFeature: A bad id or properties that are not a mapping.
            InvalidCoordinates: A coordinate out of range or NaN.
        """
        ids, lngs, lats, props = parse_records([(gig_id, lng, lat, properties)])
        with self._lock:
            self._add(ids, lngs, lats, props, kind="record")
            return self._gig(self._slots()[gig_id])

    def _add(
        self,
        ids: list[Any],
        lngs: FloatArray,
        lats: FloatArray,
        props: list[Any],
        *,
        kind: str,
        checked: bool = False,
        id_array: IntArray | None = None,
    ) -> None:
        """Add checked columns (``checked``: check coordinates and ids here, from a store)."""
        count = len(ids)
        if count == 0:
            return
        if checked:
            check_columns(lngs, lats, lambda at: describe(kind, at, ids[at]))
            for position, ident in enumerate(ids):  # only when the fast test fails
                if type(ident) is not str and type(ident) is not int:
                    check_gig_id(ident, describe(kind, position, ident))
        first = self._size
        stop = first + count
        empty = self._count == 0 and first == 0
        fresh: dict[GigId, int] | None = None
        if empty and id_array is not None:
            ordered = np.sort(id_array)
            if count > 1 and bool((ordered[1:] == ordered[:-1]).any()):
                refuse_duplicates(ids, {}, kind)
        elif empty:
            fresh = dict(zip(ids, range(count), strict=True))
            if len(fresh) != count:
                refuse_duplicates(ids, {}, kind)
        else:
            slot_of = self._slots()
            if len(set(ids)) != count or not slot_of.keys().isdisjoint(ids):
                refuse_duplicates(ids, slot_of, kind)
        # Everything is checked: from here on nothing can fail half-way.
        self._reserve(stop)
        self._lng[first:stop] = lngs
        self._lat[first:stop] = lats
        self._alive[first:stop] = True
        if self._id_column is not None:
            if id_array is not None:
                self._id_column[first:stop] = id_array
            else:
                self._id_column = _int_ids(ids, self._id_column, first)
        self._in_rows[first:stop] = False
        self._ids.extend(ids)
        self._props.extend(props)
        if empty:
            self._slot_of = fresh
        else:
            self._slots().update(zip(ids, range(first, stop), strict=True))
        self._size = stop
        self._count += count
        self._gig_of += [None] * count
        self._missing += count
        self._log.append(("insert", self._seq + 1, ids, lngs.copy(), lats.copy(), props))
        self._log_seqs.append(self._seq + 1)
        self._seq += count
        bulk = count > len(self) // 2
        if not bulk:
            self._delta.update(dict.fromkeys(range(first, stop)))
            self._delta_cache = None
        self._maybe_rebuild_rows(force=bulk)

    def _reserve(self, needed: int) -> None:
        capacity = self._lng.size
        if needed <= capacity:
            return
        new_capacity = max(needed, capacity + capacity // 2, 64) if capacity else needed

        def grow(column: npt.NDArray[Any]) -> npt.NDArray[Any]:
            bigger = np.empty(new_capacity, dtype=column.dtype)
            bigger[: self._size] = column[: self._size]
            return bigger

        self._lng = grow(self._lng)
        self._lat = grow(self._lat)
        self._alive = grow(self._alive)
        if self._id_column is not None:
            self._id_column = grow(self._id_column)
        self._in_rows = grow(self._in_rows)

    def _slots(self) -> dict[GigId, int]:
        """The id -> slot map, built on first need after a bulk load of int ids."""
        if self._slot_of is None:
            ids = self._ids
            if self._count == self._size:
                self._slot_of = dict(zip(ids, range(self._size), strict=True))  # type: ignore[arg-type]
            else:
                live = self._live_slots().tolist()
                self._slot_of = {ids[s]: s for s in live}
        return self._slot_of

    def _live_slots(self) -> IntArray:
        if self._count == self._size:
            return np.arange(self._size, dtype=np.int64)
        return np.flatnonzero(self._alive[: self._size]).astype(np.int64)

    def _maybe_rebuild_rows(self, *, force: bool = False) -> None:
        changed = len(self._delta) + self._stale
        if not force and changed <= max(_MIN_REBUILD, len(self) // _DELTA_SHARE):
            return
        if self._size - len(self) > max(_MIN_REBUILD, len(self)):  # most slots are dead
            self._compact()
        if len(self) == self._size:
            slots = np.arange(self._size, dtype=np.int64)
            lngs, lats = self._lng[: self._size], self._lat[: self._size]
            ids = None if self._id_column is None else self._id_column[: self._size]
        else:
            slots = self._live_slots()
            lngs, lats = self._lng[slots], self._lat[slots]
            ids = None if self._id_column is None else self._id_column[slots]
        self._rows = LatRows(slots, lngs, lats, ids)
        self._in_rows[: self._size] = self._alive[: self._size]
        self._stale = 0
        self._delta = {}
        self._delta_cache = None

    def _compact(self) -> None:
        """Renumber the live gigs 0..n-1 (same order) once most slots belong to removed gigs."""
        live = self._live_slots()
        keep = live.tolist()
        count = len(keep)
        self._lng = self._lng[live]
        self._lat = self._lat[live]
        self._alive = np.ones(count, dtype=np.bool_)
        self._in_rows = np.zeros(count, dtype=np.bool_)
        if self._id_column is not None:
            self._id_column = self._id_column[live]
        self._ids = [self._ids[s] for s in keep]
        self._props = [self._props[s] for s in keep]
        self._gig_of = [self._gig_of[s] for s in keep]
        self._slot_of = {ident: slot for slot, ident in enumerate(self._ids)}  # type: ignore[misc]
        self._size = count
        self._delta = {}
        self._delta_cache = None
        self._stale = 0

    # --- changes -------------------------------------------------------------------------------

    def _slot(self, gig_id: object) -> int:
        try:
            return self._slots()[gig_id]  # type: ignore[index]
        except (KeyError, TypeError):
            raise UnknownGig(f"no gig with id {gig_id!r} in the index", id=gig_id) from None

    def _forget_position(self, slot: int) -> None:
        if self._in_rows[slot]:
            self._in_rows[slot] = False
            self._stale += 1
        else:
            self._delta.pop(slot, None)
            self._delta_cache = None

    def remove(self, gig_id: GigId) -> Gig:
        """Remove a gig and return it as it was.

        Raises:
            UnknownGig: No gig with this id.
        """
        with self._lock:
            return self._remove(gig_id)

    def _remove(self, gig_id: GigId) -> Gig:
        slot = self._slot(gig_id)
        gig = self._gig(slot)
        self._forget_position(slot)
        self._alive[slot] = False
        self._ids[slot] = None
        self._props[slot] = None
        self._gig_of[slot] = None
        del self._slots()[gig_id]
        self._count -= 1
        self._seq += 1
        self._log.append(("remove", self._seq, gig_id))
        self._log_seqs.append(self._seq)
        self._maybe_rebuild_rows()
        return gig

    def update(
        self,
        gig_id: GigId,
        *,
        lng: float | None = None,
        lat: float | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> Gig:
        """Move a gig and/or replace its properties; it keeps its place in insertion order.

        Arguments left as None keep their value. Returns the updated gig.

        Raises:
            UnknownGig: No gig with this id.
            InvalidCoordinates: A coordinate out of range or NaN (nothing changes).
            InvalidFeature: A coordinate that is not a number or properties not a mapping.
        """
        with self._lock:
            return self._update(gig_id, lng, lat, properties)

    def _update(
        self,
        gig_id: GigId,
        lng: float | None,
        lat: float | None,
        properties: Mapping[str, Any] | None,
    ) -> Gig:
        slot = self._slot(gig_id)
        where = f"gig {gig_id!r}"
        old_x = float(self._lng[slot])
        old_y = float(self._lat[slot])
        x, y = check_point(old_x if lng is None else lng, old_y if lat is None else lat, where)
        if properties is not None and not isinstance(properties, Mapping):
            raise InvalidFeature(
                f"{where}: properties must be a mapping, got {type(properties).__name__}",
                field="properties",
                value=properties,
            )
        if (x, y) != (old_x, old_y):
            self._forget_position(slot)
            self._lng[slot] = x
            self._lat[slot] = y
            self._delta[slot] = None
            self._delta_cache = None
        if properties is not None:
            self._props[slot] = properties
        updated = make_gig(self._ids[slot], x, y, self._props[slot])  # type: ignore[arg-type]
        if self._gig_of[slot] is None:
            self._missing -= 1
        self._gig_of[slot] = updated
        self._seq += 1
        self._log.append(("update", self._seq, gig_id, x, y, self._props[slot]))
        self._log_seqs.append(self._seq)
        self._maybe_rebuild_rows()  # may renumber slots: read the gig first
        return updated

    # --- the change feed and syncing --------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The sequence number of the index's last change (0 before any; a batch of n gigs
        takes n numbers)."""
        return self._seq

    def changes(self, after: int = 0, limit: int | None = None) -> list[Change]:
        """The index's changes with a sequence number above ``after``, in order.

        The in-memory feed keeps every change since the index was created (a bulk load is
        kept as its columns, not as change objects, until read).

        Raises:
            InvalidInput: ``after`` not an int >= 0, or a bad ``limit``.
        """
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InvalidInput(
                f"after must be an int >= 0, got {after!r}", field="after", value=after
            )
        wanted = check_limit(limit)
        out: list[Change] = []
        with self._lock:
            at = max(0, bisect_right(self._log_seqs, after) - 1)
            for entry in self._log[at:]:
                if wanted is not None and len(out) >= wanted:
                    break
                if entry[0] == "insert":
                    _, first, ids, lngs, lats, props = entry
                    skip = max(0, after + 1 - first)
                    end = len(ids) if wanted is None else min(len(ids), skip + wanted - len(out))
                    if skip >= end:
                        continue
                    xs = lngs[skip:end].tolist()
                    ys = lats[skip:end].tolist()
                    out += [
                        Change(
                            first + i, "insert", ids[i], xs[i - skip], ys[i - skip], _view(props[i])
                        )
                        for i in range(skip, end)
                    ]
                elif entry[1] > after:
                    if entry[0] == "update":
                        _, seq, ident, x, y, props = entry
                        out.append(Change(seq, "update", ident, x, y, _view(props)))
                    else:
                        out.append(Change(entry[1], "remove", entry[2]))
        return out

    def columns(self) -> GigColumns:
        """Every gig as columns in insertion order, at :attr:`last_seq` (copies)."""
        with self._lock:
            return self._columns()

    def _columns(self) -> GigColumns:
        slots = self._live_slots()
        ids: IntArray | list[GigId]
        if self._id_column is not None:
            ids = self._id_column[slots]
        else:
            every = self._ids
            ids = [every[s] for s in slots.tolist()]
        props_list = self._props
        props: list[Mapping[str, Any] | None] | None = None
        if any(p is not None for p in props_list):
            props = [props_list[s] for s in slots.tolist()]
        return GigColumns(ids, self._lng[slots], self._lat[slots], props, self._seq)

    def sync(self) -> int:
        """Apply the changes of the store this index was built from (:meth:`from_store`).

        Reads the store's changes after the last sequence applied, in pages, and applies
        them in order (consecutive inserts as one batch). Returns how many were applied.

        Raises:
            InvalidInput: The index was not built by :meth:`from_store`.
            StoreError: A change does not fit the index (the store and the index diverged,
                e.g. the index was written to directly); the index keeps the changes applied
                before it.
        """
        store = self._source
        if store is None:
            raise InvalidInput(
                "sync: this index was not built from a gig store (use GigIndex.from_store)",
                field="store",
            )
        applied = 0
        while True:
            page = store.changes(self._source_seq, limit=_SYNC_PAGE)
            if not page:
                return applied
            with self._lock:
                applied += self._apply(page)
            if len(page) < _SYNC_PAGE:
                return applied

    def _apply(self, changes: list[Change]) -> int:
        done = 0
        at = 0
        try:
            while at < len(changes):
                change = changes[at]
                if change.kind == "insert":
                    end = at
                    while end < len(changes) and changes[end].kind == "insert":
                        end += 1
                    batch = changes[at:end]
                    self._add(
                        [c.gig_id for c in batch],
                        np.array([c.lng for c in batch], dtype=np.float64),
                        np.array([c.lat for c in batch], dtype=np.float64),
                        [dict(c.properties) if c.properties else None for c in batch],
                        kind="change",
                    )
                    at = end
                elif change.kind == "update":
                    props = dict(change.properties) if change.properties else {}
                    self._update(change.gig_id, change.lng, change.lat, props)
                    at += 1
                else:
                    self._remove(change.gig_id)
                    at += 1
                done = at
                self._source_seq = changes[at - 1].seq
        except CreditcoreError as error:
            raise StoreError(
                f"sync: change {changes[done].seq} ({changes[done].kind} of "
                f"{changes[done].gig_id!r}) does not fit the index: {error}",
                seq=changes[done].seq,
            ) from error
        return done

    @property
    def synced_seq(self) -> int:
        """The store's sequence number this index has applied (0 when not from a store)."""
        return self._source_seq

    # --- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def __contains__(self, gig_id: object) -> bool:
        try:
            with self._lock:
                return gig_id in self._slots()
        except TypeError:
            return False

    def __iter__(self) -> Iterator[Gig]:
        """The gigs in insertion order (of the index as it was when iteration began)."""
        with self._lock:
            return iter(self._gigs(self._live_slots()))

    def __repr__(self) -> str:
        return f"GigIndex({len(self)} gigs)"

    def get(self, gig_id: GigId) -> Gig:
        """The gig with this id.

        Raises:
            UnknownGig: No gig with this id.
        """
        with self._lock:
            return self._gig(self._slot(gig_id))

    def _gig(self, slot: int) -> Gig:
        gig = self._gig_of[slot]
        if gig is None:
            gig = make_gig(
                self._ids[slot],  # type: ignore[arg-type]
                float(self._lng[slot]),
                float(self._lat[slot]),
                self._props[slot],
            )
            self._gig_of[slot] = gig
            self._missing -= 1
        return gig

    def _ids_of(self, found: IntArray | Local) -> list[GigId]:
        if isinstance(found, list):
            rows_ids = self._rows.ids
            if rows_ids is not None and self._id_column is not None:
                from_rows: list[GigId] = rows_ids.take([entry[1] for entry in found]).tolist()
                return from_rows
            ids = self._ids
            return [ids[entry[0]] for entry in found]  # type: ignore[misc]
        if self._id_column is not None:
            # One gather from a numpy column: no cache miss per id object.
            as_ints: list[GigId] = self._id_column[found].tolist()
            return as_ints
        ids = self._ids
        return [ids[s] for s in found.tolist()]

    def _record_ids(self, records: FloatArray) -> list[GigId]:
        """Ids of gathered records: from their id column when it is exact (no cache misses)."""
        if self._id_column is not None and self._rows.exact_ids:
            from_records: list[GigId] = records[:, ID].astype(np.int64).tolist()
            return from_records
        ids = self._ids
        return [ids[int(s)] for s in records[:, SLOT].tolist()]  # type: ignore[misc]

    def _record_gigs(self, records: FloatArray) -> list[Gig]:
        return self._slot_gigs(records[:, SLOT].astype(np.int64).tolist())

    def _gigs(self, found: IntArray | Local) -> list[Gig]:
        if isinstance(found, list):
            return self._slot_gigs([slot for slot, _ in found])
        return self._slot_gigs(found.tolist())

    def _slot_gigs(self, slots: list[int]) -> list[Gig]:
        gig_of = self._gig_of
        gigs = [gig_of[s] for s in slots]
        if self._missing and not all(gigs):  # a Gig is always truthy; all() runs in C
            self._build_gigs(slots, gigs)
        return gigs  # type: ignore[return-value]

    def _build_gigs(self, slots: list[int], gigs: list[Gig | None]) -> None:
        """Build (and keep) the gigs of ``slots`` not built yet, in place in ``gigs``."""
        at = [i for i, gig in enumerate(gigs) if gig is None]
        picked = [slots[i] for i in at]
        ids = self._ids
        props = self._props
        built = make_gigs(
            [ids[s] for s in picked],
            self._lng[picked].tolist(),
            self._lat[picked].tolist(),
            [props[s] for s in picked],
        )
        gig_of = self._gig_of
        for i, slot, gig in zip(at, picked, built, strict=True):
            if gig_of[slot] is None:
                gig_of[slot] = gig
                self._missing -= 1
            gigs[i] = gig_of[slot]

    def _delta_slots(self) -> IntArray:
        if self._delta_cache is None:
            self._delta_cache = np.fromiter(self._delta, dtype=np.int64, count=len(self._delta))
        return self._delta_cache

    # --- box queries ---------------------------------------------------------------------------

    def in_bbox(
        self,
        min_lng: float,
        min_lat: float,
        max_lng: float,
        max_lat: float,
        limit: int | None = None,
    ) -> list[Gig]:
        """The gigs inside a box, edges included, in insertion order.

        A box with ``min_lng > max_lng`` crosses the antimeridian: it holds longitudes from
        ``min_lng`` east to 180 and from -180 east to ``max_lng``.

        Args:
            min_lng: West edge, in [-180, 180].
            min_lat: South edge, in [-90, 90].
            max_lng: East edge, in [-180, 180].
            max_lat: North edge, in [-90, 90], not below ``min_lat``.
            limit: At most this many gigs (the first ones in insertion order); None for all.

        Raises:
            InvalidCoordinates: An edge out of range or NaN.
            InvalidInput: ``min_lat > max_lat``, a non-number edge or a bad ``limit``.
        """
        boxes = check_bbox(min_lng, min_lat, max_lng, max_lat)
        wanted = check_limit(limit)
        with self._lock:
            return self._gigs(self._bbox_slots(boxes, wanted))

    def in_bbox_ids(
        self,
        min_lng: float,
        min_lat: float,
        max_lng: float,
        max_lat: float,
        limit: int | None = None,
    ) -> list[GigId]:
        """Like :meth:`in_bbox`, but only the ids (no :class:`Gig` objects built): faster."""
        boxes = check_bbox(min_lng, min_lat, max_lng, max_lat)
        wanted = check_limit(limit)
        with self._lock:
            return self._ids_of(self._bbox_slots(boxes, wanted))

    def _bbox_slots(self, boxes: list[Box], limit: int | None) -> IntArray | Local:
        """Slots in the boxes, ascending: an array, or :data:`Local` entries when few."""
        if limit == 0:
            return _NO_INTS
        rows = self._rows
        ranges = rows.box_ranges(boxes, _MAX_ROWS)
        if ranges is None:
            return self._scan_bbox(boxes, limit, _SCAN_CHUNK)
        sure, check = ranges
        count = sum(end - start for start, end in sure) + sum(end - at for at, end, _ in check)
        if count <= _FEW_BOX and not self._delta and not self._stale:
            return _few_in_boxes(rows, sure, check, boxes, limit)
        # A limited query over a dense box stops early when it scans in insertion order:
        # it reads about limit·size/count slots, against count candidates gathered. A box
        # holding a good part of the index is scanned too: the scan needs no sort.
        if limit is None:
            if 4 * count > self._size:
                return self._scan_bbox(boxes, None, self._size)
            return _first_in_order(self._rows_bbox(boxes, sure, check), None)
        if 2 * count * count < limit * self._size:
            return _first_in_order(self._rows_bbox(boxes, sure, check), limit)
        return self._scan_bbox(boxes, limit, max(4096, 2 * limit * self._size // count))

    def _rows_bbox(
        self, boxes: list[Box], sure: list[tuple[int, int]], check: list[tuple[int, int, int]]
    ) -> IntArray:
        rows = self._rows
        parts = [rows.slot[start:end] for start, end in sure]
        for start, end, which in check:
            lats = rows.lat[start:end]
            inside = (lats >= boxes[which][1]) & (lats <= boxes[which][3])
            parts.append(rows.slot[start:end][inside])
        found = parts[0] if len(parts) == 1 else np.concatenate([_NO_INTS, *parts])
        if self._stale:
            found = found[self._in_rows[found]]
        delta = self._delta_slots()
        if delta.size:
            extra = delta[_in_boxes(self._lng[delta], self._lat[delta], boxes)]
            found = np.concatenate((found, extra))
        return found

    def _fresh(self, records: FloatArray) -> FloatArray:
        """Drop snapshot records of gigs removed or moved since the snapshot."""
        if self._stale and records.size:
            return records[self._in_rows[records[:, SLOT].astype(np.int64)]]
        return records

    def _scan_bbox(self, boxes: list[Box], limit: int | None, chunk: int) -> IntArray:
        found: list[IntArray] = []
        total = 0
        step = self._size if limit is None else chunk
        for first in range(0, self._size, step):
            stop = min(first + step, self._size)
            inside = self._alive[first:stop] & _in_boxes(
                self._lng[first:stop], self._lat[first:stop], boxes
            )
            hits = np.flatnonzero(inside) + first
            found.append(hits)
            total += hits.size
            if limit is not None and total >= limit:
                break
        slots = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
        return slots[:limit] if limit is not None else slots

    # --- radius queries ------------------------------------------------------------------------

    def near(
        self,
        lng: float,
        lat: float,
        radius_m: float,
        limit: int | None = None,
        method: Method = "haversine",
    ) -> list[Hit]:
        """The gigs within ``radius_m`` of a point, nearest first (ties in insertion order).

        Args:
            lng: Centre longitude, in [-180, 180].
            lat: Centre latitude, in [-90, 90].
            radius_m: Search radius in metres (>= 0); a gig at exactly this distance counts.
            limit: At most this many hits (the nearest); None for all.
            method: ``"haversine"`` (sphere of radius 6,371,008.8 m, the default) or
                ``"geodesic"`` (WGS84 ellipsoid via ``pyproj.Geod``, slower, exact to the mm).

        Raises:
            InvalidCoordinates: A centre out of range or NaN.
            InvalidInput: A negative, infinite or non-number radius, a bad limit or method.
        """
        with self._lock:
            found = self._near(lng, lat, radius_m, limit, method)
            if isinstance(found, list):
                local = [(slot, at) for _, slot, _, _, at in found]
                return make_hits(self._gigs(local), [entry[0] for entry in found])
            records, dists = found
            return make_hits(self._record_gigs(records), dists.tolist())

    def near_ids(
        self,
        lng: float,
        lat: float,
        radius_m: float,
        limit: int | None = None,
        method: Method = "haversine",
    ) -> tuple[list[GigId], FloatArray]:
        """Like :meth:`near`, but columnar: the ids and a float64 array of distances in metres.

        Skips building a :class:`Hit` and a :class:`Gig` per result (about 0.4 µs each).
        """
        with self._lock:
            found = self._near(lng, lat, radius_m, limit, method)
            if isinstance(found, list):
                local = [(slot, at) for _, slot, _, _, at in found]
                distances = np.array([entry[0] for entry in found], dtype=np.float64)
                return self._ids_of(local), distances
            records, dists = found
            return self._record_ids(records), dists.copy()

    def _near(
        self, lng: object, lat: object, radius_m: object, limit: object, method: object
    ) -> tuple[FloatArray, FloatArray] | list[tuple[float, int, float, float, int]]:
        """Validate a radius query and answer it, nearest first.

        Returns the hits' records (see :mod:`~creditcore._geo.rows`) and distances, or for few
        hits ``(distance, slot, lng, lat, position)`` entries read straight from the snapshot.
        """
        x = check_lng(lng, "lng")
        y = check_lat(lat, "lat")
        radius = check_radius(radius_m)
        wanted = check_limit(limit)
        model = check_method(method)
        if wanted == 0:
            return []
        spans = self._rows.spans(search_boxes(x, y, radius, model))
        count = sum(end - start for start, end in spans)
        if count <= _FEW and not self._delta and not self._stale:
            # A handful of candidates: plain floats all the way.
            positions = [at for start, end in spans for at in range(start, end)]
            ranked = _few_within(
                self._rows.records.take(positions, axis=0), positions, x, y, radius, model
            )
            return ranked[:wanted]
        if wanted is not None and model == "haversine":
            return self._nearest(x, y, radius, wanted, spans, count)
        found, dists = self._near_search(x, y, radius, wanted, model, spans, count)
        if wanted is not None and dists.size > 4 * wanted:
            # Keep the `wanted` nearest (and everything tied with the last) before sorting.
            cut = np.partition(dists, wanted - 1)[wanted - 1]
            close = dists <= cut
            found, dists = found[close], dists[close]
        order = np.lexsort((found[:, SLOT], dists))[:wanted]
        return found[order], dists[order]

    def _nearest(
        self,
        x: float,
        y: float,
        radius: float,
        limit: int,
        spans: list[tuple[int, int]],
        count: int,
    ) -> tuple[FloatArray, FloatArray]:
        """The ``limit`` nearest gigs within ``radius`` (haversine), nearest first.

        Dense data holds ``limit`` gigs in a much smaller circle than the radius: the search
        starts with the circle expected to hold about twice ``limit`` gigs (from the count in
        the radius box) and doubles it until the ``limit``-th nearest found lies within the
        circle searched (so no nearer gig can be outside it), or it reaches the radius. Only
        the dot product with the centre is computed for every candidate; exact distances
        only for the ``limit`` nearest by it (and all within rounding of the last).
        """
        rows = self._rows
        centre = np.array(_unit(x, y))
        candidates = count + len(self._delta)
        trial = radius
        if candidates > _TRIAL_FACTOR * limit:
            trial = radius * 1.5 * math.sqrt(limit / candidates)
        while True:
            full = trial >= radius
            reach = radius if full else trial
            boxes = search_boxes(x, y, reach)
            searched = spans
            if not full:
                searched = rows.spans(boxes)
                if sum(end - start for start, end in searched) + len(self._delta) < limit:
                    trial *= 2.0  # too few candidates even before any test
                    continue
            found = self._fresh(rows.gather(searched))
            if self._delta:
                found = self._with_delta(found, boxes)
            dots = found[:, X : Z + 1] @ centre
            # Rounding: chord² = 2 - 2·dot holds to ~1e-15 for the computed values, so a
            # margin of 4e-15 on the dot keeps every point that could rank among the nearest.
            floor = 1.0 - _chord_bound(reach, "haversine") / 2.0 - 4e-15
            if dots.size > limit:
                kth = float(np.partition(dots, dots.size - limit)[dots.size - limit])
                floor = max(floor, kth - 4e-15)
            chosen = found.take(np.flatnonzero(dots >= floor), axis=0)  # take: no mask copy
            diff = chosen[:, X : Z + 1] - centre
            half_chord = np.sqrt((diff * diff).sum(axis=1)) * 0.5
            if reach > _HALF_TURN_M / 2.0:  # near-antipodal points: keep asin's argument <= 1
                half_chord = np.minimum(half_chord, 1.0)
            dists = (2.0 * EARTH_RADIUS_M) * np.arcsin(half_chord)
            order = np.lexsort((chosen[:, SLOT], dists))[:limit]
            dists = dists.take(order)
            if full:
                inside = dists <= radius
                if not inside[-1:].all():
                    order, dists = order[inside], dists[inside]
                return chosen.take(order, axis=0), dists
            if dists.size == limit and dists[-1] <= trial:
                return chosen.take(order, axis=0), dists
            trial *= 2.0

    def _near_search(
        self,
        x: float,
        y: float,
        radius: float,
        limit: int | None,
        model: Method,
        spans: list[tuple[int, int]],
        count: int,
    ) -> tuple[FloatArray, FloatArray]:
        if limit is not None:
            # Dense data: a smaller circle likely holds `limit` gigs already; the nearest
            # `limit` inside it are the nearest overall. Grow it until it holds enough.
            candidates = count + len(self._delta)
            if candidates > _TRIAL_FACTOR * limit:
                trial = radius * 1.5 * math.sqrt(limit / candidates)
                while trial < radius:
                    trial_spans = self._rows.spans(search_boxes(x, y, trial, model))
                    found, dists = self._within_radius(x, y, trial, model, trial_spans)
                    if dists.size >= limit:
                        return found, dists
                    trial *= 2.0
        return self._within_radius(x, y, radius, model, spans)

    def _within_radius(
        self, x: float, y: float, radius: float, model: Method, spans: list[tuple[int, int]]
    ) -> tuple[FloatArray, FloatArray]:
        found = self._fresh(self._rows.gather(spans))
        if self._delta:
            found = self._with_delta(found, search_boxes(x, y, radius, model))
        bound = _chord_bound(radius, model)
        return _many_within(found, x, y, bound, radius, model)

    def _with_delta(self, found: FloatArray, boxes: list[Box]) -> FloatArray:
        delta = self._delta_slots()
        lngs = self._lng[delta]
        lats = self._lat[delta]
        inside = _in_boxes(lngs, lats, boxes)
        if not inside.any():
            return found
        lngs = lngs[inside]
        lats = lats[inside]
        x, y, z = unit_vectors(lngs, lats)
        slots = delta[inside]
        if self._id_column is not None and self._rows.exact_ids:
            ids = self._id_column[slots].astype(np.float64)
        else:
            ids = np.full(slots.size, np.nan)
        here = np.full(slots.size, -1.0)  # not in the snapshot
        extra = np.column_stack((lngs, lats, x, y, z, slots.astype(np.float64), ids, here))
        return np.concatenate((found, extra))

    # --- polygons ------------------------------------------------------------------------------

    def within(self, polygon: Any, limit: int | None = None) -> list[Gig]:
        """The gigs covered by a polygon (boundary included), in insertion order.

        ``polygon`` is a shapely Polygon or MultiPolygon, or a GeoJSON geometry dict of one
        (``{"type": "Polygon", "coordinates": [...]}``); holes are respected. Uses ``covers``
        semantics: a gig exactly on the polygon's edge counts (``contains`` would drop it).
        Coordinates are planar longitude/latitude, so a polygon that crosses the antimeridian
        must come split at ±180° (a MultiPolygon). A shapely geometry gets prepared
        (``shapely.prepare``) in place, which speeds up later calls too.

        Raises:
            InvalidGeometry: Not a (Multi)Polygon (a LineString, a Point), a malformed GeoJSON
                geometry, or an invalid polygon (a bow-tie), naming shapely's reason.
            InvalidInput: A bad ``limit``.
        """
        polygon = check_area(polygon)
        wanted = check_limit(limit)
        if polygon.is_empty or wanted == 0:
            return []
        with self._lock:
            min_x, min_y, max_x, max_y = polygon.bounds
            box = (
                max(min_x, -180.0),
                max(min_y, -90.0),
                min(max_x, 180.0),
                min(max_y, 90.0),
            )
            if box[0] > box[2] or box[1] > box[3]:
                return []
            found = self._bbox_slots([box], None)
            slots = (
                np.array([e[0] for e in found], dtype=np.int64)
                if isinstance(found, list)
                else found
            )
            shapely.prepare(polygon)
            covered = shapely.intersects_xy(polygon, self._lng[slots], self._lat[slots])
            slots = slots[covered]
            return self._gigs(slots[:wanted] if wanted is not None else slots)

    # --- GeoJSON -------------------------------------------------------------------------------

    def to_geojson(self) -> dict[str, Any]:
        """All gigs as a GeoJSON FeatureCollection, in insertion order (new dicts)."""
        gigs = list(self)
        return {"type": "FeatureCollection", "features": [gig.to_feature() for gig in gigs]}
