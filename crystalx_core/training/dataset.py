"""Build the training set from real structures: simulated solver peaks for the heavy-atom
model, true non-H atoms with their H counts for the hydrogen model.

    python -m crystalx_core.training.dataset ../shared/data/corpus data/train_set.pkl.gz

Each structure is split into train/val/test by a hash of its file name (never by atom),
so every augmentation of a structure lands in the same split.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import pickle
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign.baseline import assign_baseline
from crystalx_core.elements import atomic_number, is_hydrogen
from crystalx_core.errors import CrystalXError
from crystalx_core.features import build_graph
from crystalx_core.geometry import neighbours
from crystalx_core.io.cif import read_cif
from crystalx_core.structure import Structure
from crystalx_core.training.simulate import SimulationSettings, simulate_peaks

MAX_NON_H = 300  # larger asymmetric units are rare and dominate the training time
H_BOND_MAX = 1.3  # Å: H this close to a non-H atom counts as bonded to it (S–H ≈ 1.2 Å)
CONTEXT = 3.2  # Å: symmetry context both models see (the CrystalX paper's for hydrogens; for the
# heavy model a 5 Å context made CPU training ~8x slower for little extra information)
MAX_H = 4


@dataclass
class DatasetSummary:
    structures: Counter = field(default_factory=Counter)  # split → structures used
    skipped: Counter = field(default_factory=Counter)  # reason → structures
    heavy_samples: Counter = field(default_factory=Counter)
    elements: Counter = field(default_factory=Counter)  # element → atoms (train structures, once each)
    sources: Counter = field(default_factory=Counter)  # source tag → structures used


def split_of(name: str) -> str:
    """80/10/10 train/val/test by a stable hash of the structure's name."""
    bucket = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "val" if bucket == 1 else "train"


def h_counts(truth: Structure) -> list[int]:
    """Number of H atoms (any symmetry image) within bonding distance of each non-H site."""
    heavy = [i for i, s in enumerate(truth.sites) if not is_hydrogen(s.element)]
    contacts = neighbours(truth, H_BOND_MAX, centres=heavy)
    return [min(MAX_H, sum(1 for c in near if is_hydrogen(truth.sites[c.j].element))) for near in contacts]


def heavy_sample(truth: Structure, rng: np.random.Generator) -> dict:
    """One heavy-model example: peaks with baseline guesses in, true element (or 0) out."""
    sim = simulate_peaks(truth, SimulationSettings.random(rng), rng)
    assignment = assign_baseline(sim.structure).by_index()
    guesses = [atomic_number(assignment[i].element) if i in assignment else 0
               for i in range(len(sim.structure.sites))]
    graph = build_graph(sim.structure, guesses, context=CONTEXT)
    return {**_graph_arrays(graph), "y": np.asarray(sim.targets, dtype=np.int64), "sfac": list(truth.sfac)}


def hydrogen_sample(truth: Structure, rng: np.random.Generator, noise: float) -> dict:
    """One hydrogen-model example: non-H atoms with their elements in, H count per atom out."""
    counts = h_counts(truth)
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    if noise:
        jitter = rng.normal(0.0, noise / np.sqrt(3), (len(heavy.sites), 3))
        heavy = heavy.with_sites([
            _moved(heavy, site, delta) for site, delta in zip(heavy.sites, jitter)])
    graph = build_graph(heavy, [atomic_number(s.element) for s in heavy.sites], context=CONTEXT)
    return {**_graph_arrays(graph), "y": np.asarray(counts, dtype=np.int64)}


def _graph_arrays(graph) -> dict:
    """Compact storage: node indices fit int32; training widens them again."""
    return {"z": graph.z.astype(np.int8), "pos": graph.pos, "edge_index": graph.edge_index.astype(np.int32),
            "n_centre": graph.n_centre}


def _moved(structure: Structure, site, delta):
    from dataclasses import replace
    return replace(site, frac=tuple(structure.fractional(structure.cartesian(site.frac) + delta)))


def usable(entry_path: Path, index_row: dict) -> tuple[Structure | None, str]:
    """The structure, or None and why it is left out (disorder is skipped, not guessed at)."""
    if index_row.get("disorder", "no") != "no":
        return None, f"disorder ({index_row['disorder']})"
    try:
        truth = read_cif(entry_path).structure
    except CrystalXError as error:
        return None, f"unreadable: {error.message[:40]}"
    n_heavy = sum(1 for s in truth.sites if not is_hydrogen(s.element))
    if n_heavy > MAX_NON_H:
        return None, f"more than {MAX_NON_H} non-H atoms"
    if any(s.element == "D" for s in truth.sites):
        return None, "deuterated"
    return truth, ""


def build(corpus: Path, augmentations: int, seed: int, limit: int | None = None) -> tuple[dict, DatasetSummary]:
    rows = _index(corpus)
    data = {split: {"heavy": [], "hydrogen": []} for split in ("train", "val", "test")}
    summary = DatasetSummary()
    rng = np.random.default_rng(seed)
    for k, row in enumerate(rows[:limit]):
        truth, why = usable(corpus / row["file"], row)
        if truth is None:
            summary.skipped[why.split(":")[0]] += 1
            continue
        split = split_of(row["file"])
        try:
            heavy = [heavy_sample(truth, rng) for _ in range(augmentations)]
            hydrogen = [hydrogen_sample(truth, rng, noise) for noise in (0.0, 0.05)]
        except (CrystalXError, RuntimeError, AssertionError, ValueError) as error:
            summary.skipped[f"simulation failed ({type(error).__name__})"] += 1
            continue
        for sample in heavy + hydrogen:
            sample["name"] = row["file"]
        data[split]["heavy"] += heavy
        data[split]["hydrogen"] += hydrogen
        summary.structures[split] += 1
        summary.sources[row["file"].split("_")[0]] += 1
        summary.heavy_samples[split] += len(heavy)
        if split == "train":
            summary.elements.update(s.element for s in truth.sites)
        if (k + 1) % 50 == 0:
            print(f"{k + 1}/{len(rows)} structures read, {sum(summary.structures.values())} used", flush=True)
    return data, summary


def _index(corpus: Path) -> list[dict]:
    lines = (corpus / "INDEX.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line.strip()]


def save(data: dict, summary: DatasetSummary, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=1) as stream:  # level 9 takes minutes on edge lists
        pickle.dump(data, stream, protocol=pickle.HIGHEST_PROTOCOL)
    path.with_suffix("").with_suffix(".summary.json").write_text(json.dumps({
        "structures": summary.structures, "skipped": summary.skipped, "heavy_samples": summary.heavy_samples,
        "elements_in_train": dict(summary.elements.most_common()), "sources": summary.sources}, indent=1))


def load(path: Path) -> dict:
    with gzip.open(path, "rb") as stream:
        return pickle.load(stream)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder of CIFs with INDEX.tsv (shared/data/corpus)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--augmentations", type=int, default=6, help="simulated peak sets per structure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="only the first N structures (quick runs)")
    args = parser.parse_args(argv)
    data, summary = build(args.corpus, args.augmentations, args.seed, args.limit)
    save(data, summary, args.output)
    print(json.dumps({"structures": summary.structures, "skipped": summary.skipped}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
