"""Write onnx_models/MODEL_CARD.md from what the scripts measured: the dataset summary, the
training histories, the model configs and the evaluation metrics.

    python benchmarks/model_card.py

Inputs, all in onnx_models/: NAME.json (export sidecars), NAME_history.json (training
histories, copied by the export), dataset_summary.json (from the dataset build) and
metrics.json (from crystalx_core.training.atoms.evaluate), pxrd_metrics.json, pxrd_mof_metrics.json
and pxrd_corpus_metrics.json (from crystalx_core.training.pxrd.evaluate), pxrd_corpus_mix*.json
(from crystalx_core.training.pxrd.mix), calibration.json (from
crystalx_core.training.atoms.calibrate); and docs/benchmarks.md's model_benchmark section
(from benchmarks/model_benchmark.py: the models on real published structures).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "onnx_models"
BENCHMARKS = REPO / "docs" / "benchmarks.md"
RULE_TOKENS = "; each input token carries the H-count rules' answer (element + 100 × count)"
HEIGHT_TOKENS = (
    "; each input token carries the peak's height bin (element guess + 100 × bin; 9 bins of the "
    "height "
    "over the median of the N highest peaks, N = the non-H atoms UNIT expects; bin 0 = no height, "
    "as for atoms and for a fifth of the training examples)"
)


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def _epochs(history: list[dict]) -> str:
    """'N epochs', or for a fine-tuned model the epochs of each run in order."""
    runs: list[list] = []
    for row in history:
        if not runs or runs[-1][0] != row.get("run"):
            runs.append([row.get("run"), 0])
        runs[-1][1] += 1
    if len(runs) == 1:
        return f"{len(history)} epochs"
    counts = [str(n) for _, n in runs]
    return (
        f"{len(history)} epochs in {len(runs)} runs, each fine-tuning the one before "
        f"({' + '.join(counts)})"
    )


def _hours(history: list[dict]) -> str:
    """Training time by device (rows without one ran before it was recorded: on the CPU)."""
    seconds: dict[str, float] = {}
    for row in history:
        device = row.get("device", "cpu")
        seconds[device] = seconds.get(device, 0.0) + row["seconds"]
    where = {
        "cpu": "on one CPU thread (torch kept to one beside cctbx)",
        "cuda": "on one GPU (the accelerator run, checkpoints/README.md)",
    }
    return " + ".join(
        f"{s / 3600:.2f} h {where.get(device, f'on {device}')}" for device, s in seconds.items()
    )


def _ensemble(sidecar: dict) -> str:
    """The sentence saying which files form an ensemble model and where each came from."""
    members = sidecar.get("metadata", {}).get("ensemble")
    if not members:
        return ""
    each = ", ".join(f"`{m['file']}` (`{Path(m['run']).name}/`)" for m in members)
    return (
        f" An ensemble of {len(members)} such networks, the mean of their probabilities: {each} "
        f"(the training above is the first's; checkpoints/README.md gives the others')."
    )


def _simulations(metrics: dict) -> str:
    rows = metrics.get("heavy") or [{}]
    seeds = rows[0].get("seeds", [None])
    return f"{len(seeds)} (seeds {', '.join(map(str, seeds))})" if seeds != [None] else "one"


def pxrd_section(metrics: dict | None, sidecar: dict | None, runs: dict[str, list]) -> list[str]:
    """Space groups from powder patterns: CSN vs the CNN baseline and the ablations."""
    if not metrics:
        return []
    dataset = metrics.get("dataset", {})
    lines = [
        "",
        "## Space groups from powder patterns (Chemical Sight Net)",
        "",
        "Patterns: Cu Kα, 5–90° 2θ in 0.1° steps, simulated with cctbx "
        "(`crystalx_core.pxrd.simulate`, checked "
        "against pymatgen's XRD calculator in the tests) with random zero shift, Caglioti peak "
        "widths, "
        "pseudo-Voigt shape, background and Poisson noise. Structures: "
        f"{dataset.get('per_group', '?')} random crystals per space group (all 230; 2–120 atoms in "
        "the cell "
        "on random Wyckoff positions, special ones included, so high-symmetry groups get small "
        "cells) plus "
        "the shared corpus, split by structure (`python -m crystalx_core.training.pxrd.dataset`).",
        "",
        f"- structures per split: {json.dumps(dataset.get('structures', {}))}",
        f"- patterns per split: {json.dumps(dataset.get('patterns', {}))}",
    ]
    if sidecar:
        c = sidecar["config"]
        history = runs.get("pxrd_space_group", [])
        minutes = sum(r["seconds"] for r in history) / 60
        if c["kind"] == "csn":
            what = (
                f"CSN (five strided convolutions to tokens of {2 * c['channels']} channels, "
                f"{'intensity-aware' if c['intensity_attention'] else 'plain'} attention embedding "
                "+ "
                f"{c['layers']} transformer blocks, {c['heads']} heads"
                f"{', symmetry-rule head' if c['rule_head'] else ''})"
            )
        else:
            what = (
                "the CNN baseline (five strided and three dilated convolutions, "
                f"{2 * c['channels']} channels)"
            )
        best = max((r["val_top1"] for r in history), default=float("nan"))
        lines.append(
            f"- shipped `pxrd_space_group.onnx`: {what}, the run with the best validation top-1 "
            f"({_pct(best)}) of those below; {len(history)} epochs in {minutes:.0f} min on one CPU "
            "thread."
        )
    else:
        lines.append(
            "- no space-group model is shipped (`onnx_models/pxrd_space_group.onnx` absent): "
            "`crystalx pxrd "
            "--from-cif` still simulates, overlays and scores a CIF against a measured pattern."
        )
    lines += [
        "",
        "Held-out test patterns (`python -m crystalx_core.training.pxrd.evaluate`). Overall = all "
        "test "
        "patterns (random crystals balanced over the groups, plus the real corpus); class-balanced "
        "= mean "
        "over space groups of the per-group accuracy; corpus = the real structures only.",
        "",
        "| model | top-1 | top-2 | top-5 | class-balanced top-1 | class-balanced top-2 | corpus "
        "top-1 "
        "| corpus top-2 | crystal system | majority class | epochs (kept) | minutes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in metrics.get("test", {}).items():
        lines.append(
            f"| {name} | {_pct(row['top1'])} | {_pct(row['top2'])} | {_pct(row.get('top5'))} "
            f"| {_pct(row['balanced_top1'])} | "
            f"{_pct(row['balanced_top2'])} | {_pct(row.get('corpus_top1'))} | "
            f"{_pct(row.get('corpus_top2'))} "
            f"| {_pct(row.get('crystal_system_top1'))} | {_pct(row.get('majority_class_top1'))} "
            f"| {row.get('epochs', '-')} ({row.get('best_epoch', '-')}) | "
            f"{row.get('minutes', '-')} |"
        )
    rows = list(metrics.get("test", {}).values())
    if rows and all(r["top1"] <= r.get("majority_class_top1", 0) + 0.005 for r in rows):
        lines += [
            "",
            "None of these models beats always answering the commonest test group: with this much "
            "data and CPU time they have not learnt the task (the kept epoch is the one with the "
            "best "
            "validation top-1). Each epoch sees a quarter of the training patterns, one CPU "
            "thread.",
        ]
    elif rows:
        lines += [
            "",
            "Read top-1 over 230 groups with care: space groups that share a Laue class and "
            "systematic "
            "absences differ in a powder pattern only through intensities, and the test set is "
            "balanced "
            "over all 230, the rare ones included. The crystal-system column sums the "
            "probabilities per "
            "system. The kept epoch is the one with the best validation top-1 (one CPU thread; the "
            "README "
            "gives the commands).",
        ]
    shipped = metrics.get("shipped_onnx")
    if shipped:
        lines += [
            "",
            f"The shipped ONNX file measured with onnxruntime: top-1 {_pct(shipped['top1'])}, "
            "top-2 "
            f"{_pct(shipped['top2'])} ({shipped['patterns']} patterns).",
        ]
    return lines


def calibration_section(calibration: dict | None) -> list[str]:
    """Temperature scaling: the temperatures and the expected calibration error before/after."""
    if not calibration:
        return []
    lines = [
        "",
        "## Calibration",
        "",
        "Each model's logits are divided by a temperature T fitted on the validation structures "
        "(least negative log-likelihood of the true class; `python -m "
        "crystalx_core.training.atoms.calibrate "
        "../shared/data/corpus --write` stores it in the sidecar, where `crystalx_core/runtime.py` "
        "reads it). "
        "T > 1 softens overconfident probabilities. T changes the probabilities reported (top five "
        "elements, H-count probabilities), not the answers: they are chosen from the uncalibrated "
        "ones, for "
        "which the formula-aware choice was tuned, so the metrics above stay as they were. ECE = "
        "expected "
        f"calibration error over {calibration.get('bins', 15)} equal-width confidence bins, of the "
        "most likely "
        "class among those `crystalx assign` allows (SFAC elements and 'not an atom' for every "
        "peak of the "
        f"heavy model's last pass, {len(calibration.get('seeds', []))} simulations × "
        f"{len(calibration.get('noise_A', []))} noise levels per structure as above; H counts the "
        "atom has "
        "room for, per non-H atom of the published structures). Reliability diagram: "
        "`docs/reliability_diagram.png`."
        + (
            ""
            if calibration.get("h_truth")
            else " The hydrogen row is measured against the published H counts as they were read "
            "before c9267ae (branch s11mbh), when an H within reach of two atoms, or an image of "
            "a negative PART, could count twice; the test metrics above read each H once."
        ),
        "",
        "| model | T | rows (test) | ECE val before | ECE val after | ECE test before | ECE test "
        "after "
        "| NLL test before | NLL test after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, what in (("heavy", "elements"), ("hydrogen", "H counts")):
        r = calibration.get(name)
        if r:
            lines.append(
                f"| {name} ({what}) | {r['temperature']:.3f} | {r['test']['after']['rows']} "
                f"| {_pct(r['val']['before']['ece'])} | {_pct(r['val']['after']['ece'])} "
                f"| {_pct(r['test']['before']['ece'])} | {_pct(r['test']['after']['ece'])} "
                f"| {r['test']['nll_before']:.4f} | {r['test']['nll_after']:.4f} |"
            )
    return lines


# Chemical Sight Net's Table 1 (CSD MOFs, ~100k training structures): top-1/top-2 on MOF, then on
# MOF-Balanced
PAPER_TABLE_1 = (
    ("CSN (paper)", 73.3, 86.3, 50.5, 66.1),
    ("XRDMamba (paper)", 72.2, None, 48.7, None),
    ("RCNet (paper)", 59.0, None, 44.5, None),
    ("CNN (paper)", 39.0, None, 22.9, None),
    ("MLP (paper)", 9.1, None, 4.1, None),
)


def _mof_table(mof: dict) -> list[str]:
    """Our rows of CSN's Table 1 (top-1/top-2 on MOF and MOF-Balanced) for one metrics file."""
    lines = [
        "| model | MOF top-1 | MOF top-2 | MOF-Balanced top-1 | MOF-Balanced top-2 | epochs |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in mof.get("test", {}).items():
        b = row.get("balanced_subset", {})
        epochs = f"{row['epochs']} ({row.get('best_epoch', '-')})" if "epochs" in row else "-"
        lines.append(
            f"| {name} (ours) | {_pct(row['top1'])} | {_pct(row['top2'])} | "
            f"{_pct(b.get('top1'))} | {_pct(b.get('top2'))} | {epochs} |"
        )
    return lines


def _lattice_step(lattice: dict, without: dict | None) -> list[str]:
    """What the shipped MOF model's lattice step is, and what it changed."""
    cv = lattice.get("validation_top1_top2_nll_ece_cross_validated", {})
    before, after = cv.get("without", [None] * 4), cv.get("with", [None] * 4)
    text = (
        "The lattice step (`crystalx_core.pxrd.metric`): the first 15 peaks of the pattern are "
        "indexed, as powder indexing programs begin, on a cubic, a tetragonal and a hexagonal "
        "metric (trial cells from low indices given to the first peaks, over five zero shifts; "
        "each scored by the log-likelihood ratio of the peak positions against peaks anywhere); "
        "the three figures and the model's own probability per crystal system move each "
        "system's groups through a softmax layer with one sharpness (the inverse of a "
        f"temperature; {lattice.get('sharpness')}), fitted on the validation split. Five-fold "
        f"cross-validated there, top-1 {_pct(before[0])} → {_pct(after[0])}, top-2 "
        f"{_pct(before[1])} → {_pct(after[1])}, NLL {before[2]} → {after[2]}, expected "
        f"calibration error {before[3]} → {after[3]}."
    )
    if without:
        b = without.get("balanced_subset", {})
        text += (
            f" On the test split without the step: MOF top-1 {_pct(without['top1'])}, top-2 "
            f"{_pct(without['top2'])}, MOF-Balanced {_pct(b.get('top1'))} / "
            f"{_pct(b.get('top2'))}, crystal system {_pct(without.get('crystal_system_top1'))}."
        )
    return [text]


def _diagnosis(diagnosis: dict) -> list[str]:
    """Where the MOF model goes wrong on validation (crystalx_core.training.pxrd.diagnose)."""
    errors = diagnosis["errors"]
    systems = diagnosis["crystal_system"]
    calibration = diagnosis["calibration"]
    prior = diagnosis["prior"]
    return [
        "Where the ensemble alone goes wrong on the validation split (`python -m "
        "crystalx_core.training.pxrd.diagnose data/pxrd_mof.npz "
        "onnx_models/pxrd_space_group_mof.onnx --no-metric`, `pxrd_mof_diagnosis.json`): of "
        f"{sum(errors.values())} wrong answers among {diagnosis['patterns']}, "
        + ", ".join(
            f"{n} first get the {k} wrong" for k, n in errors.items() if k != "intensities only"
        )
        + f", and {errors.get('intensities only', 0)} differ from the truth in intensities only "
        "(same Laue class and absences in some setting). Top-1 and the share put in the right "
        "crystal system, per true system: "
        + ", ".join(f"{k} {_pct(v[1])} / {_pct(v[2])} ({v[0]})" for k, v in systems.items())
        + f"; told the true crystal system, it would score top-1 "
        f"{_pct(diagnosis.get('top1_given_system'))}. Over-confident (ECE {calibration['ece']}, "
        f"NLL {calibration['nll']}; temperature {calibration['temperature']} would give "
        f"{calibration['nll_at_temperature']}). Trained on the natural frequencies, it carries "
        "the training split's prior already; top-1 with that log-prior added once more, per "
        "weight: "
        + ", ".join(
            f"{w}: {_pct(v[0])}" for w, v in prior["top1/top2 per added log-prior weight"].items()
        )
        + ".",
    ]


def pxrd_mof_section(
    mof: dict | None,
    corpus: dict | None,
    sidecar: dict | None,
    earlier: dict | None = None,
    diagnosis: dict | None = None,
) -> list[str]:
    """Real MOFs in the shape of CSN's Table 1 (and `earlier` runs on a smaller share, and the
    `diagnosis` of the shipped model on validation), and the molecular model on the corpus's
    real frequencies."""
    lines = []
    if mof:
        d = mof.get("dataset", {})
        kept = {
            k.split()[-1]: v for k, v in d.get("structures", {}).items() if k.startswith("kept")
        }
        left_out = sum(d.get("left_out", {}).values())
        partial = d.get("fraction", 1.0) < 1.0
        lines += [
            "",
            "### Real MOFs (CoRE MOF 2019 ASR + FSR and 2014)",
            "",
            f"Structures from the `{d.get('source', 'core-mof')}` wheel, space groups recovered "
            "with spglib "
            f"(symprec {d.get('symprec')} Å, {d.get('angle_tolerance')}°) from the P1 cells, one "
            "per CSD refcode, "
            f"split 50/50 by refcode family (`python -m crystalx_core.training.pxrd.mof`): "
            f"{kept.get('train', 0)} train, {kept.get('val', 0)} validation, {kept.get('test', 0)} "
            "test "
            f"structures; {left_out} left out ({json.dumps(d.get('left_out', {}))}). MOF = one "
            "pattern per test "
            f"structure, natural class frequencies ({d.get('test_space_groups')} groups); "
            "MOF-Balanced = "
            f"{d.get('balanced_structures')} of them, 10 from each of the "
            f"{d.get('balanced_classes')} classes "
            "with more than 10 test structures. Patterns as above plus preferred orientation "
            "(March–Dollase) "
            "and impurity peaks; trained on the natural class frequencies.",
        ]
        if partial:
            lines += [
                "",
                f"**Partial:** only {d['fraction']:.0%} of the distinct structures (a stable hash "
                "of the "
                "refcode) were simulated, for lack of CPU time; the paper trained on ~100k.",
            ]
        lines += ["", *_mof_table(mof)]
        rows = list(mof.get("test", {}).values())
        if rows:
            lines.append(
                f"| always the commonest training groups ({rows[0].get('train_majority')} first) "
                f"| {_pct(rows[0].get('train_majority_top1'))} | "
                f"{_pct(rows[0].get('train_majority_top2'))} "
                "| - | - | - |"
            )
        for name, *figures in PAPER_TABLE_1:
            lines.append(
                f"| {name} | "
                + " | ".join("-" if f is None else f"{f:.1f} %" for f in figures)
                + " | - |"
            )
        if rows:
            lines += [
                "",
                "Figures measured on one simulated pattern per test structure. The run "
                "without augmentation saw the two stored patterns per training structure for 20 "
                "epochs and learnt them by heart. The others redraw every training batch "
                "(`crystalx_core.training.pxrd.augment`: zero shift, sample displacement and a "
                "±1 % cell strain moving the peaks, a random blur, a smooth random intensity "
                "factor over 2θ for texture, impurity peaks, background, counting noise) with "
                "dropout 0.1, label smoothing 0.1 and weight decay 0.05. The 14-epoch runs "
                "stopped with validation still rising; the annealed CSN started from the best CSN "
                "weights so far (those 14 epochs and 11 more, stopped early at a high learning "
                "rate) and ran a warm-up + cosine schedule over 50 minutes of a shared CPU "
                "(`--minutes 50`; its epochs column counts those alone). "
                "Validation top-1, which chooses the shipped model, and top-1 on every fourth "
                "stored training pattern (how far each run fits what it saw): "
                + ", ".join(
                    f"{name} {_pct(row.get('val_top1'))} / {_pct(row.get('train_top1'))}"
                    for name, row in mof["test"].items()
                    if "train_top1" in row
                )
                + ". Every run generalises far less than the paper's, "
                "trained on ~100k"
                + (
                    "; the shares of the README's commands can be widened to the whole set."
                    if partial
                    else "."
                ),
            ]
        if earlier:
            e = {
                k.split()[-1]: v
                for k, v in earlier.get("dataset", {}).get("structures", {}).items()
                if k.startswith("kept")
            }
            lines += [
                "",
                f"Earlier runs, trained and measured on {earlier['dataset']['fraction']:.0%} "
                f"of the structures alone ({e.get('train', 0)} train, {e.get('test', 0)} test "
                "structures; "
                "a smaller test split, so not comparable row for row with the table above; "
                "`pxrd_mof_metrics_30.json`):",
                "",
                *_mof_table(earlier),
            ]
        shipped = mof.get("shipped_onnx")
        if shipped and sidecar:
            members = sidecar.get("metadata", {}).get("ensemble")
            what = (
                " + ".join(f"{m['kind'].upper()} `{m['file']}` (`{m['run']}`)" for m in members)
                + ", the mean of their probabilities, chosen over the best single run on "
                "validation"
                if members
                else f"{sidecar['config']['kind'].upper()}, the best run on validation"
            )
            lattice = sidecar.get("lattice_metric")
            if lattice:
                what += (
                    ", then the lattice step fitted on validation (`python -m "
                    "crystalx_core.training.pxrd.lattice_weights`)"
                )
            lines += [
                "",
                f"Shipped `pxrd_space_group_mof.onnx` ({what}; `crystalx pxrd --kind mof`), "
                "measured with onnxruntime: MOF top-1 "
                f"{_pct(shipped['top1'])}, top-2 {_pct(shipped.get('top2'))}, top-5 "
                f"{_pct(shipped.get('top5'))}, crystal system "
                f"{_pct(shipped.get('crystal_system_top1'))}"
                + (
                    f"; validation top-1 {_pct(shipped['val_top1'])}"
                    + (
                        " (where the lattice step was fitted; cross-validated below)"
                        if lattice
                        else ""
                    )
                    if shipped.get("val_top1") is not None
                    else ""
                )
                + "".join(  # the other exported models measured on the same split
                    f" ({name}: {_pct(row.get('val_top1'))})"
                    for name, row in mof.get("test", {}).items()
                    if "model" in row and row["model"] != shipped["model"]
                )
                + ".",
            ]
            if lattice:
                lines += ["", *_lattice_step(lattice, mof.get("without_metric"))]
        if diagnosis:
            lines += ["", *_diagnosis(diagnosis)]
    if corpus and corpus.get("shipped_onnx"):
        c = corpus["shipped_onnx"]
        lines += [
            "",
            "### The molecular model on real molecular crystals",
            "",
            "`pxrd_space_group.onnx` (`--kind molecular`, the default) on the corpus's held-out "
            "test structures "
            f"({corpus.get('dataset', {}).get('structures', {}).get('test corpus', '?')} "
            f"structures, {c['patterns']} "
            "patterns, their natural space-group frequencies; `python -m "
            "crystalx_core.training.pxrd.evaluate data/pxrd_corpus.npz ...`), its logits shifted "
            "by the corpus "
            f"training split's class prior (`crystalx_core.training.pxrd.prior`: logits × "
            f"{corpus.get('prior_sharpness', 1.0)}, log-prior × {corpus.get('prior_weight', '?')}, "
            "both fitted by maximum likelihood on the validation split). `crystalx pxrd` "
            "applies it; the "
            "random-crystal table above (balanced over all 230 groups) is without it. A "
            "sharpness far below 1 says the model's own reading of a real molecular pattern "
            "counts for little against the prior.",
            "",
            "| answer | top-1 | top-2 | top-5 | crystal system |",
            "|---|---|---|---|---|",
            f"| the molecular model + prior | {_pct(c['top1'])} | {_pct(c['top2'])} | "
            f"{_pct(c.get('top5'))} "
            f"| {_pct(c.get('crystal_system_top1'))} |",
            f"| always the commonest training groups ({c.get('train_majority')} first; "
            f"{c.get('train_majority_system', '?')}) "
            f"| {_pct(c.get('train_majority_top1'))} | {_pct(c.get('train_majority_top2'))} | - | "
            f"{_pct(c.get('train_majority_system_top1'))} |",
        ]
        if "without_prior" in corpus:
            w = corpus["without_prior"]
            lines.append(
                f"| the molecular model without the prior | {_pct(w['top1'])} | {_pct(w['top2'])} "
                f"| {_pct(w.get('top5'))} | {_pct(w.get('crystal_system_top1'))} |"
            )
            lines += [
                "",
                "The row without the prior moves with the draws of the held-out patterns alone: "
                "13.64 % top-1 on the set built before 4efe14f, 17.05 % on this rebuild of it (the "
                "same model); on a second build (`--seed 1`, data/pxrd_corpus_seed1.npz; "
                "`python -m crystalx_core.training.pxrd.evaluate data/pxrd_corpus_seed1.npz "
                "runs/seed1_onnx.json --onnx onnx_models/pxrd_space_group.onnx`) 17.05 % / "
                "30.68 % / 51.14 % (top-1/2/5), and with the prior the same 27.27 % / 40.91 % / "
                "65.91 % as here.",
            ]
    return lines


def _mix_sample_note(mix: dict) -> str:
    """Which columns are out of sample: a weight fitted on validation flatters the validation
    columns, and a model trained on the fit split flatters its own weight."""
    if mix["fitted_on"].startswith("the val split"):
        chosen = (
            " (and ftmof's checkpoint chosen there)" if "ftmof" in mix.get("models", {}) else ""
        )
        return (
            f"The validation columns are in-sample: the weights were fitted there{chosen}; "
            "only test is clean."
        )
    return (
        "Validation and test are out of sample for the weights; the prior's one factor is "
        "fitted on the training structures it was counted from."
    )


def scan_range_lines() -> list[str]:
    """The shipped pxrd models' top-1/top-5 against the measured range of the scan, from the
    table `crystalx pxrd` answers short scans by (crystalx_core/pxrd/coverage.py)."""
    from crystalx_core.pxrd.coverage import COMMONEST, CUTS, cuts_from
    from crystalx_core.pxrd.simulate import GRID

    lines = [
        "",
        "### Short scans",
        "",
        "Top-1 / top-5 of each shipped model on held-out patterns simulated as in training and cut "
        "to 5–U° 2θ (`python benchmarks/pxrd_coverage.py`, docs/benchmarks.md session 23); "
        "`crystalx pxrd` answers a scan under 30 % of the grid only where its cut beat always "
        "answering the commonest groups, with a note giving these figures "
        "(`crystalx_core/pxrd/coverage.py`).",
        "",
        "| model | "
        + " | ".join(f"5–{cut.upper:g}°" for cut in cuts_from("mof", GRID[0]))
        + " | commonest |",
        "|---|" + "---|" * (len(cuts_from("mof", GRID[0])) + 1),
    ]
    for kind in CUTS:
        cuts = (*cuts_from(kind, GRID[0]), COMMONEST[kind])
        cells = [f"{100 * c.top1:.1f} / {100 * c.top5:.1f} %" for c in cuts]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return lines


def corpus_mix_lines(mixes: list[dict]) -> list[str]:
    """What else was weighed against the majority answer on the corpus
    (crystalx_core.training.pxrd.mix), one table per fit: none of it shipped."""
    lines = []
    for mix in mixes:
        models = ", ".join(f"{k} = `{v}`" for k, v in mix.get("models", {}).items())
        lines += [
            "",
            f"Weighed on {mix['data']}, weights fitted by likelihood on {mix['fitted_on']} "
            f"(`python -m crystalx_core.training.pxrd.mix`, README Training): {models}; the "
            "corpus prior; lattice evidence on "
            f"{', '.join(mix.get('lattices', [])) or 'no lattices'}, moving the "
            f"{' and '.join(mix.get('moved_systems', []))} groups. Always the commonest group: "
            f"validation {_pct(mix['majority_top1']['val'])}, test "
            f"{_pct(mix['majority_top1']['test'])}; none of these is shipped. "
            + _mix_sample_note(mix)
            + " Patterns right in brackets.",
            "",
            "| weighed | val top-1 | val top-2 | val crystal system | val NLL | test top-1 | "
            "test top-2 | test crystal system | test NLL |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, row in mix["combinations"].items():
            cells = []
            for split in ("val", "test"):
                r = row[split]
                n = r["patterns_right"]
                cells += [
                    f"{_pct(r['top1'])} ({n['top1']})",
                    f"{_pct(r['top2'])} ({n['top2']})",
                    f"{_pct(r['crystal_system'])} ({n['crystal_system']})",
                    f"{r['nll']:.3f}",
                ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def tmqm_lines(tmqm: dict | None) -> list[str]:
    """The tmQM crystals the heavy model was fine-tuned on before its last (corpus) run."""
    if not tmqm:
        return []
    return [
        "",
        f"Before that last run the heavy model was fine-tuned on tmQM complexes {tmqm['complexes']}"
        " (transition-metal complexes from the CSD, MIT licence, `shared/data/tmqm`) packed into "
        "crystals by `crystalx_core.training.atoms.tmqm` (P2(1)/c, P-1, C2/c, P2(1)2(1)2(1) at "
        "contact density, counter-ions, SHELXL riding X-H), "
        f"{tmqm['maps_per_complex']} simulated maps each ({tmqm['training_examples']} training "
        f"examples), together with the corpus training split ({tmqm['run']})"
        + (f"; {tmqm['note']}." if tmqm.get("note") else "."),
    ]


def metal_lines(metrics: dict) -> list[str]:
    """The metal-complex subset (structures with a d-block metal), where the corpus is thin."""
    heavy = [r["metal_complexes"] for r in metrics.get("heavy", []) if "metal_complexes" in r]
    if not heavy or not heavy[0]["atoms"]:
        return []
    h = metrics.get("hydrogen", {}).get("metal_complexes") or {}
    parts = "; ".join(
        f"{_pct(m['accuracy'])} of {m['atoms']} atoms, {_pct(m['structures_fully_correct'])} "
        f"of {m['structures']} simulations fully right at {r['noise_A']} Å"
        for m, r in zip(heavy, metrics["heavy"])
    )
    line = f"Metal complexes (test structures with a d-block metal), elements: {parts}"
    if h.get("atoms"):
        line += (
            f". H counts: {_pct(h['accuracy'])} of {h['atoms']} atoms, "
            f"{_pct(h['structures_fully_correct'])} of {h['structures']} structures fully right"
        )
    return ["", line + "."]


def real_benchmark_lines(benchmarks_text: str | None) -> list[str]:
    """The models on real published structures with measured reflections, the table
    benchmarks/model_benchmark.py writes into docs/benchmarks.md, carried over as it stands, so
    the card shows what issue 25 measures on real data beside the simulated test split."""
    start, end = "<!-- model_benchmark start -->", "<!-- model_benchmark end -->"
    if not benchmarks_text or start not in benchmarks_text:
        return []
    section = benchmarks_text.split(start, 1)[1].split(end, 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    return [
        "",
        "## Real structures (published positions, Fobs-map heights)",
        "",
        "`python benchmarks/model_benchmark.py ../shared/data/benchmark` (its section of "
        "docs/benchmarks.md, copied here): elements of the published non-H positions from peaks "
        "of an Fobs map phased by the published model (a disordered model's sites keep PART and "
        "occupancy); H counts of the published non-H atoms against the published H. Baseline = "
        "the rules.",
        "",
        *table,
    ]


def card(
    dataset: dict,
    runs: dict[str, list],
    metrics: dict,
    sidecars: dict[str, dict],
    pxrd_metrics: dict | None = None,
    calibration: dict | None = None,
    pxrd_mof_metrics: dict | None = None,
    pxrd_corpus_metrics: dict | None = None,
    pxrd_mof_earlier: dict | None = None,
    pxrd_mof_diagnosis: dict | None = None,
    corpus_mix: list[dict] | None = None,
    benchmarks_text: str | None = None,
) -> str:
    lines = [
        "# CrystalX models: card",
        "",
        "Written by `benchmarks/model_card.py` from measured files; do not edit by hand.",
        "",
        "## Models",
        "",
    ]
    for name, sidecar in sidecars.items():
        if name.startswith("pxrd"):
            continue  # its own section below
        c, meta = sidecar["config"], sidecar["metadata"]
        history = runs.get(name, [])
        lines.append(
            f"- `{name}.onnx`: torchmd-net `TorchMD_ET` {c['hidden_channels']} channels × "
            f"{c['num_layers']} layers, {c['num_rbf']} expnorm RBF, cutoff {c['cutoff']} Å, "
            f"{c['num_heads']} heads; invariant per-atom head over {len(c['classes'])} classes"
            f"{RULE_TOKENS if c.get('rule_tokens') else ''}"
            f"{HEIGHT_TOKENS if c.get('height_tokens') else ''}. "
            f"Trained {_epochs(history)} in {_hours(history)} "
            f"(torch {meta['torch']}, torchmd-net {meta['torchmd-net']}); exported "
            f"{meta['exported']} "
            f"({meta['exporter']}, opset {meta['opset']}).{_ensemble(sidecar)}"
        )
    lines += [
        "",
        "## Training data",
        "",
        "Real published structures from `shared/data/corpus` (COD and others; see its README for "
        "provenance and licences). A disordered or partially occupied structure enters as the "
        "ordered "
        "model of its major part (`--disorder major`: the alternative of highest occupancy, atoms "
        "at "
        "half occupancy or less left out), or is skipped when that leaves under half of its non-H "
        "sites or overlapping atoms; the test and validation metrics below use ordered structures "
        "only. Split by structure (hash of the file name): 80 % train, 10 % val, 10 % test. "
        "Heavy-atom examples are peaks of a Fourier map of the true model (H included) with "
        "amplitude "
        "noise, 5–40° phase error and 0.75–1.0 Å resolution, labelled with the atom they stand for "
        "or "
        "'not an atom'; the initial guesses come from the baseline (height order, SFAC in UNIT "
        "proportion) or, for half the examples an epoch, are second-pass guesses (the truth with "
        "up to "
        "15 % of the peaks given another SFAC element or 'not an atom', as pass 1 hands pass 2). "
        "Hydrogen examples are the true non-H atoms with their elements and symmetry "
        "context within 3.2 Å; targets are H within 1.3 Å of any atom (TRAINING_H_REACH; the "
        "product reads a user's H with geometry.h_reach, longer on B, Si, P, S: "
        "benchmarks/h_reach_labels.py counts the labels that would change).",
        "",
        f"- structures used per split: {json.dumps(dataset.get('structures', {}))}",
        f"- heavy-model examples per split: {json.dumps(dataset.get('heavy_samples', {}))}",
        f"- skipped: {json.dumps(dataset.get('skipped', {}))}",
        f"- sources: {json.dumps(dataset.get('sources', {}))}",
        f"- disordered structures used as their major part, per split: "
        f"{json.dumps(dataset.get('major_parts', 'not counted by this build'))}",
        "- atoms per element in train (H included): "
        f"{json.dumps(dataset.get('elements_in_train', {}))}",
        "",
        "These are the counts of the heavy model's last training set. The hydrogen model was "
        "trained "
        "on an earlier build without disordered structures "
        "(`checkpoints/hydrogen/dataset_summary.json`; "
        "the README gives every command).",
        *tmqm_lines(dataset.get("tmqm")),
        "",
        "## Metrics on the held-out test structures",
        "",
        "Measured with onnxruntime by `python -m crystalx_core.training.atoms.evaluate`: the whole "
        "assignment as "
        "`crystalx assign` runs it (two heavy passes, each choosing the most likely elements that "
        "fit "
        "SFAC/UNIT, see `crystalx_core/assign/composition.py`; a peak at least 0.3 of the map's "
        "strongest "
        "is never 'not an atom'). Baseline = the rules (`--method baseline`). Heavy: "
        f"{_simulations(metrics)} simulated solutions per structure, pooled (atoms counted over "
        "all; "
        "structures fully correct counted per simulation).",
        "",
        "| model | extra noise | atoms | accuracy | baseline | structures fully correct | baseline "
        "|",
        "|---|---|---|---|---|---|---|",
    ]
    for row in metrics.get("heavy", []):
        lines.append(
            f"| heavy | {row['noise_A']} Å | {row['atoms']} | {_pct(row['accuracy'])} | "
            f"{_pct(row['baseline_accuracy'])} | {_pct(row['structures_fully_correct'])} | "
            f"{_pct(row['baseline_structures_fully_correct'])} |"
        )
    h = metrics.get("hydrogen")
    if h:
        lines.append(
            f"| hydrogen | 0 | {h['atoms']} | {_pct(h['accuracy'])} | "
            f"{_pct(h['baseline_accuracy'])} | "
            f"{_pct(h['structures_fully_correct'])} | "
            f"{_pct(h['baseline_structures_fully_correct'])} |"
        )
    lines += metal_lines(metrics)
    spurious = [row for row in metrics.get("heavy", []) if "spurious_peaks" in row]
    if spurious:
        lines += [
            "",
            "Accuracy counts the peaks that stand for atoms. Of the peaks that stand for none "
            "(noise, "
            "ripples, split peaks), the share given an element all the same, model (baseline): "
            + "; ".join(
                f"{_pct(row['spurious_given_an_element'])} "
                f"({_pct(row['baseline_spurious_given_an_element'])}) "
                f"of {row['spurious_peaks']} at {row['noise_A']} Å extra noise"
                for row in spurious
            )
            + ". Most are in heavy-metal structures whose maps miss light atoms, "
            "where the formula asks for "
            "atoms among the remaining peaks; with reflections, `crystalx solve` and `assign "
            "--hkl` drop "
            "those that refine to no atom (Uiso over 0.25 Å²).",
        ]
    if metrics.get("heavy"):
        lines += [
            "",
            "Per element (no extra noise):",
            "",
            "| element | atoms | precision | recall | AUC |",
            "|---|---|---|---|---|",
        ]
        for element, row in metrics["heavy"][0]["per_element"].items():
            auc = row.get("auc")
            lines.append(
                f"| {element} | {row['atoms']} | {_pct(row['precision'])} | {_pct(row['recall'])} "
                "| "
                f"{'-' if auc is None else f'{auc:.4f}'} |"
            )
    lines += real_benchmark_lines(benchmarks_text)
    lines += calibration_section(calibration)
    lines += pxrd_section(pxrd_metrics, sidecars.get("pxrd_space_group"), runs)
    lines += pxrd_mof_section(
        pxrd_mof_metrics,
        pxrd_corpus_metrics,
        sidecars.get("pxrd_space_group_mof"),
        pxrd_mof_earlier,
        pxrd_mof_diagnosis,
    )
    lines += scan_range_lines()
    lines += corpus_mix_lines(corpus_mix or [])
    lines += [
        "",
        "## Limits",
        "",
        "- Trained on a few hundred structures only; elements rare in the corpus are barely seen "
        "(see the counts above). Probabilities are the softmax restricted to the SFAC elements; "
        "the "
        "element chosen is the formula-aware one, which can differ from the most probable where "
        "the "
        "model is unsure (reports list the top five probabilities beside the chosen element; "
        "calibrated, see "
        "Calibration). H counts "
        "are fitted to UNIT's H total the same way, among counts the model gives at least 1 % and "
        "never on a "
        "metal; a metal carries no riding H (the model's count on it becomes a note).",
        "- Disordered structures are learnt from their major part only; peaks of a minor part "
        "are not what the heavy model was trained on, and neither metric covers them. A model that "
        "already has its alternatives as PART 1/2 atoms is read one alternative at a time (no "
        "graph "
        "edge joins two PARTs) and its sites count against UNIT by occupancy, so it keeps its "
        "elements (FC_p21c as published: every one; before, the Ga+ and a C swapped).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=MODELS / "dataset_summary.json")
    parser.add_argument("--metrics", type=Path, default=MODELS / "metrics.json")
    parser.add_argument("--pxrd-metrics", type=Path, default=MODELS / "pxrd_metrics.json")
    parser.add_argument("--calibration", type=Path, default=MODELS / "calibration.json")
    parser.add_argument("--output", type=Path, default=MODELS / "MODEL_CARD.md")
    args = parser.parse_args(argv)
    sidecars = {
        p.stem: json.loads(p.read_text())
        for p in sorted(MODELS.glob("*.json"))
        if (MODELS / f"{p.stem}.onnx").exists()
    }
    runs = {
        name: json.loads((MODELS / f"{name}_history.json").read_text())
        for name in sidecars
        if (MODELS / f"{name}_history.json").exists()
    }
    pxrd = json.loads(args.pxrd_metrics.read_text()) if args.pxrd_metrics.exists() else None
    calibration = json.loads(args.calibration.read_text()) if args.calibration.exists() else None
    extra = [
        json.loads(p.read_text()) if p.exists() else None
        for p in (
            MODELS / "pxrd_mof_metrics.json",
            MODELS / "pxrd_corpus_metrics.json",
            MODELS / "pxrd_mof_metrics_30.json",  # the runs on the first 30 % (CSN, ablation)
            MODELS / "pxrd_mof_diagnosis.json",  # the shipped MOF model on validation
        )
    ]
    mixes = [  # what was weighed against the majority answer on the corpus (not shipped)
        json.loads(p.read_text()) for p in sorted(MODELS.glob("pxrd_corpus_mix*.json"))
    ]
    text = card(
        json.loads(args.dataset.read_text()),
        runs,
        json.loads(args.metrics.read_text()),
        sidecars,
        pxrd,
        calibration,
        *extra,
        corpus_mix=mixes,
        benchmarks_text=BENCHMARKS.read_text() if BENCHMARKS.exists() else None,
    )
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
