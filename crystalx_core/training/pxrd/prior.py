"""Give a space-group model trained on balanced classes the class prior of real crystals:
the space-group frequencies of the training split's real structures (one count per
structure, add-SMOOTHING so no group is impossible) go into the model's sidecar, and
crystalx_core.pxrd.predict adds their logarithm to the logits (Bayes' rule: the balanced
training prior is uniform, so only the real prior is left). The logits are first multiplied by
a sharpness s (the inverse of a temperature, Guo et al. 2017) and the logarithm by a weight w,
both fitted by maximum likelihood on the validation split: top-1 over a grid of weights (kept
in the sidecar for the record, WEIGHTS) cannot tell apart weights that answer the same on a
few dozen structures, while the likelihood says how far an over-confident model is to be
trusted against the prior (s < 1: less). The model is read without a lattice step its sidecar
may carry (the step comes after the prior in predict.probabilities): refit the step
(lattice_weights) after the prior.

    python -m crystalx_core.training.pxrd.prior data/pxrd_corpus.npz
    onnx_models/pxrd_space_group.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from scipy.optimize import minimize

from crystalx_core.pxrd.labels import N_SPACE_GROUPS
from crystalx_core.runtime import softmax
from crystalx_core.training.pxrd.dataset import is_real, load

SMOOTHING = 0.5  # pseudo-count per space group
WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
BOUNDS = ((0.02, 5.0), (0.0, 6.0))  # sharpness, weight


def class_log_prior(
    labels: np.ndarray, names: np.ndarray, smoothing: float = SMOOTHING
) -> tuple[np.ndarray, int]:
    """log frequencies over the 230 groups of the real (not random or packed) structures, and
    their count."""
    real = {str(n): int(l) for n, l in zip(names, labels) if is_real(n)}
    counts = np.bincount(
        np.array(list(real.values()), dtype=int) - 1, minlength=N_SPACE_GROUPS
    ).astype(float)
    prior = (counts + smoothing) / (counts.sum() + smoothing * N_SPACE_GROUPS)
    return np.log(prior), len(real)


def weight_scores(
    log_p: np.ndarray, labels: np.ndarray, log_prior: np.ndarray, weights=WEIGHTS
) -> dict[float, tuple[float, float]]:
    """{weight: (top-1, top-2)} on these patterns for each prior weight of `weights` (kept in
    the sidecar for the record; the weight itself is fitted by likelihood, `calibrated`)."""
    truth = labels.astype(int) - 1
    scored = {}
    for weight in weights:
        ranked = np.argsort(-(log_p + weight * log_prior), axis=1)[:, :2]
        scored[weight] = (
            float(np.mean(ranked[:, 0] == truth)),
            float(np.mean((ranked == truth[:, None]).any(axis=1))),
        )
    return scored


def best_weight(
    log_p: np.ndarray, labels: np.ndarray, log_prior: np.ndarray, weights=WEIGHTS
) -> tuple[float, dict]:
    """The weight of `weights` with the best (top-1, top-2) and every weight's scores (for
    diagnose: where the prior helps a model, not how it is fitted)."""
    scored = weight_scores(log_p, labels, log_prior, weights)
    return max(scored, key=lambda w: scored[w]), scored


def calibrated(log_p: np.ndarray, labels: np.ndarray, log_prior: np.ndarray) -> tuple[float, float]:
    """The sharpness s and prior weight w that maximise the likelihood of the labels under
    softmax(s · log p + w · log prior) (log p: the model's log-probabilities without the
    prior; for a single model the same ranking as its logits, for an ensemble the log of its
    members' mean probabilities)."""
    truth = labels.astype(int) - 1
    rows = np.arange(len(truth))

    def loss(v):
        p = softmax(v[0] * log_p + v[1] * log_prior)
        residual = p.copy()
        residual[rows, truth] -= 1
        return -np.log(p[rows, truth] + 1e-12).sum(), np.array(
            [np.sum(residual * log_p), np.sum(residual * log_prior)]
        )

    result = minimize(loss, [1.0, 1.0], jac=True, method="L-BFGS-B", bounds=BOUNDS)
    return float(result.x[0]), float(result.x[1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", type=Path, help="pattern set whose train split gives the frequencies"
    )
    parser.add_argument(
        "model", type=Path, help="the model's .onnx; its .json sidecar is updated in place"
    )
    args = parser.parse_args(argv)
    from crystalx_core.pxrd.predict import probabilities

    data = load(args.data)
    log_prior, structures = class_log_prior(data["train_labels"], data["train_names"])
    log_p = np.log(
        probabilities(
            data["val_patterns"].astype(np.float32), args.model, prior=False, metric=False
        )
        + 1e-12
    )
    scored = weight_scores(log_p, data["val_labels"], log_prior)
    sharpness, weight = calibrated(log_p, data["val_labels"], log_prior)
    sidecar_path = args.model.with_suffix(".json")
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["prior"] = {
        "source": f"space groups of the {structures} real training structures in {args.data.name}",
        "smoothing": SMOOTHING,
        "sharpness": round(sharpness, 5),
        "weight": round(weight, 5),
        "fitted": f"maximum likelihood on the {len(log_p)} validation patterns",
        "validation_top1_top2": {str(w): s for w, s in scored.items()},
        "log_prior": [round(float(weight * v), 5) for v in log_prior],
    }
    sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n")
    top = np.argsort(-log_prior)[:3] + 1
    print(
        f"{structures} structures; commonest groups {', '.join(map(str, top))}; sharpness "
        f"{sharpness:.3f}, weight {weight:.3f} (validation top-1/top-2 per weight, sharpness 1: "
        f"{scored}); wrote {sidecar_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
