"""Lengths of the bonds of terminal O and F (one non-H neighbour) in the corpus's published
models, per neighbour element: where O and F at the same neighbour lie apart, a bond length could
tell them; where they overlap it cannot (issue 23: 2004811's triflate O held as F).

Sites with Ueq under 0.1 Å² (ordered), the major part of disordered structures, every corpus
entry but 2004811 (the structure whose misses asked the question).

    python benchmarks/terminal_bond_lengths.py ../shared/data/corpus
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.elements import is_hydrogen
from crystalx_core.geometry import connectivity, one_alternative
from crystalx_core.training.atoms.dataset import usable
from crystalx_core.training.sources import corpus_entries

ASKED = "sfarchiv2_2004811.cif"
ORDERED = 0.1  # Å²


def terminal_lengths(corpus: Path) -> dict[tuple[str, str], list[tuple[float, str]]]:
    """(neighbour element, O or F) → [(length Å, entry)] of every ordered terminal O and F."""
    lengths = defaultdict(list)
    for entry in corpus_entries(corpus):
        truth, _ = usable(entry, "major") if entry.name != ASKED else (None, "")
        if truth is None:
            continue
        heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
        bonds = one_alternative(heavy, connectivity(heavy))
        for k, site in enumerate(heavy.sites):
            if site.element in ("O", "F") and len(bonds[k]) == 1 and site.u_iso < ORDERED:
                contact = bonds[k][0]
                key = (heavy.sites[contact.j].element, site.element)
                lengths[key].append((contact.distance, entry.name))
    return lengths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--least", type=int, default=3, help="bonds of a kind at the least")
    args = parser.parse_args(argv)
    lengths = terminal_lengths(args.corpus)
    print("| bond | bonds | structures | 5 % | median | 95 % | min | max |")
    print("|---|---|---|---|---|---|---|---|")
    for (centre, end), found in sorted(lengths.items()):
        d = np.array([length for length, _ in found])
        if len(d) >= args.least:
            p5, p50, p95 = np.percentile(d, [5, 50, 95])
            print(
                f"| {centre}–{end} | {len(d)} | {len({name for _, name in found})} | {p5:.3f} | "
                f"{p50:.3f} | {p95:.3f} | {d.min():.3f} | {d.max():.3f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
