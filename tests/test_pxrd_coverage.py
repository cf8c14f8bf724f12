"""Scans that end early: answered with their measured cost down to each model's floor
(crystalx_core.pxrd.coverage), refused below it. The real scan is nupxrd 0.3.1's UiO_66.DAT
(tests/data/uio66_nupxrd_2-30.xy: a 2–30° Cu Kα lab scan of the cubic Zr MOF UiO-66, Fm-3m),
which main refused at 29.5 % of the 5–90° grid."""

from pathlib import Path

import pytest

from crystalx_core.errors import InputError
from crystalx_core.pxrd import coverage
from crystalx_core.pxrd.job import report_lines, run_pxrd
from crystalx_core.pxrd.patterns import MIN_GRID_COVERAGE

UIO66 = Path(__file__).parent / "data" / "uio66_nupxrd_2-30.xy"


def _cut(tmp_path: Path, upper: float, lower: float = 2) -> Path:
    """The real scan's rows from `lower` to `upper`° 2θ, its licence header kept."""
    lines = UIO66.read_text().splitlines(keepends=True)
    kept = [l for l in lines if l.startswith("#") or lower <= float(l.split()[0]) <= upper]
    path = tmp_path / f"uio66_{lower:g}-{upper:g}.xy"
    path.write_text("".join(kept))
    return path


def test_a_2_30_degree_mof_scan_is_answered_with_what_such_a_cut_costs():
    report = run_pxrd(UIO66, kind="mof")
    assert next(iter(report["crystal_systems"])) == "Cubic"
    assert 225 in [g["number"] for g in report["predictions"]]  # Fm-3m among the five
    notes = [line for line in report_lines(report) if line.startswith("note:")]
    assert len(notes) == 1, notes
    assert "covers 29.5% of 5–89.9° 2θ" in notes[0] and "cut to 5–30°" in notes[0], notes[0]


def test_a_5_12_degree_scan_is_still_refused(tmp_path):
    with pytest.raises(InputError, match=r"covers 8\.\d% .* needs at least"):
        run_pxrd(_cut(tmp_path, 12), kind="mof")


def test_a_scan_starting_after_the_grid_is_refused_under_30_percent(tmp_path):
    """10–30° covers 23.5 %, more than the 5–20° cut the mof model answers from, but no cut
    starting after 5° was measured, and it lacks UiO-66's first lines (7.4°, 8.5°): the 5–25°
    figures would overstate it, so it is refused as before."""
    with pytest.raises(InputError, match=r"covers 23\.\d% .* needs at least 30\.0%"):
        run_pxrd(_cut(tmp_path, 30, lower=10), kind="mof")


def test_a_late_scan_covering_30_percent_gets_the_figures_of_its_range():
    """A MOF scan from 10° to 40° (35.4 % of the grid) was read without a note on main, though
    its top-1 falls to about half the 5–90° rate (benchmarks/pxrd_coverage.py --lower 5 10)."""
    (cut,) = [c for c in coverage.CUTS["mof"] if (c.lower, c.upper) == (10, 40)]
    full = coverage.cuts_from("mof", 5)[-1]
    assert cut.top1 < full.top1 - 0.1  # what the note is for
    note = coverage.note("mof", 10.0, 40.0)
    assert "from 10°" in note and "cut to 10–40°" in note
    assert f"right {cut.top1:.0%} of the time and one of the five {cut.top5:.0%}" in note
    assert coverage.note("mof", 5.0, 40.0) is None  # from the grid's start, 30 % on: as before


def test_a_late_cut_worse_than_the_commonest_groups_says_so():
    """From 15° the mof model's five were right less often than the five commonest groups."""
    assert not coverage.beats_commonest("mof", coverage.cuts_from("mof", 15)[-1])
    note = coverage.note("mof", 15.0, 90.0)
    assert "cut to 15–90°" in note and note.endswith("no better than always the commonest groups")


def test_a_late_note_does_not_blame_the_start_for_the_model_s_own_limit():
    """The molecular model is no better than the commonest groups at 5–90° either: its late-start
    note says so rather than suggest the late start cost it."""
    assert not coverage.beats_commonest("molecular", coverage.cuts_from("molecular", 5)[-1])
    assert coverage.note("molecular", 10.0, 80.0).endswith("commonest groups, as at 5–90°")


def test_a_scan_starting_past_every_measured_start_says_its_cost_is_unknown():
    last = max(c.lower for c in coverage.CUTS["mof"])
    assert "is not known" in coverage.note("mof", last + 5, 90.0)
    assert coverage.floor("mof", last + 5) == MIN_GRID_COVERAGE


def test_the_molecular_model_still_refuses_under_its_floor():
    """Its answers on held-out corpus patterns were the commonest groups' at every cut
    (5–90° included), so a cut short of MIN_GRID_COVERAGE has nothing to show for it."""
    assert coverage.floor("molecular", 2.0) == MIN_GRID_COVERAGE
    with pytest.raises(InputError, match=r"covers 29\.5%"):
        run_pxrd(UIO66, kind="molecular")


def test_each_floor_is_the_shortest_cut_from_which_every_longer_one_beat_the_commonest():
    for kind in coverage.CUTS:
        cuts = coverage.cuts_from(kind, 5)
        least = coverage.floor(kind, 2.0)
        if least == MIN_GRID_COVERAGE:
            continue
        assert all(coverage.beats_commonest(kind, c) for c in cuts if c.coverage >= least)
        shorter = [c for c in cuts if c.coverage < least]
        assert not shorter or not coverage.beats_commonest(kind, shorter[-1])
