"""The hydrogen model's H counts with and without the bond-length rules of
crystalx_core.assign.protonation, against published H: every atom they change, newly right or
newly wrong.

    python benchmarks/protonation_rules.py corpus ../shared/data/corpus --split train val
    python benchmarks/protonation_rules.py corpus ../shared/data/corpus --split train val \
        --noise 0.1          # heavy-atom coordinates shaken as evaluate's noise (seeds 7, 8, 9)
    python benchmarks/protonation_rules.py tmqm ../shared/data/tmqm/tmqm.xyz.xz \
        --start 2800 --count 21000
    python benchmarks/protonation_rules.py tmqm ../shared/data/tmqm/tmqm.xyz.xz \
        --start 2800 --count 3000 --rule imine_ceiling

corpus: the published non-H atoms of the split's ordered structures (as evaluate's H row);
tmqm: CSD complexes the models never saw (the heavy model's fine-tuning took 0-2799; the
hydrogen model saw none), each set in a P1 box (h_fixed_tmqm.boxed), only those with a site the
rules read (an acid group, an N with two single bonds, a pyridinium's ring N, an imine's N).
Counts fitted to UNIT's H as `crystalx assign` fits them; "without" runs the same code with the
four rules switched off (--rule: that one alone, the others on).
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


# the rules and what each does when switched off
RULES_OFF = {
    "hydroxyl_on_longest_bond": lambda h, p, b, c: (p, []),
    "valence_floor": lambda h, k, b: 0,
    "ring_nh_floor": lambda h, k, b: 0,
    "imine_ceiling": lambda h, k, b: False,
}


def counts(heavy, rules: bool, switched=tuple(RULES_OFF)) -> list[int]:
    """The model's H counts, fitted to UNIT, with or without the protonation rules named in
    `switched` (the others stay on)."""
    if not rules:
        for name in switched:
            setattr(model, name, RULES_OFF[name])
    try:
        return [n for n, _ in model.model_h_counts(heavy)]
    finally:
        for name in RULES_OFF:
            setattr(model, name, getattr(protonation, name))


def read_by_rules(heavy, switched=tuple(RULES_OFF)) -> bool:
    """Whether any site is one the rules in `switched` read: an acid group's centre, an N with
    a floor or a ceiling."""
    bonds = one_alternative(heavy, connectivity(heavy))
    return any(
        (
            "hydroxyl_on_longest_bond" in switched
            and len(protonation._acid_oxygens(heavy, k, bonds)) >= 2
        )
        or ("valence_floor" in switched and protonation.valence_floor(heavy, k, bonds))
        or ("ring_nh_floor" in switched and protonation.ring_nh_floor(heavy, k, bonds))
        or ("imine_ceiling" in switched and protonation.imine_ceiling(heavy, k, bonds))
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


def compare(
    name: str, heavy, published: list[int], tally: Counter, changes: list[str], switched
) -> None:
    before, after = counts(heavy, False, switched), counts(heavy, True, switched)
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


def tmqm_structures(path: Path, start: int, count: int, switched):
    from crystalx_core.training.atoms.tmqm import read_molecules, xray_hydrogens

    for molecule in islice(read_molecules(path), start, start + count):
        if not {"N", "O"} & set(molecule.elements):
            continue
        xyz = xray_hydrogens(molecule.elements, molecule.xyz, 20.0)
        full = boxed(molecule.elements, xyz)
        full.sfac, full.unit = sfac_unit_from_sites(full)
        heavy = full.with_sites([s for s in full.sites if not is_hydrogen(s.element)])
        if read_by_rules(heavy, switched):
            yield molecule.code, heavy, h_counts(full)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", choices=("corpus", "tmqm"))
    parser.add_argument("path", type=Path, help="the corpus folder or tmqm.xyz.xz")
    parser.add_argument("--split", nargs="+", default=["train", "val"])
    parser.add_argument("--noise", type=float, default=0.0, help="Å r.m.s. (corpus only)")
    parser.add_argument("--start", type=int, default=2800, help="first tmQM entry")
    parser.add_argument("--count", type=int, default=21000, help="tmQM entries read")
    parser.add_argument(
        "--rule", choices=sorted(RULES_OFF), help="switch this rule alone (default: all)"
    )
    args = parser.parse_args(argv)
    if not args.path.exists():
        print(f"protonation_rules: error: {args.path}: no such file", file=sys.stderr)
        return 2
    switched = (args.rule,) if args.rule else tuple(RULES_OFF)
    structures = (
        corpus_structures(args.path, args.split, args.noise)
        if args.source == "corpus"
        else tmqm_structures(args.path, args.start, args.count, switched)
    )
    tally: Counter = Counter()
    changes: list[str] = []
    for name, heavy, published in structures:
        compare(name, heavy, published, tally, changes, switched)
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
