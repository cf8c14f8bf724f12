"""Calibrated probabilities (temperature in the sidecar) and metals without riding H."""

import json
import shutil

import numpy as np
import pytest

from crystalx_core.assign.model import MODEL_DIR
from crystalx_core.errors import CrystalXError
from crystalx_core.elements import atomic_number
from crystalx_core.io.cif import read_cif
from crystalx_core.riding import add_riding_hydrogens
from crystalx_core.runtime import OnnxModel
from tests.conftest import BENCHMARK, CORPUS

ZINC_COMPLEX = "codtools_1100974-wr-factor.cif"  # C8H10Cl4N4Zn: Zn bonded to N and Cl, H on C and N
shipped = pytest.mark.skipif(
    not (MODEL_DIR / "hydrogen.onnx").is_file(), reason="no shipped models"
)


def _copy_model(tmp_path, name: str, temperature) -> OnnxModel:
    shutil.copy(MODEL_DIR / f"{name}.onnx", tmp_path / f"{name}.onnx")
    sidecar = json.loads((MODEL_DIR / f"{name}.json").read_text())
    sidecar["calibration"] = {"temperature": temperature}
    (tmp_path / f"{name}.json").write_text(json.dumps(sidecar))
    return OnnxModel(tmp_path / f"{name}.onnx")


@shipped
def test_temperature_softens_reported_probabilities_and_keeps_every_answer(shared_data, tmp_path):
    """Both models at T = 3 beside the shipped ones: FC_sucrose's atoms as peaks get the same
    elements and H counts, with softer probabilities, p^(1/3) renormalised."""
    from crystalx_core.assign.model import assign_model, load_model, model_h_counts

    for name in ("heavy", "hydrogen"):
        _copy_model(tmp_path, name, 3.0)
    truth = read_cif(BENCHMARK / "FC_sucrose" / "model.cif").structure
    heavy = truth.with_sites([s for s in truth.sites if s.element != "H"])
    peaks = heavy.with_sites([s.with_element(None, f"Q{k + 1}") for k, s in enumerate(heavy.sites)])
    for peak, atom in zip(peaks.sites, heavy.sites):
        peak.peak_height = float(atomic_number(atom.element))
    plain, hot = assign_model(peaks), assign_model(peaks, model_dir=str(tmp_path))
    assert [s.element for s in plain.sites] == [s.element for s in hot.sites]
    assert np.mean([max(s.element_scores.values()) for s in hot.sites]) < np.mean(
        [max(s.element_scores.values()) for s in plain.sites]
    )
    counts, hot_counts = model_h_counts(heavy), model_h_counts(heavy, model_dir=str(tmp_path))
    assert [n for n, _ in counts] == [n for n, _ in hot_counts]
    model = load_model(str(tmp_path), "hydrogen")
    rows = np.array([[0.64, 0.36, 0.0], [0.2, 0.3, 0.5]])
    cube_roots = np.cbrt(rows) / np.cbrt(rows).sum(axis=1, keepdims=True)
    assert np.allclose(model.calibrated(rows), cube_roots)


@shipped
@pytest.mark.parametrize("temperature", [-1.0, 0.0, "nan", "warm"])
def test_a_bad_temperature_is_a_clear_error(shared_data, tmp_path, temperature):
    with pytest.raises(CrystalXError, match="sidecar"):
        _copy_model(tmp_path, "hydrogen", temperature)


def test_fitted_temperature_calibrates_overconfident_rows():
    """Rows drawn from softmax(logits) but reported at twice the logits: the fit finds T ≈ 2
    and brings the ECE down, without changing a single most likely class."""
    from crystalx_core.runtime import softmax
    from crystalx_core.training.atoms.calibrate import calibrate, reliability

    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, (4000, 5))
    truth = np.array([rng.choice(5, p=p) for p in softmax(logits, 1.0)])
    reported = np.log(softmax(2.0 * logits, 1.0))
    result = calibrate(reported[:2000], truth[:2000], reported[2000:], truth[2000:])
    assert 1.7 < result["temperature"] < 2.3
    assert result["test"]["after"]["ece"] < 0.5 * result["test"]["before"]["ece"]
    perfect = reliability(np.eye(3)[[0, 1, 2]], np.array([0, 1, 2]))
    assert perfect["ece"] == 0.0 and perfect["accuracy"] == 1.0


def test_a_metal_never_carries_riding_h(shared_data):
    """The Zn complex with H counts as a model could give them, one H on the metal: the metal
    gets a note and no HFIX or H atom; its ligands keep their riding H."""
    truth = read_cif(CORPUS / ZINC_COMPLEX).structure
    heavy = truth.with_sites([s for s in truth.sites if s.element != "H"])
    from crystalx_core.training.atoms.dataset import h_counts

    counts = dict(enumerate(h_counts(truth)))
    zinc = next(i for i, s in enumerate(heavy.sites) if s.element == "Zn")
    counts[zinc] = 1
    plan = add_riding_hydrogens(heavy, counts)
    assert zinc not in plan.codes
    assert "metal" in plan.notes[zinc] and "no riding H" in plan.notes[zinc]
    placed = [s for s in plan.structure.sites if s.element == "H"]
    assert len(placed) == sum(n for i, n in counts.items() if i != zinc) > 0
    zn = plan.structure.cartesian(heavy.sites[zinc].frac)
    assert min(np.linalg.norm(plan.structure.cartesian(h.frac) - zn) for h in placed) > 2.0
    assert {plan.codes[i] for i, n in counts.items() if n and i != zinc} <= {
        13,
        23,
        43,
        93,
        137,
        147,
    }


def test_the_card_says_when_the_h_calibration_predates_the_h_truth():
    """The calibration's H rows are measured against the published H counts; a file written
    before c9267ae (each H counted once) carries no h_truth, and the card says so beside the
    table, while one that calibrate.py writes now does not need the note."""
    import importlib.util
    from pathlib import Path

    from crystalx_core.training.atoms.calibrate import H_TRUTH

    path = Path(__file__).parent.parent / "benchmarks" / "model_card.py"
    spec = importlib.util.spec_from_file_location("model_card", path)
    model_card = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model_card)
    calibration = json.loads((MODEL_DIR / "calibration.json").read_text())
    calibration.pop("h_truth", None)
    note = "before c9267ae"
    assert note in "\n".join(model_card.calibration_section(calibration))
    calibration["h_truth"] = H_TRUTH
    assert note not in "\n".join(model_card.calibration_section(calibration))
