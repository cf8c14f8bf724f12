"""The published H counts of every O bonded to metals alone against the room its metals' bond
valence sum leaves it (baseline.metal_oxygen_room): the check that the limit never takes an H a
published model has.

    python benchmarks/metal_oxygen_valence.py ../shared/data/corpus

Every corpus structure holding H, as the hydrogen model's training takes it (ordered, or the
major part of a disordered one); each O whose non-H neighbours present beside it are all metals,
its H counted as the training labels count them (dataset.h_counts). Prints the count of such O,
the table (published count, room) and every O with more H than the room.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import crystalx_core  # noqa: E402, F401  (cctbx before gemmi)
from crystalx_core.assign.baseline import metal_oxygen_room  # noqa: E402
from crystalx_core.bond_valence import metal_valence  # noqa: E402
from crystalx_core.elements import is_hydrogen, is_metal  # noqa: E402
from crystalx_core.geometry import connectivity, one_alternative, present_bonds  # noqa: E402
from crystalx_core.training.atoms.dataset import h_counts, usable  # noqa: E402
from crystalx_core.training.sources import corpus_entries  # noqa: E402


def rows(corpus: Path):
    """(structure, O label, published H, metals' valence sum, room) per O bonded to metals."""
    for entry in corpus_entries(corpus):
        truth, _ = usable(entry, "major")
        if truth is None or not any(is_hydrogen(s.element) for s in truth.sites):
            continue
        heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
        labels = h_counts(truth)
        bonds = one_alternative(heavy, connectivity(heavy))
        for k, site in enumerate(heavy.sites):
            contacts = bonds[k]
            if site.element != "O" or not contacts:
                continue
            if not all(is_metal(heavy.sites[c.j].element) for c in contacts):
                continue
            valence = metal_valence(heavy, site, present_bonds(heavy, site, contacts))
            room = metal_oxygen_room(heavy, site, contacts)
            yield entry.name, site.label, labels[k], valence, room


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    args = parser.parse_args(argv)
    found = list(rows(args.corpus))
    table = Counter((published, room) for _, _, published, _, room in found)
    over = [row for row in found if row[2] > row[4]]
    print(f"{len(found)} O bonded to metals alone; {len(over)} with more H than the room")
    print("(published H, room) → O:", dict(sorted(table.items())))
    for name, label, published, valence, room in over:
        print(f"  {name} {label}: {published} H, {valence:.2f} v.u., room {room}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
