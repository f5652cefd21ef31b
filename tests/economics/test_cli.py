"""``creditcore economics report|simulate`` as a user runs them: output, formats, exit codes."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest

from creditcore._cli.app import main
from creditcore.economics import economics
from creditcore.ledger import Ledger
from creditcore.pricing import example_catalog_text, load_catalog
from creditcore.stores.sqlite import SQLiteStore


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("economics-cli")
    catalog = folder / "catalog.toml"
    catalog.write_text(example_catalog_text(), encoding="utf-8")
    db = folder / "ledger.sqlite3"
    out = StringIO()
    code = main(
        ["economics", "simulate", "--db", str(db), "--users", "12", "--calls", "15", "--seed", "4"],
        out=out,
    )
    assert code == 0
    assert "creditcore economics report --db" in out.getvalue()
    return db, catalog


def run(*argv: str) -> tuple[int, str]:
    out = StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_the_table_shows_the_rows_and_the_roll_forward(files: tuple[Path, Path]) -> None:
    db, catalog = files
    code, text = run(
        "economics", "report", "--db", str(db), "--catalog", str(catalog), "--from", "2026-11-01",
        "--to", "2026-12-01", "--by", "operation,channel",
    )  # fmt: skip
    assert code == 0
    assert text.splitlines()[0].split()[:3] == ["operation", "channel", "cash"]
    assert "roll-forward reconciles" in text
    assert "TOTAL" in text


def test_json_and_csv_carry_the_same_exact_figures_as_the_library(files: tuple[Path, Path]) -> None:
    db, catalog = files
    argv = ["economics", "report", "--db", str(db), "--catalog", str(catalog)]
    argv += ["--from", "2026-11-01", "--to", "2026-12-01T00:00:00+00:00", "--by", "channel"]
    code, text = run(*argv, "--format", "json")
    assert code == 0
    document = json.loads(text)
    store = SQLiteStore(db)
    try:
        report = economics(
            Ledger(store), load_catalog(catalog), start=_at("2026-11-01"), end=_at("2026-12-01"),
            by=("channel",),
        )  # fmt: skip
    finally:
        store.close()
    assert Decimal(document["total"]["recognised"]) == report.total.recognised.amount
    assert document["roll_forward"]["reconciles"] is True
    assert {row["channel"] for row in document["rows"]} == {r.key["channel"] for r in report.rows}
    code, text = run(*argv, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(StringIO(text)))
    assert rows[-1]["channel"] == "TOTAL"
    assert Decimal(rows[-1]["recognised"]) == report.total.recognised.amount


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--from", "yesterday"], "--from"),
        (["--to", "2026-10-01"], "--to"),
        (["--from", "2026-11-01T00:00"], "UTC offset"),
        (["--by", "colour"], "colour"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    db, catalog = files
    argv = {
        "--db": str(db),
        "--catalog": str(catalog),
        "--from": "2026-11-01",
        "--to": "2026-12-01",
    }
    for key, value in zip(extra[::2], extra[1::2], strict=True):
        argv[key] = value
    flat = [item for pair in argv.items() for item in pair]
    code, _ = run("economics", "report", *flat)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert needle in err
    assert "Traceback" not in err


def test_a_missing_ledger_file_is_not_created(
    tmp_path: Path, files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, catalog = files
    missing = tmp_path / "none.sqlite3"
    code, _ = run(
        "economics", "report", "--db", str(missing), "--catalog", str(catalog), "--from",
        "2026-11-01", "--to", "2026-12-01",
    )  # fmt: skip
    assert code == 2
    assert not missing.exists()
    assert capsys.readouterr().err.count("\n") == 1
