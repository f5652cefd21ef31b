"""The README's examples run as written (so they cannot drift from the API)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def test_readme_python_examples_run_twice_and_leave_the_cwd_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    for _run in range(2):  # a reader pastes the snippets again: the second run works too
        namespace: dict[str, object] = {}
        for block in blocks:  # later blocks use names of earlier ones, as a reader would
            exec(compile(block, str(README), "exec"), namespace)
    assert list(tmp_path.iterdir()) == []  # nothing written into the working directory
