"""The models against the baseline on real measured data (shared/data/benchmark):

(a) elements: the published non-H positions with their elements hidden, each peak's height
    read from an Fobs map phased by the published model → element accuracy;
(b) hydrogens: the published non-H atoms with their elements → H count per atom against
    the published H atoms.

    python benchmarks/model_benchmark.py ../shared/data/benchmark
    CRYSTALX_MODELS=FOLDER python benchmarks/model_benchmark.py ../shared/data/benchmark \
        --output /tmp/candidate.md     # another model folder, without touching docs/benchmarks.md
    python benchmarks/model_benchmark.py ../shared/data/benchmark --misses /tmp/misses.jsonl
                                       # ... and every atom the model got wrong (element or
                                       # H count, "kind"), with why

A disordered model's peaks keep its PART and occupancy (crystallography.maps.fobs_peaks), as
the product reads a split model: the elements are hidden, the split is not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.assign.baseline import assign_baseline, baseline_h_counts
from crystalx_core.assign.model import assign_model, model_h_counts
from crystalx_core.crystallography.maps import fobs_peaks
from crystalx_core.elements import atomic_number, is_hydrogen
from crystalx_core.features import height_bins, height_reference
from crystalx_core.geometry import (
    connectivity,
    identity_operator,
    neighbours,
    site_multiplicities,
)
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl
from crystalx_core.training.atoms.dataset import h_counts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solve_benchmark import REPO, write_section  # noqa: E402


def run_entry(entry: Path, misses: list | None = None) -> dict:
    """One row of the table; the model's wrong atoms are added to `misses` when given."""
    truth = read_cif(entry / "model.cif").structure
    heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
    peaks = fobs_peaks(truth, read_hkl(entry / "data.hkl"))
    row = {"entry": entry.name, "atoms": len(heavy)}
    for method, assign in (("model", assign_model), ("baseline", assign_baseline)):
        answer = assign(peaks).by_index()
        row[f"{method}_elements"] = sum(
            1 for k, s in enumerate(heavy) if k in answer and answer[k].element == s.element
        )
        if method == "model" and misses is not None:
            misses.extend(missed_atoms(entry.name, truth.with_sites(heavy), peaks, answer))
    skeleton = truth.with_sites(heavy)
    expected = np.array(h_counts(truth))
    predicted = model_h_counts(skeleton)
    row["model_h"] = int(np.sum(np.array([n for n, _ in predicted]) == expected))
    row["baseline_h"] = int(np.sum(np.array(baseline_h_counts(skeleton)) == expected))
    if misses is not None:
        misses.extend(missed_h_counts(entry.name, skeleton, expected, predicted))
    return row


def missed_h_counts(name: str, skeleton, expected, predicted: list) -> list[dict]:
    """Per atom whose H count the model got wrong: published and predicted count, the model's
    probabilities, the count it likes best before UNIT's H is fitted, occupancy, PART,
    multiplicity, the atoms bonded to it as the model's rules see them (connectivity; '*' an
    image), and a cause (the first that applies: the UNIT fit moved a right count, a
    partly occupied or special-position site, else the model). The hydrogen model runs a second
    time (penalty=None) for the count before the fit, which only a --misses run pays for;
    "probabilities" holds the model's three likeliest counts, whose int keys JSON writes as
    strings."""
    free = [n for n, _ in model_h_counts(skeleton, penalty=None)]
    multiplicity = site_multiplicities(skeleton, 0.5)
    bonds = connectivity(skeleton)
    identity = identity_operator(skeleton)
    out = []
    for k, site in enumerate(skeleton.sites):
        count, probabilities = predicted[k]
        if count == expected[k]:
            continue
        if free[k] == expected[k]:
            cause = "UNIT fit"
        elif site.occupancy < 1:
            cause = "partly occupied"
        elif multiplicity[k] < skeleton.space_group_order:
            cause = "special position"
        else:
            cause = "model"
        out.append(
            {
                "entry": name,
                "kind": "H count",
                "label": site.label,
                "element": site.element,
                "published": int(expected[k]),
                "predicted": count,
                "most_likely": free[k],
                "probabilities": {n: round(p, 3) for n, p in probabilities.items()},
                "occupancy": site.occupancy,
                "part": site.part,
                "multiplicity": f"{multiplicity[k]}/{skeleton.space_group_order}",
                "bonded": [
                    f"{skeleton.sites[c.j].label}{_image_mark(c, identity)} {c.distance:.2f}"
                    for c in bonds[k]
                ],
                "cause": cause,
            }
        )
    return out


def missed_atoms(name: str, atoms, peaks, answer: dict) -> list[dict]:
    """Per atom the model got wrong: what it is and got (top five), its height over the
    reference and bin as the model saw them, occupancy, PART, multiplicity against the group
    order (a special position), the nearest atoms, and a cause (the first that applies)."""
    heights = [s.peak_height for s in peaks.sites]
    expected = sum(peaks.asymmetric_unit_contents().values())
    bins = height_bins(heights, expected)
    reference = height_reference(heights, expected)
    multiplicity = site_multiplicities(atoms, 0.5)
    near = neighbours(atoms, 2.0)
    out = []
    for k, site in enumerate(atoms.sites):
        got = answer[k].element if k in answer else "not an atom"
        if got == site.element:
            continue
        if site.occupancy < 1:
            cause = "partly occupied"
        elif multiplicity[k] < atoms.space_group_order:
            cause = "special position"
        elif got == "not an atom":
            cause = "dropped"
        elif abs(atomic_number(got) - atomic_number(site.element)) == 1:
            cause = "Z-neighbour"
        else:
            cause = "other"
        out.append(
            {
                "entry": name,
                "kind": "element",
                "label": site.label,
                "element": site.element,
                "chosen": got,
                "top5": [[el, round(p, 3)] for el, p in answer[k].top(5)] if k in answer else [],
                "height_over_reference": round(heights[k] / reference, 3),
                "height_bin": int(bins[k]),
                "occupancy": site.occupancy,
                "part": site.part,
                "multiplicity": f"{multiplicity[k]}/{atoms.space_group_order}",
                "neighbours": [f"{atoms.sites[c.j].label} {c.distance:.2f}" for c in near[k][:4]],
                "cause": cause,
            }
        )
    return out


def _image_mark(contact, identity: int) -> str:
    """'*' for a symmetry image (another operator or a lattice shift), '' for the site itself."""
    return "" if contact.op == identity and not any(contact.shift) else "*"


def markdown(rows: list[dict], misses: list[dict]) -> str:
    causes = Counter(m["cause"] for m in misses if m["kind"] == "element")
    h_causes = Counter(m["cause"] for m in misses if m["kind"] == "H count")
    lines = [
        "### Models vs baseline on published atoms (`benchmarks/model_benchmark.py`)",
        "",
        "Elements: published non-H positions, heights from an Fobs map phased by the published "
        "model; a disordered model's sites keep their PART and occupancy (the elements are "
        "hidden, the split is not), as `crystalx assign` reads a split model. The benchmark calls "
        "the model itself: the audit and `assign --hkl`'s priors read the same peaks and then "
        "give a split atom's alternatives one element, a step not measured here. "
        "H counts: published non-H atoms with their elements, against the published H, each H "
        "counted once, for the nearest atom the PART rules let it bond to "
        "(geometry.bonded_h_counts). "
        f"Run on {_commit()}: `python benchmarks/model_benchmark.py ../shared/data/benchmark "
        "--misses FILE` (FILE: every wrong atom with its top five, height bin, occupancy, PART, "
        "multiplicity and neighbours). "
        f"The model's {sum(causes.values())} wrong elements by cause (the first that applies): "
        + (", ".join(f"{cause} {n}" for cause, n in causes.most_common()) or "none")
        + f"; its {sum(h_causes.values())} wrong H counts: "
        + (", ".join(f"{cause} {n}" for cause, n in h_causes.most_common()) or "none")
        + ".",
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


def _commit() -> str:
    """The checkout's branch and short commit, marked when tracked files differ from it (the
    hash names the branch's commit; a squash or rebase on merge gives main another)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        modified = " (modified)" if git("status", "--porcelain", "-uno") else ""
        branch = git("rev-parse", "--abbrev-ref", "HEAD")
        return f"branch {branch} {git('rev-parse', '--short', 'HEAD')}{modified}"
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark_dir", type=Path)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument(
        "--misses", type=Path, help="also write the model's wrong atoms here (JSON lines)"
    )
    args = parser.parse_args(argv)
    rows, misses = [], []
    for entry in sorted(p for p in args.benchmark_dir.iterdir() if (p / "model.cif").exists()):
        row = run_entry(entry, misses)
        rows.append(row)
        print(json.dumps(row), flush=True)
    write_section(markdown(rows, misses), "model_benchmark", args.output)
    print(f"wrote {args.output}")
    if args.misses:
        args.misses.write_text("".join(json.dumps(m) + "\n" for m in misses))
        causes = Counter((m["kind"], m["cause"]) for m in misses)
        print(
            f"wrote {args.misses}: {len(misses)} atoms; "
            + ", ".join(f"{kind} {cause} {n}" for (kind, cause), n in causes.most_common())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
