"""Where a space-group model goes wrong on a split, and what a cheap fix would buy: top-1 per
crystal system, Laue class and lattice centring; each error sorted by the first thing it gets
wrong (crystal system, Laue class, centring, systematic absences, or only intensities, when the
two groups share the Laue class and absences in some setting and no powder pattern's peak
positions can tell them apart); calibration (ECE, NLL, the temperature that minimises NLL);
the class prior the model behaves as if it had, beside the training split's; and top-1 / top-2
with the training split's log-prior added at several weights.

    python -m crystalx_core.training.pxrd.diagnose data/pxrd_mof.npz \
        onnx_models/pxrd_space_group_mof.onnx --split val [--json runs/diagnosis.json]

Choose any fix by the validation split; the test split is for reporting the chosen one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from cctbx import sgtbx
from cctbx.array_family import flex

from crystalx_core.pxrd.labels import bravais_lattice, crystal_system, space_group
from crystalx_core.training.calibration import fit_temperature, nll, reliability
from crystalx_core.training.pxrd.dataset import load
from crystalx_core.training.pxrd.prior import best_weight, class_log_prior

# settings a group's absences are compared in: axis permutations (orthorhombic) and the
# monoclinic cell choices, so Pna2(1) and Pnma, or P2(1)/c and P2(1)/n, count as one
SETTINGS = ("a,b,c", "b,c,a", "c,a,b", "b,a,-c", "a,c,-b", "c,b,-a", "c,b,-a-c", "-a-c,b,a")
INDEX_RANGE = 6  # absences are compared on every hkl with |h|, |k|, |l| <= this
PRIOR_WEIGHTS = (-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
ERROR_KINDS = ("crystal system", "Laue class", "centring", "absences", "intensities only")
ECE_BINS = 10  # equal-width confidence bins


@lru_cache(maxsize=1)
def _indices() -> flex.miller_index:
    r = range(-INDEX_RANGE, INDEX_RANGE + 1)
    return flex.miller_index([(h, k, l) for h in r for k in r for l in r if (h, k, l) != (0, 0, 0)])


@lru_cache(maxsize=None)
def absence_patterns(number: int) -> frozenset:
    """The group's systematically absent hkl (as bytes of a 0/1 mask), once per SETTING that
    keeps its Laue class in a standard orientation (those that do not simply never match)."""
    info = space_group(number)
    patterns = set()
    for setting in SETTINGS:
        group = info.change_basis(sgtbx.change_of_basis_op(setting)).group()
        patterns.add(np.array(group.is_sys_absent(_indices()), dtype=bool).tobytes())
    return frozenset(patterns)


def laue_class(number: int) -> str:
    return space_group(number).group().laue_group_type()


def error_kind(truth: int, predicted: int) -> str:
    """The first thing a wrong answer gets wrong, in ERROR_KINDS order (space-group numbers)."""
    if crystal_system(truth) != crystal_system(predicted):
        return "crystal system"
    if laue_class(truth) != laue_class(predicted):
        return "Laue class"
    if bravais_lattice(truth) != bravais_lattice(predicted):
        return "centring"
    standard = space_group(truth).group().is_sys_absent(_indices())
    if np.array(standard, dtype=bool).tobytes() not in absence_patterns(predicted):
        return "absences"
    return "intensities only"


def by_property(truth: np.ndarray, predicted: np.ndarray, prop) -> dict:
    """{value: [structures, top-1, share whose predicted group has the same value]} per value of
    prop(space group) among the true groups, commonest first."""
    true_values = np.array([prop(int(n)) for n in truth])
    predicted_values = np.array([prop(int(n)) for n in predicted])
    table = {}
    for value, count in Counter(true_values).most_common():
        mask = true_values == value
        table[str(value)] = [
            int(count),
            round(float(np.mean(truth[mask] == predicted[mask])), 4),
            round(float(np.mean(predicted_values[mask] == value)), 4),
        ]
    return table


def diagnose(
    probabilities: np.ndarray, labels: np.ndarray, train_labels: np.ndarray, train_names
) -> dict:
    """Every figure above for one model's (n, 230) probabilities on labelled patterns."""
    truth = labels.astype(int)
    predicted = probabilities.argmax(axis=1) + 1
    ranked = np.argsort(-probabilities, axis=1)
    wrong = predicted != truth
    kinds = Counter(error_kind(int(t), int(p)) for t, p in zip(truth[wrong], predicted[wrong]))
    log_p = np.log(probabilities + 1e-12)
    table = reliability(probabilities, truth - 1, ECE_BINS)
    temperature = fit_temperature(log_p, truth - 1)
    log_prior, structures = class_log_prior(train_labels, train_names)
    weight, scored = best_weight(log_p, truth, log_prior, PRIOR_WEIGHTS)
    train_share = np.exp(log_prior)
    implied = probabilities.mean(axis=0)
    commonest = np.argsort(-train_share)[:8]
    systems = np.array([crystal_system(n) for n in range(1, len(train_share) + 1)])
    in_true_system = systems[None, :] == systems[truth - 1][:, None]
    return {
        "patterns": int(len(truth)),
        "top1": float(np.mean(~wrong)),
        "top2": float(np.mean((ranked[:, :2] == truth[:, None] - 1).any(axis=1))),
        "top1_given_system": float(
            np.mean((probabilities * in_true_system).argmax(axis=1) + 1 == truth)
        ),
        "crystal_system": by_property(truth, predicted, crystal_system),
        "laue_class": by_property(truth, predicted, laue_class),
        "lattice": by_property(truth, predicted, bravais_lattice),
        "errors": {kind: int(kinds[kind]) for kind in ERROR_KINDS},
        "calibration": {
            "ece": round(table["ece"], 4),
            "nll": round(nll(log_p, truth - 1, 1.0), 4),
            "temperature": round(temperature, 3),
            "nll_at_temperature": round(nll(log_p, truth - 1, temperature), 4),
            "reliability (confidence, accuracy, count)": [
                [round(b["confidence"], 3), round(b["accuracy"], 3), b["rows"]]
                for b in table["bins"]
            ],
        },
        "prior": {
            "training structures": structures,
            "groups (training share, mean predicted probability, share predicted, share true)": {
                str(k + 1): [
                    round(float(train_share[k]), 4),
                    round(float(implied[k]), 4),
                    round(float(np.mean(predicted == k + 1)), 4),
                    round(float(np.mean(truth == k + 1)), 4),
                ]
                for k in commonest
            },
            "best weight": weight,
            "top1/top2 per added log-prior weight": {str(w): s for w, s in scored.items()},
        },
    }


def report(figures: dict) -> str:
    """The figures as plain text."""
    lines = [
        f"{figures['patterns']} patterns: top-1 {100 * figures['top1']:.2f} %, "
        f"top-2 {100 * figures['top2']:.2f} %; top-1 if told the crystal system "
        f"{100 * figures['top1_given_system']:.2f} %"
    ]
    for key in ("crystal_system", "laue_class", "lattice"):
        lines.append(f"per {key.replace('_', ' ')} (structures, top-1, same {key} predicted):")
        lines += [f"  {v:>14} {n:5d} {a:7.2%} {s:7.2%}" for v, (n, a, s) in figures[key].items()]
    errors = figures["errors"]
    lines.append(
        f"errors ({sum(errors.values())}) by the first thing wrong: "
        + ", ".join(f"{k} {n}" for k, n in errors.items())
    )
    c = figures["calibration"]
    lines.append(
        f"calibration: ECE {c['ece']:.4f}, NLL {c['nll']:.4f}; temperature {c['temperature']} "
        f"gives NLL {c['nll_at_temperature']:.4f}"
    )
    rows = c["reliability (confidence, accuracy, count)"]
    lines += [f"  confidence {a:.3f} accuracy {b:.3f} ({n})" for a, b, n in rows]
    p = figures["prior"]
    groups = p["groups (training share, mean predicted probability, share predicted, share true)"]
    lines.append("group: training share, mean predicted probability, share predicted, share true")
    lines += [f"  {g:>4} {' '.join(f'{x:.4f}' for x in v)}" for g, v in groups.items()]
    scored = p["top1/top2 per added log-prior weight"]
    lines.append(
        "added training log-prior, weight: (top-1, top-2): "
        + ", ".join(f"{w}: ({a:.4f}, {b:.4f})" for w, (a, b) in scored.items())
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("model", type=Path, help="an exported .onnx (an ensemble's first file)")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--evidence", type=Path, help="the split's lattice-metric evidence (.npy), cached"
    )
    parser.add_argument(
        "--no-metric", action="store_true", help="leave the sidecar's lattice step out"
    )
    args = parser.parse_args(argv)
    from crystalx_core.pxrd.metric import evidence_matrix
    from crystalx_core.pxrd.predict import model_sidecar, probabilities

    data = load(args.data)
    patterns = data[f"{args.split}_patterns"].astype(np.float32)
    evidence = None
    if not args.no_metric and "lattice_metric" in model_sidecar(str(args.model)):
        evidence = evidence_matrix(patterns, args.evidence)
    p = probabilities(patterns, args.model, metric=not args.no_metric, evidence=evidence)
    figures = diagnose(p, data[f"{args.split}_labels"], data["train_labels"], data["train_names"])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    print(report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
