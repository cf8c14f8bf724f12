"""How well a powder pattern's low-angle peak positions index on a cubic, tetragonal,
hexagonal or orthorhombic lattice: the classical first step of powder indexing, which the
space-group models (that read the pattern as an image) do poorly; a cubic MOF is often called
monoclinic, an orthorhombic molecular crystal monoclinic or triclinic.

1/d² of every reflection is a linear form in the lattice's reciprocal metric: cubic
A·(h²+k²+l²), tetragonal A·(h²+k²) + C·l², hexagonal A·(4/3)(h²+hk+k²) + C·l², orthorhombic
A·h² + B·k² + C·l². Trial metrics come from assigning low indices to one (cubic), two
(tetragonal, hexagonal) or three (orthorhombic, as ITO and TREOR start) of the first observed
peaks, over a few zero shifts; each is scored by the log-likelihood ratio of the observed peak
positions under "every peak sits on a calculated line (Gaussian, POSITION_SIGMA), or is
spurious" against "peaks fall anywhere": a dense set of calculated lines explains anything and
scores near zero, so large cells and many parameters earn little. The best score per lattice
is the evidence (primitive lattices: a centred lattice's lines are a subset). The orthorhombic
search (ALL_LATTICES) is measured in evaluation only for now: no shipped sidecar's step names it.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations, product
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from crystalx_core.errors import InputError
from crystalx_core.pxrd.labels import N_SPACE_GROUPS, crystal_system
from crystalx_core.pxrd.simulate import CU_KALPHA, GRID
from crystalx_core.runtime import softmax

LATTICES = ("cubic", "tetragonal", "hexagonal")  # the default set (the MOF model's step)
ALL_LATTICES = LATTICES + ("orthorhombic",)
SYSTEMS = (
    "Triclinic",
    "Monoclinic",
    "Orthorhombic",
    "Tetragonal",
    "Trigonal",
    "Hexagonal",
    "Cubic",
)
SCALE = 10.0  # evidence is divided by this before it is weighed
FEATURES = len(LATTICES) + len(SYSTEMS) + 1  # what features() gives per pattern (LATTICES)
PEAKS = 15  # the lowest-angle peaks that are indexed
SMOOTHING = 0.7  # grid points: the Gaussian that keeps counting noise from making peaks
MIN_PROMINENCE = 0.02  # of the strongest peak (these two chosen on training patterns)
POSITION_SIGMA = 0.04  # ° 2θ: spread of an observed peak about its calculated line
SPURIOUS = 0.1  # share of peaks that belong to no line (impurities, noise)
# ° 2θ tried: the training patterns' range. A lab sample off the focusing circle can move its
# low-angle peaks 0.2-0.3° (xylib's Na2Co2TeO6 XRDML); shifts to ±0.3° with a cost beyond ±0.1°
# indexed that file but were neutral on displaced simulated patterns (docs/benchmarks.md,
# session 20, benchmarks/pxrd_displacement.py), so they are measured there, not shipped.
ZERO_SHIFTS = (-0.1, -0.05, 0.0, 0.05, 0.1)
TRIAL_PEAKS = 5  # trial metrics come from assigning indices to these first peaks
MAX_INDEX = 12
# Orthorhombic trials: indices 0, 1 or 2 on each axis for three of the first peaks; the axes
# are sorted (a ≤ b ≤ c: the same lines in another order) and no edge is over MAX_EDGE. The
# lines are searched up to the h and k each trial's edges reach at the last peak (k ≈ 12 for a
# 40 Å edge at 25° 2θ), not to a fixed index.
MAX_EDGE = 40.0  # Å
ORTHO_CHUNK = 4000  # trials scored at once (memory)


def peak_positions(pattern: np.ndarray, grid: np.ndarray = GRID) -> np.ndarray:
    """2θ of the first PEAKS peaks of the lightly smoothed pattern (prominence over
    MIN_PROMINENCE of the maximum), each refined by a parabola through its top three points."""
    y = gaussian_filter1d(np.asarray(pattern, dtype=float), SMOOTHING)
    found, _ = find_peaks(y, prominence=MIN_PROMINENCE * max(float(y.max()), 1e-12))
    found = found[(found > 0) & (found < len(y) - 1)][:PEAKS]
    left, mid, right = y[found - 1], y[found], y[found + 1]
    curvature = left - 2 * mid + right
    offset = np.where(
        curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, 1), 0
    )
    step = float(grid[1] - grid[0])
    return grid[found] + np.clip(offset, -0.5, 0.5) * step


def _q(two_theta: np.ndarray) -> np.ndarray:
    """1/d² (Å⁻²) at 2θ (degrees), Cu Kα."""
    return (2 * np.sin(np.radians(two_theta) / 2) / CU_KALPHA) ** 2


@lru_cache(maxsize=None)
def index_values(lattice: str) -> tuple[np.ndarray, float, int]:
    """The sorted distinct values of the first index form (cubic h²+k²+l², tetragonal h²+k²,
    hexagonal h²+hk+k², zero included), its factor in 1/d², and the largest l (0: cubic)."""
    r = range(-MAX_INDEX, MAX_INDEX + 1)
    if lattice == "cubic":
        values = {h * h + k * k + l * l for h in r for k in r for l in r}
    elif lattice == "tetragonal":
        values = {h * h + k * k for h in r for k in r}
    elif lattice == "hexagonal":
        values = {h * h + h * k + k * k for h in r for k in r}
    else:
        raise ValueError(f"unknown lattice {lattice!r}")
    limit = min(values - {0}) * MAX_INDEX**2  # complete below this (larger ones are sparse)
    values = np.array(sorted(v for v in values if v <= limit), dtype=float)
    return (
        values,
        (4 / 3 if lattice == "hexagonal" else 1.0),
        (0 if lattice == "cubic" else MAX_INDEX),
    )


def _trials(lattice: str, q: np.ndarray) -> np.ndarray:
    """(n, 2) trial (A, C), 1/d² = A·factor·m + C·l²: low index classes assigned to the
    first TRIAL_PEAKS peaks (one for cubic, two for the others)."""
    values, factor, l_max = index_values(lattice)
    first = q[:TRIAL_PEAKS]
    if not l_max:
        m = values[(values > 0) & (values <= 27)] * factor
        a = (first[:, None] / m[None, :]).ravel()
        return np.stack([a, np.zeros_like(a)], axis=1)
    low = np.array(
        [(m * factor, l * l) for m in values[values <= 4] for l in range(3) if m or l]
    )  # (classes, 2)
    pairs = np.stack([np.repeat(low, len(low), axis=0), np.tile(low, (len(low), 1))], axis=1)
    det = pairs[:, 0, 0] * pairs[:, 1, 1] - pairs[:, 0, 1] * pairs[:, 1, 0]
    pairs, det = pairs[np.abs(det) > 1e-9], det[np.abs(det) > 1e-9]
    trials = []
    for i in range(len(first)):
        for j in range(i + 1, len(first)):
            a = (first[i] * pairs[:, 1, 1] - first[j] * pairs[:, 0, 1]) / det
            c = (pairs[:, 0, 0] * first[j] - pairs[:, 1, 0] * first[i]) / det
            keep = (a > 0) & (c > 0)
            trials.append(np.stack([a[keep], c[keep]], axis=1))
    return np.concatenate(trials)


def _scores(lattice: str, trials: np.ndarray, x: np.ndarray, span: float) -> np.ndarray:
    """Log-likelihood ratio of the observed 2θ `x` for each trial (A, C)."""
    values, factor, l_max = index_values(lattice)
    q = _q(x)
    slope = np.sin(np.radians(x)) * 2 * np.pi / 180 / CU_KALPHA**2  # d(1/d²)/d(2θ)
    q_max = _q(x[-1] + 3 * POSITION_SIGMA)
    a, c = trials[:, :1] * factor, trials[:, 1:]  # (T, 1)
    nearest = np.full((len(trials), len(x)), np.inf)
    count = np.zeros(len(trials))
    for l in range(l_max + 1):
        rest = q[None, :] - c * l * l  # (T, n): what A·m must supply
        at = np.searchsorted(values, rest / a).clip(1, len(values) - 1)
        for m in (values[at - 1], values[at]):
            if l == 0:
                m = np.where(m == 0, np.inf, m)
            nearest = np.minimum(nearest, np.abs(rest - a * m))
        count += np.searchsorted(values, (q_max - c[:, 0] * l * l) / a[:, 0], side="right")
    count = np.maximum(count - 1, 1)  # (0, 0) is no line
    off = nearest / slope[None, :]
    on_line = np.exp(-0.5 * (off / POSITION_SIGMA) ** 2) / (POSITION_SIGMA * np.sqrt(2 * np.pi))
    density = (1 - SPURIOUS) * on_line / count[:, None] + SPURIOUS / span
    return np.log(density * span).sum(axis=1)


@lru_cache(maxsize=1)
def _orthorhombic_inverses() -> np.ndarray:
    """Inverses of every invertible 3×3 matrix whose rows are (h², k², l²) with h, k, l in
    {0, 1, 2}, not all 0: each maps three peaks' 1/d² to a trial (A, B, C)."""
    rows = np.array([v for v in product((0, 1, 4), repeat=3) if any(v)], dtype=float)
    matrices = rows[np.array(list(product(range(len(rows)), repeat=3)))]
    return np.linalg.inv(matrices[np.abs(np.linalg.det(matrices)) > 1e-9])


def _orthorhombic_trials(q: np.ndarray) -> np.ndarray:
    """(n, 3) distinct trial (A, B, C), A ≥ B ≥ C ≥ 1/MAX_EDGE², from every three of the first
    TRIAL_PEAKS peaks."""
    inverses = _orthorhombic_inverses()
    trials = []
    for triple in combinations(q[:TRIAL_PEAKS], 3):
        abc = inverses @ np.array(triple)
        tolerance = 1 - 1e-9
        keep = (
            (abc[:, 0] >= abc[:, 1] * tolerance)
            & (abc[:, 1] >= abc[:, 2] * tolerance)
            & (abc[:, 2] > 1 / MAX_EDGE**2)
        )
        trials.append(abc[keep])
    return np.unique(np.round(np.concatenate(trials), 7), axis=0)


def _orthorhombic_scores(trials: np.ndarray, x: np.ndarray, span: float) -> np.ndarray:
    """Log-likelihood ratio of the observed 2θ `x` for each trial (A, B, C), as _scores."""
    q = _q(x)
    slope = np.sin(np.radians(x)) * 2 * np.pi / 180 / CU_KALPHA**2
    q_max = _q(x[-1] + 3 * POSITION_SIGMA)
    a, b, c = trials[:, :1], trials[:, 1:2], trials[:, 2:]
    nearest = np.full((len(trials), len(x)), np.inf)
    count = np.zeros(len(trials))
    # past these, A·h² (B·k²) alone is beyond every peak: no nearer line, none to count
    h_max, k_max = (int(np.sqrt(q_max / float(v.min()))) + 1 for v in (a, b))
    for h in range(h_max + 1):
        for k in range(k_max + 1):
            base = a * h * h + b * k * k  # (T, 1)
            rest = q[None, :] - base  # what C·l² must supply
            l = np.floor(np.sqrt(np.maximum(rest, 0) / c))
            for l_try in (l, l + 1):
                off = np.abs(rest - c * l_try * l_try)
                if h == 0 and k == 0:
                    off = np.where(l_try == 0, np.inf, off)
                nearest = np.minimum(nearest, off)
            room = q_max - base[:, 0]
            count += np.where(room >= 0, np.floor(np.sqrt(np.maximum(room, 0) / c[:, 0])) + 1, 0)
    count = np.maximum(count - 1, 1)  # (0, 0, 0) is no line
    off = nearest / slope[None, :]
    on_line = np.exp(-0.5 * (off / POSITION_SIGMA) ** 2) / (POSITION_SIGMA * np.sqrt(2 * np.pi))
    density = (1 - SPURIOUS) * on_line / count[:, None] + SPURIOUS / span
    return np.log(density * span).sum(axis=1)


def _best_score(lattice: str, x: np.ndarray, span: float) -> float:
    """The best trial's score on `x` (0 when no trial beats 'peaks fall anywhere')."""
    if lattice != "orthorhombic":
        trials = _trials(lattice, _q(x))
        return float(_scores(lattice, trials, x, span).max()) if len(trials) else 0.0
    trials = _orthorhombic_trials(_q(x))
    best = 0.0
    for start in range(0, len(trials), ORTHO_CHUNK):
        chunk = trials[start : start + ORTHO_CHUNK]
        best = max(best, float(_orthorhombic_scores(chunk, x, span).max()))
    return best


def shift_scores(
    pattern: np.ndarray,
    grid: np.ndarray = GRID,
    lattices: tuple[str, ...] = LATTICES,
    zero_shifts: tuple[float, ...] = ZERO_SHIFTS,
) -> np.ndarray:
    """(zero shifts, lattices) best log-likelihood ratio of the pattern's first peaks with each
    shift (° 2θ) taken off them; zeros with under four peaks."""
    unknown = set(lattices) - set(ALL_LATTICES)
    if unknown:
        raise ValueError(f"unknown lattice {sorted(unknown)[0]!r}")
    x0 = peak_positions(pattern, grid)
    if len(x0) < 4:
        return np.zeros((len(zero_shifts), len(lattices)))
    span = float(x0[-1] - x0[0] + 6 * POSITION_SIGMA)
    return np.array(
        [[_best_score(lattice, x0 - zero, span) for lattice in lattices] for zero in zero_shifts]
    )


def lattice_evidence(
    pattern: np.ndarray, grid: np.ndarray = GRID, lattices: tuple[str, ...] = LATTICES
) -> dict[str, float]:
    """{lattice: best log-likelihood ratio} of the pattern's first peaks over ZERO_SHIFTS (0
    with under four peaks)."""
    scores = shift_scores(pattern, grid, lattices)
    return {lattice: max(float(scores[:, k].max()), 0.0) for k, lattice in enumerate(lattices)}


def evidence_matrix(
    patterns: np.ndarray, cache: Path | None = None, lattices: tuple[str, ...] = LATTICES
) -> np.ndarray:
    """(n, lattices) evidence of each pattern, in `lattices` order; `cache` (.npy) is read
    when it exists and written when it does not (a fraction of a second per pattern, about a
    second with the orthorhombic search, adds up over a test split). The cache names its
    lattices (a record array), so one made on other lattices is refused, not misread."""
    lattices = tuple(lattices)
    if cache is not None and Path(cache).is_file():
        stored = np.load(cache)
        if stored.dtype.names is None:
            raise InputError(
                "names no lattices (an older cache); delete it to recompute", str(cache)
            )
        if stored.dtype.names != lattices or len(stored) != len(patterns):
            raise InputError(
                f"holds {len(stored)} rows on {', '.join(stored.dtype.names)} for "
                f"{len(patterns)} patterns on {', '.join(lattices)} (delete it to recompute)",
                str(cache),
            )
        return np.stack([stored[k].astype(float) for k in lattices], axis=1)
    evidence = np.array(
        [
            [e[k] for k in lattices]
            for e in (lattice_evidence(p, lattices=lattices) for p in patterns)
        ]
    ).reshape(-1, len(lattices))
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        record = np.zeros(len(evidence), dtype=[(k, float) for k in lattices])
        for column, k in enumerate(lattices):
            record[k] = evidence[:, column]
        np.save(cache, record)
    return evidence


def features(probabilities: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    """What the lattice step weighs for each pattern: the evidence / SCALE, the log of the
    model's probability summed per crystal system (so one system's evidence can be read
    against how sure the model is of each), and 1."""
    system_p = np.asarray(probabilities) @ (system_of_groups()[:, None] == np.arange(len(SYSTEMS)))
    return np.concatenate(
        [np.asarray(evidence) / SCALE, np.log(system_p + 1e-6), np.ones((len(evidence), 1))],
        axis=1,
    )


@lru_cache(maxsize=1)
def system_of_groups() -> np.ndarray:
    """The SYSTEMS index of every space group 1..230."""
    return np.array([SYSTEMS.index(crystal_system(n)) for n in range(1, N_SPACE_GROUPS + 1)])


def adjusted(
    probabilities: np.ndarray, evidence: np.ndarray, weights: np.ndarray, sharpness: float = 1.0
) -> np.ndarray:
    """(n, 230) softmax(sharpness · log p + weights[system] · features): each crystal system's
    groups moved by its lattice evidence (weights: systems × features)."""
    z = sharpness * np.log(np.asarray(probabilities) + 1e-12)
    z = z + (features(probabilities, evidence) @ np.asarray(weights).T)[:, system_of_groups()]
    return softmax(z)
