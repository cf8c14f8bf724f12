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
    """A signal that lands while the interpreter itself starts (site, the .pth files, the search
    for our package) is Python's to handle, before any line of ours runs: killed by SIGINT with
    nothing said, or its own start-up failure naming no frame of ours."""
    return rc in (-signal.SIGINT, 1) and not _OUR_FRAME.search(err)


_OUR_FRAME = re.compile(r'File "[^"]*crystalx_core[/\\]')
# Python's own Ctrl-C (default_int_handler raises a bare KeyboardInterrupt) swallowed by the
# interpreter's start-up: inside importlib's module-lock weakref callback ("Exception ignored in",
# python/cpython#95959), or by site.py's .pth processing ("Remainder of file ignored")
_SWALLOWED = re.compile(r"^KeyboardInterrupt:? ?$|Remainder of file ignored", re.MULTILINE)


def _swallowed_by_python(rc: int, err: str) -> bool:
    """The interpreter took the Ctrl-C with its own handler and went on: after our package's
    first line Python's handler is never the one installed in the command (crystalx_core's
    hold, then main()'s), so this run's signal came before our code."""
    return rc == 0 and bool(_SWALLOWED.search(err)) and not _OUR_FRAME.search(err)


def _children(pid: int) -> list[str] | None:
    """The command's children (Linux /proc; None elsewhere): the command has forked
    (crystalx_core._supervisor) once it has one, so our code is running."""
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None


def _sigint_as_at_a_terminal() -> None:
    """In the command's process before it starts Python: SIGINT, SIGTERM and SIGHUP at their
    default disposition, as for a command typed at a terminal. A test runner started in the
    background by a script ignores SIGINT (POSIX), one under nohup ignores SIGHUP, every process
    it starts inherits that, and Python then leaves them ignored until main() takes them over:
    not what the user has."""
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


def _interrupt(proc, group: bool) -> None:
    """A terminal's Ctrl-C reaches the whole process group; `kill -INT PID`, the pid alone."""
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)


@POSIX
def test_ctrl_c_at_any_moment_of_start_up_is_one_line_and_130(tmp_path, shared_data):
    """XH_urea's `crystalx solve` interrupted at 12 moments from 0 to 1 s after it starts, the
    launchers and the ways of sending (the process group, the pid) taking turns: every run that
    reached our code says "crystalx: interrupted; no output written" and exits 130, nothing
    written; none crashes (-11), none says "internal error" (70), none prints a traceback through
    our code. A run that the interpreter's own start-up took (a busy machine makes it last
    longer than 0.1 s) is allowed only while the command had not yet forked (Linux)."""
    shutil.copy(BENCHMARK / "XH_urea" / "published.res", tmp_path / "s.res")
    shutil.copy(BENCHMARK / "XH_urea" / "data.hkl", tmp_path / "s.hkl")
    inputs = sorted(p.name for p in tmp_path.iterdir())
    clean = []
    launchers = list(_launchers())
    for k, delay in enumerate(DELAYS):  # under 15 s in all
        launcher = launchers[k % len(launchers)]
        group = k // len(launchers) % 2 == 1
        proc = subprocess.Popen(
            [*launcher, "solve", "s.res", "s.hkl"],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=_sigint_as_at_a_terminal,
        )
        time.sleep(delay)
        ours = bool(_children(proc.pid))
        _interrupt(proc, group)
        out, err = proc.communicate(timeout=60)
        written = sorted(set(p.name for p in tmp_path.iterdir()) - set(inputs))
        seen = (launcher[-1], delay, group, ours, proc.returncode, written, err[-2000:])
        assert proc.returncode not in (-signal.SIGSEGV, 70), seen
        if proc.returncode == 130:
            assert err.strip() == "crystalx: interrupted; no output written", seen
            assert not written, seen
            clean.append(delay)
        else:
            assert not ours, seen
            if _swallowed_by_python(proc.returncode, err):  # the job ran: its outputs go
                for name in written:
                    (tmp_path / name).unlink()
            else:
                assert _before_our_code(proc.returncode, err) and not written, seen
    # the interpreter's own start-up is over long before 1 s, however busy the machine
    assert DELAYS[-1] in clean, clean


# a signal (NAME) sent at the moment the command imports MODULE, to TARGET: the command's pid (`kill
# -INT PID`: the supervisor after the fork), its process group (a terminal's Ctrl-C) or the
# process that imports (the job, after the fork). The audit hook only picks the moment: the rest
# is the console script's own code (pip's crystalx script: sys.argv[0], then main()), run as it
# is, from a file named crystalx.
_AT_IMPORT = """
import os, signal, sys
module, target, name = sys.argv[1:4]
number = getattr(signal, name)
command = os.getpid()
fired = []
def at_import(event, args):
    if event == "import" and args[0] == module and not fired:
        fired.append(module)
        if target == "self":
            signal.raise_signal(number)
        elif target == "command":
            os.kill(command, number)
        else:
            os.killpg(0, number)
sys.addaudithook(at_import)
sys.argv = ["crystalx", *sys.argv[4:]]
from crystalx_core.cli import main
sys.exit(main())
"""
# from the package's first import (before the fork) to main()'s first lazy import (the job)
MOMENTS = (
    "crystalx_core._startup",
    "crystalx_core._supervisor",
    "cctbx.xray",
    "crystalx_core.errors",
    "crystalx_core.pipeline",
)


def _solve_with_a_signal_at(tmp_path, module, target, name, preexec=None, timeout=60):
    """`crystalx solve` of XH_urea in tmp_path, signal `name` sent to `target` while `module`
    is imported (_AT_IMPORT), started as from a terminal (or with `preexec`'s dispositions)."""
    shutil.copy(BENCHMARK / "XH_urea" / "published.res", tmp_path / "s.res")
    shutil.copy(BENCHMARK / "XH_urea" / "data.hkl", tmp_path / "s.hkl")
    script = tmp_path.with_name(f"{tmp_path.name}-bin") / "crystalx"  # beside: the job's folder
    script.parent.mkdir(exist_ok=True)  # holds its inputs alone
    script.write_text(_AT_IMPORT)
    return subprocess.run(
        [sys.executable, str(script), module, target, name, "solve", "s.res", "s.hkl"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
        preexec_fn=preexec or _sigint_as_at_a_terminal,
    )


@POSIX
@pytest.mark.parametrize("target", ["command", "group", "self"])
@pytest.mark.parametrize("module", MOMENTS)
def test_ctrl_c_at_each_step_of_start_up_is_one_line_and_130(tmp_path, shared_data, module, target):
    """Ctrl-C at chosen steps of the start-up, whatever the load: before, one landing while the
    package imported its own _startup (before the hold) was a KeyboardInterrupt traceback, or,
    when Python ran the handler inside importlib's module-lock callback, a warning and then the
    whole job with its outputs written and exit 0."""
    done = _solve_with_a_signal_at(tmp_path, module, target, "SIGINT")
    assert (done.returncode, done.stderr.strip()) == (
        130,
        "crystalx: interrupted; no output written",
    ), done.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.hkl", "s.res"]


@POSIX
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("target", ["command", "group", "self"])
@pytest.mark.parametrize("module", MOMENTS)
def test_term_or_hup_at_each_step_of_start_up_is_one_line(
    tmp_path, shared_data, module, target, name
):
    """`kill PID`, a closed terminal (SIGHUP) or a scheduler's SIGTERM at each step of the
    start-up stops the command as Ctrl-C does: one line, exit 128 + the signal, nothing written.
    Before, one landing before the fork (or sent to the job itself before main()) killed it at
    once, saying nothing (exit -15 / -1)."""
    done = _solve_with_a_signal_at(tmp_path, module, target, name)
    assert (done.returncode, done.stderr.strip()) == (
        128 + getattr(signal, name),
        f"crystalx: stopped by {name}; no output written",
    ), done.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.hkl", "s.res"]


def _hangup_ignored_as_under_nohup() -> None:
    """SIGINT and SIGTERM at their default, SIGHUP ignored: what `nohup` (POSIX) starts a
    command with, so that it outlives the terminal it was started from."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


@POSIX
@pytest.mark.parametrize("target", ["command", "group"])
@pytest.mark.parametrize("module", ["crystalx_core._startup", "crystalx_core.pipeline"])
def test_a_command_under_nohup_runs_on_through_a_hangup(tmp_path, shared_data, module, target):
    """`nohup crystalx ... &`, then the terminal closes: the SIGHUP it sends, before the fork or
    once main() has the stop signals, is ignored as nohup asks and the job writes its outputs.
    Before, the job's stop handler and the supervisor's forwarding caught it anyway: exit 129,
    nothing written."""
    done = _solve_with_a_signal_at(
        tmp_path, module, target, "SIGHUP", _hangup_ignored_as_under_nohup, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "s_crystalx.res" in {p.name for p in tmp_path.iterdir()}


def test_a_library_import_keeps_term_and_hup_as_they_were():
    """A program's own SIGTERM handler, and SIGHUP ignored (nohup), are left as they were by
    `import crystalx_core`; SIGTERM at its default is back at its default after it."""
    code = (
        "import signal\n"
        "mine = lambda s, f: None\n"
        "signal.signal(signal.SIGTERM, mine)\n"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
        "import crystalx_core\n"
        "print(signal.getsignal(signal.SIGTERM) is mine, "
        "signal.getsignal(signal.SIGHUP) == signal.SIG_IGN)\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
    done = _python(
        "import signal, crystalx_core\nprint(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)"
    )
    assert done.stdout.split() == ["True"], done.stderr


@POSIX
def test_sigterm_during_a_library_import_ends_the_process_after_it():
    """SIGTERM while a library user imports the package: held until the import is whole (as
    Ctrl-C is), then the program's default: the process ends by SIGTERM."""
    code = "import sys\nprint('start', flush=True)\nimport crystalx_core\nprint('went on')\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_as_at_a_terminal,
    )
    assert proc.stdout.readline().strip() == "start"
    time.sleep(0.05)  # inside the import of cctbx (about 0.4 s)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM, (out, err)
    assert "went on" not in out and "Traceback" not in err, (out, err)


def _python(code: str, **kwargs):
    return subprocess.run(
        [sys.executable, "-c", code],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_sigint_as_at_a_terminal,
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
        preexec_fn=_sigint_as_at_a_terminal,
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
def test_which_processes_are_the_command(monkeypatch, tmp_path, argv, orig_argv, command):
    """Only the command keeps Ctrl-C held past the import (main() takes it over); everything
    else gets Python's handler back when `import crystalx_core` returns. A process named
    crystalx runs pip's console script (_main_module)."""
    from crystalx_core import _startup

    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", orig_argv, raising=False)
    monkeypatch.setitem(sys.modules, "__main__", _main_module(tmp_path, CONSOLE_SCRIPT))
    assert _startup.started_as_command() is command


# the console script pip writes for setup.cfg's entry point (pip's vendored distlib,
# pip/_vendor/distlib/scripts.py SCRIPT_TEMPLATE; the venv's bin/crystalx holds these lines)
CONSOLE_SCRIPT = (
    "# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom crystalx_core.cli import main\n"
    "if __name__ == '__main__':\n"
    "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
    "    sys.exit(main())\n"
)
# a program of the user's that happens to be called crystalx and uses the package as a library
LIBRARY_SCRIPT = (
    "import signal\nimport crystalx_core\n"
    "print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "
    "signal.getsignal(signal.SIGHUP) == signal.SIG_DFL, "
    "signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
)


def _main_module(folder: Path, source: str):
    """A __main__ module as Python makes one for `python FILE` (runpy: a SourceFileLoader named
    __main__ over the file)."""
    import importlib.machinery
    import types

    path = folder / "crystalx"
    path.write_text(source)
    module = types.ModuleType("__main__")
    module.__loader__ = importlib.machinery.SourceFileLoader("__main__", str(path))
    module.__file__ = str(path)
    return module


def test_a_script_named_crystalx_is_no_command_unless_it_is_the_console_script(
    monkeypatch, tmp_path
):
    """The name alone made a program called crystalx 'the command': the package held its stop
    signals past the import for a main() it never calls."""
    from crystalx_core import _startup

    monkeypatch.setattr(sys, "argv", [str(tmp_path / "crystalx")])
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, str(tmp_path / "crystalx")])
    monkeypatch.setitem(sys.modules, "__main__", _main_module(tmp_path, LIBRARY_SCRIPT))
    assert not _startup.started_as_command()
    monkeypatch.setitem(sys.modules, "__main__", _main_module(tmp_path, CONSOLE_SCRIPT))
    assert _startup.started_as_command()


@POSIX
def test_a_library_script_named_crystalx_gets_its_stop_signals_back(tmp_path):
    """Such a program kept SIGTERM and SIGHUP held (recorded, never acted on) and Ctrl-C too, to
    its end: `kill` did nothing. Its import now returns them as any library user's does."""
    script = tmp_path / "crystalx"
    script.write_text(LIBRARY_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_sigint_as_at_a_terminal,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]
