"""Reflections of another crystal (a wrong .hkl beside the .res, or named by mistake) stop the
job before any work, in one line naming both files, the input untouched; the benchmark's own
pairs pass. The checks are facts of diffraction (International Tables for Crystallography
Vol. A, reflection conditions; Bragg's law, sin θ = λ/2d <= 1), as SHELXL's listing reports
systematic-absence violations ('n Systematic absence violations')."""

import shutil

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest

from crystalx_core.errors import InputError
from crystalx_core.io import load
from crystalx_core.io.hkl import read_hkl
from crystalx_core.io.pairing import pairing_problem
from tests.conftest import BENCHMARK


@pytest.mark.parametrize("entry", ["N2_thpp", "XH_urea", "N2_epoxide", "XH_alanine"])
def test_a_structures_own_reflections_pass(shared_data, entry):
    structure = load(BENCHMARK / entry / "model.cif").structure
    assert pairing_problem(structure, read_hkl(BENCHMARK / entry / "data.hkl")) is None


@pytest.mark.parametrize(
    "model, data, why",
    [
        ("N2_epoxide", "XH_urea", "beyond d = λ/2"),  # indices too high for this cell
        ("N2_thpp", "XH_alanine", "space group extinguishes are strong"),  # P21/n absences
        ("XH_xylitol", "XH_urea", "after the first refinement"),  # passes both: R1 0.56
    ],
)
def test_another_crystals_reflections_stop_the_job_naming_both_files(
    shared_data, tmp_path, capsys, model, data, why
):
    model, data = BENCHMARK / model / "model.cif", BENCHMARK / data / "data.hkl"
    assert why in _one_line_naming_both(tmp_path, capsys, "assign", model, data)


def test_an_audit_against_another_crystals_reflections_writes_no_verdict(
    shared_data, tmp_path, capsys
):
    """N2_epoxide's data pass io.pairing for XH_alanine's model but refine it to R1 0.60: an
    audit's 'all atoms agree' would mean nothing, so it stops in one line naming both files."""
    model, data = BENCHMARK / "XH_alanine" / "published.res", BENCHMARK / "N2_epoxide" / "data.hkl"
    assert "published model" in _one_line_naming_both(tmp_path, capsys, "audit", model, data)


def _one_line_naming_both(tmp_path, capsys, command: str, model, data) -> str:
    """`command` on copies x.<model's suffix> and x.hkl: exit 2 and one line naming both files,
    nothing written; the line."""
    from crystalx_core.cli import main

    target, hkl = tmp_path / f"x{model.suffix}", tmp_path / "x.hkl"
    shutil.copy(model, target)
    shutil.copy(data, hkl)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    argv = [command, str(target), "--hkl", str(hkl), "--method", "baseline", "--hydrogens"]
    assert main(argv + ["rules", "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert str(target) in error and str(hkl) in error, error
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    return error


def test_a_cu_wavelength_given_for_mo_data_says_what_the_data_need(shared_data, tmp_path):
    """XH_alanine was measured with Mo Kα to d = 0.463 Å; with Cu Kα (1.54184 Å) in CELL most
    reflections lie past d = λ/2, and the message gives the wavelength the data need."""
    res = (BENCHMARK / "XH_alanine" / "published.res").read_text()
    (tmp_path / "x.res").write_text(res.replace("CELL  0.71073", "CELL  1.54184"))
    loaded = load(tmp_path / "x.res")
    with pytest.raises(InputError) as error:
        loaded.read(BENCHMARK / "XH_alanine" / "data.hkl")
    message = error.value.one_line()
    assert "d = λ/2 = 0.7709 Å (λ = 1.54184 Å)" in message
    assert "needs λ <= 0.9259 Å" in message
