"""End-to-end `crystalx solve` on real published data; writes a table to docs/benchmarks.md.

For every entry of the benchmark folder the starting .ins holds only the published cell,
symmetry and formula (what data reduction gives a user), never the published atoms. The
result is compared with the published model: non-H atoms found within 0.5 Å (allowed
origin shifts and enantiomorph included), the share of those with the right element,
final R1 against the published R1, and wall time.

    python benchmarks/solve_benchmark.py ../shared/data/benchmark --method baseline
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

REPO = Path(__file__).resolve().parents[1]


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
    parser.add_argument("benchmark_dir", type=Path)
    parser.add_argument("--method", default="baseline")
    parser.add_argument("--entries", nargs="*", help="only these entry names")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
