"""Powder patterns from a structure: Bragg sticks from cctbx structure factors, then peak
profiles on the fixed 2θ grid the space-group models read, with the augmentations that make
a simulated pattern look measured (zero shift, background, counting noise, broadening).

Intensity of a reflection class: I = m |F|² (1 + cos² 2θ) / (sin² θ cos θ), with m its
multiplicity (Friedel pairs merged) and the Lorentz-polarisation factor of an unpolarised
Bragg–Brentano diffractometer without monochromator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cctbx import miller

from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.errors import CrystalXError
from crystalx_core.structure import Structure

CU_KALPHA = 1.5406  # Å, Cu Kα1
GRID_START, GRID_STOP, GRID_STEP = 5.0, 90.0, 0.1  # degrees 2θ, as Chemical Sight Net samples
GRID = np.round(np.arange(GRID_START, GRID_STOP, GRID_STEP), 4)
MAX_REFLECTIONS = 200_000  # a 30 Å cubic cell to 90° 2θ has ~60,000 unique reflections


@dataclass
class Sticks:
    """Bragg reflections merged by symmetry: positions (° 2θ), intensities, d, hkl."""

    two_theta: np.ndarray
    intensity: np.ndarray
    d_spacing: np.ndarray
    hkl: list[tuple[int, int, int]]


def bragg_sticks(
    structure: Structure, wavelength: float = CU_KALPHA, two_theta_max: float = GRID_STOP
) -> Sticks:
    """Every symmetry-unique reflection up to `two_theta_max` with its powder intensity."""
    if not structure.atoms:
        raise CrystalXError("no atoms to compute a powder pattern from", structure.source or None)
    return sticks_from_xray(
        to_xray_structure(structure), wavelength, two_theta_max, structure.source
    )


def sticks_from_xray(
    xs,
    wavelength: float = CU_KALPHA,
    two_theta_max: float = GRID_STOP,
    source: str = "",
    algorithm: str = "direct",
    max_reflections: int | None = MAX_REFLECTIONS,
) -> Sticks:
    """bragg_sticks for a cctbx xray.structure (the training generators build those directly;
    the P1 cells of real MOFs, thousands of atoms, need the "fft" structure factors and no
    limit)."""
    d_min = wavelength / (2 * np.sin(np.radians(two_theta_max) / 2))
    indices = miller.build_set(xs.crystal_symmetry(), anomalous_flag=False, d_min=d_min)
    if max_reflections is not None and indices.size() > max_reflections:
        raise CrystalXError(
            f"{indices.size()} reflections to {two_theta_max:g}° 2θ: at most {max_reflections} "
            "(is the cell right?)",
            source or None,
        )
    if indices.size() == 0:
        return Sticks(np.zeros(0), np.zeros(0), np.zeros(0), [])
    f_calc = indices.structure_factors_from_scatterers(xs, algorithm=algorithm).f_calc()
    two_theta = np.asarray(indices.two_theta(wavelength, deg=True).data())
    theta = np.radians(two_theta) / 2
    lp = (1 + np.cos(2 * theta) ** 2) / (np.sin(theta) ** 2 * np.cos(theta))
    intensity = (
        np.asarray(f_calc.as_intensity_array().data())
        * np.asarray(indices.multiplicities().data())
        * lp
    )
    order = np.argsort(two_theta)
    return Sticks(
        two_theta[order],
        intensity[order],
        np.asarray(indices.d_spacings().data())[order],
        [tuple(h) for h in np.asarray(indices.indices())[order]],
    )


def profile(
    sticks: Sticks,
    grid: np.ndarray = GRID,
    fwhm: float = 0.1,
    eta: float = 0.5,
    caglioti: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """Pseudo-Voigt peaks (Lorentzian fraction `eta`) summed on `grid`, scaled to a maximum of 1.

    `caglioti` (U, V, W) gives the 2θ-dependent width FWHM² = U tan²θ + V tanθ + W instead of
    `fwhm`. Sticks weaker than 1e-5 of the strongest are left out (invisible, and they cost).
    """
    keep = sticks.intensity > 1e-5 * sticks.intensity.max() if len(sticks.intensity) else []
    positions, heights = sticks.two_theta[keep], sticks.intensity[keep]
    if len(positions) == 0:
        return np.zeros_like(grid, dtype=float)
    if caglioti is not None:
        u, v, w = caglioti
        tan = np.tan(np.radians(positions) / 2)
        widths = np.sqrt(np.clip(u * tan**2 + v * tan + w, 1e-6, None))
    else:
        widths = np.full(len(positions), fwhm)
    pattern = np.zeros_like(grid, dtype=float)
    for start in range(0, len(positions), 512):  # bounded memory: 512 × grid at a time
        x = (grid[None, :] - positions[start : start + 512, None]) / (
            widths[start : start + 512, None] / 2
        )
        shape = eta / (1 + x**2) + (1 - eta) * np.exp(-np.log(2) * x**2)
        pattern += heights[start : start + 512] @ shape
    top = pattern.max()
    return pattern / top if top > 0 else pattern


def simulate(
    structure: Structure, wavelength: float = CU_KALPHA, grid: np.ndarray = GRID, **shape
) -> np.ndarray:
    """The noise-free pattern of `structure` on `grid` (maximum 1)."""
    return profile(bragg_sticks(structure, wavelength, float(grid[-1]) + 1.0), grid, **shape)


def measured_like(sticks: Sticks, rng: np.random.Generator, grid: np.ndarray = GRID) -> np.ndarray:
    """One augmented pattern: random zero shift (±0.1°), Caglioti widths, Lorentzian fraction,
    a smooth background and Poisson counting noise at a random count level; maximum 1."""
    shift = rng.uniform(-0.1, 0.1)
    shifted = Sticks(sticks.two_theta + shift, sticks.intensity, sticks.d_spacing, sticks.hkl)
    w = rng.uniform(0.003, 0.03)
    pattern = profile(
        shifted,
        grid,
        eta=rng.uniform(0.1, 0.9),
        caglioti=(rng.uniform(0.0, 0.05), rng.uniform(-0.01, 0.0), w),
    )
    x = (grid - grid[0]) / (grid[-1] - grid[0])
    background = rng.uniform(0, 0.1) * np.exp(-rng.uniform(1, 6) * x) + rng.uniform(0, 0.03)
    counts = 10 ** rng.uniform(2.5, 4.5)
    noisy = rng.poisson((pattern + background) * counts) / counts
    top = noisy.max()
    return noisy / top if top > 0 else noisy


PO_DIRECTIONS = ((0, 0, 1), (0, 1, 0), (1, 0, 0), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1))


def real_sample_effects(
    sticks: Sticks, reciprocal: np.ndarray, rng: np.random.Generator, merge_step: float = 0.02
) -> Sticks:
    """What real powders add to the ideal sticks, each at random: March–Dollase preferred
    orientation (half the patterns; r 0.6–1.0, platelets, along a low-index plane normal) and
    one to three impurity peaks (a third; 1–10 % of the strongest reflection, 5–60° 2θ).
    `sticks` may hold every reflection of a P1 cell (`reciprocal`: the fractionalization
    matrix, so h · it is the Cartesian reciprocal vector); coincident reflections are merged
    on `merge_step` afterwards, which keeps the profile sum short."""
    intensity = sticks.intensity
    hkl = np.asarray(sticks.hkl, dtype=float).reshape(-1, 3)
    if rng.random() < 0.5 and len(hkl):
        vectors = hkl @ reciprocal
        axis = np.asarray(PO_DIRECTIONS[rng.integers(len(PO_DIRECTIONS))], dtype=float) @ reciprocal
        cos = (
            vectors
            @ axis
            / np.maximum(np.linalg.norm(vectors, axis=1) * np.linalg.norm(axis), 1e-12)
        )
        r = rng.uniform(0.6, 1.0)
        intensity = intensity * (r**2 * cos**2 + (1 - cos**2) / r) ** -1.5
    two_theta = sticks.two_theta
    if rng.random() < 1 / 3 and len(intensity):
        extra = rng.integers(1, 4)
        two_theta = np.concatenate([two_theta, rng.uniform(5, 60, extra)])
        intensity = np.concatenate([intensity, rng.uniform(0.01, 0.1, extra) * intensity.max()])
    bins = np.round(two_theta / merge_step).astype(np.int64)
    unique, inverse = np.unique(bins, return_inverse=True)
    merged = np.bincount(inverse, weights=intensity)
    positions = unique * merge_step
    return Sticks(
        positions, merged, CU_KALPHA / (2 * np.sin(np.radians(positions) / 2)), []
    )  # merged: no hkl
