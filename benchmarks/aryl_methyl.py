"""The methyls on aromatic rings (baseline.aryl_methyls: settled as CH3 whatever their refined C–C)
against published H, and what settling them does to the hydrogen model's counts.

    python benchmarks/aryl_methyl.py ../shared/data/corpus --split train val test [--disordered]

The published non-H atoms of the split's ordered structures (as evaluate's H row), or with
--disordered of its disordered ones read whole (their PARTs and occupancies kept); for each
structure with a C the rule reads, its published H count, and the model's counts fitted to UNIT's
H as `crystalx assign` fits them, with and without the rule: newly right, newly wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import crystalx_core  # noqa: E402, F401  (cctbx before gemmi)
from crystalx_core.assign import baseline  # noqa: E402
import crystalx_core.assign.model as model  # noqa: E402
from crystalx_core.geometry import connectivity, one_alternative  # noqa: E402
from metal_sp2_carbon import compare  # noqa: E402
from protonation_rules import corpus_structures  # noqa: E402

RULE = baseline.aryl_methyls


def disordered_structures(corpus: Path, splits: list[str]):
    """(name, non-H sites, published H counts) of the split's disordered corpus entries, whole."""
    from crystalx_core.elements import is_hydrogen
    from crystalx_core.errors import CrystalXError
    from crystalx_core.training.atoms.dataset import h_counts
    from crystalx_core.training.sources import corpus_entries, split_of

    for entry in corpus_entries(corpus):
        if split_of(entry.name) not in splits or entry.disorder == "no":
            continue
        try:
            truth = entry.load()
        except (CrystalXError, ValueError, KeyError):
            continue
        heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
        yield entry.name, heavy, h_counts(truth)


def read_sites(heavy) -> list[int]:
    """The C sites of `heavy` the rule reads as methyls on an aromatic ring."""
    return sorted(RULE(heavy, one_alternative(heavy, connectivity(heavy))))


def counts(heavy, rule: bool) -> list[int]:
    """The model's H counts, fitted to UNIT, with or without the rule."""
    model.aryl_methyls = RULE if rule else (lambda structure, bonds: set())
    try:
        return [n for n, _ in model.model_h_counts(heavy)]
    finally:
        model.aryl_methyls = RULE


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--split", nargs="+", default=["train", "val", "test"])
    parser.add_argument("--disordered", action="store_true", help="the disordered entries")
    args = parser.parse_args(argv)
    if not args.corpus.exists():
        print(f"aryl_methyl: error: {args.corpus}: no such folder", file=sys.stderr)
        return 2
    structures = (
        disordered_structures(args.corpus, args.split)
        if args.disordered
        else corpus_structures(args.corpus, args.split, noise=0.0)
    )
    compare(structures, read_sites, counts, "C read as a methyl on an aromatic ring")
    return 0


if __name__ == "__main__":
    sys.exit(main())
