"""Temperature scaling of the shipped heavy and hydrogen models, fitted on the validation split.

    python -m crystalx_core.training.atoms.calibrate ../shared/data/corpus --write

The probabilities each model reports are those of its logits divided by one temperature T
(crystalx_core.runtime reads it from the sidecar NAME.json, key "calibration"); answers are
still chosen from the uncalibrated ones, so they stay exactly as they were. T minimises the negative
log-likelihood of the true classes on
the validation structures, with the probabilities as `crystalx assign` restricts them (SFAC
elements and 'not an atom' for the heavy model's last pass, H counts the atom has room for).
The expected calibration error (ECE: the gap between confidence and accuracy, averaged over
BINS equal-width confidence bins weighted by their atoms) is reported before and after on the
validation and test splits (onnx_models/calibration.json, read by benchmarks/model_card.py),
with a reliability diagram (docs/reliability_diagram.png). The heavy model's rows are every
peak of the simulated solutions (as atoms.evaluate makes them: seeds × extra noise), the
hydrogen model's every non-H atom of the published structures.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.assign.model import (
    MODEL_DIR,
    NOT_AN_ATOM,
    _placeable,
    assign_model,
    load_model,
    model_h_counts,
    site_classes,
)
from crystalx_core.elements import is_hydrogen, symbol
from crystalx_core.geometry import connectivity, one_alternative
from crystalx_core.runtime import softmax
from crystalx_core.training.atoms.dataset import h_counts
from crystalx_core.training.atoms.evaluate import SEEDS, _name_number, test_structures
from crystalx_core.training.atoms.simulate import SimulationSettings, simulate_peaks
from crystalx_core.training.calibration import BINS, fit_temperature, nll, reliability

NOISES = (0.0, 0.05, 0.1)  # Å of extra coordinate noise, as atoms.evaluate
REPO = Path(__file__).resolve().parents[3]


@contextmanager
def recording(model, calls: list):
    """The model's uncalibrated (T = 1) probabilities of every predict call, appended to `calls`."""
    predict = model.predict

    def recorded(graph):
        calls.append(predict(graph))
        return calls[-1]

    model.predict = recorded
    try:
        yield
    finally:
        model.predict = predict


def _log(probabilities: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(probabilities)


def heavy_rows(truths: list, seeds=SEEDS, noises=NOISES) -> tuple[np.ndarray, np.ndarray]:
    """(log-probabilities at T = 1 restricted as assign_model restricts its last pass, true class)
    for every peak of every simulated solution."""
    model = load_model(str(MODEL_DIR), "heavy")
    rows, targets = [], []
    for seed in seeds:
        for noise in noises:
            for truth in truths:
                rng = np.random.default_rng([seed, _name_number(truth.source)])
                sim = simulate_peaks(truth, SimulationSettings(extra_noise=noise), rng)
                calls: list = []
                with recording(model, calls):
                    assign_model(sim.structure)
                allowed = site_classes(sim.structure, model.classes)
                kept = np.where(allowed, calls[-1], 0.0)
                rows.append(_log(kept / kept.sum(axis=1, keepdims=True)))
                targets += [
                    model.classes.index(symbol(z) if z else NOT_AN_ATOM) for z in sim.targets
                ]
    return np.concatenate(rows), np.array(targets)


H_TRUTH = "each H once, for its nearest allowed pivot (geometry.bonded_h_counts, c9267ae)"


def hydrogen_rows(truths: list) -> tuple[np.ndarray, np.ndarray]:
    """(log-probabilities at T = 1 over the H counts each atom has room for, true count) per non-H
    atom."""
    model = load_model(str(MODEL_DIR), "hydrogen")
    counts = [int(c) for c in model.classes]
    rows, targets = [], []
    for truth in truths:
        heavy = truth.with_sites([s for s in truth.sites if not is_hydrogen(s.element)])
        calls: list = []
        with recording(model, calls):
            model_h_counts(heavy)
        rows.append(
            _log(_placeable(calls[-1], heavy, one_alternative(heavy, connectivity(heavy)), counts))
        )
        targets += [counts.index(n) for n in h_counts(truth)]
    return np.concatenate(rows), np.array(targets)


def calibrate(log_val, y_val, log_test, y_test) -> dict:
    temperature = fit_temperature(log_val, y_val)
    for rows in (log_val, log_test):  # scaling never changes the most likely class
        assert (softmax(rows, 1.0).argmax(1) == softmax(rows, temperature).argmax(1)).all()
    out = {"temperature": temperature}
    for split, (rows, targets) in {"val": (log_val, y_val), "test": (log_test, y_test)}.items():
        out[split] = {
            "before": reliability(softmax(rows, 1.0), targets),
            "after": reliability(softmax(rows, temperature), targets),
            "nll_before": nll(rows, targets, 1.0),
            "nll_after": nll(rows, targets, temperature),
        }
    return out


def diagram(results: dict, path: Path) -> None:
    """Reliability diagrams (test split) of both models, before and after scaling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for axis, (name, title) in zip(
        axes,
        (
            ("heavy", "elements (heavy model, every peak)"),
            ("hydrogen", "H counts (hydrogen model, every non-H atom)"),
        ),
    ):
        result = results[name]
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
        for stage, style, label in (
            ("before", "o--", "T = 1"),
            ("after", "s-", f"T = {result['temperature']:.2f}"),
        ):
            row = result["test"][stage]
            conf = [b["confidence"] for b in row["bins"]]
            acc = [b["accuracy"] for b in row["bins"]]
            axis.plot(conf, acc, style, label=f"{label}: ECE {100 * row['ece']:.2f} %")
        axis.set_xlabel("confidence (probability of the most likely class)")
        axis.set_ylabel("accuracy")
        axis.set_title(f"{title}\ntest split, {result['test']['after']['rows']} rows", fontsize=10)
        axis.set_xlim(0, 1.02)
        axis.set_ylim(0, 1.02)
        axis.legend(loc="upper left", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def write_sidecar(name: str, result: dict, command: str) -> None:
    path = MODEL_DIR / f"{name}.json"
    sidecar = json.loads(path.read_text())
    sidecar["calibration"] = {
        "temperature": round(result["temperature"], 4),
        "fitted_on": "validation split of the corpus",
        "by": command,
    }
    path.write_text(json.dumps(sidecar, indent=2) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--output", type=Path, default=MODEL_DIR / "calibration.json")
    parser.add_argument("--figure", type=Path, default=REPO / "docs" / "reliability_diagram.png")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument(
        "--write", action="store_true", help="store each temperature in the model's sidecar"
    )
    args = parser.parse_args(argv)
    val, test = (test_structures(args.corpus, split) for split in ("val", "test"))
    results = {
        "heavy": calibrate(*heavy_rows(val, args.seeds), *heavy_rows(test, args.seeds)),
        "hydrogen": calibrate(*hydrogen_rows(val), *hydrogen_rows(test)),
        "seeds": args.seeds,
        "noise_A": list(NOISES),
        "bins": BINS,
        # the H truth these rows are measured against; model_card.py flags files without it
        "h_truth": H_TRUTH,
    }
    args.output.write_text(json.dumps(results, indent=1))
    diagram(results, args.figure)
    if args.write:
        for name in ("heavy", "hydrogen"):
            write_sidecar(
                name,
                results[name],
                "python -m crystalx_core.training.atoms.calibrate CORPUS --write",
            )
    for name in ("heavy", "hydrogen"):
        r = results[name]
        print(
            f"{name}: T = {r['temperature']:.3f}; ECE val {100 * r['val']['before']['ece']:.2f} % "
            "-> "
            f"{100 * r['val']['after']['ece']:.2f} %, test {100 * r['test']['before']['ece']:.2f} "
            "% -> "
            f"{100 * r['test']['after']['ece']:.2f} % ({r['test']['after']['rows']} rows)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
