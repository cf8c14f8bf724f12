"""Conventions met in session 22's fifth sweep of real structures with their reflections from
other labs (docs/benchmarks.md, '... fifth sweep'). Each test writes a few lines in the layout
of the real file it names, on the team's benchmark data; the real files are not kept here."""

import json

import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from tests.conftest import BENCHMARK

# DSR's example model (PyPI dsr-shelx 243, example/p21c.res and p21c_final.res, SHELXL-2018/3
# and -2014/7 refinements of a Ga/Al OC(CF3)3 salt in P21/c, R1 0.0402) gives one number per
# SFAC element counting up, `SFAC C H O F Al Ga` / `UNIT 1 2 3 4 5 6`: no cell contents (the
# model holds 304 non-H atoms per cell), so the job sets it aside (contents.unit_set_aside).
DSR_COUNTING_UP_UNIT = "UNIT 1 2 3"


def _sucrose_with_unit(tmp_path, unit_line):
    """FC_sucrose's published .res (SFAC C H O, P21) with its UNIT line replaced."""
    published = (BENCHMARK / "FC_sucrose" / "published.res").read_text()
    lines = [unit_line if line.startswith("UNIT") else line for line in published.splitlines()]
    path = tmp_path / "sucrose.res"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fo_map_priors_of_a_model_whose_unit_is_set_aside_take_its_own_atoms(tmp_path, shared_data):
    """`assign p21c_final.res --hkl p21c.hkl` stopped with 'SFAC/UNIT list no non-H atoms to
    assign': the element evidence reads the refined atoms again as Fo-map peaks, and peaks have
    no elements to count, so a model whose UNIT was set aside lent them nothing. They now take
    the contents the model's own assignment goes by (its atoms' counts): sucrose's 12 C and 11 O
    (ordered as the published atoms) come back as published."""
    from crystalx_core.contents import unit_set_aside
    from crystalx_core.element_evidence import fobs_priors
    from crystalx_core.io import load, read_reflections

    model, note = unit_set_aside(load(_sucrose_with_unit(tmp_path, DSR_COUNTING_UP_UNIT)).structure)
    assert note and "UNIT 1 2 3 cannot be the cell contents" in note
    reflections = read_reflections(BENCHMARK / "FC_sucrose" / "data.hkl")
    reflections = reflections.merged(model.cell, model.symops)
    priors = fobs_priors(model, reflections, "model")
    heavy = [s for s in model.sites if s.element != "H"]
    assert len(priors) == len(heavy) == 23
    assert {s.label: max(priors[s.label], key=priors[s.label].get) for s in heavy} == {
        s.label: s.element for s in heavy
    }


@pytest.mark.parametrize("job", ["assign", "audit"])
def test_a_model_with_unit_0_is_refined_against_its_reflections(tmp_path, shared_data, job, capsys):
    """`UNIT 0 0 0 0` (some converters' placeholder, contents.unit_set_aside) with the data:
    main refused both jobs with the same error at the Fo-map step; now they run, and the
    output keeps urea's elements (XH_urea's published .res and data.hkl). The audit runs the
    shipped model: the baseline's heights-only guess calls urea's C an N with the real UNIT too."""
    from crystalx_core.cli import main

    published = (BENCHMARK / "XH_urea" / "published.res").read_text()
    model = tmp_path / "urea.res"
    model.write_text(
        "\n".join(
            "UNIT 0 0 0 0" if line.startswith("UNIT") else line for line in published.splitlines()
        )
        + "\n"
    )
    hkl = str(BENCHMARK / "XH_urea" / "data.hkl")
    method = ["--method", "baseline"] if job == "assign" else []
    args = [job, str(model), "--hkl", hkl, *method, "--hydrogens", "rules"]
    assert main([*args, "--quiet", "--out", str(tmp_path / "out")]) == 0
    assert "no non-H atoms" not in capsys.readouterr().err
    report = json.loads((tmp_path / "out.json").read_text())
    if job == "assign":
        assert report["refinement"]["r1"] < 0.05
        assert sorted(a["element"] for a in report["atoms"]) == ["C", "N", "O"]
    else:
        assert {a["label"]: a["proposed"] for a in report["atoms"]} == {
            "O": "O",
            "N": "N",
            "C": "C",
        }
