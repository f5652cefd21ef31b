"""The zoom pyramid: supercluster's clustering of every zoom level, vectorised with numpy.

Each level holds its records (points and clusters) in supercluster's order as columns. Zoom
``z`` clusters the records of level ``z + 1``: neighbour pairs come from the grid
(:mod:`.cluster_grid`), seeds and memberships from the greedy pass (:mod:`.cluster_greedy`),
and the new level lists, in seed order, each seed either as the cluster it founded or as
itself. A seed whose total point count stays below ``min_points`` keeps itself and its
absorbed records unclustered, emitted right after it. When nothing clusters at a zoom,
supercluster reuses the level above unchanged (same order), and so does this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from creditcore._geo.cluster_greedy import seeds_and_owners
from creditcore._geo.cluster_grid import neighbour_pairs
from creditcore._geo.cluster_kdbush import walk_orders
from creditcore._geo.cluster_mercator import SCALE, to_int32

__all__ = [
    "Level",
    "Reducer",
    "build_pyramid",
    "kd_coordinates",
    "radius_units",
    "walk_level",
    "walk_levels",
    "walk_order_rank",
]

IntArray = npt.NDArray[np.int64]
IdArray = npt.NDArray[np.int32] | npt.NDArray[np.int64]
Props = dict[str, Any]


@dataclass(slots=True)
class Level:
    """The records of one zoom level, in supercluster's order, then in KD walk order.

    While the pyramid is built, a level's columns are in supercluster's level order (the
    order its greedy pass visits them; a cluster's id holds its position in it). Once
    :func:`walk_level` has run (``walked``), every column is in KD walk order instead: the
    order supercluster's KD-tree returns records, so an answer is its positions, ascending.

    Attributes:
        x: Encoded x (int32 scale of 2**30).
        y: Encoded y.
        count: Points in each record (1 for a point).
        ident: The input index of a point, or the id of a cluster.
        prop: Index into the cluster properties list (-1: none); None without ``reduce``.
        parent: Id of the cluster each record joins at the zoom below (-1: none); None until
            clusters form from this level.
    """

    x: npt.NDArray[np.int32]
    y: npt.NDArray[np.int32]
    count: npt.NDArray[np.int32]
    ident: IdArray
    prop: npt.NDArray[np.int32] | None
    parent: IdArray | None = field(init=False, default=None)
    walked: bool = field(init=False, default=False)
    cache: dict[str, Any] = field(init=False, default_factory=dict)

    @property
    def size(self) -> int:
        """Number of records."""
        return int(self.x.size)


@dataclass(frozen=True, slots=True)
class Reducer:
    """The ``map``/``reduce`` pair that aggregates properties into clusters."""

    map: Callable[[Props], Props]
    reduce: Callable[[Props, Props], object]
    point_props: list[Props | None]
    cluster_props: list[Props]

    def start(self, level: Level, seed: int) -> Props:
        """Properties of a new cluster, from its seed (a copy; never the caller's dict)."""
        assert level.prop is not None
        pi = int(level.prop[seed])
        if pi >= 0:
            return dict(self.cluster_props[pi])
        original = self.point_props[int(level.ident[seed])]
        mapped = self.map(original if original is not None else {})
        return dict(mapped) if mapped is original else mapped

    def member(self, level: Level, k: int) -> Props:
        """Mapped properties of an absorbed record."""
        assert level.prop is not None
        pi = int(level.prop[k])
        if pi >= 0:
            return self.cluster_props[pi]
        original = self.point_props[int(level.ident[k])]
        return self.map(original if original is not None else {})


def radius_units(radius: float, extent: float, zoom: int) -> float:
    """supercluster's radius at ``zoom`` in encoded units (same float64 operations)."""
    return radius / (extent * float(1 << zoom)) * SCALE


def _cluster_level(
    level: Level,
    zoom: int,
    r: float,
    min_points: int,
    num_points: int,
    reducer: Reducer | None,
    hint: IntArray | None,
    node_size: int,
    rounding: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.int32]] = to_int32,
    reuse_unclustered: bool = True,
) -> tuple[Level | None, IntArray]:
    """Cluster ``level`` (zoom + 1) at ``zoom``.

    Returns:
        The new level (None when nothing clusters: the level is reused) and a cell-order hint
        for the next zoom's grid.
    """
    n = level.size
    pairs = neighbour_pairs(level.x, level.y, r, hint)
    if pairs.lo.size == 0 and pairs.dup.size == 0 and pairs.crowd is None:
        return None, pairs.order
    seed_mask, owner = seeds_and_owners(n, pairs, level.x, level.y)
    members = np.flatnonzero(owner < n)
    owners = owner[members]
    count = level.count
    totals = np.bincount(owners, weights=count[members], minlength=n)
    has_members = totals > 0
    totals += count
    clustered = has_members & seed_mask & (totals >= min_points)
    if not clustered.any() and (reuse_unclustered or not (owner < n).any()):
        # supercluster 9.1 reuses the level when no cluster forms, even where seeds below
        # min_points reorder their neighbours; geojson-vt 7 keeps the reordered level
        return None, pairs.order

    # records of the new level: seeds in order; unclustered seeds carry their absorbed records
    joined = clustered[owners]
    loose = members[~joined]
    keep_seed = np.flatnonzero(seed_mask)
    if loose.size:
        group = np.concatenate((keep_seed, owner[loose]))
        # supercluster emits them in its KD-tree's order (a radius query around the seed)
        walk = walk_order_rank(level, node_size)
        rank = np.concatenate((np.zeros(keep_seed.size, dtype=np.int64), walk[loose] + 1))
        del walk
        order = np.lexsort((rank, group))
        src = np.concatenate((keep_seed, loose))[order]
    else:
        src = keep_seed
    is_cluster = clustered[src]

    seeds = np.flatnonzero(clustered)
    ids = (seeds << 5) + (zoom + 1) + num_points
    # weighted centres: integer coordinate sums (exact in float64, as in supercluster)
    in_cluster = members[joined]
    by = owner[in_cluster]
    w = count[in_cluster].astype(np.float64)
    sx = np.bincount(by, weights=level.x[in_cluster] * w, minlength=n)[seeds]
    sy = np.bincount(by, weights=level.y[in_cluster] * w, minlength=n)[seeds]
    del w
    ws = count[seeds].astype(np.float64)
    cx = sx + level.x[seeds] * ws
    cy = sy + level.y[seeds] * ws
    tot = totals[seeds]
    del totals

    nx = level.x[src]
    ny = level.y[src]
    ncount = count[src]
    nident = level.ident[src]
    nprop = level.prop[src] if level.prop is not None else None
    where = np.flatnonzero(is_cluster)
    nx[where] = rounding(cx / tot)
    ny[where] = rounding(cy / tot)
    ncount[where] = tot.astype(np.int32)
    nident[where] = ids

    parent = np.full(n, -1, dtype=nident.dtype)
    parent[seeds] = ids
    parent[in_cluster] = parent[by]
    level.parent = parent

    if reducer is not None and nprop is not None:
        nprop[where] = _reduce(
            level, reducer, seeds, in_cluster, by, walk_order_rank(level, node_size)
        )
    new_position = np.full(n, -1, dtype=np.int64)
    new_position[src] = np.arange(src.size, dtype=np.int64)
    next_hint = new_position[pairs.order]
    next_hint = next_hint[next_hint >= 0]
    return Level(x=nx, y=ny, count=ncount, ident=nident, prop=nprop), next_hint


def kd_coordinates(level: Level) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """The coordinates the level's KD-tree is sorted by: supercluster 9's int32 grid.

    (The seam for engines that keep other coordinates in their tree, such as float32.)
    """
    return level.x, level.y


def _walk_of(level: Level, node_size: int) -> npt.NDArray[np.int32]:
    """The level's records (level order) in KD walk order, computed once."""
    walk = level.cache.get("walk")
    if walk is None:
        xs, ys = kd_coordinates(level)
        (walk,) = walk_orders([xs], [ys], node_size)
        level.cache["walk"] = walk
    result: npt.NDArray[np.int32] = walk
    return result


def walk_order_rank(level: Level, node_size: int) -> npt.NDArray[np.int32]:
    """Each record's position in the level's KD walk (supercluster's neighbour order)."""
    assert not level.walked
    walk = _walk_of(level, node_size)
    rank = np.empty(walk.size, dtype=np.int32)
    rank[walk] = np.arange(walk.size, dtype=np.int32)
    return rank


def walk_level(level: Level, node_size: int) -> None:
    """Put the level's columns in KD walk order (once; levels are shared between zooms)."""
    if level.walked:
        return
    walk = _walk_of(level, node_size)
    level.x = level.x[walk]
    level.y = level.y[walk]
    level.count = level.count[walk]
    level.ident = level.ident[walk]
    if level.prop is not None:
        level.prop = level.prop[walk]
    if level.parent is not None:
        level.parent = level.parent[walk]
    level.walked = True
    level.cache.clear()
    if level.parent is not None:
        # children look-ups: the positions of each cluster's members, ascending (walk order)
        joined = np.flatnonzero(level.parent >= 0)
        by = np.argsort(level.parent[joined], kind="stable")
        level.cache["children"] = (level.parent[joined[by]], joined[by])


_BATCH = 1 << 22  # records per layout batch (bounds the scratch memory)


def walk_levels(levels: dict[int, Level], node_size: int) -> None:
    """:func:`walk_level` for every level of a pyramid, their layouts computed in batches."""
    pending: list[Level] = []
    seen: set[int] = set()
    for level in levels.values():
        if id(level) not in seen and not level.walked and "walk" not in level.cache:
            seen.add(id(level))
            pending.append(level)
    batch: list[Level] = []
    size = 0
    for item in [*pending, None]:
        if item is not None:
            batch.append(item)
            size += item.size
        if batch and (item is None or size >= _BATCH):
            coords = [kd_coordinates(lv) for lv in batch]
            walks = walk_orders([c[0] for c in coords], [c[1] for c in coords], node_size)
            for lv, walk in zip(batch, walks, strict=True):
                lv.cache["walk"] = walk
            batch = []
            size = 0
    for level in levels.values():
        walk_level(level, node_size)


def _reduce(
    level: Level,
    reducer: Reducer,
    seeds: IntArray,
    in_cluster: IntArray,
    by: IntArray,
    walk: npt.NDArray[np.int32],
) -> npt.NDArray[np.int32]:
    """Run ``map``/``reduce`` for each new cluster, members in supercluster's order."""
    order = np.lexsort((walk[in_cluster], by))
    members = in_cluster[order].tolist()
    bounds = [*np.searchsorted(by[order], seeds).tolist(), len(members)]
    first = len(reducer.cluster_props)
    for j, seed in enumerate(seeds.tolist()):
        acc = reducer.start(level, seed)
        for k in members[bounds[j] : bounds[j + 1]]:
            reducer.reduce(acc, reducer.member(level, k))
        reducer.cluster_props.append(acc)
    return np.arange(first, first + seeds.size, dtype=np.int32)


def build_pyramid(
    x: npt.NDArray[np.int32],
    y: npt.NDArray[np.int32],
    *,
    min_zoom: int,
    max_zoom: int,
    min_points: int,
    radius: float,
    extent: float,
    reducer: Reducer | None,
    node_size: int,
    rounding: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.int32]] = to_int32,
    reuse_unclustered: bool = True,
) -> dict[int, Level]:
    """Cluster every zoom from ``max_zoom`` down to ``min_zoom``.

    ``rounding`` stores a cluster's weighted centre on the integer grid: truncation
    (supercluster's Int32Array) or ``Math.round`` (@maplibre/geojson-vt 7).

    Returns:
        Levels by zoom, ``min_zoom`` .. ``max_zoom + 1`` (the last holds the input points);
        a zoom where nothing clustered shares the level object of the zoom above.
    """
    n = x.size
    # cluster ids reach (n << 5) + n + 32: int32 columns while they fit
    ident: IdArray = (
        np.arange(n, dtype=np.int32) if (n << 5) + n + 64 < 2**31 else np.arange(n, dtype=np.int64)
    )
    top = Level(
        x=x,
        y=y,
        count=np.ones(n, dtype=np.int32),
        ident=ident,
        prop=np.full(n, -1, dtype=np.int32) if reducer is not None else None,
    )
    levels = {max_zoom + 1: top}
    current = top
    hint: IntArray | None = None
    for zoom in range(max_zoom, min_zoom - 1, -1):
        r = radius_units(radius, extent, zoom)
        if current.size:
            nxt, hint = _cluster_level(
                current,
                zoom,
                r,
                min_points,
                n,
                reducer,
                hint,
                node_size,
                rounding,
                reuse_unclustered,
            )
            if nxt is not None:
                current = nxt
        levels[zoom] = current
    return levels
