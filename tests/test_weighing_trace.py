"""benchmarks/weighing_trace.py: the element weighing's refinements traced on a real entry."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crystalx_core.assign import resolve_method
from tests.conftest import BENCHMARK

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "weighing_trace.py"


def _trace(cache: Path, out: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    """The script in its own process (importing it counts smtbx's builds process-wide), and
    each stdout line that arrived while it was still running."""
    env = {**os.environ, "PYTHONPATH": str(SCRIPT.parents[1])}
    command = [sys.executable, str(SCRIPT), str(BENCHMARK / "FC_1979688")]
    command += ["--cache", str(cache), "--json", str(out)]
    errors = out.with_suffix(".stderr")  # a file: a full stderr pipe left unread would stall it
    with open(errors, "w") as stderr:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        lines, early = [], []
        for line in process.stdout:
            lines.append(line)
            if process.poll() is None:
                early.append(line)
        process.wait()
    stdout, stderr = "".join(lines), errors.read_text()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), early


@pytest.mark.slow  # 1-1.5 min on two loaded cores: a solve to the weighing, two weighings
@pytest.mark.skipif(resolve_method("auto") != "model", reason="no shipped models in onnx_models/")
def test_the_weighing_of_fc_1979688_is_one_anisotropic_refinement_and_its_input_is_reused(
    shared_data, tmp_path
):
    """FC_1979688's solve hands the weighing a model it changes nothing in; its one refinement
    is the anisotropic recount with riding H, whose cycles and builds the totals are. The
    second run weighs the saved input again without solving. The lines come as the work goes
    (main printed all at the end: a DSR weighing was ~10 min silent): the first is out before
    the solve and the weighing, the refinement's row before the script ends."""
    first, early = _trace(tmp_path, tmp_path / "first.json")
    assert early and early[0].startswith(str(BENCHMARK / "FC_1979688") + ": the solve's input")
    assert any("_anisotropic_recount" in line for line in early), early
    assert first.returncode == 0, first.stderr
    saved = tmp_path / "FC_1979688.weighing.pkl"
    made = saved.stat().st_mtime_ns
    report = json.loads((tmp_path / "first.json").read_text())
    (row,) = report["refinements"]
    assert (row["reason"], row["caller"], row["anisotropic"], row["riding"]) == (
        "trial",
        "_anisotropic_recount",
        True,
        True,
    )
    assert row["cycles"] > 0 and row["builds"] > row["cycles"]
    assert report["total"]["builds"] == row["builds"]
    assert report["total"]["cycles"] == row["cycles"]
    assert "total: 1 refinements" in first.stdout
    second, _ = _trace(tmp_path, tmp_path / "second.json")
    assert second.returncode == 0, second.stderr
    assert saved.stat().st_mtime_ns == made
    again = json.loads((tmp_path / "second.json").read_text())
    assert again["refinements"][0]["builds"] == row["builds"]
