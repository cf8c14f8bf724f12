"""SHELXL's fitted fragments (`FRAG m cell` ... `FEND`, then `AFIX m6` or `AFIX m9` over the
atoms, m >= 17): an atom of the group written at 0,0,0 is a placeholder that SHELXL places,
before its first cycle, by fitting the fragment on the group's atoms that have coordinates (DSR
writes its 'SHELXL fit' groups so). Placed here the same way, the model read is the one SHELXL
refines, not a pile of atoms on the origin."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from cctbx import uctbx

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
) -> np.ndarray:
    """Fractional coordinates of the group's first `count` atoms: the fragment moved by the
    rotation and translation that best lay its atoms on `placed` (index in the group → the
    atom's fractional coordinates), least squares (Kabsch). ValueError where they cannot
    fix it."""
    ours, theirs = uctbx.unit_cell(cell), uctbx.unit_cell(fragment.cell)
    source = _matrix(theirs.orthogonalization_matrix(), fragment.frac[:count])
    indices = sorted(placed)
    target = _matrix(ours.orthogonalization_matrix(), [placed[i] for i in indices])
    if np.linalg.svd(target - target.mean(axis=0), compute_uv=False)[1] < 0.1:
        raise ValueError("its placed atoms lie on one line: the fragment's turn about it is free")
    moving = source[indices]
    moving_centre, target_centre = moving.mean(axis=0), target.mean(axis=0)
    u, _, vt = np.linalg.svd((moving - moving_centre).T @ (target - target_centre))
    turn = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])  # a rotation, never a mirror
    rotation = u @ turn @ vt
    cartesian = (source - moving_centre) @ rotation + target_centre
    return _matrix(ours.fractionalization_matrix(), cartesian)


def _matrix(matrix, points) -> np.ndarray:
    """cctbx's 3x3 (row by row) applied to each point."""
    return np.asarray(points, dtype=float) @ np.array(matrix).reshape(3, 3).T
