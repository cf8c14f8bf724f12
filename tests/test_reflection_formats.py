"""Reflection files as other labs and programs write them: SHELX's free-R flags (batch -1),
data after the 0 0 0 line, XDS_ASCII.HKL and Scalepack .sca read through iotbx, CIF _refln
loops with '?' values, and messages that say what a wrong file is. Real files are
transcribed in part, each with its source."""

import json
import shutil

import numpy as np
import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.cli import EXIT_INPUT, main
from crystalx_core.errors import InputError
from crystalx_core.io import load, read_reflections, solve_reflections
from crystalx_core.io.hkl import reflections_from_text

from .test_shelx_io import HEADER

# AustralianSynchrotron/shelx_pipeline test-nat.hkl (commit 660cbda), lines 1-21: SHELXC's
# HKLF 4 output with the free-R flag in the batch column (1 work set, -1 test set; cctbx's
# r_free_utils.export_r_free_flags_for_shelx writes the same convention)
FREE_R = """\
   0   2   0 1241.84   30.44   1
   1   2   0 1523.04   19.97   1
   2   2   0  61.818   1.056   1
   0   3   0 -0.0686  0.2267   1
   1   3   0  13.761   0.266   1
   2   3   0  12.934   0.273   1
   3   3   0  16.853   0.433  -1
   0   4   0  12.287   0.409   1
   1   4   0  45.518   0.609   1
   2   4   0  368.76    3.88   1
   3   4   0  268.95    2.73   1
   4   4   0  165.93    2.28   1
   0   5   0  0.1013  0.3251   1
   1   5   0  238.77    2.69   1
   2   5   0  325.02    3.44   1
   3   5   0  644.09    6.70   1
   4   5   0  820.99    7.54   1
   5   5   0  12.852   0.446   1
   0   6   0  238.64    3.51   1
   1   6   0  397.65    4.21   1
   2   6   0  59.586   0.768  -1
"""


def test_shelx_free_r_flags_are_read_as_data_not_refused_as_twin_components():
    """Batch -1 in HKLF 4 data flags the free-R test set; it was refused as HKLF 5 twin
    components. All 21 are read (SHELXL refines them unless L.S. asks for R(free)), batch 1."""
    reflections = reflections_from_text(FREE_R, "test-nat.hkl")
    assert len(reflections) == 21
    assert reflections.intensities[6] == pytest.approx(16.853)
    assert set(reflections.batches.tolist()) == {1}
    assert any(note.startswith("2 reflection(s) with batch -1") for note in reflections.notes)
    weak = FREE_R.replace("   0   4   0  12.287   0.409", "   0   4   0  16.853   0.433")
    assert len(reflections_from_text(weak, "x.hkl")) == 21  # one test reflection's twin by chance


@pytest.mark.parametrize("batches", [(-2, 1), (-1, 1)])
def test_twin_components_sharing_their_fo2_stay_refused_naming_the_line(batches):
    """HKLF 5: the negative lines of a group repeat the Fo² and σ of the line that closes it
    (SHELXL manual, HKLF 5), whatever their batch numbers: read as HKLF 4 (the default) they
    are refused naming the line; with HKLF 5 they are refined (test_hklf5.py)."""
    text = (
        "   1   0   0   10.00    1.00   1\n"
        f"   1   1   0   20.00    2.00{batches[0]:4d}\n"
        f"  -1   1   0   20.00    2.00{batches[1]:4d}\n"
    )
    with pytest.raises(InputError) as error:
        reflections_from_text(text, "twin.hkl")
    assert error.value.one_line().startswith(f"twin.hkl:2: negative batch number {batches[0]}")


@pytest.mark.parametrize(
    "work, others",
    [("", "no batch"), ("   0", "0"), ("   2", "2")],  # no column, batch 0, scale batches 1/2
)
def test_free_r_flags_beside_other_batches_are_refused_as_such_not_as_twins(work, others):
    """Batch -1 whose Fo² no next line repeats, beside work batches other than 1, was refused
    as 'twin components of HKLF 5 data': untrue; the message says what the file holds."""
    text = (
        "   1   0   0   10.00    1.00   1\n"
        "   2   0   0   11.00    1.10  -1\n"
        f"   1   1   0   20.00    2.00{work}\n"
        "   1   1   1   30.00    3.00   1\n"
    )
    with pytest.raises(InputError) as error:
        reflections_from_text(text, "x.hkl")
    message = error.value.one_line()
    assert message.startswith(
        f"x.hkl:3: batch -1 (SHELX's free-R flag) beside batch numbers other than 1 ({others};"
    )
    assert "twin" not in message


def test_reflections_after_the_end_line_are_counted_in_a_note():
    """SHELXL stops at the first 0 0 0 (or blank) line; reflections after it were dropped
    without a word. Text after it (SADABS's notes) is not counted."""
    text = (
        "   1   0   0   10.00    1.00\n   0   1   0   20.00    2.00\n   0   0   0    0.00    0.00\n"
        "   0   0   1   30.00    3.00\n   1   1   1   40.00    4.00\nSADABS-2016/2 Rint 0.034\n"
    )
    reflections = reflections_from_text(text, "x.hkl")
    assert len(reflections) == 2
    assert any(
        n.startswith("2 reflection line(s) after the end of the data on line 3")
        for n in reflections.notes
    )
    plain = reflections_from_text(text[: text.index("   0   0   1   30")] + "Rint 0.034\n", "x.hkl")
    assert not any("after the end" in note for note in plain.notes)


# bstrb/BKinD BKinD_3.1_USER/FEACAC13/XDS_ASCII.HKL (commit c066405): the header lines the
# reader uses and the first data records, as XDS's CORRECT wrote them (3D ED: λ 0.019691 Å)
XDS_ASCII = """\
!FORMAT=XDS_ASCII    MERGE=FALSE    FRIEDEL'S_LAW=FALSE
!OUTPUT_FILE=XDS_ASCII.HKL        DATE=27-May-2024
!Generated by CORRECT   (VERSION Jun 30, 2023  BUILT=20230630)
!SPACE_GROUP_NUMBER=   61
!UNIT_CELL_CONSTANTS=    15.301    13.562    16.490  90.000  90.000  90.000
!X-RAY_WAVELENGTH=  0.019691
!NUMBER_OF_ITEMS_IN_EACH_DATA_RECORD=12
!ITEM_H=1
!ITEM_K=2
!ITEM_L=3
!ITEM_IOBS=4
!ITEM_SIGMA(IOBS)=5
!ITEM_XD=6
!ITEM_YD=7
!ITEM_ZD=8
!ITEM_RLP=9
!ITEM_PEAK=10
!ITEM_CORR=11
!ITEM_PSI=12
!END_OF_HEADER
     0     0     2  1.886E+03  3.386E+02  1211.8  1068.2    160.1   0.00131 100  89  -54.09
     0     0     3  1.781E+01  7.387E+00  1243.8  1042.4    160.4   0.00197 100  25  -54.04
     0     0    -3  7.808E+00  6.450E+00  1051.6  1197.2    158.9   0.00197 100  16   54.35
     0     0     4  1.453E+03  2.611E+02  1275.9  1016.6    160.6   0.00262 100  91  -53.99
     0     0    -4  1.520E+03 -2.730E+02  1019.5  1223.1    158.6   0.00262 100  89   54.41
!END_OF_DATA
"""


def test_xds_ascii_is_read_through_iotbx_and_electron_data_are_refused(tmp_path, capsys):
    """XDS_ASCII.HKL was 'not an HKLF 4 reflection line' at its header; now iotbx reads it.
    These are electron data (λ 0.019691 Å): refused in one line, as a CIF's would be. With an
    X-ray wavelength the records are read, the misfit (σ < 0, XDS's mark) left out."""
    hkl = tmp_path / "XDS_ASCII.HKL"
    hkl.write_text(XDS_ASCII)
    with pytest.raises(InputError) as error:
        read_reflections(hkl)
    assert error.value.one_line() == (
        f"{hkl}: !X-RAY_WAVELENGTH: wavelength 0.019691 Å is not X-ray; CrystalX refines X-ray data"
    )
    hkl.write_text(XDS_ASCII.replace("0.019691", "0.71073"))
    reflections = read_reflections(hkl)
    assert reflections.indices.tolist() == [[0, 0, 2], [0, 0, 3], [0, 0, -3], [0, 0, 4]]
    assert np.allclose(reflections.intensities, [1886, 17.81, 7.808, 1453])
    assert "XDS_ASCII" in reflections.notes[0]
    assert "1 misfit(s) (σ < 0, XDS's outlier mark) left out" in reflections.notes
    res = tmp_path / "x.res"
    res.write_text(HEADER + "FVAR 1.0\nC1 1 0.1 0.2 0.3 11.0 0.05\nHKLF 4\nEND\n")
    hkl.write_text(XDS_ASCII)
    argv = ["assign", str(res), "--hkl", str(hkl), "--quiet", "--method", "baseline"]
    assert main(argv + ["--hydrogens", "rules"]) == EXIT_INPUT
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"{hkl}: !X-RAY_WAVELENGTH" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["XDS_ASCII.HKL", "x.res"]


def test_an_xds_file_that_is_not_xds_ascii_says_what_to_pass(tmp_path):
    hkl = tmp_path / "INTEGRATE.HKL"
    hkl.write_text("!OUTPUT_FILE=INTEGRATE.HKL      DATE=27-May-2024\n!END_OF_HEADER\n")
    with pytest.raises(InputError) as error:
        read_reflections(hkl)
    assert "not XDS_ASCII" in error.value.one_line() and "XDSCONV" in error.value.one_line()


def test_a_merged_scalepack_file_is_read_through_iotbx(tmp_path):
    """Scalepack's merged format as iotbx.scalepack.merge reads it: '    1', a line, the cell
    (6F10.3) and space group, then 3I4 and I, σ(I) [, I(-), σ(I(-))] in F8.1; an I(-) is
    read as -h -k -l, and '0.0 -1.0' is Scalepack's missing mate."""
    hkl = tmp_path / "x.sca"
    hkl.write_text(
        "    1\n -987\n"
        "    10.000    11.000    12.000    90.000    95.000    90.000 p21/c\n"
        "   1   0   0    10.0     1.0\n"
        "   0   1   1    20.0     2.0    22.0     2.5\n"
        "   1   1   1    30.0     3.0     0.0    -1.0\n"
    )
    reflections = read_reflections(hkl)
    assert reflections.indices.tolist() == [[1, 0, 0], [0, 1, 1], [0, -1, -1], [1, 1, 1]]
    assert reflections.intensities.tolist() == [10, 20, 22, 30]
    assert "Scalepack" in reflections.notes[0]


def test_what_iotbx_leaves_out_of_scalepack_and_xds_files_is_said(tmp_path):
    """iotbx.scalepack.merge skips overloads (I written '*') and I of 0 or 1 with σ 0 without
    a word; each is now counted in a note (Scalepack's missing Friedel mate, 0.0 -1.0, is not
    data). A first line '    1' with trailing blanks and CR-only line ends read as iotbx
    and classic Mac files write them; XDS_ASCII with CR line ends too."""
    hkl = tmp_path / "x.sca"
    lines = [
        "    1  ",
        " -987",
        "    10.000    11.000    12.000    90.000    95.000    90.000 p21/c",
        "   1   0   0    10.0     1.0",
        "   0   1   1********     2.0    22.0     2.5",
        "   1   1   1     0.0     0.0",
        "   2   0   0     1.0     0.0     0.0    -1.0",
    ]
    hkl.write_bytes("\r".join(lines).encode() + b"\r")
    reflections = read_reflections(hkl)
    assert reflections.indices.tolist() == [[1, 0, 0], [0, -1, -1]]
    assert "1 overload(s) (I written '*', Scalepack's mark) left out" in reflections.notes
    assert "2 I of 0 or 1 with σ 0 (no measurement) left out" in reflections.notes
    xds = tmp_path / "XDS_ASCII.HKL"
    xds.write_bytes(XDS_ASCII.replace("0.019691", "0.71073").replace("\n", "\r").encode())
    reflections = read_reflections(xds)
    assert len(reflections) == 4
    assert "1 misfit(s) (σ < 0, XDS's outlier mark) left out" in reflections.notes


REFLN = (
    "data_x\nloop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n"
    "_refln_F_squared_meas\n_refln_F_squared_sigma\n"
)


def test_a_refln_row_without_a_measured_value_is_left_out_with_a_note(tmp_path):
    """CIF '?' (unknown) and '.' (inapplicable) for Fo² or σ: no observation, so the row is
    left out (it stopped the file before); a value written 'nan' is still an error."""
    cif = tmp_path / "x.cif"
    cif.write_text(REFLN + "1 0 0 10.0 1.0\n0 1 0 ? 2.0\n0 0 1 30.0 .\n1 1 0 40.0 4.0\n")
    reflections = read_reflections(cif)
    assert reflections.indices.tolist() == [[1, 0, 0], [1, 1, 0]]
    assert any(
        n.startswith("2 reflection(s) with '?' or '.'") and "line 9" in n for n in reflections.notes
    )
    cif.write_text(REFLN + "1 0 0 10.0 1.0\n0 1 0 nan 2.0\n")
    with pytest.raises(InputError) as error:
        read_reflections(cif)
    assert error.value.one_line() == f"{cif}:9: _refln_F_squared_meas: 'nan' is not a number"


@pytest.mark.parametrize(
    "line, message",
    [
        ("TITL alanine in P2(1)2(1)2(1)", "a SHELX instruction line, not a reflection"),
        ("   1   1   1********    1.00", "a field of '*' (FORTRAN's mark for a value too wide"),
    ],
)
def test_a_line_that_is_no_reflection_says_what_it_is(line, message):
    with pytest.raises(InputError) as error:
        reflections_from_text(line + "\n   1   0   0   10.00    1.00\n", "x.hkl")
    assert error.value.one_line().startswith(f"x.hkl:1: {message}")


# COD 2105506 (CC0), the lines that matter: an 'X c' cell, C-face and (1/4,1/2,3/4) centred
COD_2105506 = """\
data_2105506
_symmetry_space_group_name_Hall  Xc
_symmetry_space_group_name_H-M   'X c'
_cell_angle_alpha                90
_cell_angle_beta                 90.000(7)
_cell_angle_gamma                90
_cell_length_a                   37.8883(18)
_cell_length_b                   4.7233(2)
_cell_length_c                   11.6835(12)
loop_
_symmetry_equiv_pos_site_id
_symmetry_equiv_pos_as_xyz
1 x,y,z
2 x,-y,z+1/2
3 x+1/2,y,z+1/2
4 x+1/2,-y,z
5 x+1/4,y+1/2,z+3/4
6 x+1/4,-y+1/2,z+1/4
7 x+3/4,y+1/2,z+1/4
8 x+3/4,-y+1/2,z+3/4
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
C1 C 0.1 0.2 0.3
"""


def test_a_centring_shelx_cannot_write_stops_a_res_naming_the_operators_not_an_audit(
    tmp_path, capsys
):
    """The .res writer stopped naming no line; it now names the operator list's. An audit
    writes no .res: it reads such a CIF (on main it did; refusing it at reading broke that)."""
    cif = tmp_path / "x.cif"
    cif.write_text(COD_2105506)
    assert load(cif).structure.symmetry_line == 12
    argv = ["--quiet", "--method", "baseline", "--hydrogens", "rules"]
    assert main(["assign", str(cif), *argv]) == EXIT_INPUT
    error = capsys.readouterr().err
    assert f"{cif}:12: the centring translations" in error and "no SHELX LATT code" in error
    assert error.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["x.cif"]
    assert main(["audit", str(cif), *argv]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.cif", "x_audit.html", "x_audit.json"]


def test_assign_and_solve_refuse_such_a_centring_before_they_run(tmp_path, capsys, monkeypatch):
    """The refusal came only when the .res was written, after the whole job (6 s on COD
    2105506's full CIF): assign and solve now check before any work."""
    import crystalx_core.pipeline as pipeline

    def ran(*args, **kwargs):
        raise AssertionError("the job ran")

    monkeypatch.setattr(pipeline, "assign_job", ran)
    monkeypatch.setattr(pipeline, "solve_job", ran)
    cif = tmp_path / "x.cif"
    cif.write_text(COD_2105506)
    for command in ("assign", "solve"):
        assert main([command, str(cif), "--quiet"]) == EXIT_INPUT
        assert f"{cif}:12: the centring translations" in capsys.readouterr().err


def test_a_refln_loop_of_measured_f_alone_is_squared_as_hklf_3_reads_it(tmp_path):
    """CIF core _refln_F_meas and _refln_F_sigma with no calculated column (a program that
    refines on F wrote it) were refused as 'F with calculated phases'; they are the measured
    F: Fo² = F², σ(Fo²) = 2 F σ(F), at least σ(F)² (F near 0 keeps a σ). With a calculated
    column beside them (an .fcf of LIST 3: Olex2's refinement.py create_fcf_content writes
    F_meas, F_sigma, A_calc, B_calc) they are read the same; F with no σ column is read with
    every σ estimated (test_reflection_conventions)."""
    cif = tmp_path / "x_sup2.hkl"
    cif.write_text(
        "data_x\nloop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n_refln_F_meas\n"
        "_refln_F_sigma\n1 0 0 10.0 0.5\n0 1 0 3.0 1.0\n0 0 1 0.2 1.0\n"
    )
    reflections = read_reflections(cif)
    assert reflections.intensities == pytest.approx([100.0, 9.0, 0.04])
    assert reflections.sigmas.tolist() == [10.0, 6.0, 1.0]
    assert "squared to Fo² as HKLF 3 reads them" in reflections.notes[0]
    cif.write_text(
        cif.read_text()
        .replace("_refln_F_sigma\n", "_refln_F_sigma\n_refln_F_calc\n")
        .replace("0.5\n", "0.5 9.0\n")
        .replace("1.0\n", "1.0 2.0\n")
    )
    with_fc = read_reflections(cif)
    assert with_fc.intensities == pytest.approx([100.0, 9.0, 0.04])
    assert with_fc.sigmas.tolist() == [10.0, 6.0, 1.0]
    cif.write_text(
        "data_x\nloop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n_refln_F_meas\n1 0 0 10.0\n"
    )
    alone = read_reflections(cif)
    assert alone.intensities.tolist() == [100.0] and alone.sigmas.tolist() == [1.0]
    assert alone.notes[1].startswith("no σ column in the _refln_F_meas loop")


def test_an_audit_says_what_the_reflection_reader_did(shared_data, tmp_path, capsys):
    """The audit dropped the reader's notes (solve and assign pass them on): half of the data
    after a stray 0 0 0 line went unsaid. XH_alanine's own model and data."""
    from .conftest import BENCHMARK

    lines = (BENCHMARK / "XH_alanine" / "data.hkl").read_text().splitlines(keepends=True)
    hkl = tmp_path / "x.hkl"
    hkl.write_text("".join(lines[:2000] + ["   0   0   0    0.00    0.00\n"] + lines[2000:]))
    res = tmp_path / "x.res"
    res.write_text((BENCHMARK / "XH_alanine" / "published.res").read_text())
    argv = ["audit", str(res), "--hkl", str(hkl), "--method", "baseline", "--hydrogens", "rules"]
    assert main(argv + ["--quiet", "--json"]) == 0
    notes = json.loads((tmp_path / "x_audit.json").read_text())["notes"]
    assert any("reflection line(s) after the end of the data on line 2001" in n for n in notes)


def test_broken_xds_and_scalepack_files_are_one_line_errors(tmp_path):
    """iotbx's readers fail by bare assertions (an empty message) or name the line; each
    becomes one line that says what is wrong, with the line where iotbx gives it."""
    xds = tmp_path / "XDS_ASCII.HKL"
    xds.write_text("".join(x for x in XDS_ASCII.splitlines(True) if "UNIT_CELL" not in x))
    with pytest.raises(InputError) as error:
        read_reflections(xds)
    assert error.value.one_line() == (
        f"{xds}: XDS_ASCII file that iotbx cannot read: a header item missing (cell, space "
        "group, H K L IOBS SIGMA columns) or a record of the wrong length"
    )
    sca = tmp_path / "x.sca"
    sca.write_text(
        "    1\n -987\n    10.000    11.000    12.000    90.000    95.000    90.000 p21/c\n"
        "   1   0   0     abc     1.0\n"
    )
    with pytest.raises(InputError) as error:
        read_reflections(sca)
    assert error.value.one_line() == (
        f"{sca}:4: Scalepack file that iotbx cannot read: expecting (3I4, 4F8.1)"
    )


@pytest.mark.parametrize(
    "name, rows, wanted",
    [
        # GSAS's Rietveld reflections of a powder pattern (COD vn2124sup1, line 171)
        (
            "codtools_vn2124sup1-trimmed.cif",
            "1 1 0 1 o -81.317 2.109 0.00 8.03896 0.00\n",
            ": powder data, _pd_ tags: Fo² apportioned by a Rietveld fit; CrystalX refines "
            "single-crystal data only",
        ),
    ],
)
def test_a_powder_loop_without_sigma_is_refused_as_powder_data(
    tmp_path, shared_data, name, rows, wanted
):
    """A real COD file with a _refln loop of Fo² but no σ, a powder pattern's: the refusal named
    h, k and l, which the loop has, among the tags 'needed', and said nothing of its being a
    powder pattern's; it says that alone now (a loop without σ of single-crystal data, as COD
    2019572's, is read: test_reflection_conventions). The loop's header and first row are cut
    from the file."""
    text = (shared_data / "corpus" / name).read_text()
    head = text[: text.index("loop_\n_refln_index_h")]
    header = text[len(head) : text.index(rows)]
    path = tmp_path / name
    path.write_text(head + header + rows)
    line = (head + header).split("\n").index("_refln_F_squared_meas") + 1
    with pytest.raises(InputError) as caught:
        read_reflections(path)
    assert str(caught.value) == (f"{path}:{line}: _refln_F_squared_meas{wanted}")


def test_a_cif_s_own_refln_loop_is_its_reflections_for_every_command(tmp_path, shared_data):
    """sf_p-1_a (COD) carries its 963 measured Fo² as a _refln loop: Loaded.reflections_file
    named none (only _shelx_hkl_file counted), so `solve X.cif` stopped with 'no reflections'
    and `assign X.cif` gave no hint. A CIF whose only _refln tag is the standard reflections'
    (_diffrn_standard_refln_index_h, sfarchiv2_2004811) carries none."""
    path = tmp_path / "pa.cif"
    shutil.copy(shared_data / "corpus" / "sf_p-1_a.cif", path)
    loaded = load(path)
    assert loaded.reflections_file(beside=False) == path and loaded.carries_reflections
    reflections = solve_reflections(loaded, None)
    assert len(reflections.indices) == 963
    assert reflections.notes[0].startswith("reflections from the _refln_F_squared_meas loop")
    assert main(["assign", str(path), "--quiet", "--hydrogens", "rules"]) == 0
    notes = json.loads((tmp_path / "pa_crystalx.json").read_text())["notes"]
    assert f"pa.cif carries its reflections (_refln_F_squared_meas): add --hkl {path}" in " ".join(
        notes
    )
    standard = load(shared_data / "corpus" / "sfarchiv2_2004811.cif")
    assert standard.reflections_file(beside=False) is None and not standard.carries_reflections


SIGMA = "  _refln_F_squared_sigma\n"


def sf_p1a_without_sigma(shared_data, folder, name="pa"):
    """sf_p-1_a (COD) with the σ column cut from its _refln loop, as COD 2019572's loop of Fo²
    and Fc² is written, and its 963 Fo², σ written as name.hkl beside it (HKLF 4): (cif, hkl)."""
    text = (shared_data / "corpus" / "sf_p-1_a.cif").read_text()
    head, rest = text.split(SIGMA, 1)
    rows, tail = rest.split("\n\n", 1)
    table = [row.split() for row in rows.split("\n")]
    assert len(table) == 963 and {len(row) for row in table} == {5}
    cif, hkl = folder / f"{name}.cif", folder / f"{name}.hkl"
    cif.write_text(head + "\n".join(" ".join(row[:4]) for row in table) + "\n\n" + tail)
    lines = [
        f"{int(h):4d}{int(k):4d}{int(l):4d}{float(f):8.2f}{float(s):8.2f}"
        for h, k, l, f, s in table
    ]
    hkl.write_text("\n".join(lines + ["   0   0   0    0.00    0.00"]) + "\n")
    return cif, hkl


def test_a_loop_without_sigma_yields_to_the_hkl_beside_it_and_is_read_without_one(
    tmp_path, capsys, shared_data
):
    """A CIF's _refln loop without σ (as COD 2019572's) was refused, and so not counted as the
    file's reflections. It is read now, its σ estimated (test_reflection_conventions), but a
    same-named .hkl beside it, whose σ are measured, is still read first by every command that
    looks for reflections; --hkl X.cif, or no .hkl beside, reads the loop."""
    cif, hkl = sf_p1a_without_sigma(shared_data, tmp_path)
    loaded = load(cif)
    assert loaded.carries_reflections and loaded.refln_without_sigma
    assert loaded.reflections_file() == hkl and loaded.reflections_file(beside=False) == cif
    measured = solve_reflections(loaded, None)
    assert len(measured.indices) == 963 and measured.sigmas.min() > 0
    assert not any("no σ column" in note for note in measured.notes)
    assert measured.notes[-1] == (
        "pa.cif's own _refln_F_squared_meas loop not read (it has no σ): pa.hkl beside it is"
    )
    capsys.readouterr()
    command = ["assign", str(cif), "--hkl", str(cif), "--json", "--hydrogens", "rules"]
    assert main(command + ["--out", str(tmp_path / "out")]) == 0
    notes = " ".join(json.loads(capsys.readouterr().out)["notes"])
    assert "no σ column in the _refln_F_squared_meas loop" in notes
    hkl.unlink()  # none beside it: solve reads the loop
    estimated = solve_reflections(load(cif), None)
    floor = 0.01 * np.median(estimated.intensities[estimated.intensities > 0])
    assert len(estimated.indices) == 963 and estimated.sigmas == pytest.approx(floor)


def test_a_structure_s_own_loop_is_read_not_another_block_s_before_it(tmp_path, shared_data):
    """Of a CIF with one structure (Loaded.block ''), the own _refln loop was read as 'the
    first block with one': a data_other block before it, with a loop of its own, was read in
    its place without a word, by solve, batch and --hkl X.cif alike."""
    text = (shared_data / "corpus" / "sf_p-1_a.cif").read_text()
    other = (
        "data_other\nloop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n"
        "_refln_F_squared_meas\n_refln_F_squared_sigma\n"
        "1 0 0 70.96 0.32\n2 0 0 75.44 0.54\n3 0 0 70.76 0.56\n4 0 0 215.76 1.56\n"
    )
    path = tmp_path / "pa.cif"
    path.write_text(other + text)
    loaded = load(path)
    assert loaded.block == "" and loaded.carries_reflections
    for reflections in (solve_reflections(loaded, None), loaded.read(path)):
        assert len(reflections.indices) == 963
        assert reflections.intensities[0] == pytest.approx(35.48)


@pytest.mark.parametrize(
    "loop, wanted",
    [
        # every tag there, but the status in a loop of its own
        (
            "loop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n_refln_F_squared_meas\n"
            "_refln_F_squared_sigma\n1 1 0 81.3 2.4\nloop_\n_refln_observed_status\no\n",
            "_refln_observed_status is written apart from the _refln_F_squared_meas loop: it "
            "must be a column of it",
        ),
    ],
)
def test_a_refln_loop_that_cannot_be_read_is_refused_saying_what_is_wrong(tmp_path, loop, wanted):
    """A loop with every tag it needs, but its status in a loop of its own, was refused as
    'needing' all five tags it has: it says what is wrong, in one line naming the file and
    the loop's line."""
    path = tmp_path / "x.cif"
    path.write_text("data_x\n_cell_length_a 5\n" + loop)
    line = path.read_text().split("\n").index("_refln_F_squared_meas") + 1
    with pytest.raises(InputError) as caught:
        read_reflections(path)
    assert caught.value.one_line() == f"{path}:{line}: {wanted}"


def test_a_powder_pattern_s_loop_with_sigma_is_not_read_as_single_crystal_data(
    tmp_path, shared_data
):
    """COD vn2124sup1 (GSAS-II, a Rietveld fit: _pd_refln_wavelength_id in its _refln loop)
    with a σ column put in its loop: it was read as single-crystal Fo² without a word, and was
    the file's reflections. Now it is refused as powder data, and a .hkl beside is read."""
    text = (shared_data / "corpus" / "codtools_vn2124sup1-trimmed.cif").read_text()
    meas = "_refln_F_squared_meas\n"
    row = "1 1 0 1 o -81.317 2.109 0.00 8.03896 0.00\n"
    assert meas in text and row in text
    text = text.replace(meas, meas + "_refln_F_squared_sigma\n").replace(
        row, "1 1 0 1 o -81.317 2.4 2.109 0.00 8.03896 0.00\n"
    )
    path = tmp_path / "vn.cif"
    path.write_text(text)
    line = text.split("\n").index("_refln_F_squared_meas") + 1
    wanted = (
        f"{path}:{line}: _refln_F_squared_meas: powder data, _pd_ tags: Fo² apportioned by a "
        "Rietveld fit; CrystalX refines single-crystal data only"
    )
    with pytest.raises(InputError) as caught:
        read_reflections(path)
    assert caught.value.one_line() == wanted
    loaded = load(path)
    assert not loaded.carries_reflections and loaded.unread_reflections() == wanted
