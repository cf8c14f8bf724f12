"""SIGTERM in the middle of a long library call: `crystalx pxrd --from-cif` on a big P1 cell
spends minutes in one cctbx call (direct structure factors) that Python's signal handlers cannot
interrupt; before crystalx_core._supervisor the command stopped only when that call returned
(about 7 minutes after a `timeout` for a 21000-atom cell). Now within seconds, with the
documented exit code and line, and nothing written."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
ROOT = Path(__file__).resolve().parents[1]


def _env():
    return dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )


def _big_p1_cif(path: Path, atoms: int, edge: float) -> None:
    """A P1 cell of `atoms` C/N/O sites on a jittered grid, written as CoRE MOF's P1 files are
    (unquoted `P 1`, one `x, y, z` operator): well inside the readers' 20000-site limit, yet
    its direct structure factors take minutes in one C++ call."""
    k = int(np.ceil(atoms ** (1 / 3)))
    grid = np.indices((k, k, k)).reshape(3, -1).T[:atoms]
    xyz = (grid + 0.5 + np.random.default_rng(0).uniform(-0.1, 0.1, grid.shape)) / k
    lines = [
        "data_big",
        *(f"_cell_length_{axis} {edge}" for axis in "abc"),
        *(f"_cell_angle_{angle} 90" for angle in ("alpha", "beta", "gamma")),
        "_symmetry_space_group_name_H-M P1",
        "loop_",
        "_symmetry_equiv_pos_as_xyz",
        "x,y,z",
        "loop_",
        "_atom_site_label",
        "_atom_site_type_symbol",
        "_atom_site_fract_x",
        "_atom_site_fract_y",
        "_atom_site_fract_z",
        "_atom_site_U_iso_or_equiv",
    ]
    for i, (x, y, z) in enumerate(xyz):
        element = "CCCON"[i % 5]
        lines.append(f"{element}{i + 1} {element} {x:.5f} {y:.5f} {z:.5f} 0.03")
    path.write_text("\n".join(lines) + "\n")


@POSIX
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_inside_a_long_cctbx_call_ends_the_command_within_seconds(tmp_path, signum):
    """pxrd on 10000 sites in a 34 Å P1 cell (its structure factors alone take over a minute
    here) is sent the signal 5 s in, inside that call: it exits within 6 s with 128 + signum and
    the one line README gives, and the folder holds only the input (no output, no temporary)."""
    cif = tmp_path / "big.cif"
    _big_p1_cif(cif, 10000, 34.0)
    job = subprocess.Popen(
        [sys.executable, "-m", "crystalx_core.cli", "pxrd", "--from-cif", str(cif)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    time.sleep(5.0)  # start-up (about 1 s), reading and expanding, then the long call
    assert job.poll() is None, job.communicate()
    sent = time.monotonic()
    job.send_signal(signum)
    out, err = job.communicate(timeout=60)
    took = time.monotonic() - sent
    said = "interrupted" if signum == signal.SIGINT else f"stopped by {signum.name}"
    assert (job.returncode, err, out) == (
        128 + signum,
        f"crystalx: {said}; no output written\n",
        "",
    )
    assert took < 6.0, f"{took:.1f} s from the signal to the exit"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.cif"]


@POSIX
def test_a_command_that_runs_to_the_end_keeps_its_exit_code_and_output(tmp_path):
    """The parent that waits for the job passes its exit code and output through unchanged:
    an input error is still exit 2 with its one line."""
    missing = tmp_path / "none.res"
    done = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "assign", str(missing)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert (
        done.returncode == 2 and done.stderr.startswith("crystalx: ") and "none.res" in done.stderr
    )
    assert done.stderr.count("\n") == 1


def test_the_parent_says_what_the_job_would_have_said():
    """The killed job's line comes from the parent (crystalx_core._supervisor, which cannot
    import errors that early): the same words as errors.Stopped's."""
    from crystalx_core._supervisor import stop_message
    from crystalx_core.errors import STOP_SIGNALS, Stopped

    for signum in STOP_SIGNALS:
        assert stop_message(signum) == str(Stopped(signum))
