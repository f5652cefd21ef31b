"""supercluster's greedy pass over a zoom level, computed from its neighbour graph.

supercluster visits records in order; an unvisited record becomes a seed and marks every
unvisited record within the radius as visited (absorbed). So a record is a seed exactly when no
earlier seed is its neighbour: the seeds are the lexicographically-first maximal independent
set of the neighbour graph. An absorbed record was marked by the first seed that reached it,
which is its smallest-index seed neighbour (that seed precedes it: otherwise it would itself be
a seed). Both are computed here in vectorised rounds; when rounds stop making progress (long
chains, such as data sorted along a line) the rest is finished by a plain loop in index order.
Records connected to crowded cells (piles whose pairs the grid does not list) go through
supercluster's pass itself, one seed at a time, with a vectorised radius query per seed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from creditcore._geo.cluster_grid import Crowd, Pairs, concat_ranges

__all__ = ["greedy_seeds", "seeds_and_owners"]

IntArray = npt.NDArray[np.int64]

_UNDECIDED, _SEED, _ABSORBED = 0, 1, 2
_MIN_PROGRESS = 0.1  # switch to the loop when a round removes fewer edges than this share


def _finish_in_order(state: npt.NDArray[np.int8], lo: IntArray, hi: IntArray) -> None:
    """Decide the remaining records one by one, in index order (the greedy pass itself)."""
    by_hi = np.argsort(hi, kind="stable")
    hi_sorted = hi[by_hi]
    lowers = lo[by_hi].tolist()
    verts = np.unique(np.concatenate((lo, hi)))
    starts = np.searchsorted(hi_sorted, verts, side="left").tolist()
    ends = np.searchsorted(hi_sorted, verts, side="right").tolist()
    st = state.tolist()
    for v, begin, end in zip(verts.tolist(), starts, ends, strict=True):
        for u in lowers[begin:end]:
            if st[u] == _SEED:
                st[v] = _ABSORBED
                break
        else:
            st[v] = _SEED
    state[:] = np.asarray(st, dtype=np.int8)


def greedy_seeds(n: int, lo: IntArray, hi: IntArray) -> npt.NDArray[np.bool_]:
    """Seeds of supercluster's pass over ``n`` records with neighbour pairs ``lo < hi``.

    Returns:
        A mask over the records: True for seeds (records without neighbours included).
    """
    state = np.zeros(n, dtype=np.int8)
    blocked = np.zeros(n, dtype=bool)
    while lo.size:
        # a record with no undecided earlier neighbour left (and no seed among them) is a seed
        blocked[hi] = True
        touched = np.unique(lo) if lo.size < n // 8 else None
        if touched is None:
            free = (state == _UNDECIDED) & ~blocked
            state[free] = _SEED
        else:
            cand = touched[~blocked[touched]]
            state[cand] = _SEED
        blocked[hi] = False
        # their later neighbours are absorbed
        state[hi[state[lo] == _SEED]] = _ABSORBED
        alive = (state[lo] == _UNDECIDED) & (state[hi] == _UNDECIDED)
        kept = int(np.count_nonzero(alive))
        progress = 1.0 - kept / lo.size
        lo = lo[alive]
        hi = hi[alive]
        if lo.size and progress < _MIN_PROGRESS:
            _finish_in_order(state, lo, hi)
            break
    state[state == _UNDECIDED] = _SEED
    seeds: npt.NDArray[np.bool_] = state == _SEED
    return seeds


def _owners(owner: IntArray, seeds: npt.NDArray[np.bool_], lo: IntArray, hi: IntArray) -> None:
    """Each absorbed record joins its smallest-index seed neighbour (always an earlier one)."""
    from_seed = seeds[lo] & ~seeds[hi]
    np.minimum.at(owner, hi[from_seed], lo[from_seed])


def _adjacency(n: int, lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
    """Both directions of the pairs as (neighbours sorted by record, index pointer)."""
    a = np.concatenate((lo, hi))
    b = np.concatenate((hi, lo))
    by = np.argsort(a, kind="stable")
    indptr = np.searchsorted(a[by], np.arange(n + 1, dtype=np.int64))
    return b[by], indptr


def _reach(
    start: IntArray, neighbours: IntArray, indptr: IntArray, n: int
) -> npt.NDArray[np.bool_]:
    """Records connected to ``start`` through the listed pairs (breadth first)."""
    reached = np.zeros(n, dtype=bool)
    reached[start] = True
    frontier = start
    while frontier.size:
        slots, _ = concat_ranges(indptr[frontier], indptr[frontier + 1] - indptr[frontier])
        nb = neighbours[slots]
        nb = np.unique(nb[~reached[nb]])
        reached[nb] = True
        frontier = nb
    return reached


def _pass_in_order(
    records: IntArray,
    neighbours: IntArray,
    indptr: IntArray,
    crowd: Crowd,
    x: npt.NDArray[np.int32],
    y: npt.NDArray[np.int32],
    seeds: npt.NDArray[np.bool_],
    owner: IntArray,
) -> None:
    """supercluster's pass itself over ``records`` (ascending): seeds take their neighbours."""
    n = seeds.size
    visited = np.zeros(n, dtype=bool)
    crowded_key = dict(zip(crowd.members.tolist(), crowd.member_keys.tolist(), strict=True))
    for v in records.tolist():
        if visited[v]:
            continue
        visited[v] = True
        seeds[v] = True
        taken = neighbours[indptr[v] : indptr[v + 1]]
        key = crowded_key.get(v)
        if key is not None:
            taken = np.concatenate((taken, crowd.near(key, int(x[v]), int(y[v]))))
        taken = taken[~visited[taken]]
        visited[taken] = True
        owner[taken] = v


def seeds_and_owners(
    n: int, pairs: Pairs, x: npt.NDArray[np.int32], y: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.bool_], IntArray]:
    """Seeds of the level and, for absorbed records, the seed that took them (``n``: none).

    Records connected to crowded cells go through supercluster's pass one seed at a time (the
    pairs inside a pile are never listed); all others through the vectorised rounds.
    """
    owner = np.full(n, n, dtype=np.int64)
    lo, hi = pairs.lo, pairs.hi
    crowd = pairs.crowd
    if crowd is None:
        seeds = greedy_seeds(n, lo, hi)
        seeds[pairs.dup] = False
        _owners(owner, seeds, lo, hi)
    else:
        neighbours, indptr = _adjacency(n, lo, hi)
        piled = _reach(crowd.members, neighbours, indptr, n)
        apart = ~piled[lo]
        seeds = greedy_seeds(n, lo[apart], hi[apart])
        seeds[pairs.dup] = False
        seeds[piled] = False
        _owners(owner, seeds, lo[apart], hi[apart])
        _pass_in_order(np.flatnonzero(piled), neighbours, indptr, crowd, x, y, seeds, owner)
    if pairs.dup.size:
        rep = pairs.dup_rep
        owner[pairs.dup] = np.where(seeds[rep], rep, owner[rep])
    return seeds, owner
