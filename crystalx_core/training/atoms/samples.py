"""Stored training examples: the pickle a dataset build writes, its compact form without edges
(small enough to carry to an accelerator), and the checks every example passes. Free of
cctbx, so training runs where it is absent (see training/atoms/accelerator.py).
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

MAX_H = 4
# Å: an H this close to a non-H atom counts for its label, the same for every element: the
# training convention the shipped hydrogen model learnt (checkpoints/hydrogen), and the truth
# its evaluation and calibration compare with. The product reads a user's H with
# geometry.h_reach, longer for B, Si, P, S and heavier non-metals. With it 3 of the 11,325
# labels of the ordered corpus structures the shipped model learnt from would change (two P
# with their P–H, one S), 5 of 17,250 with the disordered ones' major parts (and two B of a
# bridged borane), and 1,326 of 3.0 million tmQM atoms (1 % of P, 4 % of Si, 1.3 % of B), which
# the hydrogen model never learnt from (benchmarks/h_reach_labels.py, docs/benchmarks.md). The
# job places no H on P or Si whatever the count (no HFIX geometry; it keeps a user's as
# refined), so the labels keep this reach; moving them to h_reach (for a model trained on tmQM)
# asks for the hydrogen model to be retrained with them.
TRAINING_H_REACH = 1.3
# Non-H neighbours of one node within the 5 Å cutoff: close packing of the densest crystals
# gives about 65, so more means atoms on top of each other (disorder the CIF does not mark,
# or a wrong cell). One such MOF graph had 1.5 million edges and took training to 24 GiB.
MAX_DEGREE = 100


def is_physical(sample: dict) -> bool:
    edges = sample["edge_index"]
    return edges.shape[1] == 0 or int(np.bincount(edges[1]).max()) <= MAX_DEGREE


def load(path: Path) -> dict:
    """A dataset; a compact one (see compact) gets its edges back for the given cutoff."""
    with gzip.open(path, "rb") as stream:
        data = pickle.load(stream)
    cutoff = data.pop("compact_cutoff", None)
    if cutoff is not None:
        from crystalx_core.features import radius_edges

        for split in data.values():
            for samples in split.values():
                for sample in samples:
                    sample["edge_index"] = radius_edges(sample["pos"], cutoff)
    return data


def compact(
    paths: list[Path], output: Path, kinds: tuple[str, ...] = ("heavy",), cutoff: float = 5.0
) -> dict:
    """Merge datasets into one without edge lists (a tenth of the size): load() rebuilds them,
    every node pair closer than `cutoff`, as features.build_graph made them."""
    merged: dict = {"compact_cutoff": cutoff}
    for path in paths:
        data = load(path)
        for split, by_kind in data.items():
            for kind in kinds:
                kept = merged.setdefault(split, {}).setdefault(kind, [])
                kept += [
                    {k: v for k, v in s.items() if k != "edge_index"} for s in by_kind.get(kind, [])
                ]
    with gzip.open(output, "wb", compresslevel=6) as stream:
        pickle.dump(merged, stream, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        split: {kind: len(v) for kind, v in by_kind.items()}
        for split, by_kind in merged.items()
        if split != "compact_cutoff"
    }


def main(argv=None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(
        description="Merge dataset builds into one compact file (no edge lists)."
    )
    parser.add_argument("output", type=Path)
    parser.add_argument("inputs", type=Path, nargs="+", help="builds of atoms.dataset")
    parser.add_argument("--kinds", nargs="+", default=["heavy"], choices=("heavy", "hydrogen"))
    args = parser.parse_args(argv)
    print(json.dumps(compact(args.inputs, args.output, tuple(args.kinds))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
