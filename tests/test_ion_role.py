"""Whether a site of an ionic solid holds an anion or a cation, by bond valence from both sides
(crystalx_core.assign.ion_role), and the centre of an oxyanion left out of a metal's sum
(assign.metal_valence.oxyanion_centres)."""

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import gemmi
import numpy as np
import pytest

from crystalx_core.assign import assign
from crystalx_core.assign.ion_role import SURE_ROLE, role_weighed
from crystalx_core.assign.metal_valence import oxyanion_centres, valence_weighed
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


def test_a_metal_among_its_aqua_ligands_is_no_oxygen():
    """A Cu with six water O at 2.05 Å ([Cu(H2O)6]2+, H in SFAC) the model calls O at 0.8: an O
    there would stand 2.05 Å from six O it is not bonded to (CLOSEST_ANIONS: 2.2 Å), while a Cu
    gets 1.2 v.u. from them. The share goes to Cu however much H might give an O."""
    centre = np.array([10.0, 10.0, 10.0])
    offsets = [
        (2.05, 0, 0),
        (-2.05, 0, 0),
        (0, 2.05, 0),
        (0, -2.05, 0),
        (0, 0, 2.05),
        (0, 0, -2.05),
    ]
    sites = [Site(label="Cu1", element="Cu", frac=tuple(centre / 20.0))] + [
        Site(label=f"O{k + 1}", element="O", frac=tuple((centre + np.array(o)) / 20.0))
        for k, o in enumerate(offsets)
    ]
    structure = Structure(
        cell=(20.0, 20.0, 20.0, 90.0, 90.0, 90.0),
        symops=["x,y,z"],
        sites=sites,
        sfac=["Cu", "O", "H"],
        unit=[1.0, 6.0, 12.0],
        source="t",
    )
    classes = ["Cu", "O", "Q"]
    probabilities = np.array([[0.2, 0.8, 0.0]] + [[0.0, 1.0, 0.0]] * 6)
    weighed = role_weighed(structure, probabilities, classes)
    assert weighed[0, 0] > 0.99
    assert weighed[1:] == pytest.approx(probabilities[1:])
