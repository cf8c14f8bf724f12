"""Whether a site of an ionic solid holds an anion or a cation, by bond valence from both sides
(crystalx_core.assign.ion_role), and the centre of an oxyanion left out of a metal's sum
(assign.metal_valence.oxyanion_centres)."""

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import gemmi
import numpy as np
import pytest

from crystalx_core.assign import assign
from crystalx_core.assign.ion_role import SURE_ROLE, role_weighed
from crystalx_core.assign.metal_valence import REACH, oxyanion_centres, valence_weighed
from crystalx_core.io.cif import read_cif
from crystalx_core.structure import Site, Structure


def _pyxtal_cif(symbol: str, a: float, atoms: list[tuple]) -> str:
    """A cubic cell in the layout pyxtal 0.3.7 writes (PyPI pyxtal 1.1.5,
    pyxtal/database/cifs/4-G225.cif): H-M symbol and number, every operator of the group listed
    by number, then label, type, multiplicity, x y z and occupancy per site."""
    group = gemmi.find_spacegroup_by_name(symbol)
    operators = [op.triplet() for op in group.operations()]
    lines = [
        "data_from_pyxtal",
        "",
        f"_symmetry_space_group_name_H-M '{symbol}'",
        f"_symmetry_Int_Tables_number                  {group.number}",
        *(f"_cell_length_{axis}            {a:.6f}" for axis in "abc"),
        *(f"_cell_angle_{angle}        90.000000" for angle in ("alpha", "beta", "gamma")),
        "",
        "loop_",
        " _symmetry_equiv_pos_site_id",
        " _symmetry_equiv_pos_as_xyz",
        *(f"{k} '{op}'" for k, op in enumerate(operators, 1)),
        "",
        "loop_",
        " _atom_site_label",
        " _atom_site_type_symbol",
        " _atom_site_symmetry_multiplicity",
        " _atom_site_fract_x",
        " _atom_site_fract_y",
        " _atom_site_fract_z",
        " _atom_site_occupancy",
        *(
            f"{label:6s} {element:6s} {n:3d}  {x:.6f} {y:.6f} {z:.6f} 1"
            for label, element, n, x, y, z in atoms
        ),
        "#END",
    ]
    return "\n".join(lines) + "\n"


# pyxtal's 4-G225.cif: Pb2MgWO6, the ordered double perovskite in Fm-3m (its own cell and sites)
DOUBLE_PEROVSKITE = _pyxtal_cif(
    "F m -3 m",
    8.154737,
    [
        ("Mg", "Mg", 4, 0.0, 0.0, 0.0),
        ("W", "W", 4, 0.5, 0.5, 0.5),
        ("Pb", "Pb", 8, 0.25, 0.25, 0.25),
        ("O", "O", 24, 0.737633, 0.0, 0.0),
    ],
)


def test_the_lead_among_twelve_oxygens_is_no_oxygen(tmp_path):
    """The model calls the Pb site O (0.97): an O there would have twelve O at 2.89 Å and its
    nearest cations at 3.53 Å, 0.1 v.u. of the 2 an O needs in a formula without H, while a Pb
    gets 1.3 v.u. from those twelve O, about its +2. Both sides say Pb."""
    path = tmp_path / "4-G225.cif"
    path.write_text(DOUBLE_PEROVSKITE)
    elements = {s.label: s.element for s in assign(read_cif(path).structure).sites}
    assert elements["Pb"] == "Pb"
    assert elements["O"] == "O"


def _rock_salt(hydrogen: bool) -> Structure:
    """NaCl (Fm-3m, a = 5.64 Å) with the Na site first and, where `hydrogen`, H in SFAC."""
    group = gemmi.find_spacegroup_by_name("F m -3 m")
    return Structure(
        cell=(5.64, 5.64, 5.64, 90.0, 90.0, 90.0),
        symops=[op.triplet() for op in group.operations()],
        sites=[
            Site(label="Na1", element="Na", frac=(0.0, 0.0, 0.0)),
            Site(label="Cl1", element="Cl", frac=(0.5, 0.5, 0.5)),
        ],
        sfac=["Na", "Cl"] + (["H"] if hydrogen else []),
        unit=[4.0, 4.0] + ([1.0] if hydrogen else []),
        source="t",
    )


def test_a_cation_the_model_calls_an_anion_is_given_back_its_role():
    """Na among six Cl at 2.82 Å: as Na its sum is 1.0 v.u. (its +1), as Cl it has six Cl
    and no cation within 3.6 Å (0 v.u., no H in the formula to make up a chloride's 1). The
    model's 0.9 on Cl goes to Na; the Cl site, sure of its role, is left as it is."""
    classes = ["Na", "Cl", "Q"]
    probabilities = np.array([[0.1, 0.9, 0.0], [0.0, 1.0, 0.0]])
    weighed = role_weighed(_rock_salt(False), probabilities, classes)
    assert weighed[0, 0] > 0.99
    assert weighed[1] == pytest.approx(probabilities[1])
    assert weighed.sum(axis=1) == pytest.approx(probabilities.sum(axis=1))


def test_an_anion_short_of_valence_is_no_evidence_where_h_may_make_it_up():
    """With H in SFAC an anion among anions may be a water or an ammonium's partner (H not in
    the model): a sum short of its valence costs nothing and the model's 0.9 on Cl stands."""
    classes = ["Na", "Cl", "Q"]
    probabilities = np.array([[0.1, 0.9, 0.0], [0.0, 1.0, 0.0]])
    weighed = role_weighed(_rock_salt(True), probabilities, classes)
    assert weighed[0] == pytest.approx(probabilities[0])


def test_a_site_among_unsure_neighbours_is_left_to_the_model():
    """A neighbour whose own role the model is unsure of (under SURE_ROLE) gives no ground:
    pyxtal's NaSb3F10 in the first pass, whose Sb site (F at 0.76) made the F around it look
    like Na among F at 1.93 Å."""
    classes = ["Na", "Cl", "Q"]
    unsure = 0.5 * (1 + SURE_ROLE) - 0.1
    probabilities = np.array([[0.1, 0.9, 0.0], [1 - unsure, unsure, 0.0]])
    weighed = role_weighed(_rock_salt(False), probabilities, classes)
    assert weighed[0] == pytest.approx(probabilities[0])


def _nitrate_on_copper(probabilities_cu: float = 0.5) -> tuple[Structure, list[str], np.ndarray]:
    """A Cu with four O at 1.97 Å and a chelating nitrate (O-N 1.27 Å, Cu-O 2.0 Å, Cu-N 2.45
    Å), as in COD's Cu(II) nitrate complexes, in a 20 Å cube (P1)."""
    centre = np.array([10.0, 10.0, 10.0])
    positions = {"Cu1": centre}
    for k, offset in enumerate([(1.97, 0, 0), (-1.97, 0, 0), (0, 1.97, 0), (0, -1.97, 0)]):
        positions[f"O{k + 1}"] = centre + np.array(offset)
    nitrogen = centre + np.array([0.0, 0.0, 2.45])
    positions["N1"] = nitrogen
    positions["O5"] = nitrogen + np.array([1.08, 0.0, -0.67])
    positions["O6"] = nitrogen + np.array([-1.08, 0.0, -0.67])
    positions["O7"] = nitrogen + np.array([0.0, 0.0, 1.27])
    elements = {"Cu1": "Cu", "N1": "N"}
    sites = [
        Site(label=label, element=elements.get(label, "O"), frac=tuple(xyz / 20.0))
        for label, xyz in positions.items()
    ]
    structure = Structure(
        cell=(20.0, 20.0, 20.0, 90.0, 90.0, 90.0), symops=["x,y,z"], sites=sites, source="t"
    )
    classes = ["Cu", "Zn", "N", "O"]
    rows = [[probabilities_cu, 1 - probabilities_cu, 0.0, 0.0]]
    rows += [[0.0, 0.0, 1.0, 0.0] if s.element == "N" else [0.0, 0.0, 0.0, 1.0] for s in sites[1:]]
    return structure, classes, np.array(rows)


def test_a_nitrate_n_is_the_centre_of_an_oxyanion():
    """The N of a nitrate (three O at 1.27 Å) is an oxyanion's centre; its O are not."""
    structure, classes, probabilities = _nitrate_on_copper()
    likely = [classes[c] for c in probabilities.argmax(axis=1)]
    labels = [s.label for s in structure.sites]
    assert oxyanion_centres(structure, likely, range(len(labels))) == {labels.index("N1")}


def _chelated_by_sulfates(whole: bool) -> Structure:
    """A Ca with four water O at 2.45 Å and two sulfates each chelating through two O (Ca-O
    2.46 Å, S-O 1.47 Å, Ca-S 3.0 Å), as Ca binds sulfate in gypsum, in a 20 Å cube (P1);
    without `whole`, each S keeps only its two chelating O."""
    centre = np.array([10.0, 10.0, 10.0])
    atoms = [("Ca1", "Ca", (0.0, 0.0, 0.0))]
    atoms += [
        (f"O{k + 1}", "O", xyz)
        for k, xyz in enumerate([(2.45, 0, 0), (-2.45, 0, 0), (0, 2.45, 0), (0, -2.45, 0)])
    ]
    for k, sign in enumerate((1, -1)):
        sulfur = np.array([0.0, 0.0, 3.0 * sign])
        atoms.append((f"S{k + 1}", "S", sulfur))
        bonds = [(1.2, 0, -0.85 * sign), (-1.2, 0, -0.85 * sign)]
        if whole:
            bonds += [(0, 1.2, 0.85 * sign), (0, -1.2, 0.85 * sign)]
        atoms += [(f"O{k}{b}", "O", sulfur + np.array(bond)) for b, bond in enumerate(bonds)]
    sites = [
        Site(label=label, element=element, frac=tuple((centre + np.array(xyz)) / 20.0))
        for label, element, xyz in atoms
    ]
    return Structure(
        cell=(20.0, 20.0, 20.0, 90.0, 90.0, 90.0), symops=["x,y,z"], sites=sites, source="t"
    )


def _weighed_metal(structure: Structure) -> np.ndarray:
    classes = ["Na", "Ca", "S", "O"]
    rows = [[0.5, 0.5, 0.0, 0.0]] + [
        [0.0, 0.0, 1.0, 0.0] if s.element == "S" else [0.0, 0.0, 0.0, 1.0]
        for s in structure.sites[1:]
    ]
    return valence_weighed(structure, np.array(rows), classes)[0]


def test_the_centre_of_an_oxyanion_gives_a_metal_no_bond_valence():
    """A sulfate's S 3.0 Å from the Ca it chelates counted as a donor: 0.15 v.u. each to a Na
    there, whose sum of 1.8 v.u. is then too much for Na's +1 (likelihood 0.46; the eight O alone
    give 1.5 v.u., likelihood 1.0).
    The S's valence goes to its own four O: the weights are those of the S taken away, and an S
    with only two O (no oxyanion) still counts."""
    whole = _chelated_by_sulfates(True)
    without_sulfur = whole.with_sites([s for s in whole.sites if s.element != "S"])
    assert _weighed_metal(whole) == pytest.approx(_weighed_metal(without_sulfur))
    assert _weighed_metal(whole)[0] == pytest.approx(0.5, abs=0.01)
    assert _weighed_metal(_chelated_by_sulfates(False))[0] < 0.4


# cod-tools tests/inputs/1000451.cif (COD 1000451, Ba4Mo2O5F7(HF2)3.H2O, Pnnm): the formula
# lists the H, the sites hold none but a dummy H8 at -1 -1 -1 (_atom_site_calc_flag dum); cut
# to the cell, formula, operators and sites
HYDRATE = """data_1000451
_chemical_formula_sum              'H5 Ba4 F13 Mo2 O6'
_cell_length_a                     16.49699(100)
_cell_length_b                     8.6939(5)
_cell_length_c                     11.5174(6)
_cell_angle_alpha                  90
_cell_angle_beta                   90
_cell_angle_gamma                  90
_cell_formula_units_Z              4
_symmetry_space_group_name_H-M     'P n n m'
loop_
_symmetry_equiv_pos_as_xyz
  'x,y,z'
  '-x,-y,z'
  '1/2+x,1/2-y,1/2-z'
  '1/2-x,1/2+y,1/2-z'
  '-x,-y,-z'
  'x,y,-z'
  '1/2-x,1/2+y,1/2+z'
  '1/2+x,1/2-y,1/2+z'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_symmetry_multiplicity
_atom_site_Wyckoff_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
_atom_site_attached_hydrogens
_atom_site_calc_flag
  Ba1   Ba2+   4 g 0.3125(1) 0.0145(1) 0. 1.  0 d
  Ba2   Ba2+   8 h 0.1106(1) 0.2545(1) 0.1799(1) 1.  0 d
  Ba3   Ba2+   4 g 0.3090(1) 0.4878(1) 0. 1.  0 d
  Mo1   Mo6+   8 h 0.3416(1) 0.2532(1) 0.3399(1) 1.  0 d
  O1    O2-    4 g 0.0654(4) 0.7527(7) 0.5 1.  2 d
  O2    O2-    8 h 0.3289(3) 0.4514(4) 0.3479(4) 1.  0 d
  O3    O2-    8 h 0.4416(3) 0.2339(5) 0.3047(5) 1.  0 d
  O4    O2-    4 g 0.3434(4) 0.2131(8) 0.5 1.  0 d
  F1    F1-    4 g 0.2932(3) 0.7473(56) 0.5 1.  0 d
  F2    F1-    8 h 0.3047(3) 0.2485(4) 0.1765(3) 1.  0 d
  F3    F1-    8 h 0.2105(2) 0.2513(3) 0.3699(3) 1.  0 d
  F4    F1-    8 h 0.1895(2) 0.5282(4) 0.1743(4) 1.  0 d
  F5    F1-    8 h 0.0605(2) 0.0624(5) 0.3575(4) 1.  1 d
  F6    F1-    8 h 0.0601(2) 0.4355(5) 0.3622(4) 1.  1 d
  F7    F1-    4 g 0.0447(4) 0.0978(7) 0. 1.  1 d
  F8    F1-    4 g 0.4457(4) 0.9210(7) 0.5 1.  1 d
  H8    H1+    4 g -1. -1. -1. 5.  0 dum
"""


def test_a_water_whose_h_only_the_formula_lists_stays_an_oxygen(tmp_path):
    """O1 is a water's O: two Ba at 2.9 Å give it 0.4 v.u. of its 2, the rest its two H, which
    the sites lack and _chemical_formula_sum lists, so the shortfall is no evidence against O;
    nor would a Ba there fit (likelihood 0.1 among F and O at 2.95-3.5 Å: FITS). The model's
    pass 2 said Ba at 0.99; a role check that read SFAC alone gave it to Ba."""
    path = tmp_path / "1000451.cif"
    path.write_text(HYDRATE)
    elements = {s.label: s.element for s in assign(read_cif(path).structure).sites}
    assert elements["O1"] == "O"
    assert {label: e for label, e in elements.items() if label[0] == "B"} == {
        "Ba1": "Ba",
        "Ba2": "Ba",
        "Ba3": "Ba",
    }


def _sulfito_palladium() -> Structure:
    """A Pd with two N at 2.08 Å and two S-bonded sulfites (Pd-S 2.29 Å, S-O 1.47 Å, Pd...O
    3.1 Å) and a K 3.3 Å off the Pd, as COD 2008199's Pd(NH3)2(SO3)2 beside its Ag, in a
    20 Å cube (P1), SFAC with H (the NH3's)."""
    centre = np.array([10.0, 10.0, 10.0])
    atoms = [("Pd1", "Pd", (0.0, 0.0, 0.0)), ("K1", "K", (0.0, 0.0, 3.3))]
    atoms += [("N1", "N", (2.08, 0, 0)), ("N2", "N", (-2.08, 0, 0))]
    for k, sign in enumerate((1, -1)):
        sulfur = np.array([0.0, 2.29 * sign, 0.0])
        atoms.append((f"S{k + 1}", "S", sulfur))
        bonds = [(0, 0.49 * sign, 1.385), (1.2, 0.49 * sign, -0.69), (-1.2, 0.49 * sign, -0.69)]
        atoms += [(f"O{k}{b}", "O", sulfur + np.array(bond)) for b, bond in enumerate(bonds)]
    sites = [
        Site(label=label, element=element, frac=tuple((centre + np.array(xyz)) / 20.0))
        for label, element, xyz in atoms
    ]
    return Structure(
        cell=(20.0, 20.0, 20.0, 90.0, 90.0, 90.0),
        symops=["x,y,z"],
        sites=sites,
        sfac=["H", "N", "O", "S", "K", "Pd"],
        unit=[12.0, 2.0, 6.0, 2.0, 1.0, 1.0],
        source="t",
    )


def test_a_sulfite_bonded_through_its_s_gives_the_metal_its_bond():
    """The S of an S-bonded sulfite is nearer the Pd than its own O: a donor, not an
    oxyanion's centre held through its O. Left out, the Pd's sum was its two N alone (0.9 v.u.
    of its +2) and the model's 0.3 on O won the site."""
    structure = _sulfito_palladium()
    classes = ["Pd", "K", "N", "O", "S"]
    rows = [[0.7, 0.0, 0.0, 0.3, 0.0]]
    rows += [[0.0] * 5 for _ in structure.sites[1:]]
    for row, site in zip(rows[1:], structure.sites[1:]):
        row[classes.index(site.element)] = 1.0
    weighed = role_weighed(structure, np.array(rows), classes)
    assert weighed[0].argmax() == 0


def test_a_metal_with_no_neighbour_in_sight_keeps_its_share():
    """A metal site with nothing within reach (its ligands in another PART, as a disordered
    endohedral fullerene's Sc in the corpus's finalcif_1514866): as a metal its sum is 0, as
    an anion where H is possible a sum of 0 costs nothing. Neither is evidence; the model's
    0.7 on Na stands."""
    structure = Structure(
        cell=(20.0, 20.0, 20.0, 90.0, 90.0, 90.0),
        symops=["x,y,z"],
        sites=[
            Site(label="Na1", element="Na", frac=(0.5, 0.5, 0.5)),
            Site(label="Cl1", element="Cl", frac=(0.0, 0.0, 0.0)),
        ],
        sfac=["H", "Na", "Cl"],
        unit=[1.0, 1.0, 1.0],
        source="t",
    )
    probabilities = np.array([[0.7, 0.3], [0.0, 1.0]])
    weighed = role_weighed(structure, probabilities, ["Na", "Cl"])
    assert weighed[0] == pytest.approx(probabilities[0])


def test_the_two_weighings_search_a_sites_contacts_once(tmp_path, monkeypatch):
    """valence_weighed and role_weighed read the contacts of the same sites, each pass of the
    model: handed one `searched` (as assign.model does) they search each site once, and weigh
    as each does on its own."""
    import crystalx_core.geometry as geometry

    path = tmp_path / "4-G225.cif"
    path.write_text(DOUBLE_PEROVSKITE)
    structure = read_cif(path).structure
    classes = ["O", "Mg", "W", "Pb"]
    probabilities = np.array([[0.1, 0.4, 0.3, 0.2], [0.4, 0.2, 0.2, 0.2]] * 2)
    alone = role_weighed(structure, valence_weighed(structure, probabilities, classes), classes)
    searches = []
    search = geometry.neighbours
    monkeypatch.setattr(
        geometry,
        "neighbours",
        lambda *a, **k: searches.append((a[1], k["centres"])) or search(*a, **k),
    )
    searched: dict = {}
    for _ in range(2):  # two model passes
        weighed = valence_weighed(structure, probabilities, classes, searched)
        weighed = role_weighed(structure, weighed, classes, searched)
        np.testing.assert_array_equal(weighed, alone)
    assert [centres for radius, centres in searches if radius == REACH] == [[0, 1, 2, 3]]
    assert not np.array_equal(alone, probabilities)
