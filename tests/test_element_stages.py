"""benchmarks/element_stages.py: assign_model's record of its stages, on a real entry."""

import pytest

from crystalx_core.assign import resolve_method
from tests.conftest import BENCHMARK, benchmark_script


def _script():
    return benchmark_script("element_stages")


@pytest.mark.skipif(resolve_method("auto") != "model", reason="no shipped models in onnx_models/")
def test_the_stages_end_at_the_answer_and_show_the_refined_site_rule(shared_data):
    """N2_thpp (Fobs map, measured data): the recorded last stage is assign_model's answer on
    every site, recording changes no answer, and the minor alternatives C6A and C7B (occupancy
    0.139), which the model alone calls 'not an atom', become C at the refined-site rule."""
    from crystalx_core.assign.model import assign_model
    from crystalx_core.crystallography.maps import fobs_peaks
    from crystalx_core.io.cif import read_cif
    from crystalx_core.io.hkl import read_hkl

    truth = read_cif(BENCHMARK / "N2_thpp" / "model.cif").structure
    heavy = [s for s in truth.sites if s.element != "H"]
    peaks = fobs_peaks(truth, read_hkl(BENCHMARK / "N2_thpp" / "data.hkl"))
    names, _, _ = _script().stages(peaks)
    answer = assign_model(peaks)
    assert answer == assign_model(peaks, record={})
    by_index = answer.by_index()
    assert names["cover"] == [
        by_index[k].element if k in by_index else "Q" for k in range(len(heavy))
    ]
    for label in ("C6A", "C7B"):
        k = [s.label for s in heavy].index(label)
        assert names["p1_sfac"][k] == "Q" and names["p1_sites"][k] == "C"


def test_an_atom_is_charged_to_the_last_stage_that_changed_it():
    """An O called N on every stage: answer and most likely class agree (None). A C right all
    along and made O by the cover is the cover's. An N wrong on every stage of the answer's
    path whose most likely class is right owes it to pass 2's input (pass 1's formula answer)."""
    script = _script()
    order = script.ORDER
    names = {s: ["N", "C", "C"] for s in order} | {"no_formula": ["N", "C", "N"]}
    names["cover"] = ["N", "O", "C"]
    assert script.last_change(names, 0, "O") is None
    assert script.last_change(names, 1, "C") == "cover"
    assert script.last_change(names, 2, "N") == "p2_sfac"
