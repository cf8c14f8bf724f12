"""One hydrogen step: a site is known by its index in the structure given, the service answers
from the same job as `crystalx assign`, and every name we write or send fits SHELX's 4
characters."""

import json
from dataclasses import replace

import numpy as np
import pytest

from crystalx_core.assign.labels import element_labels
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import InputError
from crystalx_core.hydrogens import hfix_groups
from crystalx_core.io import load
from crystalx_core.outputs import write_job_outputs
from crystalx_core.pipeline import assign_job
from crystalx_core.report import job_json
from crystalx_core.residues import bare_label
from crystalx_core.service import PROTOCOL, reply_to, structure_from_snapshot
from crystalx_core.structure import Site, Structure

from .conftest import BENCHMARK
from .test_service import snapshot_of


@pytest.fixture(scope="module")
def sucrose(shared_data):
    return load(BENCHMARK / "FC_sucrose" / "published.res").structure


def heavy_atoms(structure: Structure) -> Structure:
    return structure.with_sites([s for s in structure.sites if not is_hydrogen(s.element)])


def ask(method: str, params: dict) -> dict:
    line = json.dumps({"protocol": PROTOCOL, "id": 1, "method": method, "params": params}).encode()
    reply, _ = reply_to(line)
    assert "result" in reply, reply
    return reply["result"]


def riders(structure: Structure) -> dict[str, int]:
    """Pivot label → H atoms written after it (riding H follow their pivot)."""
    count, pivot = {}, None
    for site in structure.sites:
        if is_hydrogen(site.element):
            count[pivot] += 1
        else:
            pivot = site.label
            count[pivot] = 0
    return count


def test_labels_a_cif_repeats_still_give_each_site_its_own_answer(sucrose):
    """Every C of sucrose labelled C1 and every O O1, as a careless CIF might: each site gets
    the H count, HFIX code and riding H it gets under its own label, matched by index."""
    heavy = heavy_atoms(sucrose)
    repeated = heavy.with_sites([replace(s, label=f"{s.element}1") for s in heavy.sites])
    plain = assign_job(heavy, method="baseline", hydrogens="rules")
    twice = assign_job(repeated, method="baseline", hydrogens="rules")
    answer = [(s.index, s.element, s.h_count, s.hfix, s.note) for s in plain.assignment.sites]
    assert [
        (s.index, s.element, s.h_count, s.hfix, s.note) for s in twice.assignment.sites
    ] == answer
    assert len({s.new_label for s in twice.assignment.sites}) == len(heavy.sites)
    assert {s.hfix for s in twice.assignment.sites} >= {13, 23, 147}
    placed = riders(twice.structure)
    assert [placed[s.new_label] for s in twice.assignment.sites] == [
        s.h_count for s in plain.assignment.sites
    ]


def test_the_service_answers_what_the_job_answers(sucrose):
    """The same peaks through the service and through `crystalx assign`: the same sites,
    probabilities, H counts, HFIX codes and notes under the same labels."""
    snapshot = snapshot_of(sucrose, peaks=True)
    result = ask("assign", {"structure": snapshot})
    job = assign_job(structure_from_snapshot(snapshot))
    report = job_json(job)
    assert result["sites"] == report["atoms"]
    assert result["notes"] == report["hydrogen_notes"]
    assert result["job_notes"] == report["notes"]
    assert result["hfix"] == [
        [code, labels] for code, labels in hfix_groups(job.assignment.hfix_codes())
    ]
    assert result["spurious"] == report["dropped_peaks"]


def test_a_plan_that_repeats_the_answer_gets_the_same_hydrogens(sucrose):
    """apply-plan places H by the same riding step and annotation as assign."""
    snapshot = snapshot_of(sucrose, peaks=False)
    first = ask(
        "assign", {"structure": snapshot, "options": {"method": "baseline", "hydrogens": "rules"}}
    )
    plan = {
        "sites": [
            {
                "label": s["label"],
                "element": s["element"],
                "new_label": s["new_label"],
                "h_count": s["h_count"],
            }
            for s in first["sites"]
        ]
    }
    again = ask("apply-plan", {"structure": snapshot, "plan": plan})
    assert [(s["new_label"], s["hfix"], s["note"]) for s in again["sites"]] == [
        (s["new_label"], s["hfix"], s["note"]) for s in first["sites"]
    ]
    assert again["hfix"] == first["hfix"] and again["notes"] == first["notes"]


def supercell(structure: Structure, n=(3, 4, 4)) -> Structure:
    """The non-H atoms of `structure` in P1, repeated n times along the axes, every copy under
    the labels of the first."""
    sites = []
    for rotation, translation in structure.symmetry_matrices():
        for site in heavy_atoms(structure).sites:
            frac = (rotation @ np.array(site.frac) + translation) % 1.0
            sites += [replace(site, frac=tuple((frac + shift) / n)) for shift in np.ndindex(*n)]
    a, b, c, alpha, beta, gamma = structure.cell
    copies = len(structure.symops) * int(np.prod(n))
    return Structure(
        cell=(a * n[0], b * n[1], c * n[2], alpha, beta, gamma),
        symops=["x,y,z"],
        sites=sites,
        sfac=structure.sfac,
        unit=[u * copies for u in structure.unit],
    )


def test_a_thousand_carbons_get_names_shelx_and_olex2_read(sucrose, tmp_path):
    """96 sucrose molecules (1,152 C, 2,208 atoms, all named as the first molecule): the .res
    names every atom, H included, in at most 4 characters, each once."""
    big = supercell(sucrose)
    assert sum(s.element == "C" for s in big.sites) > 999
    job = assign_job(big, method="baseline", hydrogens="rules")
    paths, _, _ = write_job_outputs(job, tmp_path / "big.ins", [])
    written = [
        atom.label for site in load(paths[".res"]).structure.sites for atom in site.with_mixed
    ]
    assert len(written) == len(job.structure.sites) > 4000
    assert max(len(label) for label in written) == 4 and len({x.upper() for x in written}) == len(
        written
    )
    assert "C1A" in written  # after C999


def test_the_service_renames_a_thousand_peaks_within_olex2s_four_characters(sucrose):
    """A new label Olex2 would not keep is a bad-label error: `ask` gets a result."""
    snapshot = snapshot_of(heavy_atoms(supercell(sucrose)), peaks=True)
    result = ask(
        "assign", {"structure": snapshot, "options": {"method": "baseline", "hydrogens": "rules"}}
    )
    assert sum(s["element"] == "C" for s in result["sites"]) > 999
    assert max(len(s["new_label"]) for s in result["sites"]) == 4
    assert any(command.startswith("name Q1000 ") for command in result["commands"])


def test_running_labels_go_on_past_999_within_four_characters_and_then_stop():
    peaks = [Site(f"Q{k + 1}", None, (k / 10000, 0.5, 0.5)) for k in range(10000)]
    structure = Structure(
        cell=(100, 100, 100, 90, 90, 90), symops=["x,y,z"], sites=peaks, source="big.ins"
    )
    labels = element_labels(structure, {k: "C" for k in range(1200)})
    assert (labels[998], labels[999], labels[999 + 26]) == ("C999", "C1A", "C2A")
    assert max(len(label) for label in labels.values()) == 4 and len(set(labels.values())) == 1200
    chlorine = element_labels(structure, {k: "Cl" for k in range(100)})
    assert (chlorine[98], chlorine[99]) == ("Cl99", "Cl1A")
    with pytest.raises(InputError) as error:
        element_labels(structure, {k: "C" for k in range(10000)})
    assert "\n" not in error.value.one_line() and "4 characters" in error.value.one_line()


def test_a_typed_atom_with_a_long_label_is_renamed_not_kept():
    """A CIF may call an atom C1000; SHELX cannot: it gets a free name of 4 characters."""
    structure = Structure(
        cell=(10, 10, 10, 90, 90, 90),
        symops=["x,y,z"],
        sites=[Site("C1000", "C", (0.1, 0.1, 0.1)), Site("C2", "C", (0.3, 0.1, 0.1))],
    )
    assert element_labels(structure, {0: "C", 1: "C"}) == {0: "C1", 1: "C2"}
    assert bare_label(element_labels(structure, {0: "N", 1: "C"})[0]) == "N1"


def test_a_name_the_input_brings_over_four_characters_is_refused_before_writing(tmp_path, capsys):
    """The partner of a mixed site keeps the name it was given: over 4 characters the job says
    so in one line and writes nothing, rather than a .res SHELXL cannot read."""
    from crystalx_core.cli import main

    from .test_input_cases import MIXED

    res = tmp_path / "mixed.res"
    res.write_text(MIXED.replace("N2", "N2222"))
    assert (
        main(["assign", str(res), "--method", "baseline", "--hydrogens", "rules", "--quiet"]) == 73
    )
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "N2222" in error and str(res) in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed.res"]
