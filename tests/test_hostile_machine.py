"""What a real machine does to a command-line job (session 22): a standard error that is closed
or cannot be written, a current folder deleted under the shell, a bzip2 archive among the inputs,
a home folder the job must not write into, a reader of the report gone before the first line.
Each failed on main before this branch; each runs the command as a user does, in its own
process, through the shell where the case is the shell's (`2>&-`)."""

import bz2
import subprocess
import sys
from pathlib import Path

import pytest

from crystalx_core import cli

from .test_full_disk import QUICK, STRUCTURE

ROOT = Path(__file__).parent.parent


def shell(line: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    """`sh -c line` with "$0" the interpreter, as a user's shell runs the command."""
    return subprocess.run(
        ["sh", "-c", line, sys.executable],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **env},
        timeout=600,
    )


@pytest.mark.parametrize("option", ["model", "--hkl"])
def test_a_bzip2_archive_is_named_for_what_it_is(tmp_path, capsys, option):
    """`bzip2 x.hkl` then renamed back (as datasets come from some archives): gzip, xz, zip,
    7-Zip and zstd were named, bzip2 was 'binary data (NUL byte)', or, where its bytes hold no
    NUL, a parse error far into the file. bzip2's stream header (its format: 'BZh', the block
    size 1-9, then a block's magic 0x314159265359) is what is recognised."""
    model = tmp_path / "x.res"
    model.write_text(STRUCTURE)
    packed = tmp_path / ("x.hkl" if option == "--hkl" else "y.res")
    packed.write_bytes(bz2.compress((STRUCTURE if option == "model" else "1 0 0 1 1\n").encode()))
    args = (
        ["assign", str(packed)]
        if option == "model"
        else ["assign", str(model), "--hkl", str(packed)]
    )
    assert cli.main([*args, "--quiet", *QUICK]) == 2
    what = "SHELX file" if option == "model" else "reflection file"
    assert capsys.readouterr().err == (
        f"crystalx: error: {packed}:1: a bzip2 archive, not a {what}: unpack it first\n"
    )


def test_a_text_file_that_begins_with_bzh_is_not_taken_for_an_archive(tmp_path, capsys):
    """Only the whole stream header counts: a title that happens to start 'BZh' is text."""
    model = tmp_path / "x.res"
    model.write_text("BZh9 is no title\n" + STRUCTURE)
    assert cli.main(["assign", str(model), "--quiet", *QUICK]) == 0


@pytest.mark.parametrize("home", ["folder", "file"])
def test_the_models_write_nothing_into_home_and_say_nothing_of_it(tmp_path, home):
    """onnxruntime 1.32 (its POSIX telemetry, PR microsoft/onnxruntime#27379) makes
    ~/.cache/Microsoft/DeveloperTools/.onnxruntime with a device id and an event database on
    `import onnxruntime`, in the user's home, for every job run with the models; where HOME
    cannot be written (a cluster's read-only home, HOME a file) it printed a coloured
    '[W:onnxruntime:Default, telemetry_1ds.cc:613] Failed to persist telemetry device ID' on
    every run. The library's own switch, ORT_DISABLE_TELEMETRY=1 (read at import; the PR says
    nothing is then created or sent), is set unless the user set it."""
    place = tmp_path / "home"
    if home == "folder":
        place.mkdir()
    else:
        place.write_text("")
    source = tmp_path / "x.res"
    source.write_text(STRUCTURE)
    done = shell(
        f'exec "$0" -m crystalx_core.cli assign {source} --quiet', tmp_path, HOME=str(place)
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "by method 'model'" in done.stdout
    if home == "folder":
        assert not list(place.rglob("*"))
