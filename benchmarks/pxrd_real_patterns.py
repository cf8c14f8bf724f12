"""`crystalx pxrd` on real measured powder patterns from other labs, against their published
space groups. The patterns are not in the repository (their owners' files): a folder holds them
with an INDEX.tsv whose columns include `file`, `number` (the published space group; blank where
the phase is not known: the file is only read), `crystal_system` and `wavelength_option` (blank:
the file's own wavelength, else Å, as a user would pass --wavelength), and may include `sha256`
(a file that differs is named). For each file and model kind it prints how the file was read,
where the published group ranks among the 230, whether it is in the top five, and the rank of
its crystal system; a file that cannot be read prints its one-line error.

    python benchmarks/pxrd_real_patterns.py /work/realpxrd/INDEX.tsv [--kind molecular mof]
    python benchmarks/pxrd_real_patterns.py benchmarks/pxrd_real_patterns2.tsv \\
        --folder /work/realpxrd2
"""

from __future__ import annotations

import argparse
import csv
import hashlib
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.errors import CrystalXError
from crystalx_core.pxrd import predict
from crystalx_core.pxrd.labels import crystal_system
from crystalx_core.pxrd.patterns import on_model_grid, read_pattern
from crystalx_core.pxrd.predict import crystal_system_probabilities


def ranks(p: np.ndarray, number: int) -> tuple[int, int, int]:
    """Rank of the group `number` (1 = first), rank of its crystal system, and the first
    group's number."""
    group_rank = int(np.sum(p > p[number - 1])) + 1
    systems = list(crystal_system_probabilities(None, probabilities=p))
    return group_rank, systems.index(crystal_system(number)) + 1, int(np.argmax(p)) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--kind", nargs="+", default=list(predict.KINDS))
    parser.add_argument("--folder", type=Path, help="where the files are (default: the index's)")
    args = parser.parse_args()
    folder = args.folder or args.index.parent
    with open(args.index, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    print("file | kind | read as | group rank | in top 5 | system rank | first")
    totals = {kind: [0, 0, 0] for kind in args.kind}  # files, top-5 hits, system first
    for row in rows:
        path = folder / row["file"]
        if row.get("sha256") and hashlib.sha256(path.read_bytes()).hexdigest() != row["sha256"]:
            print(f"{row['file']}: not the file the index records (sha256 differs)")
        number = int(row["number"]) if row.get("number") else None
        wavelength = float(row["wavelength_option"]) if row.get("wavelength_option") else None
        try:
            pattern = read_pattern(path, wavelength)
            grid = on_model_grid(pattern)
        except CrystalXError as error:
            print(f"{row['file']} | - | error: {error} | | | |")
            continue
        read_as = (
            f"{pattern.format}, λ {pattern.wavelength:g} Å, {len(pattern.two_theta)} points "
            f"{pattern.two_theta[0]:g}–{pattern.two_theta[-1]:g}°"
        )
        if number is None:
            print(f"{row['file']} | - | {read_as} | phase not known | | |")
            continue
        for kind in args.kind:
            p = predict.probabilities(grid, predict.model_path(kind))[0]
            group_rank, system_rank, first = ranks(p, number)
            totals[kind][0] += 1
            totals[kind][1] += group_rank <= 5
            totals[kind][2] += system_rank == 1
            print(
                f"{row['file']} | {kind} | {read_as} | {group_rank} | "
                f"{'yes' if group_rank <= 5 else 'no'} | {system_rank} | {first}"
            )
    for kind, (files, top5, system) in totals.items():
        print(
            f"{kind}: published group in the top five {top5}/{files}, crystal system first "
            f"{system}/{files}"
        )


if __name__ == "__main__":
    main()
