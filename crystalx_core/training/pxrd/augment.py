"""On-the-fly augmentation of stored patterns, so every epoch sees patterns it has not seen.

The stored sets hold one or two simulated patterns per structure; a few thousand MOFs learnt
from those alone are memorised (training loss 0.14, test top-1 37 %). Each batch is redrawn
here in pattern space, as a measurement of the same powder could differ:
- peak positions: zero shift, sample displacement (∝ cos θ) and an isotropic cell strain
  (sin θ / (1 + ε), about Δ2θ = -2 ε tan θ), by resampling the pattern on a moved grid; 1 %
  is a measurement's spread, ±10 % (LARGE_STRAIN) another framework of the same symmetry
  and shape at another size, which a model on the ln d axis sees as a mere shift;
- peak width and shape: a Gaussian blur of random width;
- relative intensities (preferred orientation, texture): a smooth random factor over 2θ;
- impurity peaks, a smooth background and counting noise; then the maximum is 1 again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from crystalx_core.pxrd.simulate import GRID_START, GRID_STEP


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random changes (each drawn per pattern, uniform in ±range or [0, range])."""

    zero_shift: float = 0.15  # ° 2θ
    displacement: float = 0.1  # ° 2θ at cos θ = 1
    strain: float = 0.01  # relative change of every d spacing
    blur: float = 1.5  # Gaussian sigma, grid points
    intensity: float = 0.35  # standard deviation of the log intensity factor
    intensity_knot: float = 3.0  # ° 2θ between the factor's independent values
    impurity_chance: float = 0.3
    impurity_height: float = 0.08
    background: float = 0.08
    counts: tuple[float, float] = (2.5, 4.5)  # log10 of the counts at the strongest peak


def moved(patterns: Tensor, zero: Tensor, displacement: Tensor, strain: Tensor) -> Tensor:
    """The patterns resampled as if measured with that zero shift and displacement (° 2θ,
    (batch, 1) each) on a cell whose every d spacing is (1 + strain) times as long: each
    output 2θ reads where sin θ = (1 + strain) sin θ_out, exact for any strain (-2ε tan θ is
    its first order), so on a ln d axis the strain is a shift by ln(1 + strain)."""
    b, n = patterns.shape
    two_theta = GRID_START + GRID_STEP * torch.arange(n, dtype=patterns.dtype)
    instrument = zero + displacement * torch.cos(torch.deg2rad(two_theta / 2))
    sine = (1 + strain) * torch.sin(torch.deg2rad((two_theta - instrument) / 2))
    source_two_theta = torch.rad2deg(2 * torch.asin(sine.clamp(-1.0, 1.0)))
    source = (source_two_theta - GRID_START) / GRID_STEP  # where each output point reads
    low = source.floor().clamp(0, n - 2)
    weight = (source - low).clamp(0, 1)
    low = low.long()
    moved = (
        torch.gather(patterns, 1, low) * (1 - weight) + torch.gather(patterns, 1, low + 1) * weight
    )
    return moved * ((source >= 0) & (source <= n - 1) & (sine.abs() <= 1))


def _moved(patterns: Tensor, settings: Augmentation, g: torch.Generator) -> Tensor:
    """The pattern with a random zero shift, displacement and isotropic strain (moved)."""
    b = patterns.shape[0]
    zero = (torch.rand(b, 1, generator=g) * 2 - 1) * settings.zero_shift
    displacement = (torch.rand(b, 1, generator=g) * 2 - 1) * settings.displacement
    strain = (torch.rand(b, 1, generator=g) * 2 - 1) * settings.strain
    return moved(patterns, zero, displacement, strain)


LARGE_STRAIN = 0.1


def _blurred(patterns: Tensor, settings: Augmentation, g: torch.Generator) -> Tensor:
    """Each pattern convolved with its own normalised Gaussian (sigma 0..blur grid points)."""
    b = patterns.shape[0]
    half = math.ceil(3 * settings.blur)
    offsets = torch.arange(-half, half + 1, dtype=patterns.dtype)
    sigma = torch.rand(b, 1, generator=g) * settings.blur + 1e-3
    kernels = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernels = (kernels / kernels.sum(dim=1, keepdim=True)).unsqueeze(1)
    return torch.nn.functional.conv1d(patterns.unsqueeze(0), kernels, padding=half, groups=b)[0]


def _smooth(b: int, n: int, knots: int, g: torch.Generator) -> Tensor:
    """Standard-normal values on `knots` points, linearly interpolated to n points."""
    values = torch.randn(b, 1, knots, generator=g)
    return torch.nn.functional.interpolate(values, size=n, mode="linear", align_corners=True)[:, 0]


def augment(
    patterns: Tensor, g: torch.Generator, settings: Augmentation = Augmentation()
) -> Tensor:
    """A new measured-like pattern from each row of `patterns` (batch, points), maximum 1."""
    b, n = patterns.shape
    x = _blurred(_moved(patterns, settings, g), settings, g)
    knots = max(2, round(n * GRID_STEP / settings.intensity_knot) + 1)
    spread = torch.rand(b, 1, generator=g) * settings.intensity
    x = x * torch.exp(spread * _smooth(b, n, knots, g))
    x = x / x.amax(dim=1, keepdim=True).clamp_min(1e-6)
    grid = torch.arange(n, dtype=x.dtype)
    for _ in range(3):  # up to three impurity peaks, each present by chance
        present = torch.rand(b, 1, generator=g) < settings.impurity_chance
        centre = torch.rand(b, 1, generator=g) * (55.0 / GRID_STEP)  # 5-60° 2θ
        width = 1.0 + torch.rand(b, 1, generator=g) * 2.0  # sigma, grid points
        height = torch.rand(b, 1, generator=g) * settings.impurity_height
        x = x + present * height * torch.exp(-0.5 * ((grid - centre) / width) ** 2)
    ramp = grid / (n - 1)
    x = x + torch.rand(b, 1, generator=g) * settings.background * torch.exp(
        -torch.rand(b, 1, generator=g) * 5 * ramp
    )
    counts = 10 ** (
        settings.counts[0]
        + torch.rand(b, 1, generator=g) * (settings.counts[1] - settings.counts[0])
    )
    x = x + torch.randn(b, n, generator=g) * torch.sqrt(x.clamp_min(0) / counts)
    x = x.clamp_min(0)
    return x / x.amax(dim=1, keepdim=True).clamp_min(1e-6)
