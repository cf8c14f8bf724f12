"""Bruker RAW version 4 ('RAW4.00', DIFFRAC.SUITE's binary scan file): a chain of tagged header
segments, then one block per range with its start, step, point count, wavelength and per-point
record size. Layout as GSAS-II's G2pwd_BrukerRAW.py (Reader, 'ver. 4') documents it, checked
on fairmat-readers-xrd 0.0.10's tests/data/TwoTheta_scan_scrambled.raw against that package's
bruker_raw_parser.py (same 7134 points and counts). RAW v1–v3 are refused: no real file to check.
"""

from __future__ import annotations

import struct

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.pxrd.scan import Scan

MAGIC = b"RAW4.00"
FORMAT = "Bruker RAW4"
_FIRST_SEGMENT = 61  # after the magic, date and time
_SOURCE = 30  # segment type of the X-ray source: Kα mean, Kα1, Kα2, Kβ (doubles) from byte 72
_RANGE = (0, 160)  # segment types that end the file header: a range block follows
_RANGE_HEADER = 160  # bytes of a range block before its own sub-segments
# GSAS-II reads these scan types as 2θ patterns; others (a rocking curve, a chi or phi scan)
# step another axis
_TWO_THETA_SCANS = ("Locked Coupled", "Unlocked Coupled", "Detector Scan")


def _unpack(layout: str, data: bytes, at: int, path: str):
    try:
        return struct.unpack_from("<" + layout, data, at)
    except struct.error:
        raise InputError(
            f"the file ends at byte {len(data)}, inside its header: cut short", path
        ) from None


def _text(data: bytes, at: int, size: int) -> str:
    return data[at : at + size].split(b"\0")[0].decode("latin-1").strip()


def _source_lines(data: bytes, at: int, path: str) -> tuple[float | None, float | None]:
    """The X-ray source segment's Kα mean and Kα1 (Å), each None where unstated."""
    stated = [round(v, 6) for v in _unpack("2d", data, at + 72, path)]  # float32s as doubles
    mean, kalpha1 = (v if 0.1 < v < 5 else None for v in stated)
    return mean, kalpha1


def _range(data: bytes, at: int, path: str) -> tuple[np.ndarray, np.ndarray, float, int]:
    """One range block at `at`: 2θ, counts (each record's first float32), its wavelength
    (0 where unstated) and where the next block begins."""
    scan_type = _text(data, at + 32, 24)
    if scan_type not in _TWO_THETA_SCANS:
        raise InputError(
            f"a Bruker RAW range of scan type {scan_type!r}, not a 2θ scan "
            f"({', '.join(_TWO_THETA_SCANS)}): not a powder pattern",
            path,
        )
    start, step = _unpack("2d", data, at + 72, path)
    count = _unpack("I", data, at + 88, path)[0]
    wavelength = round(_unpack("d", data, at + 112, path)[0], 6)
    record, extra = _unpack("2I", data, at + 136, path)
    first = at + _RANGE_HEADER + extra
    end = first + count * record
    if record < 4 or end > len(data):
        raise InputError(
            f"a Bruker RAW range of {count} points × {record} bytes from byte {first}, but the "
            f"file ends at byte {len(data)}: cut short or damaged",
            path,
        )
    with np.errstate(invalid="ignore"):  # a signalling NaN warns here; read_pattern refuses NaN
        counts = np.ndarray((count,), "<f4", data, first, (record,)).astype(float)
    return start + step * np.arange(count), counts, wavelength, end


def read_raw4(data: bytes, path: str) -> Scan:
    """Every range's 2θ and counts (merged, as XRDML's scans are), at the first range's
    wavelength, else the source segment's Kα1. Header segments may stand before each range."""
    at, mean, kalpha1 = _FIRST_SEGMENT, None, None
    xs, ys, wavelengths = [], [], []
    while at + 8 <= len(data):
        kind, length = _unpack("2I", data, at, path)
        if kind in _RANGE:
            x, y, wavelength, at = _range(data, at, path)
            xs.append(x)
            ys.append(y)
            wavelengths.append(wavelength)
            continue
        if kind == _SOURCE:
            mean, kalpha1 = _source_lines(data, at, path)
        if length < 8:
            raise InputError(f"a header segment of {length} bytes at byte {at}: damaged", path)
        at += length
    if not xs:
        raise InputError("a Bruker RAW file without a range: it holds no data", path)
    scan = Scan(np.concatenate(xs), np.concatenate(ys), np.zeros(sum(map(len, xs)), int), FORMAT)
    if 0.1 < wavelengths[0] < 5 and kalpha1 is not None and wavelengths[0] == mean != kalpha1:
        # DIFFRAC's converter writes the source's Kα mean as the range's λ (xrdpattern's
        # bruker.raw: 1.5418 beside Kα1 1.5406); the Kα1 line is what the models' 2θ are of,
        # as an XRDML's doublet scan is read at its kAlpha1
        scan.wavelength, scan.wavelength_from = kalpha1, "its X-ray source's Kα1"
        scan.notes.append(
            f"its range states the Kα mean, {mean:g} Å (Kα1 + Kα2): read at Kα1, Kα2 left in"
        )
    elif 0.1 < wavelengths[0] < 5:
        scan.wavelength, scan.wavelength_from = wavelengths[0], "its first range's wavelength"
    elif kalpha1 is not None:
        scan.wavelength, scan.wavelength_from = kalpha1, "its X-ray source's Kα1"
    if len(xs) > 1:
        scan.notes.append(f"{len(xs)} ranges merged")
    return scan
