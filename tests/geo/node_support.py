"""npm packages for the tests that run JavaScript: installed once into a temporary folder.

Each set of packages gets its own folder under the system's temporary directory, keyed by the
exact versions, and is reused by later runs (and later sessions on the same machine). Without
node or npm, or when the install fails, the test skips, and fails instead under ``CI=true``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import IN_CI

__all__ = ["missing", "need_node", "npm_folder", "run_node"]


def missing(reason: str) -> None:
    """Skip the test (fail it under CI) because a service it needs is not there."""
    if IN_CI:
        pytest.fail(f"this test must run in CI: {reason}")
    pytest.skip(reason)


def need_node() -> None:
    """Skip (fail under CI) when node is not installed."""
    if shutil.which("node") is None:
        missing("node is needed")


def npm_folder(packages: dict[str, str]) -> Path:
    """A folder with ``packages`` (name -> exact version) installed from the npm registry."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        missing("node and npm are needed")
    specs = sorted(f"{name}@{version}" for name, version in packages.items())
    key = hashlib.sha256(" ".join(specs).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"creditcore-npm-{key}"
    markers = [folder / "node_modules" / name / "package.json" for name in packages]
    if not all(m.exists() for m in markers):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"private": true}\n')
        done = subprocess.run(
            [
                str(npm),
                "install",
                "--prefix",
                str(folder),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                *specs,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or not all(m.exists() for m in markers):
            missing(f"npm install {' '.join(specs)} failed: {done.stderr[-500:]}")
    for name, version in packages.items():
        installed = json.loads((folder / "node_modules" / name / "package.json").read_text())
        assert installed["version"] == version, (name, installed["version"])
    return folder


def run_node(folder: Path, script: str, *args: str, timeout: float = 300) -> str:
    """Run ``script`` (an ES module) with node inside ``folder``; return its stdout."""
    path = folder / f"script-{hashlib.sha256(script.encode()).hexdigest()[:12]}.mjs"
    path.write_text(script)
    done = subprocess.run(
        ["node", str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
