"""Whether the Qt probability panel opens a job of N atoms, and what a threshold step costs None.

    python benchmarks/panel_sizes.py [--atoms 100 1000 5000 20000] [--timeout 300]

For each N, writes a job JSON of N atoms and runs `python -m crystalx_core.panel FILE
--screenshot` offscreen in a fresh process: exit code (134 is Python's abort, 'Fatal Python
error: none_dealloc'; 2 the panel's refusal of such a PySide6), seconds and the child's max RSS.
Then, for 100 atoms and each N of 5,000 or more, in one process: None's reference count lost
per threshold step, and the CPU seconds (less noisy than the wall time on a loaded machine) to
fill the table, sort it by another column, show only the doubtful rows and step the threshold.
Run it with PYTHONPATH at the tree to measure (main's and a branch's side by side).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEP = """
import json, os, sys, time
import crystalx_core
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
app = QApplication([])
from crystalx_core.panel.window import PanelWindow
def cpu(step):
    start = time.process_time()
    step()
    return f"{time.process_time() - start:.2f}"
window = None
def open_():
    global window
    window = PanelWindow(sys.argv[1])
opened = cpu(open_)
before = sys.getrefcount(None)
stepped = cpu(lambda: window.threshold.setValue(0.5))
lost = sys.getrefcount(None) - before
sort = cpu(lambda: window.table.sortByColumn(1, Qt.DescendingOrder))
only = cpu(lambda: window.only_doubtful.setChecked(True))
print(lost, opened, sort, only, stepped)
os._exit(0)
"""


def job(folder: Path, n: int) -> Path:
    site = {"element": "C", "h_count": 1, "h_probabilities": {"1": 0.9, "0": 0.1}, "hfix": 43}
    atoms = [
        # in no order, as a real answer's: rows already sorted cost the sort nothing
        {**site, "label": f"Q{k}", "new_label": f"C{k}", "probabilities": [["C", k * 7919 % n / n]]}
        for k in range(1, n + 1)
    ]
    path = folder / f"job_{n}.json"
    path.write_text(json.dumps({"source": f"{n}.res", "atoms": atoms}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, nargs="+", default=[100, 1000, 5000, 20000])
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    import PySide6

    print(f"PySide6 {PySide6.__version__}, Python {sys.version.split()[0]}")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryDirectory() as folder:
        print("| atoms | exit | seconds | peak MB |\n|---|---|---|---|")
        for n in args.atoms:
            command = [sys.executable, "-m", "crystalx_core.panel", str(job(Path(folder), n))]
            command += ["--screenshot", str(Path(folder) / f"{n}.png")]
            start = time.perf_counter()
            try:
                done = subprocess.run(
                    command, capture_output=True, env=env, timeout=args.timeout, cwd=folder
                )
                code = str(done.returncode if done.returncode >= 0 else 128 - done.returncode)
            except subprocess.TimeoutExpired:
                code = f"> {args.timeout:.0f} s"
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"| {n} | {code} | {time.perf_counter() - start:.1f} | {peak:.0f} |")
        print(
            "\n| atoms | CPU s: open | sort | only doubtful | threshold step | None refs lost |"
            "\n|---|---|---|---|---|---|"
        )
        for n in [100] + [n for n in args.atoms if n >= 5000]:
            step = subprocess.run(
                [sys.executable, "-c", STEP, str(job(Path(folder), n))],
                capture_output=True,
                text=True,
                env=env,
                timeout=args.timeout,
                cwd=folder,  # -m and -c put the current folder first: PYTHONPATH's tree is measured
            )
            lost, *seconds = (step.stdout.split() + ["?"] * 5)[:5]
            print(f"| {n} | " + " | ".join(seconds) + f" | {lost} |")


if __name__ == "__main__":
    main()
