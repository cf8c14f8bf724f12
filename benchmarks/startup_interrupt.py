"""What a user sees after a Ctrl-C in the first second of `crystalx solve` (XH_urea), on a busy
machine: the moments of tests/test_startup_signals.py (0 to 1 s after the start), the SIGINT to
the pid (`kill -INT`) and to the process group (a terminal's Ctrl-C) in turn, both launchers,
with two busy loops beside it. Each checkout given is run in turn, repeat by repeat, so they
share the load (the s20sigint figures in docs/benchmarks.md):

    nice -n 10 python benchmarks/startup_interrupt.py 10 /work/main $PWD

A run is "clean" (exit 130, the one line, nothing written), "python's own" (the command had not
forked yet, Linux /proc, and the interpreter's start-up took the signal: killed by SIGINT or its
own error without a frame of ours, or its own KeyboardInterrupt swallowed and the job run), or
"bad" (anything else: a traceback through our code, exit 0 with outputs written by a job the
user stopped, a death by SIGINT after the fork, a hang). Prints each bad run, then the counts.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "benchmark" / "XH_urea"
DELAYS = (0.0, 0.03, 0.06, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0)
LINE = "crystalx: interrupted; no output written"
_OUR_FRAME = re.compile(r'File "[^"]*crystalx_core[/\\]')
_SWALLOWED = re.compile(r"^KeyboardInterrupt:? ?$|Remainder of file ignored", re.MULTILINE)


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def _launchers() -> list[list[str]]:
    script = Path(sys.executable).with_name("crystalx")
    return [[sys.executable, "-m", "crystalx_core.cli"]] + (
        [[str(script)]] if script.is_file() else []
    )


def one_run(checkout: str, k: int, delay: float, folder: Path) -> tuple[str, str]:
    """(kind, what was seen) of one interrupted run."""
    launchers = _launchers()
    launcher, group = launchers[k % len(launchers)], (k // len(launchers)) % 2 == 1
    for name in ("published.res", "data.hkl"):
        shutil.copy(DATA / name, folder / ("s.res" if name.endswith("res") else "s.hkl"))
    proc = subprocess.Popen(
        [*launcher, "solve", "s.res", "s.hkl"],
        cwd=folder,
        env=dict(os.environ, PYTHONPATH=checkout),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(delay)
    forked = bool(_children(proc.pid))
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        rc = "hang"
    written = sorted(p.name for p in folder.iterdir() if p.name not in ("s.res", "s.hkl"))
    seen = f"{delay} s, {'group' if group else 'pid'}, {launcher[-1]}, forked={forked}: rc={rc} "
    seen += f"written={written} stderr={err[-400:]!r}"
    if rc == 130 and err.strip() == LINE and not written:
        return "clean", seen
    pythons = (rc in (-signal.SIGINT, 1) and not written) or (rc == 0 and _SWALLOWED.search(err))
    if not forked and pythons and not _OUR_FRAME.search(err):
        return "python's own", seen
    return "bad", seen


def main() -> None:
    repeats, checkouts = int(sys.argv[1]), sys.argv[2:]
    # started in the background by a script, this process ignores SIGINT (POSIX), and its
    # commands would inherit that; a user's command at a terminal has Python's default
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    busy = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(2)]
    kinds = {c: collections.Counter() for c in checkouts}
    failed = collections.Counter()
    try:
        for repeat in range(repeats):
            for checkout in checkouts:
                bad = False
                for k, delay in enumerate(DELAYS):
                    with tempfile.TemporaryDirectory() as folder:
                        kind, seen = one_run(checkout, k, delay, Path(folder))
                    kinds[checkout][kind] += 1
                    if kind == "bad":
                        bad = True
                        print(f"{checkout} repeat {repeat}: bad: {seen}", flush=True)
                failed[checkout] += bad
    finally:
        for loop in busy:
            loop.kill()
    for checkout in checkouts:
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds[checkout].items()))
        print(f"{checkout}: {failed[checkout]}/{repeats} repeats with a bad run; runs: {counts}")


if __name__ == "__main__":
    main()
