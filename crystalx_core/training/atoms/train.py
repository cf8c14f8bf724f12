"""Train the heavy-atom or hydrogen model on a dataset from atoms/dataset.py, with
checkpoints every epoch so an interrupted run resumes where it stopped.

    python -m crystalx_core.training.atoms.train data/train_set.pkl.gz runs/heavy --kind heavy
    --epochs 30
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from crystalx_core.elements import atomic_number, is_hydrogen, symbol
from crystalx_core.features import HEIGHT_BINS, MAX_Z, combined_tokens, incoming_edges
from crystalx_core.training.atoms.samples import MAX_DEGREE, MAX_H, is_physical, load
from crystalx_core.training.atoms.model import AtomClassifier, ModelConfig

ELEMENT_CLASSES = ["Q"] + [
    symbol(z) for z in range(1, 95)
]  # index = atomic number; Q = not an atom
HYDROGEN_CLASSES = [str(n) for n in range(MAX_H + 1)]


def classes_for(kind: str) -> list[str]:
    return ELEMENT_CLASSES if kind == "heavy" else HYDROGEN_CLASSES


def allowed_mask(sample: dict, kind: str, n_classes: int) -> np.ndarray:
    """Classes a centre may take: the structure's SFAC elements (+ 'no atom') for the heavy
    model, as at inference; every H count for the hydrogen model."""
    mask = np.zeros(n_classes, dtype=bool)
    if kind == "heavy":
        mask[0] = True
        for element in sample["sfac"]:
            if not is_hydrogen(element):
                mask[atomic_number(element)] = True
    else:
        mask[:] = True
    return mask


SECOND_PASS_SHARE = (
    0.5  # training examples that take their second-pass guesses (dataset.heavy_sample)
)


def collate(
    samples: list[dict],
    kind: str,
    n_classes: int,
    rng: np.random.Generator | None = None,
    with_rules: bool = False,
    second_pass_share: float = SECOND_PASS_SHARE,
    with_heights: bool = False,
) -> dict[str, torch.Tensor]:
    """Concatenate clusters into one graph; loss is taken on the centre nodes only.

    With rng (training), a share of the heavy examples use their second-pass guesses;
    without (validation), every example uses the first-pass (baseline) guesses. with_rules:
    hydrogen inputs are rule tokens, with_heights: heavy inputs carry peak-height bins
    (features.combined_tokens)."""
    z, pos, edges, centre, y, masks = [], [], [], [], [], []
    offset = 0
    for s in samples:
        n = len(s["z"])
        second = rng is not None and "z_second" in s and rng.random() < second_pass_share
        tokens = (s["z_second"] if second else s["z"]).astype(np.int64)
        if with_rules:
            tokens = combined_tokens(tokens, s["rules"])
        elif with_heights:
            tokens = combined_tokens(tokens, s["height_bin"])
        z.append(tokens)
        pos.append(s["pos"])
        edges.append(s["edge_index"].astype(np.int64) + offset)
        centre.append(np.arange(s["n_centre"]) + offset)
        y.append(s["y"])
        masks.append(np.repeat(allowed_mask(s, kind, n_classes)[None, :], s["n_centre"], axis=0))
        offset += n
    edge_index = np.concatenate(edges, axis=1)
    return {
        "z": torch.from_numpy(np.concatenate(z)),
        "pos": torch.from_numpy(np.concatenate(pos)),
        "edge_index": torch.from_numpy(edge_index),
        "incoming": torch.from_numpy(incoming_edges(edge_index, offset)),
        "centre": torch.from_numpy(np.concatenate(centre)),
        "y": torch.from_numpy(np.concatenate(y)),
        "mask": torch.from_numpy(np.concatenate(masks)),
    }


def on(batch: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def masked_logits(model: AtomClassifier, batch: dict) -> torch.Tensor:
    logits = model(batch["z"], batch["pos"], batch["edge_index"], batch["incoming"]).index_select(
        0, batch["centre"]
    )
    return logits.masked_fill(~batch["mask"], -1e4)


def batches(samples: list[dict], max_nodes: int, rng: np.random.Generator | None):
    """Groups of samples up to max_nodes nodes each, shuffled when rng is given."""
    order = rng.permutation(len(samples)) if rng is not None else np.arange(len(samples))
    group, nodes = [], 0
    for k in order:
        n = len(samples[k]["z"])
        if group and nodes + n > max_nodes:
            yield group
            group, nodes = [], 0
        group.append(samples[k])
        nodes += n
    if group:
        yield group


@torch.no_grad()
def evaluate(
    model: AtomClassifier, samples: list[dict], kind: str, max_nodes: int, device: str = "cpu"
) -> dict:
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    for group in batches(samples, max_nodes, None):
        batch = on(
            collate(
                group,
                kind,
                model.config.num_classes,
                with_rules=model.config.rule_tokens,
                with_heights=model.config.height_tokens,
            ),
            device,
        )
        logits = masked_logits(model, batch)
        loss_sum += float(nn.functional.cross_entropy(logits, batch["y"], reduction="sum"))
        correct += int((logits.argmax(1) == batch["y"]).sum())
        total += len(batch["y"])
    return {"loss": loss_sum / max(total, 1), "accuracy": correct / max(total, 1), "atoms": total}


def _record_earlier_runs(folder: Path, out: Path) -> None:
    """init_history.json in `out`: every epoch behind the initial weights in `folder` (its own
    history and, for a fine-tune of a fine-tune, the runs before it), each row tagged with
    its run; the export adds them to the model's training record."""
    rows = []
    if (folder / "init_history.json").exists():
        rows += [
            {"run": "earlier", **row}
            for row in json.loads((folder / "init_history.json").read_text())
        ]
    if (folder / "history.json").exists():
        rows += [
            {**row, "run": folder.name} for row in json.loads((folder / "history.json").read_text())
        ]
    if rows:
        (out / "init_history.json").write_text(json.dumps(rows, indent=1))


def _widened(earlier: dict, current: dict) -> dict:
    """Earlier weights for a model whose token embeddings are wider (height or rule tokens
    added): token t starts as the element t mod MAX_Z it carries."""
    out = dict(earlier)
    for key, value in earlier.items():
        wanted = current[key].shape
        if key.endswith("embedding.weight") and value.shape != wanted and value.shape[0] == MAX_Z:
            out[key] = value[torch.arange(wanted[0]) % MAX_Z]
    return out


def _physical(samples: list[dict], what: str, log) -> list[dict]:
    """Samples without overlapping atoms (datasets built before dataset.is_physical existed)."""
    kept = [s for s in samples if is_physical(s)]
    if len(kept) < len(samples):
        log(
            f"{what}: left out {len(samples) - len(kept)} samples with over {MAX_DEGREE} "
            "neighbours on a node"
        )
    return kept


def train(
    dataset: Path,
    out: Path,
    kind: str,
    epochs: int,
    config: ModelConfig,
    lr: float,
    max_nodes: int,
    seed: int,
    init: Path | None = None,
    second_pass_share: float = SECOND_PASS_SHARE,
    device: str = "cpu",
    minutes: float | None = None,
    exclude: tuple[str, ...] = (),
    log=print,
    stop_after: int | None = None,
) -> dict:
    """minutes: as many epochs as fit in this time, judged by the first one, the learning-rate
    schedule shortened to match (a lease on an accelerator is short); exclude: leave out training
    examples whose structure name starts
    with one of these (e.g. "tmqm_" to fine-tune on real crystals only); stop_after: end after
    this epoch, the schedule still that of `epochs`, so a run stopped in parts can be made again
    epoch for epoch (resuming draws the data order afresh from seed + the epoch resumed at)."""
    started = time.perf_counter()
    data = load(dataset)
    train_set, val_set = (
        _physical(data[split][kind], f"{split} {kind}", log) for split in ("train", "val")
    )
    train_set = (
        [s for s in train_set if not str(s.get("name", "")).startswith(exclude)]
        if exclude
        else train_set
    )
    log(f"{len(train_set)} training and {len(val_set)} validation examples")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = AtomClassifier(config).to(device)
    if init is not None:  # fine-tune: earlier weights, fresh optimiser and schedule
        model.load_state_dict(
            _widened(torch.load(init, weights_only=True, map_location=device), model.state_dict())
        )
        log(f"weights from {init}")
        _record_earlier_runs(Path(init).parent, out)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-5)
    steps_per_epoch = sum(1 for _ in batches(train_set, max_nodes, None))
    planned = {
        "epochs": epochs
    }  # fewer when the time budget fits fewer (the cosine then ends sooner)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: (
            0.5 * (1 + math.cos(math.pi * min(step / (planned["epochs"] * steps_per_epoch), 1.0)))
        ),
    )
    history, start_epoch, best = [], 0, -1.0
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False, map_location=device)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        history, start_epoch, best = state["history"], state["epoch"], state["best"]
        log(f"resumed from epoch {start_epoch}")
    config.save(out / "config.json")
    rng = np.random.default_rng(seed + start_epoch)
    last = epochs if stop_after is None else min(epochs, stop_after)
    for epoch in range(start_epoch, last):
        model.train()
        t0, loss_sum, seen = time.perf_counter(), 0.0, 0
        for group in batches(train_set, max_nodes, rng):
            batch = on(
                collate(
                    group,
                    kind,
                    config.num_classes,
                    rng,
                    config.rule_tokens,
                    second_pass_share,
                    config.height_tokens,
                ),
                device,
            )
            loss = nn.functional.cross_entropy(masked_logits(model, batch), batch["y"])
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimiser.step()
            schedule.step()
            loss_sum += float(loss.detach()) * len(batch["y"])
            seen += len(batch["y"])
        val = evaluate(model, val_set, kind, max_nodes, device)
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(seen, 1),
            "val_loss": val["loss"],
            "val_accuracy": val["accuracy"],
            "seconds": time.perf_counter() - t0,
            "device": torch.device(device).type,  # the model card tells CPU from GPU hours
        }
        history.append(row)
        log(json.dumps(row))
        if val["accuracy"] >= best:
            best = val["accuracy"]
            torch.save({k: v.cpu() for k, v in model.state_dict().items()}, out / "best.pt")
        torch.save(
            {
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "schedule": schedule.state_dict(),
                "history": history,
                "epoch": epoch + 1,
                "best": best,
            },
            checkpoint,
        )
        if minutes is not None and epoch == start_epoch:  # the first epoch's time sizes the run
            left = 60 * minutes - (time.perf_counter() - started)
            fits = epoch + 1 + max(0, int(left / row["seconds"]))
            if fits < planned["epochs"]:
                planned["epochs"] = fits
                log(f"{fits} epochs fit in {minutes} minutes: the schedule ends there")
        if epoch + 1 >= planned["epochs"]:
            break
    (out / "history.json").write_text(json.dumps(history, indent=1))
    return {"history": history, "best_val_accuracy": best}


def validate(
    dataset: Path,
    kind: str,
    config: ModelConfig,
    weights: Path,
    max_nodes: int,
    device: str = "cpu",
) -> dict:
    """The validation loss and accuracy of saved weights, as training reports them each epoch
    (the yardstick a new run must beat)."""
    model = AtomClassifier(config).to(device)
    model.load_state_dict(torch.load(weights, weights_only=True, map_location=device))
    return evaluate(
        model, _physical(load(dataset)["val"][kind], f"val {kind}", print), kind, max_nodes, device
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument(
        "out", type=Path, help="run folder: checkpoint.pt, best.pt, config.json, history.json"
    )
    parser.add_argument("--kind", choices=("heavy", "hydrogen"), required=True)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--max-nodes", type=int, default=4000, help="nodes per batch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--second-pass-share",
        type=float,
        default=SECOND_PASS_SHARE,
        help="heavy model: share of the examples an epoch that take their second-pass guesses",
    )
    parser.add_argument(
        "--height-tokens",
        action="store_true",
        help="heavy model: each peak's height bin "
        "is part of its input token (needs a dataset with 'height_bin')",
    )
    parser.add_argument(
        "--rule-tokens",
        action="store_true",
        help="hydrogen model: the H-count rules' "
        "answer is part of each atom's input token (needs a dataset with 'rules')",
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument(
        "--minutes",
        type=float,
        help="train only the epochs that fit in this time "
        "(judged by the first epoch; the schedule ends with them)",
    )
    parser.add_argument(
        "--exclude",
        nargs="*",
        default=[],
        metavar="PREFIX",
        help="leave out training examples of structures named so (tmqm_: real crystals only)",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        metavar="EPOCH",
        help="end after this epoch with the schedule of --epochs (resume later to go on)",
    )
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="print the validation loss and accuracy of the --init weights, train nothing",
    )
    parser.add_argument(
        "--init",
        type=Path,
        help="start from these weights (best.pt of an earlier run "
        "with the same architecture) instead of random ones",
    )
    args = parser.parse_args(argv)
    # No torch.set_num_threads here: beside cctbx's OpenMP stub more than one thread computes
    # wrong sums silently (see crystalx_core/training/__init__.py); the package confines it.
    if args.rule_tokens and args.kind != "hydrogen":
        parser.error("--rule-tokens is for the hydrogen model")
    if args.height_tokens and args.kind != "heavy":
        parser.error("--height-tokens is for the heavy model")
    levels = MAX_H + 1 if args.rule_tokens else HEIGHT_BINS if args.height_tokens else 1
    config = ModelConfig(
        classes=classes_for(args.kind),
        hidden_channels=args.hidden,
        num_layers=args.layers,
        rule_tokens=args.rule_tokens,
        height_tokens=args.height_tokens,
        max_z=MAX_Z * levels,
    )
    if args.evaluate_only:
        if args.init is None:
            parser.error("--evaluate-only needs --init")
        print(
            json.dumps(
                validate(args.dataset, args.kind, config, args.init, args.max_nodes, args.device)
            )
        )
        return 0
    result = train(
        args.dataset,
        args.out,
        args.kind,
        args.epochs,
        config,
        args.lr,
        args.max_nodes,
        args.seed,
        args.init,
        args.second_pass_share,
        args.device,
        args.minutes,
        tuple(args.exclude),
        stop_after=args.stop_after,
    )
    print(f"best validation accuracy {result['best_val_accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
