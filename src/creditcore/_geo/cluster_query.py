"""Range and children look-ups on a zoom level laid out in KD walk order.

A walked level (:func:`.cluster_pyramid.walk_level`) keeps its records in the order
supercluster's KD-tree returns them, and every subtree of that tree is one contiguous run of
positions (the walk is a preorder: middle, upper half, lower half). A range query is KDBush's
own: descend from the root, test each middle record, visit the halves the box reaches, scan the
leaves; the answer is the matching positions, ascending, which is supercluster's order. The test
is KDBush's (``minX <= x <= maxX and minY <= y <= maxY`` on the integer coordinates, against
unrounded float bounds). With numba (:mod:`.cluster_jit`) the walk is compiled; without it the
nodes of each depth are visited together with numpy.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from creditcore._geo.cluster_grid import concat_ranges
from creditcore._geo.cluster_kdbush import jit_kernels, kd_node_size
from creditcore._geo.cluster_pyramid import Level, kd_coordinates, walk_level

__all__ = ["children_of", "range_query"]

IntArray = npt.NDArray[np.int64]

_HALF = 1 << 29


def _range_numpy(
    x: npt.NDArray[np.int32], y: npt.NDArray[np.int32], ns: int, box: tuple[int, int, int, int]
) -> IntArray:
    """KDBush's range walk, all nodes of a depth at once; positions ascending."""
    lo_x, lo_y, hi_x, hi_y = box
    n = x.size
    left = np.zeros(1, dtype=np.int64)
    right = np.full(1, n - 1, dtype=np.int64)
    offset = np.zeros(1, dtype=np.int64)
    found: list[IntArray] = []
    leaf_at: list[IntArray] = []
    leaf_len: list[IntArray] = []
    axis = 0
    while left.size:
        leaf = right - left <= ns
        if leaf.any():
            leaf_at.append(offset[leaf])
            leaf_len.append(right[leaf] - left[leaf] + 1)
            inner = ~leaf
            left, right, offset = left[inner], right[inner], offset[inner]
        if not left.size:
            break
        mx = x[offset]
        my = y[offset]
        inside = (mx >= lo_x) & (mx <= hi_x) & (my >= lo_y) & (my <= hi_y)
        found.append(offset[inside])
        v, lo, hi = (mx, lo_x, hi_x) if axis == 0 else (my, lo_y, hi_y)
        m = (left + right) >> 1
        up = v <= hi  # the upper half (slots m+1 .. right) holds values >= v
        down = v >= lo
        left = np.concatenate((m[up] + 1, left[down]))
        new_right = np.concatenate((right[up], m[down] - 1))
        offset = np.concatenate((offset[up] + 1, offset[down] + 1 + (right[down] - m[down])))
        right = new_right
        axis = 1 - axis
    if leaf_at:
        pos, _ = concat_ranges(np.concatenate(leaf_at), np.concatenate(leaf_len))
        px = x[pos]
        py = y[pos]
        found.append(pos[(px >= lo_x) & (px <= hi_x) & (py >= lo_y) & (py <= hi_y)])
    hits = np.concatenate(found) if found else np.empty(0, dtype=np.int64)
    if hits.size * 16 > n:
        mask = np.zeros(n, dtype=bool)
        mask[hits] = True
        return np.flatnonzero(mask)
    return np.sort(hits)


def range_query(
    level: Level, min_x: float, min_y: float, max_x: float, max_y: float, node_size: int
) -> IntArray:
    """Positions of the level's records inside the box (inclusive), in KDBush's order."""
    lo_x = max(math.ceil(min_x), -_HALF)
    hi_x = min(math.floor(max_x), _HALF)
    lo_y = max(math.ceil(min_y), -_HALF)
    hi_y = min(math.floor(max_y), _HALF)
    if level.size == 0 or lo_x > hi_x or lo_y > hi_y:
        return np.empty(0, dtype=np.int64)
    walk_level(level, node_size)
    x, y = kd_coordinates(level)
    box = (lo_x, lo_y, hi_x, hi_y)
    ns = kd_node_size(node_size)
    kernels = jit_kernels()
    if kernels is not None:
        found: IntArray = kernels.kd_range(x, y, ns, box)
        return found
    return _range_numpy(x, y, ns, box)


def children_of(level: Level, cluster_id: int, node_size: int, ordered: bool = True) -> IntArray:
    """Positions of the records of ``level`` that joined ``cluster_id``, in KDBush's order.

    ``ordered`` is kept for callers that only count: the answer is always in walk order.
    """
    if level.parent is None:
        return np.empty(0, dtype=np.int64)
    walk_level(level, node_size)
    parents, positions = level.cache["children"]
    lo = int(np.searchsorted(parents, cluster_id, side="left"))
    hi = int(np.searchsorted(parents, cluster_id, side="right"))
    found: IntArray = positions[lo:hi]
    return found
