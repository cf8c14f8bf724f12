"""What a scan that ends early costs each model's answer, as measured on held-out structures
simulated as training simulates them and cut to 5–U° 2θ (benchmarks/pxrd_coverage.py, figures in
docs/benchmarks.md). A pattern covering less of the grid than patterns.MIN_GRID_COVERAGE is
answered, with a note giving that cost, down to the shortest cut whose answer still beat always
answering the commonest groups (top-1 and top-5 both); shorter ones are refused, and so are
scans that start after the grid does (15–35°): no such cut was measured, and they lack the
low-angle lines every measured cut kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crystalx_core.pxrd.patterns import MIN_GRID_COVERAGE
from crystalx_core.pxrd.simulate import GRID, GRID_STEP


@dataclass(frozen=True)
class Cut:
    """Top-1 and top-5 rates on held-out patterns cut to 5–`upper`° 2θ (Cu Kα)."""

    upper: float
    top1: float
    top5: float

    @property
    def coverage(self) -> float:
        return float(np.mean(GRID <= self.upper + 1e-9))


# Measured cuts per model kind, shortest first, 5–90° last; then the rates of always answering
# the training split's commonest group (top-1) and five commonest groups (top-5) on the same set.
# molecular: 88 patterns of the corpus's 44 test structures; mof: 355 test-half CoRE MOF
# frameworks (--mof-share 0.06), one pattern each.
CUTS = {
    "molecular": (
        Cut(12, 0.295, 0.682),
        Cut(15, 0.295, 0.682),
        Cut(20, 0.295, 0.693),
        Cut(25, 0.295, 0.682),
        Cut(30, 0.295, 0.682),
        Cut(35, 0.295, 0.682),
        Cut(40, 0.295, 0.682),
        Cut(50, 0.295, 0.682),
        Cut(60, 0.295, 0.682),
        Cut(90, 0.295, 0.682),
    ),
    "mof": (
        Cut(12, 0.144, 0.428),
        Cut(15, 0.200, 0.451),
        Cut(20, 0.304, 0.524),
        Cut(25, 0.369, 0.594),
        Cut(30, 0.397, 0.620),
        Cut(35, 0.408, 0.634),
        Cut(40, 0.428, 0.620),
        Cut(50, 0.420, 0.634),
        Cut(60, 0.408, 0.631),
        Cut(90, 0.408, 0.639),
    ),
}
COMMONEST = {"molecular": Cut(0, 0.295, 0.682), "mof": Cut(0, 0.175, 0.470)}


def beats_commonest(kind: str, cut: Cut) -> bool:
    """Better than the training split's commonest groups on the same set, top-1 and top-5."""
    return cut.top1 > COMMONEST[kind].top1 and cut.top5 > COMMONEST[kind].top5


def floor(kind: str, start: float) -> float:
    """The least coverage `kind`'s model answers a scan starting at `start`° (Cu Kα 2θ) from:
    the shortest measured cut from which every longer cut beat the commonest groups;
    MIN_GRID_COVERAGE where none below it did, or where the scan starts more than a grid step
    after the grid (the cuts measured all start there)."""
    least = MIN_GRID_COVERAGE
    if start > GRID[0] + GRID_STEP:
        return least
    for cut in reversed(CUTS[kind]):
        if not beats_commonest(kind, cut):
            break
        least = min(least, cut.coverage)
    return least


def note(kind: str, covered: float) -> str | None:
    """For a pattern covering `covered` of the grid, under MIN_GRID_COVERAGE and answered: the
    rates measured at the longest cut no longer than it, beside 5–90°'s and the commonest's."""
    if covered >= MIN_GRID_COVERAGE:
        return None
    cut = [c for c in CUTS[kind] if c.coverage <= covered + 1e-9][-1]
    full, common = CUTS[kind][-1], COMMONEST[kind]
    return (
        f"the pattern covers {covered:.1%} of {GRID[0]:g}–{GRID[-1]:g}° 2θ (Cu Kα): on simulated "
        f"held-out patterns cut to 5–{cut.upper:g}°, the first group listed was right "
        f"{cut.top1:.0%} of the time and one of the five {cut.top5:.0%} (5–90°: {full.top1:.0%} "
        f"and {full.top5:.0%}; always the commonest groups: {common.top1:.0%} and "
        f"{common.top5:.0%})"
    )
