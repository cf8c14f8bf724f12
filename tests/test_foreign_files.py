"""Files other programs write that the readers took wrongly or refused: each test names where
the convention is documented or seen; the inputs are small files written here in its image."""

import json

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest

from crystalx_core.errors import InputError
from tests.conftest import BENCHMARK, line_of

CELL = """_cell_length_a 10.0
_cell_length_b 11.0
_cell_length_c 12.0
_cell_angle_alpha 90
_cell_angle_beta 95.0
_cell_angle_gamma 90
"""
SYMOPS = """loop_
 _space_group_symop_operation_xyz
 'x, y, z'
 '-x, y+1/2, -z+1/2'
 '-x, -y, -z'
 'x, -y-1/2, z-1/2'
"""
ATOMS = """loop_
 _atom_site_label
 _atom_site_type_symbol
 _atom_site_fract_x
 _atom_site_fract_y
 _atom_site_fract_z
C1 C 0.1 0.2 0.3
O1 O 0.3 0.1 0.2
"""


# --- 1. a CIF error names the row of the atom it is about -----------------------------------


def test_a_cif_error_names_the_row_of_a_primed_label(tmp_path):
    """Primes are part of CIF labels (C1' of a ribose, the IUCr's own examples); a row may run
    over two lines and the label need not be the first column (CIF 1.1 syntax, IUCr: a loop's
    values are read in tag order, whatever the line breaks)."""
    from crystalx_core.io.cif import read_cif

    text = (
        "data_x\n" + CELL + SYMOPS + "loop_\n _atom_site_type_symbol\n _atom_site_label\n"
        " _atom_site_fract_x\n _atom_site_fract_y\n _atom_site_fract_z\n"
        "C C1 0.1 0.2 0.3\n"
        "O 'O1' 0.2 0.2\n 0.3\n"
        "Xx C1' 0.3 0.2 0.3\n"
    )
    path = tmp_path / "primes.cif"
    path.write_text(text)
    with pytest.raises(InputError, match="site C1': unknown element") as error:
        read_cif(path)
    assert error.value.line == line_of(text, "Xx C1'")
    path.write_text(text.replace("Xx C1'", "C C1'").replace("O 'O1' 0.2", "O 'O1' ?"))
    with pytest.raises(InputError, match="site O1: missing or invalid") as error:
        read_cif(path)
    assert error.value.line == line_of(text, "O 'O1'")


# --- 2. reflection values written without a decimal point -----------------------------------


def test_a_value_without_a_decimal_point_has_two_implied_decimals_as_shelxl_reads_it():
    """SHELXL manual (HKLF): 'The data are read in FORMAT(3I4,2F8.2,I4) ... subject to
    FORTRAN-77 conventions', under which F8.2 reads '    1234' as 12.34 (cctbx's SHELX writer
    adds the '.' for this reason: 'FORTRAN F8.2 interprets 1234567 as 12345.67'). A decimal
    point, where written, wins; the notes say how many lines were read so."""
    from crystalx_core.io.hkl import reflections_from_text

    text = (
        "   1   0   0    1234      56\n"
        "   2   0   0  -12345     100   2\n"
        "   0   2   0   12.34    0.56   1\n"
        "   0   0   3 1.5E+02     5E1\n"
        "   0   0   0       0       0\n"
    )
    reflections = reflections_from_text(text, "x.hkl")
    assert reflections.intensities.tolist() == pytest.approx([12.34, -123.45, 12.34, 150.0])
    assert reflections.sigmas.tolist() == pytest.approx([0.56, 1.0, 0.56, 0.5])
    assert reflections.batches.tolist() == [0, 2, 1, 0]
    assert any("5 value(s)" in note and "12.34" in note for note in reflections.notes)


def test_hklf3_amplitudes_without_decimal_points_and_batches():
    """HKLF 3 reads F and σ(F) in the same FORMAT(3I4,2F8.2,I4); Fo² = F², σ(Fo²) = 2Fσ(F)."""
    from crystalx_core.io.hkl import HklfFormat, reflections_from_text

    text = "   1   0   0    1000      50   1\n   0   1   0     500      20   2\n"
    reflections = reflections_from_text(text, "x.hkl", HklfFormat(code=3))
    assert reflections.intensities.tolist() == pytest.approx([100.0, 25.0])
    assert reflections.sigmas.tolist() == pytest.approx([10.0, 2.0])
    assert reflections.batches.tolist() == [1, 2]


# --- 3. a SHELXL .fcf where the reflections are asked for ------------------------------------

FCF_HEAD = (
    """#
# h,k,l, Fc-squared, Fo-squared, sigma(Fo-squared) and status flag
#
data_x
_shelx_title ' x in P2(1)/c'
_shelx_refln_list_code          {code}
_shelx_F_calc_maximum      277.34
_exptl_crystal_F_000      1520.00
_reflns_d_resolution_high  0.7570

"""
    + SYMOPS
    + "\n"
    + CELL
    + "\n_shelx_F_squared_multiplier     1.000\n\n"
)
LIST4 = (
    FCF_HEAD.format(code=4)
    + """loop_
 _refln_index_h
 _refln_index_k
 _refln_index_l
 _refln_F_squared_calc
 _refln_F_squared_meas
 _refln_F_squared_sigma
 _refln_observed_status
   2   0   0    11593.84     9744.94    256.49 o
   4   0   0      163.70      166.53     16.72 o
   3   1   0       15.83        5.22      7.43 <
   1   0   0        0.07       10.37     27.15 -
   8   2   0        2.72      -19.70     26.95 x
"""
)
LIST6 = (
    FCF_HEAD.format(code=6)
    + """loop_
 _refln_index_h
 _refln_index_k
 _refln_index_l
 _refln_F_squared_meas
 _refln_F_squared_sigma
 _refln_F_calc
 _refln_phase_calc
   2   0   0     9744.94    256.49    107.67   180.0
   4   0   0      166.53     16.72     12.79     0.0
"""
)
LIST3 = (
    FCF_HEAD.format(code=3)
    + """loop_
 _refln_index_h
 _refln_index_k
 _refln_index_l
 _refln_F_meas
 _refln_F_sigma
 _refln_A_calc
 _refln_B_calc
   2   0   0     98.71      1.30   -107.67      0.00
"""
)


def test_an_fcf_of_list_4_or_6_gives_its_fo2_and_sigma(tmp_path):
    """SHELXL writes name.fcf as a CIF: LIST 4 h k l Fc² Fo² σ(Fo²) status (cctbx keeps one,
    iotbx/regression/data/cu3182Isup2.hkl, as the IUCr names it), LIST 6 h k l Fo² σ(Fo²) Fc φ
    (cctbx iotbx/shelx/fcf.py). Olex2 reads an .fcf where a .hkl is expected (xlib/hkl.cpp,
    THklFile::LoadFromStrings). CIF core _refln_include_status: '-' systematically absent and
    'x' excluded are not refined; 'o' and '<' are."""
    from crystalx_core.io import read_reflections
    from crystalx_core.io.hkl import HklfFormat

    path = tmp_path / "x.fcf"
    path.write_text(LIST4)
    reflections = read_reflections(path)
    assert reflections.indices.tolist() == [[2, 0, 0], [4, 0, 0], [3, 1, 0]]
    assert reflections.intensities.tolist() == [9744.94, 166.53, 5.22]
    assert reflections.sigmas.tolist() == [256.49, 16.72, 7.43]
    assert reflections.notes[1:] == [
        "1 reflection(s) systematically absent (_refln_observed_status '-') left out",
        "1 reflection(s) excluded (_refln_observed_status 'x') left out",
    ]
    sup = tmp_path / "x_sup2.hkl"  # the IUCr's name for a deposited .fcf
    sup.write_text(LIST4)
    assert len(read_reflections(sup)) == 3
    path.write_text(LIST6)
    assert read_reflections(path).intensities.tolist() == [9744.94, 166.53]
    as_f = read_reflections(path, HklfFormat(code=3, scale=2.0))  # the .ins's HKLF: done already
    assert as_f.intensities.tolist() == [9744.94, 166.53]
    assert "HKLF 3 of the instructions not applied to x.fcf" in as_f.notes[-1]


def test_an_fcf_of_f_list_3_is_read_as_its_f_and_sigma_squared(tmp_path):
    """LIST 3 writes h k l Fo σ(Fo) A B (SHELXL manual, LIST; Olex2's refinement.py
    create_fcf_content writes it as _refln_F_meas, _refln_F_sigma, _refln_A_calc, _refln_B_calc
    from its Fo², `as_amplitude_array`): measured F with σ, refused before as 'F with calculated
    phases'; read now as HKLF 3 reads F, squared (2 × 98.71 × 1.30 = 256.646), the calculated
    columns left aside. A row's Fo² '?' is no datum."""
    from crystalx_core.io import read_reflections

    path = tmp_path / "x.fcf"
    path.write_text(LIST3)
    reflections = read_reflections(path)
    assert reflections.indices.tolist() == [[2, 0, 0]]
    assert reflections.intensities == pytest.approx([98.71**2])
    assert reflections.sigmas == pytest.approx([2 * 98.71 * 1.30])
    assert reflections.notes[0] == (
        "reflections from the _refln_F_meas loop of x.fcf (SHELXL LIST 3): as written there, "
        "merged, indexed and scaled by the program that wrote it; F and σ(F) squared to Fo² as "
        "HKLF 3 reads them"
    )
    path.write_text(LIST4.replace("  166.53", "       ?"))  # unknown: that row is no datum
    unknown = read_reflections(path)
    assert unknown.indices.tolist() == [[2, 0, 0], [3, 1, 0]]
    assert f"(the first on line {line_of(LIST4, '   4   0   0')})" in unknown.notes[1]


def _fcf_of(hkl, path):
    """A LIST 4 .fcf of a real .hkl's reflections (Fc² given as Fo²)."""
    from crystalx_core.io import read_reflections

    data = read_reflections(hkl)
    rows = "".join(
        f"{h:4d}{k:4d}{l:4d} {i:11.2f} {i:11.2f} {s:9.2f} o\n"
        for (h, k, l), i, s in zip(data.indices, data.intensities, data.sigmas)
    )
    path.write_text(LIST4[: LIST4.index("   2   0   0")].replace(CELL, "") + rows)
    return path


def test_solve_audit_and_assign_take_an_fcf(tmp_path, shared_data, capsys):
    """Every command that reads reflections reads the .fcf: refined against a real LIST 4 file
    written from the urea data, R1 stays low."""
    from crystalx_core.cli import main

    fcf = _fcf_of(BENCHMARK / "XH_urea" / "data.hkl", tmp_path / "urea.fcf")
    model = BENCHMARK / "XH_urea" / "model.cif"
    command = ["assign", str(model), "--hkl", str(fcf), "--method", "baseline", "--json"]
    assert main(command + ["--hydrogens", "rules", "--out", str(tmp_path / "a")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["refinement"]["r1"] < 0.06
    assert "urea.fcf (SHELXL LIST 4)" in " ".join(report["notes"])
    ins = tmp_path / "urea.ins"
    ins.write_text((BENCHMARK / "XH_urea" / "published.res").read_text())
    command = ["solve", str(ins), str(fcf), "--method", "baseline", "--hydrogens", "rules"]
    assert main(command + ["--json", "--out", str(tmp_path / "s")]) == 0
    assert json.loads(capsys.readouterr().out)["refinement"]["r1"] < 0.06
    command = ["audit", str(model), "--hkl", str(fcf), "--method", "baseline", "--json"]
    assert main(command + ["--hydrogens", "rules", "--out", str(tmp_path / "u")]) == 0
    assert json.loads(capsys.readouterr().out)["peak_heights_from"] == "Fo map"


def test_the_plugin_may_name_an_fcf_as_olex2_does(tmp_path, shared_data):
    """Olex2 takes an .fcf as its reflection file (HKLSrc; xlib/hkl.cpp): the service reads it
    as `assign --hkl` does."""
    from tests.test_service_reflections import ALANINE, assign, snapshot
    from crystalx_core.io.cif import read_cif

    fcf = _fcf_of(ALANINE / "data.hkl", tmp_path / "alanine.fcf")
    result = assign(snapshot(read_cif(ALANINE / "model.cif").structure), {"path": str(fcf)})
    assert result["result"]["reflections"]["r1"] < 0.06


# --- 4. a CIF whose symmetry is its space-group number alone --------------------------------


@pytest.mark.parametrize(
    "tag, number, setting, order",
    [
        ("_space_group_IT_number", 14, "P 1 21/c 1", 4),
        ("_symmetry_Int_Tables_number", 14, "P 1 21/c 1", 4),
        ("_space_group.IT_number", 68, "C c c a :2", 16),
        ("_symmetry_Int_Tables_number", 148, "R -3 :H", 18),
    ],
)
def test_a_space_group_number_alone_gives_its_standard_setting(
    tmp_path, tag, number, setting, order
):
    """Older CIFs and some databases give only the number (CIF core: _space_group_IT_number,
    DDL1 _symmetry_Int_Tables_number). iotbx.cif (builders.crystal_symmetry_builder) takes
    the number as cctbx's reference setting (origin choice 2, hexagonal axes), as here; the
    notes say which setting was assumed."""
    from crystalx_core.io import load

    # a cell the group can have (the readers refuse one it cannot, naming its line)
    cell = {68: CELL.replace("95.0", "90"), 148: CELL.replace("11.0", "10.0")}.get(number, CELL)
    if number == 148:
        cell = cell.replace("95.0", "90").replace("gamma 90", "gamma 120")
    text = "data_x\n" + cell + f"{tag} {number}\n" + ATOMS
    path = tmp_path / "number.cif"
    path.write_text(text)
    loaded = load(path)
    assert len(loaded.structure.symops) == order
    assert any(setting in note and str(number) in note for note in loaded.notes)


def test_a_space_group_number_that_is_none_is_refused_on_its_line(tmp_path):
    from crystalx_core.io import load

    text = "data_x\n" + CELL + "_space_group_IT_number 231\n" + ATOMS
    path = tmp_path / "number.cif"
    path.write_text(text)
    with pytest.raises(InputError, match="no usable symmetry") as error:
        load(path)
    assert error.value.line == line_of(text, "_space_group_IT_number")


# --- 5. one rule for where a structure's reflections are -----------------------------------


def test_batch_reads_and_resumes_on_the_file_the_structure_names(tmp_path, shared_data):
    """Olex2 names the reflection file in the .res (REM <HklSrc "%.\\data\\urea.hkl">): the batch
    refines against it, and a resumed batch redoes the structure when that file changes, not
    when another .hkl of the same name beside it does (which is neither read nor an input)."""
    import os
    import shutil

    from crystalx_core.batch import BatchOptions, find_inputs, finished_row, run_one

    res = (BENCHMARK / "XH_urea" / "published.res").read_text()
    olex2 = 'REM <olex2.extras>\nREM <HklSrc "%.\\\\data\\\\urea.hkl">\nREM </olex2.extras>\n'
    (tmp_path / "x.res").write_text(res.replace("HKLF 4", olex2 + "HKLF 4", 1))
    (tmp_path / "data").mkdir()
    named = tmp_path / "data" / "urea.hkl"
    shutil.copy(BENCHMARK / "XH_urea" / "data.hkl", named)
    beside = tmp_path / "x.hkl"
    beside.write_text("   1   0   0   -1.00   -1.00\n")  # would fail the job if it were read
    (item,) = find_inputs(str(tmp_path)).items
    options = BatchOptions(method="baseline", hydrogens="rules", cycles=1)
    row = run_one(item, options)
    assert row["status"] == "ok", row["error"]
    assert row["hkl"] == str(named) and row["r1"] < 0.05
    report = tmp_path / "x_crystalx.json"
    notes = json.loads(report.read_text())["notes"]
    assert "x.hkl beside it not read: the reflections Olex2 names (urea.hkl) are" in notes
    # a new version of each file (batch stamps content, not times): the one not read changes
    # nothing, the one the structure names is done again
    later = report.stat().st_mtime + 10
    beside.write_text("   2   0   0   -1.00   -1.00\n")
    os.utime(beside, (later, later))
    assert finished_row(item, options)["status"] == "resumed"
    with named.open("a") as hkl:
        hkl.write("   0   0   0    0.00    0.00\n")
    assert finished_row(item, options) is None


def test_the_iucr_tags_for_an_embedded_res_and_hkl_as_cryscalc_writes_them(tmp_path):
    """cif_iucr.dic's _iucr_refine_instructions_details and _iucr_refine_reflections_details
    hold the .res and the .hkl where SHELXL writes _shelx_res_file and _shelx_hkl_file;
    CRYSCALC (and WinGX) write them with a banner (' .hkl SHELXL file: NAME', a line of dots;
    CRYSCALC's Include_RES_file_into_CIF), and FinalCif reads the IUCr tag where SHELXL's is
    missing. Read as SHELXL's: the HKLF 3 of the .res says how."""
    from crystalx_core.io import load, read_reflections

    res = "TITL x\nCELL 0.71073 10 11 12 90 95 90\nSFAC C O\nUNIT 8 4\nHKLF 3\nEND\n"
    hkl = (
        "   1   0   0   10.00    1.00\n   0   2   0    5.00    0.50\n   0   0   0    0.00    0.00\n"
    )
    dots = "." * 65
    text = (
        "data_x\n"
        + CELL
        + SYMOPS
        + ATOMS
        + f"_iucr_refine_instructions_details\n;\n .res SHELXL file: x.res\n{dots}\n{res};\n"
        + f"_iucr_refine_reflections_details\n;\n .hkl SHELXL file: x.hkl\n{dots}\n{hkl};\n"
    )
    path = tmp_path / "x.cif"
    path.write_text(text)
    loaded = load(path)
    assert loaded.reflection_format().code == 3
    own = loaded.own_reflections()
    assert own.intensities.tolist() == [100.0, 25.0]
    assert own.path == f"{path} (_iucr_refine_reflections_details)"
    assert read_reflections(path).indices.tolist() == [[1, 0, 0], [0, 2, 0]]


def test_a_cif_named_as_reflections_says_what_its_data_are(tmp_path, capsys):
    """A CIF given as the reflection file of a fresh .ins (`crystalx solve x.ins x.cif`) was
    read as untwinned X-ray data whatever it said: sf_atomstwoline's embedded .res refines a
    twin (TWIN, BASF), Jana2006's 3D-ED CIFs say _diffrn_radiation_probe electron. The twin
    now goes with the data it was refined with (said in a note); electron data are refused as
    `assign x.cif --hkl x.cif` refuses them, naming the line."""
    from crystalx_core.cli import main
    from crystalx_core.io import read_reflections

    res = (
        "TITL x\nCELL 0.71073 10 11 12 90 95 90\nSFAC C O\nUNIT 8 4\nTWIN\nBASF 0.3\nHKLF 4\nEND\n"
    )
    hkl = (
        "   1   0   0   10.00    1.00\n   0   2   0    5.00    0.50\n   0   0   0    0.00    0.00\n"
    )
    twinned = tmp_path / "twin.cif"
    twinned.write_text(
        "data_x\n" + CELL + SYMOPS + f"_shelx_res_file\n;\n{res};\n_shelx_hkl_file\n;\n{hkl};\n"
    )
    read = read_reflections(twinned)
    assert read.twin is not None and read.twin.fractions == (0.3,) and read.twin.n == 2
    assert f"TWIN of the CIF's own .res ({twinned} (_shelx_res_file):5)" in " ".join(read.notes)
    electron = tmp_path / "ed.cif"
    text = (
        "data_x\n" + CELL + "_diffrn_radiation_probe electron\n" + f"_shelx_hkl_file\n;\n{hkl};\n"
    )
    electron.write_text(text)
    ins = tmp_path / "x.ins"
    ins.write_text(
        "TITL x\nCELL 0.71073 10 11 12 90 95 90\nLATT 1\nSYMM -X,1/2+Y,1/2-Z\n"
        "SFAC C O\nUNIT 8 4\nHKLF 4\nEND\n"
    )
    capsys.readouterr()
    assert main(["solve", str(ins), str(electron)]) == 2
    line = line_of(text, "_diffrn_radiation_probe")
    assert f"{electron}:{line}: _diffrn_radiation_probe electron: not X-ray data" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "x_crystalx.res").exists()


def test_the_refusal_asks_the_block_whose_reflections_are_read(tmp_path):
    """The probe was asked of the file's first block carrying any reflections, while the
    first embedded .hkl of any block was read: an X-ray block's _refln loop before an electron
    block's .hkl let the electron data through as X-ray data, and an electron block's loop
    before an X-ray block's .hkl refused the X-ray data read. Either order now asks the block
    read."""
    from crystalx_core.io import read_reflections

    hkl = (
        "   1   0   0   10.00    1.00\n   0   2   0    5.00    0.50\n   0   0   0    0.00    0.00\n"
    )
    loop = (
        "loop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n_refln_F_squared_meas\n"
        "_refln_F_squared_sigma\n1 1 0 40.0 2.0\n0 0 2 20.0 1.0\n"
    )
    electron = "_diffrn_radiation_probe electron\n"
    blocks = {
        "electron_hkl": "data_ed\n" + CELL + SYMOPS + electron + f"_shelx_hkl_file\n;\n{hkl};\n",
        "xray_loop": "data_xr\n" + CELL + SYMOPS + loop,
        "electron_loop": "data_ed\n" + CELL + SYMOPS + electron + loop,
        "xray_hkl": "data_xr\n" + CELL + SYMOPS + f"_shelx_hkl_file\n;\n{hkl};\n",
    }
    for first, second in (("xray_loop", "electron_hkl"), ("electron_hkl", "xray_loop")):
        path = tmp_path / f"{first}_{second}.cif"
        text = blocks[first] + blocks[second]
        path.write_text(text)
        with pytest.raises(InputError, match="not X-ray data") as error:
            read_reflections(path)
        assert error.value.line == line_of(text, "_diffrn_radiation_probe")
        assert "SHELXL with NEUT" not in str(error.value)
    for first, second in (("electron_loop", "xray_hkl"), ("xray_hkl", "electron_loop")):
        path = tmp_path / f"{first}_{second}.cif"
        path.write_text(blocks[first] + blocks[second])
        read = read_reflections(path)
        assert read.indices.tolist() == [[1, 0, 0], [0, 2, 0]]
        assert read.path == f"{path} (data_xr _shelx_hkl_file)"


def test_a_neutron_cif_named_as_reflections_is_refused_as_its_own_reflections_are(tmp_path):
    """One refusal for a CIF's data that are not X-ray data, whether it is read as its own
    reflections (Loaded) or named as another's (`solve x.ins x.cif`): the same words, and
    SHELXL with NEUT named for neutron data (the reflection-file path said 'these
    reflections' and named no NEUT)."""
    from crystalx_core.io import load, read_reflections

    loop = (
        "loop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n_refln_F_squared_meas\n"
        "_refln_F_squared_sigma\n1 1 0 40.0 2.0\n0 0 2 20.0 1.0\n"
    )
    atoms = "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
    text = (
        "data_n\n"
        + CELL
        + SYMOPS
        + "_diffrn_radiation_probe neutron\n"
        + atoms
        + "C1 0.1 0.2 0.3\n"
        + loop
    )
    path = tmp_path / "n.cif"
    path.write_text(text)
    with pytest.raises(InputError) as named:
        read_reflections(path)
    with pytest.raises(InputError) as own:
        load(path).reflection_format()
    assert str(named.value) == str(own.value)
    assert named.value.line == own.value.line == line_of(text, "_diffrn_radiation_probe")
    assert "refine this one in SHELXL with NEUT, or in the program that wrote it" in str(
        named.value
    )
