"""The one coordinate check of creditcore.geo: the index, the clusterer, features and distances.

A longitude is a finite number in [-180, 180], a latitude a finite number in [-90, 90]. NaN,
±infinity and values out of range raise :class:`~creditcore.InvalidCoordinates`, naming the
value; something that is not a number at all (a string, a bool, None) raises the error class
the caller names (:class:`~creditcore.InvalidInput` for query arguments,
:class:`~creditcore.InvalidFeature` for records and features). Integer gig ids are limited to
JSON's exact integers (``|id| <= 2**53 - 1``, JavaScript's ``Number.MAX_SAFE_INTEGER``): a
larger id would come back as another number from any JSON client.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt
import shapely
import shapely.errors
import shapely.geometry

from creditcore._exceptions import InvalidCoordinates, InvalidFeature, InvalidGeometry, InvalidInput

__all__ = [
    "MAX_GIG_ID",
    "Box",
    "check_area",
    "check_bbox",
    "check_columns",
    "check_gig_id",
    "check_lat",
    "check_limit",
    "check_lng",
    "check_point",
    "check_radius",
    "first_bad_point",
    "number",
]

Box = tuple[float, float, float, float]

MAX_GIG_ID = 2**53 - 1
"""The largest integer gig id (in absolute value): JSON readers keep ints up to it exactly."""

FloatArray = npt.NDArray[np.float64]

_NUMBER_TYPES = frozenset({float, int, np.float64, np.float32, np.int64, np.int32})


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def number(
    value: object, name: str, where: str = "", error: type[InvalidInput] = InvalidInput
) -> float:
    """``value`` as a float when it is a real number (not a bool); else raise ``error``."""
    if type(value) is float:
        return value
    if type(value) not in _NUMBER_TYPES and (
        isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer)
    ):
        raise error(
            f"{_prefix(where)}{name} must be a number, got {type(value).__name__} {value!r}",
            field=name,
            value=value,
        )
    return float(value)  # type: ignore[arg-type]


def _refuse(name: str, value: float, bound: float, where: str) -> InvalidCoordinates:
    if math.isnan(value) or math.isinf(value):
        what = f"{name} {value} is not a finite number (NaN or infinity)"
    else:
        what = f"{name} {value} is outside [{-bound:g}, {bound:g}]"
    return InvalidCoordinates(f"{_prefix(where)}{what}", field=name, value=value)


def check_lng(
    value: object,
    name: str = "longitude",
    where: str = "",
    error: type[InvalidInput] = InvalidInput,
) -> float:
    """A longitude as a float, or raise (``InvalidCoordinates``: NaN, ±inf, outside ±180)."""
    x = number(value, name, where, error)
    if -180.0 <= x <= 180.0:
        return x
    raise _refuse(name, x, 180.0, where)


def check_lat(
    value: object, name: str = "latitude", where: str = "", error: type[InvalidInput] = InvalidInput
) -> float:
    """A latitude as a float, or raise (``InvalidCoordinates``: NaN, ±inf, outside ±90)."""
    y = number(value, name, where, error)
    if -90.0 <= y <= 90.0:
        return y
    raise _refuse(name, y, 90.0, where)


def check_point(
    lng: object, lat: object, where: str = "", error: type[InvalidInput] = InvalidFeature
) -> tuple[float, float]:
    """Validate one point and return it as floats (both coordinates' types first).

    Raises:
        InvalidFeature: (or ``error``) A coordinate that is not a real number.
        InvalidCoordinates: NaN, ±infinity, a longitude outside [-180, 180] or a latitude
            outside [-90, 90].
    """
    number(lng, "longitude", where, error)
    number(lat, "latitude", where, error)
    return check_lng(lng, "longitude", where, error), check_lat(lat, "latitude", where, error)


def first_bad_point(lngs: FloatArray, lats: FloatArray) -> int | None:
    """The position of the first point out of range, NaN or infinite, or None (vectorised)."""
    good = (lngs >= -180.0) & (lngs <= 180.0) & (lats >= -90.0) & (lats <= 90.0)
    if good.all():
        return None
    return int(np.flatnonzero(~good)[0])


def check_columns(lngs: FloatArray, lats: FloatArray, name: Callable[[int], str]) -> None:
    """Refuse the first bad point of two coordinate columns, naming it by ``name(position)``.

    Raises:
        InvalidCoordinates: A NaN, infinite or out-of-range coordinate.
    """
    at = first_bad_point(lngs, lats)
    if at is None:
        return
    where = name(at)
    try:
        check_lng(float(lngs[at]), "longitude", where)
        check_lat(float(lats[at]), "latitude", where)
    except InvalidCoordinates as err:
        raise InvalidCoordinates(err.message, index=at, **err.context) from None
    raise AssertionError("unreachable")  # pragma: no cover


def check_gig_id(ident: object, where: str) -> None:
    """Refuse an id that is not a ``str`` or an ``int`` (bools too), or an int beyond JSON's.

    Raises:
        InvalidFeature: A bool, None, a float or another type, or ``|id| > 2**53 - 1``.
    """
    if type(ident) is str:
        return
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        raise InvalidFeature(
            f"{where}: the id must be a str or an int, got {type(ident).__name__} {ident!r}",
            field="id",
            value=ident,
        )
    if isinstance(ident, int) and not -MAX_GIG_ID <= ident <= MAX_GIG_ID:
        raise InvalidFeature(
            f"{where}: the int id {ident} is beyond 2**53 - 1 and would not survive JSON; "
            "use a str id",
            field="id",
            value=ident,
        )


def check_area(polygon: object) -> shapely.Geometry:
    """A query area as a shapely Polygon or MultiPolygon (a GeoJSON geometry dict is read).

    Raises:
        InvalidGeometry: Not a geometry, a geometry that is not a (Multi)Polygon (a LineString,
            a Point, a collection), a malformed GeoJSON dict, or an invalid polygon (a bow-tie,
            a self-intersecting ring), naming shapely's reason.
    """
    geometry: object = polygon
    if isinstance(polygon, Mapping):
        try:
            geometry = shapely.geometry.shape(polygon)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as err:
            raise InvalidGeometry(
                f"polygon: not a GeoJSON geometry ({err})",
                field="polygon",
                value=dict(polygon),
            ) from None
        except shapely.errors.ShapelyError as err:
            raise InvalidGeometry(
                f"polygon: not a GeoJSON geometry ({err})", field="polygon", value=dict(polygon)
            ) from None
    if not isinstance(geometry, shapely.Geometry):
        raise InvalidGeometry(
            f"polygon must be a shapely Polygon/MultiPolygon or a GeoJSON geometry dict, "
            f"got {type(polygon).__name__}",
            field="polygon",
            value=polygon,
        )
    if not isinstance(geometry, shapely.Polygon | shapely.MultiPolygon):
        raise InvalidGeometry(
            f"polygon must be a Polygon or MultiPolygon, got a {geometry.geom_type}",
            field="polygon",
            value=geometry.wkt[:200],
        )
    if not geometry.is_empty and not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise InvalidGeometry(
            f"polygon is not valid: {reason}", field="polygon", value=geometry.wkt[:200]
        )
    return geometry


def check_limit(limit: object) -> int | None:
    """A query's ``limit``: None or an int >= 0 (not a bool); else :class:`InvalidInput`."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInput(
            f"limit must be None or an int >= 0, got {limit!r}", field="limit", value=limit
        )
    return limit


def check_radius(radius_m: object) -> float:
    """A search radius in metres: a finite number >= 0; else :class:`InvalidInput`."""
    radius = number(radius_m, "radius_m")
    if not 0.0 <= radius < math.inf:
        raise InvalidInput(
            f"radius_m must be finite and >= 0, got {radius}", field="radius_m", value=radius
        )
    return radius


def check_bbox(min_lng: object, min_lat: object, max_lng: object, max_lat: object) -> list[Box]:
    """A query box as one or two boxes that do not cross the antimeridian.

    ``min_lng > max_lng`` crosses it: the box holds ``min_lng..180`` and ``-180..max_lng``.

    Raises:
        InvalidCoordinates: An edge out of range, NaN or infinite.
        InvalidInput: A non-number edge, or ``min_lat > max_lat``.
    """
    west = check_lng(min_lng, "min_lng")
    south = check_lat(min_lat, "min_lat")
    east = check_lng(max_lng, "max_lng")
    north = check_lat(max_lat, "max_lat")
    if south > north:
        raise InvalidInput(
            f"min_lat {south} is north of max_lat {north}",
            field="min_lat",
            value=south,
            max_lat=north,
        )
    if west > east:
        return [(west, south, 180.0, north), (-180.0, south, east, north)]
    return [(west, south, east, north)]
