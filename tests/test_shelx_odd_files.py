"""Odd but legal SHELX files, read as SHELXL reads them and written back with the user's lines.

The rules are the SHELXL manual's ('Alphabetical list of SHELXL instructions',
shelx.uni-ac.gwdg.de/SHELX/shelxl_html.php; the same text as SHELXL-97's chapter 7,
www.msg.ucsf.edu/local/programs/shelxl/ch_07.html): 'Continuation lines are flagged by '='
at the end of a line, the instruction being continued on the next line which must start with
one or more spaces. Other lines beginning with spaces are treated as comments ... All
characters following '!' or '=' in an instruction line are ignored.' A line after '=' that
does not start with a blank is read as Olex2 reads it (xlib/ins.cpp), and named in a note.
"""

from dataclasses import replace

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import gemmi
import pytest

from crystalx_core.io import load
from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.io.shelx_restraints import user_restraints
from crystalx_core.io.shelx_write import render_with_sites

HEADER = (
    "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSYMM -X, 1/2+Y, 1/2-Z\n"
    "SFAC C H N O\nUNIT 8 8 4 4\n"
)
ATOMS = (
    "FVAR 1\nC1 1 0.1 0.1 0.1 11 0.05\nC2 1 0.2 0.1 0.1 11 0.05\nC3 1 0.1 0.2 0.1 11 0.05\n"
    "C4 1 0.1 0.1 0.2 11 0.05\nHKLF 4\nEND\n"
)


def _retyped(shelx, old: str, new: str, element: str, drop: str = ""):
    """The file's structure with one atom retyped (a job's O → N) and one dropped."""
    structure = shelx.to_structure()
    sites = [
        replace(s, label=new, element=element) if s.label == old else s
        for s in structure.sites
        if s.label != drop
    ]
    return structure.with_sites(sites)


def test_what_follows_an_equals_sign_is_no_atom_of_the_instruction():
    """'SADI C1 C2 C3 C4 = pairs C1-C2' goes on on the next line without 'pairs C1-C2' (manual:
    all characters following '=' are ignored), as the reader already read it: the refinement
    gets the eight atoms only (it got 'pairs' and 'C1-C2' as atom names), a renamed atom is
    renamed in the instruction and not in the comment, and an atom the model lost that only
    the comment names leaves the instruction in place (it was put out as a REM line)."""
    text = HEADER + (
        "SADI C1 C2 C3 C4 = pairs C1-C2\n  C1 C3 C2 C4\n"
        "DFIX 1.5 C1 C2 = was C4\n  C2 C3 ! and = C4\n" + ATOMS
    )
    shelx = parse_shelx(text, "x.res")
    assert shelx.render() == text
    sadi, dfix = (line for line in shelx.lines if line.keyword in ("SADI", "DFIX"))
    assert sadi.fields == ["C1", "C2", "C3", "C4", "C1", "C3", "C2", "C4"]
    assert dfix.fields == ["1.5", "C1", "C2", "C2", "C3"]

    lines, note = user_restraints(shelx, shelx.to_structure())
    assert lines == ["SADI C1 C2 C3 C4 C1 C3 C2 C4", "DFIX 1.5 C1 C2 C2 C3"] and note == ""

    retyped = _retyped(shelx, "C2", "N2", "N", drop="C4")
    notes: list[str] = []
    out = render_with_sites(shelx, retyped, notes=notes)
    assert "DFIX 1.5 C1 N2 = was C4\n  N2 C3 ! and = C4\n" in out  # kept: C4 only in comments
    assert "REM CrystalX: C4 not in this model; was: SADI C1 N2 C3 C4 = pairs C1-C2\n" in out
    assert notes == [
        "1 instruction of the SHELX file (line 8) named atoms this model no longer has (C4): "
        "written as REM line"
    ]
    assert user_restraints(shelx, retyped)[0] == ["DFIX 1.5 C1 N2 N2 C3"]


@pytest.mark.parametrize(
    "following, fields",
    [
        ("SADI C1 C3 C2 C4", ["C1", "C2", "C3", "C4", "SADI", "C1", "C3", "C2", "C4"]),
        ("REM the other pairs", ["C1", "C2", "C3", "C4", "REM", "the", "other", "pairs"]),
        ("! the other pairs", ["C1", "C2", "C3", "C4"]),
    ],
)
def test_a_line_after_an_equals_sign_without_a_blank_is_joined_and_noted(
    tmp_path, following, fields
):
    """The manual's continuation line 'must start with one or more spaces'; Olex2's reader
    (xlib/ins.cpp, TIns::Preprocess) joins the line after an '=' whatever it starts with, and
    so does dkratzert/ShelXFile. Such a file is read as they read it (never refused: a file
    Olex2 opens), the line is named in a note, and the indented line after it is a comment."""
    path = tmp_path / "x.res"
    text = HEADER + f"SADI C1 C2 C3 C4 =\n{following}\n  C1 C3 C2 C4\n" + ATOMS
    path.write_text(text)
    loaded = load(path)
    sadi = next(line for line in loaded.shelx.lines if line.keyword == "SADI")
    assert sadi.fields == fields
    assert [line.kind for line in loaded.shelx.lines if line.number == 10] == ["comment"]
    assert loaded.notes[0] == (
        "line 9 of x.res: after a line ending in '=' but not starting with a blank as a "
        "continuation line must; read as its continuation, as Olex2 reads it (indent it, or "
        "drop the '=', to say which)"
    )
    assert loaded.shelx.render() == text


def test_indented_continuations_give_no_note(tmp_path):
    path = tmp_path / "x.res"
    path.write_text(HEADER + "SADI C1 C2 C3 C4 =\n  C1 C3 C2 C4\n" + ATOMS)
    assert load(path).notes == ()


def test_a_continuation_indented_by_a_tab_or_after_a_comment_is_read():
    """A tab is a blank (Olex2's reader turns tabs to spaces, xlib/ins.cpp LoadFromStrings), and
    '=' before a '!' comment still continues the line; '=' after '!' is part of the comment."""
    text = HEADER + (
        "SADI C1 C2 C3 C4 = ! first pairs\n\tC1 C3 C2 C4\nDFIX 1.5 C1 C2 ! = not continued\n"
        "  C3 C4 is a comment\n" + ATOMS
    )
    shelx = parse_shelx(text, "x.res")
    sadi, dfix = (line for line in shelx.lines if line.keyword in ("SADI", "DFIX"))
    assert sadi.fields == ["C1", "C2", "C3", "C4", "C1", "C3", "C2", "C4"]
    assert dfix.fields == ["1.5", "C1", "C2"]
    assert [line.kind for line in shelx.lines if line.number == 11] == ["comment"]


def test_sfac_elements_written_with_a_dollar():
    """'SFAC $C $H N O': the SHELX manual (SHELXS, SFAC; wingx's sxs240.htm) says an element
    'may be preceded by '$' but this is not obligatory (the '$' character is allowed for
    logical consistency with certain SHELXL instructions [DISP $C] but is ignored)'. Read as
    C H N O (it was refused as an unknown element); the SFAC line is written back as it was."""
    text = HEADER.replace("SFAC C H N O", "SFAC $C $H N O") + ATOMS
    shelx = parse_shelx(text, "x.res")
    assert shelx.sfac == ["C", "H", "N", "O"]
    assert {site.element for site in shelx.to_structure().sites} == {"C"}
    out = render_with_sites(shelx, _retyped(shelx, "C2", "N2", "N"))
    assert "SFAC $C $H N O\nUNIT 8 8 4 4\n" in out
    assert "\nN2    3 " in out


def test_a_line_neither_instruction_nor_atom_is_named_in_a_note(tmp_path):
    """A misspelt instruction ('SADY C1 C2') is no instruction and no atom: SHELXL stops at it;
    the job goes on, keeps it in the .res as written, and names it (it went unseen)."""
    path = tmp_path / "x.res"
    path.write_text(HEADER + "SADY C1 C2 C3 C4\n" + ATOMS)
    loaded = load(path)
    assert loaded.notes[0] == (
        "line 8 (SADY) of x.res: neither a SHELX instruction nor an atom (label, SFAC number, "
        "x y z): not read, kept as written"
    )
    assert "SADY C1 C2 C3 C4\n" in render_with_sites(loaded.shelx, loaded.structure)


# dkratzert/ShelXFile tests/resources/u_codes.res (as stored, commit b5d72392): every form a
# SHELXL Uiso takes (manual, atom instructions: fixed 10 + U, p·fv(m) as 10m + p, p·(1 − fv(m))
# as −(10m + p), and −0.5..−5 times the Ueq of the previous atom not a hydrogen, here a C)
U_CODES = (
    "TITL u_codes in P-1\n"
    "CELL  0.71073  10.0000  11.0000  12.0000   90.000   90.000   90.000\n"
    "ZERR   1   0.0010   0.0010   0.0010   0.000   0.000   0.000\nLATT 1\nSFAC C H O\n"
    "UNIT 6 6 2\nFVAR 0.20000 0.30000 0.70000\n"
    "C1    1    0.100000    0.100000    0.100000   11.00000    0.04000\n"
    "C2    1    0.200000    0.100000    0.100000   11.00000   -1.50000\n"
    "C3    1    0.300000    0.100000    0.100000   11.00000    10.05000\n"
    "C4    1    0.400000    0.100000    0.100000   11.00000    20.05000\n"
    "C5    1    0.500000    0.100000    0.100000   11.00000   -20.05000\n"
    "O1    3    0.600000    0.100000    0.100000   11.00000    0.03000    0.03000 =\n"
    "    0.03000    0.00000    0.00000    0.00000\n"
    "H1    2    0.100000    0.200000    0.100000   11.00000   -1.20000\nHKLF 4\nEND\n"
)


def test_every_form_of_a_uiso_code_is_read_and_written_back():
    shelx = parse_shelx(U_CODES, "u_codes.res")
    sites = shelx.to_structure().sites
    assert [round(s.u_iso, 6) for s in sites] == [0.04, 0.06, 0.05, 0.015, 0.035, 0.03, 0.036]
    out = render_with_sites(shelx, shelx.to_structure())
    for code in ("-1.50000", "10.05000", "20.05000", "-20.05000", "-1.20000"):
        assert f"11.00000 {code:>10}\n" in out


@pytest.mark.parametrize("ending", ["END\n", "PLAN 20"])
def test_a_file_without_hklf_is_written_with_one(ending):
    """No HKLF (an .ins written by hand, or cut short before it): the reflections are read as
    HKLF 4 (ShelxFile.reflection_format) and the .res written ends 'HKLF 4', END, as the manual
    says an .ins 'should always ... finish with HKLF and END': SHELXL stops at a .res without
    it. Said in a note, which claims no reflections read (a CSD export assigned without any,
    dkratzert/DSR pictures/benzene-UGEDEQ.res, was told 'its reflections were read as HKLF 4');
    the file's own last line, even one without a line ending, is kept."""
    text = HEADER + ATOMS.replace("HKLF 4\nEND\n", ending)
    shelx = parse_shelx(text, "x.ins")
    assert shelx.reflection_format().code == 4
    notes: list[str] = []
    out = render_with_sites(shelx, shelx.to_structure(), notes=notes)
    assert out.endswith(("" if ending == "END\n" else "PLAN 20\n") + "HKLF 4\nEND\n")
    assert notes == [
        "x.ins has no HKLF instruction: the .res written ends with HKLF 4 (SHELXL needs one), "
        "the format reflections given with it are read in"
    ]
    with_one = parse_shelx(HEADER + ATOMS, "y.res")  # a file with one gets no second
    assert render_with_sites(with_one, with_one.to_structure()).count("HKLF") == 1


def test_fvar_over_several_lines_and_symm_written_with_spaces():
    """FVAR may be given on several lines, the free variables numbered on across them (manual,
    FVAR: 'osf free variables ...'; ShelXFile's FVARs reads every FVAR line), and a SYMM's
    fields may hold blanks ('1/2 + X'): free variable 3 is the second line's 0.3; the group is
    P2(1)/c either way."""
    text = HEADER.replace("SYMM -X, 1/2+Y, 1/2-Z", "SYMM - X , 1/2 + Y , 1/2 - Z") + ATOMS.replace(
        "FVAR 1\n", "FVAR 1 0.6\nFVAR 0.3\n"
    ).replace("C2 1 0.2 0.1 0.1 11", "C2 1 0.2 0.1 0.1 -31")
    shelx = parse_shelx(text, "x.res")
    assert shelx.fvars == [1.0, 0.6, 0.3] and len(shelx.symops) == 4
    assert [round(s.occupancy, 6) for s in shelx.to_structure().sites] == [1, 0.7, 1, 1]
    assert render_with_sites(shelx, shelx.to_structure()).startswith(
        text.split("C1 ")[0]
    )  # header and both FVAR lines as they were


# dkratzert/DSR example/p21c_final.res (commit 12f7eb85), a SHELXL-2014/7 .res refined with DSR's
# disordered OC(CF3)3 groups, cut to one atom and two residues of two atoms: text before TITL
# (SHELXL writes 'p21c.res created by ...' there), a '!!' comment, 'fmap' in lower case, PART 1
# 21 and PART 2 -21 groups in residues with a PART 0 between them, atoms named by residue
# (Al1_0, O1_3) and an instruction for a residue class (DFIX_CCF3), a DSR REM line
DSR_P21C = (
    "\n    p21c.res created by SHELXL-2014/7\n\n \nTITL p21c in P2(1)/c\n"
    "CELL 0.71073 10.5086 20.9035 20.5072 90 94.13 90\nZERR 4 0.0003 0.0005 0.0005 0 0.001 0\n"
    "LATT 1\nSYMM -X,0.5+Y,0.5-Z\nSFAC  C  H  O  F  Al  Ga\nUNIT  1  2  3  4  5  6\n"
    "LIST 6 ! automatically inserted. Change 6 to 4 for CHECKCIF!!\n \nL.S.  10\nPLAN  20\n"
    "TEMP -173.18\nBOND $H\nfmap 2\n \nWGHT    0.049800\n"
    "FVAR       0.08681   0.49319   0.56575\n"
    "AL1   5    0.064284    0.260188    0.478728    11.00000    0.01602    0.01974 =\n"
    "         0.01369   -0.00009   -0.00219    0.00124\n"
    "RESI 3 CF3\nPART 1 21\n"
    "O1    3    0.161315    0.212267    0.530798    21.00000    0.01227    0.01544 =\n"
    "         0.01992    0.00051   -0.00571   -0.00377\n"
    "C1    1    0.197630    0.150858    0.543359    21.00000    0.02099    0.01728 =\n"
    "         0.02243    0.00224   -0.00397    0.00101\n"
    "PART 0\nRESI 0\n \n"
    "SADI Al1_0 O1_3 Al1_0 O1_5\nEADP C1_3 C1_5\nEADP O1_5 O1_3\n \n"
    "DFIX_CCF3 1.35 O1 C1\n"
    "RESI 5 CCF3\nPART 2 -21\n"
    "O1    3    0.137605    0.204085    0.530373   -21.00000    0.01227    0.01544 =\n"
    "         0.01992    0.00051   -0.00571   -0.00377\n"
    "C1    1    0.183528    0.145640    0.546095   -21.00000    0.02099    0.01728 =\n"
    "         0.02243    0.00224   -0.00397    0.00101\n"
    "PART 0\nRESI 0\n \n"
    "REM rem dsr put oc(cf3)3 with O1 c1 c2 on O1_3 C1_3 Q11 part 2 occ -21 resi\n"
    "HKLF 4\nEND\n"
)


def test_a_dsr_refined_res_is_written_back_as_it_was_and_follows_a_renamed_atom():
    """Read as SHELXL reads it (fv(2) = 0.49319 for PART 1, 1 - fv(2) for PART 2, C1_3 and
    C1_5 two atoms); written back unchanged byte for byte (the PART 0 between the two groups
    was left out: 'PART 2' ends PART 1 too, but the user's line and the instructions after it
    stood outside both); O1_3 renamed O2_3 is followed in SADI and EADP by its residue suffix,
    DFIX_CCF3 (residue 5's O1) is not touched. The residue-addressed lines reach the refinement
    on the job's labels as SHELXL reads them (manual, RESI): DFIX_CCF3 for residue 5 alone,
    residue 3 being of class CF3 (session 23 left all four out "by residue")."""
    shelx = parse_shelx(DSR_P21C, "p21c_final.res")
    structure = shelx.to_structure()
    assert shelx.title == "p21c in P2(1)/c"
    assert [(s.label, round(s.occupancy, 5), s.part) for s in structure.sites] == [
        ("AL1", 1.0, 0),
        ("O1_3", 0.49319, 1),
        ("C1_3", 0.49319, 1),
        ("O1_5", 0.50681, 2),
        ("C1_5", 0.50681, 2),
    ]
    assert render_with_sites(shelx, structure) == DSR_P21C
    out = render_with_sites(shelx, _retyped(shelx, "O1_3", "O2_3", "O"))
    expected = DSR_P21C
    for old, new in (
        ("O1    3    0.161315", "O2    3    0.161315"),
        ("SADI Al1_0 O1_3 Al1_0", "SADI Al1_0 O2_3 Al1_0"),
        ("EADP O1_5 O1_3", "EADP O1_5 O2_3"),
    ):
        expected = expected.replace(old, new)
    assert out == expected  # the REM line's O1_3 is a comment: as it was
    lines, note = user_restraints(shelx, structure)
    assert lines == [
        "SADI Al1 O1_3 Al1 O1_5",
        "EADP C1_3 C1_5",
        "EADP O1_5 O1_3",
        "DFIX 1.35 O1_5 C1_5",
    ]
    assert note == ""


@pytest.mark.parametrize("entry", ["FC_p31c", "FC_sucrose", "FC_p21c"])
def test_a_riding_uiso_is_times_the_ueq_shelxl_writes_to_its_cif(shared_data, entry):
    """A riding H's Uiso of -1.2 or -1.5 is that times the Ueq of the atom before it (manual,
    atom instructions), the Ueq being a third of the trace of U on Cartesian axes, as the
    refinement computes it (crystallography.convert.displacement). The published .res read
    gives every riding H the Uiso its own SHELXL CIF states, to the CIF's 0.001 Å² rounding;
    the mean of U11 U22 U33 that was read as Ueq put FC_p31c's (P31c, γ = 120°) 0.0035 Å² off,
    FC_sucrose's (β = 103°) 0.0013."""
    folder = shared_data / "benchmark" / entry
    shelx = parse_shelx((folder / "published.res").read_text(encoding="latin-1"), entry)
    block = gemmi.cif.read(str(folder / "model.cif")).sole_block()
    published = {
        label: float(u.split("(")[0])
        for label, u in block.find(["_atom_site_label", "_atom_site_U_iso_or_equiv"])
    }
    riding = [
        atom.site for atom in shelx.atoms if len(atom.u_codes) == 1 and -5 < atom.u_codes[0] < -0.5
    ]
    assert len(riding) >= 22
    assert max(abs(site.u_iso - published[site.label]) for site in riding) <= 0.0005 + 1e-9


# dkratzert/ShelXFile tests/resources/jkd77.res (commit 59806402), a SHELXL-97 .res, cut to
# three atoms and two of its twenty peaks: SHELXL-97 wrote its R1 summary between HKLF and
# 'END  ' (trailing blanks), then blank-only lines, the WGHT it proposes and the map's Q peaks
# with seven numbers after the label
JKD77 = (
    "TITL P21n in P2(1)/n\n"
    "CELL  0.71073   9.9199   9.5808  18.1079   90.000  105.506   90.000\n"
    "ZERR    4.00   0.0012   0.0011   0.0022   0.000   0.003   0.000\n"
    "LATT 1\nSYMM 1/2-X, 1/2+Y, 1/2-Z\nSFAC C  H  N\nUNIT 88 80 8\nL.S. 15\nACTA\nBOND $H\n"
    "FMAP 2\nHTAB\nPLAN 20\nCONF\nTEMP -173\nWGHT    0.079100    0.773600\nFVAR       0.15916\n"
    "N1    3    0.560600    0.373727    0.162013    11.00000    0.02436    0.01465 =\n"
    "         0.02743    0.00111    0.00668    0.00230\n"
    "C1    1    0.498013    0.502539    0.142184    11.00000    0.02805    0.01321 =\n"
    "         0.02703    0.00093    0.00508    0.00195\n"
    "AFIX  43\nH1    2    0.537231    0.578391    0.121223    11.00000   -1.20000\nAFIX 0\n"
    "HKLF 4\n \nREM  P21n in P2(1)/n\n"
    "REM R1 =  0.0517 for   2480 Fo > 4sig(Fo)  and  0.0643 for all   3033 data\n"
    "REM    219 parameters refined using      0 restraints\n \nEND  \n     \n"
    "WGHT      0.0791      0.7736 \n"
    "REM Highest difference peak  0.267,  deepest hole -0.301,  1-sigma level  0.067\n"
    "Q1    1   0.8836  0.2969  0.2052  11.00000  0.05    0.27\n"
    "Q2    1   0.6840  0.3075  0.2063  11.00000  0.05    0.24\n"
)


def test_a_shelxl_97_res_with_peaks_after_end():
    """What follows HKLF is no model (manual, HKLF): the peaks after END are not read. The H
    rides on C1's Ueq (monoclinic, β = 105.5°: not the mean of U11 U22 U33). Written back as
    it was; written after a refinement, it ends at its 'END  ' (the old map's peaks and the
    proposed WGHT described the old model). A Q peak with seven numbers and no height is read
    as a peak (SHELXS writes them so before END)."""
    shelx = parse_shelx(JKD77, "jkd77.res")
    n1, c1, h1 = shelx.to_structure().sites
    assert h1.u_iso == pytest.approx(1.2 * c1.u_iso) and c1.u_iso == pytest.approx(0.02320, 1e-3)
    assert render_with_sites(shelx, shelx.to_structure()) == JKD77
    refined = render_with_sites(shelx, shelx.to_structure(), refined=True)
    assert refined == JKD77.split("END  \n")[0] + "END  \n"
    peak_text = JKD77.replace(
        "AFIX 0\nHKLF", "AFIX 0\nQ1    1   0.88  0.29  0.20  11.00000  0.05\nHKLF"
    )
    (q1,) = [s for s in parse_shelx(peak_text, "q.res").to_structure().sites if s.is_peak]
    assert q1.label == "Q1" and q1.peak_height is None and q1.u_iso == 0.05


def test_every_published_res_is_written_back_as_it_was(shared_data):
    """The benchmark's SHELXL .res files (the _shelx_res_file of each source CIF), read and
    written with their own atoms, come back byte for byte: the user's AFIX 0 and PART 0 lines
    in their own spelling and order (FC_1979688 closes with 'PART 0', 'AFIX 0'; 'AFIX 0' and
    'PART 0' were written in the other order, in the writer's spelling), and a group the file
    leaves open after its last atom left open (FC_SH2185 ends in PART 2 before HKLF: a PART 0
    was added)."""
    files = sorted((shared_data / "benchmark").glob("*/published.res"))
    assert len(files) >= 11
    for path in files:
        text = path.read_bytes().decode("latin-1")
        shelx = parse_shelx(text, str(path))
        out = render_with_sites(shelx, shelx.to_structure())
        assert out == text, path.parent.name
