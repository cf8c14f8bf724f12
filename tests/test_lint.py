"""The tree keeps the one style pyproject.toml configures (ruff, pinned in the dev extra):
its lint rules and its formatting, so that a change that breaks either fails here and in CI."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _ruff() -> str | None:
    beside = Path(sys.executable).with_name("ruff")
    return str(beside) if beside.exists() else shutil.which("ruff")


@pytest.mark.parametrize(
    "command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"]
)
def test_the_tree_passes_ruff(command):
    ruff = _ruff()
    assert ruff, "ruff comes with the dev extra: pip install -e '.[dev]'"
    done = subprocess.run([ruff, *command], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
