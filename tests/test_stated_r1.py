"""The R1 an input model states for itself: a poor final R1 that is no worse is the data's
limit, not a wrong assignment; one clearly worse is named against it."""

from pathlib import Path

from crystalx_core.io import load
from crystalx_core.io.stated_r1 import StatedR1
from crystalx_core.pipeline import stated_r1_note, verdict

# SHELXL's .res after HKLF: a REM with the title, then the R1 line with its padded counts, as
# SHELXL-2016/6 wrote Baharis/hikari hikari/resources/NaCl.res (and SHELXL-2018/3 the R1 0.1629
# of OldFedot/LogBooker test_data/Olex2/dom1_mC.res); Olex2 repeats the line, indented, after END
RES = """TITL cl in Fm-3m
CELL 0.71073 5.641087 5.641087 5.641087 90 90 90
ZERR 4 0.000051 0.000051 0.000051 0 0 0
LATT 4
SYMM -X,-Y,+Z
SFAC Cl Na
UNIT 4 4
L.S. 4
WGHT    0.017800
FVAR      12.01658
CL1   1    0.000000    0.000000    0.000000    10.02083    0.01793
NA1   2    0.500000    0.000000    0.000000    10.02083    0.02129
HKLF 4




REM  cl in Fm-3m
REM R1 =  0.1629 for     111 Fo > 4sig(Fo)  and  0.1818 for all     111 data
REM      3 parameters refined using      0 restraints

END

  REM The information below was added by Olex2.
  REM R1 = 0.1700 for 111 Fo > 4sig(Fo) and 0.1818 for all 8578 data
"""


def test_a_res_states_the_r1_shelxl_wrote_after_hklf(tmp_path):
    path = tmp_path / "cl.res"
    path.write_text(RES)
    stated = load(path).stated_r1
    assert (stated.value, stated.path, stated.line) == (0.1629, path, 19)
    assert str(stated) == "R1 0.1629 (cl.res line 19)"


def test_olex2_refine_states_its_r1_after_end(tmp_path):
    """olex2.refine writes no SHELXL line, only Olex2's block after END (as in
    AK-Kleemiss/NoSpherA2 tests/PBC_Test/CaF_Ag3.res)."""
    path = tmp_path / "olex2.res"
    path.write_text("".join(line for line in RES.splitlines(True) if "0.1629" not in line))
    stated = load(path).stated_r1
    assert (stated.value, stated.line) == (0.17, 24)


def test_a_solution_without_a_refinement_states_none(tmp_path):
    """SHELXT's REM names the R1 of its solution, not of a refinement (as its line in
    OldFedot/LogBooker test_data/Olex2/dom1_mC.res)."""
    path = tmp_path / "fresh.ins"
    shelxt = "REM SHELXT solution in Fm-3m: R1 0.185, Rweak 0.014, Alpha 0.046\n"
    path.write_text(shelxt + RES.split("HKLF 4")[0] + "HKLF 4\nEND\n")
    assert load(path).stated_r1 is None


def test_a_cif_states_its_refine_ls_r_factor_gt(shared_data):
    path = shared_data / "benchmark" / "FC_sucrose" / "model.cif"
    stated = load(path).stated_r1
    line = next(
        n
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if text.startswith("_refine_ls_R_factor_gt")
    )
    assert (stated.value, stated.line) == (0.0226, line)


def test_a_poor_r1_no_worse_than_the_inputs_own_is_a_solution_with_a_note():
    """dom1_mC (C2/m Fe3Cl8, synchrotron): SHELXL 0.1629, the job 0.1642, Rsigma 0.0394."""
    stated = StatedR1(0.1629, Path("dom1_mC.res"), 54)
    assert verdict(0.1642, 0.0394) is not None  # without the input's word: no solution
    assert verdict(0.1642, 0.0394, stated) is None
    note = stated_r1_note(0.1642, 0.0394, stated)
    assert "0.1642" in note and "R1 0.1629 (dom1_mC.res line 54)" in note and "data" in note


def test_a_final_r1_clearly_worse_than_the_inputs_own_is_named_against_it():
    stated = StatedR1(0.1629, Path("dom1_mC.res"), 54)
    failure = verdict(0.2600, 0.0394, stated)
    assert "0.2600" in failure and "R1 0.1629 (dom1_mC.res line 54)" in failure
    good = StatedR1(0.03, Path("x.res"), 40)
    assert verdict(0.12, 0.01, good) and "x.res line 40" in verdict(0.12, 0.01, good)
    # under the absolute limits the job stands, and a note compares the two
    assert verdict(0.08, 0.01, good) is None
    assert "R1 0.0300 (x.res line 40)" in stated_r1_note(0.08, 0.01, good)


def test_no_note_where_the_final_r1_is_good_and_near_the_inputs_own():
    assert stated_r1_note(0.031, 0.01, StatedR1(0.03, Path("x.res"), 40)) == ""
    assert stated_r1_note(0.20, 0.01, None) == ""


def test_an_r_factor_in_per_cent_is_no_yardstick(shared_data):
    """COD 1100192 (cod-tools' r-factor test file) states _refine_ls_R_factor_gt 7.16, per
    cent: taken as a fraction, 1.3 times it would let any final R1 pass the verdict."""
    path = shared_data / "corpus" / "codtools_1100192-r-factor.cif"
    assert "_refine_ls_R_factor_gt 7.16" in path.read_text()
    assert load(path).stated_r1 is None
    assert verdict(0.45, 0.02, load(path).stated_r1) is not None


def test_no_stated_r1_makes_one_over_0_20_a_solution():
    """A .res states whatever its refinement reached: a first SHELXL run of a wrong model
    states 0.35, and a final 0.36 beside it is no solution, with both named."""
    stated = StatedR1(0.35, Path("first.res"), 30)
    failure = verdict(0.36, 0.02, stated)
    assert "over 0.20" in failure and "R1 0.3500 (first.res line 30)" in failure
    assert verdict(0.19, 0.02, StatedR1(0.18, Path("x.res"), 30)) is None  # under 0.20: as before
