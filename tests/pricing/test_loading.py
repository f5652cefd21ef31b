"""Catalog files: TOML and JSON, strict checks reporting every problem at once, round trips."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from creditcore import InvalidCatalog
from creditcore.pricing import (
    catalog_from_data,
    catalog_to_toml,
    example_catalog,
    json_schema,
    load_catalog,
    loads_catalog,
)
from tests.strategies.pricing import WHOLE_CATALOG_SETTINGS, catalog_documents

THREE_PROBLEMS = """
[subscription]
credit_value = "0.02"

[[operations]]
id = "a"
provider = "wavespeed"
model = "m-a"
kind = "image"
api_cost = "0.01"
credits = 1

[[operations]]
id = "b"
provider = "wavespeed"
model = "m-b"
kind = "image"
api_cost = "0.01"
credits = 1

[[operations]]
id = "c"
provider = "wavespeed"
model = "m-c"
kind = "image"
api_cost = "-1"
credits = 1

[[operations]]
id = "b"
provider = "wavespeed"
model = "m-b"
kind = "video"
api_cost = "0.02"
credits = 2

[[tiers]]
name = "FREE"
monthly_credits = 15
models = ["m-a", "kling"]
"""


def _problems(text: str, format: str = "toml") -> list[tuple[str, str, str]]:
    with pytest.raises(InvalidCatalog) as error:
        loads_catalog(text, format)  # type: ignore[arg-type]
    return [(p.path, p.code, p.message) for p in error.value.problems]


def test_negative_cost_unknown_model_and_duplicate_id_are_all_reported() -> None:
    problems = _problems(THREE_PROBLEMS)
    assert [(path, code) for path, code, _ in problems] == [
        ("operations[2].api_cost", "negative"),
        ("operations[3].id", "duplicate_operation"),
        ("tiers[0].models[1]", "unknown_model"),
    ]
    assert f"{problems[0][0]}: {problems[0][2]}" == "operations[2].api_cost: must be ≥ 0, got -1"


def test_a_float_where_money_is_expected_names_its_path() -> None:
    text = THREE_PROBLEMS.replace('api_cost = "0.01"', "api_cost = 0.01", 1)
    path, code, message = _problems(text)[0]
    assert (path, code) == ("operations[0].api_cost", "money_not_string")
    assert "0.01" in message
    assert "float" in message


def test_unknown_keys_are_errors_at_every_level() -> None:
    text = 'colour = "red"\n' + THREE_PROBLEMS.replace(
        'credit_value = "0.02"', 'credit_value = "0.02"\nvalue = "1"'
    )
    codes = {(path, code) for path, code, _ in _problems(text)}
    assert ("colour", "unknown_key") in codes
    assert ("subscription.value", "unknown_key") in codes


def test_bad_shapes_are_reported_with_paths() -> None:
    document: dict[str, Any] = {
        "operations": [
            {"id": "x", "provider": "p", "model": "m", "kind": "image", "credits": 1.5},
            "not a table",
        ],
        "tiers": [{"name": "T", "monthly_credits": -1, "models": "m"}],
        "offers": [
            {
                "id": "o",
                "name": "O",
                "credits": 1,
                "price": "1",
                "timezone": "Nowhere/City",
                "window": {
                    "kind": "monthly",
                    "start_day": 32,
                    "start": "24:00",
                    "end_day": 1,
                    "end": "00:00",
                },
            }
        ],
    }
    with pytest.raises(InvalidCatalog) as error:
        catalog_from_data(document)
    found = {(p.path, p.code) for p in error.value.problems}
    assert found == {
        ("operations[0].api_cost", "missing"),
        ("operations[0].credits", "wrong_type"),
        ("operations[1]", "wrong_type"),
        ("tiers[0].monthly_credits", "too_small"),
        ("tiers[0].models", "wrong_type"),
        ("offers[0].timezone", "unknown_timezone"),
        ("offers[0].window.start_day", "too_large"),
        ("offers[0].window.start", "bad_time"),
    }


def test_naive_validity_and_empty_periods_are_refused() -> None:
    row = {"id": "x", "provider": "p", "model": "m", "kind": "image", "api_cost": "1", "credits": 1}
    naive = {**row, "valid_from": "2026-01-01T00:00:00"}
    empty = {
        **row,
        "id": "y",
        "valid_from": "2026-02-01T00:00:00Z",
        "valid_to": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(InvalidCatalog) as error:
        catalog_from_data({"operations": [naive, empty]})
    assert [(p.path, p.code) for p in error.value.problems] == [
        ("operations[0]", "naive_datetime"),
        ("operations[1]", "empty_validity"),
    ]


def test_syntax_errors_are_one_problem() -> None:
    assert [code for _, code, _ in _problems("[[operations]\n")] == ["syntax_error"]
    assert [code for _, code, _ in _problems("{", "json")] == ["syntax_error"]


def test_json_floats_are_refused_as_money_too() -> None:
    document = json.dumps(
        {
            "operations": [
                {
                    "id": "x",
                    "provider": "p",
                    "model": "m",
                    "kind": "image",
                    "api_cost": 0.5,
                    "credits": 1,
                }
            ]
        }
    )
    assert [(p, c) for p, c, _ in _problems(document, "json")] == [
        ("operations[0].api_cost", "money_not_string")
    ]


def test_load_catalog_reads_toml_and_json_files(tmp_path: Path) -> None:
    toml_file = tmp_path / "catalog.toml"
    toml_file.write_text(catalog_to_toml(example_catalog()), encoding="utf-8")
    json_file = tmp_path / "catalog.json"
    data = {
        "subscription": {"credit_value": "0.02"},
        "operations": [
            {
                "id": "seedream-v4",
                "provider": "wavespeed",
                "model": "seedream-v4",
                "kind": "image",
                "api_cost": "0.027",
                "credits": 2,
            }
        ],
    }
    json_file.write_text(json.dumps(data), encoding="utf-8")
    assert load_catalog(toml_file) == example_catalog()
    from_json = load_catalog(json_file)
    assert from_json.price("seedream-v4").gross_margin == Decimal("0.325")
    with pytest.raises(FileNotFoundError):
        load_catalog(tmp_path / "missing.toml")
    with pytest.raises(InvalidCatalog) as error:
        loads_catalog("x = ", source="f.toml")
    assert error.value.source == "f.toml"


def test_example_round_trips_through_the_toml_emitter() -> None:
    catalog = example_catalog()
    assert loads_catalog(catalog_to_toml(catalog)) == catalog


@WHOLE_CATALOG_SETTINGS
@given(catalog_documents())
def test_any_valid_catalog_round_trips_through_toml(document: dict[str, Any]) -> None:
    catalog = catalog_from_data(document)
    assert loads_catalog(catalog_to_toml(catalog)) == catalog


def test_json_schema_describes_the_format() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "currency",
        "subscription",
        "policy",
        "operations",
        "tiers",
        "packs",
        "offers",
    }
    operation = schema["$defs"]["OperationSpec"]
    assert operation["properties"]["api_cost"]["type"] == "string"
    assert {"id", "api_cost", "credits"} <= set(operation["required"])
    # The one credit bound of the ledger (2**53 - 1) is in the schema editors see.
    assert operation["properties"]["credits"]["maximum"] == 2**53 - 1
    tier = schema["$defs"]["TierSpec"]["properties"]["monthly_credits"]
    assert (tier["minimum"], tier["maximum"]) == (0, 2**53 - 1)


@pytest.mark.parametrize("text", [None, b"currency = 'USD'", 5])
def test_non_text_is_refused_as_a_catalog_problem(text: object) -> None:
    with pytest.raises(InvalidCatalog) as caught:
        loads_catalog(text, source="f.toml")  # type: ignore[arg-type]
    assert [p.code for p in caught.value.problems] == ["not_text"]
    assert type(text).__name__ in caught.value.message


@pytest.mark.parametrize(
    ("text", "format"),
    [
        ("[" * 100_000 + "]" * 100_000, "json"),
        ("a = " + "[" * 100_000 + "]" * 100_000, "toml"),
        ('{"currency": 1' + "0" * 5_000 + "}", "json"),
    ],
    ids=["json-nested-deep", "toml-nested-deep", "json-int-past-digit-limit"],
)
def test_pathological_documents_are_syntax_errors(text: str, format: str) -> None:
    assert [code for _path, code, _message in _problems(text, format)] == ["syntax_error"]


@pytest.mark.parametrize("format", ["yaml", "", None])
def test_an_unknown_format_is_refused_not_guessed(format: object) -> None:
    problems = _problems(json.dumps({"currency": "USD"}), format)  # type: ignore[arg-type]
    assert [code for _path, code, _message in problems] == ["bad_format"]
    assert repr(format) in problems[0][2]
