"""Riding H next to a disorder, as SHELXL users model it: an atom outside the disorder bonded to
both alternatives of its neighbour carries its H in each PART, and a ring CH of a minor part
keeps its aromatic AFIX 43 whatever refinement did to its angle."""

from dataclasses import replace

import numpy as np
import pytest

from crystalx_core.contents import cell_counts
from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.crystallography.refine import refine, refinement_instructions
from crystalx_core.demo import simulate_reflections
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import RefinementError
from crystalx_core.geometry import bonded_h_counts, connectivity
from crystalx_core.hydrogens import choose_hfix, place_hydrogens
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import Reflections
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.io.shelx_write import new_ins_text, render_with_sites
from crystalx_core.riding import add_riding_hydrogens, keep_input_names

from .conftest import BENCHMARK


def _without_h(structure):
    return structure.with_sites([s for s in structure.sites if not is_hydrogen(s.element)])


def _riding(name):
    """A published model (its H the truth) and the riding H placed on it without them."""
    truth = read_cif(BENCHMARK.parent / "corpus" / f"{name}.cif").structure
    heavy = _without_h(truth)
    return truth, heavy, add_riding_hydrogens(heavy, dict(enumerate(bonded_h_counts(truth, 1.3))))


def _published_h(truth):
    return [(s, truth.cartesian(s.frac)) for s in truth.sites if is_hydrogen(s.element)]


# Published models whose authors put the H of a PART 0 atom in each PART of its disordered
# neighbour: COD 2003003 (CH2 beside O61A/O61B ... O64A/O64B, PARTs 1-8) and a SHELXL CIF,
# CSD 1502416 (S-CH3 on S11A/S11B: H9-H11 'calc PR A 1' at 0.877(6), H12-H14 'A 2' at 0.123).
@pytest.mark.parametrize(
    "name, pivots",
    [("codtools_2003003", ["C61", "C62", "C63", "C64"]), ("finalcif_1502416", ["C18"])],
)
def test_h_beside_a_disordered_neighbour_are_placed_in_each_part(shared_data, name, pivots):
    """Each alternative's H where the published model has them (within 0.05 Å), in that
    PART and at its occupancy; the note says so. Before, these pivots got no H."""
    truth, heavy, plan = _riding(name)
    published = _published_h(truth)
    labels = [s.label for s in heavy.sites]
    for label in pivots:
        k = labels.index(label)
        assert k in plan.groups and "each PART" in plan.notes[k], label
        parts = set()
        for j in plan.groups[k]:
            h = plan.structure.sites[j]
            xyz = heavy.cartesian(h.frac)
            site, where = min(published, key=lambda p: np.linalg.norm(p[1] - xyz))
            assert np.linalg.norm(where - xyz) < 0.05, (label, h.label)
            assert h.part == site.part and h.occupancy == pytest.approx(site.occupancy, abs=1e-3)
            parts.add(h.part)
        assert len(parts) == 2
    # UNIT counts the H of both alternatives as the H of one pivot
    assert cell_counts(plan.structure)["H"] == pytest.approx(cell_counts(truth)["H"], abs=1e-6)


def test_the_parts_h_are_written_per_part_on_the_free_variable(shared_data):
    """With O61A on free variable 2 and O61B on -2, C61's H are written as a SHELXL user
    writes them: PART 1, AFIX 23, H at 21.00000, AFIX 0, PART 2, AFIX 23, H at -21.00000,
    AFIX 0, PART 0. One AFIX over both PARTs would be one group of four H, which neither
    SHELXL nor smtbx builds."""
    truth = read_cif(BENCHMARK.parent / "corpus" / "codtools_2003003.cif").structure
    fv = {"O61A": 2, "O61B": -2}
    heavy = _without_h(truth)
    heavy = heavy.with_sites([replace(s, free_variable=fv.get(s.label, 0)) for s in heavy.sites])
    plan = add_riding_hydrogens(heavy, dict(enumerate(bonded_h_counts(truth, 1.3))))
    lines = [line.split() for line in new_ins_text(plan.structure).splitlines()]
    start = next(k for k, words in enumerate(lines) if words and words[0] == "C61")
    # the atom lines and instructions after C61 (its Uij continuation line left out)
    block = [words for words in lines[start + 1 :] if words and words[0][0].isalpha()][:11]
    shape = [words[0] if words[0] in ("PART", "AFIX") else "H" for words in block]
    assert shape == ["PART", "AFIX", "H", "H", "AFIX", "PART", "AFIX", "H", "H", "AFIX", "PART"]
    assert [w[1] for w in block if w[0] in ("PART", "AFIX")] == [
        "1", "23", "0", "2", "23", "0", "0",
    ]  # fmt: skip
    assert [w[5] for w in block if w[0].startswith("H")] == [
        "21.00000", "21.00000", "-21.00000", "-21.00000",
    ]  # fmt: skip


def test_a_users_res_gives_each_parts_h_the_users_free_variable(shared_data, tmp_path):
    """A user's .res with O61A at 21 and O61B at -21 (FVAR 0.56; Site.free_variable is only
    the pipeline's own): C61's new H are written at 21.00000 in PART 1 and -21.00000 in PART 2,
    so that they follow FVAR 2 in SHELXL. Before, they were fixed at 10.56000 and 10.44000."""
    truth = read_cif(BENCHMARK.parent / "corpus" / "codtools_2003003.cif").structure
    fv = {"O61A": 2, "O61B": -2}
    heavy = _without_h(truth)
    heavy = heavy.with_sites([replace(s, free_variable=fv.get(s.label, 0)) for s in heavy.sites])
    path = tmp_path / "user.res"
    path.write_text(new_ins_text(heavy))
    shelx_file = read_shelx(str(path))
    model = shelx_file.to_structure()
    assert not any(s.free_variable for s in model.sites)  # the codes stay in the file's lines
    plan = add_riding_hydrogens(model, dict(enumerate(bonded_h_counts(truth, 1.3))))
    lines = [line.split() for line in render_with_sites(shelx_file, plan.structure).splitlines()]
    k = [s.label for s in model.sites].index("C61")
    labels = {plan.structure.sites[j].label: plan.structure.sites[j].part for j in plan.groups[k]}
    sof = {words[0]: words[5] for words in lines if words and words[0] in labels}
    assert sorted((labels[h], sof[h]) for h in labels) == [
        (1, "21.00000"), (1, "21.00000"), (2, "-21.00000"), (2, "-21.00000"),
    ]  # fmt: skip


def test_no_per_part_h_beside_a_negative_part(shared_data):
    """finalcif_1517016 models its disorder in PARTs -1/-2 and -3/-4, which iotbx reads into
    smtbx's conformer 0: H split into those PARTs would stay fixed ("bad connectivity"). The
    H of C39, C40, C44, C45 (bonded to both alternatives) stay one group in PART 0, as
    published; before, each had one H in each negative PART."""
    truth, heavy, plan = _riding("finalcif_1517016")
    labels = [s.label for s in heavy.sites]
    for label in ("C39", "C40", "C44", "C45"):
        k = labels.index(label)
        assert [plan.structure.sites[j].part for j in plan.groups[k]] == [0], label
        assert "each PART" not in plan.notes.get(k, "")


def test_refinement_rides_each_parts_h_on_its_own_alternative(shared_data):
    """Against data simulated from COD 2003003, smtbx builds every PART's riding group (none
    kept fixed) on the pivot and that PART's neighbour alone: after refinement each PART's two
    H of C61-C64 sit where AFIX 23 puts them on the refined pivot, its PART 0 neighbour and the
    neighbour of their own PART (within 0.01 Å), not on the other PART's."""
    truth, heavy, plan = _riding("codtools_2003003")
    indices, observed, sigmas = simulate_reflections(to_xray_structure(truth), 1.0, 5, 3e4)
    data = Reflections(indices, observed, sigmas, None, "simulated.hkl")
    result = refine(plan.structure, data, 2, instructions=refinement_instructions(plan.restraints))
    assert not result.fixed_hydrogens
    refined = result.structure
    bonds = connectivity(refined)
    labels = [s.label for s in refined.sites]
    for pivot in ("C61", "C62", "C63", "C64"):
        k = labels.index(pivot)
        centre = refined.cartesian(refined.sites[k].frac)
        hydrogens = [s for s in refined.sites[k + 1 : k + 5] if is_hydrogen(s.element)]
        parts = sorted({h.part for h in hydrogens})
        assert len(hydrogens) == 4 and len(parts) == 2
        ideal = {}
        for part in parts:
            bonded = [
                c.cart_j
                for c in bonds[k]
                if not is_hydrogen(refined.sites[c.j].element)
                and refined.sites[c.j].part in (0, part)
            ]
            ideal[part] = place_hydrogens(23, centre, bonded, 2, "C")
        for h in hydrogens:
            xyz = refined.cartesian(h.frac)
            off = {part: min(np.linalg.norm(ideal[part] - xyz, axis=1)) for part in parts}
            other = next(part for part in parts if part != h.part)
            assert off[h.part] < 0.01 and off[other] > 0.1, (h.label, off)


def test_a_detached_group_smtbx_has_no_model_for_stops_with_a_reason(shared_data):
    """A riding group after another group's H (the PART 2 H of C61) is built here from iotbx's
    AFIX table; an AFIX m it lacks (12n, a disordered methyl's) is a RefinementError naming the
    H, not a KeyError."""
    truth, heavy, plan = _riding("codtools_2003003")
    k = [s.label for s in heavy.sites].index("C61")
    second = [j for j in plan.groups[k] if plan.structure.sites[j].part == 2]
    model = plan.structure.with_sites(
        [replace(s, afix=123) if j in second else s for j, s in enumerate(plan.structure.sites)]
    )
    indices, observed, sigmas = simulate_reflections(to_xray_structure(truth), 1.0, 5, 3e4)
    data = Reflections(indices, observed, sigmas, None, "simulated.hkl")
    with pytest.raises(RefinementError, match="AFIX 123 H"):
        refine(model, data, 2, instructions=refinement_instructions(plan.restraints))


# FC_SH2185's minor ring (PART 2) as the job's anisotropic refinement left it before riding:
# C17B's ring angle 99.6°, its bonds 1.52 and 1.63 Å, the ring still flat (0.075 Å r.m.s.)
_REFINED_MINOR_RING = {
    "C13": (0.07113, 0.34266, 0.7002),
    "C18B": (0.08505, 0.21758, 0.75417),
    "C17B": (-0.03767, 0.21714, 0.81732),
    "C2AA": (-0.00504, 0.44419, 0.72361),
    "C1AA": (-0.12105, 0.43952, 0.77338),
    "C0AA": (-0.1059, 0.34596, 0.81453),
}


def test_a_ring_ch_of_a_refined_minor_part_keeps_afix_43(shared_data):
    """The CH of a flat six-ring is sp2 whatever disorder did to its angle and bonds: C17B
    rides under AFIX 43, as in the published model, where it got no H before."""
    model = read_shelx(BENCHMARK / "FC_SH2185" / "published.res").to_structure()
    heavy = _without_h(model)
    heavy = heavy.with_sites(
        [replace(s, frac=_REFINED_MINOR_RING.get(s.label, s.frac)) for s in heavy.sites]
    )
    k = [s.label for s in heavy.sites].index("C17B")
    plan = add_riding_hydrogens(heavy, {k: 1})
    assert plan.codes.get(k) == 43, plan.notes.get(k)
    (h,) = [plan.structure.sites[j] for j in plan.groups[k]]
    assert h.part == 2 and h.afix == 43


def test_the_same_spoilt_ring_outside_any_part_is_not_aromatic_by_flatness_alone(shared_data):
    """Outside any PART nothing excuses a ring's bonds: FC_SH2185's refined minor ring moved
    into PART 0 (the major part left out) is flat but its bonds 1.52 and 1.63 Å apart by more
    than AROMATIC_SPREAD, as a flat ring's CH2 miscounted as CH would be, so C17B gets no AFIX
    43 from the ring (the bond-angle rules decide). Before, flatness alone made it 43."""
    model = read_shelx(BENCHMARK / "FC_SH2185" / "published.res").to_structure()
    heavy = _without_h(model)
    heavy = heavy.with_sites(
        [
            replace(s, frac=_REFINED_MINOR_RING.get(s.label, s.frac), part=0, occupancy=1.0)
            for s in heavy.sites
            if s.part != 1
        ]
    )
    k = [s.label for s in heavy.sites].index("C17B")
    plan = add_riding_hydrogens(heavy, {k: 1})
    assert plan.codes.get(k) != 43, plan.notes.get(k)


def test_a_flat_ring_makes_a_ch_sp2_whatever_its_angle():
    """choose_hfix: a CH between two long bonds at 100° has no riding model, unless the atom
    lies in a flat six-ring (geometry.flat_ring_sites), where it is aromatic."""
    pivot = np.zeros(3)
    angle = np.radians(100.0)
    neighbours = [("C", np.array([1.52, 0.0, 0.0])),
                  ("C", 1.63 * np.array([np.cos(angle), np.sin(angle), 0.0]))]  # fmt: skip
    assert choose_hfix("C", 1, pivot, neighbours)[0] == 0
    assert choose_hfix("C", 1, pivot, neighbours, in_flat_ring=True)[0] == 43
    assert choose_hfix("N", 1, pivot, neighbours, in_flat_ring=True)[0] == 43
    # the ring says nothing of a CH2 or of a CH with three neighbours
    assert choose_hfix("C", 2, pivot, neighbours, in_flat_ring=True)[0] == 23


def test_the_users_names_of_each_parts_h_are_kept(shared_data):
    """An input that already has C61's H in each PART (COD 2003003: H611, H612 in PART 1, H618,
    H619 in PART 2) gets its names back on the new H of the same PART: before, a group whose H
    lay in two PARTs lost them all."""
    truth, heavy, plan = _riding("codtools_2003003")
    keep_input_names(plan, heavy, truth)
    k = [s.label for s in heavy.sites].index("C61")
    named = {plan.structure.sites[j].label: plan.structure.sites[j].part for j in plan.groups[k]}
    published = {s.label: s.part for s in truth.sites if s.label in named}
    assert named == published and sorted(named) == ["H611", "H612", "H618", "H619"]


def test_users_h_interleaved_over_the_parts_keep_each_parts_group_whole(shared_data):
    """The user's H of C61 listed H611 (PART 1), H618 (PART 2), H612 (1), H619 (2): the names
    are kept in the user's order within each PART, the PARTs' H one after the other (one AFIX
    23 group per PART; four one-H groups SHELXL refuses and iotbx reads as "wrong number of
    afixed atoms")."""
    truth, heavy, plan = _riding("codtools_2003003")
    order = ["H611", "H618", "H612", "H619"]
    rest = [s for s in truth.sites if s.label not in order]
    by_label = {s.label: s for s in truth.sites}
    keep_input_names(plan, heavy, truth.with_sites(rest + [by_label[h] for h in order]))
    k = [s.label for s in heavy.sites].index("C61")
    written = [
        (plan.structure.sites[j].part, plan.structure.sites[j].label) for j in plan.groups[k]
    ]
    assert written == [(1, "H611"), (1, "H612"), (2, "H618"), (2, "H619")]


def test_an_aqua_ligand_on_a_disordered_metal_keeps_its_water_h(shared_data):
    """Only a disordered metal (bs5068's Ni1/Ni1' under the aqua O6_1, O7_1) leaves the
    covalent framework, and the water's restrained H, as they were: one group in PART 0."""
    truth, heavy, plan = _riding("codtools_bs5068-estimated-sg_6")
    labels = [s.label for s in heavy.sites]
    for label in ("O6_1", "O7_1"):
        k = labels.index(label)
        hydrogens = [plan.structure.sites[j] for j in plan.groups[k]]
        assert [(h.part, h.afix) for h in hydrogens] == [(0, 0), (0, 0)], label
        assert "each PART" not in plan.notes.get(k, "")
