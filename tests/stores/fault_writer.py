"""Another process for the fault-injection tests: proves no lock was left behind (run as a script).

``sqlite PATH`` or ``postgres DSN SCHEMA``: print ``ready``; then for each line read on stdin,
consume 1 credit from account ``a`` with at most one second of waiting for a lock (SQLite busy
timeout 1 s; PostgreSQL ``lock_timeout`` 1 s) and print ``ok <seconds>`` or ``err <error>``.
"""

from __future__ import annotations

import sys
import time

from creditcore.ledger import Ledger, LedgerStore


def _store(argv: list[str]) -> LedgerStore:
    if argv[0] == "sqlite":
        from creditcore.stores.sqlite import SQLiteStore

        return SQLiteStore(argv[1], timeout=1.0)
    from creditcore.stores.postgres import PostgresStore

    return PostgresStore(f"{argv[1]} options='-c lock_timeout=1000'", schema=argv[2])


def main(argv: list[str]) -> None:
    with _store(argv) as store:
        ledger = Ledger(store)
        print("ready", flush=True)
        for _line in sys.stdin:
            started = time.perf_counter()
            try:
                ledger.consume("a", 1)
            except Exception as error:  # reported to the parent, which fails the test
                print(f"err {type(error).__name__}: {error}".replace("\n", " "), flush=True)
                continue
            print(f"ok {time.perf_counter() - started:.3f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
