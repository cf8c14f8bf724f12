"""How fast `crystalx assign` answers: model assignment (two heavy passes + hydrogen model)
on real structures of different sizes, models loaded once, median of repeated runs.

    python benchmarks/assign_speed.py ../shared/data/benchmark
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign import apply_assignment
from crystalx_core.assign.model import MODEL_DIR, assign_model, load_model, model_h_counts
from crystalx_core.elements import atomic_number, is_hydrogen
from crystalx_core.io.cif import read_cif

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solve_benchmark import REPO, _cpu_name, write_section  # noqa: E402

ENTRIES = ["XH_urea", "FC_sucrose", "FC_1979688", "FC_p21c"]


def time_entry(path: Path, repeats: int) -> dict:
    truth = read_cif(path).structure
    heavy = [site for site in truth.sites if not is_hydrogen(site.element)]
    peaks = truth.with_sites([replace(site, element=None, label=f"Q{k + 1}", peak_height=float(atomic_number(site.element)))
                              for k, site in enumerate(heavy)])
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        answer = assign_model(peaks)
        model_h_counts(apply_assignment(peaks, answer))
        times.append(time.perf_counter() - t0)
    return {"entry": path.parent.name, "sites": len(peaks.sites), "median_s": statistics.median(times),
            "min_s": min(times)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    heavy, hydrogen = load_model(str(MODEL_DIR), "heavy"), load_model(str(MODEL_DIR), "hydrogen")
    load_s = time.perf_counter() - t0
    rows = [time_entry(args.benchmark_dir / name / "model.cif", args.repeats) for name in ENTRIES]
    lines = ["### Assignment speed (`benchmarks/assign_speed.py`)", "",
             f"Machine: {_cpu_name()}; onnxruntime on {heavy.provider}. Models loaded once in {load_s:.2f} s "
             "(the service keeps them loaded). Time per structure: baseline guesses, two heavy-model passes, "
             f"hydrogen model; median of {args.repeats} runs.", "",
             "| entry | non-H sites | median (s) | fastest (s) |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['entry']} | {r['sites']} | {r['median_s']:.3f} | {r['min_s']:.3f} |")
        print(f"{r['entry']:<12} {r['sites']:>4} sites  median {r['median_s']:.3f} s")
    write_section("\n".join(lines) + "\n", "assign_speed", args.output)
    print(f"models loaded in {load_s:.2f} s on {heavy.provider}/{hydrogen.provider}; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
