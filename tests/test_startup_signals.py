"""Ctrl-C in the first half second of a command, while cctbx, gemmi and numpy import: before,
it gave a KeyboardInterrupt traceback, a segmentation fault (the interrupt landed inside numpy's
C-extension import and a later import crashed) or "internal error: AttributeError: module
'numpy' has no attribute 'dtype'" (exit 70). Now one line and exit 130 (README's exit codes),
and a library user still gets Python's own Ctrl-C once `import crystalx_core` returns."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import BENCHMARK

POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
ROOT = Path(__file__).resolve().parents[1]
# from just after the process starts, through the imports (about 0.5 s here), into the job
DELAYS = (0.0, 0.03, 0.06, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0)


def _env():
    return dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )


def _launchers():
    """`python -m crystalx_core.cli`, and the installed console script where there is one
    (the `crystalx` the user types: its own start-up path, see crystalx_core._startup)."""
    yield [sys.executable, "-m", "crystalx_core.cli"]
    script = Path(sys.executable).with_name("crystalx")
    if script.is_file():
        yield [str(script)]


def _before_our_code(rc: int, err: str) -> bool:
    """A signal that lands while the interpreter itself starts (site, the .pth files) is
    Python's to handle, before any line of ours runs: killed by SIGINT with nothing said, or
    its own start-up failure naming no frame of ours."""
    ours = re.search(r'File "[^"]*crystalx_core[/\\]', err)  # a frame in one of our files
    return rc in (-signal.SIGINT, 1) and not ours


@POSIX
def test_ctrl_c_at_any_moment_of_start_up_is_one_line_and_130(tmp_path, shared_data):
    """XH_urea's `crystalx solve` interrupted at 12 moments from 0 to 1 s after it starts, the
    launchers taking turns: every run that reached our code says "crystalx: interrupted; no output
    written" and exits 130; none crashes (-11), none says "internal error" (70), none prints a
    traceback through our code; and nothing is written."""
    shutil.copy(BENCHMARK / "XH_urea" / "published.res", tmp_path / "s.res")
    shutil.copy(BENCHMARK / "XH_urea" / "data.hkl", tmp_path / "s.hkl")
    before = sorted(p.name for p in tmp_path.iterdir())
    clean = []
    launchers = list(_launchers())
    for k, delay in enumerate(DELAYS):  # the launchers take turns: under 15 s in all
        launcher = launchers[k % len(launchers)]
        proc = subprocess.Popen(
            [*launcher, "solve", "s.res", "s.hkl"],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        seen = (launcher[-1], delay, proc.returncode, err[-2000:])
        assert proc.returncode not in (-signal.SIGSEGV, 70), seen
        if proc.returncode == 130:
            assert err.strip() == "crystalx: interrupted; no output written", seen
            clean.append(delay)
        else:
            assert _before_our_code(proc.returncode, err), seen
    # the start-up (interpreter alone) is well under 0.1 s: every later moment is ours
    assert len(clean) >= len(DELAYS) - 3, clean
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def _python(code: str, **kwargs):
    return subprocess.run(
        [sys.executable, "-c", code],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def test_import_leaves_the_sigint_handler_as_it_was():
    """A notebook or the service importing the package keeps Python's own Ctrl-C, and a
    program's own SIGINT handler is not replaced (a fresh interpreter: this one imported the
    package long ago)."""
    code = (
        "import signal\n"
        "before = signal.getsignal(signal.SIGINT)\n"
        "import crystalx_core\n"
        "print(signal.getsignal(signal.SIGINT) is before is signal.default_int_handler)\n"
        "mine = lambda s, f: None\n"
        "signal.signal(signal.SIGINT, mine)\n"
        "import importlib, crystalx_core.errors\n"
        "importlib.reload(crystalx_core)\n"
        "print(signal.getsignal(signal.SIGINT) is mine)\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


@POSIX
def test_ctrl_c_during_a_library_import_is_a_keyboard_interrupt_after_it():
    """Ctrl-C while `import crystalx_core` runs in a library user's process: the import ends
    whole (gemmi, imported last, is there: before, the interrupt cut it short, which could
    leave numpy half imported), then KeyboardInterrupt; numpy is usable after and Python's
    handler is back."""
    code = (
        "import signal, sys\n"
        "print('start', flush=True)\n"
        "try:\n"
        "    import crystalx_core\n"
        "    print('not interrupted')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', 'gemmi' in sys.modules)\n"
        "import crystalx_core, numpy\n"
        "print(numpy.dtype('f8').itemsize, signal.getsignal(signal.SIGINT) is "
        "signal.default_int_handler)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "start"
    time.sleep(0.05)  # inside the import of cctbx (about 0.4 s)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.split() == ["interrupted", "True", "8", "True"], (out, err)


@pytest.mark.parametrize(
    "argv, orig_argv, command",
    [
        (["/venv/bin/crystalx", "solve"], ["/venv/bin/python", "/venv/bin/crystalx"], True),
        ([r"C:\venv\Scripts\crystalx.exe"], [r"C:\venv\Scripts\crystalx.exe"], True),
        (["-m", "solve"], ["python", "-m", "crystalx_core.cli", "solve"], True),
        (["-m"], ["python", "-m", "crystalx_core.service"], False),
        (["/home/u/notebook.py"], ["python", "/home/u/notebook.py"], False),
        (["-c"], ["python", "-c", "import crystalx_core"], False),
        # a batch worker: CPython's multiprocessing/spawn.py get_command_line() starts
        # `python -c ... --multiprocessing-fork` and prepare() copies the parent's sys.argv
        (
            ["/venv/bin/crystalx", "batch"],
            [
                "python",
                "-c",
                "from multiprocessing.spawn import spawn_main",
                "--multiprocessing-fork",
            ],
            False,
        ),
    ],
)
def test_which_processes_are_the_command(monkeypatch, argv, orig_argv, command):
    """Only the command keeps Ctrl-C held past the import (main() takes it over); everything
    else gets Python's handler back when `import crystalx_core` returns."""
    from crystalx_core import _startup

    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", orig_argv, raising=False)
    assert _startup.started_as_command() is command
