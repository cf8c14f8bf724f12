"""Reflection-file conventions met in session 19's sweep of real .hkl and .fcf files from other
labs (docs/benchmarks.md, 'Real reflection files from other labs'). Each test writes a few
lines in the layout of the real file it names; the real files are not kept here."""

import json

import numpy as np
import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.errors import InputError
from crystalx_core.io import read_reflections
from crystalx_core.io.hkl import HklfFormat, hklf5_groups, reflections_from_text
from crystalx_core.io.shelx_read import parse_shelx

# richardicooper/crystals precomp/all/demo/Bruce/shelx5.hkl @ ce42008c (a real two-component
# HKLF 5 file): component 2's line (batch -2) before the closing line of component 1, in the
# hk0 zone both with the same indices, elsewhere with others; a single of component 1; Fo²
# capped at 9999.99 on both lines of a group; the data end with `0 0 0 0.00 0.00 0`
CRYSTALS_HKLF5 = (
    "   2   0   0 9999.99  115.98  -2\n"
    "   2   0   0 9999.99  115.98   1\n"
    "   3   0   0  604.03    9.34  -2\n"
    "   3   0   0  604.03    9.34   1\n"
    "   8   0   0   53.68    7.55   1\n"
    "  -9   0   1  230.58   29.09  -2\n"
    "   9   0   0  230.58   29.09   1\n"
    "   0   0   0    0.00    0.00   0"
)

# dkratzert/ShelXFile tests/resources/2240189.hkl @ 4996a342 (SHELXL-2018/3's merged data of
# an IUCr paper): batch 0 written on every line, no 0 0 0 line and no line end after the last
SHELXFILE_BATCH_0 = (
    "  -1   2   0   86.70    2.86   0\n"
    "   0   3   0 8056.02   17.79   0\n"
    "   0   5   4 9999.99   12.47   0\n"
    "  -1   5  15    2.05    1.36   0"
)


def test_a_real_hklf5_file_is_read_as_its_components_groups():
    """Four observations: two overlaps of components 2 and 1, a single of 1, and an overlap
    whose component-2 line has other indices; the 0 0 0 line with batch 0 ends the data (not
    read as component 1, and no note of lines after it)."""
    reflections = reflections_from_text(CRYSTALS_HKLF5, "shelx5.hkl", HklfFormat(code=5))
    assert len(reflections) == 7
    assert reflections.batches.tolist() == [-2, 1, -2, 1, 1, -2, 1]
    assert hklf5_groups(reflections.batches).tolist() == [0, 0, 1, 1, 2, 3, 3]
    assert reflections.twin.hklf5 and reflections.twin.n == 2
    assert reflections.indices[5].tolist() == [-9, 0, 1]
    assert reflections.intensities[:2].tolist() == [9999.99, 9999.99]
    assert not reflections.notes


def test_a_real_hklf5_file_under_hklf_4_is_refused_naming_its_first_component_line():
    """The same file with the .ins's HKLF 4 (CRYSTALS' shelxs.ins has no HKLF at all)."""
    with pytest.raises(InputError) as caught:
        reflections_from_text(CRYSTALS_HKLF5, "shelx5.hkl")
    assert caught.value.line == 1
    assert "twin components of HKLF 5 data, read here as HKLF 4" in caught.value.message


def test_real_hklf5_data_beside_a_cif_model_say_where_hklf_5_is_given(tmp_path):
    """A CIF model gives its HKLF in the SHELX instructions it embeds (_shelx_res_file; XH_urea's
    say HKLF 4), or none: the refusal of HKLF 5 lines read as HKLF 4 names where HKLF 5 goes
    for either kind of model (it said 'in the .ins', which a CIF user does not have)."""
    from crystalx_core.io import load
    from tests.conftest import BENCHMARK

    hkl = tmp_path / "shelx5.hkl"
    hkl.write_text(CRYSTALS_HKLF5)
    with pytest.raises(InputError) as caught:
        load(BENCHMARK / "XH_urea" / "model.cif").read(hkl)
    assert caught.value.line == 1
    assert "a CIF carries them in _shelx_res_file" in caught.value.message


def test_twin_beside_real_hklf5_data_is_refused_saying_olex2_refines_it():
    """TWIN with HKLF 5: olex2's cctbx_olex_adapter.py refines the law's components with the
    file's (BASF: the HKLF 5 fractions first) and cctbx's observations.h takes both, so the
    refusal must not say it cannot be done; it says where to refine it."""
    ins = parse_shelx(
        "TITL x\nCELL 0.71073 7.29 12.40 16.47 98.3 90.8 99.2\nLATT 1\nSFAC C\nUNIT 56\n"
        "TWIN\nBASF 0.3 0.1 0.1\nC1 1 0.1 0.2 0.3 11.0 0.05\nHKLF 5\nEND\n",
        "bruce_twin5.ins",
    )
    with pytest.raises(InputError) as caught:
        ins.reflection_format()
    assert caught.value.line == 6
    assert "Olex2 adds the TWIN law's components" in caught.value.message
    assert "never both" not in caught.value.message


def test_batch_0_on_every_line_and_no_end_line_read_every_reflection():
    """Batch 0 is SHELXL's 'reset to one' (manual, HKLF): no scale groups, no free-R flags,
    no note; the last line, without 0 0 0 after it or a line end, is data."""
    reflections = reflections_from_text(SHELXFILE_BATCH_0, "2240189.hkl")
    assert len(reflections) == 4
    assert reflections.indices[-1].tolist() == [-1, 5, 15]
    assert reflections.sigmas[-1] == pytest.approx(1.36)
    assert not reflections.notes and not reflections.cut_short
    assert not np.any(reflections.batches)


# OldFedot/LogBooker test_data/Olex2/dom1_mC.hkl @ b82531f3 (synchrotron data of an Fe3Cl8
# phase refined in Olex2 with SHELXL-2018/3): no batch column, and after the 0 0 0 line six
# blank lines, the .ins SHELXT was started with (TITL ... END) and five CIF lines
SHELXT_TRAILER = (
    "   0  -2  -4  171.41   10.74\n"
    "   1   1   4 9999.00  158.34\n"
    " -18   2   8   32.88   16.14\n"
    "   0   0   0    0.00    0.00\n"
    "\n\n\n\n\n\n"
    "TITL dom1_mC in C2/m\n"
    "REM C2/m (#12 in standard setting)\n"
    "CELL 0.29030   9.543426   2.912660  11.193624  90.0000 115.8322  90.0000\n"
    "ZERR    2.00   0.002268   0.001184   0.005300   0.0000   0.0416   0.0000\n"
    "LATT  7\n"
    "SYMM -x, y,-z\n"
    "SFAC Cl Fe\n"
    "UNIT 16.00 6.00\n"
    "TREF\n"
    "HKLF 4\n"
    "END\n"
    "_computing_structure_solution     'SHELXT 2018/2 (Sheldrick, 2018)'\n"
)


def test_an_ins_and_cif_lines_after_the_end_of_the_data_are_not_read():
    """SHELXL stops at 0 0 0: the .ins and CIF text after it are neither data nor an error,
    and no note speaks of reflections after the end (none of those lines reads as one)."""
    reflections = reflections_from_text(SHELXT_TRAILER, "dom1_mC.hkl")
    assert reflections.indices.tolist() == [[0, -2, -4], [1, 1, 4], [-18, 2, 8]]
    assert reflections.intensities[1] == pytest.approx(9999.0)
    assert reflections.batches is None
    assert not reflections.notes and not reflections.cut_short


# OldFedot/LogBooker test_data/Jana/MgCO3-II.hkl @ b82531f3 (synchrotron data beside a Jana
# refinement): 3I4 and 8-column fields whose decimals float with the value (905.317, 21849.3),
# a negative Fo² fused to l (`   3-1326.60`), batch 1 throughout, an .ins after the 0 0 0 line
FLOATING_DECIMALS = (
    "  12   4   4 2570.74 905.317   1\n"
    "  13   1   1 21849.3 3943.37   1\n"
    "  13   1   3-1326.60 2261.73   1\n"
    "   0   0   0    0.00    0.00   0\n"
    "\n"
    "TITL MgCO3-II in C2/m \n"
    "HKLF 4\n"
    "END\n"
)


def test_eight_column_fields_with_floating_decimals_read_as_written():
    """FORTRAN's F8.2 takes a written decimal point where it stands: 905.317 is 905.317, not
    rounded to two places, and a negative Fo² touching l is its own field."""
    reflections = reflections_from_text(FLOATING_DECIMALS, "MgCO3-II.hkl")
    assert reflections.indices.tolist() == [[12, 4, 4], [13, 1, 1], [13, 1, 3]]
    assert reflections.intensities.tolist() == [2570.74, 21849.3, -1326.60]
    assert reflections.sigmas.tolist() == [905.317, 3943.37, 2261.73]
    assert reflections.batches.tolist() == [1, 1, 1] and not reflections.notes


# dkratzert/StructureFinder test-data/106c/P-1.fcf @ fb11547d (SHELXL-97, LIST 6): a '#'
# comment header, every line ending in a blank, loop rows in free format (Fo², σ, Fc, phase),
# and a last line of two blanks
SHELXL97_LIST6 = (
    "# \n"
    "# h,k,l, Fo-squared, sigma(Fo-squared), Fc and phi(calc) \n"
    "# \n"
    "data_p-1 \n"
    "_shelx_title ' P-1 in P-1' \n"
    "_shelx_refln_list_code          6 \n"
    "_shelx_F_calc_maximum       90.60 \n"
    " \n"
    "loop_ \n"
    " _symmetry_equiv_pos_as_xyz \n"
    " 'x, y, z' \n"
    " '-x, -y, -z' \n"
    " \n"
    "_cell_length_a     7.9492 \n"
    "_cell_length_b     8.9757 \n"
    "_cell_length_c    11.3745 \n"
    "_cell_angle_alpha 106.974 \n"
    "_cell_angle_beta   91.963 \n"
    "_cell_angle_gamma 103.456 \n"
    " \n"
    "loop_ \n"
    " _refln_index_h \n"
    " _refln_index_k \n"
    " _refln_index_l \n"
    " _refln_F_squared_meas \n"
    " _refln_F_squared_sigma \n"
    " _refln_F_calc \n"
    " _refln_phase_calc \n"
    "1 0 0 1213.18 23.57 35.76 180.0\n"
    "2 0 0 2994.42 52.34 54.05 180.0\n"
    "-9 1 0 20.63 1.34 4.15 180.0\n"
    "7 3 0 0.00 0.25 0.36 0.0\n"
    "0 -1 14 29.86 1.17 5.28 0.0\n"
    "  \n"
)


def test_a_shelxl97_list6_fcf_gives_its_fo2_and_sigma(tmp_path):
    """The .fcf read as reflections (`--hkl P-1.fcf`): Fo² and σ(Fo²) as written, Fc and the
    phase unused, the LIST named in the note; a 0.00 Fo² stays a measured zero."""
    path = tmp_path / "P-1.fcf"
    path.write_text(SHELXL97_LIST6)
    reflections = read_reflections(path)
    assert reflections.indices.tolist() == [
        [1, 0, 0],
        [2, 0, 0],
        [-9, 1, 0],
        [7, 3, 0],
        [0, -1, 14],
    ]
    assert reflections.intensities.tolist() == [1213.18, 2994.42, 20.63, 0.0, 29.86]
    assert reflections.sigmas.tolist() == [23.57, 52.34, 1.34, 0.25, 1.17]
    assert any("SHELXL LIST 6" in note for note in reflections.notes)


def test_the_sweep_runs_each_pair_and_says_whether_its_inputs_changed(tmp_path, capsys):
    """benchmarks/real_reflections_sweep.py on a folder of one pair (XH_urea's published .res
    and its data.hkl) and one the reader refuses (that .res with an HKLF 5 file of component 1
    alone), with --solve: R1 and the output against the published model for the first (assign
    and solve), the error line for the second, inputs unchanged, exit 0."""
    from tests.conftest import BENCHMARK, benchmark_script

    sweep = benchmark_script("real_reflections_sweep")
    urea = BENCHMARK / "XH_urea"
    (tmp_path / "urea.res").write_bytes((urea / "published.res").read_bytes())
    (tmp_path / "urea.hkl").write_bytes((urea / "data.hkl").read_bytes())
    text = (tmp_path / "urea.res").read_text()
    (tmp_path / "urea5.res").write_text(text.replace("HKLF 4", "HKLF 5"))
    (tmp_path / "PAIRS.tsv").write_text(
        "# name\tmodel\treflections\tpublished\n"
        "urea\turea.res\turea.hkl\t-\nurea5\turea5.res\turea.hkl\t-\n"
    )
    args = [str(tmp_path), "--solve", "--jsonl", str(tmp_path / "rows.jsonl")]
    assert sweep.main(args) == 0
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert [(r["name"], r["job"]) for r in rows] == [
        ("urea", "assign"),
        ("urea", "solve"),
        ("urea5", "assign"),
        ("urea5", "solve"),
    ]
    for row in rows[:2]:
        assert row["rc"] == 0 and 0 < row["r1"] < 0.1 and row["unchanged"]
        # the output matched with the published model: every atom found, element and H right
        found, of = row["found"].split("/")
        assert found == of != "0" and row["elements"] == row["h"] == f"{found}/{found}"
    for row in rows[2:]:
        assert row["rc"] == 2 and "every line names component 1" in row["error"]
        assert not row["traceback"] and row["unchanged"] and "found" not in row
    out = capsys.readouterr().out
    assert "| urea | assign | 0 |" in out and "| urea | solve | 0 |" in out


# cctbx/cctbx_project iotbx/regression/data/cu3182Isup2.hkl @ 06f206c8 (an IUCr paper's
# Isup2.hkl: SHELXL's LIST 4 .fcf named .hkl, Fc² before Fo², a status flag, and
# _shelx_F_squared_multiplier 1.000), cut to its header and a few rows
IUCR_ISUP2_HKL = (
    "#\n"
    "# h,k,l, Fc-squared, Fo-squared, sigma(Fo-squared) and status flag\n"
    "#\n"
    "data_I\n"
    "_shelx_title ' Se001_0m in P2(1)2(1)2(1)'\n"
    "_shelx_refln_list_code          4\n"
    "\n"
    "loop_\n"
    " _symmetry_equiv_pos_as_xyz\n"
    " 'x, y, z'\n"
    " '-x+1/2, -y, z+1/2'\n"
    " '-x, y+1/2, -z+1/2'\n"
    " 'x+1/2, -y+1/2, -z'\n"
    "\n"
    "_cell_length_a     7.2057\n"
    "_cell_length_b    11.0792\n"
    "_cell_length_c    41.2346\n"
    "_cell_angle_alpha  90.000\n"
    "_cell_angle_beta   90.000\n"
    "_cell_angle_gamma  90.000\n"
    "\n"
    "_shelx_F_squared_multiplier     1.000\n"
    "\n"
    "loop_\n"
    " _refln_index_h\n"
    " _refln_index_k\n"
    " _refln_index_l\n"
    " _refln_F_squared_calc\n"
    " _refln_F_squared_meas\n"
    " _refln_F_squared_sigma\n"
    " _refln_observed_status\n"
    "   2   0   0    11593.84     9744.94    256.49 o\n"
    "   3   1   0       15.83        5.22      7.43 o\n"
    "   8   2   0        2.72      -19.70     26.95 o\n"
)


def test_an_iucr_isup2_hkl_is_read_as_the_fcf_it_is(tmp_path):
    """Named .hkl but a CIF (its first line '#'): the measured Fo² and σ, not the Fc² column
    written before them; a negative Fo² kept as measured."""
    path = tmp_path / "cu3182Isup2.hkl"
    path.write_text(IUCR_ISUP2_HKL)
    reflections = read_reflections(path)
    assert reflections.indices.tolist() == [[2, 0, 0], [3, 1, 0], [8, 2, 0]]
    assert reflections.intensities.tolist() == [9744.94, 5.22, -19.70]
    assert reflections.sigmas.tolist() == [256.49, 7.43, 26.95]
    assert any("SHELXL LIST 4" in note for note in reflections.notes)


# EDref 3.7.3 (PyPI sdist, MIT) example_data_do_not_modify/CAU23/CAU23_173K_sg.cif: SHELXL-2025/1's
# CIF of 3D electron diffraction data (an Al MOF), its wavelength 0.01969 Å with
# _diffrn_radiation_type '?', its reflections embedded as _shelx_hkl_file; cut to three atoms
# (a μ-OH on a 2-fold axis with its riding H) and three reflections
ELECTRON_CIF = """data_CAU23_173K_sg
_audit_creation_method            'SHELXL-2025/1'
_space_group_name_H-M_alt         'P 21 21 2'
_space_group_name_Hall            'P 2 2ab'
loop_
 _space_group_symop_operation_xyz
 'x, y, z'
 '-x, -y, z'
 '-x+1/2, y+1/2, -z'
 'x+1/2, -y+1/2, -z'
_cell_length_a                    15.680(3)
_cell_length_b                    24.520(5)
_cell_length_c                    13.960(3)
_cell_angle_alpha                 90
_cell_angle_beta                  90
_cell_angle_gamma                 90
_cell_formula_units_Z             4
_diffrn_radiation_wavelength      0.01969
_diffrn_radiation_type            ?
loop_
 _atom_site_label
 _atom_site_type_symbol
 _atom_site_fract_x
 _atom_site_fract_y
 _atom_site_fract_z
 _atom_site_U_iso_or_equiv
 _atom_site_adp_type
 _atom_site_occupancy
 _atom_site_site_symmetry_order
 _atom_site_calc_flag
Al07 Al 0.4279(2) 0.55109(14) 0.1658(2) 0.0058(5) Uani 1 1 d
O00Q O 0.500000 0.500000 0.2225(5) 0.0095(11) Uani 1 2 d
H00Q H 0.500003 0.500001 0.290589 0.011 Uiso 1 2 calc
O00B O 0.3456(3) 0.5925(2) 0.0995(4) 0.0106(8) Uani 1 1 d
_shelx_hkl_file
;
   0   0   2 2699.03  128.09
   0   0   3  200.68   23.60
   0   0   4 1046.90   64.39
   0   0   0    0.00    0.00
;
"""


def test_audit_of_a_cif_whose_own_reflections_are_not_x_ray_audits_its_atoms(tmp_path, capsys):
    """`audit x.cif` read the CIF's own electron (or neutron) reflections and refused the whole
    audit, though `assign x.cif` and `batch` assign the same file without them; the audit of
    the atoms and H needs no reflections, so it goes on without them, saying why (batch's
    'not refined' note). Named with --hkl, the reflections are still refused."""
    from crystalx_core.cli import EXIT_INPUT, main

    cif = tmp_path / "CAU23_173K_sg.cif"
    cif.write_text(ELECTRON_CIF)
    args = ["audit", str(cif), "--method", "baseline", "--hydrogens", "rules", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    report = json.loads((tmp_path / "a.json").read_text())
    assert [a["label"] for a in report["atoms"]] == ["Al07", "O00Q", "O00B"]
    assert any(
        n.startswith("not refined: ") and "wavelength 0.01969 Å is not X-ray" in n
        for n in report["notes"]
    )
    capsys.readouterr()
    assert main([*args, "--hkl", str(cif), "--out", str(tmp_path / "b")]) == EXIT_INPUT
    assert "wavelength 0.01969 Å is not X-ray" in capsys.readouterr().err
    assert not list(tmp_path.glob("b*"))


# AK-Kleemiss/NoSpherA2 tests/ECP_SF/Co110.hkl @ 48d586e1 (Olex2's merged data of a Co complex):
# the measured reflections, then the ones the refinement omitted, each written `h k l -1.00 -1.00`
# (a negative σ: SHELXL leaves them out), then the 0 0 0 line; -5 4 4 is among the data only there
OLEX2_OMITTED = (
    "  -5   4   3    0.39    0.69\n"
    "  -5   4   5  267.84    5.10\n"
    "  10   4   6    5.38    2.99\n"
    " -10  -4   1   -1.00   -1.00\n"
    "  -5   4   4   -1.00   -1.00\n"
    "  10   5   5   -1.00   -1.00\n"
    "   0   0   0    0.00    0.00\n"
)


def test_the_reflections_olex2_omitted_are_left_out_with_a_note():
    """Co110's 198 lines of `-1.00 -1.00` after its 4897 reflections: left out, as SHELXL leaves
    out a negative σ, with one note naming the first such line (`assign --hkl` on the real file:
    4897 reflections, R1 0.0315)."""
    reflections = reflections_from_text(OLEX2_OMITTED, "Co110.hkl")
    assert reflections.indices.tolist() == [[-5, 4, 3], [-5, 4, 5], [10, 4, 6]]
    assert reflections.intensities.tolist() == [0.39, 267.84, 5.38]
    assert reflections.notes == [
        "3 reflection(s) with a negative sigma left out, as SHELXL does (the first on line 4)"
    ]
