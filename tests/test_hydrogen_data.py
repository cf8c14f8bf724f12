"""Where an H sits decided by the reflections when the difference map is not clear
(hydrogen_data, Hamilton's R-factor ratio test), and the groups SHELXL has no HFIX for placed
from the map and restrained (a hydrazine's pyramidal NH2, a hydroxide's one H)."""

import math
from dataclasses import dataclass, replace

import numpy as np
import pytest
from cctbx import maptbx

from crystalx_core.crystallography.compare import hydrogens_per_atom
from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.demo import simulate_reflections
from crystalx_core.elements import is_hydrogen
from crystalx_core.hydrogen_data import SIGNIFICANCE, HydrogenFits
from crystalx_core.hydrogen_evidence import weigh_hydrogens
from crystalx_core.hydrogens import RESTRAINED_XH, place_restrained_hydrogens, restrained_group
from crystalx_core.io.hkl import Reflections, read_hkl
from crystalx_core.riding import add_riding_hydrogens
from crystalx_core.structure import Site, Structure

from .conftest import BENCHMARK
from .test_hydrogen_evidence import _acceptor_of, _Scaled, benchmark_entry, index, refined_without_h


@pytest.fixture(scope="module")
def alanine(shared_data):
    truth, model, density = refined_without_h(*benchmark_entry("XH_alanine"))
    return truth, model, density, read_hkl(BENCHMARK / "XH_alanine" / "data.hkl")


def _moved(model, truth):
    """(published counts, the same with one N1 H put on the O it bonds to, N1, that O)."""
    published = hydrogens_per_atom(truth)
    right = {i: published[s.label] for i, s in enumerate(model.sites)}
    n1, o = index(model, "N1"), index(model, _acceptor_of(model, "N1"))
    return right, {**right, n1: right[n1] - 1, o: right[o] + 1}, n1, o


def test_the_right_placement_fits_the_reflections_significantly_better(alanine):
    """Alanine's real data: NH3+/COO− (published) against NH2/COOH. Hamilton's ratio of the
    two wR2 is far over the 0.1 % level's, whichever is given first."""
    truth, model, density, reflections = alanine
    right, wrong, _, _ = _moved(model, truth)
    fits = HydrogenFits(model, reflections, density)
    assert 1.0 < fits.needed < 1.01
    verdict = fits.compare_counts(wrong, right)
    assert verdict.second_better and not verdict.first_better
    assert verdict.ratio > fits.needed + 0.01
    back = fits.compare_counts(right, wrong)
    assert back.first_better and back.ratio == pytest.approx(1 / verdict.ratio)
    assert f"at {100 * SIGNIFICANCE:g} %" in verdict.text()


def test_where_the_map_only_leans_the_reflections_put_the_h_back(alanine):
    """The map scaled to a quarter: N1's peaks fall under PAIR_RMS and the map alone keeps the
    model's wrong counts (test_a_moved_h_stays_where_the_map_is_not_clear). Given the
    reflections, the two placements are refined-model fits compared: the H goes back to N1, the
    notes naming the test."""
    truth, model, density, reflections = alanine
    right, wrong, n1, o = _moved(model, truth)
    weak = _Scaled(density, 0.25)
    assert weigh_hydrogens(model, wrong, weak).counts == wrong
    evidence = weigh_hydrogens(model, wrong, weak, reflections)
    assert evidence.counts == right
    assert evidence.notes[n1].startswith(f"+1 H from {model.sites[o].label} by the reflections")
    assert "Hamilton's ratio" in evidence.notes[o]


def test_the_published_counts_stay_when_the_reflections_are_given(alanine):
    """No false change: the published counts, weighed with the real map and the reflections
    and with a flat one, stay as they are, without a note."""
    truth, model, density, reflections = alanine
    right, _, _, _ = _moved(model, truth)
    for map_ in (density, _Scaled(density, 0.25)):
        evidence = weigh_hydrogens(model, right, map_, reflections)
        assert evidence.counts == right and not evidence.notes


def _hydrazine():
    """C1–N1–N2 with sp3 angles in a large P1 cell (N2 the terminal NH2 of a hydrazine)."""
    c1 = np.array([5.0, 5.0, 5.0])
    n1 = c1 + np.array([1.47, 0.0, 0.0])
    n2 = n1 + 1.45 * np.array([math.cos(math.radians(70.5)), math.sin(math.radians(70.5)), 0.0])
    sites = [
        Site(label, element, tuple(xyz / 20), u_iso=0.03)
        for label, element, xyz in (("C1", "C", c1), ("N1", "N", n1), ("N2", "N", n2))
    ]
    cell = (20, 20, 20, 90, 90, 90)
    return Structure(cell=cell, symops=["x,y,z"], sfac=["C", "N"], unit=[1, 2], sites=sites)


def test_a_hydrazine_nh2_is_pyramidal_and_restrained():
    """SHELXL's AFIX 93 is only the planar =NH2: the NH2 of N–NH2 gets two of a staggered NH3's
    places (tetrahedral to its bond and to each other) at 0.88 Å, code 0, DFIX and DANG."""
    structure = _hydrazine()
    assert restrained_group("N", 2, 1) and not restrained_group("O", 1, 1)
    plan = add_riding_hydrogens(structure, {2: 2})
    assert plan.codes[2] == 0
    n1, n2 = (plan.structure.cartesian(s.frac) for s in plan.structure.sites[1:3])
    hydrogens = [plan.structure.cartesian(s.frac) for s in plan.structure.sites[3:]]
    assert len(hydrogens) == 2 and all(s.element == "H" for s in plan.structure.sites[3:])
    for h in hydrogens:
        assert np.linalg.norm(h - n2) == pytest.approx(RESTRAINED_XH["N"], abs=1e-6)
        assert _angle(h, n2, n1) == pytest.approx(109.47, abs=0.1)
    assert _angle(hydrogens[0], n2, hydrogens[1]) == pytest.approx(109.47, abs=0.1)
    labels = [s.label for s in plan.structure.sites[3:]]
    assert f"DFIX 0.88 N2 {labels[0]} N2 {labels[1]}" in plan.restraints
    assert f"DANG 1.44 {labels[0]} {labels[1]}" in plan.restraints


@dataclass
class _Peak:
    centre: np.ndarray
    rms: float = 0.1

    def __call__(self, points):
        r2 = np.sum((np.atleast_2d(points) - self.centre) ** 2, axis=1)
        return 0.6 * np.exp(-r2 / 0.18)


def test_a_hydroxide_h_goes_on_the_map_peak_and_only_with_a_map():
    """An OH− ion (an O without bonds, one H): the H where the map has its peak, DFIX 0.84;
    without a map nothing tells where it is, so none is placed and the note says why."""
    o = np.array([5.0, 5.0, 5.0])
    structure = Structure(
        cell=(20, 20, 20, 90, 90, 90),
        symops=["x,y,z"],
        sfac=["O"],
        unit=[1],
        sites=[Site("O1", "O", tuple(o / 20), u_iso=0.03)],
    )
    peak = o + 0.84 * np.array([0.0, 0.6, 0.8])
    plan = add_riding_hydrogens(structure, {0: 1}, density=_Peak(peak))
    (h,) = [s for s in plan.structure.sites if is_hydrogen(s.element)]
    assert np.linalg.norm(plan.structure.cartesian(h.frac) - peak) < 0.1
    assert plan.codes[0] == 0 and f"DFIX 0.84 O1 {h.label}" in plan.restraints
    unplaced = add_riding_hydrogens(structure, {0: 1})
    assert 0 not in unplaced.codes and "OH− ion" in unplaced.notes[0]


def test_a_single_h_keeps_clear_of_the_bonds_of_its_atom():
    """An imine N–H with no map peak on its side: the direction is at least 100° from the
    bond, not along it."""
    pivot, bonded = np.zeros(3), [np.array([1.28, 0.0, 0.0])]
    (h,) = place_restrained_hydrogens("N", 1, pivot, bonded, density=_Peak(np.array([9.0] * 3)))
    assert _angle(h, pivot, bonded[0]) >= 100.0 - 1e-6


def _angle(a, centre, b) -> float:
    u, v = a - centre, b - centre
    return math.degrees(math.acos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))


def _inversion_pair(symops):
    """A C–O pair and its inversion mate in a triclinic cell, with Fo² simulated from it
    (demo.simulate_reflections), described in `symops`: P-1 (its four atoms from two) or P1 (all
    four listed); both describe the same crystal and merge the same reflections."""
    pair = [
        Site("C1", "C", (0.10, 0.20, 0.30), u_iso=0.03),
        Site("O1", "O", (0.22, 0.25, 0.31), u_iso=0.03),
    ]
    mates = [replace(s, label=s.label + "'", frac=tuple(-x for x in s.frac)) for s in pair]
    cell = (7.0, 8.0, 9.0, 80, 85, 95)
    p1 = Structure(cell=cell, symops=["x,y,z"], sfac=["C", "O"], unit=[2, 2], sites=pair + mates)
    indices, observed, sigmas = simulate_reflections(to_xray_structure(p1), 0.84, 1, 3e3)
    reflections = Reflections(indices, observed, sigmas, None, "pair.hkl")
    if len(symops) == 1:
        return HydrogenFits(p1, reflections)
    return HydrogenFits(
        Structure(cell=cell, symops=symops, sfac=["C", "O"], unit=[2, 2], sites=pair), reflections
    )


def test_a_missing_h_shows_at_half_height_where_the_reflections_are_acentric():
    """Fo − Fc with the model's phases shows a missing atom whole in centric reflections and at
    about half height in acentric ones (Main 1979): the same crystal's reflections, centric in
    P-1 and acentric in P1, give an H half the visibility in P1. In P-1 the H's peak over
    `map_rms` is the height its own scattering gives in an Fo map of these reflections (cctbx's
    FFT, volume-scaled) whenever that rms is above the measurements' noise."""
    u_iso = 0.04
    centric, acentric = _inversion_pair(["x,y,z", "-x,-y,-z"]), _inversion_pair(["x,y,z"])
    assert acentric.hydrogen_visibility(u_iso) == pytest.approx(
        0.5 * centric.hydrogen_visibility(u_iso)
    )
    h = Site("H1", "H", (0.30, 0.35, 0.40), u_iso=u_iso)
    f_sq = centric.f_sq
    f_h = f_sq.structure_factors_from_scatterers(
        to_xray_structure(centric.structure.with_sites([h])), algorithm="direct"
    ).f_calc()
    fft_map = f_h.fft_map(resolution_factor=1 / 4)
    fft_map.apply_volume_scaling()
    height = maptbx.eight_point_interpolation(fft_map.real_map_unpadded(), h.frac)
    rms = 100.0  # e Å⁻³, far above these measurements' noise
    assert centric.hydrogen_visibility(u_iso, rms) * rms == pytest.approx(height, rel=0.05)
    assert centric.hydrogen_visibility(u_iso, 1e-9) == centric.hydrogen_visibility(u_iso)
