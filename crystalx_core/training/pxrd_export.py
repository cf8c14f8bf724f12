"""Export a space-group classifier run to ONNX: pattern (batch, 850) → logits (batch, 230),
with a JSON sidecar (config, grid, provenance) that crystalx_core.pxrd.predict reads.

    python -m crystalx_core.training.pxrd_export runs/pxrd_csn onnx_models/pxrd_csn.onnx
"""
from __future__ import annotations

import argparse
import json
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnxruntime

import crystalx_core.training  # noqa: F401  (torch on one thread beside cctbx)
import torch

from crystalx_core.pxrd.simulate import CU_KALPHA, GRID
from crystalx_core.training.pxrd_model import PxrdConfig, SpaceGroupLogits, build_model

OPSET = 20


def export_onnx(model: torch.nn.Module, config: PxrdConfig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = SpaceGroupLogits(model.eval()).eval()
    example = torch.rand(3, config.points, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(wrapper, (example,), dynamo=True, opset_version=OPSET,
                                    input_names=["pattern"], output_names=["logits"],
                                    dynamic_shapes={"pattern": {0: torch.export.Dim("batch")}})
    program.save(str(path))
    check = torch.rand(5, config.points, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = wrapper(check).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"pattern": check.numpy()})
    difference = float(np.abs(got - expected).max())
    if not difference < 1e-3:
        raise RuntimeError(f"exported {path} differs from PyTorch by {difference:.3g}")
    sidecar = {"config": vars(config), "grid": {"start": float(GRID[0]), "step": round(float(GRID[1] - GRID[0]), 4),
                                               "points": len(GRID), "wavelength": CU_KALPHA},
               "inputs": {"pattern": "float32 (batch, points): intensity on the grid, maximum 1"},
               "outputs": {"logits": "float32 (batch, 230): space groups 1..230"},
               "metadata": {"exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            "opset": OPSET, "torch": torch.__version__, "max_difference": difference}}
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return path


def export_run(run: Path, path: Path) -> Path:
    config = PxrdConfig.load(run / "config.json")
    model = build_model(config)
    model.load_state_dict(torch.load(run / "best.pt", weights_only=True))
    exported = export_onnx(model, config, path)
    if (run / "history.json").exists():
        exported.with_name(f"{exported.stem}_history.json").write_text((run / "history.json").read_text())
    return exported


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    print(f"wrote {export_run(args.run, args.output)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
