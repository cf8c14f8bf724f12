"""The restraints of a residue class refined as SHELXL reads them: FC_p21c (benchmark: its
published .res and .hkl) holds four OC(CF3)3 groups, residues 1, 2, 4 of class CCF3 and 3 of
class CF3, under SADI_CCF3, SIMU_CCF3 and RIGU_CCF3. `crystalx assign x.ins --hkl x.hkl` on it:
the restraint lines it refined with, R1, wR2, and the spread of the 27 C-F distances SADI_CCF3
ties (F1-F3 to C2, F4-F6 to C3, F7-F9 to C4 in residues 1, 2 and 4) and of the five Al1-O1
distances (O1 of residues 0 to 4, which `SADI Al1 O1_*` names and the job leaves out: '_*' on
an atom is no SHELXL syntax) in the written .res, beside the published .res's (SHELXL). About
13 min on a loaded 2-core machine.

    PYTHONPATH=. python benchmarks/residue_restraints.py
"""

import statistics
import tempfile
from pathlib import Path

from benchmarks.plugin_double import ROOT, cli_job

P21C = ROOT.parent / "shared" / "data" / "benchmark" / "FC_p21c"
BONDS = [(1, 2), (2, 2), (3, 2), (4, 3), (5, 3), (6, 3), (7, 4), (8, 4), (9, 4)]  # (F, C)


def c_f_distances(res: Path) -> list[float]:
    """The C-F distances SADI_CCF3 ties, residues 1, 2 and 4 (class CCF3)."""
    return _distances(res, [(f"F{f}_{r}", f"C{c}_{r}") for r in (1, 2, 4) for f, c in BONDS])


def _distances(res: Path, pairs: list[tuple[str, str]]) -> list[float]:
    """The distance of each pair of labels (residue addresses) in the .res `res`."""
    from cctbx import uctbx

    from crystalx_core.io import load

    structure = load(res).structure
    sites = {site.label.upper(): site.frac for site in structure.sites}
    cell = uctbx.unit_cell(structure.cell)
    return [cell.distance(sites[a], sites[b]) for a, b in pairs]


def al_o_distances(res: Path) -> list[float]:
    """Al1 to the O1 of residues 0..4, which the file's SADI Al1 O1_* names."""
    return _distances(res, [("AL1", f"O1{suffix}") for suffix in ("", "_1", "_2", "_3", "_4")])


def spread(distances: list[float]) -> str:
    return "%.4f ± %.4f Å (%.3f–%.3f)" % (
        statistics.mean(distances),
        statistics.stdev(distances),
        min(distances),
        max(distances),
    )


def main():
    import crystalx_core  # noqa: F401  (cctbx before gemmi)

    published = P21C / "published.res"
    print(
        "published (SHELXL): C-F %s; Al-O %s"
        % (spread(c_f_distances(published)), spread(al_o_distances(published)))
    )
    with tempfile.TemporaryDirectory() as folder:
        ins, hkl = Path(folder) / "x.ins", Path(folder) / "x.hkl"
        ins.write_text((P21C / "published.res").read_text())
        hkl.write_bytes((P21C / "data.hkl").read_bytes())
        answer = cli_job(ins, hkl)
        refined = answer["refinement"]
        note = next((n for n in answer["notes"] if "restraints and constraints" in n), "")
        written = Path(answer["files"]["res"])
        print(
            "crystalx: R1 %.4f, wR2 %.4f, %d parameters; C-F %s; Al-O %s\n  %s"
            % (
                refined["r1"],
                refined["wr2"],
                refined["n_parameters"],
                spread(c_f_distances(written)),
                spread(al_o_distances(written)),
                note,
            )
        )


if __name__ == "__main__":
    main()
