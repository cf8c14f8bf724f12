"""Whole atoms closer than any bond outside PART are named in a note (crystalx_core.overlaps):
mofchecker's RUYGEZ_clean.cif holds Zn 0.72 Å from Zn, both at full occupancy, no PART, and
main said nothing. Small .res files in the test header's cell (a = 10 Å): 0.072 in x is 0.72 Å."""

import json

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.cli import main
from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.overlaps import overlap_note

from .test_shelx_io import HEADER


def _note(atoms: str, fvar: str = "FVAR 1.0\n") -> str:
    shelx = parse_shelx(HEADER + fvar + atoms + "HKLF 4\nEND\n", "x.res")
    return overlap_note(shelx.to_structure())


def test_two_whole_atoms_072_apart_outside_part_are_named_with_their_distance():
    note = _note(
        "C1 1 0.1 0.2 0.3 11 0.03\nC2 1 0.172 0.2 0.3 11 0.03\nO1 3 0.25 0.2 0.3 11 0.03\n"
    )
    assert note.startswith(
        "whole atoms closer than any bond, outside PART: C1 and C2 0.72 Å; O1 and C2 0.78 Å ("
    )  # C2's nearest is C1: that pair named once


def test_declared_or_partial_alternatives_and_bonds_are_not_named():
    """PART 1 and 2 (SHELX: they never bond), half-occupied sites outside PART, and a bond."""
    parts = "PART 1\nC1 1 0.1 0.2 0.3 21 0.03\nPART 2\nC2 1 0.172 0.2 0.3 -21 0.03\nPART 0\n"
    assert _note(parts, "FVAR 1.0 0.5\n") == ""
    assert _note("C1 1 0.1 0.2 0.3 10.5 0.03\nC2 1 0.172 0.2 0.3 10.5 0.03\n") == ""
    assert _note("C1 1 0.1 0.2 0.3 11 0.03\nC2 1 0.24 0.2 0.3 11 0.03\n") == ""  # 1.40 Å


def test_h_beside_h_counts_unless_both_ride_on_one_atom():
    """Two H of one riding group are placed by their AFIX; H on two atoms 0.8 Å apart clash."""
    one = (
        "C1 1 0.1 0.2 0.3 11 0.03\nAFIX 23\nH1A 2 0.1 0.285 0.3 11 -1.2\n"
        "H1B 2 0.1 0.285 0.365 11 -1.2\nAFIX 0\n"
    )
    assert _note(one) == ""
    two = (
        "C1 1 0.1 0.2 0.3 11 0.03\nH1 2 0.1 0.285 0.3 11 -1.2\n"
        "C2 1 0.1 0.45 0.3 11 0.03\nH2 2 0.1 0.358 0.3 11 -1.2\n"
    )
    assert "H1 and H2 0.8" in _note(two)


def test_the_note_reaches_the_user(tmp_path, capsys):
    source = tmp_path / "overlap.res"
    source.write_text(
        HEADER + "FVAR 1.0\nC1 1 0.1 0.2 0.3 11 0.03\nC2 1 0.172 0.2 0.3 11 0.03\n"
        "O1 3 0.1 0.2 0.42 11 0.03\nHKLF 4\nEND\n"
    )
    code = main(
        ["assign", str(source), "--json", "--method", "baseline", "--hydrogens", "rules"]
        + ["--out", str(tmp_path / "out")]
    )
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    assert any("C1 and C2 0.72 Å" in note for note in answer["notes"]), answer["notes"]


def test_an_atom_beside_its_own_image_is_told_to_use_a_negative_part():
    """C1 0.3 Å from the inversion centre of the header's P2₁/c: two PARTs cannot say that
    disorder (the image is the same atom), SHELX's PART -1 does; C1 beside C2 gets no such word."""
    note = _note("C1 1 0.03 0.0 0.0 11 0.03\n")
    assert note.startswith("whole atoms closer than any bond, outside PART: C1 and C1 at -x,-y,-z ")
    assert "PART -1, its occupancy shared with its images" in note
    pair = _note("C1 1 0.1 0.2 0.3 11 0.03\nC2 1 0.172 0.2 0.3 11 0.03\n")
    assert "C1 and C2 0.72 Å" in pair and "PART -1" not in pair


def test_an_image_is_named_by_its_operator_and_shift():
    """Which copy of the atom clashes, as checkCIF names it (-x+1,-y,-z): 'an image of' left the
    user to find it. C1 at x 0.97 meets C2 one cell along a, then C2's inversion image there."""
    shifted = _note("C1 1 0.97 0.01 0.5 11 0.03\nC2 1 0.0 0.02 0.5 11 0.03\n")
    assert "C1 and C2 at x+1,y,z 0.32 Å" in shifted, shifted
    inverted = _note("C1 1 0.97 0.01 0.25 11 0.03\nC2 1 0.0 -0.01 -0.25 11 0.03\n")
    assert "C1 and C2 at -x+1,-y,-z 0.30 Å" in inverted, inverted


def test_a_dihydrogen_is_a_molecule_not_two_atoms():
    """Kubas's side-on H2 on W (W(CO)3(PiPr3)2(H2): H–H 0.82-0.89 Å by neutron diffraction, each
    H 1.8-1.9 Å from W) and a free H2 (0.74 Å) are not undeclared disorder; two H 0.84 Å apart
    that each ride on a C are (test above)."""
    header = HEADER.replace("SFAC C H O\nUNIT 8 8 4", "SFAC C H O W\nUNIT 8 8 4 1")
    side_on = (
        "W1 4 0.3 0.3 0.3 11 0.02\nH1 2 0.475 0.33818 0.3 11 0.05\nH2 2 0.475 0.26182 0.3 11 0.05\n"
    )
    shelx = parse_shelx(header + "FVAR 1.0\n" + side_on + "HKLF 4\nEND\n", "x.res")
    assert overlap_note(shelx.to_structure()) == ""
    assert _note("H1 2 0.6 0.6 0.6 11 0.05\nH2 2 0.674 0.6 0.6 11 0.05\n") == ""
