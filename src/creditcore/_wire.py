"""One JSON form for every public value: :func:`to_jsonable`, its JSON Schema, a pydantic type.

The rules, the same for every value of every module:

- a frozen dataclass (or a slotted class that declares its attributes, such as ``Catalog``)
  becomes an object with one member per field, in declaration order, followed by one member
  per public read-only property (so computed values such as ``markup``,
  ``gross_margin``, ``revenue`` or ``available`` travel with the value);
- ``Decimal`` becomes a string in plain notation (``"0.325"``, never ``"3.25E-1"``), so no JSON
  parser turns money into a binary float; a ``Fraction`` becomes ``"numerator/denominator"``
  (``"3/5"``), or ``"2"`` when whole;
- an aware ``datetime`` becomes ISO 8601 with its offset (``"2026-12-02T07:00:00+00:00"``); a
  ``date`` becomes ``"YYYY-MM-DD"``; a naive datetime is refused (:class:`NaiveDatetime`);
- tuples, lists and sets become arrays; mappings become objects with string keys;
- ``str``, ``int``, ``bool`` and ``None`` stay as they are; a finite ``float`` (coordinates,
  distances in metres) stays a number; NaN and infinities are refused, since JSON has none.

Why one function rather than ``to_dict()`` on each class: the rules above are the same for every
value, so one function states them once (a method per class would be twenty copies to keep in
step), it works on values nested inside mappings and tuples and on values the caller builds
(``{"balance": balance, "hits": hits}``), it can be extended for a new class with
``to_jsonable.register`` without touching the class, and the classes stay plain data.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
from collections.abc import Mapping, Sequence, Set
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from functools import cache, singledispatch
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

from creditcore._exceptions import InvalidInput, NaiveDatetime

__all__ = ["JSONValue", "jsonable_schema", "jsonable_type", "to_jsonable"]

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]
"""What :func:`to_jsonable` returns: ``json.dumps`` takes it as it is."""

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
"""The strings a ``Decimal`` becomes."""
FRACTION_PATTERN = r"^-?[0-9]+(/[0-9]+)?$"
"""The strings a ``Fraction`` becomes."""

DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?[+-][0-9]{2}:[0-9]{2}"
    r"(:[0-9]{2}(\.[0-9]+)?)?$"
)
"""The strings an aware ``datetime`` becomes: ISO 8601 with its UTC offset, always."""
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""The strings a ``date`` becomes."""
TIME_PATTERN = r"^[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([+-][0-9]{2}:[0-9]{2})?$"
"""The strings a ``time`` of day becomes (a wall-clock time: its zone is named beside it)."""

_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@singledispatch
def to_jsonable(value: object) -> JSONValue:
    """The JSON form of a creditcore value (see the module docs for the rules).

    Args:
        value: Any public creditcore value (a ``Balance``, a ``PricePoint``, a ``Hit``, ...), or
            a mapping, tuple or list of them, or a JSON scalar.

    Returns:
        Plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``, ready for
        ``json.dumps``.

    Raises:
        InvalidInput: A value with no JSON form (an arbitrary object, a NaN).
        NaiveDatetime: A datetime without a time zone.

    Example:
        >>> from decimal import Decimal
        >>> to_jsonable({"cost": Decimal("0.038"), "credits": (2, 12)})
        {'cost': '0.038', 'credits': [2, 12]}
    """
    if _is_record(type(value)):
        return _dataclass(value)
    raise InvalidInput(
        f"value: {type(value).__name__} has no JSON form", field="value", type=type(value).__name__
    )


@to_jsonable.register(type(None))
@to_jsonable.register(bool)
@to_jsonable.register(str)
def _scalar(value: str | bool | None) -> JSONValue:
    return value


@to_jsonable.register(int)
def _int(value: int) -> JSONValue:
    return int(value)  # bool is registered apart; an int subclass (IntEnum) becomes a plain int


@to_jsonable.register(float)
def _float(value: float) -> JSONValue:
    if not math.isfinite(value):
        raise InvalidInput(f"value: {value!r} has no JSON form", field="value", value=value)
    return float(value)


@to_jsonable.register(Decimal)
def _decimal(value: Decimal) -> JSONValue:
    if not value.is_finite():
        raise InvalidInput(f"value: {value!r} has no JSON form", field="value", value=str(value))
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


@to_jsonable.register(Fraction)
def _fraction(value: Fraction) -> JSONValue:
    return str(value)


@to_jsonable.register(datetime)
def _datetime(value: datetime) -> JSONValue:
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetime(
            f"value: datetime {value.isoformat()} has no time zone", field="value", value=value
        )
    return value.isoformat()


@to_jsonable.register(date)
def _date(value: date) -> JSONValue:
    return value.isoformat()


@to_jsonable.register(time)
def _time(value: time) -> JSONValue:
    return value.isoformat()


@to_jsonable.register(ZoneInfo)
def _zone(value: ZoneInfo) -> JSONValue:
    return value.key


@to_jsonable.register(Enum)
def _enum(value: Enum) -> JSONValue:
    return to_jsonable(value.value)


@to_jsonable.register(Mapping)
def _mapping(value: Mapping[Any, Any]) -> JSONValue:
    out: dict[str, JSONValue] = {}
    for key, item in value.items():
        if isinstance(key, Enum):
            key = key.value
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise InvalidInput(
                f"value: mapping key {key!r} cannot be a JSON member name", field="value"
            )
        out[str(key)] = to_jsonable(item)
    return out


@to_jsonable.register(tuple)
@to_jsonable.register(list)
def _sequence(value: Sequence[Any]) -> JSONValue:
    return [to_jsonable(item) for item in value]


@to_jsonable.register(Set)
def _set(value: Set[Any]) -> JSONValue:
    items = [to_jsonable(item) for item in value]
    try:
        return sorted(items, key=lambda item: (str(type(item)), item))
    except TypeError:
        return items


def _is_record(cls: type) -> bool:
    """A dataclass, or a slotted class that declares its attributes (``Catalog``)."""
    if dataclasses.is_dataclass(cls):
        return True
    return "__slots__" in vars(cls) and bool(_field_names(cls))


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name, note in vars(klass).get("__annotations__", {}).items():
            if not name.startswith("_") and "ClassVar" not in str(note) and name not in names:
                names.append(name)
    return tuple(names)


@cache
def _members(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Field names, then constant class tags and public property names, in a stable order."""
    fields = _field_names(cls)
    seen = set(fields)
    extra: list[str] = []
    for klass in reversed(cls.__mro__):
        notes = vars(klass).get("__annotations__", {})
        for name, attr in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            tagged = "ClassVar" in str(notes.get(name, "")) and isinstance(attr, str | int)
            if isinstance(attr, property) or tagged:
                seen.add(name)
                extra.append(name)
    return fields, tuple(extra)


def _dataclass(value: Any) -> JSONValue:
    fields, props = _members(type(value))  # type: ignore[arg-type]
    out: dict[str, JSONValue] = {}
    for name in fields:
        out[name] = to_jsonable(getattr(value, name))
    for name in props:
        out[name] = to_jsonable(getattr(value, name))
    return out


# --- JSON Schema --------------------------------------------------------------------------------


def jsonable_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of what :func:`to_jsonable` makes of a ``cls`` value.

    Nested values are inlined (no ``$ref``), so the schema can be embedded as it is in an
    OpenAPI document. Every member is required; no other member is allowed.

    Args:
        cls: A public creditcore value class (a dataclass), e.g. ``creditcore.ledger.Balance``,
            or a type made of them (``tuple[Hit, ...]``, ``creditcore.pricing.Record``).

    Raises:
        InvalidInput: A type with no JSON form.
    """
    schema = _type_schema(cls)
    return {"$schema": _SCHEMA_DIALECT, **schema}


def _hints(cls: type) -> tuple[dict[str, Any], dict[str, Any]]:
    fields, props = _members(cls)
    namespace: dict[str, Any] = {
        "Decimal": Decimal, "Fraction": Fraction, "date": date, "datetime": datetime, "time": time
    }  # fmt: skip
    for klass in reversed(cls.__mro__):  # names a module imports only for type checking
        namespace.update(vars(sys.modules[klass.__module__]))
    hints = get_type_hints(cls, globalns=namespace)
    field_types = {name: hints[name] for name in fields}
    prop_types: dict[str, Any] = {}
    for name in props:
        attr = getattr(cls, name)
        if isinstance(attr, property):
            hint = get_type_hints(attr.fget, globalns=namespace).get("return", Any)
            prop_types[name] = hint
        else:
            prop_types[name] = Literal[attr]
    return field_types, prop_types


def _class_schema(cls: type) -> dict[str, Any]:
    field_types, prop_types = _hints(cls)
    properties = {name: _type_schema(tp) for name, tp in {**field_types, **prop_types}.items()}
    doc = (cls.__doc__ or "").strip().splitlines()
    schema: dict[str, Any] = {"title": cls.__name__, "type": "object"}
    if doc:
        schema["description"] = doc[0]
    schema.update(properties=properties, required=list(properties), additionalProperties=False)
    return schema


def _type_schema(tp: Any) -> dict[str, Any]:
    origin = get_origin(tp)
    if tp is Any or tp is object:
        return {}
    if tp is type(None) or tp is None:
        return {"type": "null"}
    if origin is Annotated:
        return _type_schema(get_args(tp)[0])
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin is Union or origin is types.UnionType:
        options = [_type_schema(arg) for arg in get_args(tp)]
        return {"anyOf": options}
    if origin in (tuple,):
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type_schema(args[0])}
        if not args:
            return {"type": "array"}
        return {
            "type": "array",
            "prefixItems": [_type_schema(a) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin in (list, Sequence, set, frozenset, Set) or tp in (list, tuple):
        args = get_args(tp)
        return {"type": "array", "items": _type_schema(args[0])} if args else {"type": "array"}
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        args = get_args(tp)
        value = _type_schema(args[1]) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": value}
    if isinstance(tp, type):
        return _plain_schema(tp)
    raise InvalidInput(f"type {tp!r} has no JSON Schema here", field="type")  # pragma: no cover


def _plain_schema(tp: type) -> dict[str, Any]:
    if issubclass(tp, bool):
        return {"type": "boolean"}
    if issubclass(tp, int):
        return {"type": "integer"}
    if issubclass(tp, float):
        return {"type": "number"}
    if issubclass(tp, str):
        return {"type": "string"}
    if issubclass(tp, Decimal):
        return {"type": "string", "pattern": DECIMAL_PATTERN}
    if issubclass(tp, Fraction):
        return {"type": "string", "pattern": FRACTION_PATTERN}
    if issubclass(tp, datetime):
        return {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}
    if issubclass(tp, date):
        return {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    if issubclass(tp, time):
        return {"type": "string", "pattern": TIME_PATTERN}
    if issubclass(tp, ZoneInfo):
        return {"type": "string", "description": "an IANA time zone name"}
    if issubclass(tp, Enum):
        return {"enum": [to_jsonable(member.value) for member in tp]}
    if _is_record(tp):
        return _class_schema(tp)
    raise InvalidInput(f"type {tp.__name__} has no JSON Schema here", field="type")


# --- pydantic / FastAPI -------------------------------------------------------------------------


def jsonable_type(cls: type) -> Any:
    """A type for pydantic and FastAPI whose JSON is exactly :func:`to_jsonable`'s.

    Use it as a FastAPI ``response_model`` (or a pydantic field type): the endpoint returns the
    creditcore value itself; the answer is its one JSON form, and the OpenAPI document carries
    :func:`jsonable_schema`::

        @app.get("/balance/{user_id}", response_model=jsonable_type(Balance))
        def balance(user_id: str) -> Balance:
            return ledger.balance(user_id)

    Without it, pydantic serialises a dataclass from its fields alone: ``Fraction`` s become
    ``"3/5"`` strings but every property (``markup``, ``gross_margin``, ...) is dropped.

    Args:
        cls: A public creditcore value class.

    Returns:
        ``Annotated[cls, ...]`` carrying the validator (an ``isinstance`` check), the serialiser
        and the JSON Schema.
    """
    from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

    schema = jsonable_schema(cls)
    schema.pop("$schema", None)

    def check(value: object) -> object:
        if not isinstance(value, cls):
            raise ValueError(f"expected a {cls.__name__}, got {type(value).__name__}")
        return value

    return Annotated[
        cls,
        PlainValidator(check),
        PlainSerializer(to_jsonable, return_type=Any),
        WithJsonSchema(schema),
    ]
