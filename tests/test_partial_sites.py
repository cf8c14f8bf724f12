"""Partly occupied sites from the difference map: on data simulated from a model with a
known disordered hydroxyl or a half-occupied water they are found, refined and written as
SHELXL expects; on ordered data nothing is added."""

import json
from dataclasses import replace

import numpy as np
import pytest
from smtbx import development

from crystalx_core.cli import main
from crystalx_core.crystallography.compare import hydrogens_per_atom, match_sites
from crystalx_core.crystallography.convert import from_xray_structure, to_xray_structure
from crystalx_core.crystallography.refine import refine, refinement_instructions
from crystalx_core.demo import simulate_reflections
from crystalx_core.elements import is_hydrogen
from crystalx_core.geometry import neighbours
from crystalx_core.io.hkl import Reflections
from crystalx_core.io.cif import read_cif
from crystalx_core.io.shelx_read import parse_shelx, read_shelx
from crystalx_core.io.shelx_write import new_ins_text, render_with_sites
from crystalx_core.hydrogens import place_hydrogens
from crystalx_core.partial_sites import (
    _alternative_hydrogens,
    add_peak_sites,
    refine_short_sites,
    with_partial_sites,
)
from crystalx_core.structure import Site, Structure

from .conftest import BENCHMARK

MINOR = 0.3  # the simulated minor part's occupancy


def _data(structure, seed=11):
    indices, observed, sigmas = simulate_reflections(to_xray_structure(structure), 0.8, seed)
    return Reflections(indices, observed, sigmas, None, "simulated.hkl")


def _partial_sites(before, data, short=frozenset()):
    """The pipeline's partly occupied sites step: the short sites' occupancies, then the peaks."""
    instructions = refinement_instructions()
    found, whole = refine_short_sites(before, data, 8, True, instructions, short)
    return add_peak_sites(found, data, 8, True, instructions, whole)


def _rotated(point, origin, axis, degrees):
    """`point` turned about the line through `origin` along `axis` (Rodrigues)."""
    k = axis / np.linalg.norm(axis)
    v = point - origin
    t = np.radians(degrees)
    return origin + v * np.cos(t) + np.cross(k, v) * np.sin(t) + k * (k @ v) * (1 - np.cos(t))


@pytest.fixture(scope="module")
def sucrose():
    """Sucrose (cctbx's model, with H) and its hydroxyl O whose only neighbour is a C."""
    ordered = from_xray_structure(development.sucrose(), sfac=["C", "H", "O"])
    heavy = [k for k, s in enumerate(ordered.sites) if not is_hydrogen(s.element)]
    near = neighbours(ordered, 1.7, centres=heavy)
    for k, contacts in zip(heavy, near):
        bonded = [c for c in contacts if not is_hydrogen(ordered.sites[c.j].element)]
        if ordered.sites[k].element == "O" and len(bonded) == 1:
            return ordered, k, bonded[0]
    raise AssertionError("sucrose has hydroxyl groups")


@pytest.fixture(scope="module")
def disordered(sucrose):
    """Sucrose whose hydroxyl O sits MINOR of the time 45° round its C–C bond (1.0 Å away),
    its H left out, Fo² simulated from that; and the ordered model a solution converges to."""
    ordered, k, to_c = sucrose
    o, c = ordered.sites[k], ordered.sites[to_c.j]
    c_cart = to_c.cart_j
    beyond = next(
        x
        for x in neighbours(ordered, 1.7, centres=[to_c.j], include_self_images=False)[0]
        if x.j != k and not is_hydrogen(ordered.sites[x.j].element)
    )
    moved = _rotated(ordered.cartesian(o.frac), c_cart, c_cart - beyond.cart_j, 45.0)
    hydroxyl_h = next(
        x.j for x in neighbours(ordered, 1.1, centres=[k])[0] if ordered.sites[x.j].element == "H"
    )
    minor = Site("O99", "O", tuple(ordered.fractional(moved)), occupancy=MINOR, u_iso=o.u_iso)
    sites = [s for j, s in enumerate(ordered.sites) if j != hydroxyl_h]
    truth = ordered.with_sites(
        [replace(s, occupancy=1 - MINOR) if s is o else s for s in sites] + [minor]
    )
    model = ordered.with_sites(sites)
    assert c.element == "C"
    return truth, model, o.label, _data(truth)


def test_an_alternative_hydroxyl_position_becomes_part_2_of_one_free_variable(disordered):
    truth, model, major_label, data = disordered
    before = refine(model, data, 8, anisotropic=True)
    found = _partial_sites(before, data)
    assert len(found.added) == 1, found.note()
    sites = {s.label: s for s in found.refined.structure.sites}
    minor, major = sites[found.added[0]], sites[major_label]
    assert minor.element == "O" and minor.part == 2 and minor.free_variable == -2
    assert major.part == 1 and major.free_variable == 2
    assert abs(minor.occupancy - MINOR) < 0.08 and abs(minor.occupancy + major.occupancy - 1) < 1e-6
    truth_minor = next(s for s in truth.sites if s.label == "O99")
    pair = truth.with_sites([minor, truth_minor])
    assert [c.j for c in neighbours(pair, 0.2, centres=[0])[0]] == [1]  # where it was simulated
    assert found.refined.r1 < before.r1 and found.refined.wr2 < before.wr2
    assert "1 added" in found.note() and f"occupancies {minor.occupancy:.2f}" in found.note()

    text = new_ins_text(found.refined.structure)
    assert f"FVAR 1.00000 {major.occupancy:.5f}" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert lines[minor.label].split()[5] == "-21.00000"
    assert lines[major_label].split()[5] == "21.00000"
    back = {s.label: s for s in parse_shelx(text).to_structure().sites}
    assert back[minor.label].part == 2 and back[major_label].part == 1
    assert back[minor.label].occupancy == pytest.approx(minor.occupancy, abs=1e-5)


def test_ordered_data_get_no_partial_site(sucrose):
    ordered, _, _ = sucrose
    data = _data(ordered, seed=12)
    before = refine(ordered, data, 8, anisotropic=True)
    found = _partial_sites(before, data)
    assert found.added == [] and found.refined is before


def _emptiest_point(structure):
    """Fractional point of a 1/16 grid farthest from every atom image (nearest image: fine for
    distances under half the shortest cell edge), and that distance."""
    images = np.array(
        [
            rotation @ site.frac + shift
            for rotation, shift in structure.symmetry_matrices()
            for site in structure.sites
        ]
    )
    grid = np.stack(np.meshgrid(*[np.arange(0, 1, 1 / 16)] * 3, indexing="ij"), -1).reshape(-1, 3)
    apart = grid[:, None, :] - images[None]
    apart -= np.round(apart)
    nearest = np.linalg.norm(apart @ structure.orthogonalisation.T, axis=-1).min(axis=1)
    return tuple(grid[int(np.argmax(nearest))]), float(nearest.max())


def test_a_half_occupied_water_is_kept_with_its_own_free_variable(sucrose):
    """Sucrose has no void; a cell stretched along c opens one for a water O at half weight
    (no H: refined freely, they would wander into the water's density)."""
    ordered, _, _ = sucrose
    a, b, c, al, be, ga = ordered.cell
    heavy = [s for s in ordered.sites if not is_hydrogen(s.element)]
    stretched = replace(ordered, cell=(a, b, c + 5.0, al, be, ga), sites=heavy)
    point, room = _emptiest_point(stretched)
    assert room > 3.0
    water = Site("O98", "O", point, occupancy=0.5, u_iso=0.04)
    data = _data(stretched.with_sites([*stretched.sites, water]), seed=13)
    before = refine(stretched, data, 8, anisotropic=True)
    found = _partial_sites(before, data)
    added = [s for s in found.refined.structure.sites if s.label in found.added]
    assert len(added) == 1, found.note()
    assert added[0].element == "O" and added[0].free_variable == 2 and added[0].part in (0, -1)
    assert abs(added[0].occupancy - 0.5) < 0.1


def test_a_file_s_own_free_variables_come_first(disordered):
    """Written into a user's .res that has FVAR 1.2 0.6 (variable 2 taken), the model's
    variable becomes 3."""
    _, model, major_label, _ = disordered
    split = model.with_sites(
        [
            replace(s, part=1, free_variable=2, occupancy=0.8) if s.label == major_label else s
            for s in model.sites
        ]
        + [Site("O97", "O", (0.1, 0.2, 0.3), occupancy=0.2, part=2, free_variable=-2)]
    )
    user = parse_shelx(new_ins_text(model, ["L.S. 4", "FVAR 1.2 0.6"]))
    text = render_with_sites(user, split)
    assert "FVAR 1.20000 0.60000 0.80000" in text and "FVAR 1.2 0.6\n" not in text
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert lines["O97"][5] == "-31.00000" and lines[major_label][5] == "31.00000"
    back = {s.label: s for s in parse_shelx(text).to_structure().sites}
    assert back["O97"].occupancy == pytest.approx(0.2) and back[major_label].occupancy == 0.8


def test_a_solve_job_on_real_disordered_data_writes_both_parts(shared_data, tmp_path, capsys):
    """thpp (NoSpherA2's sample; a CH2-CH2 pair 14 % disordered): `crystalx solve` from cell,
    symmetry and formula adds the minor part, and the .res carries it as SHELXL reads it."""
    entry = BENCHMARK / "N2_thpp"
    published = read_cif(entry / "model.cif").structure
    ins = tmp_path / "thpp.ins"
    ins.write_text(new_ins_text(published.with_sites([])))
    assert main(["solve", str(ins), str(entry / "data.hkl"), "--json", "--method", "model"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any(
        "partly occupied sites from the difference map: 2 added" in n for n in report["notes"]
    )
    res = read_shelx(tmp_path / "thpp_crystalx.res")
    assert len(res.fvars) == 2 and 0.7 < res.fvars[1] < 0.95
    model = res.to_structure()
    minor = [s for s in model.sites if s.part == 2 and not is_hydrogen(s.element)]
    major = [s for s in model.sites if s.part == 1 and not is_hydrogen(s.element)]
    assert len(minor) == 2 and len(major) == 2
    assert all(s.occupancy == pytest.approx(1 - res.fvars[1], abs=1e-4) for s in minor)
    assert match_sites(published, model).n_found == 18  # 16 before: the minor part was missing
    assert report["refinement"]["r1"] < 0.05  # 0.0501 without it
    # the minor part is CH2-CH2 as the major one (published C6A/C7B): each alternative carries
    # the major atom's riding H, AFIX 23, on its free variable and part (none before session 20)
    counts = hydrogens_per_atom(model)
    assert [counts[s.label] for s in minor] == [2, 2]
    riding = [h for h in model.sites if is_hydrogen(h.element) and h.part == 2]
    assert len(riding) == 4 and {h.afix for h in riding} == {23}
    assert {h.free_variable for h in riding} == {s.free_variable for s in minor}


def test_solvent_beside_an_inversion_centre_is_part_minus_n():
    """A peak 0.4 Å from a centre of symmetry would bond to its own image (0.8 Å): PART -1,
    as SHELXL wants it; one far from every symmetry element stays PART 0."""
    model = Structure(
        cell=(10.0, 10.0, 10.0, 90.0, 90.0, 90.0),
        symops=["x,y,z", "-x,-y,-z"],
        sites=[Site("C1", "C", (0.1, 0.1, 0.1)), Site("C2", "C", (0.25, 0.1, 0.1))],
        sfac=["C", "H", "O"],
        unit=[4.0, 8.0, 2.0],
    )
    near_centre = Site("Q1", None, (0.54, 0.5, 0.5), peak_height=1.0)
    far = Site("Q2", None, (0.2, 0.7, 0.3), peak_height=1.0)
    added = with_partial_sites(model, [near_centre, far]).sites[2:]
    assert [(s.element, s.part, s.free_variable) for s in added] == [("O", -1, 2), ("O", 0, 3)]


@pytest.mark.parametrize("u_of_x", [0.03, 0.15])
def test_a_peak_beside_an_atom_smeared_over_two_positions_is_its_other_position(u_of_x):
    """X sits between two half-occupied positions and refines to a Uiso five times the median:
    a peak 0.75 Å from it is its alternative (PART 2 against X's PART 1) although it bonds to no
    neighbour of X's; beside an ordered X (Uiso at the median) the same peak, 1.5 Å from Y too,
    is a site between atoms on a variable of its own."""
    chain = [Site(f"C{k}", "C", (0.1 + 0.15 * k, 0.1, 0.1), u_iso=0.03) for k in range(1, 5)]
    x = Site("X1", "F", (0.5, 0.5, 0.5), u_iso=u_of_x)
    y = Site("Y1", "C", (0.725, 0.5, 0.5), u_iso=0.03)  # 2.25 Å from X: no bond of X's
    model = Structure(
        cell=(10.0, 10.0, 10.0, 90.0, 90.0, 90.0),
        symops=["x,y,z"],
        sites=[*chain, x, y],
        sfac=["C", "F"],
        unit=[5.0, 1.0],
    )
    peak = Site("Q1", None, (0.575, 0.5, 0.5), peak_height=1.0)
    sites = {s.label: s for s in with_partial_sites(model, [peak]).sites}
    added = sites["F1"] if "F1" in sites else sites["C5"]
    if u_of_x > 0.1:
        assert (added.element, added.part, added.free_variable) == ("F", 2, -2)
        assert (sites["X1"].part, sites["X1"].free_variable) == (1, 2)
        assert added.occupancy == sites["X1"].occupancy == 0.5  # two halves alike to start
    else:
        assert (added.part, added.free_variable) == (0, 2) and sites["X1"].part == 0


def test_an_atom_whose_count_is_short_gets_its_occupancy_on_a_free_variable(sucrose):
    """A water at 0.4 refined whole counts about 4 e, short of every element it could be: the
    weighing says so and leaves its element, and its occupancy refines on a free variable of
    its own (FC_1979688's half methanol, R1 0.0502 whole, 0.0449 so). (At 0.5 it counts 4.8 e,
    1.6 screening widths short of C, and the weighing takes it for a C: a known limit.)"""
    from crystalx_core.element_evidence import weigh_elements

    ordered, _, _ = sucrose
    a, b, c, al, be, ga = ordered.cell
    heavy = [s for s in ordered.sites if not is_hydrogen(s.element)]
    stretched = replace(ordered, cell=(a, b, c + 5.0, al, be, ga), sites=heavy)
    point, _ = _emptiest_point(stretched)
    water = Site("O98", "O", point, occupancy=0.4, u_iso=0.04)
    data = _data(stretched.with_sites([*stretched.sites, water]), seed=13)
    whole = stretched.with_sites([*stretched.sites, replace(water, occupancy=1.0)])
    weighed = weigh_elements(refine(whole, data, 8), data, "model", 8)
    assert weighed.evidence["O98"].short and "O98" not in weighed.changes
    before = refine(whole, data, 8, anisotropic=True)
    found = _partial_sites(before, data, frozenset({"O98"}))
    refined = next(s for s in found.refined.structure.sites if s.label == "O98")
    assert refined.free_variable == 2 and abs(refined.occupancy - 0.4) < 0.1, found.short_note
    assert found.occupancies == {"O98": refined.occupancy} and found.refined.r1 < before.r1
    assert found.notes()[0].startswith("partly occupied by the data")


def test_the_alternative_of_a_deuterated_atom_carries_d_not_h():
    """A deuterated crystal (SFAC D without H, as neutron models of deuterated compounds are
    written) whose CD2 has an alternative position: the minor part rides D, named as SHELXL names
    them (D2A, D2B), as the major part does (riding.riding_element); it got H before."""
    cell = (10.0, 10.0, 10.0, 90.0, 90.0, 90.0)
    carbons = np.array([[3.0, 5.0, 5.0], [4.3, 5.8, 5.0], [5.6, 5.0, 5.0]])
    deuterium = place_hydrogens(23, carbons[1], [carbons[0], carbons[2]], 2, "C")
    sites = [Site(f"C{k + 1}", "C", tuple(xyz / 10.0), u_iso=0.03) for k, xyz in enumerate(carbons)]
    sites += [
        Site(f"D2{'AB'[k]}", "D", tuple(xyz / 10.0), u_iso=0.036, afix=23)
        for k, xyz in enumerate(deuterium)
    ]
    model = Structure(cell, ["x,y,z"], sites, sfac=["C", "D"], unit=[3, 2])
    alternative = Site("C4", "C", (0.43, 0.42, 0.54), occupancy=0.2, u_iso=0.05, part=2)
    used = {s.label.upper() for s in sites} | {"C4"}
    placed = _alternative_hydrogens(model, alternative, [1], [carbons[0], carbons[2]], used)
    assert [(s.element, s.afix, s.part) for s in placed] == [("D", 23, 2), ("D", 23, 2)]
    assert [s.label for s in placed] == ["D4A", "D4B"]
