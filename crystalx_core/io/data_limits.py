"""The reflections a SHELX file's own instructions leave out, left out here too.

A .res refined in SHELXL may limit its data: `OMIT s 2θ(lim)` rejects every reflection over
2θ(lim) as it is read, `OMIT h k l` takes one (merged) reflection and its equivalents out of the
refinement, and `SHEL lowres highres` keeps only the data between those d-spacings (Å). The
published R1 is over the data so limited; refining all of them instead compares a different
fit (COD 2240189: `OMIT -3 55` leaves out 124 of 782 reflections beyond 2θ 55°, and R1 over all
782 was 0.055 against the published 0.041). SHELXL manual, OMIT and SHEL (e.g.
https://www.chem.gla.ac.uk/~louis/software/wingx/hlp/sxl225.htm). OMIT's threshold s, which
flags weak data as unobserved for the refinement only, is not applied: CrystalX refines every
reflection it keeps.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.io.hkl import Reflections
from crystalx_core.io.shelx_read import ShelxFile


def limited(shelx: ShelxFile, reflections: Reflections, cell, symops) -> Reflections:
    """`reflections` without those `shelx`'s OMIT and SHEL instructions leave out, each
    instruction's count in a note; unchanged where it has none."""
    keep = np.ones(len(reflections), dtype=bool)
    notes = []
    d = _d_spacings(reflections.indices, cell)
    for line in _instructions(shelx, ("OMIT", "SHEL")):
        numbers = _numbers(line, shelx.path)
        if numbers is None:  # OMIT atom names: an omit map, no data left out
            continue
        if line.keyword == "SHEL":
            low = numbers[0] if numbers else math.inf
            high = numbers[1] if len(numbers) > 1 else 0.0
            out = keep & ((d > low) | (d < high))
            what = f"reflections outside d {high:g}-{low:g} Å"
        elif len(numbers) == 3 and all(v == int(v) for v in numbers):
            hkl = [int(v) for v in numbers]
            out = keep & _equivalent(reflections.indices, hkl, symops)
            what = f"observations of {' '.join(map(str, hkl))} and its equivalents"
        elif len(numbers) >= 2 and numbers[1] < 180:
            limit = shelx.wavelength / (2 * math.sin(math.radians(numbers[1] / 2)))
            out = keep & (d < limit)
            what = f"reflections beyond 2θ {numbers[1]:g}° (d < {limit:.3f} Å)"
        else:
            continue
        if out.any():
            keep &= ~out
            notes.append(
                f"{line.keyword} {' '.join(line.fields)} (line {line.number}): {int(out.sum())} "
                f"{what} left out, as SHELXL leaves them out"
            )
    if keep.all():
        return reflections
    batches = reflections.batches[keep] if reflections.batches is not None else None
    return replace(
        reflections,
        indices=reflections.indices[keep],
        intensities=reflections.intensities[keep],
        sigmas=reflections.sigmas[keep],
        batches=batches,
        notes=[*reflections.notes, *notes],
    )


def _instructions(shelx: ShelxFile, keywords: tuple[str, ...]):
    """The file's instruction lines of these keywords, include files' too, before HKLF."""
    for line in shelx.lines:
        for one in (line, *line.included):
            if one.kind == "instruction" and one.keyword in keywords:
                yield one


def _numbers(line, path: str) -> list[float] | None:
    """The instruction's numbers; None where it names atoms (OMIT's omit map)."""
    try:
        return [float(v) for v in line.fields]
    except ValueError:
        if line.keyword == "OMIT":
            return None
        raise InputError(
            f"SHEL: limits must be numbers, got {' '.join(line.fields)}", path, line.number
        ) from None


def _d_spacings(indices: np.ndarray, cell) -> np.ndarray:
    from cctbx import uctbx
    from cctbx.array_family import flex

    if not len(indices):
        return np.zeros(0)
    miller = flex.miller_index([tuple(int(v) for v in row) for row in indices])
    return np.asarray(uctbx.unit_cell(tuple(cell)).d(miller))


def _equivalent(indices: np.ndarray, hkl: list[int], symops) -> np.ndarray:
    """Which of `indices` are `hkl` or an equivalent of it under the Laue group (Friedel
    mates included), as SHELXL's merged list has it."""
    from cctbx import miller as cctbx_miller
    from cctbx import sgtbx

    from crystalx_core.symmetry import space_group_from_operators

    group = space_group_from_operators(symops)
    laue = sgtbx.space_group_info(group=group.build_derived_laue_group()).group()
    equivalents = {tuple(m.h()) for m in cctbx_miller.sym_equiv_indices(laue, tuple(hkl)).indices()}
    equivalents |= {tuple(-v for v in h) for h in equivalents}
    return np.array([tuple(int(v) for v in row) in equivalents for row in indices], dtype=bool)
