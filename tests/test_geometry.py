"""Neighbour search against brute force on real structures; bonds, PART rules, angles."""

import itertools
from collections import Counter

import numpy as np
import pytest

from crystalx_core.geometry import (
    SAME_POSITION,
    angle_sum,
    bond_angle,
    connectivity,
    neighbours,
    shares_neighbour,
    site_multiplicities,
)
from crystalx_core.io.cif import read_cif
from crystalx_core.structure import Site, Structure
from tests.conftest import BENCHMARK


def _model(entry: str) -> Structure:
    return read_cif(BENCHMARK / entry / "model.cif").structure


def _brute_force(structure: Structure, radius: float, centre: int) -> list[tuple[int, float]]:
    """(site, distance) of every distinct image within `radius`, from all ops × ±4 cells."""
    orth = structure.orthogonalisation
    frac = structure.frac_array
    origin = orth @ frac[centre]
    cells = np.array(list(itertools.product(range(-4, 5), repeat=3)))
    found = []
    for j in range(len(frac)):
        images = np.array([rot @ frac[j] + tran for rot, tran in structure.symmetry_matrices()])
        points = ((images[:, None, :] + cells[None, :, :]).reshape(-1, 3)) @ orth.T
        points = points[np.linalg.norm(points - origin, axis=1) <= radius]
        distinct = []
        for p in points:
            if all(np.linalg.norm(p - q) >= SAME_POSITION for q in distinct):
                distinct.append(p)
        found += [
            (j, round(float(np.linalg.norm(p - origin)), 6))
            for p in distinct
            if not (j == centre and np.linalg.norm(p - origin) < SAME_POSITION)
        ]
    return sorted(found)


@pytest.mark.parametrize(
    "entry, radius",
    [
        ("SXF_I43d", 4.0),  # I-43d: body centring, 48 operators, sites on special positions
        ("XH_CpNa", 5.0),  # Pnma: atoms on mirror planes
        ("XH_urea", 8.0),  # P-421m, 5.6 Å cell: radius longer than the cell
        ("FC_p31c", 4.0),  # trigonal, disorder
        ("FC_sucrose", 5.0),
    ],
)
def test_neighbours_match_brute_force(shared_data, entry, radius):
    structure = _model(entry)
    centres = list(range(0, len(structure.sites), max(1, len(structure.sites) // 5)))
    found = neighbours(structure, radius, centres)
    for centre, contacts in zip(centres, found):
        assert sorted((c.j, round(c.distance, 6)) for c in contacts) == _brute_force(
            structure, radius, centre
        )


def test_contacts_describe_their_image(shared_data):
    structure = _model("SXF_I43d")
    orth, frac, ops = (
        structure.orthogonalisation,
        structure.frac_array,
        structure.symmetry_matrices(),
    )
    for contacts in neighbours(structure, 3.5):
        assert [c.distance for c in contacts] == sorted(c.distance for c in contacts)
        for c in contacts:
            rot, tran = ops[c.op]
            image = orth @ (rot @ frac[c.j] + tran + np.array(c.shift))
            assert np.allclose(image, c.cart_j, atol=1e-9)
            assert np.linalg.norm(image - orth @ frac[c.i]) == pytest.approx(c.distance)


def test_self_images_can_be_left_out(shared_data):
    structure = _model("XH_urea")
    with_self = neighbours(structure, 6.0, [0])[0]
    without = neighbours(structure, 6.0, [0], include_self_images=False)[0]
    assert any(c.j == 0 for c in with_self)

    def key(c):
        return c.j, c.op, c.shift, c.distance

    assert [key(c) for c in without] == [key(c) for c in with_self if c.j != 0]


def test_site_multiplicities_on_special_positions(shared_data):
    structure = _model("XH_urea")  # P-421m, Z = 2: C and O on 2c, N and H on 4e
    by_label = dict(zip((s.label for s in structure.sites), site_multiplicities(structure)))
    assert by_label == {"C": 2, "O": 2, "N": 4, "H1": 4, "H2": 4}


def test_neighbour_search_on_a_thousand_sites_matches_the_small_cell(shared_data):
    """(Its speed is benchmarks/perf_benchmark.py's business: timings on a loaded machine are
    noise.)"""
    sucrose = _model("FC_sucrose")  # 90 atoms in P1, repeated 2 × 2 × 3
    sites = []
    for rot, tran in sucrose.symmetry_matrices():
        for site in sucrose.sites:
            frac = rot @ np.array(site.frac) + tran
            for cell in itertools.product(range(2), range(2), range(3)):
                sites.append(Site(site.label, site.element, tuple((frac + cell) / (2, 2, 3))))
    a, b, c, alpha, beta, gamma = sucrose.cell
    big = Structure(cell=(2 * a, 2 * b, 3 * c, alpha, beta, gamma), symops=["x,y,z"], sites=sites)
    found = neighbours(big, 5.0)
    assert len(sites) == 1080
    # same environment as in the original cell: every copy of a site sees the same contacts
    small = neighbours(sucrose, 5.0, [0])[0]
    assert sorted(round(c.distance, 4) for c in found[0]) == sorted(
        round(c.distance, 4) for c in small
    )


def test_sucrose_connectivity(shared_data):
    structure = _model("FC_sucrose")
    assert len(structure.sites) == 45
    bonds = connectivity(structure)
    elements = [s.element for s in structure.sites]
    degree = {"C": 4, "O": 2, "H": 1}
    for site, site_bonds in zip(structure.sites, bonds):
        assert len(site_bonds) == degree[site.element], site.label
    pairs = Counter(
        "".join(sorted((elements[c.i], elements[c.j])))
        for site_bonds in bonds
        for c in site_bonds
        if c.i < c.j
    )
    # C12H22O11: two ring O and the glycosidic O (2 C–O each) + 8 OH; two 6/5-C chains
    assert pairs == {"CO": 14, "CC": 10, "CH": 14, "HO": 8}


def test_two_atoms_bonded_to_one_atom_share_it_and_hydrogen_bond_partners_do_not(shared_data):
    """N2_water: the sulfonate's O2···O3 (2.46 Å, both on S1) and N2···O1 (on C3) are edges of
    a polyhedron; O2···O10 and O4···O10 (a sulfonate O and an aqua ligand to the free water,
    2.8-2.9 Å) are hydrogen bonds, and so are the images a symmetry operator makes."""
    structure = _model("N2_water")
    heavy = structure.with_sites([s for s in structure.sites if s.element != "H"])
    bonds = connectivity(heavy)
    label = [s.label for s in heavy.sites]
    found = {}
    for contacts in neighbours(heavy, 3.0):
        for c in contacts:
            found.setdefault((label[c.i], label[c.j]), set()).add(shares_neighbour(bonds, c))
    for pair in (("O2", "O3"), ("O3", "O2"), ("N2", "O1"), ("O1", "N2")):
        assert found[pair] == {True}, pair
    for pair in (("O2", "O10"), ("O10", "O2"), ("O4", "O10"), ("O10", "O4")):
        assert found[pair] == {False}, pair


def _pair(part_a: int, part_b: int, elements=("C", "C"), distance=1.5) -> Structure:
    return Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z"],
        sites=[
            Site("A", elements[0], (0.2, 0.2, 0.2), part=part_a),
            Site("B", elements[1], (0.2 + distance / 10, 0.2, 0.2), part=part_b),
        ],
    )


@pytest.mark.parametrize(
    "parts, bonded",
    [((0, 0), True), ((0, 1), True), ((1, 1), True), ((1, 2), False), ((-1, 0), True)],
)
def test_part_rules(parts, bonded):
    assert bool(connectivity(_pair(*parts))[0]) == bonded


def test_negative_part_does_not_bond_to_its_own_symmetry_image():
    """A PART -1 group disordered about an inversion centre: the site and its image overlap."""

    def structure(part):
        return Structure(
            cell=(10, 10, 10, 90, 90, 90),
            symops=["x,y,z", "-x,-y,-z"],
            sites=[Site("C1", "C", (0.075, 0, 0), part=part)],
        )

    assert connectivity(structure(0))[0][0].distance == pytest.approx(1.5)
    assert connectivity(structure(-1)) == [[]]


def test_no_h_h_bonds_and_peaks_bond_like_carbon():
    assert connectivity(_pair(0, 0, ("H", "H"), 0.74)) == [[], []]
    assert len(connectivity(_pair(0, 0, (None, None), 1.5))[0]) == 1
    assert connectivity(_pair(0, 0, ("C", "C"), 0.4)) == [[], []]  # overlapping, not a bond


def test_angles():
    centre = np.zeros(3)
    assert bond_angle((1, 0, 0), centre, (0, 1, 0)) == pytest.approx(90)
    assert bond_angle((1, 0, 0), centre, (-2, 0, 0)) == pytest.approx(180)
    trigonal = [(np.cos(a), np.sin(a), 0) for a in np.radians([0, 120, 240])]
    assert angle_sum(centre, trigonal) == pytest.approx(360)
    tetrahedral = [(1, 1, 1), (1, -1, -1), (-1, 1, -1)]
    assert angle_sum(centre, tetrahedral) == pytest.approx(3 * 109.4712, abs=1e-3)


def test_bonded_h_are_counted_within_one_alternative_and_by_occupancy(shared_data):
    """FC p31c: N1 (PART 1, 0.85) and N1' (PART 2, 0.15) share a position, each with its own
    H; C1's methyl on a threefold axis shows nine H images at a third occupancy each."""
    from crystalx_core.geometry import bonded_h_counts
    from crystalx_core.io.cif import read_cif

    structure = read_cif(BENCHMARK / "FC_p31c" / "model.cif").structure
    heavy = [s.label for s in structure.sites if s.element != "H"]
    counts = dict(zip(heavy, bonded_h_counts(structure, 1.3)))
    assert (counts["N1"], counts["N1'"], counts["N2"], counts["N2'"]) == (1, 1, 1, 1)
    assert (counts["C1"], counts["C1'"], counts["C12"]) == (3, 3, 3)
    assert counts["P1"] == 0


def test_each_bonded_h_counts_once_and_never_for_another_orientation(shared_data):
    """Published H counts add up to UNIT's H, as every H is one atom of one pivot. XH_HMaMg's
    hydrogen maleate: H1 lies 1.16 Å from O1 and 1.24 Å from O2, both within reach, and counted
    for both (10 H against UNIT's 9); it belongs to the nearer O1. FC_1979688's methanol about a
    twofold axis (PART -1): its image, the other orientation, put two methyl H within reach of
    O13 and two more of C39 (O 3 H, C 4 or 5). SXF_I43d's toluene and benzene (PART -1, -2,
    about a threefold axis): each aromatic C counted an H of another orientation too (CH2)."""
    from crystalx_core.assign.model import site_weights  # the weights UNIT's H fit uses
    from crystalx_core.crystallography.compare import hydrogens_per_atom
    from crystalx_core.elements import is_hydrogen
    from crystalx_core.geometry import H_BOND_MAX, bonded_h_counts

    def counts(entry):
        structure = _model(entry)
        heavy = structure.with_sites([s for s in structure.sites if not is_hydrogen(s.element)])
        labels = [s.label for s in heavy.sites]
        found = bonded_h_counts(structure, H_BOND_MAX)
        unit_h = heavy.asymmetric_unit_contents(include_h=True)["H"]
        assert float(site_weights(heavy) @ np.array(found)) == pytest.approx(unit_h, abs=0.01)
        return dict(zip(labels, found)), hydrogens_per_atom(structure)

    maleate, _ = counts("XH_HMaMg")
    assert (maleate["O1"], maleate["O2"]) == (1, 0)
    methanol, per_atom = counts("FC_1979688")
    assert (methanol["O13"], methanol["C39"]) == (1, 3)
    assert (per_atom["O13"], per_atom["C39"]) == (1, 3)  # compare reads bonded_h_counts too
    solvents, per_atom = counts("SXF_I43d")
    ring = ["C21", "C22", "C23", "C24", "C25", "C30", "C31", "C32", "C33", "C34", "C35"]
    assert [solvents[label] for label in ring] == [1] * 11
    assert (solvents["C26"], per_atom["C26"]) == (3, 3)


def test_an_h_bonded_to_two_images_of_one_atom_counts_once():
    """The review's probe (P-1): O at x = 1.225 Å, H at 0.05 Å, so O-H 1.175 Å and H...O' 1.275 Å
    to O's image through the centre, both within reach. One H, counted once (it counted twice
    when each image within reach counted); riding and compare hang it on O once too. A water's
    two H about a twofold axis, at one distance from O, still count two."""
    from crystalx_core.crystallography.compare import hydrogen_pivots, hydrogens_per_atom
    from crystalx_core.geometry import H_BOND_MAX, bonded_h_contacts, bonded_h_counts
    from crystalx_core.riding import _nearest_pivots

    probe = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z", "-x,-y,-z"],
        sites=[Site("O1", "O", (0.1225, 0, 0)), Site("H1", "H", (0.005, 0, 0))],
    )
    assert bonded_h_counts(probe, H_BOND_MAX) == [1]
    held = bonded_h_contacts(probe, H_BOND_MAX)
    assert [round(c.distance, 3) for c in held[0]] == [1.175]
    assert hydrogens_per_atom(probe) == {"O1": 1}
    assert hydrogen_pivots(probe) == {1: 0}
    pivot, xyz = _nearest_pivots(probe)[1]
    assert pivot == 0 and np.allclose(xyz, (0.05, 0, 0))

    water = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z", "-x,y,-z"],
        sites=[Site("O1", "O", (0, 0.2, 0)), Site("H1", "H", (0.076, 0.25, 0.02))],
    )
    assert bonded_h_counts(water, H_BOND_MAX) == [2]
    assert hydrogens_per_atom(water) == {"O1": 2}


def test_an_h_halfway_between_two_atoms_counts_for_the_first():
    """A tie (an H exactly halfway between two O) goes to the first in site order, not to both."""
    from crystalx_core.geometry import H_BOND_MAX, bonded_h_counts

    tie = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z"],
        sites=[
            Site("O1", "O", (0.2, 0.2, 0.2)),
            Site("O2", "O", (0.44, 0.2, 0.2)),
            Site("H1", "H", (0.32, 0.2, 0.2)),
        ],
    )
    assert bonded_h_counts(tie, H_BOND_MAX) == [1, 0]


def test_ring_planarity_tells_a_flat_ring_from_a_chair():
    """A regular hexagon lies in its plane; a cyclohexane chair puts every atom 0.25 Å off."""
    from crystalx_core.geometry import ring_planarity

    angles = np.radians(np.arange(6) * 60.0)
    flat = np.stack([1.4 * np.cos(angles), 1.4 * np.sin(angles), np.zeros(6)], axis=1)
    chair = flat * [1.0, 1.0, 0.0] + np.array([[0, 0, 0.25 * (-1) ** k] for k in range(6)])
    assert ring_planarity(flat) == pytest.approx(0.0, abs=1e-9)
    assert ring_planarity(chair) == pytest.approx(0.25)


def test_six_rings_follow_the_bonds_and_the_part_rules(shared_data):
    """SXF_I43d's benzene C30-C35 (PART -2, a quarter on a special position): one ring of its
    own six atoms, none through the overlapping images of the other orientations."""
    from crystalx_core.geometry import six_rings

    structure = read_cif(BENCHMARK / "SXF_I43d" / "model.cif").structure
    heavy = structure.with_sites([s for s in structure.sites if s.element != "H"])
    names = [s.label for s in heavy.sites]
    rings = six_rings(heavy, names.index("C30"), lambda element: element in ("C", "N"))
    assert len(rings) == 1
    members = {
        names[k]
        for k in range(len(names))
        if np.isclose(rings[0], heavy.cartesian(heavy.sites[k].frac)).all(axis=1).any()
    }
    assert members == {f"C{k}" for k in range(30, 36)}
