"""Where a path such as ``operations[2].api_cost`` is in a catalog: its order and its line.

Problems are reported in document order: the order in which the parsed document (a dict, whose
keys TOML and JSON parsers keep in the order they were written) holds the keys and items a path
walks through; a key that is missing sorts after the keys of its table. For text, each path is
also given the line where it (or, when it is not written, the nearest table holding it) starts,
for editors and CI annotations (``::error file=…,line=…::``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["Part", "document_order", "json_lines", "line_of", "parse_path", "toml_lines"]

Part = str | int
"""One step of a path: a key, or an index into an array."""

_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def parse_path(path: str) -> tuple[Part, ...]:
    """``"operations[2].api_cost"`` → ``("operations", 2, "api_cost")``."""
    parts: list[Part] = []
    for match in _PART.finditer(path):
        index, key = match.groups()
        parts.append(int(index) if index is not None else key)
    return tuple(parts)


def document_order(data: object, path: str) -> tuple[int, ...]:
    """A sort key placing ``path`` where it is written in ``data``.

    Args:
        data: The parsed document (mappings and lists, in the order they were written).
        path: A problem's path; the document itself (``"(document)"``) comes first.
    """
    key: list[int] = []
    node = data
    for part in parse_path(path) if path and not path.startswith("(") else ():
        if isinstance(node, Mapping) and isinstance(part, str):
            keys = list(node)
            position = keys.index(part) if part in node else len(keys)
            key.append(position)
            node = node.get(part)
        elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(part, int):
            key.append(part)
            node = node[part] if part < len(node) else None
        else:
            key.append(1 << 30)
            node = None
    return tuple(key)


def line_of(lines: Mapping[tuple[Part, ...], int], path: str) -> int | None:
    """The line of ``path``, else of the nearest enclosing path that is written, else None."""
    parts = parse_path(path) if path and not path.startswith("(") else ()
    for end in range(len(parts), 0, -1):
        found = lines.get(parts[:end])
        if found is not None:
            return found
    return None


_TOML_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_KEY = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def _toml_key(text: str) -> str:
    return text[1:-1] if text[:1] in "\"'" else text


def toml_lines(text: str) -> dict[tuple[Part, ...], int]:
    """The line (1-based) of every table header and key of a TOML document.

    A light scan, not a parser: enough for the catalog format (tables, arrays of tables, keys,
    inline tables); text inside multi-line strings may be misread as keys, never as headers of
    real tables that exist.
    """
    lines: dict[tuple[Part, ...], int] = {}
    counts: dict[tuple[Part, ...], int] = {}
    table: tuple[Part, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_HEADER.match(line)
        if header is not None and not _TOML_KEY.match(line):
            names = tuple(_toml_key(name.strip()) for name in header.group(2).split("."))
            if header.group(1) == "[[":
                index = counts.get(names, 0)
                counts[names] = index + 1
                table = (*names, index)
                lines.setdefault(names, number)
            else:
                table = names
            lines.setdefault(table, number)
            continue
        key = _TOML_KEY.match(line)
        if key is not None:
            lines.setdefault((*table, _toml_key(key.group(1))), number)
    return lines


def json_lines(text: str) -> dict[tuple[Part, ...], int]:
    """The line (1-based) where every key and array item of a JSON document starts.

    A scan of the tokens (strings, brackets, commas, colons) that the loader runs only on text
    ``json.loads`` accepted.
    """
    lines: dict[tuple[Part, ...], int] = {}
    # Each open container: its path, and for an object the pending key, for an array the index.
    stack: list[tuple[tuple[Part, ...], bool, Part | None]] = []
    line = 1
    position = 0
    expecting_key = False
    length = len(text)

    def mark_value() -> None:
        if stack:
            path, is_object, slot = stack[-1]
            if not is_object and slot is not None:
                lines.setdefault((*path, slot), line)

    while position < length:
        char = text[position]
        if char == "\n":
            line += 1
        elif char == '"':
            end = position + 1
            while end < length and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            token = text[position + 1 : end]
            if stack and stack[-1][1] and expecting_key:
                path, _is_object, _slot = stack[-1]
                stack[-1] = (path, True, token)
                lines.setdefault((*path, token), line)
                expecting_key = False
            else:
                mark_value()
            position = end
        elif char in "{[":
            mark_value()
            inner: tuple[Part, ...] = ()
            if stack:
                parent, _is_object, slot = stack[-1]
                inner = (*parent, slot) if slot is not None else parent
            stack.append((inner, char == "{", None if char == "{" else 0))
            expecting_key = char == "{"
        elif char in "}]":
            if stack:
                stack.pop()
            expecting_key = False
        elif char == ",":
            if stack:
                path, is_object, slot = stack[-1]
                if is_object:
                    expecting_key = True
                else:
                    stack[-1] = (path, False, (slot if isinstance(slot, int) else 0) + 1)
        elif not char.isspace() and char != ":":
            mark_value()
        position += 1
    return lines
