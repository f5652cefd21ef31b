"""The ``creditcore`` console script (an entry point; the work is done in :mod:`creditcore._cli`)."""

from creditcore._cli.app import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    raise SystemExit(main())
