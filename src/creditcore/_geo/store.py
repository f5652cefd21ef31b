"""The gig store port: what any home of gigs answers, in memory or in a database.

:class:`~creditcore.geo.GigIndex` satisfies it in memory;
``creditcore.stores.postgis.PostGISGigStore`` in PostgreSQL with PostGIS. Both give the same
answers to the same questions (see docs/geo.md for the edge cases where a database's rounding
differs), and both keep a *change feed*: every insert, update and remove gets a sequence number,
increasing in commit order, and :meth:`GigStore.changes` reads the changes after a sequence.
``GigIndex.from_store(store)`` and ``index.sync()`` use it to keep an in-memory index in step
with a store of record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from creditcore._geo.distance import Method
from creditcore._geo.gig import Gig, Hit

__all__ = ["Change", "ChangeKind", "GigColumns", "GigStore"]

ChangeKind = Literal["insert", "update", "remove"]
GigId = str | int
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a gig store's change feed.

    Attributes:
        seq: Its sequence number: positive, increasing in the order the changes took effect.
        kind: ``"insert"``, ``"update"`` or ``"remove"``.
        gig_id: The gig changed.
        lng: Its longitude after the change (None for a remove).
        lat: Its latitude after the change (None for a remove).
        properties: Its properties after the change (read-only; empty for a remove).
    """

    seq: int
    kind: ChangeKind
    gig_id: GigId
    lng: float | None = None
    lat: float | None = None
    properties: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.properties, MappingProxyType):
            object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))


@dataclass(frozen=True, slots=True, eq=False)
class GigColumns:
    """Every gig of a store at one sequence number, as columns in insertion order.

    Attributes:
        ids: The gig ids (an int64 array when every id is an int, else a list).
        lngs: Longitudes, float64.
        lats: Latitudes, float64.
        properties: Each gig's properties (None where it has none), or None when no gig has any.
        seq: The sequence number of the last change these columns include.
    """

    ids: npt.NDArray[np.int64] | list[GigId]
    lngs: npt.NDArray[np.float64]
    lats: npt.NDArray[np.float64]
    properties: list[Mapping[str, Any] | None] | None
    seq: int

    def __len__(self) -> int:
        return int(self.lngs.size)


@runtime_checkable
class GigStore(Protocol):
    """The port: a home of gigs with the three queries and a change feed.

    Writes are all or nothing and validated like :class:`~creditcore.geo.GigIndex`'s
    (``InvalidCoordinates``, ``InvalidFeature``, ``DuplicateId``, ``UnknownGig``). Orders:
    ``in_bbox`` and ``within`` return gigs in insertion order (``update`` keeps a gig's place;
    a removed and re-inserted gig goes last); ``near`` nearest first, ties in insertion order.
    """

    def insert_many(self, records: Iterable[Any]) -> None:
        """Insert ``(id, lng, lat[, properties])`` records, all or nothing (the bulk load)."""
        ...

    def insert(
        self, gig_id: GigId, lng: float, lat: float, properties: Mapping[str, Any] | None = None
    ) -> Gig:
        """Insert one gig and return it."""
        ...

    def remove(self, gig_id: GigId) -> Gig:
        """Remove a gig and return it as it was."""
        ...

    def update(
        self,
        gig_id: GigId,
        *,
        lng: float | None = None,
        lat: float | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> Gig:
        """Move a gig and/or replace its properties (None keeps a value); return it."""
        ...

    def get(self, gig_id: GigId) -> Gig:
        """The gig with this id (``UnknownGig`` if none)."""
        ...

    def __len__(self) -> int:
        """How many gigs the store holds."""
        ...

    def in_bbox(
        self,
        min_lng: float,
        min_lat: float,
        max_lng: float,
        max_lat: float,
        limit: int | None = None,
    ) -> Sequence[Gig]:
        """Gigs in a box, edges included (``min_lng > max_lng`` crosses the antimeridian)."""
        ...

    def near(
        self,
        lng: float,
        lat: float,
        radius_m: float,
        limit: int | None = None,
        method: Method = "haversine",
    ) -> Sequence[Hit]:
        """Gigs within ``radius_m`` metres, nearest first, in haversine or geodesic metres."""
        ...

    def within(self, polygon: Any, limit: int | None = None) -> Sequence[Gig]:
        """Gigs covered by a (Multi)Polygon or a GeoJSON geometry dict of one."""
        ...

    @property
    def last_seq(self) -> int:
        """The sequence number of the last change (0 before any)."""
        ...

    def changes(self, after: int = 0, limit: int | None = None) -> list[Change]:
        """The changes with a sequence number above ``after``, in order (at most ``limit``)."""
        ...

    def columns(self) -> GigColumns:
        """Every gig at one sequence number, as columns in insertion order (for a fast build)."""
        ...
