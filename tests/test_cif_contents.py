"""A CIF's cell contents: UNIT is counted from the atom sites, as refined, and where
_chemical_formula_sum times _cell_formula_units_Z (CIF core dictionary: Z is the number of
formula units of _chemical_formula_sum in the cell) says otherwise (H the model left out,
solvent taken out by SQUEEZE, a site factor written as an occupancy) a note says so. The
formula's counts are read (io.cif.cell_contents) but not used: on the corpus CIFs they change
they placed published elements and H worse (formula_note). Real files of ../shared/data/corpus."""

import pytest
from tests.conftest import CORPUS

from crystalx_core.contents import cell_counts
from crystalx_core.io.cif import cell_contents, read_cif

pytestmark = pytest.mark.usefixtures("shared_data")


def _unit(structure) -> dict[str, float]:
    return dict(zip(structure.sfac, structure.unit))


def _formula(path):
    """cell_contents of the block read, as element → count."""
    import gemmi

    from crystalx_core.io.cif import _formula_counts

    entry = read_cif(path)
    block = gemmi.cif.read(str(path))[0]
    order, unit, note = cell_contents(block, entry.structure, _formula_counts(block))
    return entry, dict(zip(order, unit)), note


def test_the_formula_counts_the_h_the_model_left_out_and_is_said():
    """COD 1000451 (Ba4 F13 Mo2 O6 H5, Z 4) models no H: the formula gives 20 per cell, the
    sites none; UNIT stays the sites' and the note names both."""
    entry, formula, _ = _formula(CORPUS / "codtools_1000451.cif")
    assert formula == {"H": 20.0, "Ba": 16.0, "F": 52.0, "Mo": 8.0, "O": 24.0}
    assert _unit(entry.structure) == cell_counts(entry.structure) and "H" not in _unit(
        entry.structure
    )
    assert (
        "_chemical_formula_sum x Z gives H 20 per cell, the atom sites H 0: UNIT counted from "
        "the sites, as refined" in entry.notes
    )


def test_the_formula_counts_a_site_factor_written_as_occupancy():
    """COD 7051132 ([Co(bpe)2(NCS)2].CH3OH, P4/ncc, Z 4) writes Co on a four-fold axis with
    occupancy 0.25, SHELX's site factor: the sites count one Co per cell, the formula four, and
    the methanol O the model left out."""
    entry, formula, _ = _formula(CORPUS / "codtools_7051132.cif")
    assert formula["Co"] == 4.0 and formula["O"] == 4.0 and formula["C"] == 108.0
    assert _unit(entry.structure)["Co"] == pytest.approx(1.0)
    note = next(n for n in entry.notes if n.startswith("_chemical_formula_sum x Z gives"))
    assert "Co 4" in note and "Co 1" in note


def test_a_z_for_another_formula_unit_is_the_one_the_sites_give():
    """sfarchiv2 2004973 gives 'C21 H13 Ce N6 O20' with Z 1 where its sites hold two such units
    in the cell, every element alike: Z goes with another formula unit, and the formula read
    is the formula times the Z the sites give. COD 2001207 ('C17 H36 Cl Co N4 O7', Z 2) has its
    Co on an inversion centre, once per cell: every element but O counts half of it, so the
    formula read is one unit; its note names the Z."""
    entry, formula, note = _formula(CORPUS / "sfarchiv2_2004973.cif")
    assert formula == {"C": 42.0, "H": 26.0, "Ce": 2.0, "N": 12.0, "O": 40.0}
    assert note.startswith("the atom sites hold 2 times _chemical_formula_sum")
    assert not any(n.startswith("_chemical_formula_sum x Z") for n in entry.notes)  # agree
    entry, formula, note = _formula(CORPUS / "codtools_2001207-abs-corr-with-biblio.cif")
    assert formula == {"C": 17.0, "H": 36.0, "Cl": 1.0, "Co": 1.0, "N": 4.0, "O": 7.0}
    assert cell_counts(entry.structure)["O"] == 9.0
    assert "(the atom sites hold 1/2 of _chemical_formula_sum" in next(
        n for n in entry.notes if n.startswith("_chemical_formula_sum x Z gives")
    )


def test_an_unreadable_formula_is_not_read():
    """cod-tools' test file 0000345 writes 'C42 H26 N4 * C7 H7', no CIF formula: nothing is
    read from it, and UNIT is the sites'."""
    entry, formula, note = _formula(CORPUS / "codtools_0000345-chem-formula-with-star.cif")
    assert formula == _unit(entry.structure)
    assert note.endswith("does not read as a formula: UNIT counted from the atom sites")
    assert not any("_chemical_formula_sum" in n for n in entry.notes)
