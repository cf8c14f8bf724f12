"""What a scan that ends early, or starts late, costs each model's answer, as measured on
held-out structures simulated as training simulates them and cut to L–U° 2θ
(benchmarks/pxrd_coverage.py, figures in docs/benchmarks.md). A pattern covering less of the grid
than patterns.MIN_GRID_COVERAGE is answered, with a note giving that cost, down to the shortest
5–U° cut whose answer still beat always answering the commonest groups (top-1 and top-5 both);
shorter ones are refused, and so are those under it that start after the grid does. A scan that
starts late and covers enough is answered with a note giving the rates measured from its own
start (the least measured start at or after it: it lacks what lies below): a MOF scan from 10°
loses its first lines, and with them half its top-1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crystalx_core.pxrd.patterns import MIN_GRID_COVERAGE
from crystalx_core.pxrd.simulate import GRID, GRID_STEP


@dataclass(frozen=True)
class Cut:
    """Top-1 and top-5 rates on held-out patterns cut to `lower`–`upper`° 2θ (Cu Kα)."""

    lower: float
    upper: float
    top1: float
    top5: float

    @property
    def coverage(self) -> float:
        return float(np.mean((GRID >= self.lower - 1e-9) & (GRID <= self.upper + 1e-9)))


# Measured cuts per model kind, by lower limit then upper, shortest first; then the rates of
# always answering the training split's commonest group (top-1) and five commonest groups
# (top-5) on the same set (lower and upper 0: no range). molecular: 88 patterns of the corpus's
# 44 test structures, lower limits 5, 7, 10, 15, 20 and 30°; mof: 355 test-half CoRE MOF
# frameworks (--mof-share 0.06), one pattern each, lower limits 5, 10 and 15° (a MOF scan
# starting later is answered from 30 % of the grid on, with a note that its cost is unknown).
# `python benchmarks/pxrd_coverage.py ... --lower 5 7 10 15 20 30`, docs/benchmarks.md.
CUTS = {
    "molecular": (
        Cut(5, 12, 0.295, 0.682),
        Cut(5, 15, 0.295, 0.682),
        Cut(5, 20, 0.295, 0.693),
        Cut(5, 25, 0.295, 0.682),
        Cut(5, 30, 0.295, 0.682),
        Cut(5, 35, 0.295, 0.682),
        Cut(5, 40, 0.295, 0.682),
        Cut(5, 50, 0.295, 0.682),
        Cut(5, 60, 0.295, 0.682),
        Cut(5, 90, 0.295, 0.682),
        Cut(7, 12, 0.295, 0.705),
        Cut(7, 15, 0.295, 0.682),
        Cut(7, 20, 0.295, 0.682),
        Cut(7, 25, 0.295, 0.682),
        Cut(7, 30, 0.295, 0.682),
        Cut(7, 35, 0.295, 0.682),
        Cut(7, 40, 0.295, 0.682),
        Cut(7, 50, 0.295, 0.682),
        Cut(7, 60, 0.295, 0.682),
        Cut(7, 90, 0.295, 0.682),
        Cut(10, 12, 0.295, 0.705),
        Cut(10, 15, 0.295, 0.659),
        Cut(10, 20, 0.295, 0.670),
        Cut(10, 25, 0.295, 0.682),
        Cut(10, 30, 0.295, 0.682),
        Cut(10, 35, 0.295, 0.682),
        Cut(10, 40, 0.295, 0.682),
        Cut(10, 50, 0.295, 0.670),
        Cut(10, 60, 0.295, 0.659),
        Cut(10, 90, 0.295, 0.659),
        Cut(15, 20, 0.295, 0.716),
        Cut(15, 25, 0.295, 0.659),
        Cut(15, 30, 0.295, 0.682),
        Cut(15, 35, 0.295, 0.682),
        Cut(15, 40, 0.295, 0.659),
        Cut(15, 50, 0.295, 0.659),
        Cut(15, 60, 0.295, 0.670),
        Cut(15, 90, 0.295, 0.670),
        Cut(20, 25, 0.295, 0.682),
        Cut(20, 30, 0.295, 0.682),
        Cut(20, 35, 0.295, 0.682),
        Cut(20, 40, 0.295, 0.682),
        Cut(20, 50, 0.295, 0.682),
        Cut(20, 60, 0.295, 0.682),
        Cut(20, 90, 0.295, 0.682),
        Cut(30, 35, 0.295, 0.682),
        Cut(30, 40, 0.295, 0.682),
        Cut(30, 50, 0.295, 0.682),
        Cut(30, 60, 0.295, 0.682),
        Cut(30, 90, 0.295, 0.682),
    ),
    "mof": (
        Cut(5, 12, 0.144, 0.428),
        Cut(5, 15, 0.200, 0.451),
        Cut(5, 20, 0.304, 0.524),
        Cut(5, 25, 0.369, 0.594),
        Cut(5, 30, 0.397, 0.620),
        Cut(5, 35, 0.408, 0.634),
        Cut(5, 40, 0.428, 0.620),
        Cut(5, 50, 0.420, 0.634),
        Cut(5, 60, 0.408, 0.631),
        Cut(5, 90, 0.408, 0.639),
        Cut(10, 12, 0.087, 0.335),
        Cut(10, 15, 0.124, 0.299),
        Cut(10, 20, 0.152, 0.344),
        Cut(10, 25, 0.189, 0.431),
        Cut(10, 30, 0.192, 0.476),
        Cut(10, 35, 0.206, 0.473),
        Cut(10, 40, 0.189, 0.487),
        Cut(10, 50, 0.192, 0.482),
        Cut(10, 60, 0.189, 0.496),
        Cut(10, 90, 0.192, 0.496),
        Cut(15, 20, 0.087, 0.273),
        Cut(15, 25, 0.149, 0.304),
        Cut(15, 30, 0.146, 0.355),
        Cut(15, 35, 0.175, 0.383),
        Cut(15, 40, 0.155, 0.372),
        Cut(15, 50, 0.186, 0.380),
        Cut(15, 60, 0.161, 0.383),
        Cut(15, 90, 0.127, 0.369),
    ),
}
COMMONEST = {"molecular": Cut(0, 0, 0.295, 0.682), "mof": Cut(0, 0, 0.175, 0.470)}


def measured_lower(kind: str, start: float) -> float | None:
    """The start of `kind`'s cuts a scan from `start`° (Cu Kα 2θ) is read against: the least
    measured at or after it (within a grid step); None past the last one measured."""
    lowers = sorted({cut.lower for cut in CUTS[kind]})
    return next((lower for lower in lowers if start <= lower + GRID_STEP), None)


def cuts_from(kind: str, lower: float) -> list[Cut]:
    """`kind`'s cuts starting at `lower`, shortest first."""
    return [cut for cut in CUTS[kind] if cut.lower == lower]


def beats_commonest(kind: str, cut: Cut) -> bool:
    """Better than the training split's commonest groups on the same set, top-1 and top-5."""
    return cut.top1 > COMMONEST[kind].top1 and cut.top5 > COMMONEST[kind].top5


def floor(kind: str, start: float) -> float:
    """The least coverage `kind`'s model answers a scan starting at `start`° (Cu Kα 2θ) from:
    the shortest 5–U° cut from which every longer cut beat the commonest groups;
    MIN_GRID_COVERAGE where none below it did, or where the scan starts more than a grid step
    after the grid (from 10°, the MOF cuts under 30 % beat the commonest groups by 6 patterns
    of 355 at most: too close to answer on; docs/benchmarks.md, session 24)."""
    least = MIN_GRID_COVERAGE
    if start > GRID[0] + GRID_STEP:
        return least
    for cut in reversed(cuts_from(kind, GRID[0])):
        if not beats_commonest(kind, cut):
            break
        least = min(least, cut.coverage)
    return least


def note(kind: str, start: float, end: float) -> str | None:
    """For an answered pattern measured from `start` to `end`° (Cu Kα 2θ) that covers less than
    MIN_GRID_COVERAGE of the grid or starts after it: the rates measured at the longest cut from
    its lower limit that ends no later than it does, beside 5–90°'s and the commonest's."""
    covered = float(np.mean((GRID >= start) & (GRID <= end)))
    lower = measured_lower(kind, start)
    late = "" if lower == GRID[0] else f", from {start:.3g}°"
    where = f"the pattern covers {covered:.1%} of {GRID[0]:g}–{GRID[-1]:g}° 2θ (Cu Kα){late}"
    if lower is None:
        return (
            f"{where}: no scan starting after {max(c.lower for c in CUTS[kind]):g}° was "
            "measured, so how far the answer falls is not known"
        )
    fits = [cut for cut in cuts_from(kind, lower) if cut.upper <= end + 1e-9]
    if (covered >= MIN_GRID_COVERAGE and not late) or not fits:
        return None
    cut, full, common = fits[-1], cuts_from(kind, GRID[0])[-1], COMMONEST[kind]
    worse = "" if beats_commonest(kind, cut) else ": no better than always the commonest groups"
    if worse and not beats_commonest(kind, full):  # the model's own limit, not the late start's
        worse += ", as at 5–90°"
    return (
        f"{where}: on simulated held-out patterns cut to {cut.lower:g}–{cut.upper:g}°, the first "
        f"group listed was right {cut.top1:.0%} of the time and one of the five {cut.top5:.0%} "
        f"(5–90°: {full.top1:.0%} and {full.top5:.0%}; always the commonest groups: "
        f"{common.top1:.0%} and {common.top5:.0%}){worse}"
    )
