"""Query results as GeoJSON FeatureCollections."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from creditcore._geo.gig import Gig, Hit

__all__ = ["gigs_to_geojson", "hits_to_geojson"]


def gigs_to_geojson(gigs: Iterable[Gig]) -> dict[str, Any]:
    """Gigs (from :meth:`GigIndex.in_bbox`, :meth:`GigIndex.within`) as a FeatureCollection."""
    return {"type": "FeatureCollection", "features": [gig.to_feature() for gig in gigs]}


def hits_to_geojson(hits: Iterable[Hit]) -> dict[str, Any]:
    """Radius-search hits as a FeatureCollection, nearest first; each feature's properties
    gain ``distance_m``."""
    return {"type": "FeatureCollection", "features": [hit.to_feature() for hit in hits]}
