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
