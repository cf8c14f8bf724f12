"""Calibration figures shared by the atoms models (training.atoms.calibrate) and the space-group
models (training.pxrd.diagnose, lattice_weights): negative log-likelihood, the temperature that
minimises it, and the expected calibration error. Targets are 0-based class indices."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from crystalx_core.runtime import softmax

BINS = 15  # equal-width confidence bins of the reliability table


def nll(log_probabilities: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    p = softmax(log_probabilities, temperature)[np.arange(len(targets)), targets]
    return float(-np.mean(np.log(np.clip(p, 1e-12, None))))


def fit_temperature(log_probabilities: np.ndarray, targets: np.ndarray) -> float:
    """The T > 0 of least negative log-likelihood (searched on log T)."""
    result = minimize_scalar(
        lambda t: nll(log_probabilities, targets, float(np.exp(t))),
        bounds=(np.log(0.1), np.log(10.0)),
        method="bounded",
    )
    return float(np.exp(result.x))


def reliability(probabilities: np.ndarray, targets: np.ndarray, bins: int = BINS) -> dict:
    """ECE and per-bin (confidence, accuracy, rows) of the most likely class."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == targets
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            conf, acc = float(confidence[inside].mean()), float(correct[inside].mean())
            ece += inside.mean() * abs(acc - conf)
            table.append({"confidence": conf, "accuracy": acc, "rows": int(inside.sum())})
    return {
        "ece": float(ece),
        "accuracy": float(correct.mean()),
        "rows": int(len(targets)),
        "bins": table,
    }
