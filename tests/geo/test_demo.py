"""The map part of ``creditcore demo``: its figures against brute force over the same sample."""

from __future__ import annotations

import io
import re

from creditcore._cli.geo import demo_section, sample_gigs
from tests.geo import oracle


def _demo() -> str:
    out = io.StringIO()
    demo_section(out)
    return out.getvalue()


def test_sample_is_seeded_and_valid() -> None:
    first = sample_gigs()
    assert first == sample_gigs()
    assert len(first) == 3000
    assert len({gig[0] for gig in first}) == 3000
    assert all(-180 <= lng <= 180 and -90 <= lat <= 90 for _, lng, lat, _ in first)


def test_demo_figures_match_brute_force() -> None:
    text = _demo()
    gigs = sample_gigs()
    in_berlin = [g for g in gigs if oracle.in_box(g[1], g[2], (13.30, 52.45, 13.50, 52.57))]
    assert f"(central Berlin): {len(in_berlin)} gigs" in text
    assert in_berlin[0][0] in text  # the first in insertion order is listed
    across = [g for g in gigs if oracle.in_box(g[1], g[2], (179.5, -17.5, -179.5, -16.2))]
    east = sum(g[1] < 0 for g in across)
    assert f"Taveuni): {len(across)} gigs, {east} of them east" in text
    assert 0 < east < len(across)

    centre = (13.4132, 52.5219)
    ranked = sorted(
        (oracle.great_circle_m(*centre, g[1], g[2]), g[0])
        for g in gigs
        if oracle.great_circle_m(*centre, g[1], g[2]) <= 3000.0
    )[:8]
    rows = re.findall(r"^  (gig-\d{4})\s+([\d.]+)\s+([\d.]+)$", text, flags=re.MULTILINE)
    assert [name for name, _, _ in rows] == [name for _, name in ranked]
    assert [float(d) for _, d, _ in rows] == [round(d, 1) for d, _ in ranked]


def test_demo_shows_clusters_per_zoom() -> None:
    text = _demo()
    zooms = re.findall(r"zoom\s+(\d+):\s+(\d+) features", text)
    assert [int(z) for z, _ in zooms] == [1, 5, 9, 13]
    counts = [int(n) for _, n in zooms]
    assert counts == sorted(counts)  # more, smaller clusters as the map zooms in
    assert "splits at zoom" in text
