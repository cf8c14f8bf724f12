"""The points a powder-pattern reader returns, before patterns.py checks and resamples them:
one type that the text readers (formats.py) and the binary ones (bruker_raw.py) share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Scan:
    """Points as the file holds them: x is 2θ in degrees, or Q in Å⁻¹ when `axis` is "q"."""

    x: np.ndarray
    y: np.ndarray
    lines: np.ndarray  # the line each point came from (0: the file gives no line per point)
    format: str
    axis: str = "2theta"
    wavelength: float | None = None
    wavelength_from: str = ""  # the file's field that gave it
    notes: list[str] = field(default_factory=list)
    neutron: str = ""  # what in the file says the pattern was measured with neutrons
