"""The H counts `crystalx assign` gave the O bonded to two or more metals alone (and every O
and N) of corpus CIFs, against their published models, for runs of one or more versions.

    for f in CIFS; do n=$(basename $f .cif)
        PYTHONPATH=BEFORE crystalx assign $f --out RUNS/b/ --json --quiet > RUNS/before.$n.json
        PYTHONPATH=AFTER crystalx assign $f --out RUNS/a/ --json --quiet > RUNS/after.$n.json
    done
    python benchmarks/metal_oxygen_answers.py RUNS CIFS

Each RUNS/TAG.NAME.json is the job's answer for NAME.cif; the published count of each atom
is geometry.bonded_h_counts of the CIF's model, matched by label (the job keeps the input's).
Prints each metal-bridging O (metal bonds and kind as metal_oxygen_counts.kind) with the
published count and each run's, then how many are as published per run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import crystalx_core  # noqa: E402, F401  (cctbx before gemmi)
from crystalx_core.elements import is_hydrogen  # noqa: E402
from crystalx_core.geometry import bonded_h_counts, connectivity  # noqa: E402
from crystalx_core.io.cif import read_cif  # noqa: E402
from metal_oxygen_counts import kind  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, help="folder of TAG.NAME.json answers")
    parser.add_argument("cifs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    tags = sorted({p.name.split(".")[0] for p in args.runs.glob("*.json")})
    bridging = {t: 0 for t in tags}
    donors = {t: 0 for t in tags}
    n_bridging = n_donors = 0
    for cif in args.cifs:
        truth = read_cif(cif).structure
        heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
        published = dict(zip([s.label for s in heavy.sites], bonded_h_counts(truth)))
        answers = {}
        for t in tags:
            path = args.runs / f"{t}.{cif.stem}.json"
            atoms = json.loads(path.read_text())["atoms"] if path.is_file() else []
            answers[t] = {a["label"]: a["h_count"] for a in atoms}
        bonds = connectivity(heavy)
        for k, site in enumerate(heavy.sites):
            if site.element not in ("O", "N"):
                continue
            n_donors += 1
            for t in tags:
                donors[t] += answers[t].get(site.label) == published[site.label]
            found = kind(heavy, bonds[k]) if site.element == "O" else None
            if not found or found[0] < 2:
                continue
            n_bridging += 1
            line = [
                cif.stem,
                site.label,
                f"{found[0]} {found[1]}",
                f"published {published[site.label]}",
            ]
            for t in tags:
                line.append(f"{t} {answers[t].get(site.label)}")
                bridging[t] += answers[t].get(site.label) == published[site.label]
            print("  ".join(line))
    for t in tags:
        print(
            f"{t}: metal-bridging O as published {bridging[t]}/{n_bridging}; "
            f"every O and N {donors[t]}/{n_donors}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
