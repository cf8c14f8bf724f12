"""Ctrl-C (and SIGTERM, SIGHUP) held back while the package imports cctbx, gemmi and numpy.

Why hold rather than let it interrupt: a KeyboardInterrupt raised inside a C extension's
import (numpy's, reached from cctbx) leaves that extension half initialised in sys.modules,
and the next import that touches it fails ("module 'numpy' has no attribute 'dtype'") or
crashes the interpreter (segmentation fault). So SIGINT is only recorded while the imports
run (main thread only: Python delivers signals there) and acted on once they are done:

- a library user (a notebook, the service) gets Python's own handler back when
  `import crystalx_core` returns, and a KeyboardInterrupt then if Ctrl-C came during it;
- the `crystalx` command (its console script, or `python -m crystalx_core.cli`; not another
  script that happens to be named crystalx) keeps holding it through cli.py's imports until main()'s
  signals_raise_stopped takes it over (take_held), which turns it into the one line
  "crystalx: interrupted; no output written" and exit 130.

SIGTERM and SIGHUP are held the same way, where they are at their default (which ends the
process at once, saying nothing and leaving a half-written file where a write had begun): the
command says "crystalx: stopped by SIGTERM; no output written" and exits 128 + the signal, and a
library user's process ends by the signal once the import is whole.

The hold begins on the package's first line (crystalx_core/__init__.py records them with the
built-in _signal, before any file of ours is read) and hold_stops takes it over: Python's own
handler during this module's import raised a KeyboardInterrupt that cut the import short (a
traceback through our code) or, run inside importlib's module-lock weakref callback, was printed
as "Exception ignored" and lost (python/cpython#95959), and the command ran on to write its
outputs and exit 0. The hold is open before the command forks (_supervisor), so the job inherits
it with every SIGINT recorded so far.

Standard library only: this runs before anything heavy is imported.
"""

from __future__ import annotations

import os
import re
import signal
import sys

from crystalx_core import _supervisor

# the console script's name as pip and distlib write it (POSIX, Windows' -script.py and .exe)
_SCRIPT = re.compile(r"crystalx(-script\.pyw?|\.exe)?", re.IGNORECASE)
# the lines of the console script that import and run the command (pip's vendored distlib,
# pip/_vendor/distlib/scripts.py SCRIPT_TEMPLATE: `from %(module)s import %(import_name)s`, then
# `sys.exit(%(func)s())`), for setup.cfg's entry point crystalx_core.cli:main
_ENTRY_LINES = (
    re.compile(r"^from crystalx_core\.cli import main[ \t]*\r?$", re.MULTILINE),
    re.compile(r"^[ \t]*sys\.exit\(main\(\)\)[ \t]*\r?$", re.MULTILINE),
)
_MODULES = ("crystalx_core.cli",)  # `python -m crystalx_core.cli`

_held: list[int] = []  # stop signals received while the hold was open
_replaced: list[dict] = []  # while the hold is open: signal → the handler it replaced

# each stop signal, and the handler Python starts with for it: only that one is held (a
# program's own handler, or SIGHUP ignored under nohup, is left alone)
_PYTHON_DEFAULTS = tuple(
    (getattr(signal, name), default)
    for name, default in (
        ("SIGINT", signal.default_int_handler),
        ("SIGTERM", signal.SIG_DFL),
        ("SIGHUP", signal.SIG_DFL),
    )
    if hasattr(signal, name)
)


def _record(signum, frame):
    _held.append(signum)
    _supervisor.answer()  # Python runs: the job will act on it once its imports are done


def hold_stops(taking_over=None) -> None:
    """Record SIGINT, SIGTERM and SIGHUP instead of acting on them, each where Python's own
    handler is the one installed, in the main thread (elsewhere signal.signal refuses with
    ValueError, and Python runs handlers only in the main thread).

    `taking_over`: the package's first-line hold, (signal → the handler it replaced; the
    signals it recorded), which this one continues."""
    if _replaced:
        return
    before, received = taking_over or ({}, [])
    replaced = {}
    for number, default in _PYTHON_DEFAULTS:
        if number not in before and signal.getsignal(number) != default:
            continue
        try:
            previous = signal.signal(number, _record)
        except ValueError:  # not the main thread
            return
        replaced[number] = before.get(number, previous)
    _replaced.append(replaced)
    _held.extend(received)  # after the swap: the first-line recorder has no more to come


def release_stops(deliver: bool = True) -> None:
    """Give the stop signals their handlers back and (`deliver`) act on the first one held, if
    any, as that handler would have: Ctrl-C's KeyboardInterrupt, SIGTERM's end of the process."""
    if not _replaced:
        return
    for number, handler in _replaced.pop().items():
        signal.signal(number, handler)
    first = _held[0] if _held else None
    _held.clear()
    if first is not None and deliver:
        signal.raise_signal(first)


def take_held():
    """For a caller that has just installed its own stop handlers (signals_raise_stopped): end
    the hold without touching the handlers and return (signal → the handler the hold replaced,
    empty when no hold was open; the first stop signal held, or None)."""
    replaced = _replaced.pop() if _replaced else {}
    first = _held[0] if _held else None
    _held.clear()
    return replaced, first


def reserve_standard_fds() -> None:
    """/dev/null on each of file descriptors 0, 1 and 2 the command was started without (`2>&-`,
    `>&-`, `<&-`; a daemon's or an init script's job): a file opened later takes the lowest
    free descriptor, so the supervisor's pipe, an input or an output would become the job's
    standard error, and a C library's message to fd 2 (onnxruntime's logger, a cctbx warning)
    would be written into it. Python has already set sys.stderr (or stdout, stdin) to None for
    a closed one, and it stays None: only the descriptor is taken. Inheritable, as the shell's
    own would be, so a batch's spawned workers start with them too."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:  # closed
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
            os.set_inheritable(fd, True)


def started_as_command() -> bool:
    """True when this process is the `crystalx` command: its console script (named so and
    importing cli.main, _runs_the_entry_point), or
    `python -m crystalx_core.cli` (whose sys.argv[0] is still '-m' while the package imports,
    hence sys.orig_argv). Not a worker the command spawned (multiprocessing's spawn passes
    --multiprocessing-fork and copies the parent's sys.argv): it never reaches main(), and
    its Ctrl-C is its pool initializer's to set (batch._warm_worker)."""
    orig = list(getattr(sys, "orig_argv", ()))
    if "--multiprocessing-fork" in orig:
        return False
    if sys.argv and _SCRIPT.fullmatch(re.split(r"[\\/]", sys.argv[0])[-1]):
        return _runs_the_entry_point(sys.modules.get("__main__"))
    return "-m" in orig and orig[orig.index("-m") + 1 :][:1] in [[name] for name in _MODULES]


def _runs_the_entry_point(main) -> bool:
    """Whether the script `main` (the __main__ module) is the console script pip wrote, which
    calls main() once the import is done; another script named crystalx that imports the
    package as a library must get its stop signals back, as any library user does."""
    try:
        source = main.__loader__.get_source("__main__")
    except Exception:  # noqa: BLE001  (no loader, no source: an interactive or frozen __main__)
        return False
    return bool(source) and all(line.search(source) for line in _ENTRY_LINES)
