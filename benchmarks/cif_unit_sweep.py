"""A CIF's UNIT from its atom sites (what `crystalx assign x.cif` uses) against UNIT from its
_chemical_formula_sum x Z (cell_contents, below), on every corpus CIF where the two differ:
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
import numpy as np

from crystalx_core.contents import unit_problem
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import CrystalXError
from crystalx_core.io import load
from crystalx_core.io.cif import _formula_counts, read_cif
from crystalx_core.pipeline import assign_job
from crystalx_core.riding import _nearest_pivots
from crystalx_core.structure import Structure

FORMULA_TAG = "_chemical_formula_sum"
_Z_TAG = "_cell_formula_units_Z"
_SAME_COUNT = 0.05  # atoms per cell: a formula's count this close to the sites' is theirs
# the sites hold the formula k times over (k whole, 2 or more, or 1/k) within _WHOLE_FACTOR,
# for the elements of _WHOLE_SHARE of the formula's non-H atoms at least: COD 2001207 (Z 2,
# its Co on an inversion centre once per cell) counts half of every element but its
# perchlorate's and water's O
_WHOLE_FACTOR = 0.1
_WHOLE_SHARE = 0.75


def cell_contents(
    block: gemmi.cif.Block, structure: Structure, formula: dict[str, float]
) -> tuple[list[str], list[float], str]:
    """(SFAC, UNIT, note) of a CIF block: `formula` (_chemical_formula_sum) times Z, which counts
    what the sites cannot (H the model left out, solvent taken out by SQUEEZE, a site's SHELX site
    factor written as its occupancy: COD 7051132's Co 0.25 on a four-fold axis). The sites'
    count (sfac_unit_from_sites) where the formula is absent, unreadable, without Z, lacks an
    element the sites hold or gives an implausible cell (contents.unit_problem). Where the
    sites hold the formula a whole number of times over (or under), Z goes with another formula
    unit (a slip the refined model has not made): the formula times the Z the sites give. The
    note says which, or what the sites count otherwise; '' where both agree. What the formula
    says: the UNIT this sweep tries, which io.cif.formula_note only names."""
    sites_sfac, sites_unit = structure.sfac, structure.unit
    counted = dict(zip(sites_sfac, sites_unit))
    raw = block.find_value(FORMULA_TAG)
    written = gemmi.cif.as_string(raw).strip() if raw not in (None, "?", ".") else ""
    if not formula:
        why = (
            f"{FORMULA_TAG} {written!r} does not read as a formula"
            if written
            else f"no {FORMULA_TAG}"
        )
        return sites_sfac, sites_unit, f"{why}: UNIT counted from the atom sites"
    z = structure.formula_units
    if not z:
        return (
            sites_sfac,
            sites_unit,
            (f"no {_Z_TAG} (and none the sites give): UNIT counted from the atom sites"),
        )
    order, unit, stated = _formula_times(formula, z)
    given = f"{FORMULA_TAG} '{written}' x Z {z:g}"
    lacking = [el for el, n in counted.items() if n > 0 and el not in stated]
    if lacking:
        return (
            sites_sfac,
            sites_unit,
            (f"{given} has no {', '.join(lacking)} of the atom sites: UNIT counted from the sites"),
        )
    problem = unit_problem(replace(structure, sfac=order, unit=unit))
    if problem:
        return sites_sfac, sites_unit, f"{given}: {problem}; UNIT counted from the atom sites"
    heavy = [el for el in stated if el not in ("H", "D")]
    ratios = np.array([counted.get(el, 0.0) / stated[el] for el in heavy])
    k = float(np.median(ratios)) if len(ratios) else 1.0
    whole = max(k, 1 / k) if k > 0 else 0.0
    atoms = np.array([stated[el] for el in heavy])
    alike = float(atoms[np.abs(ratios / k - 1) <= _WHOLE_FACTOR].sum()) if k > 0 else 0.0
    if (
        whole >= 2 - _WHOLE_FACTOR
        and abs(whole - round(whole)) <= _WHOLE_FACTOR
        and alike >= _WHOLE_SHARE * atoms.sum()
    ):
        fitted = z * round(whole) if k > 1 else z / round(whole)
        times = f"{round(whole)} times" if k > 1 else f"1/{round(whole)} of"
        order, unit, _ = _formula_times(formula, fitted)
        return (
            order,
            unit,
            f"the atom sites hold {times} {given} (a Z for another formula unit): UNIT is the "
            f"formula x {fitted:g}, the Z the sites give",
        )
    differ = [
        f"{el} {counted.get(el, 0.0):g}"
        for el in order
        if abs(counted.get(el, 0.0) - stated[el]) > _SAME_COUNT
    ]
    note = ""
    if differ:
        shown = ", ".join(differ[:5]) + (" ..." if len(differ) > 5 else "")
        note = f"UNIT from {given}; the atom sites count {shown} per cell"
    return order, unit, note


def _formula_times(
    formula: dict[str, float], z: float
) -> tuple[list[str], list[float], dict[str, float]]:
    """(SFAC, UNIT, element → count) of `z` formula units: C, H, then the rest alphabetically."""
    stated = {el: round(n * z, 4) for el, n in formula.items() if n > 0}
    order = sorted(stated, key=lambda el: ({"C": 0, "H": 1}.get(el, 2), el))
    return order, [stated[el] for el in order], stated


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
