"""Seconds from a SIGTERM to the exit of `crystalx pxrd --from-cif` and `crystalx assign` on a big
P1 cell, sent while the job is in its long step. Run it with PYTHONPATH at two checkouts to
compare (the s19sigterm figures in docs/benchmarks.md):

    PYTHONPATH=/work/main nice -n 10 python benchmarks/stop_delay.py /tmp/stop
    PYTHONPATH=$PWD nice -n 10 python benchmarks/stop_delay.py /tmp/stop
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# (command, atoms, cell edge in Å, seconds before the signal): pxrd's direct structure factors
# are one cctbx call of minutes; assign's 8000 sites are spread out enough for the model
CASES = (("pxrd", 15000, 40.0, 20.0), ("assign", 8000, 44.0, 15.0))


def big_p1_cif(path: Path, atoms: int, edge: float) -> None:
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


def stop_delay(folder: Path, command: str, atoms: int, edge: float, wait: float) -> str:
    cif = folder / f"{command}_{atoms}.cif"
    big_p1_cif(cif, atoms, edge)
    argv = ["pxrd", "--from-cif", str(cif)] if command == "pxrd" else ["assign", str(cif)]
    job = subprocess.Popen(
        [sys.executable, "-m", "crystalx_core.cli", *argv, "--out", str(folder / command)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,  # `-m` looks in the working folder first: PYTHONPATH picks the checkout
    )
    time.sleep(wait)
    if job.poll() is not None:
        return f"{command} {atoms} sites: ended before the signal ({job.returncode})"
    sent = time.monotonic()
    job.send_signal(signal.SIGTERM)
    err = job.communicate()[1].strip()
    took = time.monotonic() - sent
    written = sorted(p.name for p in folder.iterdir() if p.name.startswith(command + "."))
    return (
        f"{command} {atoms} sites, {edge:g} Å P1: exit {job.returncode} {took:.1f} s after "
        f"SIGTERM; {err!r}; outputs left: {written or 'none'}"
    )


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        print(stop_delay(out, *case), flush=True)
