"""Where a job's time goes, and what it answered: `crystalx solve` (a benchmark entry's cell,
symmetry and formula, as benchmarks/solve_benchmark.py starts it) or `assign --hkl` (a model file
and its reflections) run in this process, with smtbx's normal-equation builds counted and timed
(full builds and objective-only ones apart), the job's stage timings, and the answer: final R1
and wR2, each non-H atom's element, H placed. Run it once per tree (PYTHONPATH) on the same
loaded machine and compare the two JSON files with --compare.

    PYTHONPATH=TREE python benchmarks/solve_speed.py ENTRY_DIR... --json OUT.json
    PYTHONPATH=TREE python benchmarks/solve_speed.py --solve X.ins:X.hkl --assign Y.res:Y.hkl ...
    python benchmarks/solve_speed.py --compare MAIN.json BRANCH.json
    PYTHONPATH=. python benchmarks/solve_speed.py --converged MODEL.res:DATA.hkl [--cycles 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import numpy as np
from cctbx import uctbx
from smtbx.refinement import least_squares

from crystalx_core.elements import is_hydrogen
from crystalx_core.io import load, read_reflections
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.io.shelx_write import new_ins_text
from crystalx_core.pipeline import assign_job, solve_job


class _CountedBuilds:
    """smtbx's extension module with build_normal_equations counted and timed: every
    least-squares cycle of every refinement goes through it (smtbx.refinement.least_squares)."""

    def __init__(self, ext):
        self._ext = ext
        self.reset()

    def reset(self):
        self.full = self.objective_only = 0
        self.seconds = 0.0

    def __getattr__(self, name):
        return getattr(self._ext, name)

    def build_normal_equations(self, *args):
        start = time.perf_counter()
        try:
            return self._ext.build_normal_equations(*args)
        finally:
            self.seconds += time.perf_counter() - start
            if args[-2]:  # objective_only
                self.objective_only += 1
            else:
                self.full += 1


BUILDS = _CountedBuilds(least_squares.ext)
least_squares.ext = BUILDS
REFINEMENTS: list[tuple[str, float, int]] = []  # (the job step that asked, seconds, cycles)


def _counted(refine, step: str):
    """`refine` with each call's seconds and cycles put in REFINEMENTS under `step`."""

    def counted(*args, **kwargs):
        start = time.perf_counter()
        result = refine(*args, **kwargs)
        REFINEMENTS.append((step, time.perf_counter() - start, result.cycles))
        return result

    return counted


for _module in ("completion", "element_evidence", "partial_sites", "pipeline"):
    _job_step = sys.modules[f"crystalx_core.{_module}"]
    _job_step.refine = _counted(_job_step.refine, _module)


def answer(result) -> dict:
    """What the job answered: final R1/wR2, the non-H atoms' elements by label, H placed."""
    final = result.final
    atoms = [site for site in result.structure.sites if not is_hydrogen(site.element)]
    return {
        "r1": None if final is None else round(final.r1, 5),
        "wr2": None if final is None else round(final.wr2, 5),
        "elements": {site.label: site.element for site in atoms},
        "n_h": sum(1 for site in result.structure.sites if is_hydrogen(site.element)),
        "refinements": [(name, refined.cycles) for name, refined in result.refinements],
    }


def run(name: str, job) -> dict:
    BUILDS.reset()
    REFINEMENTS.clear()
    start = time.perf_counter()
    result = job()
    row = {"entry": name, "seconds": round(time.perf_counter() - start, 1)}
    row["builds"] = {
        "full": BUILDS.full,
        "objective_only": BUILDS.objective_only,
        "seconds": round(BUILDS.seconds, 1),
    }
    steps = {}
    for step, seconds, cycles in REFINEMENTS:
        n, total, all_cycles = steps.get(step, (0, 0.0, 0))
        steps[step] = (n + 1, round(total + seconds, 1), all_cycles + cycles)
    row["refine_calls"] = steps  # step → (refinements, seconds, cycles)
    row["timings"] = {stage: round(s, 1) for stage, s in result.timings.items()}
    row.update(answer(result))
    return row


def pair_job(pair: str, job, method: str) -> dict:
    """`job` (solve_job or assign_job) on 'MODEL:HKL', as the command line runs it."""
    model, data = pair.split(":")
    loaded = load(model)
    return run(
        Path(model).name,
        lambda: job(
            loaded.structure, read_reflections(data), method, shelx=loaded.output_template()
        ),
    )


def solve_entry(entry: Path, method: str) -> dict:
    start = read_cif(entry / "model.cif").structure.with_sites([])
    with tempfile.TemporaryDirectory() as folder:
        ins = Path(folder) / f"{entry.name}.ins"
        ins.write_text(new_ins_text(start))
        structure = read_shelx(ins).to_structure()
    return run(entry.name, lambda: solve_job(structure, read_hkl(entry / "data.hkl"), method))


def converged_against_capped(pair: str, cycles: int) -> dict:
    """One anisotropic refinement of MODEL (its H riding) against HKL stopped once converged
    (crystallography.convergence), and one run to its cycles by scitbx's own Levenberg–Marquardt
    iterations from the same start: R1, wR2, cycles, builds and seconds of each, and the
    largest difference between the two models (site in Å, Ueq in Å²)."""
    from scitbx.lstbx import normal_eqns_solving

    import crystalx_core.crystallography.refine as refine_module

    model, data = pair.split(":")
    structure, reflections = load(model).structure, read_reflections(data)
    stopped = refine_module.ConvergingIterations
    row, results = {"entry": Path(model).name}, {}
    for name, iterations in (("converged", stopped), ("capped", None)):
        refine_module.ConvergingIterations = (
            iterations or normal_eqns_solving.levenberg_marquardt_iterations
        )
        BUILDS.reset()
        start = time.perf_counter()
        results[name] = refine_module.refine(structure, reflections, cycles, anisotropic=True)
        row[name] = {
            "r1": round(results[name].r1, 6),
            "wr2": round(results[name].wr2, 6),
            "cycles": results[name].cycles,
            "builds": BUILDS.full + BUILDS.objective_only,
            "seconds": round(time.perf_counter() - start, 1),
        }
    refine_module.ConvergingIterations = stopped
    cell = uctbx.unit_cell(structure.cell)
    pairs = list(zip(results["converged"].structure.sites, results["capped"].structure.sites))
    row["largest_site_difference"] = max(
        cell.length(tuple(np.subtract(a.frac, b.frac))) for a, b in pairs
    )
    row["largest_u_difference"] = max(abs(a.u_iso - b.u_iso) for a, b in pairs)
    return row


def compare(first: Path, second: Path) -> None:
    """Wall time, builds and answers side by side; the answers must be equal."""
    a = {row["entry"]: row for row in json.loads(first.read_text())}
    b = {row["entry"]: row for row in json.loads(second.read_text())}
    print("| entry | wall s (ratio) | builds full+objective | R1 | wR2 | elements, H |")
    print("|---|---|---|---|---|---|")
    for name in a.keys() & b.keys():
        x, y = a[name], b[name]
        same = x["elements"] == y["elements"] and x["n_h"] == y["n_h"]
        builds = [f"{r['builds']['full']}+{r['builds']['objective_only']}" for r in (x, y)]
        print(
            f"| {name} | {x['seconds']} → {y['seconds']} ({y['seconds'] / x['seconds']:.2f}) | "
            f"{builds[0]} → {builds[1]} | {x['r1']} → {y['r1']} | {x['wr2']} → {y['wr2']} | "
            f"{'same' if same else 'DIFFERENT'} ({len(y['elements'])} atoms, {y['n_h']} H) |"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="*", type=Path, help="benchmark entry folders to solve")
    parser.add_argument("--solve", nargs="*", default=[], help="INS:HKL pairs to solve")
    parser.add_argument("--assign", nargs="*", default=[], help="MODEL:HKL pairs for assign --hkl")
    parser.add_argument("--method", default="auto")
    parser.add_argument(
        "--converged",
        nargs="*",
        default=[],
        help="MODEL:HKL pairs: one refinement stopped once converged against one run to --cycles",
    )
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("FIRST", "SECOND"))
    args = parser.parse_args(argv)
    if args.compare:
        compare(*args.compare)
        return 0
    rows = []
    jobs = [lambda e=e: solve_entry(e, args.method) for e in args.entries]
    jobs += [lambda p=p: pair_job(p, solve_job, args.method) for p in args.solve]
    jobs += [lambda p=p: pair_job(p, assign_job, args.method) for p in args.assign]
    jobs += [lambda p=p: converged_against_capped(p, args.cycles) for p in args.converged]
    for job in jobs:
        rows.append(job())
        print(json.dumps(rows[-1]), flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
    print(f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
