"""The hydrogen model's H counts with and without the bond-length rules of
crystalx_core.assign.protonation, against published H: every atom they change, newly right or
newly wrong.

    python benchmarks/protonation_rules.py corpus ../shared/data/corpus --split train val
    python benchmarks/protonation_rules.py corpus ../shared/data/corpus --split train val \
        --noise 0.1          # heavy-atom coordinates shaken as evaluate's noise (seeds 7, 8, 9)
    python benchmarks/protonation_rules.py tmqm ../shared/data/tmqm/tmqm.xyz.xz \
        --start 2800 --count 21000

corpus: the published non-H atoms of the split's ordered structures (as evaluate's H row);
tmqm: CSD complexes the models never saw (the heavy model's fine-tuning took 0-2799; the
hydrogen model saw none), each set in a P1 box (h_fixed_tmqm.boxed), only those with a site the
rules read (an acid group, an N with two single bonds, a pyridinium's ring N). Counts fitted
to UNIT's H as `crystalx assign` fits them; "without" runs the same code with the three rules
switched off.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import replace
from itertools import islice
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import crystalx_core  # noqa: E402, F401  (cctbx before gemmi)
import crystalx_core.assign.model as model  # noqa: E402
from crystalx_core.assign import protonation  # noqa: E402
from crystalx_core.elements import is_hydrogen  # noqa: E402
from crystalx_core.geometry import connectivity, one_alternative  # noqa: E402
from crystalx_core.io.cif import sfac_unit_from_sites  # noqa: E402
from crystalx_core.training.atoms.dataset import h_counts  # noqa: E402
from h_fixed_tmqm import boxed  # noqa: E402

SEEDS = (7, 8, 9)  # as evaluate's noisy heavy rows


def counts(heavy, rules: bool) -> list[int]:
    """The model's H counts, fitted to UNIT, with or without the protonation rules."""
    model.hydroxyl_on_longest_bond = (
        protonation.hydroxyl_on_longest_bond if rules else (lambda h, p, b, c: (p, []))
    )
    model.valence_floor = protonation.valence_floor if rules else (lambda h, k, b: 0)
    model.ring_nh_floor = protonation.ring_nh_floor if rules else (lambda h, k, b: 0)
    try:
        return [n for n, _ in model.model_h_counts(heavy)]
    finally:
        model.hydroxyl_on_longest_bond = protonation.hydroxyl_on_longest_bond
        model.valence_floor = protonation.valence_floor
        model.ring_nh_floor = protonation.ring_nh_floor


def read_by_rules(heavy) -> bool:
    """Whether any site is one the rules read: an acid group's centre or an N with a floor."""
    bonds = one_alternative(heavy, connectivity(heavy))
    return any(
        len(protonation._acid_oxygens(heavy, k, bonds)) >= 2
        or protonation.valence_floor(heavy, k, bonds)
        or protonation.ring_nh_floor(heavy, k, bonds)
        for k in range(len(heavy.sites))
    )


def shaken(heavy, noise: float, seed: int):
    """The sites moved by isotropic Gaussian noise of `noise` Å r.m.s. (simulate's extra_noise)."""
    if not noise:
        return heavy
    rng = np.random.default_rng(seed)
    to_frac = np.linalg.inv(heavy.orthogonalisation)
    return heavy.with_sites(
        [
            replace(
                s,
                frac=tuple(
                    to_frac @ (heavy.cartesian(s.frac) + rng.normal(0, noise / math.sqrt(3), 3))
                ),
            )
            for s in heavy.sites
        ]
    )


def compare(name: str, heavy, published: list[int], tally: Counter, changes: list[str]) -> None:
    before, after = counts(heavy, False), counts(heavy, True)
    tally["structures"] += 1
    for k, (b, a, p) in enumerate(zip(before, after, published)):
        tally["atoms"] += 1
        tally["right without"] += b == p
        tally["right with"] += a == p
        if a != b:
            tally["newly right" if a == p else "newly wrong" if b == p else "changed, wrong"] += 1
            changes.append(f"{name} {heavy.sites[k].label}: published {p}, without {b}, with {a}")


def corpus_structures(corpus: Path, splits: list[str], noise: float):
    from crystalx_core.training.atoms.dataset import usable
    from crystalx_core.training.sources import corpus_entries, split_of

    for entry in corpus_entries(corpus):
        if split_of(entry.name) not in splits:
            continue
        truth, _ = usable(entry)
        if truth is None:
            continue
        heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
        for seed in SEEDS if noise else (None,):
            name = entry.name if seed is None else f"{entry.name} (seed {seed})"
            yield name, shaken(heavy, noise, seed), h_counts(truth)


def tmqm_structures(path: Path, start: int, count: int):
    from crystalx_core.training.atoms.tmqm import read_molecules, xray_hydrogens

    for molecule in islice(read_molecules(path), start, start + count):
        if not {"N", "O"} & set(molecule.elements):
            continue
        xyz = xray_hydrogens(molecule.elements, molecule.xyz, 20.0)
        full = boxed(molecule.elements, xyz)
        full.sfac, full.unit = sfac_unit_from_sites(full)
        heavy = full.with_sites([s for s in full.sites if not is_hydrogen(s.element)])
        if read_by_rules(heavy):
            yield molecule.code, heavy, h_counts(full)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", choices=("corpus", "tmqm"))
    parser.add_argument("path", type=Path, help="the corpus folder or tmqm.xyz.xz")
    parser.add_argument("--split", nargs="+", default=["train", "val"])
    parser.add_argument("--noise", type=float, default=0.0, help="Å r.m.s. (corpus only)")
    parser.add_argument("--start", type=int, default=2800, help="first tmQM entry")
    parser.add_argument("--count", type=int, default=21000, help="tmQM entries read")
    args = parser.parse_args(argv)
    if not args.path.exists():
        print(f"protonation_rules: error: {args.path}: no such file", file=sys.stderr)
        return 2
    structures = (
        corpus_structures(args.path, args.split, args.noise)
        if args.source == "corpus"
        else tmqm_structures(args.path, args.start, args.count)
    )
    tally: Counter = Counter()
    changes: list[str] = []
    for name, heavy, published in structures:
        compare(name, heavy, published, tally, changes)
    print("\n".join(changes))
    print(
        f"{tally['structures']} structures, {tally['atoms']} atoms: right without the rules "
        f"{tally['right without']}, with {tally['right with']}; newly right "
        f"{tally['newly right']}, newly wrong {tally['newly wrong']}, changed and wrong both "
        f"times {tally['changed, wrong']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
