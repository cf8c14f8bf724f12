"""The last refinement of `crystalx assign --hkl` under each of SHELXL's MERG codes.

    python benchmarks/merg_codes.py [--res R --hkl H] [--codes 2 0 3 4] [--timeout 900]

Writes the .res with `MERG n` before its HKLF line (none for the default), in a temporary
folder, runs `crystalx assign RES --hkl HKL --quiet` in a fresh process for each and prints
the last refinement line and the MERG note. Default input: FC_sucrose (P2₁, non-centric, its
reflections unmerged: 119065 lines), where every code gives a different set of observations.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "benchmark"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=Path, default=BENCHMARK / "FC_sucrose" / "published.res")
    parser.add_argument("--hkl", type=Path, default=BENCHMARK / "FC_sucrose" / "data.hkl")
    parser.add_argument("--codes", nargs="+", default=["default", "0", "3", "4"])
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    text = args.res.read_text(encoding="latin-1")
    print("| MERG | last refinement | MERG note |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="crystalx_merg_") as folder:
        for code in args.codes:
            merg = "" if code == "default" else f"MERG {code}\n"
            res = Path(folder) / f"merg_{code}.res"
            res.write_text(text.replace("\nHKLF", f"\n{merg}HKLF", 1), encoding="latin-1")
            command = [sys.executable, "-m", "crystalx_core.cli", "assign", str(res)]
            command += ["--hkl", str(args.hkl.resolve()), "--quiet"]
            done = subprocess.run(
                command, cwd=folder, capture_output=True, text=True, timeout=args.timeout
            )
            lines = (done.stdout + done.stderr).splitlines()
            refined = [line for line in lines if line.startswith("refinement")]
            note = next((line.strip() for line in lines if "MERG" in line), "")
            last = refined[-1] if refined else (lines or ["(no output)"])[-1]
            print(f"| {code} | {last[:110]} | {note[:160]} |")


if __name__ == "__main__":
    main()
