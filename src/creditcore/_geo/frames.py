"""GeoPandas in and out of a gig index (optional: ``creditcore[analysis]``).

GeoPandas (and pandas) are imported when a frame is converted, never when creditcore loads.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from creditcore._exceptions import InvalidFeature
from creditcore._geo.store import GigColumns

__all__ = ["frame_columns", "to_frame"]


def _geopandas() -> Any:
    try:
        return importlib.import_module("geopandas")
    except ImportError:  # pragma: no cover - the analysis extra is installed in the suite
        raise InvalidFeature(
            "GeoDataFrame support needs geopandas: pip install 'creditcore[analysis]'",
            field="geopandas",
        ) from None


def frame_columns(
    frame: Any, id_column: str | None
) -> tuple[Any, Any, Any, list[dict[str, Any]] | None]:
    """Ids, longitudes, latitudes and properties of a GeoDataFrame of points (WGS84)."""
    gpd = _geopandas()
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidFeature(f"expected a GeoDataFrame, got {type(frame).__name__}", field="frame")
    if id_column is not None and id_column not in frame.columns:
        raise InvalidFeature(
            f"id_column {id_column!r} is not a column of the frame", field="id_column"
        )
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geometry = frame.geometry
    kinds = geometry.geom_type
    if len(frame) and not (kinds == "Point").all():
        at = int(np.flatnonzero((kinds != "Point").to_numpy())[0])
        raise InvalidFeature(
            f"row {at}: geometry must be a Point, got {kinds.iloc[at]!r}",
            index=at,
            field="geometry",
        )
    lngs = geometry.x.to_numpy(dtype=np.float64)
    lats = geometry.y.to_numpy(dtype=np.float64)
    if id_column is None:
        ids: Any = frame.index.to_numpy()
    else:
        ids = frame[id_column].to_numpy()
    ids = ids if ids.dtype.kind in "iu" else ids.tolist()
    rest = [c for c in frame.columns if c != frame.geometry.name and c != id_column]
    props = frame[rest].to_dict("records") if rest else None
    return ids, lngs, lats, props


def to_frame(columns: GigColumns) -> Any:
    """A GeoDataFrame of the columns: ``id``, each property, ``geometry`` (EPSG:4326)."""
    gpd = _geopandas()
    data: dict[str, Any] = {"id": columns.ids}
    if columns.properties is not None:
        names: dict[str, None] = {}
        for props in columns.properties:
            if props:
                names.update(dict.fromkeys(props))
        for name in names:
            if name in ("id", "geometry"):
                continue
            data[name] = [None if p is None else p.get(name) for p in columns.properties]
    return gpd.GeoDataFrame(
        data, geometry=gpd.points_from_xy(columns.lngs, columns.lats), crs="EPSG:4326"
    )
