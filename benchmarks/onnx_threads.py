"""onnxruntime's own thread pool on this machine: the heavy and hydrogen models' inference on a
corpus structure of about --atoms non-H atoms with onnxruntime's default threads and with one
(CRYSTALX_THREADS=1), calls alternating in one process so the load hits both alike; medians of
wall and CPU (process) seconds. --busy N runs N spinning processes beside it (a loaded machine).

    PYTHONPATH=. python benchmarks/onnx_threads.py ../shared/data/corpus --atoms 100 --busy 0
    PYTHONPATH=. python benchmarks/onnx_threads.py ../shared/data/corpus --atoms 100 --busy 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from perf_benchmark import structure_of_size  # noqa: E402

from crystalx_core.assign import apply_assignment  # noqa: E402
from crystalx_core.assign.model import MODEL_DIR, assign_model  # noqa: E402
from crystalx_core.elements import atomic_number  # noqa: E402
from crystalx_core.features import build_graph  # noqa: E402
from crystalx_core.runtime import OnnxModel  # noqa: E402

ROUNDS = 21


def models(threads: str | None) -> list[OnnxModel]:
    """The heavy and hydrogen models in sessions made under CRYSTALX_THREADS=threads."""
    os.environ.pop("CRYSTALX_THREADS", None)
    if threads:
        os.environ["CRYSTALX_THREADS"] = threads
    try:
        return [OnnxModel(Path(MODEL_DIR) / f"{name}.onnx") for name in ("heavy", "hydrogen")]
    finally:
        os.environ.pop("CRYSTALX_THREADS", None)


def timed(pair: list[OnnxModel], graph) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for model in pair:
        model.predict(graph)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--atoms", type=int, default=100)
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside it")
    args = parser.parse_args(argv)
    name, structure = structure_of_size(args.corpus, args.atoms)
    assigned = apply_assignment(structure, assign_model(structure))
    guesses = [atomic_number(site.element) for site in assigned.sites]
    runs = {"default": models(None), "one thread": models("1")}
    graph = build_graph(assigned, guesses, runs["default"][0].cutoff, runs["default"][0].context)
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)
    ]
    try:
        for pair in runs.values():
            timed(pair, graph)  # warm-up
        times = {label: [] for label in runs}
        for _ in range(ROUNDS):
            for label, pair in runs.items():
                times[label].append(timed(pair, graph))
        load = os.getloadavg()[0]
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    print(f"{name}: {len(structure.sites)} non-H, {args.busy} busy, load {load:.1f}")
    for label, rows in times.items():
        wall = statistics.median(row[0] for row in rows)
        cpu = statistics.median(row[1] for row in rows)
        print(f"  {label:<11} heavy+hydrogen: {wall * 1000:.1f} ms wall, {cpu * 1000:.1f} ms CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
