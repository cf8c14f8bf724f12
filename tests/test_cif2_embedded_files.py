"""A CIF 2.0 file may embed the .res and .hkl (_shelx_res_file, _shelx_hkl_file) as
triple-quoted strings over many lines (Bernstein et al., J. Appl. Cryst. 49 (2016) 277: a
triple-quoted string may hold line breaks, and they are part of its value). They were joined
onto one line, so the reflections read as one broken line and the .res lost its lines."""

import json

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest

from crystalx_core.cli import main
from crystalx_core.errors import InputError
from crystalx_core.io import read_reflections
from crystalx_core.io.cif import read_cif


def _as_cif2(cif11: str) -> str:
    """A SHELXL 2018 CIF (its embedded files as ;-text fields) rewritten as CIF 2.0: the magic
    code, the .res in ''' with its first line on the opening quote's line, the .hkl in \"\"\"
    with the quotes on lines of their own (CIF 2.0 allows either)."""
    text = "#\\#CIF_2.0\n" + cif11
    text = text.replace("_shelx_res_file\n;\n", "_shelx_res_file '''")
    text = text.replace("\n;\n_shelx_res_checksum", "\n'''\n_shelx_res_checksum")
    text = text.replace("_shelx_hkl_file\n;\n", '_shelx_hkl_file\n"""\n')
    return text.replace("\n;\n_shelx_hkl_checksum", '\n"""\n_shelx_hkl_checksum')


def test_a_cif2_file_with_its_res_and_hkl_in_triple_quotes_is_refined(tmp_path, shared_data):
    """Urea as SHELXL 2018 wrote it (benchmark XH_urea/model.cif), made CIF 2.0: `assign --hkl`
    on it stopped at 'not an HKLF 4 reflection line' (every reflection on one line); it now
    reads the same reflections and .res as from the CIF 1.1 original, and refines."""
    original = shared_data / "benchmark" / "XH_urea" / "model.cif"
    path = tmp_path / "urea.cif"
    path.write_text(_as_cif2(original.read_text()))
    cif2, cif11 = read_cif(path), read_cif(original)
    assert cif2.shelx_res_text == cif11.shelx_res_text
    assert cif2.shelx_hkl_text == cif11.shelx_hkl_text
    assert [s.line for s in cif2.structure.sites] == [s.line + 1 for s in cif11.structure.sites]
    reflections = read_reflections(path)
    assert len(reflections) == len(read_reflections(original)) > 1000
    args = ["assign", str(path), "--hkl", str(path), "--quiet", "--method", "baseline"]
    assert main([*args, "--hydrogens", "rules"]) == 0
    refinement = json.loads((tmp_path / "urea_crystalx.json").read_text())["refinement"]
    assert refinement["n_reflections"] > 1000 and refinement["r1"] < 0.05
    written = (tmp_path / "urea_crystalx.res").read_text()
    assert "FMAP 2\nACTA\n" in written  # the embedded .res's instructions, line by line


@pytest.mark.parametrize(
    "note",
    [
        "'''a note that\n runs over two lines'''",  # text on the quotes' lines: lines added
        "'''\na note that\n runs over two lines\n'''",  # quotes on their own lines
        '"""a note\n"""',
        "'''one\nnote'''\n_note_2 '''and\nanother'''",  # the lines each adds, summed
    ],
)
def test_errors_after_a_triple_quoted_text_name_the_files_own_lines(tmp_path, note):
    """gemmi reads the text as a ;-text field, which needs a line of its own for each ';' that
    the file wrote beside text: the lines gemmi and the messages count are the file's."""
    text = (
        "#\\#CIF_2.0\ndata_x\n_cell_length_a 5\n_note " + note + "\n_no_value\n"
        "_cell_length_b 6\n_title 'unterminated\n"
    )
    path = tmp_path / "x.cif"
    path.write_text(text)
    with pytest.raises(InputError, match="CIF syntax error") as error:
        read_cif(path)
    assert error.value.line == text.count("\n")  # the last line, 'unterminated


def test_a_triple_quoted_text_keeps_its_line_ends_and_quotes(tmp_path):
    """CR LF lines stay CR LF (the .res a Windows program embeds); a quote of either kind in
    the text is kept, where a one-word rendering had to change one into the other."""
    res = "TITL x\r\nREM it's \"quoted\"\r\nEND\r\n"
    text = (
        "#\\#CIF_2.0\r\ndata_x\r\n_cell_length_a 5\r\n_cell_length_b 5\r\n_cell_length_c 5\r\n"
        "_cell_angle_alpha 90\r\n_cell_angle_beta 90\r\n_cell_angle_gamma 90\r\n"
        "_symmetry_space_group_name_H-M 'P 1'\r\nloop_\r\n_atom_site_label\r\n"
        "_atom_site_fract_x\r\n_atom_site_fract_y\r\n_atom_site_fract_z\r\nC1 0 0 0\r\n"
        "_shelx_res_file\r\n'''\r\n" + res + "'''\r\n"
    )
    path = tmp_path / "x.cif"
    path.write_bytes(text.encode())
    assert read_cif(path).shelx_res_text == res


def test_a_one_line_triple_quoted_value_is_the_text_between_its_quotes(tmp_path):
    """CIF 2.0 (Bernstein et al., J. Appl. Cryst. 49 (2016) 277): '''P 21/c''' is the string
    P 21/c, as 'P 21/c' is. The quotes were read as part of the value, so a space group written
    so was no symbol ('no usable symmetry'); a value holding both kinds of quote had its
    apostrophes made double quotes. Both now read as written, the atoms on their own lines."""
    import gemmi

    from crystalx_core.io.cif2_syntax import as_cif11

    text = (
        "#\\#CIF_2.0\ndata_x\n_cell_length_a 5\n_cell_length_b 6\n_cell_length_c 7\n"
        "_cell_angle_alpha 90\n_cell_angle_beta 100\n_cell_angle_gamma 90\n"
        "_symmetry_space_group_name_H-M '''P 21/c'''\n"
        "_chemical_name_common \"\"\"O'Brien's \"salt\" \"\"\"  _chemical_formula_sum '''C O'''\n"
        "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
        "C1 0.1 0.2 0.3\nO1 0.3 0.2 0.1\n"
    )
    block = gemmi.cif.read_string(as_cif11(text).for_gemmi).sole_block()
    assert gemmi.cif.as_string(block.find_value("_chemical_name_common")) == "O'Brien's \"salt\" "
    assert gemmi.cif.as_string(block.find_value("_chemical_formula_sum")) == "C O"
    path = tmp_path / "x.cif"
    path.write_text(text)
    structure = read_cif(path).structure
    assert len(structure.symops) == 4
    assert [s.line for s in structure.sites] == [16, 17]
