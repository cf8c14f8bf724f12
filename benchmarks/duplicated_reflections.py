"""Time and peak memory of `crystalx assign --hkl` when every reflection is written k times.

    python benchmarks/duplicated_reflections.py [--res R --hkl H] [--copies 1 20] \
        [--trees /work/main .] [--timeout 900]

A careless merge of runs writes each reflection line again and again; SHELXL merges the
equivalents itself (MERG 2), so the job's time and memory should follow the unique
reflections. Writes, in a temporary folder, the .hkl's reflection lines `k` times (one 0 0 0
line after them), runs `crystalx assign RES --hkl COPY --quiet` in a fresh process from each
tree in turn (PYTHONPATH at the tree, run outside it so that -m finds that tree's package) and
prints seconds, the child's peak RSS (GNU time) and the last refinement line. Default input:
FC_sucrose.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "benchmark"


def reflection_lines(hkl: Path) -> list[str]:
    """The .hkl's lines up to its 0 0 0 end line (SADABS notes after it are not data)."""
    lines = []
    for line in hkl.read_text(encoding="latin-1").splitlines():
        fields = line.split()
        if not fields or (len(fields) >= 3 and all(f.lstrip("+-") == "0" for f in fields[:3])):
            break
        lines.append(line)
    return lines


def run(tree: Path, res: Path, hkl: Path, out: Path, timeout: float) -> tuple[str, str, str]:
    """(seconds, peak MB of the child, last refinement line) of one `assign --hkl`, measured
    by GNU time (/usr/bin/time: elapsed seconds and the child's own max RSS)."""
    measured = out.with_suffix(".time")
    command = ["/usr/bin/time", "-f", "%e %M", "-o", str(measured), sys.executable, "-m"]
    command += ["crystalx_core.cli", "assign", str(res), "--hkl", str(hkl), "--quiet"]
    command += ["--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(tree))
    try:
        done = subprocess.run(
            command, cwd=out.parent, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f}", "?", "(stopped at the timeout)"
    seconds, kilobytes = measured.read_text().split()[-2:]
    output = done.stdout + done.stderr
    lines = [line for line in output.splitlines() if line.startswith("refinement")]
    last = lines[-1] if lines else (output.strip().splitlines() or ["(no output)"])[-1]
    return seconds, f"{int(kilobytes) / 1024:.0f}", last[:120]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=Path, default=BENCHMARK / "FC_sucrose" / "published.res")
    parser.add_argument("--hkl", type=Path, default=BENCHMARK / "FC_sucrose" / "data.hkl")
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--trees", type=Path, nargs="+", default=[Path.cwd()])
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    lines = reflection_lines(args.hkl)
    print("| tree | copies | lines | seconds | peak MB | last refinement |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="crystalx_copies_") as folder:
        res = Path(folder) / "model.res"
        res.write_bytes(args.res.read_bytes())
        for copies in args.copies:
            hkl = Path(folder) / f"copies_{copies}.hkl"
            hkl.write_text("\n".join(lines * copies) + "\n   0   0   0    0.00    0.00\n")
            for tree in args.trees:
                out = Path(folder) / f"out_{copies}_{tree.resolve().name}"
                seconds, peak, last = run(tree.resolve(), res, hkl, out, args.timeout)
                print(
                    f"| {tree} | {copies} | {len(lines) * copies} | {seconds} | {peak} | {last} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
