"""An atom split over two alternatives of a disordered model gets one element."""

from dataclasses import replace

from crystalx_core.assign import assign
from crystalx_core.io.shelx_read import read_shelx
from tests.conftest import BENCHMARK


def _published(entry: str):
    return read_shelx(BENCHMARK / entry / "published.res").to_structure()


def _elements(answer) -> dict[str, str]:
    return {site.label: site.element for site in answer.sites}


def test_split_atom_takes_one_element_weighed_by_occupancy(shared_data):
    """FC_p31c's N2 (PART 1, 0.76) and N2' (PART 2, 0.24, 0.18 Å away): the minor part's
    strained geometry alone read as C; together they are N, as published, with one set of
    probabilities. (Since the first guesses count each site for its occupancy, the model
    itself gives N2' N; the pooling is shown on the answer with N2' made its old C.)"""
    from crystalx_core.assign import _split_sites_agree

    structure = _published("FC_p31c")
    answer = assign(structure, "model")
    elements = _elements(answer)
    published = {s.label: s.element for s in structure.sites if s.element != "H"}
    assert elements == published
    by_label = {site.label: site for site in answer.sites}
    minor = by_label["N2'"]
    minor.element, minor.element_scores = "C", {"C": 0.6, "N": 0.4}
    assert _split_sites_agree(structure, answer)
    assert by_label["N2"].element == minor.element == "N"
    assert by_label["N2"].element_scores == minor.element_scores


def test_alternatives_given_other_elements_stay_apart(shared_data):
    """Two alternatives the user gave different elements at one place (a flipped ring, an
    N/C swap) are two atoms: neither is made the other's element."""
    structure = _published("FC_p31c")
    sites = [s.with_element("C") if s.label == "N2'" else s for s in structure.sites]
    answer = assign(structure.with_sites(sites), "model")
    by_label = {site.label: site for site in answer.sites}
    assert by_label["N2"].element == "N" and by_label["N2'"].element == "C"
    assert by_label["N2"].element_scores != by_label["N2'"].element_scores


def test_a_mixed_alternative_keeps_its_element(shared_data):
    """A mixed site (O with N on it, EXYZ) is the user's model: as one alternative of a split
    atom it keeps its O, and its other alternative is not made O either."""
    structure = _published("FC_p31c")
    sites = []
    for s in structure.sites:
        if s.label == "N2":
            s = s.with_element("O")
        elif s.label == "N2'":
            s = replace(s.with_element("O"), mixed=(replace(s, label="N2X"),))
        sites.append(s)
    answer = assign(structure.with_sites(sites), "model")
    by_label = {site.label: site for site in answer.sites}
    assert by_label["N2'"].element == "O" and by_label["N2'"].element_scores == {"O": 1.0}
    assert by_label["N2"].element == "N"
