"""Does any weighing of what we have beat always answering the commonest group on real
molecular crystals? Each combination of the space-group models (their log-probabilities
without prior or lattice step), the corpus training split's class log-prior
(training.pxrd.prior) and, optionally, the lattice evidence of the peak positions
(pxrd.metric, all four lattices, moving the triclinic and orthorhombic groups against the
monoclinic ones, the systems molecular crystals mostly take) is scored as

    softmax(Σ a_m · log p_m + c · log prior + Σ_s W[s] · evidence / SCALE on system s's groups)

with a_m, c ≥ 0 and W fitted by maximum likelihood (W with the L2 penalty of
lattice_weights) on one split (validation; `--fit-split train` for models that never saw the
corpus, e.g. the MOF ensemble, whose answers on the corpus training split are unbiased), then
measured on validation and test beside the majority answer. A tool for choosing, not a
shipped step: a combination is worth shipping only if it beats the majority on validation
and on test.

    python -m crystalx_core.training.pxrd.mix data/pxrd_corpus.npz runs/mix.json \
        mol=onnx_models/pxrd_space_group.onnx mof=onnx_models/pxrd_space_group_mof.onnx \
        --evidence runs/evidence_corpus
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from crystalx_core.pxrd.metric import (
    ALL_LATTICES,
    SCALE,
    SYSTEMS,
    evidence_matrix,
    system_of_groups,
)
from crystalx_core.runtime import softmax
from crystalx_core.training.pxrd.dataset import load
from crystalx_core.training.pxrd.lattice_weights import PENALTY
from crystalx_core.training.pxrd.prior import class_log_prior

MOVED = ("Triclinic", "Orthorhombic")  # systems the evidence moves (monoclinic: reference)
SPLITS = ("train", "val", "test")


def mixed_logits(weights: np.ndarray, bases: list[np.ndarray], evidence: np.ndarray | None):
    """(n, 230) Σ a_k · bases[k] + evidence / SCALE · W on the MOVED systems' groups (weights:
    the a_k, then W row by row, systems × lattices)."""
    z = sum(a * b for a, b in zip(weights, bases))
    if evidence is None:
        return z
    shape = (len(MOVED), evidence.shape[1])
    moved = weights[len(bases) :].reshape(shape)
    return z + (evidence / SCALE) @ moved.T @ _system_mask()


@functools.cache
def _system_mask() -> np.ndarray:
    """(MOVED, 230): 1 where the group belongs to that system (built once: the loss asks
    for it on every step)."""
    groups = system_of_groups()
    return np.stack([groups == SYSTEMS.index(s) for s in MOVED]).astype(float)


def fit(bases: list[np.ndarray], evidence: np.ndarray | None, labels: np.ndarray) -> np.ndarray:
    """The weights (see mixed_logits) that maximise the labels' likelihood, the evidence
    weights with lattice_weights' L2 penalty."""
    truth = labels.astype(int) - 1
    rows = np.arange(len(truth))
    n_moved = 0 if evidence is None else len(MOVED) * evidence.shape[1]

    def loss(v):
        p = softmax(mixed_logits(v, bases, evidence))
        residual = p.copy()
        residual[rows, truth] -= 1
        grad = [np.sum(residual * b) for b in bases]
        value = -np.log(p[rows, truth] + 1e-12).sum()
        if n_moved:
            moved = v[len(bases) :].reshape(len(MOVED), -1)
            per_system = residual @ _system_mask().T  # (n, MOVED)
            grad_w = per_system.T @ (evidence / SCALE) + 2 * PENALTY * moved
            grad = np.concatenate([grad, grad_w.ravel()])
            value += PENALTY * (moved**2).sum()
        return value, np.asarray(grad, dtype=float)

    start = np.concatenate([np.full(len(bases), 0.5), np.zeros(n_moved)])
    bounds = [(0.0, 10.0)] * len(bases) + [(None, None)] * n_moved
    return minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x


def measured(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Top-1/2/5 and crystal-system top-1 as shares and as pattern counts (margins of a
    pattern or two on a hundred are noise: the counts say how many)."""
    p = softmax(logits)
    truth = labels.astype(int) - 1
    ranked = np.argsort(-p, axis=1)
    groups = system_of_groups()
    per_system = p @ (groups[:, None] == np.arange(len(SYSTEMS)))
    hits = {
        "top1": ranked[:, 0] == truth,
        "top2": (ranked[:, :2] == truth[:, None]).any(axis=1),
        "top5": (ranked[:, :5] == truth[:, None]).any(axis=1),
        "crystal_system": per_system.argmax(axis=1) == groups[truth],
    }
    result = {k: round(float(v.mean()), 4) for k, v in hits.items()}
    result["patterns_right"] = {k: int(v.sum()) for k, v in hits.items()}
    result["nll"] = round(float(-np.log(p[np.arange(len(truth)), truth] + 1e-12).mean()), 4)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the corpus pattern set (dataset --per-group 0)")
    parser.add_argument("output", type=Path, help="JSON with every combination's figures")
    parser.add_argument("models", nargs="+", metavar="NAME=ONNX")
    parser.add_argument(
        "--evidence",
        type=Path,
        help="folder caching the lattice evidence per pattern set and split "
        "(DATASTEM_SPLIT_all.npy; computed when missing, about a second per pattern); "
        "without it no combination weighs evidence",
    )
    parser.add_argument("--fit-split", choices=("train", "val"), default="val")
    parser.add_argument(
        "--fit-every",
        type=int,
        default=1,
        help="fit on every Nth pattern of the train split (4: one per corpus training "
        "structure, a quarter of the evidence search)",
    )
    args = parser.parse_args(argv)
    if args.fit_every < 1:
        parser.error(f"--fit-every must be at least 1, not {args.fit_every}")
    if args.fit_every > 1 and args.fit_split == "val":
        parser.error("--fit-every thins the train split only (validation is also measured)")
    bad = [item for item in args.models if "=" not in item or item.startswith("=")]
    if bad:
        parser.error(f"model argument {bad[0]!r} is not NAME=ONNX")
    from crystalx_core.pxrd.predict import probabilities

    data = load(args.data)
    # the prior from every training structure, before the fit split is thinned
    log_prior, structures = class_log_prior(data["train_labels"], data["train_names"])
    if args.fit_every > 1:
        for key in ("patterns", "labels", "names"):
            data[f"train_{key}"] = data[f"train_{key}"][:: args.fit_every]
    every = f"_every{args.fit_every}" if args.fit_every > 1 else ""
    needed = sorted({args.fit_split, "val", "test"}, key=SPLITS.index)
    named = dict(item.split("=", 1) for item in args.models)
    log_p = {
        (name, split): np.log(
            probabilities(
                data[f"{split}_patterns"].astype(np.float32),
                Path(path),
                prior=False,
                metric=False,
            )
            + 1e-12
        )
        for name, path in named.items()
        for split in needed
    }
    evidence = {
        split: evidence_matrix(
            data[f"{split}_patterns"].astype(np.float32),
            args.evidence / f"{args.data.stem}_{split}{every if split == 'train' else ''}_all.npy",
            ALL_LATTICES,
        )
        for split in needed
        if args.evidence
    }
    rows = {}
    subsets = [()] + [c for k in range(1, len(named) + 1) for c in combinations(named, k)]
    for subset in subsets:
        for with_evidence in (False, True) if evidence else (False,):

            def bases(split, subset=subset):
                prior = np.tile(log_prior, (len(data[f"{split}_labels"]), 1))
                return [log_p[(name, split)] for name in subset] + [prior]

            chosen = (lambda split: evidence[split]) if with_evidence else (lambda split: None)
            weights = fit(
                bases(args.fit_split), chosen(args.fit_split), data[f"{args.fit_split}_labels"]
            )
            name = " + ".join([*subset, "prior"] + (["lattice evidence"] if with_evidence else []))
            rows[name] = {
                "weights": [round(float(w), 4) for w in weights],
                **{
                    split: measured(
                        mixed_logits(weights, bases(split), chosen(split)), data[f"{split}_labels"]
                    )
                    for split in ("val", "test")
                },
            }
    majority = int(np.argmax(log_prior)) + 1
    result = {
        "data": args.data.name,
        "models": named,
        "fitted_on": f"the {args.fit_split} split ({len(data[f'{args.fit_split}_labels'])} "
        + ("patterns)" if args.fit_every == 1 else f"patterns, every {args.fit_every}th)"),
        "prior": f"{structures} real training structures, commonest group {majority}",
        "weights": "model factors in order, prior factor, then W (MOVED systems x lattices)",
        "lattices": list(ALL_LATTICES) if evidence else [],
        "moved_systems": list(MOVED),
        "majority_top1": {
            s: round(float(np.mean(data[f"{s}_labels"].astype(int) == majority)), 4)
            for s in ("val", "test")
        },
        "combinations": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    for name, row in rows.items():
        print(f"{name:45s} val {row['val']['patterns_right']} test {row['test']['patterns_right']}")
    print(f"majority top-1: {result['majority_top1']}; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
