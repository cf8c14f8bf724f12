"""The width of the electron count at sites in a smeared group (element_evidence.SMEAR_SHARE),
measured on right models of corpus structures the swap benchmark's test runs never use.

A site whose bonded neighbours' median Uiso is over U_DISORDER sits in a group the isotropic
model does not hold (a triflate or BF4⁻ in libration, a solvent): what the fit puts at the site
then strays further from offset·Z than at an ordered site. How far is measured here, on the
published elements (nothing swapped): Fo² simulated as the swap benchmark does, the published
non-H model refined isotropically, every site's count taken with its own element, and each
site's group Uiso (its neighbours' median, element_evidence._neighbours_u) kept beside it.
The validation set: ordered corpus structures of up to --max-atoms non-H atoms that hold no
Z-neighbour pair other than C/N/O (those are the `--pairs other` runs' structures) and are not
among the first --skip chosen at 80 atoms (the C/N/O runs' structures), nor disordered in fact
(swap_benchmark.disordered_in_fact); of those, the ones whose published model has a group at
Ueq over --screen Å² are refined (the rest have no smeared site to measure).

The fitted scale is the share k, e per Å² of group Uiso, in

    s² = width(σ_fit, spread, Uiso, Z)² + (k·U_group)²

that maximises the Student t likelihood (TAILS) of the smeared sites' counts about offset·Z
(k·(U_group − U_DISORDER), zero at the threshold, is fitted too and printed: it fits worse);
the mean and robust spread of count − offset·Z are printed per band of group Uiso, and each
smeared site with its figures.

    python benchmarks/smeared_width_calibration.py ../shared/data/corpus --json runs/smeared.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.element_evidence import (
    U_DISORDER,
    _neighbours_u,
    t_log_density,
    width,
)
from crystalx_core.elements import is_hydrogen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulated_solve_benchmark import choose  # noqa: E402
from count_width_calibration import collected, site_counts  # noqa: E402
from swap_benchmark import disordered_in_fact, pair_class, swap_options  # noqa: E402


def log_likelihood(rows: np.ndarray, share: float, start: float = 0.0) -> float:
    """Of the counts about offset·Z with the extra width share × (group Uiso − start)."""
    z, count, expected, fit_sigma, spread, u, group = rows.T
    base = np.array([width(f, sp, ui, int(zi)) for f, sp, ui, zi in zip(fit_sigma, spread, u, z)])
    scale = np.sqrt(base**2 + (share * np.maximum(group - start, 0.0)) ** 2)
    return float(np.sum(t_log_density(count - expected, scale)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--max-atoms", type=int, default=300)
    parser.add_argument("--skip", type=int, default=151, help="the C/N/O runs' first structures")
    parser.add_argument("--screen", type=float, default=0.12, help="published group Ueq, Å²")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="the sites' counts, as they are collected")
    parser.add_argument("--from-json", type=Path, help="fit the counts saved by an earlier run")
    args = parser.parse_args(argv)
    if args.from_json:
        by_entry = json.loads(args.from_json.read_text())
    else:
        tested = {name for name, _ in choose(args.corpus, args.skip, 80)}

        def wanted(name, truth) -> bool:
            heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
            if name in tested or any(
                pair_class(heavy[i].element, o) != "C/N/O" for i, o in swap_options(heavy)
            ):
                return False  # a structure of the swap benchmark's test runs
            published = truth.with_sites(heavy)
            if max(_neighbours_u(published).values()) <= args.screen:
                return False
            return not disordered_in_fact(truth)

        by_entry = collected(
            choose(args.corpus, 4000, args.max_atoms),
            wanted,
            lambda name, truth: site_counts(name, truth, args.seed, lambda g: g > U_DISORDER / 2),
            args.json,
        )
    rows = np.array([row for rows in by_entry.values() for row in rows if rows])
    smeared = rows[rows[:, 6] > U_DISORDER]
    grid = np.round(np.arange(0.0, 40.01, 0.25), 2)
    n_structures = sum(1 for rows in by_entry.values() if any(r[6] > U_DISORDER for r in rows))
    print(f"structures refined {len(by_entry)}; smeared sites {len(smeared)} in {n_structures}")
    for start, form in ((0.0, "k·U_group"), (U_DISORDER, "k·(U_group − U_DISORDER)")):
        logs = [log_likelihood(smeared, k, start) for k in grid]
        best = float(grid[int(np.argmax(logs))])
        print(f"{form}: k {best} e/Å², ln L {max(logs):.1f} against {logs[0]:.1f} at k 0")
    for z, count, expected, fit_sigma, spread, u, group in smeared[np.argsort(smeared[:, 6])]:
        print(
            f"  Z {z:.0f}: count − expected {count - expected:+.2f} e (fit σ {fit_sigma:.2f}), "
            f"Uiso {u:.3f}, group {group:.3f} Å², width without smearing "
            f"{width(fit_sigma, spread, u, int(z)):.2f} e"
        )
    for low, high in ((0.1, 0.15), (0.15, 0.2), (0.2, 0.25), (0.25, 0.3), (0.3, 0.4), (0.4, 9)):
        part = rows[(rows[:, 6] > low) & (rows[:, 6] <= high)]
        if len(part):
            off = part[:, 1] - part[:, 2]
            print(
                f"group Uiso {low}-{high} Å²: {len(part)} sites, count − expected mean "
                f"{off.mean():+.2f} e, median {np.median(off):+.2f}, robust spread "
                f"{1.4826 * np.median(np.abs(off - np.median(off))):.2f} e, "
                f"|off| max {np.abs(off).max():.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
