"""Space groups from a powder pattern with a shipped ONNX model (no torch at run time).

Two models: "molecular" (random crystals in all 230 groups plus the molecular corpus, its
logits shifted by the corpus's class prior, which its sidecar carries) and "mof" (real CoRE
MOF frameworks, trained on their natural class frequencies; the shipped one is an ensemble, CSN and
the CNN baseline, whose probabilities are averaged: its sidecar names the second file)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from crystalx_core.errors import CrystalXError
from crystalx_core.pxrd.labels import N_SPACE_GROUPS, crystal_system, symbol
from crystalx_core.pxrd.simulate import GRID
from crystalx_core.runtime import MODEL_DIR, mean_probabilities, member_names, open_session

MODEL_PATH = MODEL_DIR / "pxrd_space_group.onnx"
MOF_MODEL_PATH = MODEL_DIR / "pxrd_space_group_mof.onnx"
KINDS = ("molecular", "mof")


def model_path(kind: str) -> Path:
    """The shipped model for molecular crystals or for MOFs."""
    if kind not in KINDS:
        raise CrystalXError(f"unknown model kind {kind!r}: one of {', '.join(KINDS)}")
    return MOF_MODEL_PATH if kind == "mof" else MODEL_PATH


@dataclass
class SpaceGroupGuess:
    number: int
    symbol: str
    crystal_system: str
    probability: float


@lru_cache(maxsize=4)
def model_sidecar(path: str) -> dict:
    """NAME.json beside the model ({} without one: a bare exported graph still runs), its
    members checked (runtime.member_names)."""
    import json

    sidecar = Path(path).with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        content = json.loads(sidecar.read_text())
        member_names(content)
    except (OSError, ValueError) as error:
        raise CrystalXError(f"unreadable model sidecar ({error})", str(sidecar)) from None
    return content


def prior_sharpness(path: str) -> float:
    """The factor the sidecar's prior multiplies the logits by before adding itself (1 when it
    gives none): an over-confident model's answer is trusted less against the prior."""
    return float(model_sidecar(path).get("prior", {}).get("sharpness", 1.0))


def log_prior(path: str) -> np.ndarray:
    """The class log-prior the sidecar asks to add to the logits (zeros when it has none):
    the model was trained on balanced classes, the patterns it reads come from a skewed
    population, and Bayes' rule moves the answer by the prior ratio."""
    prior = model_sidecar(path).get("prior")
    return (
        np.zeros(N_SPACE_GROUPS) if prior is None else np.asarray(prior["log_prior"], dtype=float)
    )


@lru_cache(maxsize=4)
def _sessions(path: str) -> list:
    """The model's session, then one per further member its sidecar names (an ensemble)."""
    members = member_names(model_sidecar(path))
    return [open_session(path)] + [open_session(Path(path).with_name(m)) for m in members]


def probabilities(
    patterns: np.ndarray,
    model: Path | None = None,
    prior: bool = True,
    metric: bool = True,
    evidence: np.ndarray | None = None,
) -> np.ndarray:
    """(batch, 230) space-group probabilities for patterns on GRID (maximum 1 each);
    `model` defaults to the shipped MODEL_PATH; prior=False leaves its sidecar's prior (and
    the sharpness that comes with it) out.
    An ensemble (members in the sidecar) answers the mean of its members' probabilities;
    a sidecar with "lattice_metric" weights then moves each crystal system by how well the
    peak positions index on its lattice (pxrd.metric; metric=False leaves that out;
    `evidence`, the patterns' evidence on the sidecar's `lattices` computed before, saves
    computing it again)."""
    patterns = np.atleast_2d(np.asarray(patterns, dtype=np.float32))
    if patterns.shape[1] != len(GRID) or not np.isfinite(patterns).all():
        raise CrystalXError(
            f"patterns must be finite and have {len(GRID)} points on the model grid"
        )
    path = str(model or MODEL_PATH)
    shift, scale = (log_prior(path), prior_sharpness(path)) if prior else (0.0, 1.0)
    p = mean_probabilities(
        [scale * session.run(None, {"pattern": patterns})[0] + shift for session in _sessions(path)]
    )
    step = model_sidecar(path).get("lattice_metric")
    if not metric or step is None:
        return p
    from crystalx_core.pxrd.metric import SYSTEMS, adjusted, evidence_matrix

    if evidence is None:
        evidence = evidence_matrix(patterns, lattices=lattices(path))
    weights = np.array([step["weights"][system] for system in SYSTEMS])
    return adjusted(p, evidence, weights, step.get("sharpness", 1.0))


def lattices(path: str) -> tuple[str, ...]:
    """The lattices whose evidence the sidecar's lattice step weighs (pxrd.metric.LATTICES
    when it names none)."""
    from crystalx_core.pxrd.metric import LATTICES

    return tuple(model_sidecar(path).get("lattice_metric", {}).get("lattices", LATTICES))


def _first_row(pattern: np.ndarray, model: Path | None) -> np.ndarray:
    """The pattern's probabilities (the keyword `probabilities` below hides the function)."""
    return probabilities(pattern, model)[0]


def top_space_groups(
    pattern: np.ndarray,
    top: int = 5,
    model: Path | None = None,
    probabilities: np.ndarray | None = None,
) -> list[SpaceGroupGuess]:
    """The `top` most likely groups; `probabilities`, the pattern's computed before, saves
    running the model again."""
    p = _first_row(pattern, model) if probabilities is None else probabilities
    best = np.argsort(p)[::-1][:top]
    return [
        SpaceGroupGuess(int(k) + 1, symbol(int(k) + 1), crystal_system(int(k) + 1), float(p[k]))
        for k in best
    ]


def crystal_system_probabilities(
    pattern: np.ndarray, model: Path | None = None, probabilities: np.ndarray | None = None
) -> dict[str, float]:
    """Probabilities summed per crystal system, most likely first (`probabilities` as for
    top_space_groups)."""
    p = _first_row(pattern, model) if probabilities is None else probabilities
    systems: dict[str, float] = {}
    for number in range(1, N_SPACE_GROUPS + 1):
        systems[crystal_system(number)] = systems.get(crystal_system(number), 0.0) + float(
            p[number - 1]
        )
    return dict(sorted(systems.items(), key=lambda item: -item[1]))
