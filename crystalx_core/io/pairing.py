"""Whether reflections can be the model's at all, checked before any work: a .hkl of another
crystal left beside a .res (or named by mistake) must stop the job at once, naming both files,
not refine to an R1 of 0.5.

Two facts every measured data set obeys for its own crystal: no reflection lies beyond the
Ewald limit, d >= λ/2 (sin θ <= 1), and the reflections its space group extinguishes
(centring, screw axes, glide planes) show nothing strong. Another crystal's indices, read in
this cell and space group, break either or both.
"""

from __future__ import annotations


from dataclasses import replace

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.io.hkl import Reflections, whole_groups
from crystalx_core.structure import Structure

BEYOND_LIMIT = 0.01  # fraction of reflections past d = λ/2 (rounding of the cell allows a few)
EWALD_MARGIN = 0.98  # d below this × λ/2 is past the limit (cell and wavelength errors)
STRONG = 5.0  # I/σ of a reflection that cannot be noise
ABSENT_STRONG = 0.40  # strong among the extinguished (a real one: FC_sucrose 0.16, Renninger)
MIN_ABSENT = (
    30  # extinguished reflections needed to judge by (a few Renninger reflections are strong)
)


def _beyond_limit(d: np.ndarray, wavelength: float) -> np.ndarray:
    """Which of the d-spacings `d` lie past the Ewald limit, d < λ/2 (with EWALD_MARGIN's
    allowance)."""
    return (d > 0) & (d < EWALD_MARGIN * wavelength / 2)  # 0 0 0 has no d (-1)


def pairing_problem(structure: Structure, reflections: Reflections) -> str | None:
    """Why these reflections cannot have been measured on this structure's crystal, or None."""
    if not len(reflections.indices):
        return None
    array = reflections.to_miller_array(structure.cell, structure.symops)
    d = array.d_spacings().data().as_numpy_array()
    beyond = _beyond_limit(d, structure.wavelength)
    if beyond.mean() > BEYOND_LIMIT:
        # what the data need says which to check: a Cu wavelength given for Mo data, say
        needed = 2 * d[d > 0].min()
        return (
            f"{int(beyond.sum())} of {len(d)} reflections lie beyond d = λ/2 = "
            f"{structure.wavelength / 2:.4f} Å (λ = {structure.wavelength:g} Å) in this cell, "
            "which no crystal of it can diffract: they are another crystal's, or the cell or "
            f"wavelength is wrong (they reach d = {needed / 2:.4f} Å, which needs λ <= "
            f"{needed:.4f} Å)"
        )
    absent = array.sys_absent_flags().data().as_numpy_array()
    strong = reflections.intensities > STRONG * reflections.sigmas
    if absent.sum() >= MIN_ABSENT and strong[absent].mean() > ABSENT_STRONG:
        return (
            f"{int(strong[absent].sum())} of the {int(absent.sum())} reflections its space group "
            f"extinguishes are strong (I > {STRONG:g} σ): they are another crystal's (or the "
            "space group is wrong)"
        )
    return None


def check_pairing(structure: Structure, reflections: Reflections, model_path: str) -> None:
    """An InputError naming both files where the reflections cannot be the model's."""
    problem = pairing_problem(structure, reflections)
    if problem:
        raise InputError(
            f"the reflections of {reflections.path} do not belong to this structure: {problem}",
            model_path,
        )


def within_ewald_limit(structure: Structure, reflections: Reflections) -> Reflections:
    """The reflections without the few past d = λ/2 that pairing_problem lets through: no
    crystal diffracts them, and one index of 9999 (3I4 holds it) would size every Fourier map
    of the job to its d (a grid of 10¹⁰ points). An HKLF 5 observation goes whole."""
    if not len(reflections.indices):
        return reflections
    array = reflections.to_miller_array(structure.cell, structure.symops)
    beyond = _beyond_limit(array.d_spacings().data().as_numpy_array(), structure.wavelength)
    if reflections.twin is not None and reflections.twin.hklf5:
        beyond = whole_groups(beyond, np.asarray(reflections.batches))
    if not beyond.any():
        return reflections
    first = " ".join(str(v) for v in reflections.indices[int(np.argmax(beyond))])
    keep = ~beyond
    return replace(
        reflections,
        indices=reflections.indices[keep],
        intensities=reflections.intensities[keep],
        sigmas=reflections.sigmas[keep],
        batches=reflections.batches[keep] if reflections.batches is not None else None,
        notes=[
            *reflections.notes,
            f"{int(beyond.sum())} reflection(s) beyond d = λ/2 = "
            f"{structure.wavelength / 2:.4f} Å, which no crystal diffracts at λ = "
            f"{structure.wavelength:g} Å, left out (the first {first})",
        ],
    )
