"""Which real UNITs contents.unit_set_aside sets aside: each .res/.ins with its own UNIT, and
each CIF with _chemical_formula_sum x Z as its UNIT (what a .ins made from the CIF carries; a
CIF read as it is counts UNIT from its sites, which nothing sets aside). A UNIT that is the
cell's contents must never be set aside; the whole-atoms rule (_not_whole_atoms) can only act
where every non-H atom is whole and on a general position and UNIT counts the model's atoms,
so those files are counted too.

    python benchmarks/unit_set_aside_scan.py ../shared/data/benchmark ../shared/data/corpus
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import replace
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.contents import cell_counts, unit_set_aside
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import CrystalXError
from crystalx_core.geometry import site_multiplicities
from crystalx_core.io import load


def _testable(structure) -> bool:
    """Whether the whole-atoms rule can act: non-H atoms all whole, on general positions, and
    as many per cell as UNIT's non-H total."""
    atoms = [s for s in structure.atoms if not is_hydrogen(s.element)]
    held = sum(n for el, n in cell_counts(structure.with_sites(atoms)).items())
    given = sum(n for el, n in zip(structure.sfac, structure.unit) if not is_hydrogen(el))
    order = structure.space_group_order
    return (
        bool(atoms)
        and abs(given - held) <= 0.5
        and all(
            not s.mixed and abs(s.occupancy - 1.0) <= 0.01 and m == order
            for s, m in zip(atoms, site_multiplicities(structure.with_sites(atoms)))
        )
    )


def main(folders: list[str]) -> int:
    warnings.filterwarnings("ignore")
    tally = {"res": [0, 0, 0], "cif": [0, 0, 0]}  # read, testable, set aside
    for path in sorted(p for f in folders for p in Path(f).rglob("*") if p.is_file()):
        kind = {".res": "res", ".ins": "res", ".cif": "cif"}.get(path.suffix.lower())
        if kind is None:
            continue
        try:
            structure = load(path).structure
        except (CrystalXError, ValueError, RuntimeError):
            continue
        if kind == "cif":
            if not structure.formula or not structure.formula_units:
                continue
            sfac = list(structure.formula)
            unit = [structure.formula[el] * structure.formula_units for el in sfac]
            structure = replace(structure, sfac=sfac, unit=unit, unit_set_aside="")
        counts = tally[kind]
        counts[0] += 1
        counts[1] += _testable(structure)
        _, note = unit_set_aside(structure)
        if note:
            counts[2] += 1
            print(f"{kind} {note}")
    for kind, (read, testable, set_aside) in tally.items():
        judged = f"{testable} the whole-atoms rule can judge"
        print(f"{kind}: {read} read, {judged}, {set_aside} set aside")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
