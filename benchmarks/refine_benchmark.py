"""Every benchmark entry with a published model and reflections through `crystalx assign --hkl`:
exit code, final R1 against the published one, wall time and peak memory per entry. Prints
the table and writes it into docs/benchmarks.md.

    python benchmarks/refine_benchmark.py ../shared/data/benchmark [--cycles 10]

Each entry runs as the user runs it (a fresh `crystalx` process, the published .res in a
scratch folder), so an internal error shows as exit 70, whatever raised it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solve_benchmark import REPO, _cpu_name, write_section  # noqa: E402


# the command line itself, then its own peak RSS (KiB) as the last line on stderr
_CHILD = (
    "import resource, sys; from crystalx_core.cli import main; code = main(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def run_entry(entry: Path, cycles: int, workdir: Path) -> dict:
    published = json.loads((entry / "source.json").read_text()).get("published_R1")
    command = [
        sys.executable,
        "-c",
        _CHILD,
        "assign",
        str(entry / "published.res"),
        "--hkl",
        str(entry / "data.hkl"),
        "--cycles",
        str(cycles),
        "--json",
        "--quiet",
        "--out",
        str(workdir / entry.name),
    ]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    messages = done.stderr.strip().splitlines()
    peak = (
        int(messages.pop()) if messages and messages[-1].isdigit() else 0
    )  # none: the process died
    row = {
        "entry": entry.name,
        "exit": done.returncode,
        "seconds": seconds,
        "published_r1": published,
        "peak_rss_mib": peak / 1024,
        "error": messages[-1] if done.returncode and messages else "",
    }
    if done.returncode == 0:
        refinement = json.loads(done.stdout)["refinement"]
        row.update(r1=refinement["r1"], stages=list(refinement["stages"]))
    return row


def markdown(rows: list[dict], cycles: int) -> str:
    ok = [r for r in rows if r["exit"] == 0]
    lines = [
        "### `assign --hkl` from the published models (`benchmarks/refine_benchmark.py`)",
        "",
        f"Machine: {_cpu_name()}. Every entry of `../shared/data/benchmark` with a published .res "
        "and "
        f"reflections, `crystalx assign published.res --hkl data.hkl --cycles {cycles}` in a fresh "
        "process "
        "(all stages: isotropic, elements weighed by the data, anisotropic, riding H, difference "
        "map). "
        "Peak RSS of that process.",
        "",
        "| entry | exit | R1 | published R1 | wall (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        r1 = f"{r['r1']:.4f}" if "r1" in r else r["error"][:80]
        rss = f"{r['peak_rss_mib']:.0f}"
        lines.append(
            f"| {r['entry']} | {r['exit']} | {r1} | {r['published_r1']} | {r['seconds']:.1f} | "
            f"{rss} |"
        )
    lines += [
        "",
        f"{len(ok)} of {len(rows)} entries exit 0; none exits 70 (internal error): "
        f"{'yes' if all(r['exit'] != 70 for r in rows) else 'NO'}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", type=Path)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    entries = sorted(
        p.parent
        for p in args.benchmark.glob("*/published.res")
        if (p.parent / "data.hkl").is_file()
    )
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for entry in entries:
            rows.append(run_entry(entry, args.cycles, Path(work)))
            print(json.dumps(rows[-1]), flush=True)
    text = markdown(rows, args.cycles)
    print(text)
    write_section(text, "refine_benchmark", args.output)
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(REPO))
    sys.exit(main())
