"""`crystalx batch` on folders as instruments and programs leave them: Bruker APEX (SAINT,
SADABS, XPREP, SHELXT), a refinement beside SHELXT's solutions, Windows' letter case, a file
manager's copies, and a tree of one folder per dataset (Olex2's .olex, CrysAlisPro's files).
Which file is run as each crystal's structure, with which reflections, and what is named as
left out."""

import os
import shutil

import pytest

from crystalx_core.batch import BatchOptions, find_inputs, output_prefix, run_one

from .conftest import BENCHMARK

# SHELXL's refinement of SHELXT's solution DK_Zucker2_0m_a.res (dkratzert/FinalCif
# test-data/DK_Zucker2_0m.cif, _shelx_res_file): 'TITL DK_Zucker2_0m_a.res in P2(1)' and the
# 'REM SHELXT solution in P2(1)' lines SHELXT writes, kept by SHELXL
SUCROSE = BENCHMARK / "FC_sucrose" / "published.res"
HKL = "   1   0   0  100.00    2.00\n   0   0   0    0.00    0.00\n"


def _write(folder, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _solution(res: str, name: str) -> str:
    """SHELXT's .res of a solution, as far as a batch looks: the refined file without the
    TITL continuation lines SHELXL added (its own name, 'created by SHELXL'), titled as
    SHELXT titles each solution, 'TITL name_a.res in P2(1)'."""
    title, rest = res.split("\n", 1)
    while rest.startswith("    "):
        rest = rest.split("\n", 1)[1]
    return f"TITL {name} in{title.split(' in', 1)[1]}\n{rest}"


def _xprep_ins(res: str) -> str:
    """XPREP's name.ins for SHELXT: cell, symmetry and contents, no atoms."""
    return res[: res.index("L.S.")] + "TREF\nHKLF 4\nEND\n"


def _chosen(folder):
    """(model, reflections file, left out) of each structure batch finds, by relative paths."""
    rows = []
    for item in find_inputs(str(folder)).items:
        hkl = item.load().reflections_file()
        rows.append(
            (
                item.model.relative_to(folder).as_posix(),
                hkl and hkl.relative_to(folder).as_posix(),
                sorted(p.name for p in item.left_out),
            )
        )
    return rows


def test_an_apex_folder_runs_shelxts_first_solution_once(tmp_path, shared_data):
    """APEX leaves SAINT's name_0m.raw/._ls/.p4p, SADABS's name_0m.hkl/.abs, XPREP's name.ins
    (no atoms), name.hkl and name.prp, then SHELXT's name_a.res/.hkl and name_b.res/.hkl with
    name.lxt. One crystal: its first solution with the .hkl SHELXT wrote for it (in the
    solution's setting); main ran name_b.res as a second structure."""
    res = SUCROSE.read_text()
    other = ("raw", "_ls", "p4p", "abs")
    _write(tmp_path, {f"zk_0m.{ext}": "not a model\n" for ext in other})
    _write(tmp_path, {"zk.prp": "XPREP\n", "zk.lxt": "SHELXT listing\n"})
    _write(tmp_path, {"zk_0m.hkl": HKL, "zk.ins": _xprep_ins(res), "zk.hkl": HKL})
    _write(tmp_path, {"zk_a.res": _solution(res, "zk_a.res"), "zk_a.hkl": HKL})
    solution_b = _solution(res, "zk_b.res").replace("P2(1)", "P1")
    _write(tmp_path, {"zk_b.res": solution_b, "zk_b.hkl": HKL})
    assert _chosen(tmp_path) == [("zk_a.res", "zk_a.hkl", ["zk.ins", "zk_b.res"])]


def test_a_cif_with_atoms_is_run_before_an_ins_without(tmp_path, shared_data):
    """XPREP's name.ins (no atoms) left beside the finished name.cif (FinalCif's test CIF of
    sucrose, which carries its .hkl): the CIF is the structure; main ran the .ins and failed
    ('crystalx solve')."""
    _write(tmp_path, {"zk.ins": _xprep_ins(SUCROSE.read_text()), "zk.hkl": HKL})
    shutil.copy(SUCROSE.with_name("model.cif"), tmp_path / "zk.cif")
    assert _chosen(tmp_path) == [("zk.cif", "zk.cif", ["zk.ins"])]


def test_a_refinement_beside_shelxts_solutions_is_the_structure_run(tmp_path, shared_data):
    """After SHELXL (name.ins written from name_a.res, name.res its result) the solutions stay
    in the folder: the refinement is the crystal's structure, the solutions named as left
    out; main ran name_a.res as a second structure. A name_x.res that SHELXT did not write
    (no 'REM SHELXT solution') is a structure of its own."""
    res = SUCROSE.read_text()
    _write(tmp_path, {"zk.ins": res, "zk.res": res, "zk.hkl": HKL, "zk.lst": "SHELXL\n"})
    _write(tmp_path, {"zk_a.res": _solution(res, "zk_a.res"), "zk_a.hkl": HKL})
    unmarked = res.replace("REM SHELXT solution in", "REM solved in")
    _write(tmp_path, {"cu.res": unmarked, "cu_b.res": unmarked})
    assert _chosen(tmp_path) == [
        ("cu.res", None, []),
        ("cu_b.res", None, []),
        ("zk.res", "zk.hkl", ["zk.ins", "zk_a.res"]),
    ]


def test_a_refined_crystal_named_like_a_solution_stays_a_structure(tmp_path, shared_data):
    """SHELXL and Olex2 keep SHELXT's 'REM SHELXT solution in' and TITL lines when a solution
    is refined (FC_1979688's published.res, refined from cu_BruecknerJK_153F40_0m_a.res): a
    second crystal cu_b, solved as cu_b_a.res and refined as cu_b.res beside cu.res, is a
    structure of its own, not a solution of cu; only a file SHELXT titled with its own name
    (TITL cu_a.res in ...) is one."""
    _write(tmp_path, {"cu.res": SUCROSE.read_text(), "cu.hkl": HKL, "cu_b.hkl": HKL})
    shutil.copy(BENCHMARK / "FC_1979688" / "published.res", tmp_path / "cu_b.res")
    _write(tmp_path, {"cu_a.res": _solution(SUCROSE.read_text(), "cu_a.res")})
    assert _chosen(tmp_path) == [("cu.res", "cu.hkl", ["cu_a.res"]), ("cu_b.res", "cu_b.hkl", [])]


def test_names_that_differ_only_in_case_are_one_structure_with_its_reflections(
    tmp_path, shared_data
):
    """Windows ignores case, Linux does not: the sucrose folder held SHELXT's
    DK_Zucker2_0m_a.res and the refinement DK_zucker2_0m.res (its TITL lines); SADABS and DOS
    programs write NAME.HKL, and Olex2 names its HklSrc as typed. main ran both models, each
    unrefined, without a word."""
    res = SUCROSE.read_text()
    _write(
        tmp_path / "dk",
        {"DK_zucker2_0m.res": res, "DK_Zucker2_0m_a.res": _solution(res, "DK_Zucker2_0m_a.res")},
    )
    _write(tmp_path / "dk", {"DK_Zucker2_0m.HKL": HKL})
    _write(tmp_path / "win", {"Y.RES": res, "y.hkl": HKL})
    extras = 'REM <olex2.extras>\nREM <HklSrc "%.\\\\Z_ABS.HKL">\nREM </olex2.extras>\n'
    named = res.replace("HKLF 4\n", "HKLF 4\n" + extras)
    _write(tmp_path / "olex", {"z.res": named, "z.hkl": HKL, "z_abs.hkl": HKL})
    assert _chosen(tmp_path / "dk") == [
        ("DK_zucker2_0m.res", "DK_Zucker2_0m.HKL", ["DK_Zucker2_0m_a.res"])
    ]
    assert _chosen(tmp_path / "win") == [("Y.RES", "y.hkl", [])]
    assert _chosen(tmp_path / "olex") == [("z.res", "z_abs.hkl", [])]


def test_copies_and_backups_of_a_model_are_named_not_run(tmp_path, shared_data):
    """Windows Explorer's 'x - Copy.res', GNOME Files' 'x (copy).res', macOS's 'x copy.res',
    'Copy of x.res', a browser's 'x (1).res', x_old.res and FinalCif's x-finalcif.cif beside
    x.res are the same crystal's: main assigned each as a structure (unrefined: no
    x (copy).hkl). x.res.bak is no model; x_1.res and x2.res are other crystals."""
    res = SUCROSE.read_text()
    copies = ["x - Copy.res", "x (copy).res", "x copy.res", "Copy of x.res", "x (1).res"]
    _write(tmp_path, {name: res for name in ["x.res", *copies, "x_old.res", "x.res.bak"]})
    _write(tmp_path, {"x.hkl": HKL, "x_1.res": res, "x2.res": res})
    shutil.copy(SUCROSE.with_name("model.cif"), tmp_path / "x.cif")
    shutil.copy(SUCROSE.with_name("model.cif"), tmp_path / "x-finalcif.cif")
    assert _chosen(tmp_path) == [
        ("x.res", "x.hkl", sorted([*copies, "x-finalcif.cif", "x.cif", "x_old.res"])),
        ("x2.res", None, []),
        ("x_1.res", None, []),
    ]


def test_a_tree_of_dataset_folders_is_searched_within_limits(tmp_path, shared_data):
    """One folder per dataset is how diffractometers leave data: `batch ROOT` looks in each
    (main found nothing below ROOT: 'no .res, .ins or .cif files'). Two datasets' x.res are two
    structures; Olex2's hidden .olex (originals/x.res, its first file: olex2-gui olexex.py
    revert_to_original) is not searched, nor the batch's own --out, nor folders deeper than
    MAX_DEPTH; a link back up the tree is read once. A CrysAlisPro folder (exp_1.ins without
    atoms, .cif_od, .red, exp_1_twin1_hklf5.hkl) refined by Olex2 as exp_1.res against the
    twin file its HklSrc names."""
    from crystalx_core.batch_inputs import MAX_DEPTH  # not on main

    res = SUCROSE.read_text()
    for dataset in ("s1", "s2"):
        _write(tmp_path / dataset, {"x.res": res, "x.hkl": HKL})
    _write(tmp_path / "s1" / ".olex" / "originals", {"x.res": res})
    twin = 'REM <olex2.extras>\nREM <HklSrc "%.\\\\exp_1_twin1_hklf5.hkl">\nREM </olex2.extras>\n'
    crysalis = {"exp_1.ins": _xprep_ins(res), "exp_1.hkl": HKL, "exp_1.cif_od": "data_od\n"}
    crysalis |= {"exp_1.red": "", "exp_1_twin1_hklf5.hkl": HKL, "exp_1_twin2_hklf4.hkl": HKL}
    crysalis["exp_1.res"] = res.replace("HKLF 4\n", "HKLF 5\n" + twin)
    _write(tmp_path / "rigaku" / "exp_1", crysalis)
    deep = tmp_path.joinpath(*[f"d{k}" for k in range(MAX_DEPTH + 1)])
    _write(deep, {"deep.res": res})
    _write(deep.parent, {"shallow.res": res})
    _write(tmp_path / "out" / "s1", {"x_crystalx.res": res, "x.res": res})
    os.symlink(tmp_path, tmp_path / "s2" / "up")
    found = find_inputs(str(tmp_path), skip=tmp_path / "out")
    assert found.unsearched == [f"{deep} (deeper than {MAX_DEPTH} levels)"]
    items = found.items
    assert [item.label for item in items] == [
        f"{deep.parent.relative_to(tmp_path).as_posix()}/shallow",
        "rigaku/exp_1/exp_1",
        "s1/x",
        "s2/x",
    ]
    assert [p.name for p in items[1].left_out] == ["exp_1.ins"]
    assert items[1].load().reflections_file().name == "exp_1_twin1_hklf5.hkl"
    assert _chosen(tmp_path / "s1") == [("x.res", "x.hkl", [])]
    # --out naming the folder given itself (`batch s1 --out s1`, as on main): still searched
    assert [item.label for item in find_inputs(str(tmp_path / "s1"), tmp_path / "s1").items] == [
        "x"
    ]


def test_a_folder_not_searched_is_said_in_one_line(tmp_path, monkeypatch, capsys):
    """A dataset folder the batch may not read (another user's, mode 700) held its structures
    out of the batch without a word; the batch says which folder it could not search."""
    from crystalx_core import batch_inputs
    from crystalx_core.cli import main

    (tmp_path / "s1").mkdir()
    scandir = os.scandir

    def denied(folder):  # as os.scandir on a folder without read permission (tests run as root)
        if os.path.basename(folder) == "s1":
            raise PermissionError(13, "Permission denied", str(folder))
        return scandir(folder)

    monkeypatch.setattr(batch_inputs.os, "scandir", denied)
    assert main(["batch", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"crystalx: not searched: {tmp_path / 's1'} (Permission denied)"


def test_each_datasets_outputs_go_to_its_own_folder_under_out(tmp_path, shared_data):
    """With --out, two datasets' x.res write out/s1/x_crystalx.* and out/s2/x_crystalx.*, never
    one over the other; each row names its dataset."""
    res = SUCROSE.read_text()
    for dataset in ("s1", "s2"):
        _write(tmp_path / "data" / dataset, {"x.res": res})
    shutil.copy(SUCROSE, tmp_path / "data" / "top.res")
    options = BatchOptions("baseline", "rules", 1, tmp_path / "out", refine=False)
    items = find_inputs(str(tmp_path / "data")).items
    assert [output_prefix(item, options).relative_to(tmp_path).as_posix() for item in items] == [
        "out/s1/x_crystalx",
        "out/s2/x_crystalx",
        "out/top_crystalx",
    ]
    rows = [run_one(item, options) for item in items[:2]]
    assert [(row["name"], row["status"]) for row in rows] == [("s1/x", "ok"), ("s2/x", "ok")]
    assert all((tmp_path / "out" / d / "x_crystalx.res").is_file() for d in ("s1", "s2"))


def test_a_tree_batch_holds_one_lock_and_stops_a_batch_below_or_above_it(tmp_path):
    """A batch held one open lock per output folder: a tree of 300 datasets was 300 open
    files (macOS allows 256 a process), each folder left with a lock file. It holds the
    folder it was given; a batch on a dataset inside it, or on the tree around one running,
    stops with the one line, and so does a batch on ROOT while one on ROOT/lab runs."""
    from crystalx_core.batch import LOCK_NAME, _folders_locked
    from crystalx_core.errors import CrystalXError

    datasets = {tmp_path / f"s{k:03d}" for k in range(300)}
    with _folders_locked(datasets, {tmp_path}):
        assert not any((folder / LOCK_NAME).exists() for folder in datasets)
        assert (tmp_path / LOCK_NAME).is_file()
        with pytest.raises(CrystalXError, match="another crystalx batch"):
            with _folders_locked({tmp_path / "s001"}, {tmp_path / "s001"}):
                pass
    with _folders_locked({tmp_path / "s001"}, {tmp_path / "s001"}):
        with pytest.raises(CrystalXError, match="another crystalx batch"):
            with _folders_locked(datasets, {tmp_path}):
                pass
    with _folders_locked(datasets, {tmp_path}):  # each let go when its batch ended
        pass
    lab = tmp_path / "lab"  # a batch on ROOT/lab running; a batch on ROOT writes into it
    with _folders_locked({lab / "s1", lab / "s2"}, {lab}):
        with pytest.raises(CrystalXError, match="another crystalx batch"):
            with _folders_locked({lab / "s1", tmp_path / "s001"}, {tmp_path}):
                pass


def _aged(path, seconds: float) -> None:
    """Set the file's modification time `seconds` after its folder's other files' (or before)."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + int(seconds * 1e9)))


def test_an_ins_edited_after_shelxls_last_run_is_the_structure_read(tmp_path, shared_data):
    """SHELXL reads name.ins and writes name.res; the user copies name.res to name.ins, edits
    it and runs SHELXL again. Olex2's reap opens the newer of the two (pcxod/olex2
    olex/xpprocs.cpp, TMainForm::macReap: FileAge(ins) < FileAge(res) ? res : ins): an .ins
    saved after the .res is the user's latest model, which main passed over for the .res.
    Within 2 s (a folder copied or unpacked at once; FAT keeps times to 2 s) the .res, SHELXL's
    result, is read. The row says how long after the .res the .ins was saved (main said only
    'after'): 5 min of an edit, or the 7 s of a copy over a slow share that did not keep the
    times, for the user to tell apart."""
    res = SUCROSE.read_text()
    edited = res.replace("FVAR", "REM O1 is OH, not O\nFVAR", 1)
    _write(tmp_path / "edited", {"zk.res": res, "zk.ins": edited, "zk.hkl": HKL})
    _aged(tmp_path / "edited" / "zk.ins", 300)
    _write(tmp_path / "run", {"zk.res": res, "zk.ins": edited, "zk.hkl": HKL})
    _aged(tmp_path / "run" / "zk.res", 300)
    _write(tmp_path / "copied", {"zk.res": res, "zk.ins": edited})
    _aged(tmp_path / "copied" / "zk.ins", 1)
    (item,) = find_inputs(str(tmp_path / "edited")).items
    assert (item.model.name, [p.name for p in item.left_out]) == ("zk.ins", ["zk.res"])
    assert "zk.ins saved 5 min after zk.res" in item.why
    _write(tmp_path / "share", {"zk.res": res, "zk.ins": edited})
    _aged(tmp_path / "share" / "zk.ins", 7)
    assert "zk.ins saved 7 s after zk.res" in find_inputs(str(tmp_path / "share")).items[0].why
    assert [(i.model.name, i.why) for i in find_inputs(str(tmp_path / "run")).items] == [
        ("zk.res", "")
    ]
    assert [i.model.name for i in find_inputs(str(tmp_path / "copied")).items] == ["zk.res"]
    # an edit that breaks the .ins: its failed row says why the .ins, not the .res, was read
    _write(tmp_path / "typo", {"zk.res": res, "zk.ins": res.replace("O1    3 ", "O1    9 ", 1)})
    _aged(tmp_path / "typo" / "zk.ins", 300)
    (item,) = find_inputs(str(tmp_path / "typo")).items
    row = run_one(item, BatchOptions("baseline", "rules", 1, tmp_path / "out", refine=False))
    assert (row["status"], row["note"]) == ("failed", item.why)
    assert "SFAC index 9" in row["error"] and "zk.ins saved 5 min after zk.res" in item.why


def test_a_solution_saved_with_a_bom_and_crlf_is_still_shelxts(tmp_path, shared_data):
    """A SHELXT solution opened and saved on Windows (Notepad: CRLF line ends, a UTF-8 byte
    order mark; 'Unicode': UTF-16) beside the refinement: main no longer saw SHELXT's title
    behind the BOM and ran it as a crystal of its own."""
    res = SUCROSE.read_text()
    _write(tmp_path, {"zk.res": res, "zk.hkl": HKL})
    crlf = _solution(res, "zk_a.res").replace("\n", "\r\n")
    (tmp_path / "zk_a.res").write_bytes(b"\xef\xbb\xbf" + crlf.encode())
    (tmp_path / "zk_b.res").write_bytes(_solution(res, "zk_b.res").encode("utf-16"))
    assert _chosen(tmp_path) == [("zk.res", "zk.hkl", ["zk_a.res", "zk_b.res"])]


def test_a_renamed_solution_is_its_crystals_structure_and_names_its_source(tmp_path, shared_data):
    """SHELXL keeps SHELXT's title (FC_sucrose: DK_zucker2_0m.res titled DK_Zucker2_0m_a.res),
    so a file's TITL names the solution it came from. A solution copied under a name of the
    user's (zk_rt.ins from zk_b.res, refined as zk_rt.res with zk_rt.hkl) beside XPREP's zk.ins
    and SHELXT's zk_a.res/zk_b.res is that crystal's structure: main ran it and zk_a.res, the
    crystal twice. Its row names the solution refined (zk.res refined from zk_a.res says
    nothing: every refinement beside its solutions would). A file with reflections other than
    the crystal's (another crystal started from that solution), or one started from another
    refined dataset's model (n_293K from n_100K, TITL n_100K_a.res), is a dataset of its own."""
    res = SUCROSE.read_text()
    _write(tmp_path / "rt", {"zk.ins": _xprep_ins(res), "zk.hkl": HKL, "zk_rt.hkl": HKL})
    for letter in "ab":
        _write(tmp_path / "rt", {f"zk_{letter}.res": _solution(res, f"zk_{letter}.res")})
    refined = res.replace("DK_Zucker2_0m_a.res", "zk_b.res", 1)
    _write(tmp_path / "rt", {"zk_rt.res": refined, "zk_rt.ins": refined})
    (item,) = find_inputs(str(tmp_path / "rt")).items
    assert (item.model.name, [p.name for p in item.left_out]) == (
        "zk_rt.res",
        ["zk.ins", "zk_a.res", "zk_b.res", "zk_rt.ins"],
    )
    assert item.load().reflections_file().name == "zk_rt.hkl"
    assert "from SHELXT's zk_b.res" in item.why
    # the usual layout, zk.res refined from zk_a.res beside it: its name says so, no note
    _write(tmp_path / "apex", {"zk.ins": _xprep_ins(res), "zk.hkl": HKL})
    _write(tmp_path / "apex", {"zk_a.res": _solution(res, "zk_a.res")})
    _write(tmp_path / "apex", {"zk.res": res.replace("DK_Zucker2_0m_a.res", "zk_a.res", 1)})
    assert [(i.model.name, i.why) for i in find_inputs(str(tmp_path / "apex")).items] == [
        ("zk.res", "")
    ]
    # a second crystal of the compound started from that solution, with reflections of its own
    _write(tmp_path / "rt", {"cu2.res": refined, "cu2.hkl": HKL.replace("100.00", " 50.00")})
    assert [i.model.name for i in find_inputs(str(tmp_path / "rt")).items] == [
        "cu2.res",
        "zk_rt.res",
    ]
    temperatures = tmp_path / "temperatures"
    from_100k = res.replace("DK_Zucker2_0m_a.res", "n_100K_a.res", 1)
    _write(temperatures, {"n_100K.res": from_100k, "n_100K.hkl": HKL})
    _write(temperatures, {"n_100K_a.res": _solution(res, "n_100K_a.res")})
    _write(temperatures, {"n_293K.res": from_100k, "n_293K.hkl": HKL})
    assert _chosen(temperatures) == [
        ("n_100K.res", "n_100K.hkl", ["n_100K_a.res"]),
        ("n_293K.res", "n_293K.hkl", []),
    ]


def test_a_structure_without_reflections_says_why_in_its_row(tmp_path, shared_data, capsys):
    """A model with no reflections beside it was assigned with an empty R1 and no word; its
    row and the summary say model only and the names looked for, and a name.hkl.gz or
    name.hkl.zip (a repository's download) is named to be unpacked."""
    from crystalx_core.cli import main

    res = SUCROSE.read_text()
    _write(tmp_path / "data", {"alone.res": res, "packed.res": res})
    (tmp_path / "data" / "packed.hkl.gz").write_bytes(b"\x1f\x8b\x08\x00")
    options = BatchOptions("baseline", "rules", 1, tmp_path / "out")
    rows = [run_one(item, options) for item in find_inputs(str(tmp_path / "data")).items]
    assert [(row["status"], row["r1"]) for row in rows] == [("ok", None), ("ok", None)]
    assert rows[0]["note"] == (
        "model only: no reflections (looked for alone.hkl, alone.fcf and the .hkl inside "
        "alone.cif beside it, any case)"
    )
    assert "packed.hkl.gz is there: unpack it" in rows[1]["note"]
    assert main(["batch", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "  alone: model only: no reflections (looked for alone.hkl" in out


def test_real_folder_names_links_and_a_read_only_tree(tmp_path, shared_data):
    """A lab's share: names with spaces and accents, a link to a dataset on another disk, a
    link loop, the tree read-only with --out elsewhere; each dataset once, outputs under
    --out by its folder, nothing written in the tree (tests run as root: no mode stops a
    write, so the tree's files and times are checked unchanged). As on main."""
    from crystalx_core.cli import main

    res = SUCROSE.read_text()
    tree, other = tmp_path / "share", tmp_path / "other_disk"
    _write(tree / "Zücker β", {"my crystal.res": res, "my crystal.hkl": HKL})
    _write(other / "d1", {"e.res": res})
    os.symlink(other / "d1", tree / "linked")
    os.symlink(tree, tree / "Zücker β" / "loop")
    found = find_inputs(str(tree), tmp_path / "out")
    assert ([i.label for i in found.items], found.unsearched) == (
        ["Zücker β/my crystal", "linked/e"],
        [],
    )
    before = sorted((p, p.stat().st_mtime_ns) for p in tree.rglob("*") if "loop" not in p.parts)
    out = tmp_path / "out"
    args = ["--out", str(out), "--method", "baseline", "--hydrogens", "rules", "--quiet"]
    assert main(["batch", str(tree), *args, "--no-refine", "--workers", "1"]) == 0
    assert (out / "Zücker β" / "my crystal_crystalx.res").is_file()
    assert (out / "linked" / "e_crystalx.res").is_file()
    after = sorted((p, p.stat().st_mtime_ns) for p in tree.rglob("*") if "loop" not in p.parts)
    assert after == before


def test_a_refinement_kept_with_its_cif_is_refined_against_the_hkl_inside(tmp_path, shared_data):
    """SHELXL 2014+ writes name.cif beside name.res with the .hkl inside (_shelx_hkl_file), and
    a folder kept as deposited drops the .hkl: FinalCif's DK_Zucker2_0m.cif beside SHELXL's
    DK_zucker2_0m.res (its case as SHELXL wrote it). Main assigned the .res without reflections
    ('model only'), the CIF left out; the .res is now refined against the .hkl in the CIF,
    the same reflections as the .hkl itself. A CIF without the .hkl inside is no reflections."""
    import numpy as np

    from crystalx_core.io import find_reflections

    _write(tmp_path / "kept", {"DK_zucker2_0m.res": SUCROSE.read_text()})
    shutil.copy(BENCHMARK / "FC_sucrose" / "model.cif", tmp_path / "kept" / "DK_Zucker2_0m.cif")
    assert _chosen(tmp_path / "kept") == [
        ("DK_zucker2_0m.res", "DK_Zucker2_0m.cif", ["DK_Zucker2_0m.cif"])
    ]
    (item,) = find_inputs(str(tmp_path / "kept")).items
    loaded = item.load()
    inside, alone = find_reflections(loaded), loaded.read(BENCHMARK / "FC_sucrose" / "data.hkl")
    assert len(inside.indices) == len(alone.indices) > 1000
    assert np.array_equal(inside.indices, alone.indices)
    assert np.array_equal(inside.intensities, alone.intensities)
    from crystalx_core.cli import _files_read  # not on main, whose line was 'with x.cif, not x.cif'

    row = {"model": str(item.model), "hkl": inside.path, "left_out": list(map(str, item.left_out))}
    line = "read DK_zucker2_0m.res with the .hkl inside DK_Zucker2_0m.cif"
    assert _files_read(row, no_refine=False) == line
    # SHELXL's CIF without the .hkl (an older SHELXL, or one cut for a journal): model only
    _write(
        tmp_path / "cut", {"x.res": SUCROSE.read_text(), "x.cif": "data_x\n_cell_length_a 7.7\n"}
    )
    (item,) = find_inputs(str(tmp_path / "cut")).items
    assert item.load().reflections_file() is None


def test_a_crystal_solved_in_a_subfolder_is_run_once_without_its_unsolved_ins(tmp_path):
    """CrysAlisPro leaves exp_1/exp_1.ins (cell and contents, no atoms) with exp_1.hkl, and
    AutoChem solves and refines a copy in exp_1/struct/olex2_exp_1/ (FlorianMeurer/
    plugin-SISYPHOS reads exp_1/struct/olex2_exp_1/exp_1.ins there). Main ran the structure
    there and failed the crystal again on exp_1.ins ('a structure still to solve'); that .ins
    is now left out of the structure below it, the row's note saying why. An unsolved .ins
    whose name is not solved below still runs (and fails, saying to solve it)."""
    res = SUCROSE.read_text()
    _write(
        tmp_path / "exp_1",
        {"exp_1.ins": _xprep_ins(res), "exp_1.hkl": HKL, "exp_1.cif_od": "data_od\n"},
    )
    _write(
        tmp_path / "exp_1" / "struct" / "olex2_exp_1",
        {"exp_1.ins": res, "exp_1.res": res, "exp_1.hkl": HKL},
    )
    _write(tmp_path / "lab", {"x.ins": _xprep_ins(res), "sub/y.res": res})
    items = find_inputs(str(tmp_path)).items
    assert [(item.label, item.model.name) for item in items] == [
        ("exp_1/struct/olex2_exp_1/exp_1", "exp_1.res"),
        ("lab/sub/y", "y.res"),
        ("lab/x", "x.ins"),
    ]
    assert [p.relative_to(tmp_path).as_posix() for p in items[0].left_out] == [
        "exp_1/exp_1.ins",
        "exp_1/struct/olex2_exp_1/exp_1.ins",
    ]
    assert items[0].why == "exp_1/exp_1.ins left out: no atoms, the crystal before it was solved"


def test_a_datasets_frames_are_passed_over_as_the_tree_is_listed(tmp_path):
    """APEX leaves thousands of .sfrm frames in each dataset folder (CrysAlisPro its .rodhypix
    images): main held a path for every file of the tree before choosing the structures
    (+184 MiB of RSS for 200 datasets of 3000 frames, docs/benchmarks.md); the files kept are
    those named as structures, in any case."""
    from crystalx_core.batch_inputs import model_files

    _write(tmp_path / "s1", {"s1.res": "x", "S1.INS": "x", "s1.hkl": HKL, "s1.cif": "data_s1\n"})
    _write(tmp_path / "s1", {f"s1_01_{k:04d}.sfrm": "" for k in range(50)} | {"s1.p4p": ""})
    _write(tmp_path / "s1" / "struct", {"exp.rodhypix": "", "exp.mcif": "data_m\n"})
    found, unsearched = model_files(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "s1/S1.INS",
        "s1/s1.cif",
        "s1/s1.res",
        "s1/struct/exp.mcif",
    ]
    assert unsearched == []


def test_a_cif_of_another_crystal_beside_a_res_is_not_its_reflections(tmp_path, shared_data):
    """A name.cif beside name.res may be another structure's (a CIF saved over by the next
    dataset's, or named alike): SHELXL's CIF of L-alanine (XH_alanine's model.cif, with its
    _shelx_hkl_file) beside sucrose's .res passed the reflection checks (2496 reflections
    read in sucrose's cell) and was refined against: the row failed at R1 0.53, 'another
    crystal's' (a crystal of a nearer cell would pass). The CIF's cell is read against the
    .res's CELL: another is not read (model only), and the row and solve's error say why."""
    from crystalx_core.errors import InputError
    from crystalx_core.io import solve_reflections

    _write(tmp_path, {"x.res": SUCROSE.read_text()})
    shutil.copy(BENCHMARK / "XH_alanine" / "model.cif", tmp_path / "x.cif")
    (item,) = find_inputs(str(tmp_path)).items
    loaded = item.load()
    assert loaded.reflections_file() is None
    said = loaded.no_reflections_note()
    assert "the .hkl inside x.cif beside it" in said
    assert "x.cif's .hkl (data_iam) not read: its cell (5.9279 12.2597 5.7939 90 90 90)" in said
    with pytest.raises(InputError) as error:
        solve_reflections(loaded, None)
    assert "x.cif's .hkl (data_iam) not read" in str(error.value)


def test_a_cif_block_named_as_another_file_writes_outputs_of_its_own(tmp_path, shared_data):
    """zk.cif of two structures (data_a, data_b) beside SHELXT's zk_a.res: the block's name,
    zk_a, is the .res's, and both jobs wrote zk_a_crystalx.*, the second replacing the first's
    (and a rerun redid both, each report naming the other's input). The block is named
    zk_cif_a, its row saying so."""
    import gemmi  # after crystalx_core (imported above), as cctbx needs

    block = gemmi.cif.read(str(BENCHMARK / "XH_alanine" / "model.cif")).sole_block()
    block.set_pair("_shelx_hkl_file", "?")  # the blocks' atoms are what matter here
    text = []
    for name in ("a", "b"):
        block.name = name
        text.append(block.as_string())
    _write(tmp_path, {"zk.cif": "\n".join(text), "zk_a.res": SUCROSE.read_text()})
    items = find_inputs(str(tmp_path)).items
    options = BatchOptions(out=tmp_path / "out")
    assert [(i.label, i.model.name, output_prefix(i, options).name) for i in items] == [
        ("zk_cif_a", "zk.cif", "zk_cif_a_crystalx"),
        ("zk_b", "zk.cif", "zk_b_crystalx"),
        ("zk_a", "zk_a.res", "zk_a_crystalx"),
    ]
    assert items[0].why == "named zk_cif_a, as zk_a is another file's name here"


def test_an_unsolved_ins_is_kept_where_the_same_name_below_is_another_crystal(tmp_path):
    """exp_1/exp_1.ins still to solve, and exp_1/old/exp_1.res of another crystal (L-alanine's
    cell, not sucrose's): that is not this crystal solved, so the .ins stays a row of its own
    (failing, saying to solve it) rather than being hidden behind another crystal's."""
    _write(tmp_path / "exp_1", {"exp_1.ins": _xprep_ins(SUCROSE.read_text()), "exp_1.hkl": HKL})
    shutil.copy(BENCHMARK / "XH_alanine" / "published.res", tmp_path / "exp_1" / "exp_1.res")
    (tmp_path / "exp_1" / "old").mkdir()
    (tmp_path / "exp_1" / "exp_1.res").rename(tmp_path / "exp_1" / "old" / "exp_1.res")
    items = find_inputs(str(tmp_path)).items
    assert [(item.label, item.left_out, item.why) for item in items] == [
        ("exp_1/exp_1", (), ""),
        ("exp_1/old/exp_1", (), ""),
    ]
