"""Storage adapters for the ledger's store port (:class:`creditcore.ledger.LedgerStore`).

- :mod:`creditcore.stores.sqlite`: ``SQLiteStore(path)``, the embedded default (standard library).
- ``creditcore.stores.postgres``: ``PostgresStore`` (extra ``creditcore[postgres]``).

Each adapter is imported by its own module name, so importing this package loads no driver.
"""

__all__: list[str] = []
