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


def _group(structure):
    return {s.label: structure.cartesian(s.frac) for s in structure.sites if s.label.endswith("_5")}


def _distance(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def test_atoms_at_zero_in_a_fitted_fragment_are_placed_as_shelxl_fits_them():
    """main read DSR's eleven placeholders as atoms at the origin, piled on its inversion centre:
    `assign` dropped ten as repeats, put the salt's Ga there and turned the real GA1 into O. They
    are now placed by fitting FRAG 17 on the three placed atoms, as SHELXL does, so the group
    has the fragment's own bonds (C-F 1.33-1.35 Å, C-C 1.55 Å) where the targets put it."""
    structure = parse_shelx(DSR_STEP2, "p21c_step2.ins").to_structure(group_mixed=False)
    group = _group(structure)
    assert len(group) == 14
    assert all(_distance(xyz, (0, 0, 0)) > 2.0 for xyz in group.values())
    assert 1.30 < _distance(group["C2_5"], group["F1_5"]) < 1.38
    assert 1.30 < _distance(group["C4_5"], group["F9_5"]) < 1.38
    assert 1.50 < _distance(group["C1_5"], group["C3_5"]) < 1.60
    # the placed atoms stay where the file put them (their fit to the fragment is within 0.1 Å)
    o1 = next(s for s in structure.sites if s.label == "O1_5")
    assert o1.frac == pytest.approx((0.156860, 0.210330, 0.529750))


def test_a_fitted_fragment_without_its_frag_is_refused_at_its_afix():
    """Placeholders SHELXL cannot place (no FRAG 17 in the file) are named, not read as atoms at
    the origin."""
    text = DSR_STEP2.split("FRAG  17")[0] + "\n" + DSR_STEP2.split("FEND\n")[1]
    with pytest.raises(InputError) as error:
        parse_shelx(text, "p21c_step2.ins")
    assert "FRAG 17" in error.value.message and "AFIX 179" in error.value.message


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
