"""A CIF's UNIT from its atom sites (what `crystalx assign x.cif` uses) against UNIT from its
_chemical_formula_sum x Z (io.cif.cell_contents), on every corpus CIF where the two differ:
the job's elements and H counts set against the published model's (its atoms, and the H each
holds: riding._nearest_pivots, counted only where the CIF models H).

    python benchmarks/cif_unit_sweep.py ../shared/data/corpus

prints, per kind of difference (H alone, or non-H elements too), the published elements and
H counts each UNIT fixed and broke, then the files whose answers differ.
"""

from __future__ import annotations

import argparse
import collections
import sys
from dataclasses import replace
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import gemmi

from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import CrystalXError
from crystalx_core.io import load
from crystalx_core.io.cif import _formula_counts, cell_contents, read_cif
from crystalx_core.pipeline import assign_job
from crystalx_core.riding import _nearest_pivots


def _answers(structure) -> dict[str, tuple[str, int]]:
    result = assign_job(structure)  # as `crystalx assign x.cif` runs it
    return {site.label: (site.element, site.h_count) for site in result.assignment.sites}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    args = parser.parse_args(argv)
    tally: collections.Counter = collections.Counter()
    changed = []
    for path in sorted(args.corpus.glob("*.cif")):
        try:
            entry = read_cif(path)
            structure = load(path).structure
        except CrystalXError:
            continue
        block = gemmi.cif.read(str(path)).find_block(entry.block_name)
        order, unit, _ = cell_contents(block, entry.structure, _formula_counts(block))
        sites = dict(zip(structure.sfac, structure.unit))
        formula = dict(zip(order, unit))
        differ = [k for k in {*sites, *formula} if abs(sites.get(k, 0) - formula.get(k, 0)) > 0.05]
        if not differ:
            continue
        kind = "H alone" if set(differ) <= {"H", "D"} else "non-H too"
        heavy = structure.with_sites([s for s in structure.sites if not is_hydrogen(s.element)])
        try:
            before = _answers(structure)
            after = _answers(replace(structure, sfac=order, unit=unit))
        except CrystalXError as error:
            print(f"{path.name}: {error}", file=sys.stderr)
            continue
        tally[f"{kind}: files"] += 1
        held = collections.Counter(
            structure.sites[i].label for i, _ in _nearest_pivots(structure).values()
        )
        with_h = any(is_hydrogen(s.element) for s in structure.sites)
        diffs = []
        for site in heavy.sites:
            if site.label not in before or site.label not in after:
                continue
            (ea, ha), (eb, hb) = before[site.label], after[site.label]
            tally[f"{kind}: sites"] += 1
            if ea != eb:
                what = (
                    "fixed" if eb == site.element else "broken" if ea == site.element else "other"
                )
                tally[f"{kind}: elements {what}"] += 1
                diffs.append(f"{site.label} {ea}->{eb} (published {site.element})")
            if with_h and ha != hb:
                truth = held.get(site.label, 0)
                what = "fixed" if hb == truth else "broken" if ha == truth else "other"
                tally[f"{kind}: H counts {what}"] += 1
                diffs.append(f"{site.label} H {ha}->{hb} (published {truth})")
        if diffs:
            changed.append(f"{path.name}: {'; '.join(diffs[:6])}")
    for key in sorted(tally):
        print(f"{key}: {tally[key]}")
    print("\n".join(changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
