"""Files other programs write that the readers took wrongly or refused: each test names where
the convention is documented or seen; the inputs are small files written here in its image."""

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest

from crystalx_core.errors import InputError

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


def _line_of(text: str, start: str) -> int:
    return text[: text.index("\n" + start) + 1].count("\n") + 1


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
    assert error.value.line == _line_of(text, "Xx C1'")
    path.write_text(text.replace("Xx C1'", "C C1'").replace("O 'O1' 0.2", "O 'O1' ?"))
    with pytest.raises(InputError, match="site O1: missing or invalid") as error:
        read_cif(path)
    assert error.value.line == _line_of(text, "O 'O1'")


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
