"""How many training labels (H counts per non-H atom) a per-element X–H reach would change.

The hydrogen model learnt H counts with one reach for every atom, H_BOND_MAX (1.3 Å); the
product now reads a user's H with geometry.h_reach (P 1.64, Si 1.68, B 1.41 Å ...). This counts
the corpus atoms (as training.atoms.dataset takes them: ordered structures, or the major part
of a disordered one) and the tmQM atoms (each complex with its X–H shortened as its packed
crystal has them, tmqm.xray_hydrogens; intermolecular H···X in those crystals are over 2.5 Å,
beyond any reach) whose count differs, and draws every X–H distance of the elements whose reach
grew against both reaches.

    python benchmarks/h_reach_labels.py ../shared/data/corpus ../shared/data/tmqm/tmqm.xyz.xz
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import crystalx_core  # noqa: E402, F401  (cctbx before gemmi and scipy.spatial)
import numpy as np  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402
from crystalx_core.elements import is_hydrogen  # noqa: E402
from crystalx_core.geometry import (  # noqa: E402
    H_BOND_MAX,
    bonded_h_counts,
    h_reach,
    neighbours,
)
from crystalx_core.training.atoms.dataset import TRAINING_H_REACH, h_counts, usable  # noqa: E402
from crystalx_core.training.atoms.samples import MAX_H  # noqa: E402
from crystalx_core.training.atoms.tmqm import read_molecules, xray_hydrogens  # noqa: E402
from crystalx_core.training.sources import corpus_entries, split_of  # noqa: E402

from solve_benchmark import write_section  # noqa: E402

SHOWN = 2.6  # Å: the figure's range, past the geminal H of a C on P or Si (2.4 Å)
GROWN = sorted(e for e in ("B", "Si", "P", "S", "Ge", "As", "Se", "Cl", "Br", "I", "Sb", "Te"))


def corpus_changes(
    corpus: Path, disorder: str
) -> tuple[list[dict], Counter, list[tuple[str, float]]]:
    """(every atom whose label changes, atoms labelled by element, (element, X–H) of every H
    whose nearest non-H atom within SHOWN is a GROWN element) over the corpus structures the
    dataset takes with `disorder`."""
    changed, atoms, distances = [], Counter(), []
    for entry in corpus_entries(corpus):
        truth, _ = usable(entry, disorder)
        if truth is None:
            continue
        before = h_counts(truth)
        after = [min(MAX_H, n) for n in bonded_h_counts(truth)]
        heavy = [s for s in truth.sites if not is_hydrogen(s.element) and not s.is_peak]
        atoms.update(s.element for s in heavy)
        changed += [
            {
                "entry": entry.name,
                "split": split_of(entry.name),
                "label": site.label,
                "element": site.element,
                "before": b,
                "after": a,
            }
            for site, b, a in zip(heavy, before, after)
            if a != b
        ]
        hydrogens = [k for k, s in enumerate(truth.sites) if is_hydrogen(s.element)]
        for near in neighbours(truth, SHOWN, centres=hydrogens) if hydrogens else []:
            atoms_near = [c for c in near if not is_hydrogen(truth.sites[c.j].element)]
            if atoms_near and truth.sites[atoms_near[0].j].element in GROWN:
                distances.append((truth.sites[atoms_near[0].j].element, atoms_near[0].distance))
    return changed, atoms, distances


def tmqm_changes(path: Path, limit: int | None) -> tuple[Counter, Counter, Counter, list]:
    """(changed atoms by element and old→new, complexes with a change by element, atoms by
    element, (element, X–H) of every H nearest a GROWN element) over the tmQM complexes."""
    changed, complexes, atoms, distances = Counter(), Counter(), Counter(), []
    for k, molecule in enumerate(read_molecules(path)):
        if limit is not None and k >= limit:
            break
        xyz = xray_hydrogens(molecule.elements, molecule.xyz, 20.0)
        heavy = [i for i, e in enumerate(molecule.elements) if not is_hydrogen(e)]
        hydrogens = [i for i, e in enumerate(molecule.elements) if is_hydrogen(e)]
        atoms.update(molecule.elements[i] for i in heavy)
        if not heavy or not hydrogens:
            continue
        distance, nearest = cKDTree(xyz[heavy]).query(xyz[hydrogens])
        before, after = Counter(), Counter()
        for d, j in zip(distance, nearest):
            element = molecule.elements[heavy[j]]
            before[j] += d <= TRAINING_H_REACH
            after[j] += d <= h_reach(element)
            if element in GROWN and d <= SHOWN:
                distances.append((element, float(d)))
        seen = set()
        for j in set(before) | set(after):
            old, new = min(MAX_H, before[j]), min(MAX_H, after[j])
            if old != new:
                element = molecule.elements[heavy[j]]
                changed[(element, old, new)] += 1
                seen.add(element)
        complexes.update(seen)
    return changed, complexes, atoms, distances


def _shares(changed: Counter, atoms: Counter) -> str:
    """'P 2/85' for every GROWN element present: atoms changed of atoms labelled."""
    return ", ".join(f"{e} {changed.get(e, 0)}/{atoms[e]}" for e in GROWN if atoms.get(e))


def figure(distances: dict[str, list[tuple[str, float]]], path: Path) -> None:
    """X–H distances of the elements whose reach grew, with the old and the new reach."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [e for e in GROWN if any(el == e for d in distances.values() for el, _ in d)]
    fig, axes = plt.subplots(len(shown), 1, figsize=(7, 1.6 * len(shown) + 0.6), sharex=True)
    axes = np.atleast_1d(axes)
    bins = np.arange(0.6, SHOWN + 0.01, 0.02)
    for ax, element in zip(axes, shown):
        for source, rows in distances.items():
            values = [d for el, d in rows if el == element]
            if values:
                ax.hist(values, bins=bins, alpha=0.6, label=f"{source} ({len(values)})")
        ax.axvline(H_BOND_MAX, color="k", linestyle="--", linewidth=1)
        ax.axvline(h_reach(element), color="r", linewidth=1)
        ax.set_ylabel(f"{element}–H")
        ax.set_yscale("log")
        ax.legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel(
        "distance from an H to its nearest non-H atom (Å); dashed: 1.3 Å (training), red: h_reach"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("tmqm", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="first N tmQM complexes only")
    parser.add_argument("--doc", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--figure", type=Path, default=Path("docs/h_reach_labels.png"))
    parser.add_argument("--machine", default="")
    args = parser.parse_args(argv)
    start = time.time()
    lines = [
        "## H counts a per-element X–H reach changes (training labels)",
        "",
        f"`python benchmarks/h_reach_labels.py {args.corpus} {args.tmqm}`"
        + (f" `--limit {args.limit}`" if args.limit else "")
        + f": each atom's H count (at most {MAX_H}) with the training reach, "
        f"{TRAINING_H_REACH} Å for every atom, against geometry.h_reach (C, N, O, halogens and "
        "metals "
        + ", ".join(f"{e} {h_reach(e):.2f}" for e in ("B", "Si", "P", "S", "Ge", "As", "Se"))
        + " Å). Figure: `"
        + str(args.figure)
        + "`."
        + (f" Machine: {args.machine}." if args.machine else ""),
        "",
    ]
    distances = {}
    for disorder in ("skip", "major"):
        changed, atoms, found = corpus_changes(args.corpus, disorder)
        if disorder == "major":
            distances["corpus"] = found
        what = "ordered structures" if disorder == "skip" else "with disordered ones' major part"
        lines.append(
            f"- corpus, {what}: {len(changed)} of {sum(atoms.values())} non-H atoms change "
            f"label ({_shares(Counter(c['element'] for c in changed), atoms)})"
            + (
                ": "
                + "; ".join(
                    f"{c['entry']} {c['label']} ({c['element']}, {c['split']}) "
                    f"{c['before']}→{c['after']}"
                    for c in changed
                )
                if changed
                else ""
            )
        )
    changed, complexes, atoms, found = tmqm_changes(args.tmqm, args.limit)
    distances["tmQM"] = found
    total = sum(changed.values())
    by_element = Counter()
    for (element, _, _), n in changed.items():
        by_element[element] += n
    lines.append(
        f"- tmQM: {total} of {sum(atoms.values())} non-H atoms change label "
        f"({_shares(by_element, atoms)}), in "
        + ", ".join(f"{n} complexes with {e}" for e, n in sorted(complexes.items()))
        + ": "
        + "; ".join(
            f"{e} {old}→{new}: {n}" for (e, old, new), n in sorted(changed.items(), key=str)
        )
    )
    lines.append(f"- {time.time() - start:.0f} s.")
    text = "\n".join(lines) + "\n"
    print(text)
    figure(distances, args.figure)
    write_section(text, "h_reach_labels", args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
