"""The stores are peers that use only the public port: what a third party's store can do."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STORES = Path(__file__).resolve().parents[2] / "src" / "creditcore" / "stores"


def _creditcore_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "creditcore" or name.startswith("creditcore.")}


LEDGER_STORES = ("memory.py", "sqlite", "postgres")  # the ledger's stores (not stores/postgis)


def _ledger_store_modules() -> list[str]:
    modules = ["memory.py"]
    for package in LEDGER_STORES[1:]:
        modules += sorted(f"{package}/{p.name}" for p in (STORES / package).glob("*.py"))
    return modules


@pytest.mark.parametrize("module", _ledger_store_modules(), ids=str)
def test_a_store_imports_only_the_public_port_and_its_own_package(module: str) -> None:
    path = STORES / module
    package = "creditcore.stores." + module.split("/")[0].removesuffix(".py")
    # creditcore._public only renames the face's names for reprs and pickles (``publish``);
    # a third-party store needs nothing of it, so it does not weaken the point of this test.
    allowed = {"creditcore.ledger", "creditcore._public"}
    for name in _creditcore_imports(path):
        assert name in allowed or name.startswith(package), f"{module} imports {name}"


def test_each_sql_store_keeps_schema_sql_and_rows_apart() -> None:
    for store in ("sqlite", "postgres"):
        files = {p.name for p in (STORES / store).glob("*.py")}
        assert {"store.py", "schema.py", "sql.py", "rows.py"} <= files, store
    assert (STORES / "memory.py").is_file()
