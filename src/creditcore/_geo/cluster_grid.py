"""All within-radius neighbour pairs of a zoom level at once, with a grid of cell size > r.

Points are sorted by grid cell; two points can be within ``r`` of each other only when their
cells touch, so each occupied cell is compared with itself and with the four cells "after" it
(right, and the three below), which yields every unordered pair exactly once. Exact duplicate
coordinates are folded onto their first record before pairing (they share every neighbour), so
piles of identical points cost linear, not quadratic, work. Cells holding more than
``_CROWDED`` distinct records (a pile of nearly identical points) are not paired with each
other at all: :class:`Crowd` answers radius queries among them on demand instead. Candidate
pairs are generated in bounded chunks, so memory stays flat.

The distance test is supercluster's: integer coordinates, squared distance computed in float64
(``dx * dx + dy * dy``) and compared with ``r * r``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Crowd", "Pairs", "concat_ranges", "neighbour_pairs"]

IntArray = npt.NDArray[np.int64]

_HALF = 1 << 29
_CHUNK = 1 << 20  # candidate pairs examined per numpy pass
_FEW_DUPLICATES = 1024  # up to this many, duplicates stay in the grid and lose their pairs
_CROWDED = 64  # a cell with more records than this pairs with crowded cells only on demand


@dataclass(frozen=True, slots=True)
class Crowd:
    """Records in crowded cells, whose pairs among themselves are not listed.

    A pile of thousands of nearly identical points would make millions of pairs; instead the
    greedy pass asks for a crowded record's crowded neighbours when it needs them
    (:meth:`near`), as supercluster's radius query would.

    Attributes:
        members: The records in crowded cells (duplicates that were set aside excluded).
        cell_keys: Keys of the crowded cells, ascending.
        starts: Where each crowded cell begins in the cell-sorted arrays.
        sizes: How many records each crowded cell holds.
        member_keys: The cell key of each member.
        order, xs, ys: The records sorted by cell, and their coordinates.
        ncol: Cells per grid row (key arithmetic).
        r2: The squared radius.
        skip: Records to leave out of any answer (duplicates handled elsewhere), or None.
    """

    members: IntArray
    cell_keys: IntArray
    starts: IntArray
    sizes: IntArray
    member_keys: IntArray
    order: IntArray
    xs: npt.NDArray[np.int32]
    ys: npt.NDArray[np.int32]
    ncol: int
    r2: float
    skip: npt.NDArray[np.bool_] | None

    def near(self, key: int, x: int, y: int) -> IntArray:
        """Crowded records within the radius of a crowded record (itself included)."""
        ncol = self.ncol
        wanted = key + np.array(
            [dy * ncol + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)], dtype=np.int64
        )
        at = np.searchsorted(self.cell_keys, wanted)
        inside = at < self.cell_keys.size
        at = at[inside]
        at = at[self.cell_keys[at] == wanted[inside]]
        pos, _ = concat_ranges(self.starts[at], self.sizes[at])
        dx = (self.xs[pos] - x).astype(np.float64)
        dy = (self.ys[pos] - y).astype(np.float64)
        recs: IntArray = self.order[pos[dx * dx + dy * dy <= self.r2]]
        if self.skip is not None:
            recs = recs[~self.skip[recs]]
        return recs


def concat_ranges(starts: IntArray, sizes: IntArray) -> tuple[IntArray, IntArray]:
    """Concatenate ``arange(start, start + size)`` for each block; also each value's block."""
    block = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
    offsets = np.cumsum(sizes) - sizes
    values: IntArray = np.arange(block.size, dtype=np.int64) - offsets[block] + starts[block]
    return values, block


@dataclass(frozen=True, slots=True)
class Pairs:
    """The neighbour graph of a level.

    Attributes:
        lo: Smaller record index of each within-radius pair (pairs among representatives).
        hi: Larger record index of each pair (``lo < hi``).
        dup: Records whose coordinates equal an earlier record's (not in any pair).
        dup_rep: For each ``dup``, the first record with the same coordinates.
        order: All records sorted by grid cell (a good presorting hint for the next zoom,
            whose cells are twice as large).
        crowd: Records of crowded cells, whose pairs among themselves are not in ``lo``/``hi``.
    """

    lo: IntArray
    hi: IntArray
    dup: IntArray
    dup_rep: IntArray
    order: IntArray
    crowd: Crowd | None = None


def _expand(
    a_start: IntArray, a_size: IntArray, b_start: IntArray, b_size: IntArray
) -> tuple[IntArray, IntArray]:
    """All (a, b) position pairs of the blocks ``[a_start, a_start+a_size) x [b_start, ...)``."""
    counts = a_size * b_size
    total = int(counts.sum())
    block = np.repeat(np.arange(counts.size), counts)
    offsets = np.cumsum(counts) - counts
    local = np.arange(total, dtype=np.int64) - offsets[block]
    bs = b_size[block]
    return a_start[block] + local // bs, b_start[block] + local % bs


def _chunks(counts: IntArray) -> list[tuple[int, int]]:
    """Split block pairs into consecutive runs of about ``_CHUNK`` candidate pairs."""
    if counts.size == 0:
        return []
    cum = np.cumsum(counts)
    bounds = [0]
    total = int(cum[-1])
    if total <= _CHUNK:
        return [(0, counts.size)]
    cuts = np.searchsorted(cum, np.arange(_CHUNK, total, _CHUNK), side="left") + 1
    bounds.extend(int(c) for c in np.unique(np.minimum(cuts, counts.size)))
    if bounds[-1] != counts.size:
        bounds.append(counts.size)
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i + 1] > bounds[i]]


def _fold_duplicates(
    xs: npt.NDArray[np.int32], ys: npt.NDArray[np.int32], order: IntArray, keys: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Find records sharing coordinates; return (keep mask over sorted positions, dup, rep)."""
    n = order.size
    keep = np.ones(n, dtype=bool)
    crowded = np.zeros(n, dtype=bool)
    same = keys[1:] == keys[:-1]
    crowded[1:] |= same
    crowded[:-1] |= same
    pos = np.flatnonzero(crowded)
    if pos.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return keep, empty, empty
    exact = (xs[pos].astype(np.int64) << 32) | (ys[pos].astype(np.int64) + _HALF)
    idx = order[pos]
    sub = np.lexsort((idx, exact))
    exact_s = exact[sub]
    first = np.ones(sub.size, dtype=bool)
    first[1:] = exact_s[1:] != exact_s[:-1]
    group_first = np.maximum.accumulate(np.where(first, np.arange(sub.size), 0))
    dup_mask = ~first
    dup_pos = pos[sub[dup_mask]]
    keep[dup_pos] = False
    return keep, idx[sub[dup_mask]], idx[sub[group_first[dup_mask]]]


def neighbour_pairs(
    x: npt.NDArray[np.int32], y: npt.NDArray[np.int32], r: float, hint: IntArray | None = None
) -> Pairs:
    """Every pair of records within ``r`` (supercluster's test), each once, ``lo < hi``.

    Args:
        x: Encoded x coordinates of the level's records.
        y: Encoded y coordinates.
        r: The radius in encoded units (a float, as supercluster computes it).
        hint: The records in an order close to cell order (the previous zoom's cell order):
            a stable sort of nearly sorted runs is several times faster than sorting afresh.
    """
    n = x.size
    cell = int(r) + 1
    ncol = (1 << 30) // cell + 3
    keys = (y.astype(np.int64) + _HALF) // cell + 1
    keys *= ncol
    keys += (x.astype(np.int64) + _HALF) // cell + 1
    if hint is None:
        order = np.argsort(keys)
        keys = keys[order]
    else:
        hinted = keys[hint]
        by = np.argsort(hinted, kind="stable")
        order = hint[by]
        keys = hinted[by]
    full_order = order
    xs = x[order]
    ys = y[order]

    keep, dup, dup_rep = _fold_duplicates(xs, ys, order, keys)
    dropped = None
    if 0 < dup.size <= _FEW_DUPLICATES:
        # a few duplicates: cheaper to drop their pairs than to compact every array
        dropped = np.zeros(n, dtype=bool)
        dropped[dup] = True
    elif dup.size:
        order = order[keep]
        keys = keys[keep]
        xs = xs[keep]
        ys = ys[keep]
        n = order.size

    boundary = np.empty(n, dtype=bool)
    boundary[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=boundary[1:])
    starts = np.flatnonzero(boundary)
    sizes = np.diff(np.append(starts, n))
    cell_keys = keys[starts]
    m = starts.size

    a_parts: list[IntArray] = []
    b_parts: list[IntArray] = []
    # same cell
    multi = np.flatnonzero(sizes > 1)
    if multi.size:
        a_parts.append(multi)
        b_parts.append(multi)
    # right neighbour in the same row: the next occupied cell if its key is one more
    right = np.flatnonzero(cell_keys[1:] == cell_keys[:-1] + 1)
    a_parts.append(right)
    b_parts.append(right + 1)
    # the row below: cells key+ncol-1 .. key+ncol+1, consecutive in the sorted keys from base
    base = np.searchsorted(cell_keys, cell_keys + (ncol - 1))
    hit = np.flatnonzero(base < m)
    for _ in range(3):
        hit = hit[base[hit] < m]
        hit = hit[cell_keys[base[hit]] <= cell_keys[hit] + (ncol + 1)]
        a_parts.append(hit)
        b_parts.append(base[hit].copy())
        base[hit] += 1
    ca = np.concatenate(a_parts)
    cb = np.concatenate(b_parts)

    r2 = r * r
    crowd = None
    crowded = sizes > _CROWDED
    if crowded.any():
        both = crowded[ca] & crowded[cb]
        ca = ca[~both]
        cb = cb[~both]
        cells = np.flatnonzero(crowded)
        positions, _ = concat_ranges(starts[cells], sizes[cells])
        members = order[positions]
        member_keys = keys[positions]
        if dropped is not None:
            real = ~dropped[members]
            members = members[real]
            member_keys = member_keys[real]
        crowd = Crowd(
            members=members,
            cell_keys=cell_keys[cells],
            starts=starts[cells],
            sizes=sizes[cells],
            member_keys=member_keys,
            order=order,
            xs=xs,
            ys=ys,
            ncol=ncol,
            r2=r2,
            skip=dropped,
        )
    lo_parts: list[IntArray] = []
    hi_parts: list[IntArray] = []
    a_start = starts[ca]
    a_size = sizes[ca]
    b_start = starts[cb]
    b_size = sizes[cb]
    same_cell = ca == cb
    counts = a_size * b_size
    for begin, end in _chunks(counts):
        pa, pb = _expand(
            a_start[begin:end], a_size[begin:end], b_start[begin:end], b_size[begin:end]
        )
        if same_cell[begin:end].any():
            distinct = pa < pb
            pa = pa[distinct]
            pb = pb[distinct]
        dx = (xs[pa] - xs[pb]).astype(np.float64)
        dy = (ys[pa] - ys[pb]).astype(np.float64)
        near = np.flatnonzero(dx * dx + dy * dy <= r2)
        ia = order[pa[near]]
        ib = order[pb[near]]
        if dropped is not None:
            real = ~(dropped[ia] | dropped[ib])
            ia = ia[real]
            ib = ib[real]
        lo_parts.append(np.minimum(ia, ib))
        hi_parts.append(np.maximum(ia, ib))
    empty = np.empty(0, dtype=np.int64)
    lo = np.concatenate(lo_parts) if lo_parts else empty
    hi = np.concatenate(hi_parts) if hi_parts else empty
    return Pairs(lo=lo, hi=hi, dup=dup, dup_rep=dup_rep, order=full_order, crowd=crowd)
