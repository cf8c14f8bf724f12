"""End-to-end `crystalx solve` on real published data; writes a table to docs/benchmarks.md.

For every entry of the benchmark folder the starting .ins holds only the published cell,
symmetry and formula (what data reduction gives a user), never the published atoms. The
result is compared with the published model: non-H atoms found within 0.5 Å (allowed
origin shifts and enantiomorph included), the share of those with the right element,
final R1 against the published R1, and wall time.

    python benchmarks/solve_benchmark.py ../shared/data/benchmark --method baseline
    python benchmarks/solve_benchmark.py --corpus-measured ../shared/data/corpus --method model

With `--corpus-measured`, every corpus CIF that carries measured reflections (a _refln loop of
Fo², I or F, or SHELXL's _shelx_hkl_file) is solved as a user would solve it: a fresh .ins with
the CIF's cell, symmetry and formula times Z (SFAC/UNIT), and the CIF itself named as the
reflection file, `crystalx solve x.ins x.cif` in a fresh process; the output is set against the
published model as refine_benchmark sets `assign --hkl` against it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.crystallography.compare import match_sites, metals_with_h
from crystalx_core.errors import CrystalXError
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.io.shelx_write import new_ins_text
from crystalx_core.pipeline import solve_job
from crystalx_core.training.sources import split_of

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # refine_benchmark, wherever run from


def run_entry(entry: Path, method: str, workdir: Path) -> dict:
    source = json.loads((entry / "source.json").read_text())
    reference = read_cif(entry / "model.cif").structure
    start = reference.with_sites([])  # cell, symmetry, SFAC/UNIT only
    ins_path = workdir / f"{entry.name}.ins"
    ins_path.write_text(new_ins_text(start))
    row = {
        "entry": entry.name,
        "formula": source.get("formula", ""),
        "n_nonH": source.get("n_atoms_nonH"),
        "published_r1": source.get("published_R1"),
        "disorder": source.get("has_disorder"),
    }
    t0 = time.perf_counter()
    try:
        result = solve_job(
            read_shelx(ins_path).to_structure(), read_hkl(entry / "data.hkl"), method
        )
    except CrystalXError as error:
        row.update(status=f"failed: {error.message}", seconds=time.perf_counter() - t0)
        return row
    except Exception as error:  # noqa: BLE001  (record the crash, go on with the next entry)
        row.update(
            status=f"crashed: {type(error).__name__}: {error}", seconds=time.perf_counter() - t0
        )
        return row
    row["seconds"] = time.perf_counter() - t0
    match = match_sites(reference, result.structure)
    row.update(
        status="no solution (reported)" if result.failure else "ok",
        failure=result.failure,
        found=match.found_fraction,
        right_element=match.element_fraction,
        n_reference=match.n_reference,
        n_found=match.n_found,
        n_right=match.n_right_element,
        rms=match.rms,
        r1=result.final.r1 if result.final else None,
        n_h_placed=sum(1 for s in result.structure.sites if s.element == "H"),
        metal_h=metals_with_h(result.structure),
        published_metal_h=metals_with_h(reference),
    )
    return row


# a data name that starts a CIF's reflections: a _refln loop (DDL1 or DDLm), SHELXL's embedded .hkl
# or the .fcf an IUCr CIF embeds
_REFLECTIONS = re.compile(
    rb"^[ \t]*(_refln[._]index_h|_shelx_hkl_file|_iucr_refine_fcf_details)\b", re.M | re.I
)


def measured_files(corpus: Path) -> list[Path]:
    """The corpus CIFs that carry reflections of their own (a _diffrn_standard_refln loop is
    no such thing)."""
    return sorted(p for p in corpus.glob("*.cif") if _REFLECTIONS.search(p.read_bytes()))


def user_start(structure):
    """What a user starts from: cell, symmetry, and SFAC/UNIT from the formula times Z where
    the CIF gives both (else the published sites' contents, as read_cif counts them); no
    atoms. Returns the structure and where UNIT came from."""
    start = structure.with_sites([])
    formula, z = structure.formula, structure.formula_units
    if not formula or not z:
        return start, "sites"
    order = sorted(formula, key=lambda el: ({"C": 0, "H": 1}.get(el, 2), el))
    start.sfac, start.unit = order, [round(formula[el] * z, 4) for el in order]
    return start, "formula × Z"


def run_measured(path: Path, method: str, workdir: Path, max_atoms: int) -> dict:
    """`crystalx solve` on one corpus CIF's measured reflections in a fresh process, from the
    .ins user_start writes; the output set against the published model (refine_benchmark's
    compare) with the published atoms it missed."""
    from refine_benchmark import _CHILD, compare  # imports this module: here, not at the top

    entry = read_cif(path)
    reference = entry.structure
    non_h = [s for s in reference.sites if s.element not in ("H", "D")]
    row = {
        "entry": path.stem,
        "split": split_of(path.name),
        "probe": entry.probe,
        "formula": " ".join(f"{el}{n:g}" for el, n in reference.formula.items()),
        "n_nonH": len(non_h),
        "disorder": any(s.part for s in reference.sites),
        "published_r1": entry.published_r1,
        "exit": None,
        "seconds": 0.0,
    }
    if len(non_h) > max_atoms:
        row["error"] = f"skipped: {len(non_h)} non-H atoms (over --max-atoms {max_atoms})"
        return row
    start, row["unit_from"] = user_start(reference)
    ins = workdir / f"{path.stem}.ins"
    ins.write_text(new_ins_text(start))
    out = workdir / f"{path.stem}_solved"
    command = [sys.executable, "-c", _CHILD, "solve", str(ins), str(path), "--method", method]
    command += ["--json", "--quiet", "--out", str(out)]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    row["seconds"] = time.perf_counter() - t0
    messages = [m for m in done.stderr.strip().splitlines() if not m.isdigit()]
    line = messages[-1].replace(f"{workdir}/", "") if done.returncode and messages else ""
    row.update(exit=done.returncode, error=line)
    if done.returncode not in (0, 5):  # 5: no solution, the files written for a look
        return row
    result = json.loads(done.stdout)
    row.update(r1=result["refinement"]["r1"], failure=result.get("failure"))
    output = Path(result["files"]["res"])
    try:
        row.update(compare(path, output, result["atoms"], path))
    except CrystalXError as error:  # the published H judged against data the product refused
        row["compare_error"] = error.message
        return row
    match = match_sites(reference, read_shelx(output).to_structure())
    paired = {a for a, _ in match.pairs}
    row["missed"] = [
        s.label
        for i, s in enumerate(reference.sites)
        if s.element not in ("H", "D") and i not in paired
    ]
    return row


def markdown(rows: list[dict], method: str) -> str:
    cpu = _cpu_name()
    lines = [
        f"### `crystalx solve --method {method}` on `shared/data/benchmark`",
        "",
        f"Machine: {cpu}, Python {platform.python_version()}. "
        "Command: `python benchmarks/solve_benchmark.py ../shared/data/benchmark --method "
        f"{method}`.",
        "",
        "| entry | formula | non-H | disorder | found ≤ 0.5 Å | right element | R1 | published R1 "
        "| time (s) | status |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            (
                "| {entry} | {formula} | {n_nonH} | {dis} | {found} | {elem} | {r1} | {pub} "
                "| {sec:.1f} | {status} |"
            ).format(
                entry=r["entry"],
                formula=r["formula"],
                n_nonH=r["n_nonH"],
                dis="yes" if r["disorder"] else "no",
                found=_pct(r.get("found")),
                elem=_pct(r.get("right_element")),
                r1=_num(r.get("r1")),
                pub=_num(r.get("published_r1")),
                sec=r["seconds"],
                status=r["status"],
            )
        )
    ok = [r for r in rows if "found" in r]  # every job that finished, reported solutions or not
    if ok:
        published = [r for r in ok if r.get("published_r1")]
        lines += [
            "",
            f"Finished {len(ok)}/{len(rows)}; mean found "
            f"{_pct(sum(r['found'] for r in ok) / len(ok), 1)}, "
            f"mean right element {_pct(sum(r['right_element'] for r in ok) / len(ok), 1)}; "
            "all finished entries together: "
            f"{sum(r['n_found'] for r in ok)}/{sum(r['n_reference'] for r in ok)} "
            f"atoms found, {sum(r['n_right'] for r in ok)}/{sum(r['n_found'] for r in ok)} of them "
            "with the "
            f"right element; R1 over the published R1, mean of {len(published)} entries: "
            f"{sum(r['r1'] / r['published_r1'] for r in published) / max(len(published), 1):.2f}; "
            f"total time {sum(r['seconds'] for r in rows):.0f} s. Entries with R1 over 0.20 "
            f"reported as a success: {sum(1 for r in ok if r['r1'] > 0.20 and not r['failure'])}; "
            f"reported as no solution: {sum(1 for r in ok if r['failure'])}. Metals carrying H: "
            f"{_listed([m for r in ok for m in r['metal_h']])} (published: "
            f"{_listed([m for r in ok for m in r['published_metal_h']])}).",
        ]
    return "\n".join(lines) + "\n"


def measured_markdown(rows: list[dict], method: str, command: str, machine: str) -> str:
    """The measured-data table, then totals per split for X-ray data and the rest apart."""
    from refine_benchmark import _fraction, _summed

    lines = [
        f"### `crystalx solve --method {method}` on the corpus's measured reflections",
        "",
        f"Machine: {_cpu_name()}, Python {platform.python_version()}. {machine} Command: "
        f"`{command}`. Input: a fresh .ins (cell, symmetry, SFAC/UNIT from the CIF's formula × Z) "
        "and the CIF named as the reflection file, `crystalx solve x.ins x.cif` in a fresh "
        "process. Matched: published non-H atoms within 0.5 Å of ours (origin shifts and "
        "enantiomorph allowed); right element outside PART and in PART; H counts on O, N and S "
        "as published (refine_benchmark's compare); split: the models' train/val/test by "
        "file-name hash (`training.sources.split_of`; the models saw the train files).",
        "",
        "| entry | split | probe | non-H | exit | matched | right element | PART: right "
        "| missed | O/N/S H as published | metal H (published) | R1 | published R1 | time (s) "
        "| line |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        compared = "elements" in r
        cells = (
            [
                str(r["n_found"]),
                _fraction(r["elements"]["ordered"]),
                _fraction(r["elements"]["part"]),
                " ".join(r["missed"]) or "-",
                _fraction(r["donors"]["ordered"]),
                f"{_listed(r['metal_h'])} ({_listed(r['published_metal_h'])})",
            ]
            if compared
            else ["-"] * 6
        )
        line = r.get("error") or r.get("failure") or r.get("compare_error") or ""
        lines.append(
            f"| {r['entry']}{' (disordered)' if r['disorder'] else ''} | {r['split']} | "
            f"{r['probe']} | {r['n_nonH']} | {'-' if r['exit'] is None else r['exit']} | "
            f"{' | '.join(cells)} | {_num(r.get('r1'))} | {_num(r['published_r1'])} | "
            f"{r['seconds']:.1f} | {line[:120]} |"
        )
    lines.append("")
    xray = [r for r in rows if r["probe"] == "x-ray"]
    for split in ("train", "val", "test", "all"):
        group = [r for r in xray if split in ("all", r["split"])]
        done = [r for r in group if "elements" in r]
        if not group:
            continue
        refused = sum(r["exit"] not in (None, 0, 5, 70) for r in group)
        lines.append(
            f"- X-ray, {split} ({len(group)} file{'s' * (len(group) != 1)}): exit 0: "
            f"{sum(r['exit'] == 0 for r in group)}, no solution (exit 5): "
            f"{sum(r['exit'] == 5 for r in group)}, refused by one line: {refused}, internal "
            f"error (exit 70): {sum(r['exit'] == 70 for r in group)}, skipped: "
            f"{sum(r['exit'] is None for r in group)}"
            + (
                f"; {sum(r['n_found'] for r in done)}/{sum(r['n_reference'] for r in done)} non-H "
                f"matched, right element {_summed(done, 'elements', 'ordered')} outside PART, "
                f"{_summed(done, 'elements', 'part')} in PART; O/N/S H as published "
                f"{_summed(done, 'donors', 'ordered')}; metals with H "
                f"{sum(len(r['metal_h']) for r in done)} (published "
                f"{sum(len(r['published_metal_h']) for r in done)})"
                if done
                else ""
            )
            + "."
        )
    other = [r for r in rows if r["probe"] != "x-ray"]
    if other:
        lines.append(
            "- not X-ray data (counted apart): "
            + "; ".join(f"{r['entry']} ({r['probe']}) exit {r['exit']}" for r in other)
            + "."
        )
    for r in rows:
        for w in r.get("wrong", []):
            where = f"{w['label']} PART {w['part']}" if w["part"] else w["label"]
            lines.append(
                f"  - wrong element: {r['entry']} {where} {w['published']} → {w['ours']} "
                f"(model {w['probabilities']}; {w['evidence'] or '-'})"
            )
        for label, published, ours, part, doubtful in r.get("donors_differ", []):
            why = f"; published H the data argue against: {', '.join(doubtful)}" if doubtful else ""
            lines.append(
                f"  - H count: {r['entry']} {label}{f' PART {part}' if part else ''} published "
                f"{published:g}, ours {ours:g}{why}"
            )
        for metal in r.get("metal_h", []):
            lines.append(f"  - metal with H: {r['entry']} {metal}")
    return "\n".join(lines) + "\n"


def write_section(text: str, name: str, path: Path) -> None:
    """Replace (or append) the section between this benchmark's markers, keeping the rest of the
    file."""
    start, end = f"<!-- {name} start -->", f"<!-- {name} end -->"
    old = (
        path.read_text()
        if path.exists()
        else "# Benchmarks\n\nFigures written by the scripts in `benchmarks/`.\n"
    )
    block = f"{start}\n{text}{end}\n"
    if start in old and end in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end) + 1 :]
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new)


def _listed(items: list[str]) -> str:
    return ", ".join(items) or "none"


def _pct(value, decimals: int = 0) -> str:
    return "-" if value is None else f"{100 * value:.{decimals}f} %"


def _num(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark_dir", type=Path, nargs="?")
    parser.add_argument("--method", default="baseline")
    parser.add_argument("--entries", nargs="*", help="only these entry names")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument(
        "--corpus-measured",
        type=Path,
        metavar="CORPUS",
        help="the corpus CIFs with measured reflections instead of the benchmark folder",
    )
    parser.add_argument("--max-atoms", type=int, default=80, help="skip larger (measured mode)")
    parser.add_argument("--machine", default="", help="said on the table's Machine line")
    args = parser.parse_args(argv)
    if (args.benchmark_dir is None) == (args.corpus_measured is None):
        parser.error("give the benchmark folder or --corpus-measured CORPUS, one of them")
    if args.corpus_measured is not None:
        return _main_measured(args)
    entries = sorted(p for p in args.benchmark_dir.iterdir() if (p / "model.cif").exists())
    if args.entries:
        entries = [p for p in entries if p.name in args.entries]
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for entry in entries:
            row = run_entry(entry, args.method, Path(workdir))
            rows.append(row)
            print(
                f"{row['entry']:<14} {row['status']:<8} found {_pct(row.get('found')):>5} "
                f"element {_pct(row.get('right_element')):>5} R1 {_num(row.get('r1'))} "
                f"(published {_num(row.get('published_r1'))}) {row['seconds']:.1f} s",
                flush=True,
            )
    write_section(markdown(rows, args.method), f"solve_benchmark:{args.method}", args.output)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.output}")
    return 0


def _main_measured(args) -> int:
    files = measured_files(args.corpus_measured)
    if args.entries:
        files = [p for p in files if p.stem in args.entries]
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for path in files:
            row = run_measured(path, args.method, Path(workdir), args.max_atoms)
            rows.append(row)
            print(
                f"{row['entry']:<40} {row['split']:<5} exit {row['exit']} matched "
                f"{row.get('n_found', '-')}/{row['n_nonH']} elements {row.get('elements')} "
                f"R1 {_num(row.get('r1'))} (published {_num(row['published_r1'])}) "
                f"{row['seconds']:.1f} s {row.get('error') or row.get('failure') or ''}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.entries:  # a partial run leaves the table as it is
        return 0
    command = (
        f"python benchmarks/solve_benchmark.py --corpus-measured {args.corpus_measured} "
        f"--method {args.method} --max-atoms {args.max_atoms}"
    )
    text = measured_markdown(rows, args.method, command, args.machine)
    write_section(text, "solve_benchmark:measured", args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
