"""The embedded default job: sucrose (a model shipped inside cctbx), realistic simulated data,
then solve → assign → refine exactly as for a user's .ins + .hkl."""
from __future__ import annotations

import numpy as np
from cctbx import miller
from smtbx import development

from crystalx_core.crystallography.compare import match_sites
from crystalx_core.crystallography.convert import from_xray_structure

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
    f_calc = miller.build_set(xs, anomalous_flag=True, d_min=d_min) \
        .structure_factors_from_scatterers(xs, algorithm="direct").f_calc()
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
    from crystalx_core.io.shelx import new_ins_text
    from crystalx_core.outputs import write_outputs

    xs = demo_model()
    reference = from_xray_structure(xs, sfac=["C", "H", "O"], wavelength=WAVELENGTH,
                                    title="sucrose demo (model from cctbx, simulated data)")
    indices, observed, sigmas = simulate_reflections(xs)
    ins_path, hkl_path = directory / "demo.ins", directory / "demo.hkl"
    write_outputs({ins_path: new_ins_text(reference.with_sites([])),
                   hkl_path: hkl_text(indices, observed, sigmas)})
    return reference, ins_path, hkl_path


def run_demo(args, finish, progress_context) -> int:
    """Called by `crystalx demo`: build inputs, run the solve job, say how it compares with the truth."""
    from crystalx_core.io.hkl import read_hkl
    from crystalx_core.io.shelx import read_shelx
    from crystalx_core.pipeline import solve_job

    args.dir.mkdir(parents=True, exist_ok=True)
    reference, ins_path, hkl_path = write_demo_inputs(args.dir)
    if not args.json:
        print(f"demo: sucrose C12H22O11, P2(1); simulated Mo Kα data to {D_MIN} Å with noise")
        print(f"      inputs written to {ins_path} and {hkl_path} (cell, symmetry and formula only)")
    shelx = read_shelx(ins_path)
    with progress_context(args) as progress:
        result = solve_job(shelx.to_structure(), read_hkl(hkl_path), args.method, args.cycles, progress,
                           args.hydrogens)
    code = finish(args, result, ins_path, [ins_path, hkl_path], shelx)
    if not args.json:
        match = match_sites(reference, result.structure)
        print(f"against the true model: {match.n_found}/{match.n_reference} non-H atoms found within 0.5 Å, "
              f"{match.n_right_element} with the right element, rms {match.rms:.3f} Å")
    return code
