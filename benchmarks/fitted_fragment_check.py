"""How far the reader's fitted FRAG group lies from SHELXL's own fit: DSR's p21c_step2.ins (AFIX
179, atoms at 0,0,0) against p21c_step3.res, SHELXL's L.S. 0 run on it (dsr-shelx 243, example/).
Prints each atom of the residue's distance, Å (docs/benchmarks.md, 's23realfiles3-r').

    PYTHONPATH=. python benchmarks/fitted_fragment_check.py STEP2.ins STEP3.res [--residue 5]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.io import load


def positions(path, residue: int) -> dict[str, np.ndarray]:
    """Cartesian positions of the residue's atoms, by label."""
    structure = load(path).structure
    suffix = f"_{residue}"
    return {
        s.label: np.array(structure.cartesian(s.frac))
        for s in structure.sites
        if s.label.endswith(suffix)
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ours", help="the file with the group to fit (step2)")
    parser.add_argument("shelxl", help="SHELXL's .res of it (step3)")
    parser.add_argument("--residue", type=int, default=5)
    args = parser.parse_args(argv)
    ours, theirs = positions(args.ours, args.residue), positions(args.shelxl, args.residue)
    gaps = {label: float(np.linalg.norm(ours[label] - xyz)) for label, xyz in theirs.items()}
    print(" ".join(f"{label} {gap:.3f}" for label, gap in gaps.items()))
    print(f"max {max(gaps.values()):.3f} Å over {len(gaps)} atoms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
