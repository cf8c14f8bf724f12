"""A full disk where the outputs or the report go, on a real one (a small tmpfs, conftest's
small_disk: ENOSPC from write(2) as every Linux file system gives it) and, where none can be
mounted, with the error the real one gave (OSError errno 28, no file name, from the stream's
write or flush; measured on tmpfs in session 13)."""

import errno
import io
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

from crystalx_core.batch import _work
from crystalx_core.cli import EXIT_OUTPUT, main

from .conftest import fill
from .test_shelx_io import HEADER

STRUCTURE = (
    HEADER + "FVAR 1\nC1 1 0.1 0.2 0.3 11 0.03\nO1 3 0.22 0.2 0.3 11 0.03\n"
    "C2 1 0.1 0.33 0.3 11 0.03\nHKLF 4\nEND\n"
)
QUICK = ["--method", "baseline", "--hydrogens", "rules"]
PAGE = 4096  # tmpfs counts whole pages


def crystalx(args, cwd, stdout=subprocess.PIPE):
    """The command in its own process, as a user runs it: (exit code, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "crystalx_core.cli", *args],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).parent.parent), "PATH": "/usr/bin:/bin"},
        timeout=600,  # a hang fails the test instead of the whole run (no pytest-timeout)
    )
    return done.returncode, done.stdout or "", done.stderr


def pages(paths) -> int:
    return sum(-(-p.stat().st_size // PAGE) for p in paths)


def batch_folder(root: Path, names="abcde") -> Path:
    folder = root / "set"
    folder.mkdir()
    for name in names:
        (folder / f"{name}.res").write_text(STRUCTURE)
    return folder


def test_a_disk_that_fills_mid_batch_stops_it_keeps_what_is_done_and_the_same_command_resumes(
    small_disk, tmp_path
):
    """The batch went on through every structure (each computed, then refused), so a folder of
    hundreds spent hours to fail each one, and one line about the summary was all a user saw
    when that too found no room. Now the first full disk stops it: the structures done keep
    complete outputs, the rest are 'not done', one line says what happened and what to do."""
    plain = batch_folder(tmp_path)  # how much one structure's outputs take
    assert crystalx(["batch", str(plain), "--quiet", "--workers", "1", *QUICK], tmp_path)[0] == 0
    one = pages(plain.glob("a_crystalx.*"))
    folder = batch_folder(small_disk)
    fill(small_disk, leave=(one + 1) * PAGE)  # room for a's outputs, not for b's
    args = ["batch", str(folder), "--quiet", "--workers", "1", *QUICK]
    code, out, err = crystalx(args, small_disk)
    assert code == EXIT_OUTPUT, err
    assert err.count("\n") == 1 and err.startswith(f"crystalx: error: {folder}/b_crystalx."), err
    assert "No space left on device; the batch stopped: 1 of 5 structures have their outputs" in err
    assert "free some space and run the same command to do the rest" in err
    assert "not done (the disk was full)" in out.splitlines()[0], out
    written = sorted(p.name for p in folder.iterdir() if p.suffix != ".res" or "_" in p.name)
    assert [n for n in written if "crystalx." in n and not n.startswith("crystalx_")] == [
        "a_crystalx.cif",
        "a_crystalx.json",
        "a_crystalx.res",
    ]
    assert (folder / "a_crystalx.res").read_bytes() == (plain / "a_crystalx.res").read_bytes()
    atoms = [json.loads((f / "a_crystalx.json").read_text())["atoms"] for f in (folder, plain)]
    assert atoms[0] == atoms[1]
    assert (folder / "a_crystalx.cif").read_text().rstrip().endswith(";")  # its embedded .res
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    (small_disk / "filler").unlink()
    code, out, err = crystalx(args, small_disk)
    assert code == 0, err
    assert out.startswith("5 of 5 structures assigned (1 from an earlier run), 0 failed\n"), out


def test_a_full_disk_before_the_first_structure_still_tells_the_rows(small_disk):
    """Nothing can be written, the summary neither: the terminal still lists every structure
    and the one error line says the summary is missing too."""
    folder = batch_folder(small_disk, "abc")
    fill(small_disk, leave=0)
    code, out, err = crystalx(["batch", str(folder), "--quiet", "--workers", "1", *QUICK], folder)
    assert code == EXIT_OUTPUT, err
    assert err.count("\n") == 1 and "0 of 3 structures have their outputs, 3 not" in err
    assert err.rstrip().endswith("(the summary could not be written either)")
    assert out.startswith("0 of 3 structures assigned"), out
    assert sorted(p.name for p in folder.iterdir()) == [
        ".crystalx_batch.lock",
        "a.res",
        "b.res",
        "c.res",
    ]


def test_a_report_to_a_full_disk_is_one_line_naming_standard_output(small_disk, tmp_path):
    """`crystalx assign x.res > log` with log on a full disk: the outputs are complete (they
    went elsewhere), but the summary is lost; this said 'crystalx: error: No space left on
    device' with the exit code of a bad input (2)."""
    source = tmp_path / "x.res"
    source.write_text(STRUCTURE)
    fill(small_disk, leave=0)
    with open(small_disk / "log", "w") as log:
        code, _, err = crystalx(["assign", str(source), *QUICK], tmp_path, stdout=log)
    assert (code, err) == (
        EXIT_OUTPUT,
        "crystalx: error: standard output: cannot write the report: No space left on device\n",
    )
    assert sorted(p.name for p in tmp_path.iterdir() if "crystalx" in p.name) == [
        "x_crystalx.cif",
        "x_crystalx.json",
        "x_crystalx.res",
    ]


def test_the_service_answering_into_a_full_disk_ends_in_one_line(small_disk):
    """`crystalx serve --stdio > answers` on a full disk: no client can read an answer, so the
    service ends, with one line (it was 'crystalx: error: No space left on device', exit 2)."""
    fill(small_disk, leave=0)
    with open(small_disk / "answers", "w") as answers:
        done = subprocess.run(
            [sys.executable, "-m", "crystalx_core.cli", "serve", "--stdio"],
            input='{"protocol": 2, "id": 1, "method": "ping"}\n',
            stdout=answers,
            stderr=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": str(Path(__file__).parent.parent)},
            timeout=600,
        )
    assert (done.returncode, done.stderr) == (
        EXIT_OUTPUT,
        "crystalx: error: standard output: cannot write the answer: No space left on device\n",
    )


class FullStream(io.StringIO):
    """Standard output on a full disk, as it failed on tmpfs: every write reaching the file
    raises OSError(ENOSPC) with no file name."""

    def write(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_report_that_cannot_be_written_is_an_output_error_everywhere(
    tmp_path, monkeypatch, capsys
):
    """The same case without a mount (a machine where none is allowed)."""
    source = tmp_path / "x.res"
    source.write_text(STRUCTURE)
    monkeypatch.setattr(sys, "stdout", FullStream())
    assert main(["assign", str(source), *QUICK]) == EXIT_OUTPUT
    assert capsys.readouterr().err == (
        "crystalx: error: standard output: cannot write the report: No space left on device\n"
    )
    assert len(list(tmp_path.glob("x_crystalx.*"))) == 3
    assert sys.stdout is None  # set aside without opening a file that nothing closes


def test_a_quota_stops_a_batch_as_a_full_disk_does_and_a_size_limit_does_not():
    """EDQUOT (the user's quota, as NFS and XFS give it) leaves no room for any later output,
    like ENOSPC; EFBIG (one file over RLIMIT_FSIZE or the file system's limit) is that file's.
    No real quota here: this kernel's tmpfs has no quota option (mount -o usrquota: 'bad
    option', session 13)."""
    from crystalx_core.errors import OutputError

    assert OutputError("x", errno=errno.ENOSPC).disk_full
    assert OutputError("x", errno=errno.EDQUOT).disk_full
    assert not OutputError("x", errno=errno.EFBIG).disk_full
    assert not OutputError("x").disk_full


def test_a_job_with_no_standard_output_at_all_ends_as_it_would_with_one(
    tmp_path, monkeypatch, capsys
):
    """fd 1 closed (`crystalx assign x.res >&-`, cron, pythonw): Python sets sys.stdout to
    None and print() writes nothing. The report guard wrapped None, so the job wrote its
    outputs and then ended 'internal error: AttributeError', exit 70."""
    source = tmp_path / "x.res"
    source.write_text(STRUCTURE)
    monkeypatch.setattr(sys, "stdout", None)
    assert main(["assign", str(source), *QUICK]) == 0
    assert capsys.readouterr().err == ""
    assert len(list(tmp_path.glob("x_crystalx.*"))) == 3
    assert sys.stdout is None


def one_worker_pool(items, options, workers, keys, rows, progress):
    """batch._run_in_pool as it behaves with --workers 1, in this process: the structures in
    order, each row recorded and shown as it finishes; after a disk_full row the pool cancels
    the structures not begun (their futures raise CancelledError and leave no row); no worker
    died, so no key comes back."""
    from crystalx_core import batch

    for k in keys:
        rows[k] = batch.run_one(items[k], options)
        progress(rows[k])
        if rows[k].get("disk_full"):
            break
    return []


def test_a_full_disk_stops_a_batch_where_no_disk_can_be_mounted(tmp_path, monkeypatch, capsys):
    """The batch stop of the tmpfs test above, on a machine that allows no mount (CI without
    root): structure b's first output meets ENOSPC as write(2) gave it on tmpfs (the
    temporary created, its write refused), in a pool of one worker run in this process."""
    from crystalx_core import batch, outputs

    monkeypatch.setattr(outputs, "_write_temporary", disk_full_from("b_"))
    monkeypatch.setattr(batch, "_run_in_pool", one_worker_pool)
    folder = batch_folder(tmp_path)
    assert main(["batch", str(folder), "--quiet", "--json", *QUICK]) == EXIT_OUTPUT
    out, err = capsys.readouterr()
    rows = json.loads(out)["rows"]
    assert [r["status"] for r in rows[1:]] == ["failed", "not done", "not done", "not done"]
    assert rows[0]["status"] not in ("failed", "not done") and "disk_full" not in rows[0]
    assert rows[1]["disk_full"] is True
    assert all("the batch stopped when the disk was full (b);" in r["error"] for r in rows[2:])
    assert err == (
        f"crystalx: error: {folder / 'b_crystalx.res'}: cannot write the output: No space left "
        "on device; the batch stopped: 1 of 5 structures have their outputs, 4 not; free some "
        "space and run the same command to do the rest\n"
    )
    assert len(list(folder.glob("a_crystalx.*"))) == 3 and not list(folder.glob("b_crystalx*"))
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def disk_full_from(first: str):
    """outputs._write_temporary on a disk that fills at structure `first`: from there each
    structure's output temporary is created and its write refused, as tmpfs did (ENOSPC); the
    batch summary still fits."""
    from crystalx_core import outputs

    real = outputs._write_temporary

    def write(path, data, temporaries):
        if path.name < first or "_crystalx." not in path.name:
            return real(path, data, temporaries)
        real(path, data[:1], temporaries)  # what fitted
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


HANDED = None  # the file counting_work notes each structure a pool worker is handed in


def counting_work(item, options):
    """batch._work, first noting the structure handed to this worker (a forked one: it sees
    the test's HANDED and monkeypatches). A structure after b lingers 0.3 s in the worker, as
    a real one's job takes seconds: else the worker, whose _work returns at once once the disk
    is full, drains its queue in microseconds and races the parent's cancel (1 run in ~9)."""
    with open(HANDED, "a") as log:
        log.write(f"{item.model.name}\n")
    if item.model.name not in ("a.res", "b.res"):
        time.sleep(0.3)
    return _work(item, options)


def test_after_a_full_disk_no_worker_begins_another_structure(tmp_path, monkeypatch, capsys):
    """A real pool (one worker, forked so that it sees this test's full disk) after b's outputs
    find no room: the structures already queued to the worker are not begun (_work's Event;
    without it they would run and fail too) and the rest are cancelled in the pool, never
    handed to a worker (without the cancel, all eight would be)."""
    from crystalx_core import assign, batch, outputs

    monkeypatch.setattr(outputs, "_write_temporary", disk_full_from("b_"))
    monkeypatch.setattr(batch, "get_context", lambda _: multiprocessing.get_context("fork"))
    monkeypatch.setattr(assign, "resolve_method", lambda _: "baseline")  # no ONNX in a fork
    monkeypatch.setattr(sys.modules[__name__], "HANDED", str(tmp_path / "handed"))
    monkeypatch.setattr(batch, "_work", counting_work)
    folder = batch_folder(tmp_path, "abcdefgh")
    args = ["batch", str(folder), "--quiet", "--json", "--workers", "1", *QUICK]
    assert main(args) == EXIT_OUTPUT
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["status"] for r in rows[1:]] == ["failed"] + ["not done"] * 6
    handed = (tmp_path / "handed").read_text().split()
    assert handed[:2] == ["a.res", "b.res"] and len(handed) < 8, handed


def test_a_reader_that_goes_away_ends_the_job_quietly_with_its_outputs_written(tmp_path):
    """`crystalx assign x.res | head`, the reader gone before the report: as a shell tool
    killed by SIGPIPE, quiet and 128 + 13; this said 'crystalx: error: Broken pipe' with the
    exit code of a bad input (2). The outputs are written before the report."""
    source = tmp_path / "x.res"
    source.write_text(STRUCTURE)
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    with os.fdopen(write, "w") as pipe:
        code, _, err = crystalx(["assign", str(source), *QUICK], tmp_path, stdout=pipe)
    assert (code, err) == (141, "")
    assert sorted(p.name for p in tmp_path.iterdir() if "crystalx" in p.name) == [
        "x_crystalx.cif",
        "x_crystalx.json",
        "x_crystalx.res",
    ]


def test_the_service_with_a_closed_standard_stream_says_so_in_one_line(tmp_path):
    """`crystalx serve --stdio >&-` (or `<&-`): Python sets the closed stream to None; this
    ended in 'internal error: AttributeError' (exit 70)."""
    for closed, code, word in ((1, EXIT_OUTPUT, "standard output"), (0, 2, "standard input")):
        done = subprocess.run(
            [
                "sh",
                "-c",
                f'exec "$0" -m crystalx_core.cli serve --stdio {closed}>&-',
                sys.executable,
            ],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(Path(__file__).parent.parent), "PATH": "/usr/bin:/bin"},
            timeout=600,
        )
        assert done.returncode == code, done.stderr
        assert done.stderr.startswith("crystalx: error: ") and word in done.stderr
        assert done.stderr.count("\n") == 1
