"""Real reflection files from other labs, each with its model, through `crystalx assign MODEL
--hkl REFLECTIONS --json` in its own process: exit code, R1 beside the R1 the file's own
refinement reported, the reflections used, the twin fractions, the first line of an error, and
whether the input files' bytes changed. The files are kept outside the repository (licences)
in a folder with PAIRS.tsv (name, model, reflections, published R1 or '-') and INDEX.tsv (where
each came from).

    PYTHONPATH=. python benchmarks/real_reflections_sweep.py /work/realhkl --timeout 300
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


def run_one(model: Path, reflections: Path, timeout: int) -> dict:
    """One `crystalx assign` run, niced, its outputs in a temporary folder."""
    before = _digest(model, reflections)
    with tempfile.TemporaryDirectory() as out:
        command = ["nice", "-n", "10", sys.executable, "-m", "crystalx_core.cli", "assign"]
        command += [str(model), "--hkl", str(reflections), "--json", "--quiet"]
        command += ["--out", f"{out}/result"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"rc": "timeout", "unchanged": _digest(model, reflections) == before}
    row = {"rc": done.returncode, "unchanged": _digest(model, reflections) == before}
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
    args = parser.parse_args(argv)
    print("| file | exit | R1 | published R1 | reflections | twin fractions | inputs unchanged |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name, model, reflections, published in pairs(args.folder):
        row = {"name": name, "published_r1": published, **run_one(model, reflections, args.timeout)}
        rows.append(row)
        r1 = f"{row['r1']:.4f}" if row.get("r1") is not None else ""
        r1 = "; ".join(part for part in (r1, row.get("error", "")[:90]) if part)
        print(
            f"| {name} | {row['rc']} | {r1} | {published} | {row.get('n') or '-'} | "
            f"{row.get('twin') or '-'} | {'yes' if row['unchanged'] else 'NO'} |"
        )
    if args.jsonl:
        args.jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    bad = [r for r in rows if r.get("traceback") or r["rc"] == "timeout" or not r["unchanged"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
