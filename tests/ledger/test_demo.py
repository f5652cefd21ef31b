"""The ledger section of ``creditcore demo`` runs on a SQLite file and tells the story right."""

from __future__ import annotations

import io
from pathlib import Path

from creditcore._cli.ledger import demo_section


def test_demo_section(tmp_path: Path) -> None:
    out = io.StringIO()
    demo_section(out, tmp_path)
    text = out.getvalue()
    assert (tmp_path / "ledger-demo.sqlite3").exists()
    # PLUS (150) + Studio Pack (500); the redelivered webhook adds nothing
    assert "nothing added: current  650" in text
    assert "drawn 20 from purchased" in text  # purchased first
    # the reset expires the 30 subscription credits left, keeps the 200 lootbox credits
    assert "30 unused subscription credits expired" in text
    assert "current  350 = subscription 150/150 + purchased  200" in text
    assert text.rstrip().endswith("-> OK")
    demo_section(io.StringIO(), tmp_path)  # runs again on the same folder
