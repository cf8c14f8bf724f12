"""An O bonded to metals alone has room for as many H as its metals' bond valence sum leaves
it: an oxide's O none, a hydroxide's one (crystalx_core.bond_valence,
baseline.metal_oxygen_room)."""

import json
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import gemmi
import pytest

from crystalx_core.assign.baseline import baseline_h_counts, h_room
from crystalx_core.bond_valence import R0_OXIDE, h_room_left, metal_valence
from crystalx_core.cli import main
from crystalx_core.geometry import connectivity
from crystalx_core.io.cif import read_cif

# dans-diffraction 3.4.0 (PyPI sdist) Dans_Diffraction/Structures/LiCoO2.cif, written by VESTA:
# no formula, no H; its cell, space group by name and number, and atom loop as VESTA writes
# them (the 36 operators left out: the group's name gives them)
VESTA_LICOO2 = """data_VESTA_phase_1

_pd_phase_name                         ''
_cell_length_a                         2.824(1)
_cell_length_b                         2.824(1)
_cell_length_c                         13.888(1)
_cell_angle_alpha                      90
_cell_angle_beta                       90
_cell_angle_gamma                      120
_symmetry_space_group_name_H-M         'R -3 m'
_symmetry_Int_Tables_number            166

loop_
   _atom_site_label
   _atom_site_occupancy
   _atom_site_fract_x
   _atom_site_fract_y
   _atom_site_fract_z
   _atom_site_adp_type
   _atom_site_B_iso_or_equiv
   _atom_site_type_symbol
   Li1        1.0     0.000000      0.000000      0.000000     Biso  1.600000 Li
   Co1        1.0     0.000000      0.000000      0.500000     Biso  0.900000 Co
   O1         1.0     0.000000      0.000000      0.245900     Biso  1.130000 O
"""

# brucite, Mg(OH)2 (P-3m1, a 3.142, c 4.766 Å, O at z 0.2216: Mg-O 2.10 Å), without its H, in
# the same layout; its formula says H
BRUCITE = """data_brucite
_chemical_formula_sum 'H2 Mg O2'
_cell_length_a 3.142
_cell_length_b 3.142
_cell_length_c 4.766
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 120
_symmetry_space_group_name_H-M 'P -3 m 1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
Mg1 Mg 0 0 0 0.008
O1 O 0.33333 0.66667 0.2216 0.009
"""


def _oxygen(text: str, tmp_path: Path, name: str):
    path = tmp_path / f"{name}.cif"
    path.write_text(text)
    structure = read_cif(path).structure
    bonds = connectivity(structure)
    k = [s.element for s in structure.sites].index("O")
    return path, structure, k, bonds[k]


def test_an_oxide_oxygen_bonded_to_metals_alone_gets_no_h(tmp_path, capsys):
    """VESTA's LiCoO2 (no formula, no H): its O, bonded to three Co (1.97 Å) and three Li
    (2.03 Å), receives 2.07 v.u. from them, its whole valence of two: no room for an H.
    The job once counted one H on it and noted 'OH bonded only to metals'."""
    path, structure, k, contacts = _oxygen(VESTA_LICOO2, tmp_path, "LiCoO2")
    assert metal_valence(structure, structure.sites[k], contacts) == pytest.approx(2.07, abs=0.02)
    assert h_room(structure, structure.sites[k], contacts) == 0
    assert baseline_h_counts(structure)[k] == 0
    code = main(["assign", str(path), "--out", str(tmp_path) + "/", "--json", "--quiet"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    (oxygen,) = [a for a in report["atoms"] if a["label"] == "O1"]
    assert oxygen["h_count"] == 0
    assert oxygen["note"] == ""
    assert "O1" not in report["hydrogen_notes"]


def test_a_hydroxide_oxygen_keeps_room_for_its_one_h(tmp_path, capsys):
    """Brucite's O, bonded to three Mg at 2.10 Å, receives 1.0 v.u.: room for one H, the
    hydroxide's, not a water's two (groups 1-2 metals take none of an O's places, so the rules
    and the model once called it a water, 2 H on a special position)."""
    path, structure, k, contacts = _oxygen(BRUCITE, tmp_path, "brucite")
    assert metal_valence(structure, structure.sites[k], contacts) == pytest.approx(1.0, abs=0.03)
    assert h_room(structure, structure.sites[k], contacts) == 1
    assert baseline_h_counts(structure)[k] == 1
    code = main(["assign", str(path), "--out", str(tmp_path) + "/", "--json", "--quiet"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    (oxygen,) = [a for a in report["atoms"] if a["label"] == "O1"]
    assert oxygen["h_count"] == 1


def test_room_left_follows_the_valence_the_metals_take():
    """Whole O-H bonds of 0.8 v.u. nearest to what the metals leave of two: an oxide's O none,
    a hydroxide's one, an aqua ligand's (about 0.4 v.u.) two."""
    assert [h_room_left(v) for v in (2.2, 1.7, 1.5, 1.0, 0.9, 0.4, 0.0)] == [0, 0, 1, 1, 1, 2, 3]


def test_a_water_keeps_its_two_h_whatever_its_metals():
    """The limit only ever takes an O down to one H or none: a water on a metal keeps what the
    rules give it (an aqua ligand on Ni at 2.05 Å: 0.34 v.u.)."""
    from tests.test_metal_oxygens import _cluster

    structure = _cluster(["Ni"], 2.05)
    bonds = connectivity(structure)
    assert baseline_h_counts(structure)[0] == 2
    assert h_room(structure, structure.sites[0], bonds[0]) == 3


def test_a_partly_occupied_metal_gives_its_share():
    """A metal site holding an atom in a fraction of the cells (Na0.8CoO2's Na at 0.2 and 0.6)
    gives that fraction of its bond's valence."""
    from dataclasses import replace

    from tests.test_metal_oxygens import _cluster

    full = _cluster(["Na", "Na"], 2.4)
    half = full.with_sites([full.sites[0], full.sites[1], replace(full.sites[2], occupancy=0.5)])
    one = metal_valence(full, full.sites[0], connectivity(full)[0]) / 2
    assert metal_valence(half, half.sites[0], connectivity(half)[0]) == pytest.approx(1.5 * one)


def test_r0_is_the_smallest_that_cctbx_tabulates_for_the_metal():
    """R0_OXIDE holds, for each metal, the smallest M-O R0 of Brown & Altermatt (1985) and
    Brese & O'Keeffe (1991) over its oxidation states. cctbx ships a table of some of them
    (mmtbx/ions/ion_parameters.cif, _lib_valence, citing both papers): each metal it lists
    against O2- agrees with ours to 0.01 Å at its smallest."""
    import mmtbx.ions

    path = Path(mmtbx.ions.__file__).parent / "ion_parameters.cif"
    block = gemmi.cif.read(str(path)).sole_block()
    table = block.find("_lib_valence.", ["atom_symbol", "donor_symbol", "donor_charge", "value"])
    smallest: dict[str, float] = {}
    for row in table:
        if row[1] == "O" and row[2] == "-2":
            element = row[0].capitalize()
            smallest[element] = min(smallest.get(element, 9.0), float(row[3]))
    compared = [e for e in smallest if e in R0_OXIDE]
    # all but the actinides Ac, Am and the non-metals (B, As, Cl, Si: no O bonded to them alone)
    assert len(compared) >= 15
    assert not {e for e in smallest if e not in R0_OXIDE} - {"Ac", "Am", "B", "As", "Cl", "Si"}
    for element in compared:
        assert R0_OXIDE[element] == pytest.approx(smallest[element], abs=0.01), element


def test_the_difference_map_adds_no_h_past_the_valence_room(tmp_path):
    """With reflections, a clear peak by an O adds an H up to the most the O can carry
    (hydrogen_evidence._most_hydrogens): for an O bonded to metals alone that was a water's two,
    so a ripple of LiCoO2's Co by its oxide O could be taken for an H. It is now the valence
    room: none there, one on brucite's hydroxide O."""
    from crystalx_core.hydrogen_evidence import _most_hydrogens

    for text, name, most in ((VESTA_LICOO2, "LiCoO2", 0), (BRUCITE, "brucite", 1)):
        _, structure, k, contacts = _oxygen(text, tmp_path, name)
        assert _most_hydrogens(structure, k, contacts) == most, name
