"""SQLiteStore: the ledger's store port on one SQLite file (the embedded default).

- :mod:`.store`: the store and its unit of work (the only module that imports :mod:`sqlite3`);
- :mod:`.schema`: the numbered migrations; :mod:`.sql`: the statements; :mod:`.rows`: rows to
  values and back.
"""

from creditcore._public import publish
from creditcore.stores.sqlite.schema import SCHEMA_VERSION
from creditcore.stores.sqlite.store import SQLiteStore

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

publish(__name__, __all__)
