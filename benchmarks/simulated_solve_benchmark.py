"""`crystalx solve` on data simulated from ordered corpus structures; a table in docs/benchmarks.md.

For each structure (ordered, H deposited, in a fixed pseudo-random order of file names) the
benchmark computes Fo² from the published model with its H (and its dispersion at the model's
wavelength, as the refinement applies it), to a d_min drawn from 0.80-0.85 Å,
with counting-statistics noise (crystalx_core.demo.simulate_reflections), leaves out a random
0-5 % of the reflections, and starts the solve job from cell, symmetry and formula only. A
solution is a final R1 under 0.10 that the job reports as a success; a failure is named when
the job raised its own error or reported the model as no solution; an unnamed failure (a poor
model reported as a success) is the worst outcome. Each row (--json) names the published atoms
the final model misses, with their environment and the last stage that had them (lost_atoms).

    python benchmarks/simulated_solve_benchmark.py ../shared/data/corpus --limit 150
    ... --offset 150 --limit 30          (a fresh slice after those)
    ... --only codtools_7050857.cif      (chosen entries)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from scitbx import matrix

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.crystallography.compare import match_sites
from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure
from crystalx_core.crystallography.solve import data_r_sigma
from crystalx_core.demo import simulate_reflections
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import CrystalXError
from crystalx_core.geometry import connectivity, neighbours, site_multiplicities
from crystalx_core.io.cif import sfac_unit_from_sites
from crystalx_core.io.hkl import Reflections
from crystalx_core.pipeline import solve_job
from crystalx_core.symmetry import space_group_from_operators
from crystalx_core.training.atoms.dataset import hydrogens_complete, usable
from crystalx_core.training.sources import corpus_entries

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solve_benchmark import REPO, _cpu_name, _pct, write_section  # noqa: E402

SOLVED_R1 = 0.10
D_MIN_RANGE = (0.80, 0.85)
COMPLETENESS_RANGE = (0.95, 1.0)
# counts of the strongest reflection, log-uniform: an experiment is exposed until the outer shell
# is measured (a fixed 9999 left room-temperature structures' outer shells at noise level,
# Rsigma(F) 0.16, where no correct model reaches R1 0.10)
STRONGEST_RANGE = (3e4, 3e5)
SAME_SITE = 0.3  # Å: two sites of an ordered model this close are one atom listed twice
METALS_EXCLUDED = {"H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Se", "Br", "I", "Te", "As"}


class Timeout(Exception):
    pass


def kind(truth) -> str:
    """organic, metal complex (metal and C), or inorganic (no C); '+ solvent/salt' when the
    asymmetric unit holds more than one connected piece."""
    elements = {s.element for s in truth.sites}
    base = (
        "metal complex"
        if elements - METALS_EXCLUDED and "C" in elements
        else "organic"
        if "C" in elements
        else "inorganic"
    )
    return base + (" + solvent/salt" if fragments(truth) > 1 else "")


def fragments(truth) -> int:
    """Connected pieces of the non-H atoms of the asymmetric unit (bonds within it only)."""
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    return len(set(piece_roots(heavy)))


def piece_roots(structure) -> list[int]:
    """For each site, one site of its connected piece (bonds within the asymmetric unit)."""
    parent = list(range(len(structure.sites)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for contacts in connectivity(structure):
        for c in contacts:
            parent[root(c.i)] = root(c.j)
    return [root(i) for i in range(len(parent))]


def simulated_data(
    truth, rng: np.random.Generator, d_min_range: tuple[float, float] = D_MIN_RANGE
) -> tuple[Reflections, float, float]:
    """Noisy Fo² of the model (with its dispersion) to a random d_min and exposure, a random 0-5 %
    of
    reflections left out."""
    d_min = float(rng.uniform(*d_min_range))
    strongest = float(np.exp(rng.uniform(*np.log(STRONGEST_RANGE))))
    model = to_xray_structure(truth)
    # the dispersion the refinement applies at the model's wavelength (refine.py), so that the data
    # and the job agree (an electron-diffraction model's 0.025 Å: none, as X-ray data there)
    set_dispersion(model, truth.wavelength)
    indices, observed, sigmas = simulate_reflections(
        model, d_min, int(rng.integers(1 << 31)), strongest
    )
    keep = rng.random(len(observed)) < rng.uniform(*COMPLETENESS_RANGE)
    return (
        Reflections(indices[keep], observed[keep], sigmas[keep], None, "simulated.hkl"),
        d_min,
        float(keep.mean()),
    )


def seeded_rng(name: str) -> np.random.Generator:
    """A generator seeded from the entry's name: the same simulated data on every run."""
    return np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest(), 16) % (1 << 32))


def run_one(truth, name: str, method: str, seconds: int) -> dict:
    rng = seeded_rng(name)
    heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
    row = {
        "entry": name,
        "kind": kind(truth),
        "n_nonH": len(heavy),
        "n_ops": len(truth.symops),
        "space_group": space_group_from_operators(truth.symops).type().lookup_symbol(),
    }
    reflections, row["d_min"], row["kept"] = simulated_data(truth, rng)
    row["r_sigma"] = data_r_sigma(truth, reflections)
    start = truth.with_sites([])
    try:
        result = limited(
            lambda: solve_job(start, reflections, method), row, seconds, "named failure"
        )
    except Exception as error:  # noqa: BLE001  (a crash is a failure the job did not name)
        row.update(status="unnamed failure", why=f"crashed: {type(error).__name__}: {error}")
        return row
    if result is None:
        return row
    match = match_sites(truth, result.structure)
    r1 = result.final.r1
    row.update(r1=r1, n_found=match.n_found, n_right=match.n_right_element, reported=result.failure)
    n_final = sum(1 for s in result.structure.sites if not is_hydrogen(s.element))
    row.update(n_extra=n_final - match.n_found, lost=lost_atoms(truth, result, match))
    if result.failure:
        row.update(status="named failure", why=result.failure)
    elif r1 >= SOLVED_R1:
        row.update(status="unnamed failure", why=f"R1 {r1:.4f} reported as a success")
    else:
        row.update(status="solved")
    return row


def lost_atoms(truth, result, match) -> list[dict]:
    """Each published non-H atom the final model misses: its element, its non-H neighbours,
    whether it sits on a special position, the size of its connected piece, and the last stage
    that still had something within 0.5 Å of it ("solution peak": the kept charge-flipping run's
    peaks; "completion peak": the peaks of the completed model's last assignment; "completion
    atom": an atom of that model; "none": no stage had it)."""
    heavy = [i for i, s in enumerate(truth.sites) if not is_hydrogen(s.element)]
    found = {a for a, _ in match.pairs}
    missing = [i for i in heavy if i not in found]
    if not missing:
        return []
    bonds = connectivity(truth)
    general = len(truth.symops)
    multiplicity = site_multiplicities(truth)
    piece = piece_sizes(truth)
    stages = []
    if match.to_reference is not None and result.completion is not None:
        stage = result.completion.stage
        stages = [
            ("completion atom", stage.refined.structure.sites),
            ("completion peak", stage.peaks.sites),
            ("solution peak", result.solution.structure.sites),
        ]
    rows = []
    for i in missing:
        site = truth.sites[i]
        rows.append(
            {
                "label": site.label,
                "element": site.element,
                "neighbours": sum(1 for c in bonds[i] if not is_hydrogen(truth.sites[c.j].element)),
                "special": multiplicity[i] < general,
                "piece": piece[i],
                "stage": next(
                    (
                        name
                        for name, sites in stages
                        if near(truth, site, sites, match.to_reference, match.rms + 0.5)
                    ),
                    "none",
                ),
            }
        )
    return rows


def near(truth, site, candidates, to_reference, radius: float) -> bool:
    """Whether any of `candidates` (in the candidate's frame) lies within `radius` Å of `site`."""
    moved = [
        replace(c, frac=tuple((to_reference * matrix.col(c.frac)).elems))
        for c in candidates
        if not is_hydrogen(c.element or "C")
    ]
    if not moved:
        return False
    both = truth.with_sites([site, *moved])
    return bool(neighbours(both, radius, centres=[0])[0])


def piece_sizes(truth) -> list[int]:
    """For each site, the number of non-H atoms of its connected piece (H count as 0)."""
    roots = piece_roots(truth)
    sizes = Counter(r for r, s in zip(roots, truth.sites) if not is_hydrogen(s.element))
    return [sizes[r] for r in roots]


def limited(job, row: dict, seconds: int, failed: str):
    """job() under the per-structure time limit (time_out_on_alarm), or None with the row's
    status and why when it raised our own error or ran out of time; its time is added to
    row["seconds"] either way (a row timed in several steps sums them)."""
    t0 = time.perf_counter()
    signal.alarm(seconds)
    try:
        return job()
    except CrystalXError as error:
        row.update(status=failed, why=error.message)
    except Timeout:
        row.update(status="time-out", why=f"over {seconds} s")
    finally:
        signal.alarm(0)
        row["seconds"] = row.get("seconds", 0.0) + time.perf_counter() - t0
    return None


def choose(
    corpus: Path,
    limit: int,
    max_atoms: int,
    offset: int = 0,
    only: set[str] | None = None,
    min_atoms: int = 0,
) -> list[tuple[str, object]]:
    """Ordered structures with their H that cctbx can compute data from, in a fixed
    pseudo-random order, up to `limit` after the first `offset` (of those named in `only`),
    of more than `min_atoms` and at most `max_atoms` non-H atoms (min_atoms: a slice of the
    larger structures that a `--max-atoms 80` run never takes)."""
    chosen = []
    skipped = 0
    for entry in sorted(
        corpus_entries(corpus), key=lambda e: hashlib.sha256(e.name.encode()).hexdigest()
    ):
        if entry.disorder != "no" or (only is not None and entry.name not in only):
            continue
        truth, why = usable(entry)
        if (
            truth is None
            or not hydrogens_complete(truth)
            or not any(is_hydrogen(s.element) for s in truth.sites)
        ):
            continue
        n_heavy = sum(1 for s in truth.sites if not is_hydrogen(s.element))
        if not min_atoms < n_heavy <= max_atoms or listed_twice(truth):
            continue
        truth.sfac, truth.unit = sfac_unit_from_sites(truth)
        try:
            to_xray_structure(truth)
        except CrystalXError:  # e.g. a cell without its space group's metric: no data to simulate
            continue
        if skipped < offset:
            skipped += 1
            continue
        chosen.append((entry.name, truth))
        if len(chosen) == limit:
            break
    return chosen


def listed_twice(truth) -> bool:
    """Whether the model lists an atom and its own symmetry mate (O1 and O1B* of
    codtools_2000080): data computed from it hold twice the density there, which no model
    of the crystal fits, and the comparison counts an atom no solution can have."""
    return any(c.j != c.i for contacts in neighbours(truth, SAME_SITE) for c in contacts)


def markdown(rows: list[dict], args) -> str:
    solved = [r for r in rows if r["status"] == "solved"]
    timed_out = [
        r for r in rows if r["status"] == "time-out" or r.get("why", "").startswith("over ")
    ]
    unnamed = [r for r in rows if r["status"] == "unnamed failure" and r not in timed_out]
    finished = [r for r in rows if "n_found" in r]
    atoms = sum(r["n_nonH"] for r in rows)  # a job that failed outright found none
    finished_atoms = sum(r["n_nonH"] for r in finished)
    found = sum(r["n_found"] for r in finished)
    right = sum(r["n_right"] for r in finished)
    kinds = Counter(r["kind"] for r in rows)
    groups = Counter(r["space_group"] for r in rows)
    lines = [
        f"### `crystalx solve --method {args.method}` on simulated data from ordered corpus "
        "structures",
        "",
        f"Machine: {_cpu_name()}. Command: `python benchmarks/simulated_solve_benchmark.py "
        f"../shared/data/corpus --limit {args.limit} --max-atoms {args.max_atoms}`. Fo² from the "
        "published "
        "model with H and its dispersion at the model's wavelength, d_min "
        f"{D_MIN_RANGE[0]}-{D_MIN_RANGE[1]} Å, σ² = I + (0.015 I)² + 4 with the strongest "
        f"reflection at {STRONGEST_RANGE[0]:.0e}-{STRONGEST_RANGE[1]:.0e} counts, "
        f"{100 * COMPLETENESS_RANGE[0]:.0f}-100 % of the reflections kept; start from cell, "
        "symmetry and "
        "formula. Solved: final R1 < 0.10 reported as a success.",
        "",
        f"- structures: {len(rows)} of the {args.limit} chosen"
        + (
            " (a partial run: the others were not reached in the time there was)"
            if len(rows) < args.limit
            else ""
        )
        + f" ({', '.join(f'{n} {k}' for k, n in kinds.most_common())}); "
        f"{len({r['space_group'] for r in rows})} space groups "
        f"({', '.join(f'{g} {n}' for g, n in groups.most_common(8))}, ...)",
        f"- solved: {len(solved)}/{len(rows)} ({_pct(len(solved) / max(len(rows), 1), 1)})",
        f"- non-H atoms found within 0.5 Å: {found}/{atoms} ({_pct(found / max(atoms, 1), 1)}); in "
        "the jobs "
        f"that finished {found}/{finished_atoms} ({_pct(found / max(finished_atoms, 1), 1)}); "
        f"right element: {right}/{found} ({_pct(right / max(found, 1), 1)})",
        f"- failures named by the job: {len(rows) - len(solved) - len(unnamed) - len(timed_out)}; "
        f"unnamed (a poor model reported as a success, or a crash): {len(unnamed)}; "
        f"stopped by the benchmark's time limit of {args.seconds} s (on the shared machine): "
        f"{len(timed_out)}",
        f"- total time {sum(r.get('seconds', 0) for r in rows):.0f} s",
        *lost_lines(rows),
        "",
    ]
    failures = [r for r in rows if r["status"] != "solved"]
    if failures:
        lines += [
            "| structure | kind | non-H | R1 | found | status | why |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in failures:
            lines.append(
                f"| {r['entry']} | {r['kind']} | {r['n_nonH']} | "
                f"{_r1(r.get('r1'))} | "
                f"{r.get('n_found', '-')} | {'time-out' if r in timed_out else r['status']} | "
                f"{r['why']} |"
            )
    return "\n".join(lines) + "\n"


def lost_lines(rows: list[dict]) -> list[str]:
    """Where the finished jobs lost atoms (lost_atoms), solved and failed jobs apart."""
    lines = []
    for title, chosen in (
        ("solved", [r for r in rows if r["status"] == "solved"]),
        ("not solved", [r for r in rows if r["status"] != "solved"]),
    ):
        lost = [atom for r in chosen for atom in r.get("lost", [])]
        if not lost:
            continue
        elements = Counter(a["element"] for a in lost)
        stages = Counter(a["stage"] for a in lost)
        lines.append(
            f"- atoms missed in {title} jobs: {len(lost)} in "
            f"{sum(1 for r in chosen if r.get('lost'))} structures "
            f"({', '.join(f'{e} {n}' for e, n in elements.most_common())}; "
            f"terminal {sum(1 for a in lost if a['neighbours'] == 1)}, "
            f"unbonded {sum(1 for a in lost if a['neighbours'] == 0)}, "
            f"on a special position {sum(1 for a in lost if a['special'])}, "
            f"in a piece of 3 atoms or fewer {sum(1 for a in lost if a['piece'] <= 3)}; "
            "last stage within 0.5 Å of one: "
            f"{', '.join(f'{stage} {n}' for stage, n in stages.most_common())})"
        )
    return lines


def _r1(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def corpus_parser(
    description: str, limit: int, max_atoms: int, seconds: int
) -> argparse.ArgumentParser:
    """The arguments of a benchmark over corpus structures."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--method", default="model")
    parser.add_argument("--limit", type=int, default=limit)
    parser.add_argument(
        "--max-atoms",
        type=int,
        default=max_atoms,
        help="non-H atoms in the asymmetric unit at most",
    )
    parser.add_argument("--seconds", type=int, default=seconds, help="time limit per structure")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument(
        "--json", type=Path, help="also write the rows as JSON here (rewritten as they finish)"
    )
    parser.add_argument(
        "--from-json", type=Path, help="only write the table from rows saved by an earlier run"
    )
    return parser


def time_out_on_alarm() -> None:
    """SIGALRM (signal.alarm per structure) raises Timeout."""

    def on_alarm(*_):
        raise Timeout

    signal.signal(signal.SIGALRM, on_alarm)


def collect(rows, json_path: Path | None, line) -> list[dict]:
    """The rows as they come, each printed as line(row), all saved to json_path after each."""
    kept = []
    for row in rows:
        kept.append(row)
        print(line(row), flush=True)
        if json_path:
            json_path.write_text(json.dumps(kept, indent=1))
    return kept


def main(argv=None) -> int:
    parser = corpus_parser(__doc__.splitlines()[0], limit=150, max_atoms=150, seconds=600)
    parser.add_argument(
        "--offset", type=int, default=0, help="leave out the first N structures (a fresh slice)"
    )
    parser.add_argument("--only", nargs="+", help="only these corpus entries (by name)")
    args = parser.parse_args(argv)
    if args.from_json:
        rows = json.loads(args.from_json.read_text())
        write_section(markdown(rows, args), f"simulated_solve_benchmark:{args.method}", args.output)
        print(f"wrote {args.output}")
        return 0
    time_out_on_alarm()
    rows = collect(
        (
            run_one(truth, name, args.method, args.seconds)
            for name, truth in choose(
                args.corpus,
                args.limit,
                args.max_atoms,
                args.offset,
                set(args.only) if args.only else None,
            )
        ),
        args.json,
        lambda row: (
            f"{row['entry']:<60} {row['kind']:<14} {row['n_nonH']:>4} {row['status']:<16} "
            f"R1 {_r1(row.get('r1'))} found {row.get('n_found', '-')} "
            f"{row.get('seconds', 0):.0f} s {row.get('why', '')}"
        ),
    )
    write_section(markdown(rows, args), f"simulated_solve_benchmark:{args.method}", args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
