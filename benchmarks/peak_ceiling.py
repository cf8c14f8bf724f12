"""How close real atoms' peaks come to model.too_light's ceiling: no atom may be masked.

    python benchmarks/peak_ceiling.py ../shared/data/corpus --cache val_sims.pkl
    python benchmarks/peak_ceiling.py ../shared/data/benchmark --benchmark

Per map (evaluate's simulated validation solutions, through element_errors' cache; or the
benchmark entries' Fobs-map peaks, as element_stages reads them), each atom's peak over the
typical atom's (too_light's reference) divided by Z / Z_ref: too_light masks an element where
this passes TOO_STRONG. Prints the largest such ratio of a true atom, the atoms whose own
element is masked (must be none) and the peaks where some element is.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign import model as M
from crystalx_core.elements import atomic_number, symbol


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def maps(folder: Path, benchmark: bool, cache: Path | None):
    """(name, peaks, element per peak or None for no atom)."""
    if benchmark:
        for name, peaks, elements, _, _ in _script("element_stages")._benchmark_cases(folder):
            yield name, peaks, elements
        return
    for run in _script("element_errors").simulations(folder, "val", cache):
        targets = run["sim"].targets
        yield run["name"], run["sim"].structure, [symbol(z) if z else None for z in targets]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--benchmark", action="store_true", help="FOLDER is shared/data/benchmark")
    parser.add_argument("--cache", type=Path, help="element_errors' simulations (pickle)")
    args = parser.parse_args(argv)
    classes = M.load_model(str(M.MODEL_DIR), "heavy").classes
    worst, masked, fired, atoms = (0.0, ""), [], 0, 0
    for name, peaks, elements in maps(args.folder, args.benchmark, args.cache):
        heights = [s.peak_height if s.is_peak else None for s in peaks.sites]
        allowed = M._allowed_classes(peaks, classes)
        n = sum(M._formula(peaks, classes)[0].values())
        light = M.too_light(heights, classes, allowed, n)
        fired += int(light.any(axis=1).sum())
        values = np.array(heights, dtype=float)
        typical = np.median(np.sort(values)[::-1][: int(round(n)) if n >= 1 else len(values)])
        z_ref = min(atomic_number(c) for c, a in zip(classes, allowed) if a and c != M.NOT_AN_ATOM)
        for k, element in enumerate(elements):
            if element is None or element not in classes:
                continue
            atoms += 1
            ratio = values[k] / typical / (atomic_number(element) / z_ref)
            worst = max(worst, (float(ratio), f"{name} {element}"))
            if light[k, classes.index(element)]:
                masked.append(f"{name} {element}")
    print(
        f"{atoms} atoms; largest peak over the typical atom's, per Z/Z_ref: {worst[0]:.2f} "
        f"({worst[1]}), TOO_STRONG {M.TOO_STRONG}; atoms whose own element is masked: "
        f"{len(masked)} {masked[:5]}; peaks with an element masked: {fired}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
