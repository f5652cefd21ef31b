"""``creditcore pricing ...`` and the pricing part of ``creditcore demo``: output and exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from creditcore._cli.app import main
from creditcore.pricing import example_catalog, loads_catalog
from tests.pricing.test_loading import THREE_PROBLEMS


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def example_file(tmp_path: Path) -> Path:
    code, text = run("pricing", "example")
    assert code == 0
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_report_table_shows_both_ratios_to_four_places() -> None:
    code, text = run("pricing", "report")
    assert code == 0
    seedream = next(line for line in text.splitlines() if line.startswith("seedream-v4"))
    assert seedream.split() == [
        "seedream-v4",
        "subscription",
        "0.027",
        "2",
        "0.04",
        "0.4815",
        "0.3250",
    ]
    assert " margin " not in text.replace("gross margin", "")  # never a bare "margin"


def test_report_json_rows() -> None:
    code, text = run("pricing", "report", "--format", "json")
    assert code == 0
    document = json.loads(text)
    rows = {row["operation"]: row for row in document["rows"]}
    assert set(rows["seedream-v4"]) == {
        "operation",
        "channel",
        "cost",
        "credits",
        "revenue",
        "markup",
        "gross_margin",
    }
    assert rows["seedream-v4"]["gross_margin"] == "0.3250"
    assert rows["seedream-v4"]["markup"] == "0.4815"
    assert Decimal(rows["nanobanana"]["gross_margin"]) == Decimal("0.05")
    assert rows["nanobanana"]["channel"] == "subscription"
    assert document["suggestions"][0]["suggested_credits"] == 3


def test_report_exact_prints_the_exact_fraction_of_a_repeating_ratio() -> None:
    code, text = run("pricing", "report", "--format", "json", "--exact")
    assert code == 0
    rows = {row["operation"]: row for row in json.loads(text)["rows"]}
    # 0.013 / 0.027 = 13/27 and 0.002 / 0.038 = 1/19 repeat forever: printed as fractions.
    assert rows["seedream-v4"]["markup"] == "13/27"
    assert rows["nanobanana"]["markup"] == "1/19"
    assert Fraction(rows["seedream-v4"]["markup"]) == Fraction(13, 27)
    # A ratio that terminates prints as its decimal, every digit.
    assert rows["seedream-v4"]["gross_margin"] == "0.325"
    code, table = run("pricing", "report", "--exact")
    nanobanana = next(line for line in table.splitlines() if line.startswith("nanobanana"))
    assert nanobanana.split()[5:] == ["1/19", "0.05"]


def test_report_json_rounds_when_asked_and_lists_every_channel() -> None:
    code, text = run("pricing", "report", "--format", "json", "--places", "4", "--channel", "all")
    rows = json.loads(text)["rows"]
    assert code == 0
    assert len(rows) == 20
    seedream = next(
        r for r in rows if r["operation"] == "seedream-v4" and r["channel"] == "subscription"
    )
    assert seedream["markup"] == "0.4815"
    free = next(r for r in rows if r["channel"] == "free")
    assert free["gross_margin"] is None


def test_report_csv() -> None:
    code, text = run("pricing", "report", "--format", "csv", "--channel", "studio-pack")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert code == 0
    assert [r["channel"] for r in rows] == ["studio-pack"] * 4
    assert rows[0]["revenue"] == "1.19996"  # 2 × 0.59998


def test_check_passes_at_floor_five_percent_and_fails_at_six(example_file: Path) -> None:
    assert run("pricing", "check", str(example_file), "--floor", "0.05")[0] == 0
    code, text = run("pricing", "check", str(example_file), "--floor", "0.06")
    assert code == 1
    assert "gross_margin_below_floor" in text
    assert "nanobanana" in text


def test_check_bad_file_exits_2_naming_all_three_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(THREE_PROBLEMS, encoding="utf-8")
    code, _ = run("pricing", "check", str(path))
    err = capsys.readouterr().err
    assert code == 2
    assert "operations[2].api_cost: must be ≥ 0, got -1" in err
    assert "operations[3].id" in err
    assert "tiers[0].models[1]" in err
    assert "Traceback" not in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("pricing", "report", str(tmp_path / "nope.toml"))[0] == 2
    assert "nope.toml" in capsys.readouterr().err


def test_bad_arguments_exit_2() -> None:
    assert run("pricing", "report", "--floor", "1.5")[0] == 2
    assert run("pricing", "report", "--channel", "free")[0] == 2
    assert run("pricing", "report", "--channel", "nothing")[0] == 2


def test_offers_at_an_instant(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("pricing", "offers", "--at", "2026-03-08T22:59-04:00")
    assert code == 0
    weekend = next(line for line in text.splitlines() if "weekend-flash-sale" in line)
    assert "OPEN" in weekend
    assert "2026-03-13T18:00:00-04:00" in weekend
    code, text = run("pricing", "offers", "--at", "2026-03-09T03:00Z")  # 23:00 EDT
    assert "OPEN" not in text
    assert run("pricing", "offers", "--at", "2026-03-08T22:59")[0] == 2
    assert "UTC offset" in capsys.readouterr().err
    assert run("pricing", "offers", "--at", "yesterday")[0] == 2


def test_schema_is_json_schema() -> None:
    code, text = run("pricing", "schema")
    assert code == 0
    assert json.loads(text)["$schema"].startswith("https://json-schema.org/")


def test_example_prints_toml_that_loads_back_equal() -> None:
    code, text = run("pricing", "example")
    assert code == 0
    assert loads_catalog(text) == example_catalog()


def test_demo_prints_the_pricing_report_and_its_validation() -> None:
    code, text = run("demo")
    assert code == 0
    assert "seedream-v4" in text
    assert "0.4815" in text
    assert "pack_credit_value_far_from_subscription" in text


def test_report_accepts_a_target_band_and_a_floor() -> None:
    code, text = run(
        "pricing", "report", "--format", "json", "--floor", "0.3", "--target", "0.3..0.4"
    )
    document = json.loads(text)
    assert code == 0
    assert document["policy"] == {"floor": "0.3", "target_min": "0.3", "target_max": "0.4"}
    assert [e["path"] for e in document["errors"]] == ["operations[0]"]


def test_report_and_offers_list_a_bad_file_problem_by_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"operations": [], "colour": 1, "tiers": [{"name": "T"}]}', encoding="utf-8")
    for command in ("report", "offers"):
        assert run("pricing", command, str(path))[0] == 2
        lines = capsys.readouterr().err.splitlines()
        assert lines[0] == f"creditcore: error: {path}: 2 problem(s)"
        # file:line: path: message, in document order ("colour" is written before "tiers").
        assert [line.strip().split(": ")[:2] for line in lines[1:]] == [
            [f"{path}:1", "colour"],
            [f"{path}:1", "tiers[0].monthly_credits"],
        ]


@pytest.mark.parametrize("places", ["-1", "29", "x", "1.5"])
def test_report_refuses_places_outside_0_to_28(
    places: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("pricing", "report", "--places", places)
    assert code == 2
    assert "--places" in capsys.readouterr().err


BAD_LINES = """currency = "USD"
colour = "red"

[[operations]]
id = "a"
provider = "p"
model = "m"
kind = "image"
api_cost = "0.5"
credits = 0
"""
"""A bad file whose problems are on known lines: ``colour`` on 2, ``credits`` on 10."""


def test_check_format_github_annotates_each_problem_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_LINES, encoding="utf-8")
    code, text = run("pricing", "check", str(path), "--format", "github")
    assert code == 2
    assert text.splitlines() == [
        f"::error file={path},line=2,title=unknown_key::colour: unknown key (allowed: currency, "
        "subscription, policy, operations, tiers, packs, offers)",
        f"::error file={path},line=10,title=too_small::operations[0].credits: must be ≥ 1, got 0",
    ]


def test_check_format_json_gives_problems_and_findings_in_one_shape(
    tmp_path: Path, example_file: Path
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_LINES, encoding="utf-8")
    code, text = run("pricing", "check", str(path), "--format", "json")
    assert code == 2
    document = json.loads(text)
    assert document["file"] == str(path)
    assert document["ok"] is False
    assert [(p["path"], p["code"], p["line"]) for p in document["problems"]] == [
        ("colour", "unknown_key", 2),
        ("operations[0].credits", "too_small", 10),
    ]
    code, text = run("pricing", "check", str(example_file), "--format", "json", "--floor", "0.06")
    assert code == 1
    document = json.loads(text)
    source = example_file.read_text(encoding="utf-8").splitlines()
    first_operation = source.index("[[operations]]") + 1
    (error,) = document["errors"]
    assert list(error) == ["path", "code", "message", "severity", "line"]
    assert (error["path"], error["code"], error["line"]) == (
        "operations[0]",
        "gross_margin_below_floor",
        first_operation,
    )
    # NanoBanana is an error (under the floor), so not also a target warning.
    assert [w["code"] for w in document["warnings"]] == ["pack_credit_value_far_from_subscription"]
    assert all(w["severity"] == "warning" for w in document["warnings"])


def test_check_format_github_on_a_valid_file_annotates_findings(example_file: Path) -> None:
    code, text = run("pricing", "check", str(example_file), "--format", "github", "--floor", "0.06")
    assert code == 1
    levels = [line.split(" ", 1)[0] for line in text.splitlines()]
    assert levels.count("::error") == 1
    assert set(levels) == {"::error", "::warning"}
    assert all(f"file={example_file}," in line for line in text.splitlines())


def test_every_error_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unsold = tmp_path / "unsold.toml"
    unsold.write_text(BAD_LINES.replace('colour = "red"\n', "").replace("= 0", "= 1"))
    assert run("pricing", "check", str(unsold))[0] == 2
    err = capsys.readouterr().err
    assert err.startswith(f"creditcore: error: {unsold}: channel: the catalog sells no credits")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe")
    assert run("pricing", "check", str(binary))[0] == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"creditcore: error: {binary}: 1 problem(s)"
    assert lines[1].startswith(f"  {binary}: (document): not UTF-8 text")


def test_report_help_mentions_channel_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pricing", "report", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--channel all|CHANNEL" in help_text
    assert "'all': one row per operation on every channel" in help_text


def test_offers_prints_the_instant_in_each_offers_own_time_zone() -> None:
    # 22:59 at -05:00 on 2026-03-08 is 23:59 in New York, which is on EDT (-04:00) that day.
    code, text = run("pricing", "offers", "--at", "2026-03-08T22:59-05:00")
    assert code == 0
    weekend = next(line for line in text.splitlines() if "weekend-flash-sale" in line)
    assert "at Sun 2026-03-08 23:59 EDT local" in weekend
    assert "closed" in weekend


def test_the_offers_example_of_the_docs_shows_the_weekend_sale_open() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "pricing.md").read_text("utf-8")
    instant = re.search(r"offers --at (\S+)`", docs)
    assert instant is not None
    code, text = run("pricing", "offers", "--at", instant.group(1))
    assert code == 0
    weekend = next(line for line in text.splitlines() if "weekend-flash-sale" in line)
    assert "OPEN" in weekend
    assert "closes 2026-03-08T23:00:00-04:00" in weekend
