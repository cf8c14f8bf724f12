"""Structure solution by charge flipping (smtbx): reflections in, electron-density peaks out."""
from __future__ import annotations

import io
from dataclasses import dataclass

from cctbx import maptbx, miller
from cctbx.array_family import flex
from smtbx.ab_initio import charge_flipping

from crystalx_core.errors import SolveError
from crystalx_core.structure import Site, Structure

SOLVE_RESOLUTION = 0.8  # Å; finer data slows the FFTs without helping to find atoms
PEAK_SURPLUS = 1.5  # peaks searched per expected non-H atom: the assignment drops the spurious ones
LOW_COMPLETENESS = 0.9  # of the unique reflections to the resolution used: below this the user is told


@dataclass
class Solution:
    structure: Structure  # the input cell/symmetry/SFAC with peaks as sites
    attempts: int
    n_reflections: int
    d_min: float
    completeness: float  # of the unique reflections to d_min, 0..1

    def completeness_note(self) -> str | None:
        """What to expect from incomplete data, or None when they are complete enough."""
        incomplete = _incompleteness(self.completeness, self.d_min)
        return f"{incomplete}: expect missing atoms" if incomplete else None


def _incompleteness(completeness: float, d_min: float) -> str | None:
    return f"the data are only {100 * completeness:.0f} % complete to {d_min:.2f} Å" \
        if completeness < LOW_COMPLETENESS else None


def merged_intensities(structure: Structure, reflections) -> miller.array:
    """Symmetry-merged, non-anomalous Fo² as a cctbx array (what both solve and refine start from)."""
    i_obs = reflections.to_miller_array(structure.cell, structure.symops)
    return i_obs.eliminate_sys_absent().as_non_anomalous_array().merge_equivalents().array()


def solve(structure: Structure, reflections, seed: int = 1, max_attempts: int = 3) -> Solution:
    """Phase the data by charge flipping and return the highest map peaks as Q-peaks.

    Tries quasi-normalised amplitudes first (sharper maps), then plain |F|, each with fresh
    random phases, before giving up with a SolveError.
    """
    i_obs = merged_intensities(structure, reflections)
    if i_obs.size() < 10:
        raise SolveError(f"only {i_obs.size()} unique reflections: too few to solve",
                         reflections.path)
    d_min = max(i_obs.d_min(), SOLVE_RESOLUTION)
    f_obs = i_obs.resolution_filter(d_min=d_min).f_sq_as_f()
    completeness = f_obs.completeness()
    expected = sum(structure.asymmetric_unit_contents().values())
    if expected <= 0:
        raise SolveError("UNIT gives no non-hydrogen atoms to look for", structure.source)

    attempt = 0
    for normalise in (True, False):
        for _ in range(max_attempts):
            attempt += 1
            f_calc = _flip(f_obs, normalise, seed + attempt)
            if f_calc is not None:
                peaks = _peaks(f_calc, max_peaks=int(expected * PEAK_SURPLUS) + 5)
                if peaks:
                    return Solution(structure.with_sites(peaks), attempt, f_obs.size(), d_min, completeness)
    incomplete = _incompleteness(completeness, d_min)
    raise SolveError(f"charge flipping found no solution in {attempt} attempts"
                     + (f" ({incomplete})" if incomplete else ""), reflections.path)


def _flip(f_obs: miller.array, normalise: bool, seed: int):
    """One charge-flipping run; the symmetrised structure factors, or None without a phase transition."""
    flex.set_random_seed(seed)
    extra = {"normalisations_for": charge_flipping.amplitude_quasi_normalisations} if normalise else {}
    flipping = charge_flipping.weak_reflection_improved_iterator(delta=None)
    try:
        # smtbx scales the iteration limit by 1.5 from its third internal attempt on and then
        # hands a float to islice (ValueError); we retry with fresh phases ourselves instead.
        solving = charge_flipping.solving_iterator(flipping, f_obs, max_attempts_to_get_phase_transition=2,
                                                   **extra)
        charge_flipping.loop(solving, verbose=False, out=io.StringIO())  # it prints failures
    except (AssertionError, RuntimeError, ValueError, ZeroDivisionError):
        return None  # quasi-normalisation fails on sparse shells; the caller retries without it
    if not solving.had_phase_transition or not solving.f_calc_solutions:
        return None
    return solving.f_calc_solutions[0][0]


def _peaks(f_calc: miller.array, max_peaks: int) -> list[Site]:
    fft_map = f_calc.fft_map(symmetry_flags=maptbx.use_space_group_symmetry, resolution_factor=1 / 3)
    fft_map.apply_volume_scaling()
    params = maptbx.peak_search_parameters(
        interpolate=True, min_distance_sym_equiv=0.5, min_cross_distance=0.8, max_clusters=max_peaks)
    found = fft_map.peak_search(params, verify_symmetry=False).all()
    return [Site(label=f"Q{i + 1}", element=None, frac=tuple(float(v) for v in xyz),
                 peak_height=float(height))
            for i, (xyz, height) in enumerate(zip(found.sites(), found.heights()))]
