"""Reading catalog files (TOML, JSON) with strict checks that report every problem in one run.

Each entry is checked on its own against the models of :mod:`._schema`, so one bad row does
not hide the problems of the others; then the entries that passed are checked against each
other (duplicate ids, unknown tier models, ...). Everything found is raised together as one
:class:`InvalidCatalog` whose ``problems`` are ``(path, code, message)`` triples.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from creditcore._exceptions import InvalidCatalog, InvalidInput
from creditcore._pricing._catalog import Catalog
from creditcore._pricing._consistency import Triple, consistency_problems
from creditcore._pricing._money import Money
from creditcore._pricing._offers import LootboxOffer
from creditcore._pricing._operations import Operation
from creditcore._pricing._packs import CreditPack
from creditcore._pricing._policy import DEFAULT_CHANNEL_SPREAD, MarginPolicy
from creditcore._pricing._schema import (
    CatalogFile,
    OfferSpec,
    OperationSpec,
    PackSpec,
    PolicySpec,
    SubscriptionSpec,
    TierSpec,
    WeeklyWindowSpec,
)
from creditcore._pricing._tiers import Tier
from creditcore._pricing._windows import (
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


def _describe_input(value: object) -> str:
    if isinstance(value, Decimal):
        return f"the float {value}"
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
        return path, "too_large", f"must be ≤ {context.get('le')}, got {value!r}"
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
            problems.append(
                (_path([key, index, *([field] if field else [])]), error.code, str(error))
            )
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


_SECTIONS = ("currency", "subscription", "policy", "operations", "tiers", "packs", "offers")


def _document_order(problem: Triple) -> tuple[int, int]:
    path = problem[0]
    head = path.split(".", 1)[0].split("[", 1)[0]
    rank = _SECTIONS.index(head) if head in _SECTIONS else len(_SECTIONS)
    index = int(path.split("[", 1)[1].split("]", 1)[0]) if "[" in path.split(".", 1)[0] else -1
    return rank, index


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


def catalog_from_data(data: object, *, source: str | None = None) -> Catalog:
    """Build a catalog from already-parsed data (the dict of a TOML or JSON document).

    Raises:
        InvalidCatalog: Every problem found, each with its path.
    """
    problems: list[Triple] = []
    if not isinstance(data, Mapping):
        raise InvalidCatalog(
            [("", "wrong_type", "a catalog must be a table/object")], source=source
        )
    for key in data:
        if key not in CatalogFile.model_fields:
            allowed = ", ".join(CatalogFile.model_fields)
            problems.append((str(key), "unknown_key", f"unknown key (allowed: {allowed})"))
    currency = data.get("currency", "USD")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        problems.append(
            ("currency", "bad_currency", f'must be a code such as "USD", got {currency!r}')
        )
        currency = "USD"
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
        raise InvalidCatalog(sorted(problems, key=_document_order), source=source)
    return Catalog(
        operations=[item for _index, item in operations],
        tiers=[item for _index, item in tiers],
        packs=[item for _index, item in packs],
        offers=[item for _index, item in offers],
        subscription_credit_value=None if subscription is None else subscription.credit_value,
        currency=currency,
        policy=None if policy_spec is None else _policy(policy_spec),
    )


def _parse(text: str, format: Format, source: str | None) -> object:
    if format not in ("toml", "json"):
        message = f'format must be "toml" or "json", got {format!r}'
        raise InvalidCatalog([("", "bad_format", message)], source=source)
    try:
        if format == "toml":
            return tomllib.loads(text, parse_float=Decimal)
        return json.loads(text, parse_float=Decimal)
    # ValueError covers both decode errors and ints past Python's digit limit; RecursionError
    # is what a document nested thousands deep raises.
    except (ValueError, RecursionError) as error:
        raise InvalidCatalog(
            [("", "syntax_error", f"not valid {format.upper()}: {error}")], source=source
        ) from None


def loads_catalog(text: str, format: Format = "toml", *, source: str | None = None) -> Catalog:
    """Build a catalog from TOML or JSON text (floats are read as ``Decimal``, then refused).

    Raises:
        InvalidCatalog: A syntax error, or every problem of the document.
    """
    if not isinstance(text, str):
        found = type(text).__name__
        raise InvalidCatalog([("", "not_text", f"text must be str, got {found}")], source=source)
    return catalog_from_data(_parse(text, format, source), source=source)


def load_catalog(path: str | os.PathLike[str]) -> Catalog:
    """Read a catalog file: ``.json`` as JSON, anything else as TOML.

    Raises:
        InvalidCatalog: Every problem of the file, each with its path.
        OSError: The file cannot be read.
    """
    file = Path(path)
    format: Format = "json" if file.suffix.lower() == ".json" else "toml"
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidCatalog(
            [("", "not_utf8", f"not UTF-8 text: {error}")], source=str(file)
        ) from None
    return loads_catalog(text, format, source=str(file))
