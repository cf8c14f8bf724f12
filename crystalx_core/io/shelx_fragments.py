"""SHELXL's fitted fragments (`FRAG m cell` ... `FEND`, then `AFIX m6` or `AFIX m9` over the
atoms, m >= 17): an atom of the group written at 0,0,0 is a placeholder that SHELXL places,
before its first cycle, by fitting the fragment on the group's atoms that have coordinates (DSR
writes its 'SHELXL fit' groups so). Placed here the same way, the model read is the one SHELXL
refines, not a pile of atoms on the origin."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from cctbx import uctbx
from scitbx.array_family import flex
from scitbx.math import superpose

FIRST_FITTED_CODE = 17  # AFIX m with m >= 17 fits FRAG m; smaller m are SHELXL's own shapes
MIN_PLACED = 3  # a rotation needs three atoms not on one line


@dataclass
class Fragment:
    """A FRAG ... FEND block: its code, cell, and its atoms' coordinates in that cell."""

    code: int
    cell: tuple[float, ...]
    line: int
    frac: list[tuple[float, float, float]] = field(default_factory=list)


def is_placeholder(xyz_codes: tuple[float, ...]) -> bool:
    """An atom written at exactly 0,0,0: SHELXL generates it from the fragment."""
    return all(code == 0 for code in xyz_codes)


def fitted_fractional(
    fragment: Fragment, placed: dict[int, tuple[float, ...]], count: int, cell: tuple[float, ...]
) -> list[tuple[float, float, float]]:
    """Fractional coordinates of the group's first `count` atoms: the fragment moved by the
    rotation and translation that best lay its atoms on `placed` (index in the group → the
    atom's fractional coordinates), least squares (scitbx's superposition). ValueError where
    they cannot fix it."""
    ours = uctbx.unit_cell(cell)
    source = uctbx.unit_cell(fragment.cell).orthogonalize(flex.vec3_double(fragment.frac[:count]))
    indices = sorted(placed)
    target = ours.orthogonalize(flex.vec3_double([placed[i] for i in indices]))
    spread = np.linalg.svd(target.as_numpy_array() - target.mean(), compute_uv=False)
    if spread[1] < 0.1:
        raise ValueError("its placed atoms lie on one line: the fragment's turn about it is free")
    moving = flex.vec3_double([source[i] for i in indices])
    fit = superpose.least_squares_fit(reference_sites=target, other_sites=moving)
    return list(ours.fractionalize(fit.r.elems * source + fit.t.elems))
