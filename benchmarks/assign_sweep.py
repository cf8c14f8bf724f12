"""`crystalx assign` over many files, one line each: every atom's label, element and H count, and
the job's notes about UNIT. Run it with PYTHONPATH at two checkouts and diff the outputs to see
what a change does to real files (the s18unit sweep: main against the UNIT set-aside branch).

    PYTHONPATH=/work/main python benchmarks/assign_sweep.py OUT_DIR FILE... > main.txt
    PYTHONPATH=$PWD python benchmarks/assign_sweep.py OUT_DIR FILE... > branch.txt
    diff main.txt branch.txt
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

from crystalx_core.cli import main


def summary(path: Path, out: Path) -> str:
    """One line for `path`: its atoms as label:element+H count and its UNIT notes, or the
    error that stopped the job."""
    name = "_".join(path.parts[-2:]).removesuffix(path.suffix)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["assign", str(path), "--quiet", "--json", "--out", str(out / name)])
    if code != 0:
        return f"{name} FAILED {stderr.getvalue().strip()[-200:]}"
    report = json.loads(stdout.getvalue())
    atoms = " ".join(f"{a['label']}:{a['element']}{a['h_count']}" for a in report["atoms"])
    notes = [note for note in report["notes"] if "UNIT" in note]
    return f"{name} {atoms} | {notes}"


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for file in sys.argv[2:]:
        print(summary(Path(file), out), flush=True)
