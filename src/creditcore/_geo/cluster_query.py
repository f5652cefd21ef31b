"""Range and children look-ups on a zoom level, with indexes built on first use.

The range index buckets records into about sqrt(n) vertical strips by x and sorts each strip
by y, so a box costs one binary search per strip it crosses plus the records it returns. The
test is supercluster's KDBush range test (``minX <= x <= maxX and minY <= y <= maxY`` on the
integer coordinates, against unrounded float bounds). Results come in KDBush's walk order
(:mod:`.cluster_kdbush`), the order supercluster returns them in.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from creditcore._geo.cluster_grid import concat_ranges
from creditcore._geo.cluster_pyramid import Level, walk_order_rank

__all__ = ["children_of", "in_walk_order", "range_query"]

IntArray = npt.NDArray[np.int64]

_HALF = 1 << 29
_Y_BITS = 32


def _range_index(level: Level) -> tuple[int, IntArray, npt.NDArray[np.int32]]:
    cached = level.cache.get("range")
    if cached is None:
        n = level.size
        width = (1 << 30) // max(1, math.isqrt(n)) + 1
        strip = (level.x.astype(np.int64) + _HALF) // width
        keys = (strip << _Y_BITS) | (level.y.astype(np.int64) + _HALF)
        order = np.argsort(keys, kind="stable").astype(np.int32)
        cached = (width, keys[order], order)
        level.cache["range"] = cached
    width, keys, order = cached
    return int(width), keys, order


def in_walk_order(level: Level, found: IntArray, node_size: int) -> IntArray:
    """``found`` reordered as supercluster's KD-tree would return it."""
    if found.size < 2:
        return found
    rank = walk_order_rank(level, node_size)
    result: IntArray = found[np.argsort(rank[found])]
    return result


def range_query(
    level: Level, min_x: float, min_y: float, max_x: float, max_y: float, node_size: int
) -> IntArray:
    """Indexes of the level's records inside the box (inclusive), in KDBush's order."""
    lo_x = max(math.ceil(min_x), -_HALF)
    hi_x = min(math.floor(max_x), _HALF)
    lo_y = max(math.ceil(min_y), -_HALF)
    hi_y = min(math.floor(max_y), _HALF)
    if level.size == 0 or lo_x > hi_x or lo_y > hi_y:
        return np.empty(0, dtype=np.int64)
    width, keys, order = _range_index(level)
    strips = np.arange((lo_x + _HALF) // width, (hi_x + _HALF) // width + 1, dtype=np.int64)
    starts = np.searchsorted(keys, (strips << _Y_BITS) | (lo_y + _HALF), side="left")
    ends = np.searchsorted(keys, (strips << _Y_BITS) | (hi_y + _HALF), side="right")
    slots, _ = concat_ranges(starts, ends - starts)
    found = order[slots].astype(np.int64)
    xs = level.x[found]
    found = found[(xs >= lo_x) & (xs <= hi_x)]
    return in_walk_order(level, found, node_size)


def children_of(level: Level, cluster_id: int, node_size: int, ordered: bool = True) -> IntArray:
    """Indexes of the records of ``level`` that joined ``cluster_id``, in KDBush's order.

    With ``ordered=False`` they come in level order, which needs no KD layout (for counting).
    """
    if level.parent is None:
        return np.empty(0, dtype=np.int64)
    cached = level.cache.get("children")
    if cached is None:
        order = np.argsort(level.parent, kind="stable").astype(np.int32)
        cached = (level.parent[order], order)
        level.cache["children"] = cached
    parents, order = cached
    lo = int(np.searchsorted(parents, cluster_id, side="left"))
    hi = int(np.searchsorted(parents, cluster_id, side="right"))
    found = order[lo:hi].astype(np.int64)
    return in_walk_order(level, found, node_size) if ordered else found
