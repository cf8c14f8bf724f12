"""A shipped space-group model back in PyTorch, to fine-tune it when its training run is gone.

The ONNX export folds every batch norm into the convolution before it. The folded weights go
back into the convolutions, and each batch norm is set to pass its input through unchanged:
its running statistics and its affine scale and shift are the mean and variance of that input
over the given patterns, so the model answers as the ONNX file does in evaluation and about
so in training, where the batch's own statistics stand in for them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

import crystalx_core.training  # noqa: F401  (torch on one thread beside cctbx)
import torch
from torch import nn

from crystalx_core.errors import InputError
from crystalx_core.pxrd.predict import model_sidecar
from crystalx_core.training.pxrd.model import PxrdConfig, build_model

PREFIX = "model."  # the export wrapper's attribute holding the classifier
NORM_KEYS = ("weight", "bias", "running_mean", "running_var")  # what the folding took away


def model_from_onnx(path: Path, patterns: np.ndarray, dropout: float = 0.0) -> nn.Module:
    """The classifier of `path` (its config from the sidecar), batch norms fitted to
    `patterns`."""
    path = Path(path)
    sidecar = model_sidecar(str(path))
    if "config" not in sidecar:
        raise InputError("no sidecar with the model's config beside it", str(path))
    config = PxrdConfig(**{**sidecar["config"], "dropout": dropout})
    if config.kind != "cnn":
        raise InputError(f"a {config.kind} model (only a CNN reads back)", str(path))
    model = build_model(config)
    state = model.state_dict()
    weights = {  # the ln d tables (model.Axis) are rebuilt from the config, not read back
        i.name[len(PREFIX) :]: torch.from_numpy(numpy_helper.to_array(i).copy())
        for i in onnx.load(str(path)).graph.initializer
        if i.name.startswith(PREFIX) and i.name[len(PREFIX) :] in state
    }
    norms = {name: m for name, m in model.named_modules() if isinstance(m, nn.BatchNorm1d)}
    folded = {f"{name}.{key}" for name in norms for key in NORM_KEYS}
    unexplained = [
        k
        for k, v in state.items()
        if v.dtype.is_floating_point and k not in weights and k not in folded
    ]
    if unexplained:
        raise InputError(f"no weights for {', '.join(unexplained[:3])}", str(path))
    model.load_state_dict({**state, **weights}, strict=True)
    for norm in norms.values():  # pass-through first: each sees the original activations
        norm.reset_parameters()
        norm.running_var.fill_(1.0 - norm.eps)
    inputs: dict[nn.Module, list[torch.Tensor]] = {norm: [] for norm in norms.values()}
    hooks = [
        norm.register_forward_pre_hook(lambda m, args: inputs[m].append(args[0].detach()))
        for norm in norms.values()
    ]
    model.eval()
    with torch.inference_mode():
        model(torch.from_numpy(np.asarray(patterns, dtype=np.float32)))
    for hook in hooks:
        hook.remove()
    with torch.no_grad():
        for norm in norms.values():
            seen = torch.cat(inputs[norm]).transpose(0, 1).reshape(norm.num_features, -1)
            mean, variance = seen.mean(dim=1), seen.var(dim=1)
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(variance)
            norm.weight.copy_(torch.sqrt(variance + norm.eps))
            norm.bias.copy_(mean)
    return model
