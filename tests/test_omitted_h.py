"""assign.omitted_h: a whole molecule published without H, read from UNIT's H total."""

import numpy as np
import pytest

from crystalx_core.assign import resolve_method
from crystalx_core.assign.composition import total_cost
from crystalx_core.assign.omitted_h import OMITTED_COST, fit_with_omissions, solvent_molecules

VALUES = np.arange(5)  # the hydrogen model's count classes, 0..4 H
THF_4320780 = ["O1S", "C1S", "C2S", "C3S", "C4S"]


def _rows(*rows):
    return np.array([row + [0.0] * (5 - len(row)) for row in rows])


# A THF's four CH2 the model is sure of (as codtools_4320780's C1S-C4S, 0.998-1.0) and its O,
# beside four ligand CH2 it is less sure of (C111, C112, C114, C333 there: 0.56-0.99).
SURE_CH2 = [0.0, 0.0, 1.0]
LIGAND_CH2 = [
    [0.013, 0.065, 0.922],
    [0.006, 0.433, 0.561],
    [0.01, 0.0, 0.99],
    [0.002, 0.266, 0.732],
]
PROBABILITIES = _rows([1.0], SURE_CH2, SURE_CH2, SURE_CH2, SURE_CH2, *LIGAND_CH2)
THF = [0, 1, 2, 3, 4]
WEIGHTS = np.ones(len(PROBABILITIES))


def _fit(expected, molecules=(THF,), probabilities=PROBABILITIES):
    return fit_with_omissions(probabilities, VALUES, expected, WEIGHTS, 3.0, True, list(molecules))


def test_a_shortfall_of_a_solvent_molecules_h_is_that_molecule_published_without_them():
    """UNIT 8 H short of the 16 the model counts: the THF loses its 8 H, the ligand keeps its
    CH2 (the site-by-site fit took them off the ligand, the THF being surer)."""
    choice, omitted = _fit(8.0)
    assert omitted == [THF]
    assert VALUES[choice].tolist() == [0, 0, 0, 0, 0, 2, 2, 2, 2]
    plain, none = _fit(8.0, molecules=())
    assert none == [] and VALUES[plain][5:].sum() <= 2 and VALUES[plain][1:5].tolist() == [2] * 4
    stripped = PROBABILITIES.copy()
    stripped[THF] = [1.0, 0, 0, 0, 0]
    assert total_cost(stripped, choice, VALUES, 8.0, WEIGHTS) + OMITTED_COST < total_cost(
        PROBABILITIES, plain, VALUES, 8.0, WEIGHTS
    )


def test_no_molecule_is_stripped_where_unit_is_met_or_only_an_h_or_two_short():
    """UNIT as the model counts: nothing to explain. Two H short (a rounded UNIT): emptying a
    molecule of 8 H would make it six H short the other way, so none is."""
    assert _fit(16.0)[1] == []
    choice, omitted = _fit(14.0)
    assert omitted == [] and VALUES[choice][1:5].tolist() == [2] * 4


def test_the_search_is_bounded_by_the_candidates_and_the_omissions():
    """Past MAX_CANDIDATES solvent molecules the site-by-site fit stands alone (each round refits
    UNIT once per candidate), and at most MAX_OMITTED molecules are read as published without H,
    however short UNIT is."""
    from crystalx_core.assign.omitted_h import MAX_CANDIDATES, MAX_OMITTED

    count = MAX_OMITTED + 2
    probabilities = _rows(*([[1.0]] + [SURE_CH2] * 4) * count)
    molecules = [list(range(5 * k, 5 * k + 5)) for k in range(count)]
    weights = np.ones(len(probabilities))
    choice, omitted = fit_with_omissions(probabilities, VALUES, 0.0, weights, 3.0, True, molecules)
    assert len(omitted) == MAX_OMITTED
    many = [[k] for k in range(MAX_CANDIDATES + 1)]
    assert fit_with_omissions(probabilities, VALUES, 0.0, weights, 3.0, True, many)[1] == []


def _molecule_sites(structure, names):
    labels = [s.label for s in structure.sites]
    return sorted(labels.index(name) for name in names)


def test_solvent_molecules_of_a_real_structure(shared_data):
    """codtools_4320780 (validation split, COD): its lattice THF (O1S, C1S-C4S) is a solvent
    that can be published without H; the U complex (a metal) and the BPh4- (25 sites, no
    solvent's size) are not."""
    from crystalx_core.geometry import connectivity, one_alternative
    from crystalx_core.io.cif import read_cif

    truth = read_cif(shared_data / "corpus" / "codtools_4320780-negative-value.cif").structure
    heavy = truth.with_sites([s for s in truth.sites if s.element != "H"])
    molecules = solvent_molecules(heavy, one_alternative(heavy, connectivity(heavy)))
    assert [sorted(m) for m in molecules] == [_molecule_sites(heavy, THF_4320780)]


def test_a_partly_occupied_or_disordered_molecule_is_never_stripped(shared_data):
    """SXF_I43d's toluene (C40, C41 at 0.25 on a 3-fold axis, measured data) is no candidate:
    a partly occupied solvent's UNIT is rounded, its H are the user's."""
    from crystalx_core.geometry import connectivity, one_alternative
    from crystalx_core.io.cif import read_cif

    truth = read_cif(shared_data / "benchmark" / "SXF_I43d" / "model.cif").structure
    heavy = truth.with_sites([s for s in truth.sites if s.element != "H"])
    molecules = solvent_molecules(heavy, one_alternative(heavy, connectivity(heavy)))
    partial = {k for k, s in enumerate(heavy.sites) if s.occupancy < 1 or s.part}
    assert partial and not any(partial & set(m) for m in molecules)


@pytest.mark.skipif(resolve_method("auto") != "model", reason="no shipped models in onnx_models/")
def test_the_published_thf_without_h_takes_unit_s_shortfall(shared_data):
    """codtools_4320780: UNIT (its sites') lacks the lattice THF's 8 H. The site-by-site fit took
    them off the ligands' CH2 (C111 and C114 left bare, C112 and C333 CH); read as one
    molecule published without H, every count is the published one on these atoms."""
    from crystalx_core.assign.model import model_h_counts
    from crystalx_core.io.cif import read_cif
    from crystalx_core.training.atoms.dataset import h_counts

    truth = read_cif(shared_data / "corpus" / "codtools_4320780-negative-value.cif").structure
    heavy = truth.with_sites([s for s in truth.sites if s.element != "H"])
    published = dict(zip([s.label for s in heavy.sites], h_counts(truth)))
    record: dict = {}
    counts = [n for n, _ in model_h_counts(heavy, record=record)]
    answer = dict(zip([s.label for s in heavy.sites], counts))
    assert [heavy.sites[k].label for m in record["omitted"] for k in m] == THF_4320780
    for label in THF_4320780 + ["C111", "C112", "C114", "C333"]:
        assert answer[label] == published[label], label
