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
import tempfile
from pathlib import Path

from benchmarks import plugin_double
from benchmarks.plugin_double import ROOT, olex2_double, open_in_olex2, plugin_job

ALANINE = ROOT.parent / "shared" / "data" / "benchmark" / "XH_alanine"


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
    instructions, transform = CASES[case]
    ins, hkl = tmp_path / "x.ins", tmp_path / "x.hkl"
    ins.write_text(ins_text(instructions, case in WEIGHTED))
    hkl.write_text(hkl_lines(transform))
    return ins, hkl, plugin_double.cli_job(ins, hkl)


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
