"""A CIF's cell contents: UNIT is counted from the atom sites, as refined, and where
_chemical_formula_sum times _cell_formula_units_Z (CIF core dictionary: Z is the number of
formula units of _chemical_formula_sum in the cell) says otherwise (H the model left out,
solvent taken out by SQUEEZE, a site factor written as an occupancy, a Z for another formula
unit) a note says so (io.cif.formula_note): on the corpus CIFs the formula's counts as UNIT
placed published elements and H worse (benchmarks/cif_unit_sweep.py). Real files of
../shared/data/corpus."""

import pytest
from tests.conftest import CORPUS

from crystalx_core.contents import cell_counts
from crystalx_core.io.cif import read_cif

pytestmark = pytest.mark.usefixtures("shared_data")


def _unit(structure) -> dict[str, float]:
    return dict(zip(structure.sfac, structure.unit))


def _formula_notes(entry) -> list[str]:
    return [n for n in entry.notes if n.startswith("_chemical_formula_sum x Z gives")]


def test_the_formula_counts_the_h_the_model_left_out_and_is_said():
    """COD 1000451 (Ba4 F13 Mo2 O6 H5, Z 4) models no H: the formula gives 20 per cell, the
    sites none; UNIT stays the sites' and the note names both."""
    entry = read_cif(CORPUS / "codtools_1000451.cif")
    assert _unit(entry.structure) == cell_counts(entry.structure) and "H" not in _unit(
        entry.structure
    )
    assert _formula_notes(entry) == [
        "_chemical_formula_sum x Z gives H 20 per cell, the atom sites H 0: UNIT counted from "
        "the sites, as refined"
    ]


def test_the_formula_counts_a_site_factor_written_as_occupancy():
    """COD 7051132 ([Co(bpe)2(NCS)2].CH3OH, P4/ncc, Z 4) writes Co on a four-fold axis with
    occupancy 0.25, SHELX's site factor: the sites count one Co per cell, the formula four, and
    the methanol O the model left out."""
    entry = read_cif(CORPUS / "codtools_7051132.cif")
    assert _unit(entry.structure)["Co"] == pytest.approx(1.0)
    (note,) = _formula_notes(entry)
    assert "Co 4, N 24, O 4" in note and "Co 1, N 20, O 0" in note


def test_a_z_for_another_formula_unit_is_said():
    """sfarchiv2 2004973 gives 'C21 H13 Ce N6 O20' with Z 1 where its sites hold two such units
    in the cell, and COD 2001207 ('C17 H36 Cl Co N4 O7', Z 2) has its Co on an inversion
    centre, once per cell: the note gives both counts, UNIT stays the sites'."""
    entry = read_cif(CORPUS / "sfarchiv2_2004973.cif")
    assert _unit(entry.structure)["Ce"] == pytest.approx(2.0)
    (note,) = _formula_notes(entry)
    assert "gives C 21, H 13, Ce 1" in note and "the atom sites C 42, H 26, Ce 2" in note
    entry = read_cif(CORPUS / "codtools_2001207-abs-corr-with-biblio.cif")
    assert cell_counts(entry.structure)["O"] == 9.0
    (note,) = _formula_notes(entry)
    assert (
        "gives C 34, H 72, Cl 2, Co 2" in note and "the atom sites C 17, H 36, Cl 1, Co 1" in note
    )


def test_an_unreadable_formula_is_not_read():
    """cod-tools' test file 0000345 writes 'C42 H26 N4 * C7 H7', no CIF formula: nothing is
    read from it, no note, and UNIT is the sites'."""
    entry = read_cif(CORPUS / "codtools_0000345-chem-formula-with-star.cif")
    assert entry.structure.formula == {}
    assert _unit(entry.structure) == cell_counts(entry.structure)
    assert not any("_chemical_formula_sum" in n for n in entry.notes)
