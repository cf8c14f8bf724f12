"""Space groups from a powder pattern with the shipped ONNX model (no torch at run time)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from crystalx_core.errors import CrystalXError
from crystalx_core.pxrd.labels import N_SPACE_GROUPS, crystal_system, symbol
from crystalx_core.pxrd.simulate import GRID
from crystalx_core.runtime import MODEL_DIR, open_session

MODEL_PATH = MODEL_DIR / "pxrd_space_group.onnx"


@dataclass
class SpaceGroupGuess:
    number: int
    symbol: str
    crystal_system: str
    probability: float


@lru_cache(maxsize=4)
def _session(path: str):
    return open_session(path)


def probabilities(patterns: np.ndarray, model: Path | None = None) -> np.ndarray:
    """(batch, 230) space-group probabilities for patterns on GRID (maximum 1 each);
    `model` defaults to the shipped MODEL_PATH."""
    patterns = np.atleast_2d(np.asarray(patterns, dtype=np.float32))
    if patterns.shape[1] != len(GRID) or not np.isfinite(patterns).all():
        raise CrystalXError(f"patterns must be finite and have {len(GRID)} points on the model grid")
    (logits,) = _session(str(model or MODEL_PATH)).run(None, {"pattern": patterns})
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def top_space_groups(pattern: np.ndarray, top: int = 5, model: Path | None = None) -> list[SpaceGroupGuess]:
    p = probabilities(pattern, model)[0]
    best = np.argsort(p)[::-1][:top]
    return [SpaceGroupGuess(int(k) + 1, symbol(int(k) + 1), crystal_system(int(k) + 1), float(p[k])) for k in best]


def crystal_system_probabilities(pattern: np.ndarray, model: Path | None = None) -> dict[str, float]:
    """Probabilities summed per crystal system, most likely first."""
    p = probabilities(pattern, model)[0]
    systems: dict[str, float] = {}
    for number in range(1, N_SPACE_GROUPS + 1):
        systems[crystal_system(number)] = systems.get(crystal_system(number), 0.0) + float(p[number - 1])
    return dict(sorted(systems.items(), key=lambda item: -item[1]))
