"""Instructions that mean atoms by their ORDER in the atom list keep meaning the same atoms in a
rewritten .res: ranges ('O1 > C3', the non-H atoms between, pcxod/olex2 xlib/atomref.cpp
IsValidAtom), 'ANIS n' (the next n isotropic non-H atoms, SHELXL manual as quoted by
dkratzert/ShelXFile cards.py) and SAME (the non-H atoms that follow it, pcxod/olex2 xlib/ins.cpp
TIns::_ProcessSame). Riding H inserted after their pivots change none of them; an atom left out
or retyped to H would, so 'ANIS n' is then written by name and a range or SAME gets a note."""

import json
import re
from dataclasses import replace

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import numpy as np
import pytest

from crystalx_core.errors import InputError

from crystalx_core.cli import main
from crystalx_core.io.shelx_order import _atoms, _meanings
from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.io.shelx_write import render_with_sites

from .conftest import BENCHMARK

HEADER = (
    "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSYMM -X, 1/2+Y, 1/2-Z\n"
    "SFAC C H N O\nUNIT 8 8 4 4\n"
)


def _meant(text: str) -> dict[str, tuple]:
    """What each order-dependent instruction of a .res means, by its text."""
    lines = parse_shelx(text, "x.res").lines
    return {
        " ".join(line.text.split()): meant
        for line, _, meant, _ in _meanings(lines, _atoms(lines, {}))
    }


def _alanine_without_h(instructions: dict[str, list[str]]) -> str:
    """L-alanine at 23 K (benchmark XH_alanine, SHELXL-2018 .res) with its H atoms taken out and
    its atoms isotropic, as a file before H are placed, with `instructions` before the atoms
    named."""
    out, skip = [], False
    for line in (BENCHMARK / "XH_alanine" / "published.res").read_text().splitlines():
        if line.startswith("HKLF"):
            out.append(line)
            break
        if skip:
            skip = False
            continue
        if re.match(r"^H\d", line):
            continue
        atom = re.match(r"^([CNO]\d)(\s+\d(?:\s+\S+){3})\s+11\.00000\s+\S+\s+.*=$", line)
        if atom:
            out += instructions.get(atom.group(1), [])
            out.append(f"{atom.group(1)}{atom.group(2)}    11.00000    0.01000")
            skip = True
            continue
        out.append(line)
    return "\n".join(out + ["END", ""])


def test_riding_h_placed_by_assign_leave_anis_ranges_and_same_meaning_their_atoms(tmp_path):
    """`crystalx assign` puts riding H after N1, C1 and C2: 'ANIS 3' still means O1 O2 N1,
    'SIMU O1 > C3' the six non-H atoms and 'SAME O1 O2' (before N1) pairs N1 and C1, which
    now have three H between them; no note."""
    source = _alanine_without_h({"O1": ["ANIS 3", "SIMU O1 > C3"], "N1": ["SAME O1 O2"]})
    path = tmp_path / "ala.res"
    path.write_text(source)
    assert (
        main(
            [
                "assign",
                str(path),
                "--method",
                "baseline",
                "--hydrogens",
                "rules",
                "--quiet",
                "--json",
            ]
        )
        == 0
    )
    written = (tmp_path / "ala_crystalx.res").read_text()
    atoms = [ln.split()[0] for ln in written.splitlines() if re.match(r"^[CNOH]\d\w*\s+\d\s", ln)]
    assert atoms[atoms.index("N1") + 1].startswith("H")  # H now stand between N1 and C1
    assert (
        _meant(written)
        == _meant(source)
        == {
            "ANIS 3": ("O1", "O2", "N1"),
            "SIMU O1 > C3": (("O1", "O2", "N1", "C1", "C2", "C3"),),
            "SAME O1 O2": (("O1", "N1"), ("O2", "C1")),
        }
    )
    result = json.loads((tmp_path / "ala_crystalx.json").read_text())
    assert not [n for n in result.get("notes", []) if "check it" in n or "by name" in n]


def _rendered(text: str, drop=(), as_h=()):
    """The file rendered after dropping `drop` and retyping `as_h` to H, and its notes."""
    shelx = parse_shelx(text, "x.res")
    structure = shelx.to_structure()
    sites = [
        replace(s, element="H") if s.label in as_h else s
        for s in structure.sites
        if s.label not in drop
    ]
    notes: list[str] = []
    return render_with_sites(shelx, structure.with_sites(sites), notes=notes), notes


def test_anis_n_is_written_by_name_when_an_atom_it_counted_is_left_out():
    """'ANIS 3' before O1 O2 N1 with O2 left out would make C1 anisotropic instead: written as
    'ANIS O1 N1', which SHELXL reads the same whatever follows."""
    out, notes = _rendered(_alanine_without_h({"O1": ["ANIS 3"]}), drop=("O2",))
    assert "ANIS O1 N1 ! was ANIS 3" in out.splitlines()
    assert _meant(out) == {}  # no counted instruction left
    assert notes == [
        "ANIS (line 23) meant O1 O2 N1, and the atoms after it are now others: written by name"
    ]


def test_same_and_a_range_that_would_mean_other_atoms_get_a_note():
    """C1 retyped to H (an atom SHELXL no longer counts): 'SAME O1 O2' before N1 would pair O2
    with C2, and 'SIMU N1 > C3' would leave C1 out: a note for each, the lines as written."""
    source = _alanine_without_h({"O1": ["SIMU N1 > C3"], "N1": ["SAME O1 O2"]})
    out, notes = _rendered(source, as_h=("C1",))
    assert "SAME O1 O2" in out.splitlines() and "SIMU N1 > C3" in out.splitlines()
    assert notes == [
        "SIMU (line 23) spanned N1 C1 C2 C3 and now spans other atoms: check it",
        "SAME (line 26) made O1=N1 O2=C1 alike, and the atoms after it are now others (N1 C2): "
        "check it",
    ]


def test_an_atom_left_out_after_same_shifts_its_pairs_and_gets_a_note():
    """C1 left out: 'SAME O1 O2' (before N1) keeps O1=N1 but would now pair O2 with C2, where
    the user paired O2 with C1: a note (the pair of a dropped atom is not held against it)."""
    out, notes = _rendered(_alanine_without_h({"N1": ["SAME O1 O2"]}), drop=("C1",))
    assert _meant(out) == {"SAME O1 O2": (("O1", "N1"), ("O2", "C2"))}
    assert notes == [
        "SAME (line 25) made O1=N1 O2=C1 alike, and the atoms after it are now others (N1 C2): "
        "check it"
    ]


def test_after_a_refinement_anis_n_still_counts_the_atoms_it_meant(tmp_path):
    """`crystalx assign --hkl` (XH_alanine's own reflections) refines the atoms anisotropic:
    'ANIS 3' then has no isotropic atom left to count, which is what it asked for (O1 O2 N1
    anisotropic), so it stays as written, and the SIMU range spans the six non-H atoms."""
    source = _alanine_without_h({"O1": ["ANIS 3", "SIMU O1 > C3"]})
    path = tmp_path / "ala.res"
    path.write_text(source)
    hkl = BENCHMARK / "XH_alanine" / "data.hkl"
    args = ["assign", str(path), "--method", "baseline", "--hydrogens", "rules", "--quiet"]
    assert main([*args, "--json", "--hkl", str(hkl)]) == 0
    written = parse_shelx((tmp_path / "ala_crystalx.res").read_text(), "x.res")
    anisotropic = {a.site.label for a in written.atoms if len(a.u_codes) == 6}
    assert {"O1", "O2", "N1"} <= anisotropic
    assert _meant((tmp_path / "ala_crystalx.res").read_text()) == {
        "ANIS 3": (),
        "SIMU O1 > C3": (("O1", "O2", "N1", "C1", "C2", "C3"),),
    }


def test_anis_n_in_a_residue_is_written_with_the_residue_s_names():
    """'ANIS 2' after RESI 2 meant C1_2 C2_2; C2_2 left out, it would reach C3_2: written as
    'ANIS C1', a bare name being the current residue's (SHELXL manual, RESI), and the range
    'C1 > C3' of that residue still spans its non-H atoms."""
    text = HEADER + (
        "FVAR 1\nC9 1 0.9 0.2 0.3 11 0.03\nRESI 2 RA\nANIS 2\nSIMU C1 > C3\n"
        "C1 1 0.1 0.2 0.3 11 0.03\nC2 1 0.2 0.2 0.3 11 0.03\nC3 1 0.3 0.2 0.3 11 0.03\n"
        "RESI 0\nC4 1 0.4 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    out, notes = _rendered(text, drop=("C2_2",))
    assert "ANIS C1 ! was ANIS 2" in out.splitlines()
    assert notes == [
        "ANIS (line 11) meant C1_2 C2_2, and the atoms after it are now others: written by name"
    ]
    assert _meant(out) == {"SIMU C1 > C3": (("C1_2", "C3_2"),)}


def test_a_move_is_applied_as_shelxl_applies_it(tmp_path):
    """'MOVE 1 1 1 -1' (SHELXL manual, 'MOVE dx[0] dy[0] dz[0] sign[1]': the atoms after it
    read as x = dx + sign*x, here the inverted structure) in L-alanine (XH_alanine): put before
    N1, N1 and the atoms after it are read inverted, O1 and O2 before it as written. Put before
    O1, `crystalx assign` places the riding H on the inverted atoms, and the .res written has
    them inverted and the MOVE as a REM (SHELXL would invert them again): reading it back gives
    the same atoms."""
    plain = parse_shelx(_alanine_without_h({}), "ala.res").to_structure()
    moved = parse_shelx(_alanine_without_h({"N1": ["MOVE 1 1 1 -1"]}), "ala.res").to_structure()
    for before, after in zip(plain.sites, moved.sites):
        expected = before.frac if before.label in ("O1", "O2") else [1 - v for v in before.frac]
        assert after.frac == pytest.approx(expected, abs=1e-12), before.label

    path = tmp_path / "ala.res"
    path.write_text(_alanine_without_h({"O1": ["MOVE 1 1 1 -1"]}))
    moved = parse_shelx(path.read_text(), str(path)).to_structure()
    args = ["assign", str(path), "--method", "baseline", "--hydrogens", "rules", "--quiet"]
    assert main([*args, "--json"]) == 0
    written = (tmp_path / "ala_crystalx.res").read_text()
    assert "MOVE 1 1 1 -1" not in [line.strip() for line in written.splitlines()]
    rem = "REM MOVE 1 1 1 -1 (applied: the atoms after it are written moved)"
    assert rem in written.splitlines()
    again = parse_shelx(written, "w.res").to_structure()
    frac = {site.label: np.array(site.frac) for site in again.sites}
    for site in moved.sites:
        assert frac[site.label] == pytest.approx(site.frac, abs=1e-4), site.label
    orth = np.array(again.orthogonalisation)
    heavy = [frac[site.label] for site in moved.sites]
    hydrogens = [v for label, v in frac.items() if label.startswith("H")]
    assert len(hydrogens) == 7  # NH3+, CH, CH3 of the zwitterion
    for h in hydrogens:  # each on an inverted atom, as placed
        assert 0.8 < min(np.linalg.norm(orth @ (h - x)) for x in heavy) < 1.1
    notes = json.loads((tmp_path / "ala_crystalx.json").read_text())["notes"]
    assert [n for n in notes if n.startswith("MOVE")] == [
        "MOVE (line 23) of ala.res: the 6 atom(s) after it read moved, x = dx + sign*x, as "
        "SHELXL reads them; the .res written has them moved and the MOVE as a REM"
    ]
    identity = HEADER + "FVAR 1\nMOVE 0 0 0 1\nC1 1 0.1 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    assert parse_shelx(identity, "x.res").moved_notes() == ()  # moves nothing: no note


def test_a_move_holds_until_the_next_move():
    """A later MOVE replaces the one before (SHELXL manual: x = dx + sign*x for the atoms after
    it), 'MOVE 0 0 0 1' too: C2 after it is read as written, and the note counts C1 alone."""
    text = HEADER + (
        "FVAR 1\nMOVE 1 1 1 -1\nC1 1 0.25 0.2 0.3 11 0.03\nMOVE 0 0 0 1\n"
        "C2 1 0.1 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    frac = [v for site in shelx.to_structure().sites for v in site.frac]
    assert frac == pytest.approx([0.75, 0.8, 0.7, 0.1, 0.2, 0.3])
    (note,) = shelx.moved_notes()
    assert note.startswith("MOVE (line 9) of x.res: the 1 atom(s) after it read moved")


def test_a_fixed_coordinate_read_moved_stays_fixed():
    """A coordinate fixed as 10 + x (SHELXL manual, atom instruction: 10 added fixes it; -0.3
    fixed is 9.7, as -10.3 is SHELXL's 0: iotbx.shelx decode_variables, m = -1) read after
    'MOVE 1 1 1 -1' is the moved value, and the .res written (its MOVE a REM) fixes it there:
    written plain it would refine free."""
    text = HEADER + "FVAR 1\nMOVE 1 1 1 -1\nC1 1 10.25 0.2 9.7 11 0.03\nHKLF 4\nEND\n"
    shelx = parse_shelx(text, "x.res")
    written = render_with_sites(shelx, shelx.to_structure(), notes=[])
    atom = next(line.split() for line in written.splitlines() if line.startswith("C1 "))
    assert [float(v) for v in atom[2:5]] == pytest.approx([10.75, 0.8, 11.3])


@pytest.mark.parametrize(
    "move, message",
    [
        ("MOVE 0.5 0 0 2", "MOVE: sign 2 must be 1 or -1"),
        ("MOVE 0 0 0 1 5", "MOVE takes dx dy dz sign, got 5 numbers"),
        ("MOVE half", "MOVE: expected numbers"),
    ],
)
def test_a_move_that_is_no_move_is_refused_on_its_line(move, message):
    text = HEADER + f"FVAR 1\n{move}\nC1 1 0.1 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    with pytest.raises(InputError, match=message) as error:
        parse_shelx(text, "x.res")
    assert error.value.line == 9


def test_a_range_into_the_next_residue_is_checked():
    """'SIMU C2 > C1_+' in RESI 1 spans C2_1 C3_1 C1_2 ('_+' the next residue, SHELXL manual,
    RESI); C3_1 retyped to H, SHELXL would span C2_1 C1_2 only: a note, as for a bare range."""
    text = HEADER + (
        "FVAR 1\nRESI 1 RA\nSIMU C2 > C1_+\nC1 1 0.1 0.2 0.3 11 0.03\nC2 1 0.2 0.2 0.3 11 0.03\n"
        "C3 1 0.3 0.2 0.3 11 0.03\nRESI 2 RA\nC1 1 0.1 0.4 0.3 11 0.03\n"
        "C2 1 0.2 0.4 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    assert _meant(text) == {"SIMU C2 > C1_+": (("C2_1", "C3_1", "C1_2"),)}
    out, notes = _rendered(text, as_h=("C3_1",))
    assert "SIMU C2 > C1_+" in out.splitlines()
    assert notes == ["SIMU (line 10) spanned C2_1 C3_1 C1_2 and now spans other atoms: check it"]
