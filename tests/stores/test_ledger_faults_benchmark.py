"""The short version of benchmarks/ledger_faults.py, run as the user runs it (its exit status and
its JSON): worker processes on one hot account under SIGKILL, SIGINT and, on PostgreSQL,
terminated backends; nothing acknowledged is lost, nothing is applied twice, verify passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.stores.postgres_support import server_dsn, server_problem

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_the_short_fault_benchmark_loses_nothing(tmp_path: Path) -> None:
    stores = "sqlite,postgres"
    problem = server_problem(server_dsn())
    if problem is not None:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: PostgreSQL tests may not be skipped)")
        stores = "sqlite"
    out = tmp_path / "faults.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "ledger_faults.py"),
            "--short",
            "--stores",
            stores,
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [row["store"] for row in rows] == stores.split(",")
    for row in rows:
        assert row["lost"] == 0
        assert row["applied_twice"] == 0
        assert row["verify_ok"]
        assert row["balance_ok"]
        assert row["acknowledged"] > 0
        assert row["sigkills"] + row["interrupts"] > 0
    assert "lost" in done.stdout  # the table the user reads
    assert "twice" in done.stdout
