"""R1 and wR2 of a swap trial's model with other elements at some sites: what the refinement says
of the alternatives the weighing leaves (issue 23: 2004811's O held as F, S held as Cl, seed 41).

The trial is swap_benchmark's (the same structure, swaps and simulated data for `--seed`); the
swapped model, with the changes of `--start` made first, is refined isotropically and then
anisotropically as it stands and with each alternative (label=element,label=element), printing
R1, wR2 and Hamilton's ratio one site's change needs (element_evidence._hamilton_needed).
`--bonds` prints the bonds of those sites in each isotropic refinement (how far the model moves
a smeared group's bond lengths); `--isotropic` leaves out the anisotropic refinements.

    python benchmarks/swap_alternatives.py ../shared/data/corpus sfarchiv2_2004811.cif \
        --seed 41 --start "F(3)=F" "O(1)=O" "S(1)=S" "O(1)=O,S(1)=S"
    python benchmarks/swap_alternatives.py ../shared/data/corpus sfarchiv2_2004811.cif \
        --seed 41 --start "F(3)=F,O(1)=O,S(1)=S" --isotropic --bonds "S(1)" "C(1)"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.crystallography.refine import refine
from crystalx_core.element_evidence import _hamilton_needed
from crystalx_core.geometry import connectivity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulated_solve_benchmark import choose  # noqa: E402
from swap_benchmark import trial_data  # noqa: E402


def elements(text: str) -> dict[str, str]:
    """'A=B,C=D' → {A: B, C: D}; '' → {}."""
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("entry")
    parser.add_argument("alternatives", nargs="*", help="label=element[,label=element]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", choices=("any", "other"), default="other")
    parser.add_argument("--start", default="", help="changes made before (label=element,...)")
    parser.add_argument("--bonds", nargs="*", default=[], help="print these sites' bonds")
    parser.add_argument("--isotropic", action="store_true", help="no anisotropic refinements")
    args = parser.parse_intermixed_args(argv)
    [(name, truth)] = choose(args.corpus, 1, 300, only={args.entry})
    heavy, swaps, (reflections, d_min, _) = trial_data(truth, name, args.seed, args.pairs)
    start = elements(args.start)
    print(
        f"{name} seed {args.seed}: swaps { ({heavy[i].label: e for i, e in swaps.items()}) }, "
        f"d_min {d_min:.3f} Å, then {start or 'nothing'}"
    )
    model = truth.with_sites(
        [s.with_element(start.get(s.label, swaps.get(i, s.element))) for i, s in enumerate(heavy)]
    )
    for anisotropic in (False,) if args.isotropic else (False, True):
        for alternative in ["", *args.alternatives]:
            changed = elements(alternative)
            result = refine(
                model.with_sites(
                    [s.with_element(changed.get(s.label, s.element)) for s in model.sites]
                ),
                reflections,
                10,
                anisotropic=anisotropic,
            )
            print(
                f"{'anisotropic' if anisotropic else 'isotropic'} {alternative or 'as held'}: "
                f"R1 {result.r1:.5f}, wR2 {result.wr2:.5f} (Hamilton's ratio for one site "
                f"{_hamilton_needed(result):.5f})",
                flush=True,
            )
            if not anisotropic:
                _print_bonds(result.structure, args.bonds)
    return 0


def _print_bonds(structure, labels) -> None:
    """Each labelled site's bonds to non-H atoms, Å."""
    bonds = connectivity(structure)
    for i, site in enumerate(structure.sites):
        if site.label in labels:
            around = ", ".join(
                f"{structure.sites[c.j].label} ({structure.sites[c.j].element}) {c.distance:.3f}"
                for c in bonds[i]
            )
            print(f"  {site.label} ({site.element}): {around}")


if __name__ == "__main__":
    sys.exit(main())
