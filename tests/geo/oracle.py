"""Brute-force answers for the index tests, written apart from the library in plain math.

Distances use the atan2 (Vincenty) form of the great-circle angle, not the haversine, so a
slip in the library's formula would not be copied here.
"""

from __future__ import annotations

import math

R = 6_371_008.8
BOUNDARY_M = 1e-6  # distances this close to the radius may fall either way (float rounding)


def great_circle_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle distance on the sphere of radius R, via atan2."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lng2 - lng1)
    y = math.hypot(
        math.cos(p2) * math.sin(dl),
        math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl),
    )
    x = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return R * math.atan2(y, x)


def in_box(lng: float, lat: float, box: tuple[float, float, float, float]) -> bool:
    """Inside the box, edges included; ``min_lng > max_lng`` wraps over the antimeridian."""
    west, south, east, north = box
    if not south <= lat <= north:
        return False
    if west <= east:
        return west <= lng <= east
    return lng >= west or lng <= east


def near(
    points: list[tuple[float, float]], lng: float, lat: float, radius: float
) -> tuple[set[int], set[int], dict[int, float]]:
    """``(sure, maybe, distances)``: ids surely within, ids at the rounding edge, all distances."""
    dists = {i: great_circle_m(lng, lat, x, y) for i, (x, y) in enumerate(points)}
    sure = {i for i, d in dists.items() if d <= radius - BOUNDARY_M}
    maybe = {i for i, d in dists.items() if abs(d - radius) <= BOUNDARY_M}
    return sure, maybe, dists
