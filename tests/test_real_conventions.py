"""Conventions of real files from other programs and labs, each read as the program that wrote
it means it. Every test says where the convention is documented or was seen; the inputs are
small files written here in its image."""

import json
import shutil
from dataclasses import replace

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest

from crystalx_core.errors import InputError
from crystalx_core.io.hkl import reflections_from_text, read_hkl
from crystalx_core.io.shelx_read import parse_shelx, read_shelx
from crystalx_core.io.shelx_write import render_with_sites
from tests.conftest import BENCHMARK, line_of
from tests.test_foreign_files import LIST4

HEADER = (
    "TITL test\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\n"
    "SYMM -X, 1/2+Y, 1/2-Z\nSFAC C H O\nUNIT 8 8 4\n"
)
BOM = b"\xef\xbb\xbf"

# --- SHELX .ins/.res ----------------------------------------------------------------------


def test_an_equals_sign_anywhere_continues_the_instruction():
    """SHELXL manual (shelx.uni-ac.gwdg.de/SHELX/shelxl_html.php): 'All characters following
    '!' or '=' in an instruction line are ignored'; ShelXFile's multiline_test likewise
    continues a line on any '=' outside REM."""
    text = (
        HEADER + "FVAR 1.0\n"
        "O1 3 0.1 0.2 0.3 11.0 0.02 0.03 = U33 U23 U13 U12 follow\n"
        "   0.04 0.001 0.002 0.003\n"
        "C1 1 0.3 0.2 0.1 11.0 0.05\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    assert shelx.render() == text
    o1, c1 = shelx.to_structure().sites
    assert o1.u_aniso == (0.02, 0.03, 0.04, 0.001, 0.002, 0.003)
    assert c1.label == "C1"


def test_nothing_after_hklf_is_read_as_the_model():
    """SHELXL manual (hkl.htm, 'the HKLF instruction (which terminates the .ins file)'): what
    follows HKLF, with or without END, is not part of the model; kept verbatim."""
    text = (
        HEADER + "C1 1 0.1 0.2 0.3 11.0 0.05\nHKLF 4\n"
        "Q1 1 0.5 0.5 0.5 11.0 0.05 1.20\nO9 3 0.3 0.3 0.3 11.0 0.05\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    assert [site.label for site in shelx.to_structure().sites] == ["C1"]
    assert shelx.render() == text
    assert shelx.reflection_format().code == 4


def test_a_byte_order_mark_is_not_part_of_the_first_instruction(tmp_path):
    """Windows editors (Notepad) save UTF-8 with a byte order mark; Python reads it as the
    'utf-8-sig' codec. The file is written back with it."""
    path = tmp_path / "bom.ins"
    data = BOM + (HEADER.replace("TITL test\n", "") + "C1 1 0.1 0.2 0.3 11 0.05\nEND\n").encode()
    path.write_bytes(data)
    shelx = read_shelx(path)
    assert shelx.cell == (10, 11, 12, 90, 95, 90)
    assert [site.label for site in shelx.to_structure().sites] == ["C1"]
    assert shelx.render().encode(shelx.encoding) == data
    titled = tmp_path / "titled.ins"
    titled.write_bytes(BOM + (HEADER + "END\n").encode())
    assert read_shelx(titled).title == "test"


def test_lines_ended_by_a_carriage_return_alone(tmp_path):
    """Classic Mac OS text ends lines with CR alone (Python's universal newlines read it so):
    read as lines, not as one line that hides every instruction after the first."""
    text = HEADER + "C1 1 0.1 0.2 0.3 11 0.05\nHKLF 4\nEND\n"
    shelx = parse_shelx(text.replace("\n", "\r"), "mac.ins")
    assert shelx.cell == (10, 11, 12, 90, 95, 90)
    assert [site.label for site in shelx.to_structure().sites] == ["C1"]
    assert shelx.render() == text.replace("\n", "\r")
    rewritten = render_with_sites(shelx, shelx.to_structure())  # written back with CR too
    assert "\n" not in rewritten
    assert [site.label for site in parse_shelx(rewritten).to_structure().sites] == ["C1"]


def test_include_files_are_read_from_the_folder_of_the_file(tmp_path):
    """SHELXL manual: '+filename' (column 1) reads instructions from that file up to its END,
    e.g. LATT and SYMM, or restraints (DSR's 'External restraints' writes them so); '++filename'
    too. ShelXFile reads them from the folder of the .res."""
    (tmp_path / "p21c.inc").write_text("LATT 1\nSYMM -X, 1/2+Y, 1/2-Z\nEND\nSYMM X, Y, -Z\n")
    (tmp_path / "dsr_1.dfix").write_text("DFIX 1.54 C1 C2\nSADI C1 C2 C2 C3\n")
    text = (
        "TITL test\nCELL 0.71073 10 11 12 90 95 90\n+p21c.inc\nSFAC C H O\nUNIT 8 8 4\n"
        "++dsr_1.dfix\nC1 1 0.1 0.2 0.3 11 0.05\nHKLF 4\nEND\n"
    )
    path = tmp_path / "x.res"
    path.write_text(text)
    shelx = read_shelx(path)
    assert len(shelx.symops) == 4  # P2(1)/c from the include file, not P-1
    assert shelx.render() == text
    assert [site.label for site in shelx.to_structure().sites] == ["C1"]

    path.write_text(text.replace("+p21c.inc", "+missing.inc"))
    with pytest.raises(InputError) as error:
        read_shelx(path)
    assert error.value.line == 3 and "missing.inc" in error.value.message
    assert "include file" in error.value.message

    (tmp_path / "atoms.inc").write_text("O1 3 0.1 0.1 0.1 11 0.05\n")
    path.write_text(text.replace("+p21c.inc", "+atoms.inc"))
    with pytest.raises(InputError) as error:
        read_shelx(path)
    assert error.value.path == str(tmp_path / "atoms.inc") and error.value.line == 1


# --- SHELX .hkl ---------------------------------------------------------------------------


def test_hkl_with_a_byte_order_mark_or_carriage_returns_alone(tmp_path):
    """As for .ins files: a UTF-8 BOM before the first line, or CR-only line ends, must not
    change what is read (a CR-only file was read as its first reflection only)."""
    lines = (
        "   1   0   0  100.00    2.00\n   0   2   0   50.00    1.00\n  -1   1   1   25.00    0.50\n"
    )
    (tmp_path / "bom.hkl").write_bytes(BOM + (lines + "   0   0   0    0.00    0.00\n").encode())
    (tmp_path / "mac.hkl").write_bytes(lines.replace("\n", "\r").encode())
    for name in ("bom.hkl", "mac.hkl"):
        reflections = read_hkl(tmp_path / name)
        assert reflections.indices.tolist() == [[1, 0, 0], [0, 2, 0], [-1, 1, 1]], name
    assert len(reflections_from_text(lines.replace("\n", "\r\n"))) == 3


# --- CIF ----------------------------------------------------------------------------------

CIF_BLOCK = """data_{name}
_cell_length_a 10.0(2)
_cell_length_b 11.0(3)
_cell_length_c 12.0(1)
_cell_angle_alpha 90
_cell_angle_beta 95.00(2)
_cell_angle_gamma 90
_space_group_name_H-M_alt 'P 21/c'
loop_
 _space_group_symop_operation_xyz
 'x, y, z'
 '-x, y+1/2, -z+1/2'
 '-x, -y, -z'
 'x, -y-1/2, z-1/2'
loop_
 _atom_site_label
 _atom_site_fract_x
 _atom_site_fract_y
 _atom_site_fract_z
 _atom_site_U_iso_or_equiv
 _atom_site_adp_type
 _atom_site_occupancy
 _atom_site_type_symbol
C1 0.1000(3) 0.2000(2) 0.3000(4) 0.031(2) Uiso 1 C
O1' 0.2100(3) 0.2000(2) 0.3000(4) ? Uiso . O
"""
RES = HEADER + "FVAR 1.0\nC1 1 0.1 0.2 0.3 11.0 0.03\nO1' 3 0.21 0.2 0.3 11.0 0.03\nHKLF 4\nEND\n"
HKL = "   1   0   0  100.00    2.00\n   0   2   0   50.00    1.00\n   0   0   0    0.00    0.00\n"


def _shelxl_cif(name="x", res=RES, hkl=HKL):
    """A block in the image of SHELXL 2014+ output: the .res and .hkl as text fields."""
    return CIF_BLOCK.format(name=name) + f"_shelx_res_file\n;\n{res};\n_shelx_hkl_file\n;\n{hkl};\n"


def test_a_cif_with_a_byte_order_mark(tmp_path):
    """As for .ins files; CIF 2.0 (IUCr, Bernstein et al. 2016) is UTF-8, whose byte order mark
    Windows editors write."""
    from crystalx_core.io.cif import read_cif

    path = tmp_path / "bom.cif"
    path.write_bytes(BOM + CIF_BLOCK.format(name="x").encode())
    entry = read_cif(path)
    assert [site.label for site in entry.structure.sites] == ["C1", "O1'"]


def test_a_cif_error_names_its_line_after_utf8_text(tmp_path):
    """CIF 2.0 is UTF-8: an Å (bytes C3 85) before the atoms does not shift the line an error
    names (0x85 read as Latin-1 is a line break to Python)."""
    from crystalx_core.io.cif import read_cif

    text = (
        CIF_BLOCK.format(name="x")
        .replace("_cell_length_a", "_refine_special_details 'C-C 1.54 \u00c5'\n_cell_length_a")
        .replace("Uiso 1 C", "Uiso 1 Xx")
    )
    path = tmp_path / "utf8.cif"
    path.write_bytes(text.encode("utf-8"))
    with pytest.raises(InputError, match="unknown element") as error:
        read_cif(path)
    assert error.value.line == line_of(text, "C1 ")


def test_several_data_blocks_say_which_is_read_and_block_chooses(tmp_path):
    """Multi-block CIFs (a data_global block, then one per structure, as journals and Olex2
    write them): the block read is named in the notes, and --block reads another."""
    from crystalx_core.io import load

    path = tmp_path / "multi.cif"
    second = CIF_BLOCK.format(name="second").replace("C1 0.1000(3)", "C1 0.4000(3)")
    path.write_text(
        "data_global\n_journal_name_full 'x'\n\n" + CIF_BLOCK.format(name="first") + second
    )
    loaded = load(path)
    assert loaded.structure.sites[0].frac[0] == pytest.approx(0.1)
    assert any("data_first" in note and "--block" in note for note in loaded.notes)
    chosen = load(path, block="second")
    assert chosen.structure.sites[0].frac[0] == pytest.approx(0.4)
    with pytest.raises(InputError, match="global, first, second"):
        load(path, block="third")


def test_a_shelxl_cif_serves_where_the_hkl_is_asked_for(tmp_path):
    """SHELXL 2014+ embeds the refined .res and the .hkl in the CIF (_shelx_res_file,
    _shelx_hkl_file; Sheldrick, Acta Cryst. C71 (2015) 3-8: 'only one file in CIF format ... is
    needed for a complete structure archive'): `--hkl x.cif` reads them; a CIF without
    them is refused saying what to pass."""
    from crystalx_core.io import read_reflections

    path = tmp_path / "x.cif"
    path.write_text(_shelxl_cif())
    reflections = read_reflections(path)
    assert reflections.indices.tolist() == [[1, 0, 0], [0, 2, 0]]
    assert "_shelx_hkl_file" in reflections.path
    bare = tmp_path / "bare.cif"
    bare.write_text(CIF_BLOCK.format(name="bare"))
    with pytest.raises(InputError, match="no _shelx_hkl_file.*pass the .hkl"):
        read_reflections(bare)


def test_solve_finds_its_reflections_as_shelx_does_or_says_what_to_pass(tmp_path):
    """SHELX reads name.hkl beside name.ins; a SHELXL CIF carries its own: `crystalx solve`
    takes either when no .hkl is named, and says what to pass when there is none."""
    from crystalx_core.io import load, solve_reflections

    cif = tmp_path / "x.cif"
    cif.write_text(_shelxl_cif())
    assert len(solve_reflections(load(cif), None)) == 2
    ins = tmp_path / "y.ins"
    ins.write_text(HEADER + "HKLF 4\nEND\n")
    with pytest.raises(InputError, match="no reflections.*y.hkl"):
        solve_reflections(load(ins), None)
    (tmp_path / "y.hkl").write_text(HKL)
    assert len(solve_reflections(load(ins), None)) == 2
    assert len(solve_reflections(load(ins), cif)) == 2  # a CIF named as the reflections


def test_assign_names_the_reflections_a_cif_carries(tmp_path, capsys):
    """Without --hkl the assignment does not refine; the notes say how to use the CIF's own
    reflections."""
    from crystalx_core.cli import main

    path = tmp_path / "x.cif"
    path.write_text(_shelxl_cif())
    assert (
        main(["assign", str(path), "--method", "baseline", "--hydrogens", "rules", "--json"]) == 0
    )
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any("--hkl" in note and "_shelx_hkl_file" in note for note in notes)


# --- batch on folders other programs wrote ------------------------------------------------


def test_batch_says_which_file_it_reads_and_uses_a_cifs_own_reflections(
    tmp_path, shared_data, capsys
):
    """An Olex2/SHELXL folder holds x.ins, x.res, x.hkl, x.cif, x.fcf, x.lst (SHELXT adds
    x_a.res, x_a.hkl): one structure per name, the .res (SHELXL's latest) read, the others
    named as not read; a SHELXL CIF without a .hkl beside it refines against its own."""
    from crystalx_core.batch import BatchOptions, find_inputs, run_one
    from crystalx_core.cli import main
    from crystalx_core.io import load

    for ext in (".ins", ".res"):
        (tmp_path / f"x{ext}").write_text(RES)
    (tmp_path / "x.hkl").write_text(HKL)
    (tmp_path / "x.cif").write_text(_shelxl_cif())
    (tmp_path / "x.fcf").write_text("data_x\n")
    (tmp_path / "x.lst").write_text("SHELXL listing\n")
    shutil.copy(BENCHMARK / "XH_urea" / "model.cif", tmp_path / "y.cif")  # SHELXL 2018 output
    items = find_inputs(str(tmp_path)).items
    assert [(i.model.name, load(i.model).reflections_file().name) for i in items] == [
        ("x.res", "x.hkl"),
        ("y.cif", "y.cif"),  # its own _shelx_hkl_file
    ]
    assert [p.name for p in items[0].left_out] == ["x.cif", "x.ins"]
    row = run_one(items[1], BatchOptions(method="baseline", hydrogens="rules", cycles=1))
    assert row["status"] != "failed", row["error"]
    assert row["hkl"] == f"{tmp_path / 'y.cif'} (_shelx_hkl_file)"
    assert row["r1"] < 0.05  # refined against the CIF's own reflections
    command = ["batch", str(tmp_path), "--no-refine", "--method", "baseline", "--workers", "1"]
    main(command + ["--hydrogens", "rules", "--quiet"])
    assert "x: read x.res, not x.cif, x.ins" in capsys.readouterr().out


def test_a_file_without_atoms_is_named_as_one_to_solve(tmp_path):
    """SHELXT reads name.ins (cell, symmetry, contents, no atoms) and writes name_a.res; the
    input left in the folder is one to solve, not a broken model."""
    from crystalx_core.batch import BatchOptions, find_inputs, run_one

    (tmp_path / "x.ins").write_text(HEADER + "TREF\nHKLF 4\nEND\n")
    (tmp_path / "x.hkl").write_text(HKL)
    row = run_one(find_inputs(str(tmp_path)).items[0], BatchOptions(method="baseline"))
    assert row["status"] == "failed" and "crystalx solve" in row["error"]


def test_the_reflection_file_olex2_names_is_read(tmp_path):
    """Olex2 names its reflection file in the .ins/.res (`REM <HklSrc "%.\\\\name.hkl">` inside
    `REM <olex2.extras>`, '%.' the folder of the file: pcxod/olex2 xlib writes the extras;
    Olex2's XPlain plugin takes HKLSrc first, then the .hkl of the same name)."""
    from crystalx_core.batch import BatchOptions, find_inputs, run_one
    from crystalx_core.io import load, solve_reflections

    (tmp_path / "y_abs.hkl").write_text(HKL)
    (tmp_path / "y.hkl").write_text(HKL.replace("100.00", "999.00"))
    extras = 'REM <olex2.extras>\nREM <HklSrc "%.\\\\y_abs.hkl">\nREM </olex2.extras>\n'
    ins = tmp_path / "y.res"
    ins.write_text(RES.replace("HKLF 4\nEND\n", "HKLF 4\n" + extras + "END\n"))
    reflections = solve_reflections(load(ins), None)
    assert reflections.path == str(tmp_path / "y_abs.hkl")
    assert reflections.intensities.tolist() == [100.0, 50.0]
    assert any("HklSrc" in note for note in reflections.notes)
    (tmp_path / "y_abs.hkl").unlink()  # named but gone: the .hkl of the same name, as Olex2
    assert solve_reflections(load(ins), None).path == str(tmp_path / "y.hkl")
    (tmp_path / "y.hkl").rename(tmp_path / "y_abs.hkl")
    row = run_one(find_inputs(str(tmp_path)).items[0], BatchOptions(method="baseline", cycles=1))
    assert row["hkl"] == str(tmp_path / "y_abs.hkl")


def test_the_file_olex2_names_is_looked_up_once_per_job(tmp_path, monkeypatch):
    """Every step that asks where the reflections are (the file, the note, the one beside)
    takes the one answer: the .res's lines are scanned for HklSrc once, not three times."""
    from crystalx_core.io import find_reflections, load
    from crystalx_core.io.shelx_read import ShelxFile

    calls = []
    scan = ShelxFile.hkl_source
    monkeypatch.setattr(ShelxFile, "hkl_source", lambda self: calls.append(1) or scan(self))
    (tmp_path / "y_abs.hkl").write_text(HKL)
    (tmp_path / "y.hkl").write_text(HKL)
    extras = 'REM <olex2.extras>\nREM <HklSrc "%.\\\\y_abs.hkl">\nREM </olex2.extras>\n'
    (tmp_path / "y.res").write_text(RES.replace("HKLF 4\nEND\n", "HKLF 4\n" + extras + "END\n"))
    reflections = find_reflections(load(tmp_path / "y.res"))
    assert reflections.path == str(tmp_path / "y_abs.hkl") and len(calls) == 1


def test_reflections_after_a_negative_hklf_are_read_from_the_ins(tmp_path):
    """SHELXL manual, HKLF: 'n is negative if reflection data follow, otherwise they are read
    from the .hkl file' (kept for SHELX-76 files); a bad line is named in the .ins."""
    from crystalx_core.io import load, solve_reflections

    ins = tmp_path / "z.ins"
    ins.write_text(HEADER + "HKLF -4\n" + HKL + "END\n")
    loaded = load(ins)
    assert loaded.reflection_format().code == 4
    assert solve_reflections(loaded, None).indices.tolist() == [[1, 0, 0], [0, 2, 0]]
    ins.write_text(HEADER + "HKLF -4\n   1   0   0  abc\n")
    with pytest.raises(InputError) as error:
        solve_reflections(load(ins), None)
    assert (error.value.path, error.value.line) == (str(ins), 9)


def test_a_title_written_as_title():
    """SHELX reads the first four letters of an instruction (SHELXL manual: 'four (or fewer)
    character word'); Olex2 writes its Patterson solutions with 'TITLE' (pcxod/olex2
    xlib/ins.cpp, SavePattSolution)."""
    shelx = parse_shelx(HEADER.replace("TITL test", "TITLE solution in P2(1)/c") + "END\n")
    assert shelx.title == "solution in P2(1)/c"


def test_cif2_lists_are_read_and_an_unclosed_one_is_named(tmp_path):
    """CIF 2.0 (magic '#\\#CIF_2.0') adds lists '[...]', which gemmi's CIF 1.1 parser stops at;
    they were refused, and are now read (io/cif2_syntax.py; tests/test_other_labs4.py has the
    real files' cases). A CIF 2.0 header over CIF 1.1 content reads as usual; a list never
    closed is still a syntax error naming its line."""
    from crystalx_core.io.cif import read_cif

    path = tmp_path / "v2.cif"
    path.write_text("#\\#CIF_2.0\n" + CIF_BLOCK.format(name="x"))
    assert len(read_cif(path).structure.sites) == 2
    path.write_text("#\\#CIF_2.0\n" + CIF_BLOCK.format(name="x") + "_audit_keywords [a b]\n")
    assert len(read_cif(path).structure.sites) == 2
    path.write_text("#\\#CIF_2.0\n" + CIF_BLOCK.format(name="x") + "_audit_keywords [a b\n")
    with pytest.raises(InputError, match="CIF syntax error") as error:
        read_cif(path)
    assert error.value.line == 27


def test_a_dos_end_of_file_mark_ends_the_file(tmp_path):
    """DOS programs end text files with Ctrl-Z (0x1A); the COD's CIF parser has an option for
    it (pycodcif 'fix_ctrl_z: removes ^Z symbols'). It is the end of the file, not a line."""
    from crystalx_core.io.cif import read_cif

    (tmp_path / "z.hkl").write_bytes(
        HKL.replace("   0   0   0    0.00    0.00\n", "").encode() + b"\x1a"
    )
    assert len(read_hkl(tmp_path / "z.hkl")) == 2
    (tmp_path / "z.cif").write_bytes(CIF_BLOCK.format(name="z").encode() + b"\x1a")
    assert len(read_cif(tmp_path / "z.cif").structure.sites) == 2
    data = (HEADER + "C1 1 0.1 0.2 0.3 11 0.05\nHKLF 4\n").encode() + b"\x1a"
    (tmp_path / "z.ins").write_bytes(data)
    shelx = read_shelx(tmp_path / "z.ins")
    assert shelx.render().encode() == data and len(shelx.to_structure().sites) == 1


def test_a_windows_1252_res_is_written_back_in_its_own_encoding(tmp_path):
    """Windows programs write REM/TITL text in Windows-1252 (an en dash is byte 0x96): the
    output .res keeps those lines byte for byte, as the README promises ('keeps every
    instruction of your file untouched'), instead of re-encoding them as UTF-8."""
    from crystalx_core.cli import main

    remark = "REM measured by J\xfcrgen M\xfcller \u2013 100 K\n".encode("cp1252")
    path = tmp_path / "w.res"
    path.write_bytes(
        HEADER.encode()
        + remark
        + b"C1 1 0.1 0.2 0.3 11 0.05\nO1 3 0.2 0.2 0.3 11 0.05\nHKLF 4\nEND\n"
    )
    command = ["assign", str(path), "--method", "baseline", "--hydrogens", "rules", "--quiet"]
    assert main(command) == 0
    assert remark in (tmp_path / "w_crystalx.res").read_bytes()


def test_utf16_text_from_windows_notepad_is_read(tmp_path):
    """Windows Notepad's 'Unicode' is UTF-16 with a byte order mark (FF FE): its NUL bytes are
    text, not binary data, in every reader."""
    from crystalx_core.io.cif import read_cif

    (tmp_path / "n.ins").write_bytes((HEADER + "C1 1 0.1 0.2 0.3 11 0.05\nEND\n").encode("utf-16"))
    (tmp_path / "n.hkl").write_bytes(HKL.encode("utf-16"))
    (tmp_path / "n.cif").write_bytes(CIF_BLOCK.format(name="n").encode("utf-16"))
    assert [s.label for s in read_shelx(tmp_path / "n.ins").to_structure().sites] == ["C1"]
    assert len(read_hkl(tmp_path / "n.hkl")) == 2
    assert len(read_cif(tmp_path / "n.cif").structure.sites) == 2


def test_an_instruction_file_named_as_reflections_is_said_to_be_one(tmp_path):
    from crystalx_core.io import read_reflections

    path = tmp_path / "x.res"
    path.write_text(RES)
    with pytest.raises(InputError, match="SHELX instruction file, not reflections"):
        read_reflections(path)


# --- what a CIF embeds ---------------------------------------------------------------------

RES_WITH_INSTRUCTIONS = (
    HEADER + "OMIT 0 2 0\nEADP C1 O1'\nDFIX 1.40 0.02 C1 O1'\nHTAB\nCONF\nACTA\nEXTI 0.01\n"
    "WGHT 0.05 0.2\nFVAR 1.0 0.6\nC1 1 0.1 0.2 0.3 11.0 0.03\nO1' 3 0.21 0.2 0.3 21.0 0.03\n"
    "HKLF 4\nEND\n"
)
INSTRUCTIONS = ("OMIT 0 2 0", "EADP C1 O1'", "DFIX 1.40 0.02 C1 O1'", "HTAB", "CONF", "ACTA")


def _cif_embedding(res: str, c1_x: str = "0.1000(3)") -> str:
    """SHELXL's CIF of the refinement in `res`: the atoms rounded to their su, the .res as text."""
    return (
        CIF_BLOCK.format(name="x")
        .replace("C1 0.1000(3)", f"C1 {c1_x}")
        .replace("? Uiso . O", "0.030(2) Uiso 0.600(4) O")
        + f"_shelx_res_file\n;\n{res};\n"
    )


def test_the_res_written_from_a_shelxl_cif_keeps_the_users_instructions(tmp_path, capsys):
    """SHELXL 2014+ embeds the final .res in its CIF (_shelx_res_file; Sheldrick, Acta Cryst. C71
    (2015) 3-8), Olex2 likewise: the .res written from such a CIF is written over that .res, as
    from the .res itself, so its OMIT, EADP, DFIX, HTAB, CONF, ACTA, EXTI, WGHT and the free
    variable of O1' (21.0, occupancy 0.6 written 0.600(4) in the CIF) are kept, not rounded."""
    from crystalx_core.cli import main

    path = tmp_path / "x.cif"
    path.write_text(_cif_embedding(RES_WITH_INSTRUCTIONS))
    args = ["assign", str(path), "--method", "baseline", "--hydrogens", "rules", "--quiet"]
    assert main(args) == 0
    written = (tmp_path / "x_crystalx.res").read_text()
    for instruction in INSTRUCTIONS + ("EXTI 0.01", "WGHT 0.05 0.2", "FVAR 1.0 0.6"):
        assert instruction + "\n" in written
    o1 = next(line for line in written.splitlines() if line.startswith("O1'"))
    assert o1.split()[5] == "21.00000"
    capsys.readouterr()


def test_a_cif_edited_since_its_res_says_which_instructions_are_not_carried(tmp_path, capsys):
    """A CIF whose atoms are no longer those of its embedded .res (an atom moved by hand): the
    .res is not written over, and a note names the instructions left behind."""
    from crystalx_core.cli import main

    path = tmp_path / "x.cif"
    path.write_text(_cif_embedding(RES_WITH_INSTRUCTIONS, c1_x="0.1500(3)"))
    args = ["assign", str(path), "--method", "baseline", "--hydrogens", "rules", "--json"]
    assert main(args) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    note = next(note for note in notes if "not carried" in note)
    for keyword in ("ACTA", "CONF", "DFIX", "EADP", "EXTI", "HTAB", "OMIT"):
        assert keyword in note
    assert "EADP" not in (tmp_path / "x_crystalx.res").read_text()


def test_an_atom_the_job_renames_keeps_its_codes_from_the_embedded_res(tmp_path):
    """The job renames an atom it retypes (element_evidence.relabelled: O1' becomes N1'): written
    over the CIF's embedded .res, it keeps its fixed coordinate (10.21) and its free-variable
    occupancy (21.0), as an atom of a .res read does, since it keeps its line there."""
    from crystalx_core.element_evidence import relabelled
    from crystalx_core.io import load

    path = tmp_path / "x.cif"
    path.write_text(_cif_embedding(RES_WITH_INSTRUCTIONS.replace("O1' 3 0.21", "O1' 3 10.21")))
    loaded = load(path)
    renamed = relabelled(loaded.structure, {"O1'": "N1'"})
    sites = [replace(site, element="N") if site.label == "N1'" else site for site in renamed.sites]
    structure = replace(renamed, sites=sites, sfac=["C", "H", "N", "O"], unit=[8, 8, 4, 4])
    written = render_with_sites(loaded.output_template(), structure)
    n1 = next(line for line in written.splitlines() if line.startswith("N1'"))
    assert (n1.split()[2], n1.split()[5]) == ("10.210000", "21.00000")


@pytest.mark.parametrize(
    "extra, zerr",
    [
        ("_cell_formula_units_Z 2\n", "ZERR 2 0.2 0.3 0.1 0 0.02 0"),
        ("_chemical_formula_sum 'C O'\n", "ZERR 4 0.2 0.3 0.1 0 0.02 0"),  # 4 C, 4 O per cell
        ("", "ZERR 4 0.2 0.3 0.1 0 0.02 0"),
    ],
)
def test_zerr_gives_z_and_the_cell_uncertainties(tmp_path, extra, zerr):
    """SHELXL manual and dkratzert/ShelXFile (shelx.py): 'ZERR Z esd(a) esd(b) esd(c) esd(α)
    esd(β) esd(γ)', Z the formula units per cell: from _cell_formula_units_Z, else the cell
    contents over _chemical_formula_sum, else (said in a REM) one per asymmetric unit. The
    esds are the CIF's su in brackets (10.0(2) is 0.2)."""
    from crystalx_core.io.cif import read_cif
    from crystalx_core.io.shelx_write import new_ins_text

    path = tmp_path / "z.cif"
    path.write_text(
        CIF_BLOCK.format(name="z").replace(
            "_cell_angle_gamma 90\n", "_cell_angle_gamma 90\n" + extra
        )
    )
    text = new_ins_text(read_cif(path).structure)
    assert zerr + "\n" in text
    assert ("REM Z not known" in text) == (not extra)
    assert parse_shelx(text).cell == (10, 11, 12, 90, 95, 90)


def test_each_block_of_a_multi_structure_cif_writes_its_own_outputs(tmp_path, capsys):
    """Journals and Olex2 write several structures into one CIF (one data block each): the jobs
    on two blocks (--block, or a batch, which takes every block) write x_first_crystalx.* and
    x_second_crystalx.*, never each other's; an x.hkl beside it is no one block's."""
    from crystalx_core.batch import BatchOptions, find_inputs, run_one
    from crystalx_core.cli import main

    path = tmp_path / "x.cif"
    second = CIF_BLOCK.format(name="second").replace("C1 0.1000(3)", "C1 0.4000(3)")
    path.write_text(
        "data_global\n_journal_name_full 'x'\n\n" + CIF_BLOCK.format(name="first") + second
    )
    (tmp_path / "x.hkl").write_text(HKL)
    common = ["--method", "baseline", "--hydrogens", "rules", "--quiet"]
    for block in ("first", "second"):
        assert main(["assign", str(path), "--block", block, *common]) == 0
    written = {
        name: (tmp_path / f"x_{name}_crystalx.res").read_text() for name in ("first", "second")
    }
    assert "0.400000" in written["second"] and "0.400000" not in written["first"]
    assert not (tmp_path / "x_crystalx.res").exists()
    items = find_inputs(str(tmp_path)).items
    assert [(item.name, item.block) for item in items] == [
        ("x_first", "first"),
        ("x_second", "second"),
    ]
    assert all(item.load().reflections_file() is None for item in items)
    out = tmp_path / "batch"
    rows = [run_one(item, BatchOptions("baseline", "rules", 1, out)) for item in items]
    assert [row["status"] for row in rows] == ["ok"] * 2, rows
    assert sorted(p.name for p in out.glob("*.res")) == [
        "x_first_crystalx.res",
        "x_second_crystalx.res",
    ]
    capsys.readouterr()


def test_an_fcf_embedded_in_the_cif_serves_as_its_reflections(tmp_path, capsys):
    """IUCr journals take the .fcf (LIST 4) as _iucr_refine_fcf_details (cif_iucr.dic), and
    Olex2's own refinement writes its .fcf there (pcxod/olex2-gui, cctbx_olex_adapter:
    cif_block['_iucr_refine_fcf_details'] = the LIST 4 .fcf): read wherever reflections are
    looked for, by the .fcf reader (systematic absences flagged '-' left out), and an error in
    it names the embedded file."""
    from crystalx_core.cli import main
    from crystalx_core.io import load, read_reflections, solve_reflections

    path = tmp_path / "x.cif"
    path.write_text(CIF_BLOCK.format(name="x") + f"_iucr_refine_fcf_details\n;\n{LIST4};\n")
    for reflections in (load(path).own_reflections(), read_reflections(path)):
        assert reflections.indices.tolist() == [[2, 0, 0], [4, 0, 0], [3, 1, 0]]
        assert "_iucr_refine_fcf_details" in reflections.path
    assert len(solve_reflections(load(path), None)) == 3
    args = ["assign", str(path), "--method", "baseline", "--hydrogens", "rules", "--json"]
    assert main(args) == 0
    assert any(
        "--hkl" in n and "_iucr_refine_fcf_details" in n
        for n in json.loads(capsys.readouterr().out)["notes"]
    )
    path.write_text(path.read_text().replace("166.53     16.72", "166.53     x6.72"))
    with pytest.raises(InputError, match="_iucr_refine_fcf_details.*not a number") as error:
        load(path).own_reflections()
    assert error.value.line == line_of(LIST4, "   4   0   0")


def test_deuterium_is_read_as_hydrogen_and_said(tmp_path):
    """SHELXL takes D as an element symbol (SFAC D; deuterium), and CIFs give it as a type
    symbol; to X-rays it is hydrogen (cctbx's tables give D the form factor of H): read and
    refined as H, with a note saying whether the riding atoms written are D or H."""
    from crystalx_core.io import load

    cif = tmp_path / "d.cif"
    cif.write_text(CIF_BLOCK.format(name="d") + "D1 0.2100(3) 0.2900(2) 0.3000(4) 0.03 Uiso 1 D\n")
    res = tmp_path / "d.res"
    res.write_text(
        RES.replace("SFAC C H O\nUNIT 8 8 4", "SFAC C D O\nUNIT 8 8 4").replace(
            "HKLF", "D1 2 0.21 0.29 0.3 11.0 -1.2\nHKLF"
        )
    )
    for path in (cif, res):
        notes = load(path).notes
        assert any("D1" in note and "read as hydrogen" in note for note in notes), notes
    # SFAC without H: the riding atoms are written as D (riding.riding_element), and said so
    assert any("in their place are D" in note for note in load(res).notes)
    both = tmp_path / "hd.res"
    both.write_text(res.read_text().replace("SFAC C D O\nUNIT 8 8 4", "SFAC C D O H\nUNIT 8 8 4 1"))
    assert any("in their place are H" in note for note in load(both).notes)
    plain = tmp_path / "h.cif"
    plain.write_text(CIF_BLOCK.format(name="h"))
    assert not any("hydrogen" in note for note in load(plain).notes)


def test_the_cif_named_as_its_own_reflections_gives_the_block_read(tmp_path):
    """`assign x.cif --block second --hkl x.cif` (the hint assign prints) refines against
    data_second's _shelx_hkl_file, not the first block's; a block without one says so."""
    from crystalx_core.io import load

    path = tmp_path / "x.cif"
    other = HKL.replace("100.00", "300.00")
    path.write_text(
        _shelxl_cif("first") + _shelxl_cif("second", hkl=other) + CIF_BLOCK.format(name="bare")
    )
    for block, first_fo2 in (("first", 100.0), ("second", 300.0)):
        reflections = load(path, block=block).read(path)
        assert reflections.intensities[0] == pytest.approx(first_fo2)
        assert f"data_{block}" in reflections.path
    with pytest.raises(InputError, match="no reflections in data_bare"):
        load(path, block="bare").read(path)


def test_an_fcf_in_the_shelx_hkl_file_field_is_read_as_the_fcf(tmp_path):
    """COD 2020660 carries its LIST 4 .fcf (comments, data_, _refln loop) as _shelx_hkl_file:
    read as the .fcf it is, by the model's own lookup and as --hkl x.cif, not refused at its
    first line '#'."""
    from crystalx_core.io import load, read_reflections

    path = tmp_path / "x.cif"
    path.write_text(CIF_BLOCK.format(name="x") + f"_shelx_hkl_file\n;\n{LIST4};\n")
    for reflections in (load(path).own_reflections(), read_reflections(path)):
        assert reflections.indices.tolist() == [[2, 0, 0], [4, 0, 0], [3, 1, 0]]
        assert "_shelx_hkl_file" in reflections.path
