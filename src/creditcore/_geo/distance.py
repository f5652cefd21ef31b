"""Distances on the Earth and the search box around a radius.

Two models: haversine on a sphere of radius 6,371,008.8 m (the IUGG mean radius; fast, off by
up to about 0.56% against the ellipsoid) and geodesics on the WGS84 ellipsoid through
``pyproj.Geod`` (what PostGIS's geography type measures). The search box turns a radius into
longitude/latitude boxes that contain every point within it, so an index can prefilter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, overload

import numpy as np
import numpy.typing as npt
from pyproj import Geod

from creditcore._exceptions import InvalidInput
from creditcore._geo.coordinates import check_columns, check_lat, check_lng

__all__ = [
    "EARTH_RADIUS_M",
    "GEODESIC_SLACK",
    "Box",
    "Method",
    "check_method",
    "geodesic_m",
    "geodesic_unchecked",
    "haversine_m",
    "search_boxes",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius in metres (IUGG R1), the sphere of the haversine model."""

GEODESIC_SLACK = 1.006
"""How much longer a WGS84 geodesic can be than the haversine distance, plus a margin.

The ellipsoid's radius of curvature ranges from b²/a = 6,335,439 m (meridian at the equator)
to a²/b = 6,399,594 m (at the poles), i.e. -0.56% .. +0.45% around the mean radius, so a
point within ``r`` geodesic metres lies within ``r / 0.9944 < 1.006 r`` haversine metres.
"""

Method = Literal["haversine", "geodesic"]
Box = tuple[float, float, float, float]
FloatArray = npt.NDArray[np.float64]
Coord = float | FloatArray

_WGS84 = Geod(ellps="WGS84")
_DEG = math.pi / 180.0


def check_method(method: object) -> Method:
    """Refuse a distance model other than ``"haversine"`` or ``"geodesic"``."""
    if method == "haversine":
        return "haversine"
    if method == "geodesic":
        return "geodesic"
    raise InvalidInput(
        f"method must be 'haversine' or 'geodesic', got {method!r}", field="method", value=method
    )


def _haversine_floats(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    phi1 = lat1 * _DEG
    phi2 = lat2 * _DEG
    s_lat = math.sin((phi2 - phi1) * 0.5)
    d = lng2 - lng1
    d = d - 360.0 if d > 180.0 else d + 360.0 if d < -180.0 else d  # exact (Sterbenz)
    s_lng = math.sin(d * (_DEG * 0.5))
    # at a pole every longitude is the same place: cos is 0 there, not cos(pi/2)'s 6e-17
    c1 = 0.0 if abs(lat1) == 90.0 else math.cos(phi1)
    c2 = 0.0 if abs(lat2) == 90.0 else math.cos(phi2)
    a = s_lat * s_lat + c1 * c2 * s_lng * s_lng
    return (2.0 * EARTH_RADIUS_M) * math.asin(math.sqrt(min(a, 1.0)))


def _entry_namer(which: int) -> Callable[[int], str]:
    def name(at: int) -> str:
        return f"point {which}, entry {at}"

    return name


def _checked(lng1: Coord, lat1: Coord, lng2: Coord, lat2: Coord) -> None:
    """Refuse NaN, infinite or out-of-range coordinates (floats or arrays), naming them."""
    if not any(isinstance(v, np.ndarray) for v in (lng1, lat1, lng2, lat2)):
        check_lng(lng1, "lng1")
        check_lat(lat1, "lat1")
        check_lng(lng2, "lng2")
        check_lat(lat2, "lat2")
        return
    for which, (lng, lat) in enumerate(((lng1, lat1), (lng2, lat2)), start=1):
        try:
            lngs, lats = np.broadcast_arrays(
                np.asarray(lng, dtype=np.float64), np.asarray(lat, dtype=np.float64)
            )
        except (TypeError, ValueError) as err:
            raise InvalidInput(
                f"point {which}: coordinates must be numbers or numpy arrays: {err}",
                field=f"point{which}",
            ) from None
        check_columns(lngs.ravel(), lats.ravel(), _entry_namer(which))


@overload
def haversine_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float: ...
@overload
def haversine_m(lng1: Coord, lat1: Coord, lng2: FloatArray, lat2: FloatArray) -> FloatArray: ...
@overload
def haversine_m(lng1: FloatArray, lat1: FloatArray, lng2: Coord, lat2: Coord) -> FloatArray: ...
def haversine_m(lng1: Coord, lat1: Coord, lng2: Coord, lat2: Coord) -> float | FloatArray:
    """Great-circle distance in metres on the sphere of radius :data:`EARTH_RADIUS_M`.

    Works on floats or numpy arrays (broadcast); degrees in, metres out.

    Raises:
        InvalidCoordinates: A coordinate that is NaN, infinite or out of range.
        InvalidInput: A coordinate that is not a number.
    """
    if (
        type(lng1) is float
        and type(lat1) is float
        and type(lng2) is float
        and type(lat2) is float
        and -180.0 <= lng1 <= 180.0
        and -180.0 <= lng2 <= 180.0
        and -90.0 <= lat1 <= 90.0
        and -90.0 <= lat2 <= 90.0
    ):
        return _haversine_floats(lng1, lat1, lng2, lat2)
    _checked(lng1, lat1, lng2, lat2)
    if not any(isinstance(v, np.ndarray) for v in (lng1, lat1, lng2, lat2)):
        return _haversine_floats(float(lng1), float(lat1), float(lng2), float(lat2))
    phi1 = np.multiply(lat1, _DEG)
    phi2 = np.multiply(lat2, _DEG)
    s_lat = np.sin((phi2 - phi1) * 0.5)
    d = np.subtract(lng2, lng1)
    d = np.where(d > 180.0, d - 360.0, np.where(d < -180.0, d + 360.0, d))
    s_lng = np.sin(np.multiply(d, _DEG * 0.5))
    c1 = np.where(np.abs(lat1) == 90.0, 0.0, np.cos(phi1))
    c2 = np.where(np.abs(lat2) == 90.0, 0.0, np.cos(phi2))
    a = s_lat * s_lat + c1 * c2 * s_lng * s_lng
    result = (2.0 * EARTH_RADIUS_M) * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    if isinstance(result, np.ndarray) and result.ndim:
        return result.astype(np.float64, copy=False)
    return float(result)


@overload
def geodesic_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float: ...
@overload
def geodesic_m(lng1: Coord, lat1: Coord, lng2: FloatArray, lat2: FloatArray) -> FloatArray: ...
@overload
def geodesic_m(lng1: FloatArray, lat1: FloatArray, lng2: Coord, lat2: Coord) -> FloatArray: ...
def geodesic_m(lng1: Coord, lat1: Coord, lng2: Coord, lat2: Coord) -> float | FloatArray:
    """Geodesic distance in metres on the WGS84 ellipsoid (``pyproj.Geod.inv``).

    Works on floats or numpy arrays (broadcast); degrees in, metres out.

    Raises:
        InvalidCoordinates: A coordinate that is NaN, infinite or out of range.
        InvalidInput: A coordinate that is not a number.
    """
    _checked(lng1, lat1, lng2, lat2)
    return _geodesic(lng1, lat1, lng2, lat2)


@overload
def geodesic_unchecked(lng1: float, lat1: float, lng2: float, lat2: float) -> float: ...
@overload
def geodesic_unchecked(
    lng1: Coord, lat1: Coord, lng2: FloatArray, lat2: FloatArray
) -> FloatArray: ...
@overload
def geodesic_unchecked(
    lng1: FloatArray, lat1: FloatArray, lng2: Coord, lat2: Coord
) -> FloatArray: ...
def geodesic_unchecked(lng1: Coord, lat1: Coord, lng2: Coord, lat2: Coord) -> float | FloatArray:
    """:func:`geodesic_m` for coordinates already checked (the index's candidates)."""
    return _geodesic(lng1, lat1, lng2, lat2)


def _geodesic(lng1: Coord, lat1: Coord, lng2: Coord, lat2: Coord) -> float | FloatArray:
    columns = np.broadcast_arrays(
        np.asarray(lng1, dtype=np.float64),
        np.asarray(lat1, dtype=np.float64),
        np.asarray(lng2, dtype=np.float64),
        np.asarray(lat2, dtype=np.float64),
    )
    if columns[0].ndim == 0:
        return float(_WGS84.inv(float(lng1), float(lat1), float(lng2), float(lat2))[2])
    lon_a, lat_a, lon_b, lat_b = (np.ascontiguousarray(c) for c in columns)
    _, _, dist = _WGS84.inv(lon_a, lat_a, lon_b, lat_b)
    return np.asarray(dist, dtype=np.float64)


def search_boxes(
    lng: float, lat: float, radius_m: float, method: Method = "haversine"
) -> list[Box]:
    """Longitude/latitude boxes that together contain every point within ``radius_m``.

    The cap of angular radius ``δ = r / R`` spans latitudes ``lat ± δ``; when that reaches a
    pole the cap contains the pole and every longitude is in range. Otherwise its half-width
    in longitude is ``asin(sin δ / cos lat)`` (exact on the sphere), and a range that runs past
    ±180° is split in two boxes at the antimeridian. Geodesic searches widen the radius by
    :data:`GEODESIC_SLACK`. Returns one or two ``(min_lng, min_lat, max_lng, max_lat)`` boxes.
    """
    r = radius_m * (GEODESIC_SLACK if method == "geodesic" else 1.0)
    delta = r / EARTH_RADIUS_M
    delta_deg = delta / _DEG * (1.0 + 1e-12) + 1e-9
    min_lat = lat - delta_deg
    max_lat = lat + delta_deg
    if delta >= math.pi or max_lat >= 90.0 or min_lat <= -90.0:
        return [(-180.0, max(min_lat, -90.0), 180.0, min(max_lat, 90.0))]
    ratio = math.sin(delta) / math.cos(lat * _DEG)
    if delta >= math.pi / 2 or ratio >= 1.0:
        return [(-180.0, min_lat, 180.0, max_lat)]
    half = math.asin(ratio) / _DEG * (1.0 + 1e-12) + 1e-9
    lo = lng - half
    hi = lng + half
    if hi - lo >= 360.0:
        return [(-180.0, min_lat, 180.0, max_lat)]
    if lo < -180.0:
        return [(lo + 360.0, min_lat, 180.0, max_lat), (-180.0, min_lat, hi, max_lat)]
    if hi > 180.0:
        return [(lo, min_lat, 180.0, max_lat), (-180.0, min_lat, hi - 360.0, max_lat)]
    return [(lo, min_lat, hi, max_lat)]
