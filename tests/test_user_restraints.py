"""The user's own restraints and constraints reach the refinement (io.shelx_restraints,
crystallography.refine's EADP/EXYZ): FC_SH2185's minor ring (FinalCif's SH2185_Cu.cif, its
embedded SHELXL .res) holds physical ADPs only with its EADP/SIMU/RIGU/DELU/FLAT."""

from dataclasses import replace

import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.io.shelx_restraints import user_restraints

from .conftest import BENCHMARK

HEADER = (
    "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSYMM -X, 1/2+Y, 1/2-Z\n"
    "SFAC C H N O\nUNIT 8 8 4 4\n"
)


def test_restraint_lines_follow_the_jobs_labels_and_leave_out_what_smtbx_cannot_apply():
    """O5 retyped N5 is renamed, a line naming the dropped C7 is left out, a range is spelt out
    in the file's order without C7 (SHELXL manual: 'C1 > C6', '<' backwards; without the
    riding H6 in every kind), CHIV (no smtbx
    restraint) and a residue-addressed line are noted, HTAB is no restraint at all."""
    text = HEADER + (
        "DFIX 1.40 O5 C6\nSIMU 0.01 O5 C6 = ! ring\n   C7\nEADP O5 C6\nDANG 2.4 C6 C7\n"
        "CHIV C6\nSADI C6 O5 C6 C1_2\nHTAB C6 O5\nRIGU O5 > C8\nFLAT C8 < O5\nFVAR 1\n"
        "O5 4 0.1 0.2 0.3 11 0.03\nC6 1 0.2 0.2 0.3 11 0.03\nC7 1 0.3 0.2 0.3 11 0.03\n"
        "H6 2 0.25 0.2 0.3 11 -1.2\nC8 1 0.4 0.2 0.3 11 0.03\n"
        "HKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    structure = shelx.to_structure()
    sites = [
        replace(s, label="N5", element="N") if s.label == "O5" else s
        for s in structure.sites
        if s.label != "C7"
    ]
    lines, note = user_restraints(shelx, structure.with_sites(sites))
    assert lines == ["DFIX 1.40 N5 C6", "EADP N5 C6", "RIGU N5 C6 C8", "FLAT C8 C6 N5"]
    assert "2 naming atoms this model no longer has" in note
    assert "1 by residue" in note and "CHIV" in note
    assert user_restraints(None, structure) == ([], "")


def test_a_target_on_a_free_variable_is_the_distance_it_stands_for():
    """SHELXL reads DFIX 21 as fv(2) Å, 30.5 as 0.5 × fv(3); a target under 15 is the distance
    written, as SHELXL fixes no DFIX by adding 10 (manual, DFIX, automate-it.com/lee/shelxl/
    dfix.htm: 'the value may lie between 0 and 15'): 11.54 is 11.54 Å. iotbx would restrain to
    21 Å. A target on a variable FVAR does not define is left out with a note, and the
    variable stays fixed (occupancy_variables)."""
    text = HEADER + (
        "DFIX 21 0.02 C1 C2\nDANG 30.5 C1 C8\nDFIX 11.54 C1 C8\nDFIX 1.5 C2 C1\n"
        "DFIX 41 C2 C1\nFVAR 1 1.54 4.8\n"
        "C1 1 0.1 0.2 0.3 21 0.03\nC2 1 0.2 0.2 0.3 11 0.03\nC8 1 0.4 0.2 0.3 11 0.03\n"
        "HKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    structure = shelx.to_structure()
    lines, note = user_restraints(shelx, structure)
    assert lines == [
        "DFIX 1.54000 0.02 C1 C2",
        "DANG 2.40000 C1 C8",
        "DFIX 11.54 C1 C8",
        "DFIX 1.5 C2 C1",
    ]
    assert "1 with a target on a free variable FVAR does not define" in note
    assert {s.label: s.input_variable for s in structure.sites}["C1"] is None


def test_a_negative_target_is_an_anti_bumping_restraint_left_out_and_said():
    """SHELXL applies a DFIX/DANG of negative target only while the distance is under |d|
    (manual, DFIX: an 'antibumping' restraint), whether written as a distance (-3.1), as
    -(10 + p) (-11.5: 11.5 Å, as SHELXL fixes no target by adding 10) or on a free variable
    (-21). smtbx has no such restraint and iotbx restrains to the negative number (pulling
    the atoms together); main turned -21 into a -0.54 Å target and noted -11.5 as 'a free
    variable FVAR does not define'. Each is left out, the note naming its kind and line."""
    text = HEADER + (
        "DFIX 1.5 C2 C1\nDFIX -3.1 C1 C8\nDFIX -11.5 0.1 C2 C8\nDANG -21 C1 C8\nFVAR 1 1.54\n"
        "C1 1 0.1 0.2 0.3 11 0.03\nC2 1 0.2 0.2 0.3 11 0.03\nC8 1 0.4 0.2 0.3 11 0.03\n"
        "HKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    lines, note = user_restraints(shelx, shelx.to_structure())
    assert lines == ["DFIX 1.5 C2 C1"]
    assert "3 anti-bumping DFIX/DANG (a negative target" in note
    assert "the first on line 9 of x.res" in note
    assert "free variable" not in note


def test_the_users_eadp_and_simu_hold_a_minor_rings_adps(shared_data):
    """Anisotropic without its restraints, SH2185's minor ring runs away (C17B's U33 over
    2 Å² on main before this change); with them every Ueq stays under 0.2 Å² and each EADP
    pair shares its Uij."""
    from crystalx_core.io import load
    from crystalx_core.pipeline import assign_job

    folder = BENCHMARK / "FC_SH2185"
    loaded = load(folder / "published.res")
    job = assign_job(
        loaded.structure, loaded.read(folder / "data.hkl"), shelx=loaded.output_template()
    )
    atoms = {a.label.upper(): a for s in job.final.structure.sites for a in s.with_mixed}
    ring = "C13 C14 C15 C16 C17A C17B C18A C18B C0AA C1AA C2AA".split()
    assert all(atoms[label].u_iso < 0.2 for label in ring), {l: atoms[l].u_iso for l in ring}
    for first, second in (("C18B", "C18A"), ("C17A", "C17B"), ("C1AA", "C15"), ("C2AA", "C14")):
        assert atoms[first].u_aniso == atoms[second].u_aniso
    assert job.final.r1 < 0.05


def test_the_users_eadp_holds_on_sxf_i43d_with_its_h_riding(shared_data):
    """SXF_I43d's EADP C21 C25 straddles a twofold axis the job's atoms sit beside. Built
    after the riding H, the EADP left H25 on a free copy of C25's Uij, which ran to 1.27 Å², so
    the job dropped the user's lines (R1 0.0304-0.0312) and wrote C20, C24, C26 and C40 non-
    positive definite. Built first, the lines hold, H25 rides C25 and no atom is NPD (R1 0.0358;
    SHELXL's own 0.0321)."""
    from crystalx_core.io import load
    from crystalx_core.pipeline import assign_job

    folder = BENCHMARK / "SXF_I43d"
    loaded = load(folder / "published.res")
    job = assign_job(
        loaded.structure, loaded.read(folder / "data.hkl"), shelx=loaded.output_template()
    )
    atoms = {s.label.upper(): s for s in job.final.structure.sites}
    assert atoms["H25"].u_iso == pytest.approx(1.2 * atoms["C25"].u_iso, rel=1e-6)
    assert not any("without the input's restraints" in note for note in job.notes), job.notes
    assert not any("not positive definite" in note for note in job.notes), job.notes
    assert job.final.r1 < 0.037


def test_a_restraint_smtbx_refuses_leaves_the_job_refined_without_them(shared_data, tmp_path):
    """`FLAT O C` (a plane needs four atoms): iotbx refuses the model; the job refines
    without the input's lines, as it did before they were carried, and says why."""
    from crystalx_core.io import load
    from crystalx_core.pipeline import assign_job

    folder = BENCHMARK / "XH_urea"
    text = (folder / "published.res").read_text()
    res = tmp_path / "urea.res"
    res.write_text(text.replace("FVAR", "DFIX 1.2 O C\nFLAT O C\nFVAR", 1))
    loaded = load(res)
    job = assign_job(
        loaded.structure, loaded.read(folder / "data.hkl"), shelx=loaded.output_template()
    )
    assert any("Invalid FLAT" in note for note in job.notes), job.notes
    assert job.final.r1 < 0.03


def test_a_target_negative_once_decoded_is_left_out_as_anti_bumping():
    """DFIX 16 is -4 × fv(2) (10m + p, p = -4: SHELX's parameter code): at fv(2) = 0.5 a
    target of -2 Å, which iotbx would restrain the distance towards; left out with the
    negative targets written as such (s20hostile2 handed 'DFIX -2.00000' on)."""
    text = HEADER + (
        "DFIX 16 C1 C2\nDFIX 1.5 C2 C1\nFVAR 1 0.5\n"
        "C1 1 0.1 0.2 0.3 11 0.03\nC2 1 0.2 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    lines, note = user_restraints(shelx, shelx.to_structure())
    assert lines == ["DFIX 1.5 C2 C1"]
    assert "1 anti-bumping DFIX/DANG (a negative target" in note


def test_a_restraint_on_an_eqiv_image_reaches_smtbx_with_its_symmetry():
    """SADI/DFIX/DANG/FLAT on an EQIV's image (O5_$1) are applied: iotbx's restraint_parser
    reads EQIV and gives each atom's operator to smtbx (sym_ops), so the line is kept with its
    EQIV first and the refinement renames the atom, keeping '_$1'. SIMU/DELU/RIGU/ISOR get no
    operator from iotbx and EADP/EXYZ none from smtbx: those stay out with the note. Main left
    every such line out. The operator is not its own inverse, so the DFIX (image named first)
    must restrain the distance SHELXL means, C6 to O5 moved by $1, not by the inverse."""
    from cctbx import geometry_restraints, sgtbx

    from crystalx_core.crystallography.refine import _refinement_model, _renamed

    text = HEADER + (
        "EQIV $1 1-X, 1/2+Y, 1/2-Z\nSADI C6 O5_$1 C6 O5\nSIMU O5_$1 C6\nDFIX 1.4 C6 O5_$2\n"
        "DFIX 3.0 O5_$1 C6\nFVAR 1\n"
        "O5 4 0.1 0.1 0.3 11 0.03\nC6 1 0.2 0.2 0.3 11 0.03\nHKLF 4\nEND\n"
    )
    shelx = parse_shelx(text, "x.res")
    kept, note = user_restraints(shelx, shelx.to_structure())
    assert kept == ["EQIV $1 1-X, 1/2+Y, 1/2-Z", "SADI C6 O5_$1 C6 O5", "DFIX 3.0 O5_$1 C6"]
    assert "2 by residue, range, symmetry" in note  # the SIMU, and the DFIX on no EQIV
    lines = _renamed(kept, {"A1": "O5", "A2": "C6"})
    assert lines[1:] == ["SADI A2 A1_$1 A2 A1", "DFIX 3.0 A1_$1 A2"]
    atoms = "A1 4 0.1 0.1 0.3 11 0.03\nA2 1 0.2 0.2 0.3 11 0.03\n"
    builder = _refinement_model(HEADER + "\n".join(lines) + "\n" + atoms + "HKLF 4\nEND\n")
    manager = builder.restraints_manager
    similar = manager.bond_similarity_proxies
    assert len(similar) == 1
    assert [str(op) for op in similar[0].sym_ops] == ["-x+1,y+1/2,-z+1/2", "x,y,z"]
    cell, sites = builder.structure.unit_cell(), builder.structure.sites_frac()
    shelxl = cell.distance(sites[1], sgtbx.rt_mx("1-X, 1/2+Y, 1/2-Z") * sites[0])
    (bond,) = manager.bond_proxies
    restrained = geometry_restraints.bond(cell, builder.structure.sites_cart(), bond)
    assert abs(restrained.distance_model - shelxl) < 1e-6 and shelxl > 5  # not the 1.0 Å pair


def test_a_dfix_across_an_eqiv_restrains_the_distance_shelxl_reports():
    """FC_sucrose's published .res (real; its EQIVs serve HTAB) with DFIX on the three H-bond
    pairs its CIF lists across $1 and $2 (one image named first): smtbx's restrained
    distances are SHELXL's D...A in that CIF (O4-H4A...O6 2.8015, C1-H1...O4 3.3154, C3-H3...O8
    3.4909 Å; the inverse operators would give 6.2166 and 8.4893 Å)."""
    from cctbx import geometry_restraints

    from crystalx_core.crystallography.refine import _refinement_model

    text = (BENCHMARK / "FC_sucrose" / "published.res").read_text()
    dfix = "DFIX 2.7 O6_$1 O4\nDFIX 3.0 C1 O4_$1\nDFIX 3.0 O8_$2 C3\n"
    text = text.replace("HTAB C1 O4_$1\n", "HTAB C1 O4_$1\n" + dfix, 1)
    shelx = parse_shelx(text, "published.res")
    kept, note = user_restraints(shelx, shelx.to_structure())
    assert kept == [
        "EQIV $1 -x+1, y+1/2, -z+1",
        "EQIV $2 -x+1, y-1/2, -z",
        *dfix.splitlines(),
    ]
    model = _refinement_model(text)
    cell, sites = model.structure.unit_cell(), model.structure.sites_cart()
    distances = [
        round(geometry_restraints.bond(cell, sites, proxy).distance_model, 4)
        for proxy in model.restraints_manager.bond_proxies
    ]
    assert distances == [2.8015, 3.3154, 3.4909]


def test_a_range_spans_no_h_in_any_kind_as_shelxl_and_olex2_read_it():
    """SXF_I43d's published .res (real): `FLAT C20 > C26` over a toluene ring whose riding H
    (H21..H25, AFIX 43) sit between its C in the atom list. SHELXL's range is 'all atoms
    between and including the two named atoms but excluding hydrogens' for every instruction
    (SHELXL-93/97 manual, .ins general organisation: automate-it.com/lee/shelxl/insgen.htm),
    and Olex2 skips H in any restraint's range (xlib/atomref.cpp ListAtomRef::Expand,
    `GetType().z < 2`); main spelt the H into FLAT (an ADP restraint's range only lost them),
    so the two paths of a job restrained different atoms."""
    shelx = parse_shelx((BENCHMARK / "SXF_I43d" / "published.res").read_text(), "published.res")
    kept, _ = user_restraints(shelx, shelx.to_structure())
    flat = [line for line in kept if line.startswith("FLAT")]
    assert flat == ["FLAT C20 C21 C22 C23 C24 C25 C26", "FLAT C30 C31 C32 C33 C34 C35"]


def test_an_atom_of_every_residue_is_left_out_and_named():
    """FC_p21c's published .res (real): `SADI Al1 O1_*`. SHELXL's manual allows '_*' on an
    instruction only: 'Individual atom names ... may be followed by _ and a residue number,
    but not by _* or _ and a residue class' (SHELX-97 manual, RESI:
    automate-it.com/lee/shelxl/resi.htm), and Olex2 reads O1_* as one list Al1 O1 O1_1 ...
    O1_4 whose SADI pairs O1_1-O1_2 and O1_3-O1_4 are disorder partners (xlib/atomref.cpp
    ImplicitCAtomRef::Expand). No reading is sure, so the line is left out and named;
    SAME_CCF3 is named with its line, which SHELXL turns into SADI restraints."""
    shelx = parse_shelx((BENCHMARK / "FC_p21c" / "published.res").read_text(), "published.res")
    kept, note = user_restraints(shelx, shelx.to_structure())
    assert not [line for line in kept if "AL1" in line.upper()]
    assert "1 naming an atom of every residue (O1_*" in note
    assert "the first on line 28 of published.res" in note and "by residue" not in note
    assert "SAME (1 line, the first on line 22 of published.res" in note


# FC_p21c's residue 1 (published .res, lines 183-189) under a RESI naming its class only
CLASS_ONLY = (
    "FVAR 1\nRESI CCF3\n"
    "O1    3    0.158116    0.209440    0.527868    11.00000    0.02\n"
    "C1    1    0.198917    0.149539    0.543482    11.00000    0.02\n"
    "C2    1    0.283612    0.124886    0.490301    11.00000    0.03\n"
)


def test_a_resi_with_a_class_and_no_number_is_residue_0_of_that_class():
    """`RESI CCF3` alone: SHELXL's number defaults to 0 ('RESI class[ ] number[0] alias',
    manual), so its atoms are residue 0's and SADI_CCF3 applies to them; main had the class
    declared by no residue and left the line out."""
    text = HEADER.replace("N O", "F O") + "SADI_CCF3 0.02 O1 C1 O1 C2\n" + CLASS_ONLY
    shelx = parse_shelx(text + "HKLF 4\nEND\n", "x.res")
    kept, note = user_restraints(shelx, shelx.to_structure())
    assert (kept, note) == (["SADI 0.02 O1 C1 O1 C2"], "")
    # SIMU_CCF3 without atoms is for the class's atoms only, which residue 0 holds with the
    # main ones (N9 here): left out and said, never a SIMU on every atom
    text = text.replace("SADI_CCF3", "SIMU_CCF3\nSADI_CCF3").replace(
        "FVAR 1\n", "FVAR 1\nN9    3    0.5    0.5    0.5    11.00000    0.02\n"
    )
    shelx = parse_shelx(text + "HKLF 4\nEND\n", "x.res")
    kept, note = user_restraints(shelx, shelx.to_structure())
    assert kept == ["SADI 0.02 O1 C1 O1 C2"] and "1 by residue" in note


def test_a_line_for_every_residue_skips_a_residue_without_its_atoms():
    """`RIGU_* O1 > C2` over FC_p21c's residue 1 (excerpt) and a main residue that holds no
    O1: SHELXL and Olex2 apply it to each residue holding the atoms (AtomRefList::Expand
    drops a residue whose list is empty); main also made a residue-0 line, 'O1 > C2' in a
    residue without them, and left it out as unread."""
    text = HEADER.replace("N O", "F O") + (
        "RIGU_* O1 > C2\nFVAR 1\nN9    3    0.5    0.5    0.5    11.00000    0.02\n"
        + CLASS_ONLY.replace("FVAR 1\nRESI CCF3", "RESI 1 CCF3")
    )
    shelx = parse_shelx(text + "HKLF 4\nEND\n", "x.res")
    kept, note = user_restraints(shelx, shelx.to_structure())
    assert (kept, note) == (["RIGU O1_1 C1_1 C2_1"], "")
