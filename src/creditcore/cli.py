"""The ``creditcore`` console script (an entry point; the work is done in :mod:`creditcore._cli`)."""

from creditcore._cli.app import main
from creditcore._public import publish

__all__ = ["main"]

publish(__name__, __all__)

if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    raise SystemExit(main())
