"""Sites of real files with metals whose element `assign` keeps: the file's own elements are the
answer (published structures), so every site changed is one the assignment got wrong. Run it
with PYTHONPATH at two checkouts to see what a change does (s20bvs: the metals' bond valence).

    PYTHONPATH=$PWD python benchmarks/metal_sites.py /work/realfiles2/*/*.cif > branch.txt

Files without a metal, and files `assign` refuses, are listed as such and left out of the sums.
"""

from __future__ import annotations

import crystalx_core  # noqa: F401  (cctbx before gemmi)

import sys
from pathlib import Path

from crystalx_core.assign import assign
from crystalx_core.elements import is_hydrogen, is_metal
from crystalx_core.errors import CrystalXError
from crystalx_core.io import load


def kept_sites(path: Path) -> tuple[int, int, list[str]] | str:
    """(sites kept, non-H sites, 'label given→assigned' of each changed), or why none."""
    try:
        structure = load(str(path)).structure
        if not any(is_metal(s.element) for s in structure.sites):
            return "no metal"
        answer = assign(structure)
    except CrystalXError as error:
        return f"refused: {str(error).splitlines()[0][:120]}"
    given = {i: s.element for i, s in enumerate(structure.sites) if not is_hydrogen(s.element)}
    changed = [
        f"{s.label}:{given[s.index]}→{s.element}"
        for s in answer.sites
        if s.index in given and s.element != given[s.index]
    ]
    return len(given) - len(changed), len(given), changed


if __name__ == "__main__":
    kept = total = files = 0
    for name in sys.argv[1:]:
        result = kept_sites(Path(name))
        if isinstance(result, str):
            print(f"{name}: {result}", flush=True)
            continue
        files += 1
        kept, total = kept + result[0], total + result[1]
        print(f"{name}: {result[0]}/{result[1]} {' '.join(result[2])}", flush=True)
    print(f"{files} files with metals: {kept}/{total} sites keep their element")
