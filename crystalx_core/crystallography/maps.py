"""Electron-density maps phased by a model: Fo − Fc (where the model still lacks electrons,
e.g. its H atoms) and Fo (how much density each atom really has).

SHELXL turns rotating groups (HFIX 137/147) to the best circular difference-Fourier peak
before it refines them; riding.py does the same with the difference density. The Fo map
gives the peak heights an audit of a published model reads its elements from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cctbx import maptbx

from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.crystallography.solve import merged_intensities, peak_sites
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import RefinementError
from crystalx_core.geometry import neighbours
from crystalx_core.structure import Site, Structure

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


def observed_amplitudes(structure: Structure, reflections):
    """|Fo| of the merged reflections; a map needs some with intensity (all absent, or all
    zero or negative, once crashed cctbx's gridding)."""
    f_sq = merged_intensities(structure, reflections)
    if not f_sq.size() or max(f_sq.data()) <= 0:
        raise RefinementError(
            "no map can be computed: no reflection left with a positive intensity "
            "(all systematically absent, zero or negative)",
            getattr(reflections, "path", "") or structure.source,
        )
    return f_sq.f_sq_as_f()


def difference_density(
    structure: Structure, reflections, extinction: float | None = None
) -> DifferenceDensity:
    """Fo − Fc map of the (refined) model, Fo put on the model's scale, model phases; Fc
    with SHELXL's extinction `extinction` (EXTI) where given."""
    fft_map = _difference_map(structure, reflections, GRID_STEP, extinction)
    grid = fft_map.real_map_unpadded().as_numpy_array()
    return DifferenceDensity(
        grid=grid,
        deorthogonalisation=np.linalg.inv(structure.orthogonalisation),
        rms=float(grid.std()),
    )


def _difference_map(
    structure: Structure, reflections, resolution_factor: float, extinction: float | None = None
):
    f_obs = observed_amplitudes(structure, reflections)
    xs = to_xray_structure(structure.with_sites(structure.atoms))
    f_calc = f_obs.structure_factors_from_scatterers(xs, algorithm="fft").f_calc()
    f_obs, f_calc = f_obs.common_sets(f_calc)
    if extinction is not None:
        f_calc = _with_extinction(structure, f_calc, extinction)
    scale = f_obs.scale_factor(f_calc)  # k with |Fo| ≈ k |Fc|
    amplitudes = f_obs.data() / scale - f_calc.amplitudes().data()
    coefficients = f_calc.customized_copy(data=amplitudes).phase_transfer(f_calc)
    fft_map = coefficients.fft_map(
        symmetry_flags=maptbx.use_space_group_symmetry, resolution_factor=resolution_factor
    )
    fft_map.apply_volume_scaling()
    return fft_map


def _with_extinction(structure: Structure, f_calc, value: float):
    """Fc as SHELXL's EXTI scales them: its correction multiplies Fc² (cctbx xray/extinction.h,
    shelx_extinction_correction.compute, the one the refinement fitted), so Fc by its root."""
    from cctbx.array_family import flex

    from crystalx_core.crystallography.weights import extinction_correction

    correction = extinction_correction(structure, value)
    fc_sq = flex.norm(f_calc.data())
    factors = flex.double(
        [correction.compute(h, fc, False)[0] for h, fc in zip(f_calc.indices(), fc_sq)]
    )
    return f_calc.customized_copy(data=f_calc.data() * flex.sqrt(factors))


def difference_peaks(structure: Structure, reflections, max_peaks: int) -> tuple[list[Site], float]:
    """The highest Fo − Fc peaks of a refined model as Q-peaks (heights in e Å⁻³), highest
    first, and the map's rms: where the model still lacks atoms."""
    fft_map = _difference_map(structure, reflections, 1 / 3)
    rms = float(fft_map.real_map_unpadded().as_numpy_array().std())
    return peak_sites(fft_map, max_peaks), rms


@dataclass
class Residual:
    """The extremes of the final difference map, as SHELXL reports them (_refine_diff_density_*)."""

    peak: float  # e Å⁻³, the highest point
    hole: float  # e Å⁻³, the deepest (negative)
    rms: float
    peak_near: str  # the atom nearest the highest point, with the distance ("" in an empty model)

    def line(self) -> str:
        near = f" ({self.peak_near})" if self.peak_near else ""
        return (
            f"largest difference peak {self.peak:.2f} e Å⁻³{near}, deepest hole {self.hole:.2f} e "
            "Å⁻³, "
            f"rms {self.rms:.2f} e Å⁻³"
        )


def residual_density(
    structure: Structure, reflections, extinction: float | None = None
) -> Residual:
    """Highest peak, deepest hole and rms of the Fo − Fc map of a refined model (H included):
    a peak well above the rest points at a missing atom or one given too light an element.
    `extinction`: the refined EXTI, applied to Fc as the refinement fitted them."""
    density = difference_density(structure, reflections, extinction)
    grid = density.grid
    top = np.unravel_index(int(np.argmax(grid)), grid.shape)
    frac = np.array(top, dtype=float) / np.array(grid.shape)
    return Residual(
        peak=float(grid.max()),
        hole=float(grid.min()),
        rms=density.rms,
        peak_near=_nearest_atom(structure, frac),
    )


def _nearest_atom(structure: Structure, frac: np.ndarray) -> str:
    atoms = structure.atoms
    if not atoms:
        return ""
    probe = Site(label="(peak)", element=None, frac=tuple(float(v) for v in frac))
    near = neighbours(
        structure.with_sites([probe, *atoms]), 6.0, centres=[0], include_self_images=False
    )[0]
    near = [c for c in near if c.j > 0]
    if not near:
        return ""
    return f"{near[0].distance:.2f} Å from {atoms[near[0].j - 1].label}"


def fobs_peaks(model: Structure, reflections, extra: list[Site] = ()) -> Structure:
    """The model's non-H atoms as anonymous peaks (Q1, Q2, ... in order), then the `extra`
    positions, with heights read from an Fo map the model phases, as a solver would have found
    them. A disordered model's peaks keep its PART and occupancy: the assignment then reads one
    alternative at a time and counts each site against UNIT by its occupancy, as it reads the
    split model itself (features._within_one_alternative, assign.model.site_weights); without
    them two alternatives 0.1 Å apart looked like two whole atoms in contact, and the formula
    dropped the surplus as 'not an atom' (FC_p21c's CF3 groups)."""
    heavy = [s for s in model.sites if not is_hydrogen(s.element)]
    f_obs = observed_amplitudes(model, reflections)
    f_calc = f_obs.structure_factors_from_scatterers(
        to_xray_structure(model), algorithm="direct"
    ).f_calc()
    fft_map = f_obs.phase_transfer(f_calc).fft_map(
        symmetry_flags=maptbx.use_space_group_symmetry, resolution_factor=1 / 3
    )
    fft_map.apply_volume_scaling()
    density = fft_map.real_map_unpadded()
    # position and height, as a solver's peak list has them, and the model's disorder split;
    # no U, which would give the element away
    return model.with_sites(
        [
            Site(
                label=f"Q{k + 1}",
                element=None,
                frac=site.frac,
                peak_height=float(maptbx.eight_point_interpolation(density, site.frac)),
                occupancy=site.occupancy,
                part=site.part,
            )
            for k, site in enumerate([*heavy, *extra])
        ]
    )
