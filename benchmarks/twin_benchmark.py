"""Twinned refinement (TWIN/BASF with HKLF 4) on real data twinned at a known fraction.

    python benchmarks/twin_benchmark.py [--benchmark ../shared/data/benchmark]
    python benchmarks/twin_benchmark.py --published ../shared/data/corpus/sf_atomstwoline.cif

The merged Fo² of a benchmark crystal (Friedel mates apart) are mixed with the Fo² of the
reflection the twin law brings onto each, (1 - f)·Fo²(h) + f·Fo²(R·h), σ propagated, for every
reflection whose mate was measured: the fraction is known and the measurement errors are the
crystal's own. The published model (10 anisotropic cycles, the input's free variables refined)
is refined against the same reflections untwinned (f = 0), against the twinned ones without
TWIN, and with TWIN from BASF 0.5 (refined from the linear fit of twin.estimated_fractions).
Prints one line a case: the fraction refined, and R1 (Fo² > 2σ) of the three refinements.

With `--published X.cif`, a model published with TWIN (its embedded .res) is refined against
its own reflections (5 anisotropic cycles, the input's free variables refined) with its TWIN
and without it: R1, wR2, the fractions and the seconds of each.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.crystallography.refine import refine
from crystalx_core.io import load, read_reflections
from crystalx_core.io.hkl import Reflections, Twin

REPO = Path(__file__).resolve().parents[1]
INVERSION = ((-1, 0, 0), (0, -1, 0), (0, 0, -1))
CASES = [  # entry, law, what it is, fraction
    ("FC_p31c", ((-1, 0, 0), (0, -1, 0), (0, 0, 1)), "twofold along c (-3m1 in 6/mmm)", 0.2),
    ("FC_p31c", INVERSION, "inversion (racemic), P and Cl anomalous", 0.5),
    # h' = h, k' = -h-k, l' = -l: not a symmetric matrix (its transpose pairs other reflections)
    (
        "FC_p31c",
        ((1, 0, 0), (-1, -1, 0), (0, 0, -1)),
        "twofold along a (1 0 0 -1 -1 0 0 0 -1)",
        0.25,
    ),
    ("XH_alanine", ((0, 0, 1), (0, -1, 0), (1, 0, 0)), "a <-> c (5.93, 5.79 Å)", 0.3),
]


def twinned(structure, reflections, law, fraction) -> Reflections:
    """The crystal's merged Fo² (Friedel mates apart) as twinned by `law` (acting on the
    column h k l, as SHELX's TWIN) at `fraction`: (1 - f)·Fo²(h) + f·Fo²(R·h), for each
    reflection whose twin mate was measured."""
    from cctbx import miller
    from cctbx.array_family import flex

    data = reflections.to_miller_array(structure.cell, structure.symops)
    merged = data.customized_copy(anomalous_flag=True).eliminate_sys_absent()
    merged = merged.merge_equivalents().array().map_to_asu()
    indices = np.array(merged.indices())
    mates = flex.miller_index([tuple(int(v) for v in h) for h in indices @ np.array(law).T])
    mates = miller.set(merged, mates, anomalous_flag=True).map_to_asu()
    pairs = miller.match_indices(merged.indices(), mates.indices()).pairs()
    mine, theirs = np.array(pairs.column(1)), np.array(pairs.column(0))
    fo, sigma = np.array(merged.data()), np.array(merged.sigmas())
    return Reflections(
        indices=indices[mine],
        intensities=(1 - fraction) * fo[mine] + fraction * fo[theirs],
        sigmas=np.hypot((1 - fraction) * sigma[mine], fraction * sigma[theirs]),
        batches=None,
        path="twinned.hkl",
    )


def hkl_text(reflections: Reflections) -> str:
    """SHELX HKLF 4 lines (3I4, 2F8.2) of the reflections, put on a scale F8.2 holds."""
    scale = 9000.0 / max(reflections.intensities.max(), 1.0)
    rows = zip(reflections.indices, reflections.intensities * scale, reflections.sigmas * scale)
    lines = [f"{h:4d}{k:4d}{l:4d}{i:8.2f}{s:8.2f}" for (h, k, l), i, s in rows]
    return "\n".join(lines + ["   0   0   0    0.00    0.00", ""])


def run_case(folder: Path, name: str, law, fraction: float) -> dict:
    loaded = load(folder / name / "published.res")
    structure = loaded.structure
    measured = read_reflections(folder / name / "data.hkl", loaded.reflection_format())

    def refined(data):
        return refine(structure, data, 10, anisotropic=True, input_variables=True)

    untwinned = refined(twinned(structure, measured, law, 0.0))
    data = twinned(structure, measured, law, fraction)
    ignored = refined(data)
    data.twin = Twin(law, 2, (0.5,))  # BASF 0.5: refined (without BASF SHELXL keeps 1/2)
    start = time.perf_counter()
    result = refined(data)
    return {
        "entry": name,
        "pairs": len(data),
        "fraction": fraction,
        "refined": result.twin_fractions[0],
        "r1_untwinned": untwinned.r1,
        "r1_without_twin": ignored.r1,
        "r1_twin": result.r1,
        "seconds": time.perf_counter() - start,
    }


def run_published(path: Path) -> None:
    from dataclasses import replace

    loaded = load(path)
    reflections = loaded.reflections_in(loaded.reflections_file())
    print(f"{path.name}: {len(reflections)} reflections, {reflections.twin}")
    for label, data in (("TWIN", reflections), ("no TWIN", replace(reflections, twin=None))):
        start = time.perf_counter()
        result = refine(loaded.structure, data, 5, anisotropic=True, input_variables=True)
        print(
            f"{label}: R1 {result.r1:.4f} wR2 {result.wr2:.4f} fractions "
            f"{result.twin_fractions} {time.perf_counter() - start:.1f} s",
            flush=True,
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", type=Path, default=REPO.parent / "shared/data/benchmark")
    parser.add_argument("--published", type=Path, help="a CIF published with TWIN")
    args = parser.parse_args(argv)
    if args.published:
        run_published(args.published)
        return 0
    print(
        "| entry | twin law | reflections | f | refined | R1 untwinned | R1 no TWIN | R1 TWIN | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, law, what, fraction in CASES:
        row = run_case(args.benchmark, name, law, fraction)
        print(
            f"| {name} | {what} | {row['pairs']} | {fraction:.2f} | {row['refined']:.3f} | "
            f"{row['r1_untwinned']:.4f} | {row['r1_without_twin']:.4f} | {row['r1_twin']:.4f} | "
            f"{row['seconds']:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
