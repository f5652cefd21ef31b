"""Ports and adapters: the domain imports no driver; each driver has exactly one adapter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "creditcore"

# driver -> the adapter modules (relative to the package) allowed to import it
ADAPTERS = {
    "sqlite3": {"stores/sqlite/store.py"},
    "psycopg": {
        "stores/postgres/store.py",
        "stores/postgres/migrations.py",
        "stores/postgres/sql.py",
        "stores/postgis/_store.py",
    },
    "psycopg_pool": {"stores/postgres/store.py"},
    "stripe": {"payments/stripe.py"},
    "pandas": {"_pricing/records.py", "_economics/report.py"},
}


def _imported_roots(path: Path) -> set[str]:
    """Top-level packages a module imports at run time, ``importlib.import_module`` included;
    imports under ``if TYPE_CHECKING:`` are for the type checker only and do not count."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            typing_only.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func).endswith("import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            roots.add(node.args[0].value.split(".")[0])
    return roots


@pytest.mark.parametrize("driver", sorted(ADAPTERS))
def test_only_its_adapters_import_a_driver(driver: str) -> None:
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if driver in _imported_roots(path)
    }
    assert importers, f"no module imports {driver}: is the table above stale?"
    assert importers <= ADAPTERS[driver]


def test_importing_the_domain_loads_no_driver() -> None:
    probe = (
        "import sys\n"
        "import creditcore, creditcore.pricing, creditcore.ledger, creditcore.geo\n"
        "import creditcore.payments, creditcore.stores\n"
        f"print(sorted(m for m in {sorted(ADAPTERS)!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
