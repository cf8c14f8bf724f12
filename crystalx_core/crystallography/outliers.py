"""The most disagreeable reflections of a final model, as SHELXL lists them, and the R1 the
model would have without the clearly wrong ones.

SHELXL prints the reflections for which Fo² and Fc² disagree most, by Error/esd: Fo² − k·Fc²
over the esd its weights give (w^-1/2, as we read its listing; w = 1/[σ²(Fo²) + (aP)² + bP],
P = [max(Fo², 0) + 2k·Fc²]/3, WGHT a b); "individual aberrant reflections may still be
suppressed using OMIT h k l" (SHELXL manual, OMIT, as hosted with WinGX:
chem.gla.ac.uk/~louis/software/wingx/hlp/sxl225.htm). A handful of such reflections (beam
stop, overflow, a detector gap) can keep a right model's R1 over the verdict's limits; the job
then says which, and leaves the OMIT to the user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# a reflection is clearly wrong over this many esd (SHELXL's Error/esd), and at most this share
# of the unique reflections is set aside: the job's limits, not fitted to any data set
ESD_LIMIT = 10.0
MAX_SHARE = 0.005
_SCALE_ROUNDS = 20  # k and the weights depend on each other: refitted in turn


@dataclass(frozen=True)
class Disagreeable:
    """One merged reflection as SHELXL's list gives it."""

    hkl: tuple[int, int, int]
    fo_sq: float
    fc_sq: float  # on Fo²'s scale (k·Fc²)
    error_esd: float  # (Fo² − k·Fc²) / esd, signed

    def text(self) -> str:
        h, k, l = self.hkl
        return f"{h} {k} {l}: Fo² {self.fo_sq:.1f}, Fc² {self.fc_sq:.1f}, {self.error_esd:+.1f} esd"


@dataclass(frozen=True)
class OutlierCheck:
    """The reflections set aside (`omitted`, worst first) and the R1 (Fo² > 2σ) without them,
    the scale refitted to those left."""

    omitted: list[Disagreeable]
    r1: float

    def note(self, passed: bool) -> str:
        listed = "; ".join(d.text() for d in self.omitted)
        verdict = (
            "consider OMIT (REM OMIT lines in the .res)"
            if passed
            else "not enough to explain the final R1"
        )
        return (
            f"{len(self.omitted)} reflection(s) disagree by over {ESD_LIMIT:g} esd ({listed}); "
            f"without them R1 {self.r1:.4f}: {verdict}"
        )


def weighted_errors(fo_sq, sigmas, fc_sq, a: float = 0.1, b: float = 0.0):
    """(k, Error/esd) of every reflection: k the least-squares scale of Fc² to Fo² under
    SHELXL's weights (found with them in turn), the errors as SHELXL's list gives them."""
    k = float(np.sum(fo_sq * fc_sq) / max(np.sum(fc_sq**2), 1e-300))
    for _ in range(_SCALE_ROUNDS):
        w = _weights(fo_sq, sigmas, k * fc_sq, a, b)
        k = float(np.sum(w * fo_sq * fc_sq) / np.sum(w * fc_sq**2))
    w = _weights(fo_sq, sigmas, k * fc_sq, a, b)
    return k, (fo_sq - k * fc_sq) * np.sqrt(w)


def _weights(fo_sq, sigmas, kfc_sq, a, b):
    p = (np.maximum(fo_sq, 0) + 2 * kfc_sq) / 3
    return 1.0 / (sigmas**2 + (a * p) ** 2 + b * p)


def selected(errors: np.ndarray) -> np.ndarray:
    """The reflections to set aside, worst first: over ESD_LIMIT, at most MAX_SHARE of all."""
    order = np.argsort(-np.abs(errors), kind="stable")
    over = order[np.abs(errors[order]) > ESD_LIMIT]
    return over[: int(MAX_SHARE * len(errors))]


def r1_gt(fo_sq, sigmas, kfc_sq) -> float:
    """SHELXL's R1 on the reflections with Fo² > 2σ(Fo²)."""
    gt = fo_sq > 2 * sigmas
    f_o, f_c = np.sqrt(fo_sq[gt]), np.sqrt(kfc_sq[gt])
    return float(np.sum(np.abs(f_o - f_c)) / np.sum(f_o)) if gt.any() else float("nan")


def check(indices, fo_sq, sigmas, fc_sq, a: float = 0.1, b: float = 0.0) -> OutlierCheck:
    """The clearly wrong reflections (`selected`) of merged Fo², σ and unscaled Fc², and R1
    without them."""
    fo_sq, sigmas, fc_sq = (np.asarray(v, dtype=float) for v in (fo_sq, sigmas, fc_sq))
    k, errors = weighted_errors(fo_sq, sigmas, fc_sq, a, b)
    out = selected(errors)
    keep = np.ones(len(fo_sq), dtype=bool)
    keep[out] = False
    k_left, _ = weighted_errors(fo_sq[keep], sigmas[keep], fc_sq[keep], a, b)
    omitted = [
        Disagreeable(
            tuple(int(v) for v in indices[i]),
            float(fo_sq[i]),
            float(k * fc_sq[i]),
            float(errors[i]),
        )
        for i in out
    ]
    return OutlierCheck(omitted, r1_gt(fo_sq[keep], sigmas[keep], k_left * fc_sq[keep]))


def model_check(structure, reflections, weighting=None, extinction=None) -> OutlierCheck:
    """`check` on a refined model: Fo² merged as the refinement merges them (Friedel pairs apart
    in a non-centric group), Fc² with the model's dispersion and refined EXTI."""
    from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure
    from crystalx_core.crystallography.maps import _with_extinction
    from crystalx_core.crystallography.refine import merged_as_shelxl

    from crystalx_core.crystallography.twin import detwinned

    xs = to_xray_structure(structure.with_sites(structure.atoms))
    reflections = detwinned(structure, reflections)  # twinned: one domain's Fo² (twin.py)
    merge = getattr(reflections, "merge", 2)
    i_obs = merged_as_shelxl(structure, reflections, xs.space_group().is_centric())
    set_dispersion(xs, structure.wavelength, structure.dispersion, merge)
    f_calc = i_obs.structure_factors_from_scatterers(xs, algorithm="direct").f_calc()
    if extinction is not None:
        f_calc = _with_extinction(structure, f_calc, extinction)
    a, b = (weighting.a, weighting.b) if weighting is not None else (0.1, 0.0)
    return check(
        list(i_obs.indices()),
        np.array(i_obs.data()),
        np.array(i_obs.sigmas()),
        np.abs(np.array(f_calc.data())) ** 2,
        a,
        b,
    )
