"""The sp2 C on a metal (baseline.metal_sp2_carbon: a CH at most) against published H, and what the
limit does to the hydrogen model's counts.

    python benchmarks/metal_sp2_carbon.py tmqm ../shared/data/tmqm/tmqm.xyz.xz
    python benchmarks/metal_sp2_carbon.py corpus ../shared/data/corpus --split train val

tmqm: tmQM's CSD complexes; every C bonded to one C and to one d-block metal at a shortened M–C,
tallied by M–C–C angle (5-degree bins) and H count; the molecules with a C the rule reads (each in a
P1 box, X-H shortened to SHELXL's riding distances as training's tmqm does; H counted for their
nearest atom), and the published H count of each C the rule reads;
corpus: the published non-H atoms of the split's ordered structures (as evaluate's H row).
For each structure with a C the rule reads, the model's counts fitted to UNIT's H as
`crystalx assign` fits them, with and without the rule: newly right, newly wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import crystalx_core  # noqa: E402, F401  (cctbx before gemmi)
from crystalx_core.assign import baseline  # noqa: E402
import crystalx_core.assign.model as model  # noqa: E402
from crystalx_core.elements import (  # noqa: E402
    atomic_number,
    covalent_radius,
    is_hydrogen,
    is_metal,
)
from crystalx_core.geometry import bond_angle, connectivity, one_alternative  # noqa: E402
from crystalx_core.io.cif import sfac_unit_from_sites  # noqa: E402
from crystalx_core.training.atoms.dataset import h_counts  # noqa: E402
from h_fixed_tmqm import boxed  # noqa: E402
from protonation_rules import corpus_structures  # noqa: E402

RULE = baseline.metal_sp2_carbon
H_REACH = 1.3  # Å: an H this close to its nearest heavy atom is counted for it (evaluate's truth)


def read_sites(heavy) -> list[int]:
    """The C sites of `heavy` the rule reads as sp2 on a metal."""
    bonds = one_alternative(heavy, connectivity(heavy))
    return [k for k, site in enumerate(heavy.sites) if RULE(heavy, site, bonds[k])]


def counts(heavy, rule: bool) -> list[int]:
    """The model's H counts, fitted to UNIT, with or without the rule."""
    model.metal_sp2_carbon = RULE if rule else (lambda structure, site, contacts: False)
    try:
        return [n for n, _ in model.model_h_counts(heavy)]
    finally:
        model.metal_sp2_carbon = RULE


def metal_carbons(elements: list[str], xyz: np.ndarray) -> list[tuple[float, int]]:
    """(M–C–C angle, H count) of each C of a molecule bonded to one C and to one d-block metal
    at an M–C shortened as the rule asks, nothing else (bonds: covalent radii + 0.4 Å as
    geometry.connectivity; each H counted for its nearest heavy atom within H_REACH): what the
    rule reads, before its angle, without the box."""
    xyz = np.asarray(xyz, dtype=float)
    radii = np.array([covalent_radius(e) for e in elements])
    heavy = np.array([not is_hydrogen(e) for e in elements])
    found = []
    for c in np.flatnonzero([e == "C" for e in elements]):
        d = np.linalg.norm(xyz - xyz[c], axis=1)
        bonded = heavy & (d > 0.5) & (d < radii + radii[c] + 0.4)
        metals = [k for k in np.flatnonzero(bonded) if is_metal(elements[k])]
        others = [k for k in np.flatnonzero(bonded) if not is_metal(elements[k])]
        if len(metals) != 1 or len(others) != 1 or elements[others[0]] != "C":
            continue
        (m,) = metals
        if atomic_number(elements[m]) not in baseline._D_BLOCK:
            continue
        if radii[m] + radii[c] - d[m] < baseline.METAL_C_SHORTENING:
            continue
        hydrogens = [h for h in np.flatnonzero(~heavy) if d[h] <= H_REACH]
        own = sum(
            1 for h in hydrogens if np.linalg.norm(xyz[heavy] - xyz[h], axis=1).min() >= d[h] - 1e-9
        )
        found.append((bond_angle(xyz[m], xyz[c], xyz[others[0]]), own))
    return found


def tmqm_structures(path: Path, by_angle: Counter):
    """The molecules with a C the rule reads (boxed, X-ray H), after `by_angle` has counted
    (5-degree bin of M–C–C, H count) for every C metal_carbons finds."""
    from crystalx_core.training.atoms.tmqm import read_molecules, xray_hydrogens

    lowest, linear = baseline.SP2_AT_METAL
    for molecule in read_molecules(path):
        found = metal_carbons(molecule.elements, molecule.xyz)
        by_angle.update((int(angle // 5 * 5), n) for angle, n in found)
        if not any(lowest <= angle < linear for angle, _ in found):
            continue
        full = boxed(molecule.elements, xray_hydrogens(molecule.elements, molecule.xyz, 20.0))
        full.sfac, full.unit = sfac_unit_from_sites(full)
        heavy = full.with_sites([s for s in full.sites if not is_hydrogen(s.element)])
        yield molecule.code, heavy, h_counts(full)


def compare(structures, read_sites, counts, what: str, by_angle: Counter | None = None) -> None:
    """Print, over `structures` ((name, heavy, published H counts) each), the published H count of
    every site `read_sites(heavy)` gives and, per structure with one, the counts `counts(heavy,
    rule)` gives without the rule and with it: each change, and the tally of right and wrong.
    `by_angle`: the (M–C–C bin, H count) tally of the tmqm source, printed first."""
    published_h: Counter = Counter()
    tally: Counter = Counter()
    for name, heavy, published in structures:
        read = read_sites(heavy)
        if not read:
            continue
        published_h.update(published[k] for k in read)
        before, after = counts(heavy, False), counts(heavy, True)
        tally["structures"] += 1
        for k, (b, a, p) in enumerate(zip(before, after, published)):
            tally["atoms"] += 1
            tally["right without"] += b == p
            tally["right with"] += a == p
            if a != b:
                change = "newly right" if a == p else "newly wrong" if b == p else "changed, wrong"
                tally[change] += 1
                print(f"{name} {heavy.sites[k].label}: published {p}, without {b}, with {a}")
    by_angle = by_angle or Counter()
    for low in sorted({a for a, _ in by_angle}):
        row = ", ".join(f"{n} H: {by_angle[low, n]}" for n in range(5) if by_angle[low, n])
        print(f"M–C–C {low}-{low + 5} degrees: {row}")
    print(
        f"{what}, by published H count: "
        + ", ".join(f"{n} H: {published_h[n]}" for n in sorted(published_h))
    )
    print(
        f"{tally['structures']} structures with such a C, {tally['atoms']} atoms: right without "
        f"the rule {tally['right without']}, with {tally['right with']}; newly right "
        f"{tally['newly right']}, newly wrong {tally['newly wrong']}, changed and wrong both "
        f"times {tally['changed, wrong']}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", choices=("corpus", "tmqm"))
    parser.add_argument("path", type=Path, help="the corpus folder or tmqm.xyz.xz")
    parser.add_argument("--split", nargs="+", default=["train", "val"])
    args = parser.parse_args(argv)
    if not args.path.exists():
        print(f"metal_sp2_carbon: error: {args.path}: no such file", file=sys.stderr)
        return 2
    by_angle: Counter = Counter()  # (M–C–C bin, H count) of the C before the angle (tmqm)
    structures = (
        corpus_structures(args.path, args.split, noise=0.0)
        if args.source == "corpus"
        else tmqm_structures(args.path, by_angle)
    )
    compare(structures, read_sites, counts, "C read as sp2 on a metal", by_angle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
