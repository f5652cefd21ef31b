"""``pytest tests/ledger`` must collect without the postgres extra (psycopg imported lazily)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
sys.modules["psycopg"] = None  # importing it now raises ImportError, as if not installed
sys.modules["psycopg_pool"] = None
import pytest
sys.exit(pytest.main(["--co", "-q", "-p", "no:cacheprovider", "tests/ledger"]))
"""


def test_the_ledger_tests_collect_without_psycopg() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tests collected" in done.stdout
