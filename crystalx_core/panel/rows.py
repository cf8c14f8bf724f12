"""Panel rows from an assignment file, whichever program wrote it: the plugin's
crystalx_last_<pid>.json (an Olex2 window's service answer) or a job's x_crystalx.json.
No Qt here."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from crystalx_core.errors import InputError
from crystalx_core.io.files import read_input_bytes


@dataclass
class Row:
    label: str
    new_label: str
    element: str
    confidence: float  # probability (or score) of the chosen element
    alternatives: list[tuple[str, float]]  # the next two
    h_count: int
    h_confidence: float
    hfix: int
    note: str = ""
    evidence: str = ""  # what the data say about the site, where the file has it
    by_data: str = ""  # the reflections' count and posterior: 'refined as 5.1 e; B 0.96, C 0.04'
    decision: str = ""  # the data's decision with its reason
    changed_from: str = ""  # the model's element where the data changed it
    h_kept: bool = False  # the atom keeps the H it has; hfix is the code they ride under

    def hfix_text(self) -> str:
        """The HFIX cell: '-' for none, the code, '33 kept' / 'kept' for an atom that keeps
        its H (the service's h_kept: the code in Olex2, none for H refined freely)."""
        if self.h_kept:
            return f"{self.hfix} kept" if self.hfix else "kept"
        return str(self.hfix or "-")

    def low(self, threshold: float) -> bool:
        """The chosen element or the chosen H count is less probable than `threshold`."""
        return self.confidence < threshold or self.h_confidence < threshold


@dataclass
class PanelFile:
    title: str
    rows: list[Row]
    job_lines: list[str]  # the job's fit, the peaks it left out and its notes, one per line
    digest: str  # of the file's bytes: the panel refills only for new content


def read_assignment(path: Path) -> PanelFile:
    """The rows and the job's own lines of an assignment file; a clear error for anything else."""
    data = read_input_bytes(str(path), "CrystalX assignment")
    digest = hashlib.sha256(data).hexdigest()
    try:
        data = json.loads(data.decode("utf-8"))
    except ValueError as error:
        raise InputError(f"cannot read an assignment: {error}", str(path)) from None
    if isinstance(data, dict) and isinstance(data.get("result"), dict):  # plugin / service answer
        title = str(data.get("structure") or path)
        heights = data.get("evidence") or {}
        result = data["result"]
        sites = result.get("sites") or []

        def job_lines() -> list[str]:
            return _answer_lines(result)

        def evidence(site: dict) -> str:
            return _peak_evidence(heights.get(site["label"], {}).get("peak_height"))

    elif isinstance(data, dict) and isinstance(data.get("atoms"), list):  # assign/solve --json
        title = str(data.get("source") or path)
        refinement = data.get("refinement") or {}
        residual = refinement.get("difference_map") if isinstance(refinement, dict) else None
        residual = residual if isinstance(residual, dict) else {}
        sites = data["atoms"]

        def job_lines() -> list[str]:
            return _job_lines(data, refinement, residual)

        # maps.Residual.peak_near: '0.44 Å from O7', the atom of the final model
        near = re.fullmatch(r"(\S+) Å from (\S+)", str(residual.get("peak_near") or ""))

        def evidence(site: dict) -> str:
            if not near or near.group(2) != site["new_label"]:
                return ""
            return f"largest difference peak {residual['peak']:.2f} e/Å³, {near.group(1)} Å away"

    else:
        raise InputError("not a CrystalX assignment (no 'result' or 'atoms')", str(path))
    rows = []
    for number, site in enumerate(sites, 1):
        try:
            rows.append(_row(site, evidence(site)))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # another JSON with an 'atoms' list (an audit's report), or a site cut short
            what = f"no {error}" if isinstance(error, KeyError) else str(error)
            raise InputError(
                f"not a CrystalX assignment: site {number} ({_label(site)}): {what}", str(path)
            ) from None
    try:
        lines = job_lines()
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # another version's shape
        raise InputError(
            f"not a CrystalX assignment: its job figures: {error}", str(path)
        ) from None
    return PanelFile(title, rows, lines, digest)


def _fit(r1, wr2, reflections, parameters) -> str:
    return f"R1 {r1:.4f}, wR2 {wr2:.4f} ({reflections} reflections, {parameters} parameters)"


def _answer_lines(result: dict) -> list[str]:
    """The service answer's fit (with reflections), peaks left out and job notes."""
    lines = []
    data = result.get("reflections")
    if isinstance(data, dict) and "r1" in data:
        lines.append(
            _fit(data["r1"], data["wr2"], data.get("reflections"), data.get("parameters"))
            + f" from {data.get('path')}"
        )
    if result.get("spurious"):
        lines.append("left out as not an atom: " + ", ".join(map(str, result["spurious"])))
    return lines + [str(note) for note in result.get("job_notes") or []]


def _job_lines(data: dict, refinement: dict, residual: dict) -> list[str]:
    """A job JSON's fit, difference map, failure, peaks left out and notes."""
    lines = []
    if "r1" in refinement:
        lines.append(
            _fit(
                refinement["r1"],
                refinement["wr2"],
                refinement.get("n_reflections"),
                refinement.get("n_parameters"),
            )
            + (f", GooF {refinement['goof']:.3f}" if refinement.get("goof") is not None else "")
        )
    if residual:
        near = f" ({residual['peak_near']})" if residual.get("peak_near") else ""
        lines.append(
            f"difference map: largest peak {residual['peak']:.2f} e/Å³{near}, "
            f"deepest hole {residual['hole']:.2f} e/Å³"
        )
    if data.get("failure"):
        lines.append(f"failed: {data['failure']}")
    if data.get("dropped_peaks"):
        lines.append("left out as not an atom: " + ", ".join(map(str, data["dropped_peaks"])))
    return lines + [str(note) for note in data.get("notes") or []]


def _label(site) -> str:
    return str(site.get("label", "no label")) if isinstance(site, dict) else repr(site)[:40]


def _row(site: dict, evidence: str) -> Row:
    """One site's row; a value the panel cannot show (a probability NaN or infinite) is a
    ValueError naming it."""
    element, h_count = site["element"], site["h_count"]
    # SiteAssignment.to_dict's shape; job files of schema 1 still on disk have scores by element
    top = site["probabilities"] if "probabilities" in site else list(site["element_scores"].items())
    h_scores = site["h_probabilities"] if "h_probabilities" in site else site["h_scores"]
    top = sorted(((str(e), float(p)) for e, p in top), key=lambda kv: -kv[1])
    confidence = dict(top).get(element, top[0][1] if top else 1.0)
    h_confidence = float(h_scores.get(str(h_count), 1.0))
    if not all(map(math.isfinite, [p for _, p in top] + [h_confidence])):
        raise ValueError("a probability that is not a number (NaN or infinite)")
    return Row(
        site["label"],
        site["new_label"],
        element,
        confidence,
        [kv for kv in top if kv[0] != element][:2],
        int(h_count),
        h_confidence,
        int(site["hfix"] or 0),
        site.get("note", ""),
        evidence,
        *_by_data(site.get("evidence")),
        h_kept=bool(site.get("h_kept")),
    )


def _by_data(weighed: dict | None) -> tuple[str, str, str]:
    """(summary, decision with its reason, the element the data changed or "") of a site's
    element_evidence.SiteEvidence; empty without reflections."""
    if not weighed:
        return "", "", ""
    before = weighed["before"] if weighed["before"] != weighed["decision"] else ""
    decision = (
        f"the data changed {before} → {weighed['decision']}: {weighed['reason']}"
        if before
        else f"the data: {weighed['reason']}"
    )
    return weighed.get("summary", ""), decision, before


def _peak_evidence(height) -> str:
    return "" if height is None else f"Q-peak height {float(height):.2f} e/Å³"


def histogram(rows: list[Row], bins: int = 10) -> list[int]:
    """Atoms per confidence bin over [0, 1]."""
    counts = [0] * bins
    for row in rows:
        counts[min(bins - 1, max(0, int(row.confidence * bins)))] += 1
    return counts
