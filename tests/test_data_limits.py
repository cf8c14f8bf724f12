"""A .res's own OMIT and SHEL limits on its data, honoured as SHELXL honours them
(io.data_limits)."""

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest

from crystalx_core.errors import InputError
from crystalx_core.io import load

# COD 2240189 ([Fe(H2O)6](ClO4)3·3H2O, R-3c; the .res and .hkl of ShelXFile's tests/resources at
# 4996a342; COD data are public domain): the header with its OMIT -3 55, two atoms, and lines
# of its .hkl as written (3I4,2F8.2,I4), the last four beyond 2θ 55° at Mo Kα
HEADER = (
    "TITL 2240189\nCELL 0.71073 16.193 16.193 11.2421 90 90 120\nZERR 6 0 0 0 0 0 0\nLATT 3\n"
    "SYMM -Y, X-Y, Z\nSYMM Y, X, -Z+ 0.50000\nSYMM -X+Y, -X, Z\nSYMM -X, -X+Y, -Z+ 0.50000\n"
    "SYMM X-Y, -Y, -Z+ 0.50000\nSFAC Fe Cl O H\nUNIT 6 18 126 108\n{limits}L.S. 0\nFVAR 0.31437\n"
    "FE1 1 0.000000 0.000000 0.500000 10.16667 0.0188\n"
    "O1 3 0.074199 0.116656 0.399075 11.00000 0.0236\nHKLF 4\nEND\n"
)
HKL = """  -1   2   0   86.70    2.86   0
   0   3   0 8056.02   17.79   0
  -2   4   0 2053.83    9.20   0
  -1   5   0  288.96    3.29   0
  -3   6   0 1754.35    7.01   0
   0   6   0   63.59    1.73   0
   0   0   6 2053.80    5.68   0
   0   0  12  436.92    2.45   0
  -1   2  15    0.55    1.27   0
  -2   4  15    2.90    1.29   0
  -4   5  15    2.02    1.35   0
  -1   5  15    2.05    1.36   0
"""


def read(tmp_path, limits: str):
    (tmp_path / "x.res").write_text(HEADER.format(limits=limits))
    (tmp_path / "x.hkl").write_text(HKL)
    return load(tmp_path / "x.res").read(tmp_path / "x.hkl")


def test_omit_two_theta_leaves_out_the_data_beyond_it(tmp_path):
    """SHELXL rejects reflections over OMIT's 2θ(lim) as it reads them: the published R1 is
    over the others (COD 2240189: 658 of 782; all 782 gave R1 0.055 against 0.041)."""
    reflections = read(tmp_path, "OMIT -3 55\n")
    assert len(reflections) == 8
    assert reflections.notes == [
        "OMIT -3 55 (line 12): 4 reflections beyond 2θ 55° (d < 0.770 Å) left out, as SHELXL "
        "leaves them out",
        "OMIT -3 55 (line 12): 0 intensities below -1.5σ(I) raised to -1.5σ(I), as SHELXL "
        "raises them",
    ]
    assert len(read(tmp_path, "")) == 12  # none without it


def test_omit_h_k_l_takes_the_reflection_and_its_equivalents(tmp_path):
    """OMIT h k l takes a merged reflection out: every observation of it and its equivalents
    (0 0 6 and 0 0 -6 alike in -3m); an OMIT naming atoms (an omit map) leaves the data."""
    (tmp_path / "y.hkl").write_text(HKL + "   0   0  -6 2050.10    5.60   0\n")
    (tmp_path / "x.res").write_text(HEADER.format(limits="OMIT 0 0 6\nOMIT O1\n"))
    reflections = load(tmp_path / "x.res").read(tmp_path / "y.hkl")
    assert len(reflections) == 11
    assert reflections.notes == [
        "OMIT 0 0 6 (line 12): 2 observations of 0 0 6 and its equivalents left out, as SHELXL "
        "leaves them out"
    ]


def test_shel_keeps_the_data_between_its_limits(tmp_path):
    reflections = read(tmp_path, "SHEL 5 0.8\n")
    assert len(reflections) == 7  # 8.10 Å and the four beyond 0.8 Å out
    assert "SHEL 5 0.8 (line 12): 5 reflections outside d 0.8-5 Å left out" in reflections.notes[0]


def test_shel_with_words_names_its_line(tmp_path):
    with pytest.raises(InputError) as error:
        read(tmp_path, "SHEL low high\n")
    assert error.value.line == 12


def test_shel_written_the_other_way_round_is_swapped(tmp_path):
    """SHELXL and Olex2 (RefUtil::ResolutionAndSigmaFilter swaps SHEL's limits) take SHEL 0.8 5
    as SHEL 5 0.8; read literally it leaves out every reflection."""
    reflections = read(tmp_path, "SHEL 0.8 5\n")
    assert len(reflections) == 7
    assert "5 reflections outside d 0.8-5 Å left out" in reflections.notes[0]


@pytest.mark.parametrize(
    "limits, kept, note",
    [
        # the last, SHEL 9 0.8, keeps the 8.10 Å reflection: only the four beyond 0.8 Å out
        ("SHEL 5 0.8\nSHEL 9 0.8\n", 8, "SHEL 5 0.8 (line 12): not applied, the later SHEL 9 0.8"),
        ("SHEL 9 0.8\nSHEL 5 0.8\n", 7, "SHEL 9 0.8 (line 12): not applied, the later SHEL 5 0.8"),
    ],
)
def test_of_two_shel_lines_only_the_last_applies(tmp_path, limits, kept, note):
    """SHELXL's SHEL gives one lowres and one highres, and Olex2 keeps the last line's
    (pcxod/olex2 xlib/refmodel.cpp RefinementModel::SetSHEL), which the plugin's job sends:
    the command line applied both, 7 kept either way round."""
    reflections = read(tmp_path, limits)
    assert len(reflections) == kept
    assert reflections.notes[0].startswith(note)
    assert "(line 13): " in reflections.notes[1]
    assert len(reflections.notes) == 2


def test_an_earlier_shel_line_with_words_is_still_named(tmp_path):
    with pytest.raises(InputError) as error:
        read(tmp_path, "SHEL low high\nSHEL 5 0.8\n")
    assert error.value.line == 12


@pytest.mark.parametrize("omit", ["OMIT -2 0", "OMIT -2 -10"])
def test_omit_two_theta_not_above_zero_names_its_line(tmp_path, omit):
    with pytest.raises(InputError) as error:
        read(tmp_path, omit + "\n")
    assert error.value.line == 12
    assert "2θ(lim)" in str(error.value)


WEAK = "   1   1   0   -5.00    1.30   0\n   2   1   0    1.00    1.00   0\n"


def test_a_positive_omit_s_leaves_out_the_weak_data(tmp_path):
    """OMIT s > 0 leaves out I < (s/2)σ(I) (SHELXL-2018, as Olex2's h_o_s = s/2)."""
    (tmp_path / "x.res").write_text(HEADER.format(limits="OMIT 4\n"))
    (tmp_path / "x.hkl").write_text(HKL + WEAK)
    reflections = load(tmp_path / "x.res").read(tmp_path / "x.hkl")
    # -5.00(1.30) and 1.00(1.00) below 2σ, and three of the 15th layer's (0.55, 2.02 and 2.05
    # with σ 1.27-1.36); 2.90(1.29) stays
    assert len(reflections) == 9
    assert reflections.notes == [
        "OMIT 4 (line 12): 5 reflections with I < 2σ(I) left out, as SHELXL leaves them out"
    ]


@pytest.mark.parametrize(
    "limits, kept, note",
    [
        # the last, OMIT 4, rules: no 2θ cut, the five I < 2σ(I) left out
        (
            "OMIT -3 55\nOMIT 4\n",
            9,
            "OMIT -3 55 (line 12): not applied, the later OMIT 4 (line 13)",
        ),
        # the last, OMIT -3 55, rules: the four beyond 55° left out, -5.00 raised, 1.00 kept
        (
            "OMIT 4\nOMIT -3 55\n",
            10,
            "OMIT 4 (line 12): not applied, the later OMIT -3 55 (line 13)",
        ),
    ],
)
def test_of_two_omit_s_lines_only_the_last_applies(tmp_path, limits, kept, note):
    """The SHELXL manual gives one s and one 2θ(lim) (OMIT: "s is a threshold", "2-theta(lim)
    defines a limiting 2-theta"; SHELXL-93 text, WinGX help sxl225.htm), and Olex2 keeps the
    last it read (pcxod/olex2 xlib/refmodel.cpp AddOMIT), which the plugin's job sends: the
    command line applied both lines, 8 kept either way round."""
    (tmp_path / "x.res").write_text(HEADER.format(limits=limits))
    (tmp_path / "x.hkl").write_text(HKL + WEAK)
    reflections = load(tmp_path / "x.res").read(tmp_path / "x.hkl")
    assert len(reflections) == kept
    assert reflections.notes[0].startswith(note)
    assert len(reflections.notes) == (2 if kept == 9 else 3)


def test_an_earlier_omit_s_line_with_a_bad_two_theta_is_still_named(tmp_path):
    with pytest.raises(InputError) as error:
        read(tmp_path, "OMIT -2 0\nOMIT 4\n")
    assert error.value.line == 12


def test_a_lone_negative_omit_s_raises_the_weak_intensities_and_says_so(tmp_path):
    """OMIT s < 0 raises an I below (s/2)σ(I) to (s/2)σ(I), keeping the reflection: -5.00
    with σ 1.30 under OMIT -3 becomes -1.95; one above it is left as it is."""
    (tmp_path / "x.res").write_text(HEADER.format(limits="OMIT -3\n"))
    (tmp_path / "x.hkl").write_text(HKL + WEAK)
    reflections = load(tmp_path / "x.res").read(tmp_path / "x.hkl")
    assert len(reflections) == 14
    assert reflections.intensities[-2] == pytest.approx(-1.95)
    assert reflections.intensities[-1] == pytest.approx(1.0)
    assert reflections.notes == [
        "OMIT -3 (line 12): 1 intensities below -1.5σ(I) raised to -1.5σ(I), as SHELXL raises them"
    ]


# a P2(1) cell (non-centrosymmetric): 1 2 3's equivalent under the point group 2 is -1 2 -3;
# its Friedel mates -1 -2 -3 and 1 -2 3 are merged only by MERG 3 or 4
P21 = (
    "TITL p21\nCELL 0.71073 6.0 7.0 8.0 90 100 90\nZERR 2 0 0 0 0 0 0\nLATT -1\n"
    "SYMM -X, Y+1/2, -Z\n"
    "SFAC C O\nUNIT 8 4\n{limits}L.S. 0\nFVAR 1.0\nC1 1 0.1 0.2 0.3 11.0 0.02\nHKLF 4\nEND\n"
)
P21_HKL = """   1   2   3  100.00    1.00   0
  -1   2  -3  101.00    1.00   0
  -1  -2  -3  110.00    1.00   0
   1  -2   3  111.00    1.00   0
   1   1   1   50.00    1.00   0
"""


@pytest.mark.parametrize("merg, left", [("", 2), ("MERG 2\n", 2), ("MERG 3\n", 4), ("MERG 0\n", 1)])
def test_omit_h_k_l_keeps_friedel_mates_apart_in_a_noncentric_group(tmp_path, merg, left):
    """SHELXL's MERG 2 (the default) merges Friedel mates only in a centrosymmetric group, MERG
    3 or 4 always, MERG 0 none: OMIT 1 2 3 in P2(1) takes 1 2 3 and -1 2 -3, not -1 -2 -3."""
    (tmp_path / "x.res").write_text(P21.format(limits=merg + "OMIT 1 2 3\n"))
    (tmp_path / "x.hkl").write_text(P21_HKL)
    reflections = load(tmp_path / "x.res").read(tmp_path / "x.hkl")
    assert len(reflections) == 5 - left


def test_limits_in_nested_include_files_name_the_file_and_line(tmp_path):
    """An OMIT in an include file an include file reads is honoured, its note and its error
    naming that file and its line."""
    (tmp_path / "a.inc").write_text("REM outer\n+b.inc\n")
    (tmp_path / "b.inc").write_text("REM inner\nOMIT -3 55\n")
    (tmp_path / "x.res").write_text(HEADER.format(limits="+a.inc\n"))
    (tmp_path / "x.hkl").write_text(HKL)
    reflections = load(tmp_path / "x.res").read(tmp_path / "x.hkl")
    assert len(reflections) == 8
    assert reflections.notes[0].startswith("OMIT -3 55 (b.inc line 2): 4 reflections beyond")
    (tmp_path / "b.inc").write_text("REM inner\nOMIT -3 0\n")
    with pytest.raises(InputError) as error:
        load(tmp_path / "x.res").read(tmp_path / "x.hkl")
    assert error.value.line == 2 and error.value.path.endswith("b.inc")
