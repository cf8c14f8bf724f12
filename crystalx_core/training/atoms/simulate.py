"""What a solver would hand us for a known structure: Fourier-map peaks with realistic errors.

The map is computed from the true model (H included) with amplitude noise and phase error
at a typical resolution, so peak heights, positional errors, missing atoms and spurious
peaks (H, ripples) follow the same physics as in a charge-flipping solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from cctbx import maptbx, miller
from cctbx.array_family import flex

from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.elements import atomic_number, is_hydrogen
from crystalx_core.geometry import neighbours
from crystalx_core.structure import Site, Structure

MATCH_DISTANCE = 0.5  # Å: a peak this close to a non-H atom stands for it
NOT_AN_ATOM = 0  # target class of a spurious peak


@dataclass
class SimulationSettings:
    d_min: float = 0.85  # Å
    phase_error_deg: float = 25.0  # standard deviation of the phase error
    amplitude_noise: float = 0.05  # relative
    extra_noise: float = 0.0  # Å, additional isotropic coordinate noise on the peaks
    peak_surplus: float = 1.3  # peaks searched per non-H atom

    @classmethod
    def random(cls, rng: np.random.Generator) -> "SimulationSettings":
        return cls(
            d_min=rng.uniform(0.75, 1.0),
            phase_error_deg=rng.uniform(5.0, 40.0),
            amplitude_noise=rng.uniform(0.02, 0.1),
            extra_noise=rng.choice([0.0, 0.0, 0.05, 0.1]),
            peak_surplus=rng.uniform(1.1, 1.5),
        )


@dataclass
class SimulatedPeaks:
    structure: Structure  # peaks as sites (element None) with heights; SFAC/UNIT of the truth
    targets: list[int]  # per peak: atomic number of the atom it stands for, or NOT_AN_ATOM
    n_missing: int  # non-H atoms with no peak within MATCH_DISTANCE


def simulate_peaks(
    truth: Structure, settings: SimulationSettings, rng: np.random.Generator
) -> SimulatedPeaks:
    """Peaks of a noisy, phase-errored map of `truth`, each labelled with what it really is."""
    xs = to_xray_structure(truth)
    f_calc = (
        miller.build_set(xs, anomalous_flag=False, d_min=settings.d_min)
        .structure_factors_from_scatterers(xs, algorithm="fft")
        .f_calc()
    )
    amplitudes = np.abs(np.array(f_calc.data()))
    phases = np.angle(np.array(f_calc.data()))
    amplitudes *= 1.0 + rng.normal(0.0, settings.amplitude_noise, amplitudes.size)
    phases += np.radians(rng.normal(0.0, settings.phase_error_deg, phases.size))
    noisy = f_calc.customized_copy(data=flex.complex_double(amplitudes * np.exp(1j * phases)))
    fft_map = noisy.fft_map(symmetry_flags=maptbx.use_space_group_symmetry, resolution_factor=1 / 3)
    fft_map.apply_volume_scaling()
    heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
    params = maptbx.peak_search_parameters(
        interpolate=True,
        min_distance_sym_equiv=0.5,
        min_cross_distance=0.8,
        max_clusters=int(len(heavy) * settings.peak_surplus) + 3,
    )
    found = fft_map.peak_search(params, verify_symmetry=False).all()
    peaks = []
    for k, (xyz, height) in enumerate(zip(found.sites(), found.heights())):
        frac = np.array(xyz, dtype=float)
        if settings.extra_noise:
            frac = truth.fractional(
                truth.cartesian(frac) + rng.normal(0.0, settings.extra_noise / math.sqrt(3), 3)
            )
        peaks.append(
            Site(label=f"Q{k + 1}", element=None, frac=tuple(frac), peak_height=float(height))
        )
    targets, matched = _label_peaks(truth.with_sites(heavy), peaks)
    structure = truth.with_sites(peaks)
    return SimulatedPeaks(structure, targets, n_missing=len(heavy) - len(matched))


def _label_peaks(atoms: Structure, peaks: list[Site]) -> tuple[list[int], set[int]]:
    """Nearest non-H atom (any symmetry image) within MATCH_DISTANCE of each peak; one peak per
    atom."""
    combined = atoms.with_sites(list(atoms.sites) + peaks)
    n_atoms = len(atoms.sites)
    contacts = neighbours(
        combined, MATCH_DISTANCE, centres=list(range(n_atoms, len(combined.sites)))
    )
    candidates = []
    for k, near in enumerate(contacts):
        for c in near:
            if c.j < n_atoms:
                candidates.append((c.distance, k, c.j))
    targets = [NOT_AN_ATOM] * len(peaks)
    used_peaks, matched = set(), set()
    for _distance, k, j in sorted(candidates):
        if k in used_peaks or j in matched:
            continue
        targets[k] = atomic_number(atoms.sites[j].element)
        used_peaks.add(k)
        matched.add(j)
    return targets, matched
