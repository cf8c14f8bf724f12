"""x_crystalx.res/.cif/.json as one transaction on real file systems: a full disk (a small tmpfs
mounted here), an immutable output and a folder with an output's name leave the previous set
exactly as it was, with no temporary left; new outputs follow the umask."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from crystalx_core import cli
from crystalx_core.errors import OutputError
from crystalx_core.outputs import write_outputs

from .conftest import BENCHMARK, fill, snapshot

NAMES = ("x_crystalx.res", "x_crystalx.cif", "x_crystalx.json")
NAMES_EXT = (".res", ".cif", ".json")


def old_set(folder):
    write_outputs({folder / name: f"old {name}\n" for name in NAMES})
    return snapshot(folder)


def test_a_full_disk_writes_nothing_and_keeps_the_old_set(small_disk):
    old_set(small_disk)
    fill(small_disk, leave=0)
    before = snapshot(small_disk)
    with pytest.raises(
        OutputError, match=r"x_crystalx\.res: cannot write the output: No space left on device"
    ):
        write_outputs({small_disk / name: "new\n" * 2000 for name in NAMES})
    assert snapshot(small_disk) == before


def test_a_disk_that_fills_half_way_through_the_set_keeps_the_old_set(small_disk):
    old_set(small_disk)
    fill(small_disk, leave=16384)
    before = snapshot(small_disk)
    new = {
        small_disk / "x_crystalx.res": "r" * 4000,
        small_disk / "x_crystalx.cif": "c" * 200_000,
        small_disk / "x_crystalx.json": "{}\n",
    }
    with pytest.raises(
        OutputError, match=r"x_crystalx\.cif: cannot write the output: No space left on device"
    ):
        write_outputs(new)
    assert snapshot(small_disk) == before


def test_the_command_on_a_full_disk_exits_73_naming_the_file(small_disk, shared_data, capsys):
    source = small_disk / "x.res"
    source.write_text((BENCHMARK / "FC_sucrose" / "published.res").read_text())
    assert cli.main(["assign", str(source), "--quiet", "--method", "baseline"]) == 0
    fill(small_disk, leave=0)
    before = snapshot(small_disk)
    capsys.readouterr()
    assert (
        cli.main(["assign", str(source), "--quiet", "--method", "baseline"])
        == cli.EXIT_OUTPUT
        == 73
    )
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"crystalx: error: {small_disk}/x_crystalx.")
    assert error.endswith(": cannot write the output: No space left on device\n")
    assert snapshot(small_disk) == before


def test_an_immutable_output_rolls_the_whole_set_back(tmp_path):
    before = old_set(tmp_path)
    locked = tmp_path / "x_crystalx.json"
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode:
        pytest.skip("chattr +i is not supported here")
    try:
        with pytest.raises(
            OutputError,
            match=r"x_crystalx\.json: cannot replace the output: Operation not permitted",
        ):
            write_outputs({tmp_path / name: f"new {name}\n" for name in NAMES})
        assert snapshot(tmp_path) == before  # .res and .cif were replaced, then put back
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)


def test_a_folder_with_an_outputs_name_is_refused_before_anything_changes(tmp_path, shared_data):
    source = tmp_path / "x.res"
    source.write_text((BENCHMARK / "FC_sucrose" / "published.res").read_text())
    old_set(tmp_path)
    (tmp_path / "x_crystalx.json").unlink()
    (tmp_path / "x_crystalx.json").mkdir()
    before = snapshot(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "crystalx_core.cli",
            "assign",
            str(source),
            "--quiet",
            "--method",
            "baseline",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 73
    assert (
        done.stderr == f"crystalx: error: {tmp_path}/x_crystalx.json: cannot replace: "
        "a folder has the output's name\n"
    )
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_outputs_follow_the_umask_and_backups_keep_the_old_mode(tmp_path, mask):
    target = tmp_path / "x_crystalx.res"
    target.write_text("old\n")
    target.chmod(0o640)
    previous = os.umask(mask)
    try:
        backups = write_outputs({target: "new\n"})
    finally:
        os.umask(previous)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert (
        backups == [tmp_path / "x_crystalx.res.bak"] and backups[0].stat().st_mode & 0o777 == 0o640
    )
    assert backups[0].read_text() == "old\n"


@pytest.fixture(scope="module")
def thpp_major(shared_data):
    """thpp (NoSpherA2's sample, a CH2-CH2 pair 14 % disordered) as a user's .res with only
    the major part, no H: `assign --hkl` adds the minor part and writes FVAR and PART."""
    from dataclasses import replace

    from crystalx_core.elements import is_hydrogen
    from crystalx_core.io.cif import read_cif
    from crystalx_core.io.shelx_write import new_ins_text

    published = read_cif(BENCHMARK / "N2_thpp" / "model.cif").structure
    major = [
        replace(s, part=0, occupancy=1.0)
        for s in published.sites
        if s.part in (0, 1) and not is_hydrogen(s.element)
    ]
    return new_ins_text(published.with_sites(major)), (BENCHMARK / "N2_thpp" / "data.hkl")


def test_assign_with_partly_occupied_sites_on_a_full_disk_exits_73_and_keeps_everything(
    small_disk, thpp_major, capsys
):
    """The newest write path: a .res with FVAR and PART for the sites the data added. Inputs
    and the previous outputs stay byte for byte and inode for inode; no temporary is left."""
    res_text, hkl = thpp_major
    source = small_disk / "thpp.res"
    source.write_text(res_text)
    (small_disk / "thpp.hkl").write_bytes(hkl.read_bytes())
    write_outputs({small_disk / f"thpp_crystalx{ext}": f"old {ext}\n" for ext in NAMES_EXT})
    fill(small_disk, leave=0)
    before = snapshot(small_disk)
    args = ["assign", str(source), "--hkl", str(small_disk / "thpp.hkl"), "--json"]
    assert cli.main(args + ["--method", "baseline", "--hydrogens", "rules"]) == cli.EXIT_OUTPUT
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"crystalx: error: {small_disk}/thpp_crys")
    assert error.endswith(": cannot write the output: No space left on device\n")
    assert snapshot(small_disk) == before
    (small_disk / "filler").unlink()
    assert cli.main(args + ["--method", "baseline", "--hydrogens", "rules"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any("partly occupied sites from the difference map" in n for n in report["notes"])
    written = (small_disk / "thpp_crystalx.res").read_text()
    assert "\nFVAR 1.00000 0." in written and "\nPART 2\n" in written
    assert (small_disk / "thpp_crystalx.res.bak").read_text() == "old .res\n"


KILLED_MID_SET = """
import os, signal, sys
from pathlib import Path
from crystalx_core.outputs import write_outputs
folder, real = Path(sys.argv[1]), os.replace
def replace_then_die(source, target):  # SIGKILL right after the first output is replaced
    real(source, target)
    os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace_then_die
write_outputs({folder / name: "new " + name + "\\n" for name in sys.argv[2:]})
"""


def test_a_kill_between_two_renames_loses_no_file(tmp_path):
    """SIGKILL cannot be held off: killed after the first rename, the set is half new, but
    every old output is still there, in place or as its .bak, and the input is untouched."""
    source = tmp_path / "x.res"
    source.write_text("the user's input\n")
    old_set(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", KILLED_MID_SET, str(tmp_path), *NAMES], capture_output=True
    )
    assert done.returncode == -9, done.stderr
    assert source.read_text() == "the user's input\n"
    for name in NAMES:
        target, backup = tmp_path / name, tmp_path / (name + ".bak")
        kept = backup.read_text() if target.read_text() == f"new {name}\n" else target.read_text()
        assert kept == f"old {name}\n"
    assert sum((tmp_path / name).read_text().startswith("new") for name in NAMES) == 1


SLOW_WRITER = """
import os, sys, time
from pathlib import Path
from crystalx_core.outputs import write_outputs
folder, real = Path(sys.argv[1]), os.replace
def replace_slowly(source, target):  # the real rename, then a pause (a loaded machine, a share)
    real(source, target)
    time.sleep(0.4)
os.replace = replace_slowly
write_outputs({folder / name: "first " + name + "\\n" for name in sys.argv[2:]})
"""


def test_two_jobs_writing_the_same_outputs_at_once_leave_one_jobs_set(tmp_path):
    """Two `assign --out z` (or a job and the plugin) finishing together: their renames
    interleaved, so the folder could hold one job's .res beside the other's .cif (two of five
    runs of two slowed writers on main, session 13). Now the second waits for the first's set:
    the outputs are all the second's, the first's kept whole as the backups."""
    first = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(tmp_path), *NAMES])
    deadline = time.monotonic() + 60
    while not (tmp_path / NAMES[0]).exists():  # the first has replaced its first output
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    write_outputs({tmp_path / name: f"second {name}\n" for name in NAMES})
    assert first.wait(timeout=60) == 0
    assert [(tmp_path / name).read_text() for name in NAMES] == [f"second {n}\n" for n in NAMES]
    assert [(tmp_path / (name + ".bak")).read_text() for name in NAMES] == [
        f"first {n}\n" for n in NAMES
    ]


SWALLOWED_STOP = """
import gc, os, signal, sys, time
from pathlib import Path
from crystalx_core import cli
from crystalx_core.outputs import write_outputs
folder = Path(sys.argv[1])
class Finalised:  # CPython ignores an exception raised in __del__ ("Exception ignored in")
    def __del__(self):
        try:  # the handler runs here, at a bytecode boundary inside __del__
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10000):
                pass
        except KeyboardInterrupt:
            print("raised in __del__", file=sys.stderr)
            raise
def job(args):
    Finalised()  # collected at once: the SIGTERM's Stopped is raised and swallowed in __del__
    gc.collect()
    time.sleep(0.2)  # the GIL let go (as any I/O or 5 ms of Python does): the re-raise gets in
    print("the job ran on", file=sys.stderr)
    write_outputs({folder / "x_crystalx.res": "new\\n"})
    return 0
class Args:
    run, debug = staticmethod(job), False
cli._parser = lambda: type("P", (), {"parse_args": lambda self, argv: Args()})()
sys.exit(cli.main([]))
"""


def test_a_stop_swallowed_by_a_finaliser_still_stops_the_job_before_it_writes(tmp_path):
    """A SIGTERM whose Stopped is raised inside a __del__ (or a weakref callback: importlib's
    module-lock one ends every import, python/cpython#95959) is ignored by Python, which prints
    "Exception ignored" and goes on; the job must still stop, exit 143 and replace nothing (a
    flake of the SIGTERM test below in CI, session 11). It stops at the next switch of threads
    (the re-raise comes from another thread), saying only the one line (before, the job ran on
    to its next check, after Python's traceback of the Stopped)."""
    done = subprocess.run(
        [sys.executable, "-c", SWALLOWED_STOP, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert done.stderr == (  # the first line: the swallowing really happened
        "raised in __del__\ncrystalx: stopped by SIGTERM; no output written\n"
    )
    assert list(tmp_path.iterdir()) == []


LATE_RERAISE = """
import os, signal, sys, time
from crystalx_core import cli
from crystalx_core.errors import Stopped, raise_if_stopped
from crystalx_core.outputs import _signals_held
class Finalised:  # CPython ignores an exception raised in __del__ ("Exception ignored in")
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10000):
            pass
def job(args):
    Finalised()  # the SIGTERM's Stopped is raised and swallowed in __del__
    try:
        raise_if_stopped()  # as write_outputs does before it replaces anything
    except Stopped:
        with _signals_held():  # as write_outputs' roll-back
            time.sleep(0.2)  # a call that lets another thread run (the roll-back's file calls)
            print("roll-back done", file=sys.stderr)
        raise
class Args:
    run, debug = staticmethod(job), False
cli._parser = lambda: type("P", (), {"parse_args": lambda self, argv: Args()})()
sys.exit(cli.main([]))
"""


def test_a_swallowed_stop_the_job_raised_itself_is_not_raised_again_in_its_roll_back():
    """The re-raise of a swallowed Stopped comes from another thread (interrupt_main), which
    stop signals held back by a mask (outputs._signals_held) do not hold back; once the job has
    raised the stop itself (raise_if_stopped), that re-raise must not land in its roll-back and
    cut it short (temporaries left in the user's folder)."""
    done = subprocess.run([sys.executable, "-c", LATE_RERAISE], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (
        128 + signal.SIGTERM,
        "roll-back done\ncrystalx: stopped by SIGTERM; no output written\n",
    )


LIBRARY_CALL_STOPPED = """
import os, signal, sys, time
from crystalx_core import cli
class Finalised:  # CPython ignores an exception raised in __del__ ("Exception ignored in")
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10000):
            pass
def job(args):
    Finalised()  # Ctrl-C's Stopped swallowed as the job returns
    return 0
class Args:
    run, debug = staticmethod(job), False
cli._parser = lambda: type("P", (), {"parse_args": lambda self, argv: Args()})()
print("returned", cli.main([]), file=sys.stderr)
time.sleep(0.3)  # the caller's own code, with Python's handler back
print("the caller went on", file=sys.stderr)
"""


def test_a_library_call_stopped_by_a_swallowed_ctrl_c_raises_nothing_after_it_returns():
    """A program that calls cli.main(argv) (a notebook) gets one answer to one Ctrl-C whose
    Stopped was swallowed as the job ended: 130, and no second KeyboardInterrupt from the
    re-raise (interrupt_main) reaching Python's handler once the call has put it back."""
    done = subprocess.run(
        [sys.executable, "-c", LIBRARY_CALL_STOPPED], capture_output=True, text=True
    )
    assert done.stderr == (
        "crystalx: interrupted; no output written\nreturned 130\nthe caller went on\n"
    )


def caught_signals(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("SigCgt:")).split()[1], 16)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux /proc")
def test_a_job_stopped_by_sigterm_says_so_in_one_line_and_writes_nothing(tmp_path, thpp_major):
    """`kill PID` on a running `assign --hkl` ends it as Ctrl-C does: exit 143, one line,
    no output and no temporary (it was an instant death without a word)."""
    res_text, hkl = thpp_major
    source = tmp_path / "thpp.res"
    source.write_text(res_text)
    before = snapshot(tmp_path)
    job = subprocess.Popen(
        [sys.executable, "-m", "crystalx_core.cli", "assign", str(source), "--hkl", str(hkl)]
        + ["--method", "baseline", "--hydrogens", "rules", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not caught_signals(job.pid) & (1 << (signal.SIGTERM - 1)):
        assert job.poll() is None and time.monotonic() < deadline, "SIGTERM is never caught"
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)
    _, stderr = job.communicate(timeout=60)
    assert job.returncode == 128 + signal.SIGTERM
    assert stderr == "crystalx: stopped by SIGTERM; no output written\n"
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(sys.platform == "win32", reason="flock(2) is POSIX")
def test_a_writer_waiting_for_another_says_so_on_one_line(tmp_path, capsys):
    """Another job holds the folder (a writer, or a batch clearing its folders): this one waits
    for it, as before, but now says why it seems to hang; uncontended, it says nothing (nor
    does a batch's worker: the test below)."""
    import fcntl
    import threading

    from crystalx_core.outputs import folders_held

    other = os.open(tmp_path, os.O_RDONLY)  # a second open file: flock treats it as another job
    fcntl.flock(other, fcntl.LOCK_EX)
    threading.Timer(0.5, os.close, (other,)).start()  # the other job finishes
    start = time.monotonic()
    with folders_held([tmp_path]) as held:
        assert held == {tmp_path} and time.monotonic() - start >= 0.4
    assert capsys.readouterr().err == (
        f"crystalx: waiting for another CrystalX job writing in {tmp_path}\n"
    )
    with folders_held([tmp_path]) as held:
        assert held == {tmp_path}
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(sys.platform == "win32", reason="flock(2) is POSIX")
def test_a_batch_worker_waiting_for_its_sibling_says_nothing(tmp_path):
    """A batch's two workers writing into one folder at once: the one that waited said
    "waiting for another CrystalX job" in the middle of the batch's output, about its own
    sibling (however short the wait, a slow disk's fsync can make it long). A real worker
    (batch._warm_worker) waits here for a folder held 0.3 s, and says nothing."""
    import fcntl

    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys\n"
            "from pathlib import Path\n"
            "from crystalx_core.batch import _warm_worker\n"
            "from crystalx_core.outputs import folders_held\n"
            "_warm_worker(os.getppid())\n"
            "print('locking', flush=True)\n"
            "with folders_held([Path(sys.argv[1])]) as held:\n"
            "    print(len(held), flush=True)\n",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    sibling = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(sibling, fcntl.LOCK_EX)
    try:
        assert worker.stdout.readline() == "locking\n"
        time.sleep(0.3)
    finally:
        os.close(sibling)
    out, err = worker.communicate(timeout=60)
    assert (worker.returncode, out, err) == (0, "1\n", "")
