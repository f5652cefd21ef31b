"""Public names report their public module, as ``httpx`` does.

Classes and functions are defined in private modules (``creditcore._ledger.service``) and
re-exported by a public face (``creditcore.ledger``). Each face ends with
``publish(__name__, __all__)``, which sets the ``__module__`` of every class and function it
exports to the face's own name, so reprs, tracebacks, documentation and pickles say
``creditcore.ledger.Ledger`` and never a private path that may move.

Only objects defined in a private creditcore module (one whose dotted path has a component
starting with ``_``) or in a submodule of the face itself (``creditcore.stores.sqlite.store``
for ``creditcore.stores.sqlite``) are renamed; an object defined in another public module, or
outside creditcore, keeps its own. The first face to export an object wins, and a face is imported
before the faces that re-export its names.

Type hints keep working: ``typing.get_type_hints`` (and so pydantic, FastAPI, hypothesis)
resolves a class's string annotations in ``sys.modules[cls.__module__]``, which after the rename
is the public face, where names imported only for annotations are missing. So before renaming a
class, :func:`publish` evaluates its annotations (and those of its properties) where they were
written, and stores the evaluated types; an annotation that cannot be evaluated there (a name
imported only for the type checker) stays a string.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["is_private_module", "publish"]


def is_private_module(name: str) -> bool:
    """Whether ``name`` is a creditcore module users are not meant to import."""
    parts = name.split(".")
    return parts[0] == "creditcore" and any(part.startswith("_") for part in parts[1:])


def _evaluated(annotations: Mapping[str, Any], namespace: Mapping[str, Any]) -> dict[str, Any]:
    """``annotations`` with every string evaluated in ``namespace`` (those that can be)."""
    result: dict[str, Any] = {}
    for name, annotation in annotations.items():
        if isinstance(annotation, str):
            # A name imported only for the type checker cannot be evaluated: it stays a string.
            with contextlib.suppress(Exception):
                annotation = eval(annotation, dict(namespace))  # our own source's annotations
        result[name] = annotation
    return result


def _resolve_annotations(cls: type) -> None:
    namespace = vars(sys.modules[cls.__module__])
    own = vars(cls).get("__annotations__")
    if own:
        cls.__annotations__ = _evaluated(own, namespace)
        for field in vars(cls).get("__dataclass_fields__", {}).values():
            if field.name in cls.__annotations__:  # what pydantic reads for a dataclass
                field.type = cls.__annotations__[field.name]
    for member in vars(cls).values():
        getter = member.fget if isinstance(member, property) else None
        if getter is not None and getattr(getter, "__annotations__", None):
            getter.__annotations__ = _evaluated(getter.__annotations__, getter.__globals__)


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
        home = getattr(value, "__module__", "") or ""
        if not (is_private_module(home) or home.startswith(f"{module}.")):
            continue  # defined in a public module of its own, or outside creditcore
        if inspect.isclass(value):
            _resolve_annotations(value)
        value.__module__ = module
