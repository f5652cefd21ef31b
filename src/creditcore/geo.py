"""Gigs on a map: a spatial index with box, radius and polygon queries, and map clustering.

Build a :class:`GigIndex` from ``(id, lng, lat, properties)`` records or a GeoJSON
FeatureCollection, then ask :meth:`GigIndex.in_bbox`, :meth:`GigIndex.near` (haversine or
WGS84 geodesic distances) and :meth:`GigIndex.within`. Coordinates are WGS84 degrees,
longitude first, as in GeoJSON. :class:`GigStore` is the port of a home of gigs (the index in
memory, ``creditcore.stores.postgis.PostGISGigStore`` in a database), with a change feed that
``GigIndex.from_store`` and ``GigIndex.sync`` follow.
"""

from creditcore._geo.cluster import ClusterArrays, Clusterer
from creditcore._geo.distance import EARTH_RADIUS_M, Method, geodesic_m, haversine_m, search_boxes
from creditcore._geo.geojson import gigs_to_geojson, hits_to_geojson
from creditcore._geo.gig import Gig, Hit
from creditcore._geo.index import GigIndex
from creditcore._geo.store import Change, GigColumns, GigStore
from creditcore._geo.tiles import TileResponse, VectorTiles
from creditcore._public import publish

__all__ = [
    "EARTH_RADIUS_M",
    "Change",
    "ClusterArrays",
    "Clusterer",
    "Gig",
    "GigColumns",
    "GigIndex",
    "GigStore",
    "Hit",
    "Method",
    "TileResponse",
    "VectorTiles",
    "geodesic_m",
    "gigs_to_geojson",
    "haversine_m",
    "hits_to_geojson",
    "search_boxes",
]

publish(__name__, __all__)
