"""The order in which supercluster's KD-tree (KDBush 4) returns records, reproduced.

KDBush sorts its points into a flat KD-tree: each node's range is split at its middle index by
a Floyd-Rivest selection (Hoare-style swaps), alternating x and y, down to leaves of at most
``node_size + 1`` records. A range or radius query walks that tree depth first, the middle
record first, then the upper half, then the lower half, and a leaf in array order. So the order
of any answer is fixed by each record's final slot: this module computes the exact slots by
running KDBush's selection for all nodes of one depth at once (numpy, in lockstep: each step
performs one partition pass for every node that needs one), and ranks the slots in walk order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from creditcore._geo.cluster_grid import concat_ranges

__all__ = ["walk_rank"]

IntArray = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

_SAMPLE_ABOVE = 600  # KDBush's select samples ranges wider than this (Floyd-Rivest)


def _swap(arrays: tuple[IntArray, I32, I32], a: IntArray, b: IntArray) -> None:
    """Swap slots ``a[i]`` and ``b[i]`` in every array (pairs are disjoint or equal)."""
    for arr in arrays:
        tmp = arr[a]
        arr[a] = arr[b]
        arr[b] = tmp


def _segments(left: IntArray, right: IntArray) -> tuple[IntArray, IntArray]:
    """Slots of the inclusive ranges ``[left[s], right[s]]``, and their segment numbers."""
    return concat_ranges(left, right - left + 1)


def _partition(
    arrays: tuple[IntArray, I32, I32], axis: int, left: IntArray, right: IntArray, k: IntArray
) -> IntArray:
    """One partition pass of KDBush's select around ``coords[k]`` for each range; returns j."""
    coords = arrays[1 + axis]
    t = coords[k].astype(np.int64)
    _swap(arrays, left, k)
    flip = coords[right] > t
    _swap(arrays, left[flip], right[flip])
    _swap(arrays, left, right)
    slots, seg = _segments(left, right)
    c = coords[slots]
    ts = t[seg]
    ge = np.flatnonzero((c >= ts) & (slots > left[seg]))  # where the upward scan stops
    le = np.flatnonzero((c <= ts) & (slots < right[seg]))  # downward scan: read backwards
    nseg = left.size
    p_count = np.bincount(seg[ge], minlength=nseg)
    q_count = np.bincount(seg[le], minlength=nseg)
    p_first = np.cumsum(p_count) - p_count
    q_last = np.cumsum(q_count) - 1  # a segment's a-th downward stop is le[q_last - a]
    pairs = np.minimum(p_count, q_count)
    a_seg = np.repeat(np.arange(nseg, dtype=np.int64), pairs)
    a_rank = np.arange(a_seg.size, dtype=np.int64) - (np.cumsum(pairs) - pairs)[a_seg]
    p_slot = slots[ge[p_first[a_seg] + a_rank]]
    q_slot = slots[le[q_last[a_seg] - a_rank]]
    crossing = p_slot < q_slot
    swaps = np.bincount(a_seg[crossing], minlength=nseg)
    _swap(arrays, p_slot[crossing], q_slot[crossing])
    # j: the first downward stop if nothing was swapped, else max(next downward stop, last p)
    has_next_q = swaps < q_count
    next_q = np.where(has_next_q, slots[le[np.maximum(q_last - swaps, 0)]], np.int64(-1))
    last_p = np.where(swaps > 0, slots[ge[np.maximum(p_first + swaps - 1, 0)]], np.int64(-1))
    j = np.where(swaps > 0, np.maximum(next_q, last_p), next_q)
    at_left = coords[left] == t
    _swap(arrays, left[at_left], j[at_left])
    moved = ~at_left
    j[moved] += 1
    _swap(arrays, j[moved], right[moved])
    return j


def _sample_range(left: IntArray, right: IntArray, k: IntArray) -> tuple[IntArray, IntArray]:
    """Floyd-Rivest's sampled sub-range, with KDBush's float operations."""
    n = (right - left + 1).astype(np.float64)
    m = (k - left + 1).astype(np.float64)
    z = np.log(n)
    s = 0.5 * np.exp(2 * z / 3)
    sd = 0.5 * np.sqrt(z * s * (n - s) / n) * np.where(m - n / 2 < 0, -1.0, 1.0)
    new_left = np.maximum(left, np.floor(k - m * s / n + sd).astype(np.int64))
    new_right = np.minimum(right, np.floor(k + (n - m) * s / n + sd).astype(np.int64))
    return new_left, new_right


def _select_all(
    arrays: tuple[IntArray, I32, I32], axis: int, left: IntArray, right: IntArray
) -> None:
    """KDBush's ``select(k = middle)`` on every node range at once."""
    k = (left + right) >> 1
    nodes = left.size
    depth = 8
    fl = np.zeros((nodes, depth), dtype=np.int64)
    fr = np.zeros((nodes, depth), dtype=np.int64)
    sampled = np.zeros((nodes, depth), dtype=bool)
    fl[:, 0] = left
    fr[:, 0] = right
    sp = np.zeros(nodes, dtype=np.int64)
    live = np.arange(nodes, dtype=np.int64)
    while live.size:
        top = sp[live]
        lo = fl[live, top]
        hi = fr[live, top]
        finished = hi <= lo
        if finished.any():
            sp[live[finished]] -= 1
        wide = ~finished & (hi - lo > _SAMPLE_ABOVE) & ~sampled[live, top]
        if wide.any():
            w = live[wide]
            wt = top[wide]
            sampled[w, wt] = True
            nl, nr = _sample_range(lo[wide], hi[wide], k[w])
            if int(wt.max()) + 1 >= depth:
                grow = depth
                fl = np.concatenate((fl, np.zeros((nodes, grow), dtype=np.int64)), axis=1)
                fr = np.concatenate((fr, np.zeros((nodes, grow), dtype=np.int64)), axis=1)
                sampled = np.concatenate((sampled, np.zeros((nodes, grow), dtype=bool)), axis=1)
                depth += grow
            fl[w, wt + 1] = nl
            fr[w, wt + 1] = nr
            sampled[w, wt + 1] = False
            sp[w] += 1
        part = ~finished & ~wide
        if part.any():
            p = live[part]
            pt = top[part]
            plo = lo[part]
            phi = hi[part]
            kk = k[p]
            j = _partition(arrays, axis, plo, phi, kk)
            fl[p, pt] = np.where(j <= kk, j + 1, plo)
            fr[p, pt] = np.where(kk <= j, j - 1, phi)
            sampled[p, pt] = False
        live = live[sp[live] >= 0]


def _sort(ids: IntArray, xs: I32, ys: I32, node_size: int) -> None:
    """KDBush's ``sort``: all nodes of each depth in one lockstep pass."""
    arrays = (ids, xs, ys)
    left = np.zeros(1, dtype=np.int64)
    right = np.full(1, ids.size - 1, dtype=np.int64)
    axis = 0
    while left.size:
        inner = right - left > node_size
        left = left[inner]
        right = right[inner]
        if not left.size:
            break
        _select_all(arrays, axis, left, right)
        m = (left + right) >> 1
        left, right = np.concatenate((left, m + 1)), np.concatenate((m - 1, right))
        axis = 1 - axis


def _slot_rank(n: int, node_size: int) -> IntArray:
    """Walk order of each slot: middle first, then the upper half, then the lower half."""
    rank = np.empty(n, dtype=np.int64)
    left = np.zeros(1, dtype=np.int64)
    right = np.full(1, n - 1, dtype=np.int64)
    offset = np.zeros(1, dtype=np.int64)
    while left.size:
        leaf = right - left <= node_size
        if leaf.any():
            lv, rv, ov = left[leaf], right[leaf], offset[leaf]
            slots, seg = _segments(lv, rv)
            rank[slots] = ov[seg] + (slots - lv[seg])
        inner = ~leaf
        left, right, offset = left[inner], right[inner], offset[inner]
        m = (left + right) >> 1
        rank[m] = offset
        left, right, offset = (
            np.concatenate((m + 1, left)),
            np.concatenate((right, m - 1)),
            np.concatenate((offset + 1, offset + 1 + (right - m))),
        )
    return rank


def walk_rank(x: I32, y: I32, node_size: int) -> I32:
    """For each record, its position in the order KDBush's queries return records.

    Any range or radius query of supercluster returns its matches sorted by this rank.
    """
    n = x.size
    if n == 0:
        return np.empty(0, dtype=np.int32)
    ids = np.arange(n, dtype=np.int64)
    xs = x.astype(np.int32, copy=True)
    ys = y.astype(np.int32, copy=True)
    _sort(ids, xs, ys, min(max(node_size, 2), 65535))
    rank = np.empty(n, dtype=np.int32)  # kept per level: int32 halves the memory
    rank[ids] = _slot_rank(n, min(max(node_size, 2), 65535))
    return rank
