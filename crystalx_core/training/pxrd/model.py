"""Space-group classifiers for powder patterns: Chemical Sight Net (CSN) and a plain CNN.

CSN, as its paper describes it, sized for CPU training:
- 1D convolutions turn the 850-point pattern (5–90° 2θ, 0.1° steps) into 27 tokens of
  2 × channels (five strided convolutions, stride 32: one token per 3.2°; then three dilated
  ones), each with a learned position embedding (2θ matters);
- an intensity-aware self-attention embedding: every head adds w_h · log(I_j + ε) to its
  attention logits for key token j, I_j being the strongest intensity under that token, so
  weak peaks keep a say next to strong ones (w_h learned; ablation: w = 0, plain attention);
- transformer blocks, mean + max pooling;
- two heads: 230 space groups (cross-entropy) and 46 symmetry rules × {present, inverse}
  (binary cross-entropy added to the loss; ablation: no rule head).

The CNN baseline is the same convolutions with pooling and a linear layer: CSN without the
attention and the rule head.
Both take (batch, 850) and return space-group logits first; ONNX export keeps only those.
`axis` chooses what the convolutions read: the 2θ pattern as given, the same pattern on a
uniform ln d axis (pxrd.log_d: an isotropic change of the cell is a shift there), or both as
two channels; the resampling is part of the model, so the exported graph applies it too.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from crystalx_core.pxrd.labels import N_SPACE_GROUPS, RULES
from crystalx_core.pxrd.log_d import resampling_matrix
from crystalx_core.pxrd.simulate import GRID

AXES = ("two_theta", "log_d", "both")

LOG_EPSILON = 1e-3


@dataclass
class PxrdConfig:
    kind: str = "csn"  # "csn" or "cnn"
    channels: int = 64
    layers: int = 2
    heads: int = 4
    intensity_attention: bool = True
    rule_head: bool = True
    points: int = len(GRID)
    dropout: float = 0.0  # in the transformer blocks and before the heads
    axis: str = "two_theta"  # one of AXES: what the convolutions read

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "PxrdConfig":
        return cls(**json.loads(Path(path).read_text()))


def conv(
    channels_in: int, channels_out: int, kernel: int, stride: int = 1, dilation: int = 1
) -> nn.Sequential:
    """Convolution, batch norm, GELU (without batch norm these stacks stayed at the majority
    class)."""
    return nn.Sequential(
        nn.Conv1d(
            channels_in,
            channels_out,
            kernel,
            stride=stride,
            padding=dilation * (kernel // 2),
            dilation=dilation,
        ),
        nn.BatchNorm1d(channels_out),
        nn.GELU(),
    )


class Axis(nn.Module):
    """(B, L) 2θ patterns → (B, K, L): the pattern itself, on ln d (maximum 1 again), or both.

    The ln d resampling is a gather of the few 2θ points each bin averages (the columns of
    log_d.resampling_matrix, at most `width` nonzero each), cheaper than the dense product;
    its tables are rebuilt from the config, not saved, so state dicts stay as they were."""

    def __init__(self, axis: str, points: int):
        super().__init__()
        if axis not in AXES:
            raise ValueError(f"unknown pattern axis {axis!r}: one of {', '.join(AXES)}")
        self.axis = axis
        if axis == "two_theta":
            return
        matrix = resampling_matrix(points)
        width = int((matrix != 0).sum(axis=0).max())
        rows = np.argsort(matrix == 0, axis=0, kind="stable")[:width]  # nonzero rows first
        weight = np.take_along_axis(matrix, rows, axis=0)
        self.register_buffer("source", torch.from_numpy(rows.T.copy()).long(), persistent=False)
        self.register_buffer("weight", torch.from_numpy(weight.T.copy()), persistent=False)

    @property
    def channels(self) -> int:
        return 2 if self.axis == "both" else 1

    def forward(self, pattern: Tensor) -> Tensor:
        if self.axis == "two_theta":
            return pattern.unsqueeze(1)
        log_d = (pattern[:, self.source] * self.weight).sum(dim=2)
        log_d = log_d / log_d.amax(dim=1, keepdim=True).clamp_min(1e-6)
        if self.axis == "log_d":
            return log_d.unsqueeze(1)
        return torch.stack([pattern, log_d], dim=1)


class ConvStem(nn.Module):
    """(B, K, L) → (B, C, T): three strided convolutions, T = ceil(L / 8)."""

    def __init__(self, channels: int, inputs: int = 1):
        super().__init__()
        self.layers = nn.Sequential(
            conv(inputs, channels // 2, 9, 2),
            conv(channels // 2, channels, 7, 2),
            conv(channels, channels, 5, 2),
        )

    def forward(self, pattern: Tensor) -> Tensor:
        return self.layers(pattern)


class SelfAttention(nn.Module):
    """Multi-head self-attention with an optional additive key bias w_h · log intensity."""

    def __init__(self, channels: int, heads: int, intensity_bias: bool):
        super().__init__()
        self.heads, self.head_dim = heads, channels // heads
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)
        self.intensity_weight = nn.Parameter(torch.full((heads,), 0.5)) if intensity_bias else None

    def forward(self, x: Tensor, log_intensity: Tensor) -> Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if self.intensity_weight is not None:
            logits = logits + self.intensity_weight.reshape(1, -1, 1, 1) * log_intensity.reshape(
                b, 1, 1, t
            )
        mixed = torch.softmax(logits, dim=-1) @ v
        return self.out(mixed.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, channels: int, heads: int, intensity_bias: bool, dropout: float = 0.0):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.norm1, self.norm2 = nn.LayerNorm(channels), nn.LayerNorm(channels)
        self.attention = SelfAttention(channels, heads, intensity_bias)
        self.mlp = nn.Sequential(
            nn.Linear(channels, 2 * channels), nn.GELU(), nn.Linear(2 * channels, channels)
        )

    def forward(self, x: Tensor, log_intensity: Tensor) -> Tensor:
        x = x + self.drop(self.attention(self.norm1(x), log_intensity))
        return x + self.drop(self.mlp(self.norm2(x)))


class ChemicalSightNet(nn.Module):
    STRIDE = 32  # grid points per token

    def __init__(self, config: PxrdConfig):
        super().__init__()
        self.config = config
        c = 2 * config.channels
        self.axis = Axis(config.axis, config.points)
        self.stem = nn.Sequential(
            ConvStem(config.channels, self.axis.channels), *convolutions(config.channels)
        )
        self.tokens = math.ceil(config.points / self.STRIDE)
        self.position = nn.Parameter(torch.zeros(1, self.tokens, c))
        nn.init.normal_(self.position, std=0.02)
        self.embedding = Block(c, config.heads, config.intensity_attention, config.dropout)
        self.blocks = nn.ModuleList(
            Block(c, config.heads, False, config.dropout) for _ in range(config.layers)
        )
        self.norm = nn.LayerNorm(2 * c)
        self.drop = nn.Dropout(config.dropout)
        self.space_group_head = nn.Linear(2 * c, N_SPACE_GROUPS)
        self.rule_head = nn.Linear(2 * c, 2 * len(RULES)) if config.rule_head else None

    def token_log_intensity(self, pattern: Tensor) -> Tensor:
        """log of the strongest intensity under each token (max-pool over its grid points)."""
        pad = self.tokens * self.STRIDE - pattern.shape[1]
        padded = torch.nn.functional.pad(pattern, (0, pad))
        return torch.log(
            padded.reshape(pattern.shape[0], self.tokens, self.STRIDE).amax(dim=2) + LOG_EPSILON
        )

    def forward(self, pattern: Tensor) -> tuple[Tensor, Tensor | None]:
        read = self.axis(pattern)
        log_intensity = self.token_log_intensity(read[:, 0])
        x = self.stem(read).transpose(1, 2) + self.position
        x = self.embedding(x, log_intensity)
        for block in self.blocks:
            x = block(x, log_intensity)
        pooled = self.drop(self.norm(torch.cat([x.mean(dim=1), x.amax(dim=1)], dim=1)))
        rules = self.rule_head(pooled) if self.rule_head is not None else None
        return self.space_group_head(pooled), rules


def convolutions(channels: int) -> list[nn.Module]:
    """After the stem: two more strided convolutions (stride 32 in all), widening to
    2 × channels, and three dilated ones (together they see the whole pattern, so peak
    positions relative to each other count)."""
    return [
        conv(channels, 2 * channels, 5, 2),
        conv(2 * channels, 2 * channels, 5, 2),
        *(conv(2 * channels, 2 * channels, 5, dilation=d) for d in (1, 2, 4)),
    ]


class CnnBaseline(nn.Module):
    """The stem and the convolutions after it, then mean + max pooling and a linear layer."""

    def __init__(self, config: PxrdConfig):
        super().__init__()
        self.config = config
        c = config.channels
        self.axis = Axis(config.axis, config.points)
        self.stem = ConvStem(c, self.axis.channels)
        self.deeper = nn.Sequential(*convolutions(c))
        self.head = nn.Linear(4 * c, N_SPACE_GROUPS)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, pattern: Tensor) -> tuple[Tensor, None]:
        x = self.deeper(self.stem(self.axis(pattern)))
        return self.head(self.drop(torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1))), None


def build_model(config: PxrdConfig) -> nn.Module:
    if config.kind == "csn":
        return ChemicalSightNet(config)
    if config.kind == "cnn":
        return CnnBaseline(config)
    raise ValueError(f"unknown model kind {config.kind!r}")


class SpaceGroupLogits(nn.Module):
    """Export wrapper: pattern → space-group logits only."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, pattern: Tensor) -> Tensor:
        return self.model(pattern)[0]
