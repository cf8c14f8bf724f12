"""Every benchmark entry with a published model and reflections through `crystalx assign --hkl`:
exit code, final R1 against the published one, wall time and peak memory per entry, and the
output set against the published model: the element of every non-H atom (matched by position
as the solve benchmark matches them), the H counts on O, N and S, and H on metals. Prints the
tables and writes them into docs/benchmarks.md.

    python benchmarks/refine_benchmark.py ../shared/data/benchmark [--cycles 10]
    python benchmarks/refine_benchmark.py ../shared/data/benchmark --corpus ../shared/data/corpus
    python benchmarks/refine_benchmark.py --measured ../shared/data/corpus

Each entry runs as the user runs it (a fresh `crystalx` process, the published .res, else the
published CIF, in a scratch folder), so an internal error shows as exit 70, whatever raised it.
Disordered entries are reported apart, their PART atoms apart again. With `--corpus`, a second
section does the same for ordered corpus structures (none of them in the benchmark) with
reflections simulated from the published model as simulated_solve_benchmark simulates them.
With `--measured`, every corpus CIF that carries its own measured reflections (a `_refln` loop
or `_shelx_hkl_file`) runs as `crystalx assign X.cif --hkl X.cif`, as a user would; the figures
are given per split of the models (train/val/test, `training.sources.split_of`), and files
whose data are not X-ray (electron, neutron) are counted apart.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.crystallography.compare import (
    hydrogen_pivots,
    hydrogens_per_atom,
    match_sites,
    metals_with_h,
)
from crystalx_core.elements import is_hydrogen, is_metal
from crystalx_core.geometry import neighbours
from crystalx_core.hydrogen_evidence import DONORS, SHARED_HBOND_MAX
from crystalx_core.io import load, read_reflections
from crystalx_core.io.hkl import hkl_text
from crystalx_core.training.sources import corpus_entries
from crystalx_core.training.sources import split_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hydrogen_benchmark import (  # noqa: E402
    doubtful_hydrogens,
    incomplete_data,
    refined_without_h,
    unattached,
)
from simulated_solve_benchmark import choose, seeded_rng, simulated_data  # noqa: E402
from solve_benchmark import REPO, _cpu_name, _listed, write_section  # noqa: E402

LARGEST_COUNT = 99999.0  # an HKLF 4 intensity has 8 columns with 2 decimals (hkl_text)


# the command line itself, then its own peak RSS (KiB) as the last line on stderr: VmHWM, of this
# program alone (ru_maxrss would keep the benchmark's own memory, inherited across fork and exec)
_CHILD = (
    "import re, sys; from crystalx_core.cli import main; code = main(sys.argv[1:]); "
    "status = open('/proc/self/status').read(); "
    "print(re.search(r'VmHWM:\\s*(\\d+)', status).group(1), file=sys.stderr); sys.exit(code)"
)


def run_entry(entry: dict, cycles: int, workdir: Path) -> dict:
    """`crystalx assign` on one entry (name, model, hkl, published_r1, disordered, incomplete)
    in a fresh process, its output set against the published model."""
    model, hkl = entry["model"], entry["hkl"]
    command = [sys.executable, "-c", _CHILD, "assign", str(model), "--hkl", str(hkl)]
    command += ["--cycles", str(cycles), "--json", "--quiet", "--out", str(workdir / entry["name"])]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    messages = done.stderr.strip().splitlines()
    peak = (
        int(messages.pop()) if messages and messages[-1].isdigit() else 0
    )  # none: the process died
    row = {
        "entry": entry["name"],
        "input": model.name,
        "disordered": entry["disordered"],
        "incomplete": entry["incomplete"],
        "exit": done.returncode,
        "seconds": seconds,
        "published_r1": entry["published_r1"],
        "peak_rss_mib": peak / 1024,
        "error": messages[-1] if done.returncode and messages else "",
        **{key: entry[key] for key in ("split", "probe") if key in entry},
    }
    if done.returncode == 0:
        result = json.loads(done.stdout)
        refinement = result["refinement"]
        row.update(r1=refinement["r1"], stages=list(refinement["stages"]))
        row.update(compare(model, Path(result["files"]["res"]), result["atoms"], hkl))
    return row


def compare(model: Path, output: Path, atoms: list[dict], hkl: Path) -> dict:
    """The output .res against the published model it was made from: elements of the non-H
    atoms matched within 0.5 Å (wrong ones with the job's probabilities and evidence), H counts
    on O, N and S (the job's count for each atom, as the hydrogen benchmark compares counts;
    those the published H leave unjudged out, as it does), and every metal that carries H
    here or in the published model."""
    loaded = load(model)
    truth, ours = loaded.structure, load(output).structure
    match = match_sites(truth, ours)
    by_label = {a["new_label"]: a for a in atoms}
    published_h, placed_h = hydrogens_per_atom(truth), hydrogens_per_atom(ours)
    unjudged = unattached(truth)
    # [matched, right element] and [O/N/S judged, H count as published], outside PART and in
    elements = {"ordered": [0, 0], "part": [0, 0]}
    donors = {"ordered": [0, 0], "part": [0, 0]}
    wrong, differ, written = [], [], []
    for a, b in match.pairs:
        mine, theirs = ours.sites[b], truth.sites[a]
        where = "part" if theirs.part else "ordered"
        elements[where][0] += 1
        elements[where][1] += mine.element == theirs.element
        if mine.element != theirs.element:
            wrong.append(_wrong(theirs, mine, by_label.get(mine.label, {})))
        if theirs.element in DONORS and theirs.label not in unjudged:
            # a centred H (hydrogen maleate's O···H···O) lies nearer either O by chance
            count = by_label.get(mine.label, {}).get("h_count", placed_h[mine.label])
            donors[where][0] += 1
            donors[where][1] += count == published_h[theirs.label]
            if count != published_h[theirs.label]:
                differ.append([theirs.label, published_h[theirs.label], count, theirs.part])
            # the H the output .res puts there, images included (a water on a 2-fold axis
            # written with two whole H of its own carries four), against the count it claims
            if placed_h[mine.label] != count and count == published_h[theirs.label]:
                written.append([mine.label, count, placed_h[mine.label], b])
    if differ:  # which of the published H the data argue against, looked at only when needed
        _doubt(differ, truth, read_reflections(hkl, loaded.reflection_format()))
    n_part = sum(1 for s in truth.sites if s.part and not is_hydrogen(s.element))
    return {
        "n_reference": match.n_reference,
        "n_part": n_part,
        "n_found": match.n_found,
        "metals": sorted({s.element for s in truth.sites if is_metal(s.element)}),
        "elements": elements,
        "wrong": wrong,
        "donors": donors,
        "donors_differ": differ,
        "h_written_differ": _unshared(ours, written),
        "metal_h": _metal_h(ours, placed_h, atoms),
        "published_metal_h": [
            f"{s.label} {published_h[s.label]:g}"
            for s in truth.sites
            if is_metal(s.element) and published_h.get(s.label)
        ],
    }


def _unshared(ours, written: list[list]) -> list[list]:
    """[label, count, written] of the O/N/S whose written H differ from their count, but for
    pairs within SHARED_HBOND_MAX of each other whose differences cancel: the centred H of a
    short hydrogen bond (hydrogen maleate's O···H···O) lies nearer either O by chance."""
    index = {row[3]: row for row in written}
    paired = set()
    for i, contacts in zip(index, neighbours(ours, SHARED_HBOND_MAX, centres=list(index))):
        for c in contacts:
            if (
                c.j in index
                and c.j != i
                and (index[i][2] - index[i][1]) == -(index[c.j][2] - index[c.j][1])
            ):
                paired |= {i, c.j}
    return [row[:3] for row in written if row[3] not in paired]


def _wrong(theirs, mine, atom: dict) -> dict:
    evidence = atom.get("evidence") or {}
    return {
        "label": theirs.label,
        "published": theirs.element,
        "ours": mine.element,
        "part": theirs.part,
        "probabilities": ", ".join(f"{e} {p:.2f}" for e, p in atom.get("probabilities", [])),
        "evidence": "; ".join(
            x for x in (evidence.get("summary"), evidence.get("reason"), atom.get("note")) if x
        ),
    }


def _metal_h(ours, our_h: dict[str, float], atoms: list[dict]) -> list[str]:
    """Metals of the output with H bonded to them in the .res, or an H count or HFIX code in
    the job's answer."""
    found = {text.split()[0]: text for text in metals_with_h(ours, our_h)}
    for atom in atoms:
        if is_metal(atom["element"]) and (atom.get("h_count") or atom.get("hfix")):
            found.setdefault(
                atom["new_label"],
                f"{atom['new_label']} h_count {atom.get('h_count')} HFIX {atom.get('hfix')}",
            )
    return sorted(found.values())


def _doubt(differ: list[list], truth, reflections) -> None:
    """Append to each [label, published, ours, part] the published H on that atom the data argue
    against (the hydrogen benchmark's doubtful list: the model without H refined as it refines
    it, its difference map), as 'H1 (why)' strings."""
    _, _, density = refined_without_h(truth, reflections)
    doubtful = doubtful_hydrogens(truth, density)
    pivot = {truth.sites[h].label: truth.sites[x].label for h, x in hydrogen_pivots(truth).items()}
    for item in differ:
        item.append([f"{h} ({why})" for h, why in doubtful.items() if pivot.get(h) == item[0]])


def supported(item: list) -> bool:
    """Whether a differing count counts against us: not when ours lacks only H the data argue
    against."""
    label, published, ours, part, doubtful = item
    return not (ours < published and published - ours <= len(doubtful))


def benchmark_entries(benchmark: Path) -> list[dict]:
    """Every entry with reflections: its published .res where it has one, else its CIF; whether
    disordered and whether its data are incomplete, each apart (source.json)."""
    found = []
    for entry in sorted(p for p in benchmark.iterdir() if (p / "data.hkl").is_file()):
        model = entry / "published.res"
        source = json.loads((entry / "source.json").read_text())
        found.append(
            {
                "name": entry.name,
                "model": model if model.is_file() else entry / "model.cif",
                "hkl": entry / "data.hkl",
                "published_r1": source.get("published_R1"),
                "disordered": bool(source.get("has_disorder")),
                "incomplete": incomplete_data(source),
            }
        )
    return found


def simulated_corpus_entries(corpus: Path, limit: int, skip: int, workdir: Path) -> list[dict]:
    """Ordered corpus structures with their H in the models' test split (never trained on),
    chosen as simulated_solve_benchmark chooses them after the first `skip`, half with a metal
    and half without, each with reflections simulated from it written as an .hkl."""
    tests = {e.name for e in corpus_entries(corpus) if split_of(e.name) == "test"}
    want = {True: (limit + 1) // 2, False: limit // 2}
    chosen = {True: [], False: []}
    for name, truth in choose(corpus, 4 * limit, max_atoms=60, offset=skip, only=tests):
        metal = any(is_metal(s.element) for s in truth.sites)
        if len(chosen[metal]) < want[metal]:
            chosen[metal].append((name, truth))
    found = []
    for name, truth in chosen[True] + chosen[False]:
        reflections, _, _ = simulated_data(truth, seeded_rng(name))
        scale = min(1.0, LARGEST_COUNT / float(np.max(reflections.intensities)))
        hkl = workdir / f"{Path(name).stem}.hkl"
        hkl.write_text(
            hkl_text(
                reflections.indices, reflections.intensities * scale, reflections.sigmas * scale
            )
        )
        found.append(
            {
                "name": Path(name).stem,
                "model": corpus / name,
                "hkl": hkl,
                "published_r1": None,
                "disordered": False,
                "incomplete": False,
            }
        )
    return found


# a CIF carrying its own reflections: a _refln loop (DDL1 or dotted) or SHELXL's embedded .hkl
_CARRIES_REFLECTIONS = re.compile(r"^[ \t]*_(refln[._]index_h|shelx_hkl_file)\b", re.I | re.M)
_PUBLISHED_R1 = re.compile(r"^[ \t]*_refine_ls[._]R_factor_gt[ \t]+([0-9.]+)", re.I | re.M)


def measured_entries(corpus: Path) -> list[dict]:
    """Every corpus CIF with its own measured reflections, as its own model and reflection
    file: its published R1 (_refine_ls_R_factor_gt), the corpus's disorder column, the models'
    split it falls in, and the probe it names where not X-ray (its data then count apart)."""
    disorder = {e.name: e.disorder for e in corpus_entries(corpus)}
    found = []
    for path in sorted(corpus.glob("*.cif")):
        text = path.read_text(errors="replace")
        if not _CARRIES_REFLECTIONS.search(text):
            continue
        r1 = _PUBLISHED_R1.search(text)
        try:
            loaded = load(path)
            probe = loaded.probe if loaded.not_xray else "x-ray"
        except Exception:  # the product's own run reports why it cannot read it
            probe = "x-ray"
        found.append(
            {
                "name": path.stem,
                "model": path,
                "hkl": path,
                "published_r1": float(r1.group(1)) if r1 else None,
                "disordered": disorder.get(path.name, "no") != "no",
                "incomplete": False,
                "split": split_of(path.name),
                "probe": probe,
            }
        )
    return found


def measured_markdown(rows: list[dict], cycles: int, source: str) -> str:
    """The table of every row, then the totals per split of the models for X-ray data, the
    files with other data apart, and the R1s far above the published ones."""
    title = (
        "`assign --hkl` on corpus CIFs with their own measured reflections "
        "(`benchmarks/refine_benchmark.py --measured`)"
    )
    text = markdown(rows, cycles, title, source, totals_of=lambda ok: [])
    lines = [text.rstrip("\n")]
    xray = [r for r in rows if r["probe"] == "x-ray"]
    for split in ("train", "val", "test"):
        group = [r for r in xray if r["split"] == split]
        ok = [r for r in group if r["exit"] == 0]
        lines.append(f"- **{split}** split, X-ray data: {len(ok)} of {len(group)} exit 0.")
        lines += totals(ok)
    lines.append(
        "- X-ray entries refused or far from the published R1 (1.5 times and 0.02 over it):"
    )
    for r in xray:
        if r["exit"]:
            lines.append(f"  - exit {r['exit']}: {r['entry']}: {r['error'] or '-'}")
        elif r["published_r1"] and r["r1"] > max(1.5 * r["published_r1"], r["published_r1"] + 0.02):
            lines.append(
                f"  - R1 far above the published: {r['entry']} {r['r1']:.4f} "
                f"(published {r['published_r1']:.4f})"
            )
    other = [r for r in rows if r["probe"] != "x-ray"]
    if other:
        lines.append(f"- not X-ray data ({len(other)}), counted apart:")
        for r in other:
            lines.append(
                f"  - {r['entry']} ({r['probe']}, {r['split']}): exit {r['exit']}, "
                f"{r['error'] or 'refined'}"
            )
    return "\n".join(lines) + "\n"


def markdown(rows: list[dict], cycles: int, title: str, source: str, totals_of=None) -> str:
    lines = [
        f"### {title}",
        "",
        f"Machine: {_cpu_name()}. {source} "
        f"`crystalx assign MODEL --hkl HKL --cycles {cycles}` in a fresh process (all stages: "
        "isotropic, elements weighed by the data, anisotropic, riding H, difference map). Peak "
        "RSS of that process. The output against the published model: non-H atoms matched "
        "within 0.5 Å (`compare.match_sites`, as the solve benchmark) and their elements, "
        "H counts on O, N and S (the job's count per atom against `hydrogens_per_atom` of the "
        "published model; atoms next to a published H bonded to no atom unjudged, as in the "
        "hydrogen benchmark), metals carrying H in the output .res or the job's answer; atoms "
        "of the published model's PARTs apart.",
        "",
        "| entry | input | exit | metals | non-H | matched | right element | PART: right "
        "| O/N/S H as published | PART: O/N/S H | metal H (published) | R1 | published R1 "
        "| wall (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        r1 = f"{r['r1']:.4f}" if "r1" in r else _reason(r["error"])
        cells = [""] * 8
        if "elements" in r:
            cells = [
                " ".join(r["metals"]) or "-",
                str(r["n_reference"]),
                str(r["n_found"]),
                _fraction(r["elements"]["ordered"]),
                _fraction(r["elements"]["part"]),
                _fraction(r["donors"]["ordered"]) + (" (not judged)" if r["incomplete"] else ""),
                _fraction(r["donors"]["part"]),
                f"{_listed(r['metal_h'])} ({_listed(r['published_metal_h'])})",
            ]
        published = "-" if r["published_r1"] is None else r["published_r1"]
        name = r["entry"] + (f" [{r['split']}]" if "split" in r else "")
        name += "" if r.get("probe", "x-ray") == "x-ray" else f" ({r['probe']})"
        lines.append(
            f"| {name}{' (disordered)' if r['disordered'] else ''} | {r['input']} | "
            f"{r['exit']} | {' | '.join(cells)} | {r1} | {published} | {r['seconds']:.1f} | "
            f"{r['peak_rss_mib']:.0f} |"
        )
    ok = [r for r in rows if r["exit"] == 0]
    lines += ["", *(totals_of or totals)(ok)]
    lines.append(
        f"- {len(ok)} of {len(rows)} entries exit 0; none exits 70 (internal error): "
        f"{'yes' if all(r['exit'] != 70 for r in rows) else 'NO'}."
    )
    return "\n".join(lines) + "\n"


def totals(ok: list[dict]) -> list[str]:
    """The summary lines, ordered and disordered entries apart, then every wrong element, H
    count and metal H listed. Entries with incomplete data have their H counts listed but not
    judged (the hydrogen benchmark leaves them out)."""
    lines = []
    for kind, group in (
        ("ordered entries", [r for r in ok if not r["disordered"]]),
        ("disordered entries", [r for r in ok if r["disordered"]]),
    ):
        if not group:
            continue
        judged = [r for r in group if not r["incomplete"]]
        text = (
            f"- {kind} ({len(group)}): {sum(r['n_found'] for r in group)}/"
            f"{sum(r['n_reference'] for r in group)} non-H atoms matched; right element "
            f"{_summed(group, 'elements', 'ordered')} outside PART"
        )
        if any(r["elements"]["part"][0] for r in group):
            text += f", {_summed(group, 'elements', 'part')} of the PART atoms"
        differ = [d for r in judged for d in r["donors_differ"] if not d[3]]
        against = sum(1 for d in differ if supported(d))
        n = sum(r["donors"]["ordered"][0] for r in judged)
        text += (
            "; H counts on O, N and S outside PART as published "
            f"{_summed(judged, 'donors', 'ordered')}, or short only of published H the data "
            f"argue against {n - against}/{n}{_share(n - against, n)}"
        )
        if any(r["donors"]["part"][0] for r in judged):
            text += f", on PART atoms {_summed(judged, 'donors', 'part')}"
        skipped = [r["entry"] for r in group if r["incomplete"]]
        if skipped:
            text += f" (H not judged on {', '.join(skipped)}: incomplete data)"
        text += (
            f"; metals with H {sum(len(r['metal_h']) for r in group)} (published "
            f"{sum(len(r['published_metal_h']) for r in group)})."
        )
        lines.append(text)
    for r in ok:
        for w in r["wrong"]:
            where = f"{w['label']} PART {w['part']}" if w["part"] else w["label"]
            lines.append(
                f"  - wrong element: {r['entry']} {where} {w['published']} → {w['ours']} "
                f"(model {w['probabilities']}; {w['evidence'] or '-'})"
            )
        for label, published, ours, part, doubtful in r["donors_differ"]:
            where = f"{label} PART {part}" if part else label
            why = f"; published H the data argue against: {', '.join(doubtful)}" if doubtful else ""
            lines.append(
                f"  - H count: {r['entry']} {where} published {published:g}, ours {ours:g}{why}"
            )
        for label, count, placed in r.get("h_written_differ", []):
            lines.append(
                f"  - H written: {r['entry']} {label} counted {count:g}, the output .res "
                f"carries {placed:g}"
            )
        for metal in r["metal_h"]:
            lines.append(f"  - metal with H: {r['entry']} {metal}")
    return lines


def _summed(rows: list[dict], field: str, where: str) -> str:
    """'right/all (share)' of [all, right] pairs summed over the rows."""
    whole = sum(r[field][where][0] for r in rows)
    part = sum(r[field][where][1] for r in rows)
    return f"{part}/{whole}{_share(part, whole)}"


# "crystalx: error: PATH (what in it):LINE: " before the reason of a refusal
_WHERE = re.compile(
    r"^(crystalx: error: )?\S+?(\.cif|\.hkl|\.res|\.ins|\.fcf)( \([^)]*\))?(:\d+)?: "
)


def _reason(error: str) -> str:
    """Why a run was refused, for a table cell: its one-line error without the program's
    prefix and the file's path (the row names the file), '|' kept from splitting the cell."""
    return (_WHERE.sub("", error) or "-").replace("|", "\\|")


def _fraction(pair: list[int]) -> str:
    return f"{pair[1]}/{pair[0]}" if pair[0] else "-"


def _share(part: int, whole: int) -> str:
    return f" ({100 * part / whole:.1f} %)" if whole else ""


def _revision() -> str:
    """'branch hash' of the checkout the figures come from."""
    git = ["git", "-C", str(REPO)]
    branch = subprocess.run([*git, "branch", "--show-current"], capture_output=True, text=True)
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"branch {branch.stdout.strip() or '?'} {commit.stdout.strip() or '?'}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", type=Path, nargs="?")
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--only", nargs="*", help="these entries alone (no table written)")
    parser.add_argument(
        "--corpus", type=Path, help="also ordered corpus structures with simulated reflections"
    )
    parser.add_argument(
        "--measured", type=Path, help="corpus CIFs with their own measured reflections, alone"
    )
    parser.add_argument("--corpus-limit", type=int, default=8)
    parser.add_argument(
        "--corpus-skip", type=int, default=0, help="leave out the first N corpus structures"
    )
    args = parser.parse_args(argv)
    if not (args.benchmark or args.measured):
        parser.error("a benchmark folder, or --measured CORPUS")
    failed = False
    with tempfile.TemporaryDirectory() as work:
        sections = []
        if args.benchmark:
            sections.append(
                (
                    "refine_benchmark",
                    "`assign --hkl` from the published models (`benchmarks/refine_benchmark.py`)",
                    "Every entry of `../shared/data/benchmark` with reflections, its published "
                    ".res (else its CIF):",
                    benchmark_entries,
                    args.benchmark,
                )
            )
        if args.corpus:
            sections.append(
                (
                    "refine_benchmark:corpus",
                    "`assign --hkl` from published corpus models, simulated reflections "
                    "(`benchmarks/refine_benchmark.py --corpus`)",
                    f"{args.corpus_limit} ordered corpus structures with H (half with a metal; "
                    f"simulated_solve_benchmark's order after the first {args.corpus_skip}), Fo² "
                    "simulated from the published model with H as that benchmark simulates them:",
                    lambda folder: simulated_corpus_entries(
                        folder, args.corpus_limit, args.corpus_skip, Path(work)
                    ),
                    args.corpus,
                )
            )
        if args.measured:
            sections.append(
                (
                    "refine_benchmark:measured",
                    "",
                    f"{_revision()}, `nice -n 10 python benchmarks/refine_benchmark.py "
                    f"--measured {args.measured} --cycles {args.cycles}`. Every corpus CIF with "
                    "its own measured reflections (a `_refln` loop or `_shelx_hkl_file`; "
                    "`_diffrn_standard_refln_index_h` alone names standard reflections, no data), "
                    "MODEL and HKL both that CIF, its `_refine_ls_R_factor_gt` as the published "
                    "R1; [split] is the models' split of the file (`training.sources.split_of`: "
                    "the models were trained on train):",
                    measured_entries,
                    args.measured,
                )
            )
        for section, title, source, entries_of, folder in sections:
            rows = []
            for entry in entries_of(folder):
                if args.only and entry["name"] not in args.only:
                    continue
                rows.append(run_entry(entry, args.cycles, Path(work)))
                print(json.dumps(rows[-1]), flush=True)
            failed |= any(r["exit"] for r in rows)
            if section == "refine_benchmark:measured":
                text = measured_markdown(rows, args.cycles, source)
            else:
                text = markdown(rows, args.cycles, title, source)
            print(text)
            if not args.only:
                write_section(text, section, args.output)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(REPO))
    sys.exit(main())
