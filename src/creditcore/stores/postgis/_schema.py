"""The PostGIS gig store's tables, as numbered migrations (``{schema}``: the quoted schema).

- ``gigs``: one row per gig. ``pos`` is its place in insertion order (an update keeps it);
  the id is in ``id_int`` or ``id_str`` (exactly one, each unique); ``lng``/``lat`` are the
  coordinates as given (doubles, range-checked), ``geog`` the point as
  ``geography(Point, 4326)``, generated from them, with a GiST index for radius queries, and a
  second GiST index on ``geog::geometry`` for boxes and polygons (planar longitude/latitude,
  as :class:`~creditcore.geo.GigIndex` answers them).
- ``gig_changes``: the change feed, one row per change with its sequence number.
- ``gig_counters``: the last sequence number and the last insertion position. Every write
  locks the ``seq`` row first, so writers take sequence numbers in commit order: a reader of
  the feed never sees a change before an earlier one.
"""

from __future__ import annotations

from typing import Final

from creditcore.stores.postgres.migrations import Migration

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "VERSION_TABLE"]

VERSION_TABLE: Final = "gig_schema_migrations"

_V1: Final = (
    """CREATE TABLE {schema}.gigs (
        pos bigint PRIMARY KEY,
        id_int bigint UNIQUE CHECK (id_int BETWEEN -9007199254740991 AND 9007199254740991),
        id_str text UNIQUE,
        lng double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
        lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
        properties jsonb CHECK (properties IS NULL OR jsonb_typeof(properties) = 'object'),
        geog geography(Point, 4326) NOT NULL
            GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography) STORED,
        CONSTRAINT gigs_one_id CHECK ((id_int IS NULL) <> (id_str IS NULL))
    )""",
    "CREATE INDEX gigs_geog ON {schema}.gigs USING gist (geog)",
    "CREATE INDEX gigs_geom ON {schema}.gigs USING gist ((geog::geometry))",
    """CREATE TABLE {schema}.gig_changes (
        seq bigint PRIMARY KEY CHECK (seq > 0),
        kind text NOT NULL CHECK (kind IN ('insert', 'update', 'remove')),
        id_int bigint,
        id_str text,
        lng double precision,
        lat double precision,
        properties jsonb,
        at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT gig_changes_one_id CHECK ((id_int IS NULL) <> (id_str IS NULL))
    )""",
    """CREATE TABLE {schema}.gig_counters (
        name text PRIMARY KEY CHECK (name IN ('seq', 'pos')),
        value bigint NOT NULL CHECK (value >= 0)
    )""",
    "INSERT INTO {schema}.gig_counters (name, value) VALUES ('seq', 0), ('pos', 0)",
)

MIGRATIONS: Final = (
    Migration(1, "gigs, change feed, counters; GiST on geography and geometry", _V1),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)
