"""Riding hydrogens as a crystallographer would accept them, proved by refinement on real data.

For every ordered entry of shared/data/benchmark: start from the published non-H atoms,
count H (geometry rules and the hydrogen model), place riding H, refine (anisotropic non-H,
riding H, 10 cycles; isotropic where the data cannot carry anisotropic atoms) and compare with the
published H model refined under the same
settings (published H positions, the published AFIX code where the .res gives one that
smtbx rides, else the code for the pivot's geometry):

- published H reproduced within 0.3 Å after refinement, H extra / missing (the counts on O,
  N and S weighed by the difference map and the reflections first, as the job does:
  hydrogen_evidence, hydrogen_data);
- R1 without H, R1 with our H, R1 with the published H model.

    python benchmarks/hydrogen_benchmark.py ../shared/data/benchmark
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign import hydrogen_counts
from crystalx_core.crystallography.compare import (
    hydrogen_pivots,
    hydrogens_per_atom,
    match_hydrogens,
)
from crystalx_core.crystallography.maps import difference_density
from crystalx_core.crystallography.refine import refine, refinement_instructions
from crystalx_core.elements import is_hydrogen
from crystalx_core.geometry import H_BOND_MAX, h_reach, neighbours
from crystalx_core.hydrogen_data import HydrogenFits
from crystalx_core.hydrogen_evidence import ADD_RMS, DONORS, weigh_hydrogens
from crystalx_core.errors import CrystalXError, RefinementError
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.riding import HydrogenPlan, add_riding_hydrogens, ride_existing_hydrogens

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solve_benchmark import REPO, _cpu_name, write_section  # noqa: E402

TOLERANCE = 0.3  # Å
R1_MARGIN = 0.003  # absolute: "R1 within 0.3 %" of the published-H refinement
CYCLES = 10
RIDEABLE = {1, 2, 3, 4, 8, 9, 13, 14, 15, 16}  # AFIX m that smtbx builds as riding groups
METHODS = ("rules", "model")
GIVE = {"rules": "the rules give", "model": "the model gives"}
DOUBTFUL_DENSITY = (
    1.0  # rms of the difference map: a published H with less has no electron seen at its site
)
DOUBTFUL_CONTACT = 1.5  # Å: H···H between H on different atoms closer than this is impossible
# Å: an X–H bond outside this range is no H position: X-ray X–H run 0.8–1.0 Å, neutron (or
# Hirshfeld-refined) C–H 1.09 Å, and the longest, an H centred in a 2.4 Å O···H···O bond, 1.2 Å;
# B, Si, P and S, larger atoms, hold their H further out
DOUBTFUL_BOND = {"B": (0.9, 1.35), "S": (1.0, 1.45), "Si": (1.2, 1.6), "P": (1.2, 1.6)}
DOUBTFUL_BOND_OTHER = (0.7, 1.2)
MOVED_REACH = 2.2  # Å: H···A of the hydrogen bonds whose H is moved onto the acceptor
UNATTACHED_REACH = 1.6  # Å: the O, N or S an H bonded to no atom may belong to


def published_codes(entry: Path) -> dict[str, int]:
    """AFIX code of every H in the published .res that smtbx can ride (n = 8 read as 7,
    rotating)."""
    path = entry / "published.res"
    if not path.exists():
        return {}
    codes = {}
    for site in read_shelx(path).to_structure().sites:
        m, n = divmod(site.afix, 10)
        if is_hydrogen(site.element) and m in RIDEABLE:
            codes[site.label] = m * 10 + (7 if n == 8 else n)
    return codes


def refine_plan(plan: HydrogenPlan, reflections, anisotropic: bool) -> tuple[float, object]:
    instructions = refinement_instructions(plan.restraints)
    result = refine(
        plan.structure, reflections, CYCLES, anisotropic=anisotropic, instructions=instructions
    )
    return result.r1, result.structure


def refined_without_h(truth, reflections) -> tuple[object, bool, object]:
    """The published model without its H refined (anisotropic, isotropic where there are too
    few reflections for that), whether anisotropic, and its difference density: what the
    published H are judged against."""
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    try:
        refined, anisotropic = refine(heavy, reflections, CYCLES, anisotropic=True), True
    except RefinementError:
        refined, anisotropic = refine(heavy, reflections, CYCLES), False
    return refined, anisotropic, difference_density(refined.structure, reflections)


def run_entry(entry: Path) -> dict:
    start = time.perf_counter()
    truth = read_cif(entry / "model.cif").structure
    reflections = read_hkl(entry / "data.hkl")
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    row = {
        "entry": entry.name,
        "published_h": sum(1 for s in truth.sites if is_hydrogen(s.element)),
    }
    without_h, anisotropic, density = refined_without_h(truth, reflections)
    row["anisotropic"] = anisotropic  # if not, all three refinements isotropic
    row["r1_no_h"] = without_h.r1
    row["doubtful"] = doubtful_hydrogens(truth, density)
    published_counts, unjudged = hydrogens_per_atom(truth), unattached(truth)
    fits = HydrogenFits(without_h.structure, reflections, density)  # one per entry, lazily
    row["donor_counts"] = donor_count_checks(
        truth, without_h.structure, density, fits, published_counts, unjudged
    )
    reference = ride_existing_hydrogens(truth, published_codes(entry))
    row["r1_published_h"], _ = refine_plan(reference, reflections, anisotropic)
    for method in METHODS:
        counts = {i: n for i, (n, _) in enumerate(hydrogen_counts(heavy, method))}
        evidence = weigh_hydrogens(without_h.structure, counts, density, fits=fits)
        row[method + "_donor_counts"] = {
            "before": _agreeing(heavy, counts, published_counts, unjudged),
            "after": _agreeing(heavy, evidence.counts, published_counts, unjudged),
        }
        plan = add_riding_hydrogens(heavy, evidence.counts, evidence.given, density=density)
        r1, refined = refine_plan(plan, reflections, anisotropic)
        match = match_hydrogens(truth, refined, TOLERANCE)
        published = [s.label for s in truth.sites if is_hydrogen(s.element)]
        matched = {published[i] for i, _, _ in match.pairs}
        row[method] = {
            "r1": r1,
            "placed": match.n_candidate,
            "reproduced": match.n_matched,
            "missing": match.missing,
            "extra": match.extra,
            "reproduced_supported": sum(1 for label in matched if label not in row["doubtful"]),
            "codes": dict(sorted((heavy.sites[i].label, c) for i, c in plan.codes.items())),
            "notes": {heavy.sites[i].label: note for i, note in plan.notes.items()},
            "map_changes": evidence.job_notes(heavy),
        }
    row["seconds"] = time.perf_counter() - start
    return row


def _agreeing(
    structure, counts: dict[int, int], published: dict[str, int], unjudged: set[str]
) -> list[str]:
    """Labels of the O, N and S whose count differs from the published one (those `unjudged`
    left out)."""
    return [
        s.label
        for i, s in enumerate(structure.sites)
        if s.element in DONORS
        and s.label not in unjudged
        and counts.get(i, 0) != published[s.label]
    ]


def unattached(truth) -> set[str]:
    """O, N and S within UNATTACHED_REACH Å of a published H that is bonded to no atom (none
    within its reach that may hold it, compare.hydrogen_pivots: metaboric acid's H put midway
    between two O at 1.37 Å): which of them carries it the model does not say, so their
    published counts are not judged."""
    held = hydrogen_pivots(truth)  # what the comparison and the job read as bonded
    hydrogens = [i for i, s in enumerate(truth.sites) if is_hydrogen(s.element)]
    found = set()
    for j, (_, heavy) in zip(hydrogens, _around_hydrogens(truth, UNATTACHED_REACH)):
        if j not in held:
            found |= {truth.sites[c.j].label for c in heavy if truth.sites[c.j].element in DONORS}
    return found


def _around_hydrogens(truth, reach) -> list[tuple]:
    """(nearest, all) non-H contacts within `reach` Å of each published H (nearest None where
    there is none): the atom the H is bonded to, if any, and those it may be H-bonded to."""
    h = [i for i, s in enumerate(truth.sites) if is_hydrogen(s.element)]
    found = []
    for near in neighbours(truth, reach, centres=h) if h else []:
        heavy = [c for c in near if not is_hydrogen(truth.sites[c.j].element)]
        found.append((min(heavy, key=lambda c: c.distance) if heavy else None, heavy))
    return found


def donor_count_checks(truth, model, density, fits=None, published=None, unjudged=None) -> dict:
    """The H counts on O, N and S from the map alone (the model's counts all 0), with one
    published O–H or N–H moved onto the O or N it bonds to (H···A under MOVED_REACH Å):
    whether the map (and, where it leans without being clear, the reflections of `fits`, a
    HydrogenFits of `model`) puts it back,
    and which other atoms it changes; and the atoms it changes when given the published counts
    (right_changed). `published` and `unjudged`, where the caller has them, are truth's
    hydrogens_per_atom and unattached."""
    if published is None:
        published = hydrogens_per_atom(truth)
    if unjudged is None:
        unjudged = unattached(truth)
    right = {i: published[s.label] for i, s in enumerate(model.sites)}
    alone = _agreeing(model, weigh_hydrogens(model, {}, density).counts, published, unjudged)
    index = {s.label: i for i, s in enumerate(model.sites)}
    moved = []
    for donor, acceptor in moved_pairs(truth):
        if unjudged & {donor, acceptor}:
            continue
        wrong = {**right, index[donor]: right[index[donor]] - 1}
        wrong[index[acceptor]] += 1
        result = weigh_hydrogens(model, wrong, density, fits=fits).counts
        moved.append(
            {
                "donor": donor,
                "acceptor": acceptor,
                "corrected": all(
                    result.get(index[x], 0) == right[index[x]] for x in (donor, acceptor)
                ),
                "wrong_elsewhere": [
                    label
                    for label in _agreeing(model, result, published, unjudged)
                    if label not in (donor, acceptor)
                ],
            }
        )
    total = [s.label for s in model.sites if s.element in DONORS and s.label not in unjudged]
    kept = _agreeing(
        model, weigh_hydrogens(model, right, density, fits=fits).counts, published, unjudged
    )
    return {
        "total": total,
        "unjudged": sorted(unjudged),
        "map_alone_differs": alone,
        "moved": moved,
        "right_changed": kept,
    }


def moved_pairs(truth) -> list[tuple[str, str]]:
    """(donor, acceptor) labels of every published O–H, N–H or S–H (H within its donor's reach,
    geometry.h_reach) whose H lies within MOVED_REACH Å of another O, N or S: the H-bonds whose
    H can be moved onto the acceptor."""
    pairs = set()
    for donor, heavy in _around_hydrogens(truth, MOVED_REACH):
        if (
            donor is None
            or donor.distance > h_reach(truth.sites[donor.j].element)
            or truth.sites[donor.j].element not in DONORS
        ):
            continue
        pairs |= {
            (truth.sites[donor.j].label, truth.sites[c.j].label)
            for c in heavy
            if c.distance > h_reach(truth.sites[c.j].element)
            and c.j != donor.j
            and truth.sites[c.j].element in DONORS
        }
    return sorted(pairs)


def doubtful_hydrogens(truth, density) -> dict[str, str]:
    """Published H that the data or the geometry argue against, with the reason: Fo − Fc of
    the model without H below DOUBTFUL_DENSITY rms at the H site (no electron seen there), an
    H···H contact under DOUBTFUL_CONTACT Å with an H on another atom (impossible), or a bond
    to its atom outside DOUBTFUL_BOND (a freely refined H that wandered)."""
    hydrogens = [i for i, s in enumerate(truth.sites) if is_hydrogen(s.element)]
    reach = max(H_BOND_MAX, *(high for _, high in (*DOUBTFUL_BOND.values(), DOUBTFUL_BOND_OTHER)))
    pivot, bond = (
        {},
        {},
    )  # the non-H atom each H is bonded to (nearest within reach) and the distance
    for i, near in zip(hydrogens, neighbours(truth, reach, centres=hydrogens)):
        bonded = [c for c in near if not is_hydrogen(truth.sites[c.j].element)]
        nearest = min(bonded, key=lambda c: c.distance) if bonded else None
        pivot[i] = nearest.j if nearest else None
        bond[i] = (truth.sites[nearest.j], nearest.distance) if nearest else None
    found = {}
    for i, contacts in zip(hydrogens, neighbours(truth, DOUBTFUL_CONTACT, centres=hydrogens)):
        site = truth.sites[i]
        level = float(density(truth.cartesian(site.frac)[None])[0]) / density.rms
        clashes = [
            truth.sites[c.j].label
            for c in contacts
            if is_hydrogen(truth.sites[c.j].element) and pivot[c.j] != pivot[i]
        ]
        low, high = (
            DOUBTFUL_BOND.get(bond[i][0].element, DOUBTFUL_BOND_OTHER) if bond[i] else (0.0, 0.0)
        )
        if level < DOUBTFUL_DENSITY:
            found[site.label] = f"Fo−Fc {level:.1f} rms at the site"
        elif clashes:
            found[site.label] = f"H···H under {DOUBTFUL_CONTACT} Å to {', '.join(clashes)}"
        elif bond[i] and not low <= bond[i][1] <= high:
            found[site.label] = f"{bond[i][0].label}–H {bond[i][1]:.2f} Å"
    return found


def incomplete_data(source: dict) -> bool:
    """Whether an entry's source.json warns that its reflections are a truncated subset."""
    return any(w.startswith("INCOMPLETE DATA") for w in source.get("warnings", []))


def ordered_entries(benchmark_dir: Path) -> tuple[list[Path], dict[str, str]]:
    """Entries without disorder (riding H on one conformation is what this measures) and with
    data fit for refinement; the others with the reason they are left out."""
    keep, left_out = [], {}
    for entry in sorted(p for p in benchmark_dir.iterdir() if (p / "model.cif").exists()):
        source = json.loads((entry / "source.json").read_text())
        if source.get("has_disorder", False):
            left_out[entry.name] = "disordered"
        elif incomplete_data(source):
            left_out[entry.name] = "incomplete data (source.json warning)"
        else:
            keep.append(entry)
    return keep, left_out


def markdown(rows: list[dict], left_out: dict[str, str]) -> str:
    lines = [
        "## Riding hydrogens on published atoms",
        "",
        "`python benchmarks/hydrogen_benchmark.py ../shared/data/benchmark`: published non-H "
        "atoms, H counted "
        f"by the rules or the hydrogen model, riding H placed and refined ({CYCLES} cycles, "
        "anisotropic non-H), "
        "against the published H model refined the same way. Reproduced: published H within "
        f"{TOLERANCE} Å of "
        f"one of ours after refinement. Machine: {_cpu_name()}.",
        "",
        "| entry | published H | rules: reproduced / extra / missing | model: reproduced / extra / "
        "missing "
        "| R1 no H | R1 published H | R1 rules H | R1 model H |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(
                f"| {row['entry']} | {row.get('published_h', '-')} | failed: {row['error']} | | | "
                "| | |"
            )
            continue
        cells = [
            f"{row[m]['reproduced']} / {row[m]['extra']} / {row[m]['missing']}" for m in METHODS
        ]
        name = row["entry"] + ("" if row["anisotropic"] else " (isotropic)")
        lines.append(
            f"| {name} | {row['published_h']} | {cells[0]} | {cells[1]} | {row['r1_no_h']:.4f} | "
            f"{row['r1_published_h']:.4f} | {row['rules']['r1']:.4f} | {row['model']['r1']:.4f} |"
        )
    done = [r for r in rows if "error" not in r]
    total = sum(r["published_h"] for r in done)
    lines.append("")
    for method in METHODS:
        reproduced = sum(r[method]["reproduced"] for r in done)
        within = sum(1 for r in done if r[method]["r1"] - r["r1_published_h"] <= R1_MARGIN)
        extra = sum(r[method]["extra"] for r in done)
        lines.append(
            f"- {method}: {reproduced}/{total} published H reproduced "
            f"({100 * reproduced / max(total, 1):.1f} %), "
            f"{extra} extra; R1 within {100 * R1_MARGIN:.1f} % of the published-H refinement on "
            f"{within}/{len(done)} entries ({100 * within / max(len(done), 1):.0f} %)."
        )
    donors = sum(len(r["donor_counts"]["total"]) for r in done)
    for method in METHODS:
        before = sum(len(r[method + "_donor_counts"]["before"]) for r in done)
        after = sum(len(r[method + "_donor_counts"]["after"]) for r in done)
        lines.append(
            f"- {method}, H counts on O, N and S as published: {donors - before}/{donors} as "
            f"{GIVE[method]} them, {donors - after}/{donors} after the difference map weighed "
            "them (hydrogen_evidence)."
        )
    alone = [f"{r['entry']} {x}" for r in done for x in r["donor_counts"]["map_alone_differs"]]
    lines.append(
        f"- the map alone (every count 0 to start): {donors - len(alone)}/{donors} as published"
        + (f"; the others: {', '.join(alone)}" if alone else "")
        + f" (under {ADD_RMS:g} rms the map adds nothing)."
    )
    moved = [(r["entry"], m) for r in done for m in r["donor_counts"]["moved"]]
    fixed = [m for _, m in moved if m["corrected"]]
    elsewhere = sum(len(m["wrong_elsewhere"]) for _, m in moved)
    lines.append(
        f"- one published O–H or N–H moved onto its acceptor (H···A under {MOVED_REACH} Å): "
        f"{len(fixed)}/{len(moved)} put back by the map; "
        + ", ".join(
            f"{e} {m['donor']}→{m['acceptor']}" + ("" if m["corrected"] else " (kept)")
            for e, m in moved
        )
        + f"; atoms the map got wrong beside the moved pair, over all trials: {elsewhere}."
    )
    for method in METHODS:
        changes = [f"{r['entry']} {c}" for r in done for c in r[method].get("map_changes", [])]
        lines.append(
            f"- {method}, H counts the difference map changed (hydrogen_evidence): "
            + ("; ".join(changes) if changes else "none")
            + "."
        )
    doubtful = {
        f"{r['entry']} {label}": why for r in done for label, why in r.get("doubtful", {}).items()
    }
    if doubtful:
        supported = total - len(doubtful)
        lines.append(
            f"- published H the data or geometry argue against ({len(doubtful)}; Fo − Fc of the "
            "model "
            f"without H under {DOUBTFUL_DENSITY:g} rms at the site, H···H under {DOUBTFUL_CONTACT} "
            "Å "
            f"to an H on another atom, or an X–H bond outside {DOUBTFUL_BOND_OTHER[0]}–"
            f"{DOUBTFUL_BOND_OTHER[1]} Å, wider for B, Si, P and S): "
            + "; ".join(f"{k} ({v})" for k, v in doubtful.items())
            + "."
        )
        for method in METHODS:
            reproduced = sum(r[method]["reproduced_supported"] for r in done)
            lines.append(
                f"- {method}, the other {supported} published H: {reproduced} reproduced "
                f"({100 * reproduced / max(supported, 1):.1f} %)."
            )
    if left_out:
        lines.append(
            "- left out: " + ", ".join(f"{name} ({why})" for name, why in left_out.items())
        )
    failed = [r["entry"] for r in rows if "error" in r]
    if failed:
        lines.append(f"- failed: {', '.join(failed)}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark_dir", type=Path)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--only", nargs="*", help="entry names")
    args = parser.parse_args(argv)
    rows = []
    entries, left_out = ordered_entries(args.benchmark_dir)
    for entry in entries:
        if args.only and entry.name not in args.only:
            continue
        try:
            row = run_entry(entry)
        except CrystalXError as error:
            row = {"entry": entry.name, "error": error.one_line()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    text = markdown(rows, left_out)
    print(text)
    if not args.only:
        write_section(text, "hydrogen_benchmark", args.output)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
