"""Structure solution by charge flipping (smtbx): reflections in, electron-density peaks out."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterator

from cctbx import maptbx, miller
from cctbx.array_family import flex
from smtbx.ab_initio import charge_flipping

from crystalx_core.errors import SolveError
from crystalx_core.structure import Site, Structure

SOLVE_RESOLUTION = 0.8  # Å; finer data slows the FFTs without helping to find atoms
PEAK_SURPLUS = 1.5  # peaks searched per expected non-H atom: the assignment drops the spurious ones
LOW_COMPLETENESS = 0.9  # of the unique reflections to the resolution used: below this the user is told


@dataclass(frozen=True)
class FlipSettings:
    """One charge-flipping run's choices: quasi-normalised amplitudes give sharper maps but fail
    on sparse shells; delta (as a multiple of the map's sigma) and the share of weak reflections
    whose phases are pushed decide which of several local solutions the run falls into."""

    normalise: bool = True
    delta_over_sigma: float = 1.1  # smtbx's default
    weak_fraction: float = 0.2  # smtbx's default

    def describe(self) -> str:
        return (f"{'normalised' if self.normalise else 'plain'} |F|, delta {self.delta_over_sigma:g} sigma, "
                f"weak reflections {self.weak_fraction:g}")


# tried in this order, each with its own random phases; the job goes on to the next while the
# structure a run gives stays incomplete (pipeline.solve_job)
RUNS = (FlipSettings(), FlipSettings(normalise=False), FlipSettings(True, 1.3, 0.3), FlipSettings(True, 0.9, 0.2),
        FlipSettings(False, 1.3, 0.3), FlipSettings(True, 1.1, 0.1))


@dataclass
class Solution:
    structure: Structure  # the input cell/symmetry/SFAC with peaks as sites
    attempts: int
    n_reflections: int
    d_min: float
    completeness: float  # of the unique reflections to d_min, 0..1
    settings: FlipSettings = FlipSettings()
    figure_of_merit: float = 0.0  # height of the origin peak of the symmetry search, 0..1 (smtbx's cc_peak_height)

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


def data_r_sigma(structure: Structure, reflections) -> float:
    """The data's own noise as an R factor on F: half of Σσ(Fo²)/ΣFo² over the merged data
    (σ(F) ≈ σ(F²)/2F), the R1 a perfect model would reach."""
    i_obs = merged_intensities(structure, reflections)
    total = flex.sum(flex.abs(i_obs.data()))
    return float(flex.sum(i_obs.sigmas()) / total / 2) if total > 0 else 0.0


def solve(structure: Structure, reflections, seed: int = 1, max_attempts: int = len(RUNS)) -> Solution:
    """The first charge-flipping solution (solutions()), or a SolveError."""
    return next(solutions(structure, reflections, seed, max_attempts))


def solutions(structure: Structure, reflections, seed: int = 1, max_attempts: int = len(RUNS)) -> Iterator[Solution]:
    """Phase the data by charge flipping and yield the highest map peaks of each run that had
    a phase transition, as Q-peaks; runs follow RUNS (fresh random phases each). A SolveError
    when none of max_attempts runs gave a solution.
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

    found = 0
    for attempt in range(1, max_attempts + 1):
        settings = RUNS[(attempt - 1) % len(RUNS)]
        flipped = _flip(f_obs, settings, seed + attempt)
        if flipped is None:
            continue
        f_calc, merit = flipped
        peaks = _peaks(f_calc, max_peaks=int(expected * PEAK_SURPLUS) + 5)
        if peaks:
            found += 1
            yield Solution(structure.with_sites(peaks), attempt, f_obs.size(), d_min, completeness, settings, merit)
    if not found:
        incomplete = _incompleteness(completeness, d_min)
        raise SolveError(f"charge flipping found no solution in {max_attempts} attempt{'s' * (max_attempts != 1)}"
                         + (f" ({incomplete})" if incomplete else ""), reflections.path)


def _flip(f_obs: miller.array, settings: FlipSettings, seed: int):
    """One charge-flipping run; (symmetrised structure factors, their figure of merit), or
    None without a phase transition."""
    flex.set_random_seed(seed)
    extra = {"normalisations_for": charge_flipping.amplitude_quasi_normalisations} if settings.normalise else {}
    flipping = charge_flipping.weak_reflection_improved_iterator(
        delta=None, weak_reflection_fraction=settings.weak_fraction)
    try:
        # smtbx scales the iteration limit by 1.5 from its third internal attempt on and then
        # hands a float to islice (ValueError); we retry with fresh phases ourselves instead.
        solving = charge_flipping.solving_iterator(flipping, f_obs, max_attempts_to_get_phase_transition=2,
                                                   delta_over_sigma=settings.delta_over_sigma, **extra)
        charge_flipping.loop(solving, verbose=False, out=io.StringIO())  # it prints failures
    except (AssertionError, RuntimeError, ValueError, ZeroDivisionError):
        return None  # quasi-normalisation fails on sparse shells; the caller retries without it
    if not solving.had_phase_transition or not solving.f_calc_solutions:
        return None
    f_calc, _, merit = solving.f_calc_solutions[0]
    return f_calc, float(merit)


def _peaks(f_calc: miller.array, max_peaks: int) -> list[Site]:
    fft_map = f_calc.fft_map(symmetry_flags=maptbx.use_space_group_symmetry, resolution_factor=1 / 3)
    fft_map.apply_volume_scaling()
    params = maptbx.peak_search_parameters(
        interpolate=True, min_distance_sym_equiv=0.5, min_cross_distance=0.8, max_clusters=max_peaks)
    found = fft_map.peak_search(params, verify_symmetry=False).all()
    return [Site(label=f"Q{i + 1}", element=None, frac=tuple(float(v) for v in xyz),
                 peak_height=float(height))
            for i, (xyz, height) in enumerate(zip(found.sites(), found.heights()))]
