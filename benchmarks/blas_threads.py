"""What OpenBLAS's threads buy the core: LAPACK dtrtri (the shift/su check of every refinement
cycle, crystallography/convergence.py) at the given sizes, and one anisotropic refinement of a
benchmark entry's published heavy atoms, each in a fresh process at OPENBLAS_NUM_THREADS=1 and
=2 in turn (the variable is read once, when OpenBLAS loads), with the load average.

    python benchmarks/blas_threads.py [--sizes 308 940 3000] [--entry ENTRY_DIR] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

_CHILD = """
import os, sys, time
import crystalx_core
import numpy as np
from scipy.linalg import cholesky, lapack

def best(run, times):
    spans = []
    for _ in range(times):
        start = time.perf_counter(); run(); spans.append(time.perf_counter() - start)
    return min(spans)

sizes, entry = [int(n) for n in sys.argv[1].split(",") if n], sys.argv[2]
for n in sizes:
    a = np.random.default_rng(0).standard_normal((n + 50, n))
    u = cholesky(a.T @ a)
    print(f"dtrtri {n} parameters: {best(lambda: lapack.dtrtri(u), 3) * 1000:.1f} ms")
if entry:
    from crystalx_core.crystallography.refine import refine
    from crystalx_core.elements import is_hydrogen
    from crystalx_core.io.cif import read_cif
    from crystalx_core.io.hkl import read_hkl
    truth = read_cif(os.path.join(entry, "model.cif")).structure
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    reflections = read_hkl(os.path.join(entry, "data.hkl"))
    wall, cpu = time.perf_counter(), time.process_time()
    result = refine(heavy, reflections, 10, anisotropic=True)
    print(f"anisotropic refinement of {len(heavy.sites)} atoms: {time.perf_counter() - wall:.1f}"
          f" s wall, {time.process_time() - cpu:.1f} s CPU, R1 {result.r1:.5f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[308, 940, 3000])
    parser.add_argument("--entry", type=Path, help="a benchmark entry (model.cif, data.hkl)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    child = [sys.executable, "-c", _CHILD, ",".join(map(str, args.sizes)), str(args.entry or "")]
    for _ in range(args.rounds):
        for threads in ("1", "2"):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=threads)
            print(f"OPENBLAS_NUM_THREADS={threads}, load {os.getloadavg()[0]:.1f}", flush=True)
            subprocess.run(child, env=env, check=True)


if __name__ == "__main__":
    main()
