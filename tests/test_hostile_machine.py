"""What a real machine does to a command-line job (session 22): a standard error that is closed
or cannot be written, a reader of the report gone, a standard output that is not UTF-8, a current
folder deleted under the shell, a bzip2 archive among the inputs, a home folder the job must not
write into. Each failed on main before this branch (the 'BZh' text case guards the bzip2 check
against text); each runs the command as a user does, in its own process, through the shell
where the case is the shell's (`2>&-`)."""

import bz2
import os
import subprocess
import sys
import time
from contextlib import suppress
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


# assign's case: test_a_job_started_without_standard_input_and_error_has_dev_null_on_them
@pytest.mark.parametrize("command", ["batch"])
def test_a_job_with_its_standard_error_closed_runs_and_writes_its_outputs(tmp_path, command):
    """`crystalx assign x.res 2>&-` (no --quiet): Python sets sys.stderr to None, and the check
    for a terminal to draw progress on (sys.stderr.isatty()) ended every job and every batch in
    'internal error: AttributeError' (exit 70), no outputs written."""
    source = tmp_path / "x.res"
    source.write_text(STRUCTURE)
    target = source.name if command == "assign" else "."
    done = shell(
        f'exec "$0" -m crystalx_core.cli {command} {target} ' + " ".join(QUICK) + " 2>&-", tmp_path
    )
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("assigned" if command == "assign" else "1 of 1 structures")
    assert (tmp_path / "x_crystalx.res").is_file()


def test_a_closed_standard_error_keeps_errors_out_of_standard_output(tmp_path):
    """`crystalx assign x.res --json > result.json 2>&-` (a cron line, a script silencing
    stderr): Python sets sys.stderr to None and print(file=None) writes to standard output, so
    the error line went into result.json, where a reader expects JSON (or nothing)."""
    done = shell('exec "$0" -m crystalx_core.cli assign missing.res --json 2>&-', tmp_path)
    assert (done.returncode, done.stdout) == (2, "")


@pytest.mark.parametrize(
    "redirect",
    [
        "2</dev/null",  # open, but read-only: what a bash wrapper script leaves the job on fd 2
        "2>/dev/full",  # every write fails (ENOSPC), as on a full disk
    ],
)
def test_a_standard_error_that_cannot_be_written_keeps_the_exit_code(tmp_path, redirect):
    """A bash script run with `2>&-` opens itself on the free fd 2 and execs the command with
    it still there, read-only (seen with strace: `openat("./wrapper") = 2`), so the error line
    failed with EBADF inside main's handler: the command exited 1 (Python's 'lost sys.stderr';
    120 where the flush at exit failed too) in place of 2, the code a script tells a bad input
    by."""
    done = shell(f'exec "$0" -m crystalx_core.cli assign missing.res {redirect}', tmp_path)
    assert (done.returncode, done.stdout) == (2, "")


def test_a_deleted_current_folder_is_said_in_one_line(tmp_path):
    """The shell still sits in a folder another shell removed (`rm -rf run1` while a terminal is
    in it): cctbx's import calls os.getcwd() (libtbx.env_config.get_local_env), whose ENOENT
    reached the user as 'crystalx: error: No such file or directory', naming nothing, even for
    an input given by its full path."""
    source = tmp_path / "x.res"
    source.write_text(STRUCTURE)
    gone = tmp_path / "gone"
    gone.mkdir()
    done = shell(
        f'cd gone && rmdir "$PWD" && exec "$0" -m crystalx_core.cli assign {source} '
        + " ".join(QUICK),
        tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "crystalx: error: the current folder no longer exists (deleted or moved): "
        "cd into a folder and run the command again\n"
    )
    assert not list(tmp_path.glob("x_crystalx*"))


@pytest.mark.parametrize("option", ["model", "--hkl"])
def test_a_bzip2_archive_is_named_for_what_it_is(tmp_path, capsys, option):
    """`bzip2 x.hkl` then renamed back (as datasets come from some archives), cut short: gzip,
    xz, zip, 7-Zip and zstd were named, bzip2 was 'binary data (NUL byte)', or, where its bytes
    hold no NUL, a parse error far into the file. bzip2's stream header (its format: 'BZh', the
    block size 1-9, then a block's magic 0x314159265359) is what is recognised; a whole one is
    read as the file it holds (test_hostile_archives)."""
    model = tmp_path / "x.res"
    model.write_text(STRUCTURE)
    packed = tmp_path / ("x.hkl" if option == "--hkl" else "y.res")
    text = STRUCTURE if option == "model" else "1 0 0 1 1\n"
    packed.write_bytes(bz2.compress(text.encode())[:-4])
    args = (
        ["assign", str(packed)]
        if option == "model"
        else ["assign", str(model), "--hkl", str(packed)]
    )
    assert cli.main([*args, "--quiet", *QUICK]) == 2
    assert capsys.readouterr().err == (
        f"crystalx: error: {packed}: a bzip2 file that does not unpack: Compressed file ended "
        "before the end-of-stream marker was reached\n"
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


def test_a_reader_gone_before_the_demo_s_first_line_still_gets_its_outputs(tmp_path):
    """`crystalx demo | head -0` with PYTHONUNBUFFERED=1 (common in containers and CI, as
    `python -u`; this project's own machines set it): every print reaches the pipe at once,
    and the demo prints its first lines before it writes its outputs, so the broken pipe ended
    it with the inputs written and no outputs, against the README's word (the outputs are
    written first). Now a reader gone is noted, the job runs to its end and exits 141 as before."""
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as pipe:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "crystalx_core.cli",
                "demo",
                "--dir",
                "d",
                "--cycles",
                "2",
                *QUICK,
            ],
            cwd=tmp_path,
            stdout=pipe,
            stderr=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"},
            timeout=600,
        )
    assert (done.returncode, done.stderr) == (141, "")
    assert sorted(p.name for p in (tmp_path / "d").glob("demo_crystalx*")) == [
        "demo_crystalx.cif",
        "demo_crystalx.json",
        "demo_crystalx.res",
    ]


# one code page is enough: every non-UTF-8 encoding takes the same path (a second, ascii, cost
# a refinement more for the same proof)
@pytest.mark.parametrize("encoding, written", [("cp1252", "e Å\\u207b³")])
def test_a_report_to_a_stream_that_is_not_utf8_escapes_what_it_cannot_hold(
    tmp_path, shared_data, encoding, written
):
    """Windows writes a redirected standard output (`crystalx assign x.res --hkl x.hkl >
    log.txt`) in its ANSI code page, cp1252, and PYTHONIOENCODING or an ISO-8859-1 locale does
    the same elsewhere: the refinement's 'e Å⁻³' (⁻ is in no such code page) was a
    UnicodeEncodeError, exit 70 after the outputs were written and before the summary. XH_urea
    as published, with its reflections."""
    for name in ("published.res", "data.hkl"):
        (tmp_path / name).write_bytes((shared_data / "benchmark" / "XH_urea" / name).read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", "assign", "published.res", "--hkl"]
        + ["data.hkl", "--quiet", *QUICK],
        cwd=tmp_path,
        capture_output=True,
        encoding=encoding,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": encoding},
        timeout=600,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert written in done.stdout
    assert done.stdout.splitlines()[-1].startswith("wrote ")


def test_a_default_output_name_too_long_for_the_file_system_suggests_out(tmp_path, capsys):
    """An input named near the 255-byte limit of a name (ext4, XFS, NTFS): its default output,
    '<name>_crystalx.res', is longer than the file system allows, and the line said only 'File
    name too long' (exit 73), not the way out; a shorter --out then writes the outputs."""
    source = tmp_path / ("x" * 246 + ".res")
    source.write_text(STRUCTURE)
    assert cli.main(["assign", str(source), "--quiet", *QUICK]) == 73
    error = capsys.readouterr().err
    assert error.startswith("crystalx: error: ") and error.count("\n") == 1
    assert error.endswith("File name too long; name the outputs with --out\n")
    assert cli.main(["assign", str(source), "--quiet", "--out", str(tmp_path / "y"), *QUICK]) == 0
    assert (tmp_path / "y.res").is_file()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_standard_descriptors_left_closed_are_taken_by_dev_null(tmp_path):
    """A command started with `2>&-` (or `>&-`, `<&-`) has no file on that descriptor, and the
    next file opened takes the lowest free one: the supervisor's pipe, an input, an output would
    become the job's standard error, where a C library writes its messages. The command takes
    each closed one with /dev/null first (crystalx_core/__init__.py, before the supervisor's
    pipe), inheritable for a batch's workers; a file opened after lands above 2."""
    probe = (
        "import os\n"
        "from crystalx_core import _startup\n"
        "_startup.reserve_standard_fds()\n"
        "fd = os.open('out.txt', os.O_WRONLY | os.O_CREAT)\n"
        "os.write(fd, ' '.join([str(fd)] + [os.readlink(f'/proc/self/fd/{n}') + "
        "str(os.get_inheritable(n)) for n in (0, 1, 2)]).encode())\n"
    )
    done = shell(f'exec "$0" -c "{probe}" <&- >&- 2>&-', tmp_path)
    assert done.returncode == 0
    assert (tmp_path / "out.txt").read_text() == "3 /dev/nullTrue /dev/nullTrue /dev/nullTrue"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_job_started_without_standard_input_and_error_has_dev_null_on_them(tmp_path):
    """`crystalx assign x.res <&- 2>&-` (a daemon's job, a cron line silencing stderr): the
    supervisor's pipe, opened first (crystalx_core/_supervisor.py), took the free fds 0 and 2,
    so the job's standard error was the pipe's write end: a C library's message (onnxruntime's
    logger) went to the supervisor, which reads anything there as the job's answer to a stop
    (and with `>&- 2>&-` its own /dev/null on fd 1 replaced the pipe's read end: it could no
    longer hear the job). Now fds 0 and 2 of the job (the supervisor's child, read in /proc
    while it runs) are /dev/null, and the job still writes its report and outputs (on main:
    exit 70 before any output, sys.stderr.isatty() on None)."""
    (tmp_path / "x.res").write_text(STRUCTURE)
    line = 'exec "$0" -m crystalx_core.cli assign x.res ' + " ".join(QUICK) + " <&- 2>&-"
    job = subprocess.Popen(
        ["sh", "-c", line, sys.executable],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    seen: dict = {}
    children = Path(f"/proc/{job.pid}/task/{job.pid}/children")
    while job.poll() is None and not seen:
        with suppress(OSError):  # not forked yet, gone, or a descriptor still closed
            for child in children.read_text().split():
                seen = {fd: os.readlink(f"/proc/{child}/fd/{fd}") for fd in (0, 2)}
        time.sleep(0.005)
    report = job.communicate(timeout=600)[0]
    assert job.returncode == 0
    assert seen == {0: "/dev/null", 2: "/dev/null"}
    assert report.startswith("assigned")
    assert len(list(tmp_path.glob("x_crystalx.*"))) == 3
