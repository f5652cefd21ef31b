"""PostGISGigStore: gigs in PostgreSQL with PostGIS, answering like :class:`~creditcore.geo.GigIndex`.

Writes validate like the index (the same parsing, the same named errors) before anything is
sent, then run in one transaction that first locks the ``seq`` counter row: writers therefore
run one after another and take sequence numbers in commit order, so the change feed never shows
a change before an earlier one (a reader at sequence ``s`` has seen every change up to ``s``).

Queries:

- ``in_bbox``: ``geog::geometry && envelope`` (GiST) then the exact ``lng``/``lat`` ranges
  (``&&`` alone compares float4 boxes), two envelopes across the antimeridian, ``ORDER BY
  pos``: insertion order, as the index.
- ``near``: ``ST_DWithin(geog, centre, r, use_spheroid)`` (GiST) and ``ST_Distance``.
  Geodesic mode: the WGS84 spheroid. Haversine mode: PostGIS's sphere has radius
  6,371,008.7714 m (``(2a + b) / 3``), creditcore's 6,371,008.8 m (IUGG), so sphere distances
  are scaled by the ratio of the radii and the radius searched by its inverse: both sides then
  measure on the same sphere. ``ORDER BY distance, pos``, then the exact ``distance <= r``.
- ``within``: ``ST_Intersects(polygon, geog::geometry)`` (GEOS, boundary included, as shapely's
  ``intersects_xy``), ``ORDER BY pos``.

This module and its package are the only code that imports psycopg for the gigs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import numpy as np
import psycopg
import shapely
from psycopg import sql

from creditcore._exceptions import (
    CreditcoreError,
    InvalidFeature,
    InvalidInput,
    StoreError,
    UnknownGig,
)
from creditcore._geo.coordinates import (
    check_area,
    check_bbox,
    check_lat,
    check_limit,
    check_lng,
    check_point,
    check_radius,
)
from creditcore._geo.distance import EARTH_RADIUS_M, Method, check_method
from creditcore._geo.features import describe, parse_records, refuse_duplicates
from creditcore._geo.gig import Gig, Hit, make_gig, make_gigs, make_hits
from creditcore._geo.store import Change, GigColumns
from creditcore.stores.postgis._schema import MIGRATIONS, VERSION_TABLE
from creditcore.stores.postgres.migrations import advisory_key, migrate, validate_schema_name

__all__ = ["POSTGIS_SPHERE_RADIUS_M", "PostGISGigStore"]

GigId = str | int

POSTGIS_SPHERE_RADIUS_M: Final = (2 * 6_378_137.0 + 6_356_752.314245179) / 3
"""The sphere PostGIS measures on with ``use_spheroid => false``: (2a + b) / 3 of WGS84."""

_SCALE: Final = EARTH_RADIUS_M / POSTGIS_SPHERE_RADIUS_M
_EXTENSION_LOCK: Final = advisory_key("creditcore.postgis.extension")
_ROW: Final = "id_int, id_str, lng, lat, properties"
# Binary COPY of (id, lng, lat): a 19-byte header, then per row a field count and three
# length-prefixed 8-byte values (big-endian), then a 2-byte trailer.
_COPY_ROW: Final = np.dtype(
    [
        ("n", ">i2"),
        ("l1", ">i4"),
        ("id", ">i8"),
        ("l2", ">i4"),
        ("lng", ">f8"),
        ("l3", ">i4"),
        ("lat", ">f8"),
    ]
)
_COPY_HEADER: Final = 19


def _split(ident: GigId) -> tuple[int | None, str | None]:
    return (ident, None) if isinstance(ident, int) else (None, ident)


def _joined(id_int: int | None, id_str: str | None) -> GigId:
    return id_str if id_int is None else id_int  # type: ignore[return-value]


def _gig(row: Sequence[Any]) -> Gig:
    return make_gig(_joined(row[0], row[1]), row[2], row[3], row[4])


def _json(props: Mapping[str, Any] | None, where: str) -> str | None:
    if props is None:
        return None
    try:
        return json.dumps(props, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise InvalidFeature(
            f"{where}: properties must be a JSON object in PostGIS ({err})",
            field="properties",
        ) from None


def _failed(action: str, error: psycopg.Error) -> StoreError:
    return StoreError(f"PostGIS gig store: {action} failed: {error}", sqlstate=error.sqlstate)


def ensure_postgis(conn: psycopg.Connection[Any], create: bool) -> str:
    """The schema PostGIS lives in; create the extension first when missing and allowed.

    ``CREATE EXTENSION`` runs under a database-wide advisory lock, so stores opened at once on
    fresh schemas never race for it; it goes into ``public`` and is never dropped by a store.

    Raises:
        StoreError: PostGIS is missing and ``create`` is False, the role may not create it, or
            the server does not have it installed; the message says what to do.
    """
    database = conn.info.dbname
    query = "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'postgis'"
    row = conn.execute(query).fetchone()
    if row is not None:
        return str(row[0])
    if not create:
        raise StoreError(
            f"PostGIS is not installed in database {database!r}: run CREATE EXTENSION postgis "
            f"there (as a role allowed to), or open the store with create_extension=True",
            database=database,
        )
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_EXTENSION_LOCK,))
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public")
    except psycopg.errors.InsufficientPrivilege as error:
        raise StoreError(
            f"PostGIS is not installed in database {database!r} and role "
            f"{conn.info.user!r} may not create it ({error.diag.message_primary}): ask a "
            f"superuser or the database owner to run CREATE EXTENSION postgis",
            database=database,
            sqlstate=error.sqlstate,
        ) from error
    except psycopg.Error as error:
        raise StoreError(
            f"PostGIS could not be created in database {database!r} ({error}): install it on "
            f"the server (Debian: postgresql-<major>-postgis-3) and run CREATE EXTENSION postgis",
            database=database,
            sqlstate=error.sqlstate,
        ) from error
    row = conn.execute(query).fetchone()
    assert row is not None
    return str(row[0])


class PostGISGigStore:
    """Gigs in PostgreSQL with PostGIS: the gig store port (:class:`~creditcore.geo.GigStore`).

    Opening a store connects, makes sure PostGIS is there (creating the extension when the role
    may), and creates or migrates the store's tables in ``schema`` (versioned migrations,
    recorded in ``<schema>.gig_schema_migrations``). One connection per store, used by one
    thread at a time (a lock); open one store per process.

    Args:
        dsn: A libpq connection string.
        schema: The schema of the store's tables (a plain lower-case identifier).
        create_extension: Create the PostGIS extension when it is missing (needs a role
            allowed to); False refuses to open a database without it.

    Raises:
        StoreError: The server is unreachable, PostGIS is missing and cannot be created (the
            message says what to do), or a migration failed.
        SchemaVersionError: The schema was written by a newer creditcore.
        InvalidInput: A bad schema name.
    """

    def __init__(
        self, dsn: str, *, schema: str = "creditcore_gigs", create_extension: bool = True
    ) -> None:
        self._schema = validate_schema_name(schema)
        self._lock = threading.Lock()
        try:
            self._conn: psycopg.Connection[Any] = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as error:
            raise _failed("connecting", error) from error
        try:
            extension_schema = ensure_postgis(self._conn, create_extension)
            self._conn.execute(
                sql.SQL("SET search_path TO {}, {}").format(
                    sql.Identifier(self._schema), sql.Identifier(extension_schema)
                )
            )
            migrate(self._conn, self._schema, MIGRATIONS, table=VERSION_TABLE)
        except BaseException:
            self._conn.close()
            raise
        name = sql.Identifier(self._schema)
        self._gigs = sql.SQL("{}.gigs").format(name)
        self._changes = sql.SQL("{}.gig_changes").format(name)
        self._counters = sql.SQL("{}.gig_counters").format(name)

    @property
    def schema(self) -> str:
        """The schema holding this store's tables."""
        return self._schema

    def close(self) -> None:
        """Close the store's connection."""
        self._conn.close()

    def __enter__(self) -> PostGISGigStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostGISGigStore(schema={self._schema!r})"

    # --- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _tx(self, action: str) -> Iterator[psycopg.Connection[Any]]:
        """A transaction on the store's connection; driver errors become StoreError."""
        with self._lock:
            try:
                with self._conn.transaction():
                    yield self._conn
            except CreditcoreError:
                raise
            except psycopg.Error as error:
                raise _failed(action, error) from error

    def _take(self, conn: psycopg.Connection[Any], name: str, count: int) -> int:
        """Advance a counter by ``count`` (locking its row); return its value before."""
        row = conn.execute(
            sql.SQL("UPDATE {} SET value = value + %s WHERE name = %s RETURNING value").format(
                self._counters
            ),
            (count, name),
        ).fetchone()
        assert row is not None
        return int(row[0]) - count

    def _log(
        self,
        conn: psycopg.Connection[Any],
        seq: int,
        kind: str,
        ident: GigId,
        lng: float | None,
        lat: float | None,
        props: str | None,
    ) -> None:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (seq, kind, id_int, id_str, lng, lat, properties)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)"
            ).format(self._changes),
            (seq, kind, *_split(ident), lng, lat, props),
        )

    def _where_id(self, ident: object) -> tuple[sql.Composable, tuple[Any, ...]]:
        if isinstance(ident, bool) or not isinstance(ident, str | int):
            raise UnknownGig(f"no gig with id {ident!r} in the store", id=ident)
        if isinstance(ident, int):
            return sql.SQL("id_int = %s"), (ident,)
        return sql.SQL("id_str = %s"), (ident,)

    # --- writes --------------------------------------------------------------------------------

    def insert_many(self, records: Iterable[Any]) -> None:
        """Insert ``(id, lng, lat[, properties])`` records, all or nothing (the bulk load).

        Raises:
            InvalidFeature: A malformed record, or properties that are not a JSON object.
            InvalidCoordinates: A coordinate out of range, NaN or infinite.
            DuplicateId: An id twice in the batch or already stored.
            StoreError: The database failed (nothing was stored).
        """
        ids, lngs, lats, props = parse_records(records)
        texts = [_json(p, describe("record", i, ids[i])) for i, p in enumerate(props)]
        self._insert(ids, lngs.tolist(), lats.tolist(), texts)

    def _insert(
        self, ids: list[Any], lngs: list[float], lats: list[float], texts: list[str | None]
    ) -> None:
        count = len(ids)
        if count == 0:
            return
        if len(set(ids)) != count:
            refuse_duplicates(ids, (), "record")
        ints = [i for i in ids if isinstance(i, int)]
        strs = [i for i in ids if isinstance(i, str)]
        with self._tx("insert") as conn:
            seq = self._take(conn, "seq", count)
            pos = self._take(conn, "pos", count)
            taken = conn.execute(
                sql.SQL(
                    "SELECT id_int, id_str FROM {} WHERE id_int = ANY(%s) OR id_str = ANY(%s)"
                ).format(self._gigs),
                (ints, strs),
            ).fetchall()
            if taken:
                refuse_duplicates(ids, {_joined(a, b) for a, b in taken}, "record")
            split = [_split(i) for i in ids]
            columns = "(pos, id_int, id_str, lng, lat, properties)"
            with conn.cursor().copy(
                sql.SQL("COPY {} " + columns + " FROM STDIN").format(self._gigs)
            ) as copy:
                for at, ((id_int, id_str), x, y, text) in enumerate(
                    zip(split, lngs, lats, texts, strict=True), start=pos + 1
                ):
                    copy.write_row((at, id_int, id_str, x, y, text))
            changes = "(seq, kind, id_int, id_str, lng, lat, properties)"
            with conn.cursor().copy(
                sql.SQL("COPY {} " + changes + " FROM STDIN").format(self._changes)
            ) as copy:
                for at, ((id_int, id_str), x, y, text) in enumerate(
                    zip(split, lngs, lats, texts, strict=True), start=seq + 1
                ):
                    copy.write_row((at, "insert", id_int, id_str, x, y, text))

    def insert(
        self, gig_id: GigId, lng: float, lat: float, properties: Mapping[str, Any] | None = None
    ) -> Gig:
        """Insert one gig and return it (as stored: properties read back from JSON).

        Raises:
            DuplicateId: The id is taken.
            InvalidFeature: A bad id, or properties that are not a JSON object.
            InvalidCoordinates: A coordinate out of range or NaN.
        """
        ids, lngs, lats, props = parse_records([(gig_id, lng, lat, properties)])
        text = _json(props[0], describe("record", 0, gig_id))
        self._insert(ids, lngs.tolist(), lats.tolist(), [text])
        return make_gig(ids[0], float(lngs[0]), float(lats[0]), _loads(text))

    def remove(self, gig_id: GigId) -> Gig:
        """Remove a gig and return it as it was.

        Raises:
            UnknownGig: No gig with this id.
        """
        where, params = self._where_id(gig_id)
        with self._tx("remove") as conn:
            seq = self._take(conn, "seq", 1)
            row = conn.execute(
                sql.SQL("DELETE FROM {} WHERE {} RETURNING " + _ROW).format(self._gigs, where),
                params,
            ).fetchone()
            if row is None:
                raise UnknownGig(f"no gig with id {gig_id!r} in the store", id=gig_id)
            self._log(conn, seq + 1, "remove", gig_id, None, None, None)
        return _gig(row)

    def update(
        self,
        gig_id: GigId,
        *,
        lng: float | None = None,
        lat: float | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> Gig:
        """Move a gig and/or replace its properties; it keeps its place in insertion order.

        Raises:
            UnknownGig: No gig with this id.
            InvalidCoordinates: A coordinate out of range or NaN (nothing changes).
            InvalidFeature: A coordinate that is not a number, properties not a JSON object.
        """
        where_text = f"gig {gig_id!r}"
        if properties is not None and not isinstance(properties, Mapping):
            raise InvalidFeature(
                f"{where_text}: properties must be a mapping, got {type(properties).__name__}",
                field="properties",
                value=properties,
            )
        text = _json(properties, where_text) if properties is not None else None
        where, params = self._where_id(gig_id)
        with self._tx("update") as conn:
            seq = self._take(conn, "seq", 1)
            row = conn.execute(
                sql.SQL("SELECT " + _ROW + " FROM {} WHERE {} FOR UPDATE").format(
                    self._gigs, where
                ),
                params,
            ).fetchone()
            if row is None:
                raise UnknownGig(f"no gig with id {gig_id!r} in the store", id=gig_id)
            x, y = check_point(
                row[2] if lng is None else lng, row[3] if lat is None else lat, where_text
            )
            if properties is None:
                text = None if row[4] is None else json.dumps(row[4], separators=(",", ":"))
            conn.execute(
                sql.SQL("UPDATE {} SET lng = %s, lat = %s, properties = %s::jsonb WHERE {}").format(
                    self._gigs, where
                ),
                (x, y, text, *params),
            )
            self._log(conn, seq + 1, "update", gig_id, x, y, text)
        return make_gig(gig_id, x, y, _loads(text))

    # --- reads ---------------------------------------------------------------------------------

    def get(self, gig_id: GigId) -> Gig:
        """The gig with this id.

        Raises:
            UnknownGig: No gig with this id.
        """
        where, params = self._where_id(gig_id)
        with self._tx("get") as conn:
            row = conn.execute(
                sql.SQL("SELECT " + _ROW + " FROM {} WHERE {}").format(self._gigs, where), params
            ).fetchone()
        if row is None:
            raise UnknownGig(f"no gig with id {gig_id!r} in the store", id=gig_id)
        return _gig(row)

    def __len__(self) -> int:
        with self._tx("count") as conn:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self._gigs)).fetchone()
        assert row is not None
        return int(row[0])

    def __contains__(self, gig_id: object) -> bool:
        try:
            self.get(gig_id)  # type: ignore[arg-type]
        except UnknownGig:
            return False
        return True

    def in_bbox(
        self,
        min_lng: float,
        min_lat: float,
        max_lng: float,
        max_lat: float,
        limit: int | None = None,
    ) -> list[Gig]:
        """The gigs inside a box, edges included, in insertion order.

        A box with ``min_lng > max_lng`` crosses the antimeridian.

        Raises:
            InvalidCoordinates: An edge out of range or NaN.
            InvalidInput: ``min_lat > max_lat``, a non-number edge or a bad ``limit``.
        """
        boxes = check_bbox(min_lng, min_lat, max_lng, max_lat)
        wanted = check_limit(limit)
        if wanted == 0:
            return []
        parts = []
        params: list[Any] = []
        for west, south, east, north in boxes:
            parts.append(
                sql.SQL(
                    "((geog::geometry) && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
                    " AND lng BETWEEN %s AND %s AND lat BETWEEN %s AND %s)"
                )
            )
            params += [west, south, east, north, west, east, south, north]
        query = sql.SQL("SELECT " + _ROW + " FROM {} WHERE {} ORDER BY pos LIMIT %s").format(
            self._gigs, sql.SQL(" OR ").join(parts)
        )
        with self._tx("in_bbox") as conn:
            rows = conn.execute(query, (*params, wanted)).fetchall()
        return _gigs(rows)

    def near(
        self,
        lng: float,
        lat: float,
        radius_m: float,
        limit: int | None = None,
        method: Method = "haversine",
    ) -> list[Hit]:
        """The gigs within ``radius_m`` of a point, nearest first (ties in insertion order).

        ``method="haversine"`` measures on creditcore's sphere (6,371,008.8 m: PostGIS's sphere
        distances are scaled to it); ``"geodesic"`` on the WGS84 spheroid (PostGIS's own).

        Raises:
            InvalidCoordinates: A centre out of range or NaN.
            InvalidInput: A negative, infinite or non-number radius, a bad limit or method.
        """
        x = check_lng(lng, "lng")
        y = check_lat(lat, "lat")
        radius = check_radius(radius_m)
        wanted = check_limit(limit)
        model = check_method(method)
        if wanted == 0:
            return []
        spheroid = model == "geodesic"
        scale = 1.0 if spheroid else _SCALE
        query = sql.SQL(
            "SELECT " + _ROW + ", d FROM ("
            " SELECT " + _ROW + ", pos, ST_Distance(geog, c.g, %(sph)s) * %(k)s AS d"
            " FROM {}, (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)::geography AS g) c"
            " WHERE ST_DWithin(geog, c.g, %(r)s, %(sph)s)"
            ") t WHERE d <= %(radius)s ORDER BY d, pos LIMIT %(limit)s"
        ).format(self._gigs)
        params = {
            "x": x,
            "y": y,
            "sph": spheroid,
            "k": scale,
            # The search radius in PostGIS's metres, a hair wider: the exact test is d <= r.
            "r": radius / scale * (1.0 + 1e-12) + 1e-6,
            "radius": radius,
            "limit": wanted,
        }
        with self._tx("near") as conn:
            rows = conn.execute(query, params).fetchall()
        return make_hits(_gigs(rows), [float(row[5]) for row in rows])

    def within(self, polygon: Any, limit: int | None = None) -> list[Gig]:
        """The gigs covered by a (Multi)Polygon or GeoJSON geometry dict, in insertion order.

        Raises:
            InvalidGeometry: Not a (Multi)Polygon, or an invalid one (a bow-tie).
            InvalidInput: A bad ``limit``.
        """
        area = check_area(polygon)
        wanted = check_limit(limit)
        if area.is_empty or wanted == 0:
            return []
        query = sql.SQL(
            "SELECT " + _ROW + " FROM {}"
            " WHERE ST_Intersects(ST_GeomFromWKB(%s, 4326), geog::geometry)"
            " ORDER BY pos LIMIT %s"
        ).format(self._gigs)
        with self._tx("within") as conn:
            rows = conn.execute(query, (shapely.to_wkb(area), wanted)).fetchall()
        return _gigs(rows)

    # --- the change feed -------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The sequence number of the store's last committed change (0 before any)."""
        with self._tx("last_seq") as conn:
            row = conn.execute(
                sql.SQL("SELECT value FROM {} WHERE name = 'seq'").format(self._counters)
            ).fetchone()
        assert row is not None
        return int(row[0])

    def changes(self, after: int = 0, limit: int | None = None) -> list[Change]:
        """The committed changes with a sequence number above ``after``, in order.

        Raises:
            InvalidInput: ``after`` not an int >= 0, or a bad ``limit``.
        """
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InvalidInput(
                f"after must be an int >= 0, got {after!r}", field="after", value=after
            )
        wanted = check_limit(limit)
        query = sql.SQL(
            "SELECT seq, kind, " + _ROW + " FROM {} WHERE seq > %s ORDER BY seq LIMIT %s"
        ).format(self._changes)
        with self._tx("changes") as conn:
            rows = conn.execute(query, (after, wanted)).fetchall()
        return [
            Change(seq, kind, _joined(a, b), x, y, {} if props is None else props)
            for seq, kind, a, b, x, y, props in rows
        ]

    def columns(self) -> GigColumns:
        """Every gig as columns in insertion order, and the sequence number they are at.

        One REPEATABLE READ transaction: a binary ``COPY`` of ``(id, lng, lat)`` parsed by numpy
        in one step; string ids and properties (when any) by two more queries.
        """
        with self._lock:
            try:
                return self._columns()
            except psycopg.Error as error:
                raise _failed("columns", error) from error

    def _columns(self) -> GigColumns:
        conn = self._conn
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute(
                sql.SQL("SELECT value FROM {} WHERE name = 'seq'").format(self._counters)
            ).fetchone()
            assert row is not None
            seq = int(row[0])
            stats = conn.execute(
                sql.SQL("SELECT count(*), count(id_str), count(properties) FROM {}").format(
                    self._gigs
                )
            ).fetchone()
            assert stats is not None
            count, strings, with_props = (int(v) for v in stats)
            blocks: list[bytes] = []
            copy_sql = sql.SQL(
                "COPY (SELECT coalesce(id_int, 0), lng, lat FROM {} ORDER BY pos)"
                " TO STDOUT (FORMAT BINARY)"
            ).format(self._gigs)
            with conn.cursor().copy(copy_sql) as copy:
                blocks.extend(bytes(block) for block in copy)
            data = b"".join(blocks)
            table = np.frombuffer(data, dtype=_COPY_ROW, count=count, offset=_COPY_HEADER)
            int_ids = table["id"].astype(np.int64)
            ids: Any = int_ids
            if strings:
                found = conn.execute(
                    sql.SQL("SELECT id_str FROM {} ORDER BY pos").format(self._gigs)
                ).fetchall()
                ids = [
                    text if text is not None else number
                    for (text,), number in zip(found, int_ids.tolist(), strict=True)
                ]
            props: list[Mapping[str, Any] | None] | None = None
            if with_props:
                props = [None] * count
                for at, value in conn.execute(
                    sql.SQL(
                        "SELECT n, properties FROM (SELECT row_number() OVER (ORDER BY pos) - 1"
                        " AS n, properties FROM {}) t WHERE properties IS NOT NULL"
                    ).format(self._gigs)
                ).fetchall():
                    props[int(at)] = value
        return GigColumns(
            ids,
            table["lng"].astype(np.float64),
            table["lat"].astype(np.float64),
            props,
            seq,
        )


def _loads(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def _gigs(rows: list[Any]) -> list[Gig]:
    return make_gigs(
        [_joined(row[0], row[1]) for row in rows],
        [row[2] for row in rows],
        [row[3] for row in rows],
        [row[4] for row in rows],
    )
