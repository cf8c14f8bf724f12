"""How fast and in how much memory `crystalx assign` refuses a structure far past MAX_SITES.

    python benchmarks/hostile_sizes.py [--sites 100000 1000000] [--timeout 240]

Writes, in a temporary folder, a .res of N Q-peaks and a CIF of N atoms (sucrose's cell, P 1),
runs `crystalx assign FILE --method baseline` on each in a fresh process and prints seconds,
peak memory (the child's max RSS) and the error line. Run it with PYTHONPATH at the tree to
measure; a run past --timeout is reported as such.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAD = (
    "TITL many\nCELL 0.71073 7.716 8.664 10.812 90 102.98 90\nZERR 2 0 0 0 0 0 0\nLATT -1\n"
    "SFAC C H O\nUNIT 24 44 22\nFVAR 1.0\n"
)
CIF_HEAD = (
    "data_many\n_cell_length_a 7.716\n_cell_length_b 8.664\n_cell_length_c 10.812\n"
    "_cell_angle_alpha 90\n_cell_angle_beta 102.98\n_cell_angle_gamma 90\n"
    "_symmetry_space_group_name_H-M 'P 1'\nloop_\n _atom_site_label\n _atom_site_type_symbol\n"
    " _atom_site_fract_x\n _atom_site_fract_y\n _atom_site_fract_z\n"
)


def files(folder: Path, n: int) -> list[Path]:
    rng = random.Random(n)
    xyz = [" ".join(f"{rng.random():.5f}" for _ in range(3)) for _ in range(n)]
    res, cif = folder / f"peaks_{n}.res", folder / f"atoms_{n}.cif"
    res.write_text(
        HEAD + "".join(f"Q{k + 1} 1 {p} 11 0.05 1.0\n" for k, p in enumerate(xyz)) + "HKLF 4\nEND\n"
    )
    cif.write_text(CIF_HEAD + "".join(f"C{k + 1} C {p}\n" for k, p in enumerate(xyz)))
    return [res, cif]


def measure(path: Path, timeout: float) -> tuple[str, str, str]:
    command = [sys.executable, "-m", "crystalx_core.cli", "assign", str(path), "--quiet"]
    command += ["--method", "baseline", "--hydrogens", "rules", "--out", str(path) + "_out"]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f}", "?", "(still reading: stopped at the timeout)"
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
    error = (done.stderr.strip().splitlines() or ["(no error)"])[-1]
    return f"{seconds:.1f}", f"{peak:.0f}", error[:150]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args()
    print("| input | seconds | peak MB (largest so far) | error |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="crystalx_sizes_") as folder:
        for n in args.sites:
            for path in files(Path(folder), n):
                seconds, peak, error = measure(path, args.timeout)
                print(f"| {path.name} | {seconds} | {peak} | {error.replace(folder, '…')} |")


if __name__ == "__main__":
    main()
