"""benchmarks/hydrogen_stages.py: model_h_counts's record of its stages, and the doubt column."""

import numpy as np
import pytest

from crystalx_core.assign import resolve_method
from crystalx_core.structure import Site, Structure
from tests.conftest import benchmark_script


def _script():
    return benchmark_script("hydrogen_stages")


def _molecule(atoms) -> Structure:
    """Atoms at Cartesian positions (Å) about the middle of a 20 Å P1 cell."""
    sites = [
        Site(f"{element}{k + 1}", element, tuple(0.5 + x / 20 for x in xyz))
        for k, (element, xyz) in enumerate(atoms)
    ]
    return Structure(cell=(20, 20, 20, 90, 90, 90), symops=["x,y,z"], sites=sites)


def _doubt(atoms, lengths):
    from crystalx_core.geometry import connectivity

    molecule = _molecule(atoms)
    return _script().doubt(molecule, 0, connectivity(molecule)[0], lengths)


BENT = [("C", (0, 0, 0)), ("C", (1.53, 0, 0)), ("C", (-0.51, 1.44, 0))]  # 109.5°


def test_the_doubt_column_names_what_is_wrong_with_the_published_h():
    """A bent CH2 published without its H (a solvent's) is under-filled, with them it is
    fine; a C≡N or a linear C needs none; a C with four neighbours and an H is over-filled; an
    O-H of 0.69 Å is no X-ray or neutron length."""
    assert _doubt(BENT, []) == "under-filled"
    assert _doubt(BENT, [0.97, 0.97]) == ""
    assert _doubt([("C", (0, 0, 0)), ("N", (1.14, 0, 0)), ("C", (-1.46, 0, 0))], []) == ""
    assert _doubt([("C", (0, 0, 0)), ("C", (1.30, 0, 0)), ("C", (-1.30, 0, 0))], []) == ""
    tetrahedron = np.array([(1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)]) * 1.53 / 3**0.5
    full = [("C", (0, 0, 0)), *[("C", tuple(v)) for v in tetrahedron]]
    assert _doubt(full, [0.98]) == "over-filled"
    assert _doubt([("O", (0, 0, 0)), ("C", (1.43, 0, 0))], [0.69]) == "X-H length"


@pytest.mark.skipif(resolve_method("auto") != "model", reason="no shipped models in onnx_models/")
def test_the_stages_end_at_the_answer_and_show_the_settled_borates(shared_data):
    """codtools_4320780 (validation split): the recorded answer is model_h_counts's, recording
    changes none, the bis(pyrazolyl)borate B1 is 0 to the model and 2 from the room stage on,
    and the THF published without its H is flagged."""
    from crystalx_core.assign.model import model_h_counts
    from crystalx_core.io.cif import read_cif

    truth = read_cif(shared_data / "corpus" / "codtools_4320780-negative-value.cif").structure
    heavy = truth.with_sites([s for s in truth.sites if s.element != "H"])
    rows = {row["label"]: row for row in _script().audit(truth)}
    answer = [n for n, _ in model_h_counts(heavy)]
    assert [rows[s.label]["final"] for s in heavy.sites] == answer
    assert model_h_counts(heavy, record={}) == model_h_counts(heavy)
    assert (rows["B1"]["raw"], rows["B1"]["room"], rows["B1"]["final"]) == (0, 2, 2)
    assert rows["C1S"]["published"] == 0 and rows["C1S"]["doubt"] == "under-filled"
