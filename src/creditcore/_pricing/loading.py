"""Reading catalog files (TOML, JSON) with strict checks that report every problem in one run.

Each entry is checked on its own against the models of :mod:`.schema`, so one bad row does
not hide the problems of the others; then the entries that passed are checked against each
other (duplicate ids, unknown tier models, ...). Everything found is raised together as one
:class:`InvalidCatalog` whose ``problems`` are :class:`~creditcore.pricing.Problem` s in
document order, each with its line when the catalog was read from text.

Data built in Python may give money and ratios as ``Decimal``, ``Fraction`` (when it has an
exact decimal form) or ``Money``, like every other entry point; only a *float* is refused, and a
float of a TOML or JSON file is refused by path (it is read as a ``Decimal`` subclass that marks
it as a float of the file, so the message can name the value as written).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from creditcore._exceptions import InvalidCatalog, InvalidInput
from creditcore._limits import MAX_CREDITS
from creditcore._pricing.catalog import Catalog
from creditcore._pricing.consistency import Triple, consistency_problems
from creditcore._pricing.locate import Part, document_order, json_lines, line_of, toml_lines
from creditcore._pricing.money import Money, parse_decimal
from creditcore._pricing.offers import LootboxOffer
from creditcore._pricing.operations import Operation
from creditcore._pricing.packs import CreditPack
from creditcore._pricing.policy import DEFAULT_CHANNEL_SPREAD, MarginPolicy
from creditcore._pricing.problem import DOCUMENT, Problem
from creditcore._pricing.schema import (
    CatalogFile,
    OfferSpec,
    OperationSpec,
    PackSpec,
    PolicySpec,
    SubscriptionSpec,
    TierSpec,
    WeeklyWindowSpec,
)
from creditcore._pricing.tiers import Tier
from creditcore._pricing.windows import (
    MonthlyWindow,
    WeeklyWindow,
    parse_clock,
    parse_weekday_clock,
)

__all__ = ["catalog_from_data", "load_catalog", "loads_catalog"]

Format = Literal["toml", "json"]
_Spec = TypeVar("_Spec", bound=BaseModel)
_Item = TypeVar("_Item")


def _path(parts: Sequence[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class FileFloat(Decimal):
    """A float as written in a TOML or JSON file, read exactly (so it can be refused by path)."""

    __slots__ = ()


_MONEY_KEYS = frozenset({"api_cost", "price", "credit_value", "floor", "target", "channel_spread"})
"""Keys whose values are amounts or ratios: given as text in files, as numbers from Python."""


def _as_text(value: object, path: str, currency: str, problems: list[Triple]) -> object:
    """A Python number or ``Money`` where an amount is expected, as the text a file would hold."""
    if isinstance(value, FileFloat | bool | float):
        return value  # refused by the schema with its path ("got the float 0.5")
    if isinstance(value, Money):
        if value.currency != currency:
            problems.append(
                (path, "currency_mismatch", f"must be in {currency}, got {value.currency}")
            )
        return str(value.amount)
    if isinstance(value, Decimal | Fraction):
        try:
            return str(parse_decimal(value, path))
        except InvalidInput as error:
            problems.append((path, "not_a_number", str(error).split(": ", 1)[-1]))
            return str(value)
    return value


def _normalise(data: object, path: Sequence[Part], currency: str, problems: list[Triple]) -> object:
    """``data`` with every amount given as a Python number turned into text (see above)."""
    if isinstance(data, Mapping):
        result: dict[object, object] = {}
        for key, value in data.items():
            where = [*path, str(key)]
            if key in _MONEY_KEYS and isinstance(value, list):
                result[key] = [
                    _as_text(item, _path([*where, index]), currency, problems)
                    for index, item in enumerate(value)
                ]
            elif key in _MONEY_KEYS:
                result[key] = _as_text(value, _path(where), currency, problems)
            else:
                result[key] = _normalise(value, where, currency, problems)
        return result
    if isinstance(data, list):
        return [
            _normalise(item, [*path, index], currency, problems) for index, item in enumerate(data)
        ]
    return data


def _describe_input(value: object) -> str:
    if isinstance(value, FileFloat | float):
        return f"the float {value}"
    if isinstance(value, Decimal | Fraction):
        return f"{type(value).__name__} {str(value)!r}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"{type(value).__name__} {value!r}" if not isinstance(value, str) else repr(value)


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "date_type": "a date",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "datetime_type": "a date-time with an offset",
    "datetime_parsing": "a date-time with an offset",
    "datetime_from_date_parsing": "a date-time with an offset",
    "bool_type": "a boolean",
}


def _translate(error: ErrorDetails, prefix: Sequence[str | int]) -> Triple:
    """One pydantic error as ``(path, code, message)`` in creditcore's words."""
    kind, value, context = error["type"], error.get("input"), error.get("ctx", {})
    location = list(error["loc"])
    # A discriminated union adds its tag ("weekly") to the location; drop it.
    location = [
        part
        for position, part in enumerate(location)
        if not (position and location[position - 1] == "window" and part in ("weekly", "monthly"))
    ]
    path = _path([*prefix, *location])
    money_field = bool(location) and location[-1] in ("api_cost", "price", "credit_value")
    if kind == "string_type" and money_field:
        return (
            path,
            "money_not_string",
            (f'money must be a string such as "0.038", got {_describe_input(value)}'),
        )
    if kind == "missing":
        return path, "missing", "is required"
    if kind == "extra_forbidden":
        return path, "unknown_key", f"unknown key (value {_describe_input(value)})"
    if kind in _EXPECTED:
        return path, "wrong_type", f"must be {_EXPECTED[kind]}, got {_describe_input(value)}"
    if kind == "greater_than_equal":
        return path, "too_small", f"must be ≥ {context.get('ge')}, got {value!r}"
    if kind == "less_than_equal":
        bound = context.get("le")
        named = " (MAX_CREDITS, the ledger's bound)" if bound == MAX_CREDITS else ""
        return path, "too_large", f"must be ≤ {bound}{named}, got {value!r}"
    if kind == "string_pattern_mismatch":
        return path, "bad_format", f"does not have the expected form, got {value!r}"
    if kind == "string_too_short":
        return path, "empty", "must not be empty"
    if kind in ("too_short", "too_long"):
        return path, "wrong_length", f"has the wrong number of items, got {value!r}"
    if kind == "timezone_aware":
        return path, "naive_datetime", f"needs a UTC offset, got {value!r}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return (
            path + ".kind",
            "bad_window_kind",
            (f'kind must be "weekly" or "monthly", got {_describe_input(context.get("tag"))}'),
        )
    return path, kind, error["msg"]


def _check(
    model: type[_Spec], raw: object, prefix: Sequence[str | int], problems: list[Triple]
) -> _Spec | None:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        seen: set[Triple] = set()
        for detail in error.errors(include_url=False):
            triple = _translate(detail, prefix)
            if triple not in seen:  # a union reports each arm; keep one line per problem
                seen.add(triple)
                problems.append(triple)
        return None


def _entries(
    data: Mapping[str, Any],
    key: str,
    model: type[_Spec],
    build: Callable[[_Spec], _Item],
    problems: list[Triple],
) -> list[tuple[int, _Item]]:
    raw = data.get(key, [])
    if not isinstance(raw, list):
        problems.append(
            (key, "wrong_type", f"must be an array of tables, got {_describe_input(raw)}")
        )
        return []
    built: list[tuple[int, _Item]] = []
    for index, entry in enumerate(raw):
        spec = _check(model, entry, [key, index], problems)
        if spec is None:
            continue
        try:
            built.append((index, build(spec)))
        except InvalidInput as error:  # a rule the schema does not express
            field = str(error.context.get("field", ""))
            code = str(error.context.get("problem", error.code))
            message = str(error)
            if field and message.startswith(f"{field}: "):
                message = message[len(field) + 2 :]  # the path already names the field
            problems.append((_path([key, index, *([field] if field else [])]), code, message))
    return built


def _unchecked_duplicates(raw: object, loaded: Sequence[tuple[int, Operation]]) -> list[Triple]:
    """Duplicate ids among rows that failed their own checks (so the cross-checks skipped them).

    Such a row counts only when it has no validity bounds: it then overlaps any row with its id.
    """
    if not isinstance(raw, list):
        return []
    loaded_indices = {index for index, _operation in loaded}
    first_seen: dict[str, int] = {}
    found: list[Triple] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            continue
        operation_id = entry["id"]
        unbounded = "valid_from" not in entry and "valid_to" not in entry
        if index not in loaded_indices and unbounded and operation_id in first_seen:
            found.append(
                (
                    f"operations[{index}].id",
                    "duplicate_operation",
                    f"{operation_id!r} is already operations[{first_seen[operation_id]}] with an "
                    "overlapping validity (a price change is a new row with "
                    "non-overlapping valid_from/valid_to)",
                )
            )
        first_seen.setdefault(operation_id, index)
    return found


def _window(spec: OfferSpec) -> WeeklyWindow | MonthlyWindow:
    window = spec.window
    if isinstance(window, WeeklyWindowSpec):
        start_day, start = parse_weekday_clock(window.start, "window.start")
        end_day, end = parse_weekday_clock(window.end, "window.end")
        return WeeklyWindow(start_day, start, end_day, end)
    return MonthlyWindow(
        window.start_day,
        parse_clock(window.start, "window.start"),
        window.end_day,
        parse_clock(window.end, "window.end"),
    )


def _policy(spec: PolicySpec) -> MarginPolicy:
    target: str | tuple[str, str] | None = (
        (spec.target[0], spec.target[1]) if isinstance(spec.target, list) else spec.target
    )
    spread = DEFAULT_CHANNEL_SPREAD if spec.channel_spread is None else spec.channel_spread
    return MarginPolicy(spec.floor, target, channel_spread=spread)


def _ordered(
    problems: Sequence[Triple], data: object, lines: Mapping[tuple[Part, ...], int] | None
) -> list[Problem]:
    """The problems in document order (stable: one place's problems keep the order found)."""
    found = [
        Problem(path, code, message, line=None if lines is None else line_of(lines, path))
        for path, code, message in problems
    ]
    return sorted(found, key=lambda problem: document_order(data, problem.path))


def catalog_from_data(data: object, *, source: str | None = None) -> Catalog:
    """Build a catalog from already-parsed data (the dict of a TOML or JSON document).

    Money and ratios may be given as text (as in a file), or from Python as ``Decimal``,
    ``Fraction`` (with an exact decimal form) or ``Money`` in the catalog's currency; a float is
    refused by path.

    Raises:
        InvalidCatalog: Every problem found, each with its path, in document order.
    """
    return _from_data(data, source=source, lines=None)


def _from_data(
    raw: object, *, source: str | None, lines: Mapping[tuple[Part, ...], int] | None
) -> Catalog:
    problems: list[Triple] = []
    if not isinstance(raw, Mapping):
        raise InvalidCatalog(
            [(DOCUMENT, "wrong_type", "a catalog must be a table/object")], source=source
        )
    for key in raw:
        if key not in CatalogFile.model_fields:
            allowed = ", ".join(CatalogFile.model_fields)
            problems.append((str(key), "unknown_key", f"unknown key (allowed: {allowed})"))
    currency = raw.get("currency", "USD")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        problems.append(
            ("currency", "bad_currency", f'must be a code such as "USD", got {currency!r}')
        )
        currency = "USD"
    normalised = _normalise(raw, [], currency, problems)
    assert isinstance(normalised, Mapping)
    data: Mapping[str, Any] = normalised
    if "operations" not in data:
        problems.append(("operations", "missing", "is required (at least one [[operations]])"))
    subscription = None
    if "subscription" in data:
        subscription = _check(SubscriptionSpec, data["subscription"], ["subscription"], problems)
    policy_spec = None
    if "policy" in data:
        policy_spec = _check(PolicySpec, data["policy"], ["policy"], problems)

    def money(amount: str) -> Money:
        return Money(Decimal(amount), currency)

    def operation(spec: OperationSpec) -> Operation:
        return Operation(
            spec.id,
            spec.provider,
            spec.model,
            spec.variant,
            spec.kind,
            money(spec.api_cost),
            spec.credits,
            spec.source,
            spec.observed,
            spec.valid_from,
            spec.valid_to,
        )

    def tier(spec: TierSpec) -> Tier:
        price = None if spec.price is None else money(spec.price)
        return Tier(spec.name, spec.monthly_credits, price, tuple(spec.models))

    def pack(spec: PackSpec) -> CreditPack:
        return CreditPack(
            spec.id, spec.name, spec.credits, money(spec.price), tuple(spec.price_ids)
        )

    def offer(spec: OfferSpec) -> LootboxOffer:
        return LootboxOffer(
            spec.id,
            spec.name,
            spec.credits,
            money(spec.price),
            spec.timezone,
            _window(spec),
            tuple(spec.price_ids),
        )

    operations = _entries(data, "operations", OperationSpec, operation, problems)
    tiers = _entries(data, "tiers", TierSpec, tier, problems)
    packs = _entries(data, "packs", PackSpec, pack, problems)
    offers = _entries(data, "offers", OfferSpec, offer, problems)
    raw_operations = data.get("operations", [])
    extra_models = (
        [
            entry["model"]
            for entry in raw_operations
            if isinstance(entry, Mapping) and isinstance(entry.get("model"), str)
        ]
        if isinstance(raw_operations, list)
        else []
    )
    problems += consistency_problems(
        currency=currency,
        operations=operations,
        tiers=tiers,
        packs=packs,
        offers=offers,
        extra_models=extra_models,
    )
    problems += _unchecked_duplicates(raw_operations, operations)
    if problems:
        raise InvalidCatalog(_ordered(problems, raw, lines), source=source)
    return Catalog(
        operations=[item for _index, item in operations],
        tiers=[item for _index, item in tiers],
        packs=[item for _index, item in packs],
        offers=[item for _index, item in offers],
        subscription_credit_value=None if subscription is None else subscription.credit_value,
        currency=currency,
        policy=None if policy_spec is None else _policy(policy_spec),
    )


_AT_LINE = re.compile(r"at line (\d+)")


def _parse(text: str, format: Format, source: str | None) -> object:
    if format not in ("toml", "json"):
        message = f'format must be "toml" or "json", got {format!r}'
        raise InvalidCatalog([(DOCUMENT, "bad_format", message)], source=source)
    try:
        if format == "toml":
            return tomllib.loads(text, parse_float=FileFloat)
        return json.loads(text, parse_float=FileFloat)
    # ValueError covers both decode errors and ints past Python's digit limit; RecursionError
    # is what a document nested thousands deep raises.
    except (ValueError, RecursionError) as error:
        found = _AT_LINE.search(str(error))
        line = getattr(error, "lineno", None) or (int(found.group(1)) if found else None)
        problem = Problem(
            DOCUMENT, "syntax_error", f"not valid {format.upper()}: {error}", line=line
        )
        raise InvalidCatalog([problem], source=source) from None


def loads_catalog(text: str, format: Format = "toml", *, source: str | None = None) -> Catalog:
    """Build a catalog from TOML or JSON text (floats are read exactly, then refused by path).

    Every problem carries the line of the text where its path is written.

    Raises:
        InvalidCatalog: A syntax error, or every problem of the document, in document order.
    """
    if not isinstance(text, str):
        found = type(text).__name__
        raise InvalidCatalog(
            [(DOCUMENT, "not_text", f"text must be str, got {found}")], source=source
        )
    data = _parse(text, format, source)
    lines = toml_lines(text) if format == "toml" else json_lines(text)
    return _from_data(data, source=source, lines=lines)


def load_catalog(path: str | os.PathLike[str]) -> Catalog:
    """Read a catalog file: ``.json`` as JSON, anything else as TOML.

    Raises:
        InvalidCatalog: Every problem of the file, each with its path and line; the error's
            ``source`` is the file's path.
        OSError: The file cannot be read.
    """
    file = Path(path)
    format: Format = "json" if file.suffix.lower() == ".json" else "toml"
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidCatalog(
            [(DOCUMENT, "not_utf8", f"not UTF-8 text: {error}")], source=str(file)
        ) from None
    return loads_catalog(text, format, source=str(file))
