"""An audit for people (text, HTML) and programs (JSON)."""

from __future__ import annotations

import html

from crystalx_core import __version__
from crystalx_core.audit import AuditResult


def audit_json(result: AuditResult) -> dict:
    return {
        "program": f"crystalx {__version__}",
        "source": result.source,
        "method": result.method,
        "peak_heights_from": result.peak_heights_from,
        "atoms": [
            {
                "label": a.label,
                "published": a.published,
                "proposed": a.proposed,
                "probabilities": {k: round(v, 4) for k, v in a.probabilities.items()},
                "published_h": a.published_h,
                "proposed_h": a.proposed_h,
                "h_probabilities": {str(k): round(v, 4) for k, v in a.h_probabilities.items()},
                "element_flag": a.element_flag,
                "hydrogen_flag": a.hydrogen_flag,
                "r1_if_changed": None if a.r1_if_changed is None else round(a.r1_if_changed, 5),
                "verdict": a.verdict,
            }
            for a in result.atoms
        ],
        "refinement": {
            name: {
                "r1": round(r.r1, 5),
                "wr2": round(r.wr2, 5),
                "goof": round(r.goof, 4),
                "n_reflections": r.n_reflections,
                "n_parameters": r.n_parameters,
            }
            for name, r in result.refinements.items()
        },
        "notes": result.notes,
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
    }


def audit_lines(result: AuditResult) -> list[str]:
    lines = [
        f"audit of {result.source} by method '{result.method}' (peak heights: "
        f"{result.peak_heights_from})"
    ]
    flagged = result.flagged
    if not flagged:
        compared = (
            "elements; the published model has no H"
            if all(a.published_h is None for a in result.atoms)
            else "elements and H counts"
        )
        lines.append(f"all {len(result.atoms)} non-H atoms agree with the model ({compared})")
    for a in flagged:
        if a.element_flag:
            p = a.probabilities.get(a.proposed, 0.0)
            q = a.probabilities.get(a.published, 0.0)
            test = (
                ""
                if a.r1_if_changed is None
                else f"; R1 {result.r1_published:.4f} → {a.r1_if_changed:.4f} if changed: "
                f"{a.verdict}"
            )
            lines.append(
                f"  {a.label}: published {a.published} (p {q:.2f}), model says {a.proposed} (p "
                f"{p:.2f}){test}"
            )
        if a.hydrogen_flag:
            p = a.h_probabilities.get(a.proposed_h, 0.0)
            lines.append(
                f"  {a.label}: published with {a.published_h} H, model says {a.proposed_h} (p "
                f"{p:.2f})"
            )
    if result.refinements:
        lines.append("refined under identical settings:      R1       wR2      GooF")
        for name, r in result.refinements.items():
            lines.append(f"  {name:<36} {r.r1:.4f}   {r.wr2:.4f}   {r.goof:.3f}")
    lines += [f"note: {n}" for n in result.notes]
    return lines


def audit_html(result: AuditResult) -> str:
    e = html.escape
    rows = []
    for a in result.atoms:
        flag = a.element_flag or a.hydrogen_flag
        top = ", ".join(f"{k} {v:.2f}" for k, v in a.probabilities.items())
        published_h = "–" if a.published_h is None else a.published_h  # no H in the model
        rows.append(
            f"<tr{' class=flag' if flag else ''}><td>{e(a.label)}</td><td>{e(a.published)}</td>"
            f"<td>{e(a.proposed)}</td><td>{e(top)}</td><td>{published_h}</td><td>{a.proposed_h}</td>"
            f"<td>{'' if a.r1_if_changed is None else f'{a.r1_if_changed:.4f}'}</td>"
            f"<td>{e(a.verdict)}</td></tr>"
        )
    refinement = "".join(
        f"<tr><td>{e(n)}</td><td>{r.r1:.4f}</td><td>{r.wr2:.4f}</td><td>{r.goof:.3f}</td></tr>"
        for n, r in result.refinements.items()
    )
    return "\n".join(
        [
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>CrystalX audit</title>",
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px}.flag{background:#fdd}</style>"
            "</head><body>",
            f"<h1>CrystalX audit: {e(result.source)}</h1>",
            f"<p>Method '{e(result.method)}'; peak heights: {e(result.peak_heights_from)}; "
            f"{len(result.flagged)} of {len(result.atoms)} atoms flagged.</p>",
            "<table><tr><th>atom</th><th>published</th><th>model</th><th>probabilities</th><th>H "
            "published</th>"
            "<th>H model</th><th>R1 if changed</th><th>verdict</th></tr>",
            *rows,
            "</table>",
            *(
                [
                    "<h2>Refinement, identical "
                    "settings</h2><table><tr><th>model</th><th>R1</th><th>wR2</th><th>GooF</th></tr>",
                    refinement,
                    "</table>",
                ]
                if refinement
                else []
            ),
            *[f"<p>Note: {e(n)}</p>" for n in result.notes],
            "</body></html>",
            "",
        ]
    )
