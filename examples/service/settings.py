"""The reference service's settings, read from the environment (one setting picks the store).

==============================  ===================================================================
variable                        meaning
==============================  ===================================================================
``CREDITCORE_DATABASE``         a SQLite file path (default ``creditcore-service.sqlite3``), or a
                                ``postgresql://`` / ``postgres://`` URL or a libpq ``host=...``
                                string: then the ledger lives in PostgreSQL
``CREDITCORE_PG_SCHEMA``        PostgreSQL schema of the ledger tables (default ``creditcore``)
``CREDITCORE_THREADS``          worker threads per process for the blocking ledger calls, and the
                                PostgreSQL pool size (default 8)
``CREDITCORE_CATALOG``          a catalog TOML file (default: the example catalog)
``CREDITCORE_GIGS``             a GeoJSON FeatureCollection of gigs to search (default: none)
``STRIPE_WEBHOOK_SECRET``       the Stripe endpoint's signing secret; without it the webhook
                                endpoint answers 503
==============================  ===================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Settings"]

DEFAULT_DATABASE = "creditcore-service.sqlite3"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the app needs to start.

    Attributes:
        database: SQLite path, or a PostgreSQL URL / libpq string.
        pg_schema: Schema of the PostgreSQL tables.
        threads: Threads for blocking calls (and PostgreSQL connections) per process.
        catalog_path: Catalog TOML file, or ``None`` for the example catalog.
        gigs_path: GeoJSON file of gigs, or ``None``.
        stripe_secret: Stripe webhook signing secret, or ``None``.
    """

    database: str = DEFAULT_DATABASE
    pg_schema: str = "creditcore"
    threads: int = 8
    catalog_path: str | None = None
    gigs_path: str | None = None
    stripe_secret: str | None = None

    @property
    def postgres(self) -> bool:
        """Whether ``database`` names a PostgreSQL server."""
        text = self.database.strip()
        return text.startswith(("postgresql://", "postgres://")) or "host=" in text

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        threads = int(env.get("CREDITCORE_THREADS", "8"))
        if threads < 1:
            raise ValueError(f"CREDITCORE_THREADS must be ≥ 1, got {threads}")
        return cls(
            database=env.get("CREDITCORE_DATABASE") or DEFAULT_DATABASE,
            pg_schema=env.get("CREDITCORE_PG_SCHEMA") or "creditcore",
            threads=threads,
            catalog_path=env.get("CREDITCORE_CATALOG") or None,
            gigs_path=env.get("CREDITCORE_GIGS") or None,
            stripe_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
        )
