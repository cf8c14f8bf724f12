"""What Olex2 does to the model at a refinement and to the view at `kill labels`, read in its
source and made the double's (tests/olex2_double/_olex2.py cites each), and what the plugin
does about it (session 21):
- the Q-peaks after a refinement are the new difference map's: SHELXL's .res read back
  (olex2-gui PyToolLib/RunPrg.py runAfterProcess → reloadStructureAtreap) or olex2.refine's
  post_peaks (CctbxLib/refinement.py: `kill $Q -au`, xf.au.NewAtom per peak, xf.EndUpdate);
- a refinement is recorded in Olex2's History (RunPrg.py doHistoryCreation →
  History.create_history: snum.history.current_node), whether or not a digit changed;
- `kill labels` hides every label of the view, the user's own too (gxlib/gxmacro.cpp
  GXLibMacros::macKill, pcxod/olex2 024a95a)."""

import sys

from .test_olex2_faithful import answer_site, ethanol, model_of  # noqa: F401
from .test_plugin import close_plugin  # noqa: F401


def modules():
    return [sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")]


def applied(state, plugin, commands):
    """Apply `commands` as an answer previewed just before (Session.apply): the session."""
    session = plugin._session()
    session.answer = (model_of(state), {"commands": commands, "sites": []})
    session.apply()
    return session


def peaks(state):
    return sorted(
        (a.label, tuple(round(c, 4) for c in a.crd), a.peak) for a in state.live() if a.type == "Q"
    )


# --- the double: Q-peaks after a refinement ------------------------------------------------------


def test_shelxls_refinement_replaces_the_q_peaks_with_the_res_files(ethanol):
    """SHELXL writes the new map's peaks into the .res, Q1 the highest; Olex2 loads it: the
    old peaks are gone, the new ones come last, numbered in file order."""
    state, _ = ethanol
    state.difference_peaks = [((0.3, 0.3, 0.3), 0.41), ((0.7, 0.2, 0.5), 0.77)]
    assert state.run("refine 4") is True
    assert peaks(state) == [("Q1", (0.7, 0.2, 0.5), 0.77), ("Q2", (0.3, 0.3, 0.3), 0.41)]
    assert [a.label for a in state.atoms] == ["C1", "C2", "O1", "Q1", "Q2"]
    assert state.undo_stack == []


def test_olex2_refine_kills_the_peaks_in_place_and_adds_the_new_ones_after_the_atoms(ethanol):
    """post_peaks: `kill $Q -au` marks the old peak deleted under its id; NewAtom appends a
    new peak, or revives a deleted atom or peak within 0.01 A of it (asymmunit.cpp
    LibNewAtom), and skips one on a live atom; the live peaks are Q1.. by height; EndUpdate
    clears the undo stack as a load does."""
    state, _ = ethanol
    state.refine_program = "olex2.refine"
    state.run("name O1 N1")
    state.difference_peaks = [
        ((0.3, 0.3, 0.3), 0.41),
        ((0.6, 0.6, 0.6), 0.9),
        ((0.252, 0.243, 0.10), 0.5),
    ]  # the last one sits on N1
    assert state.run("refine 4") is True
    assert [(a.label, a.deleted) for a in state.atoms] == [
        ("C1", False),
        ("C2", False),
        ("N1", False),
        ("Q1", False),
        ("Q2", False),
    ]
    assert state.atoms[3].peak == 0.9 and state.atoms[4].crd == [0.3, 0.3, 0.3]
    assert state.undo_stack == []
    state.difference_peaks = [((0.1, 0.5, 0.5), 1.2)]
    state.run("refine 4")  # Q1 and Q2 killed in place, the new peak after them
    assert [(a.label, a.deleted) for a in state.atoms][3:] == [
        ("Q1", True),
        ("Q2", True),
        ("Q1", False),
    ]


def test_a_refinement_is_a_new_history_node_even_when_no_digit_changes(ethanol):
    """doHistoryCreation runs after every refinement that gave an R1 (a converged one too);
    a refine that stopped before the program records nothing."""
    state, _ = ethanol
    state.clock = lambda: 1000.0
    state.load(state.cell, state.matrices, state.formula, 1, list(state.atoms))
    node = state.params["snum.history.current_node"]
    state.clock = lambda: 1002.0
    state.refine_failure = "program"
    state.run("refine 4")
    assert state.params["snum.history.current_node"] == node
    state.refine_failure, state.converged = None, True
    before = state.model_state()
    state.run("refine 4")
    assert state.model_state() == before and state.params["snum.history.current_node"] != node


# --- the plugin after a refinement ---------------------------------------------------------------


def test_a_converged_refinement_is_a_refinement_and_revert_points_to_history(ethanol):
    """A refinement that changes no digit Olex2 gives (converged) read as "not refined": the
    journal stayed revertible and Revert ran undo on the stack the reload had cleared. The
    new History node says it refined."""
    state, plugin = ethanol
    session = applied(state, plugin, ["name O1 N1"])
    state.converged = True
    before = state.model_state()
    state.clock = lambda: 10.0**9 + 7  # another second than the load's
    assert session.refine() is True and session.journals[-1].refined
    assert state.model_state() == before  # no digit changed: only History tells
    assert session.revert() is False and "History" in session.messages[-1]
    assert state.find("N1") is not None


def test_two_refinements_within_one_second_are_two_history_nodes(ethanol):
    """History names a node md5(time.asctime()) (History.py HistoryTree.add_node): a converged
    refine in the second the structure was loaded gave the load's node name again, and the
    plugin, which compared names only, read "not refined" and left Revert to an undo the
    reload had cleared. Each node is a new Node object (History.tree.active_node), which the
    plugin now holds beside the name."""
    state, plugin = ethanol
    state.clock = lambda: 10.0**9
    state.load(state.cell, state.matrices, state.formula, 1, list(state.atoms))
    session = applied(state, plugin, ["name O1 N1"])
    node = state.active_history_node
    state.converged = True
    before = state.model_state()
    assert session.refine() is True and session.journals[-1].refined
    assert state.model_state() == before  # no digit changed, and the node's name is the same:
    assert state.active_history_node.name == node.name and state.active_history_node is not node
    assert session.revert() is False and "History" in session.messages[-1]
    assert state.find("N1") is not None


def test_a_refinement_under_skip_routine_makes_no_history_node_and_still_counts(ethanol):
    """Under snum.init.skip_routine doHistoryCreation skips History ("Skipping History"), so a
    converged refinement changed neither a digit nor the node: "not refined", and Revert ran
    undo on the stack the reload had cleared. runAfterProcess sets the flag False after the
    refinement (RunPrg.py), which the plugin now reads with the node."""
    state, plugin = ethanol
    state.params["snum.init.skip_routine"] = True
    session = applied(state, plugin, ["name O1 N1"])
    node = state.active_history_node
    state.converged = True
    state.clock = lambda: 10.0**9 + 7  # another second: only skip_routine keeps the node
    before = state.model_state()
    assert session.refine() is True
    assert state.model_state() == before and state.active_history_node is node
    assert session.revert() is False and "History" in session.messages[-1]
    assert state.find("N1") is not None


def test_olex2s_own_refine_in_the_second_of_apply_still_stops_revert(ethanol):
    """olex2.refine keeps the ids and, converged, every digit; its EndUpdate cleared the undo
    stack. In the second of the Apply the node's name is the Apply's: only the node tells."""
    state, plugin = ethanol
    state.clock = lambda: 10.0**9
    state.load(state.cell, state.matrices, state.formula, 1, list(state.atoms))
    state.refine_program, state.converged = "olex2.refine", True
    session = applied(state, plugin, ["name O1 N1"])
    state.run("refine 4")  # Olex2's button, not the plugin
    assert session.revert() is False
    assert "History changed since Apply" in session.messages[-1]
    assert state.find("N1") is not None


def test_revert_after_olex2s_own_olex2_refine_points_to_history_not_undo(ethanol):
    """Olex2's own Refine with olex2.refine keeps the ids (no reload) and replaces the
    Q-peaks; its EndUpdate cleared the undo stack. Revert said "use Olex2's undo" (the ids
    were not renumbered); the History node tells a refinement came in between."""
    state, plugin = ethanol
    state.refine_program = "olex2.refine"
    session = applied(state, plugin, ["name O1 N1"])
    state.clock = lambda: 10.0**9 + 7
    state.run("refine 4")  # Olex2's button, not the plugin
    after = state.model_state()
    assert session.revert() is False
    assert session.messages[-1] == (
        "not reverted: Olex2's History changed since Apply (a refinement, a solution or a step "
        "back in History), which cleared its undo; go back with Olex2's History"
    )
    assert state.model_state() == after


def test_revert_after_a_step_back_in_olex2s_history_says_history_changed_not_refined(ethanol):
    """A click on an older History node makes it current and loads its .res (History.py
    revert_history: the active_node setter sets snum.history.current_node, then olx.Atreap):
    the undo is gone as after a refinement, but nothing was refined, so Revert must not say
    Olex2 refined."""
    state, plugin = ethanol
    state.clock = lambda: 10.0**9
    state.load(state.cell, state.matrices, state.formula, 1, list(state.atoms))
    older = state.active_history_node
    state.clock = lambda: 10.0**9 + 7
    state.run("refine 4")  # Olex2's own refine: a newer node
    session = applied(state, plugin, ["name O1 N1"])
    state.make_current(older)  # the user steps back in History
    state.reload()
    assert session.revert() is False
    assert "History changed since Apply" in session.messages[-1]
    assert "refined the structure" not in session.messages[-1]


def test_revert_after_olex2s_own_shelxl_refinement_without_new_h_points_to_history(ethanol):
    """Renames only: SHELXL's .res read back keeps every atom under its id and the new peaks
    lie near the old ones, so Revert took the changes for the user's and said "use Olex2's
    undo", which the load had cleared."""
    state, plugin = ethanol
    session = applied(state, plugin, ["name O1 N1"])
    state.clock = lambda: 10.0**9 + 7
    state.run("refine 4")
    assert session.revert() is False and "go back with Olex2's History" in session.messages[-1]
    assert "use Olex2's undo" not in session.messages[-1]


def test_an_answer_about_the_old_q_peaks_is_not_applied_after_either_refinement(ethanol):
    """The answer names Q1; after a refinement Q1 is another peak of another map (SHELXL: the
    id holds the new peak; olex2.refine: the old id is deleted, the new peak elsewhere)."""
    state, plugin = ethanol
    olex_model = modules()[0]
    session = plugin._session()
    for program, peak in (("ShelXL", (0.61, 0.64, 0.6)), ("olex2.refine", (0.2, 0.7, 0.4))):
        state.refine_program, state.converged = program, True
        state.difference_peaks = [(peak, 1.1)]
        session.answer = (model_of(state), {"commands": ["name Q1 C3"], "sites": []})
        state.run("refine 4")
        try:
            session.apply()
        except olex_model.ApplyError as refused:
            assert "changed since the preview (Q1" in str(refused)
        else:
            raise AssertionError("applied to a peak of another map (%s)" % program)
        assert state.find("C3") is None
    state.difference_peaks = [((0.2, 0.7, 0.4), 1.1)]  # the same map: the same peak, revived
    session.answer = (model_of(state), {"commands": ["name Q1 C3"], "sites": []})
    state.run("refine 4")
    session.apply()
    assert state.find("C3") is not None


# --- the view's labels ---------------------------------------------------------------------------


def flagged_c2(session, state):
    site = answer_site("C2", "C", [["C", 0.62], ["N", 0.38]], 2, 0.9, 23, None)
    session.show(model_of(state), {"sites": [site], "spurious": []})


def test_the_plugins_labels_go_and_the_users_own_labels_stay(ethanol):
    """`kill labels` hid the user's labels too (their own text on O1, a bond length, free
    text): the plugin now empties the text of the labels it made, one by one."""
    state, plugin = ethanol
    olx = sys.modules["olx"]
    session = plugin._session()
    assert olx.Label("#c2=O1 (hydroxyl)") is True
    state.other_labels = ["1.523(2)", "Fig. 2"]  # a bond's label and a free one
    flagged_c2(session, state)
    assert state.labels == {1: "C2 C 0.62", 2: "O1 (hydroxyl)"}
    session.revert()  # "nothing to revert", after taking its labels back
    assert state.labels == {1: "", 2: "O1 (hydroxyl)"}
    assert state.other_labels == ["1.523(2)", "Fig. 2"] and "kill labels" not in state.log
    flagged_c2(session, state)
    flagged_c2(session, state)  # a second Preview replaces the first's label
    assert state.labels == {1: "C2 C 0.62", 2: "O1 (hydroxyl)"}


def test_a_label_whose_atom_a_reload_renumbered_is_not_touched(ethanol):
    """After a refinement's reload the id the plugin labelled names another atom (H1A, after
    C1's new H); the user labels that one: taking the plugin's label back leaves it."""
    state, plugin = ethanol
    olx = sys.modules["olx"]
    session = applied(state, plugin, ["hadd 33 C1"])
    flagged_c2(session, state)
    assert state.labels[1] == "C2 C 0.62"
    state.run("refine 4")
    assert state.atoms[1].label == "H1A" and state.labels == {}
    olx.Label("#c1=H1A riding")
    session.clear_labels()
    assert state.labels == {1: "H1A riding"}


def test_an_olex2_without_atom_equals_text_still_clears_with_kill_labels(ethanol):
    """An older macLabel cannot take `#c1=` (nor `#c1=text`): the atom showed its own label,
    which only `kill labels` takes back there."""
    state, plugin = ethanol
    session = plugin._session()
    state.label_text_form = False
    flagged_c2(session, state)
    assert state.labels == {1: "C2"}
    session.clear_labels()
    assert state.labels == {} and state.log[-1] == "kill labels"


def test_a_label_is_taken_back_from_its_atom_renamed_since(ethanol):
    """The user names the labelled C2 N2 before the next Preview: the atom is the same (its id
    and site), so its label is taken back; left, it would say "C2 C 0.62" on N2."""
    state, plugin = ethanol
    session = plugin._session()
    flagged_c2(session, state)
    state.run("name C2 N2")
    session.clear_labels()
    assert state.labels == {1: ""}


def test_the_users_selection_stays_through_the_plugins_labels(ethanol):
    """Every Label call ends by clearing the selection (gxlib/gxmacro.cpp macLabel:
    app.SelectAll(false)); the plugin reads it first (olx.Sel) and selects it again (macSel:
    `sel -a` with atoms named selects each), so labelling and taking back keep it."""
    state, plugin = ethanol
    session = plugin._session()
    state.run("sel O1 C1")
    flagged_c2(session, state)
    assert state.labels == {1: "C2 C 0.62"}
    assert [a.label for a in state.selection] == ["O1", "C1"]
    session.revert()  # takes its label back first
    assert state.labels == {1: ""} and [a.label for a in state.selection] == ["O1", "C1"]
    state.run("sel -u")
    flagged_c2(session, state)
    assert state.selection == []  # nothing selected is not `sel -a`, which selects all


def test_a_selected_symmetry_copy_is_not_selected_again_as_its_whole_atom(ethanol):
    """In a grown structure olx.Sel names a selected copy C1_$1 (xlib/atomref.cpp
    ExplicitCAtomRef::GetExpression), but `sel -a C1_$1` reads it as C1 (xlib/label_utils.cpp
    AtomLabelInfo keeps `$1` in equiv_id, which gxlib/gxapp.cpp TGXApp::GetXAtoms never
    checks) and selects C1 and every copy of it: the user's selection would grow by atoms
    never selected. The plugin selects again only the atoms named without a symmetry copy."""
    state, plugin = ethanol
    session = plugin._session()
    state.grown = True
    c1 = state.find("C1")
    state.images = [(c1, 1), (c1, 2), (state.find("O1"), 1)]
    state.run("sel O1")
    state.selected_images = [(c1, 1)]
    assert sys.modules["olx"].Sel() == "O1 C1_$1"
    flagged_c2(session, state)
    assert state.labels == {1: "C2 C 0.62"}
    assert state.log[-1] == "sel -a O1"
    assert [a.label for a in state.selection] == ["O1"]
    assert state.selected_images == [(state.find("O1"), 1)]  # O1's copy comes with O1, as in Olex2


def test_no_label_is_taken_back_after_a_refinement_reloaded_the_model(ethanol):
    """A reload (a new History node) took every label with the old model; the id the plugin
    labelled now names C2's disorder partner, 0.2 A from C2 (C1 deleted before refining
    renumbered them), which the user labels: it keeps its label."""
    state, plugin = ethanol
    olx = sys.modules["olx"]
    session = plugin._session()
    c2 = state.atoms[1]
    c2.part, c2.occu = 1, 0.5
    partner = type(c2)("C2B", "C", (c2.crd[0] + 0.02, 0.10, 0.10), 0.04, 0.5, 2)
    state.atoms.insert(2, partner)
    flagged_c2(session, state)
    assert state.labels == {1: "C2 C 0.62"}
    state.run("kill C1")
    state.clock = lambda: 10.0**9 + 7  # another second than the load's: a new History node
    state.run("refine 4")
    assert state.atoms[1] is partner and state.labels == {}
    olx.Label("#c1=C2B part 2")
    session.clear_labels()
    assert state.labels == {1: "C2B part 2"}
