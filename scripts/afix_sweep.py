"""Sweep the benchmark: for every ../shared/data/benchmark/*/published.res, run `crystalx
assign` (no reflections) and count the pivots whose riding H the output gives as many H as
the input but under another AFIX code (SHELXL rides H on the last non-H atom before them).

    PYTHONPATH=$PWD python scripts/afix_sweep.py OUTDIR [benchmark names...]
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.elements import is_hydrogen
from crystalx_core.io import load

BENCHMARK = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "benchmark"


def riding_groups(path: pathlib.Path) -> dict[str, list[int]]:
    """Pivot label → AFIX codes of the riding H after it, in file order."""
    groups: dict[str, list[int]] = {}
    pivot = None
    for site in load(path).structure.sites:
        if not is_hydrogen(site.element or ""):
            pivot = site.label.upper()
        elif site.afix and pivot:
            groups.setdefault(pivot, []).append(site.afix)
    return groups


def main(outdir: str, names: list[str]) -> None:
    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    names = names or sorted(p.name for p in BENCHMARK.iterdir() if (p / "published.res").exists())
    compared = differ = 0
    for name in names:
        given = BENCHMARK / name / "published.res"
        written = out / f"{name}.res"
        if not written.exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "crystalx_core.cli",
                    "assign",
                    "--quiet",
                    "--out",
                    str(out / name),
                    str(given),
                ],
                capture_output=True,
                check=False,
            )
        if not written.exists():
            print(name, "no output")
            continue
        before, after = riding_groups(given), riding_groups(written)
        same = [p for p in before if p in after and len(before[p]) == len(after[p])]
        changed = [
            (p, sorted(set(before[p])), sorted(set(after[p])))
            for p in same
            if set(before[p]) != set(after[p])
        ]
        compared, differ = compared + len(same), differ + len(changed)
        print(name, len(same), "pivots with the same H count;", len(changed), "other AFIX", changed)
    print("TOTAL", compared, "pivots compared;", differ, "with another AFIX")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
