"""What a user's shell and folders bring to a job (session 23): cctbx's environment file
(libtbx_env) in the folder the job runs in, LIBTBX_BUILD left by another cctbx (Olex2's, a
Phenix or DIALS dispatcher's, a conda cctbx's activation), the training scripts' onnxruntime,
and a standard error whose writelines fails. Each failed on main before this branch, except
where a case says it guards the fix against doing too much."""

import errno
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from crystalx_core import cli

from .test_full_disk import QUICK, STRUCTURE

ROOT = Path(__file__).parent.parent


def job(cwd: Path, *args: str, **env) -> subprocess.CompletedProcess:
    """`crystalx ARGS` run as a user runs it, in its own process, from `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
        timeout=600,
    )


class _Touch:
    """A pickle that, when loaded, creates a file: what any code in a libtbx_env could do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("content", ["a pickle that runs code", "text"])
def test_a_libtbx_env_file_in_the_working_folder_is_never_read(tmp_path, content):
    """cctbx looks for a developer's build environment (libtbx.env_config.get_local_env) in the
    current folder and every sys.path folder, and unpickles any file named libtbx_env there,
    from the first import on (scitbx.lstbx.normal_eqns asks env.has_module). A data folder
    holding one (a cctbx build folder, a colleague's zip) ended every job in 'internal error:
    UnpicklingError', or ran whatever code the pickle held."""
    marker = tmp_path / "ran"
    (tmp_path / "libtbx_env").write_bytes(
        pickle.dumps(_Touch(marker)) if content.startswith("a pickle") else b"not a pickle\n"
    )
    (tmp_path / "x.res").write_text(STRUCTURE)
    done = job(tmp_path, "assign", "x.res", "--quiet", *QUICK)
    assert (done.returncode, done.stderr) == (0, "")
    assert not marker.exists()
    assert (tmp_path / "x_crystalx.res").is_file()


def _foreign_environment(folder: Path) -> Path:
    """A libtbx_env of another installation: this cctbx's own, as built for Python 3.8 (Olex2
    1.5 ships a Python 3.8 cctbx; its dispatchers export LIBTBX_BUILD to what they start)."""
    import libtbx.env_config

    with open(Path(libtbx.env_config.get_installed_path()) / "libtbx_env", "rb") as stream:
        env = pickle.load(stream)
    env.python_version_major_minor = (3, 8)
    folder.mkdir()
    (folder / "libtbx_env").write_bytes(pickle.dumps(env))
    return folder


@pytest.mark.parametrize("build", ["another installation", "this installation"])
def test_libtbx_build_of_another_cctbx_is_set_aside(tmp_path, build):
    """LIBTBX_BUILD is where cctbx reads its environment at import (libtbx.load_env). Left in
    the shell by another cctbx (a terminal opened from Olex2, a Phenix or DIALS dispatcher, a
    conda cctbx's activation), it ended every command before its first line with a traceback:
    'RuntimeError: Python version incompatible with this build'. The plugin's core already
    runs without it (crystalx_plugin.core_client.child_environment). Naming the cctbx that is
    imported, as a conda activation does, it is kept (the guard's case: passes on main)."""
    import libtbx.env_config

    folder = (
        _foreign_environment(tmp_path / "olex2_cctbx_build")
        if build == "another installation"
        else Path(libtbx.env_config.get_installed_path())
    )
    (tmp_path / "x.res").write_text(STRUCTURE)
    done = job(tmp_path, "assign", "x.res", "--quiet", *QUICK, LIBTBX_BUILD=str(folder))
    assert (done.returncode, done.stderr) == (0, "")
    assert (tmp_path / "x_crystalx.res").is_file()


def test_the_training_scripts_write_nothing_into_home(tmp_path):
    """The product imports onnxruntime with ORT_DISABLE_TELEMETRY=1 (runtime.py), but the
    export scripts imported it themselves, and onnxruntime 1.32 made
    ~/.cache/Microsoft/DeveloperTools/.onnxruntime (a device id, an event database) in the home
    of whoever exported a model."""
    done = subprocess.run(
        [sys.executable, "-c", "import crystalx_core.training.pxrd.export"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("*"))


class _Failing(io.StringIO):
    def write(self, text):
        raise OSError(28, "No space left on device")

    writelines = io.TextIOBase.writelines  # the base class's: one write per line


def test_writelines_on_a_failing_standard_error_raises_nothing(monkeypatch):
    """The guarded standard error (cli._error_stream) caught a failed write and flush, but
    passed writelines (a library's traceback or log lines) to the stream unguarded, so a full
    disk under `2>log` turned such a message into the job's own failure."""
    monkeypatch.setattr(sys, "stderr", _Failing())
    with cli._error_stream():
        sys.stderr.writelines(["a warning\n", "and its second line\n"])
        sys.stderr.write("more\n")


@pytest.mark.parametrize("command", ["assign", "batch"])
def test_a_read_only_input_folder_says_where_the_outputs_can_go(
    small_disk, tmp_path, capsys, command
):
    """Inputs on a read-only share (a mounted CD, a colleague's folder): the one line named the
    output and the system's reason but not the way out, writing the outputs elsewhere with
    --out, which then works."""
    (small_disk / "x.res").write_text(STRUCTURE)
    if subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode:
        pytest.skip("cannot remount the small disk read-only")
    target = str(small_disk / "x.res") if command == "assign" else str(small_disk)
    assert cli.main([command, target, "--quiet", *QUICK]) == 73
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.endswith("Read-only file system; write them elsewhere with --out DIR/\n")
    out = tmp_path / "elsewhere"
    assert cli.main([command, target, "--quiet", *QUICK, "--out", f"{out}/"]) == 0
    assert (out / "x_crystalx.res").is_file()


@pytest.mark.parametrize("kind", ["a link to a drive not mounted", "a FIFO", "a folder"])
@pytest.mark.parametrize("command", ["batch", "solve"])
def test_reflections_beside_that_are_no_file_are_named(tmp_path, capsys, kind, command):
    """x.hkl beside x.res that is no file: a link into raw data on a drive not mounted (or a
    folder moved), a FIFO, a folder. solve said 'none named x.hkl ... beside it', and a batch
    assigned the structure unrefined, 'ok' and without a note, as though there were no data;
    a 3 GB x.hkl beside it failed its row naming the file. Now the reader names it in both."""
    (tmp_path / "x.res").write_text(STRUCTURE)
    beside = tmp_path / "x.hkl"
    if kind.startswith("a link"):
        beside.symlink_to("/media/raw-data/x.hkl")
    elif kind == "a FIFO":
        os.mkfifo(beside)
    else:
        beside.mkdir()
    target = tmp_path if command == "batch" else tmp_path / "x.res"
    assert cli.main([command, str(target), "--quiet", *QUICK]) == (1 if command == "batch" else 2)
    said = capsys.readouterr().err
    if command == "batch":
        said = (tmp_path / "crystalx_batch.csv").read_text()
        assert not (tmp_path / "x_crystalx.res").exists()
    assert "x.hkl" in said and "none named" not in said
    expected = {
        "a link": "/media/raw-data/x.hkl",
        "a FIFO": "not a regular file",
        "a folder": "a folder",
    }
    assert next(text for start, text in expected.items() if kind.startswith(start)) in said


@pytest.mark.parametrize(
    "number, reason",
    [
        (errno.EACCES, "Access is denied"),  # Windows: ERROR_ACCESS_DENIED, ERROR_WRITE_PROTECT
        (errno.EPERM, "Operation not permitted"),  # macOS: a folder the privacy settings guard
    ],
)
@pytest.mark.parametrize("command", ["assign", "batch"])
def test_a_folder_denied_by_another_system_says_where_the_outputs_can_go(
    tmp_path, capsys, monkeypatch, command, number, reason
):
    """A read-only folder is EROFS only on a read-only mount; Windows says EACCES for a
    write-protected drive, a folder its ACL closes or a share, and macOS EPERM: each gets the
    --out hint, and the system's own words."""
    (tmp_path / "x.res").write_text(STRUCTURE)
    real_open = os.open

    def denied(path, *args, **kwargs):
        if Path(path).name.endswith((".tmp", ".lock")):  # an output's temporary, the batch's lock
            raise PermissionError(number, reason, str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    target = tmp_path / "x.res" if command == "assign" else tmp_path
    assert cli.main([command, str(target), "--quiet", *QUICK]) == 73
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.endswith(f"{reason}; write them elsewhere with --out DIR/\n")
    out = tmp_path / "elsewhere" / "x"
    assert cli.main([command, str(target), "--quiet", *QUICK, "--out", str(out)]) == 73
    assert "--out" not in capsys.readouterr().err  # a place the user chose: no hint
