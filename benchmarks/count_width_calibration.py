"""The share of Z in the electron count's width (element_evidence.Z_SHARE), fitted by maximum
likelihood on right models of structures the swap benchmark's other pairs never use.

The count at a site is α·Z: whatever the model gets wrong in proportion to the site's
scattering (absorption and extinction left in the data, anisotropic motion the isotropic
model lacks, the form factor's own error) leaves an error in proportion to Z that the shared
offset (the median α) does not take out. Light atoms cannot show it beside the fit's σ and
the structure's spread; heavy atoms do. So the validation set is the ordered corpus
structures with an atom heavier than Ar and no Z-neighbour pair other than C/N/O (those 59 are
the benchmark's `--pairs other`): Fo² simulated as the swap benchmark does (its seed), the
published non-H model refined isotropically and every site's count taken with its own
element. The share k in

    s² = (FIT_SHARE·σ_fit)² + (U_SHARE·Uiso)² + (SPREAD_SHARE·spread)² + (k·Z)²

is the one that maximises the Student t likelihood (TAILS) of the counts about offset·Z;
the other shares stay as calibrated.

    python benchmarks/count_width_calibration.py ../shared/data/corpus --json runs/widths.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.crystallography.refine import refine
from crystalx_core.element_evidence import (
    FIT_SHARE,
    SPREAD_SHARE,
    U_DISORDER,
    U_SHARE,
    FitData,
    _neighbours_u,
    shared_offset_and_spread,
    site_fits,
    t_log_density,
)
from crystalx_core.elements import atomic_number, is_hydrogen
from crystalx_core.errors import CrystalXError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulated_solve_benchmark import choose, simulated_data  # noqa: E402
from swap_benchmark import D_MIN_RANGE, pair_class, swap_options  # noqa: E402

HEAVY_Z = 18  # heavier than Ar: where a share of Z can show beside the other terms


def counts_of(name: str, truth, seed: int) -> list[list[float]]:
    """[Z, count, expected, fit σ, spread, Uiso] of every weighable site of the published
    non-H model outside smeared groups, refined isotropically against data simulated as the swap
    benchmark's."""
    return [row[:6] for row in site_counts(name, truth, seed, lambda group: group <= U_DISORDER)]


def site_counts(name: str, truth, seed: int, keep) -> list[list[float]]:
    """[Z, count, expected, fit σ, spread, Uiso, group Uiso] of every weighable site of the
    published non-H model whose group Uiso (its bonded neighbours' median) `keep` takes, refined
    isotropically against data simulated as the swap benchmark's (also
    smeared_width_calibration's)."""
    key = name if not seed else f"{name}:{seed}"
    rng = np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest(), 16) % (1 << 32))
    reflections, _, _ = simulated_data(truth, rng, D_MIN_RANGE)
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    model = refine(heavy, reflections, 10).structure
    data = FitData.of(model, reflections)
    sites = [s for s in model.sites if not is_hydrogen(s.element)]
    fits = site_fits(model, data, {s.label: [s.element] for s in sites})
    plain = [
        s
        for s in sites
        if not s.mixed
        and not s.part
        and s.occupancy >= 1
        and math.isfinite(fits[s.label][s.element].alpha)
        and math.isfinite(fits[s.label][s.element].sigma)
    ]
    offset, spread = shared_offset_and_spread(
        [fits[s.label][s.element].alpha for s in plain], [atomic_number(s.element) for s in plain]
    )
    group_u = _neighbours_u(model.with_sites(sites))
    rows = []
    for s in plain:
        if not keep(group_u[s.label]):
            continue
        z, fit = atomic_number(s.element), fits[s.label][s.element]
        rows.append(
            [z, fit.alpha * z, offset * z, fit.sigma * z, spread, s.u_iso, group_u[s.label]]
        )
    return rows


def log_likelihood(rows: np.ndarray, share: float) -> float:
    z, count, expected, fit_sigma, spread, u = rows.T
    scale = np.sqrt(
        (FIT_SHARE * fit_sigma) ** 2
        + (U_SHARE * u) ** 2
        + (SPREAD_SHARE * spread) ** 2
        + (share * z) ** 2
    )
    return float(np.sum(t_log_density(count - expected, scale)))


def collected(entries, wanted, count, json_path: Path | None) -> dict:
    """count(name, truth) of each wanted entry, by name; a structure that fails is named on
    stderr and left out; with `json_path` the counts so far are saved after each one (a long
    run can be fitted again with --from-json)."""
    by_entry = {}
    for name, truth in entries:
        if not wanted(name, truth):
            continue
        try:
            by_entry[name] = count(name, truth)
        except (CrystalXError, ValueError, RuntimeError) as error:
            print(f"{name}: {error}", file=sys.stderr)
            continue
        print(name, len(by_entry[name]), flush=True)
        if json_path:
            json_path.write_text(json.dumps(by_entry))
    return by_entry


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--max-atoms", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="the sites' counts, as they are collected")
    parser.add_argument("--from-json", type=Path, help="fit the counts saved by an earlier run")
    args = parser.parse_args(argv)
    if args.from_json:
        by_entry = json.loads(args.from_json.read_text())
    else:

        def wanted(name, truth) -> bool:
            heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
            if any(pair_class(heavy[i].element, o) != "C/N/O" for i, o in swap_options(heavy)):
                return False  # one of the swap benchmark's other-pair structures
            return max(atomic_number(s.element) for s in heavy) > HEAVY_Z

        by_entry = collected(
            choose(args.corpus, 2000, args.max_atoms),
            wanted,
            lambda name, truth: counts_of(name, truth, args.seed),
            args.json,
        )
    rows = np.array([row for rows in by_entry.values() for row in rows])
    grid = np.round(np.arange(0.0, 0.0501, 0.0005), 4)
    logs = [log_likelihood(rows, k) for k in grid]
    best = float(grid[int(np.argmax(logs))])
    heavy_rows = rows[rows[:, 0] > HEAVY_Z]
    heavy_logs = [log_likelihood(heavy_rows, k) for k in grid]
    heavy_best = float(grid[int(np.argmax(heavy_logs))])
    print(f"structures {len(by_entry)}, sites {len(rows)}, heavier than Ar {len(heavy_rows)}")
    print(f"k (all sites) {best}: ln L {max(logs):.1f} against {logs[0]:.1f} at 0")
    print(f"k (heavy sites) {heavy_best}: ln L {max(heavy_logs):.1f} against {heavy_logs[0]:.1f}")
    for z_low, z_high in ((1, 10), (11, 18), (19, 36), (37, 100)):
        part = rows[(rows[:, 0] >= z_low) & (rows[:, 0] <= z_high)]
        if len(part):
            off = np.abs(part[:, 1] - part[:, 2])
            print(
                f"Z {z_low}-{z_high}: {len(part)} sites, median |count − expected| "
                f"{np.median(off):.2f} e, as a share of Z {np.median(off / part[:, 0]):.4f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
