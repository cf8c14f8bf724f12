"""Fo − Fc difference density: where the model still lacks electrons, e.g. its H atoms.

SHELXL turns rotating groups (HFIX 137/147) to the best circular difference-Fourier peak
before it refines them; riding.py does the same with the density this module provides.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cctbx import maptbx

from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.crystallography.solve import merged_intensities
from crystalx_core.structure import Structure

GRID_STEP = 1 / 4  # of d_min: fine enough for trilinear interpolation near an H peak


@dataclass
class DifferenceDensity:
    """Fo − Fc in e Å⁻³ on a grid over the unit cell; call it with Cartesian points (k, 3)."""

    grid: np.ndarray  # (nx, ny, nz)
    deorthogonalisation: np.ndarray  # Cartesian → fractional
    rms: float

    def __call__(self, points: np.ndarray) -> np.ndarray:
        frac = np.atleast_2d(np.asarray(points, dtype=float)) @ self.deorthogonalisation.T
        shape = np.array(self.grid.shape)
        g = frac * shape
        base = np.floor(g).astype(int)
        t = g - base
        value = np.zeros(len(g))
        for corner in np.ndindex(2, 2, 2):
            weight = np.prod(np.where(corner, t, 1.0 - t), axis=1)
            i, j, k = ((base + corner) % shape).T
            value += weight * self.grid[i, j, k]
        return value


def difference_density(structure: Structure, reflections) -> DifferenceDensity:
    """Fo − Fc map of the (refined) model, Fo put on the model's scale, model phases."""
    f_obs = merged_intensities(structure, reflections).f_sq_as_f()
    xs = to_xray_structure(structure.with_sites(structure.atoms))
    f_calc = f_obs.structure_factors_from_scatterers(xs, algorithm="fft").f_calc()
    f_obs, f_calc = f_obs.common_sets(f_calc)
    scale = f_obs.scale_factor(f_calc)  # k with |Fo| ≈ k |Fc|
    amplitudes = f_obs.data() / scale - f_calc.amplitudes().data()
    coefficients = f_calc.customized_copy(data=amplitudes).phase_transfer(f_calc)
    fft_map = coefficients.fft_map(symmetry_flags=maptbx.use_space_group_symmetry,
                                   resolution_factor=GRID_STEP)
    fft_map.apply_volume_scaling()
    grid = fft_map.real_map_unpadded().as_numpy_array()
    return DifferenceDensity(grid=grid, deorthogonalisation=np.linalg.inv(structure.orthogonalisation),
                             rms=float(grid.std()))
