"""Gig-map part of the CLI: sample gigs, a box query, a radius search and clusters per zoom."""

from __future__ import annotations

from typing import Any, TextIO

import numpy as np

from creditcore.geo import Clusterer, GigIndex, geodesic_m

__all__ = ["CITIES", "demo_section", "sample_gigs"]

CITIES: tuple[tuple[str, float, float], ...] = (
    ("Berlin", 13.405, 52.52),
    ("Lagos", 3.3792, 6.5244),
    ("São Paulo", -46.6333, -23.5505),
    ("Tokyo", 139.6917, 35.6895),
    ("Taveuni", 179.97, -16.85),  # an island of Fiji that the antimeridian crosses
)
"""Where the sample gigs gather: (name, longitude, latitude)."""

_KINDS = ("logo", "video edit", "voice-over", "photo retouch", "3D render")


def sample_gigs(
    count: int = 3000, seed: int = 2026
) -> list[tuple[str, float, float, dict[str, Any]]]:
    """``count`` generated gigs scattered around :data:`CITIES` (seeded, so always the same).

    Each city gets a Gaussian blob about 10 km wide; longitudes wrap at ±180°, so the Fiji blob
    spills over the antimeridian. Properties: a kind and a budget in credits.
    """
    rng = np.random.default_rng(seed)
    city = rng.integers(0, len(CITIES), count)
    centres = np.array([(lng, lat) for _, lng, lat in CITIES])
    lngs = centres[city, 0] + rng.normal(0.0, 0.12, count)
    lats = np.clip(centres[city, 1] + rng.normal(0.0, 0.08, count), -90.0, 90.0)
    lngs = (lngs + 180.0) % 360.0 - 180.0
    kinds = rng.integers(0, len(_KINDS), count)
    budgets = rng.integers(5, 500, count)
    return [
        (f"gig-{n:04d}", round(x, 6), round(y, 6), {"kind": _KINDS[k], "budget": int(b)})
        for n, (x, y, k, b) in enumerate(
            zip(lngs.tolist(), lats.tolist(), kinds.tolist(), budgets.tolist(), strict=True)
        )
    ]


def demo_section(out: TextIO) -> None:
    """Print the map part of the demo."""
    gigs = sample_gigs()
    index = GigIndex(gigs)
    out.write("\n== Gig map ==\n\n")
    names = ", ".join(name for name, _, _ in CITIES)
    out.write(f"{len(index):,} sample gigs around {names} (seeded numpy RNG)\n\n")

    box = (13.30, 52.45, 13.50, 52.57)
    found = index.in_bbox(*box)
    out.write(
        f"Box query {box} (central Berlin): {len(found)} gigs; the first 5 in insertion order:\n"
    )
    for gig in found[:5]:
        out.write(
            f"  {gig.id}  ({gig.lng:9.5f}, {gig.lat:8.5f})  {gig.properties['kind']:<13} "
            f"{gig.properties['budget']:>3} credits\n"
        )
    fiji = index.in_bbox(179.5, -17.5, -179.5, -16.2)
    east = sum(gig.lng < 0 for gig in fiji)
    out.write(
        f"\nBox across the antimeridian (179.5°E → 179.5°W, Taveuni): {len(fiji)} gigs, "
        f"{east} of them east of ±180°\n"
    )

    lng, lat = 13.4132, 52.5219  # Alexanderplatz
    hits = index.near(lng, lat, 3_000.0, limit=8)
    out.write(
        f"\nRadius search: the 8 nearest gigs within 3 km of Alexanderplatz ({lng}, {lat}), "
        "nearest first:\n"
    )
    out.write("  id         haversine m  WGS84 geodesic m\n")
    for hit in hits:
        ellipsoid = geodesic_m(lng, lat, hit.gig.lng, hit.gig.lat)
        out.write(f"  {hit.gig.id}  {hit.distance_m:11.1f}  {ellipsoid:16.1f}\n")
    _clusters(gigs, out)
    out.write("\n")


def _budget_only(props: dict[str, Any]) -> dict[str, Any]:
    return {"budget": props["budget"]}


def _add_budget(total: dict[str, Any], props: dict[str, Any]) -> None:
    total["budget"] += props["budget"]


def _clusters(gigs: list[tuple[str, float, float, dict[str, Any]]], out: TextIO) -> None:
    """Clusters per zoom level over the whole world, with the budgets summed per cluster."""
    features = [
        {
            "type": "Feature",
            "id": ident,
            "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "properties": props,
        }
        for ident, lng, lat, props in gigs
    ]
    clusterer = Clusterer(radius=60, max_zoom=16, map=_budget_only, reduce=_add_budget)
    clusterer.load(features)
    out.write(
        "\nClusters over the whole world (radius 60 px, supercluster's model; budgets summed "
        "by map/reduce):\n"
    )
    for zoom in (1, 5, 9, 13):
        found = clusterer.get_clusters([-180.0, -85.0, 180.0, 85.0], zoom)
        clusters = [f for f in found if f["properties"].get("cluster")]
        biggest = sorted(clusters, key=lambda f: -int(f["properties"]["point_count"]))[:3]
        shown = ", ".join(
            f"{f['properties']['point_count']} gigs/{f['properties']['budget']} credits"
            for f in biggest
        )
        out.write(
            f"  zoom {zoom:>2}: {len(found):>4} features ({len(clusters)} clusters, "
            f"{len(found) - len(clusters)} single gigs); biggest: {shown or '-'}\n"
        )
    top = max(
        (f for f in clusterer.get_clusters([-180.0, -85.0, 180.0, 85.0], 1)),
        key=lambda f: int(f["properties"]["point_count"]),
    )
    cluster_id = int(top["properties"]["cluster_id"])
    out.write(
        f"  the biggest zoom-1 cluster ({top['properties']['point_count']} gigs) splits at zoom "
        f"{clusterer.get_cluster_expansion_zoom(cluster_id)}\n"
    )
