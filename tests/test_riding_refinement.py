"""Riding H judged by refinement against measured data: difference density, the published
H model under our settings, and ours reproducing it (benchmarks/hydrogen_benchmark.py in small)."""

from dataclasses import replace

import numpy as np
import pytest

from crystalx_core.assign import hydrogen_counts
from crystalx_core.crystallography.compare import match_hydrogens
from crystalx_core.crystallography.maps import difference_density
from crystalx_core.crystallography.refine import refine, refinement_instructions
from crystalx_core.elements import is_hydrogen
from crystalx_core.geometry import neighbours
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl
from crystalx_core.riding import (
    _images,
    add_riding_hydrogens,
    ride_existing_hydrogens,
    site_operators,
)

from .conftest import BENCHMARK


def published(name):
    truth = read_cif(BENCHMARK / name / "model.cif").structure
    return truth, read_hkl(BENCHMARK / name / "data.hkl")


def without_h(structure):
    return structure.with_sites([s for s in structure.sites if not is_hydrogen(s.element)])


def refine_with(plan, reflections):
    instructions = refinement_instructions(plan.restraints)
    return refine(plan.structure, reflections, anisotropic=True, instructions=instructions)


@pytest.fixture(scope="module")
def alanine(shared_data):
    truth, reflections = published("XH_alanine")
    heavy = refine(without_h(truth), reflections, anisotropic=True)
    return truth, reflections, heavy


def test_difference_density_shows_the_missing_hydrogens(alanine):
    truth, reflections, heavy = alanine
    density = difference_density(heavy.structure, reflections)
    at_h = density(
        np.array([truth.cartesian(s.frac) for s in truth.sites if is_hydrogen(s.element)])
    )
    assert at_h.min() > 4 * density.rms  # every published H is a clear peak
    anywhere = np.random.default_rng(0).uniform(0, 1, (500, 3)) @ truth.orthogonalisation.T
    assert abs(density(anywhere).mean()) < density.rms


def test_density_is_periodic(alanine):
    truth, reflections, heavy = alanine
    density = difference_density(heavy.structure, reflections)
    point = truth.cartesian((0.31, 0.72, 0.18))
    shifted = truth.cartesian((1.31, -0.28, 2.18))
    assert density(point[None])[0] == pytest.approx(density(shifted[None])[0])


def test_published_hydrogens_ride_in_place_with_their_codes(alanine):
    truth, _, _ = alanine
    plan = ride_existing_hydrogens(truth)
    assert {truth.sites[i].label: code for i, code in plan.codes.items()} == {
        "N1": 137,
        "C1": 13,
        "C2": 137,
    }
    assert match_hydrogens(truth, plan.structure, 0.001).n_matched == 7
    # the H follow their pivots, as AFIX needs
    labels = [s.label for s in plan.structure.sites]
    for site in plan.structure.sites:
        if is_hydrogen(site.element):
            assert site.afix in (13, 137)
    assert labels.index("N1") < min(
        labels.index(s.label)
        for s in plan.structure.sites
        if is_hydrogen(s.element) and s.label.startswith("H1")
    )


def test_a_given_code_wins_over_the_geometry(alanine):
    truth, _, _ = alanine
    n1 = [s.label for s in truth.sites].index("N1")
    on_n1 = [
        truth.sites[c.j].label
        for c in neighbours(truth, 1.2, centres=[n1])[0]
        if is_hydrogen(truth.sites[c.j].element)
    ]
    assert len(on_n1) == 3
    plan = ride_existing_hydrogens(truth, {label: 33 for label in on_n1})
    assert plan.codes[n1] == 33


def test_matching_sees_symmetry_images_and_rejects_far_ones(alanine):
    truth, _, _ = alanine
    h = next(i for i, s in enumerate(truth.sites) if is_hydrogen(s.element))
    moved = list(truth.sites)
    x, y, z = moved[h].frac
    moved[h] = replace(moved[h], frac=(-x + 0.5, -y, z + 0.5 + 1))  # P212121 image, next cell
    assert match_hydrogens(truth, truth.with_sites(moved)).n_matched == 7
    moved[h] = replace(moved[h], frac=(x + 0.08, y, z))
    match = match_hydrogens(truth, truth.with_sites(moved))
    assert (match.n_matched, match.missing, match.extra) == (6, 1, 1)


@pytest.mark.parametrize("name", ["XH_alanine", "N2_sucrose"])
def test_placed_hydrogens_reproduce_the_published_model(shared_data, name):
    """Rules counts, H turned into the difference density, refined: every published H
    within 0.3 Å and R1 within 0.3 % of the published H model refined the same way."""
    truth, reflections = published(name)
    heavy = refine(without_h(truth), reflections, anisotropic=True)
    density = difference_density(heavy.structure, reflections)
    counts = hydrogen_counts(heavy.structure, "rules")
    ours = refine_with(
        add_riding_hydrogens(
            heavy.structure, {i: n for i, (n, _) in enumerate(counts)}, density=density
        ),
        reflections,
    )
    reference = refine_with(ride_existing_hydrogens(truth), reflections)
    match = match_hydrogens(truth, ours.structure, 0.3)
    assert (match.missing, match.extra) == (0, 0)
    assert ours.r1 - reference.r1 < 0.003
    assert ours.r1 < heavy.r1 - 0.01  # and the H matter


def test_without_density_hydroxyls_can_miss(shared_data):
    """Why the search exists: on sucrose the H-bond guess alone leaves some OH H > 0.3 Å off."""
    truth, reflections = published("N2_sucrose")
    heavy = refine(without_h(truth), reflections, anisotropic=True)
    counts = hydrogen_counts(heavy.structure, "rules")
    ours = refine_with(
        add_riding_hydrogens(heavy.structure, {i: n for i, (n, _) in enumerate(counts)}),
        reflections,
    )
    assert match_hydrogens(truth, ours.structure, 0.3).missing > 0


def test_groups_on_mirror_planes_respect_the_site_symmetry(shared_data):
    """XH_CpNa (Pnma): the ammine N1 sits on a mirror, which a 3-fold NH3 cannot share with one
    orientation. As in the published model it is disordered over the mirror: 3 H at occupancy
    1/2 whose mirror images stand clear of them (6 half H, 60° apart). A general position has
    no site operators."""
    from crystalx_core.riding import site_operators

    truth, _ = published("XH_CpNa")
    heavy = without_h(truth)
    index = {s.label: i for i, s in enumerate(heavy.sites)}
    n1 = heavy.sites[index["N1"]]
    operators = site_operators(heavy, n1.frac)
    assert len(operators) == 1 and np.isclose(np.linalg.det(operators[0]), -1.0)  # one mirror
    assert site_operators(heavy, (0.1234, 0.0321, 0.3456)) == []
    plan = add_riding_hydrogens(heavy, {index["N1"]: 3})
    hydrogens = [s for s in plan.structure.sites if is_hydrogen(s.element)]
    assert plan.codes[index["N1"]] == 137 and len(hydrogens) == 3
    assert all(h.occupancy == 0.5 for h in hydrogens) and "disordered" in plan.notes[index["N1"]]
    pivot = heavy.cartesian(n1.frac)
    xyz = [plan.structure.cartesian(h.frac) for h in hydrogens]
    images = [pivot + operators[0] @ (h - pivot) for h in xyz]
    assert min(np.linalg.norm(a - b) for a in xyz for b in images) > 0.6
    # the six half H lie on one cone, 60° apart about the N–Na axis
    vectors = [v - pivot for v in xyz + images]
    centre = np.mean(vectors, axis=0)
    axis = centre / np.linalg.norm(centre)
    flat = [v - (v @ axis) * axis for v in vectors]
    gaps = sorted(
        np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))
        for k, a in enumerate(flat)
        for b in flat[k + 1 :]
    )
    assert np.allclose(gaps[:6], 60.0, atol=2.0)


def test_the_h_of_a_ch2_on_a_2_fold_axis_are_each_others_images_at_half_occupancy():
    """A CH2 whose C sits on a 2-fold axis (C2/c, C1 at 0,y,1/4 between two symmetry-equivalent
    C: a propane's middle C, a spiro or bridging CH2 of a C2-symmetric molecule). Its two H are
    each other's images, so the group written whole at full occupancy put two H on each site
    (H1A and the image of H1B). SHELXL gives riding H their pivot's sof: here 10.5 for both,
    one H per site; an H on the axis itself keeps its full occupancy (sof 10.5 from its site)."""
    from crystalx_core.io.shelx_read import parse_shelx
    from crystalx_core.io.shelx_write import render_with_sites

    text = (
        "TITL ch2\nCELL 0.71073 10 10 10 90 90 90\nZERR 8 0 0 0 0 0 0\nLATT 7\n"
        "SYMM -X, Y, 1/2-Z\nSFAC C H\nUNIT 24 48\nFVAR 1\n"
        "C1 1 0.0 0.2 0.25 10.5 0.03\nC2 1 0.12 0.28 0.30 11 0.03\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    heavy = shelx.to_structure()
    plan = add_riding_hydrogens(heavy, {0: 2, 1: 3})
    h1 = [s for s in plan.structure.sites if s.label in ("H1A", "H1B")]
    assert plan.codes[0] == 23 and [h.occupancy for h in h1] == [0.5, 0.5]
    assert "images of each other" in plan.notes[0]
    assert all(s.occupancy == 1.0 for s in plan.structure.sites if s.label.startswith("H2"))
    written = render_with_sites(shelx, plan.structure, notes=[]).splitlines()
    assert [ln.split()[5] for ln in written if ln.startswith(("H1A", "H1B"))] == ["10.50000"] * 2
    # as a CH (an sp2 C between the two): its one H lies on the axis, its own image, all there
    one = add_riding_hydrogens(heavy, {0: 1})
    (h,) = [s for s in one.structure.sites if is_hydrogen(s.element)]
    assert one.codes[0] == 43 and h.occupancy == 1.0 and 0 not in one.notes
    written = render_with_sites(shelx, one.structure, notes=[]).splitlines()
    assert [ln.split()[5] for ln in written if ln.startswith("H1 ")] == ["10.50000"]


# COD 2240189, [Fe(H2O)6](ClO4)3·3H2O in R-3c (the .res of ShelXFile's tests/resources at
# 4996a342; COD data are public domain): its cell, symmetry, the coordinated water O1 and the
# lattice water O4 on a 2-fold axis (published with one H, H4, whose image is its second)
_FE_AQUA = (
    "TITL 2240189\nCELL 0.71073 16.193 16.193 11.2421 90 90 120\nZERR 6 0 0 0 0 0 0\nLATT 3\n"
    "SYMM -Y, X-Y, Z\nSYMM Y, X, -Z+ 0.50000\nSYMM -X+Y, -X, Z\nSYMM -X, -X+Y, -Z+ 0.50000\n"
    "SYMM X-Y, -Y, -Z+ 0.50000\nSFAC Fe Cl O H\nUNIT 6 18 126 108\nFVAR 0.31437\n"
    "FE1 1 0.000000 0.000000 0.500000 10.16667 0.0188\n"
    "O1 3 0.074199 0.116656 0.399075 11.00000 0.0236\n"
    "O4 3 0.333333 0.478579 0.416667 10.50000 0.0259\n"
    "CL1 2 0.333333 0.254007 0.416667 10.50000 0.0339\nHKLF 4\nEND\n"
)


def test_a_water_on_a_2_fold_axis_placed_from_a_map_keeps_two_h():
    """A water O on a 2-fold axis carries two H that are each other's images: one H in the
    asymmetric unit. Turned to a difference map, the rigid water took any orientation, its
    second H 0.36 Å from the first one's image, and both were kept at full occupancy: four H
    about the O in the crystal (COD 2240189's O4 through `assign --hkl`). The map here is one
    peak where the published H4 is; its image is the water's other H."""
    from crystalx_core.crystallography.compare import hydrogens_per_atom
    from crystalx_core.io.shelx_read import parse_shelx

    heavy = parse_shelx(_FE_AQUA, "2240189.res").to_structure()
    h4 = heavy.cartesian((0.375050, 0.468374, 0.388184))  # published H4

    def density(points):
        return 3.0 * np.exp(-np.sum((points - h4) ** 2, axis=1) / (2 * 0.3**2))

    plan = add_riding_hydrogens(heavy, {1: 2, 2: 2}, density=density)
    counts = hydrogens_per_atom(plan.structure)
    assert counts["O4"] == 2 and counts["O1"] == 2
    (h,) = [s for s in plan.structure.sites if s.label.startswith("H4")]
    o4 = heavy.cartesian(heavy.sites[2].frac)
    (two_fold,) = site_operators(heavy, heavy.sites[2].frac)
    placed = plan.structure.cartesian(h.frac)
    both = [placed, o4 + two_fold @ (placed - o4)]  # the H kept and its image, the other H
    assert min(np.linalg.norm(x - h4) for x in both) < 0.25
    assert "DFIX 0.84 O4 H4" in plan.restraints
    assert "disordered" not in plan.notes[2]  # its two H are each other's images


@pytest.mark.parametrize("target", [(0.25, 0.07, 0.36), (0.1, 0.05, 0.25)])
def test_a_water_and_an_ammonium_on_a_mirror_keep_their_own_h(target):
    """In Pm (a mirror at y = 0), a water O and an NH4+ N on the mirror, each turned to a map
    whose one peak lies off the mirror: every group is one the mirror maps onto itself (its H in
    the mirror, or pairs of images), 2 and 4 H in the crystal; main wrote 4 and 8."""
    from crystalx_core.crystallography.compare import hydrogens_per_atom
    from crystalx_core.io.shelx_read import parse_shelx

    text = (
        "TITL m\nCELL 0.71073 7 8 9 90 95 90\nZERR 2 0 0 0 0 0 0\nLATT -1\nSYMM X, -Y, Z\n"
        "SFAC C H N O\nUNIT 2 8 2 2\nFVAR 1\nO1 4 0.2 0.0 0.3 10.5 0.03\n"
        "N1 3 0.5 0.0 0.5 10.5 0.03\nO2 4 0.55 0.3 0.1 11 0.03\nHKLF 4\nEND\n"
    )
    heavy = parse_shelx(text, "m.res").to_structure()
    peak = heavy.cartesian(target)

    def density(points):
        return 3.0 * np.exp(-np.sum((np.atleast_2d(points) - peak) ** 2, axis=1) / 0.18)

    plan = add_riding_hydrogens(heavy, {0: 2, 1: 4}, density=density)
    counts = hydrogens_per_atom(plan.structure)
    assert counts["O1"] == 2 and counts["N1"] == 4


def test_riding_groups_that_clash_are_fixed_one_by_one(monkeypatch):
    """Two groups that smtbx builds alone but not together (one needs a symmetry image of an
    H the other rides: Boost.Python raises a TypeError) must not crash the refinement: the
    later group's H are kept in place and its pivot reported; the others still ride."""
    from types import SimpleNamespace

    from crystalx_core.crystallography import refine as refine_module

    scatterers = [
        SimpleNamespace(label=name, flags=SimpleNamespace(grad=True))
        for name in ("C1", "H1A", "C2", "H2A", "C3", "H3A")
    ]
    for sc in scatterers:
        sc.flags.set_grad_site = lambda value, flags=sc.flags: setattr(flags, "grad", value)
    groups = [SimpleNamespace(pivot=2 * k, constrained_site_indices=(2 * k + 1,)) for k in range(3)]
    other = SimpleNamespace()  # a constraint that is not a riding group is always kept
    model = SimpleNamespace(
        xray_structure=SimpleNamespace(scatterers=lambda: scatterers),
        constraints=[groups[0], other, groups[1], groups[2]],
        connectivity_table=None,
    )

    def reparametrisation(xs, constraints, connectivity):
        if groups[0] in constraints and groups[1] in constraints:
            raise TypeError("Python argument types in symmetry_equivalent_site_parameter.__init__")

    monkeypatch.setattr(refine_module.smtbx_constraints, "reparametrisation", reparametrisation)
    fixed = refine_module._fix_unbuildable_riding_groups(model)
    assert list(fixed) == ["C2"] and "symmetry image" in fixed["C2"]
    assert model.constraints == [groups[0], other, groups[2]]
    assert [sc.flags.grad for sc in scatterers] == [True, True, True, False, True, True]


def test_disordered_parts_sharing_a_position_are_one_neighbour(shared_data):
    """COD 2103700 keeps C23 and C23X (two disorder parts) at one position. Without PARTs
    (a solution, or after `assign`) riding took them for two neighbours of C25 whose
    directions cancel, and `assign` crashed. They are one neighbour: with C25X (the other
    part of C25 itself) C25 is a CH2 and gets its two H."""
    from crystalx_core.riding import add_riding_hydrogens

    structure = read_cif(shared_data / "corpus" / "codtools_2103700.cif").structure
    heavy = structure.with_sites(
        [replace(s, part=0) for s in structure.sites if s.element not in ("H", "D")]
    )
    index = {s.label: i for i, s in enumerate(heavy.sites)}
    plan = add_riding_hydrogens(heavy, {index["C25"]: 2})
    assert not plan.notes and plan.codes[index["C25"]] == 23
    c25 = heavy.cartesian(heavy.sites[index["C25"]].frac)
    h = [heavy.cartesian(s.frac) for s in plan.structure.sites if s.element == "H"]
    assert len(h) == 2 and all(0.9 < np.linalg.norm(x - c25) < 1.0 for x in h)


def test_a_cage_atom_whose_bonds_cancel_is_reported_not_a_crash(shared_data):
    """B2 of COD 2234582 sits inside its cage (bonds in every direction): one H asked for
    on it has no free direction (a neighbour lies where an exo H would go). The atom is
    reported; the job goes on."""
    from crystalx_core.riding import add_riding_hydrogens

    structure = read_cif(shared_data / "corpus" / "codtools_2234582.cif").structure
    heavy = structure.with_sites([s for s in structure.sites if s.element not in ("H", "D")])
    index = {s.label: i for i, s in enumerate(heavy.sites)}
    plan = add_riding_hydrogens(heavy, {index["B2"]: 1})
    assert "inside its cage" in plan.notes[index["B2"]]
    assert not any(s.element == "H" for s in plan.structure.sites)


def test_riding_h_of_a_deuterated_compound_are_d_and_a_formula_without_h_gets_one(shared_data):
    """COD 1000002 lists SFAC C D O Sr: the water H we add are D, and named D (writing them as
    H crashed the .res writer). A formula that names neither gains an H entry for the atoms we
    add."""
    from crystalx_core.io.shelx_write import new_ins_text
    from crystalx_core.riding import add_riding_hydrogens

    structure = read_cif(shared_data / "corpus" / "codtools_1000002.cif").structure
    assert "D" in structure.sfac and "H" not in structure.sfac
    heavy = structure.with_sites([s for s in structure.sites if s.element not in ("H", "D")])
    water = next(i for i, s in enumerate(heavy.sites) if s.label == "Ow3")
    plan = add_riding_hydrogens(heavy, {water: 2})
    added = [s for s in plan.structure.sites if s.element in ("H", "D")]
    assert [s.element for s in added] == ["D", "D"] and plan.structure.sfac == heavy.sfac
    assert [s.label for s in added] == ["D3A", "D3B"]  # named as SHELXL and Olex2 name deuterium
    assert "SFAC C D O Sr" in new_ins_text(plan.structure)
    no_h = replace(
        heavy,
        sfac=[e for e in heavy.sfac if e != "D"],
        unit=[n for e, n in zip(heavy.sfac, heavy.unit) if e != "D"],
    )
    plan = add_riding_hydrogens(no_h, {water: 2})
    assert plan.structure.sfac == [*no_h.sfac, "H"] and plan.structure.unit[-1] == 0.0
    assert {s.element for s in plan.structure.sites if s.afix == 0 and s.element in ("H", "D")} == {
        "H"
    }
    new_ins_text(plan.structure)  # writes: every element is in SFAC


def test_h_in_a_short_hydrogen_bond_is_taken_from_the_map_and_refined_freely(shared_data):
    """XH_HMaMg: the hydrogen maleate's H1 sits in an O1···O2 bond of 2.40 Å, 1.16 Å from O1,
    far beyond a riding O–H (0.84 Å). Given one H on O1, it is put on the difference-map
    maximum between the two O, without AFIX or DFIX, and refines onto the published H1."""
    truth, reflections = published("XH_HMaMg")
    heavy = refine(without_h(truth), reflections, anisotropic=True)
    density = difference_density(heavy.structure, reflections)
    labels = [s.label for s in heavy.structure.sites]
    counts = {i: n for i, (n, _) in enumerate(hydrogen_counts(heavy.structure, "rules"))}
    assert counts[labels.index("O1")] == 0  # the rules give carboxylate O none
    counts[labels.index("O1")] = 1
    plan = add_riding_hydrogens(heavy.structure, counts, density=density)
    o1 = labels.index("O1")
    assert plan.codes[o1] == 0 and "short hydrogen bond to O2 (2.40 Å)" in plan.notes[o1]
    assert not any(" O1 " in line + " " for line in plan.restraints)
    o1 = heavy.structure.cartesian(heavy.structure.sites[labels.index("O1")].frac)
    h1 = [
        s
        for s in plan.structure.sites
        if s.element == "H"
        and s.afix == 0
        and np.linalg.norm(plan.structure.cartesian(s.frac) - o1) < 1.5
    ]
    assert len(h1) == 1 and np.linalg.norm(plan.structure.cartesian(h1[0].frac) - o1) > 0.95
    ours = refine_with(plan, reflections)
    match = match_hydrogens(truth, ours.structure, 0.3)
    published_h1 = [s.label for s in truth.sites if is_hydrogen(s.element)].index("H1")
    assert published_h1 in {i for i, _, _ in match.pairs}
    # without a map there is nothing to take it from: it rides as an OH
    assert add_riding_hydrogens(heavy.structure, counts).codes[labels.index("O1")] == 147


def test_displacements_in_the_wrong_units_stop_refinement_with_a_clear_reason(alanine):
    """U11 = 457 is 0.0457 Å² written in 10⁻⁴ Å², as old CIFs do (COD 2000642)."""
    from dataclasses import replace
    from crystalx_core.errors import RefinementError

    truth, reflections, heavy = alanine
    sites = list(heavy.structure.sites)
    sites[0] = replace(sites[0], u_aniso=(457.0, 428.0, 369.0, -167.0, -23.0, -125.0))
    with pytest.raises(
        RefinementError, match=f"{sites[0].label} starts with a displacement parameter of 457"
    ):
        refine(heavy.structure.with_sites(sites), reflections)


def test_an_isotropic_refinement_of_an_anisotropic_model_is_isotropic(shared_data):
    """FC_sucrose as published carries Uij: refined isotropically its 23 atoms have 4 parameters
    each (xyz, Uiso) and no Uij, anisotropically 9 each; the anisotropic R1 is the lower."""
    structure, reflections = published("FC_sucrose")
    heavy = without_h(structure)
    assert all(s.u_aniso is not None for s in heavy.sites)
    isotropic = refine(heavy, reflections, 5)
    anisotropic = refine(heavy, reflections, 5, anisotropic=True)
    assert all(s.u_aniso is None for s in isotropic.structure.sites)
    assert anisotropic.n_parameters - isotropic.n_parameters == 23 * 5
    assert anisotropic.r1 < isotropic.r1 - 0.02


def test_a_model_with_residues_refines_and_comes_back_in_its_order(shared_data):
    """FC_p21c as published repeats O1, C1..C4 and F1..F9 in four RESI residues: smtbx reads
    them from a fresh .ins with the residues last (it cannot go back by RESI 0), and the
    refined sites come back in the input's order under the input's labels."""
    from crystalx_core.io.shelx_read import read_shelx

    heavy = without_h(read_shelx(BENCHMARK / "FC_p21c" / "published.res").to_structure())
    reflections = read_hkl(BENCHMARK / "FC_p21c" / "data.hkl")
    result = refine(heavy, reflections, 2)
    assert [s.label for s in result.structure.sites] == [s.label for s in heavy.sites]
    assert result.r1 < 0.12
    moved = max(
        abs(a - b)
        for s, t in zip(heavy.sites, result.structure.sites)
        for a, b in zip(s.frac, t.frac)
    )
    assert moved < 0.01  # each site refined from its own start, not another's


def test_a_label_held_twice_stops_refinement_with_a_clear_reason(shared_data):
    from crystalx_core.errors import RefinementError

    structure, reflections = published("XH_alanine")
    heavy = without_h(structure)
    sites = (
        [replace(heavy.sites[1], label=heavy.sites[0].label)] + heavy.sites[2:] + heavy.sites[:1]
    )
    with pytest.raises(
        RefinementError, match=f"labels held by more than one atom: {heavy.sites[0].label.upper()}"
    ):
        refine(heavy.with_sites(sites), reflections, 1)


def test_the_summary_counts_riding_d_as_riding_h(shared_data, tmp_path, capsys):
    """COD 2103766 (SFAC Ba D O): the water D written into the .res are the riding atoms the
    summary counts (it said 'riding H placed: 0' while writing six D)."""
    import re
    import shutil

    from crystalx_core.cli import main

    path = tmp_path / "x.cif"
    shutil.copy(shared_data / "corpus" / "codtools_2103766.cif", path)
    assert main(["assign", str(path), "--quiet"]) == 0
    placed = re.search(r"riding H placed: (\d+)", capsys.readouterr().out)
    res = (tmp_path / "x_crystalx.res").read_text()
    written = re.findall(r"^D\w*\s+\d+\s", res, flags=re.MULTILINE)
    assert placed and int(placed.group(1)) == len(written) > 0


def test_the_note_on_a_group_at_a_special_position_says_disordered_only_where_it_is():
    """An XH3 whose pivot sits in a mirror was always noted 'disordered over its site
    symmetry', also when one H lies in the mirror and the other two are each other's images
    (a methyl of a molecule on the mirror, ordered: H at 1, 1/2, 1/2 by its images). The note
    now lists the occupancies there, and says disordered only where every H has an image of
    its own that no H of the group stands on."""
    from crystalx_core.riding import _special_note

    mirror = [np.diag([1.0, -1.0, 1.0])]  # y → −y about the pivot, Cartesian
    pivot = np.zeros(3)
    ordered = [np.array(h) for h in ((0.97, 0, 0.34), (-0.48, 0.84, 0.34), (-0.48, -0.84, 0.34))]
    note = _special_note("C", mirror, pivot, ordered, [1.0, 0.5, 0.5])
    assert note == (
        "CH3 on a special position: its H at occupancies 1, 0.5, 0.5 (one beside a symmetry "
        "element shares its site)"
    )
    turned = [np.array([-h[1], h[0], h[2]]) for h in ordered]  # 90° about z: none in the mirror
    assert _special_note("C", mirror, pivot, turned, [0.5] * 3) == (
        "CH3 on a special position: disordered over its site symmetry, 3 H at occupancy 0.5"
    )
    pair = [np.array((0.5, 0.8, 0.3)), np.array((0.5, -0.8, 0.3))]  # a CH2 across the mirror
    assert "its H are images of each other, each at occupancy 0.5" in _special_note(
        "C", mirror, pivot, pair, [0.5, 0.5]
    )
    assert _special_note("C", mirror, pivot, [np.array((0.97, 0, 0.34))], [1.0]) is None


def test_cage_b_h_ride_under_afix_153_in_smtbx(shared_data):
    """COD B607768D 3b (a ferracarborane, closo-FeC2B7 cages): riding put each cage B–H under
    AFIX 153 (SHELXL's polyhedral BH, one H per group), but iotbx's SHELX parser expects five
    atoms after AFIX 15n and every refinement stopped ("wrong number of afixed atoms"). The
    groups now ride: every B–H held at smtbx's polyhedral BH length, 1.10 Å."""
    from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure
    from crystalx_core.demo import simulate_reflections
    from crystalx_core.element_evidence import with_riding_hydrogens
    from crystalx_core.io.hkl import Reflections

    truth = read_cif(shared_data / "corpus" / "codtools_B607768D_3b.cif").structure
    xs = to_xray_structure(truth)
    set_dispersion(xs, truth.wavelength)
    indices, observed, sigmas = simulate_reflections(xs, 0.84, 6, 3e4)
    model = with_riding_hydrogens(without_h(truth))
    cage = {
        s.label: model.sites[k - 1].label
        for k, s in enumerate(model.sites)
        if s.afix == 153 and model.sites[k - 1].element == "B"
    }
    assert len(cage) == 14  # B3–B9 of both molecules
    result = refine(model, Reflections(indices, observed, sigmas, None), cycles=3)
    assert not result.fixed_hydrogens
    refined = {s.label: result.structure.cartesian(s.frac) for s in result.structure.sites}
    lengths = [np.linalg.norm(refined[h] - refined[b]) for h, b in cage.items()]
    assert np.allclose(lengths, 1.10, atol=1e-6)


def test_a_cage_atom_with_an_exo_substituent_gets_no_riding_h_but_a_note(shared_data):
    """C1 of COD B607768D 3b (apex of a closo-FeC2B7 cage) carries an exo OH: an H asked for
    on it (by a model's count) went under AFIX 153 where O1 sits, and smtbx could not build
    O1's own OH group. No H is placed there; the atom is reported."""
    structure = read_cif(shared_data / "corpus" / "codtools_B607768D_3b.cif").structure
    heavy = without_h(structure)
    index = {s.label: i for i, s in enumerate(heavy.sites)}
    plan = add_riding_hydrogens(heavy, {index["C1"]: 1, index["C10"]: 1, index["B3"]: 1})
    assert "where the cage atom's exo H would go" in plan.notes[index["C1"]]
    assert index["C1"] not in plan.codes
    assert plan.codes[index["C10"]] == plan.codes[index["B3"]] == 153


@pytest.mark.parametrize(
    "symm, where",
    [("", "0.5 0.5 0.5"), ("SYMM -Y, X-Y, Z\nSYMM -X+Y, -X, Z\n", "0.333333 0.666667 0.3")],
)
def test_a_water_no_orientation_of_which_its_site_keeps_is_said_to_be_disordered(symm, where):
    """A water O on an inversion centre (P-1) or a 3-fold axis (P3): no orientation of its two
    H is one the site symmetry maps onto itself, so its H and their images are four or six H
    about it; the plan says so (riding._disorder_note) and writes each at the share that keeps
    two H about the O (four half H on -1, six third H on 3), as SHELXL users model it; they
    were written whole (twice the H the water carries). A water on a 2-fold axis (above) gets
    no such note."""
    from crystalx_core.io.shelx_read import parse_shelx

    latt = "LATT 1\n" if not symm else "LATT -1\n"
    cell = "CELL 0.71073 7 8 9 90 95 90\n" if not symm else "CELL 0.71073 8 8 9 90 90 120\n"
    text = (
        f"TITL w\n{cell}ZERR 2 0 0 0 0 0 0\n{latt}{symm}SFAC H O\nUNIT 4 2\nFVAR 1\n"
        f"O1 2 {where} 10.5 0.03\nHKLF 4\nEND\n"
    )
    heavy = parse_shelx(text, "w.res").to_structure()
    assert site_operators(heavy, heavy.sites[0].frac)
    peak = heavy.cartesian(heavy.sites[0].frac) + np.array([0.6, 0.5, 0.3])

    def density(points):
        return 3.0 * np.exp(-np.sum((np.atleast_2d(points) - peak) ** 2, axis=1) / 0.18)

    plan = add_riding_hydrogens(heavy, {0: 2}, density=density)
    assert "disordered" in plan.notes[0] and "PART -1" in plan.notes[0]
    water = plan.structure.sites[0]
    written = [s for s in plan.structure.sites if s.element == "H"]
    operators = site_operators(plan.structure, water.frac)
    o = plan.structure.cartesian(water.frac)
    about = sum(
        h.occupancy * _images(operators, o, plan.structure.cartesian(h.frac)) for h in written
    )
    assert about == pytest.approx(2 * water.occupancy)
    assert all(h.occupancy < water.occupancy for h in written)
