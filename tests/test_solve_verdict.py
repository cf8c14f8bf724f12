"""A wrong solution is never reported as a success: the verdict on the final R1, the exit
code and the JSON, and structure completion from the difference map."""

import json
from dataclasses import replace

import pytest

from crystalx_core.cli import EXIT_POOR, main
from crystalx_core.completion import complete
from crystalx_core.crystallography.compare import match_sites
from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.demo import simulate_reflections
from crystalx_core.elements import is_hydrogen
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import Reflections, hkl_text
from crystalx_core.io.shelx_write import new_ins_text
from crystalx_core.crystallography.solve import RUNS
from crystalx_core.pipeline import POOR_R1, UNSOLVED_R1, solve_job, verdict

from .conftest import BENCHMARK

P21212 = [
    "x,y,z",
    "-x,-y,z",
    "-x+1/2,y+1/2,-z",
    "x+1/2,-y+1/2,-z",
]  # one screw axis short of the truth


def test_verdict_on_the_final_r1():
    assert verdict(0.21, 0.10) and f"{POOR_R1:.2f}" in verdict(0.21, 0.10)
    assert verdict(0.12, 0.01) and "Rsigma" in verdict(0.12, 0.01)  # far above what the data allow
    assert verdict(0.12, 0.05) is None  # weak data: R1 0.12 is what they give
    assert verdict(0.04, 0.01) is None


@pytest.fixture(scope="module")
def alanine(shared_data):
    """Published L-alanine (P2₁2₁2₁, 6 non-H atoms) and Fo² simulated from it to 0.9 Å."""
    truth = read_cif(BENCHMARK / "XH_alanine" / "model.cif").structure
    indices, observed, sigmas = simulate_reflections(to_xray_structure(truth), 0.9, 7)
    return (
        truth,
        Reflections(indices, observed, sigmas, None, "alanine.hkl"),
        (indices, observed, sigmas),
    )


def test_a_wrong_space_group_ends_as_no_solution_with_its_own_exit_code(alanine, tmp_path, capsys):
    """Data of a P2₁2₁2₁ crystal claimed to be P2₁2₁2: charge flipping "solves" it, but every
    run refines to nonsense, and the job must say so."""
    truth, _, arrays = alanine
    start = truth.with_sites([])
    start.symops = P21212
    (tmp_path / "ala.ins").write_text(new_ins_text(start))
    (tmp_path / "ala.hkl").write_text(hkl_text(*arrays))
    assert (
        main(["solve", str(tmp_path / "ala.ins"), str(tmp_path / "ala.hkl"), "--json"]) == EXIT_POOR
    )
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["success"] is False and report["refinement"]["r1"] > 0.10
    assert report["failure"].startswith(f"final R1 {report['refinement']['r1']:.4f} is over")
    assert f"crystalx: no solution: {tmp_path / 'ala.ins'}: final R1" in captured.err
    assert "check SFAC/UNIT (the elements), CELL and LATT/SYMM" in captured.err
    runs = report["solution"]["runs"]
    first = [run for run in runs if run["attempt"] <= len(RUNS)]
    assert len(first) == 3 and len({run["settings"] for run in first}) == 3  # other settings
    # every run of the first round unsolved: a second round, phases of its own (ROUNDS)
    unsolved = all(run["r1_isotropic"] > UNSOLVED_R1 for run in first)
    assert len(runs) == (6 if unsolved else 3)
    assert report["solution"]["attempts"] in [run["attempt"] for run in runs]
    kept = [cycle for cycle in report["solution"]["completion_cycles"] if cycle["kept"]]
    assert (
        min(run["r1_isotropic"] for run in runs) == kept[-1]["r1_isotropic"]
    )  # the best run is the one kept
    assert any(
        note.startswith(f"charge flipping: {len(runs)} solutions completed")
        for note in report["notes"]
    )


def test_halved_unit_is_never_a_false_success(alanine):
    """UNIT says half the atoms there are: either the job finds the whole structure anyway
    (then it is a solution) or it must not call what it found one."""
    truth, reflections, _ = alanine
    start = truth.with_sites([])
    start.unit = [n / 2 for n in truth.unit]
    result = solve_job(start, reflections, "model")
    match = match_sites(truth, result.structure)
    right = match.n_found == match.n_reference and result.final.r1 < 0.10
    assert (result.failure is None) == right, (result.failure, match.n_found, result.final.r1)


def test_completion_adds_the_atoms_a_solution_missed(alanine):
    """Three of alanine's six non-H atoms left out of the peak list: the difference map of the
    refined half model shows them, and the cycles put them back while R1 drops."""
    truth, reflections, _ = alanine
    heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
    peaks = truth.with_sites(
        [
            replace(s, element=None, label=f"Q{k + 1}", peak_height=10.0, u_aniso=None)
            for k, s in enumerate(heavy[:3])
        ]
    )
    completion = complete(peaks, reflections, "model", 10)
    assert match_sites(truth, completion.stage.refined.structure).n_found == len(heavy)
    assert sum(c.added for c in completion.cycles[1:] if c.kept) >= 3
    assert completion.cycles[-1].r1 < completion.cycles[0].r1 or not completion.cycles[-1].kept
    assert (
        "structure completion from the difference map: first assignment 3 atoms"
        in completion.note()
    )
