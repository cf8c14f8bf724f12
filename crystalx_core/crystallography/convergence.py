"""Levenberg–Marquardt cycles that stop once the model has converged, not at the cycle cap."""

from __future__ import annotations

import numpy as np
import scitbx.lstbx.normal_eqns_solving  # noqa: F401  (registers levenberg_marquardt_iterations)
from scipy.linalg import lapack
from scitbx import lstbx

# olex2.refine stops its cycles before a step that shifts no parameter by more than this share of
# its su (olex2-gui util/pyUtil/CctbxLib/olex2_normal_equations.py, iterations_with_shift_analysis
# .analyse_shifts: convergence_as_shift_over_esd, 1e-3 unless the user sets it); checkCIF's first
# alert on a final model's largest shift/su is at 0.05 (SHFSU01)
CONVERGED_SHIFT = 1e-3
# A step the objective rejects that shifts no parameter by as much as its su, once an earlier
# step has been taken: the model is at the minimum to within its su, and scitbx's cycles after it
# (the cap's, in every big refinement) only raise the damping until a shorter step lowers the
# objective, each at the cost of two builds of the normal equations. SHELX weights change with
# Fc, which the normal equations hold fixed, so even a step to the minimum raises the objective a
# little: the first isotropic refinement of a solve of xylitol (benchmark XH_xylitol) rejected
# the same step at 0.32 su, the objective 1.8e-4 up, in each of its last seven cycles, and ended
# where it stood before them.
SETTLED_SHIFT = 1.0


def largest_shift_over_su(ls) -> float:
    """The largest |shift/su| of the step the solved normal equations of `ls` (smtbx's
    crystallographic least squares) propose, the su as smtbx's covariance_matrix() gives them:
    (UᵀU)⁻¹ of the Cholesky factor U, over Σw·Fo², times the GooF² (only its diagonal, from
    LAPACK's triangular inverse: smtbx's whole inverse took seconds for 942 parameters)."""
    u = ls.step_equations().cholesky_factor_packed_u().matrix_packed_u_as_upper_triangle()
    inverse, info = lapack.dtrtri(u.as_numpy_array())
    if info:
        return np.inf
    variances = np.einsum("ij,ij->i", inverse, inverse) / ls.sum_w_yo_sq()
    variances *= ls.restrained_goof() ** 2
    shifts = np.abs(ls.step().as_numpy_array())
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(shifts > 0, shifts / np.sqrt(variances), 0.0)
    return float(np.nanmax(ratios, initial=0.0))


class ConvergingIterations(lstbx.normal_eqns_solving.levenberg_marquardt_iterations):
    """scitbx's Levenberg–Marquardt cycles (same damping, same thresholds), stopped before a step
    whose largest shift/su is under CONVERGED_SHIFT, or after a rejected one under
    SETTLED_SHIFT once a step has been taken (a first step rejected says nothing of where the
    minimum is: the cycles go on raising the damping, as scitbx's do); the model is then the
    one before that step."""

    def do(self):
        self.rejected_shift = None  # the largest shift/su of the step just rejected
        self.rejections = 0
        self.proposed_shift = np.inf
        journal = self.non_linear_ls
        step_backward = journal.step_backward

        def rejected():
            self.rejected_shift = self.proposed_shift
            self.rejections += 1
            step_backward()

        journal.step_backward = rejected  # scitbx calls it only for a step the objective rejects
        super().do()

    def had_too_small_a_step(self) -> bool:
        moved = self.n_iterations > self.rejections  # a step taken: the model has moved
        settled = moved and self.rejected_shift is not None and self.rejected_shift < SETTLED_SHIFT
        self.rejected_shift = None
        self.proposed_shift = largest_shift_over_su(self.non_linear_ls.actual)
        return settled or self.proposed_shift < CONVERGED_SHIFT or super().had_too_small_a_step()
