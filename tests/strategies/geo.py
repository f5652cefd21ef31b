"""Hypothesis strategies for the map: points, boxes (antimeridian-crossing ones too), polar caps.

Shared by the index tests and the clustering tests. Points mix uniform draws with the awkward
places (±180°, the poles, exact duplicates), and ``clustered_points`` packs them around a few
centres so that queries near those centres find something.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = [
    "boxes",
    "clustered_points",
    "crossing_boxes",
    "latitudes",
    "longitudes",
    "point_features",
    "points",
    "polar_points",
    "radii",
]

_EDGE_LNGS = (-180.0, 180.0, 179.999, -179.999, 0.0)
_EDGE_LATS = (-90.0, 90.0, 89.999, -89.999, 0.0)

longitudes = st.one_of(st.floats(-180.0, 180.0, allow_nan=False), st.sampled_from(_EDGE_LNGS))
"""Longitudes in [-180, 180], with the antimeridian and the prime meridian often."""

latitudes = st.one_of(st.floats(-90.0, 90.0, allow_nan=False), st.sampled_from(_EDGE_LATS))
"""Latitudes in [-90, 90], with the poles and the equator often."""

points = st.tuples(longitudes, latitudes)
"""A ``(lng, lat)`` point anywhere."""

polar_points = st.tuples(
    longitudes,
    st.one_of(st.floats(80.0, 90.0), st.floats(-90.0, -80.0)),
)
"""A point within 10° of a pole."""


def _wrap(lng: float) -> float:
    wrapped = (lng + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 and lng > 0 else wrapped


@st.composite
def _near(draw: st.DrawFn, centre: tuple[float, float], spread: float) -> tuple[float, float]:
    lng = _wrap(centre[0] + draw(st.floats(-spread, spread)))
    lat = min(90.0, max(-90.0, centre[1] + draw(st.floats(-spread, spread))))
    return lng, lat


@st.composite
def clustered_points(
    draw: st.DrawFn, max_size: int = 120, spread: float = 2.0
) -> list[tuple[float, float]]:
    """Points around 1-3 centres (antimeridian and poles likely), with exact duplicates.

    Args:
        max_size: The most points drawn.
        spread: How far (degrees) a point may lie from its centre on each axis.
    """
    centres = draw(
        st.lists(
            st.one_of(points, polar_points, st.tuples(st.sampled_from((179.5, -179.5)), latitudes)),
            min_size=1,
            max_size=3,
        )
    )
    near = st.one_of(*(_near(centre, spread) for centre in centres))
    found: list[tuple[float, float]] = draw(st.lists(st.one_of(near, points), max_size=max_size))
    duplicate = draw(st.booleans())
    if found and duplicate:
        found += draw(st.lists(st.sampled_from(found), max_size=5))  # exact duplicates
    return found


@st.composite
def boxes(draw: st.DrawFn) -> tuple[float, float, float, float]:
    """A box ``(min_lng, min_lat, max_lng, max_lat)``; ``min_lng > max_lng`` half the time."""
    west = draw(longitudes)
    east = draw(longitudes)
    south, north = sorted((draw(latitudes), draw(latitudes)))
    return west, south, east, north


@st.composite
def crossing_boxes(draw: st.DrawFn) -> tuple[float, float, float, float]:
    """A box that crosses the antimeridian (``min_lng > max_lng``)."""
    west = draw(st.floats(0.0, 180.0, exclude_min=True))
    east = draw(st.floats(-180.0, 0.0, exclude_max=True))
    south, north = sorted((draw(latitudes), draw(latitudes)))
    return west, south, east, north


radii = st.one_of(
    st.sampled_from((0.0, 1.0, 10_000.0)),
    st.floats(0.0, 3_000_000.0, allow_nan=False),
    st.floats(0.0, 50_000.0, allow_nan=False),
)
"""Search radii in metres, from 0 to 3000 km (small ones often)."""


@st.composite
def point_features(draw: st.DrawFn, max_size: int = 50) -> list[dict[str, object]]:
    """Valid GeoJSON Point features with unique int ids and small properties."""
    coords = draw(st.lists(points, max_size=max_size))
    return [
        {
            "type": "Feature",
            "id": i,
            "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "properties": {"budget": i % 7},
        }
        for i, (lng, lat) in enumerate(coords)
    ]
