"""Ctrl-C held back while the package imports cctbx, gemmi and numpy.

Why hold rather than let it interrupt: a KeyboardInterrupt raised inside a C extension's
import (numpy's, reached from cctbx) leaves that extension half initialised in sys.modules,
and the next import that touches it fails ("module 'numpy' has no attribute 'dtype'") or
crashes the interpreter (segmentation fault). So SIGINT is only recorded while the imports
run (main thread only: Python delivers signals there) and acted on once they are done:

- a library user (a notebook, the service) gets Python's own handler back when
  `import crystalx_core` returns, and a KeyboardInterrupt then if Ctrl-C came during it;
- the `crystalx` command keeps holding it through cli.py's imports until main()'s
  signals_raise_stopped takes it over (take_held), which turns it into the one line
  "crystalx: interrupted; no output written" and exit 130.

The hold begins on the package's first line (crystalx_core/__init__.py records SIGINT with the
built-in _signal, before any file of ours is read) and hold_sigint takes it over: Python's own
handler during this module's import raised a KeyboardInterrupt that cut the import short (a
traceback through our code) or, run inside importlib's module-lock weakref callback, was printed
as "Exception ignored" and lost (python/cpython#95959), and the command ran on to write its
outputs and exit 0. The hold is open before the command forks (_supervisor), so the job inherits
it with every SIGINT recorded so far.

Standard library only: this runs before anything heavy is imported.
"""

from __future__ import annotations

import re
import signal
import sys

from crystalx_core import _supervisor

_held: list[int] = []  # SIGINTs received while the hold was open
_replaced: list = []  # the handler the hold replaced, while it is open

# the console script's name as pip and distlib write it (POSIX, Windows' -script.py and .exe)
_SCRIPT = re.compile(r"crystalx(-script\.pyw?|\.exe)?", re.IGNORECASE)
_MODULES = ("crystalx_core.cli",)  # `python -m crystalx_core.cli`


def _record(signum, frame):
    _held.append(signum)
    _supervisor.answer()  # Python runs: the job will act on it once its imports are done


def hold_sigint(taking_over=None) -> None:
    """Record SIGINT instead of raising, if Python's own handler is the one installed (a
    program that set its own keeps it) and this is the main thread (elsewhere signal.signal
    refuses with ValueError, and Python raises KeyboardInterrupt only in the main thread).

    `taking_over`: the package's first-line hold, (the handler it replaced, or None where it
    held nothing; the SIGINTs it recorded), which this one continues."""
    if _replaced:
        return
    replaced, received = taking_over or (None, [])
    if replaced is None and signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return
    try:
        previous = signal.signal(signal.SIGINT, _record)
    except ValueError:  # not the main thread
        return
    _replaced.append(replaced if replaced is not None else previous)
    _held.extend(received)  # after the swap: the first-line recorder has no more to come


def release_sigint(deliver: bool = True) -> None:
    """Give SIGINT its handler back and (`deliver`) raise the KeyboardInterrupt held, if any."""
    if not _replaced:
        return
    signal.signal(signal.SIGINT, _replaced.pop())
    held = bool(_held)
    _held.clear()
    if held and deliver:
        raise KeyboardInterrupt


def take_held():
    """For a caller that has just installed its own SIGINT handler (signals_raise_stopped):
    end the hold without touching the handler and return (the handler the hold replaced, or
    None when no hold was open; whether a SIGINT was held)."""
    replaced = _replaced.pop() if _replaced else None
    held = bool(_held)
    _held.clear()
    return replaced, held


def started_as_command() -> bool:
    """True when this process is the `crystalx` command: its console script, or
    `python -m crystalx_core.cli` (whose sys.argv[0] is still '-m' while the package imports,
    hence sys.orig_argv). Not a worker the command spawned (multiprocessing's spawn passes
    --multiprocessing-fork and copies the parent's sys.argv): it never reaches main(), and
    its Ctrl-C is its pool initializer's to set (batch._warm_worker)."""
    orig = list(getattr(sys, "orig_argv", ()))
    if "--multiprocessing-fork" in orig:
        return False
    if sys.argv and _SCRIPT.fullmatch(re.split(r"[\\/]", sys.argv[0])[-1]):
        return True
    return "-m" in orig and orig[orig.index("-m") + 1 :][:1] in [[name] for name in _MODULES]
