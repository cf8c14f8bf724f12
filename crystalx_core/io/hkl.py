"""SHELX HKLF 4 reflection files: h k l Fo² σ(Fo²) [batch], format 3I4,2F8.2[,I4].

Read as SHELX reads them: fixed columns (so `   0   0   010890.21` is l = 0, I = 10890.21)
and the first `0 0 0` line (or a blank line after the data) ends it; anything after it (SADABS
notes, CIF text) is ignored. Lines whose fields are wider than the fixed format are read
split on blanks instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crystalx_core.errors import InputError
from crystalx_core.io.files import read_input_bytes
from crystalx_core.symmetry import space_group_from_operators


@dataclass
class Reflections:
    """Unmerged observations in file order."""

    indices: np.ndarray  # (n, 3) int
    intensities: np.ndarray  # Fo²
    sigmas: np.ndarray  # σ(Fo²)
    batches: np.ndarray | None  # batch/scale-group numbers where the file has them
    path: str = ""

    def __len__(self) -> int:
        return len(self.intensities)

    def to_miller_array(self, cell, symops):
        """The observations as a cctbx intensity array with sigmas (not merged)."""
        from cctbx import crystal, miller
        from cctbx.array_family import flex

        symmetry = crystal.symmetry(unit_cell=tuple(cell),
                                    space_group=space_group_from_operators(symops))
        indices = flex.miller_index([tuple(int(v) for v in row) for row in self.indices])
        miller_set = miller.set(symmetry, indices, anomalous_flag=False)
        array = miller_set.array(data=flex.double(self.intensities.tolist()),
                                 sigmas=flex.double(self.sigmas.tolist()))
        return array.set_observation_type_xray_intensity()


def read_hkl(path) -> Reflections:
    path = str(path)
    data = read_input_bytes(path, "reflection file")
    return reflections_from_text(data.decode("latin-1"), path)


MAX_INDEX = 999  # HKLF 4 gives h, k, l four columns each
MAX_BATCH = 9999


def _fixed(line: str) -> tuple[int, int, int, float, float, int | None]:
    """3I4,2F8[,I4] by columns; ValueError if anything lies beyond column 32."""
    if line[32:].strip():
        raise ValueError(line)
    batch = line[28:32].strip()
    return (int(line[0:4]), int(line[4:8]), int(line[8:12]), float(line[12:20]),
            float(line[20:28]), int(batch) if batch else None)


def _split(line: str) -> tuple[int, int, int, float, float, int | None]:
    fields = line.split()
    if len(fields) not in (5, 6):
        raise ValueError(line)
    h, k, l = (int(v) for v in fields[:3])
    return h, k, l, float(fields[3]), float(fields[4]), int(fields[5]) if len(fields) == 6 else None


def reflections_from_text(text: str, path: str = "<string>") -> Reflections:
    """Parse HKLF 4 text (a file, or a CIF's embedded _shelx_hkl_file)."""
    rows, batches, number = [], [], 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            if rows:  # SHELX reads a blank line as 0 0 0; leading ones come from CIF text fields
                break
            continue
        try:
            h, k, l, intensity, sigma, batch = _fixed(line)
        except ValueError:
            try:
                h, k, l, intensity, sigma, batch = _split(line)
            except ValueError:
                raise InputError(f"not an HKLF 4 reflection line (h k l Fo² σ [batch]): "
                                 f"{line.strip()[:60]!r}", path, number) from None
        if h == k == l == 0:
            break
        if max(abs(h), abs(k), abs(l)) > MAX_INDEX or (batch is not None and abs(batch) > MAX_BATCH):
            raise InputError(f"index or batch out of range in {line.strip()[:60]!r} (|h|, |k|, |l| <= "
                             f"{MAX_INDEX}, |batch| <= {MAX_BATCH})", path, number)
        if not (np.isfinite(intensity) and np.isfinite(sigma)):
            raise InputError(f"NaN or infinite intensity or sigma for {h} {k} {l}", path, number)
        rows.append((h, k, l, intensity, sigma, number))
        batches.append(batch)
    if not rows:
        raise InputError("no reflections before the 0 0 0 end line" if text.strip()
                         else "the reflection file is empty", path, max(number, 1))

    table = np.array(rows, dtype=float)
    sigmas = table[:, 4]
    bad = np.flatnonzero(sigmas <= 0)
    if bad.size:
        raise InputError(f"{bad.size} reflection(s) with sigma <= 0, the first one here "
                         f"({sigmas[bad[0]]:g}); SHELX cannot weight them", path,
                         int(table[bad[0], 5]))
    has_batch = any(b is not None for b in batches)
    return Reflections(
        indices=table[:, :3].astype(int), intensities=table[:, 3].copy(), sigmas=sigmas.copy(),
        batches=np.array([b or 0 for b in batches], dtype=int) if has_batch else None,
        path=path)


def hkl_text(indices, intensities, sigmas) -> str:
    """HKLF 4 text in SHELX's 3I4,2F8.2 format, ended by the 0 0 0 line."""
    lines = []
    for (h, k, l), intensity, sigma in zip(np.asarray(indices, dtype=int), intensities, sigmas):
        line = f"{h:4d}{k:4d}{l:4d}{intensity:8.2f}{sigma:8.2f}"
        if len(line) != 28:
            raise ValueError(f"reflection {h} {k} {l} does not fit 3I4,2F8.2; scale the data")
        lines.append(line)
    lines.append(f"{0:4d}{0:4d}{0:4d}{0:8.2f}{0:8.2f}")
    return "\n".join(lines) + "\n"
