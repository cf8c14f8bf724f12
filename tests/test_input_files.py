"""Inputs that are not ordinary files are refused at once with a one-line error: a FIFO (which
would block forever), a device (which never ends), a folder, a file over the size limit; a huge
value is not echoed back whole."""

import os
import subprocess
import sys

import pytest

from crystalx_core import cli
from crystalx_core.io.files import MAX_INPUT_BYTES

from .conftest import BENCHMARK


def assign(path, *extra):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "crystalx_core.cli",
            "assign",
            str(path),
            "--quiet",
            "--method",
            "baseline",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_fifo_is_refused_instead_of_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "x.res")
    done = assign(tmp_path / "x.res")
    assert done.returncode == 2
    assert (
        done.stderr
        == f"crystalx: error: {tmp_path}/x.res: not a regular file (a pipe, socket or device), "
        "not a SHELX file\n"
    )


@pytest.mark.parametrize("name, what", [("x.res", "SHELX file"), ("x.cif", "CIF")])
def test_a_link_to_a_device_is_refused(tmp_path, capsys, name, what):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    (tmp_path / name).symlink_to("/dev/zero")
    assert cli.main(["assign", str(tmp_path / name), "--quiet", "--method", "baseline"]) == 2
    assert (
        capsys.readouterr().err == f"crystalx: error: {tmp_path}/{name}: not a regular file "
        f"(a pipe, socket or device), not a {what}\n"
    )


def test_a_folder_and_a_file_over_the_limit_are_refused(tmp_path, capsys, shared_data):
    (tmp_path / "x.res").mkdir()
    assert cli.main(["assign", str(tmp_path / "x.res"), "--quiet"]) == 2
    assert (
        capsys.readouterr().err
        == f"crystalx: error: {tmp_path}/x.res: a folder, not a SHELX file\n"
    )
    model = tmp_path / "y.res"
    model.write_text((BENCHMARK / "FC_sucrose" / "published.res").read_text())
    with open(tmp_path / "y.hkl", "wb") as huge:
        huge.truncate(MAX_INPUT_BYTES + 1)  # sparse: no disk space taken
    assert cli.main(["assign", str(model), "--hkl", str(tmp_path / "y.hkl"), "--quiet"]) == 2
    assert (
        capsys.readouterr().err
        == f"crystalx: error: {tmp_path}/y.hkl: {MAX_INPUT_BYTES + 1} bytes, over the "
        "256 MB limit for a reflection file\n"
    )


@pytest.mark.parametrize(
    "line", ["CELL 0.71073 {big} 10 10 90 90 90", "CELL 0.71073 10 10 10 90 90 90 {letters}"]
)
def test_a_megabyte_value_is_cut_in_the_error_line(tmp_path, capsys, line):
    source = tmp_path / "x.res"
    source.write_text("TITL x\n" + line.format(big="9" * 10**6, letters="A" * 10**6) + "\nEND\n")
    assert cli.main(["assign", str(source), "--quiet", "--method", "baseline"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"crystalx: error: {source}:2: CELL") and error.count("\n") == 1
    assert len(error) < 200 and "…" in error


def test_the_panel_refuses_a_fifo_as_an_assignment_file(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from crystalx_core.errors import InputError
    from crystalx_core.panel.rows import read_assignment

    os.mkfifo(tmp_path / "x_crystalx.json")
    reading = ThreadPoolExecutor(1).submit(read_assignment, tmp_path / "x_crystalx.json")
    with pytest.raises(InputError, match="not a regular file"):
        reading.result(timeout=10)
