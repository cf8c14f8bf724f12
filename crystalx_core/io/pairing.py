"""Whether reflections can be the model's at all, checked before any work: a .hkl of another
crystal left beside a .res (or named by mistake) must stop the job at once, naming both files,
not refine to an R1 of 0.5.

Two facts every measured data set obeys for its own crystal: no reflection lies beyond the
Ewald limit, d >= λ/2 (sin θ <= 1), and the reflections its space group extinguishes
(centring, screw axes, glide planes) show nothing strong. Another crystal's indices, read in
this cell and space group, break either or both.
"""

from __future__ import annotations

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.io.hkl import Reflections
from crystalx_core.structure import Structure

BEYOND_LIMIT = 0.01  # fraction of reflections past d = λ/2 (rounding of the cell allows a few)
EWALD_MARGIN = 0.98  # d below this × λ/2 is past the limit (cell and wavelength errors)
STRONG = 5.0  # I/σ of a reflection that cannot be noise
ABSENT_STRONG = 0.40  # strong among the extinguished (a real one: FC_sucrose 0.16, Renninger)
MIN_ABSENT = (
    30  # extinguished reflections needed to judge by (a few Renninger reflections are strong)
)


def pairing_problem(structure: Structure, reflections: Reflections) -> str | None:
    """Why these reflections cannot have been measured on this structure's crystal, or None."""
    hkl = np.asarray(reflections.indices, dtype=float)
    if not len(hkl):
        return None
    inverse = np.linalg.inv(structure.orthogonalisation).T  # reciprocal basis vectors as rows
    d_star = np.linalg.norm(hkl @ inverse, axis=1)
    beyond = d_star * structure.wavelength / 2 > 1 / EWALD_MARGIN
    if beyond.mean() > BEYOND_LIMIT:
        return (
            f"{int(beyond.sum())} of {len(hkl)} reflections lie beyond d = λ/2 "
            f"({structure.wavelength:g} Å) in this cell, which no crystal of it can diffract: "
            "they are another crystal's (or the cell or wavelength is wrong)"
        )
    absent = _absent(structure, reflections.indices)
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


def _absent(structure: Structure, indices: np.ndarray) -> np.ndarray:
    """Which reflections the space group extinguishes (centring, screw axes, glide planes)."""
    from cctbx import crystal, miller
    from cctbx.array_family import flex

    from crystalx_core.symmetry import space_group_from_operators

    unique, back = np.unique(np.asarray(indices, dtype=int), axis=0, return_inverse=True)
    symmetry = crystal.symmetry(
        unit_cell=tuple(structure.cell), space_group=space_group_from_operators(structure.symops)
    )
    index = flex.miller_index([tuple(int(v) for v in row) for row in unique])
    flags = miller.set(symmetry, index, anomalous_flag=False).sys_absent_flags().data()
    return np.array(flags, dtype=bool)[np.ravel(back)]
