"""`crystalx batch`: a folder of real structures through the process pool, a broken file that
does not stop it, resuming, the CSV/HTML summary, and the same batch on a local Dask cluster."""

import csv
import json
import shutil
import subprocess
import sys

import pytest

from crystalx_core.batch import (
    BatchItem,
    BatchOptions,
    find_inputs,
    finished_row,
    run_batch,
    run_one,
)
from crystalx_core.batch_report import summary_csv, summary_html

from .conftest import BENCHMARK


@pytest.fixture
def folder(tmp_path, shared_data):
    for name in ("XH_alanine", "N2_epoxide"):
        shutil.copy(BENCHMARK / name / "model.cif", tmp_path / f"{name}.cif")
    shutil.copy(BENCHMARK / "XH_urea" / "model.cif", tmp_path / "urea.cif")
    shutil.copy(BENCHMARK / "XH_urea" / "data.hkl", tmp_path / "urea.hkl")
    shutil.copy(BENCHMARK / "FC_sucrose" / "published.res", tmp_path / "sucrose.res")
    (tmp_path / "sucrose.ins").write_text("not used: the .res of the same name wins\n")
    (tmp_path / "broken.res").write_text("TITL broken\nCELL 0.71 1 2\n")
    return tmp_path


def test_inputs_one_per_name_with_reflections_and_without_our_outputs(folder):
    (folder / "old_crystalx.res").write_text("an output of an earlier run\n")
    items = find_inputs(str(folder)).items
    assert [i.model.name for i in items] == [
        "N2_epoxide.cif",
        "XH_alanine.cif",
        "broken.res",
        "sucrose.res",
        "urea.cif",
    ]
    assert [i.model.name for i in find_inputs(str(folder / "*.cif")).items] == [
        "N2_epoxide.cif",
        "XH_alanine.cif",
        "urea.cif",
    ]


def test_the_command_assigns_the_folder_records_the_failure_and_resumes(folder):
    command = [
        sys.executable,
        "-m",
        "crystalx_core.cli",
        "batch",
        str(folder),
        "--workers",
        "2",
        "--quiet",
    ]
    first = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert first.returncode == 1, first.stderr  # one structure failed
    assert "4 of 5 structures assigned" in first.stdout and "broken" in first.stdout
    rows = list(csv.DictReader((folder / "crystalx_batch.csv").open()))
    assert {r["name"]: r["status"] for r in rows} == {
        "N2_epoxide": "ok",
        "XH_alanine": "ok",
        "broken": "failed",
        "sucrose": "ok",
        "urea": "ok",
    }
    assert "broken.res:2" in next(r["error"] for r in rows if r["name"] == "broken")
    assert (
        float(next(r["r1"] for r in rows if r["name"] == "urea")) < 0.05
    )  # refined against the reflections urea.cif carries (before urea.hkl beside it)
    # e Å⁻³, a clean map: 0.51 from the final refinement with the file's own WGHT 0 (1/σ²
    # weights, as its author refined; under 0.5 with WGHT 0.1); a missing atom leaves 2 or more
    assert 0.0 < float(next(r["diff_peak"] for r in rows if r["name"] == "urea")) < 0.6
    assert (
        next(r["diff_peak"] for r in rows if r["name"] == "sucrose") == ""
    )  # no reflections, no map
    for name in ("N2_epoxide", "XH_alanine", "sucrose", "urea"):
        assert json.loads((folder / f"{name}_crystalx.json").read_text())["atoms"]
    page = (folder / "crystalx_batch.html").read_text()
    assert page.count("<svg") == 2 and "broken" in page and "Flagged atoms" in page

    second = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=600)
    report = json.loads(second.stdout)
    assert [r["status"] for r in report["rows"]] == [
        "resumed",
        "resumed",
        "failed",
        "resumed",
        "resumed",
    ]
    (folder / "urea.cif").touch()  # the same content: still the version read
    (urea,) = [item for item in find_inputs(str(folder)).items if item.name == "urea"]
    assert finished_row(urea, BatchOptions())["status"] == "resumed"
    with (folder / "urea.cif").open("a") as cif:  # new model and data: that one is done again
        cif.write("# edited\n")
    third = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=600)
    assert [r["status"] for r in json.loads(third.stdout)["rows"]][4] == "ok"


def test_an_empty_folder_is_an_input_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "batch", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no .res, .ins or .cif" in done.stderr


def test_the_batch_runs_on_a_local_dask_cluster(folder, tmp_path):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    items = [i for i in find_inputs(str(folder)).items if i.model.suffix == ".cif"]
    options = BatchOptions(out=tmp_path / "out")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        rows = run_batch(items, options, scheduler=cluster.scheduler_address)
    assert [r["status"] for r in rows] == ["ok"] * len(items)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == sorted(
        f"{i.name}_crystalx.json" for i in items
    )


def test_an_unreachable_scheduler_is_a_clear_error(folder):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from crystalx_core.errors import CrystalXError

    with pytest.raises(CrystalXError, match="cannot reach the Dask scheduler"):
        run_batch([BatchItem(folder / "urea.cif")], BatchOptions(), scheduler="tcp://127.0.0.1:9")


def test_a_model_that_does_not_explain_the_data_is_no_solution_in_the_batch_table(tmp_path):
    """The job's verdict (report 'success': false) reaches the row, not 'ok'."""
    from crystalx_core.batch import NO_SOLUTION, BatchItem, row_from_report
    from crystalx_core.batch_report import summary_html

    atom = {"new_label": "C1", "element": "C", "probabilities": [["C", 0.99], ["N", 0.01]]}
    report = {
        "method": "model",
        "atoms": [atom],
        "refinement": {"r1": 0.31},
        "success": False,
        "failure": "final R1 0.3100 is over 0.20",
    }
    item = BatchItem(model=tmp_path / "x.res")
    row = row_from_report(item, report, seconds=1.0)
    assert (row["status"], row["error"]) == (NO_SOLUTION, "final R1 0.3100 is over 0.20")
    assert row_from_report(item, {**report, "success": True}, seconds=1.0)["status"] == "ok"
    assert "<tr class='failed'><td>x</td><td>no solution</td>" in summary_html([row], "t")


def test_batch_out_naming_a_file_is_one_line_before_any_work(tmp_path, shared_data, capsys):
    """`--out x.res` (a file, as assign takes it) was 'cannot lock the folder: File exists'."""
    from crystalx_core.cli import main

    shutil.copy(BENCHMARK / "XH_urea" / "published.res", tmp_path / "urea.res")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "urea.res"), "--quiet"]) == 73
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "urea.res" in err and "folder" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("card", ["HKLF 6"])
def test_a_twin_in_the_folder_is_assigned_and_its_row_says_why_not_refined(
    tmp_path, shared_data, card
):
    """XH_urea's published .res declared an HKLF 6 twin beside its .hkl: the
    batch assigns it as `assign` without --hkl would, and the row says why it is not refined
    (before, the whole structure failed); a second run resumes it with the same note. (TWIN
    with HKLF 4 is refined: test_input_cases.test_a_cif_whose_res_says_twin_refines_..., and
    HKLF 5 too: test_hklf5.py)"""
    res = (BENCHMARK / "XH_urea" / "published.res").read_text()
    (tmp_path / "urea.res").write_text(res.replace("HKLF 4", card))
    shutil.copy(BENCHMARK / "XH_urea" / "data.hkl", tmp_path / "urea.hkl")
    for status in ("ok", "resumed"):
        (row,) = run_batch(find_inputs(str(tmp_path)).items, BatchOptions(), workers=1)
        assert (row["status"], row["hkl"]) == (status, "")
        assert row["error"] == ""  # a finished job: the reason is its note, not an error
        assert row["note"].startswith("not refined: ") and "SHELXL or Olex2" in row["note"]
    (written,) = csv.DictReader(summary_csv([row]).splitlines())
    assert (written["error"], written["note"]) == ("", row["note"])
    assert "<th>error</th><th>note</th>" in summary_html([row], "t")
    report = json.loads((tmp_path / "urea_crystalx.json").read_text())
    assert report["refinement"] in (None, {}) and any("not refined" in n for n in report["notes"])


def test_resuming_without_refinement_does_not_read_the_model_again(
    tmp_path, shared_data, monkeypatch
):
    """--no-refine: a finished structure is resumed from its report and the model's stamp; its
    model is read only to find the reflections it names, which no refinement needs. A batch
    that refines does not resume that unrefined job when the structure names reflections (here
    the CIF's own): main did, by the files' times, and never refined it."""
    shutil.copy(BENCHMARK / "XH_alanine" / "model.cif", tmp_path / "alanine.cif")
    options = BatchOptions(refine=False, method="baseline")
    (item,) = find_inputs(str(tmp_path)).items
    (row,) = run_batch([item], options, workers=1)
    assert row["status"] == "ok"
    reads = []
    real_load = BatchItem.load

    def counted_load(self):  # the real BatchItem.load, counted
        reads.append(self.model)
        return real_load(self)

    monkeypatch.setattr(BatchItem, "load", counted_load)
    resumed = finished_row(item, options)
    assert resumed is not None and resumed["status"] == "resumed" and reads == []
    assert finished_row(item, BatchOptions(method="baseline")) is None and reads


def test_a_cif_with_its_own_refln_loop_is_refined_and_so_is_one_without_sigma(
    tmp_path, shared_data
):
    """COD CIFs carry their measured Fo² as a _refln loop, not as SHELXL's _shelx_hkl_file:
    sf_p-1_a's (published R1 0.0302) was read by `assign X.cif --hkl X.cif` but ignored by the
    batch (no R1, no note), by `solve X.cif` (no reflections) and by `audit X.cif`. Now it is
    the file's reflections for every command. COD 2019572's loop of Fo² and Fc² has no σ: the
    batch assigned it unrefined ('not refined: ... needs _refln_F_squared_sigma'); it refines it
    now, σ estimated as SHELXL weighs σ 0 (R1 0.0120, published 0.0117), and its row's note says
    so, again on resuming (from the report's refinement.sigmas_estimated)."""
    corpus = shared_data / "corpus"
    shutil.copy(corpus / "sf_p-1_a.cif", tmp_path / "pa.cif")
    shutil.copy(corpus / "codtools_2019572.cif", tmp_path / "nosigma.cif")
    for status in ("ok", "resumed"):
        rows = {
            r["name"]: r for r in run_batch(find_inputs(str(tmp_path)).items, BatchOptions(), 1)
        }
        assert rows["pa"]["status"] == status and rows["pa"]["hkl"] == str(tmp_path / "pa.cif")
        assert abs(rows["pa"]["r1"] - 0.0302) < 0.005 and rows["pa"].get("note", "") == ""
        estimated = rows["nosigma"]
        assert (estimated["status"], estimated["hkl"], estimated["error"]) == (
            status,
            str(tmp_path / "nosigma.cif"),
            "",
        )
        assert estimated["r1"] < 0.0117 + 0.002
        assert estimated["note"] == (  # the summary says what the R1 beside it rests on
            "refined with σ estimated: nosigma.cif gives none (each 1 % of the median Fo², "
            "weights from WGHT alone)"
        )


def test_a_loop_without_sigma_leaves_the_hkl_beside_it_and_a_broken_own_loop_fails(
    tmp_path, shared_data
):
    """A CIF's _refln loop without σ hid the same-named .hkl: the batch assigned pa.cif
    unrefined ('not refined: ... needs σ') where pa.hkl beside it holds the data. It is refined
    against pa.hkl now. A loop that can be read but holds a bad value is not 'unrefinable' (a
    note, status ok), it is a broken input: the row fails naming file and line, as a broken
    .hkl's does."""
    from .test_reflection_formats import sf_p1a_without_sigma

    cif, hkl = sf_p1a_without_sigma(shared_data, tmp_path)
    text = (shared_data / "corpus" / "sf_p-1_a.cif").read_text()
    good = " 3 0 0 35.38 0.28\n"
    (tmp_path / "bad.cif").write_text(text.replace(good, " 3 0 0 35.3B 0.28\n"))
    line = text[: text.index(good)].count("\n") + 1
    rows = {r["name"]: r for r in run_batch(find_inputs(str(tmp_path)).items, BatchOptions(), 1)}
    pa = rows["pa"]
    assert (pa["status"], pa["hkl"], pa.get("note", "")) == ("ok", str(hkl), "")
    assert abs(pa["r1"] - 0.0302) < 0.005
    bad = rows["bad"]
    assert bad["status"] == "failed" and bad.get("note", "") == ""
    assert (
        bad["error"]
        == f"{tmp_path / 'bad.cif'}:{line}: _refln_F_squared_meas: '35.3B' is not a number"
    )


@pytest.mark.parametrize("changed", ["model", "reflections"])
def test_an_input_saved_while_its_job_ran_is_done_again_by_the_next_batch(
    tmp_path, shared_data, monkeypatch, changed
):
    """The resume took outputs newer than their inputs as finished, but an input saved while
    the job ran (the .res by an editor after the job read it; the .hkl a diffractometer was
    still writing, read half-way) is older than the outputs: main's next batch resumed the
    outputs of the version it never had. The report now keeps the inputs' stamps taken before
    reading, and the next batch redoes the structure, then resumes it."""
    import crystalx_core.io
    from crystalx_core.batch import run_one

    res, hkl = tmp_path / "urea.res", tmp_path / "urea.hkl"
    shutil.copy(BENCHMARK / "XH_urea" / "published.res", res)
    lines = (BENCHMARK / "XH_urea" / "data.hkl").read_text().splitlines(keepends=True)
    half = len(lines) // 2
    hkl.write_text("".join(lines[:half] if changed == "reflections" else lines))

    def saved_meanwhile(real):
        def read_then_saved(*args):
            value = real(*args)
            if changed == "model":  # the user's editor saves the model again (a line more)
                res.write_text(res.read_text().replace("HKLF", "REM edited\nHKLF", 1))
            else:  # the rest of the reflections arrive
                with hkl.open("a") as stream:
                    stream.write("".join(lines[half:]))
            return value

        return read_then_saved

    if changed == "model":
        monkeypatch.setattr(BatchItem, "load", saved_meanwhile(BatchItem.load))
    else:
        read = saved_meanwhile(crystalx_core.io.find_reflections)
        monkeypatch.setattr(crystalx_core.io, "find_reflections", read)
    (item,) = find_inputs(str(tmp_path)).items
    options = BatchOptions(method="baseline", hydrogens="rules", cycles=1)
    assert run_one(item, options)["status"] == "ok"
    assert finished_row(item, options) is None
    monkeypatch.undo()
    assert run_one(item, options)["status"] == "ok"
    assert finished_row(item, options)["status"] == "resumed"


@pytest.mark.parametrize("changed", ["model", "reflections"])
def test_an_input_rewritten_at_its_size_and_time_is_done_again(tmp_path, shared_data, changed):
    """`cp -p`, `rsync -t` or a share's 2-s timestamps bring a new version of an input at the
    old one's size and modification time: main's stamps (size and time) took it for the version
    read and resumed outputs of the old. The stamps hold the content's hash now."""
    import os

    from crystalx_core.batch import run_one

    res, hkl = tmp_path / "urea.res", tmp_path / "urea.hkl"
    shutil.copy(BENCHMARK / "XH_urea" / "published.res", res)
    shutil.copy(BENCHMARK / "XH_urea" / "data.hkl", hkl)
    (item,) = find_inputs(str(tmp_path)).items
    options = BatchOptions(method="baseline", hydrogens="rules", cycles=1)
    assert run_one(item, options)["status"] == "ok"
    assert finished_row(item, options)["status"] == "resumed"
    path = res if changed == "model" else hkl
    old, text = path.stat(), path.read_text()
    # a digit of a coordinate or of an intensity: the same size, another version
    new = text.replace("0.144653", "0.144655") if changed == "model" else text.replace("1", "2", 7)
    assert new != text and len(new) == len(text)
    path.write_text(new)
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert finished_row(item, options) is None
    assert run_one(item, options)["status"] == "ok"
    assert finished_row(item, options)["status"] == "resumed"


def test_a_rerun_says_which_earlier_outputs_and_summary_it_kept(tmp_path, shared_data, capsys):
    """A structure redone because its model changed since (the user refined it again) replaces
    x_crystalx.*, which the user may have edited since (opened in Olex2 and saved): they are
    kept as .bak, and main said so nowhere, the row's note now does; a rerun's summary
    replaces the last one (annotated in a spreadsheet, perhaps), kept as .bak: the terminal
    says so."""
    from crystalx_core.cli import main

    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    res = (BENCHMARK / "FC_sucrose" / "published.res").read_text()
    (data / "zk.res").write_text(res)
    command = ["batch", str(data), "--out", str(out), "--no-refine", "--method", "baseline"]
    command += ["--hydrogens", "rules", "--workers", "1"]
    assert main(command) == 0
    assert "kept as" not in capsys.readouterr().out
    mine = "REM my edit in Olex2\n"
    (out / "zk_crystalx.res").write_text(mine + (out / "zk_crystalx.res").read_text())
    (data / "zk.res").write_text(res.replace("FVAR", "REM refined again\nFVAR", 1))
    (item,) = find_inputs(str(data)).items
    row = run_one(item, BatchOptions("baseline", "rules", 1, out, refine=False))
    assert row["status"] == "ok"
    assert "the earlier outputs kept as zk_crystalx.res.bak, zk_crystalx.cif.bak" in row["note"]
    assert (out / "zk_crystalx.res.bak").read_text().startswith(mine)
    assert main(command) == 0  # resumed: the summary alone rewritten
    assert (
        f"wrote {out / 'crystalx_batch.csv'} and {out / 'crystalx_batch.html'} (the earlier ones "
        "kept as crystalx_batch.csv.bak and crystalx_batch.html.bak)"
    ) in capsys.readouterr().out
