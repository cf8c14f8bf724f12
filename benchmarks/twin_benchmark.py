"""Twinned refinement (TWIN/BASF with HKLF 4) on real data twinned at a known fraction.

    python benchmarks/twin_benchmark.py [--benchmark ../shared/data/benchmark]
    python benchmarks/twin_benchmark.py --published ../shared/data/corpus/sf_atomstwoline.cif
    python benchmarks/twin_benchmark.py --hklf5
    python benchmarks/twin_benchmark.py --weighing

The merged Fo² of a benchmark crystal (Friedel mates apart) are mixed with the Fo² of the
reflection the twin law brings onto each, (1 - f)·Fo²(h) + f·Fo²(R·h), σ propagated, for every
reflection whose mate was measured: the fraction is known and the measurement errors are the
crystal's own. The published model (10 anisotropic cycles, the input's free variables refined)
is refined against the same reflections untwinned (f = 0), against the twinned ones without
TWIN, and with TWIN from BASF 0.5 (refined from the linear fit of twin.estimated_fractions).
Prints one line a case: the fraction refined, and R1 (Fo² > 2σ) of the three refinements.

With `--hklf5`, non-merohedral twins as HKLF 5 data (hklf5_twinned: a monoclinic crystal's
second domain turned by a twofold about a direct axis that is no lattice symmetry, at a known
fraction, overlapped spots in groups, singles of both components): the fraction refined from
BASF 0.5, R1 of the crystal's own merged data, of the observations refined without the twin
(closing lines as HKLF 4) and as HKLF 5, and the seconds of the HKLF 5 refinement.

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


# HKLF 5 (non-merohedral) cases: entry, the direct axis of a twofold that is no symmetry of
# its monoclinic lattice (β ≠ 90°), fraction of the second domain
HKLF5_CASES = [
    ("XH_HMaMg", (1, 0, 0), 0.3),  # P21/c, β 103.7°: the tests' crystal
    ("FC_p21c", (1, 0, 0), 0.3),  # P21/c, β 94.1°
    ("FC_sucrose", (0, 0, 1), 0.25),  # P21, β 103.0°: a twofold about c
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


def twofold_law(cell, axis) -> np.ndarray:
    """The reciprocal-index matrix R (h2 = R·h1 on the column, as SHELX's matrices act) of a
    twofold rotation about the direct-lattice direction `axis` (u v w): domain 2 is domain 1
    turned by Q, so the spot B·h1 of domain 1 has indices A^T·Q·B·h1 in domain 2 (A the
    direct, B the reciprocal basis as columns; Q a twofold, its own transpose). Not whole
    numbers where the twofold is no symmetry of the lattice: a non-merohedral twin."""
    from cctbx import uctbx

    uc = uctbx.unit_cell(tuple(cell))
    a = np.array(uc.orthogonalization_matrix()).reshape(3, 3)  # columns a, b, c
    b = np.linalg.inv(a).T  # columns a*, b*, c*
    u = a @ np.array(axis, dtype=float)
    u /= np.linalg.norm(u)
    q = 2 * np.outer(u, u) - np.eye(3)
    return a.T @ q @ b


def hklf5_twinned(structure, reflections, law, fraction, tolerance=0.1) -> Reflections:
    """The crystal's merged Fo² as a non-merohedral twin would give them, written as HKLF 5
    lines as SHELX defines them (batch m: component m; -m on all lines of a group but the
    last). `law` and `fraction`: the fractional matrix (twofold_law) and mass fraction of the
    second domain, or lists of them for domains 2, 3, ...; the first takes 1 - Σ f. A
    reflection h1 of domain 1 whose Rk·h1 falls within `tolerance` of whole indices hk of
    domain k overlaps it (where hk was measured; where not, h1 is left out): one group, Σ
    fk·Fo²(hk), its lines h2.. then h1 (closed by component 1) or h1 then h2.. (closed by
    the last) for every other group, so that several components close groups; with no such
    k, h1 is a single of domain 1, f1·Fo²(h1) (batch 1). A reflection hk of domain k that
    falls near no other domain's whole indices is a single of domain k, fk·Fo²(hk) (batch
    k). σ propagated alike. Returned with twin Twin(n, hklf5=True) and no BASF: the caller
    gives one."""
    from cctbx import miller
    from cctbx.array_family import flex

    laws = [np.array(law, dtype=float)] if np.ndim(law) == 2 else [np.array(r) for r in law]
    fractions = [fraction] if np.ndim(fraction) == 0 else list(fraction)
    shares = [1.0 - sum(fractions), *fractions]
    data = reflections.to_miller_array(structure.cell, structure.symops)
    merged = data.customized_copy(anomalous_flag=True).eliminate_sys_absent()
    merged = merged.merge_equivalents().array().map_to_asu()
    indices = np.array(merged.indices())
    fo, sigma = np.array(merged.data()), np.array(merged.sigmas())
    lookup = {tuple(h): k for k, h in enumerate(indices)}

    def measured(h):
        mate = miller.set(merged, flex.miller_index([tuple(int(v) for v in h)]), True)
        return lookup.get(tuple(mate.map_to_asu().indices()[0]))

    def near(real):
        return np.abs(real - np.round(real)).max() < tolerance

    rows, batches = [], []
    for k, h1 in enumerate(indices):
        members, usable = [(h1, 1, k)], True
        for m, r in enumerate(laws, 2):
            real = r @ h1
            if near(real):
                hk = np.round(real).astype(int)
                j = measured(hk) if hk.any() else None
                if j is None:
                    usable = False
                    break
                members.append((hk, m, j))
        if not usable:
            continue
        value = sum(shares[m - 1] * fo[j] for _, m, j in members)
        error = float(np.sqrt(sum((shares[m - 1] * sigma[j]) ** 2 for _, m, j in members)))
        if len(members) > 1 and len(batches) % 2 == 0:
            members = members[1:] + members[:1]  # closed by component 1
        for n, (h, m, _) in enumerate(members):
            rows.append((h, value, error))
            batches.append(m if n == len(members) - 1 else -m)
    inverses = [np.linalg.inv(r) for r in laws]
    for m, inverse in enumerate(inverses, 2):
        others = [np.eye(3)] + [r for n, r in enumerate(laws, 2) if n != m]
        for k, hk in enumerate(indices):
            if not any(near(r @ inverse @ hk) for r in others):
                rows.append((hk, shares[m - 1] * fo[k], shares[m - 1] * sigma[k]))
                batches.append(m)
    return Reflections(
        indices=np.array([h for h, _, _ in rows], dtype=int),
        intensities=np.array([v for _, v, _ in rows]),
        sigmas=np.array([e for _, _, e in rows]),
        batches=np.array(batches, dtype=int),
        path="twinned_hklf5.hkl",
        twin=Twin(n=len(shares), hklf5=True),
    )


def hklf5_text(reflections: Reflections) -> str:
    """SHELX HKLF 5 lines (3I4, 2F8.2, I4: the batch m) of the reflections, on a scale F8.2
    holds, ended by the 0 0 0 line."""
    scale = 9000.0 / max(reflections.intensities.max(), 1.0)
    rows = zip(
        reflections.indices,
        reflections.intensities * scale,
        reflections.sigmas * scale,
        reflections.batches,
    )
    lines = [f"{h:4d}{k:4d}{l:4d}{i:8.2f}{s:8.2f}{m:4d}" for (h, k, l), i, s, m in rows]
    return "\n".join(lines + ["   0   0   0    0.00    0.00   0", ""])


def hkl_text(reflections: Reflections) -> str:
    """SHELX HKLF 4 lines (3I4, 2F8.2) of the reflections, put on a scale F8.2 holds."""
    scale = 9000.0 / max(reflections.intensities.max(), 1.0)
    rows = zip(reflections.indices, reflections.intensities * scale, reflections.sigmas * scale)
    lines = [f"{h:4d}{k:4d}{l:4d}{i:8.2f}{s:8.2f}" for (h, k, l), i, s in rows]
    return "\n".join(lines + ["   0   0   0    0.00    0.00", ""])


def published(folder: Path, name: str):
    """A benchmark entry's published model and its measured reflections."""
    loaded = load(folder / name / "published.res")
    return loaded.structure, read_reflections(
        folder / name / "data.hkl", loaded.reflection_format()
    )


def _figures(fraction, untwinned, ignored, result, start) -> dict:
    """A case's figures: the fraction given and refined, R1 of the three refinements, and
    the seconds of the twinned one (begun at `start`)."""
    return {
        "fraction": fraction,
        "refined": result.twin_fractions[0],
        "r1_untwinned": untwinned.r1,
        "r1_without_twin": ignored.r1,
        "r1_twin": result.r1,
        "seconds": time.perf_counter() - start,
    }


def run_case(folder: Path, name: str, law, fraction: float) -> dict:
    structure, measured = published(folder, name)

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
        **_figures(fraction, untwinned, ignored, result, start),
    }


def run_hklf5_case(folder: Path, name: str, axis, fraction: float) -> dict:
    """One HKLF 5 case: the crystal's own merged data refined (untwinned), its HKLF 5 twin
    (hklf5_twinned) refined without the twin (each observation's closing line as HKLF 4)
    and as HKLF 5 from BASF 0.5."""
    structure, measured = published(folder, name)

    def refined(data):
        return refine(structure, data, 10, anisotropic=True, input_variables=True)

    law = twofold_law(structure.cell, axis)
    data = hklf5_twinned(structure, measured, law, fraction)
    rows = data.batches > 0
    plain = Reflections(data.indices[rows], data.intensities[rows], data.sigmas[rows], None)
    untwinned, ignored = refined(measured), refined(plain)
    data.twin = Twin(n=2, fractions=(0.5,), hklf5=True)
    start = time.perf_counter()
    result = refined(data)
    return {
        "entry": name,
        "axis": axis,
        "observations": int(rows.sum()),
        "overlapped": int((data.batches < 0).sum()),
        **_figures(fraction, untwinned, ignored, result, start),
    }


def run_weighing(folder: Path) -> None:
    """The element weighing (element_evidence.weigh_elements) of FC_p31c's isotropic model
    against its merged data and against them twinned by the twofold along c at 0.20 (BASF 0.5),
    under cProfile: the seconds of each, and of the twinned one's detwinning and Fc² of every
    component (twin.detwinned, twin._calculated)."""
    import cProfile
    import pstats

    from crystalx_core.element_evidence import weigh_elements

    name, law, _, fraction = CASES[0]
    structure, measured = published(folder, name)
    for f in (0.0, fraction):
        data = twinned(structure, measured, law, f)
        if f:
            data.twin = Twin(law, 2, (0.5,))
        refined = refine(structure, data, 10, anisotropic=False)
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.runcall(weigh_elements, refined, data, "auto", 10)
        seconds = time.perf_counter() - start
        stats = pstats.Stats(profile).stats
        parts = {
            function: sum(v[3] for k, v in stats.items() if k[2] == function and "twin" in k[0])
            for function in ("detwinned", "_calculated")
        }
        print(
            f"{name} f {f:.2f}: weighing {seconds:.1f} s (detwinned {parts['detwinned']:.2f} s, "
            f"_calculated {parts['_calculated']:.2f} s)",
            flush=True,
        )


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
    parser.add_argument("--hklf5", action="store_true", help="the HKLF 5 cases only")
    parser.add_argument("--weighing", action="store_true", help="element weighing's seconds")
    args = parser.parse_args(argv)
    if args.weighing:
        run_weighing(args.benchmark)
        return 0
    if args.published:
        run_published(args.published)
        return 0
    if args.hklf5:
        print(
            "| entry | twofold about | observations (overlapped) | f | refined | R1 untwinned "
            "| R1 no twin | R1 HKLF 5 | s |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for name, axis, fraction in HKLF5_CASES:
            row = run_hklf5_case(args.benchmark, name, axis, fraction)
            print(
                f"| {name} | [{' '.join(map(str, axis))}] | {row['observations']} "
                f"({row['overlapped']}) | {fraction:.2f} | {row['refined']:.3f} | "
                f"{row['r1_untwinned']:.4f} | {row['r1_without_twin']:.4f} | "
                f"{row['r1_twin']:.4f} | {row['seconds']:.1f} |",
                flush=True,
            )
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
