"""The reflections a SHELX file's own instructions leave out, left out here too.

A .res refined in SHELXL may limit its data: `OMIT s 2θ(lim)` rejects every reflection over
2θ(lim) as it is read, `OMIT h k l` takes one (merged) reflection and its equivalents out of the
refinement, and `SHEL lowres highres` keeps only the data between those d-spacings (Å, the two
swapped where written the other way round). The published R1 is over the data so limited;
refining all of them instead compares a different fit (COD 2240189: `OMIT -3 55` leaves out 124
of 782 reflections beyond 2θ 55°, and R1 over all 782 was 0.055 against the published 0.041).
OMIT's s works on I/σ(I) at s/2 as current SHELXL does: s > 0 leaves out I < (s/2)σ(I), s < 0
raises an I below (s/2)σ(I) to (s/2)σ(I). SHELXL-97 and SHELXL-2018 manuals, OMIT, SHEL and
MERG; Olex2 reads them the same (RefUtil::ResolutionAndSigmaFilter, pcxod/olex2 refutil.cpp).
SHELXL's default OMIT -2, for a file that writes no OMIT s, is not applied. Of several OMIT s
or SHEL lines only the last applies (SHELXL holds one of each, Olex2 keeps the last), an earlier
one named in a note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.io.hkl import (
    INDEX_RANGE,
    Reflections,
    hklf5_groups,
    miller_indices,
    outside_index_range,
)
from crystalx_core.io.shelx_read import ShelxFile


@dataclass(frozen=True)
class Limit:
    """One OMIT or SHEL as SHELXL reads it: the keyword, its fields as written, and where it
    was written (the file and line of a .res, or Olex2's refinement model), for notes and
    errors."""

    keyword: str
    fields: tuple[str, ...]
    path: str
    number: int | None = None  # the line's
    where: str = ""  # "line 12", "inc.ins line 3", "Olex2's refinement model"


def limited(shelx: ShelxFile, reflections: Reflections, cell, symops) -> Reflections:
    """`reflections` as `shelx`'s OMIT, SHEL and MERG instructions have them refined
    (instructed), each limit named by its file and line."""
    limits = [
        Limit(line.keyword, tuple(line.fields), path, line.number, _where(shelx, line, path))
        for line, path in _instructions(shelx, ("OMIT", "SHEL"))
    ]
    return instructed(reflections, limits, merg_code(shelx), cell, symops, shelx.wavelength)


def instructed(
    reflections: Reflections, limits: list[Limit], merg: int, cell, symops, wavelength: float
) -> Reflections:
    """The reflections a refinement under these OMIT and SHEL `limits` and this MERG code uses:
    the one rule for a .res's instructions (limited) and for those Olex2's refinement model
    holds (the service), so that the plugin's job sees what `crystalx assign --hkl` sees.
    Without those the limits leave out, with the weak ones a negative OMIT s raises, each
    limit's count in a note, to be merged as `merg` says (Reflections.merged). HKLF 5 data
    lose or keep each observation whole (its overlapping lines with it), as the observation's
    own, closing line falls; the counts are of observations."""
    keep = np.ones(len(reflections), dtype=bool)
    intensities = np.array(reflections.intensities, dtype=float)
    sigmas = np.asarray(reflections.sigmas, dtype=float)
    notes = []
    d = _d_spacings(reflections.indices, cell)
    twin = reflections.twin
    closing = None  # HKLF 5: an observation goes or stays whole, as its closing line decides
    if twin is not None and twin.hklf5:
        batches = np.asarray(reflections.batches)
        closing, group = np.flatnonzero(batches > 0), hklf5_groups(batches)

    def whole(selected: np.ndarray) -> np.ndarray:
        return selected if closing is None else selected[closing][group]

    def counted(selected: np.ndarray) -> int:
        return int(selected.sum() if closing is None else selected[closing].sum())

    # SHELXL holds one OMIT s/2θ(lim) and one SHEL pair: of several lines the last rules
    ruling = {_setting(line): line for line in limits if _setting(line)}
    for line in limits:
        path = line.path
        numbers = _numbers(line, path)
        if numbers is None:  # OMIT atom names: an omit map, no data left out
            continue
        where = f"{line.keyword} {' '.join(line.fields)} ({line.where})"
        setting = _setting(line)
        if setting and line is not ruling[setting]:
            if setting == "OMIT":
                _two_theta(numbers, line)  # a bad 2θ(lim) is named even where a later line rules
            last = ruling[setting]
            notes.append(
                f"{where}: not applied, the later {last.keyword} {' '.join(last.fields)} "
                f"({last.where}) {_ONE_KEPT[setting]}"
            )
            continue
        half = 0.0
        if line.keyword == "SHEL":
            low = numbers[0] if numbers else math.inf
            high = numbers[1] if len(numbers) > 1 else 0.0
            low, high = max(low, high), min(low, high)  # as SHELXL and Olex2 take them
            out = keep & ((d > low) | (d < high))
            what = [(out, f"reflections outside d {high:g}-{low:g} Å")]
        elif len(numbers) == 3 and all(v == int(v) for v in numbers):
            if outside_index_range(np.array(numbers)):
                raise InputError(
                    f"OMIT h k l: index out of range ({INDEX_RANGE}) in {' '.join(line.fields)!r}",
                    path,
                    line.number,
                )
            hkl = [int(v) for v in numbers]
            out = keep & _equivalent(reflections.indices, hkl, symops, merg)
            what = [(out, f"observations of {' '.join(map(str, hkl))} and its equivalents")]
        elif 1 <= len(numbers) <= 2:
            what = []
            if len(numbers) == 2:
                two_theta = _two_theta(numbers, line)
                if two_theta < 180:
                    limit = wavelength / (2 * math.sin(math.radians(two_theta / 2)))
                    what.append(
                        (
                            keep & (d < limit),
                            f"reflections beyond 2θ {two_theta:g}° (d < {limit:.3f} Å)",
                        )
                    )
            half = numbers[0] / 2
            if half > 0:
                what.append(
                    (keep & (intensities < half * sigmas), f"reflections with I < {half:g}σ(I)")
                )
        else:
            continue
        for out, text in what:
            out = whole(out) & keep
            if out.any():
                keep &= ~out
                notes.append(f"{where}: {counted(out)} {text} left out, as SHELXL leaves them out")
        if half < 0:  # after the 2θ cut: only the reflections kept are raised
            weak = keep & whole(intensities < half * sigmas)
            intensities[weak] = half * sigmas[weak]
            notes.append(
                f"{where}: {counted(weak)} intensities below {half:g}σ(I) raised to "
                f"{half:g}σ(I), as SHELXL raises them"
            )
    if keep.all() and np.array_equal(intensities, reflections.intensities) and not notes:
        return replace(reflections, merge=merg)
    batches = reflections.batches[keep] if reflections.batches is not None else None
    return replace(
        reflections,
        indices=reflections.indices[keep],
        intensities=intensities[keep],
        sigmas=reflections.sigmas[keep],
        batches=batches,
        notes=[*reflections.notes, *notes],
        merge=merg,
    )


def _instructions(shelx: ShelxFile, keywords: tuple[str, ...]):
    """(line, file) of the instruction lines of these keywords, include files' (nested ones
    too) in place, before HKLF."""

    def walk(lines, path):
        for line in lines:
            if line.kind == "instruction" and line.keyword in keywords:
                yield line, path
            if line.included:  # SHELXL reads every include file from the folder of the .ins
                yield from walk(line.included, str(Path(shelx.path).parent / line.fields[0]))

    yield from walk(shelx.lines, shelx.path)


# SHEL: the manual gives one lowres and one highres ("SHEL lowres [infinite] highres [0]"), so
# of several lines the last sets both, a missing highres its default 0; Olex2 keeps the last too
# (pcxod/olex2 xlib/refmodel.cpp RefinementModel::SetSHEL sets SHEL_lr, and SHEL_hr where the
# line has a second number, so there an earlier highres stays), which the plugin's job sends.


_ONE_KEPT = {  # what the last line of each setting decides, as the note says it
    "OMIT": "sets s and 2θ(lim), as SHELXL keeps one of each",
    "SHEL": "sets both limits, as SHELXL keeps one pair (and Olex2 the last: SetSHEL)",
}


def _setting(line: Limit) -> str:
    """'OMIT' for an `OMIT s [2θ(lim)]`, 'SHEL' for a SHEL: the settings SHELXL holds one of,
    so a later line replaces an earlier one; '' for an OMIT h k l or of atoms."""
    if line.keyword == "SHEL":
        return "SHEL"
    return "OMIT" if _is_threshold(line) else ""


def _is_threshold(line: Limit) -> bool:
    """An `OMIT s [2θ(lim)]`: one or two numbers. The SHELXL manual gives each as one setting
    ("s is a threshold", "2-theta(lim) defines a limiting 2-theta", defaults in brackets; OMIT,
    SHELXL-93 text as WinGX's help sxl225.htm has it) and does not speak of repeated lines, so
    of several the last sets both, its missing 2θ(lim) the default 180, as an instruction's
    later value replaces an earlier one; Olex2 keeps the last s and 2θ it read too (pcxod/olex2
    xlib/refmodel.cpp AddOMIT, which keeps an earlier 2θ where the last line has none)."""
    if line.keyword != "OMIT":
        return False
    try:
        return 1 <= len([float(v) for v in line.fields]) <= 2
    except ValueError:
        return False


def _two_theta(numbers: list[float], line: Limit) -> float:
    """The OMIT's 2θ(lim) (180 when not written), refused where it is not above 0."""
    two_theta = numbers[1] if len(numbers) > 1 else 180.0
    if not 0 < two_theta:
        raise InputError(f"OMIT: 2θ(lim) {two_theta:g}° must be above 0", line.path, line.number)
    return two_theta


def _where(shelx: ShelxFile, line, path: str) -> str:
    """The line, with the include file's name where it is not the .res's own."""
    return f"line {line.number}" if path == shelx.path else f"{Path(path).name} line {line.number}"


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


def merg_code(shelx: ShelxFile) -> int:
    """The file's MERG n (SHELXL's default 2), the last one written."""
    merg = 2
    for line, path in _instructions(shelx, ("MERG",)):
        try:
            merg = int(float(line.fields[0])) if line.fields else 2
        except ValueError:
            raise InputError(
                f"MERG needs a number, got {' '.join(line.fields)}", path, line.number
            ) from None
    return merg


def _d_spacings(indices: np.ndarray, cell) -> np.ndarray:
    from cctbx import uctbx

    if not len(indices):
        return np.zeros(0)
    miller = miller_indices(indices)
    return np.asarray(uctbx.unit_cell(tuple(cell)).d(miller))


def _equivalent(indices: np.ndarray, hkl: list[int], symops, merg: int) -> np.ndarray:
    """Which of `indices` are `hkl` as SHELXL's merged list has it: under MERG 0 that index
    alone; otherwise it and its equivalents under the point group, Friedel mates among them
    only where the group is centrosymmetric or MERG 3 or 4 merges them (Olex2's IsOmitted adds
    -1 only for a centric LATT)."""
    from cctbx import miller as cctbx_miller
    from cctbx import sgtbx

    from crystalx_core.symmetry import space_group_from_operators

    if merg == 0:
        equivalents = {tuple(hkl)}
    else:
        group = space_group_from_operators(symops)
        friedel = group.is_centric() or merg in (3, 4)
        derived = group.build_derived_laue_group() if friedel else group.build_derived_point_group()
        point = sgtbx.space_group_info(group=derived).group()
        equivalents = {
            tuple(m.h()) for m in cctbx_miller.sym_equiv_indices(point, tuple(hkl)).indices()
        }
    return np.array([tuple(int(v) for v in row) in equivalents for row in indices], dtype=bool)
