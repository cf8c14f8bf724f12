"""Measured powder patterns: .xy / .xye / two-column CSV files, resampled onto the model grid.

Columns are 2θ (degrees) and intensity, an optional third column (esd) is ignored; lines
starting with '#', '!', "'" or a letter, and one column header before the data, are skipped. A
pattern taken at another
wavelength is mapped onto Cu Kα 2θ through its d-spacings before resampling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.io.files import read_input_bytes
from crystalx_core.pxrd.simulate import CU_KALPHA, GRID

MIN_POINTS = 50
MIN_GRID_COVERAGE = 0.3  # of the 5–90° grid; less and the model sees mostly padding
_SEPARATOR = re.compile(r"[,;\s]+")


@dataclass
class Pattern:
    """A measured pattern as read: 2θ (degrees, ascending) and intensities."""

    two_theta: np.ndarray
    intensity: np.ndarray
    path: str
    wavelength: float = CU_KALPHA


def read_pattern(path, wavelength: float = CU_KALPHA) -> Pattern:
    """Read a two- or three-column pattern file; every problem names the file and line."""
    path = str(path)
    text = read_input_bytes(path, "powder pattern").decode("latin-1")
    rows, lines, header_seen = [], [], False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#!'\"" or line[0].isalpha():
            continue
        fields = [f for f in _SEPARATOR.split(line) if f]
        if len(fields) < 2:
            raise InputError(f"expected 2θ and intensity, found {line[:40]!r}", path, number)
        try:
            two_theta, intensity = float(fields[0]), float(fields[1])
        except ValueError:
            if not rows and not header_seen:  # a column header such as "2theta,intensity"
                header_seen = True
                continue
            raise InputError(f"not numbers: {line[:40]!r}", path, number) from None
        if not (np.isfinite(two_theta) and np.isfinite(intensity)):
            raise InputError("NaN or infinite value", path, number)
        if not 0 < two_theta < 180:
            raise InputError(f"2θ = {two_theta:g}° is outside (0, 180)", path, number)
        if rows and two_theta <= rows[-1][0]:
            raise InputError(f"2θ must increase: {two_theta:g} after {rows[-1][0]:g}", path, number)
        rows.append((two_theta, intensity))
        lines.append(number)
    if len(rows) < MIN_POINTS:
        raise InputError(
            f"{len(rows)} data points; a powder pattern needs at least {MIN_POINTS}",
            path,
            lines[-1] if lines else None,
        )
    if not 0.1 < wavelength < 5:
        raise InputError(f"wavelength {wavelength:g} Å is not an X-ray wavelength", path)
    table = np.array(rows)
    if table[:, 1].max() <= 0:
        raise InputError("no positive intensity in the pattern", path)
    return Pattern(table[:, 0], table[:, 1], path, wavelength)


def cu_two_theta(pattern: Pattern) -> np.ndarray:
    """The pattern's 2θ as Cu Kα would see the same d spacings (the models' and GRID's scale);
    NaN where d is below Cu Kα's reach (λ/2)."""
    if abs(pattern.wavelength - CU_KALPHA) <= 1e-4:
        return pattern.two_theta
    d = pattern.wavelength / (2 * np.sin(np.radians(pattern.two_theta) / 2))
    ratio = CU_KALPHA / (2 * d)
    return np.where(ratio < 1, 2 * np.degrees(np.arcsin(np.minimum(ratio, 1))), np.nan)


def on_model_grid(pattern: Pattern, grid: np.ndarray = GRID) -> np.ndarray:
    """The pattern as the models read it: Cu Kα 2θ, linear interpolation onto `grid`, zero
    outside the measured range, negative counts at 0, maximum 1 (training adds background, so none
    is removed)."""
    two_theta = cu_two_theta(pattern)
    visible = ~np.isnan(two_theta)
    two_theta, intensity = two_theta[visible], pattern.intensity[visible]
    covered = (
        np.mean((grid >= two_theta.min()) & (grid <= two_theta.max())) if len(two_theta) else 0.0
    )
    if covered < MIN_GRID_COVERAGE:
        raise InputError(
            f"the pattern covers {covered:.0%} of {grid[0]:g}–{grid[-1]:g}° 2θ (Cu Kα); the model "
            f"needs at least {MIN_GRID_COVERAGE:.0%}",
            pattern.path,
        )
    values = np.interp(grid, two_theta, intensity, left=0.0, right=0.0)
    values = np.clip(values, 0, None)
    top = values.max()
    if top <= 0:
        raise InputError("the pattern is flat on the model grid", pattern.path)
    return (values / top).astype(np.float32)


def xy_text(two_theta: np.ndarray, intensity: np.ndarray, comment: str = "") -> str:
    """A plain .xy file's text (simulated patterns, tests)."""
    header = f"# {comment}\n" if comment else ""
    return header + "".join(f"{t:.4f} {i:.6g}\n" for t, i in zip(two_theta, intensity))
