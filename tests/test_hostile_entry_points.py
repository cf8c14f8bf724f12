"""Hostile input through every entry point, second pass (session 16): a batch folder holding
names and files that are no structures, the service's plans and paths, CIF values that are no
numbers. Each is one line naming the file (and line), a row, or a correct answer; never an
internal error, never an input written over. Real files from ../shared/data, changed here."""

import csv
import json
import os
import shutil

import pytest

from crystalx_core.cli import EXIT_INPUT, main
from crystalx_core.protocol import PROTOCOL
from crystalx_core.service import reply_to

from .conftest import BENCHMARK, line_of
from .test_service_requests import SNAPSHOT

QUICK = ["--method", "baseline", "--hydrogens", "rules"]


# --- crystalx batch ------------------------------------------------------------------------


def test_a_batch_folder_with_a_latin1_name_and_broken_links_writes_its_summary(
    tmp_path, shared_data, capsys
):
    """A file named in Latin-1 ('café.res' from an old Windows share, its é the byte 0xE9, no
    UTF-8) was assigned, then the summary stopped the batch with an internal
    UnicodeEncodeError; a dangling link, a link loop and a FIFO named .res were skipped without a
    word. The name is written '\\xe9' in the summary (valid UTF-8), the others are failed rows
    with the reader's reason, and the real structures are done."""
    source = BENCHMARK / "XH_urea" / "published.res"
    shutil.copy(source, tmp_path / "urea.res")
    try:
        shutil.copy(source, os.path.join(os.fsencode(tmp_path), b"caf\xe9.res"))
    except OSError:  # a file system that takes UTF-8 names only (macOS)
        pytest.skip("this file system refuses a name that is not UTF-8")
    (tmp_path / "dangling.res").symlink_to(tmp_path / "gone.res")
    (tmp_path / "loop1.res").symlink_to(tmp_path / "loop2.res")
    (tmp_path / "loop2.res").symlink_to(tmp_path / "loop1.res")
    (tmp_path / "folder.res").mkdir()  # a folder is no structure: not a row
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.res")
    inputs = {p: p.read_bytes() for p in (tmp_path / "urea.res", tmp_path / "caf\udce9.res")}
    assert main(["batch", str(tmp_path), "--workers", "1", "--quiet", *QUICK]) == 1  # failures
    capsys.readouterr()
    text = (tmp_path / "crystalx_batch.csv").read_bytes().decode("utf-8")  # strict: valid
    rows = {row["name"]: row for row in csv.DictReader(text.splitlines())}
    assert (rows["urea"]["status"], rows["caf\\xe9"]["status"]) == ("ok", "ok")
    assert rows["caf\\xe9"]["model"] == f"{tmp_path}/caf\\xe9.res"
    assert rows["dangling"]["error"] == (
        f"{tmp_path}/dangling.res: a link to {tmp_path}/gone.res, which is not there"
    )
    assert rows["loop1"]["error"].endswith(
        "cannot read the file: Too many levels of symbolic links"
    )
    assert "folder" not in rows
    if hasattr(os, "mkfifo"):
        assert rows["fifo"]["error"].endswith(
            "not a regular file (a pipe, socket or device), not a SHELX file"
        )
    assert "caf\\xe9" in (tmp_path / "crystalx_batch.html").read_bytes().decode("utf-8")
    assert all(path.read_bytes() == data for path, data in inputs.items())


def test_a_dangling_link_does_not_shadow_a_readable_file_of_its_name(tmp_path, shared_data):
    """x.res a broken link beside a real x.ins: the .ins is the structure, the link left out."""
    from crystalx_core.batch import find_inputs

    shutil.copy(BENCHMARK / "XH_urea" / "published.res", tmp_path / "x.ins")
    (tmp_path / "x.res").symlink_to(tmp_path / "gone.res")
    [item] = find_inputs(str(tmp_path)).items
    assert (item.model.name, [p.name for p in item.left_out]) == ("x.ins", ["x.res"])


def test_a_file_that_disappears_while_the_batch_runs_is_a_failed_row(tmp_path, shared_data):
    """Listed, then moved away before its turn (a sync client, a colleague tidying the
    share): its row says the file is gone, the others are done."""
    from crystalx_core.batch import BatchOptions, find_inputs, run_batch

    for name in ("a", "b"):
        shutil.copy(BENCHMARK / "XH_urea" / "published.res", tmp_path / f"{name}.res")
    items = find_inputs(str(tmp_path)).items
    (tmp_path / "b.res").unlink()
    rows = run_batch(items, BatchOptions(method="baseline", hydrogens="rules"), workers=1)
    assert [(row["name"], row["status"]) for row in rows] == [("a", "ok"), ("b", "failed")]
    assert (
        rows[1]["error"] == f"{tmp_path / 'b.res'}: cannot read the file: No such file or directory"
    )


def test_a_block_name_too_long_for_a_file_name_fails_its_row_not_the_batch(tmp_path, shared_data):
    """CIF 1.1 keeps a block code to 75 characters; gemmi reads a longer one, as a generated
    file may write it. Its outputs' name (x_NAME_crystalx.json) passes the file system's 255:
    the batch stopped at once on the stat of that name, 'File name too long', exit 2, with
    none of its other structures done."""
    text = (BENCHMARK / "XH_urea" / "model.cif").read_text()
    text = text[: text.index("_shelx_res_file")]
    (tmp_path / "x.cif").write_text(
        text.replace("data_iam", "data_" + "L" * 300) + text.replace("data_iam", "data_short")
    )
    assert main(["batch", str(tmp_path), "--workers", "1", "--quiet", *QUICK]) == 1
    text = (tmp_path / "crystalx_batch.csv").read_text()
    rows = {row["name"]: row for row in csv.DictReader(text.splitlines())}
    assert rows["x_short"]["status"] == "ok"
    assert rows["x_" + "L" * 300]["error"].endswith(
        "_crystalx.res: cannot write the output: File name too long"
    )


# --- the service ---------------------------------------------------------------------------

# test_service_requests' two-atom snapshot (C1, O1 in P2(1))


def ask(method: str, params: dict) -> dict:
    line = json.dumps({"protocol": PROTOCOL, "id": 7, "method": method, "params": params})
    reply, keep_running = reply_to(line.encode())
    assert keep_running and reply["id"] == 7
    return reply


def test_a_reflection_path_with_a_nul_is_left_out_with_a_note_not_an_internal_error():
    """JSON carries "\\u0000" in a string; os.open refuses it with ValueError, which came back
    as code 'internal'. The path is left out as any unreadable file is."""
    reply = ask(
        "assign",
        {
            "structure": SNAPSHOT,
            "options": {"method": "baseline", "hydrogens": "rules"},
            "reflections": {"path": "/tmp/x\u0000.hkl"},
        },
    )
    assert "error" not in reply, reply
    assert (
        "reflections /tmp/x\x00.hkl not used (cannot read the file: its name holds a NUL "
        "character); elements and H are the model's alone"
    ) in reply["result"]["job_notes"]


@pytest.mark.parametrize(
    "plan, message",
    [
        (  # which element the user meant is not the service's to pick (the last one won)
            {"sites": [{"label": "C1", "element": "C"}, {"label": "c1", "element": "N"}]},
            "plan.sites[1] ('c1') names the site of plan.sites[0] again: one entry per site",
        ),
        (  # answered `kill C1` then `name C1 N1`: a rename of an atom just deleted
            {"sites": [{"label": "C1", "element": "N", "h_count": 2}], "delete": ["C1"]},
            "plan.sites and plan.delete both name C1: keep or delete",
        ),
    ],
)
def test_a_plan_that_contradicts_itself_is_a_bad_plan(plan, message):
    reply = ask("apply-plan", {"structure": SNAPSHOT, "plan": plan})
    assert reply["error"] == {"code": "bad-plan", "message": message}


# --- CIF -----------------------------------------------------------------------------------


def _urea_cif(tmp_path, old: str, new: str):
    """XH_urea's SHELXL CIF (its embedded .res and .hkl cut, so that its atom_site loop is
    what is read) with one value changed."""
    text = (BENCHMARK / "XH_urea" / "model.cif").read_text()
    text = text[: text.index("_shelx_res_file")]
    assert text.count(old) == 1
    path = tmp_path / "urea.cif"
    path.write_text(text.replace(old, new))
    return path, path.read_text()


def test_a_cif_coordinate_of_1e300_names_its_row(tmp_path, shared_data, capsys):
    """1e300 modulo 1 is 0 in a float: the atom was put at x = 0 (a NumPy warning on stderr)
    and written so. A fractional coordinate past 1000 is no position."""
    path, text = _urea_cif(tmp_path, "N N 0.14465(7)", "N N 1e300")
    assert main(["assign", str(path), "--quiet", *QUICK]) == EXIT_INPUT
    assert capsys.readouterr().err == (
        f"crystalx: error: {path}:{line_of(text, 'N N 1e300')}: site N: coordinates 1e+300 "
        "0.64465 0.17896 are no fractional coordinates (|x|, |y|, |z| <= 1000)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["urea.cif"]


@pytest.mark.parametrize("value", ["?", "."])
def test_a_cif_aniso_row_with_an_unknown_u_leaves_its_atom_isotropic(tmp_path, shared_data, value):
    """gemmi reads '?' in _atom_site_aniso_U_11 as 0: N was written with U11 0.00000 beside
    U22 0.03012, no ellipsoid. The row is left out, N isotropic (its Uiso from the atom_site
    loop), as a B or beta row with '?' already was, with a note."""
    path, _ = _urea_cif(tmp_path, "N 0.03012(17)", f"N {value}")
    assert main(["assign", str(path), "--quiet", *QUICK]) == 0
    res = (tmp_path / "urea_crystalx.res").read_text()
    [n] = [line for line in res.splitlines() if line.startswith("N ")]
    assert n.split()[5:] == ["10.50000", "0.02325"]
    assert "O     4    0.000000    0.500000    0.596720    10.25000    0.02023    0.02023 =" in res
    notes = json.loads((tmp_path / "urea_crystalx.json").read_text())["notes"]
    assert "_atom_site_aniso_U row of N holds '?' or no number: left out, isotropic" in notes


def test_an_unknown_u_row_gives_no_ueq_when_the_atom_site_u_is_unknown_too(tmp_path, shared_data):
    """With U_iso_or_equiv '?' as well, N's Uiso was the trace of the tensor gemmi read with
    U11 = 0 (0.0132, where its Ueq is 0.0232): N has no known U, and starts from the default
    Uiso, as an atom with no U row at all and a B or beta row with '?' do."""
    from crystalx_core.io.cif import read_cif
    from crystalx_core.structure import Site

    path, text = _urea_cif(tmp_path, "N 0.03012(17)", "N ?")
    path.write_text(text.replace("0.17896(10) 0.02325(11) Uani", "0.17896(10) ? Uani"))
    [n] = [site for site in read_cif(path).structure.sites if site.label == "N"]
    assert (n.u_iso, n.u_aniso) == (Site.u_iso, None)


def test_two_cif_blocks_of_one_name_name_the_second_line(tmp_path, shared_data, capsys):
    """CIF 1.1 (syntax, paragraph 6): a block code is unique within a file, case aside.
    gemmi refuses a second data_iam with 'string: duplicate block name: iam', no line; the
    message said 'string:' and named none (three copies of one CIF, pasted into one file)."""
    path, text = _urea_cif(tmp_path, "_cell_angle_alpha", "_cell_angle_alpha")
    path.write_text(text + text.replace("data_iam", "DATA_IAM") + text)
    second = len(text.splitlines()) + line_of(text, "data_iam")
    assert main(["assign", str(path), "--quiet", *QUICK]) == EXIT_INPUT
    assert capsys.readouterr().err == (
        f"crystalx: error: {path}:{second}: CIF syntax error: a second data block named "
        "data_IAM (block names are unique in a file: give each its own)\n"
    )


def test_a_block_heading_followed_by_a_comment_is_found_for_its_line(tmp_path, shared_data):
    """CIF 1.1 (IUCr syntax specification): white space, a comment among it, may follow
    a data block heading. `data_b  # pasted again` was not found as its block's line: a
    second block of a name was refused with no line, and a row of block b was named by the
    line of the same row in block a."""
    from crystalx_core.errors import InputError
    from crystalx_core.io.cif import read_cif

    _, text = _urea_cif(tmp_path, "_cell_angle_alpha", "_cell_angle_alpha")
    second = text.replace("data_iam", "data_b  # pasted again").replace(
        "N N 0.14465(7)", "N N 1e300"
    )
    path = tmp_path / "two.cif"
    path.write_text(text.replace("data_iam", "data_a") + second)
    row = len(text.splitlines()) + line_of(second, "N N 1e300")
    with pytest.raises(InputError) as error:
        read_cif(path, "b")
    assert str(error.value).startswith(f"{path}:{row}: site N: coordinates 1e+300 ")
    path.write_text(text + text.replace("data_iam", "data_iam  # pasted again"))
    with pytest.raises(InputError) as error:
        read_cif(path)
    assert str(error.value).startswith(
        f"{path}:{len(text.splitlines()) + line_of(text, 'data_iam')}: CIF syntax error: a "
        "second data block named data_iam "
    )


def test_a_cif_whose_operator_list_does_not_read_says_which_symbol_it_used(shared_data):
    """COD 2001507 as cod-tools keeps it (its tests/inputs/cif_fix_values): P 1 21/n 1, a
    non-standard setting, Hall '-P 2yn', and two operators of which 'x,y,x' is a typo. The
    Hall symbol was used without a word; it still is, with a note naming the operator."""
    from cctbx import sgtbx

    from crystalx_core.io.cif import read_cif
    from crystalx_core.symmetry import space_group_from_operators

    from .conftest import CORPUS

    entry = read_cif(CORPUS / "codtools_2001507_temperature_ambiant.cif")
    group = space_group_from_operators(entry.structure.symops)
    assert str(sgtbx.space_group_info(group=group)) == "P 1 21/n 1"
    assert entry.notes == (
        "the 2 symmetry operators listed are no space group ('x,y,x' does not read): the Hall "
        "symbol '-P 2yn' read instead",
    )


def test_a_translation_that_is_no_twelfth_is_named_without_cctbx_s_build_path():
    """cctbx says 'cctbx Internal Error: /home/conda/feedstock_root/.../rt_mx.cpp(234):
    Unsuitable value for rational translation vector.' for SYMM X+0.3, ...: the service sent
    that path to Olex2's user."""
    reply = ask("assign", {"structure": {**SNAPSHOT, "symops": ["x,y,z", "-x,y+0.3,-z"]}})
    assert reply["error"] == {
        "code": "bad-snapshot",
        "message": "symops: symmetry operator '-x,y+0.3,-z': a translation that is no multiple "
        "of 1/12, as no space group has",
    }


# --- .hkl ----------------------------------------------------------------------------------


def _urea_job(tmp_path, hkl: bytes) -> list[str]:
    """`crystalx assign published.res --hkl x.hkl` on XH_urea: the arguments, files written."""
    shutil.copy(BENCHMARK / "XH_urea" / "published.res", tmp_path / "x.res")
    (tmp_path / "x.hkl").write_bytes(hkl)
    return ["assign", str(tmp_path / "x.res"), "--hkl", str(tmp_path / "x.hkl"), "--quiet"]


def test_a_0_0_0_line_among_the_reflections_is_named_when_too_few_remain(
    tmp_path, shared_data, capsys
):
    """SHELXL stops reading at the first 0 0 0 (SHELXL manual, HKLF), so two .hkl files pasted
    into one, or a 0 0 0 typed among the data, leave a few reflections: the refusal said only
    'too few reflections', not why."""
    lines = (BENCHMARK / "XH_urea" / "data.hkl").read_text().splitlines(keepends=True)
    hkl = "".join(lines[:5] + ["   0   0   0    0.00    0.00\n"] + lines[5:])
    args = _urea_job(tmp_path, hkl.encode())
    assert main([*args, *QUICK]) == 4  # EXIT_REFINE
    assert capsys.readouterr().err == (
        f"crystalx: error: {tmp_path / 'x.hkl'}: too few reflections: 5 unique for 7 parameters, "
        "and refinement needs at least 3 per parameter; line 6 ends the data (0 0 0), 1017 "
        "reflection line(s) after it not read, as SHELXL stops there\n"
    )


@pytest.mark.parametrize(
    "packed, message",
    [
        ("zip", "a zip archive, not a reflection file: unpack it first"),
        ("utf-16-le", "UTF-16 text without a byte order mark: save the reflection file as UTF-8"),
    ],
)
def test_a_packed_or_utf16_hkl_is_named_for_what_it_is(
    tmp_path, shared_data, capsys, packed, message
):
    """x.hkl.zip renamed x.hkl, or saved as UTF-16 without a BOM (Notepad writes one, which is
    read): each was 'binary data (NUL byte)', which does not say what to do. (A gzip, bzip2 or
    xz file is read as the file it holds: test_hostile_archives.)"""
    import io
    import zipfile

    text = (BENCHMARK / "XH_urea" / "data.hkl").read_text()
    data = text.encode(packed) if packed != "zip" else None
    if packed == "zip":
        with zipfile.ZipFile(buffer := io.BytesIO(), "w") as archive:
            archive.writestr("x.hkl", text)
        data = buffer.getvalue()
    args = _urea_job(tmp_path, data)
    assert main([*args, *QUICK]) == EXIT_INPUT
    assert capsys.readouterr().err == f"crystalx: error: {tmp_path / 'x.hkl'}:1: {message}\n"
    assert (tmp_path / "x.hkl").read_bytes() == data


def test_a_shelx_coordinate_of_1e300_names_its_variable_in_a_few_digits(
    tmp_path, shared_data, capsys
):
    """SHELX reads a coordinate past 5 as a free-variable code 10m + p (SHELXL manual, FVAR):
    1e300 is variable 1e299, which the message gave in all its 300 digits."""
    text = (BENCHMARK / "XH_urea" / "published.res").read_text()
    text = text.replace("N     3    0.144653", "N     3    1e300")
    (tmp_path / "x.res").write_text(text)
    assert main(["assign", str(tmp_path / "x.res"), "--quiet", *QUICK]) == EXIT_INPUT
    assert capsys.readouterr().err == (
        f"crystalx: error: {tmp_path / 'x.res'}:{line_of(text, 'N     3')}: coordinate 1e+300 "
        "refers to free variable 1e+299, but FVAR defines 1..1 only\n"
    )


def test_a_cif_of_many_blocks_is_parsed_once_for_all_of_them(tmp_path, shared_data, monkeypatch):
    """A journal's or Olex2's multi-structure CIF holds one block per structure, and a batch
    reads the file once per block: 500 blocks of XH_urea (4 MB) took 3 min 19 s on two
    workers, each job parsing all 500 (0:54 with the parse kept). Each block read is still
    its own: its name and its atoms."""
    import gemmi

    from crystalx_core.io.cif import read_cif

    text = (BENCHMARK / "XH_urea" / "model.cif").read_text()
    text = text[: text.index("_shelx_res_file")]
    path = tmp_path / "many.cif"
    path.write_text(
        "".join(
            text.replace("data_iam", f"data_b{n}").replace("0.59672(9)", f"0.{n:03d}")
            for n in range(150)
        )
    )
    assert path.stat().st_size > 2**20
    calls = []
    read_string = gemmi.cif.read_string
    monkeypatch.setattr(gemmi.cif, "read_string", lambda s: calls.append(1) or read_string(s))
    for n in (7, 120, 149):
        entry = read_cif(path, f"b{n}")
        assert entry.block_name == f"b{n}"
        assert entry.structure.sites[0].frac == (0.0, 0.5, float(f"0.{n:03d}"))
    assert len(calls) == 1


def test_a_kept_cif_parse_is_never_that_of_an_older_copy_of_the_file(tmp_path, shared_data):
    """The service runs for a whole Olex2 session: a multi-block CIF edited on disk between two
    requests, to the same size and with its old time stamp put back (a copy tool, a second
    save within the file system's time resolution), is read as it is now, not as kept; and
    a process keeps one file's parse, the last large one read."""
    import os

    from crystalx_core.io import cif

    text = (BENCHMARK / "XH_urea" / "model.cif").read_text()
    text = text[: text.index("_shelx_res_file")]
    path, other = tmp_path / "many.cif", tmp_path / "other.cif"

    def write(where, z):
        where.write_text("".join(text.replace("data_iam", f"data_b{n}") for n in range(150)))
        where.write_text(where.read_text().replace("0.59672(9)", z))

    write(path, "0.111")
    write(other, "0.222")
    assert cif.read_cif(other, "b7").structure.sites[0].frac[2] == 0.222
    assert cif.read_cif(path, "b7").structure.sites[0].frac[2] == 0.111
    assert cif._kept.text.count("0.111") == 150  # this file's parse only, the other's let go
    stamp = path.stat()
    write(path, "0.333")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert path.stat().st_size == stamp.st_size
    assert cif.read_cif(path, "b7").structure.sites[0].frac[2] == 0.333


def test_a_reflection_line_is_quoted_as_its_utf8_writer_meant_it(tmp_path, shared_data, capsys):
    """A .hkl is read byte for byte as Latin-1 (any byte is a character), so 'é' written in
    UTF-8 was quoted back as 'Ã©'."""
    lines = (BENCHMARK / "XH_urea" / "data.hkl").read_text().splitlines(keepends=True)
    hkl = "".join(lines[:3] + ["   1   1   1   12.00    1.00 é\n"] + lines[3:])
    args = _urea_job(tmp_path, hkl.encode())
    assert main([*args, *QUICK]) == EXIT_INPUT
    assert capsys.readouterr().err == (
        f"crystalx: error: {tmp_path / 'x.hkl'}:4: not an HKLF 4 reflection line (h k l Fo² σ "
        "[batch]): '1   1   1   12.00    1.00 é'\n"
    )


def test_miller_indices_from_numpy_are_the_files_own(shared_data):
    """10^6 reflections (XH_urea's 1022 repeated): `assign --hkl` took 33 s, 57 % of it making
    cctbx indices from a list of tuples 13 times; column by column they are the same indices
    (negative ones included) and the job 10.9 s, `solve` 2:03 -> 19.6 s."""
    from cctbx.array_family import flex

    from crystalx_core.io.hkl import miller_indices, read_hkl

    indices = read_hkl(BENCHMARK / "N2_epoxide" / "data.hkl").indices  # unmerged, ±h ±k ±l
    assert (indices < 0).any() and len(indices) > 2000
    expected = flex.miller_index([tuple(int(v) for v in row) for row in indices])
    assert list(miller_indices(indices)) == list(expected)
    assert miller_indices(indices[:0]).size() == 0
