"""The scale-free pattern axis: the 2θ grid resampled onto a uniform grid in ln d.

On 2θ an isotropic change ε of the cell moves each peak by about -2ε tanθ, a different
amount at every angle; on ln d (d = λ / 2 sinθ) it moves every peak by ln(1 + ε), and the
spacing ratios that name a crystal system (cubic d ∝ 1/√(h²+k²+l²) ...) become fixed
distances. A convolution with global pooling then shares its filters across cell sizes.

The axis runs in the order of the 2θ grid (large d first) over the same range. Each ln d bin
is the mean of the linearly interpolated 2θ pattern across its width (SUBSAMPLES points),
so the high angles, where one bin covers several 2θ steps, are averaged rather than aliased;
one matrix (2θ points × ln d points) does it, which exports to ONNX as a MatMul.
"""

from __future__ import annotations

import numpy as np

from crystalx_core.pxrd.simulate import CU_KALPHA, GRID

SUBSAMPLES = 16  # per bin: finer than one 2θ step at 90° for up to ~3000 bins


def d_spacing(two_theta: np.ndarray, wavelength: float = CU_KALPHA) -> np.ndarray:
    return wavelength / (2 * np.sin(np.radians(np.asarray(two_theta, dtype=float)) / 2))


def log_d_grid(points: int, grid: np.ndarray = GRID, wavelength: float = CU_KALPHA) -> np.ndarray:
    """ln d at each of `points` bin centres, from d at grid[0] down to d at grid[-1]."""
    ends = np.log(d_spacing([grid[0], grid[-1]], wavelength))
    return np.linspace(ends[0], ends[1], points)


def log_d_step(points: int, grid: np.ndarray = GRID, wavelength: float = CU_KALPHA) -> float:
    """The (positive) distance in ln d between neighbouring bins."""
    axis = log_d_grid(points, grid, wavelength)
    return float(axis[0] - axis[1])


def resampling_matrix(
    points: int, grid: np.ndarray = GRID, wavelength: float = CU_KALPHA
) -> np.ndarray:
    """(len(grid), points) float32: pattern_on_grid @ matrix is the pattern on log_d_grid."""
    centres = log_d_grid(points, grid, wavelength)
    step = abs(centres[1] - centres[0]) if points > 1 else 0.0
    offsets = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5
    u = centres[:, None] + step * offsets[None, :]  # (points, SUBSAMPLES) in ln d
    sine = np.clip(wavelength / (2 * np.exp(u)), -1.0, 1.0)
    two_theta = 2 * np.degrees(np.arcsin(sine))
    source = (two_theta - grid[0]) / (grid[1] - grid[0])
    inside = (source >= 0) & (source <= len(grid) - 1)
    low = np.clip(np.floor(source), 0, len(grid) - 2).astype(int)
    weight = np.clip(source - low, 0.0, 1.0)
    counts = np.maximum(inside.sum(axis=1, keepdims=True), 1)
    matrix = np.zeros((len(grid), points))
    columns = np.broadcast_to(np.arange(points)[:, None], u.shape)
    np.add.at(matrix, (low[inside], columns[inside]), ((1 - weight) / counts)[inside])
    np.add.at(matrix, (low[inside] + 1, columns[inside]), (weight / counts)[inside])
    return matrix.astype(np.float32)


def to_log_d(patterns: np.ndarray, points: int = len(GRID)) -> np.ndarray:
    """Patterns on the 2θ GRID (rows) resampled onto `points` ln d bins, maximum 1 each."""
    resampled = np.atleast_2d(patterns) @ resampling_matrix(points)
    return resampled / np.maximum(resampled.max(axis=1, keepdims=True), 1e-6)
