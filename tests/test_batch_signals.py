"""A real `crystalx batch` stopped by a signal or killed: the batch and its workers end within
seconds, finished structures keep complete outputs, and a second batch on the folder is refused
while the first runs but not after it was killed."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import crystalx_core.batch as batch_module
import crystalx_core.batch_report as batch_report
from crystalx_core.batch import (
    BatchOptions,
    BatchStopped,
    _folders_locked,
    find_inputs,
    finished_row,
    run_batch,
    run_one,
)
from crystalx_core.cli import main

from .conftest import BENCHMARK

LINUX = pytest.mark.skipif(
    not os.path.isdir("/proc") or not hasattr(os, "killpg"), reason="needs Linux /proc"
)
pytestmark = LINUX
SUFFIXES = (".res", ".cif", ".json")


@pytest.fixture
def folder(tmp_path, shared_data):
    for k in range(8):
        shutil.copy(BENCHMARK / "FC_sucrose" / "published.res", tmp_path / f"s{k}.res")
    return tmp_path


def start(folder):
    """The batch in its own process group, so every process it starts can be found."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crystalx_core.cli",
            "batch",
            str(folder),
            "--workers",
            "2",
            "--quiet",
            "--method",
            "baseline",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_first_output(folder, batch):
    deadline = time.monotonic() + 180
    while not list(folder.glob("*_crystalx.json")):
        assert batch.poll() is None and time.monotonic() < deadline, (
            "the batch ended before its first output"
        )
        time.sleep(0.1)


def processes() -> Iterator[tuple[str, list[str]]]:
    """(pid, the fields of /proc/pid/stat after the command: state, parent, group, ...) of
    every process; one gone meanwhile is left out."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        yield entry, fields


def living(group: int) -> list[str]:
    """Processes of the group that are not zombies (a container's init may reap them late)."""
    return [pid for pid, fields in processes() if int(fields[2]) == group and fields[0] != "Z"]


def seconds_until_gone(group: int, limit: float = 15.0) -> float:
    start_time = time.monotonic()
    while living(group):
        assert time.monotonic() - start_time < limit, (
            f"still running after {limit} s: {living(group)}"
        )
        time.sleep(0.05)
    return time.monotonic() - start_time


def test_sigterm_ends_the_batch_and_its_workers_and_finished_items_stay_finished(folder):
    batch = start(folder)
    wait_for_first_output(folder, batch)
    batch.send_signal(signal.SIGTERM)
    _, stderr = batch.communicate(timeout=15)
    assert batch.returncode == 128 + signal.SIGTERM
    assert "batch stopped by SIGTERM" in stderr and "the same command does the rest" in stderr
    assert seconds_until_gone(batch.pid) < 10  # workers and the resource tracker included
    state = {p.name: p.read_bytes() for p in folder.iterdir()}
    time.sleep(1.0)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == state  # nobody writes any more
    assert not [name for name in state if name.endswith(".tmp")]
    items = find_inputs(str(folder)).items
    finished = [i for i in items if (folder / f"{i.name}_crystalx.json").exists()]
    assert 1 <= len(finished) < len(items)
    for item in items:  # each structure has its three outputs, or none
        assert len({(folder / f"{item.name}_crystalx{s}").exists() for s in SUFFIXES}) == 1
    for item in finished:  # complete, and the next run resumes them
        assert json.loads((folder / f"{item.name}_crystalx.json").read_text())["atoms"]
        assert finished_row(item, BatchOptions(method="baseline"))["status"] == "resumed"


def test_a_second_batch_is_refused_while_the_first_runs_and_a_killed_one_blocks_nothing(folder):
    """The first batch's lock is held here, as run_batch holds it (a real batch on 8 small
    structures can end before a second process has started, so racing one was flaky); then a
    real batch killed mid-run leaves the folder free."""
    with _folders_locked({folder}):
        second = subprocess.run(
            [sys.executable, "-m", "crystalx_core.cli", "batch", str(folder), "--quiet"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert second.returncode == 1
    assert (
        second.stderr
        == f"crystalx: error: {folder}: another crystalx batch is writing to this folder; "
        "wait for it to end or stop it\n"
    )
    assert not list(folder.glob("*_crystalx.*"))  # the refused batch wrote nothing
    first = start(folder)
    wait_for_first_output(folder, first)
    first.kill()  # SIGKILL: no chance to stop its workers itself
    first.communicate(timeout=15)
    assert seconds_until_gone(first.pid) < 10  # the orphaned workers stop on their own
    with _folders_locked({folder}):  # the dead batch's lock went with it
        pass


def test_a_stopped_dask_batch_drops_its_structures_on_the_workers_running_ones_too(
    tmp_path, shared_data
):
    """Dask never interrupts a running task: the structure in hand once went on computing after
    the batch had ended and wrote its outputs. Now the worker is idle within seconds and
    nothing more is written."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    for k in range(6):
        shutil.copy(BENCHMARK / "XH_urea" / "model.cif", tmp_path / f"u{k}.cif")
        shutil.copy(
            BENCHMARK / "XH_urea" / "data.hkl", tmp_path / f"u{k}.hkl"
        )  # refined: seconds each
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        batch = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crystalx_core.cli",
                "batch",
                str(tmp_path),
                "--quiet",
                "--method",
                "baseline",
                "--scheduler",
                cluster.scheduler_address,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        wait_for_first_output(tmp_path, batch)
        batch.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        _, stderr = batch.communicate(timeout=15)
        assert batch.returncode == 128 + signal.SIGTERM and "batch stopped by SIGTERM" in stderr
        assert time.monotonic() - stopped < 5
        state = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        while any(client.run(lambda dask_worker: len(dask_worker.state.tasks)).values()):
            assert time.monotonic() - stopped < 5, (
                "the worker still computes the stopped batch's structure"
            )
            time.sleep(0.05)
        time.sleep(0.5)
    assert {
        p.name: p.read_bytes() for p in tmp_path.iterdir()
    } == state  # nothing written after the stop
    assert not [name for name in state if name.endswith(".tmp")]
    for item in find_inputs(str(tmp_path)).items:  # each structure has its three outputs, or none
        assert len({(tmp_path / f"{item.name}_crystalx{s}").exists() for s in SUFFIXES}) == 1
    assert 1 <= len([n for n in state if n.endswith("_crystalx.json")]) < 6


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_batch_writes_the_summary_of_what_is_done_and_the_same_command_resumes(
    folder, stop
):
    """A batch stopped by Ctrl-C or `kill` wrote no summary, only its stderr line, so the
    structures done were reported nowhere. Now the summary lists them and the rest as 'not
    done', the exit code is 128 + the signal with one stderr line, and the same command
    resumes. The signal is sent again every few milliseconds until the batch ends (a second
    Ctrl-C while it stops its workers and writes the summary): no file is left partial."""
    name = signal.Signals(stop).name
    batch = start(folder)
    wait_for_first_output(folder, batch)
    deadline = time.monotonic() + 30
    while batch.poll() is None:  # Ctrl-C reaches the terminal's process group, `kill` the batch
        assert time.monotonic() < deadline, "the batch did not stop"
        os.killpg(batch.pid, stop) if stop == signal.SIGINT else batch.send_signal(stop)
        time.sleep(0.003)
    out, err = batch.communicate(timeout=15)
    assert batch.returncode == 128 + stop
    assert err.count("\n") == 1 and err.startswith(f"crystalx: batch stopped by {name}: "), err
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    with open(folder / "crystalx_batch.csv", newline="") as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    items = find_inputs(str(folder)).items
    assert sorted(rows) == sorted(item.name for item in items)
    done = [n for n in rows if (folder / f"{n}_crystalx.json").exists()]
    assert 1 <= len(done) < len(items)
    for row_name, row in rows.items():
        if row_name in done:
            assert row["status"] == "ok" and float(row["min_confidence"]) > 0
        else:
            assert row["status"] == "not done"
            assert (
                row["error"] == f"not done: the batch stopped by {name}; the same command does it"
            )
    assert f"{len(done)} of {len(items)} structures finished and keep their outputs" in err
    page = (folder / "crystalx_batch.html").read_text()
    assert page.rstrip().endswith("</html>") and f"{len(items) - len(done)} not done" in page
    assert out.startswith(
        f"{len(done)} of {len(items)} structures assigned (0 from an earlier run), 0 failed, "
        f"{len(items) - len(done)} not done (stopped by {name})\n"
    ), out
    again = subprocess.run(batch.args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    with open(folder / "crystalx_batch.csv", newline="") as handle:
        statuses = {row["name"]: row["status"] for row in csv.DictReader(handle)}
    assert statuses == {n: "resumed" if n in done else "ok" for n in rows}


def earlier_run(folder):
    """Every structure of the folder assigned an hour ago, as by a batch that ran to the end."""
    items, options = find_inputs(str(folder)).items, BatchOptions(method="baseline")
    hour_ago = time.time() - 3600
    for path in folder.iterdir():  # the inputs older still, as the jobs read them
        os.utime(path, (hour_ago - 60,) * 2)
    for item in items:
        assert run_one(item, options)["status"] == "ok"
    for path in folder.glob("*_crystalx*"):
        os.utime(path, (hour_ago,) * 2)
    return items, options


def test_a_stop_while_the_batch_checks_an_earlier_runs_work_keeps_that_work_reported(folder):
    """A resumed batch stopped as it checked what the earlier run had finished (here on s2)
    wrote the structures not yet checked, s3 to s7, 'not done' though their outputs exist."""
    items, options = earlier_run(folder)

    def progress(row):  # a real Ctrl-C, as the batch reports s2 resumed
        if row["name"] == "s2":
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(BatchStopped) as stop:
        run_batch(items, options, workers=1, progress=progress)
    assert {row["name"]: row["status"] for row in stop.value.rows} == {
        item.name: "resumed" for item in items
    }
    assert str(stop.value) == (
        f"batch stopped by SIGINT: {len(items)} of {len(items)} structures finished and keep "
        "their outputs"
    )


@contextmanager
def stop_when(module, name, signum, on_exit=False):
    """`module.name` as it is, with a real signal sent to this process as it is entered (or,
    for a context manager, as it is left)."""
    real = getattr(module, name)
    if on_exit:

        @contextmanager
        def stopping(*args, **kwargs):
            with real(*args, **kwargs) as value:
                yield value
                os.kill(os.getpid(), signum)

    else:

        def stopping(*args, **kwargs):
            os.kill(os.getpid(), signum)
            return real(*args, **kwargs)

    setattr(module, name, stopping)
    try:
        yield
    finally:
        setattr(module, name, real)


@pytest.mark.parametrize(
    "where",
    [(batch_module, "_folders_locked", True), (batch_report, "summary_html", False)],
    ids=["as the batch lets go of its folders", "as the summary is written"],
)
def test_a_stop_after_every_structure_finished_still_writes_the_summary(folder, capsys, where):
    """A stop after the last structure (the batch letting go of its folders, the summary being
    written) ended the command with 'interrupted; no output written' and no summary, though
    every structure has its outputs. Now the summary is written and the line says so."""
    items, _ = earlier_run(folder)
    with stop_when(*where[:2], signal.SIGINT, on_exit=where[2]):
        code = main(["batch", str(folder), "--method", "baseline", "--workers", "1"])
    out, err = capsys.readouterr()
    assert code == 128 + signal.SIGINT
    assert err == (
        f"crystalx: batch stopped by SIGINT: {len(items)} of {len(items)} structures finished "
        "and keep their outputs\n"
    )
    with open(folder / "crystalx_batch.csv", newline="") as handle:
        statuses = {row["name"]: row["status"] for row in csv.DictReader(handle)}
    assert statuses == {item.name: "resumed" for item in items}
    assert (folder / "crystalx_batch.html").read_text().rstrip().endswith("</html>")
    assert f"wrote {folder / 'crystalx_batch.csv'}" in out


def test_a_worker_stopped_while_it_loads_the_models_exits_without_a_traceback(tmp_path):
    """The batch stops its workers with SIGTERM, which may reach one still in its initializer
    (loading the ONNX models): concurrent.futures then printed 'Exception in initializer:' and
    a traceback on the user's terminal (seen once in this file's stop test under load). The
    worker now exits with 128 + the signal, as one stopped inside a structure does, silently."""
    script = tmp_path / "worker.py"
    script.write_text(
        "import os, signal, multiprocessing\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from concurrent.futures.process import BrokenProcessPool\n"
        "import crystalx_core.assign as assign, crystalx_core.batch as b\n"
        "def stopped(*_):  # the SIGTERM arrives while the worker loads\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    signal.pause()\n"
        "assign.resolve_method = stopped\n"
        "pool = ProcessPoolExecutor(1, multiprocessing.get_context('fork'),\n"
        "                           initializer=b._warm_worker, initargs=(os.getpid(),))\n"
        "try:\n"
        "    pool.submit(abs, 1).result()\n"
        "except BrokenProcessPool:\n"
        "    print('worker gone')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.stdout == "worker gone\n"
    assert "Traceback" not in done.stderr and "initializer" not in done.stderr, done.stderr
