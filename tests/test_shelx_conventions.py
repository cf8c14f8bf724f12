"""SHELX .ins/.res conventions beyond the common ones, each read as SHELXL reads it (SHELXL
manual, shelx.uni-goettingen.de/shelxl_html.php: 'Instructions', SFAC, DISP, RESI, PART, LATT,
END; dkratzert/ShelXFile's parser for the same rules) or refused in one line naming the line."""

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest

from crystalx_core.errors import InputError
from crystalx_core.io.shelx_read import parse_shelx

HEADER = (
    "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSYMM -X, 1/2+Y, 1/2-Z\n"
)
END = "HKLF 4\nEND\n"


def _read(body: str, header: str = HEADER):
    text = header + body
    shelx = parse_shelx(text, "x.res")
    assert shelx.render() == text  # every convention is written back as it was
    return shelx, shelx.to_structure()


def test_sfac_with_its_own_form_factor_continued_on_the_next_line_and_disp():
    """SFAC E a1 b1 a2 b2 a3 b3 a4 b4 c f' f'' mu r wt (long form, '=' continues it) and
    DISP E f' f'' [mu]: read; the refinement uses cctbx's form factor for Fe and says so, and
    DISP's f' and f'' as given, as SHELXL does."""
    shelx, structure = _read(
        "SFAC C H O\nSFAC Fe 11.7695 4.7611 7.3573 0.3072 3.5222 15.3535 2.3045 76.8805 =\n"
        "   1.0369 0.3463 0.8444 1.5 0.7 55.85\nDISP $C 0.0033 0.0016 9.0\nUNIT 8 8 4 1\n"
        "FVAR 1\nFE1 4 0.1 0.2 0.3 11 0.03\nC1 1 0.3 0.2 0.1 11 0.03\n" + END
    )
    assert shelx.sfac == ["C", "H", "O", "Fe"] and shelx.unit == [8, 8, 4, 1]
    assert [s.element for s in structure.sites] == ["Fe", "C"]
    notes = shelx.reflection_format().notes
    assert any(n.startswith("SFAC Fe (line 7)") for n in notes)
    assert not any(n.startswith("DISP") for n in notes)
    assert structure.dispersion == {"C": (0.0033, 0.0016)}


def test_lower_case_tabs_and_continuations_in_odd_places():
    """Instructions are case-insensitive, fields split on any white space, and '=' continues
    any instruction (CELL, SFAC, UNIT, an atom) onto the next line."""
    text = (
        "titl t\ncell\t0.71073\t10 11 =\n 12 90 95 90\nlatt 1\nsymm -x, 1/2+y, 1/2-z\n"
        "sfac c h =\n  o\nunit 8 8 =\n 4\nfvar 1\nc1 =\n 1 0.3 0.2 0.1 11 0.03\nhklf\t4\nend\n"
    )
    shelx, structure = _read(text, header="")
    assert shelx.cell == (10, 11, 12, 90, 95, 90) and shelx.sfac == ["C", "H", "O"]
    assert shelx.unit == [8, 8, 4] and len(shelx.symops) == 4
    assert [(s.label, s.element) for s in structure.sites] == [("c1", "C")]


def test_rem_lines_and_blocks_are_comments_even_with_equals_signs():
    _, structure = _read(
        "REM start = of a block\nREM  line two ! and more\nSFAC C H O\nUNIT 8 8 4\nREM\n"
        "FVAR 1\nC1 1 0.3 0.2 0.1 11 0.03\n" + END
    )
    assert [s.label for s in structure.sites] == ["C1"]


def test_resi_takes_class_and_number_in_either_order():
    """RESI class number (or number class); RESI 0 returns to the main residue; labels are
    unique per residue."""
    _, structure = _read(
        "SFAC C H O\nUNIT 8 8 4\nFVAR 1\nRESI TOL 3\nC1 1 0.3 0.2 0.1 11 0.03\nRESI 4 TOL\n"
        "C1 1 0.35 0.2 0.1 11 0.03\nRESI 0\nC1 1 0.1 0.25 0.1 11 0.03\n" + END
    )
    assert [s.label for s in structure.sites] == ["C1_3", "C1_4", "C1"]


def test_resi_without_a_number_puts_a_repeated_label_in_one_line():
    with pytest.raises(InputError, match="repeats the label of line 10") as error:
        _read(
            "SFAC C H O\nUNIT 8 8 4\nFVAR 1\nRESI TOL\nC1 1 0.3 0.2 0.1 11 0.03\nRESI 0\n"
            "C1 1 0.1 0.25 0.1 11 0.03\n" + END
        )
    assert error.value.line == 12


def test_negative_parts_and_free_variable_occupancies():
    """PART -n (no bonds to symmetry equivalents) and PART n 21.0 / -31.0: sof from free
    variables 2 (0.6) and 3 (1 - 0.3), for atoms that give none of their own."""
    _, structure = _read(
        "SFAC C H O\nUNIT 8 8 4\nFVAR 1 0.6 0.3\nPART -1 21.0\nC1 1 0.3 0.2 0.1\n"
        "PART 2 -31.0\nC3 1 0.1 0.25 0.1\nPART 0\n" + END
    )
    assert [(s.part, round(s.occupancy, 6)) for s in structure.sites] == [(-1, 0.6), (2, 0.7)]


def test_mole_and_non_centrosymmetric_lattices_are_read():
    _, structure = _read(
        "SFAC C H O\nUNIT 8 8 4\nFVAR 1\nMOLE 1\nC1 1 0.3 0.2 0.1 11 0.03\n" + END,
        header=HEADER.replace("LATT 1", "LATT -2"),
    )
    assert len(structure.symops) == 4  # I2: centring × the 2-fold, no inversion


def test_atom_names_like_instructions():
    """C1A' and ENDO are atoms; a name over four letters whose first four are an instruction
    (PART1) is what SHELX reads as that instruction: refused, naming the line."""
    _, structure = _read(
        "SFAC C H O\nUNIT 8 8 4\nFVAR 1\nC1A' 1 0.3 0.2 0.1 11 0.03\nENDO 1 0.35 0.2 0.1 11 0.03\n"
        + END
    )
    assert [s.label for s in structure.sites] == ["C1A'", "ENDO"]
    with pytest.raises(InputError, match="'PART1' reads as the instruction PART") as error:
        _read("SFAC C H O\nUNIT 8 8 4\nFVAR 1\nPART1 1 0.3 0.2 0.1 11 0.03\n" + END)
    assert error.value.line == 9


def test_what_follows_end_is_kept_and_not_read():
    shelx, structure = _read(
        "SFAC C H O\nUNIT 8 8 4\nFVAR 1\nC1 1 0.3 0.2 0.1 11 0.03\nEND\n\x01garbage ÿ\n"
        "Q1 1 0.5 0.5 0.5 11 0.05 1.0\n   1   0   0  100.00    2.00\n"
    )
    assert [s.label for s in structure.sites] == ["C1"]
