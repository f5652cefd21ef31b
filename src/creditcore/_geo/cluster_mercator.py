"""supercluster's projection and coordinate encoding, reproduced operation for operation.

Longitude and latitude map to spherical mercator in [0, 1] (latitude clipped at the mercator
limit, about ±85.0511°); supercluster 9 then stores ``(v - 0.5) * 2**30`` in an Int32Array,
which truncates toward zero. Clusters are placed at the truncated weighted mean of their
children's integer coordinates, and features come back through the inverse projection. Each
step here uses the same float64 operations in the same order, so the integers agree.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "SCALE",
    "decode",
    "encode_scalar",
    "js_round",
    "lat_y",
    "lat_y_scalar",
    "lng_x",
    "lng_x_scalar",
    "to_int32",
    "x_lng",
    "y_lat",
]

FloatArray = npt.NDArray[np.float64]

SCALE = float(1 << 30)
INV_SCALE = 1.0 / SCALE


def lng_x(lng: FloatArray) -> FloatArray:
    """Longitude to mercator x in [0, 1]."""
    out: FloatArray = lng / 360.0 + 0.5
    return out


def lat_y(lat: FloatArray) -> FloatArray:
    """Latitude to mercator y in [0, 1] (0 at the north limit), clipped like supercluster."""
    sin = np.sin(lat * np.pi / 180.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = 0.5 - 0.25 * np.log((1.0 + sin) / (1.0 - sin)) / np.pi
    out: FloatArray = np.clip(np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    return out


def lng_x_scalar(lng: float) -> float:
    """Scalar :func:`lng_x`."""
    return lng / 360.0 + 0.5


def lat_y_scalar(lat: float) -> float:
    """Scalar :func:`lat_y`."""
    sin = math.sin(lat * math.pi / 180.0)
    if sin >= 1.0:
        return 0.0
    if sin <= -1.0:
        return 1.0
    y = 0.5 - 0.25 * math.log((1.0 + sin) / (1.0 - sin)) / math.pi
    return 0.0 if y < 0.0 else 1.0 if y > 1.0 else y


def encode_scalar(v: float) -> float:
    """A mercator coordinate in supercluster's integer scale, not truncated (query bounds)."""
    return (v - 0.5) * SCALE


def to_int32(v: FloatArray) -> npt.NDArray[np.int32]:
    """Store like an Int32Array does for in-range values: truncate toward zero."""
    return np.trunc(v).astype(np.int32)


def decode(v: npt.NDArray[np.int32] | npt.NDArray[np.int64]) -> FloatArray:
    """Integer scale back to mercator [0, 1]."""
    out: FloatArray = v.astype(np.float64) * INV_SCALE + 0.5
    return out


def x_lng(x: FloatArray) -> FloatArray:
    """Mercator x to longitude."""
    out: FloatArray = (x - 0.5) * 360.0
    return out


def y_lat(y: FloatArray) -> FloatArray:
    """Mercator y to latitude."""
    y2 = (180.0 - y * 360.0) * np.pi / 180.0
    out: FloatArray = 360.0 * np.arctan(np.exp(y2)) / np.pi - 90.0
    return out


def js_round(v: FloatArray) -> npt.NDArray[np.int64]:
    """JavaScript's ``Math.round``: halves go toward +infinity."""
    f = np.floor(v)
    return (f + (v - f >= 0.5)).astype(np.int64)
