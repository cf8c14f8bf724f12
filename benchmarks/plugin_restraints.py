"""A plugin job refines with the restraints and constraints `crystalx assign x.ins --hkl` refines
with: the command line's job on a real disordered structure beside the job the plugin sends for
the same .ins opened in the Olex2 test double (its refinement model read as Olex2 exports it:
tests/olex2_double), and that job without the restraints (what the plugin sent before them).

Input: FC_SH2185 (P2₁2₁2₁, benchmark: its published .res and .hkl), a phenyl ring disordered
over two PARTs held by FLAT, DELU, SIMU, two RIGU (one naming the riding H) and four EADP. As
Olex2 gives the plugin its atoms, each is isotropic at its Ueq (orthorhombic: the mean of U11,
U22, U33) and at the occupancy its free variable gives (the plugin sends occupancies, not
their free variables: 21 → fv(2), -21 → 1 - fv(2), fixed); both jobs read that one .ins.

    PYTHONPATH=. python benchmarks/plugin_restraints.py
"""

import importlib
import io
import json
import re
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SH2185 = ROOT.parent / "shared" / "data" / "benchmark" / "FC_SH2185"
DOUBLE, PLUGIN = ROOT / "tests" / "olex2_double", ROOT / "plugin" / "plugin-CrystalX"
OPTIONS = {"method": "baseline", "hydrogens": "rules"}


def ins_text() -> str:
    """The published .res as the .ins both jobs read (see the module's docstring)."""
    text = (SH2185 / "published.res").read_text().replace("=\n", "")
    fv2 = float(re.search(r"^FVAR\s+\S+\s+(\S+)", text, re.M).group(1))
    kept = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 7 and re.fullmatch(r"-?\d+", words[1]) and _number(words[5]):
            sof = float(words[5])
            if abs(sof) > 15:  # ±21: on FVAR 2
                words[5] = "%.5f" % (10 + (fv2 if sof > 0 else 1 - fv2))
            if len(words) == 12:  # U11 U22 U33 U23 U13 U12: orthorhombic, Ueq their mean
                words = words[:6] + ["%.5f" % (sum(float(u) for u in words[6:9]) / 3)]
            line = " ".join(words)
        kept.append(line)
    return "\n".join(kept) + "\n"


def _number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def cli_job(folder: Path):
    """`crystalx assign x.ins --hkl x.hkl --json`: (ins, hkl, its JSON)."""
    from crystalx_core.cli import main as crystalx

    ins, hkl = folder / "x.ins", folder / "x.hkl"
    ins.write_text(ins_text())
    hkl.write_bytes((SH2185 / "data.hkl").read_bytes())
    out = io.StringIO()
    with redirect_stdout(out):
        code = crystalx(
            ["assign", str(ins), "--hkl", str(hkl), "--json", "--out", str(folder / "cli")]
            + ["--method", OPTIONS["method"], "--hydrogens", OPTIONS["hydrogens"]]
        )
    assert code == 0
    return ins, hkl, json.loads(out.getvalue())


def open_in_olex2(state, ins: Path, hkl: Path):
    """The .ins opened in the double as Olex2 opens it: atoms with their PART and AFIX, cell,
    symmetry, formula, wavelength, its instructions (restraints included) and `hkl`."""
    from cctbx import sgtbx

    from crystalx_core.io import load

    structure = load(ins).structure
    matrices = []
    for op in structure.symops:
        rt = sgtbx.rt_mx(op)
        r, t = rt.r().as_double(), rt.t().as_double()
        matrices.append(tuple(tuple(r[3 * k : 3 * k + 3]) + (t[k],) for k in range(3)))
    atoms = [
        (s.label, s.element, s.frac, s.u_iso, s.occupancy, s.part, 0.0, s.afix)
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


def olex2_double():
    """The test double's state and the plugin's reader of its model, importable."""
    sys.path[:0] = [str(DOUBLE), str(PLUGIN)]
    state = importlib.import_module("_olex2").STATE
    for name in ("olx", "olex_core"):
        importlib.import_module(name)
    return state, importlib.import_module("crystalx_plugin.olex_model")


def main():
    import crystalx_core  # noqa: F401  (cctbx before gemmi)

    state, olex_model = olex2_double()
    with tempfile.TemporaryDirectory() as folder:
        ins, hkl, cli = cli_job(Path(folder))
        refined = cli["refinement"]
        print(
            "command line:        R1 %.4f, wR2 %.4f, %d parameters, %d reflections"
            % (refined["r1"], refined["wr2"], refined["n_parameters"], refined["n_reflections"])
        )
        for restraints in (True, False):
            state.reset()
            open_in_olex2(state, ins, hkl)
            sent, result = plugin_job(state, olex_model, restraints)
            figures = result["reflections"] or {}
            print(
                "plugin job (%s): R1 %s, wR2 %s, %s parameters, %s reflections; %d lines sent"
                % (
                    "restraints" if restraints else "none sent",
                    figures.get("r1", "-"),
                    figures.get("wr2", "-"),
                    figures.get("parameters", "-"),
                    figures.get("reflections", "-"),
                    len(sent.get("restraints", ())),
                )
            )


if __name__ == "__main__":
    main()
