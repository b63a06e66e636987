"""The code explains itself to tools: ruff (lint and format) and mypy pass on the whole tree.

Configured in pyproject.toml ([tool.ruff], [tool.mypy]); run here so the one test command CI runs checks them too.
Locally: `.venv/bin/ruff check --fix . && .venv/bin/ruff format . && .venv/bin/mypy`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tools_pass(command: tuple[str, ...]) -> None:
    result = _run(*command)
    assert result.returncode == 0, (
        f"{' '.join(command)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    )
