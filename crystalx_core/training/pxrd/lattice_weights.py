"""Fit how much the lattice-metric evidence (crystalx_core.pxrd.metric) moves a space-group
model's answer, and store it in the model's sidecar for crystalx_core.pxrd.predict.

Each crystal system's groups get s · log-probability + W[system] · features (the evidence, the
log of the model's probability per system, 1; metric.features): a linear softmax layer over
the seven systems on top of the model (s, one sharpness, is the inverse of a temperature: the
ensemble is over-confident), fitted by maximum likelihood with an
L2 penalty on the validation split (the training split is memorised by the model, its
probabilities too sure to weigh evidence against). Whether it helps is judged by FOLDS-fold
cross-validation on that split, so the test split still measures a model chosen without it.

    python -m crystalx_core.training.pxrd.lattice_weights data/pxrd_mof.npz \
        onnx_models/pxrd_space_group_mof.onnx [--evidence runs/val_evidence.npy] [--write]
    python -m crystalx_core.training.pxrd.lattice_weights data/pxrd_corpus.npz \
        onnx_models/pxrd_space_group.onnx --lattices orthorhombic   (molecular crystals: measured,
        not shipped, as it did not help on validation; README)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from crystalx_core.pxrd.metric import (
    ALL_LATTICES,
    LATTICES,
    SYSTEMS,
    adjusted,
    evidence_matrix,
    features,
    system_of_groups,
)
from crystalx_core.runtime import softmax
from crystalx_core.training.calibration import nll, reliability
from crystalx_core.training.pxrd.dataset import load
from crystalx_core.training.pxrd.diagnose import ECE_BINS

PENALTY = 1.0  # L2 on the weights, per pattern-summed NLL
FOLDS = 5


def fit(
    probabilities: np.ndarray, evidence: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray]:
    """The sharpness s (1 / temperature) and (systems, FEATURES) weights W that maximise the
    likelihood of the labels under softmax(s · log p + W[system] · metric.features)."""
    truth = labels.astype(int) - 1
    log_p = np.log(probabilities + 1e-12)
    x = features(probabilities, evidence)
    systems = system_of_groups()
    shape = (len(SYSTEMS), x.shape[1])
    rows = np.arange(len(truth))

    def loss(flat):
        sharpness, w = flat[0], flat[1:].reshape(shape)
        p = softmax(sharpness * log_p + (x @ w.T)[:, systems])
        value = -np.log(p[rows, truth] + 1e-12).sum() + PENALTY * (flat[1:] ** 2).sum()
        residual = p.copy()
        residual[rows, truth] -= 1
        per_system = np.zeros((len(truth), len(SYSTEMS)))
        np.add.at(per_system.T, systems, residual.T)
        grad_w = per_system.T @ x + 2 * PENALTY * w
        return value, np.concatenate([[np.sum(residual * log_p)], grad_w.ravel()])

    start = np.concatenate([[1.0], np.zeros(np.prod(shape))])
    bounds = [(0.2, 5.0)] + [(None, None)] * int(np.prod(shape))
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return float(result.x[0]), result.x[1:].reshape(shape)


def fold_of(count: int, folds: int = FOLDS, seed: int = 0, groups=None) -> np.ndarray:
    """The fold of each of `count` patterns: `groups` (a structure's name per pattern) keeps
    every pattern of one structure in one fold, else the patterns of a held-out structure's
    twin would be fitted on and the cross-validated score would flatter the step."""
    if groups is not None and len(groups) != count:
        raise ValueError(f"{len(groups)} group names for {count} patterns")
    keys = np.unique(groups, return_inverse=True)[1] if groups is not None else np.arange(count)
    order = np.random.default_rng(seed).permutation(int(keys.max()) + 1 if count else 0)
    fold = np.empty(len(order), dtype=int)
    fold[order] = np.arange(len(order)) % folds
    return fold[keys]


def cross_validated(
    probabilities, evidence, labels, folds: int = FOLDS, seed: int = 0, groups=None
) -> dict:
    """Top-1, top-2, NLL and ECE without and with the adjustment, each fold's weights fitted on
    the other folds (folds by structure when `groups` names each pattern's: fold_of)."""
    truth = labels.astype(int)
    fold = fold_of(len(truth), folds, seed, groups)
    adjusted_p = np.zeros_like(probabilities)
    for k in range(folds):
        held = np.flatnonzero(fold == k)
        rest = np.flatnonzero(fold != k)
        sharpness, w = fit(probabilities[rest], evidence[rest], labels[rest])
        adjusted_p[held] = adjusted(probabilities[held], evidence[held], w, sharpness)

    def measured(p):
        ranked = np.argsort(-p, axis=1)[:, :2]
        return [
            round(float(np.mean(ranked[:, 0] == truth - 1)), 4),
            round(float(np.mean((ranked == truth[:, None] - 1).any(axis=1))), 4),
            round(nll(np.log(p + 1e-12), truth - 1, 1.0), 4),
            round(reliability(p, truth - 1, ECE_BINS)["ece"], 4),
        ]

    return {"without": measured(probabilities), "with": measured(adjusted_p)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("model", type=Path, help="the model's .onnx; --write updates its sidecar")
    parser.add_argument(
        "--evidence", type=Path, help="the validation patterns' evidence (.npy), cached"
    )
    parser.add_argument(
        "--lattices",
        nargs="+",
        choices=ALL_LATTICES,
        default=list(LATTICES),
        help="the lattices whose evidence is weighed (default: %(default)s)",
    )
    parser.add_argument("--write", action="store_true", help="store the weights in the sidecar")
    args = parser.parse_args(argv)
    args.lattices = list(dict.fromkeys(args.lattices))  # a lattice named twice is weighed once
    from crystalx_core.pxrd.predict import probabilities

    data = load(args.data)
    patterns, labels = data["val_patterns"].astype(np.float32), data["val_labels"]
    evidence = evidence_matrix(patterns, args.evidence, tuple(args.lattices))
    p = probabilities(patterns, args.model, metric=False)
    scores = cross_validated(p, evidence, labels, groups=data["val_names"])
    sharpness, weights = fit(p, evidence, labels)
    print(json.dumps({"validation (top-1, top-2, NLL, ECE), cross-validated": scores}))
    if args.write:
        sidecar_path = args.model.with_suffix(".json")
        sidecar = json.loads(sidecar_path.read_text())
        sidecar["lattice_metric"] = {
            "source": f"fitted on the {len(labels)} validation patterns of {args.data.name}",
            "lattices": list(args.lattices),
            "validation_top1_top2_nll_ece_cross_validated": scores,
            "folds": f"{FOLDS}, by structure",
            "sharpness": round(sharpness, 5),
            "weights": {s: [round(float(v), 5) for v in row] for s, row in zip(SYSTEMS, weights)},
        }
        sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n")
        print(f"wrote {sidecar_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
