"""`crystalx pxrd`: space groups from a measured pattern, and a single-crystal model checked
against it (simulated vs measured overlay, agreement figures, where the model's own space
group ranks among the predictions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crystalx_core.pxrd.simulate import GRID, GRID_STEP, simulate

TOP = 5
COARSE = 1.2  # a pattern's median step over this × GRID_STEP loses peaks between its points


def agreement(measured: np.ndarray, simulated: np.ndarray) -> dict:
    """Rwp-style residual after the best scale, and Pearson correlation, on the model grid."""
    scale = float(measured @ simulated / max(simulated @ simulated, 1e-12))
    residual = float(
        np.sqrt(np.sum((measured - scale * simulated) ** 2) / max(np.sum(measured**2), 1e-12))
    )
    correlation = (
        float(np.corrcoef(measured, simulated)[0, 1])
        if measured.std() > 0 and simulated.std() > 0
        else 0.0
    )
    return {"residual": residual, "correlation": correlation, "scale": scale}


def run_pxrd(
    pattern_path: Path | None,
    wavelength: float | None = None,
    cif: Path | None = None,
    kind: str = "molecular",
) -> dict:
    """The job's report; `measured`/`simulated` arrays (on GRID) ride along for the plot.
    `kind` picks the model: "molecular" crystals or "mof" (metal-organic frameworks). At least
    one of `pattern_path` and `cif` is given (the CLI refuses neither as a usage error);
    `wavelength` (Å) overrides the pattern file's own (None: the file's, else Cu Kα1)."""
    from crystalx_core.pxrd.patterns import cu_two_theta, on_model_grid, read_pattern
    from crystalx_core.pxrd import coverage, predict
    from crystalx_core.pxrd.predict import crystal_system_probabilities, top_space_groups

    model = predict.model_path(kind)
    report: dict = {
        "model": model.name,
        "kind": kind,
        "grid": [float(GRID[0]), float(GRID[-1]), len(GRID)],
    }
    measured = simulated = None
    predicts = model.is_file() or cif is None  # without a model, a CIF check is still worth doing
    if pattern_path is not None:
        pattern = read_pattern(pattern_path, wavelength)
        cu = cu_two_theta(pattern)
        start = float(np.nanmin(cu, initial=np.inf))  # all NaN: refused
        measured = on_model_grid(pattern, min_coverage=coverage.floor(kind, start))
        cost = coverage.note(kind, start, float(np.nanmax(cu)))
        if cost:  # answered below MIN_GRID_COVERAGE, or from a late start: what such a cut measured
            pattern.notes.append(cost)
        report["pattern"] = {
            "file": str(pattern_path),
            "format": pattern.format,
            "points": int(len(pattern.two_theta)),
            "two_theta": [float(pattern.two_theta[0]), float(pattern.two_theta[-1])],
            "wavelength": pattern.wavelength,
            "wavelength_from": pattern.wavelength_from,
        }
        if pattern.notes:
            report.setdefault("notes", []).extend(f"{pattern_path}: {n}" for n in pattern.notes)
        step = float(np.nanmedian(np.diff(cu_two_theta(pattern))))  # GRID_STEP is Cu Kα 2θ
        if step > COARSE * GRID_STEP:  # its answer changes from 0.15° on (codtools_4300013)
            unsure = "the space groups listed are" if predicts else "the agreement is"
            report.setdefault("notes", []).append(
                f"{pattern_path} is sampled every {step:.3g}° 2θ (Cu Kα), coarser than the "
                f"model's {GRID_STEP:g}° grid: narrow peaks fall between its points, so {unsure} "
                "less sure than for a finer scan"
            )
    if cif is not None:
        from crystalx_core.io import load
        from crystalx_core.pxrd.labels import symbol
        from crystalx_core.symmetry import space_group_from_operators

        structure = load(cif).structure
        simulated = simulate(structure).astype(np.float32)
        number = space_group_from_operators(structure.symops).type().number()
        report["model_structure"] = {
            "file": str(cif),
            "space_group": number,
            "symbol": symbol(number),
        }
    if measured is not None and simulated is not None:
        report["agreement"] = agreement(measured, simulated)
    if predicts:
        read = measured if measured is not None else simulated
        p = predict.probabilities(read, model)[0]
        report["predictions"] = [
            vars(g) for g in top_space_groups(read, TOP, model, probabilities=p)
        ]
        report["crystal_systems"] = crystal_system_probabilities(read, model, probabilities=p)
        report["predicted_from"] = (
            "measured pattern" if measured is not None else "pattern simulated from the CIF"
        )
        if cif is not None:
            number = report["model_structure"]["space_group"]
            report["model_structure"]["rank"] = int(np.sum(p > p[number - 1])) + 1
            report["model_structure"]["probability"] = float(p[number - 1])
    else:
        report["note"] = (
            f"no space-group model installed ({model}); the simulated pattern and "
            "its agreement with the measured one are reported without predictions"
        )
    report["_arrays"] = {"measured": measured, "simulated": simulated}
    return report


def overlay_png(report: dict) -> bytes:
    """Simulated vs measured on the model grid, difference below; PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    measured, simulated = report["_arrays"]["measured"], report["_arrays"]["simulated"]
    figure, (top, bottom) = pyplot.subplots(2, 1, figsize=(9, 5), sharex=True, height_ratios=[3, 1])
    scale = report.get("agreement", {}).get("scale", 1.0)
    if measured is not None:
        top.plot(GRID, measured, color="black", lw=0.8, label="measured")
    if simulated is not None:
        top.plot(GRID, scale * simulated, color="tab:red", lw=0.8, label="simulated from the CIF")
    if measured is not None and simulated is not None:
        bottom.plot(GRID, measured - scale * simulated, color="tab:blue", lw=0.6)
        a = report["agreement"]
        top.set_title(
            f"residual {a['residual']:.3f}, correlation {a['correlation']:.3f}", fontsize=9
        )
    bottom.set_xlabel("2θ (°, Cu Kα)")
    top.set_ylabel("intensity")
    bottom.set_ylabel("difference")
    top.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    pyplot.close(figure)
    return buffer.getvalue()


def report_lines(report: dict) -> list[str]:
    lines = []
    if "pattern" in report:
        p = report["pattern"]
        lines.append(
            f"pattern: {p['file']} ({p['format']}), {p['points']} points, 2θ "
            f"{p['two_theta'][0]:g}–{p['two_theta'][1]:g}°, λ {p['wavelength']:g} Å from "
            f"{p['wavelength_from']}"
        )
    if "predictions" in report:
        lines.append(f"space groups from the {report['predicted_from']} ({report['model']}):")
        for g in report["predictions"]:
            lines.append(
                f"  {g['number']:>3}  {g['symbol']:<14} {g['crystal_system']:<12} "
                f"{100 * g['probability']:5.1f} %"
            )
        systems = ", ".join(
            f"{name} {100 * p:.0f} %" for name, p in list(report["crystal_systems"].items())[:3]
        )
        lines.append(f"crystal system: {systems}")
    else:
        lines.append(report["note"])
    model = report.get("model_structure")
    if model and "rank" in model:
        lines.append(
            f"the CIF's space group {model['space_group']} "
            f"({model['symbol']}) ranks {model['rank']} with {100 * model['probability']:.1f} %"
        )
    if "agreement" in report:
        a = report["agreement"]
        lines.append(
            f"simulated vs measured: residual {a['residual']:.3f}, correlation "
            f"{a['correlation']:.3f}"
        )
    return lines + [f"note: {note}" for note in report.get("notes", [])]
