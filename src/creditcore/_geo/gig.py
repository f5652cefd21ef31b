"""The values a gig index hands out: a gig and a search hit."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from types import MappingProxyType
from typing import Any

__all__ = ["Gig", "Hit", "make_gig", "make_gigs", "make_hits"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Gig:
    """A gig on the map.

    Attributes:
        id: The gig's unique id (a ``str`` or an ``int``).
        lng: Longitude in WGS84 degrees, in [-180, 180].
        lat: Latitude in WGS84 degrees, in [-90, 90].
        properties: The gig's properties, read-only (not part of its hash).
    """

    id: str | int
    lng: float
    lat: float
    properties: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.properties, MappingProxyType):
            object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))

    def to_feature(self) -> dict[str, Any]:
        """Return the gig as a GeoJSON Point feature (a new dict)."""
        return {
            "type": "Feature",
            "id": self.id,
            "geometry": {"type": "Point", "coordinates": [self.lng, self.lat]},
            "properties": dict(self.properties),
        }


@dataclass(frozen=True, slots=True)
class Hit:
    """A gig found by a radius search, with its distance from the centre.

    Attributes:
        gig: The gig found.
        distance_m: Its distance from the search centre in metres (haversine or geodesic,
            as the search asked).
    """

    gig: Gig
    distance_m: float

    def to_feature(self) -> dict[str, Any]:
        """Return the hit as a GeoJSON feature; ``distance_m`` joins its properties."""
        feature = self.gig.to_feature()
        feature["properties"]["distance_m"] = self.distance_m
        return feature


# Frozen dataclasses build through object.__setattr__, about 1 µs a gig; the slot descriptors
# set the same fields three times faster, which matters when a query returns many gigs. For
# many values the loops run in C: `map` allocates the objects and applies each descriptor,
# and a zero-length deque drains the iterator without keeping anything.
_new = object.__new__
_gig_slots = vars(Gig)
_hit_slots = vars(Hit)
_set_id = _gig_slots["id"].__set__
_set_lng = _gig_slots["lng"].__set__
_set_lat = _gig_slots["lat"].__set__
_set_properties = _gig_slots["properties"].__set__
_set_gig = _hit_slots["gig"].__set__
_set_distance = _hit_slots["distance_m"].__set__
_MANY = 8  # from this many values on, the C-level map beats the Python loop


def _drain(values: Iterable[object]) -> None:
    deque(values, maxlen=0)


def make_gig(ident: str | int, lng: float, lat: float, properties: Mapping[str, Any] | None) -> Gig:
    """Build a :class:`Gig` fast, with its properties behind a read-only view."""
    gig: Gig = _new(Gig)
    _set_id(gig, ident)
    _set_lng(gig, lng)
    _set_lat(gig, lat)
    _set_properties(gig, _EMPTY if properties is None else MappingProxyType(properties))
    return gig


def make_gigs(
    ids: list[Any], lngs: list[float], lats: list[float], properties: list[Any]
) -> list[Gig]:
    """Build many gigs at once (parallel lists; ``properties`` entries may be None)."""
    if len(ids) >= _MANY:
        gigs: list[Gig] = list(map(_new, repeat(Gig, len(ids))))
        _drain(map(_set_id, gigs, ids))
        _drain(map(_set_lng, gigs, lngs))
        _drain(map(_set_lat, gigs, lats))
        if all(props is None for props in properties):
            _drain(map(_set_properties, gigs, repeat(_EMPTY)))
        else:
            proxy = MappingProxyType
            views = [_EMPTY if props is None else proxy(props) for props in properties]
            _drain(map(_set_properties, gigs, views))
        return gigs
    new, set_id, set_lng, set_lat, set_props = _new, _set_id, _set_lng, _set_lat, _set_properties
    proxy, empty = MappingProxyType, _EMPTY
    out: list[Gig] = []
    append = out.append
    for ident, lng, lat, props in zip(ids, lngs, lats, properties, strict=True):
        gig = new(Gig)
        set_id(gig, ident)
        set_lng(gig, lng)
        set_lat(gig, lat)
        set_props(gig, empty if props is None else proxy(props))
        append(gig)
    return out


def make_hits(gigs: list[Gig], distances: list[float]) -> list[Hit]:
    """Pair gigs with their distances (parallel lists)."""
    if len(gigs) >= _MANY:
        hits: list[Hit] = list(map(_new, repeat(Hit, len(gigs))))
        _drain(map(_set_gig, hits, gigs))
        _drain(map(_set_distance, hits, distances))
        return hits
    new, set_gig, set_distance = _new, _set_gig, _set_distance
    out: list[Hit] = []
    append = out.append
    for gig, distance in zip(gigs, distances, strict=True):
        hit = new(Hit)
        set_gig(hit, gig)
        set_distance(hit, distance)
        append(hit)
    return out
