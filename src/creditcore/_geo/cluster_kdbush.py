"""supercluster's KD-tree (KDBush 4) layouts, reproduced exactly, for many levels at once.

KDBush sorts its points into a flat KD-tree: each node's range is split at its middle index by
a Floyd-Rivest selection (Hoare-style swaps), alternating x and y, down to leaves of at most
``node_size + 1`` records. A range or radius query walks that tree depth first, the middle
record first, then the upper half, then the lower half, and a leaf in array order. So the order
of any answer is fixed by each record's final slot, and every subtree is one contiguous run of
that walk (a preorder).

:func:`walk_orders` computes the exact layout of any number of levels in one pass: their
records are laid end to end, each level a root node at its own offset, and KDBush's selection
runs for every node of a depth, of every level, at once (numpy, in lockstep: each step performs
one Hoare partition pass for every node that needs one). Only the record ids and the packed
coordinate pairs move; a partition finds its scan stops with two comparisons over the nodes'
span and pairs them per node with a binary search, so a pass costs a few array operations per
record. The layout is a deterministic function of each level's coordinates, whatever order the
levels are computed in.

The coordinates may be any 32-bit dtype (``int32`` for supercluster 9's encoded grid,
``float32`` for engines that keep mercator floats): the comparisons are the dtype's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from creditcore._geo.cluster_grid import concat_ranges

__all__ = ["jit_kernels", "kd_node_size", "walk_orders"]

IntArray = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
Coords = npt.NDArray[np.int32] | npt.NDArray[np.float32]

_SAMPLE_ABOVE = 600  # KDBush's select samples ranges wider than this (Floyd-Rivest)
_SPAN_FACTOR = 6  # scan the whole span of the nodes when they cover a sixth of it or more
_PAIRWISE_UP_TO = 1 << 17  # up to this many scan-stop pairs, test them all at once


def jit_kernels() -> ModuleType | None:
    """The compiled kernels (:mod:`.cluster_jit`), or None when numba is not installed."""
    try:
        from creditcore._geo import cluster_jit
    except ImportError:
        return None
    return cluster_jit


def kd_node_size(node_size: int) -> int:
    """KDBush's clamp of the leaf size: ``min(max(node_size, 2), 65535)``."""
    return min(max(node_size, 2), 65535)


class _Arrays:
    """The moving parts: ids (int32 record numbers) and the packed (x, y) pairs."""

    __slots__ = ("ids", "pair", "xy")

    def __init__(self, xs: Sequence[Coords], ys: Sequence[Coords]) -> None:
        total = sum(int(x.size) for x in xs)
        dtype = xs[0].dtype if xs else np.dtype(np.int32)
        xy = np.empty((total, 2), dtype=dtype)
        at = 0
        for x, y in zip(xs, ys, strict=True):
            xy[at : at + x.size, 0] = x
            xy[at : at + x.size, 1] = y
            at += x.size
        self.xy = xy  # (n, 2) view for reading one axis
        self.pair = xy.view(np.int64).reshape(total)  # both coordinates move as one int64
        self.ids = np.arange(total, dtype=np.int32)

    def swap(self, a: IntArray, b: IntArray) -> None:
        """Swap slots ``a[i]`` and ``b[i]`` (pairs disjoint or equal)."""
        for arr in (self.ids, self.pair):
            tmp = arr[a]
            arr[a] = arr[b]
            arr[b] = tmp


def _stops(
    cur: npt.NDArray[Any], left: IntArray, right: IntArray, t: npt.NDArray[Any]
) -> tuple[IntArray, IntArray]:
    """Slots holding values ``>= t`` and ``<= t`` of their node, ascending (nodes sorted).

    Slots between the nodes may be listed too: the callers count stops per node by
    binary search on the node bounds, so those never pair.
    """
    lo = int(left[0])
    hi = int(right[-1]) + 1
    sizes = right - left + 1
    total = int(sizes.sum())
    if left.size == 1 or hi - lo <= _SPAN_FACTOR * total:
        # one pass over the nodes' span: each node's pivot repeated up to the next node
        window = np.ascontiguousarray(cur[lo:hi])
        if left.size == 1:
            ts: Any = t[0]
        else:
            lengths = np.empty(left.size, dtype=np.int64)
            lengths[:-1] = left[1:] - left[:-1]
            lengths[-1] = hi - left[-1]
            ts = np.repeat(t, lengths)
        ge = np.flatnonzero(window >= ts)
        le = np.flatnonzero(window <= ts)
        ge += lo
        le += lo
        return ge, le
    begin = np.cumsum(sizes) - sizes
    slots = np.repeat(left - begin, sizes)
    slots += np.arange(total, dtype=np.int64)
    values = cur[slots]
    ts = np.repeat(t, sizes)
    return slots[values >= ts], slots[values <= ts]


def _crossings(
    ge: IntArray, le: IntArray, p_first: IntArray, q_end: IntArray, pairs: IntArray
) -> tuple[IntArray, IntArray | None, IntArray | None]:
    """Per node, how many (upward stop, downward stop) pairs cross, and the slots to swap.

    The a-th upward stop rises with a and the a-th downward stop falls, so the crossing pairs
    (``ge[p_first + a] < le[q_end - 1 - a]``) are a prefix. Few pairs: all are tested at once
    (and the swaps come out of it); many: a binary search per node.
    """
    if int(pairs.sum()) <= _PAIRWISE_UP_TO:
        vals, block = concat_ranges(p_first, pairs)
        down = q_end[block] - 1 - (vals - p_first[block])
        p_slot = ge[vals]
        q_slot = le[down]
        cross = p_slot < q_slot
        swaps = np.bincount(block[cross], minlength=pairs.size)
        return swaps, p_slot[cross], q_slot[cross]
    lo = np.zeros(pairs.size, dtype=np.int64)
    hi = pairs.copy()
    act = np.flatnonzero(lo < hi)
    while act.size:
        a_lo = lo[act]
        a_hi = hi[act]
        mid = (a_lo + a_hi) >> 1
        cross = ge[p_first[act] + mid] < le[q_end[act] - 1 - mid]
        lo[act] = np.where(cross, mid + 1, a_lo)
        hi[act] = np.where(cross, a_hi, mid)
        act = act[lo[act] < hi[act]]
    return lo, None, None


def _partition(
    arrays: _Arrays, axis: int, left: IntArray, right: IntArray, k: IntArray
) -> IntArray:
    """One partition pass of KDBush's select around ``coords[k]`` for each node; returns j."""
    order = None
    if left.size > 1 and (left[1:] < left[:-1]).any():
        order = np.argsort(left)
        left, right, k = left[order], right[order], k[order]
    cur = arrays.xy[:, axis]
    t = cur[k]
    arrays.swap(left, k)
    flip = cur[right] > t
    if flip.any():
        arrays.swap(left[flip], right[flip])
    arrays.swap(left, right)
    ge, le = _stops(cur, left, right, t)
    # the upward scan stops in (left, right], the downward one in [left, right)
    p_first = np.searchsorted(ge, left + 1)
    p_count = np.searchsorted(ge, right, side="right") - p_first
    q_end = np.searchsorted(le, right - 1, side="right")
    q_count = q_end - np.searchsorted(le, left)
    swaps, p_slot, q_slot = _crossings(ge, le, p_first, q_end, np.minimum(p_count, q_count))
    if p_slot is None and swaps.any():
        vals, block = concat_ranges(p_first, swaps)
        p_slot = ge[vals]
        q_slot = le[q_end[block] - 1 - (vals - p_first[block])]
    if p_slot is not None and q_slot is not None and p_slot.size:
        arrays.swap(p_slot, q_slot)
    # j: the first downward stop if nothing was swapped, else max(next downward stop, last p)
    next_q = np.where(swaps < q_count, le[np.maximum(q_end - 1 - swaps, 0)], np.int64(-1))
    last_p = np.where(swaps > 0, ge[np.maximum(p_first + swaps - 1, 0)], np.int64(-1))
    j = np.maximum(next_q, last_p)
    at_left = cur[left] == t
    if at_left.any():
        arrays.swap(left[at_left], j[at_left])
    moved = ~at_left
    j[moved] += 1
    arrays.swap(j[moved], right[moved])
    if order is not None:
        out = np.empty_like(j)
        out[order] = j
        return out
    return j


def _sample_range(
    left: IntArray, right: IntArray, k: IntArray, base: IntArray
) -> tuple[IntArray, IntArray]:
    """Floyd-Rivest's sampled sub-range, with KDBush's float operations (level-relative k)."""
    n = (right - left + 1).astype(np.float64)
    m = (k - left + 1).astype(np.float64)
    kr = (k - base).astype(np.float64)
    z = np.log(n)
    s = 0.5 * np.exp(2 * z / 3)
    sd = 0.5 * np.sqrt(z * s * (n - s) / n) * np.where(m - n / 2 < 0, -1.0, 1.0)
    new_left = np.maximum(left, np.floor(kr - m * s / n + sd).astype(np.int64) + base)
    new_right = np.minimum(right, np.floor(kr + (n - m) * s / n + sd).astype(np.int64) + base)
    return new_left, new_right


def _select_all(
    arrays: _Arrays, axis: int, left: IntArray, right: IntArray, base: IntArray
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
            nl, nr = _sample_range(lo[wide], hi[wide], k[w], base[w])
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


def _sort(arrays: _Arrays, starts: IntArray, sizes: IntArray, node_size: int) -> None:
    """KDBush's ``sort`` of every level: all nodes of each depth in one lockstep pass."""
    left = starts.copy()
    right = starts + sizes - 1
    base = starts.copy()
    axis = 0
    while left.size:
        inner = right - left > node_size
        left = left[inner]
        right = right[inner]
        base = base[inner]
        if not left.size:
            break
        _select_all(arrays, axis, left, right, base)
        m = (left + right) >> 1
        left, right = np.concatenate((left, m + 1)), np.concatenate((m - 1, right))
        base = np.concatenate((base, base))
        axis = 1 - axis


def _walk(ids: I32, starts: IntArray, sizes: IntArray, node_size: int) -> I32:
    """The slots' records in walk order: middle, upper half, lower half; leaves in order.

    Walk positions are level-relative offsets from each level's start, like the slots.
    """
    out = np.empty(ids.size, dtype=np.int32)
    left = starts.copy()
    right = starts + sizes - 1
    offset = starts.copy()  # walk position of each node's first record
    while left.size:
        leaf = right - left <= node_size
        if leaf.any():
            lv, rv, ov = left[leaf], right[leaf], offset[leaf]
            slots, seg = concat_ranges(lv, rv - lv + 1)
            out[ov[seg] + (slots - lv[seg])] = ids[slots]
        inner = ~leaf
        left, right, offset = left[inner], right[inner], offset[inner]
        m = (left + right) >> 1
        out[offset] = ids[m]
        left, right, offset = (
            np.concatenate((m + 1, left)),
            np.concatenate((right, m - 1)),
            np.concatenate((offset + 1, offset + 1 + (right - m))),
        )
    return out


def walk_orders(
    xs: Sequence[Coords], ys: Sequence[Coords], node_size: int, jit: bool | None = None
) -> list[I32]:
    """Each level's records in the order supercluster's KD-tree walks them.

    Args:
        xs: Per level, the x coordinates of its records in level order (one 32-bit dtype).
        ys: Per level, the y coordinates.
        node_size: supercluster's ``nodeSize`` (clamped as KDBush does).
        jit: Use the compiled kernels (None: when numba is installed); False forces numpy.

    Returns:
        Per level, the record numbers (0-based within the level) at walk positions
        ``0 .. n-1``: any range or radius query returns its matches in this order.
    """
    if not xs:
        return []
    ns = kd_node_size(node_size)
    sizes = np.array([x.size for x in xs], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    kernels = jit_kernels() if jit is not False else None
    if jit and kernels is None:
        raise ImportError("numba is not installed")
    if kernels is not None:
        arrays = _Arrays(xs, ys)
        walk = kernels.kd_walk(arrays.xy, starts, sizes, ns)
    else:
        arrays = _Arrays(xs, ys)
        _sort(arrays, starts, sizes, ns)
        walk = _walk(arrays.ids, starts, sizes, ns)
        walk -= np.repeat(starts, sizes).astype(np.int32)
    del arrays
    return [walk[a : a + b] for a, b in zip(starts.tolist(), sizes.tolist(), strict=True)]
