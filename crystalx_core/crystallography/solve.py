"""Structure solution by charge flipping (smtbx): reflections in, electron-density peaks out."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Iterator

from cctbx import maptbx, miller, statistics
from cctbx.array_family import flex
from smtbx.ab_initio import charge_flipping

from crystalx_core.errors import SolveError
from crystalx_core.structure import Site, Structure

SOLVE_RESOLUTION = 0.8  # Å; finer data slows the FFTs without helping to find atoms
PEAK_SURPLUS = 1.5  # peaks searched per expected non-H atom: the assignment drops the spurious ones
LOW_COMPLETENESS = (
    0.9  # of the unique reflections to the resolution used: below this the user is told
)
# below this share charge flipping still converges, to a map that shows nothing (CCTBX cu3182's
# data stop at l = 7 of a 41 Å axis, 20 %): no solution to hand on
MIN_COMPLETENESS = 0.5
DELTA_CYCLES = 10  # first cycles of a run, over which delta follows the map's sigma; then it stays
DENORMALISED_CYCLES = 10  # cycles on plain |F| after a run on normalised amplitudes (sharper peaks)
MIN_ORIGIN_CC = 0.9  # smtbx's: an origin of the symmetry search under this correlation is none
ORIGIN_CANDIDATES = (
    12  # origins of the symmetry search scored per run; the right one is often not the first
)
BATCH = 3  # runs flipped before the best of them is handed out, when one of them is convincing:
CONVINCING_MERIT = (
    0.40  # right maps scored 0.27-0.45 on simulated and real data, wrong ones 0.42-0.70
)
SCORE_CYCLES = (
    5  # flipping cycles from a symmetrised map that measure how well it holds (its figure of merit)
)


# a new atom's starting Uiso when the data give none (SHELX's); the Wilson estimate is kept within
# WILSON_U, what ordered non-H atoms refine to from cold to warm crystals
DEFAULT_U = 0.05
WILSON_U = (0.01, 0.08)
WILSON_BINS = 10


@dataclass(frozen=True)
class FlipSettings:
    """One charge-flipping run's choices: quasi-normalised amplitudes give sharper maps but fail
    on sparse shells; delta (as a multiple of the map's sigma) and the share of weak reflections
    whose phases are pushed decide which of several local solutions the run falls into."""

    normalise: bool = True
    delta_over_sigma: float = 1.1  # smtbx's default
    weak_fraction: float = 0.2  # smtbx's default
    # a fixed count: smtbx's skewness test declares the phase transition after a few dozen cycles,
    # while the map is still far from converged (half the atoms wrong on ordered 0.8 Å data)
    iterations: int = 500

    def describe(self) -> str:
        return (
            f"{'normalised' if self.normalise else 'plain'} |F|, delta {self.delta_over_sigma:g} "
            "sigma, "
            f"weak reflections {self.weak_fraction:g}, {self.iterations} cycles"
        )


# each run with its own random phases; solutions() runs them BATCH at a time until one is
# convincing and hands out what it has, best figure of merit first: the job goes on to the next
# while the structure a run gives stays incomplete (pipeline.solve_job)
# (delta 1.3 sigma with 30 % weak reflections converged to a wrong map on nearly every structure
# tried)
RUNS = (
    FlipSettings(),
    FlipSettings(True, 1.0, 0.2, 1000),
    FlipSettings(normalise=False),
    FlipSettings(True, 0.9, 0.2),
    FlipSettings(True, 1.1, 0.1),
    FlipSettings(True, 1.2, 0.2, 1000),
)


@dataclass
class Solution:
    structure: Structure  # the input cell/symmetry/SFAC with peaks as sites
    attempts: int
    n_reflections: int
    d_min: float
    completeness: float  # of the unique reflections to d_min, 0..1
    settings: FlipSettings = FlipSettings()
    figure_of_merit: float = (
        1.0  # flipping R of the symmetrised map (score_origin), lower is better
    )

    def completeness_note(self) -> str | None:
        """What to expect from incomplete data, or None when they are complete enough."""
        incomplete = _incompleteness(self.completeness, self.d_min)
        return f"{incomplete}: expect missing atoms" if incomplete else None


def _incompleteness(completeness: float, d_min: float) -> str | None:
    return (
        f"the data are only {100 * completeness:.0f} % complete to {d_min:.2f} Å"
        if completeness < LOW_COMPLETENESS
        else None
    )


def merged_intensities(structure: Structure, reflections) -> miller.array:
    """Symmetry-merged, non-anomalous Fo² as a cctbx array (what both solve and refine start
    from). Twinned data are detwinned by the calculated ratio of `structure`'s atoms
    (twin.detwinned), as Olex2's maps of twinned data read them: every map, and every
    comparison of one domain's Fc with Fo², then reads one domain's intensities."""
    from crystalx_core.crystallography.twin import detwinned

    reflections = detwinned(structure, reflections)
    reflections = getattr(reflections, "laue", None) or reflections  # merged so already
    i_obs = reflections.to_miller_array(structure.cell, structure.symops)
    return i_obs.eliminate_sys_absent().as_non_anomalous_array().merge_equivalents().array()


def data_r_sigma(structure: Structure, reflections) -> float:
    """The data's own noise as an R factor on F: half of Σσ(Fo²)/ΣFo² over the merged data
    (σ(F) ≈ σ(F²)/2F), the R1 a perfect model would reach."""
    i_obs = merged_intensities(structure, reflections)
    total = flex.sum(flex.abs(i_obs.data()))
    return float(flex.sum(i_obs.sigmas()) / total / 2) if total > 0 else 0.0


def wilson_u(structure: Structure, reflections) -> float:
    """The data's overall Uiso (B / 8π² of a Wilson plot), where a new model's atoms start
    refining: started at 0.05 Å² on data of a cold crystal (0.03 Å²), least squares found no
    step that lowered a half-right model's objective and left it unrefined (R1 0.40 where
    the same atoms started at 0.03 Å² refine to 0.13)."""
    f_obs = merged_intensities(structure, reflections).f_sq_as_f()
    try:
        f_obs.setup_binner(n_bins=WILSON_BINS)
        b = statistics.wilson_plot(f_obs, structure.asymmetric_unit_contents(True)).wilson_b
    except (AssertionError, RuntimeError, ValueError, ZeroDivisionError, KeyError):
        return DEFAULT_U  # too few reflections or shells for a plot
    u = b / (8 * math.pi**2)
    return min(max(u, WILSON_U[0]), WILSON_U[1]) if math.isfinite(u) else DEFAULT_U


def solve(
    structure: Structure, reflections, seed: int = 1, max_attempts: int = len(RUNS)
) -> Solution:
    """The first charge-flipping solution (solutions()), or a SolveError."""
    return next(solutions(structure, reflections, seed, max_attempts))


def solutions(
    structure: Structure,
    reflections,
    seed: int = 1,
    max_attempts: int = len(RUNS),
    first: int = 1,
) -> Iterator[Solution]:
    """Phase the data by charge flipping in P1, place the symmetry, and yield the highest map
    peaks of each run as Q-peaks, best figure of merit first among the runs flipped so far
    (BATCH at a time until one is convincing); runs follow RUNS (fresh random phases each),
    numbered from `first` (a later round's runs have phases of their own).
    A SolveError when no run's map showed the space group's symmetry.
    """
    i_obs = merged_intensities(structure, reflections)
    if i_obs.size() < 10:
        raise SolveError(
            f"only {i_obs.size()} unique reflections: too few to solve{reflections.short_of()}",
            reflections.path,
        )
    d_min = max(i_obs.d_min(), SOLVE_RESOLUTION)
    f_obs = i_obs.resolution_filter(d_min=d_min).f_sq_as_f()
    completeness = f_obs.completeness()
    if completeness < MIN_COMPLETENESS:
        raise SolveError(
            f"{_incompleteness(completeness, d_min)}: too few to solve by charge flipping "
            f"(it needs {100 * MIN_COMPLETENESS:.0f} % or more)",
            reflections.path,
        )
    expected = sum(structure.asymmetric_unit_contents().values())
    if expected <= 0:
        raise SolveError("UNIT gives no non-hydrogen atoms to look for", structure.source)

    found, gathered = 0, []
    for attempt in range(first, first + max_attempts):
        settings = RUNS[(attempt - 1) % len(RUNS)]
        flipped = _flip(f_obs, settings, seed + attempt)
        if flipped is not None:
            gathered.append((flipped[1], attempt, settings, flipped[0]))
        last = attempt == first + max_attempts - 1
        convincing = any(run[0] <= CONVINCING_MERIT for run in gathered)
        if not (last or ((attempt - first + 1) % BATCH == 0 and convincing)):
            continue
        for merit, attempt_kept, settings_kept, f_calc in sorted(gathered, key=lambda run: run[:2]):
            peaks = _peaks(f_calc, max_peaks=int(expected * PEAK_SURPLUS) + 5)
            if peaks:
                found += 1
                yield Solution(
                    structure.with_sites(peaks),
                    attempt_kept,
                    f_obs.size(),
                    d_min,
                    completeness,
                    settings_kept,
                    merit,
                )
        gathered = []
    if not found:
        incomplete = _incompleteness(completeness, d_min)
        raise SolveError(
            f"charge flipping found no solution in {max_attempts} "
            f"attempt{'s' * (max_attempts != 1)}" + (f" ({incomplete})" if incomplete else ""),
            reflections.path,
        )


def _flip(f_obs: miller.array, settings: FlipSettings, seed: int):
    """One charge-flipping run in P1 (weak-reflection variant) from random phases, then the
    symmetry's origin placed: (structure factors in the space group, their figure of merit),
    or None when no origin fits the map."""
    flex.set_random_seed(seed)
    p1 = f_obs.expand_to_p1().merge_equivalents().array().discard_sigmas()
    normalisations = None
    if settings.normalise:
        try:
            normalisations = charge_flipping.amplitude_quasi_normalisations(p1)
        except (AssertionError, RuntimeError, ZeroDivisionError):
            pass  # quasi-normalisation fails on sparse shells: flip plain |F| instead
    amplitudes = p1 / normalisations.data() if normalisations is not None else p1
    try:
        flipping = charge_flipping.weak_reflection_improved_iterator(
            delta=None, weak_reflection_fraction=settings.weak_fraction
        )
        flipping.start(amplitudes, 2 * math.pi * flex.random_double(amplitudes.size()))
        for cycle in range(settings.iterations):
            if cycle < DELTA_CYCLES:
                flipping.delta = settings.delta_over_sigma * flipping.rho_map.sigma()
            next(flipping)
        if normalisations is not None:
            flipping.denormalise(normalisations)
            for _ in range(DENORMALISED_CYCLES):
                next(flipping)
        origins = charge_flipping.f_calc_symmetrisations(f_obs, flipping.f_calc, MIN_ORIGIN_CC)
        scored = [
            (score_origin(f_sym, p1), k, f_sym)
            for k, (f_sym, _, _) in enumerate(itertools.islice(origins, ORIGIN_CANDIDATES))
        ]
    except (AssertionError, RuntimeError, ValueError, ZeroDivisionError):
        # a run cctbx cannot carry through (no common reflections, a singular map): try the next
        return None
    if not scored:
        return None
    merit, _, f_calc = min(scored, key=lambda score: score[:2])
    return f_calc, merit


def score_origin(f_sym: miller.array, p1: miller.array) -> float:
    """Flipping R after a few cycles from a symmetrised map: the map at the right origin is a
    fixed point of charge flipping (R stays low), one at a wrong origin is not. It tells the
    right origin where smtbx's correlation (0.95-0.99 for all of them) does not."""
    phases = f_sym.expand_to_p1().map_to_asu()
    phases, amplitudes = phases.common_sets(p1)
    usual = FlipSettings()  # one yardstick for every run, whatever its own settings
    flipping = charge_flipping.weak_reflection_improved_iterator(
        delta=None, weak_reflection_fraction=usual.weak_fraction
    )
    flipping.start(amplitudes, flex.arg(phases.data()))
    flipping.delta = usual.delta_over_sigma * flipping.rho_map.sigma()
    for _ in range(SCORE_CYCLES):
        next(flipping)
    return float(flipping.r1_factor())


def _peaks(f_calc: miller.array, max_peaks: int) -> list[Site]:
    fft_map = f_calc.fft_map(
        symmetry_flags=maptbx.use_space_group_symmetry, resolution_factor=1 / 3
    )
    fft_map.apply_volume_scaling()
    return peak_sites(fft_map, max_peaks)


def peak_sites(fft_map, max_peaks: int) -> list[Site]:
    """The highest peaks of a map as Q-peaks, Q1 the highest: one per symmetry-equivalent set,
    interpolated between grid points, at least 0.8 Å apart (solutions and Fo − Fc maps alike)."""
    params = maptbx.peak_search_parameters(
        interpolate=True, min_distance_sym_equiv=0.5, min_cross_distance=0.8, max_clusters=max_peaks
    )
    found = fft_map.peak_search(params, verify_symmetry=False).all()
    return [
        Site(
            label=f"Q{i + 1}",
            element=None,
            frac=tuple(float(v) for v in xyz),
            peak_height=float(height),
        )
        for i, (xyz, height) in enumerate(zip(found.sites(), found.heights()))
    ]
