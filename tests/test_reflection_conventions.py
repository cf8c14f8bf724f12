"""Reflections as other programs write them (issue 23), each on a real file or a real file
changed in the test: a _refln loop without σ (COD 2019572), the status flags of CIF core and
mmCIF, unmerged raw data as a _diffrn_refln loop, dotted DDLm/mmCIF names, SHELXL .fcf files of
LIST 4, 6 and 8 named as the reflection file, and an HKLF 4 file with instructions after its
0 0 0 line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.cli import main
from crystalx_core.errors import InputError
from crystalx_core.io import load, read_reflections


def _assign(model, hkl, out, capsys, *how: str) -> dict:
    """`crystalx assign MODEL --hkl HKL --json` as a user runs it (the baseline and the geometry
    rules unless `how` says otherwise): its report."""
    capsys.readouterr()
    how = how or ("--method", "baseline", "--hydrogens", "rules")
    command = ["assign", str(model), "--hkl", str(hkl), "--json", *how, "--out", str(out)]
    assert main(command) == 0
    return json.loads(capsys.readouterr().out)


# --- a loop without σ -------------------------------------------------------------------------


def test_cod_2019572_s_loop_without_sigma_refines_to_its_published_r1(
    shared_data, tmp_path, capsys
):
    """COD 2019572 (published R1 0.0117, wR2 0.0340, GooF 1.218; WGHT 0.0179 1.6340) carries its
    733 Fo² in a _refln loop with Fc² and no σ, which was refused ('needs
    _refln_F_squared_sigma'). SHELXL weighs a reflection of σ 0 by its WGHT alone
    (w = 1/[σ²(Fo²) + (aP)² + bP], manual, WGHT); the loop is read as every σ 0 is since s16
    (io.hkl._weighable_sigmas: 1 % of the median Fo², a floor under the WGHT terms), with a note
    that names the loop. Refined with the CIF's own WGHT as the benchmark runs it
    (refine_benchmark.py --measured): R1 0.0120, wR2 0.0329, GooF 1.194 (main refused it)."""
    cif = shared_data / "corpus" / "codtools_2019572.cif"
    reflections = load(cif).read(cif)
    assert len(reflections) == 733
    median = np.median(reflections.intensities[reflections.intensities > 0])
    assert reflections.sigmas == pytest.approx(0.01 * median)
    assert not reflections.sigmas_given
    assert reflections.notes[1].startswith(
        "no σ column in the _refln_F_squared_meas loop (as _refln_F_squared_sigma or "
        "_refln_F_squared_meas_su): every σ(Fo²) set to"
    )
    report = _assign(cif, cif, tmp_path / "cod", capsys, "--cycles", "10")  # as the benchmark
    assert report["refinement"]["r1"] < 0.0117 + 0.001
    assert "no σ column in the _refln_F_squared_meas loop" in " ".join(report["notes"])


def _sf_p1a(shared_data, folder, measured: str, sigma: str = "", value: str = ""):
    """sf_p-1_a (COD, 963 Fo² with σ) written as folder/pa.cif with its Fo² under `measured`,
    its σ column replaced by `sigma` (a header line; '' for no σ column) and `value` after each
    row's h k l Fo²: (the file, its rows' h k l Fo²)."""
    text = (shared_data / "corpus" / "sf_p-1_a.cif").read_text()
    head, rest = text.split("  _refln_F_squared_sigma\n", 1)
    rows, tail = rest.split("\n\n", 1)
    table = [row.split()[:4] for row in rows.split("\n")]
    path = folder / "pa.cif"
    path.write_text(
        head.replace("_refln_F_squared_meas", measured)
        + sigma
        + "\n".join(" ".join(row) + value for row in table)
        + "\n\n"
        + tail
    )
    return path, table


def test_intensities_without_sigma_are_read_as_fo2_without_sigma(shared_data, tmp_path):
    """CIF core _refln_intensity_meas with no _refln_intensity_sigma (sf_p-1_a's Fo², COD,
    written under the intensity name, its σ column cut): the same Fo², σ estimated."""
    path, table = _sf_p1a(shared_data, tmp_path, "_refln_intensity_meas")
    reflections = load(path).read(path)
    assert reflections.intensities.tolist() == [float(row[3]) for row in table]
    assert "no σ column in the _refln_intensity_meas loop" in reflections.notes[1]


def test_a_sigma_column_of_question_marks_alone_is_no_sigma(shared_data, tmp_path):
    """A σ column with '?' (unknown) in every row holds no σ: each row was left out as not
    measured and the file refused ('no reflection ... is to be refined'); it is read as a loop
    without σ now. A '?' in some rows still leaves those rows out (test_reflection_formats)."""
    measured, sigma = "_refln_F_squared_meas", "  _refln_F_squared_sigma\n"
    path, _ = _sf_p1a(shared_data, tmp_path, measured, sigma, " ?")
    reflections = load(path).read(path)
    assert len(reflections) == 963 and not reflections.sigmas_given
    assert reflections.notes[1].startswith(
        "no σ in the _refln_F_squared_meas loop (_refln_F_squared_sigma: '?' or '.' in every "
        "row): every σ(Fo²) set to"
    )


# --- status flags -----------------------------------------------------------------------------

FLAGS = ["o", "<", "-", "x", "h", "l", "f"]


def _with_status(shared_data, folder, tag: str, flags: list[str], dotted: bool = False):
    """sf_p-1_a (COD, 963 Fo² with σ, no status) with a status column `tag` whose first rows
    carry `flags` (the rest 'o', or 'incl' for _refln_refinement_status); with `dotted`, every
    _refln tag written as DDLm/mmCIF writes it (_refln.index_h)."""
    text = (shared_data / "corpus" / "sf_p-1_a.cif").read_text()
    sigma = "  _refln_F_squared_sigma\n"
    head, rest = text.split(sigma, 1)
    rows, tail = rest.split("\n\n", 1)
    rest_flag = "incl" if tag.endswith("refinement_status") else "o"
    lines = rows.split("\n")
    lines = [f"{row} {flags[n] if n < len(flags) else rest_flag}" for n, row in enumerate(lines)]
    loop = head + sigma + f"  {tag}\n"
    if dotted:
        loop = re.sub(r"(?m)^(\s*)_refln_", r"\1_refln.", loop)
    path = folder / "pa.cif"
    path.write_text(loop + "\n".join(lines) + "\n\n" + tail)
    return path


def test_status_flags_leave_out_what_the_refinement_left_out(shared_data, tmp_path):
    """CIF core _refln_include_status (cif_core.dic; SHELXL writes it as the older
    _refln_observed_status): 'o' observed and '<' below the threshold are refined, '-'
    systematically absent, 'x' excluded, 'h' and 'l' beyond the high- and low-angle cut-offs
    are left out as the refinement that wrote them left them out; SHELXL refines every
    reflection it is not told to omit, and those flags record what it was told. mmCIF's 'f'
    (the free set) is refined with the rest, as a SHELXL free-R flag (batch -1) is."""
    for tag in ("_refln_include_status", "_refln_observed_status"):
        path = _with_status(shared_data, tmp_path, tag, FLAGS)
        reflections = read_reflections(path)
        assert len(reflections) == 963 - 4
        assert [1, 0, 0] in reflections.indices.tolist()  # 'o'
        assert [2, 0, 0] in reflections.indices.tolist()  # '<'
        assert [3, 0, 0] not in reflections.indices.tolist()  # '-'
        assert reflections.notes[1:] == [
            f"1 reflection(s) systematically absent ({tag} '-') left out",
            f"1 reflection(s) excluded ({tag} 'x') left out",
            f"1 reflection(s) beyond the high-angle cut-off ({tag} 'h') left out",
            f"1 reflection(s) below the low-angle cut-off ({tag} 'l') left out",
            f"1 reflection(s) of the free set ({tag} 'f') refined with the rest: CrystalX "
            "reports no R(free)",
        ]


def test_refinement_status_excl_and_extn_are_left_out(shared_data, tmp_path):
    """CIF core _refln_refinement_status: 'incl' included in the least-squares process, 'excl'
    excluded from it, 'extn' excluded for extinction (cif_core.dic, as cryspy's Refln class
    quotes it); the flag was not read before, and every row was refined. A value of neither
    dictionary is refined, as SHELXL refines what it is not told to omit, with a note."""
    tag = "_refln_refinement_status"
    path = _with_status(shared_data, tmp_path, tag, ["incl", "excl", "extn", "w", "w"])
    reflections = read_reflections(path)
    assert len(reflections) == 963 - 2
    assert reflections.notes[1:] == [
        f"1 reflection(s) excluded from the refinement ({tag} 'excl') left out",
        f"1 reflection(s) excluded for extinction ({tag} 'extn') left out",
        f"2 reflection(s) with {tag} 'w', not a CIF core or mmCIF value: refined with the rest",
    ]


def test_dotted_ddlm_and_mmcif_names_read_as_their_ddl1_names(shared_data, tmp_path, capsys):
    """CIF 2 (DDLm) and mmCIF write _refln.index_h, _refln.F_squared_meas and mmCIF's status as
    _refln.status (EasyDiffraction and xrdspace read and write them so; gemmi reads DDL1 names
    alone): read as _refln_index_h ..., the status honoured. DDLm's σ name _refln.F_squared_
    meas_su (coreCIF 3) is a σ too, not a loop without one."""
    path = _with_status(shared_data, tmp_path, "_refln_status", FLAGS, dotted=True)
    assert "_refln.index_h" in path.read_text() and "_refln.status" in path.read_text()
    reflections = load(path).read(path)
    assert len(reflections) == 963 - 4
    assert "(_refln_status '-') left out" in reflections.notes[1]
    su = tmp_path / "su.cif"
    su.write_text(path.read_text().replace("_refln.F_squared_sigma", "_refln.F_squared_meas_su"))
    as_su = load(su).read(su)
    assert as_su.sigmas.tolist() == reflections.sigmas.tolist()
    assert not any("no σ column" in note for note in as_su.notes)
    report = _assign(su, su, tmp_path / "su_out", capsys)
    assert report["refinement"]["r1"] < 0.0302 + 0.01  # published 0.0302; main 0.0304 (as DDL1)


# --- unmerged raw data ------------------------------------------------------------------------


def _raw_loop(
    lines: list[str],
    folder: Path,
    net: str = "_diffrn_refln_intensity_net",
    sigma: str = "_diffrn_refln_intensity_u",
) -> Path:
    """SHELX .hkl lines (3I4, 2F8.2, I4) written as FinalCif's HKL class writes them into a CIF
    (FinalCif, finalcif/cif/hkl.py: _diffrn_refln_index_h/k/l, _intensity_net, _intensity_u,
    the batch column as _diffrn_refln_scale_group_code; 1 where a line has none)."""
    raw = folder / f"raw{len(sigma)}.cif"
    raw.write_text(
        "data_raw\nloop_\n_diffrn_refln_index_h\n_diffrn_refln_index_k\n_diffrn_refln_index_l\n"
        f"{net}\n{sigma}\n_diffrn_refln_scale_group_code\n"
        + "\n".join(
            f"{line[0:4]} {line[4:8]} {line[8:12]} {line[12:20]} {line[20:28]} "
            f"{line[28:32].strip() or '1'}"
            for line in lines
        )
        + "\n"
    )
    return raw


def _reflection_lines(hkl: Path) -> list[str]:
    """The reflection lines of a real .hkl, up to its 0 0 0 or blank end line if it has one."""
    lines = hkl.read_text().splitlines()
    ends = [n for n, line in enumerate(lines) if line.split()[:3] in ([], ["0"] * 3)]
    return lines[: ends[0] if ends else len(lines)]


def test_an_unmerged_diffrn_refln_loop_reads_as_the_hkl_it_was_made_from(
    shared_data, tmp_path, capsys
):
    """Raw data written as a CIF: _diffrn_refln_index_h/k/l, _diffrn_refln_intensity_net,
    _diffrn_refln_intensity_u and _diffrn_refln_scale_group_code, as FinalCif's HKL class turns
    a SHELX .hkl into one (QCrBox writes _diffrn_refln.intensity_net_su in coreCIF 3). Read as
    they are, each observation apart, as SHELXL reads an unmerged .hkl: XH_CpNa's 72305
    observations give the same indices, I, σ and batch (the scale group) as its .hkl, so every
    stage (solve, refine, the outlier and element checks: each merges in the point group,
    merge_equivalents) sees what it sees from the .hkl. The CLI refines such a file to the
    .hkl's R1 (XH_urea, small, to keep the suite short)."""
    entry = shared_data / "benchmark" / "XH_CpNa"
    hkl = read_reflections(entry / "data.hkl")
    lines = _reflection_lines(entry / "data.hkl")
    names = [
        ("_diffrn_refln_intensity_net", "_diffrn_refln_intensity_u"),
        ("_diffrn_refln.intensity_net", "_diffrn_refln.intensity_net_su"),
    ]
    for net, sigma in names:
        raw = _raw_loop(lines, tmp_path, net, sigma)
        reflections = read_reflections(raw)
        assert reflections.indices.tolist() == hkl.indices.tolist()
        assert reflections.intensities.tolist() == hkl.intensities.tolist()
        assert reflections.sigmas.tolist() == hkl.sigmas.tolist()
        groups = hkl.batches.tolist() if hkl.batches is not None else [1] * len(hkl)
        assert reflections.batches.tolist() == groups  # XH_CpNa's .hkl has none: 1 written
        assert reflections.notes[0].startswith(
            "unmerged net intensities from the _diffrn_refln_intensity_net loop of "
            f"{raw.name}: as measured, each observation apart, merged by the refinement"
        )
    urea = shared_data / "benchmark" / "XH_urea"
    raw = _raw_loop(_reflection_lines(urea / "data.hkl"), tmp_path)
    as_hkl = _assign(urea / "model.cif", urea / "data.hkl", tmp_path / "h", capsys)
    as_raw = _assign(urea / "model.cif", raw, tmp_path / "r", capsys)
    assert as_raw["refinement"]["r1"] == pytest.approx(as_hkl["refinement"]["r1"], abs=1e-4)


def test_negative_scale_groups_are_read_as_the_hkl_s_batch_column_is(shared_data, tmp_path):
    """The scale group of a raw-data loop is the .hkl's batch column, sign and all: batch -1
    flags SHELX's free-R test set (read, with the .hkl's note), other negative batches mark
    the twin components of HKLF 5 data (refused as from the .hkl). They were made positive,
    and HKLF 5 data refined as untwinned HKLF 4. XH_urea's real rows, batches added."""
    rows = (shared_data / "benchmark" / "XH_urea" / "data.hkl").read_text().splitlines()[:200]
    free = [row[:28] + ("  -1" if n % 10 == 0 else "   1") for n, row in enumerate(rows)]
    hkl = tmp_path / "free.hkl"
    hkl.write_text("\n".join(free + ["   0   0   0    0.00    0.00   0"]) + "\n")
    as_hkl, as_raw = read_reflections(hkl), read_reflections(_raw_loop(free, tmp_path))
    assert as_raw.batches.tolist() == as_hkl.batches.tolist() == [1] * 200
    assert as_raw.notes[1] == as_hkl.notes[-1]
    assert as_raw.notes[1].startswith("20 reflection(s) with batch -1, the free-R test set")
    twin = [row[:28] + "   1" for row in rows]  # a twin component written before its group's end
    twin[5] = twin[5][:12] + twin[6][12:28] + "  -2"  # its own h k l, the group's Fo² and σ
    hkl.write_text("\n".join(twin + ["   0   0   0    0.00    0.00   0"]) + "\n")
    with pytest.raises(InputError) as from_hkl:
        read_reflections(hkl)
    with pytest.raises(InputError) as from_raw:
        read_reflections(_raw_loop(twin, tmp_path))
    assert from_raw.value.message == from_hkl.value.message
    assert "twin components of HKLF 5 data" in from_raw.value.message
    assert (from_hkl.value.line, from_raw.value.line) == (6, 14)  # row 6: after 8 header lines


# --- SHELXL .fcf files as the reflection file -------------------------------------------------

FCF_HEAD = """#
# h,k,l, {what}
#
data_urea
_shelx_refln_list_code          {code}
"""

# the loops SHELXL and Olex2 write (Olex2's refinement.py create_fcf_content: LIST 4 Fc², Fo², σ,
# status; LIST 6 Fo², σ, Fc, φ; LIST 8 Fo², σ, Fc², φ, d, SHELXL's refinement σ), each column a
# function of (Fo², σ) of the real data (Fc from the Fo² for want of a model: not read)
LISTS = {
    4: (
        "Fc-squared, Fo-squared, sigma(Fo-squared) and status flag",
        [
            "_refln_F_squared_calc",
            "_refln_F_squared_meas",
            "_refln_F_squared_sigma",
            "_refln_observed_status",
        ],
        lambda i, s: f"{1.05 * i:.2f} {i:.2f} {s:.2f} o",
    ),
    6: (
        "Fo-squared, sigma(Fo-squared), Fc and phi(calc)",
        ["_refln_F_squared_meas", "_refln_F_squared_sigma", "_refln_F_calc", "_refln_phase_calc"],
        lambda i, s: f"{i:.2f} {s:.2f} {np.sqrt(max(i, 0)):.2f} 0.0",
    ),
    8: (
        "Fo-squared, sigma(Fo-squared), Fc-squared, phi, d and refinement sigma",
        [
            "_refln_F_squared_meas",
            "_refln_F_squared_sigma",
            "_refln_F_squared_calc",
            "_refln_phase_calc",
            "_refln_d_spacing",
            "_shelx_refinement_sigma",
        ],
        lambda i, s: f"{i:.3f} {s:.3f} {1.05 * i:.3f} 0.000 1.000 {1.1 * s:.3f}",
    ),
}


@pytest.mark.parametrize("code", sorted(LISTS))
def test_an_fcf_of_list_4_6_or_8_gives_its_fo2_and_sigma_not_fc(shared_data, tmp_path, code):
    """An .fcf named where the reflections are asked for (Olex2 reads one there, xlib/hkl.cpp):
    the Fo² and σ(Fo²) of each list, never its Fc² or Fc (LIST 6 gives Fc as F beside Fo²),
    nor LIST 8's refinement σ (the σ SHELXL weighed by, not the measured one)."""
    entry = shared_data / "benchmark" / "XH_urea"
    data = read_reflections(entry / "data.hkl")
    what, tags, row = LISTS[code]
    path = tmp_path / f"urea{code}.fcf"
    path.write_text(
        FCF_HEAD.format(what=what, code=code)
        + "\nloop_\n _refln_index_h\n _refln_index_k\n _refln_index_l\n"
        + "".join(f" {tag}\n" for tag in tags)
        + "".join(
            f"{h} {k} {l} {row(i, s)}\n"
            for (h, k, l), i, s in zip(data.indices, data.intensities, data.sigmas)
        )
    )
    reflections = read_reflections(path)
    assert reflections.indices.tolist() == data.indices.tolist()
    assert reflections.intensities == pytest.approx(data.intensities, abs=0.005)
    assert reflections.sigmas == pytest.approx(data.sigmas, abs=0.005)
    assert f"(SHELXL LIST {code})" in reflections.notes[0]


def test_an_fcf_of_list_5_is_refused_naming_what_to_pass(shared_data, tmp_path):
    """SHELXL's LIST 5 writes h k l Fo Fc φ and no σ (a Fo/Fc plotter's reader, FcVsFo::
    readFCF, takes its rows as h k l Fo Fc phase): the map coefficients of the refined model.
    The .hkl it was made from has the measured σ, so it is refused, naming what to pass,
    rather than refined with σ estimated (an estimate is kept for data published without σ,
    as COD 2019572's loop, which has no list code)."""
    entry = shared_data / "benchmark" / "XH_urea"
    data = read_reflections(entry / "data.hkl")
    path = tmp_path / "urea5.fcf"
    path.write_text(
        FCF_HEAD.format(what="Fo, Fc and phi(calc)", code=5)
        + "\nloop_\n _refln_index_h\n _refln_index_k\n _refln_index_l\n _refln_F_meas\n"
        + " _refln_F_calc\n _refln_phase_calc\n"
        + "".join(
            f"{h} {k} {l} {np.sqrt(max(i, 0)):.2f} {1.02 * np.sqrt(max(i, 0)):.2f} 0.0\n"
            for (h, k, l), i in zip(data.indices, data.intensities)
        )
    )
    line = path.read_text().split("\n").index(" _refln_F_meas") + 1
    with pytest.raises(InputError) as caught:
        read_reflections(path)
    assert caught.value.one_line() == (
        f"{path}:{line}: _refln_F_meas: an .fcf of SHELXL LIST 5 with no σ, written for Fourier "
        "maps from the refined model, not for refining against: pass the .hkl the structure was "
        "refined against, or an .fcf written with LIST 4 or 6"
    )


# --- HKLF 4 with instructions after the end line ----------------------------------------------


def test_an_hkl_with_the_instructions_after_its_end_line_reads_the_reflections_alone(
    shared_data, tmp_path
):
    """SHELXL stops reading an .hkl at its 0 0 0 line; what follows is free (SHELXL manual,
    HKLF). FC_SH2185's real .hkl (FinalCif's SH2185_Cu.cif, SHELXL's embedded _shelx_hkl_file)
    carries the instructions it was solved with after that line (TITL, CELL, ..., HKLF 4, END,
    as the .hkl XPREP writes for SHELXT): it reads as its 17407 reflections alone, no note, no
    instruction taken for a reflection, exactly as the same file cut at its 0 0 0 line."""
    text = (shared_data / "benchmark" / "FC_SH2185" / "data.hkl").read_text()
    head, end, trailer = re.split(r"(\n   0   0   0 [^\n]*\n)", text, maxsplit=1)
    assert trailer.split()[:2] == ["TITL", "SH2185_Cu"] and trailer.rstrip().endswith("END")
    cut = tmp_path / "cut.hkl"
    cut.write_text(head + end)
    whole = read_reflections(shared_data / "benchmark" / "FC_SH2185" / "data.hkl")
    alone = read_reflections(cut)
    assert len(whole) == 17407 and whole.notes == alone.notes == []
    assert whole.indices.tolist() == alone.indices.tolist()
    assert whole.intensities.tolist() == alone.intensities.tolist()
    assert whole.sigmas.tolist() == alone.sigmas.tolist()


# --- the sweep of every reflection source -----------------------------------------------------


def test_the_sweep_lists_every_source_and_flags_one_read_differently(shared_data, tmp_path):
    """benchmarks/reflection_sweep.py reads every reflection source of a data folder as a job
    reads them (on ../shared/data: the 17 benchmark .hkl, 11 benchmark model.cif and 9 corpus
    CIFs that carry reflections, docs/benchmarks.md); here a folder of five real files, to keep
    the suite short: a .hkl, a model.cif with its _shelx_hkl_file, two corpus CIFs with _refln
    loops, and one without reflections, which is not a source. --compare fails where a source
    that read before reads differently, not where one refused before reads now."""
    from tests.conftest import benchmark_script

    data = tmp_path / "data"
    for name in (
        "benchmark/XH_urea/data.hkl",
        "benchmark/XH_urea/model.cif",
        "corpus/codtools_2019572.cif",
        "corpus/sf_p-1_a.cif",
        "corpus/codtools_1000000.cif",
    ):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).symlink_to(shared_data / name)
    sweep = benchmark_script("reflection_sweep")
    rows = {row["source"]: row for row in sweep.sweep(data)}
    assert sorted(rows) == [
        "benchmark/XH_urea/data.hkl",
        "benchmark/XH_urea/model.cif",
        "corpus/codtools_2019572.cif",
        "corpus/sf_p-1_a.cif",
    ]
    assert rows["corpus/codtools_2019572.cif"]["n"] == 733
    assert (
        rows["benchmark/XH_urea/model.cif"]["digest"]
        == rows["benchmark/XH_urea/data.hkl"]["digest"]
    )  # the .hkl embedded in the CIF is the .hkl

    def written(path, changed: dict) -> Path:
        """The sweep's rows as a .jsonl, `changed` in place of the row of its source."""
        path.write_text("".join(json.dumps(changed.get(s, r)) + "\n" for s, r in rows.items()))
        return path

    cod = "corpus/codtools_2019572.cif"
    refused = written(tmp_path / "refused.jsonl", {cod: {"source": cod, "error": "refused"}})
    now = written(tmp_path / "now.jsonl", {})
    assert sweep.compare(refused, now) == 0  # refused before, read now
    pa = "corpus/sf_p-1_a.cif"
    assert sweep.compare(refused, written(tmp_path / "pa.jsonl", {pa: dict(rows[pa], digest="0")}))
