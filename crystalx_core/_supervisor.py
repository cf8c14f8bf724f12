"""A stop signal ends the `crystalx` command within seconds, even inside a long library call.

Why a second process: Python runs a signal handler only when the main thread is back between
two bytecodes, and cctbx's C++ (direct structure factors of a big P1 cell: minutes in one call)
holds the GIL throughout, so no thread of the job's own process can act on SIGTERM until that
call returns. So on POSIX the command forks at start-up, before anything heavy is imported: the
child runs the job as before (its handlers stop it cleanly: errors.signals_raise_stopped), the
parent only waits for it and passes stop signals on. The child tells the parent, through a pipe,
when its Python handler has taken a stop in hand (or the job's block has ended): from then on
the parent waits for its exit, however long the wind-down. A child that has not answered within
GRACE_SECONDS is inside such a call; it cannot be writing an output then (outputs are written
by Python code that takes the stop at once, outputs.write_outputs, which blocks stop signals
only for its renames), so the parent kills it, says what the child would have said and exits
with its code (128 + the signal).

Standard library only: this runs before anything heavy is imported.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

GRACE_SECONDS = 2.0  # for the job's own handler to answer a stop signal before it is killed
# the signals that stop a job (errors.STOP_SIGNALS: that module cannot be imported this early)
_STOPS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
_answer: list[int] = []  # in the child: the pipe's end to answer the parent on
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def stop_message(signum: int) -> str:
    """errors.Stopped's message (kept the same there; a test compares them)."""
    name = signal.Signals(signum).name
    stopped = "interrupted" if signum == signal.SIGINT else f"stopped by {name}"
    return f"{stopped}; no output written"


def supervise() -> None:
    """Fork: the child returns and runs the command; this process waits and never returns.
    A no-op where there is no fork (Windows: no SIGTERM to answer there either) or where stop
    signals cannot be blocked around the fork."""
    if not hasattr(os, "fork") or not hasattr(signal, "pthread_sigmask"):
        return
    read_end, write_end = os.pipe()
    # blocked across the fork: a stop that arrives now waits for the handler of whichever
    # process it was sent to (the child's start-up hold, inherited, or the parent's forwarding)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
    parent = os.getpid()
    try:
        child = os.fork()
    except OSError:  # no process to spare: run the job here, as before
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        os.close(read_end)
        os.close(write_end)
        return
    if child == 0:
        os.close(read_end)
        _answer.append(write_end)
        _die_with(parent)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return
    os.close(write_end)
    _wait_for(child, read_end, previous)


def answer() -> None:
    """In the job's process: its Python code has a stop in hand (or the job's block is over),
    so the parent waits for its exit however long that takes. A no-op without a parent."""
    if _answer:
        try:
            os.write(_answer[0], b".")
        except OSError:  # the parent is gone: nothing is waiting
            pass


def _wait_for(child: int, answers: int, mask) -> None:
    stops: list[tuple[int, float]] = []

    def forward(signum, frame):
        if not stops:
            stops.append((signum, time.monotonic()))
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for number in _STOPS:
        # SIGHUP ignored (nohup): the command is to outlive its terminal, so not passed on
        if number == getattr(signal, "SIGHUP", None) and signal.getsignal(number) == signal.SIG_IGN:
            continue
        signal.signal(number, forward)
    # the parent holds no copy of the command's input and output: a reader of its output sees
    # the end when the child's ends, and a writer to its input, when the child stops reading
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    answered = False
    while True:  # polled (ten times a second): a blocking waitpid is retried after a handler
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            break
        if answered:
            time.sleep(0.1)
            continue
        if select.select([answers], [], [], 0.1)[0]:
            answered = _answered(answers)
            if not answered:  # the end of the pipe: the child is gone, waitpid will say how
                time.sleep(0.01)
        elif stops and time.monotonic() - stops[0][1] > GRACE_SECONDS:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            _exit_stopped(stops[0][0])
    answered = answered or (bool(select.select([answers], [], [], 0)[0]) and _answered(answers))
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if stops and signum == stops[0][0] and not answered:  # by the stop, in its imports
            _exit_stopped(signum)
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        signal.signal(signum, signal.SIG_DFL)  # die as the child did
        os.kill(os.getpid(), signum)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(status))


def _answered(answers: int) -> bool:
    """Whether the child wrote an answer (b"": it is gone without one)."""
    return bool(os.read(answers, 64))


def _exit_stopped(signum: int) -> None:
    try:
        os.write(2, f"crystalx: {stop_message(signum)}\n".encode())
    except OSError:
        pass
    os._exit(128 + signum)


def _die_with(parent: int) -> None:
    """The child goes when the parent is killed (SIGKILL cannot be passed on), on Linux; a
    batch's workers then stop on their own (batch.py)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(128 + signal.SIGKILL)
