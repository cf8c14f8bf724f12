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

import re
import tempfile
from pathlib import Path

from benchmarks import plugin_double
from benchmarks.plugin_double import ROOT, olex2_double, open_in_olex2, plugin_job
from crystalx_core.io.shelx_names import _number

SH2185 = ROOT.parent / "shared" / "data" / "benchmark" / "FC_SH2185"


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


def cli_job(folder: Path):
    """`crystalx assign x.ins --hkl x.hkl --json`: (ins, hkl, its JSON)."""
    ins, hkl = folder / "x.ins", folder / "x.hkl"
    ins.write_text(ins_text())
    hkl.write_bytes((SH2185 / "data.hkl").read_bytes())
    return ins, hkl, plugin_double.cli_job(ins, hkl)


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
