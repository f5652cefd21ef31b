"""One shape for everything found wrong in a document: loader problems and validation findings.

A :class:`Problem` is what :class:`~creditcore.InvalidCatalog` lists (every problem of a catalog
file) and what a :class:`~creditcore.pricing.ValidationReport` lists as errors and warnings: the
same fields, in the same order, so one printer, one JSON form and one CI annotation serve both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DOCUMENT", "Problem", "Severity"]

Severity = Literal["error", "warning"]
"""How bad a problem is: an ``"error"`` fails a check, a ``"warning"`` does not."""

DOCUMENT = "(document)"
"""The path of a problem of the whole document (not UTF-8, not valid TOML, not a table)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding in a catalog.

    Attributes:
        path: Where, as a path into the document (``operations[1].api_cost``);
            :data:`DOCUMENT` for the whole document. Never empty.
        code: A stable machine-readable identifier (``unknown_key``, ``gross_margin_below_floor``).
        message: For people: what is wrong, with the value that was wrong.
        severity: ``"error"`` or ``"warning"``.
        line: The 1-based line of the source text where ``path`` is written, when known.
    """

    path: str
    code: str
    message: str
    severity: Severity = "error"
    line: int | None = None

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", DOCUMENT)
