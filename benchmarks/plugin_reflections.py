"""The reflections a plugin job refines beside `crystalx assign x.ins --hkl` on the same .ins:
for each case (MERG 0/2/4, an HKLF matrix, OMIT s 2θ with OMIT h k l and SHEL, two SHEL lines,
the published WGHT, an EXTI) the count refined, R1 and wR2 of the command line's job and of the
job the plugin sends for that .ins opened in the Olex2 test double (its refinement model read as
Olex2 exports it: tests/olex2_double).

Input: the published L-alanine (benchmark XH_alanine: SHELXL-2018's .res and its .hkl, TEMP
-250), without its H, each atom isotropic at its Ueq (as Olex2 gives the plugin its atoms:
xf.au.GetAtomUiso), and without its WGHT lines but in the WGHT case (its WGHT 0, w = 1/σ²,
and after END the WGHT 0.0405 0.0165 SHELXL suggests). For MERG the .hkl is
written as a diffractometer gives it, each reflection with an equivalent (-h -k l, one of
222's) and its Friedel opposite (-h -k -l).

    PYTHONPATH=. python benchmarks/plugin_reflections.py [--case "MERG 0" ...]
"""

import argparse
import importlib
import io
import json
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALANINE = ROOT.parent / "shared" / "data" / "benchmark" / "XH_alanine"
DOUBLE, PLUGIN = ROOT / "tests" / "olex2_double", ROOT / "plugin" / "plugin-CrystalX"
OPTIONS = {"method": "baseline", "hydrogens": "rules"}


def ins_text(instructions: str, weighted: bool = False) -> str:
    """The published .res as an .ins without H (and without its WGHT lines unless `weighted`),
    each atom isotropic at its Ueq (as Olex2 gives the plugin its atoms: xf.au.GetAtomUiso),
    `instructions` before HKLF."""
    text = (ALANINE / "published.res").read_text().replace("=\n", "")
    dropped = ("H",) if weighted else ("H", "WGHT")
    kept = []
    for line in text.splitlines():
        words = line.split()
        if line.startswith(dropped) and not line.startswith("HKLF"):
            continue
        # an atom with U11 U22 U33 U23 U13 U12: orthorhombic, so Ueq is their first three's mean
        if len(words) == 12 and words[1].isdigit():
            line = " ".join(words[:6] + ["%.5f" % (sum(float(u) for u in words[6:9]) / 3)])
        kept.append(line)
    return "\n".join(kept).replace("\nHKLF 4", "\n" + instructions, 1) + "\n"


def hkl_lines(transform):
    """The .hkl's lines up to its end, each as the lines of the indices `transform`(h, k, l)."""
    out = []
    for line in (ALANINE / "data.hkl").read_text().splitlines():
        if not line.strip() or line.split()[:3] == ["0", "0", "0"]:
            break  # the data's end
        h, k, l = int(line[0:4]), int(line[4:8]), int(line[8:12])
        out += ["%4d%4d%4d%s" % (*hkl, line[12:]) for hkl in transform(h, k, l)]
    return "\n".join(out + ["   0   0   0    0.00    0.00"]) + "\n"


MEASURED = lambda h, k, l: [(h, k, l), (-h, -k, l), (-h, -k, -l)]  # noqa: E731
CASES = {
    "MERG 0": ("MERG 0\nHKLF 4", MEASURED),
    "MERG 4": ("MERG 4\nHKLF 4", MEASURED),
    "MERG 2": ("HKLF 4", MEASURED),
    # the file's indices in another setting (k h -l), HKLF's matrix brings them back
    "HKLF matrix": ("HKLF 4 1 0 1 0 1 0 0 0 0 -1", lambda h, k, l: [(k, h, -l)]),
    "OMIT and SHEL": (
        "OMIT -3 50\nOMIT 0 4 0\nOMIT 1 2 1\nSHEL 6 0.8\nHKLF 4",
        lambda h, k, l: [(h, k, l)],
    ),
    # Olex2 keeps the last SHEL (refmodel.cpp SetSHEL), as the command line does
    "two SHEL": ("SHEL 6 0.8\nSHEL 9 0.9\nHKLF 4", lambda h, k, l: [(h, k, l)]),
    "WGHT": ("HKLF 4", lambda h, k, l: [(h, k, l)]),
    "EXTI": ("EXTI 0.01\nHKLF 4", lambda h, k, l: [(h, k, l)]),
}
WEIGHTED = {"WGHT"}  # the cases whose .ins keeps the published WGHT lines


def cli_job(tmp_path, case):
    """`crystalx assign x.ins --hkl x.hkl --json` on the case's files: (ins, hkl, its JSON)."""
    from crystalx_core.cli import main as crystalx

    instructions, transform = CASES[case]
    ins, hkl = tmp_path / "x.ins", tmp_path / "x.hkl"
    ins.write_text(ins_text(instructions, case in WEIGHTED))
    hkl.write_text(hkl_lines(transform))
    out = io.StringIO()
    with redirect_stdout(out):
        code = crystalx(
            ["assign", str(ins), "--hkl", str(hkl), "--json", "--out", str(tmp_path / "cli")]
            + ["--method", OPTIONS["method"], "--hydrogens", OPTIONS["hydrogens"]]
        )
    assert code == 0
    return ins, hkl, json.loads(out.getvalue())


def open_in_olex2(state, ins, hkl):
    """The .ins opened in the double as Olex2 opens it: its atoms, cell, symmetry, formula,
    wavelength and reflection instructions, `hkl` as its HKL source."""
    from cctbx import sgtbx

    from crystalx_core.io import load

    structure = load(ins).structure
    matrices = []
    for op in structure.symops:
        rt = sgtbx.rt_mx(op)
        r, t = rt.r().as_double(), rt.t().as_double()
        matrices.append(tuple(tuple(r[3 * k : 3 * k + 3]) + (t[k],) for k in range(3)))
    atoms = [(s.label, s.element, s.frac, s.u_iso, s.occupancy, 0, 0.0) for s in structure.sites]
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


def plugin_job(state, olex_model):
    """What the plugin sends for the open structure, answered by the service: (the
    reflections sent, the answer)."""
    from crystalx_core.service import PROTOCOL, reply_to

    model = olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"])
    params = {"structure": model.snapshot, "options": OPTIONS, "reflections": model.reflections}
    request = {"protocol": PROTOCOL, "id": 1, "method": "assign", "params": params}
    reply, _ = reply_to(json.dumps(request).encode())
    return model.reflections, reply["result"]


def olex2_double():
    """The test double's state and the plugin's reader of its model, importable."""
    sys.path[:0] = [str(DOUBLE), str(PLUGIN)]
    state = importlib.import_module("_olex2").STATE
    for name in ("olx", "olex_core"):
        importlib.import_module(name)
    return state, importlib.import_module("crystalx_plugin.olex_model")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args(argv)
    import crystalx_core  # noqa: F401  (cctbx before gemmi)

    state, olex_model = olex2_double()
    for case in args.case:
        with tempfile.TemporaryDirectory() as folder:
            ins, hkl, cli = cli_job(Path(folder), case)
            state.reset()
            open_in_olex2(state, ins, hkl)
            sent, result = plugin_job(state, olex_model)
        refined, figures = cli["refinement"], result["reflections"] or {}
        print(
            "%-14s command line: %5d reflections, R1 %.4f, wR2 %.4f | plugin job: %5s "
            "reflections, R1 %s, wR2 %s | sent %s"
            % (
                case,
                refined["n_reflections"],
                refined["r1"],
                refined["wr2"],
                figures.get("reflections", "-"),
                figures.get("r1", "-"),
                figures.get("wr2", "-"),
                {k: v for k, v in sent.items() if k not in ("path", "hklf", "scale", "twin")},
            )
        )


if __name__ == "__main__":
    main()
