"""Reflection files of integration programs other than SHELX's: XDS's XDS_ASCII.HKL and
Scalepack's merged .sca, read with iotbx's own readers (iotbx.xds.read_ascii,
iotbx.scalepack.merge) and converted to Fo² with σ as their I and σ(I) are; what those
readers skip (XDS's misfits, Scalepack's overloads and unmeasured marks) is counted in notes.
The model's cell and symmetry are used, not the file's (io.pairing checks the data fit them).
XDS files that are not XDS_ASCII (INTEGRATE.HKL: unscaled, before CORRECT) are refused saying
what to pass."""

from __future__ import annotations

import io
import re

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.io.hkl import HklfFormat, Reflections, usable_reflections, xray_problem

_XDS_ASCII = "!FORMAT=XDS_ASCII"
_SCALEPACK = "    1"  # the first line of a merged .sca (iotbx.scalepack.merge)
# what iotbx's bare assertions mean: a header item it needs is missing, or a record does not
# hold NUMBER_OF_ITEMS_IN_EACH_DATA_RECORD numbers
_XDS_FAULT = (
    "a header item missing (cell, space group, H K L IOBS SIGMA columns) or a record of the "
    "wrong length"
)


def other_format(text: str) -> str | None:
    """'xds', 'scalepack' or None (a SHELX .hkl) from the file's first line."""
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0].rstrip()  # as iotbx strips it
    if first.startswith("!"):
        return "xds"
    if first == _SCALEPACK:
        return "scalepack"
    return None


def read_other(text: str, path: str, hklf: HklfFormat | None) -> Reflections:
    """An XDS_ASCII or Scalepack file's reflections (other_format says which)."""
    kind = other_format(text)
    text = io.StringIO(text, newline=None).read()  # CR-only or CR LF line ends made LF
    if kind == "xds":
        indices, intensities, sigmas, what, dropped = _xds(text, path)
    else:
        indices, intensities, sigmas, what, dropped = _scalepack(text, path)
    if not len(intensities):
        raise InputError(f"no reflections in this {what} file", path)
    lines = np.arange(1, len(intensities) + 1)  # no line numbers from iotbx: rows counted
    table = np.column_stack([indices, intensities, sigmas, lines]).astype(float)
    reflections = usable_reflections(table, None, path, HklfFormat(), line_of=lambda _: None)
    reflections.notes[:0] = [
        f"reflections from {'an' if what[0] in 'AEIOUX' else 'a'} {what} file (I and σ(I) "
        "as its program scaled them), read by iotbx",
        *dropped,
    ]
    if hklf is not None and (hklf.code != 4 or hklf.scale != 1 or hklf.matrix):
        reflections.notes.append(
            f"HKLF {hklf.code} of the instructions not applied to this {what} file: it is "
            "written for the .hkl SHELXL reads"
        )
    return reflections


def _xds(text: str, path: str):
    """XDS_ASCII.HKL (merged or not); XDS marks misfits with a negative σ, which iotbx drops:
    counted in a note."""
    from iotbx.xds.read_ascii import reader

    if not text.startswith(_XDS_ASCII):
        written = text.split("\n", 1)[0].strip()[:60]
        raise InputError(
            f"an XDS file that is not XDS_ASCII ({written!r}): pass XDS_ASCII.HKL from CORRECT, "
            "or the .hkl XDSCONV or XPREP writes from it",
            path,
            1,
        )
    try:
        content = reader(io.StringIO(text))
    except (AssertionError, IndexError):  # iotbx's bare asserts and unguarded indexing
        raise InputError(f"XDS_ASCII file that iotbx cannot read: {_XDS_FAULT}", path) from None
    except (RuntimeError, ValueError) as error:
        raise InputError(f"XDS_ASCII file that iotbx cannot read: {error}", path) from None
    if content.wavelength:
        problem = xray_problem(content.wavelength)
        if problem:
            raise InputError(f"!X-RAY_WAVELENGTH: {problem}", path)
    misfits = _xds_records(text) - len(content.iobs)
    return (
        np.array(content.miller_indices, dtype=int).reshape(-1, 3),
        np.array(content.iobs),
        np.array(content.sigma_iobs),
        "XDS_ASCII",
        [f"{misfits} misfit(s) (σ < 0, XDS's outlier mark) left out"] if misfits else [],
    )


def _xds_records(text: str) -> int:
    """The data records iotbx reads: the lines after !END_OF_HEADER up to !END_OF_DATA."""
    lines = text.split("\n")
    start = next((n for n, line in enumerate(lines) if line.startswith("!END_OF_HEADER")), None)
    if start is None:
        return 0
    count = 0
    for line in lines[start + 1 :]:
        if line.startswith("!END_OF_DATA"):
            break
        count += bool(line.strip())  # a blank last line: iotbx read it only as the file's end
    return count


def _scalepack(text: str, path: str):
    """A merged Scalepack file (I(+) and I(-) where anomalous, both kept)."""
    from iotbx.scalepack.merge import FormatError, reader

    try:
        content = reader(io.StringIO(text))
    except (FormatError, RuntimeError, ValueError) as error:
        where = re.match(r"line (\d+): (.*)", str(error))  # iotbx names the line
        raise InputError(
            f"Scalepack file that iotbx cannot read: {where[2] if where else error}",
            path,
            int(where[1]) if where else None,
        ) from None
    pairs, overloads = _scalepack_pairs(text)
    unmeasured = pairs - overloads - len(content.i_obs)
    dropped = []
    if overloads:
        dropped.append(f"{overloads} overload(s) (I written '*', Scalepack's mark) left out")
    if unmeasured > 0:
        dropped.append(f"{unmeasured} I of 0 or 1 with σ 0 (no measurement) left out")
    return (
        np.array(content.miller_indices, dtype=int).reshape(-1, 3),
        np.array(content.i_obs),
        np.array(content.sigmas),
        "Scalepack",
        dropped,
    )


def _scalepack_pairs(text: str) -> tuple[int, int]:
    """(I, σ) pairs in the data lines, and how many of them are overloads ('*' for I), by
    iotbx.scalepack.merge's columns (3I4, 4F8.1): an I(-) of 0 and σ -1, Scalepack's missing
    Friedel mate, is no pair."""
    pairs = overloads = 0
    for line in text.split("\n")[3:]:
        line = line.rstrip() + " " * 44
        for start in (12, 28):
            i_obs, sigma = line[start : start + 8].strip(), line[start + 8 : start + 16].strip()
            if not i_obs:
                continue
            if i_obs == "*" * len(i_obs):
                overloads += 1
                pairs += 1
            elif (float(i_obs), float(sigma)) != (0, -1):  # iotbx read both already
                pairs += 1
    return pairs, overloads
