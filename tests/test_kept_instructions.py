"""The user's instructions in a rewritten .res keep meaning the atoms they meant: restraints and
constraints follow renamed atoms, name no atom the model dropped, and riding H of a disordered
group keep its free variable, as SHELXL writes them (SHELXL manual: RESI, AFIX/HFIX; the
SHELXL .res files embedded in FinalCif's SH2185_Cu.cif and p31c.cif, benchmark FC_SH2185 and
FC_p31c)."""

import json
import re
from dataclasses import replace

import numpy as np

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import pytest

from crystalx_core.cli import main
from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.io.shelx_write import render_with_sites
from crystalx_core.riding import ride_existing_hydrogens
from crystalx_core.structure import Site

from .conftest import BENCHMARK

HEADER = (
    "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSYMM -X, 1/2+Y, 1/2-Z\n"
    "SFAC C H N O\nUNIT 8 8 4 4\n"
)


def _relabelled(text: str, labels: dict[str, tuple[str, str]], drop=()):
    """The file rendered after giving atoms new (label, element) and dropping `drop`."""
    shelx = parse_shelx(text, "x.res")
    structure = shelx.to_structure()
    sites = [
        replace(s, label=labels[s.label][0], element=labels[s.label][1]) if s.label in labels else s
        for s in structure.sites
        if s.label not in drop
    ]
    notes: list[str] = []
    return render_with_sites(shelx, structure.with_sites(sites), notes=notes), notes


def test_restraints_and_constraints_follow_a_retyped_atom_in_and_out_of_residues():
    """O5 → N5 in residue 0 and C1 → N1 in residue 2: every instruction naming them (after
    RESI 2 a bare name is residue 2's, C1_2 names it from outside, '_+' from the residue
    before, '_$1' a symmetry image of the current residue's atom) is renamed; the rest is
    left as written, and an instruction for the residue class (SADI_CLS, one text for both
    residues) gets a note instead."""
    text = HEADER + (
        "EQIV $1 -X, 1/2+Y, 1/2-Z\nDFIX 1.40 O5 C6 C1_2 C6\nSADI O5 C6 =\n   C1_$1 C6\n"
        "EADP O5 C6\nHTAB C6 O5_$1\nRTAB O5 O5 C6\nSADI_CLS C1 C2\nFVAR 1\n"
        "O5 4 0.1 0.2 0.3 11 0.03\nC6 1 0.2 0.2 0.3 11 0.03\n"
        "RESI CLS 1\nC1 1 0.3 0.2 0.1 11 0.03\nDFIX 1.5 C1 C1_+ ! C1 stays\n"
        "RESI CLS 2\nC1 1 0.4 0.2 0.1 11 0.03\nDFIX 1.5 C1 C1_- C1_0\nHKLF 4\nEND\n"
    )
    out, notes = _relabelled(text, {"O5": ("N5", "N"), "C1_2": ("N1_2", "N")})
    kept = [
        ln for ln in out.splitlines() if ln.split()[0].split("_")[0] in ("DFIX", "SADI", "EADP")
    ]
    assert kept == [
        "DFIX 1.40 N5 C6 N1_2 C6",
        "SADI N5 C6 =",
        "EADP N5 C6",
        "SADI_CLS C1 C2",
        "DFIX 1.5 C1 N1_+ ! C1 stays",
        "DFIX 1.5 N1 C1_- C1_0",
    ]
    assert "   C1_$1 C6" in out.splitlines()  # residue 0 has no C1: not this atom
    assert "HTAB C6 N5_$1" in out and "RTAB O5 N5 C6" in out
    assert notes == [  # one text for residues 1 and 2 cannot follow residue 2's C1
        "SADI_CLS (line 15) applies to every residue of its class, and C1_2 is renamed or not "
        "in this model: check it"
    ]


def test_an_instruction_naming_an_atom_the_model_dropped_becomes_a_rem_line():
    """H1 replaced (the job's riding H are named otherwise): the DFIX on it would make SHELXL
    restrain nothing or stop, so it is kept as a REM line, with one note; others stay."""
    text = HEADER + (
        "DFIX 0.91 N1 H1 =\n   N2 H2\nFLAT C1 N1 N2\nFVAR 1\nN1 3 0.1 0.2 0.3 11 0.03\n"
        "H1 2 0.1 0.25 0.3 11 -1.2\nN2 3 0.3 0.2 0.1 11 0.03\nH2 2 0.3 0.25 0.1 11 -1.2\n"
        "C1 1 0.2 0.2 0.2 11 0.03\nHKLF 4\nEND\n"
    )
    out, notes = _relabelled(text, {}, drop=("H1",))
    assert "REM CrystalX: H1 not in this model; was: DFIX 0.91 N1 H1 N2 H2\n" in out
    assert "FLAT C1 N1 N2\n" in out
    assert notes == [
        "1 instruction of the SHELX file (line 8) named atoms this model no longer has (H1): "
        "written as REM line"
    ]
    assert parse_shelx(out, "x.res").to_structure()  # still a file SHELX reads


def test_a_new_riding_h_keeps_its_pivots_free_variable():
    """A riding H added to a PART 2 atom at -21 is written at -21 (SHELXL's own .res: H18B
    under C18B in SH2185), not at its occupancy fixed."""
    text = HEADER + (
        "FVAR 1 0.9\nPART 2\nC18B 1 0.04 0.26 0.74 -21 0.03\nPART 0\n"
        "C1 1 0.3 0.2 0.1 11 0.03\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    structure = shelx.to_structure()
    pivot = structure.sites[0]
    h = Site("H18B", "H", (0.09, 0.19, 0.72), occupancy=pivot.occupancy, part=2, afix=43)
    out = render_with_sites(shelx, structure.with_sites([pivot, h, structure.sites[1]]))
    assert re.search(r"^H18B +2 .* -21\.00000 ", out, re.M), out


def _riding_codes(text: str) -> list[tuple[str, float, float]]:
    """(H label, its sof code, its pivot's) for every H under AFIX after a free-variable atom."""
    pairs, pivot = [], None
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 6 and re.fullmatch(r"\d+", words[1]):
            if words[0].upper().startswith("H"):
                if pivot and abs(pivot) > 15:
                    pairs.append((words[0], float(words[5]), pivot))
            else:
                pivot = float(words[5])
    return pairs


@pytest.mark.parametrize("entry", ["FC_SH2185", "FC_p31c"])
def test_assign_keeps_disordered_groups_on_their_free_variables(tmp_path, shared_data, entry):
    """SHELXL's own .res of two disordered structures: after `assign`, every riding H of an atom
    on a free variable refines on that variable with the same sign (as SHELXL wrote them),
    and no kept instruction names an atom the output lacks."""
    res = tmp_path / "x.res"
    res.write_bytes((BENCHMARK / entry / "published.res").read_bytes())
    assert main(["assign", str(res), "--quiet"]) == 0
    out = (tmp_path / "x_crystalx.res").read_text()
    pairs = _riding_codes(out)
    assert pairs
    for label, code, pivot in pairs:
        assert int(abs(code) / 10 + 0.5) == int(abs(pivot) / 10 + 0.5), label
        assert (code > 0) == (pivot > 0), label
    shelx = parse_shelx(out, "x.res")
    labels = {a.site.label.upper() for a in shelx.atoms}
    for line in shelx.lines:
        if line.keyword in ("DFIX", "SADI", "FLAT", "RIGU", "EADP", "SIMU", "DELU"):
            names = [w for w in line.fields if not re.fullmatch(r"[-+.\d]+|[<>]", w)]
            assert {n.upper() for n in names} <= labels, line.text


TOLUENE = HEADER.replace("SFAC C H N O\nUNIT 8 8 4 4", "SFAC C H\nUNIT 28 32") + (
    "FVAR 1.0\nC7    1   0.624995  0.318182  0.334607  11.00000  0.04\nAFIX 66\n"
    "C1    1   0.473995  0.318182  0.334607  11.00000  0.03\n"
    "C2    1   0.404495  0.427616  0.334607  11.00000  0.03\n"
    "C3    1   0.265495  0.427616  0.334607  11.00000  0.03\n"
    "C4    1   0.195995  0.318182  0.334607  11.00000  0.03\n"
    "C5    1   0.265495  0.208748  0.334607  11.00000  0.03\n"
    "C6    1   0.404495  0.208748  0.334607  11.00000  0.03\nAFIX 0\nHKLF 4\nEND\n"
)


def _afix_and_labels(text: str) -> list[str]:
    return [
        " ".join(line.split()[:2]) if line.startswith("AFIX") else line.split()[0]
        for line in text[text.index("FVAR") : text.index("HKLF")].splitlines()[1:]
    ]


def test_riding_h_inside_a_rigid_group_continue_it_as_shelxl_does():
    """A phenyl ring held as a rigid hexagon (AFIX 66) gets riding H: they interrupt the group
    without ending it, and it goes on as AFIX 65 (SHELXL manual, AFIX: n = 5, dependent atoms
    of a rigid group); an AFIX 0 or a second AFIX 66 there would leave a hexagon of 2 atoms."""
    shelx = parse_shelx(TOLUENE, "x.res")
    ring = shelx.to_structure().sites
    sites = ring[:2]
    for carbon in ring[2:]:
        x, y, z = carbon.frac
        sites += [carbon, Site("H" + carbon.label[1:], "H", (x, y + 0.07, z), afix=43)]
    written = render_with_sites(shelx, shelx.to_structure().with_sites(sites))
    assert _afix_and_labels(written) == [
        "C7", "AFIX 66", "C1", "C2", "AFIX 43", "H2", "AFIX 65", "C3", "AFIX 43", "H3",
        "AFIX 65", "C4", "AFIX 43", "H4", "AFIX 65", "C5", "AFIX 43", "H5", "AFIX 65", "C6",
        "AFIX 43", "H6", "AFIX 0",
    ]  # fmt: skip
    again = parse_shelx(written, "x.res")  # read back, the ring's atoms are the group's
    assert [a.site.afix for a in again.atoms if a.site.element == "C"] == [0, 66, 66] + [65] * 4
    assert render_with_sites(again, again.to_structure()) == written  # SHELXL's form kept


def test_a_ring_atom_without_riding_h_goes_on_in_the_rigid_group():
    """The same ring with no H on C4 (a substituent's place): C4 follows C3 in the AFIX 65
    group and C5 follows C4 with no AFIX line between them; an AFIX 0 and a new AFIX 66 there
    would end the hexagon at 2 atoms and open a second of 2."""
    shelx = parse_shelx(TOLUENE, "x.res")
    ring = shelx.to_structure().sites
    sites = ring[:2]
    for carbon in ring[2:]:
        x, y, z = carbon.frac
        sites.append(carbon)
        if carbon.label != "C4":
            sites.append(Site("H" + carbon.label[1:], "H", (x, y + 0.07, z), afix=43))
    written = render_with_sites(shelx, shelx.to_structure().with_sites(sites))
    assert _afix_and_labels(written) == [
        "C7", "AFIX 66", "C1", "C2", "AFIX 43", "H2", "AFIX 65", "C3", "AFIX 43", "H3",
        "AFIX 65", "C4", "C5", "AFIX 43", "H5", "AFIX 65", "C6", "AFIX 43", "H6", "AFIX 0",
    ]  # fmt: skip
    again = parse_shelx(written, "x.res")
    assert [a.site.afix for a in again.atoms if a.site.element == "C"] == [0, 66, 66] + [65] * 4


def test_an_include_file_naming_a_renamed_atom_is_named_and_left_as_it_is(tmp_path):
    """Restraints read from +restr.inc (SHELXL reads it in place; the .res keeps only the
    +restr.inc line) cannot follow a renamed atom: CrystalX never writes the user's files, so
    the note says which file names which atom."""
    include = tmp_path / "restr.inc"
    include.write_text("DFIX 1.40 O5 C6\nSADI C6 C7 C7 C8\nEND\n")
    text = HEADER + (
        "+restr.inc\nFVAR 1\nO5 4 0.1 0.2 0.3 11 0.03\nC6 1 0.2 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, str(tmp_path / "x.res"), folder=tmp_path)
    structure = shelx.to_structure()
    sites = [replace(structure.sites[0], label="N5", element="N"), structure.sites[1]]
    notes: list[str] = []
    out = render_with_sites(shelx, structure.with_sites(sites), notes=notes)
    assert (
        "+restr.inc\n" in out and include.read_text() == "DFIX 1.40 O5 C6\nSADI C6 C7 C7 C8\nEND\n"
    )
    assert notes == [
        "include file restr.inc names O5, renamed or not in this model: edit it before "
        "refining (CrystalX does not change your files)"
    ]


def test_riding_h_of_a_site_the_job_put_on_a_free_variable_ride_on_it_too():
    """A solvent O the job refined on a new free variable (partial_sites) with its water H:
    the H are written on that variable as well, after the file's own (FVAR 1 0.9 0.6)."""
    text = HEADER + (
        "FVAR 1 0.9\nPART 2\nC18B 1 0.04 0.26 0.74 -21 0.03\nPART 0\n"
        "O1 4 0.3 0.2 0.1 11 0.03\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    carbon, oxygen = shelx.to_structure().sites
    oxygen = replace(oxygen, occupancy=0.6, free_variable=2)
    h = Site("H1", "H", (0.3, 0.28, 0.1), occupancy=0.6, afix=147)
    out = render_with_sites(shelx, shelx.to_structure().with_sites([carbon, oxygen, h]))
    assert re.search(r"^FVAR +1\.0+ +0\.90+ +0\.60+$", out, re.M), out
    assert re.search(r"^O1 +4 .* 31\.00000 ", out, re.M) and re.search(
        r"^H1 +2 .* 31\.00000 ", out, re.M
    )


def _with_lines(entry: str, before: str, lines: str) -> str:
    """A benchmark entry's SHELXL .res with `lines` inserted before its first `before` line."""
    text = (BENCHMARK / entry / "published.res").read_text()
    at = text.index("\n" + before) + 1
    return text[:at] + lines + text[at:]


def test_a_restraint_on_a_dropped_h_does_not_move_to_a_new_h_given_its_name(tmp_path, shared_data):
    """FC_p31c's .res without H1C (C1's methyl then holds 2 H, so its H are placed and named
    again) and with the user's DFIX/HTAB on C1's H1A and H1B: the job's NH H on N1 never take
    the names of the user's H of another atom, and the lines naming C1's H either name C1's
    H again (its re-placed methyl named H1A-H1C, as SHELXL's HFIX names them: the job gives
    each NH one H, named H1) or become REM lines with a note, never restraining N1's H to C1."""
    res = tmp_path / "x.res"
    text = re.sub(r"(?m)^H1C .*\n", "", (BENCHMARK / "FC_p31c" / "published.res").read_text())
    at = text.index("\nFVAR") + 1
    res.write_text(text[:at] + "DFIX 0.98 C1 H1A\nHTAB C1 H1B\n" + text[at:])
    assert main(["assign", str(res), "--quiet"]) == 0
    out = (tmp_path / "x_crystalx.res").read_text()
    atoms = [a.site for a in parse_shelx(out, "x.res").atoms]
    labels = [s.label for s in atoms]
    assert labels[labels.index("N1") + 1] not in {"H1A", "H1B"}  # no other atom's H takes them
    after_c1 = labels[labels.index("C1") + 1 : labels.index("C1") + 4]
    notes = json.loads((tmp_path / "x_crystalx.json").read_text())["notes"]
    for h, line in (("H1A", "DFIX 0.98 C1 H1A"), ("H1B", "HTAB C1 H1B")):
        if h in after_c1:  # C1's own H again: the line still means what the user wrote
            assert f"\n{line}\n" in out
        else:
            assert f"REM CrystalX: {h} not in this model; was: {line}\n" in out
            assert any(f"{h} " in n and "REM lines" in n for n in notes), notes
        assert h not in labels or h in after_c1


def _p21c_relabelled(lines: str, labels: dict[str, str], folder=None):
    """FC_p21c's SHELXL .res (residues 1-4 of class CCF3/CF3, residue 0 holding O1 and C1 too)
    with `lines` before FVAR, rendered after renaming atoms (old label → new, same element)."""
    shelx = parse_shelx(_with_lines("FC_p21c", "FVAR", lines), "x.res", folder=folder)
    structure = shelx.to_structure()
    sites = [replace(s, label=labels.get(s.label, s.label)) for s in structure.sites]
    notes: list[str] = []
    return render_with_sites(shelx, structure.with_sites(sites), notes=notes), notes


def test_an_instruction_for_every_residue_naming_a_renamed_atom_gets_a_note(shared_data):
    """DFIX_* applies to every residue, residue 0 included (SHELXL manual, RESI): renaming
    residue 0's O1 leaves its one text stale for residue 0, which a note says."""
    out, notes = _p21c_relabelled("DFIX_* 1.40 O1 C1\n", {"O1": "O9"})
    assert "DFIX_* 1.40 O1 C1\n" in out
    assert notes == [
        "DFIX_* (line 36) applies to every residue, and O1_0 is renamed or not in this model: "
        "check it"
    ]


def test_conf_bond_bloc_and_spec_follow_a_renamed_atom(shared_data):
    """CONF, BOND, BLOC and SPEC name atoms too (SHELXL manual ch. 7): O2 → O9 in each."""
    lines = "CONF O2 C5 C6 C7\nBOND O2\nBLOC 1 O2 C5\nSPEC 0.2 O2\n"
    out, notes = _p21c_relabelled(lines, {"O2": "O9"})
    assert "CONF O9 C5 C6 C7\nBOND O9\nBLOC 1 O9 C5\nSPEC 0.2 O9\n" in out
    assert notes == []


def test_a_residue_suffix_of_a_digit_int_cannot_read_is_a_class(shared_data):
    """'DFIX_²': '²'.isdigit() holds but int('²') fails; SHELXL's residue numbers are plain
    digits, so it is a (missing) class name, left as written, not a traceback."""
    out, notes = _p21c_relabelled("DFIX_² 1.40 O1 C1\n", {"O1": "O9"})
    assert "DFIX_² 1.40 O1 C1\n" in out and notes == []


def test_include_files_in_include_files_get_notes_and_read_residue_targets(tmp_path, shared_data):
    """+outer.inc holds DFIX_CCF3 (residues 1, 2 and 4 of class CCF3) and +inner.inc; the
    renamed atoms are named: residue 2's O1 in outer.inc, O2 in the nested inner.inc."""
    (tmp_path / "outer.inc").write_text("DFIX_CCF3 1.40 O1 C1\n+inner.inc\nEND\n")
    (tmp_path / "inner.inc").write_text("SADI O2 C5 O2 C6\nEND\n")
    out, notes = _p21c_relabelled("+outer.inc\n", {"O1_2": "O9_2", "O2": "O9"}, tmp_path)
    assert "+outer.inc\n" in out  # the file's own SADI_CCF3 lines get their notes besides
    assert [n for n in notes if n.startswith("include file")] == [
        "include file inner.inc names O2, renamed or not in this model: edit it before "
        "refining (CrystalX does not change your files)",
        "include file outer.inc names O1_2, renamed or not in this model: edit it before "
        "refining (CrystalX does not change your files)",
    ]


def _hfix_pivots(text: str) -> list[str]:
    """Every atom name an HFIX instruction of `text` names, once per naming (continuations
    joined, comments left out)."""
    joined = re.sub(r" =\r?\n\s*", " ", text)
    return [
        word.upper()
        for line in joined.splitlines()
        if line.split()[:1] and line.split()[0].upper().startswith("HFIX")
        for word in line.partition("!")[0].split()[1:]
        if not re.fullmatch(r"[-+.\d]+", word)
    ]


def test_the_users_hfix_for_atoms_given_riding_h_is_put_out(tmp_path, shared_data):
    """SHELXL's .res of FC_p21c with the user's HFIX lines for its aryl CH and methyl groups
    (as an .ins for the next job would have them): the job writes those H as atoms under AFIX,
    as SHELXL writes an HFIX's H (none of the benchmark's SHELXL .res files keeps an HFIX), so
    the user's HFIX becomes a REM line, and the job writes no HFIX for them either: a later
    SHELXL run would add their H a second time; one note says so."""
    res = tmp_path / "x.res"
    res.write_text(_with_lines("FC_p21c", "FVAR", "HFIX 43 C34 C32\nHFIX 33 C36 =\n   C37\n"))
    assert main(["assign", str(res), "--quiet"]) == 0
    out = (tmp_path / "x_crystalx.res").read_text()
    assert "REM CrystalX: H of C34 C32 written as atoms; was: HFIX 43 C34 C32\n" in out
    assert "REM CrystalX: H of C36 C37 written as atoms; was: HFIX 33 C36 C37\n" in out
    assert _hfix_pivots(out) == []  # every H is written as an atom
    notes = json.loads((tmp_path / "x_crystalx.json").read_text())["notes"]
    assert [n for n in notes if "HFIX" in n] == [
        "2 HFIX instructions of the SHELX file (lines 36, 37) named atoms whose H this "
        "file now holds as atoms (C34 C32 C36 C37): written as REM lines"
    ]
    assert parse_shelx(out, "x.res").to_structure()  # still a file SHELX reads


def test_an_hfix_keeps_the_atoms_that_get_no_riding_h():
    """HFIX 147 O1 C6 where the job rides H on C6 only: O1's entry stays an HFIX (with the
    file's U and d), C6's is taken out of it."""
    text = HEADER + (
        "HFIX 147 -1.5 0.84 O1 C6 ! hydroxyl and methyl\nFVAR 1\n"
        "O1 4 0.1 0.2 0.3 11 0.03\nC6 1 0.2 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    oxygen, carbon = shelx.to_structure().sites
    h = [Site(f"H6{c}", "H", (0.25, 0.2 + k / 50, 0.3), afix=137) for k, c in enumerate("ABC")]
    notes: list[str] = []
    out = render_with_sites(
        shelx, shelx.to_structure().with_sites([oxygen, carbon, *h]), notes=notes
    )
    assert "HFIX 147 -1.5 0.84 O1 ! hydroxyl and methyl\n" in out
    assert _hfix_pivots(out) == ["O1"]
    assert notes == [
        "1 HFIX instruction of the SHELX file (line 8) named atoms whose H this file "
        "now holds as atoms (C6): taken out of it"
    ]


def test_the_users_h_names_stay_where_their_atoms_keep_their_h(tmp_path, shared_data):
    """L-alanine's published .res (XH_alanine, H refined freely as H1-H7) with the user's
    DFIX on them: the job rides the same number of H on N1 (3), C1 (1) and C2 (3), so they
    keep the user's names and the DFIX still restrain N1-H and C1-H; regenerated names would
    have given C1's H the name H1 and made 'DFIX N1 H1' restrain C1's H to N1."""
    res = tmp_path / "x.res"
    res.write_text(
        _with_lines("XH_alanine", "FVAR", "DFIX 0.91 N1 H1 N1 H2 N1 H3\nDFIX 0.98 C1 H4\n")
    )
    assert main(["assign", str(res), "--quiet"]) == 0
    out = (tmp_path / "x_crystalx.res").read_text()
    assert "DFIX 0.91 N1 H1 N1 H2 N1 H3\n" in out and "DFIX 0.98 C1 H4\n" in out
    assert "REM CrystalX" not in out
    atoms = [a.site for a in parse_shelx(out, "x.res").atoms]
    riding: dict[str, list[str]] = {}
    pivot = ""
    for site in atoms:
        if site.element == "H":
            riding.setdefault(pivot, []).append(site.label)
        else:
            pivot = site.label
    assert riding == {"N1": ["H1", "H2", "H3"], "C1": ["H4"], "C2": ["H5", "H6", "H7"]}


def test_a_new_h_never_takes_a_name_the_user_keeps(tmp_path, shared_data):
    """XH_alanine without C1's H (H4): N1 keeps H1-H3, while C1's new H, which SHELXL's rule
    names H1, gets a free name instead; C2's methyl keeps H5-H7."""
    text = (BENCHMARK / "XH_alanine" / "published.res").read_text()
    res = tmp_path / "x.res"
    res.write_text(re.sub(r"(?m)^H4 .*\n", "", text))
    assert main(["assign", str(res), "--quiet"]) == 0
    atoms = [a.site for a in parse_shelx((tmp_path / "x_crystalx.res").read_text(), "x").atoms]
    labels = [s.label.upper() for s in atoms]
    assert len(labels) == len(set(labels))
    after = {s.label: atoms[k + 1].label for k, s in enumerate(atoms[:-1]) if s.element != "H"}
    assert labels[labels.index("N1") + 1 : labels.index("N1") + 4] == ["H1", "H2", "H3"]
    assert after["C1"] not in ("H1", "H2", "H3", "H5", "H6", "H7")
    assert labels[labels.index("C2") + 1 : labels.index("C2") + 4] == ["H5", "H6", "H7"]


def test_an_hfix_with_an_atom_range_is_never_split(tmp_path, shared_data):
    """FC_p21c's ring C34 C33 C32 (atom-list order; H on C34 and C32 only) named by ranges: a
    range is the atoms between its ends (SHELXL manual, ch. 7), so taking C34 and C32 out of
    'C34 > C32' would leave 'HFIX 43 >', and 'C33 > C35' names C32 though neither end is a
    pivot: each line becomes a REM line whole."""
    res = tmp_path / "x.res"
    res.write_text(
        _with_lines("FC_p21c", "FVAR", "HFIX 43 C34 > C32\nHFIX 43 C33 > C35\nHFIX 43 C35 < C33\n")
    )
    assert main(["assign", str(res), "--quiet"]) == 0
    out = (tmp_path / "x_crystalx.res").read_text()
    assert "REM CrystalX: H of C34 C32 written as atoms; was: HFIX 43 C34 > C32\n" in out
    assert "REM CrystalX: H of C32 written as atoms; was: HFIX 43 C33 > C35\n" in out
    assert "REM CrystalX: H of C32 written as atoms; was: HFIX 43 C35 < C33\n" in out
    assert not [ln for ln in out.splitlines() if ln.startswith("HFIX") and ("<" in ln or ">" in ln)]


def test_an_hfix_continued_after_a_comment_and_one_in_an_include_file(tmp_path):
    """'HFIX 147 O1 C6 = ! comment' goes on on the next line (SHELXL ignores what follows '!'
    or '='): C6 is taken out of the whole instruction, O1 and C7 stay. An include file's HFIX
    naming C6 cannot be edited: a note names it."""
    (tmp_path / "h.inc").write_text("HFIX 33 C6\nEND\n")
    text = HEADER + (
        "HFIX 147 O1 C6 = ! hydroxyl\n   C7 ! and methyls\n+h.inc\nFVAR 1\n"
        "O1 4 0.1 0.2 0.3 11 0.03\nC6 1 0.2 0.2 0.3 11 0.03\nC7 1 0.3 0.2 0.3 11 0.03\n"
        "HKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, str(tmp_path / "x.res"), folder=tmp_path)
    oxygen, carbon, other = shelx.to_structure().sites
    h = [Site(f"H6{c}", "H", (0.25, 0.2 + k / 50, 0.3), afix=137) for k, c in enumerate("ABC")]
    notes: list[str] = []
    out = render_with_sites(
        shelx, shelx.to_structure().with_sites([oxygen, carbon, *h, other]), notes=notes
    )
    assert "HFIX 147 O1 C7 ! hydroxyl ! and methyls\n" in out
    assert _hfix_pivots(out) == ["O1", "C7"]
    assert notes == [
        "include file h.inc has HFIX for C6, whose H this file now holds as atoms: take them "
        "out before refining (CrystalX does not change your files)",
        "1 HFIX instruction of the SHELX file (line 8) named atoms whose H this file now "
        "holds as atoms (C6): taken out of it",
    ]


def test_an_hfix_in_an_include_file_read_by_an_include_file_gets_its_note(tmp_path):
    """SHELXL reads '+file' in place, also inside an include file: h.inc reads inner.inc,
    whose HFIX names C6, whose H the file now holds as atoms; inner.inc gets the note."""
    (tmp_path / "h.inc").write_text("+inner.inc\nEND\n")
    (tmp_path / "inner.inc").write_text("HFIX 33 C6\nEND\n")
    text = HEADER + (
        "+h.inc\nFVAR 1\nO1 4 0.1 0.2 0.3 11 0.03\nC6 1 0.2 0.2 0.3 11 0.03\n"
        "C7 1 0.3 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, str(tmp_path / "x.res"), folder=tmp_path)
    oxygen, carbon, other = shelx.to_structure().sites
    h = [Site(f"H6{c}", "H", (0.25, 0.2 + k / 50, 0.3), afix=137) for k, c in enumerate("ABC")]
    notes: list[str] = []
    render_with_sites(
        shelx, shelx.to_structure().with_sites([oxygen, carbon, *h, other]), notes=notes
    )
    assert notes == [
        "include file inner.inc has HFIX for C6, whose H this file now holds as atoms: take "
        "them out before refining (CrystalX does not change your files)"
    ]


def _alanine(tmp_path, edit) -> tuple[str, dict[str, list[str]], list[Site]]:
    """`assign` on XH_alanine's published .res changed by `edit`: the output, the H after each
    atom, and its sites."""
    res = tmp_path / "x.res"
    res.write_text(edit((BENCHMARK / "XH_alanine" / "published.res").read_text()))
    assert main(["assign", str(res), "--quiet"]) == 0
    out = (tmp_path / "x_crystalx.res").read_text()
    atoms = [a.site for a in parse_shelx(out, "x.res").atoms]
    riding: dict[str, list[str]] = {}
    pivot = ""
    for site in atoms:
        if site.element in ("H", "D"):
            riding.setdefault(pivot, []).append(site.label)
        else:
            pivot = site.label
    return out, riding, atoms


def test_a_users_h_written_in_another_cell_keeps_its_name_where_it_is(tmp_path, shared_data):
    """XH_alanine with H1 written one cell over (x+1, y+1: the same atom for SHELXL): each of
    N1's new H takes the name of the user's H beside it, H1 where H1 is, not H2."""

    def shifted(text: str) -> str:
        return text.replace("H1    2    0.697953    0.064884", "H1    2    1.697953    1.064884")

    _, riding, atoms = _alanine(tmp_path, shifted)
    assert riding["N1"] == ["H1", "H2", "H3"]
    text = (BENCHMARK / "XH_alanine" / "published.res").read_text()
    users = {s.label: s.frac for s in parse_shelx(text, "p.res").to_structure().sites}
    for site in atoms:
        if site.label in ("H1", "H2", "H3"):
            nearest = min(
                ("H1", "H2", "H3"),
                key=lambda h: np.linalg.norm(np.subtract(site.frac, users[h])),
            )
            assert nearest == site.label


def test_a_users_h_name_not_kept_is_taken_by_no_other_atoms_h(tmp_path, shared_data):
    """XH_alanine without H3 and H4, with DFIX 0.91 N1 H1: N1 gets three H for the user's two,
    so their names go; C1's new H, which SHELXL's rule names H1, gets another name, and the
    DFIX, which meant an N1-H, becomes a REM line instead of restraining C1's H to N1."""

    def edited(text: str) -> str:
        text = re.sub(r"(?m)^H[34] .*\n", "", text)
        return text.replace("\nFVAR", "\nDFIX 0.91 N1 H1\nFVAR", 1)

    out, riding, _ = _alanine(tmp_path, edited)
    assert len(riding["N1"]) == 3 and len(riding["C1"]) == 1
    assert not {"H1", "H2"} & set(riding["C1"] + riding["C2"])
    assert "REM CrystalX: H1 not in this model; was: DFIX 0.91 N1 H1\n" in out
    assert not re.search(r"(?m)^DFIX", out)


def test_a_users_deuterium_names_are_not_given_to_riding_h(tmp_path, shared_data):
    """XH_alanine with N1's H1-H3 written as deuterium D1-D3 (SFAC C H N O D): the job rides H
    on N1 (H is in SFAC), so the new H are not named D1-D3; C2's H5-H7 keep their names."""

    def deuterated(text: str) -> str:
        text = text.replace("SFAC  C  H  N  O", "SFAC  C  H  N  O  D").replace(
            "UNIT    12   28   4   8", "UNIT    12   16   4   8   12"
        )
        return re.sub(r"(?m)^H([123])    2 ", r"D\1    5 ", text)

    _, riding, _ = _alanine(tmp_path, deuterated)
    assert len(riding["N1"]) == 3 and not {"D1", "D2", "D3"} & set(riding["N1"])
    assert riding["C2"] == ["H5", "H6", "H7"]


def test_an_h_rides_only_an_atom_of_its_own_part(shared_data):
    """SXF_I43d's disordered cation: H24 (PART -1, 0.95 A from C24) lies 0.70 A from an image
    of C40 (PART -3), which SHELX never bonds to it (PART rules): it rides C24, and C40, which
    has no H of its own, gets none."""
    text = (BENCHMARK / "SXF_I43d" / "published.res").read_text()
    structure = parse_shelx(text, "p.res").to_structure()
    labels = [s.label for s in structure.sites]
    plan = ride_existing_hydrogens(structure)
    assert labels.index("C40") not in plan.groups
    (h,) = [plan.structure.sites[k] for k in plan.groups[labels.index("C24")]]
    assert np.allclose(h.frac, structure.sites[labels.index("H24")].frac, atol=1e-4)
