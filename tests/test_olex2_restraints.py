"""The plugin's job refines with the user's restraints and constraints, as `crystalx assign x.ins
--hkl` does with the .ins's: the plugin writes those Olex2's refinement model holds as SHELX
lines (olex_model.restraint_lines, from refmodel.cpp PyExport as the double builds it), and the
core follows them to the job's labels and applies them by the rules a .res's lines go through
(io.shelx_restraints.sent_restraints → _carried, as user_restraints).

Input: FC_SH2185 (benchmark: its published .res and .hkl), a phenyl ring disordered over two
PARTs held by FLAT, DELU, SIMU, two RIGU and four EADP, opened as benchmarks/plugin_restraints.py
writes it (isotropic at Ueq, each occupancy at its free variable's value, for both jobs)."""

import sys

import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from benchmarks.plugin_restraints import cli_job, ins_text, open_in_olex2, plugin_job
from crystalx_core.io import load
from crystalx_core.io.shelx_restraints import GivenRestraints, sent_restraints, user_restraints
from crystalx_core.service import structure_from_snapshot


def _opened(tmp_path, shared_data, state):
    ins, hkl = tmp_path / "x.ins", tmp_path / "x.hkl"
    ins.write_text(ins_text())
    hkl.write_bytes((shared_data / "benchmark" / "FC_SH2185" / "data.hkl").read_bytes())
    open_in_olex2(state, ins, hkl)
    return ins


def _atoms(lines):
    """(keyword, its atoms) per line: the numbers left out, SHELXL's defaults where not given."""
    return [
        (line.split()[0], [w for w in line.split()[1:] if not w[:1].isdigit()]) for line in lines
    ]


def test_the_plugin_sends_the_restraints_the_command_line_refines_with(
    tmp_path, shared_data, olex2_reader
):
    """The same restraints on the same atoms, in the file's order, from Olex2's export as from
    the .ins; each with the numbers Olex2 holds, SHELXL's defaults where the line gives none
    (DELU 0.01, RIGU 0.004, as iotbx's parser takes them). Main sent none."""
    state, olex_model = olex2_reader
    ins = _opened(tmp_path, shared_data, state)
    model = olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"])
    sent = model.reflections["restraints"]
    loaded = load(ins)
    cli, cli_note = user_restraints(loaded.shelx, loaded.structure)
    structure = structure_from_snapshot(model.snapshot)
    plugin, plugin_note = sent_restraints(
        GivenRestraints(tuple(sent), tuple(structure.sites)), structure
    )
    assert (cli_note, plugin_note) == ("", "")
    order = ("DFIX", "DANG", "SADI", "CHIV", "FLAT", "DELU", "RIGU", "SIMU", "ISOR", "EADP")
    assert _atoms(plugin) == sorted(_atoms(cli), key=lambda item: order.index(item[0]))
    assert "RIGU 0.004 0.004 C17B C18B C16 C15 C14 C13" in plugin  # 'RIGU C17B ...' in the file
    assert "SIMU 0.02 0.04 2 C18B C17B C13" in plugin
    assert "DELU 0.01 0.01 C13 C18B C17B C16 C14 C15 C2AA C1AA C0AA C18A C17A" in plugin
    assert any(line.startswith("RIGU 0.004 0.004 C13 C18B H18B") for line in plugin)


def test_olex2s_ranges_symmetry_and_defaults_reach_the_core_as_a_res_would(olex2_reader):
    """Olex2 spells a range out without H (atomref.cpp ListAtomRef::Expand), gives a DELU
    without atoms for all non-H atoms (atoms ()), drops a DANG left without a pair of atoms
    found (AtomRefList::EnsureAtomGroups), names an EQIV's image by its matrix: the
    plugin writes it C1_$1 and sends the EQIV, and the core applies the SADI on it as on a
    .res's (main left it out); an anti-bumping DFIX (a negative target) is named; CHIV
    and SAME are named as kinds smtbx has no form of; EXYZ is a constraint the core applies."""
    state, olex_model = olex2_reader
    atoms = [
        ("C1", "C", (0.1, 0.1, 0.1)),
        ("H1", "H", (0.15, 0.1, 0.1)),
        ("C2", "C", (0.2, 0.1, 0.1)),
        ("C3", "C", (0.3, 0.1, 0.1)),
        ("O1", "O", (0.3, 0.2, 0.1)),
    ]
    state.load((10, 10, 10, 90, 90, 90), state.matrices, [("C", 3), ("O", 1)], 1, atoms)
    state.read_instructions(
        "EQIV $1 -x, -y, -z\nSIMU 0.03 C1 > C3\nDELU\nDFIX 1.45 C1 C2 C2 C3\nSADI C1 O1_$1 C2 O1\n"
        "CHIV C1\nSAME C1 C2\nEXYZ C3 O1\nDANG 2.5 C1 Xx9\nDFIX -1.8 C1 O1\n"
    )
    refinement = sys.modules["olex_core"].GetRefinementModel(False)
    lines = olex_model.restraint_lines(refinement)
    assert lines == [
        "DFIX 1.45 0.02 C1 C2 C2 C3",
        "DFIX -1.8 0.02 C1 O1",
        "SADI 0.02 C1 O1_$1 C2 O1",
        "CHIV 0 0.1 C1",
        "DELU 0.01 0.01",
        "SIMU 0.03 0.06 2 C1 C2 C3",  # the range without H1
        "EXYZ C3 O1",
        "EQIV $1 -x,-y,-z",
        "SAME",
    ]
    snapshot = olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"]).snapshot
    structure = structure_from_snapshot(snapshot)
    kept, note = sent_restraints(GivenRestraints(tuple(lines), tuple(structure.sites)), structure)
    assert kept == [  # the SADI on O1's image under its EQIV, which iotbx applies
        "EQIV $1 -x,-y,-z",
        "DFIX 1.45 0.02 C1 C2 C2 C3",
        "SADI 0.02 C1 O1_$1 C2 O1",
        "DELU 0.01 0.01",
        "SIMU 0.03 0.06 2 C1 C2 C3",
        "EXYZ C3 O1",
    ]
    assert "by residue, range, symmetry" not in note
    assert "CHIV, SAME (1 line, the first in Olex2's refinement model: SAME; SHELXL makes" in note
    assert "the first in Olex2's refinement model: DFIX -1.8 0.02 C1 O1" in note


def test_a_target_on_a_free_variable_reaches_the_core_at_its_value(olex2_reader):
    """Olex2 reads a DFIX target through XVarManager::SetParam (xlib/ins.cpp ParseRestraint,
    xlib/leq.cpp), so its export holds fv(2) for `DFIX 21`, which the core applies as it
    does the .res's line decoded (_target_decoded); a FLAT left with three atoms is emptied
    (TSimpleRestraint::Validate: rltAtoms4N) and not exported. The double had exported 21 Å,
    which the core left out as a target on a variable it does not know."""
    state, olex_model = olex2_reader
    atoms = [
        ("C1", "C", (0.1, 0.1, 0.1)),
        ("C2", "C", (0.2, 0.1, 0.1)),
        ("C3", "C", (0.3, 0.1, 0.1)),
    ]
    state.load((10, 10, 10, 90, 90, 90), state.matrices, [("C", 3)], 1, atoms)
    state.read_instructions("DFIX 21 0.01 C1 C2\nFLAT C1 C2 C3\nFVAR 1.0 1.52\n")
    lines = olex_model.restraint_lines(sys.modules["olex_core"].GetRefinementModel(False))
    assert lines == ["DFIX 1.52 0.01 C1 C2"]
    structure = structure_from_snapshot(
        olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"]).snapshot
    )
    given = GivenRestraints(tuple(lines), tuple(structure.sites))
    assert sent_restraints(given, structure) == (["DFIX 1.52 0.01 C1 C2"], "")


def test_a_restraint_naming_a_q_peak_is_named_in_the_jobs_notes_not_refined(olex2_reader):
    """Olex2 exports a Q-peak's tag as -1 (TAsymmUnit::PyExport marks the peaks it leaves out
    so, and the restraints are exported after it): session 23's branch named it labels[-1],
    the last atom (`DFIX 1.5 C1 Q1` went to the core as a DFIX between C1 and C2), then main
    dropped the line without a word. The plugin now sends the peak as PEAK_WORD and the core
    names each such line in the job's notes, refining the others."""
    state, olex_model = olex2_reader
    atoms = [
        ("C1", "C", (0.1, 0.1, 0.1)),
        ("C2", "C", (0.2, 0.1, 0.1)),
        ("Q1", "Q", (0.3, 0.1, 0.1)),
    ]
    state.load((10, 10, 10, 90, 90, 90), state.matrices, [("C", 2)], 1, atoms)
    state.read_instructions("DFIX 1.5 C1 Q1\nDFIX 1.4 C1 C2\nEXYZ C2 Q1\n")
    refinement = sys.modules["olex_core"].GetRefinementModel(False)
    assert refinement["dfix"][0]["atoms"] == ((0, None), (-1, None))
    lines = olex_model.restraint_lines(refinement)
    assert lines == ["DFIX 1.5 0.02 C1 Q?", "DFIX 1.4 0.02 C1 C2", "EXYZ C2 Q?"]
    structure = structure_from_snapshot(
        olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"]).snapshot
    )
    kept, note = sent_restraints(GivenRestraints(tuple(lines), tuple(structure.sites)), structure)
    assert kept == ["DFIX 1.4 0.02 C1 C2"]
    assert note.endswith(
        "2 naming a Q-peak, which is no atom to restrain (DFIX 1.5 0.02 C1 Q?; EXYZ C2 Q?)"
    )


def test_a_restraint_follows_the_jobs_labels_and_one_on_a_dropped_atom_is_left_out():
    """The request's labels are the snapshot's; the job renames (O5 → N5) and drops atoms, each
    site keeping its place in the snapshot (Site.line), as a .res's lines are followed."""
    snapshot = {
        "cell": [10, 10, 10, 90, 90, 90],
        "sites": [
            {"label": "C1", "element": "C", "frac": [0.1, 0.1, 0.1]},
            {"label": "O5", "element": "O", "frac": [0.2, 0.1, 0.1]},
            {"label": "C2", "element": "C", "frac": [0.3, 0.1, 0.1]},
        ],
    }
    given = structure_from_snapshot(snapshot)
    job = structure_from_snapshot(snapshot)
    job.sites[1] = job.sites[1].with_element("N", "N5")
    del job.sites[2]
    kept, note = sent_restraints(
        GivenRestraints(("DFIX 1.4 0.02 C1 O5", "DFIX 1.5 0.02 O5 C2"), tuple(given.sites)), job
    )
    assert kept == ["DFIX 1.4 0.02 C1 N5"]
    assert "1 naming atoms this model no longer has" in note


def test_a_pair_the_user_wrote_stays_and_one_of_disorder_partners_is_left_out():
    """O1 in the main residue and in residues 1 and 2 (PART 1 and 2): a DFIX the user wrote
    between two of them is kept, not taken for Olex2's list for O1_* (three or more side by
    side); one between the two PARTs, which never coexist, is left out and named."""
    sites = [
        {"label": "O1", "element": "O", "frac": [0.1, 0.1, 0.1]},
        {"label": "C1", "element": "C", "frac": [0.2, 0.1, 0.1]},
        {"label": "O1", "residue": 1, "part": 1, "element": "O", "frac": [0.3, 0.1, 0.1]},
        {"label": "O1", "residue": 2, "part": 2, "element": "O", "frac": [0.3, 0.2, 0.1]},
    ]
    structure = structure_from_snapshot({"cell": [10, 10, 10, 90, 90, 90], "sites": sites})
    lines = ("DFIX 2.5 0.02 O1 O1_1", "DFIX 1.4 0.02 C1 O1", "DFIX 0.2 0.02 O1_1 O1_2")
    kept, note = sent_restraints(GivenRestraints(lines, tuple(structure.sites)), structure)
    assert kept == ["DFIX 2.5 0.02 O1 O1_1", "DFIX 1.4 0.02 C1 O1"]
    assert "1 pairing atoms of two PARTs" in note and "every residue" not in note


def test_a_line_the_user_wrote_across_residues_in_another_order_than_olex2s_stays():
    """O1 in residues 1-4 (PART 1, 2, 1, 2; no O1 in the main residue): `DFIX 2.7 O1_1 O1_3
    O1_2 O1_4`, the user's distance between each PART's two groups, holds every residue's O1
    side by side but not in Olex2's order for O1_* (the main residue, then each residue as
    created: xlib/asymmunit.cpp TAsymmUnit::FindResidues("*")), so it is the user's and kept;
    the same atoms in Olex2's order are its list, left out."""
    sites = [
        {"label": "O1", "residue": n, "part": 2 - n % 2, "element": "O", "frac": [n / 9, 0.1, 0.1]}
        for n in (1, 2, 3, 4)
    ]
    structure = structure_from_snapshot({"cell": [10, 10, 10, 90, 90, 90], "sites": sites})
    lines = ("DFIX 2.7 0.02 O1_1 O1_3 O1_2 O1_4", "SADI 0.02 O1_1 O1_2 O1_3 O1_4")
    kept, note = sent_restraints(GivenRestraints(lines, tuple(structure.sites)), structure)
    assert kept == ["DFIX 2.7 0.02 O1_1 O1_3 O1_2 O1_4"]
    assert "1 naming an atom of every residue (O1_*" in note


def test_a_kind_the_core_has_no_reader_for_is_named_not_read_as_an_atom():
    """A sent line of a kind neither the core nor smtbx knows (Olex2's own
    olex2.restraint.angle, were a plugin to send it) is named in the note: the branch kept it,
    and iotbx's parser read its first word as an atom and failed with a TypeError, which
    lost the whole answer ("internal")."""
    snapshot = {
        "cell": [10, 10, 10, 90, 90, 90],
        "sites": [
            {"label": "C1", "element": "C", "frac": [0.1, 0.1, 0.1]},
            {"label": "C2", "element": "C", "frac": [0.2, 0.1, 0.1]},
        ],
    }
    structure = structure_from_snapshot(snapshot)
    lines = ("olex2.restraint.angle 109.5 0.1 C1 C2 C1", "DFIX 1.5 0.02 C1 C2")
    kept, note = sent_restraints(GivenRestraints(lines, tuple(structure.sites)), structure)
    assert kept == ["DFIX 1.5 0.02 C1 C2"]
    assert "OLEX2.RESTRAINT.ANGLE (smtbx has no such restraint)" in note


@pytest.mark.slow  # three refinements of a 66-atom disordered structure: ~2 min on two cores
def test_a_plugin_job_refines_as_the_command_line_with_the_users_restraints(
    tmp_path, shared_data, olex2_reader
):
    """The same R1, wR2 and parameter count (EADP shares the ADPs: 24 fewer) from both jobs;
    without the restraints, as main's plugin sent its job, the figures differ (measured: R1
    0.0293 against 0.0302, 261 parameters against 237)."""
    state, olex_model = olex2_reader
    ins, hkl, cli = cli_job(tmp_path)
    refined = cli["refinement"]
    figures = {}
    for restraints in (True, False):
        state.reset()
        open_in_olex2(state, ins, hkl)
        _, result = plugin_job(state, olex_model, restraints)
        figures[restraints] = result["reflections"]
    assert figures[True]["parameters"] == refined["n_parameters"]
    assert abs(figures[True]["r1"] - refined["r1"]) < 1.1e-4
    assert abs(figures[True]["wr2"] - refined["wr2"]) < 1.1e-4
    assert figures[False]["parameters"] > refined["n_parameters"]
    assert abs(figures[False]["wr2"] - refined["wr2"]) > 1e-3


def _both_paths(tmp_path, source, olex2_reader, text=None):
    """(lines, note) of the command line's reading of `source`'s published .res (or `text`),
    and of the plugin's job on the same file opened in the Olex2 double."""
    state, olex_model = olex2_reader
    ins, hkl = tmp_path / "x.ins", tmp_path / "x.hkl"
    ins.write_text(text or (source / "published.res").read_text())
    hkl.write_bytes((source / "data.hkl").read_bytes())
    loaded = load(ins)
    open_in_olex2(state, ins, hkl)
    lines = olex_model.restraint_lines(sys.modules["olex_core"].GetRefinementModel(False))
    structure = structure_from_snapshot(
        olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"]).snapshot
    )
    given = GivenRestraints(tuple(lines), tuple(structure.sites))
    return user_restraints(loaded.shelx, loaded.structure), sent_restraints(given, structure)


def test_residue_class_restraints_reach_the_core_on_both_paths(tmp_path, shared_data, olex2_reader):
    """FC_p21c (benchmark: its published .res) holds four OC(CF3)3 groups in residues 1, 2
    and 4 of class CCF3 and 3 of class CF3, restrained by SADI_CCF3, SIMU_CCF3 and RIGU_CCF3
    (ranges O1 > F9). SHELXL applies such a line to each residue of the class, a bare atom
    name read in that residue (manual, RESI); Olex2 exports one restraint per residue, each
    atom by its tag in its residue (AtomRefList::Expand), which the plugin names C1_1. Both
    paths now give the core the same 27 lines on residues 1, 2 and 4, never 3; main left
    every one out ("by residue") on both."""
    (cli, cli_note), (plugin, plugin_note) = _both_paths(
        tmp_path, shared_data / "benchmark" / "FC_p21c", olex2_reader
    )
    # SADI Al1 O1_* is left out on both paths (test_an_atom_of_every_residue_...)
    by_residue = [atoms for keyword, atoms in _atoms(cli) if any("_" in a for a in atoms)]
    assert len(by_residue) == 27
    assert {a.split("_")[1] for atoms in by_residue for a in atoms} == {"1", "2", "4"}
    order = ("DFIX", "DANG", "SADI", "CHIV", "FLAT", "DELU", "RIGU", "SIMU", "ISOR", "EADP")
    assert _atoms(plugin) == sorted(_atoms(cli), key=lambda item: order.index(item[0]))
    assert "SADI 0.02 O1_2 C1_2" in plugin and "SADI 0.02 O1_2 C1_2" in cli
    assert "SAME (1 line, the first on line 22" in cli_note and "SAME" in plugin_note


def test_olex2s_list_for_an_atom_of_every_residue_is_left_out_not_paired(
    tmp_path, shared_data, olex2_reader
):
    """FC_p21c's `SADI Al1 O1_*`: Olex2 expands O1_* to the O1 of the main residue and of
    every other, in one list after Al1 (xlib/atomref.cpp ImplicitCAtomRef::Expand with
    xlib/asymmunit.cpp TAsymmUnit::FindResidues("*"): MainResidue, then each residue), and
    exports that one flat list (xlib/srestraint.cpp TSimpleRestraint::PyExport), which a
    SADI reads as pairs: Al1-O1, O1_1-O1_2, O1_3-O1_4, the last two disorder partners (PART
    1 and 2, 0.21 and 0.14 A apart). The core must not pull them to an Al-O length: the line is
    left out and named. The s25olex2h double dropped the line and its core refined it."""
    (_, _), (plugin, note) = _both_paths(
        tmp_path, shared_data / "benchmark" / "FC_p21c", olex2_reader
    )
    state, olex_model = olex2_reader
    sent = olex_model.restraint_lines(sys.modules["olex_core"].GetRefinementModel(False))
    assert "SADI 0.02 AL1 O1 O1_1 O1_2 O1_3 O1_4" in sent
    assert not [line for line in plugin if "AL1" in line.upper()]
    assert "1 naming an atom of every residue (O1_*" in note  # as the file's line is named
    assert "the first in Olex2's refinement model: SADI 0.02 AL1 O1 O1_1 O1_2 O1_3 O1_4" in note


def _p21c_ordered(shared_data):
    """FC_p21c's published .res with only each disorder's major OC(CF3)3 kept, in PART 0:
    residues 1 (CCF3) and 3 (CF3) beside the main one's, each holding an O1 on Al1."""
    lines = (shared_data / "benchmark" / "FC_p21c" / "published.res").read_text().splitlines()
    start2 = lines.index("RESI 2 CCF3")
    kept = lines[:start2] + lines[lines.index("RESI 0", start2) + 1 :]
    kept = kept[: kept.index("RESI CCF3 4")] + ["HKLF 4"]
    text = "\n".join(kept).replace("PART 1 21", "PART 0").replace("PART 1 31", "PART 0")
    return text.replace("    21.00000", "    11.00000").replace("    31.00000", "    11.00000")


def test_olex2s_list_for_an_atom_of_every_residue_in_part_0_is_left_out_as_the_files(
    tmp_path, shared_data, olex2_reader
):
    """`SADI Al1 O1_*` over three ordered OC(CF3)3 (FC_p21c's majors, every atom PART 0):
    Olex2 sends its one list Al1 O1 O1_1 O1_3 (ImplicitCAtomRef::Expand), whose SADI pairs
    would pull O1_1 and O1_3, 2.72 A apart on two groups, to Al1-O1's 1.72 A. Main refined that
    line (no two PARTs to catch); both paths now leave it out with the same note."""
    (cli, cli_note), (plugin, note) = _both_paths(
        tmp_path, shared_data / "benchmark" / "FC_p21c", olex2_reader, _p21c_ordered(shared_data)
    )
    state, olex_model = olex2_reader
    sent = olex_model.restraint_lines(sys.modules["olex_core"].GetRefinementModel(False))
    assert "SADI 0.02 AL1 O1 O1_1 O1_3" in sent
    assert not [line for line in plugin if "AL1" in line.upper()]
    assert not [line for line in cli if "AL1" in line.upper()]
    every = "1 naming an atom of every residue (O1_*"
    assert every in cli_note and every in note
    assert "the first in Olex2's refinement model: SADI 0.02 AL1 O1 O1_1 O1_3" in note
    # the same atoms restrained otherwise: the residue classes' lines on residues 1 and 3
    order = ("DFIX", "DANG", "SADI", "CHIV", "FLAT", "DELU", "RIGU", "SIMU", "ISOR", "EADP")
    assert _atoms(plugin) == sorted(_atoms(cli), key=lambda item: order.index(item[0]))


def test_both_paths_leave_the_h_out_of_a_flat_range(tmp_path, shared_data, olex2_reader):
    """SXF_I43d's published .res (real): `FLAT C20 > C26` and `FLAT C30 > C35` over rings
    whose riding H stand between their C in the file. Olex2 exports each range without its H
    (xlib/atomref.cpp ListAtomRef::Expand skips `GetType().z < 2` for every kind), as SHELXL
    reads it ('excluding hydrogens', manual); main's command line kept the H in FLAT (only
    an ADP restraint's range lost them), so its two paths restrained different atoms."""
    (cli, _), (plugin, _) = _both_paths(
        tmp_path, shared_data / "benchmark" / "SXF_I43d", olex2_reader
    )
    flat = [atoms for keyword, atoms in _atoms(cli) if keyword == "FLAT"]
    assert flat == [[f"C{n}" for n in range(20, 27)], [f"C{n}" for n in range(30, 36)]]
    assert [atoms for keyword, atoms in _atoms(plugin) if keyword == "FLAT"] == flat


# FC_p21c's residue 1 (published .res, lines 183-189, PART 0) under a RESI naming its class
# only, beside a main residue holding N9 (as tests/test_user_restraints.py's CLASS_ONLY)
CLASS_ONLY = (
    "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSYMM -X, 1/2+Y, 1/2-Z\n"
    "SFAC C H N O F\nUNIT 8 8 4 4 4\nSADI_CCF3 0.02 O1 C1 O1 C2\nFVAR 1\n"
    "N9    3    0.5    0.5    0.5    11.00000    0.02\nRESI CCF3\n"
    "O1    4    0.158116    0.209440    0.527868    11.00000    0.02\n"
    "C1    1    0.198917    0.149539    0.543482    11.00000    0.02\n"
    "C2    1    0.283612    0.124886    0.490301    11.00000    0.03\nHKLF 4\nEND\n"
)


def test_a_class_only_resi_is_olex2s_next_residue_and_restrains_the_same_atoms(
    tmp_path, olex2_reader
):
    """`RESI CCF3` without a number: Olex2 gives it the number after the highest residue so
    far (xlib/ins.cpp TIns::_ParseIns: NoResidue; xlib/asymmunit.cpp TAsymmUnit::NewResidue),
    here 1, and exports its atoms there, O1_1; the command line reads it as SHELXL does,
    residue 0 (number[0]), O1. Different labels, the same atoms restrained by SADI_CCF3 on
    both paths. Main's double numbered it 0 as the core does, so the plugin path was never
    tried on Olex2's number."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "data.hkl").write_text("   1   0   0   10.00    1.00\n")
    (cli, cli_note), (plugin, note) = _both_paths(tmp_path, source, olex2_reader, CLASS_ONLY)
    assert (cli, cli_note) == (["SADI 0.02 O1 C1 O1 C2"], "")
    assert (plugin, note) == (["SADI 0.02 O1_1 C1_1 O1_1 C2_1"], "")
    state, olex_model = olex2_reader
    model = olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"])
    where = {site["label"]: site["frac"] for site in model.snapshot["sites"]}
    loaded = {site.label: list(site.frac) for site in load(tmp_path / "x.ins").structure.sites}
    assert [where[w] for w in plugin[0].split()[2:]] == [loaded[w] for w in cli[0].split()[2:]]
