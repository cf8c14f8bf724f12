"""Export an AtomClassifier to ONNX with its JSON sidecar (config, classes, provenance).

The graph takes the arrays of crystalx_core.features.GraphInputs: z (n,), pos (n, 3),
edge_index (2, e) and incoming (n, k), with n, e and k dynamic, and returns logits
(n, num_classes); crystalx_core.runtime runs it without torch. Several runs make an ensemble:
NAME.onnx, NAME_2.onnx ... and one sidecar naming the others ("members").
"""

from __future__ import annotations

import json
import logging
import warnings
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from crystalx_core.errors import CrystalXError
from crystalx_core.features import incoming_edges
from crystalx_core.training.atoms.model import AtomClassifier, ModelConfig
from crystalx_core.training.ensemble import add_members

log = logging.getLogger(__name__)

OPSET = 20
INPUT_NAMES = ["z", "pos", "edge_index", "incoming"]
OUTPUT_NAMES = ["logits"]


def example_inputs(config: ModelConfig, n: int = 12) -> tuple[torch.Tensor, ...]:
    """A small random cluster to trace with; n, e, k > 1 so no size is specialised."""
    generator = torch.Generator().manual_seed(0)
    z = torch.randint(1, min(config.max_z, 54), (n,), generator=generator)
    pos = torch.rand(n, 3, generator=generator) * 6.0
    src, dst = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    pairs = (src != dst) & ((pos[src] - pos[dst]).norm(dim=-1) < config.cutoff)
    edge_index = torch.stack([src[pairs], dst[pairs]])
    return z, pos, edge_index, torch.from_numpy(incoming_edges(edge_index.numpy(), n))


def export_onnx(model: AtomClassifier, config: ModelConfig, path) -> Path:
    """Write `path` (ONNX) and `path.with_suffix('.json')`; returns `path`.

    The dynamo exporter comes first (opset 20, the one that matched eager here); the
    TorchScript exporter is the fallback for when a torch release breaks it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    inputs = example_inputs(config)
    try:
        exporter = _export_dynamo(model, inputs, path)
    except Exception as error:  # any exporter failure: the other exporter may still work
        log.warning("dynamo ONNX export failed (%s); using the TorchScript exporter", error)
        exporter = _export_torchscript(model, inputs, path)
    _check_against_eager(model, config, path)
    sidecar = {
        "config": config.to_dict(),
        "inputs": {
            "z": "int64 (n,)",
            "pos": "float32 (n, 3) Å",
            "edge_index": "int64 (2, e) source, target; symmetric, no self-loops",
            "incoming": "int64 (n, k) edge ids into each node, padded with e",
        },
        "outputs": {"logits": "float32 (n, num_classes)"},
        "metadata": {
            "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "exporter": exporter,
            "opset": OPSET,
            "torch": torch.__version__,
            "torchmd-net": version("torchmd-net"),
        },
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return path


def _check_against_eager(model: AtomClassifier, config: ModelConfig, path: Path) -> None:
    """Exporters can be silently wrong (TorchScript's drops repeated scatter indices), and
    so can onnxruntime's multi-threaded kernels: compare once, with its default threads."""
    inputs = example_inputs(config, n=40)
    with torch.no_grad():
        expected = model(*inputs).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {name: x.numpy() for name, x in zip(INPUT_NAMES, inputs)})
    difference = float(np.abs(got - expected).max())
    if not difference < 1e-3:
        raise RuntimeError(f"exported {path} differs from PyTorch by {difference:.3g}")


def _export_dynamo(model: AtomClassifier, inputs, path: Path) -> str:
    n, e, k = torch.export.Dim("n"), torch.export.Dim("e"), torch.export.Dim("k")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            inputs,
            dynamo=True,
            opset_version=OPSET,
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            verbose=False,
            dynamic_shapes={
                "z": {0: n},
                "pos": {0: n},
                "edge_index": {1: e},
                "incoming": {0: n, 1: k},
            },
        )
    program.save(str(path))
    return "dynamo"


def _export_torchscript(model: AtomClassifier, inputs, path: Path) -> str:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # we know; it is the fallback
        torch.onnx.export(
            model,
            inputs,
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            dynamic_axes={
                "z": {0: "n"},
                "pos": {0: "n"},
                "edge_index": {1: "e"},
                "incoming": {0: "n", 1: "k"},
                "logits": {0: "n"},
            },
        )
    return "torchscript"


def export_run(run_dir, path) -> Path:
    """Export the best weights of a training run (train.py's folder) to `path`."""
    run_dir = Path(run_dir)
    model, config = _load_run(run_dir)
    exported = export_onnx(model, config, path)
    history = run_dir / "history.json"
    if history.exists():  # the model card reports training time and epochs from it
        rows = json.loads(history.read_text())
        earlier = run_dir / "init_history.json"  # a fine-tune: the runs its weights came from
        if earlier.exists():
            rows = json.loads(earlier.read_text()) + [{**row, "run": run_dir.name} for row in rows]
        exported.with_name(f"{exported.stem}_history.json").write_text(json.dumps(rows, indent=1))
    return exported


def export_ensemble(run_dirs: list, path) -> Path:
    """Export each run's best weights, the first to `path`, the others to NAME_2.onnx ...
    beside it; one sidecar (the first run's, which the calibration is then fitted to) lists
    them, and the runtime averages their probabilities. All runs need the same config."""
    path = Path(path)
    others = [(run_dir, *_load_run(run_dir)) for run_dir in run_dirs[1:]]
    wanted = ModelConfig.load(Path(run_dirs[0]) / "config.json").to_dict()
    for run_dir, _, config in others:  # before anything is written
        if config.to_dict() != wanted:
            raise CrystalXError(
                "config differs from the first run's: an ensemble needs one", str(run_dir)
            )
    first = export_run(run_dirs[0], path)
    members = []
    for k, (run_dir, model, config) in enumerate(others, start=2):
        member = export_onnx(model, config, path.with_name(f"{path.stem}_{k}.onnx"))
        member.with_suffix(".json").unlink()  # the first sidecar speaks for the ensemble
        members.append({"file": member.name, "run": str(run_dir)})
    if members:
        add_members(path, [{"file": path.name, "run": str(run_dirs[0])}, *members])
    return first


def _load_run(run_dir: Path) -> tuple[AtomClassifier, ModelConfig]:
    config = ModelConfig.load(Path(run_dir) / "config.json")
    model = AtomClassifier(config)
    model.load_state_dict(torch.load(Path(run_dir) / "best.pt", weights_only=True))
    return model, config


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Export a training run's best weights to ONNX.")
    parser.add_argument(
        "run_dirs",
        type=Path,
        nargs="+",
        help="folder written by crystalx_core.training.atoms.train; several make an ensemble",
    )
    parser.add_argument("output", type=Path, help="NAME.onnx (NAME.json is written beside it)")
    args = parser.parse_args(argv)
    print(f"wrote {export_ensemble(args.run_dirs, args.output)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
