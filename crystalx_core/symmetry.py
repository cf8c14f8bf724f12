"""Space-group operators: SHELX LATT/SYMM ↔ full operator lists, parsed into matrices."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from cctbx import crystal, sgtbx

from crystalx_core.errors import InputError

# SHELX LATT code → centring name understood by cctbx (|LATT|; LATT > 0 adds inversion)
_LATT_CENTRING = {1: "P", 2: "I", 3: "R", 4: "F", 5: "A", 6: "B", 7: "C"}
_CENTRING_VECTORS = {
    "P": [],
    "I": [(1, 1, 1)],
    "R": [(2, 1, 1), (1, 2, 2)],
    "F": [(0, 1, 1), (1, 0, 1), (1, 1, 0)],
    "A": [(0, 1, 1)],
    "B": [(1, 0, 1)],
    "C": [(1, 1, 0)],
}
_DENOMINATOR = {"R": 3}
MAX_GROUP_ORDER = 192  # Fm-3m; cctbx happily closes larger, non-crystallographic sets of operators


def _checked(group: sgtbx.space_group, what: str) -> sgtbx.space_group:
    if group.order_z() > MAX_GROUP_ORDER:
        raise InputError(
            f"{what} generate {group.order_z()} operators; a space group has at most "
            f"{MAX_GROUP_ORDER}"
        )
    return group


def metric_problem(cell, group: sgtbx.space_group) -> str | None:
    """Why `cell` cannot be a cell of `group` (a = b for tetragonal, beta = 90 for b-unique
    monoclinic ...), as cctbx judges it; None where it can. cctbx asserts on such a pair, deep
    in any later step; the readers ask here, where they can name the file's line."""
    try:
        crystal.symmetry(unit_cell=tuple(cell), space_group=group)
    except AssertionError:
        return (
            f"cell {' '.join(f'{x:g}' for x in cell)} does not have the metric symmetry of "
            f"space group {group.type().lookup_symbol()}"
        )
    return None


def parse_symop(text: str) -> tuple[np.ndarray, np.ndarray]:
    """'-x, 1/2+y, -z' → (rotation, translation) acting on fractional coordinates."""
    try:
        rt = sgtbx.rt_mx(text.lower().replace(" ", ""))
    except (RuntimeError, ValueError) as error:
        raise InputError(f"cannot read symmetry operator {text!r}: {error}") from None
    rot = np.array(rt.r().as_double(), dtype=float).reshape(3, 3)
    tran = np.array(rt.t().as_double(), dtype=float)
    return rot, tran


def space_group_from_shelx(latt: int, symm: list[str]) -> sgtbx.space_group:
    """Build the full group from LATT and the SYMM cards (identity implied, as in SHELXL)."""
    centring = _LATT_CENTRING.get(abs(latt))
    if centring is None:
        raise InputError(f"LATT {latt} is not a SHELX lattice type (±1..7)")
    group = sgtbx.space_group()
    den = _DENOMINATOR.get(centring, 2)
    for vector in _CENTRING_VECTORS[centring]:
        group.expand_ltr(sgtbx.tr_vec([v * (12 // den) for v in vector], 12))
    if latt > 0:
        group.expand_inv(sgtbx.tr_vec((0, 0, 0), 12))
    for op in symm:
        try:
            group.expand_smx(sgtbx.rt_mx(op.lower().replace(" ", "")))
        except (RuntimeError, ValueError) as error:
            raise InputError(f"SYMM {op!r} does not form a space group: {error}") from None
        _checked(group, "LATT and SYMM")
    return group


def full_operator_list(group: sgtbx.space_group) -> list[str]:
    return [str(group(i)) for i in range(group.order_z())]


def space_group_from_operators(ops: list[str]) -> sgtbx.space_group:
    """The group the operators generate; unreadable triplets are InputErrors, as in SHELX input."""
    group = sgtbx.space_group()
    for op in ops:
        try:
            group.expand_smx(sgtbx.rt_mx(op.lower().replace(" ", "")))
        except (
            RuntimeError,
            ValueError,
        ) as error:  # cctbx: RuntimeError or ValueError by the fault
            raise InputError(f"symmetry operator {op!r}: {_cctbx_said(error)}") from None
        _checked(group, "the symmetry operators")
    return group


def _cctbx_said(error: Exception) -> str:
    """cctbx's complaint without its build path ('cctbx Internal Error: /home/conda/.../
    rt_mx.cpp(234): Unsuitable value for rational translation vector.'), which tells the user
    nothing, and in words for the translation it cannot hold (x+0.3: cctbx keeps twelfths)."""
    text = re.sub(r"^cctbx (?:Internal )?Error: (?:\S+\(\d+\): )?", "", str(error)).strip()
    if text.startswith("Unsuitable value for rational translation vector"):
        return "a translation that is no multiple of 1/12, as no space group has"
    return text.rstrip(".")


@lru_cache(maxsize=64)
def smallest_site_share(ops: tuple[str, ...]) -> float:
    """What one atom on the group's most special Wyckoff position counts for in the
    asymmetric unit (its multiplicity / group order): 1/2 on an inversion centre of P-1 or
    C2/c, 1/4 on P-421m's -4, 1/6 on R-3's -3, 1 where the group has no special position.
    The group's, not a solution's: its peaks may miss every special position."""
    group = space_group_from_operators(list(ops))
    table = sgtbx.space_group_info(group=group).wyckoff_table()
    smallest = min(table.position(k).multiplicity() for k in range(table.size()))
    return smallest / group.order_z()


def _latt_code(group: sgtbx.space_group) -> int | None:
    """SHELX's LATT number (positive) for the group's centring, None where it has none."""
    centring = group.conventional_centring_type_symbol()
    latt = next((code for code, name in _LATT_CENTRING.items() if name == centring), None)
    if latt is None or space_group_from_shelx(latt, []).n_ltr() != group.n_ltr():
        return None
    return latt


def shelx_latt_symm(
    ops: list[str], source: str | None = None, line: int | None = None
) -> tuple[int, list[str]]:
    """The LATT code and SYMM cards that reproduce a full operator list in SHELX; a centring
    no LATT code gives is refused naming `line` of `source`, where the symmetry was read:
    only a .res needs it (an audit of such a CIF writes none)."""
    group = space_group_from_operators(ops)
    latt = _latt_code(group)
    if latt is None:
        vectors = " ".join(f"({t.as_string()})" for t in list(group.ltr())[1:])
        raise InputError(
            f"the centring translations {vectors} have no SHELX LATT code (a non-standard "
            "setting): transform the cell to a standard setting first",
            source or None,
            line,
        )
    if group.is_origin_centric():
        return latt, [str(group(i)) for i in range(1, group.n_smx())]
    return -latt, [str(group(i)) for i in range(1, group.n_smx() * group.f_inv())]
