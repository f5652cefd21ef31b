"""Private implementation of creditcore.geo (gig index, distances, clustering)."""

__all__: list[str] = []
