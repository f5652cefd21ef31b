"""Public names report their public module, as ``httpx`` does.

Classes and functions are defined in private modules (``creditcore._ledger.service``) and
re-exported by a public face (``creditcore.ledger``). Each face ends with
``publish(__name__, __all__)``, which sets the ``__module__`` of every class and function it
exports to the face's own name, so reprs, tracebacks, documentation and pickles say
``creditcore.ledger.Ledger`` and never a private path that may move.

Only objects defined in a private creditcore module are renamed (one whose dotted path has a
component starting with ``_``); an object already defined in a public module, or outside
creditcore, keeps its own. The first face to export an object wins, and a face is imported
before the faces that re-export its names.

Known limit (shared with every library that does this): ``typing.get_type_hints`` on a renamed
*class* resolves its string annotations in the public module, which may not define every name
they use.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable

__all__ = ["is_private_module", "publish"]


def is_private_module(name: str) -> bool:
    """Whether ``name`` is a creditcore module users are not meant to import."""
    parts = name.split(".")
    return parts[0] == "creditcore" and any(part.startswith("_") for part in parts[1:])


def publish(module: str, names: Iterable[str]) -> None:
    """Give every class and function that ``module`` exports the ``__module__`` ``module``.

    Args:
        module: The public face's ``__name__`` (it must be imported, as it is while it runs).
        names: The names it exports (its ``__all__``).
    """
    namespace = vars(sys.modules[module])
    for name in names:
        # A name the face provides lazily (a module ``__getattr__``) is not in its namespace yet;
        # it is defined in a public module anyway, so it is skipped rather than imported here.
        value = namespace.get(name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue  # constants, type aliases and unions keep what they are
        if is_private_module(getattr(value, "__module__", "") or ""):
            value.__module__ = module
