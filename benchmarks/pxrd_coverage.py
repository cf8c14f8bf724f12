"""How far do the space-group answers fall when a scan ends early (a lab's 5–30° or a MOF's
2–40°)? Held-out structures are simulated as training simulates them (molecular: the corpus's
test split, dataset.AUGMENTATIONS patterns each; MOF: the test half of a share of CoRE MOF,
mof.build), each pattern is cut to 5–U° for every upper limit U, read the product's way
(patterns.on_model_grid with no coverage floor, then predict.probabilities) and scored: top-1,
top-5 and crystal system first, beside always answering the training split's commonest
group(s) and system, and chance. A lower limit of 2° reads the same as 5°: the grid starts at 5°;
--lower 5 10 15 also measures scans that start later (10–U°, 15–U°), on the same patterns.

    python benchmarks/pxrd_coverage.py ../shared/data/corpus \
        --mof-wheel /work/realdata6/s23pxrdcover/core_mof-2019.1-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.errors import CrystalXError
from crystalx_core.pxrd import predict
from crystalx_core.pxrd.labels import N_SPACE_GROUPS, crystal_system
from crystalx_core.pxrd.patterns import Pattern, on_model_grid
from crystalx_core.pxrd.simulate import GRID, measured_like, sticks_from_xray

LIMITS = (12, 15, 20, 25, 30, 35, 40, 50, 60, 90)  # ° 2θ, Cu Kα


def corpus_split(corpus: Path, seed: int) -> tuple[dict, list[int]]:
    """The corpus's test-split patterns, drawn as dataset.build draws them, and the training
    split's labels (INDEX.tsv's)."""
    from crystalx_core.crystallography.convert import to_xray_structure
    from crystalx_core.training.pxrd.dataset import AUGMENTATIONS
    from crystalx_core.training.sources import corpus_entries, split_of

    rng = np.random.default_rng(seed)
    test = {"patterns": [], "labels": [], "names": []}
    for entry in corpus_entries(corpus):
        if split_of(entry.name) != "test":
            continue
        try:
            xs = to_xray_structure(entry.load())
            sticks = sticks_from_xray(xs, two_theta_max=float(GRID[-1]) + 1.0)
        except (CrystalXError, RuntimeError, ValueError):
            continue  # as dataset.build skips them
        if len(sticks.two_theta) == 0:
            continue
        for _ in range(AUGMENTATIONS["test"]):
            test["patterns"].append(measured_like(sticks, rng))
            test["labels"].append(xs.space_group_info().type().number())
            test["names"].append(entry.name)
    with open(corpus / "INDEX.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    train = [int(r["spacegroup_number"]) for r in rows if split_of(r["file"]) == "train"]
    return test, train


def mof_split(wheel: Path, share: float, seed: int) -> tuple[dict, list[int]]:
    """The test-half patterns of a `share` of CoRE MOF (mof.build's) and its training labels."""
    from crystalx_core.training.pxrd import mof

    data, _ = mof.build(wheel, share=(0.0, share), seed=seed)
    return data["test"], data["train"]["labels"]


def inside(lower: float, upper: float) -> np.ndarray:
    """The grid points a lower–upper° scan covers."""
    return (GRID >= lower - 1e-9) & (GRID <= upper + 1e-9)


def cut(patterns: np.ndarray, upper: float, lower: float) -> np.ndarray:
    """Each pattern as a scan from `lower` to `upper`° would reach the model."""
    measured = inside(lower, upper)
    return np.stack(
        [
            on_model_grid(Pattern(GRID[measured], p[measured], "simulated"), min_coverage=0)
            for p in patterns
        ]
    )


def scores(p: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Top-1, top-5 and crystal-system-first rates."""
    order = np.argsort(p, axis=1)[:, ::-1][:, :5] + 1
    systems = np.array([crystal_system(n) for n in range(1, N_SPACE_GROUPS + 1)])
    names = np.unique(systems)
    per_system = np.stack([p[:, systems == s].sum(axis=1) for s in names], axis=1)
    first = names[per_system.argmax(axis=1)]
    truth = [crystal_system(int(n)) for n in labels]
    return (
        float(np.mean(order[:, 0] == labels)),
        float(np.mean([n in row for n, row in zip(labels, order)])),
        float(np.mean(first == np.array(truth))),
    )


def baseline(train: list[int], labels: np.ndarray) -> tuple[float, float, float]:
    """Always answering the training split's commonest group, five groups and system."""
    common = [n for n, _ in Counter(train).most_common(5)]
    system = Counter(crystal_system(int(n)) for n in train).most_common(1)[0][0]
    return (
        float(np.mean(labels == common[0])),
        float(np.mean(np.isin(labels, common))),
        float(np.mean([crystal_system(int(n)) == system for n in labels])),
    )


def table(kind: str, split: dict, train: list[int], lowers: list[float]) -> None:
    """One table per lower limit, on the same simulated patterns."""
    patterns = np.asarray(split["patterns"], dtype=np.float32)
    labels = np.asarray(split["labels"], dtype=int)
    structures = len(set(split["names"]))
    model = predict.model_path(kind)
    print(f"\n{kind} ({model.name}): {len(labels)} patterns of {structures} held-out structures")
    for lower in lowers:
        print(f"  {f'{lower:g}–U°':>6} {'covers':>7} {'top-1':>7} {'top-5':>7} {'system':>7}")
        for upper in [u for u in LIMITS if u > lower]:
            covers = float(np.mean(inside(lower, upper)))
            p = predict.probabilities(cut(patterns, upper, lower), model)
            one, five, system = scores(p, labels)
            print(f"  {upper:>5}° {covers:>6.1%} {one:>7.3f} {five:>7.3f} {system:>7.3f}")
    one, five, system = baseline(train, labels)
    print(f"  {'commonest':>14} {one:>7.3f} {five:>7.3f} {system:>7.3f}   (training split's)")
    print(f"  {'chance':>14} {1 / 230:>7.3f} {5 / 230:>7.3f} {1 / 7:>7.3f}")
    print(f"  (one pattern is {1 / len(labels):.3f} of the set)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--mof-wheel", type=Path, help="core_mof-2019.1 wheel (mof.fetch_wheel)")
    parser.add_argument("--mof-share", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--lower", type=float, nargs="+", default=[5.0], help="where the scans start (° 2θ)"
    )
    parser.add_argument("--kind", nargs="+", default=["molecular", "mof"], help="models to measure")
    args = parser.parse_args(argv)
    if "molecular" in args.kind:
        table("molecular", *corpus_split(args.corpus, args.seed), args.lower)
    if args.mof_wheel and "mof" in args.kind:
        table("mof", *mof_split(args.mof_wheel, args.mof_share, args.seed), args.lower)
    return 0


if __name__ == "__main__":
    sys.exit(main())
