"""Structure completion's general steps on L-alanine (P2₁2₁2₁, 6 non-H atoms) with Fo²
simulated from the published model: where new atoms start refining and how hard their first
cycles are damped, what happens to an atom that refines to nothing, and difference peaks added
to the model as it stands."""

import itertools
from dataclasses import replace

import pytest

from crystalx_core.completion import SPURIOUS_U, assign_and_refine, grown_assignment
from crystalx_core.crystallography.compare import match_sites
from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.crystallography.maps import fobs_peaks
from crystalx_core.crystallography.refine import NEW_MODEL_DAMPING, refine
from crystalx_core.crystallography.solve import WILSON_U, wilson_u
from crystalx_core.demo import simulate_reflections
from crystalx_core.elements import is_hydrogen
from crystalx_core.geometry import neighbours
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import Reflections

from .conftest import BENCHMARK


@pytest.fixture(scope="module")
def alanine(shared_data):
    """The published model's non-H atoms with one Uiso for all, so that the data's own
    overall U is known."""
    truth = read_cif(BENCHMARK / "XH_alanine" / "model.cif").structure
    return truth.with_sites(
        [replace(s, u_aniso=None) for s in truth.sites if not is_hydrogen(s.element)]
    )


def data(structure, u: float) -> Reflections:
    atoms = structure.with_sites([replace(s, u_iso=u) for s in structure.sites])
    indices, observed, sigmas = simulate_reflections(to_xray_structure(atoms), 0.8, 3)
    return Reflections(indices, observed, sigmas, None, "alanine.hkl")


def as_peaks(sites):
    return [
        replace(s, element=None, label=f"Q{k + 1}", peak_height=5.0, u_iso=0.05)
        for k, s in enumerate(sites)
    ]


@pytest.mark.parametrize("u", [0.015, 0.03, 0.06])
def test_new_atoms_start_at_the_datas_wilson_u(alanine, u):
    """A cold crystal's data give a low overall U, a warm one's a high one: within 0.01 Å²
    of the U the data were made with, and within the range ordered atoms refine to."""
    start = wilson_u(alanine, data(alanine, u))
    assert WILSON_U[0] <= start <= WILSON_U[1]
    assert start == pytest.approx(u, abs=0.01)


def test_atoms_made_from_peaks_start_at_that_u(alanine):
    """The first refinement starts from the given U, not from the peaks' 0.05 Å²."""
    reflections = data(alanine, 0.02)
    peaks = alanine.with_sites(as_peaks(alanine.sites))
    stage = assign_and_refine(peaks, reflections, "baseline", cycles=0, start_u=0.02)
    assert {s.u_iso for s in stage.refinements[0][1].structure.sites} == {0.02}


def test_an_atom_in_empty_space_is_dropped_and_the_rest_refines(alanine):
    """A peak far from any density made an atom refines to a huge U: it is dropped, and the
    model refined again without it keeps every real atom."""
    reflections = data(alanine, 0.03)
    empty = next(  # a point of a coarse grid with no atom within 2.2 Å
        site
        for site in (
            replace(alanine.sites[0], frac=(i / 10, j / 10, k / 10), label="E")
            for i, j, k in itertools.product(range(10), repeat=3)
        )
        if not neighbours(alanine.with_sites([site, *alanine.sites]), 2.2, centres=[0])[0]
    )
    peaks = alanine.with_sites(as_peaks([*alanine.sites, empty]))
    best = assign_and_refine(
        alanine.with_sites(as_peaks(alanine.sites)), reflections, "baseline", 10
    )
    forced = grown_assignment(best, peaks)  # the empty-space peak made an atom regardless
    assert len(forced.sites) == len(alanine.sites) + 1
    stage = assign_and_refine(peaks, reflections, "baseline", 10, 0.03, forced)
    assert stage.refinements[0][1].structure.sites[-1].u_iso > SPURIOUS_U
    assert len(stage.refined.structure.sites) == len(alanine.sites)
    assert stage.refinements[-1][0] == "isotropic, spurious removed"
    assert len(stage.assignment.dropped) == 1
    assert match_sites(alanine, stage.refined.structure).n_found == len(alanine.sites)


def test_difference_peaks_are_added_to_the_model_as_it_stands(alanine):
    """Two atoms missing from a refined model: added at their difference-map positions as
    UNIT's main element (C) under free labels, after the model's atoms with their elements,
    they refine to a lower R1 and complete the model."""
    reflections = data(alanine, 0.03)
    best = assign_and_refine(
        alanine.with_sites(as_peaks(alanine.sites[:4])), reflections, "baseline", 10
    )
    model = best.refined.structure
    missing = [replace(s, element=None, label="Q", u_iso=0.05) for s in alanine.sites[4:]]
    peaks = fobs_peaks(model, reflections, missing)
    grown = grown_assignment(best, peaks)
    assert [s.index for s in grown.sites] == list(range(6))
    assert [s.element for s in grown.sites[:4]] == [s.element for s in best.assignment.sites]
    assert [s.element for s in grown.sites[4:]] == ["C", "C"]
    labels = [s.new_label.upper() for s in grown.sites]
    assert len(set(labels)) == len(labels)
    stage = assign_and_refine(peaks, reflections, "baseline", 10, 0.03, grown)
    assert stage.r1 < best.r1 - 0.05
    assert match_sites(alanine, stage.refined.structure).n_found == len(alanine.sites)


def test_a_new_model_is_refined_with_light_first_damping(alanine):
    """The damping decides how far the first cycles move a model far from its minimum: damped
    heavily, two cycles leave shaken atoms where they were; at NEW_MODEL_DAMPING they come
    most of the way back."""
    reflections = data(alanine, 0.03)
    shaken = alanine.with_sites(
        [
            replace(s, frac=(s.frac[0] + 0.03 * (-1) ** k, s.frac[1], s.frac[2]), u_iso=0.03)
            for k, s in enumerate(alanine.sites)
        ]
    )
    stiff = refine(shaken, reflections, 2, damping=1e3)
    light = refine(shaken, reflections, 2, damping=NEW_MODEL_DAMPING)
    assert light.r1 < stiff.r1 - 0.05
    assert light.r1 < 0.10
