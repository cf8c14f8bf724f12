"""How the published models protonate an O bonded to metals and nothing else, by how many
metals hold it and which: the prior for aqua, hydroxo, μ-OH and oxo ligands.

    python benchmarks/metal_oxygen_counts.py ../shared/data/corpus ../shared/data/benchmark

Every corpus structure as the hydrogen model's training takes it (training.atoms.dataset:
ordered, or the major part of a disordered one), and every benchmark entry's published model
with H: each O whose non-H neighbours (geometry.connectivity) are all metals, its H counted as
the training labels count them (dataset.h_counts). Metals are split into the ionic ones of
groups 1 and 2 (Na+, K+, Mg2+ ... whose contacts to a water's O are no covalent bond: a water
can touch two or three of them) and the rest (transition metals, Al, Zn, Sn ...). Prints the
H count's distribution for each (metal bonds, ionic or not), the same for the structures that
hold any H (an oxide's O has none to give: the job places none where the formula has no H),
how many the geometry rules get right before and with baseline._metal_oxygen, a few
examples of each row, and the published counts of the O that baseline.metal_oxygen_prior
weighs, from which MU2_COUNTS was read (in-sample: the corpus those counts judge).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import crystalx_core  # noqa: E402, F401  (cctbx before gemmi)
from crystalx_core.assign.baseline import (  # noqa: E402
    IONIC_METALS,
    MU2_COUNTS,
    baseline_h_counts,
    metal_oxygen_prior,
)
from crystalx_core.elements import is_hydrogen, is_metal  # noqa: E402
from crystalx_core.geometry import connectivity, one_alternative  # noqa: E402
from crystalx_core.training.atoms.dataset import h_counts, usable  # noqa: E402
from crystalx_core.training.sources import corpus_entries  # noqa: E402


def kind(structure, contacts) -> tuple[int, str] | None:
    """(metal bonds, 'ionic' | 'other' | 'mixed') of an O bonded to metals alone, else None."""
    elements = [structure.sites[c.j].element for c in contacts]
    if not elements or not all(is_metal(e) for e in elements):
        return None
    ionic = [e in IONIC_METALS for e in elements]
    return len(elements), "ionic" if all(ionic) else "other" if not any(ionic) else "mixed"


def weighed_counts(heavy, labels: list[int], alternative: list) -> list[int]:
    """The published H counts (`labels`, dataset.h_counts) of the O that
    baseline.metal_oxygen_prior weighs, its bonds read as assign.model reads them (`alternative`:
    one_alternative of the connectivity): the counts MU2_COUNTS holds, over the corpus."""
    return [
        labels[k]
        for k, site in enumerate(heavy.sites)
        if metal_oxygen_prior(heavy, site, alternative[k]) is not None
    ]


def tally(structures) -> tuple[Counter, dict]:
    counts: Counter = Counter()
    examples: dict = defaultdict(list)
    for name, truth in structures:
        heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
        labels = h_counts(truth)
        with_h = any(is_hydrogen(s.element) for s in truth.sites)
        bonds = connectivity(heavy)
        alternative = one_alternative(heavy, bonds)
        rules = {
            new: baseline_h_counts(heavy, alternative, metal_oxygens=new) for new in (False, True)
        }
        if with_h:
            counts.update(("mu2 prior", h) for h in weighed_counts(heavy, labels, alternative))
        for k, site in enumerate(heavy.sites):
            if site.element != "O":
                continue
            found = kind(heavy, bonds[k])
            if found is None:
                continue
            key = (*found, labels[k])
            counts[key] += 1
            counts[("with H", *key)] += with_h
            for new in (False, True):
                counts[("rules", new, *found)] += rules[new][k] == labels[k]
                counts[("rules", new, "all")] += rules[new][k] == labels[k]
            counts[("rules", "atoms")] += 1
            if len(examples[key]) < 3:
                around = "/".join(heavy.sites[c.j].element for c in bonds[k])
                examples[key].append(f"{name} {site.label} ({around})")
    return counts, examples


def corpus(path: Path):
    for entry in corpus_entries(path):
        truth, _ = usable(entry, "major")
        if truth is not None:
            yield entry.name, truth


def benchmark(path: Path):
    from crystalx_core.io.shelx_read import read_shelx

    for res in sorted(path.glob("*/published.res")):
        try:
            truth = read_shelx(res).to_structure()
        except Exception:  # noqa: BLE001 (an entry this reader refuses is left out)
            continue
        if any(is_hydrogen(s.element) for s in truth.sites):
            yield res.parent.name, truth


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("benchmark", type=Path, nargs="?")
    args = parser.parse_args(argv)
    sources = [("corpus", corpus(args.corpus))]
    if args.benchmark:
        sources.append(("benchmark", benchmark(args.benchmark)))
    for name, structures in sources:
        counts, examples = tally(structures)
        print(f"{name}: O bonded to metals alone, (metal bonds, metals): H count → atoms")
        for key in sorted({k[:2] for k in counts if k[0] not in ("with H", "rules", "mu2 prior")}):
            row = {h: counts[(*key, h)] for h in range(5) if counts[(*key, h)]}
            held = {h: counts[("with H", *key, h)] for h in row}
            before, after = (counts[("rules", new, *key)] for new in (False, True))
            print(
                f"  {key[0]} {key[1]}: {row}; in structures holding H: {held}; "
                f"rules right: {before} before _metal_oxygen, {after} with it"
            )
            for h in row:
                print(f"      {h} H e.g. {'; '.join(examples[(*key, h)])}")
        before, after = (counts[("rules", new, "all")] for new in (False, True))
        print(
            f"  rules right on all {counts[('rules', 'atoms')]} such O: {before} before "
            f"_metal_oxygen (every unshortened one a water), {after} with it"
        )
        prior = {h: counts[("mu2 prior", h)] for h in range(5) if counts[("mu2 prior", h)]}
        print(
            f"  O the μ2 prior weighs (bridging two holding metals, no M=O; structures holding "
            f"H): H count → atoms {prior} (baseline.MU2_COUNTS {MU2_COUNTS})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
