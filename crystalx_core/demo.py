"""The embedded default job: sucrose (a model shipped inside cctbx), realistic simulated data,
then solve → assign → refine exactly as for a user's .ins + .hkl."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from cctbx import miller
from smtbx import development

from crystalx_core.crystallography.compare import Match, match_sites
from crystalx_core.crystallography.convert import from_xray_structure
from crystalx_core.structure import Structure

if TYPE_CHECKING:
    from crystalx_core.io import Loaded
    from crystalx_core.pipeline import JobResult

D_MIN = 0.77  # Å, Mo Kα data to sin θ/λ = 0.65, a typical small-molecule experiment
WAVELENGTH = 0.71073
STRONGEST = 9999.0  # scale so the strongest reflection fits SHELX's F8.2 field comfortably
SEED = 20250101


def demo_model():
    """The reference sucrose model with H, as an xray.structure."""
    xs = development.sucrose()
    xs.set_inelastic_form_factors(WAVELENGTH, "sasaki")
    return xs


def simulate_reflections(xs, d_min: float = D_MIN, seed: int = SEED, strongest: float = STRONGEST):
    """Fo² with counting-statistics noise (σ² = I + (0.015·I)² + 4), as an area detector gives;
    `strongest` is the count of the strongest reflection (longer exposures, better statistics)."""
    f_calc = (
        miller.build_set(xs, anomalous_flag=True, d_min=d_min)
        .structure_factors_from_scatterers(xs, algorithm="direct")
        .f_calc()
    )
    intensities = np.array(f_calc.as_intensity_array().data())
    intensities *= strongest / intensities.max()
    sigmas = np.sqrt(intensities.clip(0) + (0.015 * intensities) ** 2 + 4.0)
    rng = np.random.default_rng(seed)
    observed = intensities + rng.normal(0.0, sigmas)
    indices = np.array(f_calc.indices(), dtype=int)
    return indices, observed, sigmas


def write_demo_inputs(directory):
    """demo.ins (cell, symmetry and formula only, as data reduction gives) and demo.hkl."""
    from crystalx_core.io.hkl import hkl_text
    from crystalx_core.io.shelx_write import new_ins_text
    from crystalx_core.outputs import write_outputs

    xs = demo_model()
    reference = from_xray_structure(
        xs,
        sfac=["C", "H", "O"],
        wavelength=WAVELENGTH,
        title="sucrose demo (model from cctbx, simulated data)",
    )
    indices, observed, sigmas = simulate_reflections(xs)
    ins_path, hkl_path = directory / "demo.ins", directory / "demo.hkl"
    write_outputs(
        {
            ins_path: new_ins_text(reference.with_sites([])),
            hkl_path: hkl_text(indices, observed, sigmas),
        }
    )
    return reference, ins_path, hkl_path


@dataclass
class DemoRun:
    reference: Structure  # the true model the data were simulated from
    inputs: list[Path]  # demo.ins, demo.hkl
    loaded: Loaded  # demo.ins as read
    result: JobResult
    match: Match  # the solved structure against the reference


def run_demo(
    directory: Path,
    method: str = "auto",
    cycles: int = 10,
    hydrogens: str = "auto",
    progress: Callable[[str], None] = lambda stage: None,
) -> DemoRun:
    """Write the inputs into `directory`, run the solve job on them as `crystalx solve` does,
    and compare the answer with the truth. `directory` is made by write_outputs, so a folder that
    cannot be made is an OutputError (exit 73) as for every other job's outputs."""
    from crystalx_core.io import load
    from crystalx_core.io.hkl import read_hkl
    from crystalx_core.pipeline import solve_job

    reference, ins_path, hkl_path = write_demo_inputs(directory)
    loaded = load(ins_path)
    result = solve_job(loaded.structure, read_hkl(hkl_path), method, cycles, progress, hydrogens)
    return DemoRun(
        reference, [ins_path, hkl_path], loaded, result, match_sites(reference, result.structure)
    )
