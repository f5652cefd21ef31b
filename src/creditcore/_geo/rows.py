"""A static latitude-row index over numpy columns: the vectorised prefilter of box and radius queries.

Points are cut into rows of latitude holding about the same number of points each (√n, at
most 2048: thin rows where the data is dense, tall ones where it is sparse), sorted by row,
then by exact longitude, then by input order. One float key, ``row * 512 + (lng + 180)``,
is non-decreasing in that order, so a box maps to one contiguous key range per row it spans,
all found by a single ``searchsorted`` call, and the range lengths count the candidates before
any is touched. Each point's record holds its longitude, latitude, unit vector on the sphere
(for trig-free radius filtering) and slot in one line of a float array, so a radius query
gathers its candidates with one copy; box queries read contiguous copies of the longitude,
latitude and slot columns.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from creditcore._geo.distance import Box

__all__ = ["ID", "LAT", "LNG", "POS", "SLOT", "LatRows", "X", "Y", "Z", "unit_vectors"]

LNG, LAT, X, Y, Z, SLOT, ID, POS = range(8)
"""Columns of a gathered candidate record (ID: the gig's int id as a float, when exact; POS:
the record's own position in the sorted order, so a query can read per-point values kept in
that order, e.g. the index's gig objects, from memory laid out by place)."""

_EXACT = 2.0**53  # ints up to this size survive a trip through float64

_STRIDE = 512.0  # > 360, so a row's keys never reach into the next row
_SLACK = 1e-6  # degrees; covers the key's rounding (~1e-10), the exact test comes after
_MANY_SPANS = 8  # above this many ranges, gather by index arithmetic instead of slices
_FEW_ROWS = 32  # a box spanning fewer rows builds its key bounds in plain floats

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def unit_vectors(lngs: FloatArray, lats: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Points as unit vectors (x, y, z) on the sphere, one vector per place.

    Longitude -180 is taken as 180 and a pole's longitude is ignored (cos 90° is exactly 0
    here, not 6e-17), so the same place written two ways gets the same vector and ties in
    distance stay ties.
    """
    lam = np.radians(np.where(lngs == -180.0, 180.0, lngs))
    phi = np.radians(lats)
    cos_phi = np.where(np.abs(lats) == 90.0, 0.0, np.cos(phi))
    return cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)


def _row_size(count: int) -> int:
    return min(2048, max(32, int(math.sqrt(count))))


class LatRows:
    """Points sorted by latitude row, then longitude; immutable once built.

    Attributes:
        records: ``(n, 8)`` float array in sorted order: lng, lat, x, y, z, slot, id (the
            int id as a float when ``exact_ids``, else NaN), position (0..n-1).
        exact_ids: Whether the id column of ``records`` holds every id exactly.
        lng: Sorted longitudes (contiguous).
        lat: Sorted latitudes (contiguous).
        slot: Sorted slots (contiguous).
        ids: Sorted int ids, when the caller's ids are all ints (else None): a query reads
            the ids of nearby points from memory that is already in cache.
    """

    __slots__ = (
        "_bounds",
        "_key",
        "_row_base",
        "exact_ids",
        "ids",
        "lat",
        "lng",
        "records",
        "slot",
    )

    def __init__(
        self, slots: IntArray, lngs: FloatArray, lats: FloatArray, ids: IntArray | None = None
    ) -> None:
        count = int(slots.size)
        # One sort by latitude; rows are then blocks of that order, and each block is sorted
        # by exact longitude on its own (about a thousand small sorts beat one big lexsort).
        by_lat = np.argsort(lats)
        sorted_lat = lats.take(by_lat)
        # Row lower bounds: every `size`-th latitude; the first row starts at -90.
        bounds = np.unique(sorted_lat[:: _row_size(count)]) if count else np.empty(0)
        self._bounds: list[float] = [-90.0, *bounds[bounds > -90.0].tolist()]
        edges = np.searchsorted(sorted_lat, np.asarray(self._bounds[1:]), side="left")
        self._row_base = np.arange(len(self._bounds), dtype=np.float64) * _STRIDE + 180.0
        starts = [0, *edges.tolist()]
        ends = [*edges.tolist(), count]
        lng_by_lat = lngs.take(by_lat)
        order = np.empty(count, dtype=np.int64)
        rows = np.empty(count, dtype=np.float64)
        for row, (start, end) in enumerate(zip(starts, ends, strict=True)):
            if end > start:
                within = np.argsort(lng_by_lat[start:end])
                order[start:end] = by_lat[start:end].take(within)
                rows[start:end] = self._row_base[row]
        self.lng: FloatArray = lngs.take(order)
        self.lat: FloatArray = lats.take(order)
        self._key: FloatArray = rows + self.lng
        x, y, z = unit_vectors(self.lng, self.lat)
        self.exact_ids = ids is not None and bool(np.all(np.abs(ids) <= _EXACT))
        self.slot: IntArray = slots.take(order)
        self.ids: IntArray | None = None if ids is None else ids.take(order)
        id_floats = (
            self.ids.astype(np.float64)
            if self.ids is not None and self.exact_ids
            else np.full(count, np.nan)
        )
        columns = (self.lng, self.lat, x, y, z, self.slot.astype(np.float64), id_floats)
        self.records: FloatArray = np.empty((count, 8), dtype=np.float64)
        for column, values in enumerate(columns):
            self.records[:, column] = values
        self.records[:, POS] = np.arange(count, dtype=np.float64)

    def __len__(self) -> int:
        return int(self._key.size)

    def _row(self, lat: float) -> int:
        return bisect_right(self._bounds, lat) - 1

    def spans(self, boxes: Sequence[Box]) -> list[tuple[int, int]]:
        """The non-empty ``(start, end)`` ranges of sorted positions covering non-crossing boxes.

        Every point inside a box is in one of the ranges; a few just outside may be too.
        """
        lows: list[float] = []
        highs: list[float] = []
        arrays: list[tuple[FloatArray, FloatArray]] = []
        for min_lng, min_lat, max_lng, max_lat in boxes:
            first = self._row(min_lat)
            last = self._row(max_lat)
            west = min_lng - _SLACK
            east = max_lng + _SLACK
            if last - first < _FEW_ROWS:
                # The same float operations as _row_base: row * 512.0 + 180.0, then + lng.
                for row in range(first, last + 1):
                    base = row * _STRIDE + 180.0
                    lows.append(base + west)
                    highs.append(base + east)
            else:
                bases = self._row_base[first : last + 1]
                arrays.append((bases + west, bases + east))
        count = len(lows)
        if arrays:
            low = np.concatenate([np.array(lows), *(pair[0] for pair in arrays)])
            high = np.concatenate([np.array(highs), *(pair[1] for pair in arrays)])
            edges: list[int] = self._key.searchsorted(np.concatenate((low, high))).tolist()
            count = low.size
        else:
            edges = self._key.searchsorted(lows + highs).tolist()
        # The key is unique per point but for exact duplicates; "left" on a slightly widened
        # high edge is as good as "right" on the exact one.
        return [
            (start, end)
            for start, end in zip(edges[:count], edges[count:], strict=True)
            if end > start
        ]

    def box_ranges(
        self, boxes: Sequence[Box], max_rows: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]] | None:
        """Position ranges for disjoint boxes: ``(sure, check)``, or None past ``max_rows``.

        Points in a *sure* range are inside a box without any test: their row lies strictly
        between the box's first and last rows (so the latitude fits). Points in a *check*
        range (the box's first and last rows) need a latitude test against the box named by
        the range's third item. Every range is trimmed to the longitude edges exactly (a row is
        sorted by exact longitude), so no longitude test is left.
        """
        lows: list[float] = []
        rows: list[tuple[bool, Box, int]] = []
        bounds = self._bounds
        for which, box in enumerate(boxes):
            min_lng, min_lat, max_lng, max_lat = box
            first = bisect_right(bounds, min_lat) - 1
            last = bisect_right(bounds, max_lat) - 1
            if last - first >= max_rows:
                return None
            west = min_lng - _SLACK
            east = max_lng + _SLACK
            for row in range(first, last + 1):
                base = row * _STRIDE + 180.0  # as _row_base does it
                lows += (base + west, base + east)
                rows.append((row in (first, last), box, which))
        if not self._key.size:
            return [], []
        edges = self._key.searchsorted(lows)
        # The longitudes at each range's ends, read in one step: the first of each range and
        # the last (an empty range reads a neighbour, which its test below ignores).
        at_ends = edges.copy()
        at_ends[1::2] -= 1
        ends = self.lng.take(at_ends, mode="clip").tolist()
        found: list[int] = edges.tolist()
        lng = self.lng
        sure: list[tuple[int, int]] = []
        check: list[tuple[int, int, int]] = []
        for at, (on_edge, box, which) in enumerate(rows):
            start, end = found[2 * at], found[2 * at + 1]
            if start >= end:
                continue
            # A row is sorted by exact longitude: trim the slack off both ends (the ends are
            # nearly always inside already, so look before searching).
            if ends[2 * at] < box[0]:
                start += int(lng[start:end].searchsorted(box[0]))
            if ends[2 * at + 1] > box[2]:
                end = start + int(lng[start:end].searchsorted(box[2], side="right"))
            if end > start:
                if on_edge:
                    check.append((start, end, which))
                else:
                    sure.append((start, end))
        return sure, check

    def gather(self, spans: list[tuple[int, int]]) -> FloatArray:
        """The records in ``spans``, one per line (possibly a read-only view)."""
        records = self.records
        if len(spans) == 1:
            start, end = spans[0]
            return records[start:end]
        if len(spans) <= _MANY_SPANS:
            if not spans:
                return records[:0]
            return np.concatenate([records[start:end] for start, end in spans])
        starts = np.array([start for start, _ in spans], dtype=np.int64)
        lengths = np.array([end - start for start, end in spans], dtype=np.int64)
        # Concatenate the ranges without a Python loop: step 1 inside a range, a jump between.
        steps = np.ones(int(lengths.sum()), dtype=np.int64)
        heads = np.cumsum(lengths) - lengths
        steps[heads[1:]] = starts[1:] - (starts[:-1] + lengths[:-1]) + 1
        steps[0] = starts[0]
        return records[np.cumsum(steps)]
