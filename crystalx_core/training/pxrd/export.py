"""Export a space-group classifier run to ONNX: pattern (batch, 850) → logits (batch, 230),
with a JSON sidecar (config, grid, provenance) that crystalx_core.pxrd.predict reads.

    python -m crystalx_core.training.pxrd.export onnx_models/pxrd_space_group.onnx runs/pxrd_csn
    runs/pxrd_cnn ...

Given several runs it ships the one with the best validation top-1 (the test split stays
for reporting), so CSN and the CNN baseline compete on equal terms; with --ensemble it ships
them all, the first as NAME.onnx, the others as NAME_2.onnx ... named in its sidecar
("members"), and `crystalx pxrd` averages their probabilities.
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
from crystalx_core.training.ensemble import add_members
from crystalx_core.training.pxrd.model import PxrdConfig, SpaceGroupLogits, build_model

OPSET = 20


def export_onnx(
    model: torch.nn.Module, config: PxrdConfig, path: Path, trained_on: str = ""
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = SpaceGroupLogits(model.eval()).eval()
    example = torch.rand(3, config.points, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            wrapper,
            (example,),
            dynamo=True,
            opset_version=OPSET,
            input_names=["pattern"],
            output_names=["logits"],
            dynamic_shapes={"pattern": {0: torch.export.Dim("batch")}},
        )
    program.save(str(path))
    check = torch.rand(5, config.points, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = wrapper(check).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"pattern": check.numpy()})
    difference = float(np.abs(got - expected).max())
    if not difference < 1e-3:
        raise RuntimeError(f"exported {path} differs from PyTorch by {difference:.3g}")
    sidecar = {
        "config": vars(config),
        "grid": {
            "start": float(GRID[0]),
            "step": round(float(GRID[1] - GRID[0]), 4),
            "points": len(GRID),
            "wavelength": CU_KALPHA,
        },
        "inputs": {"pattern": "float32 (batch, points): intensity on the grid, maximum 1"},
        "outputs": {"logits": "float32 (batch, 230): space groups 1..230"},
        "metadata": {
            "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "opset": OPSET,
            "torch": torch.__version__,
            "max_difference": difference,
        },
    }
    if trained_on:
        sidecar["trained_on"] = trained_on
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return path


def export_run(run: Path, path: Path, trained_on: str = "") -> Path:
    config = PxrdConfig.load(run / "config.json")
    model = build_model(config)
    model.load_state_dict(torch.load(run / "best.pt", weights_only=True))
    exported = export_onnx(model, config, path, trained_on)
    if (run / "history.json").exists():
        exported.with_name(f"{exported.stem}_history.json").write_text(
            (run / "history.json").read_text()
        )
    return exported


def export_ensemble(runs: list[Path], path: Path, trained_on: str = "") -> Path:
    """Every run exported, the first to `path`, the others to NAME_2.onnx ... beside it, which
    the first's sidecar lists; each keeps its own sidecar and history (the members may be
    different architectures: the same pattern in, the same 230 logits out)."""
    path = Path(path)
    first = export_run(runs[0], path, trained_on)
    members = [
        export_run(run, path.with_name(f"{path.stem}_{k}.onnx"), trained_on)
        for k, run in enumerate(runs[1:], start=2)
    ]
    add_members(
        path,
        [
            {
                "file": exported.name,
                "run": str(run),
                "kind": PxrdConfig.load(run / "config.json").kind,
            }
            for exported, run in zip([first, *members], runs)
        ],
    )
    return first


def best_validation_top1(run: Path) -> float:
    return max(record["val_top1"] for record in json.loads((run / "history.json").read_text()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument(
        "runs", type=Path, nargs="+", help="trained runs; the best on validation is exported"
    )
    parser.add_argument("--trained-on", default="", help="what data the runs saw, for the sidecar")
    parser.add_argument(
        "--ensemble", action="store_true", help="ship every run, their probabilities averaged"
    )
    args = parser.parse_args(argv)
    if args.ensemble:
        print(f"wrote {export_ensemble(args.runs, args.output, args.trained_on)}")
        return 0
    scored = {run: best_validation_top1(run) for run in args.runs}
    chosen = max(scored, key=scored.get)
    for run, top1 in scored.items():
        print(f"{run}: validation top-1 {top1:.2%}{'  <- exported' if run == chosen else ''}")
    print(f"wrote {export_run(chosen, args.output, args.trained_on)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
