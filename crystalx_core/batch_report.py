"""The summary of a batch: a CSV for spreadsheets and one self-contained HTML page with
inline SVG plots (confidence histogram, elements assigned) and the flagged atoms."""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from crystalx_core import __version__
from crystalx_core.batch import NOT_DONE
from crystalx_core.outputs import write_outputs

CSV_COLUMNS = [
    "name",
    "status",
    "method",
    "atoms",
    "dropped_peaks",
    "min_confidence",
    "mean_confidence",
    "flagged",
    "r1",
    "diff_peak",
    "seconds",
    "model",
    "hkl",
    "error",
    "note",  # why the file read was read where its name does not say (BatchItem.why), and a
    # finished job's: why its reflections were not refined (twin, neutron, Laue data, none
    # found) or that their σ were estimated (none given)
]


def summary_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                **row,
                "flagged": " ".join(f["label"] for f in row.get("flagged", [])),
                "min_confidence": _round(row.get("min_confidence")),
                "mean_confidence": _round(row.get("mean_confidence")),
                "r1": _round(row.get("r1")),
                "diff_peak": _round(row.get("diff_peak"), 2),
            }
        )
    return out.getvalue()


def _round(value, decimals: int = 4):
    return "" if value is None else f"{value:.{decimals}f}"


def _bars(values: list[tuple[str, float]], colour: str, width: int = 520, height: int = 160) -> str:
    """A bar chart as inline SVG: one bar per (label, value)."""
    if not values:
        return "<p>no data</p>"
    top = max(v for _, v in values) or 1
    step = width / len(values)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 30}'>"]
    for k, (label, value) in enumerate(values):
        h = (height - 15) * value / top
        x = k * step
        parts.append(
            f"<rect x='{x + 2:.1f}' y='{height - h:.1f}' width='{step - 4:.1f}' height='{h:.1f}' "
            f"fill='{colour}'><title>{html.escape(label)}: {value:g}</title></rect>"
        )
        parts.append(
            f"<text x='{x + step / 2:.1f}' y='{height + 14}' font-size='10' text-anchor='middle'>"
            f"{html.escape(label)}</text>"
        )
        parts.append(
            f"<text x='{x + step / 2:.1f}' y='{height - h - 3:.1f}' font-size='10' "
            f"text-anchor='middle'>{value:g}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def summary_html(rows: list[dict], title: str) -> str:
    done = [r for r in rows if r["status"] not in ("failed", NOT_DONE)]
    failed = [r for r in rows if r["status"] == "failed"]
    not_done = len(rows) - len(done) - len(failed)  # a stop signal or a full disk came first
    confidences = [c for r in done for c in r.get("confidences", [])]
    bins = [0] * 10
    for c in confidences:
        bins[min(9, int(c * 10))] += 1
    elements: dict[str, int] = {}
    for row in done:
        for element, n in row.get("elements", {}).items():
            elements[element] = elements.get(element, 0) + n
    flagged = [(r["name"], f) for r in done for f in r.get("flagged", [])]
    e = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}"
        "td,th{border:1px solid #ccc;padding:2px "
        "6px;text-align:left}.failed{background:#fdd}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>CrystalX {e(__version__)}: {len(rows)} structures, {len(done)} assigned, "
        f"{len(failed)} failed" + (f", {not_done} not done" if not_done else "") + "; "
        f"{len(confidences)} atoms, {len(flagged)} below 0.9 confidence.</p>",
        "<h2>Confidence of the assigned element</h2>",
        _bars([(f"{k / 10:.1f}", n) for k, n in enumerate(bins)], "#4a90d9"),
        "<h2>Elements assigned</h2>",
        _bars(sorted(elements.items(), key=lambda kv: -kv[1]), "#5cb85c"),
        "<h2>Flagged atoms</h2>",
        "<table><tr><th>structure</th><th>atom</th><th>element</th><th>p</th><th>alternatives</th></tr>",
    ]
    for name, f in flagged:
        alternatives = ", ".join(
            f"{el} {p:.2f}"
            for el, p in sorted(f["alternatives"].items(), key=lambda kv: -kv[1])
            if el != f["element"]
        )
        parts.append(
            f"<tr><td>{e(name)}</td><td>{e(f['label'])}</td><td>{e(f['element'])}</td>"
            f"<td>{f['p']:.3f}</td><td>{e(alternatives)}</td></tr>"
        )
    parts.append(
        "</table><h2>Structures</h2><table><tr><th>structure</th><th>status</th><th>atoms</th>"
        "<th>min p</th><th>R1</th><th>largest difference peak (e "
        "Å⁻³)</th><th>s</th><th>error</th><th>note</th></tr>"
    )
    for r in rows:
        parts.append(
            "<tr "
            f"class='{'' if r['status'] in ('ok', 'resumed') else 'failed'}'>"
            f"<td>{e(r['name'])}</td>"
            f"<td>{e(r['status'])}</td><td>{r.get('atoms', '')}</td>"
            f"<td>{_round(r.get('min_confidence'))}</td><td>{_round(r.get('r1'))}</td>"
            f"<td>{_round(r.get('diff_peak'), 2)}</td><td>{r['seconds']}</td>"
            f"<td>{e(r.get('error', ''))}</td><td>{e(r.get('note', ''))}</td></tr>"
        )
    parts.append("</table></body></html>\n")
    return "\n".join(parts)


def write_summary(rows: list[dict], folder: Path, title: str) -> tuple[dict[str, Path], list[Path]]:
    """The csv and html summary in `folder`, and the backups of an earlier batch's there (a
    resumed batch's summary replaces the last one's, which the user may have annotated)."""
    paths = {"csv": folder / "crystalx_batch.csv", "html": folder / "crystalx_batch.html"}
    backups = write_outputs(
        {paths["csv"]: summary_csv(rows), paths["html"]: summary_html(rows, title)}
    )
    return paths, backups
