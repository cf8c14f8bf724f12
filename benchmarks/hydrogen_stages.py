"""Which stage of the H-count answer gets each atom wrong, and what kind of atom it is.

    python benchmarks/hydrogen_stages.py ../shared/data/corpus --split val
    python benchmarks/hydrogen_stages.py ../shared/data/corpus --split train --dump FILE

The structures are those evaluate.py measures H counts on (ordered corpus structures of the
split, published non-H atoms with their elements); each atom's published count (H within
H_BOND_MAX, dataset.h_counts) is compared with the stages of model_h_counts: the rules'
count (the model's input token), the model's most likely count as it gives it (raw), after
the room rule (counts the atom has room for), after pooling split atoms, and the answer
(fitted to UNIT's H). Prints how many atoms each stage has right, the atoms it turned right
and wrong, the wrong answers by kind of atom, and a table of every wrong answer: its kind
(element, non-metal neighbours, planarity, metal-bound), neighbours and bond lengths, the
stages' counts with the model's probability, and the published H geometry (X-H lengths, the
valence it makes: a published count that over-fills the atom, or an X-H far from any X-ray
length, marks a doubtful published model).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign.model import model_h_counts
from crystalx_core.elements import covalent_radius, is_hydrogen, is_metal
from crystalx_core.geometry import (
    H_BOND_MAX,
    angle_sum,
    bond_angle,
    bonded_h_contacts,
    connectivity,
    one_alternative,
)

STAGES = ("rules", "raw", "room", "agreed", "final")
# Å: published X-H lengths outside these are far from any X-ray or neutron model of the bond
XH_RANGE = {"C": (0.85, 1.15), "N": (0.75, 1.10), "O": (0.70, 1.10)}
PLANAR = 350.0  # degrees: the angle sum of three bonds about a flat atom (as the rules read it)
LINEAR = 165.0  # degrees: a C with two bonds this straight is sp (as the rules read it)
TRIPLE = 1.25  # Å: C≡C 1.18-1.21, C≡N 1.14, C≡O 1.13; the shortest C=C or C=N is 1.27


def kind_of(structure, k: int, contacts: list) -> str:
    """A crystallographer's name for the atom: element, non-metal neighbours, flat or not,
    the shortest bond's shortening, and -M when bound to a metal."""
    site = structure.sites[k]
    centre = structure.cartesian(site.frac)
    others = [c for c in contacts if not is_metal(structure.sites[c.j].element)]
    metal = len(contacts) > len(others)
    n = len(others)
    name = f"{site.element}{n}"
    carts = [c.cart_j for c in others]
    if n == 3:
        name += " flat" if angle_sum(centre, carts) >= PLANAR else " pyramidal"
    elif n == 2:
        name += f" {bond_angle(carts[0], centre, carts[1]):.0f}°"
    if n:
        short = max(
            covalent_radius(site.element)
            + covalent_radius(structure.sites[c.j].element)
            - c.distance
            for c in others
        )
        name += f" short {short:+.2f}"
    return name + (" -M" if metal else "")


def _kind_key(kind: str) -> str:
    """The kind without its angle and shortening, to count wrong answers by."""
    element_neighbours, *rest = kind.split(" ")
    flat = [w for w in rest if w in ("flat", "pyramidal", "-M")]
    return " ".join([element_neighbours, *flat])


def _bond_list(structure, contacts: list) -> str:
    return " ".join(
        f"{structure.sites[c.j].label}:{c.distance:.3f}"
        for c in sorted(contacts, key=lambda c: c.distance)
    )


def published_h(truth, heavy_index: list[int]) -> dict[int, list[float]]:
    """Per non-H site (its index among the non-H sites): the X-H lengths of the H it holds in
    the published model."""
    held = bonded_h_contacts(truth, H_BOND_MAX)
    position = {i: k for k, i in enumerate(heavy_index)}
    return {position[i]: [round(c.distance, 3) for c in cs] for i, cs in held.items()}


def doubt(structure, k: int, contacts: list, lengths: list[float]) -> str:
    """Why the published H of an atom look wrong, or '': an X-H outside XH_RANGE, a C or N
    holding more than four bonds, an O more than three ("over-filled"), a C bonded to no metal
    with fewer than three bonds that is neither linear nor triply bonded ("under-filled": H
    left out of the published model, e.g. a solvent's)."""
    site = structure.sites[k]
    others = [c for c in contacts if not is_metal(structure.sites[c.j].element)]
    why = []
    low, high = XH_RANGE.get(site.element, (0.0, 9.9))
    if any(not low <= d <= high for d in lengths):
        why.append("X-H length")
    if len(others) + len(lengths) > {"C": 4, "N": 4, "O": 3}.get(site.element, 99):
        why.append("over-filled")
    if site.element == "C" and len(others) == len(contacts) and len(others) + len(lengths) < 3:
        centre = structure.cartesian(site.frac)
        carts = [c.cart_j for c in others]
        linear = len(carts) == 2 and bond_angle(carts[0], centre, carts[1]) >= LINEAR
        triple = any(c.distance < TRIPLE for c in others)
        if others and not linear and not triple:
            why.append("under-filled")
    return ",".join(why)


def audit(truth) -> list[dict]:
    """One row per published non-H atom: kind, stages, published count and doubt."""
    from crystalx_core.training.atoms.dataset import h_counts

    heavy_index = [i for i, s in enumerate(truth.sites) if not is_hydrogen(s.element)]
    heavy = truth.with_sites([truth.sites[i] for i in heavy_index])
    record: dict = {}
    model_h_counts(heavy, record=record)
    expected = h_counts(truth)
    bonds = one_alternative(heavy, connectivity(heavy))
    lengths = published_h(truth, heavy_index)
    counts = record["counts"]
    rows = []
    for k, site in enumerate(heavy.sites):
        row = {
            "structure": Path(str(truth.source)).name,
            "label": site.label,
            "kind": kind_of(heavy, k, bonds[k]),
            "bonds": _bond_list(heavy, bonds[k]),
            "published": expected[k],
            "xh": lengths.get(k, []),
            "doubt": doubt(heavy, k, bonds[k], lengths.get(k, [])),
            "rules": int(record["rules"][k]),
            "final": int(record["final"][k]),
        }
        for stage in ("raw", "room", "agreed"):
            p = record[stage][k]
            row[stage] = int(counts[int(np.argmax(p))])
            row[f"p_{stage}"] = round(float(p.max()), 3)
        row["p_published"] = (
            round(float(record["agreed"][k][counts.index(expected[k])]), 3)
            if expected[k] in counts
            else 0.0
        )
        rows.append(row)
    return rows


def main(argv=None) -> int:
    from crystalx_core.training.atoms.evaluate import is_metal_complex, test_structures

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--split", default="val", choices=("train", "val", "test"))
    parser.add_argument("--dump", type=Path, help="JSON lines: every atom")
    args = parser.parse_args(argv)
    right, turned, kinds = Counter(), Counter(), Counter()
    wrong_rows, atoms, metal_atoms = [], 0, 0
    dump = args.dump.open("w") if args.dump else None
    for truth in test_structures(args.corpus, args.split):
        metal = is_metal_complex(truth)
        for row in audit(truth):
            atoms += 1
            metal_atoms += metal
            for stage in STAGES:
                right[stage] += row[stage] == row["published"]
                right[stage, "metal"] += metal and row[stage] == row["published"]
            for before, after in zip(STAGES[1:], STAGES[2:]):
                was, now = row[before] == row["published"], row[after] == row["published"]
                if was != now:
                    turned[after, "right" if now else "wrong"] += 1
            if dump:
                dump.write(json.dumps(row) + "\n")
            if row["final"] != row["published"]:
                wrong_rows.append(row)
                kinds[_kind_key(row["kind"])] += 1
    print(
        f"{args.split}: {atoms} atoms ({metal_atoms} in metal complexes); right after each stage:"
    )
    for stage in STAGES:
        print(
            f"  {stage}: {right[stage]} ({right[stage] / atoms:.2%}); metal complexes "
            f"{right[stage, 'metal']}"
        )
    for stage in STAGES[2:]:
        print(
            f"  {stage} turned right {turned[stage, 'right']}, "
            f"turned wrong {turned[stage, 'wrong']}"
        )
    doubtful = sum(bool(r["doubt"]) for r in wrong_rows)
    print(f"wrong answers: {len(wrong_rows)}, {doubtful} of them where the published H look wrong")
    print("wrong answers by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print(
        "| structure | atom | kind | bonds (Å) | published (X-H Å) | doubt | rules | raw (p) | "
        "room | final | p(published) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in wrong_rows:
        print(
            f"| {r['structure']} | {r['label']} | {r['kind']} | {r['bonds']} | {r['published']} "
            f"({' '.join(f'{d:.2f}' for d in r['xh'])}) | {r['doubt']} | {r['rules']} | "
            f"{r['raw']} ({r['p_raw']}) | {r['room']} | {r['final']} | {r['p_published']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
