"""Refinements stop once converged, on real data (the benchmark's XH_xylitol: Niolon/XHARPy's
examples/Xylitol_gpaw_extinction, measured Fo²), and leave the model the cycle cap would."""

import math

import numpy as np
import pytest
from cctbx import uctbx
from scitbx.lstbx import normal_eqns_solving

import crystalx_core.crystallography.refine as refine_module
from crystalx_core.crystallography.convergence import largest_shift_over_su
from crystalx_core.crystallography.refine import refine
from crystalx_core.elements import is_hydrogen
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl

from .conftest import BENCHMARK


def _xylitol():
    truth = read_cif(BENCHMARK / "XH_xylitol" / "model.cif").structure
    heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
    return heavy, read_hkl(BENCHMARK / "XH_xylitol" / "data.hkl")


def test_a_converged_refinement_stops_where_the_cycle_cap_leaves_the_model(
    shared_data, monkeypatch
):
    """Xylitol's non-H atoms refined isotropically from the published sites: two steps taken,
    the third rejected at 0.2 su, and the model is settled: the cycles stop there. scitbx's
    cycles rejected the same step again up to five times (8 cycles) or stopped on their step
    threshold (3), as the threaded build's sums fell; the model they leave is the same: R1 and
    wR2 to 1e-5, every atom within 0.001 Å and its Uiso within 1e-4 Å²."""
    heavy, reflections = _xylitol()
    converged = refine(heavy, reflections, 10)
    monkeypatch.setattr(
        refine_module, "ConvergingIterations", normal_eqns_solving.levenberg_marquardt_iterations
    )
    capped = refine(heavy, reflections, 10)
    assert converged.cycles == 3 and capped.cycles >= 3, (converged.cycles, capped.cycles)
    assert math.isclose(converged.r1, capped.r1, abs_tol=1e-5)
    assert math.isclose(converged.wr2, capped.wr2, abs_tol=1e-5)
    cell = uctbx.unit_cell(heavy.cell)
    for a, b in zip(converged.structure.sites, capped.structure.sites):
        shift = cell.length(tuple(np.subtract(a.frac, b.frac)))
        assert shift < 0.001 and abs(a.u_iso - b.u_iso) < 1e-4, (a.label, shift)


def test_a_first_step_rejected_does_not_end_the_refinement(shared_data, monkeypatch):
    """Xylitol refined again from its own refined model: the first step (0.2 su) is rejected, and
    a rejection before any step was taken says nothing of where the minimum is (the model has not
    moved): the cycles go on as scitbx's do, and end with its figures."""
    heavy, reflections = _xylitol()
    start = refine(heavy, reflections, 10).structure
    again = refine(start, reflections, 10)
    monkeypatch.setattr(
        refine_module, "ConvergingIterations", normal_eqns_solving.levenberg_marquardt_iterations
    )
    capped = refine(start, reflections, 10)
    assert again.cycles > 1, again.cycles
    assert math.isclose(again.r1, capped.r1, abs_tol=1e-5)
    assert math.isclose(again.wr2, capped.wr2, abs_tol=1e-5)


def test_the_largest_shift_over_su_is_smtbxs(shared_data, monkeypatch):
    """The shift/su the cycles stop on is smtbx's: the step over the square root of the diagonal
    of least_squares.covariance_matrix() (what olex2.refine divides by), only cheaper."""
    heavy, reflections = _xylitol()
    seen = []

    class Compared(normal_eqns_solving.levenberg_marquardt_iterations):
        def had_too_small_a_step(self):
            ls = self.non_linear_ls.actual
            su = np.sqrt(ls.covariance_matrix().matrix_packed_u_diagonal().as_numpy_array())
            shifts = np.abs(ls.step().as_numpy_array())
            seen.append((largest_shift_over_su(ls), np.max(shifts / su)))
            return super().had_too_small_a_step()

    monkeypatch.setattr(refine_module, "ConvergingIterations", Compared)
    refine(heavy, reflections, 3)
    assert len(seen) == 3
    for ours, smtbx in seen:
        assert ours == pytest.approx(smtbx, rel=1e-9)
