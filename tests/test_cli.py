"""The console script's contract: exit codes and one-line errors, whatever the command."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest

from creditcore._cli.app import main


def test_unknown_command_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"], out=StringIO()) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_library_error_becomes_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "catalog.toml"
    bad.write_text('currency = "USD"\n[[operations]]\nid = "x"\napi_cost = 0.1\ncredits = 1\n')
    assert main(["pricing", "report", str(bad)], out=StringIO()) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "operations[0].api_cost" in err  # names the field


def test_missing_file_is_bad_input_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["pricing", "check", str(missing)], out=StringIO()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nope.toml" in err


def test_console_script_runs_the_demo_in_a_workdir(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "creditcore.cli", "demo", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for heading in ("== Pricing", "== Ledger", "== Gig map"):
        assert heading in done.stdout
    assert list(tmp_path.glob("*.sqlite3"))  # the ledger part ran on a SQLite file
