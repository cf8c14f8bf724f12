"""The second look at the elements on the Fo map of the refined model, on real data."""
import re
import tempfile
from pathlib import Path

from crystalx_core.crystallography.compare import match_sites
from crystalx_core.crystallography.refine import refine
from crystalx_core.element_check import recheck_elements
from crystalx_core.elements import is_hydrogen
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.io.shelx_write import new_ins_text
from crystalx_core.pipeline import solve_job

from .conftest import BENCHMARK

SWAPS = {"N1": "O", "O4": "N", "C6": "N", "N7": "C"}  # what the charge-flipping map's heights once led to


def _published(name):
    truth = read_cif(BENCHMARK / name / "model.cif").structure
    return truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)]), read_hkl(BENCHMARK / name / "data.hkl")


def test_swapped_elements_are_put_back_when_the_data_agree(shared_data):
    heavy, reflections = _published("COD_1501469")
    wrong = heavy.with_sites([s.with_element(SWAPS[s.label]) if s.label in SWAPS else s for s in heavy.sites])
    refined = refine(wrong, reflections, 10)
    check = recheck_elements(refined.structure, reflections, "model", 10)
    assert check is not None and check.accepted
    assert check.changes == {label: heavy.sites[k].element for k, label in
                             ((k, s.label) for k, s in enumerate(heavy.sites)) if label in SWAPS}
    assert check.r1_changed < check.r1_kept - 0.002
    assert "N1 → N" in check.note() and "changed" in check.note()


def test_a_right_model_is_left_alone(shared_data):
    heavy, reflections = _published("COD_1501469")
    assert recheck_elements(refine(heavy, reflections, 10).structure, reflections, "model", 10) is None


def test_solve_gets_every_element_right_after_the_second_look(shared_data):
    truth = read_cif(BENCHMARK / "COD_1501469" / "model.cif").structure
    with tempfile.TemporaryDirectory() as folder:
        ins = Path(folder) / "x.ins"
        ins.write_text(new_ins_text(truth.with_sites([])))
        result = solve_job(read_shelx(ins).to_structure(), read_hkl(BENCHMARK / "COD_1501469" / "data.hkl"), "model")
    assert result.solution.completeness > 0.99 and not any("% complete" in note for note in result.notes)
    match = match_sites(truth, result.structure)
    assert match.found_fraction == 1.0 and match.element_fraction == 1.0
    labels = [s.new_label for s in result.assignment.sites]
    assert len(set(labels)) == len(labels)
    assert all(re.fullmatch(s.element + r"\d+", s.new_label) for s in result.assignment.sites)
    assert {s.label for s in result.structure.sites if not is_hydrogen(s.element)} == set(labels)


def test_a_refinement_that_fails_keeps_the_elements_as_assigned(shared_data, monkeypatch):
    import crystalx_core.element_check as element_check
    from crystalx_core.errors import RefinementError
    heavy, reflections = _published("COD_1501469")
    wrong = heavy.with_sites([s.with_element(SWAPS[s.label]) if s.label in SWAPS else s for s in heavy.sites])
    refined = refine(wrong, reflections, 10).structure

    def diverging(structure, *args, **kwargs):
        raise RefinementError("refinement diverged (R1 = 0.950)", structure.source)
    monkeypatch.setattr(element_check, "refine", diverging)
    assert recheck_elements(refined, reflections, "model", 10) is None
