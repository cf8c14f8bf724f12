"""`crystalx audit`: a published model checked by the models and, with reflections, by
refinement."""

import json
import re
import subprocess
import sys

import pytest

from .conftest import BENCHMARK


def run_audit(*args):
    done = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "audit", *map(str, args), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_a_mistyped_atom_is_flagged_and_the_data_confirm_it(shared_data, tmp_path):
    """The published alanine with O1 typed as N: the audit says O, and R1 falls when it is
    changed."""
    text = (BENCHMARK / "XH_alanine" / "model.cif").read_text()
    wrong, n = re.subn(r"(?m)^(O1\s+)O(\s)", r"\1N\2", text)
    assert n == 1
    (tmp_path / "wrong.cif").write_text(wrong)
    report = run_audit(tmp_path / "wrong.cif", "--hkl", BENCHMARK / "XH_alanine" / "data.hkl")
    o1 = next(a for a in report["atoms"] if a["label"] == "O1")
    assert (o1["published"], o1["proposed"], o1["element_flag"]) == ("N", "O", True)
    assert o1["probabilities"]["O"] > 0.85 and o1["verdict"] == "data agree"  # calibrated: 0.89
    assert o1["r1_if_changed"] < report["refinement"]["published"]["r1"] - 0.005
    for atom in report["atoms"]:
        if atom["element_flag"] and atom["label"] != "O1":
            assert (
                atom["verdict"] == "data disagree"
            )  # the model's other doubts do not survive the data
    # where the time goes, as a job's JSON says it: one refinement per model, one per flag
    flags = sum(a["element_flag"] for a in report["atoms"])
    assert set(report["timings_s"]) == {
        "Fo map",
        "assign",
        "refine the proposed atoms for H",
        "refine the published model",
        "refine the corrected model",
        f"refine {flags} element flags",
    }
    assert all(seconds > 0 for seconds in report["timings_s"].values())
    page = (tmp_path / "wrong_audit.html").read_text()
    assert "class=flag" in page and "O1" in page
    assert json.loads((tmp_path / "wrong_audit.json").read_text()) == report


def test_a_sound_structure_refines_the_same_both_ways_with_its_embedded_reflections(
    shared_data, tmp_path
):
    cif = tmp_path / "urea.cif"
    cif.write_text((BENCHMARK / "XH_urea" / "model.cif").read_text())  # carries _shelx_hkl_file
    report = run_audit(cif)
    assert not any(a["element_flag"] or a["hydrogen_flag"] for a in report["atoms"])
    published, corrected = report["refinement"]["published"], report["refinement"]["corrected"]
    assert published["r1"] == pytest.approx(corrected["r1"], abs=1e-4) and published["r1"] < 0.03


def test_without_reflections_the_audit_reads_the_model_only(shared_data, tmp_path):
    res = tmp_path / "sucrose.res"
    res.write_text((BENCHMARK / "FC_sucrose" / "published.res").read_text())
    done = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "audit", str(res)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "peak heights: none" in done.stdout
        and "refined under identical settings" not in done.stdout
    )
    report = json.loads((tmp_path / "sucrose_audit.json").read_text())
    assert len(report["atoms"]) == 23 and report["refinement"] == {}
    assert sum(a["published_h"] for a in report["atoms"]) == 22  # C12H22O11


def test_the_alternatives_of_a_split_atom_are_proposed_one_element(shared_data):
    """FC_p31c (measured data, PARTs 1 and 2 at 0.85/0.15 and 0.76/0.24): its Fo-map peaks
    keep the model's PARTs, and each split atom's alternatives (N2 and N2' 0.2 Å apart) are
    proposed one element, their probabilities weighed by occupancy, as when the split model is
    assigned itself. Before the peaks were joined (they carry no element) N2 was proposed C
    and C13' N beside a right N2' and C13: five flags of 39; now three (C2, C2', C24)."""
    from crystalx_core.audit import audit
    from crystalx_core.geometry import neighbours
    from crystalx_core.io.cif import read_cif
    from crystalx_core.io.hkl import read_hkl

    published = read_cif(BENCHMARK / "FC_p31c" / "model.cif").structure
    stages = []  # each stage is said as it starts (the CLI's spinner shows them)
    result = audit(
        published, read_hkl(BENCHMARK / "FC_p31c" / "data.hkl"), cycles=2, progress=stages.append
    )
    flagged = [a for a in result.atoms if a.element_flag]
    assert stages[:5] == [
        "Fo map",
        "assign",
        "refine the proposed atoms for H",
        "refine the published model",
        "refine the corrected model",
    ]
    assert stages[5:] == [
        f"refine element flag {k}/{len(flagged)} ({a.label} as {a.proposed})"
        for k, a in enumerate(flagged, 1)
    ]
    proposed = {a.label: a.proposed for a in result.atoms}
    sites = published.sites
    split = [i for i, s in enumerate(sites) if s.part and s.label in proposed]
    pairs = {
        (sites[i].label, sites[c.j].label)
        for i, contacts in zip(split, neighbours(published, 0.7, centres=split))
        for c in contacts
        if sites[c.j].part not in (0, sites[i].part) and sites[c.j].element == sites[i].element
    }
    assert ("N2", "N2'") in pairs and ("C13", "C13'") in pairs
    assert all(proposed[a] == proposed[b] for a, b in pairs), pairs
    assert proposed["N2"] == "N" and proposed["C13'"] == "C"
    assert sum(a.element_flag for a in result.atoms) <= 3


def test_published_h_counts_are_read_one_h_one_atom_one_orientation(shared_data):
    """Without reflections the audit compares the model's H counts with the published ones.
    Those counted an H for every atom within bonding reach and a negative PART's images as its
    own: XH_HMaMg's O2 was flagged (published 1, proposed 0) for the hydrogen maleate's H1, 1.16
    Å from O1 and 1.24 Å from O2, and FC_1979688's methanol about a twofold axis (PART -1) for
    its image's methyl H (O13 published 3, C39 5). Each H now counts once, for the nearest atom
    it may bond to, and neither model has an H flag."""
    from crystalx_core.audit import audit
    from crystalx_core.io.cif import read_cif

    for entry, atoms in (("XH_HMaMg", {"O1": 1, "O2": 0}), ("FC_1979688", {"O13": 1, "C39": 3})):
        result = audit(read_cif(BENCHMARK / entry / "model.cif").structure)
        published = {a.label: a.published_h for a in result.atoms}
        assert {label: published[label] for label in atoms} == atoms
        assert [a.label for a in result.atoms if a.hydrogen_flag] == [], entry
