"""Real reflection files from other labs, each with its model, through `crystalx assign MODEL
--hkl REFLECTIONS --json` in its own process (and with --solve `crystalx solve MODEL
REFLECTIONS`, from the reflections alone): exit code, R1 beside the R1 the file's own
refinement reported, the reflections used, the twin fractions, the first line of an error,
whether the input files' bytes changed, and the output set against the published model (non-H
atoms matched within 0.5 Å, allowed origin shifts included; of those, the right element, and
the published H count where the model has H). The files are kept outside the repository
(licences) in a folder with PAIRS.tsv (name, model, reflections, published R1 or '-') and
INDEX.tsv (where each came from).

    PYTHONPATH=. python benchmarks/real_reflections_sweep.py /work/realhkl --timeout 300 [--solve]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def pairs(folder: Path) -> list[tuple[str, Path, Path, str]]:
    """(name, model, reflections, published R1) from folder/PAIRS.tsv, '#' lines skipped."""
    rows = []
    for line in (folder / "PAIRS.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, model, reflections, published = line.split("\t")[:4]
            rows.append((name, folder / model, folder / reflections, published))
    return rows


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def against_published(model: Path, output: Path) -> dict:
    """The output model set against the published one: non-H atoms matched within 0.5 Å
    (compare.match_sites), of those the right element, and of those where the published model
    has H at all, the H count it gives (compare.hydrogens_per_atom on both models)."""
    import crystalx_core  # noqa: F401  (cctbx before gemmi)
    from crystalx_core.crystallography.compare import hydrogens_per_atom, match_sites
    from crystalx_core.elements import is_hydrogen
    from crystalx_core.io import load

    truth, ours = load(model).structure, load(output).structure
    match = match_sites(truth, ours)
    row = {"found": f"{match.n_found}/{match.n_reference}"}
    row["elements"] = f"{match.n_right_element}/{match.n_found}"
    if any(is_hydrogen(s.element) for s in truth.sites):
        published, placed = hydrogens_per_atom(truth), hydrogens_per_atom(ours)
        right = sum(
            round(published[truth.sites[a].label]) == round(placed[ours.sites[b].label])
            for a, b in match.pairs
        )
        row["h"] = f"{right}/{match.n_found}"
    return row


def run_one(model: Path, reflections: Path, timeout: int, job: str = "assign") -> dict:
    """One `crystalx assign` (or `solve`) run, niced, its outputs in a temporary folder."""
    before = _digest(model, reflections)
    with tempfile.TemporaryDirectory() as out:
        command = ["nice", "-n", "10", sys.executable, "-m", "crystalx_core.cli", job, str(model)]
        command += ["--hkl", str(reflections)] if job == "assign" else [str(reflections)]
        command += ["--json", "--quiet", "--out", f"{out}/result"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"rc": "timeout", "unchanged": _digest(model, reflections) == before}
        written = Path(f"{out}/result.res")
        compared = against_published(model, written) if written.exists() else {}
    row = {"rc": done.returncode, "unchanged": _digest(model, reflections) == before, **compared}
    try:  # the answer, also where the job ends 'no solution' (exit 5) with its refinement
        refinement = json.loads(done.stdout).get("refinement") or {}
    except json.JSONDecodeError:
        refinement = {}
    row.update(
        r1=refinement.get("r1"),
        n=refinement.get("n_reflections"),
        twin=refinement.get("twin_fractions"),
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        row["error"] = lines[-1] if lines else ""
        row["traceback"] = "Traceback" in done.stderr
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--jsonl", type=Path, help="also write one JSON line per pair here")
    parser.add_argument("--solve", action="store_true", help="also `crystalx solve` each pair")
    args = parser.parse_args(argv)
    print(
        "| file | job | exit | R1 | published R1 | reflections | twin fractions | "
        "atoms found | elements right | H as published | inputs unchanged |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name, model, reflections, published in pairs(args.folder):
        for job in ("assign", "solve") if args.solve else ("assign",):
            row = {"name": name, "job": job, "published_r1": published}
            row.update(run_one(model, reflections, args.timeout, job))
            rows.append(row)
            r1 = f"{row['r1']:.4f}" if row.get("r1") is not None else ""
            r1 = "; ".join(part for part in (r1, row.get("error", "")[:90]) if part)
            print(
                f"| {name} | {job} | {row['rc']} | {r1} | {published} | {row.get('n') or '-'} | "
                f"{row.get('twin') or '-'} | {row.get('found', '-')} | "
                f"{row.get('elements', '-')} | {row.get('h', '-')} | "
                f"{'yes' if row['unchanged'] else 'NO'} |",
                flush=True,
            )
    if args.jsonl:
        args.jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    bad = [r for r in rows if r.get("traceback") or r["rc"] == "timeout" or not r["unchanged"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
