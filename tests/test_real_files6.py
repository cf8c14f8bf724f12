"""Odd but legal SHELX met in session 23's third sweep of real model files from other labs
(docs/benchmarks.md, 'Real model files from other labs, sixth sweep'). Each test holds a few
lines of the real file it names; the files themselves are not kept here."""

import numpy as np
import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.errors import InputError
from crystalx_core.io.shelx_read import parse_shelx

# DSR's example (PyPI dsr-shelx 243, example/p21c_step2.ins, MIT licence): DSR put an
# OC(CF3)3 group from its database on three atoms of a disordered one, for SHELXL to fit. FRAG 17
# gives the group in Å (cell 1 1 1 90 90 90); under AFIX 179 the first three atoms have the
# coordinates of their targets, the other eleven 0,0,0, which SHELXL replaces by the fragment
# fitted on the placed ones before its first cycle. Cut to the group, Ga1 and Al1.
DSR_STEP2 = """TITL p21c in P2(1)/c
CELL 0.71073 10.5086 20.9035 20.5072 90 94.13 90
ZERR 4 0.0003 0.0005 0.0005 0 0.001 0
LATT 1
SYMM -X,0.5+Y,0.5-Z
SFAC  C  H  O  F  Al  Ga
UNIT  1  2  3  4  5  6
FVAR  0.08667  0.50000
FRAG  17  1  1  1  90  90  90
O1    3     -0.014530      1.665900      0.109660
C1    1     -0.001460      0.268140      0.063510
C2    1     -1.133410     -0.232470     -0.907300
F1    4     -2.346610     -0.112730     -0.345440
F2    4     -0.962540     -1.506650     -1.290800
F3    4     -1.122630      0.550280     -2.017630
C3    1      1.405660     -0.231790     -0.431310
F4    4      2.385290      0.423400      0.205610
F5    4      1.532560      0.038430     -1.755380
F6    4      1.578330     -1.551530     -0.250350
C4    1     -0.278130     -0.216050      1.527950
F7    4      0.806020     -0.037590      2.304310
F8    4     -0.589100     -1.528590      1.534600
F9    4     -1.293230      0.469630      2.067350
FEND

GA1   6    0.639483    0.561721    0.237747    11.00000    0.02412    0.02495 =
         0.02483    0.00009   -0.00159    0.00158
AL1   5    0.064205    0.260171    0.478722    11.00000    0.01607    0.01985 =
         0.01354    0.00011   -0.00196    0.00125
RESI 5 CCF3
PART 2 -21
AFIX 179
REM 8MVCXB6
O1   3     0.156860     0.210330     0.529750   11.000   0.04
C1   1     0.198400     0.149690     0.543840   11.000   0.04
C2   1     0.196800     0.139300     0.620000   11.000   0.04
F1   4     0.000000     0.000000     0.000000   11.000   0.04
F2   4     0.000000     0.000000     0.000000   11.000   0.04
F3   4     0.000000     0.000000     0.000000   11.000   0.04
C3   1     0.000000     0.000000     0.000000   11.000   0.04
F4   4     0.000000     0.000000     0.000000   11.000   0.04
F5   4     0.000000     0.000000     0.000000   11.000   0.04
F6   4     0.000000     0.000000     0.000000   11.000   0.04
C4   1     0.000000     0.000000     0.000000   11.000   0.04
F7   4     0.000000     0.000000     0.000000   11.000   0.04
F8   4     0.000000     0.000000     0.000000   11.000   0.04
F9   4     0.000000     0.000000     0.000000   11.000   0.04
AFIX 0
REM 8MVCXB6
PART 0
RESI 0
HKLF 4
END
"""


# SHELXL's positions for some of them, from dsr-shelx 243 example/p21c_step3.res (RESI 5)
SHELXL_FITTED = {
    "O1_5": (0.156331, 0.211235, 0.528767),
    "C2_5": (0.197130, 0.138777, 0.620358),
    "F1_5": (0.294229, 0.169533, 0.652905),
    "C3_5": (0.109746, 0.099094, 0.506510),
    "F9_5": (0.405185, 0.196927, 0.541709),
}


def _group(structure):
    return {s.label: structure.cartesian(s.frac) for s in structure.sites if s.label.endswith("_5")}


def _distance(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def test_atoms_at_zero_in_a_fitted_fragment_are_placed_as_shelxl_fits_them():
    """main read DSR's eleven placeholders as atoms at the origin, piled on its inversion centre:
    `assign` dropped ten as repeats, put the salt's Ga there and turned the real GA1 into O. They
    are now placed by fitting FRAG 17 on the three placed atoms, as SHELXL does, so the group
    has the fragment's own bonds (C-F 1.33-1.35 Å, C-C 1.55 Å) within 0.01 Å of SHELXL's fit."""
    structure = parse_shelx(DSR_STEP2, "p21c_step2.ins").to_structure(group_mixed=False)
    group = _group(structure)
    assert len(group) == 14
    assert all(_distance(xyz, (0, 0, 0)) > 2.0 for xyz in group.values())
    assert 1.30 < _distance(group["C2_5"], group["F1_5"]) < 1.38
    assert 1.30 < _distance(group["C4_5"], group["F9_5"]) < 1.38
    assert 1.50 < _distance(group["C1_5"], group["C3_5"]) < 1.60
    # where SHELXL put them: DSR's p21c_step3.res (same package) holds SHELXL's L.S. 0 run on
    # this file, every atom of the group (the three placed ones too) on the fitted fragment
    for label, shelxl in SHELXL_FITTED.items():
        assert _distance(group[label], structure.cartesian(shelxl)) < 0.01, label


def test_a_part_sof_overrides_the_sof_on_the_atom_lines():
    """DSR wrote the group under `PART 2 -21` with 11.000 on each atom line; SHELXL gives them
    the PART's sof (manual, PART: it 'overrides the value on the following atom instructions')
    and writes -21.00000 on each in p21c_step3.res. main read them fully occupied beside the
    PART 1 21 group they are the other half of."""
    structure = parse_shelx(DSR_STEP2, "p21c_step2.ins").to_structure(group_mixed=False)
    group = [s for s in structure.sites if s.label.endswith("_5")]
    assert {(s.input_variable, round(s.occupancy, 6)) for s in group} == {((-2, 1.0), 0.5)}


def test_a_fitted_fragment_without_its_frag_is_refused_at_its_afix():
    """Placeholders SHELXL cannot place (no FRAG 17 in the file) are named, not read as atoms at
    the origin."""
    text = DSR_STEP2.split("FRAG  17")[0] + "\n" + DSR_STEP2.split("FEND\n")[1]
    with pytest.raises(InputError) as error:
        parse_shelx(text, "p21c_step2.ins")
    assert "FRAG 17" in error.value.message and "AFIX 179" in error.value.message


def test_a_frag_cell_that_is_no_cell_is_named_at_its_line():
    """A FRAG cell with a zero length is refused at its line, not a traceback from cctbx."""
    with pytest.raises(InputError) as error:
        parse_shelx(DSR_STEP2.replace("FRAG  17  1  1  1", "FRAG  17  1  1  0"), "step2.ins")
    assert error.value.line == 9 and "FRAG 17 cell" in error.value.message


def test_assign_keeps_every_atom_of_the_fitted_group(tmp_path, capsys):
    """The job on DSR's lines: main dropped ten of the group as repeats of one atom at the
    origin; all fourteen are assigned now, and the .res written gives them their fitted
    positions (read again, none at 0,0,0)."""
    import json

    from crystalx_core.cli import main

    path = tmp_path / "p21c_step2.ins"
    path.write_text(DSR_STEP2)
    assert main(["assign", str(path), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert sum(atom["label"].endswith("_5") for atom in answer["atoms"]) == 14
    written = parse_shelx((tmp_path / "p21c_step2_crystalx.res").read_text(), "written.res")
    group = _group(written.to_structure(group_mixed=False))
    assert len(group) == 14 and all(_distance(xyz, (0, 0, 0)) > 2.0 for xyz in group.values())


# cctbx's lexer test (github cctbx/cctbx_project, iotbx/shelx/tst_lex_parse_build.py,
# ins_mundane_tiny, BSD-3-Clause-LBNL): SHELXL's residue forms of HFIX without atom names,
# `HFIX_1 23` (every atom of residue 1) and `HFIX_N 43` (every atom of the residues of class N),
# with `CELL0.71073` glued and text after a continuation's '='. Cut to its instructions and atoms.
CCTBX_MUNDANE_TINY = """TITL in Pbca
CELL0.71073   7.350   9.541  12.842  90.000  90.000  90.000
ZERR    4.00   0.002   0.002   0.003   0.000   0.000   0.000
LATT  1
SYMM 0.5-X, -Y, 0.5+Z
SYMM -X, 0.5+Y, 0.5-Z
SYMM 1/2+X, 0.5-y, -Z
SFAC C H O N
UNIT 32 40 16 8
TEMP -153
L.S. 4
FVAR       0.89220
HFIX_1 23
HFIX_N 43
O2    3    0.362893    0.160589   -0.035913    11.00000    0.03926    0.02517 =
         0.02140   -0.00415   -0.00810    0.01009
O3    3    0.696722    0.119176    0.260657    = some garbage
 11.00000    0.02838    0.02133 =
         0.02918    0.00011   -0.01030   -0.00048
C1    1    0.432360    0.196651    0.046472    11.00000    0.02226    0.01792 =
         0.01857    0.00058    0.00123    0.00249
C4    1    0.601261    0.176489    0.196615    11.00000    0.01844    0.01705 =
         0.02123   -0.00033   -0.00071   -0.00284
RESI 1
C2    1    0.411568    0.336421    0.100062    11.00000    0.02867    0.01555 =
         0.02069    0.00053   -0.00070    0.00268
C3    1    0.522448    0.322965    0.200394    11.00000    0.02158    0.01556 =
         0.02255   -0.00189   -0.00049   -0.00115
RESI N
N     4    0.544830    0.114061    0.104838    11.00000    0.02004    0.01586 =
         0.01943   -0.00094   -0.00096    0.00161
HKLF 4
END
"""


def test_an_hfix_for_a_whole_residue_is_not_left_beside_the_h_written(tmp_path):
    """`HFIX_1 23` names no atom: it stands for every atom of residue 1. The job writes C2 and
    C3's H as atoms (AFIX 23), and N's (AFIX 43); main kept both HFIX lines too, so SHELXL would
    add those H a second time. HFIX_1 is now a REM line saying so, as an HFIX naming the atoms
    already was. (`RESI N` gives a class and no number, residue 0: HFIX_N is left as it is.)"""
    from crystalx_core.cli import main

    path = tmp_path / "mundane_tiny.ins"
    path.write_text(CCTBX_MUNDANE_TINY)
    assert main(["assign", str(path)]) == 0
    written = (tmp_path / "mundane_tiny_crystalx.res").read_text()
    shelx = parse_shelx(written, "written.res")
    assert "HFIX_1 23\n" not in [line.text for line in shelx.lines if line.keyword == "HFIX"]
    assert "REM CrystalX: H of C2_1 C3_1 written as atoms; was: HFIX_1 23" in written
    riding = {a.site.label for a in shelx.atoms if a.site.element == "H"}
    assert {"H2A_1", "H2B_1", "H3A_1", "H3B_1"} <= riding
