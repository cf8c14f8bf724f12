"""Failures of the machine rather than of the input: a batch worker killed (SIGKILL, the
out-of-memory killer), a read-only output folder, a FAT stick, paths with blanks and
non-ASCII letters, and a structure too large for the model's memory. Each ends in complete
outputs or a one-line error, never a traceback or a half-written file."""

import errno
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from crystalx_core.cli import EXIT_OUTPUT, main

from .conftest import BENCHMARK
from .test_batch_signals import LINUX, SUFFIXES, processes, start, wait_for_first_output


def _workers(batch_pid: int) -> list[int]:
    """The pool's worker processes of a batch (spawned; not its resource tracker): children of
    the job, which is the `crystalx` process's child (crystalx_core._supervisor)."""
    table = list(processes())
    job = {batch_pid} | {int(pid) for pid, fields in table if int(fields[1]) == batch_pid}
    found = []
    for pid, fields in table:
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) in job and "spawn_main" in command:
            found.append(int(pid))
    return found


@LINUX
def test_a_killed_worker_costs_the_batch_nothing(tmp_path, shared_data):
    """SIGKILL of a pool worker (as the out-of-memory killer sends it) broke the whole batch
    with an internal error; its structures are now run again in a fresh pool, the batch ends
    normally, and what a worker killed mid-write left behind is cleared."""
    for k in range(6):
        shutil.copy(BENCHMARK / "FC_sucrose" / "published.res", tmp_path / f"s{k}.res")
    stale = tmp_path / ".s5_crystalx.json.0badf00d.tmp"  # a writer killed in an earlier run
    stale.write_text("{")
    other = tmp_path / ".s5_crystalx.json.notours.tmp"
    other.write_text("not a name we write")
    batch = start(tmp_path)
    wait_for_first_output(tmp_path, batch)
    deadline = time.monotonic() + 60
    while not _workers(batch.pid):
        assert time.monotonic() < deadline and batch.poll() is None
        time.sleep(0.1)
    os.kill(_workers(batch.pid)[0], signal.SIGKILL)
    out, err = batch.communicate(timeout=600)
    assert batch.returncode == 0, err
    assert "6 of 6 structures assigned" in out and "internal error" not in err
    for k in range(6):
        assert all((tmp_path / f"s{k}_crystalx{suffix}").exists() for suffix in SUFFIXES)
    assert not stale.exists() and other.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and p != other]


def test_names_with_blanks_and_non_ascii_letters(tmp_path, shared_data, capsys):
    """Windows and macOS users name folders and files freely ('Ångström data/ürea 1.cif'): a
    CIF data block name may hold neither, so the name written into x_crystalx.cif is the file
    name with those replaced (an internal error of iotbx.cif before)."""
    from crystalx_core.io.cif import read_cif

    folder = tmp_path / "Ångström data"
    folder.mkdir()
    model = folder / "ürea 1.cif"
    shutil.copy(BENCHMARK / "XH_urea" / "model.cif", model)
    shutil.copy(BENCHMARK / "XH_urea" / "published.res", folder / "harn stoff.res")
    shutil.copy(BENCHMARK / "XH_urea" / "data.hkl", folder / "harn stoff.hkl")
    command = ["assign", str(model), "--method", "baseline", "--hydrogens", "rules", "--quiet"]
    assert main(command) == 0, capsys.readouterr().err
    written = read_cif(folder / "ürea 1_crystalx.cif")
    assert written.block_name == "_rea_1_crystalx"
    assert main(["batch", str(folder), "--method", "baseline", "--hydrogens", "rules"]) == 0
    assert "2 of 2 structures assigned" in capsys.readouterr().out
    assert (folder / "harn stoff_crystalx.cif").exists()


def test_a_graph_too_large_for_the_models_memory_is_refused_in_one_line(
    tmp_path, shared_data, capsys, monkeypatch
):
    """5,832 peaks at 1.5 Å spacing (0.3 per Å³, within the density check) made 1.8 million
    neighbour pairs and took 7 GB in the model; a real 5,832-site structure took 1.3 GB. Past
    MAX_EDGES the model refuses before it runs, saying what works instead; nothing written."""
    from crystalx_core import runtime

    if not (runtime.MODEL_DIR / "heavy.onnx").is_file():
        pytest.skip("no shipped heavy model")
    model = tmp_path / "urea.cif"
    shutil.copy(BENCHMARK / "XH_urea" / "model.cif", model)
    monkeypatch.setattr(runtime, "MAX_EDGES", 10)
    assert main(["assign", str(model), "--quiet", "--method", "model"]) == 2
    error = capsys.readouterr().err
    assert "neighbour pairs within 5 Å" in error and "--method baseline" in error
    assert error.count("\n") == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["urea.cif"]


@pytest.mark.parametrize("inside", ["", "new"])
def test_demo_into_a_read_only_folder_exits_73_as_every_job_does(small_disk, capsys, inside):
    """`demo --dir` made its folder itself, so a read-only file system gave a bare OSError and
    exit 2 (a bad input) where assign, batch and audit say 73, an output that cannot be
    written; the folder is now made where the outputs are written, as for them."""
    if subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode:
        pytest.skip("cannot remount the small disk read-only")
    folder = small_disk / inside
    assert main(["demo", "--dir", str(folder), "--quiet"]) == EXIT_OUTPUT == 73
    error = capsys.readouterr().err
    assert error == (
        f"crystalx: error: {folder / 'demo.ins'}: cannot write the output: Read-only file system\n"
    )
    assert list(small_disk.iterdir()) == []


@pytest.mark.parametrize("command, mark", [("assign", "_crystalx"), ("audit", "_audit")])
@pytest.mark.parametrize("lockable", [True, False])
def test_a_standalone_job_clears_what_a_killed_writer_of_its_outputs_left(
    tmp_path, shared_data, capsys, monkeypatch, command, mark, lockable
):
    """A job killed mid-write (SIGKILL: no roll-back) left its hidden temporaries forever. The
    next run of the job clears those of its own outputs: at once where it holds the folder's
    lock (every writer holds it while it writes, so none there is a live writer's; before,
    they waited STALE_AFTER, and ten killed runs in a row left nine, session 13), and only once
    STALE_AFTER old where flock is refused (EBADF, as Linux NFS answers flock on a folder
    opened read-only: flock is emulated there by a POSIX write lock). Other names stay."""
    from crystalx_core import outputs
    from crystalx_core.outputs import STALE_AFTER

    if not lockable:

        def refused(handle, operation):
            raise OSError(errno.EBADF, "Bad file descriptor")

        monkeypatch.setattr(outputs.fcntl, "flock", refused)
    source = tmp_path / "x.res"
    shutil.copy(BENCHMARK / "FC_sucrose" / "published.res", source)
    stale = tmp_path / f".x{mark}.json.0badf00d.tmp"
    fresh = tmp_path / f".x{mark}.json.1234abcd.tmp"  # killed a moment ago, or being written
    others = [tmp_path / f".y{mark}.json.0badf00d.tmp", tmp_path / f".x{mark}.json.notours.tmp"]
    for temporary in (stale, fresh, *others):
        temporary.write_text("{")
    long_ago = time.time() - STALE_AFTER - 60
    for temporary in (stale, *others):
        os.utime(temporary, (long_ago, long_ago))
    args = [command, str(source), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0, capsys.readouterr().err
    assert (tmp_path / f"x{mark}.json").exists() and not stale.exists()
    assert fresh.exists() is not lockable
    assert all(other.exists() for other in others)


@pytest.fixture
def fat_disk(tmp_path):
    """A real FAT file system (the USB stick's), mounted through FUSE (fusefat: Debian's
    fusefat, mkfs.vfat from dosfstools); skipped where either is missing or FUSE is not allowed."""
    image, mount = tmp_path / "fat.img", tmp_path / "fat"
    mount.mkdir()
    if not (shutil.which("fusefat") and shutil.which("mkfs.vfat")):
        pytest.skip("fusefat or mkfs.vfat not installed (apt-get install fusefat dosfstools)")
    with open(image, "wb") as handle:
        handle.truncate(8 << 20)
    made = subprocess.run(["mkfs.vfat", str(image)], capture_output=True)
    done = subprocess.run(["fusefat", "-o", "rw+", str(image), str(mount)], capture_output=True)
    if made.returncode or done.returncode:
        pytest.skip(f"cannot mount a FAT image here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["fusermount", "-u", str(mount)], capture_output=True)
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_second_run_on_a_fat_stick_keeps_the_first_outputs_as_backups(fat_disk, capsys):
    """FAT has no hard links (link: EPERM) and keeps no mode (fusefat answers chmod with
    ENOSYS, Linux's vfat with EPERM): the backup fell back to a copy, whose copied mode then
    failed, so every second run on a USB stick stopped with 'cannot back up the output' (exit
    73) and left a stray x_crystalx.res.bak. The copy is the backup; its mode is best effort."""
    source = fat_disk / "x.res"
    source.write_text(
        "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSYMM -X, 1/2+Y, "
        "1/2-Z\nSFAC C H O\nUNIT 8 8 4\nFVAR 1\nC1 1 0.1 0.2 0.3 11 0.03\n"
        "O1 3 0.22 0.2 0.3 11 0.03\nC2 1 0.1 0.33 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    args = ["assign", str(source), "--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(args) == 0, capsys.readouterr().err
    first = {p.name: p.read_bytes() for p in fat_disk.iterdir() if "_crystalx" in p.name}
    assert main(args) == 0, capsys.readouterr().err
    backups = {p.name[: -len(".bak")]: p.read_bytes() for p in fat_disk.glob("*.bak")}
    assert backups == first and len(first) == 3


def test_ci_installs_the_fat_tools_apart_so_a_failure_there_keeps_xvfb(tmp_path):
    """.ci/run installed fusefat and dosfstools in the same apt-get as Xvfb: a machine that
    cannot install the FUSE package (no such package, a container without FUSE) lost Xvfb
    too, and the desktop test skipped. Its install block, run with an apt-get that refuses
    fusefat, now installs the X packages and says that only the FAT test will skip."""
    script = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    block = script[: script.index("\npython3 -m venv")]  # the installs, before the test run
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci" / "run").write_text(block + "\n")
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "apt.log"
    # apt-get as Debian's answers a package it cannot install: exit 100
    (fake / "apt-get").write_text(
        f'#!/bin/sh\necho "$*" >> {log}\ncase "$*" in *fusefat*) exit 100;; esac\nexit 0\n'
    )
    (fake / "id").write_text("#!/bin/sh\necho 0\n")  # as root, as CI runs it
    for tool in ("apt-get", "id"):
        (fake / tool).chmod(0o755)
    done = subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run")],
        env={"PATH": f"{fake}:/usr/bin:/bin", "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    installs = [ln for ln in log.read_text().splitlines() if ln.split()[0] == "install"]
    assert any("xvfb" in ln and "fusefat" not in ln for ln in installs)
    assert "the Xvfb test will skip" not in done.stderr
    assert "could not install fusefat and dosfstools" in done.stderr
