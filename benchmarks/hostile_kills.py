"""`crystalx assign` and `crystalx batch` killed outright (SIGKILL, no handler runs) at random
moments, over outputs an earlier run wrote: is any output left torn under its own name, does a
left-over temporary trouble the next run, and does the batch keep what it finished?

    python benchmarks/hostile_kills.py [--tree PATH] [--kills 40] [--seed 1]

Each kill starts the command in a folder holding a finished earlier set of outputs, sends SIGKILL
to its process group (3 in 10 after a random delay within the unkilled run's time, the rest
within 30 ms of a new hidden temporary: while it writes) and then checks every output
and backup: the .json must load, the .cif parse with gemmi, the .res end in END and parse
with the SHELX reader, the batch's .csv end in a newline and its .html in </html>. Hidden
temporaries left are counted, and one more run, unkilled, must succeed and leave none. The
batch loop kills `crystalx batch` over six structures, then runs it to the end: every row ok
or resumed, the summary parseable.
Prints one table row per loop (docs/benchmarks.md, session 23, s23hostile5).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STRUCTURE = (
    "TITL test\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
    "SYMM -X, 1/2+Y, 1/2-Z\nSFAC C H O\nUNIT 8 8 4\nFVAR 1\nC1 1 0.1 0.2 0.3 11 0.03\n"
    "O1 3 0.22 0.2 0.3 11 0.03\nC2 1 0.1 0.33 0.3 11 0.03\nHKLF 4\nEND\n"
)
QUICK = ["--method", "baseline", "--hydrogens", "rules", "--quiet"]


def command(tree: Path, *args: str) -> tuple[list[str], dict]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return [sys.executable, "-m", "crystalx_core.cli", *args, *QUICK], env


def run(tree: Path, folder: Path, *args: str) -> subprocess.CompletedProcess:
    line, env = command(tree, *args)
    return subprocess.run(line, cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def killed(tree: Path, folder: Path, when: float | int, *args: str) -> bool:
    """The command started in its own process group and SIGKILLed there: after `when` seconds
    (a float), or (an int n) within 30 ms of the first hidden temporary it makes once n of its
    reports (*_crystalx.json) are written: while it writes the outputs of its n+1-th structure.
    True when the kill came before the command's own end."""
    line, env = command(tree, *args)
    started = time.time()
    process = subprocess.Popen(
        line,
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if isinstance(when, float):
        time.sleep(when)
    else:
        while process.poll() is None and reports_since(folder, started) < when:
            time.sleep(0.005)
        before = set(temporaries(folder))  # a killed run's, or ones renamed any moment now
        while process.poll() is None and not set(temporaries(folder)) - before:
            time.sleep(0.001)
        time.sleep(random.uniform(0, 0.03))
    alive = process.poll() is None
    if alive:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return alive


def reports_since(folder: Path, started: float) -> int:
    found = 0
    for path in folder.glob("*_crystalx.json"):
        try:
            found += path.stat().st_mtime >= started
        except FileNotFoundError:  # being replaced
            pass
    return found


def torn(path: Path) -> str:
    """Why `path` is not a whole output ('' when it is)."""
    from crystalx_core.io.shelx_read import read_shelx  # cctbx first: gemmi before it crashes

    import gemmi

    try:
        if path.name.endswith(".json") or ".json.bak" in path.name:
            json.loads(path.read_text())
        elif path.name.endswith(".cif") or ".cif.bak" in path.name:
            gemmi.cif.read_string(path.read_text()).sole_block()
        elif path.name.endswith(".res") or ".res.bak" in path.name:
            if not path.read_text().rstrip().endswith("END"):
                return f"{path.name}: no END"
            read_shelx(path)
        elif path.name.endswith((".csv", ".html")) or ".csv.bak" in path.name:
            text = path.read_text()
            if path.name.endswith(".csv") and not text.endswith("\n"):
                return f"{path.name}: cut"
            if ".html" in path.name and "</html>" not in text:
                return f"{path.name}: cut"
    except Exception as error:  # noqa: BLE001 - any failure to read is what is counted
        return f"{path.name}: {type(error).__name__}: {error}"[:120]
    return ""


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


def check(folder: Path) -> list[str]:
    return [
        why
        for p in sorted(folder.iterdir())
        if "_crystalx" in p.name or "crystalx_batch" in p.name
        for why in [torn(p)]
        if why
    ]


def assign_loop(tree: Path, kills: int) -> str:
    with tempfile.TemporaryDirectory(prefix="crystalx_kills_") as scratch:
        folder = Path(scratch)
        (folder / "x.res").write_text(STRUCTURE)
        start = time.perf_counter()
        first = run(tree, folder, "assign", "x.res")
        whole = time.perf_counter() - start
        assert first.returncode == 0, first.stderr
        problems, left = [], 0
        hit = 0
        for _ in range(kills):
            when = random.uniform(0, whole) if random.random() < 0.3 else 0
            hit += killed(tree, folder, when, "assign", "x.res")
            problems += check(folder)
            left += len(temporaries(folder))
        after = run(tree, folder, "assign", "x.res")
        return (
            f"| assign, {hit} kills of {kills} runs (run {whole:.1f} s) | {len(problems)} "
            f"{'; '.join(problems[:3])} | {left} | exit {after.returncode}, "
            f"{len(temporaries(folder))} temporaries left |"
        )


def batch_loop(tree: Path, kills: int) -> str:
    with tempfile.TemporaryDirectory(prefix="crystalx_kills_") as scratch:
        folder = Path(scratch)
        for k in range(6):
            (folder / f"s{k}.res").write_text(STRUCTURE.replace("TITL test", f"TITL s{k}"))
        start = time.perf_counter()
        run(tree, folder, "batch", ".", "--workers", "2")
        whole = time.perf_counter() - start
        problems, left = [], 0
        for path in folder.glob("s*_crystalx.json"):
            path.unlink()  # each kill starts over a half-finished batch
        hit = 0
        for _ in range(kills):
            rest = 6 - len(list(folder.glob("s*_crystalx.json")))
            if not rest:
                break
            when = random.uniform(0.3, 1.0) * whole if random.random() < 0.3 else None
            when = when or random.randrange(rest)  # kill it writing one it has not done yet
            hit += killed(tree, folder, when, "batch", ".", "--workers", "2")
            problems += check(folder)
            left += len(temporaries(folder))
        finished = len(list(folder.glob("s*_crystalx.json")))
        after = run(tree, folder, "batch", ".", "--workers", "2")
        rows = list(csv.DictReader((folder / "crystalx_batch.csv").open()))
        resumed = sum(row["status"] == "resumed" for row in rows)
        return (
            f"| batch of 6, {hit} kills of {kills} runs (run {whole:.1f} s) | "
            f"{len(problems)} {'; '.join(problems[:3])} | {left} | exit {after.returncode}, "
            f"{len(rows)} rows: {resumed} resumed of {finished} finished before, "
            f"{sum(row['status'] == 'ok' for row in rows)} ok; "
            f"{len(temporaries(folder))} temporaries left |"
        )


def race_loop(tree: Path, rounds: int) -> str:
    """`crystalx batch .` and `crystalx assign s0.res` started together in one folder, as from
    two shells, `rounds` times: exit codes, torn outputs, temporaries left."""
    with tempfile.TemporaryDirectory(prefix="crystalx_kills_") as scratch:
        folder = Path(scratch)
        for k in range(3):
            (folder / f"s{k}.res").write_text(STRUCTURE.replace("TITL test", f"TITL s{k}"))
        codes, problems = set(), []
        for _ in range(rounds):
            for path in folder.glob("s*_crystalx.json"):
                path.unlink()  # the batch redoes every structure, s0 among them
            started = []
            for args in (("batch", ".", "--workers", "2"), ("assign", "s0.res")):
                line, env = command(tree, *args)
                started.append(
                    subprocess.Popen(
                        line,
                        cwd=folder,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                )
            for process in started:
                codes.add((process.wait(), process.stderr.read().strip()[:80]))
            problems += check(folder)
        return (
            f"| batch and assign at once, {rounds} rounds | {len(problems)} "
            f"{'; '.join(problems[:3])} | {len(temporaries(folder))} | exits "
            f"{sorted(codes)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--kills", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    random.seed(args.seed)
    print(f"tree {args.tree}")
    print("| loop | torn outputs seen | temporaries seen after kills | next run |")
    print("|---|---|---|---|")
    print(assign_loop(args.tree.resolve(), args.kills), flush=True)
    print(batch_loop(args.tree.resolve(), max(args.kills // 4, 1)), flush=True)
    print(race_loop(args.tree.resolve(), max(args.kills // 6, 1)), flush=True)


if __name__ == "__main__":
    main()
