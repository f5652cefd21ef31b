"""A Mapbox Vector Tile (protobuf, specification 2.1) encoder for layers of points.

Written for clustered points, where it is several times faster than a general encoder (see
``benchmarks/geo_tiles.py``): each feature is one ``MoveTo`` and its properties, keys and
values are interned per layer. Property values are written the way ``vt-pbf`` (what
supercluster and MapLibre GL JS use) writes them: strings as ``string_value``, booleans as
``bool_value``, integral numbers as ``uint_value`` or ``sint_value``, other numbers as
``double_value``; ``None`` is left out and any other value (a list, a dict) is written as its
JSON text. The test suite decodes these tiles with ``mapbox-vector-tile``, an independent
decoder.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["MEDIA_TYPE", "PointFeature", "encode_point_layer", "encode_tile"]

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

PointFeature = tuple[int | None, int, int, Mapping[str, Any] | None]
"""``(id, x, y, properties)``: an optional unsigned id, tile coordinates, properties."""

_DOUBLE = struct.Struct("<d")
_SMALL = [bytes([i]) for i in range(128)]
_UINT64 = 1 << 64
_INT64 = 1 << 63


def _varint(n: int) -> bytes:
    if n < 128:
        return _SMALL[n]
    out = bytearray()
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) if n >= 0 else ((-n) << 1) - 1


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: its key byte, the length, the bytes."""
    return _SMALL[tag] + _varint(len(payload)) + payload


def _value(value: object) -> tuple[object, bytes] | None:
    """The interning key and the encoded ``Value`` message of a property value."""
    if value is None:
        return None
    if isinstance(value, str):
        return ("s", value), _field(0x0A, value.encode())
    if isinstance(value, bool):
        return ("b", value), b"\x38" + _SMALL[int(value)]
    if isinstance(value, int) and -_INT64 <= value < _UINT64:
        if value >= 0:
            return ("i", value), b"\x28" + _varint(value)
        return ("i", value), b"\x30" + _varint(_zigzag(value))
    if isinstance(value, float | int):
        number = float(value)
        if math.isfinite(number) and number.is_integer() and abs(number) < 2.0**63:
            return _value(int(number))
        return ("d", number), b"\x19" + _DOUBLE.pack(number)
    if isinstance(value, Decimal):
        return _value(str(value))
    text = json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    return _value(text)


def encode_point_layer(name: str, extent: int, features: Iterable[PointFeature]) -> bytes:
    """One ``Layer`` message of point features.

    Args:
        name: The layer name (a map style's ``source-layer``).
        extent: Tile extent in tile coordinates (the layer's ``extent``).
        features: ``(id, x, y, properties)`` tuples; ``id`` None writes no id.

    Returns:
        The layer's bytes, without the enclosing ``Tile`` field (see :func:`encode_tile`).
    """
    keys: dict[str, int] = {}
    values: dict[object, int] = {}
    value_bytes: list[bytes] = []
    parts: list[bytes] = [b"\x78\x02", _field(0x0A, name.encode())]
    for ident, x, y, props in features:
        tags = bytearray()
        if props:
            for key, raw in props.items():
                encoded = _value(raw)
                if encoded is None:
                    continue
                k = keys.get(key)
                if k is None:
                    k = keys[key] = len(keys)
                v = values.get(encoded[0])
                if v is None:
                    v = values[encoded[0]] = len(value_bytes)
                    value_bytes.append(encoded[1])
                tags += _varint(k) if k >= 128 else _SMALL[k]
                tags += _varint(v) if v >= 128 else _SMALL[v]
        geometry = b"\x09" + _varint(_zigzag(x)) + _varint(_zigzag(y))
        body = b"\x08" + _varint(ident) if ident is not None else b""
        if tags:
            body += _field(0x12, bytes(tags))
        body += b"\x18\x01" + _field(0x22, geometry)
        parts.append(_field(0x12, body))
    parts.extend(_field(0x1A, key.encode()) for key in keys)
    parts.extend(_field(0x22, v) for v in value_bytes)
    parts.append(b"\x28" + _varint(int(extent)))
    return b"".join(parts)


def encode_tile(layers: Iterable[bytes]) -> bytes:
    """A ``Tile`` message from encoded layers (see :func:`encode_point_layer`)."""
    return b"".join(_field(0x1A, layer) for layer in layers)
