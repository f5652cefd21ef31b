"""PostGISGigStore: the gig store port on PostgreSQL with PostGIS (extra ``creditcore[postgres]``).

The database is the record of the gigs; :class:`creditcore.geo.GigIndex` built with
``GigIndex.from_store(store)`` and kept in step with ``index.sync()`` answers the same queries
from memory. See docs/geo.md ("Gigs in PostGIS") for the schema, the answers and their edges.
"""

from creditcore._public import publish
from creditcore.stores.postgis._schema import SCHEMA_VERSION
from creditcore.stores.postgis._store import POSTGIS_SPHERE_RADIUS_M, PostGISGigStore

__all__ = ["POSTGIS_SPHERE_RADIUS_M", "SCHEMA_VERSION", "PostGISGigStore"]

publish(__name__, __all__)
