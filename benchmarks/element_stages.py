"""Which stage of the element assignment changes each atom: right by the model, wrong in the answer.

    python benchmarks/element_stages.py corpus ../shared/data/corpus --split test --dump FILE
    python benchmarks/element_stages.py corpus ../shared/data/corpus --split train --seeds 7 \
        --noises 0.05 --dump FILE
    python benchmarks/element_stages.py benchmark ../shared/data/benchmark --dump FILE

Runs crystalx_core.assign.model.assign_model with a record of its stages and takes each
atom's class after: pass 1 restricted to SFAC, the strong-peak / refined-site rule, the
formula fit; the same for pass 2; covering every SFAC element; and, for comparison, pass 2
run from pass 1's most likely classes (the --no-formula path).
Corpus: evaluate's simulated solutions (seeds 7-9 at 0, 0.05, 0.1 Å extra noise; --seeds and
--noises take fewer, for the training split: 446 entries, 320 of them usable).
Benchmark: the published non-H atoms as Fobs-map peaks, as model_benchmark.py reads them.
Prints, per stage, how many atoms it turned right and wrong (all and the metal complexes), and
the atoms whose most likely class is right and answer wrong (and the reverse) by the last
stage of the answer's path that changed them;
--dump writes every atom some stage changed or the answer got wrong, with its classes and final
probabilities, and whether it lies on a special position (its peak's images within
PEAK_ON_SPECIAL) or stands for a disordered atom (PART or occupancy below one in the published
model).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign import model as M
from crystalx_core.elements import is_hydrogen, symbol
from crystalx_core.errors import CrystalXError

ORDER = ("p1_sfac", "p1_sites", "p1_formula", "p2_sfac", "p2_sites", "p2_formula", "cover")
# (before, after, name): an atom right at one and wrong at the other is counted for `name`
STEPS = (
    ("p1_sfac", "p1_sites", "strong-peak / refined-site rule (pass 1)"),
    ("p2_sfac", "p2_sites", "strong-peak / refined-site rule (pass 2)"),
    ("p2_sites", "p2_formula", "formula fit (pass 2)"),
    ("p2_formula", "cover", "cover every SFAC element"),
    ("no_formula", "p2_sites", "pass 2 from the formula's pass 1 (not its argmax)"),
    ("p1_sites", "p2_sites", "second pass"),
    ("no_formula", "cover", "most likely class -> answer"),
)


def last_change(names: dict[str, list[str]], k: int, element: str) -> str | None:
    """Where an atom that the model's most likely class (no_formula) has right ends wrong, or
    the reverse: the last stage of the answer's path (ORDER) that changed its rightness; pass
    2 of the model ("p2_sfac") when none did, for then only pass 2's input differed from the
    most likely path's (pass 1's formula answer instead of its argmax). None when the answer
    and the most likely class agree on it."""
    if (names["no_formula"][k] == element) == (names["cover"][k] == element):
        return None
    for before, after in reversed(list(zip(ORDER, ORDER[1:]))):
        if (names[before][k] == element) != (names[after][k] == element):
            return after
    return "p2_sfac"


def stages(structure) -> tuple[dict[str, list[str]], np.ndarray, list[str]]:
    """Class per non-H site after each stage (assign_model's record), the final
    probabilities, the classes. no_formula: pass 2 of the --no-formula path (penalty=None),
    which starts from pass 1's most likely classes."""
    record, plain = {}, {}
    M.assign_model(structure, record=record)
    M.assign_model(structure, penalty=None, record=plain)
    classes = record["classes"]
    out = {k: record[k] for k in ORDER} | {"no_formula": plain[f"p{M.PASSES}_sites"]}
    return {k: [classes[c] for c in v] for k, v in out.items()}, record["probabilities"], classes


def _corpus_cases(corpus: Path, split: str, seeds, noises):
    from crystalx_core.training.atoms.evaluate import (
        _name_number,
        is_metal_complex,
        test_structures,
    )
    from crystalx_core.training.atoms.simulate import SimulationSettings, simulate_peaks

    truths = test_structures(corpus, split)
    for noise in noises:
        for seed in seeds:
            for truth in truths:
                try:
                    sim = simulate_peaks(
                        truth,
                        SimulationSettings(extra_noise=noise),
                        np.random.default_rng([seed, _name_number(truth.source)]),
                    )
                except (
                    CrystalXError,
                    RuntimeError,
                    AssertionError,
                    ValueError,
                ) as error:  # as dataset
                    print(f"{truth.source}: skipped, no simulation: {error}", file=sys.stderr)
                    continue
                elements = [symbol(z) if z else M.NOT_AN_ATOM for z in sim.targets]
                name = f"{Path(truth.source).name} +{noise} seed {seed}"
                yield (
                    name,
                    sim.structure,
                    elements,
                    is_metal_complex(truth),
                    _kinds(sim.structure, truth),
                )


def _kinds(peaks, truth) -> list[dict]:
    """Per peak: on a special position (images within PEAK_ON_SPECIAL), and beside a disordered
    atom of the published model (PART or occupancy below one, within 0.5 Å)."""
    from crystalx_core.geometry import neighbours, site_multiplicities

    special = site_multiplicities(peaks, M.PEAK_ON_SPECIAL)
    heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
    both = truth.with_sites([*heavy, *peaks.sites])
    near = neighbours(both, 0.5, centres=list(range(len(heavy), len(both.sites))))
    return [
        {
            "special": special[k] < len(peaks.symops),
            "disordered": any(
                c.j < len(heavy) and (heavy[c.j].part != 0 or heavy[c.j].occupancy < 1)
                for c in near[k]
            ),
        }
        for k in range(len(peaks.sites))
    ]


def _benchmark_cases(folder: Path):
    from crystalx_core.crystallography.maps import fobs_peaks
    from crystalx_core.elements import is_metal
    from crystalx_core.io.cif import read_cif
    from crystalx_core.io.hkl import read_hkl

    for entry in sorted(p for p in folder.iterdir() if (p / "data.hkl").exists()):
        truth = read_cif(entry / "model.cif").structure
        heavy = [s for s in truth.sites if not is_hydrogen(s.element)]
        peaks = fobs_peaks(truth, read_hkl(entry / "data.hkl"))
        metal = any(is_metal(s.element) for s in heavy)
        yield entry.name, peaks, [s.element for s in heavy], metal, _kinds(peaks, truth)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("corpus", "benchmark"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", default="test", choices=("test", "val", "train"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--noises", type=float, nargs="+", default=[0.0, 0.05, 0.1])
    parser.add_argument("--dump", type=Path, help="JSON lines: every atom a stage changed")
    args = parser.parse_args(argv)
    cases = (
        _corpus_cases(args.folder, args.split, args.seeds, args.noises)
        if args.kind == "corpus"
        else _benchmark_cases(args.folder)
    )
    right, flips, turns = Counter(), Counter(), Counter()
    dump = args.dump.open("w") if args.dump else None
    for name, structure, truth, metal, kinds in cases:
        names, probabilities, classes = stages(structure)
        for k, element in enumerate(truth):
            if element == M.NOT_AN_ATOM:
                continue
            right["atoms"] += 1
            for stage in (*ORDER, "no_formula"):
                right[stage] += names[stage][k] == element
            for before, after, step in STEPS:
                was, now = names[before][k] == element, names[after][k] == element
                if was != now:
                    flips[step, "right" if now else "wrong"] += 1
                    flips[step, "right" if now else "wrong", "metal"] += metal
            stage = last_change(names, k, element)
            if stage:
                way = "right" if names["cover"][k] == element else "wrong"
                turns[way, stage, "special" if kinds[k]["special"] else "general"] += 1
                turns[way, stage, "metal" if metal else "no metal"] += 1
            seen = {names[s][k] for s in (*ORDER, "no_formula")}
            if dump and (len(seen) > 1 or names["cover"][k] != element):
                top = np.argsort(-probabilities[k])[:3]
                row = {"case": name, "site": k, "element": element, "metal": metal, **kinds[k]}
                row.update({s: names[s][k] for s in (*ORDER, "no_formula")})
                row["final"] = {classes[c]: round(float(probabilities[k, c]), 3) for c in top}
                dump.write(json.dumps(row) + "\n")
    atoms = right.pop("atoms")
    print(
        f"{atoms} atoms; right after each stage: " + ", ".join(f"{s} {n}" for s, n in right.items())
    )
    for _, _, step in STEPS:
        print(
            f"{step}: turned right {flips[step, 'right']} (metal {flips[step, 'right', 'metal']}), "
            f"turned wrong {flips[step, 'wrong']} (metal {flips[step, 'wrong', 'metal']})"
        )
    for way, label in (("wrong", "most likely right, answer wrong"), ("right", "the reverse")):
        print(f"{label}, by the last stage that changed it:")
        for stage in ORDER:
            n = {kind: turns[way, stage, kind] for kind in ("general", "special", "metal")}
            if n["general"] + n["special"]:
                print(
                    f"  {stage}: {n['general'] + n['special']} (special position {n['special']}, "
                    f"metal complex {n['metal']})"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
