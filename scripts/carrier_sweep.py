"""Sweep the benchmark through the service's `assign` as the Olex2 plugin sends a model: every
../shared/data/benchmark/*/published.res, its non-H atoms and its H with their PART and AFIX
(tests/test_service.py's snapshot_of + with_olex2s_hydrogens). Writes, per structure, each
site's answer (h_kept, hfix, h_count, note) and the `hadd` commands as JSON, so that two
checkouts can be compared. With --strip-parts, once per PART that holds H, that PART's H
left out (a user who placed the H of one alternative only):

    PYTHONPATH=/work/main python scripts/carrier_sweep.py main.json [--strip-parts]
    PYTHONPATH=$PWD python scripts/carrier_sweep.py branch.json [--strip-parts]
    python scripts/carrier_sweep.py --diff main.json branch.json
"""

from __future__ import annotations

import json
import pathlib
import sys


def sweep(out: str, strip_parts: bool = False) -> None:
    from crystalx_core.elements import is_hydrogen
    from crystalx_core.io.shelx_read import read_shelx
    from tests.conftest import BENCHMARK

    found = {}
    for path in sorted(BENCHMARK.glob("*/published.res")):
        published = read_shelx(path).to_structure()
        cases = {path.parent.name: published}
        if strip_parts:
            h_parts = sorted({s.part for s in published.sites if is_hydrogen(s.element) and s.part})
            cases = {
                f"{path.parent.name} PART {part}": published.with_sites(
                    [s for s in published.sites if not (is_hydrogen(s.element) and s.part == part)]
                )
                for part in h_parts
            }
        for name, given in cases.items():
            found[name] = _answer(given, published)
    pathlib.Path(out).write_text(json.dumps(found, indent=1))


def _answer(given, published) -> dict:
    """The service's answer for `published`'s non-H atoms with `given`'s H."""
    from tests.test_service import answer, request, snapshot_of, with_olex2s_hydrogens

    snapshot = with_olex2s_hydrogens(given, snapshot_of(published, peaks=False))
    result = answer(request("assign", {"structure": snapshot}))["result"]
    return {
        "sites": {
            s["label"]: [bool(s.get("h_kept")), s["hfix"], s["h_count"], s.get("note", "")]
            for s in result["sites"]
        },
        "hadd": [c for c in result["commands"] if c.startswith("hadd")],
    }


def diff(before: str, after: str) -> None:
    old, new = (json.loads(pathlib.Path(p).read_text()) for p in (before, after))
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, {"sites": {}, "hadd": []}), new.get(name, {"sites": {}, "hadd": []})
        for label in sorted(set(a["sites"]) | set(b["sites"])):
            x, y = a["sites"].get(label), b["sites"].get(label)
            if x != y:
                print(f"{name}\t{label}\t{x}\t->\t{y}")
        if a["hadd"] != b["hadd"]:
            print(f"{name}\thadd\t{a['hadd']}\t->\t{b['hadd']}")


if __name__ == "__main__":
    if sys.argv[1] == "--diff":
        diff(sys.argv[2], sys.argv[3])
    else:
        sweep(sys.argv[1], "--strip-parts" in sys.argv[2:])
