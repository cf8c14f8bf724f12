"""What the plugin benchmarks share: a .ins opened in the Olex2 test double (tests/olex2_double)
as Olex2 opens it, the job the plugin sends for it answered by the service, and the job
`crystalx assign x.ins --hkl x.hkl --json` runs on the same files."""

import importlib
import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOUBLE, PLUGIN = ROOT / "tests" / "olex2_double", ROOT / "plugin" / "plugin-CrystalX"
OPTIONS = {"method": "baseline", "hydrogens": "rules"}


def olex2_double():
    """The test double's state and the plugin's reader of its model, importable."""
    sys.path[:0] = [str(DOUBLE), str(PLUGIN)]
    state = importlib.import_module("_olex2").STATE
    for name in ("olx", "olex_core"):
        importlib.import_module(name)
    return state, importlib.import_module("crystalx_plugin.olex_model")


def cli_job(ins: Path, hkl: Path) -> dict:
    """`crystalx assign ins --hkl hkl --json` with the benchmarks' OPTIONS: its JSON."""
    from crystalx_core.cli import main as crystalx

    out = io.StringIO()
    with redirect_stdout(out):
        code = crystalx(
            ["assign", str(ins), "--hkl", str(hkl), "--json", "--out", str(ins.parent / "cli")]
            + ["--method", OPTIONS["method"], "--hydrogens", OPTIONS["hydrogens"]]
        )
    assert code == 0
    return json.loads(out.getvalue())


def open_in_olex2(state, ins: Path, hkl: Path):
    """The .ins opened in the double as Olex2 opens it: atoms with their PART, AFIX and RESI,
    cell, symmetry, formula, wavelength, its instructions (reflection ones and restraints)
    and `hkl` as its HKL source."""
    from cctbx import sgtbx

    from crystalx_core.io import load
    from crystalx_core.residues import bare_label, residue_number

    structure = load(ins).structure
    # Olex2's residue of each atom: a class-only RESI is its next residue, not SHELXL's 0
    residue_at = sys.modules["_olex2"].residue_of_lines(ins.read_text())
    matrices = []
    for op in structure.symops:
        rt = sgtbx.rt_mx(op)
        r, t = rt.r().as_double(), rt.t().as_double()
        matrices.append(tuple(tuple(r[3 * k : 3 * k + 3]) + (t[k],) for k in range(3)))
    atoms = [
        (bare_label(s.label), s.element, s.frac, s.u_iso, s.occupancy, s.part, 0.0, s.afix)
        + (residue_at[s.line] if s.line else residue_number(s.label),)
        for s in structure.sites
    ]
    state.load(
        structure.cell,
        matrices,
        [(el, n / 4) for el, n in zip(structure.sfac, structure.unit)],
        4,
        atoms,
        file=str(ins),
        hkl=str(hkl),
        radiation=structure.wavelength,
    )
    state.read_instructions(ins.read_text())


def plugin_job(state, olex_model, restraints: bool = True):
    """What the plugin sends for the open structure, answered by the service: (the
    reflections sent, the answer); without `restraints`, as the plugin sent before them."""
    from crystalx_core.service import PROTOCOL, reply_to

    model = olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"])
    reflections = dict(model.reflections)
    if not restraints:
        reflections.pop("restraints", None)
    params = {"structure": model.snapshot, "options": OPTIONS, "reflections": reflections}
    request = {"protocol": PROTOCOL, "id": 1, "method": "assign", "params": params}
    reply, _ = reply_to(json.dumps(request).encode())
    return reflections, reply["result"]
