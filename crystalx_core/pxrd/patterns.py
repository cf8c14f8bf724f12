"""Measured powder patterns, read from the files instruments and programs write
(crystalx_core.pxrd.formats tells them apart by content) and resampled onto the model grid.

The wavelength is the file's own where it states one, `--wavelength` where given (it wins,
with a note when the two disagree), else Cu Kα1; a pattern at another wavelength is mapped onto
Cu Kα 2θ through its d-spacings before resampling. Kα2 is left in: the file says whether the
beam was Kα1 only (XRDML's usedWavelength), and either way nothing is stripped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.io.files import MAX_INPUT_BYTES, read_input_bytes
from crystalx_core.pxrd.bruker_raw import MAGIC as RAW4
from crystalx_core.pxrd.formats import is_rasx, read_scan
from crystalx_core.pxrd.simulate import CU_KALPHA, GRID

MIN_POINTS = 50
MIN_GRID_COVERAGE = 0.3  # of the 5–90° grid; read without comment from here (pxrd.coverage: below)
NEUTRON_MAX_WAVELENGTH = 10  # Å: cold-neutron powder diffractometers (DMC) reach 4–6 Å
WAVELENGTH_AGREES = 1e-3  # Å: a file's 1.54060 and the option's 1.5406 are the same
# binary formats whose layout we have not verified on a real file, and the program that exports
# them: what to export instead (STOE's RAW_1.06 'Powdat' header: xrdpattern 0.9.9's
# examples/stoe.raw)
_BRUKER_EXPORT = "DIFFRAC.EVA: File > Export; or PowDLL"
_BINARY = (
    (b"RAW1.01", "a Bruker RAW v3 file (binary)", _BRUKER_EXPORT),
    (b"RAW2", "a Bruker RAW v2 file (binary)", _BRUKER_EXPORT),
    (b"RAW ", "a Bruker RAW v1 file (binary)", _BRUKER_EXPORT),
    (b"RAW_", "a STOE .raw file (binary, WinXPOW)", "WinXPOW's export, or PowDLL"),
)
_EXPORT = (
    "CrystalX does not read it: export the pattern as .xy (2θ, intensity), .uxd or .xrdml "
    "({}) and give that file"
)


@dataclass
class Pattern:
    """A measured pattern as read: 2θ (degrees, ascending, each once) and intensities, at
    `wavelength` (Å), which `wavelength_from` explains."""

    two_theta: np.ndarray
    intensity: np.ndarray
    path: str
    wavelength: float = CU_KALPHA
    wavelength_from: str = "Cu Kα1"
    format: str = "columns"
    notes: list[str] = field(default_factory=list)


def _pattern_bytes(path: str) -> bytes:
    """The file's text; binary instrument formats are named, with the export that works."""
    try:
        return read_input_bytes(path, "powder pattern")
    except InputError as error:
        if "binary data" not in error.message and "archive" not in error.message:
            raise
        with open(path, "rb") as handle:  # a regular file under the size limit: checked
            data = handle.read(MAX_INPUT_BYTES)
        if data.startswith(b"PK\x03\x04") and is_rasx(data) or data.startswith(RAW4):
            return data  # formats.read_rasx reads the zip, bruker_raw.read_raw4 a RAW4.00
        head = data[:8]
        kind, where = next(
            ((name, where) for magic, name, where in _BINARY if head.startswith(magic)),
            (None, "the instrument's software, or PowDLL"),
        )
        if kind is None and head.startswith(b"PK\x03\x04"):
            suffix = path.lower().rsplit(".", 1)[-1]
            kind, where = {
                "brml": ("a Bruker .brml file (zipped XML)", _BRUKER_EXPORT),
                "rasx": ("a Rigaku .rasx file without a Data<n>/Profile<n>.txt profile", where),
            }.get(suffix, (None, where))
        if kind is None and "archive" in error.message:
            raise  # a zipped text file: unpacking it is the answer (gzip is read)
        if kind is None:
            raise InputError(
                f"{error.message}; {_EXPORT.format(where)}", path, error.line
            ) from None
        raise InputError(f"{kind}: {_EXPORT.format(where)}", path, 1) from None


def read_pattern(path, wavelength: float | None = None) -> Pattern:
    """Read a powder pattern in any format formats.read_scan knows; `wavelength` (Å), when
    given, overrides the file's. Every problem names the file and, where known, the line."""
    path = str(path)
    scan = read_scan(_pattern_bytes(path), path)
    x, y, lines = scan.x, scan.y, scan.lines

    def line_of(k: int):
        return int(lines[k]) or None if len(lines) > k else None

    if len(x) < MIN_POINTS:
        raise InputError(
            f"{len(x)} data points; a powder pattern needs at least {MIN_POINTS}",
            path,
            line_of(len(x) - 1) if len(x) else None,
        )
    bad = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))
    if len(bad):
        raise InputError("NaN or infinite value", path, line_of(bad[0]))
    notes = list(scan.notes)
    if wavelength is not None:
        used, source = wavelength, "--wavelength"
        if scan.wavelength is not None and abs(scan.wavelength - wavelength) > WAVELENGTH_AGREES:
            notes.append(
                f"the file gives {scan.wavelength:g} Å ({scan.wavelength_from}); "
                f"--wavelength {wavelength:g} Å used"
            )
    elif scan.wavelength is not None:
        used, source = scan.wavelength, f"the file ({scan.wavelength_from})"
    elif scan.axis == "q":
        used, source = CU_KALPHA, "none needed: the file's axis is Q (Å⁻¹)"
    elif scan.neutron:
        # a word can mislead (a sample called D20, a solvent DMC): ask, never assume either way
        raise InputError(
            f"taken for a neutron pattern ({scan.neutron}) and the file states no wavelength: "
            "give it with --wavelength (Å), the instrument's (for an X-ray pattern the "
            "anode's, 1.5406 for Cu Kα1); Cu Kα1 is not assumed for neutrons",
            path,
        )
    else:
        used, source = CU_KALPHA, "Cu Kα1, the default: the file names no wavelength"
    if scan.neutron:
        notes.append(
            f"taken for a neutron pattern ({scan.neutron}): its lines are mapped onto Cu Kα 2θ "
            "through their d-spacings, but the model was trained on X-ray intensities, which "
            "differ from neutron ones: the groups listed are less sure than for an X-ray scan"
        )
    if not 0.1 < used < (NEUTRON_MAX_WAVELENGTH if scan.neutron else 5):
        raise InputError(f"wavelength {used:g} Å ({source}) is not an X-ray wavelength", path)
    if scan.axis == "q":
        if (x <= 0).any():
            raise InputError("Q must be positive", path, line_of(int(np.argmax(x <= 0))))
        ratio = x * used / (4 * np.pi)
        reach = ratio < 1
        x, y, lines = 2 * np.degrees(np.arcsin(ratio[reach])), y[reach], lines[reach]
    x, y, lines = _before_the_beam_left_out(x, y, lines, notes)
    outside = np.flatnonzero((x <= 0) | (x >= 180))
    if len(outside):
        k = outside[0]
        raise InputError(f"2θ = {x[k]:g}° is outside (0, 180)", path, line_of(k))
    note = scans_note(x, path, line_of)
    if note and not any(" merged" in n for n in notes):  # the reader said how
        notes.append(note)
    two_theta, intensity = merged(x, y)
    if intensity.max() <= 0:
        raise InputError("no positive intensity in the pattern", path)
    return Pattern(two_theta, intensity, path, used, source, scan.format, notes)


def _before_the_beam_left_out(x, y, lines, notes: list[str]):
    """The points without those at 2θ ≤ 0° where a scan starts below 0° (ILL's D1A5 from −10°,
    11-BM's from −16°: a detector reaching past the beam counts no powder lines), with a note.
    Where none is below 0 (a column of image numbers read as 2θ) or they stand amid the scan (a
    damaged row), they stay, to be refused."""
    below = np.flatnonzero(x <= 0)
    at_one_end = (
        len(below)
        and below[-1] - below[0] + 1 == len(below)
        and (below[0] == 0 or below[-1] == len(x) - 1)
    )
    if not at_one_end or x.min() == 0 or len(below) == len(x):
        return x, y, lines
    notes.append(f"{len(below)} points at 2θ ≤ 0° (from {x.min():g}°) left out")
    keep = x > 0
    return x[keep], y[keep], lines[keep]


def scans_note(two_theta: np.ndarray, path: str, line_of) -> str | None:
    """A note when the file holds several scans one after another, None for one; points in no
    order are refused. They run one way, ascending or descending as most steps go, and a step
    back begins the next scan: merged scans go back a few times, each a run of many points;
    shuffled or damaged rows (intensity written before 2θ) go back often, in short runs."""
    steps = np.diff(two_theta)
    way = 1.0 if (steps > 0).sum() >= (steps < 0).sum() else -1.0
    starts = [0] + [int(k) + 1 for k in np.flatnonzero(steps * way < 0)]
    if len(starts) == 1:
        return None
    ends = starts[1:] + [len(two_theta)]
    for start, end in zip(starts, ends):
        if end - start < MIN_POINTS:
            k = start or end  # where the order breaks: the short run's first point or its end
            raise InputError(
                f"2θ {two_theta[k]:g}° after {two_theta[k - 1]:g}°: the points are neither "
                f"ascending nor descending (a run of {end - start} is too short to be a scan of "
                "its own: shuffled or damaged rows?)",
                path,
                line_of(k),
            )
    at = line_of(starts[1])
    return f"2θ goes back{f' at line {at}' if at else ''}: read as {len(starts)} scans merged"


def merged(two_theta: np.ndarray, intensity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending 2θ, each once: a descending export is sorted, a 2θ measured twice (merged
    scans) given the mean of its intensities."""
    unique, where = np.unique(np.round(two_theta, 6), return_inverse=True)
    counts = np.bincount(where)
    return unique, np.bincount(where, weights=intensity) / counts


def cu_two_theta(pattern: Pattern) -> np.ndarray:
    """The pattern's 2θ as Cu Kα would see the same d spacings (the models' and GRID's scale);
    NaN where d is below Cu Kα's reach (λ/2)."""
    if abs(pattern.wavelength - CU_KALPHA) <= 1e-4:
        return pattern.two_theta
    d = pattern.wavelength / (2 * np.sin(np.radians(pattern.two_theta) / 2))
    ratio = CU_KALPHA / (2 * d)
    return np.where(ratio < 1, 2 * np.degrees(np.arcsin(np.minimum(ratio, 1))), np.nan)


def binned(two_theta: np.ndarray, intensity: np.ndarray, grid: np.ndarray = GRID) -> np.ndarray:
    """The pattern on `grid`: each point the mean over its bin (grid step wide, centred on it)
    of the pattern drawn as straight lines between its points, wherever the bin holds two points
    or more; elsewhere (a coarser scan) the line's value at the point; zero outside the scan.

    A 0.01° scan's sharp peak falls whole into one or two bins and keeps its area there; read
    at the grid points alone, it would be sampled on its flank or missed.
    """
    step = float(grid[1] - grid[0])
    low, high = grid - step / 2, grid + step / 2
    values = np.interp(grid, two_theta, intensity, left=0.0, right=0.0)
    inside = np.searchsorted(two_theta, high, "right") - np.searchsorted(two_theta, low, "left")
    fine = inside >= 2
    if len(two_theta) < 2 or not fine.any():
        return values
    area = np.concatenate(
        [[0.0], np.cumsum(np.diff(two_theta) * (intensity[1:] + intensity[:-1]) / 2)]
    )

    def integral(points):  # the area under the lines from the first point to `points`
        points = np.clip(points, two_theta[0], two_theta[-1])
        k = np.clip(np.searchsorted(two_theta, points, "right") - 1, 0, len(two_theta) - 2)
        t = points - two_theta[k]
        slope = (intensity[k + 1] - intensity[k]) / (two_theta[k + 1] - two_theta[k])
        return area[k] + intensity[k] * t + slope * t**2 / 2

    lo, hi = np.maximum(low[fine], two_theta[0]), np.minimum(high[fine], two_theta[-1])
    values[fine] = (integral(hi) - integral(lo)) / np.maximum(hi - lo, 1e-12)
    return values


def grid_coverage(pattern: Pattern, grid: np.ndarray = GRID) -> float:
    """The share of `grid` inside the pattern's Cu Kα 2θ range (what the model sees measured)."""
    two_theta = cu_two_theta(pattern)
    two_theta = two_theta[~np.isnan(two_theta)]
    if not len(two_theta):
        return 0.0
    return float(np.mean((grid >= two_theta.min()) & (grid <= two_theta.max())))


def on_model_grid(
    pattern: Pattern, grid: np.ndarray = GRID, min_coverage: float = MIN_GRID_COVERAGE
) -> np.ndarray:
    """The pattern as the models read it: Cu Kα 2θ, binned onto `grid` (see binned), zero
    outside the measured range, negative counts at 0, maximum 1 (training adds background, so
    none is removed). A pattern covering less than `min_coverage` of the grid is refused."""
    covered = grid_coverage(pattern, grid)
    if covered < min_coverage:
        raise InputError(
            f"the pattern covers {covered:.1%} of {grid[0]:g}–{grid[-1]:g}° 2θ (Cu Kα); the model "
            f"needs at least {min_coverage:.1%}",
            pattern.path,
        )
    two_theta = cu_two_theta(pattern)
    visible = ~np.isnan(two_theta)
    two_theta, intensity = two_theta[visible], pattern.intensity[visible]
    values = np.clip(binned(two_theta, intensity, grid), 0, None)
    top = values.max()
    if top <= 0:
        raise InputError("the pattern is flat on the model grid", pattern.path)
    return (values / top).astype(np.float32)


def xy_text(two_theta: np.ndarray, intensity: np.ndarray, comment: str = "") -> str:
    """A plain .xy file's text (simulated patterns, tests)."""
    header = f"# {comment}\n" if comment else ""
    return header + "".join(f"{t:.4f} {i:.6g}\n" for t, i in zip(two_theta, intensity))
