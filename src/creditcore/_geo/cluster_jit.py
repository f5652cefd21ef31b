"""Compiled (numba) kernels for the KDBush layout and its range walk.

The same algorithm as :mod:`.cluster_kdbush`'s numpy lockstep, written the way KDBush itself
runs it (one select at a time, in order), compiled by numba: about ten times faster than the
numpy version, and exactly the same layout (the suite compares the two). Importing this module
imports numba; :mod:`.cluster_kdbush` falls back to numpy when numba is not installed
(``pip install 'creditcore[fast]'`` brings it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["kd_range", "kd_walk"]

F = TypeVar("F", bound=Callable[..., Any])


def _jit(fn: F) -> F:
    """Compile with numba (cached on disk next to this module, so once per machine)."""
    compiled: Any = numba.njit(cache=True, nogil=True)(fn)
    return cast(F, compiled)


@_jit
def _swap(ids: Any, xy: Any, i: int, j: int) -> None:  # pragma: no cover - compiled
    a = ids[i]
    ids[i] = ids[j]
    ids[j] = a
    b = xy[i, 0]
    xy[i, 0] = xy[j, 0]
    xy[j, 0] = b
    c = xy[i, 1]
    xy[i, 1] = xy[j, 1]
    xy[j, 1] = c


@_jit
def _select(
    ids: Any, xy: Any, axis: int, k: int, left: int, right: int, base: int
) -> None:  # pragma: no cover - compiled
    """KDBush's ``select`` (Floyd-Rivest with Hoare swaps); ``base``: the level's offset."""
    while right > left:
        if right - left > 600:
            n = right - left + 1
            m = k - left + 1
            z = math.log(n)
            s = 0.5 * math.exp(2 * z / 3)
            sd = 0.5 * math.sqrt(z * s * (n - s) / n) * (-1.0 if m - n / 2 < 0 else 1.0)
            kr = k - base
            new_left = max(left, math.floor(kr - m * s / n + sd) + base)
            new_right = min(right, math.floor(kr + (n - m) * s / n + sd) + base)
            _select(ids, xy, axis, k, new_left, new_right, base)
        t = xy[k, axis]
        i = left
        j = right
        _swap(ids, xy, left, k)
        if xy[right, axis] > t:
            _swap(ids, xy, left, right)
        while i < j:
            _swap(ids, xy, i, j)
            i += 1
            j -= 1
            while xy[i, axis] < t:
                i += 1
            while xy[j, axis] > t:
                j -= 1
        if xy[left, axis] == t:
            _swap(ids, xy, left, j)
        else:
            j += 1
            _swap(ids, xy, j, right)
        if j <= k:
            left = j + 1
        if k <= j:
            right = j - 1


@_jit
def _kd_walk(
    xy: Any, starts: Any, sizes: Any, node_size: int
) -> Any:  # pragma: no cover - compiled
    total = xy.shape[0]
    ids = np.arange(total).astype(np.int32)
    out = np.empty(total, dtype=np.int32)
    stack = np.empty((256, 4), dtype=np.int64)
    for level in range(starts.size):
        start = starts[level]
        n = sizes[level]
        if n == 0:
            continue
        # KDBush's sort: depth first, each node split at its middle
        stack[0, 0] = start
        stack[0, 1] = start + n - 1
        stack[0, 2] = 0
        sp = 1
        while sp > 0:
            sp -= 1
            left = stack[sp, 0]
            right = stack[sp, 1]
            axis = stack[sp, 2]
            if right - left <= node_size:
                continue
            m = (left + right) >> 1
            _select(ids, xy, axis, m, left, right, start)
            stack[sp, 0] = left
            stack[sp, 1] = m - 1
            stack[sp, 2] = 1 - axis
            stack[sp + 1, 0] = m + 1
            stack[sp + 1, 1] = right
            stack[sp + 1, 2] = 1 - axis
            sp += 2
        # the walk: middle, upper half, lower half; a leaf in slot order
        stack[0, 0] = start
        stack[0, 1] = start + n - 1
        stack[0, 3] = 0
        sp = 1
        while sp > 0:
            sp -= 1
            left = stack[sp, 0]
            right = stack[sp, 1]
            off = stack[sp, 3]
            if right - left <= node_size:
                for s in range(left, right + 1):
                    out[start + off + s - left] = ids[s] - start
                continue
            m = (left + right) >> 1
            out[start + off] = ids[m] - start
            # pushed last, popped first: the upper half comes right after the middle
            stack[sp, 0] = left
            stack[sp, 1] = m - 1
            stack[sp, 3] = off + 1 + (right - m)
            stack[sp + 1, 0] = m + 1
            stack[sp + 1, 1] = right
            stack[sp + 1, 3] = off + 1
            sp += 2
    return out


@_jit
def _kd_range(
    x: Any, y: Any, node_size: int, lo_x: int, lo_y: int, hi_x: int, hi_y: int
) -> Any:  # pragma: no cover - compiled
    n = x.size
    found = np.empty(n, dtype=np.int64)
    count = 0
    if n == 0:
        return found[:0]
    stack = np.empty((256, 4), dtype=np.int64)
    stack[0, 0] = 0
    stack[0, 1] = n - 1
    stack[0, 2] = 0
    stack[0, 3] = 0
    sp = 1
    while sp > 0:
        sp -= 1
        left = stack[sp, 0]
        right = stack[sp, 1]
        axis = stack[sp, 2]
        off = stack[sp, 3]
        if right - left <= node_size:
            for p in range(off, off + right - left + 1):
                if lo_x <= x[p] <= hi_x and lo_y <= y[p] <= hi_y:
                    found[count] = p
                    count += 1
            continue
        m = (left + right) >> 1
        vx = x[off]
        vy = y[off]
        if lo_x <= vx <= hi_x and lo_y <= vy <= hi_y:
            found[count] = off
            count += 1
        v = vx if axis == 0 else vy
        if (lo_x if axis == 0 else lo_y) <= v:
            stack[sp, 0] = left
            stack[sp, 1] = m - 1
            stack[sp, 2] = 1 - axis
            stack[sp, 3] = off + 1 + (right - m)
            sp += 1
        if (hi_x if axis == 0 else hi_y) >= v:
            stack[sp, 0] = m + 1
            stack[sp, 1] = right
            stack[sp, 2] = 1 - axis
            stack[sp, 3] = off + 1
            sp += 1
    return found[:count].copy()


def kd_walk(
    xy: npt.NDArray[Any], starts: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64], ns: int
) -> npt.NDArray[np.int32]:
    """Walk orders of the levels laid end to end in ``xy`` (level-relative record numbers).

    ``xy`` is sorted in place (it is a scratch copy).
    """
    out: npt.NDArray[np.int32] = _kd_walk(xy, starts, sizes, ns)
    return out


def kd_range(
    x: npt.NDArray[Any],
    y: npt.NDArray[Any],
    ns: int,
    box: tuple[int, int, int, int],
) -> npt.NDArray[np.int64]:
    """Walk positions inside ``box`` (inclusive integer bounds), in walk order."""
    lo_x, lo_y, hi_x, hi_y = box
    out: npt.NDArray[np.int64] = _kd_range(x, y, ns, lo_x, lo_y, hi_x, hi_y)
    return out
