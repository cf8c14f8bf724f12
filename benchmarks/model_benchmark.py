"""The models against the baseline on real measured data (shared/data/benchmark):

(a) elements: the published non-H positions with their elements hidden, each peak's height
    read from an Fobs map phased by the published model → element accuracy;
(b) hydrogens: the published non-H atoms with their elements → H count per atom against
    the published H atoms.

    python benchmarks/model_benchmark.py ../shared/data/benchmark
    CRYSTALX_MODELS=FOLDER python benchmarks/model_benchmark.py ../shared/data/benchmark \
        --output /tmp/candidate.md     # another model folder, without touching docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.assign.baseline import assign_baseline, baseline_h_counts
from crystalx_core.assign.model import assign_model, model_h_counts
from crystalx_core.crystallography.maps import fobs_peaks
from crystalx_core.elements import is_hydrogen
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl
from crystalx_core.training.atoms.dataset import h_counts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solve_benchmark import REPO, write_section  # noqa: E402


def run_entry(entry: Path) -> dict:
    truth = read_cif(entry / "model.cif").structure
    heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
    peaks = fobs_peaks(truth, read_hkl(entry / "data.hkl"))
    row = {"entry": entry.name, "atoms": len(heavy)}
    for method, assign in (("model", assign_model), ("baseline", assign_baseline)):
        answer = assign(peaks).by_index()
        row[f"{method}_elements"] = sum(
            1 for k, s in enumerate(heavy) if k in answer and answer[k].element == s.element
        )
    skeleton = truth.with_sites(heavy)
    expected = np.array(h_counts(truth))
    row["model_h"] = int(np.sum(np.array([n for n, _ in model_h_counts(skeleton)]) == expected))
    row["baseline_h"] = int(np.sum(np.array(baseline_h_counts(skeleton)) == expected))
    return row


def markdown(rows: list[dict]) -> str:
    lines = [
        "### Models vs baseline on published atoms (`benchmarks/model_benchmark.py`)",
        "",
        "Elements: published non-H positions, heights from an Fobs map phased by the published "
        "model. "
        "H counts: published non-H atoms with their elements, against the published H.",
        "",
        "| entry | non-H | elements right: model | baseline | H counts right: model | baseline |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['entry']} | {r['atoms']} | {r['model_elements']} | {r['baseline_elements']} | "
            f"{r['model_h']} | {r['baseline_h']} |"
        )
    total = sum(r["atoms"] for r in rows)
    sums = {
        k: sum(r[k] for r in rows)
        for k in ("model_elements", "baseline_elements", "model_h", "baseline_h")
    }
    lines.append(
        f"| **all** | {total} | **{100 * sums['model_elements'] / total:.1f} %** | "
        f"{100 * sums['baseline_elements'] / total:.1f} % | **{100 * sums['model_h'] / total:.1f} "
        "%** | "
        f"{100 * sums['baseline_h'] / total:.1f} % |"
    )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark_dir", type=Path)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    rows = []
    for entry in sorted(p for p in args.benchmark_dir.iterdir() if (p / "model.cif").exists()):
        row = run_entry(entry)
        rows.append(row)
        print(json.dumps(row), flush=True)
    write_section(markdown(rows), "model_benchmark", args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
