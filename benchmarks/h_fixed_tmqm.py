"""How often the H counts geometry alone settles (baseline.h_fixed) are right outside the corpus.

    python benchmarks/h_fixed_tmqm.py ../shared/data/tmqm/tmqm.xyz.xz

h_fixed leaves the hydrogen model no choice (probability 1, before the fit to UNIT's H), so it
ships only where it is right on structures it was not built from: tmQM's CSD complexes (H
included; each H counted once, for its nearest atom: geometry.bonded_h_counts). Each molecule
is set in a P1 box; h_fixed is asked about every B (the only element it settles) of the
molecules that hold one. Prints right and wrong by the B's number of neighbours, the share
right, and a few wrong atoms (CSD code, label, neighbours and distances).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign.baseline import h_fixed
from crystalx_core.geometry import H_BOND_MAX, bonded_h_counts, connectivity
from crystalx_core.structure import Site, Structure
from crystalx_core.training.atoms.tmqm import read_molecules

BOX = 80.0  # Å: a P1 cell edge far beyond any molecule's size, so no image bonds


def boxed(elements: list[str], xyz) -> Structure:
    """The molecule about the middle of a BOX Å P1 cell, labels element + running number."""
    centred = xyz - xyz.mean(axis=0)
    sites = [
        Site(f"{e}{k + 1}", e, tuple(0.5 + x / BOX for x in p))
        for k, (e, p) in enumerate(zip(elements, centred))
    ]
    return Structure(cell=(BOX, BOX, BOX, 90, 90, 90), symops=["x,y,z"], sites=sites)


def scan(path: Path, examples: int = 8) -> tuple[Counter, list[str]]:
    """(right/wrong counts keyed by (neighbours, 'right' | 'wrong'), some wrong atoms)."""
    tally: Counter = Counter()
    wrong: list[str] = []
    for molecule in read_molecules(path):
        if "B" not in molecule.elements:
            continue
        full = boxed(molecule.elements, molecule.xyz)
        heavy = full.with_sites([s for s in full.sites if s.element != "H"])
        published = bonded_h_counts(full, H_BOND_MAX)
        bonds = connectivity(heavy)
        for k, site in enumerate(heavy.sites):
            if site.element != "B":
                continue
            fixed = h_fixed(heavy, site, bonds[k])
            if fixed is None:
                continue
            right = fixed == published[k]
            tally[(len(bonds[k]), "right" if right else "wrong")] += 1
            if not right and len(wrong) < examples:
                around = " ".join(f"{heavy.sites[c.j].element}:{c.distance:.2f}" for c in bonds[k])
                wrong.append(
                    f"{molecule.code} {site.label}: settled {fixed}, published {published[k]} "
                    f"[{around}]"
                )
    return tally, wrong


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tmqm", type=Path, help="tmqm.xyz.xz")
    args = parser.parse_args(argv)
    if not args.tmqm.is_file():
        print(f"h_fixed_tmqm: error: {args.tmqm}: no such file", file=sys.stderr)
        return 2
    tally, wrong = scan(args.tmqm)
    right = sum(n for (_, kind), n in tally.items() if kind == "right")
    total = sum(tally.values())
    for neighbours in sorted({n for n, _ in tally}):
        print(
            f"B with {neighbours} neighbours: {tally[(neighbours, 'right')]} right, "
            f"{tally[(neighbours, 'wrong')]} wrong"
        )
    share = f"{100 * right / total:.2f} %" if total else "none settled"
    print(f"settled: {total}, right {right}, wrong {total - right} ({share})")
    for line in wrong:
        print("  wrong:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
