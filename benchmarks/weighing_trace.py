"""Where the element weighing's time goes: each refinement it runs (weigh_elements →
_Weighing.refined_with) with its reason, cycles, normal-equation builds, wall and CPU seconds.

The weighing's input is the isotropic refinement `crystalx solve` hands it: the solve runs (as
benchmarks/solve_speed.py starts it) up to the weighing, its input is pickled in a cache folder
outside the repository and reused on the next run, then the weighing runs alone on it, traced.
Reasons: pre-screen (_rejected_changes' isotropic refinement of a change put back), final (the
refinement the weighing returns, named once it has), trial (every other); the caller is printed
too. Each row is printed as its refinement ends (a DSR weighing runs ~10 min).

    PYTHONPATH=TREE python benchmarks/weighing_trace.py ../shared/data/benchmark/FC_1979688
    PYTHONPATH=TREE python benchmarks/weighing_trace.py ENTRY_DIR --cache DIR --json OUT.json
    PYTHONPATH=TREE python benchmarks/weighing_trace.py MODEL.res:DATA.hkl --cache DIR
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import solve_speed  # noqa: E402  (counts smtbx's builds once imported)

from crystalx_core import element_evidence, pipeline  # noqa: E402

TRACE: list[dict] = []
ROW = "{:>3} {:<11}{:<24}{:>8}{:>6}{:>7}{:>7}{:>7}{:>8}{:>7}"
_refined_with = element_evidence._Weighing.refined_with


def _traced_refined_with(self, refinement, elements, anisotropic=False, riding=False, **kwargs):
    """_Weighing.refined_with with its caller, builds, wall and CPU seconds put in TRACE."""
    caller = sys._getframe(1).f_code.co_name
    builds = solve_speed.BUILDS.full + solve_speed.BUILDS.objective_only
    wall, cpu = time.perf_counter(), time.process_time()  # process time: every thread's
    result = _refined_with(self, refinement, elements, anisotropic, riding, **kwargs)
    TRACE.append(
        {
            "caller": caller,
            "changes": len(elements),
            "anisotropic": anisotropic,
            "riding": riding,
            "cycles": None if result is None else result.cycles,
            "builds": solve_speed.BUILDS.full + solve_speed.BUILDS.objective_only - builds,
            "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(time.process_time() - cpu, 2),
            "result": result,
        }
    )
    _print_row(len(TRACE), TRACE[-1])
    return result


def _reason(row: dict) -> str:
    """pre-screen or trial: final is known only once the weighing returns."""
    return (
        "pre-screen" if row["caller"] == "_rejected_changes" and not row["anisotropic"] else "trial"
    )


def _print_row(number, row: dict):
    flags = ["yes" if row[flag] else "no" for flag in ("anisotropic", "riding")]
    counts = [str(row[key]) for key in ("cycles", "builds", "wall_s", "cpu_s")]
    print(
        ROW.format(number, _reason(row), row["caller"], row["changes"], *flags, *counts), flush=True
    )


class _Captured(Exception):
    """Stops the solve once the weighing's input is saved."""


def weighing_input(entry: str, cache: Path) -> Path:
    """The pickled arguments of the solve's weigh_elements call, made once per entry."""
    name = Path(entry.split(":")[0]).stem if ":" in entry else Path(entry).name
    saved = cache / f"{name}.weighing.pkl"
    if saved.exists():
        return saved

    def capture(refined, reflections, method, cycles, priors=None):
        saved.write_bytes(pickle.dumps((refined, reflections, method, cycles)))
        raise _Captured

    pipeline.weigh_elements = capture
    try:
        if ":" in entry:  # MODEL:HKL, solved from the model's cell, symmetry and formula
            solve_speed.pair_job(entry, pipeline.solve_job, "auto")
        else:
            solve_speed.solve_entry(Path(entry), "auto")
    except _Captured:
        pass
    finally:
        pipeline.weigh_elements = element_evidence.weigh_elements
    if not saved.exists():
        sys.exit(f"{entry}: the solve did not reach the weighing (no reflections?)")
    return saved


def traced_weighing(saved: Path) -> dict:
    """weigh_elements alone on the saved input, each refinement traced."""
    refined, reflections, method, cycles = pickle.loads(saved.read_bytes())
    TRACE.clear()
    solve_speed.BUILDS.reset()
    element_evidence._Weighing.refined_with = _traced_refined_with
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        result = element_evidence.weigh_elements(refined, reflections, method, cycles)
    finally:
        element_evidence._Weighing.refined_with = _refined_with
    for row in TRACE:
        final = row.pop("result") is result.refined and result.refined is not None
        row["reason"] = "final" if final else _reason(row)
    return {
        "refinements": TRACE,
        "total": {
            "refinements": len(TRACE),
            "cycles": sum(row["cycles"] or 0 for row in TRACE),
            "builds": solve_speed.BUILDS.full + solve_speed.BUILDS.objective_only,
            "wall_s": round(time.perf_counter() - wall, 1),
            "cpu_s": round(time.process_time() - cpu, 1),
        },
        "changes": result.changes,
        "refined": None
        if result.refined is None
        else [round(result.refined.r1, 6), round(result.refined.wr2, 6)],
        "load": round(os.getloadavg()[0], 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entry", help="a benchmark entry (model.cif, data.hkl) or MODEL:HKL")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "crystalx_weighing_trace"
    )
    parser.add_argument("--json", type=Path, help="write the trace here too")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"{args.entry}: the solve's input to the weighing (cached in {args.cache})", flush=True)
    saved = weighing_input(args.entry, args.cache)
    print(
        ROW.format(
            "#",
            "reason",
            "caller",
            "changes",
            "aniso",
            "riding",
            "cycles",
            "builds",
            "wall s",
            "CPU s",
        ),
        flush=True,
    )
    report = traced_weighing(saved)
    finals = [k for k, row in enumerate(report["refinements"], 1) if row["reason"] == "final"]
    if finals:
        print(f"final: refinement {finals[0]} is the one the weighing returns")
    total = report["total"]
    print(
        f"total: {total['refinements']} refinements, {total['cycles']} cycles, "
        f"{total['builds']} builds, "
        f"{total['wall_s']} s wall, {total['cpu_s']} s CPU (load {report['load']}); "
        f"changes {report['changes']}, refined R1/wR2 {report['refined']}"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
