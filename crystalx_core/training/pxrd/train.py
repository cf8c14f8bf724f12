"""Train a space-group classifier on the pattern set; resumes from RUN/checkpoint.pt.

    python -m crystalx_core.training.pxrd.train data/pxrd_set.npz runs/pxrd_csn --kind csn --epochs
    20
    ... --kind cnn                       (the CNN baseline)
    ... --no-intensity-attention         (ablation: plain attention in the embedding)
    ... --no-rule-head                   (ablation: cross-entropy over the 230 groups only)
    ... --augment --dropout 0.1 --label-smoothing 0.1 --weight-decay 0.05 --patience 6
                                         (against memorising a few thousand structures)
    ... --minutes 60                     (the schedule spans an hour of wall-clock time)
    ... --axis log_d --strain 0.1        (read on ln d, where ±10 % strain is a shift)
    ... --init onnx_models/pxrd_space_group.onnx   (fine-tune a shipped model: its config)

The learning rate warms up over the first 5 % of the run, then decays to zero on a cosine;
the run's length is its epochs or, with --minutes, whichever ends first, so a run on a
shared machine still anneals. Keeps the epoch with the best validation top-1 accuracy as
RUN/best.pt; with --patience P it stops once P epochs in a row have not improved on it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

import crystalx_core.training  # noqa: F401  (torch on one thread beside cctbx)
import torch
from torch import nn

from crystalx_core.pxrd.labels import rule_matrix
from crystalx_core.training.pxrd.augment import Augmentation, augment
from crystalx_core.training.pxrd.dataset import load
from crystalx_core.training.pxrd.from_onnx import model_from_onnx
from crystalx_core.training.pxrd.model import AXES, PxrdConfig, build_model

RULE_WEIGHT = 1.0  # the rule loss is added to the cross-entropy with this weight
WARMUP = 0.05  # share of the run spent raising the learning rate to its peak
INIT_PATTERNS = 512  # training patterns that fit the batch norms of a model read from ONNX


def learning_rate(peak: float, progress: float) -> float:
    """Linear warm-up, then a cosine decay to zero at progress 1."""
    if progress < WARMUP:
        return peak * max(progress, 0.01 * WARMUP) / WARMUP
    done = min(1.0, (progress - WARMUP) / (1 - WARMUP))
    return peak * 0.5 * (1 + math.cos(math.pi * done))


def batches(
    patterns: np.ndarray,
    labels: np.ndarray,
    size: int,
    rng: np.random.Generator | None,
    fraction: float = 1.0,
):
    """Shuffled mini-batches (a random `fraction` of the rows when training), or all rows in
    order."""
    order = (
        rng.permutation(len(labels))[: int(np.ceil(fraction * len(labels)))]
        if rng is not None
        else np.arange(len(labels))
    )
    for start in range(0, len(order), size):
        picked = order[start : start + size]
        yield (
            torch.from_numpy(patterns[picked].astype(np.float32)),
            torch.from_numpy(labels[picked].astype(np.int64) - 1),
        )


def accuracy(model: nn.Module, patterns: np.ndarray, labels: np.ndarray, top: int = 1) -> float:
    model.eval()
    hits = 0
    with torch.inference_mode():
        for x, y in batches(patterns, labels, 256, None):
            best = model(x)[0].topk(top, dim=1).indices
            hits += int((best == y.unsqueeze(1)).any(dim=1).sum())
    return hits / max(len(labels), 1)


def train(
    data_path: Path,
    run: Path,
    config: PxrdConfig,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int = 0,
    fraction: float = 1.0,
    augmented: bool = False,
    label_smoothing: float = 0.0,
    weight_decay: float = 1e-4,
    patience: int | None = None,
    init: Path | None = None,
    minutes: float | None = None,
    settings: Augmentation | None = None,
) -> dict:
    """`fraction` of the training patterns per epoch: 1/augmentations sees each structure about
    once; `augmented` redraws every training batch (augment.augment); `init` starts from another
    run's best weights (same config: pretraining, or more epochs on a new schedule) or from an
    exported .onnx (its sidecar's config; from_onnx); `minutes`
    ends the schedule after that much training time if the epochs have not ended it before;
    `settings`, the ranges of the redrawing."""
    torch.manual_seed(seed)
    data = load(data_path)
    rules = torch.from_numpy(rule_matrix())
    if init is not None and Path(init).suffix == ".onnx":  # a shipped model, its config with it
        every = max(1, len(data["train_labels"]) // INIT_PATTERNS)
        model = model_from_onnx(init, data["train_patterns"][::every], config.dropout)
        config = model.config
    else:
        model = build_model(config)
        if init is not None:
            model.load_state_dict(torch.load(Path(init) / "best.pt", weights_only=True))
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * int(np.ceil(np.ceil(fraction * len(data["train_labels"])) / batch_size))
    budget = 60 * minutes if minutes is not None else math.inf
    run.mkdir(parents=True, exist_ok=True)
    config.save(run / "config.json")
    history, start, best, step, elapsed = [], 0, -1.0, 0, 0.0
    if (run / "checkpoint.pt").is_file():
        state = torch.load(run / "checkpoint.pt", weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        history, start = state["history"], state["epoch"]
        step, elapsed = state["step"], state["elapsed"]
        best = max((h["val_top1"] for h in history), default=-1.0)
        print(f"resumed after epoch {start}", flush=True)
    rng = np.random.default_rng(seed + start)
    redraw = torch.Generator().manual_seed(seed + start)

    def progress(extra: float = 0.0) -> float:
        """How far through the schedule: steps taken or training time spent, whichever is
        further; `extra`, the seconds of the epoch under way."""
        return max(step / max(steps, 1), (elapsed + extra) / budget)

    for epoch in range(start + 1, epochs + 1):
        if progress() >= 1 or (patience is not None and _stalled(history, patience)):
            break
        model.train()
        started, total, count = time.perf_counter(), 0.0, 0
        for x, y in batches(
            data["train_patterns"], data["train_labels"], batch_size, rng, fraction
        ):
            now = progress(time.perf_counter() - started)
            if now >= 1:
                break
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(lr, now)
            if augmented:
                x = augment(x, redraw, settings or Augmentation())
            logits, rule_logits = model(x)
            loss = nn.functional.cross_entropy(logits, y, label_smoothing=label_smoothing)
            if rule_logits is not None:
                loss = loss + RULE_WEIGHT * nn.functional.binary_cross_entropy_with_logits(
                    rule_logits, rules[y]
                )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            total, count = total + loss.item() * len(y), count + len(y)
        seconds = time.perf_counter() - started
        elapsed += seconds
        val_top1 = accuracy(model, data["val_patterns"], data["val_labels"])
        record = {
            "epoch": epoch,
            "train_loss": total / max(count, 1),
            "val_top1": val_top1,
            "lr": optimiser.param_groups[0]["lr"],
            "seconds": round(seconds, 1),
        }
        history.append(record)
        print(json.dumps(record), flush=True)
        if val_top1 > best:
            best = val_top1
            torch.save(model.state_dict(), run / "best.pt")
        torch.save(
            {
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "history": history,
                "epoch": epoch,
                "step": step,
                "elapsed": elapsed,
            },
            run / "checkpoint.pt",
        )
        (run / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    return {"best_val_top1": best, "epochs": len(history)}


def _stalled(history: list[dict], patience: int) -> bool:
    """True when the last `patience` epochs all fell short of the best before them."""
    if len(history) <= patience:
        return False
    best_before = max(h["val_top1"] for h in history[:-patience])
    return all(h["val_top1"] <= best_before for h in history[-patience:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("run", type=Path)
    parser.add_argument("--kind", choices=["csn", "cnn"], default="csn")
    parser.add_argument("--no-intensity-attention", action="store_true")
    parser.add_argument("--no-rule-head", action="store_true")
    parser.add_argument(
        "--axis", choices=AXES, default="two_theta", help="what the model reads (model.Axis)"
    )
    parser.add_argument(
        "--strain",
        type=float,
        default=Augmentation().strain,
        help="with --augment: isotropic strain range (0.1: other cell sizes, augment.py)",
    )
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--augment", action="store_true", help="redraw every training batch")
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--patience", type=int, help="stop after this many epochs without gain")
    parser.add_argument(
        "--init",
        type=Path,
        help="start from this run's best.pt (same config) or from an exported .onnx (its config)",
    )
    parser.add_argument("--minutes", type=float, help="end the schedule after this training time")
    parser.add_argument(
        "--epoch-fraction",
        type=float,
        default=0.25,
        help="share of the training patterns per epoch (0.25: each structure about once)",
    )
    args = parser.parse_args(argv)
    config = PxrdConfig(
        kind=args.kind,
        channels=args.channels,
        layers=args.layers,
        intensity_attention=not args.no_intensity_attention,
        rule_head=not args.no_rule_head,
        dropout=args.dropout,
        axis=args.axis,
    )
    print(
        json.dumps(
            train(
                args.data,
                args.run,
                config,
                args.epochs,
                args.lr,
                args.batch,
                args.seed,
                args.epoch_fraction,
                args.augment,
                args.label_smoothing,
                args.weight_decay,
                args.patience,
                args.init,
                args.minutes,
                Augmentation(strain=args.strain),
            )
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
