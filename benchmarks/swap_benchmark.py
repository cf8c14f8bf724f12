"""Elements weighed by the data (crystalx_core.element_evidence) on simulated data with
Z-neighbour swaps; a table in docs/benchmarks.md.

For each ordered corpus structure with its H (chosen and simulated as in
simulated_solve_benchmark: Fo² from the published model with H, counting noise, 0-5 % of the
reflections left out; here d_min 0.80-0.90 Å), one to three non-H atoms whose element has a
Z-neighbour among the structure's own elements (B/C, C/N, N/O, O/F, Si/P, P/S, S/Cl, Cl/Br,
metals one apart) are given that neighbour. The non-H model, isotropic, is refined and
weighed as `solve` and `assign --hkl` weigh it; a swap is corrected when the atom ends with
its published element, a false change is an atom that was right and ends otherwise. A
structure the corpus index calls ordered that is not (disordered_in_fact: two atoms overlapping,
an occupancy under 1, or sites that do not hold the CIF's own _chemical_formula_sum × Z: also
the crystal holding solvent the model leaves out) is left out, named with why in the table,
and does not count towards `--limit`.

`--pairs other` takes only the structures that hold a pair other than C/N/O (B/C, O/F, Si/P,
P/S, S/Cl, Cl/Br, metals) and swaps up to three of their atoms within those pairs, the pair
kinds in turn (B/C, the commonest, would fill the sample otherwise). `--half a|b` keeps one
half of the structures (by a hash of the file name): thresholds are set on one half and
reported on the other. Structures apart from the default run's: `--skip 151` takes those
after the default run's (its 100 rows come from the first 151 structures chosen, of 385, six
left out as disordered in fact, 2026-12-06; before that filter from the first 145, whence the
sections' `--skip 145 --limit 181`); `--pairs other --limit 400` already takes all that hold
another pair (54 ordered in fact, 2026-12-06), so `--seed 1` draws other swaps, d_min and
noise on them instead. The figures are also given apart for the sites the published model
itself smears (Ueq over U_DISORDER: not ordered in fact).

`--min-atoms N` (with `--max-atoms`) takes only structures of more than N non-H atoms: `--min-atoms
80 --max-atoms 300` the larger ones no `--max-atoms 80` run takes (five ordered ones with H in
the corpus on 2026-12-06, one of them disordered in fact; one holds a pair other than C/N/O).
`--skip 326 --seed 18` takes the tail after the structures the default and the `--skip 145
--limit 181` runs take in today's order, with draws no run made before (session 18); the
corpus filters changed since session 7, so some of them were in its `--skip 145` slice then
(sfarchiv2_2004994).

The hydrogen part: on the published non-H atoms, refined isotropically against the same data,
each O–H or N–H of a hydrogen bond is moved onto its acceptor in turn (the H counts given to
crystalx_core.hydrogen_evidence wrong by one on both) and the share the difference map (and,
where it leans without being clear, the reflections: hydrogen_data) puts back is reported, with
the donors it gets wrong elsewhere (benchmarks/hydrogen_benchmark.py's check, here on simulated
data). `--only-hydrogens` runs that part alone, on the structures in the same order with the
same data (no element swaps weighed; no refinement for a structure without a hydrogen bond),
none left out: under `--limit` its list also holds those the swap run leaves out as disordered
in fact, and as many fewer at its end.

`--skip N` leaves out the first N structures in the benchmark's order (a fresh slice). With
`--only-hydrogens`, `--without-pairs` takes instead the structures every swap run leaves out
(no Z-neighbour pair to swap: mostly C/H/O compounds), so their H trials are on structures
no threshold was set on. The two `--limit 300` H runs take every usable ordered structure of
at most 80 non-H atoms (387 when they were run; 385 on 2026-12-06), so `--skip` finds no
unseen one there: fresh draws are `--seed N` (other d_min, noise and reflections left out, on
the same structures) with `--max-atoms 300` (the larger ones too). The H figures are also
given without the structures that are disordered in fact though the corpus index calls them
ordered (disordered_in_fact).

    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 100
    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 400 --pairs other
    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 181 --skip 145
    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 400 --pairs other --seed 1
    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 60 --skip 326 --seed 18
    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 60 --min-atoms 80 \
        --max-atoms 300
    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 300 --only-hydrogens
    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 300 --only-hydrogens \
        --without-pairs
    python benchmarks/swap_benchmark.py ../shared/data/corpus --limit 400 --max-atoms 300 \
        --only-hydrogens --seed 2
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.contents import cell_counts
from crystalx_core.crystallography.maps import difference_density
from crystalx_core.crystallography.refine import refine
from crystalx_core.element_evidence import U_DISORDER, weigh_elements, z_neighbours
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import RefinementError
from crystalx_core.geometry import H_BOND_MAX, OVERLAP, connectivity, overlapping_sites
from crystalx_core.hydrogen_data import HydrogenFits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulated_solve_benchmark import (
    choose,
    collect,
    corpus_parser,
    limited,
    simulated_data,
    time_out_on_alarm,
)  # noqa: E402
from hydrogen_benchmark import donor_count_checks, moved_pairs  # noqa: E402
from solve_benchmark import _cpu_name, _pct, write_section  # noqa: E402

D_MIN_RANGE = (0.80, 0.90)
LEFT_OUT = "not ordered"  # a row's status: disordered in fact (disordered_in_fact), not tried
LIGHT = {"C", "N", "O"}


def pair_class(a: str, b: str) -> str:
    return "C/N/O" if {a, b} <= LIGHT else "/".join(sorted((a, b), key=lambda e: (len(e), e)))


def swap_options(heavy) -> list[tuple[int, str]]:
    """(atom index, Z-neighbour element the structure also holds) of every possible swap."""
    present = sorted({s.element for s in heavy})
    return [
        (i, other)
        for i, s in enumerate(heavy)
        for other in present
        if other != s.element and z_neighbours(s.element, other)
    ]


def swaps_for(heavy, rng: np.random.Generator) -> dict[int, str]:
    """One to three atoms given a Z-neighbour element that the structure also holds."""
    options = swap_options(heavy)
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


def other_swaps_for(heavy, rng: np.random.Generator) -> dict[int, str]:
    """Up to three atoms given a Z-neighbour of a pair other than C/N/O, taking the pair kinds
    the structure holds in turn."""
    by_class: dict[str, list[tuple[int, str]]] = {}
    for i, other in swap_options(heavy):
        if pair_class(heavy[i].element, other) != "C/N/O":
            by_class.setdefault(pair_class(heavy[i].element, other), []).append((i, other))
    chosen: dict[int, str] = {}
    queues = [
        [options[k] for k in rng.permutation(len(options))]
        for _, options in sorted(by_class.items())
    ]
    while len(chosen) < 3 and any(queues):
        for queue in queues:
            while queue and queue[0][0] in chosen:
                queue.pop(0)
            if queue and len(chosen) < 3:
                i, other = queue.pop(0)
                chosen[i] = other
    return chosen


def in_half(name: str, half: str) -> bool:
    """Whether the structure is in half a or b (by the file name's hash), or half is 'all'."""
    if half == "all":
        return True
    return (int(hashlib.sha256(name.encode()).hexdigest(), 16) >> 7) % 2 == (half == "b")


def trial_data(
    truth, name: str, seed: int = 0, pairs: str = "any", without_pairs: bool = False
) -> tuple[list, dict[int, str], tuple] | None:
    """One trial's random draws, in order, from its own seed: the heavy sites (isotropic), the
    swaps, then the simulated data (reflections, d_min, kept). One place, so that a test on a
    trial's data draws what the benchmark drew. None where the trial is not run: no swap drawn
    (or some, `without_pairs`)."""
    key = name if not seed else f"{name}:{seed}"  # seed 0: the draws of every earlier run
    rng = np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest(), 16) % (1 << 32))
    heavy = [replace(s, u_aniso=None) for s in truth.sites if not is_hydrogen(s.element)]
    swaps = other_swaps_for(heavy, rng) if pairs == "other" else swaps_for(heavy, rng)
    if bool(swaps) == without_pairs:
        return None
    return heavy, swaps, simulated_data(truth, rng, D_MIN_RANGE)


def run_one(
    truth,
    name: str,
    method: str,
    cycles: int,
    seconds: int,
    pairs: str = "any",
    only_hydrogens: bool = False,
    without_pairs: bool = False,
    seed: int = 0,
) -> dict | None:
    trial = trial_data(truth, name, seed, pairs, without_pairs)
    if trial is None:
        return None
    heavy, swaps, (reflections, d_min, kept) = trial
    if not only_hydrogens and (why := disordered_in_fact(truth)):  # the "ordered" ones
        return {"entry": name, "n_nonH": len(heavy), "status": LEFT_OUT, "not_ordered": why}
    row = {
        "entry": name,
        "n_nonH": len(heavy),
        "d_min": d_min,
        "kept": kept,
        "swaps": {}
        if only_hydrogens
        else {heavy[i].label: [heavy[i].element, element] for i, element in swaps.items()},
        # sites the published model itself smears (Ueq over U_DISORDER): not ordered in fact
        "smeared_published": [s.label for s in heavy if s.u_iso > U_DISORDER],
    }
    if only_hydrogens:  # the same structures and data as the full run, the H step alone
        return _add_moved_hydrogens(row, truth, reflections, cycles, seconds)
    wrong = truth.with_sites(
        [s.with_element(swaps[i]) if i in swaps else s for i, s in enumerate(heavy)]
    )
    weighed = limited(lambda: _weighed(wrong, reflections, method, cycles), row, seconds, "failed")
    if weighed is None:
        return row
    start, weighed = weighed
    row["r1_start"] = start.r1
    row["r1_final"] = (weighed.refined or start).r1
    row["u_median"] = float(np.median([s.u_iso for s in start.structure.sites]))
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
    )
    looked_at = [*row["swaps"], *(label for label, _, _ in row["false_changes"])]
    row["evidence"] = {label: _diagnosis(start, weighed, label) for label in looked_at}
    row["counts"] = _counts_of_right_sites(weighed, start, {s.label: s.element for s in heavy})
    _add_moved_hydrogens(row, truth, reflections, cycles, seconds)  # its time adds to the row's
    row["status"] = "done"
    return row


def up_to(limit: int, rows):
    """The rows until `limit` of them are tried: a structure left out as not ordered passes
    without counting, so `--limit` still says how many are weighed."""
    tried = 0
    for row in rows if limit > 0 else ():
        yield row
        tried += row["status"] != LEFT_OUT
        if tried == limit:
            return


def _add_moved_hydrogens(row: dict, truth, reflections, cycles: int, seconds: int) -> dict:
    """The H step (`_moved_hydrogens`) in the row, within the time limit."""
    hydrogens = limited(
        lambda: _moved_hydrogens(truth, reflections, cycles), row, seconds, "failed"
    )
    if hydrogens is not None:
        row.update(status="done", **hydrogens)
    return row


def _weighed(wrong, reflections, method: str, cycles: int):
    start = refine(wrong, reflections, cycles)
    return start, weigh_elements(start, reflections, method, cycles)


def _diagnosis(start, weighed, label: str) -> dict:
    """The evidence on one atom, with its Uiso and bonded neighbours in the starting refinement."""
    structure = start.structure
    index = next(i for i, s in enumerate(structure.sites) if s.label == label)
    bonded = connectivity(structure)[index]
    return {
        **weighed.evidence[label].to_dict(),
        "u_iso": round(structure.sites[index].u_iso, 4),
        "neighbours": [
            f"{structure.sites[c.j].label} {c.distance:.2f}"
            for c in bonded
            if not is_hydrogen(structure.sites[c.j].element)
        ],
    }


def _counts_of_right_sites(weighed, start, truth: dict[str, str]) -> list[list]:
    """[element, electrons, fit σ, width, expected, Uiso, neighbours' Uiso] of every weighed site
    the final model holds with its published element: what the count's width is calibrated on."""
    structure = (weighed.refined or start).structure
    return [
        [
            s.element,
            *(round(v, 4) for v in (e.electrons, e.fit_sigma, e.sigma, e.expected)),
            round(s.u_iso, 4),
            round(e.neighbours_u, 4),
        ]
        for s in structure.sites
        if not is_hydrogen(s.element)
        and (e := weighed.evidence.get(s.label)) is not None
        and e.posterior
        and s.element == truth[s.label]
    ]


def _moved_hydrogens(truth, reflections, cycles: int) -> dict:
    """Each O–H or N–H of a hydrogen bond moved onto its acceptor: put back by the map of
    the non-H atoms refined anisotropically, as the job weighs its H? And the donors the map
    changes when the counts are the published ones. No refinement without such a bond."""
    not_ordered = disordered_in_fact(truth)
    if not moved_pairs(truth):
        return {"moved_h": [], "right_changed": [], "not_ordered": not_ordered}
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    try:
        refined = refine(heavy, reflections, cycles, anisotropic=True)
    except RefinementError:  # too few reflections for anisotropic atoms
        refined = refine(heavy, reflections, cycles)
    density = difference_density(refined.structure, reflections)
    fits = HydrogenFits(refined.structure, reflections, density)
    checks = donor_count_checks(truth, refined.structure, density, fits)
    return {
        "moved_h": checks["moved"],
        "right_changed": checks["right_changed"],
        "donors": len(checks["total"]),
        "unjudged": checks["unjudged"],
        "not_ordered": not_ordered,
    }


def disordered_in_fact(truth) -> list[str]:
    """Why a structure the corpus index calls ordered is not: two atoms closer than OVERLAP
    (geometry.overlapping_sites: a ring in two orientations listed at full weight without PART),
    an occupancy under 1, or atom sites that do not hold the CIF's own formula (content_mismatch:
    also a model that leaves out solvent or a disorder's partners the crystal holds).
    The index's disorder column says "no" for such a model."""
    sites = truth.sites
    close = {
        (*sorted((sites[i].label, sites[c.j].label)), round(c.distance, 2))
        for i, c in overlapping_sites(truth).items()
    }
    return (
        [f"{a}/{b} {d:.2f} Å" for a, b, d in sorted(close, key=lambda x: x[2])]
        + [f"{s.label} occupancy {s.occupancy:g}" for s in sites if s.occupancy < 1 - 1e-3]
        + content_mismatch(truth, formula_sum(truth))
    )


# Atoms per formula unit by which the sites' non-H content (occupancy × multiplicity, per Z) may
# miss _chemical_formula_sum: SHELXL and Olex2 write the formula from the model to 2-4 decimals,
# so an ordered model meets it to ~0.01; 0.1 of an element or 0.2 in all leaves room for rounding
# and no more. Past that the model lists an atom the crystal does not hold (2004983's BF4⁻ on an
# inversion centre with eight full F: BF8), holds a mixed site as one element (2004800's
# Br0.962 held as Cl; 2004802's Cl/Br sites held as Cl), a formula atom as another (2004925: one
# C more and one O less), or leaves out what the crystal holds: solvent squeezed or not modelled
# (4021421, platon-squeeze-void; 2224874's moiety C4H10O; 7101147 C8 O2 short) or the partners
# of a disorder. H is left out: riding H are often missing from either.
CONTENT_PER_ELEMENT = 0.1
CONTENT_IN_ALL = 0.2
# A model in the formula's proportions in k times (or 1/k) Z's units is a miscount of Z (Z
# written for a dimer, 2001925 read with one operator), not a missing atom: k whole and not 1,
# the ratio within 5 % of it. Any other ratio is atoms missing (1100811: C42 against C44, Z 1).
Z_FACTOR_TOLERANCE = 0.05


def formula_sum(truth) -> dict[str, float]:
    """The _chemical_formula_sum read with the structure (truth.formula, io.cif.read_cif),
    element → count; empty where there is none or the file is no CIF."""
    return dict(truth.formula)


def _z_factor(ratio: float) -> float | None:
    """k or 1/k (k whole, not 1) within Z_FACTOR_TOLERANCE of k where `ratio` is one, else None."""
    if ratio <= 0:
        return None
    for r, whole in ((ratio, lambda k: k), (1 / ratio, lambda k: 1 / k)):
        k = round(r)
        if k >= 2 and abs(r - k) <= Z_FACTOR_TOLERANCE * k:
            return whole(k)
    return None


def content_mismatch(truth, formula: dict[str, float]) -> list[str]:
    """The non-H elements whose content per formula unit (every atom, a mixed site's partners
    too, × multiplicity × occupancy, over Z) misses `formula` beyond CONTENT_PER_ELEMENT or, all
    together, CONTENT_IN_ALL; none where the formula or Z is unknown. A model holding the
    formula's composition in a whole multiple (or fraction) of Z's units is not flagged: that is
    a miscount of Z, not an atom the crystal lacks."""
    z = truth.formula_units
    heavy = {el: n for el, n in formula.items() if not is_hydrogen(el)}
    if not heavy or not z:
        return []
    content = {el: n for el, n in cell_counts(truth).items() if not is_hydrogen(el)}
    elements = sorted(set(heavy) | set(content))

    def misses(units: float) -> dict[str, float]:
        off = {el: content.get(el, 0.0) / units - heavy.get(el, 0.0) for el in elements}
        if (
            max(map(abs, off.values())) > CONTENT_PER_ELEMENT
            or sum(map(abs, off.values())) > CONTENT_IN_ALL
        ):
            return off
        return {}

    off = misses(z)
    if not off:
        return []
    k = _z_factor(sum(content.values()) / sum(heavy.values()) / z)
    if k is not None and not misses(k * z):
        return []
    return [
        f"{el} {content.get(el, 0.0) / z:.4g} per formula unit against the formula's "
        f"{heavy.get(el, 0.0):g} (Z {z:g})"
        for el in elements
        if abs(off[el]) > 0.01
    ]


def _electrons(value) -> str:
    return "no fit" if value is None else f"{value:.1f}"


def markdown(rows: list[dict], args) -> str:
    left_out = [r for r in rows if r["status"] == LEFT_OUT]
    rows = [r for r in rows if r["status"] != LEFT_OUT]
    done = [r for r in rows if r["status"] == "done"]
    by_class: Counter = Counter()
    fixed: Counter = Counter()
    for r in done:
        for label, (right, wrong) in r["swaps"].items():
            by_class[pair_class(right, wrong)] += 1
            fixed[pair_class(right, wrong)] += label in r["corrected"]
    right_atoms = sum(r["n_nonH"] - len(r["swaps"]) for r in done)
    false = [(r["entry"], label, a, b) for r in done for label, a, b in r["false_changes"]]
    listed = ", ".join(f"{entry} {label} {a}→{b}" for entry, label, a, b in false[:10])
    swaps = sum(by_class.values())
    not_weighed = sum(1 for r in rows if r["status"] == "not weighed")
    missed = [
        (r["entry"], label, r["swaps"][label], r["evidence"][label])
        for r in done
        for label in r["swaps"]
        if label not in r["corrected"]
    ]
    smeared = [m for m in missed if m[3]["smeared"]]
    lines = [
        "### Elements weighed by the data: Z-neighbour swaps on simulated data "
        + ("(pairs other than C/N/O) " if args.pairs == "other" else "")
        + "(`benchmarks/swap_benchmark.py`)",
        "",
        f"Machine: {_cpu_name()}. Command: `{_command(args)}`. Ordered "
        "corpus structures "
        f"with H; Fo² from the published model with H to d_min {D_MIN_RANGE[0]}-{D_MIN_RANGE[1]} Å "
        "with counting "
        "noise (as the simulated-solve benchmark); "
        + (
            "up to three non-H atoms given a Z-neighbour of a pair other than C/N/O that the "
            "structure holds, the pair kinds in turn"
            if args.pairs == "other"
            else "one to three non-H atoms given a Z-neighbour element the structure also holds"
        )
        + "; the non-H model refined isotropically and weighed (`crystalx_core.element_evidence`).",
        "",
        f"- structures: {len(done)} weighed of {len(rows)} tried"
        + (
            " (every structure chosen that holds a pair other than C/N/O)"
            if args.pairs == "other"
            else f" (a partial run of the {args.limit} asked for)"
            if len(rows) < args.limit
            else ""
        )
        + f"; not weighed (incomplete data): {not_weighed}"
        + f"; failed or timed out: {len(rows) - len(done) - not_weighed}",
        *_left_out_lines(left_out),
        f"- swaps corrected: {sum(fixed.values())}/{swaps} "
        f"({_pct(sum(fixed.values()) / max(swaps, 1), 1)})",
        *[
            f"  - {cls}: {fixed[cls]}/{n} ({_pct(fixed[cls] / n, 1)})"
            for cls, n in by_class.most_common()
        ],
        *(  # not the "ordered" sites: the figure without them too
            [
                f"- without the {len(smeared)} swaps missed in smeared groups (bonded neighbours' "
                "Uiso over U_DISORDER: weighed with the smeared width and the model's prior only "
                "toward the heavier element, changed only where that is decisive; the note says "
                "why): "
                f"{sum(fixed.values())}/{swaps - len(smeared)} "
                f"({_pct(sum(fixed.values()) / max(swaps - len(smeared), 1), 1)})"
            ]
            if smeared
            else []
        ),
        f"- false changes on atoms that were right: {len(false)}/{right_atoms} "
        f"({_pct(len(false) / max(right_atoms, 1), 2)})" + (f": {listed}" if false else ""),
        *_ordered_lines(done, right_atoms, false),
        f"- changes reverted by the refinement net: {sum(1 for r in done if r['reverted'])} "
        "structures",
        *_hydrogen_lines(done),
        f"- total time {sum(r.get('seconds', 0) for r in rows):.0f} s",
        "",
    ]
    if missed:
        lines += [
            "| structure | atom | published → swapped | electrons | Uiso | prior | posterior "
            "| decision |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for entry, label, (right, wrong), e in missed[:30]:
            lines.append(
                f"| {entry} | {label} | {right} → {wrong} | {_electrons(e['electrons'])} | "
                f"{e.get('u_iso', '-')} | {_ranked(e['prior'])} | {_ranked(e['posterior'])} | "
                f"{e['decision']} |"
            )
    return "\n".join(lines) + "\n"


def _left_out_lines(left_out: list[dict]) -> list[str]:
    """The structures the corpus index calls ordered that are not (disordered_in_fact), each
    with why: left out before any draw is weighed, named so that none goes unseen."""
    if not left_out:
        return []
    return [
        f"- left out, disordered in fact though the corpus index calls them ordered (two atoms "
        f"under {OVERLAP:g} Å, an occupancy under 1, or sites that miss the CIF's "
        f"_chemical_formula_sum × Z by over {CONTENT_PER_ELEMENT:g} atom of an element or "
        f"{CONTENT_IN_ALL:g} in all per formula unit, H aside): {len(left_out)} ("
        + "; ".join(f"{r['entry']}: {', '.join(r['not_ordered'][:2])}" for r in left_out)
        + ")"
    ]


def _ordered_lines(done: list[dict], right: int, false: list[tuple]) -> list[str]:
    """The figures on the sites the published model holds ordered in fact (Ueq at most
    U_DISORDER), beside those it smears: a CIF without disorder flags can hold a triflate or a
    solvent at 0.3-0.4 Å², which no isotropic count weighs. `right`: the atoms not swapped;
    `false`: (entry, label, right, wrong) of each false change."""
    apart = {(r["entry"], label) for r in done for label in r.get("smeared_published", [])}
    if not apart:
        return []
    swapped = [(r["entry"], label, label in r["corrected"]) for r in done for label in r["swaps"]]
    ordered = [fixed for entry, label, fixed in swapped if (entry, label) not in apart]
    smeared = [fixed for entry, label, fixed in swapped if (entry, label) in apart]
    right_apart = sum(
        1 for r in done for label in r.get("smeared_published", []) if label not in r["swaps"]
    )
    false_ordered = [f for f in false if f[:2] not in apart]
    return [
        f"- on sites the published model holds ordered (Ueq at most U_DISORDER, {U_DISORDER} Å²): "
        f"swaps corrected {sum(ordered)}/{len(ordered)} "
        f"({_pct(sum(ordered) / max(len(ordered), 1), 1)}), false changes "
        f"{len(false_ordered)}/{right - right_apart} "
        f"({_pct(len(false_ordered) / max(right - right_apart, 1), 2)}); on the {len(apart)} sites "
        f"it smears itself (over {U_DISORDER} Å², {len({e for e, _ in apart})} structures): "
        f"swaps corrected {sum(smeared)}/{len(smeared)}, false changes "
        f"{len(false) - len(false_ordered)}/{right_apart}"
    ]


def _ranked(scores: dict) -> str:
    return ", ".join(f"{el} {p:.2f}" for el, p in list(scores.items())[:3]) or "-"


def _hydrogen_lines(done: list[dict], every_miss: bool = False) -> list[str]:
    """The moved-H part: share put back, donors the map got wrong beside the moved pair, and
    donors it changed when given the published counts."""
    moved = [(r["entry"], m) for r in done for m in r.get("moved_h", [])]
    if not moved:
        return []
    fixed, total, share = _put_back([m for _, m in moved])
    elsewhere = [f"{entry} {label}" for entry, m in moved for label in m["wrong_elsewhere"]]
    missed = [f"{entry} {m['donor']}→{m['acceptor']}" for entry, m in moved if not m["corrected"]]
    structures = len({entry for entry, _ in moved})
    right = [f"{r['entry']} {label}" for r in done for label in r.get("right_changed", [])]
    donors = sum(r.get("donors", 0) for r in done if r.get("moved_h"))
    unjudged = [f"{r['entry']} {label}" for r in done for label in r.get("unjudged", [])]
    shown = missed if every_miss else missed[:8]
    return [
        f"- an O–H or N–H of a hydrogen bond moved onto its acceptor (all such, one at a time, on "
        f"the published non-H atoms of {structures} structures): {fixed}/{total} ({share}) "
        f"put back by the map and the reflections; donors "
        f"got wrong beside the moved pair, over all trials: {len(elsewhere)}"
        + (f" ({', '.join(elsewhere[:8])})" if elsewhere else "")
        + (f"; not put back: {', '.join(shown)}" if shown else ""),
        f"- the published counts given: {len(right)}/{donors} O, N and S changed by the map"
        + (f" ({', '.join(right)})" if right else ""),
        *(
            [
                f"- not judged (beside a published H bonded to no atom, none within "
                f"{H_BOND_MAX} Å): {', '.join(unjudged)}"
            ]
            if unjudged
            else []
        ),
        *_ordered_hydrogen_lines(done, moved),
    ]


def _ordered_hydrogen_lines(done: list[dict], moved: list[tuple]) -> list[str]:
    """The moved-H share on the structures ordered in fact, and the disordered ones the corpus
    index calls ordered (disordered_in_fact) with their own share: both figures, no miss hidden."""
    apart = {
        r["entry"]: r["not_ordered"] for r in done if r.get("moved_h") and r.get("not_ordered")
    }
    if not apart:
        return []
    ordered = [m for entry, m in moved if entry not in apart]
    other = [m for entry, m in moved if entry in apart]
    fixed, total, share = _put_back(ordered)
    fixed_other, total_other, _ = _put_back(other)
    return [
        f"- on the structures ordered in fact ({len({e for e, _ in moved} - set(apart))}): "
        f"{fixed}/{total} ({share}) put back, donors got "
        f"wrong beside {sum(len(m['wrong_elsewhere']) for m in ordered)}; the others, disordered "
        f"though the corpus index calls them ordered (two atoms under {OVERLAP:g} Å, H beside H "
        f"or non-H beside non-H, or an occupancy under 1): "
        + ", ".join(f"{entry} ({', '.join(why[:2])})" for entry, why in sorted(apart.items()))
        + f", {fixed_other}/{total_other} of their trials put back"
    ]


def _put_back(trials: list[dict]) -> tuple[int, int, str]:
    """Of the moved-H `trials`: how many the map and the reflections put back, of how many,
    and that share."""
    fixed = sum(1 for m in trials if m["corrected"])
    return fixed, len(trials), _pct(fixed / max(len(trials), 1), 1)


def hydrogen_markdown(rows: list[dict], args) -> str:
    """The table of `--only-hydrogens`: the H step alone on the full run's structures and data."""
    done = [r for r in rows if r["status"] == "done"]
    with_bonds = [r for r in done if r.get("moved_h")]
    return "\n".join(
        [
            "### H moved onto its acceptor, put back by the map and the reflections (simulated "
            "data, `benchmarks/swap_benchmark.py --only-hydrogens`)",
            "",
            f"Machine: {_cpu_name()}. Command: `{_command(args)}`. "
            + (
                "Ordered corpus structures with H that hold no Z-neighbour pair (left out of every "
                "swap run, so never seen by the H trials above), simulated as there"
                if args.without_pairs
                else "The structures of the swap run above"
                + ("" if args.seed else " and their simulated data")
            )
            + (
                f", their data drawn anew (--seed {args.seed}: d_min, noise and the reflections "
                "left out; whether a slice is unseen is said with its figures)"
                + (f", up to {args.max_atoms} non-H atoms" if args.max_atoms > 80 else "")
                if args.seed
                else ""
            )
            + "; the published non-H atoms refined anisotropically, each O–H or N–H moved onto "
            "its acceptor in turn (`crystalx_core.hydrogen_evidence`).",
            "",
            f"- structures: {len(with_bonds)} with a hydrogen bond of {len(done)} done; failed or "
            f"timed out: {len(rows) - len(done)}",
            *_hydrogen_lines(done, every_miss=True),
            f"- total time {sum(r.get('seconds', 0) for r in rows):.0f} s",
            "",
        ]
    )


def _command(args) -> str:
    """The command line that reproduces a table."""
    return (
        "python benchmarks/swap_benchmark.py ../shared/data/corpus "
        f"--limit {args.limit}"
        + (f" --min-atoms {args.min_atoms}" if args.min_atoms else "")
        + f" --max-atoms {args.max_atoms} --cycles {args.cycles}"
        + (f" --pairs {args.pairs}" if args.pairs != "any" else "")
        + (f" --skip {args.skip}" if args.skip else "")
        + (" --only-hydrogens" if args.only_hydrogens else "")
        + (" --without-pairs" if args.without_pairs else "")
        + (f" --half {args.half}" if args.half != "all" else "")
        + (f" --seed {args.seed}" if args.seed else "")
    )


def main(argv=None) -> int:
    parser = corpus_parser(__doc__.splitlines()[0], limit=100, max_atoms=80, seconds=300)
    parser.add_argument("--cycles", type=int, default=10)
    for flag, choices, why in (
        ("--pairs", ("any", "other"), "other: structures with a pair other than C/N/O, swapped"),
        ("--half", ("all", "a", "b"), "one half of the structures (by the file name's hash)"),
    ):
        parser.add_argument(flag, choices=choices, default=choices[0], help=why)
    parser.add_argument(
        "--only-hydrogens", action="store_true", help="the H step alone (moved O–H/N–H)"
    )
    parser.add_argument(
        "--without-pairs",
        action="store_true",
        help="with --only-hydrogens: the structures without a Z-neighbour pair instead",
    )
    parser.add_argument(
        "--skip", type=int, default=0, help="leave out the first N structures (a fresh slice)"
    )
    parser.add_argument(
        "--min-atoms",
        type=int,
        default=0,
        help="more than N non-H atoms (with --max-atoms: larger structures than the usual runs')",
    )
    parser.add_argument("--only", nargs="+", help="these corpus entries alone (file names)")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="other swaps and noise on the same structures (0: as ever)",
    )
    args = parser.parse_args(argv)
    if args.without_pairs and not args.only_hydrogens:
        parser.error("--without-pairs goes with --only-hydrogens (nothing to swap there)")
    if args.from_json:
        rows = [r for r in json.loads(args.from_json.read_text()) if in_half(r["entry"], args.half)]
    else:
        time_out_on_alarm()
        tried = (
            run_one(
                truth,
                name,
                args.method,
                args.cycles,
                args.seconds,
                args.pairs,
                args.only_hydrogens,
                args.without_pairs,
                args.seed,
            )
            for name, truth in choose(
                args.corpus,
                4 * args.limit,
                args.max_atoms,
                args.skip,
                only=set(args.only or []) or None,
                min_atoms=args.min_atoms,
            )
            if in_half(name, args.half)
        )
        rows = collect(
            up_to(args.limit, (row for row in tried if row is not None)),
            args.json,
            lambda row: (
                f"{row['entry']:<60} {row['n_nonH']:>4} swaps {row.get('swaps')} {row['status']} "
                f"corrected {row.get('corrected')} false {row.get('false_changes')} "
                f"{row.get('seconds', 0):.0f} s {row.get('why', '')}"
                + (f"{'; '.join(row['not_ordered'])}" if row["status"] == LEFT_OUT else "")
            ),
        )
    text = hydrogen_markdown(rows, args) if args.only_hydrogens else markdown(rows, args)
    hydrogens = "without-pairs" if args.without_pairs else str(args.limit)
    section = (
        "swap_benchmark"
        + (f":{args.pairs}" if args.pairs != "any" else "")
        + (f":hydrogens:{hydrogens}" if args.only_hydrogens else "")
        + (f":{args.half}" if args.half != "all" else "")
        + (f":skip{args.skip}" if args.skip else "")
        + (f":atoms{args.min_atoms}-{args.max_atoms}" if args.min_atoms else "")
        + (f":seed{args.seed}" if args.seed else "")
    )
    write_section(text, section, args.output)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
