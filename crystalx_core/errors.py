"""Our own exception types: every user-facing failure names the file and, where known, the line."""

from __future__ import annotations

import _thread
import errno as _errno
import re
import signal
import sys
import threading
from contextlib import contextmanager

from crystalx_core import _startup, _supervisor

QUOTE_LIMIT = 60  # characters of quoted input kept in a message
MESSAGE_LIMIT = 500  # characters of a whole message
# a quote that opens and closes a repr'd value, not an apostrophe inside a word ("file's")
_LONG_QUOTE = re.compile(r"(?<!\w)(['\"])([^'\"\n]{%d})[^'\"\n]*\1(?!\w)" % QUOTE_LIMIT)


def shortened(message: str) -> str:
    """One line with quoted input cut short: a 1 MB value must not come back as a 1 MB error."""
    message = " ".join(str(message).splitlines())
    message = _LONG_QUOTE.sub(lambda m: f"{m.group(1)}{m.group(2)}…{m.group(1)}", message)
    return message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT] + "…"


def printable(text: str) -> str:
    """`text` with every character a terminal acts on or breaks a line at (ESC sequences and BEL
    in an atom label, a newline or carriage return in a file name) written as its escape, so a
    hostile name prints as one inert line. A file name's undecodable byte (Python's surrogate
    escape) is written as outputs.utf8 writes it, '\\xe9'."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _escaped(character: str) -> str:
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape of the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return character.encode("unicode_escape").decode("ascii")


class CrystalXError(Exception):
    """A problem with the user's input or job, reported as one line without a traceback."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = shortened(message)
        self.path = path
        self.line = line
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return printable(where + self.message)


class InputError(CrystalXError):
    """Malformed, truncated or inconsistent input file."""


class OutputError(CrystalXError):
    """An output could not be written (disk full, a file that cannot be replaced); the previous
    outputs are left exactly as they were. `errno` is the system's reason, where one was given."""

    def __init__(
        self, message: str, path: str | None = None, line: int | None = None, errno: int = 0
    ):
        super().__init__(message, path, line)
        self.errno = errno

    @property
    def disk_full(self) -> bool:
        """No room left where the outputs go (ENOSPC, or the user's quota: EDQUOT), so every
        further output there fails the same way; a file over a size limit (EFBIG) is one file's."""
        return self.errno in DISK_FULL


STDOUT = "standard output"  # an OutputError's path when a report or answer cannot be written

DISK_FULL = {_errno.ENOSPC} | ({_errno.EDQUOT} if hasattr(_errno, "EDQUOT") else set())


class SolveError(CrystalXError):
    """Structure solution did not converge or gave no usable peaks."""


class RefinementError(CrystalXError):
    """Least-squares refinement failed or diverged."""


# the signals that stop a job as Ctrl-C does (SIGHUP does not exist on Windows)
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def ignored_hangup(number: int) -> bool:
    """Whether `number` is SIGHUP and this process ignores it, as `nohup` starts a command so
    that it outlives its terminal (POSIX nohup): that hangup is not the user's stop."""
    return number == getattr(signal, "SIGHUP", None) and signal.getsignal(number) == signal.SIG_IGN


class Stopped(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM, SIGHUP) ended the job; `signum` gives the exit code 128 +
    signum."""

    def __init__(self, signum: int, message: str = ""):
        if not message:
            name = signal.Signals(signum).name
            stopped = "interrupted" if signum == signal.SIGINT else f"stopped by {name}"
            message = f"{stopped}; no output written"
        super().__init__(message)
        self.signum = signum


# the signal of a stop under way: kept, because its Stopped can be swallowed where Python
# ignores exceptions (a __del__, a generator closed by the garbage collector, a weakref callback
# such as importlib's module-lock one after every import: python/cpython#95959), and the job
# must still stop
_stop_requested: list[int] = []
# a swallowed Stopped that the stop handler is to raise again (signals_raise_stopped)
_swallowed: list[int] = []
# the signal of a stop caught to finish up (wind_down): later ones are ignored until the
# outermost signals_raise_stopped ends, so a second Ctrl-C cannot cut the finishing writes short
_winding_down: list[int] = []
_depth = [0]  # signals_raise_stopped blocks now open


@contextmanager
def signals_raise_stopped(ends_process: bool = False):
    """SIGTERM and SIGHUP stop a job as Ctrl-C does, by an exception (Stopped), so that what it
    was writing is rolled back and it can say so; while it winds down, further signals are
    ignored. A Stopped that was swallowed is raised again before any output is committed
    (raise_if_stopped) and when the job's block ends. Only the main thread can do so.

    `ends_process`: the block is the program's (the command line), whose exit follows it; a
    job that was stopped (or wound down) then keeps ignoring stop signals, so one more cannot
    turn its exit code into a death by that signal (a terminal's Ctrl-C reaches the job twice:
    from the terminal, and passed on by the command's supervisor, crystalx_core._supervisor)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        _supervisor.answer()  # the stop is in hand: the command's parent waits for the exit
        if _winding_down or (_stop_requested and not _swallowed):  # a second while one winds down
            return
        _swallowed.clear()
        _stop_requested[:] = _stop_requested[:1] or [signum]
        raise Stopped(_stop_requested[0])

    def swallowed(unraisable):
        """Python ignores an exception raised where it cannot propagate and prints it ("Exception
        ignored in ..."): a Stopped there is not the user's to see, and is raised again as soon
        as this hook has returned, not only when the job next checks (raise_if_stopped). Another
        thread sends it (interrupt_main runs `stop` as the signal would): sent from here, `stop`
        would run inside this hook, where its raise is ignored too."""
        if isinstance(unraisable.exc_value, Stopped) and _stop_requested and not _winding_down:
            _swallowed.append(_stop_requested[0])
            sent = threading.Event()
            resending.append(sent)
            _thread.start_new_thread(_resend, (_stop_requested[0], sent))
        else:
            unraisable_before(unraisable)

    resending: list[threading.Event] = []  # a re-raise sent: set once interrupt_main has run
    outer = list(_stop_requested)
    previous = {
        number: signal.signal(number, stop)
        for number in STOP_SIGNALS
        if not ignored_hangup(number)  # under nohup a hangup stays ignored
    }
    unraisable_before, sys.unraisablehook = sys.unraisablehook, swallowed
    # the command's start-up hold (crystalx_core._startup) ends here, now that `stop` catches
    # the stop signals: its handlers are not the ones to put back, and a stop it held stops the
    # job now
    replaced, held = _startup.take_held()
    previous.update(replaced)
    _depth[0] += 1
    try:
        if held is not None and not (_stop_requested or _winding_down):
            _stop_requested.append(held)
            raise Stopped(held)
        yield
        raise_if_stopped()
    finally:
        _depth[0] -= 1
        ending = ends_process and bool(_winding_down or _stop_requested)
        # a re-raise still on its way must reach `stop` (which ignores it, nothing being swallowed
        # now), not the handler put back below: a library caller's Python handler would raise a
        # second KeyboardInterrupt in its own code after this block; signal.signal runs the
        # handler of a signal pending before it swaps
        _swallowed.clear()
        for sent in resending:
            sent.wait(timeout=5)
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_IGN if ending else handler)
        sys.unraisablehook = unraisable_before
        _swallowed.clear()
        _stop_requested[:] = outer
        if not _depth[0]:
            _winding_down.clear()


def _resend(signum: int, sent: threading.Event) -> None:
    """A swallowed Stopped's signal, simulated for the main thread's handler (`stop`)."""
    try:
        _thread.interrupt_main(signum)
    finally:
        sent.set()


def wind_down(stopped: Stopped) -> None:
    """A job that caught `stopped` to finish what it owes (a batch's summary of the structures
    done): from now until its outermost signals_raise_stopped ends, stop signals are ignored
    and raise_if_stopped lets its writes through. Outside every such block there is nothing
    to ignore: our handlers are gone, and a later block must not start deaf."""
    if _depth[0]:
        _winding_down[:] = [stopped.signum]
    _stop_requested.clear()


def raise_if_stopped() -> None:
    """Raise the Stopped of a stop signal already received, in case its first raise was
    swallowed; a no-op when none was. Raised here, it is no longer the swallowed one to raise
    again: the re-raise signals_raise_stopped sent (interrupt_main, which no signal mask holds
    back) then finds nothing to do, and cannot cut short the clean-up this raise starts (an
    output's roll-back under outputs._signals_held)."""
    if _stop_requested:
        _swallowed.clear()
        raise Stopped(_stop_requested[0])


class RequestError(CrystalXError):
    """A service request the core cannot act on; `code` tells the client which kind."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
