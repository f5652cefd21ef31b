"""Storage adapters for the ledger's store port (:class:`creditcore.ledger.LedgerStore`), peers.

- :mod:`creditcore.stores.memory`: ``InMemoryStore()``, in process memory.
- :mod:`creditcore.stores.sqlite`: ``SQLiteStore(path)``, the embedded default (standard library).
- :mod:`creditcore.stores.postgres`: ``PostgresStore(dsn)`` (extra ``creditcore[postgres]``).

And for the gigs' port (:class:`creditcore.geo.GigStore`):
:mod:`creditcore.stores.postgis`: ``PostGISGigStore(dsn)`` (extra ``creditcore[postgres]``).

Each imports only the public port :mod:`creditcore.ledger` (and its own driver); each is imported
by its own module name, so importing this package loads no driver.
"""

__all__: list[str] = []
