"""Packed inputs and JSON past Python's limits (session 26): a repository's download ships
x.hkl.gz (or .bz2, .xz), read as the x.hkl it holds wherever an .hkl or a CIF is read; a damaged
one, a tar, or one that unpacks past the size limit is one line. A JSON number of 5,000 digits
or 1e5 brackets is our own line, not Python's advice or a RecursionError; a batch whose
x_crystalx.json is other JSON redoes x."""

import bz2
import gzip
import io
import json
import lzma
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from crystalx_core.cli import EXIT_INPUT, main
from crystalx_core.errors import InputError
from crystalx_core.io import files, read_reflections
from crystalx_core.panel.rows import read_assignment

from .conftest import BENCHMARK

QUICK = ["--quiet", "--method", "baseline", "--hydrogens", "rules"]
PACKERS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
UREA = BENCHMARK / "XH_urea"


@pytest.mark.parametrize("suffix", sorted(PACKERS))
def test_packed_reflections_are_read_as_the_file_they_hold(tmp_path, shared_data, suffix):
    """XH_urea's data.hkl packed: main refused it ('a gzip archive ...: unpack it first')."""
    packed = tmp_path / f"x.hkl{suffix}"
    packed.write_bytes(PACKERS[suffix]((UREA / "data.hkl").read_bytes()))
    plain, read = read_reflections(UREA / "data.hkl"), read_reflections(packed)
    assert len(read) == len(plain) == 1022
    assert np.array_equal(read.indices, plain.indices)
    assert np.array_equal(read.intensities, plain.intensities)


def test_a_packed_cif_is_assigned_and_its_outputs_named_as_the_plain_files(
    tmp_path, shared_data, capsys
):
    """x.cif.gz was 'unsupported file type .gz'. Outputs are named for x, not x.cif."""
    (tmp_path / "u.cif.gz").write_bytes(gzip.compress((UREA / "model.cif").read_bytes()))
    assert main(["assign", str(tmp_path / "u.cif.gz"), *QUICK]) == 0
    assert (tmp_path / "u_crystalx.res").is_file()
    capsys.readouterr()


def test_a_batch_reads_a_packed_model_and_the_packed_hkl_beside_it(tmp_path, shared_data, capsys):
    """A batch of x.res.gz said 'no .res, .ins or .cif files to assign', and x.hkl.gz beside
    x.res was not refined against ('unpack it to refine against it')."""
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "urea.res.gz").write_bytes(gzip.compress((UREA / "published.res").read_bytes()))
    (folder / "urea.hkl.xz").write_bytes(lzma.compress((UREA / "data.hkl").read_bytes()))
    assert main(["batch", str(folder), *QUICK]) == 0
    report = json.loads((folder / "urea_crystalx.json").read_text())
    assert report["refinement"]["r1"] < 0.05
    capsys.readouterr()


def _tar_gz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(UREA / "data.hkl", arcname="x.hkl")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: gzip.compress((UREA / "data.hkl").read_bytes())[:3000],
            "a gzip file that does not unpack: Compressed file ended before the end-of-stream "
            "marker was reached",
        ),
        (_tar_gz, "1: a tar archive (gzip), not a reflection file: unpack it first"),
        (lambda: gzip.compress(b" " * 3 * 2**20), "unpacks to over the 2 MB limit"),
    ],
    ids=["cut short", "tar", "bomb"],
)
def test_a_packed_file_that_cannot_be_read_is_one_line_and_nothing_written(
    tmp_path, shared_data, capsys, monkeypatch, make, message
):
    monkeypatch.setattr(files, "MAX_INPUT_BYTES", 2 * 2**20)
    shutil.copy(UREA / "published.res", tmp_path / "x.res")
    data = make()
    (tmp_path / "x.hkl.gz").write_bytes(data)
    args = ["assign", str(tmp_path / "x.res"), "--hkl", str(tmp_path / "x.hkl.gz"), *QUICK]
    assert main(args) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"crystalx: error: {tmp_path / 'x.hkl.gz'}:") and message in err
    assert err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.hkl.gz", "x.res"]
    assert (tmp_path / "x.hkl.gz").read_bytes() == data


def test_a_request_id_of_5000_digits_is_answered_in_our_words(shared_data):
    """Python's ValueError said 'use sys.set_int_max_str_digits() to increase the limit'."""
    request = b'{"protocol": 2, "id": ' + b"9" * 5000 + b', "method": "ping"}\n'
    done = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "serve", "--stdio"],
        input=request,
        capture_output=True,
        timeout=120,
    )
    error = json.loads(done.stdout)["error"]
    assert error == {
        "code": "bad-json",
        "message": "not JSON this service reads: a number of 5000 digits, over the 4300 read",
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"atoms": [], "n": ' + "7" * 5000 + "}", "a number of 5000 digits, over the 4300 read"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),  # a RecursionError in the panel
    ],
    ids=["digits", "nested"],
)
def test_the_panel_refuses_json_past_pythons_limits_in_one_line(tmp_path, text, message):
    path = tmp_path / "x_crystalx.json"
    path.write_text(text)
    with pytest.raises(InputError) as refused:
        read_assignment(path)
    assert str(refused.value) == f"{path}: cannot read an assignment: {message}"


def test_a_packed_powder_pattern_is_read_as_the_pattern_it_holds(tmp_path):
    """`crystalx pxrd x.xy.gz` was 'a gzip archive, not a powder pattern: unpack it first'."""
    from crystalx_core.pxrd.patterns import read_pattern

    plain = Path(__file__).parent / "data" / "uio66_nupxrd_2-30.xy"
    packed = tmp_path / "uio66.xy.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    read, expected = read_pattern(packed), read_pattern(plain)
    assert np.array_equal(read.two_theta, expected.two_theta)
    assert np.array_equal(read.intensity, expected.intensity)


@pytest.mark.parametrize(
    "report",
    ["[1]", "null", '{"inputs": [1]}', "[" * 100_000],
    ids=["list", "null", "inputs", "deep"],
)
def test_a_batch_redoes_a_structure_whose_report_is_not_its_own(
    tmp_path, shared_data, capsys, report
):
    """x_crystalx.json beside x.res holding other JSON (another program's, edited by hand) ended
    the whole batch: 'internal error: AttributeError' (RecursionError for 1e5 brackets). The
    structure is redone, the file kept as a backup."""
    shutil.copy(UREA / "published.res", tmp_path / "urea.res")
    (tmp_path / "urea_crystalx.json").write_text(report)
    assert main(["batch", str(tmp_path), *QUICK]) == 0
    assert json.loads((tmp_path / "urea_crystalx.json").read_text())["atoms"]
    assert (tmp_path / "urea_crystalx.json.bak").read_text() == report
    capsys.readouterr()


def test_outputs_and_messages_name_a_packed_input_by_the_file_it_holds(
    tmp_path, shared_data, capsys, monkeypatch
):
    """`pxrd --from-cif u.cif.gz` wrote u.cif_pxrd.*, and `solve x.res.gz` without reflections
    asked for x.res.hkl (review, s26hostile8-r)."""
    from crystalx_core.pxrd import predict

    monkeypatch.setattr(predict, "MODEL_PATH", tmp_path / "none.onnx")  # the simulated pattern only
    (tmp_path / "u.cif.gz").write_bytes(gzip.compress((UREA / "model.cif").read_bytes()))
    assert main(["pxrd", "--from-cif", str(tmp_path / "u.cif.gz")]) == 0
    assert (tmp_path / "u_pxrd.json").is_file() and (tmp_path / "u_pxrd_simulated.xy").is_file()
    (tmp_path / "x.res.gz").write_bytes(gzip.compress((UREA / "published.res").read_bytes()))
    capsys.readouterr()
    assert main(["solve", str(tmp_path / "x.res.gz"), "--quiet"]) == EXIT_INPUT
    assert "(looked for x.hkl and x.fcf (or gzip, bzip2, xz) beside it" in capsys.readouterr().err


def test_a_packed_ins_without_atoms_gives_way_to_the_cif_with_them(tmp_path, shared_data):
    """XPREP's x.ins (cell and contents, no atoms) packed as x.ins.gz beside the finished x.cif:
    the CIF is the structure, as beside a plain x.ins; x.ins.gz was taken for one with atoms
    (review, s26hostile8-r)."""
    from crystalx_core.batch_inputs import find_inputs

    res = (UREA / "published.res").read_text()
    xprep = res[: res.index("L.S.")] + "TREF\nHKLF 4\nEND\n"
    (tmp_path / "x.ins.gz").write_bytes(gzip.compress(xprep.encode()))
    shutil.copy(UREA / "model.cif", tmp_path / "x.cif")
    [item] = find_inputs(str(tmp_path)).items
    assert (item.model.name, [p.name for p in item.left_out]) == ("x.cif", ["x.ins.gz"])
