"""Panel rows from an assignment file, whichever program wrote it: the plugin's
crystalx_last.json (service answer) or a job's x_crystalx.json. No Qt here."""
from __future__ import annotations

import json
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

    def low(self, threshold: float) -> bool:
        """The chosen element or the chosen H count is less probable than `threshold`."""
        return self.confidence < threshold or self.h_confidence < threshold


def read_rows(path: Path) -> tuple[str, list[Row]]:
    """(title, rows) of an assignment file; a clear error for anything else."""
    data = read_input_bytes(str(path), "CrystalX assignment")
    try:
        data = json.loads(data.decode("utf-8"))
    except ValueError as error:
        raise InputError(f"cannot read an assignment: {error}", str(path)) from None
    if isinstance(data, dict) and isinstance(data.get("result"), dict):  # plugin / service answer
        title = str(data.get("structure") or path)
        heights = data.get("evidence") or {}
        sites = [(s["label"], s["new_label"], s["element"], [tuple(p) for p in s["probabilities"]],
                  s["h_count"], s["h_probabilities"], s["hfix"], s.get("note", ""),
                  _peak_evidence(heights.get(s["label"], {}).get("peak_height")))
                 for s in data["result"].get("sites", [])]
    elif isinstance(data, dict) and isinstance(data.get("atoms"), list):  # crystalx assign/solve --json
        title = str(data.get("source") or path)
        residual = ((data.get("refinement") or {}).get("difference_map") or {})
        sites = [(a["label"], a["new_label"], a["element"], list(a["element_scores"].items()),
                  a["h_count"], a["h_scores"], a["hfix"], a.get("note", ""),
                  f"largest difference peak {residual['peak']:.2f} e/Å³ is next to it"
                  if residual.get("peak_near") == a["new_label"] else "") for a in data["atoms"]]
    else:
        raise InputError("not a CrystalX assignment (no 'result' or 'atoms')", str(path))
    rows = []
    for label, new_label, element, top, h_count, h_scores, hfix, note, evidence in sites:
        top = sorted(((str(e), float(p)) for e, p in top), key=lambda kv: -kv[1])
        confidence = dict(top).get(element, top[0][1] if top else 1.0)
        rows.append(Row(label, new_label, element, confidence, [kv for kv in top if kv[0] != element][:2],
                        int(h_count), float(h_scores.get(str(h_count), 1.0)), int(hfix or 0), note, evidence))
    return title, rows


def _peak_evidence(height) -> str:
    return "" if height is None else f"Q-peak height {float(height):.2f} e/Å³"


def histogram(rows: list[Row], bins: int = 10) -> list[int]:
    """Atoms per confidence bin over [0, 1]."""
    counts = [0] * bins
    for row in rows:
        counts[min(bins - 1, max(0, int(row.confidence * bins)))] += 1
    return counts
