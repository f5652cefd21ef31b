"""The same place written two ways is distance 0: poles at any longitude, longitude 180 = -180.

Nearest-first answers order equal distances by insertion; with float noise in the distance
(cos 90° is 6e-17 in floats, sin 180° is 1.2e-16) the order followed the noise instead.
"""

from __future__ import annotations

import numpy as np

from creditcore.geo import GigIndex, haversine_m


def test_pole_points_at_any_longitude_are_the_same_place() -> None:
    for lat in (90.0, -90.0):
        for lng in (-180.0, -120.5, 0.0, 33.3, 179.9, 180.0):
            assert haversine_m(0.0, lat, lng, lat) == 0.0
            assert haversine_m(np.array([0.0]), np.array([lat]), lng, lat)[0] == 0.0
        # and every pole point is equally far from a query
        far = {haversine_m(10.0, 80.0, lng, lat) for lng in (-150.0, -3.0, 0.0, 77.0, 180.0)}
        assert len(far) == 1


def test_longitude_180_and_minus_180_are_the_same_place() -> None:
    for lat in (-60.0, 0.0, 12.5, 89.0):
        assert haversine_m(180.0, lat, -180.0, lat) == 0.0
        assert haversine_m(np.array([180.0]), np.array([lat]), -180.0, lat)[0] == 0.0
        assert haversine_m(179.0, lat, 180.0, lat) == haversine_m(179.0, lat, -180.0, lat)


def test_equal_distances_come_in_insertion_order() -> None:
    records = [
        ("north-a", 45.0, 90.0, None),
        ("north-b", -170.0, 90.0, None),
        ("north-c", 0.0, 90.0, None),
        ("north-d", 180.0, 90.0, None),
        ("east", 180.0, 10.0, None),
        ("west", -180.0, 10.0, None),
        ("east-2", 180.0, 10.0, None),
    ]
    index = GigIndex(records)
    pole = [h.gig.id for h in index.near(20.0, 89.0, 200_000.0)]
    assert pole == ["north-a", "north-b", "north-c", "north-d"]
    line = [h.gig.id for h in index.near(179.5, 10.0, 100_000.0)]
    assert line == ["east", "west", "east-2"]
    line = [h.gig.id for h in index.near(-179.5, 10.0, 100_000.0)]
    assert line == ["east", "west", "east-2"]
