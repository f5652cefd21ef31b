"""The gig index: an R-tree of record plus numpy columns for vectorised box and radius queries.

Storage: every gig gets a *slot* (its insertion position, never reused) in numpy columns of
longitude and latitude. The ``rtree`` R-tree indexes every live gig by slot. Queries run on a
:class:`~creditcore._geo.rows.LatRows` snapshot (points sorted by latitude row and longitude)
plus a small *delta* of gigs inserted or moved since the snapshot, scanned with numpy; the
snapshot is rebuilt when the delta and the dead entries grow past 1/64 of the index (at least
1024 gigs), and at once after a bulk load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from rtree import index as rtree_index

from creditcore._exceptions import (
    DuplicateId,
    InvalidFeature,
    InvalidInput,
    UnknownGig,
)
from creditcore._geo.coordinates import check_area, check_lat, check_lng, check_point, number
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
)
from creditcore._geo.gig import Gig, Hit, make_gig, make_gigs, make_hits
from creditcore._geo.rows import ID, LAT, LNG, POS, SLOT, LatRows, X, Z, unit_vectors

__all__ = ["GigIndex"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_MIN_REBUILD = 1024  # the delta may hold this many gigs whatever the index size
_DELTA_SHARE = 64  # ... or this share of the index: 1/64
_SCAN_CHUNK = 65536  # slots per step when a huge box is scanned in insertion order
_MAX_ROWS = 4000  # a box spanning more latitude rows than this is scanned instead


def _check_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInput(
            f"limit must be None or an int >= 0, got {limit!r}", field="limit", value=limit
        )
    return limit


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
    """A spatial index of gigs with box, radius and polygon queries.

    Build it in bulk from ``(id, lng, lat)`` / ``(id, lng, lat, properties)`` records (the
    constructor) or from GeoJSON (:meth:`from_geojson`), then change it with :meth:`insert`,
    :meth:`insert_many`, :meth:`remove` and :meth:`update`. Every change is all or nothing.

    Orders: :meth:`in_bbox`, :meth:`within` and iteration return gigs in *insertion order*
    (the order gigs entered the index; :meth:`update` keeps a gig's place, a removed and
    re-inserted gig goes last). :meth:`near` returns nearest first, ties in insertion order.
    ``properties`` are kept as given (not copied) and handed out behind read-only views.
    Not thread-safe: guard an index shared by threads with a lock.

    Args:
        records: Gigs as ``(id, lng, lat[, properties])``; ids are unique ``str`` or ``int``.

    Raises:
        InvalidFeature: A malformed record (named by index and id).
        InvalidCoordinates: A longitude outside [-180, 180], latitude outside [-90, 90], NaN.
        DuplicateId: An id given twice.
    """

    __slots__ = (
        "_alive",
        "_delta",
        "_delta_cache",
        "_gig_of",
        "_id_column",
        "_ids",
        "_in_rows",
        "_lat",
        "_lng",
        "_props",
        "_row_gigs",
        "_rows",
        "_rtree",
        "_size",
        "_slot_of",
        "_stale",
        "_unbuilt",
    )

    def __init__(self, records: Iterable[Any] = ()) -> None:
        self._ids: list[GigId | None] = []
        # While every id is an int, a copy of them in slot order: queries then read ids with
        # one numpy gather instead of touching a Python object per hit.
        self._id_column: IntArray | None = np.empty(0, dtype=np.int64)
        self._props: list[Any] = []
        # The index is the store of record of its gigs: each slot's Gig value is built once,
        # when the gig enters or changes, and queries hand out these objects.
        self._gig_of: list[Gig | None] = []
        # The snapshot's gigs in its order (by place), as an object array: a query gathers
        # its gigs with one numpy take, no Python loop.
        self._row_gigs: npt.NDArray[np.object_] = np.empty(0, dtype=object)
        self._unbuilt = False  # a bulk load defers building its gigs to the snapshot
        self._slot_of: dict[GigId, int] = {}
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
        self._rtree = rtree_index.Index()
        self._add(*parse_records(records), kind="record")

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

    def insert_features(self, data: Mapping[str, Any] | Iterable[Any]) -> None:
        """Insert GeoJSON Point features (a FeatureCollection or a list), all or nothing."""
        features = collection_features(data) if isinstance(data, Mapping) else data
        self._add(*parse_point_features(features, require_id=True), kind="feature")

    def insert_many(self, records: Iterable[Any]) -> None:
        """Insert ``(id, lng, lat[, properties])`` records, all or nothing."""
        self._add(*parse_records(records), kind="record")

    def insert(
        self, gig_id: GigId, lng: float, lat: float, properties: Mapping[str, Any] | None = None
    ) -> Gig:
        """Insert one gig and return it.

        Raises:
            DuplicateId: The id is taken.
            InvalidFeature: A bad id or properties that are not a mapping.
            InvalidCoordinates: A coordinate out of range or NaN.
        """
        self.insert_many([(gig_id, lng, lat, properties)])
        return self.get(gig_id)

    def _add(
        self, ids: list[Any], lngs: FloatArray, lats: FloatArray, props: list[Any], *, kind: str
    ) -> None:
        count = len(ids)
        if count == 0:
            return
        slot_of = self._slot_of
        if len(set(ids)) != count or not slot_of.keys().isdisjoint(ids):
            seen: set[Any] = set()
            for position, ident in enumerate(ids):
                if ident in seen or ident in slot_of:
                    where = describe(kind, position, ident)
                    raise DuplicateId(
                        f"{where}: gig id {ident!r} is already taken", index=position, id=ident
                    )
                seen.add(ident)
        # Everything is checked: from here on nothing can fail half-way.
        first = self._size
        self._reserve(first + count)
        stop = first + count
        self._lng[first:stop] = lngs
        self._lat[first:stop] = lats
        self._alive[first:stop] = True
        if self._id_column is not None:
            self._id_column = _int_ids(ids, self._id_column, first)
        self._in_rows[first:stop] = False
        self._ids.extend(ids)
        self._props.extend(props)
        slot_of.update(zip(ids, range(first, stop), strict=True))
        self._size = stop
        bulk = count > len(self) // 2
        if bulk:
            # Built with the snapshot, in its order: neighbours on the map are then neighbours
            # in memory, and a query touches few cache lines to hand out its gigs.
            self._gig_of += [None] * count
            self._unbuilt = True
        else:
            self._gig_of += make_gigs(ids, lngs.tolist(), lats.tolist(), props)
        if bulk:
            self._rebuild_rtree()
        else:
            insert = self._rtree.insert
            for slot, x, y in zip(range(first, stop), lngs.tolist(), lats.tolist(), strict=True):
                insert(slot, (x, y, x, y))
        self._delta.update(dict.fromkeys(range(first, stop)))
        self._delta_cache = None
        self._maybe_rebuild_rows(force=bulk)

    def _reserve(self, needed: int) -> None:
        capacity = self._lng.size
        if needed <= capacity:
            return
        new_capacity = max(needed, capacity * 2, 64)

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

    def _live_slots(self) -> IntArray:
        return np.flatnonzero(self._alive[: self._size]).astype(np.int64)

    def _rebuild_rtree(self) -> None:
        slots = self._live_slots()
        if slots.size == 0:
            self._rtree = rtree_index.Index()
            return
        points = np.column_stack((self._lng[slots], self._lat[slots]))
        self._rtree = rtree_index.Index((slots, points, points))

    def _maybe_rebuild_rows(self, *, force: bool = False) -> None:
        changed = len(self._delta) + self._stale
        if not force and changed <= max(_MIN_REBUILD, len(self) // _DELTA_SHARE):
            return
        if self._size - len(self) > max(_MIN_REBUILD, len(self)):  # most slots are dead
            self._compact()
        slots = self._live_slots()
        ids = None if self._id_column is None else self._id_column[slots]
        self._rows = LatRows(slots, self._lng[slots], self._lat[slots], ids)
        self._row_gigs = self._snapshot_gigs(self._rows)
        self._in_rows[: self._size] = self._alive[: self._size]
        self._stale = 0
        self._delta = {}
        self._delta_cache = None

    def _snapshot_gigs(self, rows: LatRows) -> npt.NDArray[np.object_]:
        """The gigs in snapshot order, building (in that order) those a bulk load left out."""
        table = np.empty(self._size, dtype=object)
        table[:] = self._gig_of
        row_gigs = table[rows.slot]
        if self._unbuilt:
            listed = row_gigs.tolist()
            missing = [at for at, gig in enumerate(listed) if gig is None]  # positions
            picked = rows.slot[missing]
            if self._id_column is not None:
                ids: list[Any] = self._id_column[picked].tolist()  # no cache miss per id
            else:
                ids = [self._ids[s] for s in picked.tolist()]
            props: list[Any] = [None] * len(missing)
            if any(entry is not None for entry in self._props):
                props = [self._props[s] for s in picked.tolist()]
            built = np.empty(len(missing), dtype=object)
            built[:] = make_gigs(ids, rows.lng[missing].tolist(), rows.lat[missing].tolist(), props)
            row_gigs[missing] = built
            table[picked] = built
            self._gig_of = table.tolist()
            self._unbuilt = False
        return row_gigs

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
        self._rebuild_rtree()

    # --- changes -------------------------------------------------------------------------------

    def _slot(self, gig_id: object) -> int:
        try:
            return self._slot_of[gig_id]  # type: ignore[index]
        except (KeyError, TypeError):
            raise UnknownGig(f"no gig with id {gig_id!r} in the index", id=gig_id) from None

    def _forget_position(self, slot: int) -> None:
        x = float(self._lng[slot])
        y = float(self._lat[slot])
        self._rtree.delete(slot, (x, y, x, y))
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
        slot = self._slot(gig_id)
        gig = self._gig(slot)
        self._forget_position(slot)
        self._alive[slot] = False
        self._ids[slot] = None
        self._props[slot] = None
        self._gig_of[slot] = None
        del self._slot_of[gig_id]
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
            self._rtree.insert(slot, (x, y, x, y))
            self._delta[slot] = None
            self._delta_cache = None
        if properties is not None:
            self._props[slot] = properties
            if self._in_rows[slot]:  # the snapshot holds the old gig: serve it from the delta
                self._in_rows[slot] = False
                self._stale += 1
                self._delta[slot] = None
                self._delta_cache = None
        updated = make_gig(self._ids[slot], x, y, self._props[slot])  # type: ignore[arg-type]
        self._gig_of[slot] = updated
        self._maybe_rebuild_rows()  # may renumber slots: read the gig first
        return updated

    # --- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, gig_id: object) -> bool:
        try:
            return gig_id in self._slot_of
        except TypeError:
            return False

    def __iter__(self) -> Iterator[Gig]:
        """The gigs in insertion order."""
        return iter(self._gigs(self._live_slots()))

    def __repr__(self) -> str:
        return f"GigIndex({len(self)} gigs)"

    def get(self, gig_id: GigId) -> Gig:
        """The gig with this id.

        Raises:
            UnknownGig: No gig with this id.
        """
        return self._gig(self._slot(gig_id))

    def _gig(self, slot: int) -> Gig:
        gig = self._gig_of[slot]
        assert gig is not None
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
        if not self._delta:
            from_rows: list[Gig] = self._row_gigs[records[:, POS].astype(np.intp)].tolist()
            return from_rows
        gig_of = self._gig_of
        return [gig_of[s] for s in records[:, SLOT].astype(np.int64).tolist()]

    def _gigs(self, found: IntArray | Local) -> list[Gig]:
        gig_of = self._gig_of
        if isinstance(found, list):  # few, from a snapshot without changes
            row_gigs = self._row_gigs
            if len(found) <= _FEW:  # item reads beat a numpy gather for a handful
                return [row_gigs[at] for _, at in found]
            few: list[Gig] = row_gigs.take([at for _, at in found]).tolist()
            return few
        return [gig_of[s] for s in found.tolist()]

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
        boxes = self._boxes(min_lng, min_lat, max_lng, max_lat)
        return self._gigs(self._bbox_slots(boxes, _check_limit(limit)))

    def in_bbox_ids(
        self,
        min_lng: float,
        min_lat: float,
        max_lng: float,
        max_lat: float,
        limit: int | None = None,
    ) -> list[GigId]:
        """Like :meth:`in_bbox`, but only the ids (no :class:`Gig` objects built): faster."""
        boxes = self._boxes(min_lng, min_lat, max_lng, max_lat)
        return self._ids_of(self._bbox_slots(boxes, _check_limit(limit)))

    def _boxes(
        self, min_lng: object, min_lat: object, max_lng: object, max_lat: object
    ) -> list[Box]:
        west = check_lng(min_lng, "min_lng")
        south = check_lat(min_lat, "min_lat")
        east = check_lng(max_lng, "max_lng")
        north = check_lat(max_lat, "max_lat")
        if south > north:
            raise InvalidInput(
                f"min_lat {south} is north of max_lat {north}",
                field="min_lat",
                value=south,
                max_lat=north,
            )
        if west > east:
            return [(west, south, 180.0, north), (-180.0, south, east, north)]
        return [(west, south, east, north)]

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
        found = self._near(lng, lat, radius_m, limit, method)
        if isinstance(found, list):
            local = [(slot, at) for _, slot, _, _, at in found]
            return self._ids_of(local), np.array([entry[0] for entry in found], dtype=np.float64)
        records, dists = found
        return self._record_ids(records), dists

    def _near(
        self, lng: object, lat: object, radius_m: object, limit: object, method: object
    ) -> tuple[FloatArray, FloatArray] | list[tuple[float, int, float, float, int]]:
        """Validate a radius query and answer it, nearest first.

        Returns the hits' records (see :mod:`~creditcore._geo.rows`) and distances, or for few
        hits ``(distance, slot, lng, lat, position)`` entries read straight from the snapshot.
        """
        x = check_lng(lng, "lng")
        y = check_lat(lat, "lat")
        radius = number(radius_m, "radius_m")
        if not 0.0 <= radius < math.inf:
            raise InvalidInput(
                f"radius_m must be finite and >= 0, got {radius}", field="radius_m", value=radius
            )
        wanted = _check_limit(limit)
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
        wanted = _check_limit(limit)
        if polygon.is_empty or wanted == 0:
            return []
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
            np.array([e[0] for e in found], dtype=np.int64) if isinstance(found, list) else found
        )
        shapely.prepare(polygon)
        covered = shapely.intersects_xy(polygon, self._lng[slots], self._lat[slots])
        slots = slots[covered]
        return self._gigs(slots[:wanted] if wanted is not None else slots)

    # --- GeoJSON -------------------------------------------------------------------------------

    def to_geojson(self) -> dict[str, Any]:
        """All gigs as a GeoJSON FeatureCollection, in insertion order (new dicts)."""
        return {"type": "FeatureCollection", "features": [gig.to_feature() for gig in self]}
