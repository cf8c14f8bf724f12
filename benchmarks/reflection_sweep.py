"""Every reflection source in ../shared/data read as a job reads it, one JSON line each: the
benchmark's data.hkl, and each benchmark model.cif and corpus CIF that carries reflections
(`crystalx assign X.cif --hkl X.cif` reads them through Loaded.read). Run on two revisions and
compare (`--compare A B`): a source may read differently only where it was refused before.

    PYTHONPATH=REV python benchmarks/reflection_sweep.py ../shared/data > REV.jsonl
    python benchmarks/reflection_sweep.py --compare before.jsonl after.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np

_CARRIES = re.compile(
    r"^[ \t]*_((diffrn_)?refln[._]index_h|shelx_hkl_file|iucr_refine_fcf_details)\b",
    re.I | re.M,
)


def _digest(reflections) -> str:
    """A hash of the indices, Fo² and σ as read (the notes aside)."""
    h = hashlib.sha256()
    for array in (reflections.indices, reflections.intensities, reflections.sigmas):
        h.update(np.ascontiguousarray(array, dtype=float).tobytes())
    return h.hexdigest()[:16]


def sweep(data: Path) -> list[dict]:
    import crystalx_core  # noqa: F401  (cctbx before gemmi)
    from crystalx_core.errors import InputError
    from crystalx_core.io import load, read_reflections

    sources = sorted((data / "benchmark").glob("*/data.hkl"))
    sources += [
        p
        for p in sorted((data / "benchmark").glob("*/model.cif"))
        + sorted((data / "corpus").glob("*.cif"))
        if _CARRIES.search(p.read_text(errors="replace"))
    ]
    rows = []
    for path in sources:
        name = str(path.relative_to(data))
        try:
            if path.suffix == ".hkl":
                reflections = read_reflections(path)
            else:
                reflections = load(path).read(path)
        except InputError as error:
            rows.append({"source": name, "error": error.one_line().replace(str(data), "DATA")})
            continue
        rows.append(
            {
                "source": name,
                "n": len(reflections),
                "digest": _digest(reflections),
                "notes": reflections.notes,
            }
        )
    return rows


def compare(before: Path, after: Path) -> int:
    """Each source that reads differently; 1 where one read before reads differently now."""
    old = {r["source"]: r for r in map(json.loads, before.read_text().splitlines())}
    new = {r["source"]: r for r in map(json.loads, after.read_text().splitlines())}
    bad = 0
    for source in sorted(old.keys() | new.keys()):
        a, b = old.get(source), new.get(source)
        if a is None or b is None:
            print(f"{source}: only in {'after' if a is None else 'before'}")
            bad += 1
            continue
        if a.get("digest") == b.get("digest") and a.get("error") == b.get("error"):
            same = "same" if a.get("notes") == b.get("notes") else "same data, notes differ"
            print(f"{source}: {same} ({a.get('n', a.get('error'))})")
            continue
        was_refused = "error" in a
        print(
            f"{source}: {'REFUSED BEFORE, now ' if was_refused else 'DIFFERS: '}"
            f"{b.get('error') or str(b['n']) + ' reflections'}"
            f" (before: {a.get('error') or str(a['n']) + ' reflections'})"
        )
        bad += not was_refused
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="?")
    parser.add_argument("--compare", nargs=2, type=Path)
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    for row in sweep(args.data):
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
