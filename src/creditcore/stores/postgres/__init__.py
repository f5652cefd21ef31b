"""PostgresStore: the ledger's store port on PostgreSQL (extra ``creditcore[postgres]``).

- :mod:`.store`: the store and its unit of work; :mod:`.schema`: the numbered migrations (the
  tables, constraints, triggers and unit functions); :mod:`.migrations`: how they are applied;
  :mod:`.sql`: the statements; :mod:`.rows`: values to parameters and rows to values.
"""

from creditcore._public import publish
from creditcore.stores.postgres.schema import SCHEMA_VERSION
from creditcore.stores.postgres.store import PostgresStore

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

publish(__name__, __all__)
