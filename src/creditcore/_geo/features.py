"""Parsing and validation of gig records and GeoJSON point features, all or nothing.

Both entry points read a whole batch first and return columns; they raise on the first bad
entry, naming it (its position and its id), so a caller can insert nothing of a bad batch.
The fast path uses a few C-level passes (comprehensions and numpy); only when a batch fails
does a slow per-entry pass run to find and name the culprit.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from creditcore._exceptions import DuplicateId, InvalidCoordinates, InvalidFeature
from creditcore._geo.coordinates import (
    MAX_GIG_ID,
    check_gig_id,
    check_point,
    first_bad_point,
)

__all__ = [
    "GigId",
    "collection_features",
    "describe",
    "parse_point_features",
    "parse_records",
    "read_columns",
    "refuse_duplicates",
]

GigId = str | int
"""A gig id: a string or an integer (not a bool), like a GeoJSON feature ``id``."""

FloatArray = npt.NDArray[np.float64]
Columns = tuple[list[Any], FloatArray, FloatArray, list[dict[str, Any] | None]]

_NUMBER_TYPES = frozenset({int, float, np.float64, np.float32, np.int64, np.int32})
_TYPE = itemgetter("type")
_GEOMETRY = itemgetter("geometry")
_COORDINATES = itemgetter("coordinates")
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_THIRD = itemgetter(2)


def describe(kind: str, index: int, ident: object) -> str:
    """Name an entry for an error message: ``feature 3 (id 'g3')`` or ``record 0 (no id)``."""
    label = "no id" if ident is None else f"id {ident!r}"
    return f"{kind} {index} ({label})"


def refuse_duplicates(ids: list[Any], taken: Container[Any], kind: str) -> None:
    """Raise :class:`DuplicateId` for the first id of ``ids`` seen before or in ``taken``."""
    seen: set[Any] = set()
    for position, ident in enumerate(ids):
        if ident in seen or ident in taken:
            where = describe(kind, position, ident)
            raise DuplicateId(
                f"{where}: gig id {ident!r} is already taken", index=position, id=ident
            )
        seen.add(ident)


def _ints_fit(ids: list[Any], kinds: set[type]) -> bool:
    """Whether every int id of a batch is within JSON's exact integers (C-level min/max)."""
    if int not in kinds:
        return True
    ints = ids if kinds == {int} else [i for i in ids if type(i) is int]
    return min(ints) >= -MAX_GIG_ID and max(ints) <= MAX_GIG_ID


def _check_properties(props: object, where: str) -> dict[str, Any] | None:
    if props is None or type(props) is dict:
        return props
    if not isinstance(props, Mapping):
        raise InvalidFeature(
            f"{where}: properties must be a mapping or null, got {type(props).__name__}",
            field="properties",
            value=props,
        )
    return dict(props)


def _check_feature(feature: object, index: int, require_id: bool) -> None:
    """The slow path: validate one feature fully, raising an error that names it."""
    if not isinstance(feature, Mapping):
        raise InvalidFeature(
            f"feature {index}: expected a GeoJSON Feature object (a dict), "
            f"got {type(feature).__name__}",
            index=index,
            value=feature,
        )
    ident = feature.get("id")
    where = describe("feature", index, ident)
    if feature.get("type") != "Feature":
        raise InvalidFeature(
            f"{where}: 'type' must be 'Feature', got {feature.get('type')!r}",
            index=index,
            id=ident,
            field="type",
        )
    if ident is not None or require_id:
        if ident is None:
            raise InvalidFeature(f"{where}: a gig feature needs an 'id'", index=index, field="id")
        check_gig_id(ident, where)
    geometry = feature.get("geometry")
    if not isinstance(geometry, Mapping):
        raise InvalidFeature(
            f"{where}: geometry is missing or not an object (got {geometry!r})",
            index=index,
            id=ident,
            field="geometry",
        )
    if geometry.get("type") != "Point":
        raise InvalidFeature(
            f"{where}: geometry type must be 'Point', got {geometry.get('type')!r}",
            index=index,
            id=ident,
            field="geometry.type",
        )
    coords = geometry.get("coordinates")
    if not isinstance(coords, list | tuple) or len(coords) not in (2, 3):
        raise InvalidFeature(
            f"{where}: Point coordinates must be [longitude, latitude], got {coords!r}",
            index=index,
            id=ident,
            field="geometry.coordinates",
        )
    try:
        check_point(coords[0], coords[1], where)
    except (InvalidFeature, InvalidCoordinates) as err:
        raise type(err)(err.message, index=index, id=ident, **err.context) from None
    _check_properties(feature.get("properties"), where)


def collection_features(collection: object) -> list[Any]:
    """Return the ``features`` list of a GeoJSON FeatureCollection, checking its shape."""
    if not isinstance(collection, Mapping) or collection.get("type") != "FeatureCollection":
        raise InvalidFeature(
            "expected a GeoJSON FeatureCollection (a dict with type 'FeatureCollection')",
            field="type",
        )
    features = collection.get("features")
    if not isinstance(features, list):
        raise InvalidFeature("the FeatureCollection's 'features' must be a list", field="features")
    return features


def _listed(items: object, field: str) -> list[Any]:
    """``items`` as a list, or :class:`InvalidFeature` when it is not iterable."""
    if not isinstance(items, Iterable):
        raise InvalidFeature(
            f"{field} must be an iterable, got {type(items).__name__} {items!r}",
            field=field,
            value=items,
        )
    return list(items)


def _fail(features: list[Any], require_id: bool) -> None:
    for index, feature in enumerate(features):
        _check_feature(feature, index, require_id)
    # The fast path refused something the slow path accepts; should not happen.
    raise InvalidFeature("malformed features (no single culprit found)")  # pragma: no cover


def parse_point_features(features: Iterable[Any], *, require_id: bool = False) -> Columns:
    """Read GeoJSON point features into columns, validating every one first.

    Args:
        features: GeoJSON ``Feature`` dicts with ``Point`` geometries (a third coordinate,
            the altitude, is allowed and ignored).
        require_id: Refuse a feature without an ``id`` (gig indexes need one).

    Returns:
        ``(ids, lngs, lats, properties)``: the ids (None where a feature has none), float64
        arrays of longitudes and latitudes, and each feature's ``properties`` as given (the
        same dict, not a copy; None where absent or null).

    Raises:
        InvalidFeature: A non-dict, a wrong ``type``, a missing or non-Point geometry, bad
            ``properties``, a non-number coordinate, or a bad id; the message names the
            feature by index and id.
        InvalidCoordinates: A longitude outside [-180, 180], a latitude outside [-90, 90] or
            NaN; the message names the feature.
    """
    feats = features if isinstance(features, list) else _listed(features, "features")
    n = len(feats)
    try:
        if set(map(type, feats)) - {dict}:
            raise TypeError
        if set(map(_TYPE, feats)) - {"Feature"}:
            raise TypeError
        geoms = list(map(_GEOMETRY, feats))
        if set(map(type, geoms)) - {dict} or set(map(_TYPE, geoms)) - {"Point"}:
            raise TypeError
        coords = list(map(_COORDINATES, geoms))
        if set(map(type, coords)) - {list, tuple} or set(map(len, coords)) - {2, 3}:
            raise TypeError
        if set(map(type, chain.from_iterable(coords))) - _NUMBER_TYPES:
            raise TypeError
        lngs = np.fromiter(map(_FIRST, coords), dtype=np.float64, count=n)
        lats = np.fromiter(map(_SECOND, coords), dtype=np.float64, count=n)
        ids = [f.get("id") for f in feats]
        id_kinds = set(map(type, ids))
        if id_kinds - {str, int, type(None)} or (require_id and type(None) in id_kinds):
            raise TypeError
        if not _ints_fit(ids, id_kinds):
            raise TypeError
        props = [f.get("properties") for f in feats]
        if set(map(type, props)) - {dict, type(None)}:
            raise TypeError
    except (TypeError, KeyError, ValueError, AttributeError):
        _fail(feats, require_id)
        raise  # pragma: no cover
    if first_bad_point(lngs, lats) is not None:
        _fail(feats, require_id)
    return ids, lngs, lats, props


def parse_records(records: Iterable[Any]) -> Columns:
    """Read ``(id, lng, lat)`` or ``(id, lng, lat, properties)`` records into columns.

    Returns:
        ``(ids, lngs, lats, properties)`` as :func:`parse_point_features` does (properties as
        given, None where a record has none).

    Raises:
        InvalidFeature: A record that is not a 3- or 4-sequence, a bad id, a non-number
            coordinate or non-mapping properties; the message names the record (index, id).
        InvalidCoordinates: An out-of-range or NaN coordinate, naming the record.
    """
    rows = records if isinstance(records, list) else _listed(records, "records")
    try:
        if set(map(type, rows)) - {tuple, list}:
            raise TypeError
        sizes = set(map(len, rows))
        if sizes - {3, 4}:
            raise TypeError
        ids = list(map(_FIRST, rows))
        xs = list(map(_SECOND, rows))
        ys = list(map(_THIRD, rows))
        id_kinds = set(map(type, ids))
        if id_kinds - {str, int} or not _ints_fit(ids, id_kinds):
            raise TypeError
        if set(map(type, xs)) - _NUMBER_TYPES or set(map(type, ys)) - _NUMBER_TYPES:
            raise TypeError
        lngs = np.array(xs, dtype=np.float64)
        lats = np.array(ys, dtype=np.float64)
        if sizes == {3}:
            props: list[dict[str, Any] | None] = [None] * len(rows)
        else:
            props = [row[3] if len(row) == 4 else None for row in rows]
            if set(map(type, props)) - {dict, type(None)}:
                raise TypeError
        if first_bad_point(lngs, lats) is not None:
            raise TypeError
    except TypeError:
        return _parse_records_one_by_one(rows)
    return ids, lngs, lats, props


def _parse_records_one_by_one(records: list[Any]) -> Columns:
    """The slow path: check each record, naming the first bad one (or convert odd mappings)."""
    ids: list[Any] = []
    lng_list: list[float] = []
    lat_list: list[float] = []
    props: list[dict[str, Any] | None] = []
    for index, record in enumerate(records):
        if isinstance(record, str | bytes | Mapping) or not isinstance(record, tuple | list):
            raise InvalidFeature(
                f"record {index}: expected a tuple (id, lng, lat[, properties]), "
                f"got {type(record).__name__}",
                index=index,
                value=record,
            )
        if len(record) not in (3, 4):
            raise InvalidFeature(
                f"record {index}: expected (id, lng, lat[, properties]), got {len(record)} items",
                index=index,
                value=record,
            )
        ident = record[0]
        where = describe("record", index, ident)
        check_gig_id(ident, where)
        try:
            x, y = check_point(record[1], record[2], where)
        except (InvalidFeature, InvalidCoordinates) as err:
            raise type(err)(err.message, index=index, id=ident, **err.context) from None
        ids.append(ident)
        lng_list.append(x)
        lat_list.append(y)
        props.append(_check_properties(record[3] if len(record) == 4 else None, where))
    return (
        ids,
        np.array(lng_list, dtype=np.float64),
        np.array(lat_list, dtype=np.float64),
        props,
    )


def read_columns(ids: object, lngs: object, lats: object, properties: object = None) -> Columns:
    """Read gig columns (``GigIndex.from_arrays``): ids, longitudes, latitudes, properties.

    Returns:
        ``(ids, lngs, lats, properties)`` as :func:`parse_records` does.

    Raises:
        InvalidFeature: Columns of different lengths or not 1-D, a bad id (not a ``str`` or
            an ``int``, or an int beyond ``±(2**53 - 1)``), non-number coordinates, or
            properties that are not mappings; naming the position.
        InvalidCoordinates: An out-of-range, NaN or infinite coordinate, naming the position.
    """
    try:
        x = np.ascontiguousarray(lngs, dtype=np.float64)
        y = np.ascontiguousarray(lats, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidFeature(
            f"longitudes and latitudes must be numbers: {err}", field="coordinates"
        ) from None
    if isinstance(ids, np.ndarray):
        if ids.dtype.kind not in "iu":
            raise InvalidFeature(
                f"an ids array must hold integers, got dtype {ids.dtype}", field="ids"
            )
        id_list: list[Any] = ids.tolist()
        int_ids = True
    else:
        id_list = _listed(ids, "ids")
        int_ids = False
    n = len(id_list)
    if x.ndim != 1 or y.ndim != 1 or x.size != n or y.size != n:
        raise InvalidFeature(
            f"ids, longitudes and latitudes must be 1-D of one length, got {n} ids and "
            f"shapes {x.shape} and {y.shape}",
            field="coordinates",
        )
    kinds: set[type] = {int} if int_ids else set(map(type, id_list))
    if isinstance(ids, np.ndarray):
        fits = not n or (int(ids.min()) >= -MAX_GIG_ID and int(ids.max()) <= MAX_GIG_ID)
    else:
        fits = _ints_fit(id_list, kinds)
    if kinds - {str, int} or not fits:
        for position, ident in enumerate(id_list):
            check_gig_id(ident, describe("entry", position, ident))
    bad = first_bad_point(x, y)
    if bad is not None:
        check_point(float(x[bad]), float(y[bad]), describe("entry", bad, id_list[bad]))
    if properties is None:
        props: list[dict[str, Any] | None] = [None] * n
    else:
        props = _listed(properties, "properties")
        if len(props) != n:
            raise InvalidFeature(
                f"properties has {len(props)} entries for {n} gigs", field="properties"
            )
        if set(map(type, props)) - {dict, type(None)}:
            props = [
                _check_properties(p, describe("entry", i, id_list[i])) for i, p in enumerate(props)
            ]
    return id_list, x, y, props
