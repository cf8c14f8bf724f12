"""A CIF's cell contents as its authors state them: _chemical_formula_sum times
_cell_formula_units_Z (CIF core dictionary: Z is the number of formula units of
_chemical_formula_sum in the cell), not the atom sites, which miss H left out of the model,
solvent taken out by SQUEEZE, and count a site factor written as an occupancy. Real files of
../shared/data/corpus."""

from dataclasses import replace

import pytest
from tests.conftest import CORPUS

from crystalx_core.assign import assign
from crystalx_core.contents import cell_counts
from crystalx_core.io import load
from crystalx_core.io.cif import read_cif

pytestmark = pytest.mark.usefixtures("shared_data")


def _unit(structure) -> dict[str, float]:
    return dict(zip(structure.sfac, structure.unit))


def test_unit_counts_the_h_the_model_left_out():
    """COD 1000451 (Ba4 F13 Mo2 O6 H5, Z 4) models no H: UNIT has its 20 H all the same."""
    entry = read_cif(CORPUS / "codtools_1000451.cif")
    unit = _unit(entry.structure)
    assert unit == {"H": 20.0, "Ba": 16.0, "F": 52.0, "Mo": 8.0, "O": 24.0}
    assert "H" not in cell_counts(entry.structure)  # the sites have none
    assert any("UNIT from _chemical_formula_sum" in n and "H 0" in n for n in entry.notes)


def test_unit_is_the_formula_where_the_occupancy_is_a_site_factor():
    """COD 7051132 ([Co(bpe)2(NCS)2].CH3OH, P4/ncc, Z 4) writes Co on a four-fold axis with
    occupancy 0.25, SHELX's site factor: the sites count one Co per cell, the formula four; the
    methanol O the model left out is in UNIT too."""
    structure = read_cif(CORPUS / "codtools_7051132.cif").structure
    assert cell_counts(structure)["Co"] == pytest.approx(1.0)
    unit = _unit(structure)
    assert unit["Co"] == 4.0 and unit["O"] == 4.0 and unit["S"] == 8.0 and unit["C"] == 108.0
    # what the element choice counts against, per asymmetric unit (order 16)
    assert structure.asymmetric_unit_contents()["Co"] == pytest.approx(0.25)


def test_element_choice_sees_an_element_only_the_formula_names():
    """sfarchiv2 2004800, (CH3)3SOCdCl(3-x)Brx: sites 'Cl,Br(1)' (on a mirror, 4 per cell) and
    'Cl,Br(2)' (8 per cell) are typed Cl from their labels, the formula gives Br0.962 Cl2.038
    (Z 4). Br is in SFAC now, and the assignment under UNIT's counts (3.85 Br, 8.15 Cl) makes
    the four-fold site Br, the eight-fold one Cl; before, no site could be Br."""
    structure = load(CORPUS / "sfarchiv2_2004800.cif").structure
    unit = _unit(structure)
    assert unit["Br"] == pytest.approx(3.848) and unit["Cl"] == pytest.approx(8.152)
    heavy = replace(structure, sites=[s for s in structure.sites if s.element != "H"])
    answer = {heavy.sites[s.index].label: s.element for s in assign(heavy, "baseline").sites}
    assert answer["Cl,Br(1)"] == "Br" and answer["Cl,Br(2)"] == "Cl"
    assert {answer[k] for k in ("Cd", "S", "O", "C(1)", "C(2)")} == {"Cd", "S", "O", "C"}


def test_a_z_for_another_formula_unit_is_the_one_the_sites_give():
    """sfarchiv2 2004973 gives 'C21 H13 Ce N6 O20' with Z 1 where its sites hold two such units
    in the cell, every element alike: Z goes with another formula unit, and UNIT is the formula
    times the Z the refined sites give, said in a note. COD 2001207 ('C17 H36 Cl Co N4 O7', Z 2)
    has its Co on an inversion centre, once per cell: every element but O counts half of it."""
    entry = read_cif(CORPUS / "sfarchiv2_2004973.cif")
    assert _unit(entry.structure) == {"C": 42.0, "H": 26.0, "Ce": 2.0, "N": 12.0, "O": 40.0}
    assert any("hold 2 times _chemical_formula_sum" in n for n in entry.notes)
    entry = read_cif(CORPUS / "codtools_2001207-abs-corr-with-biblio.cif")
    unit = _unit(entry.structure)
    assert unit == {"C": 17.0, "H": 36.0, "Cl": 1.0, "Co": 1.0, "N": 4.0, "O": 7.0}
    assert cell_counts(entry.structure)["O"] == 9.0  # the sites' own O, not taken
    assert any("UNIT is the formula x 1, the Z the sites give" in n for n in entry.notes)


def test_an_unreadable_formula_keeps_the_sites_count():
    """cod-tools' test file 0000345 writes 'C42 H26 N4 * C7 H7', no CIF formula: the sites
    are counted, and said."""
    entry = read_cif(CORPUS / "codtools_0000345-chem-formula-with-star.cif")
    assert _unit(entry.structure) == pytest.approx(cell_counts(entry.structure))
    assert any(
        "does not read as a formula: UNIT counted from the atom sites" in n for n in entry.notes
    )


def test_an_embedded_res_gives_its_own_unit():
    """sf_atomstwoline (Olex2's CIF with its SHELXL .res embedded, Z 66 by its formula of
    rounded counts): the .res's SFAC/UNIT are what the authors gave SHELXL (Al 8, O 32), not the
    formula's 7.92 and 31.68; the CIF read alone still takes the formula."""
    path = CORPUS / "sf_atomstwoline.cif"
    assert _unit(read_cif(path).structure)["Al"] == pytest.approx(7.92)
    loaded = load(path)
    assert loaded.template is not None
    unit = _unit(loaded.structure)
    assert unit == _unit(loaded.template) and unit["Al"] == 8.0 and unit["O"] == 32.0
    assert not any("UNIT" in note for note in loaded.notes)
