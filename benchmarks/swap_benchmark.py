"""Elements weighed by the data (crystalx_core.element_evidence) on simulated data with
Z-neighbour swaps; a table in docs/benchmarks.md.

For each ordered corpus structure with its H (chosen and simulated as in
simulated_solve_benchmark: Fo² from the published model with H, counting noise, 0-5 % of the
reflections left out; here d_min 0.80-0.90 Å), one to three non-H atoms whose element has a
Z-neighbour among the structure's own elements (B/C, C/N, N/O, O/F, Si/P, P/S, S/Cl, Cl/Br,
metals one apart) are given that neighbour. The non-H model, isotropic, is refined and
weighed as `solve` and `assign --hkl` weigh it; a swap is corrected when the atom ends with
its published element, a false change is an atom that was right and ends otherwise.

    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 100
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from dataclasses import replace
from itertools import islice
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.crystallography.refine import refine
from crystalx_core.element_evidence import weigh_elements, z_neighbours
from crystalx_core.elements import is_hydrogen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulated_solve_benchmark import (
    choose,
    collect,
    corpus_parser,
    limited,
    simulated_data,
    time_out_on_alarm,
)  # noqa: E402
from solve_benchmark import _cpu_name, _pct, write_section  # noqa: E402

D_MIN_RANGE = (0.80, 0.90)
LIGHT = {"C", "N", "O"}


def pair_class(a: str, b: str) -> str:
    return "C/N/O" if {a, b} <= LIGHT else "/".join(sorted((a, b), key=lambda e: (len(e), e)))


def swaps_for(heavy, rng: np.random.Generator) -> dict[int, str]:
    """One to three atoms given a Z-neighbour element that the structure also holds."""
    present = sorted({s.element for s in heavy})
    options = [
        (i, other)
        for i, s in enumerate(heavy)
        for other in present
        if other != s.element and z_neighbours(s.element, other)
    ]
    if not options:
        return {}
    count = min(int(rng.integers(1, 4)), len({i for i, _ in options}))
    chosen: dict[int, str] = {}
    for k in rng.permutation(len(options)):
        i, other = options[k]
        if i not in chosen:
            chosen[i] = other
        if len(chosen) == count:
            break
    return chosen


def run_one(truth, name: str, method: str, cycles: int, seconds: int) -> dict | None:
    rng = np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest(), 16) % (1 << 32))
    heavy = [replace(s, u_aniso=None) for s in truth.sites if not is_hydrogen(s.element)]
    swaps = swaps_for(heavy, rng)
    if not swaps:
        return None
    reflections, d_min, kept = simulated_data(truth, rng, D_MIN_RANGE)
    wrong = truth.with_sites(
        [s.with_element(swaps[i]) if i in swaps else s for i, s in enumerate(heavy)]
    )
    row = {
        "entry": name,
        "n_nonH": len(heavy),
        "d_min": d_min,
        "kept": kept,
        "swaps": {heavy[i].label: [heavy[i].element, element] for i, element in swaps.items()},
    }
    weighed = limited(
        lambda: weigh_elements(refine(wrong, reflections, cycles), reflections, method, cycles),
        row,
        seconds,
        "failed",
    )
    if weighed is None:
        return row
    if not weighed.evidence:  # not weighed at all (incomplete data): no verdict on its atoms
        row.update(status="not weighed", skipped=weighed.skipped)
        return row
    final = {label: e.decision for label, e in weighed.evidence.items()}
    row.update(
        status="done",
        rounds=weighed.rounds,
        reverted=weighed.reverted,
        corrected=[label for label in row["swaps"] if final[label] == row["swaps"][label][0]],
        false_changes=[
            [s.label, s.element, final[s.label]]
            for i, s in enumerate(heavy)
            if i not in swaps and final[s.label] != s.element
        ],
        evidence={label: weighed.evidence[label].to_dict() for label in row["swaps"]},
    )
    return row


def _electrons(value) -> str:
    return "no fit" if value is None else f"{value:.1f}"


def markdown(rows: list[dict], args) -> str:
    done = [r for r in rows if r["status"] == "done"]
    by_class: Counter = Counter()
    fixed: Counter = Counter()
    for r in done:
        for label, (right, wrong) in r["swaps"].items():
            by_class[pair_class(right, wrong)] += 1
            fixed[pair_class(right, wrong)] += label in r["corrected"]
    right_atoms = sum(r["n_nonH"] - len(r["swaps"]) for r in done)
    false = [f"{r['entry']} {label} {a}→{b}" for r in done for label, a, b in r["false_changes"]]
    swaps = sum(by_class.values())
    not_weighed = sum(1 for r in rows if r["status"] == "not weighed")
    lines = [
        "### Elements weighed by the data: Z-neighbour swaps on simulated data "
        "(`benchmarks/swap_benchmark.py`)",
        "",
        f"Machine: {_cpu_name()}. Command: `python benchmarks/swap_benchmark.py "
        "../shared/data/corpus "
        f"--limit {args.limit} --max-atoms {args.max_atoms} --cycles {args.cycles}`. Ordered "
        "corpus structures "
        f"with H; Fo² from the published model with H to d_min {D_MIN_RANGE[0]}-{D_MIN_RANGE[1]} Å "
        "with counting "
        "noise (as the simulated-solve benchmark); one to three non-H atoms given a Z-neighbour "
        "element the "
        "structure also holds; the non-H model refined isotropically and weighed "
        "(`crystalx_core.element_evidence`).",
        "",
        f"- structures: {len(done)} weighed of {len(rows)} tried"
        + (f" (a partial run of the {args.limit} asked for)" if len(rows) < args.limit else "")
        + f"; not weighed (incomplete data): {not_weighed}"
        + f"; failed or timed out: {len(rows) - len(done) - not_weighed}",
        f"- swaps corrected: {sum(fixed.values())}/{swaps} "
        f"({_pct(sum(fixed.values()) / max(swaps, 1), 1)})",
        *[
            f"  - {cls}: {fixed[cls]}/{n} ({_pct(fixed[cls] / n, 1)})"
            for cls, n in by_class.most_common()
        ],
        f"- false changes on atoms that were right: {len(false)}/{right_atoms} "
        f"({_pct(len(false) / max(right_atoms, 1), 2)})"
        + (f": {', '.join(false[:10])}" if false else ""),
        f"- changes reverted by the refinement net: {sum(1 for r in done if r['reverted'])} "
        "structures",
        f"- total time {sum(r.get('seconds', 0) for r in rows):.0f} s",
        "",
    ]
    missed = [
        (r["entry"], label, r["swaps"][label], r["evidence"][label])
        for r in done
        for label in r["swaps"]
        if label not in r["corrected"]
    ]
    if missed:
        lines += [
            "| structure | atom | published → swapped | electrons | posterior | decision |",
            "|---|---|---|---|---|---|",
        ]
        for entry, label, (right, wrong), e in missed[:30]:
            posterior = ", ".join(f"{el} {p:.2f}" for el, p in e["posterior"].items())
            lines.append(
                f"| {entry} | {label} | {right} → {wrong} | {_electrons(e['electrons'])} | "
                f"{posterior} | {e['decision']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = corpus_parser(__doc__.splitlines()[0], limit=100, max_atoms=80, seconds=300)
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args(argv)
    if args.from_json:
        rows = json.loads(args.from_json.read_text())
    else:
        time_out_on_alarm()
        tried = (
            run_one(truth, name, args.method, args.cycles, args.seconds)
            for name, truth in choose(args.corpus, 4 * args.limit, args.max_atoms)
        )
        rows = collect(
            islice((row for row in tried if row is not None), args.limit),
            args.json,
            lambda row: (
                f"{row['entry']:<60} {row['n_nonH']:>4} swaps {row['swaps']} {row['status']} "
                f"corrected {row.get('corrected')} false {row.get('false_changes')} "
                f"{row.get('seconds', 0):.0f} s {row.get('why', '')}"
            ),
        )
    write_section(markdown(rows, args), "swap_benchmark", args.output)
    print(markdown(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
