"""The R1 an input model states for itself: what its own refinement of these data reached
(SHELXL's REM R1 line in a .res, a CIF's _refine_ls_R_factor_gt), the yardstick a poor final
R1 is judged by (pipeline.verdict)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# SHELXL writes after HKLF 'REM R1 =  0.0455 for   1038 Fo > 4sig(Fo)  and  0.0990 for all ...'
_SHELXL_R1 = re.compile(r"\s*REM\s+R1\s*=\s*(\d*\.\d+)\s+for\s+\d+\s+Fo\s*>\s*4sig", re.I)


@dataclass(frozen=True)
class StatedR1:
    value: float
    path: Path
    line: int | None

    def __str__(self) -> str:
        where = f" line {self.line}" if self.line else ""
        return f"R1 {self.value:.4f} ({self.path.name}{where})"


def stated_r1(value: float | None, path: Path, line: int | None) -> StatedR1 | None:
    """`value` as the input's R1, None where it is no fraction between 0 and 1: a yardstick of
    7.16 (COD 1100192's _refine_ls_R_factor_gt, per cent) would let any final R1 pass."""
    return StatedR1(value, path, line) if value is not None and 0 < value < 1 else None


def shelx_stated_r1(lines, path: Path) -> StatedR1 | None:
    """The first SHELXL R1 line of a .res (Olex2 repeats it after END), None in a fresh .ins."""
    for line in lines:
        found = _SHELXL_R1.match(line.text)
        if found:
            return stated_r1(float(found.group(1)), path, line.number)
    return None


def file_stated_r1(path) -> StatedR1 | None:
    """The R1 the structure file at `path` states (the file Olex2 has open: the service's
    snapshot source); None where it states none, or is not there or not readable."""
    from crystalx_core.errors import CrystalXError
    from crystalx_core.io import load

    try:
        return load(path).stated_r1
    except (CrystalXError, OSError):
        return None
