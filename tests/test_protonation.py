"""Which O of an acid carries its H, and the H of an N with two single bonds, read from bond
lengths on published structures (crystalx_core.assign.protonation). Bond lengths: Allen et al.,
J. Chem. Soc. Perkin Trans. 2 (1987) S1-S19 (COOH C=O 1.21, C–OH 1.31 Å; carboxylate 1.25 Å;
C(sp3)–N 1.47 Å); the published H within 1.3 Å of its atom are the truth."""

from dataclasses import replace

import numpy as np
import pytest

from crystalx_core.assign.baseline import baseline_h_counts
from crystalx_core.assign.model import _placeable, model_h_counts
from crystalx_core.assign.protonation import (
    hydroxyl_on_longest_bond,
    imine_ceiling,
    ring_nh_floor,
    valence_floor,
)
from crystalx_core.elements import is_hydrogen
from crystalx_core.geometry import (
    H_BOND_MAX,
    bond_angle,
    bonded_h_counts,
    connectivity,
    one_alternative,
)
from crystalx_core.io.cif import read_cif
from tests.conftest import BENCHMARK, CORPUS, benchmark_script

COUNTS = [0, 1, 2, 3, 4]


def _published(path):
    """(the non-H sites, their bonds as the rules read them, the published H count of each,
    label → index)."""
    model = read_cif(path).structure
    heavy = model.with_sites([s for s in model.sites if not is_hydrogen(s.element)])
    bonds = one_alternative(heavy, connectivity(heavy))
    labels = {s.label: k for k, s in enumerate(heavy.sites)}
    return heavy, bonds, bonded_h_counts(model, H_BOND_MAX), labels


def _answer(n_sites: int, with_h: dict[int, int]) -> np.ndarray:
    """H-count probabilities, 0.9 on the given count of each site of `with_h`, else on none."""
    rows = np.full((n_sites, len(COUNTS)), 0.025)
    rows[:, 0] = 0.9
    for k, n in with_h.items():
        rows[k] = 0.025
        rows[k, n] = 0.9
    return rows


@pytest.mark.parametrize(
    "name, acid_h, oxo",
    [
        # two COOH of one molecule: C17's O5 1.321 / O6 1.219 Å, C20's O8 1.306 / O7 1.228 Å
        ("codtools_2013611", "O5", "O6"),
        ("codtools_2013611", "O8", "O7"),
        # a phosphonic acid's P–OH 1.583 Å beside P–O 1.517 and 1.518 Å
        ("codtools_2000056", "O2", "O3"),
        # H2AsO4-: As–OH 1.700 and 1.704 Å, As–O 1.647 and 1.658 Å
        ("sfarchiv2_2004872", "O3", "O1"),
    ],
)
def test_an_acid_h_given_to_the_oxo_goes_to_the_hydroxyl(shared_data, name, acid_h, oxo):
    """A model that gives an acid's H to the O of its shortest bond (the C=O, P=O) put it on
    the wrong O: the published H sits on the longest bond's O, where the rule moves it."""
    heavy, bonds, published, labels = _published(CORPUS / f"{name}.cif")
    hydroxyl, oxo_k = labels[acid_h], labels[oxo]
    assert published[hydroxyl] == 1 and published[oxo_k] == 0
    others = {k: n for k, n in enumerate(published) if k not in (hydroxyl, oxo_k)}
    wrong = _answer(len(heavy.sites), {**others, oxo_k: 1})
    moved, moves = hydroxyl_on_longest_bond(heavy, wrong, bonds, COUNTS)
    assert moves == [(oxo_k, hydroxyl)]
    assert moved[hydroxyl].argmax() == 1 and moved[oxo_k].argmax() == 0
    assert moved.sum() == pytest.approx(wrong.sum())  # the group keeps its H
    right = _answer(len(heavy.sites), {k: n for k, n in enumerate(published) if n})
    assert hydroxyl_on_longest_bond(heavy, right, bonds, COUNTS)[1] == []


@pytest.mark.parametrize(
    "name, centre",
    [
        ("ciftools_jana2006_glycine", "C2"),  # zwitterion: C–O 1.254 and 1.255 Å
        ("sfarchiv2_2004819", "C10"),  # carboxylate: 1.248 and 1.257 Å
        ("codtools_7204861", "S"),  # sulfate: S–O 1.437-1.472 Å, 0.035 Å apart
        ("codtools_2231955", "S1"),  # sulfonate: S–O 1.443, 1.455 and 1.456 Å
    ],
)
def test_an_h_on_near_equal_bonds_stays_where_the_model_put_it(shared_data, name, centre):
    """A carboxylate's two C–O bonds differ by under ACID_MARGIN, a sulfate's or sulfonate's
    S–O by under OXOACID_MARGIN: the bonds do not say which O an H would go to, so an H the
    model gives any O stays (the formula fit judges it)."""
    heavy, bonds, published, labels = _published(CORPUS / f"{name}.cif")
    oxygens = [c.j for c in bonds[labels[centre]] if heavy.sites[c.j].element == "O"]
    assert len(oxygens) >= 2 and all(published[o] == 0 for o in oxygens)
    for o in oxygens:
        answer = _answer(len(heavy.sites), {o: 1})
        assert hydroxyl_on_longest_bond(heavy, answer, bonds, COUNTS)[1] == []


def test_an_o_a_metal_holds_is_no_acid_oxygen(shared_data):
    """codtools_2000056's P1 has a fourth O, O4, on a metal: its P–O is lengthened by the
    metal, not by an H, so it takes no part (the group is the three O on P alone)."""
    from crystalx_core.assign.protonation import _acid_oxygens

    heavy, bonds, _, labels = _published(CORPUS / "codtools_2000056.cif")
    group = {heavy.sites[o].label for o, _ in _acid_oxygens(heavy, labels["P1"], bonds)}
    assert group == {"O1", "O2", "O3"}


def test_the_nh_of_an_aminophosphonium_is_counted(shared_data):
    """FC_p31c's R3P+–NH–CH2R (both parts of each disordered N; P–N 1.63-1.66 Å, N–C 1.47 Å,
    published with one H each): the hydrogen model gave the N no H (p 0.67-0.78), an amide
    anion no crystal holds without a metal; with two single bonds its valence asks for one.
    The model's "none" is read as that one, not as an NH2+."""
    heavy, bonds, published, labels = _published(BENCHMARK / "FC_p31c" / "model.cif")
    answer = model_h_counts(heavy)
    for label in ["N1", "N1'", "N2", "N2'"]:
        k = labels[label]
        assert valence_floor(heavy, k, bonds) == 1, label
        assert published[k] == 1 and answer[k][0] == 1, (label, answer[k])


@pytest.mark.parametrize(
    "name, label",
    [
        ("codtools_1518798", "N2A"),  # C–N 1.498 Å to a planar C (disordered ring): not sp3
        ("codtools_2204100", "N1"),  # P=N 1.554 Å beside P–N 1.621 Å, between two P
    ],
)
def test_an_n_with_a_multiple_bond_is_no_amine(shared_data, name, label):
    """The floor holds only where both bonds are single: a bond to a planar C, or a P=N, may
    leave the N without H, as published."""
    heavy, bonds, published, labels = _published(CORPUS / f"{name}.cif")
    assert published[labels[label]] == 0
    assert valence_floor(heavy, labels[label], bonds) == 0


def _bond_set_to(heavy, k: int, label: str, length: float):
    """The structure with neighbour `label` of site k moved along their bond to `length` Å
    (both in the asymmetric unit, as in the two structures used here)."""
    j = next(i for i, s in enumerate(heavy.sites) if s.label == label)
    centre, other = heavy.cartesian(heavy.sites[k].frac), heavy.cartesian(heavy.sites[j].frac)
    moved = centre + (other - centre) * length / np.linalg.norm(other - centre)
    sites = list(heavy.sites)
    sites[j] = replace(sites[j], frac=tuple(heavy.fractional(moved)))
    moved_heavy = heavy.with_sites(sites)
    return moved_heavy, one_alternative(moved_heavy, connectivity(moved_heavy))


def test_a_p_n_double_bond_leaves_the_n_to_the_model(shared_data):
    """FC_p31c's N1 (C3–N1 1.473, P1–N1 1.644 Å: an R3P+–NH–CH2R) with P1 moved to
    P=N length, 1.57 Å, reads as an iminophosphorane R3P=N–R, which has no H (P=N 1.55-1.60 Å
    against P–N 1.62-1.70 Å single: SINGLE_N_BOND): the floor does not act."""
    heavy, _, _, labels = _published(BENCHMARK / "FC_p31c" / "model.cif")
    k = labels["N1"]
    double, bonds = _bond_set_to(heavy, k, "P1", 1.57)
    assert {heavy.sites[c.j].label: round(c.distance, 2) for c in bonds[k]}["P1"] == 1.57
    assert valence_floor(double, k, bonds) == 0
    single, single_bonds = _bond_set_to(heavy, k, "P1", 1.65)  # the same N at P–N length
    assert valence_floor(single, k, single_bonds) == 1


def test_an_n_between_two_p_is_left_to_the_model(shared_data):
    """codtools_2204100's N1 between P2 (1.554 Å) and P1 (1.621 Å) with P2 moved to 1.63 Å:
    both bonds single by length, yet an N between two P is left to the model, as an
    imidodiphosphinate anion [R2P(O)–N–P(O)R2]⁻ spreads its charge over P–N bonds of
    1.60-1.63 Å and carries no H (valence_floor's docstring: 4 tmQM complexes)."""
    heavy, _, published, labels = _published(CORPUS / "codtools_2204100.cif")
    k = labels["N1"]
    single, bonds = _bond_set_to(heavy, k, "P2", 1.63)
    assert all(c.distance >= 1.62 for c in bonds[k]) and published[k] == 0
    assert valence_floor(single, k, bonds) == 0


@pytest.mark.parametrize(
    "name, with_h, without_h",
    [
        # a pyridinium N at 123.2° beside a free ring N at 116.9° (training split)
        ("finalcif_1517679", ["N4"], ["N3"]),
        ("sfarchiv2_2004814", ["N1"], []),  # 122.8° (training split)
        # a ring N at 121.3° published without H, the widest such (training split)
        ("codtools_1100772", [], ["N1"]),
    ],
)
def test_a_ring_n_at_a_pyridinium_angle_carries_one_h(shared_data, name, with_h, without_h):
    """A pyridine ring N (N and five C) whose C–N–C angle is a pyridinium's (PYRIDINIUM_ANGLE,
    121.5°) has the floor one; a narrower one, as published without H, none. Where the model
    gives such an N no H, the floor makes its most likely count one, as published."""
    heavy, bonds, published, labels = _published(CORPUS / f"{name}.cif")
    for label in with_h:
        assert published[labels[label]] == 1 and ring_nh_floor(heavy, labels[label], bonds) == 1
    for label in without_h:
        assert published[labels[label]] == 0 and ring_nh_floor(heavy, labels[label], bonds) == 0
    wrong = _answer(len(heavy.sites), {})  # every site no H, as a model that missed them
    placed = _placeable(wrong, heavy, bonds, COUNTS).argmax(axis=1)
    expected = [1] * len(with_h) + [0] * len(without_h)
    assert [COUNTS[placed[labels[label]]] for label in with_h + without_h] == expected


def test_a_diazine_ring_n_is_left_to_the_model(shared_data):
    """A ring with a second N is no pyridine: sfarchiv2_2004868's N1 (125.0°, published with
    its H) and codtools_4504659's N1 (121.7°, likewise; both training split) have the floor
    none, as on tmQM's complexes such rings' N held no H at 121.5-126° as often as one."""
    for name, label in (("sfarchiv2_2004868", "N1"), ("codtools_4504659", "N1")):
        heavy, bonds, published, labels = _published(CORPUS / f"{name}.cif")
        assert published[labels[label]] == 1
        assert ring_nh_floor(heavy, labels[label], bonds) == 0, (name, label)


def test_an_open_chain_n_is_no_pyridinium(shared_data):
    """An amide's C–NH–C at 122-126° is left to the model: only a pyridine ring N is read, as an
    open-chain imine's C=N–C reaches the same angles without H. codtools_7151730's N1 and N2
    (training split, 123.2 and 123.1°, no ring) have the floor none."""
    heavy, bonds, published, labels = _published(CORPUS / "codtools_7151730.cif")
    for label in ("N1", "N2"):
        assert ring_nh_floor(heavy, labels[label], bonds) == 0, label


# NoSpherA2 (AK-Kleemiss/NoSpherA2) tests/ECP_SF/malbac.cif, an Olex2 1.5 CIF of a Pd(II)
# aroylhydrazone complex (P-1): its cell and the atom rows of the chelate ring Pd–O–C31=N2–N1
# and the atoms on it, in the file's layout (Uani rows, labels "Pd", "O" without numbers). N2:
# C31=N2 1.313, N2–N1 1.410 Å, C31–N2–N1 112°, published without H.
MALBAC_CHELATE = """data_malbac
_space_group_name_H-M_alt          'P -1'
_cell_length_a                     10.551(2)
_cell_length_b                     14.251(3)
_cell_length_c                     9.551(2)
_cell_angle_alpha                  99.77(2)
_cell_angle_beta                   105.10(2)
_cell_angle_gamma                  104.77(2)
loop_
  _space_group_symop_id
  _space_group_symop_operation_xyz
  1 'x, y, z'
  2 '-x, -y, -z'
loop_
  _atom_site_label
  _atom_site_type_symbol
  _atom_site_fract_x
  _atom_site_fract_y
  _atom_site_fract_z
  _atom_site_U_iso_or_equiv
  _atom_site_adp_type
  _atom_site_occupancy
  _atom_site_refinement_flags_posn
  _atom_site_refinement_flags_adp
  _atom_site_disorder_group
 Pd Pd 0.27736(2) 0.170011(17) 0.00002(3) 0.04703(11) Uani 1.000000 . . .
 P P 0.18939(7) 0.26030(5) 0.13620(8) 0.04036(16) Uani 1.000000 . . .
 Cl Cl 0.49494(9) 0.27128(8) 0.14058(14) 0.0813(3) Uani 1.000000 . . .
 O O 0.3477(2) 0.08272(16) -0.1388(3) 0.0513(5) Uani 1.000000 . U .
 N1 N 0.0961(2) 0.07652(17) -0.1409(3) 0.0431(5) Uani 1.000000 . . .
 N2 N 0.1106(3) 0.0100(2) -0.2586(3) 0.0506(6) Uani 1.000000 . . .
 C31 C 0.2408(3) 0.0197(2) -0.2443(4) 0.0502(6) Uani 1.000000 . U .
 C32 C -0.0266(3) 0.0683(2) -0.1446(3) 0.0480(6) Uani 1.000000 . . .
 C33 C 0.2682(4) -0.0484(2) -0.3617(4) 0.0555(7) Uani 1.000000 . U .
"""


def test_a_hydrazone_n_at_an_imine_angle_carries_no_h(tmp_path):
    """malbac's N2 (C=N 1.313, N–N 1.410 Å: the two bonds shortened by 0.07 Å on average, an
    amine's by the rules' reading) closes its angle to 112°, an sp2 N's lone pair: the rules
    count it none, and a model that gives it one H (malbac's: 0.67 one, 0.33 none) is given
    none, as published. Its chelate ring runs through the Pd, so it is no small ring."""
    path = tmp_path / "malbac.cif"
    path.write_text(MALBAC_CHELATE)
    heavy = read_cif(path).structure
    bonds = one_alternative(heavy, connectivity(heavy))
    labels = {s.label: k for k, s in enumerate(heavy.sites)}
    n2 = labels["N2"]
    assert sorted(heavy.sites[c.j].label for c in bonds[n2]) == ["C31", "N1"]
    assert imine_ceiling(heavy, n2, bonds)
    assert baseline_h_counts(heavy)[n2] == 0
    read = np.zeros((len(heavy.sites), len(COUNTS)))
    read[:, 0] = 1.0
    read[n2, :2] = [0.33, 0.67]
    assert _placeable(read, heavy, bonds, COUNTS)[n2].argmax() == 0


@pytest.mark.parametrize(
    "name, label",
    [
        ("sfarchiv2_2004808", "N10"),  # C=N 1.268, N–C 1.475 Å at 117.9°, open chain
        (
            "codtools_2200223-decomposition-temperature",
            "N1",
        ),  # an oxime's C=N–O, 1.256 and 1.397 Å at 115.3°
    ],
)
def test_an_imine_n_the_rules_gave_an_h_carries_none(shared_data, name, label):
    """Training-split imines the rules' average shortening gave one H: published without, and
    the ceiling reads them (angles under IMINE_ANGLE)."""
    heavy, bonds, published, labels = _published(CORPUS / f"{name}.cif")
    k = labels[label]
    assert published[k] == 0 and imine_ceiling(heavy, k, bonds)
    assert baseline_h_counts(heavy)[k] == 0


@pytest.mark.parametrize(
    "name, label",
    [
        ("codtools_7151730", "N1"),  # an amide's C(=O)–NH–C, C–N 1.312 Å at 123.2°
        (
            "codtools_1100163-correct-values",
            "N6",
        ),  # a five-ring NH at 106.8°: the ring sets its angle
        ("sfarchiv2_2004840", "N2"),  # a six-ring NH at 118.9°, C–N 1.321 Å
    ],
)
def test_an_nh_of_an_amide_or_a_ring_keeps_its_h(shared_data, name, label):
    """An amide NH opens its angle past IMINE_ANGLE, and a ring N of six atoms or fewer is left
    to the model whatever its angle: each published with its H, none read by the ceiling."""
    heavy, bonds, published, labels = _published(CORPUS / f"{name}.cif")
    k = labels[label]
    assert published[k] == 1 and not imine_ceiling(heavy, k, bonds)


def _bent_to(heavy, k: int, partner: int, length: float, angle: float):
    """The sites with `partner` moved to `length` Å from N site k, in the plane of k's two
    bonds, at `angle` degrees to its other neighbour: a raw solution's shaken geometry."""
    centre = heavy.cartesian(heavy.sites[k].frac)
    bonds = one_alternative(heavy, connectivity(heavy))
    other = next(c.cart_j for c in bonds[k] if c.j != partner)
    u = (other - centre) / np.linalg.norm(other - centre)
    v = heavy.cartesian(heavy.sites[partner].frac) - centre
    w = v - (v @ u) * u
    w /= np.linalg.norm(w)
    theta = np.radians(angle)
    moved = centre + length * (np.cos(theta) * u + np.sin(theta) * w)
    frac = tuple(np.linalg.inv(heavy.orthogonalisation) @ moved)
    sites = list(heavy.sites)
    sites[partner] = replace(sites[partner], frac=frac)
    return heavy.with_sites(sites)


@pytest.mark.parametrize(
    "name, label, carbon",
    [
        ("codtools_7151730", "N2", "C15"),  # C15(=O4)–N2H–C14, 1.319 Å at 123.1°
        ("codtools_2100438-cell-vol", "N2", "C2"),  # C2(=O1)–N2H–C3, 1.314 Å at 120.1°
    ],
)
def test_an_amide_n_shaken_to_an_imine_geometry_keeps_its_h(shared_data, name, label, carbon):
    """An amide's C–N, shortened by resonance, and its NH's angle, moved by a raw solution's
    noise to a C=N's 1.28 Å and 116° (as evaluate's 0.05 Å shaking moved these two), are not
    read as an imine's: the C bears a C=O, so the ceiling leaves the N to the model."""
    heavy, bonds, published, labels = _published(CORPUS / f"{name}.cif")
    k, c = labels[label], labels[carbon]
    assert published[k] == 1
    shaken = _bent_to(heavy, k, c, 1.28, 116.0)
    bonds = one_alternative(shaken, connectivity(shaken))
    around = {shaken.sites[b.j].label: b for b in bonds[k]}
    centre = shaken.cartesian(shaken.sites[k].frac)
    cart = [b.cart_j for b in bonds[k]]
    assert around[carbon].distance == pytest.approx(1.28, abs=1e-3)
    assert bond_angle(cart[0], centre, cart[1]) == pytest.approx(116.0, abs=0.1)
    assert not imine_ceiling(shaken, k, bonds)


@pytest.mark.parametrize(
    "name, label, carbon, angle",
    [
        ("sfarchiv2_2004840", "N2", "C18", 116.0),  # six-ring NH, C18 bears C19 alone
        ("codtools_1100163-correct-values", "N6", "C9", 106.8),  # five-ring NH, C9 bears C8
    ],
)
def test_a_ring_nh_shaken_to_a_double_bond_keeps_its_h(shared_data, name, label, carbon, angle):
    """A ring NH whose C–N a raw solution's noise shortens to a C=N's 1.29 Å, its C no amide's,
    is still left to the model: its ring, not a lone pair, sets its angle (_in_small_ring). At
    their published lengths (1.321 and 1.337 Å) neither bond reads as double, so this is the
    case that tells whether the ring is looked at."""
    heavy, bonds, published, labels = _published(CORPUS / f"{name}.cif")
    k, c = labels[label], labels[carbon]
    assert published[k] == 1
    shaken = _bent_to(heavy, k, c, 1.29, angle)
    bonds = one_alternative(shaken, connectivity(shaken))
    around = {shaken.sites[b.j].label: b for b in bonds[k]}
    assert len(around) == 2 and around[carbon].distance == pytest.approx(1.29, abs=1e-3)
    assert not imine_ceiling(shaken, k, bonds)


def test_a_miss_names_the_o_its_acid_h_was_swapped_with(shared_data):
    """evaluate --misses: a row says where the acid rule moved an O's H-count probabilities
    (the record's acid_moves), so a wrong count the rule made is told from one the model
    made (its room stage is the model's before the swap, its agreed stage after)."""
    from crystalx_core.training.atoms.evaluate import hydrogen_miss

    heavy, bonds, published, labels = _published(CORPUS / "codtools_2013611.cif")
    record: dict = {}
    answer = model_h_counts(heavy, record=record)
    o5, o6 = labels["O5"], labels["O6"]
    record["acid_moves"] = [(o6, o5)]  # as the rule records a model's H on the C=O moved
    rules = [0] * len(heavy.sites)
    rows = [hydrogen_miss(heavy, heavy, k, published, answer, rules, record) for k in (o5, o6)]
    assert [r["acid_swap"] for r in rows] == ["O6", "O5"]
    other = hydrogen_miss(heavy, heavy, labels["C17"], published, answer, rules, record)
    assert other["acid_swap"] is None


def test_the_rules_make_no_validation_count_wrong(shared_data, capsys):
    """benchmarks/protonation_rules.py on the validation structures: the rules read them
    (acids, amines) and change no count the model gets right there."""
    script = benchmark_script("protonation_rules")
    assert script.main(["corpus", str(CORPUS), "--split", "val"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "structures" in last and "newly wrong 0," in last, last


def test_the_rules_benchmark_names_a_missing_file_in_one_line(tmp_path, capsys):
    script = benchmark_script("protonation_rules")
    assert script.main(["tmqm", str(tmp_path / "none.xyz.xz")]) == 2
    err = capsys.readouterr().err.strip()
    assert "none.xyz.xz" in err and err.count("\n") == 0
