"""Top-1/top-2 space-group accuracy on the held-out test patterns, for every trained run
(CSN, the CNN baseline, the ablations) and for the shipped ONNX model.

    python -m crystalx_core.training.pxrd.evaluate data/pxrd_set.npz onnx_models/pxrd_metrics.json \
        csn=runs/pxrd_csn cnn=runs/pxrd_cnn csn_no_intensity=runs/pxrd_csn_noint
        csn_no_rules=runs/pxrd_csn_norules

"overall" counts every test pattern (random crystals, balanced over the 230 groups, plus the
corpus with its real, skewed distribution); "class-balanced" is the mean over space groups
of the per-group accuracy; "corpus" is the real structures alone; crystal_system_top1 sums
the probabilities per crystal system, wrong_system_share is the share of wrong top-1 answers
naming a group of another crystal system; majority_class_top1 is what always answering the
commonest test group would score, train_majority_top1 always answering the commonest
training group (the honest baseline for a skewed set), train_majority_system_top1 always
answering the commonest training crystal system. A set with a `test_balanced` mask
(the MOF set: 10 test structures per class with more than 10) is also scored on that
subset ("MOF-Balanced"). Every row also carries val_top1, its top-1 on the set's validation
split (the figure a model is chosen by), and every trained run train_top1, its top-1 on every
fourth stored training pattern (far above val_top1: memorised; close to it: underfitted);
`--before NAME=ONNX` adds rows for exported models measured on the same splits: an earlier one,
so that a model trained on more data is compared like with like, or an ensemble (its members
averaged as `crystalx pxrd` averages them). `--split train` scores a set that no model trained
on in place of a test split, e.g. tmQM crystals outside every training range (the synthetic
task itself: does a model learn it at all?).

    python -m crystalx_core.training.pxrd.evaluate data/pxrd_mof.npz
    onnx_models/pxrd_mof_metrics.json \
        csn=runs/pxrd_mof_csn cnn=runs/pxrd_mof_cnn --onnx onnx_models/pxrd_space_group_mof.onnx \
        --before "cnn, 30 % (before)=runs/shipped30/pxrd_space_group_mof.onnx"
    python -m crystalx_core.training.pxrd.evaluate data/pxrd_corpus.npz
    onnx_models/pxrd_corpus_metrics.json \
        --onnx onnx_models/pxrd_space_group.onnx     (the molecular model on the corpus alone)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import crystalx_core.training  # noqa: F401  (torch on one thread beside cctbx)
import torch

from crystalx_core.pxrd.labels import N_SPACE_GROUPS, crystal_system
from crystalx_core.pxrd.metric import evidence_matrix
from crystalx_core.training.pxrd.dataset import is_real, load
from crystalx_core.training.pxrd.model import PxrdConfig, build_model


def load_run(run: Path) -> torch.nn.Module:
    """A trained run's best weights, ready to score (loaded once for all its splits)."""
    model = build_model(PxrdConfig.load(run / "config.json"))
    model.load_state_dict(torch.load(run / "best.pt", weights_only=True))
    return model.eval()


def run_probabilities(model: torch.nn.Module, patterns: np.ndarray) -> np.ndarray:
    out = [np.zeros((0, N_SPACE_GROUPS), dtype=np.float32)]  # a set without this split
    with torch.inference_mode():
        for start in range(0, len(patterns), 512):
            out.append(
                torch.softmax(
                    model(torch.from_numpy(patterns[start : start + 512]))[0], dim=1
                ).numpy()
            )
    return np.concatenate(out)


def scores(
    probabilities: np.ndarray,
    labels: np.ndarray,
    names: np.ndarray,
    train_majority: tuple[int, int] | None = None,
    balanced: np.ndarray | None = None,
    train_system: str | None = None,
) -> dict:
    ranked = np.argsort(-probabilities, axis=1)
    truth = labels.astype(int) - 1
    top1 = ranked[:, 0] == truth
    top2 = (ranked[:, :2] == truth[:, None]).any(axis=1)
    top5 = (ranked[:, :5] == truth[:, None]).any(axis=1)  # what `crystalx pxrd` lists
    groups = np.unique(truth)
    corpus = np.array([is_real(n) for n in names])
    result = {
        "patterns": int(len(labels)),
        "space_groups": int(len(groups)),
        "top1": float(top1.mean()),
        "top2": float(top2.mean()),
        "top5": float(top5.mean()),
        "balanced_top1": float(np.mean([top1[truth == g].mean() for g in groups])),
        "balanced_top2": float(np.mean([top2[truth == g].mean() for g in groups])),
    }
    systems = np.array([crystal_system(n) for n in range(1, 231)])
    system_probabilities = {
        name: probabilities[:, systems == name].sum(axis=1) for name in np.unique(systems)
    }
    names_sorted = sorted(system_probabilities)
    stacked = np.stack([system_probabilities[n] for n in names_sorted], axis=1)
    predicted_system = np.array(names_sorted)[stacked.argmax(axis=1)]
    result["crystal_system_top1"] = float(np.mean(predicted_system == systems[truth]))
    wrong = ~top1  # of the wrong answers, the share whose group is of another crystal system
    result["wrong_system_share"] = (
        float(np.mean(systems[ranked[wrong, 0]] != systems[truth[wrong]])) if wrong.any() else 0.0
    )
    if train_system is not None:  # always answering the commonest training crystal system
        result["train_majority_system"] = train_system
        result["train_majority_system_top1"] = float(np.mean(systems[truth] == train_system))
    majority = np.bincount(truth, minlength=230).argmax()
    result["majority_class_top1"] = float(np.mean(truth == majority))
    if train_majority is not None:  # the two commonest training groups, in order
        result["train_majority"] = int(train_majority[0])
        result["train_majority_top1"] = float(np.mean(truth == train_majority[0] - 1))
        result["train_majority_top2"] = float(np.mean(np.isin(truth + 1, train_majority)))
    if balanced is not None and balanced.any():
        result["balanced_subset"] = {
            "patterns": int(balanced.sum()),
            "space_groups": int(len(np.unique(truth[balanced]))),
            "top1": float(top1[balanced].mean()),
            "top2": float(top2[balanced].mean()),
            "top5": float(top5[balanced].mean()),
        }
    if corpus.any():
        result.update(
            corpus_patterns=int(corpus.sum()),
            corpus_top1=float(top1[corpus].mean()),
            corpus_top2=float(top2[corpus].mean()),
        )
    return result


def val_top1(probabilities: np.ndarray, labels: np.ndarray) -> float | None:
    """Top-1 on the validation (or a training) split; None when the set has none."""
    if not len(labels):
        return None
    return float(np.mean(probabilities.argmax(axis=1) == labels.astype(int) - 1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("runs", nargs="*", metavar="NAME=RUN", help="trained runs to compare")
    parser.add_argument(
        "--onnx", type=Path, help="the shipped model, measured with onnxruntime too"
    )
    parser.add_argument(
        "--before",
        nargs="*",
        default=[],
        metavar="NAME=ONNX",
        help="exported models (earlier ones, an ensemble), measured with onnxruntime on the same "
        "splits",
    )
    parser.add_argument(
        "--evidence",
        type=Path,
        help="folder caching the lattice-metric evidence of the test and validation patterns "
        "(test_LATTICES.npy, val_LATTICES.npy on the lattices each model's step weighs; "
        "computed and saved when missing), for models whose sidecar has a lattice step",
    )
    parser.add_argument(
        "--split",
        choices=("test", "val", "train"),
        default="test",
        help="the split scored in the test rows: train for a set no model trained on (e.g. "
        "tmQM complexes outside every training range, all of them in its train split)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="start from OUTPUT's rows and replace only those measured now",
    )
    args = parser.parse_args(argv)
    data = load(args.data)
    patterns = data[f"{args.split}_patterns"].astype(np.float32)
    labels, names = data[f"{args.split}_labels"], data[f"{args.split}_names"]
    counts = np.bincount(data["train_labels"].astype(int))
    train_majority = (
        tuple(int(g) for g in np.argsort(-counts, kind="stable")[:2])
        if len(data["train_labels"])
        else None
    )
    balanced = data.get("test_balanced") if args.split == "test" else None
    val_patterns, val_labels = data["val_patterns"].astype(np.float32), data["val_labels"]
    train_patterns = data["train_patterns"][::4].astype(np.float32)
    train_system = (
        Counter(crystal_system(int(g)) for g in data["train_labels"]).most_common(1)[0][0]
        if len(data["train_labels"])
        else None
    )
    extra = {"train_majority": train_majority, "balanced": balanced, "train_system": train_system}
    metrics = {"test": {}, "split": args.split}
    if args.keep and args.output.is_file():
        metrics = json.loads(args.output.read_text())
    for name, run in (item.split("=", 1) for item in args.runs):
        history = json.loads((Path(run) / "history.json").read_text())
        model = load_run(Path(run))
        metrics["test"][name] = {
            **scores(run_probabilities(model, patterns), labels, names, **extra),
            "val_top1": val_top1(run_probabilities(model, val_patterns), val_labels),
            "train_top1": val_top1(
                run_probabilities(model, train_patterns), data["train_labels"][::4]
            ),
            "epochs": len(history),
            "minutes": round(sum(h["seconds"] for h in history) / 60, 1),
            "best_epoch": max(history, key=lambda h: h["val_top1"])["epoch"],
        }
    from crystalx_core.pxrd.predict import lattices, log_prior, model_sidecar, probabilities

    def evidence(path, split: str):
        """The split's evidence on the lattices the model's step weighs, cached per lattice
        set (None: computed by predict, or no step)."""
        if not args.evidence or "lattice_metric" not in model_sidecar(str(path)):
            return None
        weighed = lattices(str(path))
        cache = args.evidence / f"{split}_{'_'.join(weighed)}.npy"
        return evidence_matrix(patterns if split == "test" else val_patterns, cache, weighed)

    for name, path in (item.split("=", 1) for item in args.before):
        metrics["test"][name] = {
            **scores(
                probabilities(patterns, Path(path), evidence=evidence(path, "test")),
                labels,
                names,
                **extra,
            ),
            "val_top1": val_top1(
                probabilities(val_patterns, Path(path), evidence=evidence(path, "val")), val_labels
            ),
            "model": Path(path).name,
        }
    if args.onnx:
        metrics["shipped_onnx"] = {
            "model": args.onnx.name,
            **scores(
                probabilities(patterns, args.onnx, evidence=evidence(args.onnx, "test")),
                labels,
                names,
                **extra,
            ),
            "val_top1": val_top1(
                probabilities(val_patterns, args.onnx, evidence=evidence(args.onnx, "val")),
                val_labels,
            ),
        }
        if "lattice_metric" in model_sidecar(str(args.onnx)):  # and what the lattice step adds
            metrics["without_metric"] = {
                **scores(probabilities(patterns, args.onnx, metric=False), labels, names, **extra),
                "val_top1": val_top1(
                    probabilities(val_patterns, args.onnx, metric=False), val_labels
                ),
            }
        if log_prior(str(args.onnx)).any():  # and what the class prior in its sidecar adds
            metrics["without_prior"] = scores(
                probabilities(patterns, args.onnx, prior=False), labels, names, **extra
            )
            metrics["prior_weight"] = model_sidecar(str(args.onnx))["prior"].get("weight")
            metrics["prior_sharpness"] = model_sidecar(str(args.onnx))["prior"].get(
                "sharpness", 1.0
            )
    summary = args.data.with_suffix(".summary.json")
    if summary.exists():
        metrics["dataset"] = json.loads(summary.read_text())
    args.output.write_text(json.dumps(metrics, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
