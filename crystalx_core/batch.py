"""Re-assign every structure of a folder: one process per core, models loaded once per worker,
resumable, a failure recorded and the batch going on.

    crystalx batch DIR|GLOB [--workers N] [--out DIR] [--scheduler ADDRESS]
"""
from __future__ import annotations

import glob
import json
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable

from crystalx_core.errors import CrystalXError, InputError

MODEL_SUFFIXES = (".res", ".ins", ".cif")
OUTPUT_MARK = "_crystalx"
LOW_CONFIDENCE = 0.9


@dataclass(frozen=True)
class BatchItem:
    model: Path
    hkl: Path | None = None

    @property
    def name(self) -> str:
        return self.model.stem


@dataclass(frozen=True)
class BatchOptions:
    method: str = "auto"
    hydrogens: str = "auto"
    cycles: int = 10
    out: Path | None = None  # folder for the per-structure outputs (default: next to each input)
    refine: bool = True  # with a same-named .hkl beside the model


def find_inputs(target: str) -> list[BatchItem]:
    """Structures in a folder (or matching a glob): one per name, .res before .ins before .cif,
    our own outputs left out, a same-named .hkl attached."""
    path = Path(target)
    candidates = sorted(path.iterdir()) if path.is_dir() else sorted(Path(p) for p in glob.glob(target))
    if not candidates and not path.is_dir():
        raise InputError("no such folder, and no file matches this pattern", target)
    chosen: dict[Path, Path] = {}
    for candidate in candidates:
        suffix = candidate.suffix.lower()
        if suffix not in MODEL_SUFFIXES or OUTPUT_MARK in candidate.stem or not candidate.is_file():
            continue
        key = candidate.with_suffix("")
        if key not in chosen or MODEL_SUFFIXES.index(suffix) < MODEL_SUFFIXES.index(chosen[key].suffix.lower()):
            chosen[key] = candidate
    items = []
    for key, model in sorted(chosen.items()):
        hkl = next((h for h in (key.with_suffix(".hkl"), key.with_suffix(".HKL")) if h.is_file()), None)
        items.append(BatchItem(model, hkl))
    return items


def output_prefix(item: BatchItem, options: BatchOptions) -> Path:
    folder = options.out or item.model.parent
    return folder / f"{item.name}{OUTPUT_MARK}"


def finished_row(item: BatchItem, options: BatchOptions) -> dict | None:
    """The row of an earlier run when its outputs are newer than the inputs (resume)."""
    prefix = output_prefix(item, options)
    report = prefix.with_name(prefix.name + ".json")
    if not report.exists():
        return None
    inputs = [item.model] + ([item.hkl] if item.hkl else [])
    if any(p.stat().st_mtime > report.stat().st_mtime for p in inputs):
        return None
    try:
        return row_from_report(item, json.loads(report.read_text()), seconds=0.0, resumed=True)
    except (ValueError, KeyError):
        return None


def row_from_report(item: BatchItem, report: dict, seconds: float, resumed: bool = False) -> dict:
    atoms = report["atoms"]
    confidences = [a["element_scores"].get(a["element"], 0.0) for a in atoms]
    refinement = report.get("refinement") or {}
    return {
        "name": item.name, "model": str(item.model), "hkl": str(item.hkl or ""),
        "status": "resumed" if resumed else "ok", "error": "", "method": report["method"],
        "atoms": len(atoms), "dropped_peaks": len(report.get("dropped_peaks", [])),
        "min_confidence": min(confidences, default=1.0),
        "mean_confidence": sum(confidences) / len(confidences) if confidences else 1.0,
        "flagged": [{"label": a["new_label"], "element": a["element"], "p": p,
                     "alternatives": a["element_scores"]} for a, p in zip(atoms, confidences) if p < LOW_CONFIDENCE],
        "elements": _count(a["element"] for a in atoms), "confidences": confidences,
        "r1": refinement.get("r1"), "diff_peak": (refinement.get("difference_map") or {}).get("peak"),
        "seconds": round(seconds, 3),
    }


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def run_one(item: BatchItem, options: BatchOptions) -> dict:
    """Assign (and refine, with reflections) one structure and write its outputs; a failure
    becomes a row, never an exception, so one bad file cannot stop the batch."""
    start = time.perf_counter()
    try:
        from crystalx_core.io import load_structure
        from crystalx_core.io.hkl import read_hkl
        from crystalx_core.io.shelx import read_shelx
        from crystalx_core.outputs import write_job_outputs
        from crystalx_core.pipeline import assign_job

        shelx = read_shelx(item.model) if item.model.suffix.lower() in (".res", ".ins") else None
        structure = shelx.to_structure() if shelx else load_structure(item.model)
        hklf = shelx.reflection_format() if shelx and item.hkl and options.refine else None
        reflections = read_hkl(item.hkl, hklf) if item.hkl and options.refine else None
        result = assign_job(structure, reflections, options.method, options.cycles, hydrogens=options.hydrogens)
        inputs = [item.model] + ([item.hkl] if item.hkl else [])
        _, report, _ = write_job_outputs(result, item.model, inputs, shelx, output_prefix(item, options))
        return row_from_report(item, report, time.perf_counter() - start)
    except CrystalXError as error:
        message = error.one_line()
    except Exception as error:  # noqa: BLE001  (recorded with its traceback's last line; the batch goes on)
        message = f"internal error: {type(error).__name__}: {error} ({traceback.format_exc().splitlines()[-3].strip()})"
    return {"name": item.name, "model": str(item.model), "hkl": str(item.hkl or ""), "status": "failed",
            "error": message, "seconds": round(time.perf_counter() - start, 3)}


def _warm_worker() -> None:
    """Load the ONNX sessions once per worker, before the first structure arrives; one
    onnxruntime thread per worker process (the pool already uses every core)."""
    os.environ.setdefault("CRYSTALX_THREADS", "1")
    try:
        from crystalx_core.assign import resolve_method
        if resolve_method("auto") == "model":
            from crystalx_core.assign.model import MODEL_DIR, load_model
            load_model(MODEL_DIR, "heavy")
            load_model(MODEL_DIR, "hydrogen")
    except CrystalXError:
        pass  # the structure that needs them reports it


def run_batch(items: list[BatchItem], options: BatchOptions, workers: int | None = None,
              scheduler: str | None = None, progress: Callable[[dict], None] = lambda row: None) -> list[dict]:
    """Rows in input order; finished entries from an earlier run are resumed, not redone."""
    rows: dict[int, dict] = {}
    pending = []
    for k, item in enumerate(items):
        done = finished_row(item, options)
        if done is not None:
            rows[k] = done
            progress(done)
        else:
            pending.append(k)
    if scheduler:
        from crystalx_core.batch_dask import run_on_cluster
        for k, row in run_on_cluster(scheduler, [items[k] for k in pending], options, pending):
            rows[k] = row
            progress(row)
    elif pending:
        workers = max(1, min(workers or os.cpu_count() or 1, len(pending)))
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_warm_worker) as pool:
            futures = {pool.submit(run_one, items[k], options): k for k in pending}
            for future in as_completed(futures):
                rows[futures[future]] = future.result()
                progress(rows[futures[future]])
    return [rows[k] for k in range(len(items))]
