"""The commands end to end: demo, solve and assign on real data, and bad input at the door."""

import hashlib
import json
import re
import shutil
import subprocess
import sys

import pytest

from crystalx_core.cli import EXIT_INPUT, main
from crystalx_core.crystallography.compare import match_sites
from crystalx_core.io.cif import read_cif
from crystalx_core.io.shelx_read import read_shelx
from tests.conftest import BENCHMARK
from tests.test_full_disk import QUICK, STRUCTURE


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("method", ["baseline", "auto"])
def test_demo_solves_assigns_and_refines(tmp_path, capsys, method):
    assert main(["demo", "--dir", str(tmp_path), "--quiet", "--method", method]) == 0
    out = capsys.readouterr().out
    found = re.search(r"(\d+)/23 non-H atoms found within 0.5 Å, (\d+) with the right element", out)
    assert found and int(found[1]) == 23 and int(found[2]) >= 20  # the baseline may swap a C/O pair
    report = json.loads((tmp_path / "demo_crystalx.json").read_text())
    assert {e["element"]: e["assigned"] for e in report["elements"]}.keys() == {"C", "O"}
    assert sum(e["assigned"] for e in report["elements"]) == 23
    assert report["refinement"]["r1"] < 0.08
    n_h = sum(a["h_count"] for a in report["atoms"])
    assert 20 <= n_h <= 24  # sucrose has 22; a swapped C/O pair moves one or two
    refined = read_shelx(tmp_path / "demo_crystalx.res").to_structure()
    assert sum(1 for s in refined.sites if s.element == "H") == n_h
    assert "_refine_ls_R_factor_gt" in (tmp_path / "demo_crystalx.cif").read_text()


def test_solve_real_data_from_cell_and_formula_only(tmp_path, shared_data, capsys):
    entry = BENCHMARK / "XH_HMaMg"
    reference = read_cif(entry / "model.cif").structure
    from crystalx_core.io.shelx_write import new_ins_text

    ins = tmp_path / "hmamg.ins"
    ins.write_text(new_ins_text(reference.with_sites([])))
    hkl = tmp_path / "hmamg.hkl"
    shutil.copy(entry / "data.hkl", hkl)
    before = _digest(ins), _digest(hkl)
    assert main(["solve", str(ins), str(hkl), "--json", "--method", "baseline"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["refinement"]["r1"] < 0.08
    solved = read_shelx(tmp_path / "hmamg_crystalx.res").to_structure()
    match = match_sites(reference, solved)
    assert match.found_fraction == 1.0 and match.element_fraction == 1.0
    assert (_digest(ins), _digest(hkl)) == before


def test_assign_existing_res_keeps_instructions_and_backs_up(tmp_path, shared_data, capsys):
    res = tmp_path / "sucrose.res"
    shutil.copy(BENCHMARK / "FC_sucrose" / "published.res", res)
    assert main(["assign", str(res), "--quiet"]) == 0
    assert main(["assign", str(res), "--quiet"]) == 0  # second run keeps the first output
    assert (tmp_path / "sucrose_crystalx.res.bak").exists()
    out_lines = (tmp_path / "sucrose_crystalx.res").read_text().splitlines()
    for keep in (
        "HTAB O11 O1",
        "EQIV $1 -x+1, y+1/2, -z+1",
        "WGHT    0.038800    0.014600",
        "ACTA",
    ):
        assert keep in out_lines
    # the riding H are atoms under AFIX, without an HFIX for them, as in SHELXL's own .res
    assert any(line.startswith("AFIX") and line.split()[1] != "0" for line in out_lines)
    assert not any(line.startswith("HFIX") for line in out_lines)


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("TITL x\nSFAC C\nUNIT 4\nC1 1 0.1 0.2 0.3 11 0.05\nHKLF 4\nEND\n", "CELL"),
        ("TITL x\nCELL 0.71 5 5 5 90 90 90\nSFAC C Xq\nUNIT 4 4\nHKLF 4\nEND\n", "Xq"),
        (
            "TITL x\nCELL 0.71 5 5 5 90 90 90\nSFAC C\nUNIT 4\nC1 1 nan 0.2 0.3 11 0.05\nHKLF "
            "4\nEND\n",
            ":5",
        ),
    ],
)
def test_bad_input_is_one_line_with_exit_code(tmp_path, content, fragment):
    ins = tmp_path / "bad.ins"
    ins.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "assign", str(ins)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == EXIT_INPUT
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "bad.ins" in proc.stderr and fragment in proc.stderr
    assert ins.read_text() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ins"]


def test_missing_file_and_empty_reflections(tmp_path):
    ins = tmp_path / "x.ins"
    shutil.copy(
        BENCHMARK / "FC_sucrose" / "published.res", ins
    ) if BENCHMARK.is_dir() else pytest.skip()
    hkl = tmp_path / "x.hkl"
    hkl.write_text("")
    assert main(["solve", str(ins), str(hkl), "--quiet"]) == EXIT_INPUT
    assert main(["solve", str(tmp_path / "nope.ins"), str(hkl), "--quiet"]) == EXIT_INPUT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.hkl", "x.ins"]


def test_assign_cif_writes_readable_cif_and_json(tmp_path, shared_data, capsys):
    cif = tmp_path / "urea.cif"
    shutil.copy(BENCHMARK / "XH_urea" / "model.cif", cif)
    assert (
        main(["assign", str(cif), "--hkl", str(BENCHMARK / "XH_urea" / "data.hkl"), "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert {a["element"] for a in report["atoms"]} == {"C", "N", "O"}
    assert report["refinement"]["r1"] < 0.06
    written = read_cif(tmp_path / "urea_crystalx.cif")
    assert written.published_r1 == pytest.approx(report["refinement"]["r1"], abs=1e-4)
    assert written.shelx_res_text.strip() == (tmp_path / "urea_crystalx.res").read_text().strip()


def test_no_peaks_and_unsolvable_data(tmp_path):
    empty = tmp_path / "empty.res"
    empty.write_text("TITL x\nCELL 0.71 5 6 7 90 90 90\nLATT 1\nSFAC C\nUNIT 8\nHKLF 4\nEND\n")
    assert main(["assign", str(empty), "--quiet"]) == EXIT_INPUT
    hkl = tmp_path / "few.hkl"
    hkl.write_text("".join(f"{h:4d}{0:4d}{0:4d}{100.0:8.2f}{5.0:8.2f}\n" for h in range(1, 6)))
    from crystalx_core.cli import EXIT_SOLVE

    assert main(["solve", str(empty), str(hkl), "--quiet"]) == EXIT_SOLVE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.res", "few.hkl"]


def test_cctbx_is_imported_before_gemmi_whatever_the_caller_imports_first():
    code = "import crystalx_core.io.cif, gemmi; from cctbx import xray; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok"


def test_the_final_difference_map_is_reported_as_shelxl_does(tmp_path, shared_data, capsys):
    """FC sucrose refined from its published atoms: largest peak, deepest hole and rms of the
    final Fo − Fc map in the summary, the JSON and the CIF, close to the published CIF's."""
    entry = BENCHMARK / "FC_sucrose"
    published = {
        m[1]: float(m[2])
        for m in re.finditer(
            r"_refine_diff_density_(max|min|rms)\s+(\S+)", (entry / "model.cif").read_text()
        )
    }
    res = tmp_path / "sucrose.res"
    shutil.copy(entry / "published.res", res)
    assert main(["assign", str(res), "--hkl", str(entry / "data.hkl"), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["refinement"]["difference_map"]
    assert found["peak"] == pytest.approx(published["max"], abs=0.05)
    assert found["hole"] == pytest.approx(published["min"], abs=0.05)
    assert found["rms"] == pytest.approx(published["rms"], abs=0.01)
    assert re.fullmatch(r"\d\.\d\d Å from [A-Z][a-z]?\d+", found["peak_near"])
    cif = (tmp_path / "sucrose_crystalx.cif").read_text()
    assert re.search(r"_refine_diff_density_max\s+%.3f" % found["peak"], cif)


def test_a_cell_setting_shelx_cannot_write_is_one_line_naming_the_file(tmp_path, shared_data):
    """COD 2105506 is given in an X-centred cell, (1/4,1/2,3/4) among its translations: no LATT."""
    cif = tmp_path / "xc.cif"
    shutil.copy(shared_data / "corpus" / "codtools_2105506-superspacegroup.cif", cif)
    proc = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "assign", str(cif)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == EXIT_INPUT and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (
        "xc.cif" in proc.stderr
        and "(1/4,1/2,3/4)" in proc.stderr
        and "standard setting" in proc.stderr
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xc.cif"]


def test_assign_keeps_labels_residues_and_restraints_of_a_refined_model(
    tmp_path, shared_data, capsys
):
    """FC_p21c as refined: four RESI residues repeat O1, C1..C4 and F1..F9, and SADI_CCF3/SAME_CCF3
    restraints name them. Assigned and refined with its reflections, the output keeps every
    label in its residue, so the restraints still hold; only H are placed again."""
    res = tmp_path / "p21c.res"
    shutil.copy(BENCHMARK / "FC_p21c" / "published.res", res)
    assert (
        main(
            [
                "assign",
                str(res),
                "--hkl",
                str(BENCHMARK / "FC_p21c" / "data.hkl"),
                "--quiet",
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["refinement"]["r1"] < 0.045  # published 0.0400

    def non_h_addresses(path):
        return [s.label for s in read_shelx(path).to_structure().sites if s.element != "H"]

    def resi_lines(text):
        return [line for line in text.splitlines() if line.startswith("RESI")]

    written = tmp_path / "p21c_crystalx.res"
    assert non_h_addresses(written) == non_h_addresses(res)  # C2_3 is C2 under RESI 3 in both
    assert resi_lines(written.read_text()) == resi_lines(res.read_text())
    text = written.read_text()
    assert "SADI_CCF3 0.02 C1 C2 C1 C3 C1 C4" in text and "SAME_CCF3 O1 > F9" in text


def test_assign_with_reflections_prints_each_change_the_data_made(tmp_path, shared_data, capsys):
    """Issue 23: alanine's atoms as Q-peaks whose heights mislead the baseline (N1 as high as
    a C, C2 as high as an N): the terminal names both changes the data made, with the count
    and the posterior, and the JSON carries each atom's evidence."""
    entry = BENCHMARK / "XH_alanine"
    text = (entry / "published.res").read_text()
    header = text[: text.index("FVAR")]
    heights = {"O": 3.0, "N": 2.5, "C": 2.0}
    misleading = {"N1": heights["C"], "C2": heights["N"]}
    peaks = [
        f"Q{k + 1} 1 {s.frac[0]:.6f} {s.frac[1]:.6f} {s.frac[2]:.6f} 11.0 0.05 "
        f"{misleading.get(s.label, heights[s.element]):.2f}"
        for k, s in enumerate(
            s for s in read_shelx(entry / "published.res").to_structure().sites if s.element != "H"
        )
    ]
    res = tmp_path / "peaks.res"
    res.write_text(header + "FVAR 1.0\n" + "\n".join(peaks) + "\nHKLF 4\nEND\n")
    args = ["assign", str(res), "--hkl", str(entry / "data.hkl"), "--method", "baseline"]
    assert main(args + ["--quiet"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if " by the data: " in line]
    assert len(notes) == 2, notes
    assert any(": C → N by the data: refined as " in line for line in notes)
    assert any(": N → C by the data: refined as " in line for line in notes)
    assert all(re.search(r"posterior [CN] \d\.\d\d", line) for line in notes)
    report = json.loads((tmp_path / "peaks_crystalx.json").read_text())
    changed = {
        a["label"]: a["evidence"]
        for a in report["atoms"]
        if a["evidence"]["before"] != a["element"]
    }
    assert {label: (e["before"], e["decision"]) for label, e in changed.items()} == {
        "Q3": ("C", "N"),
        "Q5": ("N", "C"),
    }
    assert all(e["summary"].startswith("refined as ") for e in changed.values())


@pytest.mark.parametrize("wavelength", ["0.0251", "6"])
def test_assign_with_data_of_another_radiation_is_one_line_naming_the_cell_card(
    tmp_path, shared_data, capsys, wavelength
):
    """Electron (0.0251 Å) or soft X-ray (6 Å) data are refused as the service leaves them out
    (one check, io.hkl.xray_problem), naming the CELL line, and nothing is written."""
    entry = BENCHMARK / "XH_alanine"
    text = (entry / "published.res").read_text()
    cell = next(line for line in text.splitlines() if line.startswith("CELL"))
    number = text.splitlines().index(cell) + 1
    res = tmp_path / "x.res"
    res.write_text(text.replace(cell, "CELL " + wavelength + " " + cell.split(None, 2)[2]))
    args = ["assign", str(res), "--hkl", str(entry / "data.hkl"), "--quiet"]
    assert main(args + ["--method", "baseline"]) == EXIT_INPUT
    error = capsys.readouterr().err
    assert error == (
        f"crystalx: error: {res}:{number}: CELL: wavelength {wavelength} Å is not X-ray; "
        "CrystalX refines X-ray data\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.res"]
    assert main(["assign", str(res), "--quiet", "--method", "baseline"]) == 0  # no data: fine


@pytest.mark.parametrize(
    "argv, named",
    [
        (["assign", "x.res", "--cycles", "-3"], "--cycles"),
        (["solve", "x.ins", "--cycles", "0"], "--cycles"),
        (["batch", "folder", "--workers", "0"], "--workers"),
        (["pxrd"], "--from-cif"),
    ],
)
def test_an_impossible_request_is_a_usage_error_before_any_work(tmp_path, capsys, argv, named):
    """A negative cycle count used to run with none, --workers 0 quietly took all cores, and
    `pxrd` with nothing to read exited 1 (a job error) instead of 2 as other usage errors."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == EXIT_INPUT
    err = capsys.readouterr().err
    assert named in err.splitlines()[-1] and "Traceback" not in err


def test_a_second_audit_says_which_backups_it_kept(tmp_path, shared_data, capsys):
    cif = tmp_path / "urea.cif"
    shutil.copy(BENCHMARK / "XH_urea" / "model.cif", cif)
    assert main(["audit", str(cif), "--quiet", "--method", "baseline"]) == 0
    assert "kept the previous output" not in capsys.readouterr().out
    assert main(["audit", str(cif), "--quiet", "--method", "baseline"]) == 0
    out = capsys.readouterr().out
    for name in ("urea_audit.json.bak", "urea_audit.html.bak"):
        assert (
            tmp_path / name
        ).is_file() and f"kept the previous output as {tmp_path / name}" in out


def test_each_command_help_names_its_own_default_output(capsys):
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "<input>_audit" in text and "<input>_crystalx" not in text
    assert "the first with atoms" in text


def test_an_out_prefix_that_names_an_input_is_an_output_error_saying_what_to_do(
    tmp_path, shared_data, capsys
):
    res = tmp_path / "sucrose.res"
    shutil.copy(BENCHMARK / "FC_sucrose" / "published.res", res)
    before = _digest(res)
    assert main(["assign", str(res), "--out", str(tmp_path / "sucrose"), "--quiet"]) == 73
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(res) in err and "--out" in err
    assert _digest(res) == before and sorted(p.name for p in tmp_path.iterdir()) == ["sucrose.res"]


def test_out_may_name_a_folder_or_an_outputs_own_name(tmp_path, shared_data, capsys, monkeypatch):
    """--out . (or a folder) writes the default names there (it was an internal error, and a
    folder/ wrote folder.res beside it); --out x.res writes x.res, not x.res.res, and --out
    naming the input that way is still refused."""
    res = tmp_path / "urea.res"
    shutil.copy(BENCHMARK / "XH_urea" / "published.res", res)
    before = _digest(res)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    for out, written in (("out", "out/urea_crystalx"), (".", "urea_crystalx"), ("x.res", "x")):
        assert main(["assign", str(res), "--out", out, "--quiet"]) == 0, out
        assert (tmp_path / f"{written}.res").is_file() and (tmp_path / f"{written}.json").is_file()
    assert main(["assign", str(res), "--out", str(res), "--quiet"]) == 73
    assert _digest(res) == before
    assert not list(tmp_path.glob("*.res.*")) and not (tmp_path / "out.res").exists()
    capsys.readouterr()


def test_a_site_note_is_printed_once(tmp_path, shared_data, capsys):
    """XH_HMaMg with the rules' H counts: the difference map adds O1's H, a change the job's
    notes list and the site's own note gives; it was printed under the site and again among
    the job's notes (seen first on COD 2240189's split sites)."""
    entry = shared_data / "benchmark" / "XH_HMaMg"
    shutil.copy(entry / "published.res", tmp_path / "x.res")
    shutil.copy(entry / "data.hkl", tmp_path / "x.hkl")
    arguments = ["assign", str(tmp_path / "x.res"), "--hkl", str(tmp_path / "x.hkl")]
    assert main([*arguments, "--hydrogens", "rules"]) == 0  # --quiet prints no site notes
    out = capsys.readouterr().out
    told = [line for line in out.splitlines() if "by the difference map" in line]
    assert told and len(told) == len({line.split(":", 1)[1] for line in told}), told
    assert all(line.startswith("  note ") for line in told)


def test_out_with_a_trailing_separator_is_a_folder_made_where_it_is_not_there(
    tmp_path, monkeypatch
):
    """`--out results/` for a folder not made yet: argparse's Path() dropped the separator and
    the outputs were written as results.res, results.cif beside it. A trailing separator says
    folder: it is made and the default names go into it."""
    res = tmp_path / "w.res"
    res.write_text(
        "TITL w\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
        "SYMM -X, 1/2+Y, 1/2-Z\nSFAC C H O\nUNIT 8 16 8\nFVAR 1\nC1 1 0.1 0.2 0.3 11 0.03\n"
        "O2 3 0.22 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    monkeypatch.chdir(tmp_path)
    args = ["assign", str(res), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main([*args, "--out", "results/"]) == 0
    assert (tmp_path / "results" / "w_crystalx.res").is_file()
    assert not list(tmp_path.glob("results.*"))
    assert main([*args, "--out", str(tmp_path / "deeper" / "run1") + "/"]) == 0
    assert (tmp_path / "deeper" / "run1" / "w_crystalx.json").is_file()


def test_quiet_leaves_out_the_site_notes_not_the_summary(tmp_path, shared_data, capsys):
    """--quiet (README: no progress bar, no per-site notes) on FC_sucrose, whose eight O–H
    under the user's AFIX 148 each carry a "kept" note: one counting line replaces them, the
    summary and the files written still print, and the notes stay in the JSON."""
    res = tmp_path / "sucrose.res"
    shutil.copy(BENCHMARK / "FC_sucrose" / "published.res", res)
    assert main(["assign", str(res)]) == 0
    loud = capsys.readouterr().out
    notes = [line for line in loud.splitlines() if line.startswith("  note ")]
    assert len(notes) == 8 and all("AFIX 148 kept" in line for line in notes)
    assert main(["assign", str(res), "--quiet", "--out", str(tmp_path / "q")]) == 0
    quiet = capsys.readouterr().out
    assert not [line for line in quiet.splitlines() if line.startswith("  note ")]
    assert "  8 site notes left out (--quiet): see the JSON's atoms" in quiet
    assert quiet.startswith("assigned 23 atoms") and "riding H placed: 22 on 19 atoms" in quiet
    assert "wrote " in quiet
    report = json.loads((tmp_path / "q.json").read_text())
    assert sum("AFIX 148 kept" in atom["note"] for atom in report["atoms"]) == 8


@pytest.mark.parametrize(
    "argv, dashed",
    [
        (["assign", "-x.res"], "-x.res"),
        (["audit", "-x.res", "--quiet"], "-x.res"),
        (["solve", "-x.res"], "-x.res"),
        (["assign", "x.res", "--hkl", "-x.hkl"], "-x.hkl"),
        (["batch", "-runs"], "-runs"),
        (["pxrd", "-x.xy"], "-x.xy"),
    ],
)
def test_a_file_named_with_a_leading_dash_is_named_in_the_usage_error(
    tmp_path, capsys, monkeypatch, argv, dashed
):
    """argparse takes `-x.res` (a file some program wrote, or a user named) for an unknown
    option: main said only 'the following arguments are required: model'. The line now names
    the word and the way to write it that every shell and option takes."""
    monkeypatch.chdir(tmp_path)
    for name in ("-x.res", "x.res", "-x.hkl", "-x.xy"):
        (tmp_path / name).write_text(STRUCTURE)
    (tmp_path / "-runs").mkdir()
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == EXIT_INPUT
    last = capsys.readouterr().err.splitlines()[-1]
    assert f"'{dashed}' begins with '-'" in last and f"./{dashed}" in last


def test_a_leading_dash_file_is_read_after_double_dash_or_as_dot_slash(
    tmp_path, capsys, monkeypatch
):
    """The two ways the hint and argparse give both reach the file; a negative value of an
    option, and names after `--`, get no hint (they are no options)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-x.res").write_text(STRUCTURE)
    assert main(["assign", *QUICK, "--quiet", "--", "-x.res"]) == 0
    assert main(["assign", *QUICK, "--quiet", "./-x.res"]) == 0
    assert (tmp_path / "-x_crystalx.res").is_file()
    capsys.readouterr()
    for argv in (["assign", "x.res", "--cycles", "-3"], ["assign", "--", "-x.res", "-y.res"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "begins with '-'" not in capsys.readouterr().err


@pytest.mark.parametrize("changed", ["model", "reflections"])
def test_an_input_saved_while_the_job_ran_is_named_in_its_outputs(
    tmp_path, shared_data, capsys, monkeypatch, changed
):
    """The .res saved by the user's editor, or the .hkl written on by the diffractometer, after
    `assign --hkl` read them: main wrote outputs of the versions read without a word, which
    look newer than the file beside them. The notes (summary, .json) now name it."""
    import crystalx_core.io
    from crystalx_core.io import Loaded

    res, hkl = tmp_path / "urea.res", tmp_path / "urea.hkl"
    shutil.copy(BENCHMARK / "XH_urea" / "published.res", res)
    shutil.copy(BENCHMARK / "XH_urea" / "data.hkl", hkl)
    real_load, real_read = crystalx_core.io.load, Loaded.read

    def load_then_edited(*args):
        loaded = real_load(*args)
        res.write_text(res.read_text().replace("HKLF", "REM edited\nHKLF", 1))
        return loaded

    def read_then_written_on(self, *args):
        reflections = real_read(self, *args)
        with hkl.open("a") as stream:
            stream.write("   1   0   0  100.00    1.00\n")
        return reflections

    if changed == "model":
        monkeypatch.setattr(crystalx_core.io, "load", load_then_edited)
    else:
        monkeypatch.setattr(Loaded, "read", read_then_written_on)
    assert main(["assign", str(res), "--hkl", str(hkl), *QUICK, "--cycles", "1"]) == 0
    name = res.name if changed == "model" else hkl.name
    said = f"{name} changed while the job ran: these outputs are of the version read"
    assert said in capsys.readouterr().out
    assert any(
        said in note for note in json.loads((tmp_path / "urea_crystalx.json").read_text())["notes"]
    )
