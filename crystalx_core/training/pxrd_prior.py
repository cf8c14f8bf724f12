"""Give a space-group model trained on balanced classes the class prior of real crystals:
the space-group frequencies of the training split's real structures (one count per
structure, add-SMOOTHING so no group is impossible) go into the model's sidecar, and
crystalx_core.pxrd.predict adds their logarithm to the logits (Bayes' rule: the balanced
training prior is uniform, so only the real prior is left).

    python -m crystalx_core.training.pxrd_prior data/pxrd_corpus.npz onnx_models/pxrd_space_group.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from crystalx_core.pxrd.labels import N_SPACE_GROUPS
from crystalx_core.training.pxrd_dataset import load

SMOOTHING = 0.5  # pseudo-count per space group


def class_log_prior(labels: np.ndarray, names: np.ndarray, smoothing: float = SMOOTHING) -> tuple[np.ndarray, int]:
    """log frequencies over the 230 groups of the real (not random_*) structures, and their count."""
    real = {str(n): int(l) for n, l in zip(names, labels) if not str(n).startswith("random_")}
    counts = np.bincount(np.array(list(real.values()), dtype=int) - 1, minlength=N_SPACE_GROUPS).astype(float)
    prior = (counts + smoothing) / (counts.sum() + smoothing * N_SPACE_GROUPS)
    return np.log(prior), len(real)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="pattern set whose train split gives the frequencies")
    parser.add_argument("sidecar", type=Path, help="the model's .json sidecar, updated in place")
    args = parser.parse_args(argv)
    data = load(args.data)
    log_prior, structures = class_log_prior(data["train_labels"], data["train_names"])
    sidecar = json.loads(args.sidecar.read_text())
    sidecar["prior"] = {"source": f"space groups of the {structures} real training structures in {args.data.name}",
                        "smoothing": SMOOTHING, "log_prior": [round(float(v), 5) for v in log_prior]}
    args.sidecar.write_text(json.dumps(sidecar, indent=2) + "\n")
    top = np.argsort(-log_prior)[:3] + 1
    print(f"{structures} structures; commonest groups {', '.join(map(str, top))}; wrote {args.sidecar}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
