"""Issue 21, point by point, on the faithful Olex2 double (tests/olex2_double): what breaks the
first click in a real Olex2, applying and reverting as Olex2 really behaves, the probability
panel as a reviewing tool, and the service's command building (issue 24 points 2 and 3)
through a real `crystalx serve` process. The end-to-end Auto-assign → Apply → Revert with
Olex2's environment and thread rule is tests/test_plugin.py (its fixture enforces both)."""

import importlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from crystalx_core.errors import RequestError
from crystalx_core.protocol import read_request
from crystalx_core.service import PROTOCOL

from .conftest import fill, snapshot
from .test_plugin import DOUBLE, PLUGIN, ROOT, close_plugin, olex2_environment, open_in_double  # noqa: F401

CELL = (10.0, 10.0, 10.0, 90.0, 90.0, 90.0)
P1 = [((1, 0, 0, 0.0), (0, 1, 0, 0.0), (0, 0, 1, 0.0))]
ETHANOL = [  # C1-C2 1.52 Å, C2-O1 1.43 Å, and a Q-peak far away
    ("C1", "C", (0.10, 0.10, 0.10), 0.04),
    ("C2", "C", (0.252, 0.10, 0.10), 0.04),
    ("O1", "O", (0.252, 0.243, 0.10), 0.04),
    ("Q1", "Q", (0.6, 0.6, 0.6), 0.05, 1.0, 0, 1.83),
]


class Snapshot(object):
    """What open_in_double needs of a structure."""

    cell, symops, sfac, unit, wavelength = CELL, ["x,y,z"], ["C", "O"], [2, 1], 0.71073


@pytest.fixture
def ethanol(tmp_path, monkeypatch, close_plugin):
    """The double holding ETHANOL, the plugin loaded without a core (no warm-up)."""
    state, plugin = open_in_double(tmp_path, monkeypatch, Snapshot, ETHANOL, z=1, interpreter="")
    return state, plugin


def answer_site(label, element, probabilities, h_count, h_probability, hfix, evidence):
    """One site of the core's answer, as `assign` gives it."""
    return {
        "label": label,
        "new_label": label,
        "element": element,
        "probabilities": probabilities,
        "h_count": h_count,
        "h_probabilities": {str(h_count): h_probability},
        "hfix": hfix,
        "note": "",
        "evidence": evidence,
    }


def model_of(state):
    return sys.modules["crystalx_plugin.olex_model"].read_model(
        sys.modules["olx"], sys.modules["olex_core"]
    )


# --- 1. the child's environment -------------------------------------------------------------


def test_1_the_core_starts_with_a_clean_environment_under_olex2s(tmp_path, monkeypatch):
    """Olex2's PYTHONHOME kills a child Python before it imports anything; the plugin's
    child environment drops it, LIBTBX_*, BOOST_ADAPTBX_*, Olex2's cctbx and its folders."""
    monkeypatch.syspath_prepend(str(PLUGIN))
    monkeypatch.syspath_prepend(str(DOUBLE))
    base = tmp_path / "olex2"
    olex2_environment(monkeypatch, base)
    dies = subprocess.run([sys.executable, "-c", "print('alive')"], capture_output=True, text=True)
    assert dies.returncode != 0 and "alive" not in dies.stdout  # what a child of Olex2 would see
    core_client = importlib.import_module("crystalx_plugin.core_client")
    clean = core_client.child_environment(dict(os.environ), str(base))
    assert not [
        k
        for k in clean
        if k in ("PYTHONHOME", "PYTHONPATH")
        or k.startswith(("LIBTBX_", "BOOST_ADAPTBX_", "OLEX2_CCTBX"))
    ]
    for name in ("LD_LIBRARY_PATH", "PATH"):
        assert str(base) not in clean.get(name, "")
    assert clean["PATH"]  # the rest of PATH stays
    core = core_client.CoreProcess(sys.executable, str(ROOT), str(base))
    try:
        assert core.request("ping")["protocol"] == PROTOCOL
    finally:
        core.close()


# --- 2. Olex2's thread rule -----------------------------------------------------------------


@pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnhandledThreadExceptionWarning"
)  # the starved thread's exit
def test_2_threads_run_only_while_the_count_is_raised_and_leave_nothing_behind(ethanol):
    """The double starves a plugin thread that did not raise the running-thread count (as
    Olex2's main thread would); the plugin's background helper raises it first, the thread
    lowers it, and a core request leaves no reader thread behind."""
    state, plugin = ethanol
    crystalx, core_client = sys.modules["CrystalX"], sys.modules["crystalx_plugin.core_client"]
    state.undo_gil()
    state.undo_gil = state.enforce_gil(PLUGIN, patience=0.5)
    bare = threading.Thread(target=crystalx.last_line, args=("/nowhere",))
    bare.start()
    bare.join(5)
    assert state.starved == [bare.name]
    state.starved.clear()
    before = threading.active_count()
    core = core_client.CoreProcess(sys.executable, str(ROOT), "")
    answers = []
    try:
        worker = crystalx.in_background(lambda: answers.append(core.request("ping")))
        assert state.running_threads == 1
        worker.join(60)
        assert answers and answers[0]["protocol"] == PROTOCOL and state.running_threads == 0
        deadline = time.monotonic() + 2  # the request's watchdog timer ends once cancelled
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert threading.active_count() == before and not state.starved
    finally:
        core.close()


def test_2_the_answer_comes_back_through_schedule_and_nothing_prints_from_a_thread(ethanol):
    state, plugin = ethanol
    state.schedule(1, "sel C1")  # Olex2 runs it later, in whole seconds of its clock, not at once
    assert state.run_scheduled() == 0
    time.sleep(2.05 * state.schedule_unit)
    assert state.run_scheduled() == 1 and state.log[-1] == "sel C1"
    plugin.worker_notes.append("the core had stopped and was restarted")
    state.schedule(0, "spy.crystalx.finish()")
    state.pump(lambda: not state.scheduled)
    assert plugin._session().messages == ["the core had stopped and was restarted"]
    assert state.thread_prints == []


def test_2_a_failed_warm_up_reported_mid_click_does_not_take_the_clicks_answer(ethanol):
    state, plugin = ethanol
    plugin.job = ("assign", 1, model_of(state))  # a click whose answer is still coming
    plugin.worker_notes.append("the core could not start: ...")
    state.functions["crystalx.finish"]()
    assert plugin.job is not None and plugin._session().messages == [
        "the core could not start: ..."
    ]


def test_the_double_swallows_a_registered_functions_error_as_olex2_does(ethanol):
    state, _ = ethanol
    olex = sys.modules["olex"]

    def broken():
        raise ValueError("inside a spy function")

    olex.registerFunction(broken, False, "crystalx")
    assert state.functions["crystalx.broken"]() is None
    assert "ValueError: inside a spy function" in state.errors[-1]


# --- 3. Windows: no console window ------------------------------------------------------------


def test_3_children_get_no_console_window_on_windows(ethanol, monkeypatch, tmp_path):
    core_client, crystalx = sys.modules["crystalx_plugin.core_client"], sys.modules["CrystalX"]
    if not sys.platform.startswith("win"):
        assert core_client.hidden_window() == {}

    class StartupInfo(object):
        dwFlags, wShowWindow = 0, None

    monkeypatch.setattr(sys, "platform", "win32")
    for name, value in (
        ("STARTUPINFO", StartupInfo),
        ("STARTF_USESHOWWINDOW", 1),
        ("SW_HIDE", 0),
        ("CREATE_NO_WINDOW", 0x08000000),
    ):
        monkeypatch.setattr(subprocess, name, value, raising=False)
    options = core_client.hidden_window()
    assert options["creationflags"] == 0x08000000
    assert options["startupinfo"].dwFlags & 1 and options["startupinfo"].wShowWindow == 0
    # the panel shows a window: SW_HIDE would apply to its first one, so it gets no start-up info
    assert core_client.no_console() == {"creationflags": 0x08000000}
    (tmp_path / "python.exe").write_text("")
    (tmp_path / "pythonw.exe").write_text("")
    assert crystalx.window_python(str(tmp_path / "python.exe")) == str(tmp_path / "pythonw.exe")


# --- 7. the included table exists from the first render ---------------------------------------


def test_7_the_included_table_is_written_when_the_plugin_loads(ethanol):
    state, _ = ethanol
    assert "crystalx-table.htm" in state.vfs and state.vfs["crystalx-table.htm"]


# --- 8. hadd as Olex2 does it -----------------------------------------------------------------


def test_8_hadd_on_a_grown_structure_fuses_first_and_a_code_that_does_not_fit_is_reported(ethanol):
    state, plugin = ethanol
    olex_model = sys.modules["crystalx_plugin.olex_model"]
    state.grown = True
    said = []
    journal = olex_model.apply_commands(
        sys.modules["olex"],
        sys.modules["olx"],
        sys.modules["olex_core"],
        ["hadd 33 C1", "hadd 23 C2", "hadd 43 O1"],
        model_of(state),
        said.append,
    )
    assert "fuse" in state.log and not state.grown
    assert sorted(a.label for a in state.live() if a.type == "H") == [
        "H1A",
        "H1B",
        "H1C",
        "H2A",
        "H2B",
    ]
    assert "O1 got 0 H, not 1" in said[-1] and len(journal.added) == 5
    assert any("does not fit O1" in e for e in state.errors)  # Olex2 logged it and "succeeded"


def test_8_grown_is_asked_of_xf_latt_and_an_unfolded_structure_is_not_fused(ethanol):
    """Olex2's test is olx.xf.latt.IsGrown (xlib/lattice.cpp TLattice::LibIsGrown, attached
    to xf); an olx.IsGrown does not exist, and asking it made every hadd fuse first."""
    state, _ = ethanol
    olx = sys.modules["olx"]
    assert not hasattr(olx, "IsGrown") and olx.xf.latt.IsGrown() == "false"
    sys.modules["crystalx_plugin.olex_model"].apply_commands(
        sys.modules["olex"], olx, sys.modules["olex_core"], ["hadd 33 C1"], model_of(state), print
    )
    assert state.log == ["hadd 33 #c0"]


def test_8_an_olex2_without_isgrown_fuses_before_hadd_anyway(ethanol, monkeypatch):
    state, _ = ethanol
    olx = sys.modules["olx"]

    def unknown():
        raise RuntimeError("Unknown function IsGrown")

    monkeypatch.setattr(olx.xf.latt, "IsGrown", unknown)
    state.grown = True
    sys.modules["crystalx_plugin.olex_model"].apply_commands(
        sys.modules["olex"], olx, sys.modules["olex_core"], ["hadd 33 C1"], model_of(state), print
    )
    assert state.log[0] == "fuse" and len([a for a in state.live() if a.type == "H"]) == 3


# --- 9. Revert as exact as Olex2 allows, and says what it cannot do ------------------------------


def test_9_revert_restores_a_peak_height_through_undo_and_says_what_refine_changed(ethanol):
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    session = plugin._session()
    before = state.model_state()
    journal = olex_model.apply_commands(
        olex, olx, core, ["name Q1 C3", "hadd 33 C1"], model_of(state), session.say
    )
    assert state.find("C3").peak == 0.0  # Olex2's name zeroes the height
    session.journals.append(journal)
    assert session.revert() is True and session.messages[-1] == "reverted exactly"
    assert state.model_state() == before and state.find("Q1").peak == 1.83


def test_9_after_a_refinement_revert_refuses_and_deletes_nothing(ethanol):
    """A refinement ends with Olex2 loading the .res it wrote: the undo stack is cleared and
    the atoms are renumbered, each riding H after its pivot (gxapp.cpp xappXFileLoad::Enter).
    The ids Apply recorded now name other atoms: killing 'the H hadd added' by id would delete
    C2, O1 and C3. Revert says so and leaves the model alone."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    session = plugin._session()
    journal = olex_model.apply_commands(
        olex, olx, core, ["name Q1 C3", "hadd 33 C1"], model_of(state), session.say
    )
    session.journals.append(journal)
    session.refine(journal)
    assert [a.label for a in state.atoms] == ["C1", "H1A", "H1B", "H1C", "C2", "O1", "C3"]
    after = state.model_state()
    log = len(state.log)
    assert session.revert() is False and "History" in session.messages[-1]
    assert state.model_state() == after and state.log[log:] == []  # no label of ours to hide


def test_9_labels_olex2_would_trim_are_never_sent_and_the_label_corrector_is_real(ethanol):
    state, _ = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    with pytest.raises(olex_model.ApplyError, match="cannot keep"):
        olex_model.apply_commands(olex, olx, core, ["name Q1 C1000"], model_of(state), print)
    assert state.log == []
    state.atoms[0].label = "C12345"
    assert model_of(state).snapshot["sites"][0]["label"] == "C123"  # GetRefinementModel trimmed it


def test_9_the_label_limit_is_olex2s_max_label_length_option(ethanol):
    """Olex2's limit is its option max_label_length, 4 when unset (xlib/xapp.cpp
    TXApp::GetMaxLabelLength), which the plugin reads as olex2-gui reads an option
    (olx.app.OptValue: util/pyUtil/olexFunctions.py). Set to 3, GetRefinementModel's corrector
    trims C101 to C10, so Apply refuses it before any command; main's fixed 4 sent it."""
    state, _ = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    assert olex_model.max_label_length(olx) == 4
    state.options["max_label_length"] = "3"
    assert olex_model.max_label_length(olx) == 3
    with pytest.raises(olex_model.ApplyError, match="cannot keep"):
        olex_model.apply_commands(olex, olx, core, ["name Q1 C101"], model_of(state), print)
    assert state.log == []
    state.options["max_label_length"] = "5"  # a raised limit keeps a 5-character label
    olex_model.apply_commands(olex, olx, core, ["name Q1 C1001"], model_of(state), print)
    assert "C1001" in [a.label for a in state.atoms]


@pytest.mark.parametrize("failure", ["file", "program"])
def test_9_a_refine_that_stopped_before_refining_leaves_revert_possible(ethanol, failure):
    """The GUI's refine macro answers True when it never refined: a failed command (`file`
    into a folder that refuses it) runs its onabort, which clears the failure (sdl/macrolib.cpp
    TEMacroLib::ProcessMacro), and RunRefinementPrg prints its own errors ("Please choose a
    reflection file": PyToolLib/RunPrg.py) without failing the macro. The plugin took True
    for a refinement and Revert refused; it now reads the unchanged model and Revert undoes."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    session = plugin._session()
    before = state.model_state()
    journal = olex_model.apply_commands(
        olex, olx, core, ["name Q1 C3", "hadd 33 C1"], model_of(state), session.say
    )
    session.journals.append(journal)
    state.refine_failure = failure
    assert session.refine(journal) is False and state.refinements == 0
    assert state.log[-1] == "refine 4"  # Olex2 answered True: only the model tells
    assert journal.refined is False and "stopped early" in session.messages[-1]
    assert session.revert() is True and session.messages[-1] == "reverted exactly"
    assert state.model_state() == before


def test_9_olex2cs_refine_answers_false_when_a_command_of_it_fails(ethanol):
    """olex2c's refine where its macrox.xld has no onabort (the copy session 19 read; another,
    MilitaoLucas/olex2-gui 0650b37, has one and answers True): its failure reaches olex.m."""
    state, plugin = ethanol
    state.refine_failure = "file"
    assert state.run("refine 3") is True
    state.gui = False
    assert state.run("refine 3") is False
    session = plugin._session()
    assert session.refine() is False and "refine failed" in session.messages[-1]
    state.refine_failure = "program"  # its error is printed, the macro goes on
    assert state.run("refine 3") is True and state.refinements == 0


def test_9_a_refinement_that_only_moved_the_atoms_still_stops_revert(ethanol):
    """After renames only, a refinement's reload keeps each id where it was; the atoms moved
    (least-squares shifts) and Olex2's undo was cleared, so Revert points to History."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    session = plugin._session()
    journal = olex_model.apply_commands(olex, olx, core, ["name O1 N1"], model_of(state), print)
    session.journals.append(journal)
    assert session.refine(journal) is True and journal.refined
    assert session.revert() is False and "History" in session.messages[-1]
    assert state.find("N1") is not None


def test_apply_refuses_an_answer_for_a_model_olex2s_refine_has_moved_since(ethanol):
    """Preview, then Olex2's own Refine: the reload keeps the labels under the same ids (no
    H were added), so comparing labels let the answer through; the atoms moved, and in a
    real refinement the Q-peaks are the new map's. Apply now compares every atom."""
    state, plugin = ethanol
    session = plugin._session()
    session.answer = (model_of(state), {"commands": ["name Q1 C3"], "sites": []})
    assert state.run("refine")
    with pytest.raises(sys.modules["crystalx_plugin.olex_model"].ApplyError) as refused:
        session.apply()
    assert "changed since the preview (C1: position differs" in str(refused.value)
    assert state.find("Q1") is not None and session.answer is None


def test_an_answer_for_a_model_the_user_edited_meanwhile_is_not_shown_or_applied(
    ethanol, monkeypatch
):
    """The core works on a thread; Olex2 is the user's meanwhile. An answer that comes back
    for a model since renamed, refined or moved is said in one line and left alone: its ids
    and labels would name other atoms (the labels in the view, the panel's file, Apply)."""
    state, plugin = ethanol
    session = plugin._session()
    answer = {
        "commands": ["name Q1 C3"],
        "sites": [answer_site("Q1", "C", [["C", 0.6], ["O", 0.4]], 2, 0.9, 23, None)],
        "spurious": [],
    }
    monkeypatch.setattr(session, "ask", lambda model, notes: answer)

    def new_cell():  # the user edits the cell (the double sets it: no macro is modelled)
        state.cell = (10.5,) + state.cell[1:]

    for edit in ("refine", "name O1 N1", "kill C1", new_cell):
        state.functions["crystalx.assign"]()
        if isinstance(edit, str):  # while the core works
            state.run(edit)
        else:
            edit()
        after = state.model_state()
        state.pump(lambda: plugin.job is None and not state.scheduled)
        assert state.model_state() == after and state.labels == {}
        assert session.messages[-1].startswith("the model changed while the core worked (")
        assert session.messages[-1].endswith("the answer is not shown or applied: ask again")
    assert not Path(session.answer_path).exists()
    state.functions["crystalx.assign"]()  # left alone, the same answer applies
    state.pump(lambda: plugin.job is None and not state.scheduled)
    assert state.find("C3") is not None and session.messages[-1].startswith("applied 1 commands")


def test_an_element_changed_in_sfac_under_the_same_count_is_a_changed_model(ethanol):
    """SFAC C O → C N with UNIT's counts as they were (xf.GetFormula 'list': C:2,N:1): the
    core weighed the elements of the old content, so the answer is for another model."""
    state, plugin = ethanol
    before = model_of(state)
    state.formula = [("C", 2), ("N", 1)]
    changed_since = sys.modules["crystalx_plugin.olex_model"].changed_since
    assert changed_since(before, model_of(state)) == "SFAC/UNIT changed"
    state.formula = [("C", 2), ("O", 1)]
    assert changed_since(before, model_of(state)) == ""


def test_kill_deletes_every_peak_named_whatever_the_user_has_selected(ethanol):
    """Olex2's kill deletes only the selected ones of the atoms it names when any is selected
    (gxlib/gxmacro.cpp GXLibMacros::macKill: `todel = Selected.IsEmpty() ? Atoms : Selected`):
    with Q1 selected (a panel click leaves the atom selected) `kill #c3 #c4` left Q2 and Apply
    said it had deleted both. The selection is cleared first and every kill is checked."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    state.atoms.append(sys.modules["_olex2"].Atom("Q2", "Q", (0.7, 0.7, 0.7), 0.05, peak=1.2))
    state.run("sel Q1")
    journal = olex_model.apply_commands(olex, olx, core, ["kill Q1 Q2"], model_of(state), print)
    assert state.find("Q1") is None and state.find("Q2") is None
    assert journal.touched == [3, 4]


def test_naming_a_peak_leaves_the_other_peaks_numbers(ethanol):
    """Olex2's label rules when Apply writes atoms back (session 25, docs/olex2_plugins.md
    'labels written back'): `name` renumbers no Q-peak (xlib/asymmunit.cpp `_UpdateQPeaks` runs
    only from `LibNewAtom`, when a peak is added), so after Q1 and then Q2 become atoms Q3
    is still Q3, and a later answer's `Q3` names the same peak (the plugin names it by id)."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    atom = sys.modules["_olex2"].Atom
    state.atoms += [atom("Q2", "Q", (0.7, 0.7, 0.7), 0.05, peak=1.2)]
    state.atoms += [atom("Q3", "Q", (0.8, 0.7, 0.7), 0.05, peak=1.0)]
    olex_model.apply_commands(olex, olx, core, ["name Q1 C3"], model_of(state), print)
    assert [state.find(q).peak for q in ("Q2", "Q3")] == [1.2, 1.0]
    olex_model.apply_commands(olex, olx, core, ["name Q2 C4"], model_of(state), print)
    assert state.find("Q2") is None and state.find("Q3").peak == 1.0


def test_a_kill_olex2_refuses_in_a_mode_puts_the_model_back(ethanol):
    """macKill refuses while a mode is on ("Kill inaccessible from within a mode"); a kill
    that deleted nothing is named and the renames before it are undone."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    before = state.model_state()
    state.mode = "name"
    with pytest.raises(olex_model.ApplyError, match="refused 'kill #c3'; the model was put back"):
        olex_model.apply_commands(
            olex, olx, core, ["name O1 N1", "kill Q1"], model_of(state), print
        )
    assert state.model_state() == before


def test_9_revert_refuses_when_the_user_changed_the_model_after_apply(ethanol):
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    session = plugin._session()
    session.journals.append(
        olex_model.apply_commands(olex, olx, core, ["name Q1 C3"], model_of(state), session.say)
    )
    state.run("name O1 N1")
    assert session.revert() is False and "changed since Apply" in session.messages[-1]
    assert state.find("N1") is not None and state.find("C3") is not None


def test_9_revert_refuses_when_another_structure_is_open(ethanol):
    """Olex2's undo belongs to the structure open now: a journal of another file is never
    replayed on it, even after a refinement (when the atom-by-atom check is skipped)."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    session = plugin._session()
    journal = olex_model.apply_commands(olex, olx, core, ["name Q1 C3"], model_of(state), print)
    journal.refined = True
    session.journals.append(journal)
    atoms = [(a.label, a.type, a.crd) for a in state.live()]
    state.load(CELL, P1, [("C", 3)], 1, atoms, file="/data/other.res")
    assert session.revert() is False
    assert session.messages[-1] == "not reverted: /data/other.res is open, not /data/structure.res"
    assert "undo" not in state.log and state.find("C3") is not None


def test_no_structure_open_is_one_line_for_every_button(ethanol):
    """With no structure open Olex2 answers FileFull() "none" (xlib/xmacro.cpp funFileFull)
    and SGInfo() None (py_core.cpp pySGInfo): each button says so in one line."""
    state, plugin = ethanol
    olx, olex_core = sys.modules["olx"], sys.modules["olex_core"]
    session = plugin._session()
    session.show(model_of(state), {"sites": [], "spurious": [], "commands": ["name Q1 C3"]})
    state.close()
    assert (olx.FileFull(), olx.IsFileLoaded(), olex_core.SGInfo()) == ("none", "false", None)
    for button in ("assign", "apply", "revert", "batch"):
        state.functions["crystalx." + button]()
    state.functions["crystalx.batch"]("many")  # spy.crystalx.batch(many): arguments are text
    assert state.errors == [] and plugin.job is None
    assert session.messages[-5:] == [
        "cannot read the model: no structure is open in Olex2",
        "cannot read the model: no structure is open in Olex2",
        "nothing to revert",
        "cannot read the model: no structure is open in Olex2",
        "rounds must be a whole number, not 'many'",
    ]


# --- 10. atoms by their unique id --------------------------------------------------------------


def test_10_commands_name_atoms_by_id_so_residues_do_not_collide(
    tmp_path, monkeypatch, close_plugin
):
    """C1 in residues 1 and 2: a bare `hadd 33 C1` would give both H (Olex2 matches a bare
    label in every residue); by `#c<id>` only residue 2's C1 gets them."""
    atoms = [
        ("C1", "C", (0.1, 0.1, 0.1), 0.04, 1.0, 0, 0.0, 0, 1),
        ("O1", "O", (0.1, 0.243, 0.1), 0.04, 1.0, 0, 0.0, 0, 1),
        ("C1", "C", (0.6, 0.1, 0.1), 0.04, 1.0, 0, 0.0, 0, 2),
        ("O1", "O", (0.6, 0.243, 0.1), 0.04, 1.0, 0, 0.0, 0, 2),
    ]
    state, plugin = open_in_double(tmp_path, monkeypatch, Snapshot, atoms, z=1, interpreter="")
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    residues = core.GetRefinementModel()["aunit"]["residues"]
    assert [r["number"] for r in residues] == [1, 2]  # no main residue: it holds no atom
    model = model_of(state)
    assert [s["label"] for s in model.snapshot["sites"]] == ["C1_1", "O1_1", "C1_2", "O1_2"]
    olex_model.apply_commands(olex, olx, core, ["hadd 33 C1_2", "name O1_2 N1"], model, print)
    assert state.log[-2:] == ["hadd 33 #c2", "name #c3 N1"]
    assert [a.resi for a in state.live() if a.type == "H"] == [2, 2, 2]
    assert state.atoms[3].label == "N1" and state.atoms[1].label == "O1"
    state.run("kill C1")
    assert state.atoms[0].deleted and state.atoms[2].deleted  # what a bare label would have done


# --- 11. the atoms to check, labelled ------------------------------------------------------


def test_11_olex2s_label_macro_takes_atom_equals_text_as_its_source_does(ethanol):
    """gxlib/gxmacro.cpp GXLibMacros::macLabel (pcxod/olex2 024a95a): `atom=text` labels the
    atom with the text, found per text in order (one visible atom each, else the macro fails
    and labels nothing); arguments without `=` are then ignored; without `=` an atom shows its
    own label; the macro ends with app.SelectAll(false). olex2-gui's label_rsa passes
    `LABEL=text` the same way (util/pyUtil/gui/tools/__init__.py)."""
    state, _ = ethanol
    olx = sys.modules["olx"]
    state.run("sel C1")
    assert olx.Label("#c0=C1 C 0.97", "C9") is True and state.labels == {0: "C1 C 0.97"}
    assert state.selection == []
    assert olx.Label("#c1", "O1") is True and state.labels == {0: "C1 C 0.97", 1: "C2", 2: "O1"}
    state.labels, state.hidden = {}, {2}
    state.run("sel C1")
    assert olx.Label("#c1=a", "#c2=b") is False and state.labels == {}  # O1 is hidden
    assert state.selection  # the macro returned before SelectAll(false)
    state.label_text_form = False  # the older macLabel: `#c1=a` is no atom id
    assert olx.Label("#c1=a") is False and state.labels == {}


def test_11_atoms_to_check_are_labelled_with_their_numbers(ethanol):
    """The view shows "C2 C 0.62" on the atom (Label's `atom=text`); an Olex2 without that
    form, or an atom it cannot label so, shows the atom's own label; the console has the line
    either way."""
    state, plugin = ethanol
    session = plugin._session()

    def site(label, p):
        return answer_site(label, "C", [["C", p], ["N", 1 - p]], 3, 0.9, 33, None)

    session.show(model_of(state), {"sites": [site("C1", 0.97), site("C2", 0.62)], "spurious": []})
    assert state.labels == {1: "C2 C 0.62"}  # below the 0.90 threshold
    assert session.messages[-1] == "below 0.90 confidence or changed by the data: C2 C 0.62"
    session.revert()  # the label's text taken back, no `kill labels` (the user's labels stay)
    assert state.labels == {1: ""} and "kill labels" not in state.log
    state.label_text_form = False
    session.show(model_of(state), {"sites": [site("C2", 0.62)], "spurious": []})
    assert state.labels == {1: "C2"} and session.messages[-1].endswith("C2 C 0.62")
    state.params["crystalx.label_overlay"] = False
    session.show(model_of(state), {"sites": [site("C2", 0.5)], "spurious": []})
    assert state.labels == {} and session.messages[-1].endswith("C2 C 0.50")


def test_11_an_answer_with_the_datas_evidence_shows_its_decisions(ethanol):
    """Issue 23: where the reflections were weighed, the labels, the HTML table and the file
    the Qt panel reads carry the data's count, posterior and decision with its reason."""
    from crystalx_core.element_evidence import SiteEvidence
    from crystalx_core.panel.rows import read_assignment

    state, plugin = ethanol
    session = plugin._session()

    kept = SiteEvidence(6.1, 0.42, before="C", decision="C")
    kept.posterior, kept.prior = {"C": 0.99, "N": 0.01}, {"C": 0.97, "N": 0.03}
    kept.reason = "refined as 6.1 e as C; posterior C 0.99"
    changed = SiteEvidence(7.9, 0.43, before="N", decision="O")
    changed.posterior, changed.prior = {"O": 0.98, "N": 0.02}, {"N": 0.6, "O": 0.4}
    changed.reason = "refined as 6.9 e as N, as O 7.9 e; odds of the count alone O:N 20:1"

    def site(label, element, top, evidence):
        return answer_site(label, element, top, 0, 1.0, 0, evidence and evidence.to_dict())

    result = {
        "sites": [
            site("C1", "C", [["C", 0.97], ["N", 0.03]], kept),
            site("C2", "C", [["C", 0.95]], None),
            site("O1", "O", [["N", 0.6], ["O", 0.4]], changed),
        ],
        "spurious": ["Q1"],
        "commands": [],
        "job_notes": ["O1: N → O by the data: " + changed.reason],
    }
    html = session.show(model_of(state), result)
    assert state.labels == {2: "O1 O data 0.98 was N"}  # the one the data changed
    assert "O1 O data 0.98 was N" in session.messages[-2]  # its numbers on the console
    assert "<b>by the data</b>" in html and "refined as 6.1 e; C 0.99, N 0.01" in html
    assert "<b>N &rarr; O</b>; refined as 7.9 e; O 0.98, N 0.02" in html
    assert "O1: N &rarr; O by the data: refined as 6.9 e as N" in html
    assert "<td>O 0.40</td><td>N 0.60</td>" in html  # the element's own probability
    assert "colspan='7'>not atoms: Q1" in html
    assert session.messages[-1] == "O1: N → O by the data: " + changed.reason
    rows = read_assignment(Path(session.answer_path)).rows
    assert [r.changed_from for r in rows] == ["", "", "N"] and rows[2].by_data.startswith(
        "refined as 7.9 e"
    )
    del result["sites"][0]["evidence"], result["sites"][2]["evidence"]
    html = session.show(model_of(state), result)
    assert "by the data" not in html and "colspan='6'" in html  # no reflections: as before


# --- 12, 13. the probability panel ----------------------------------------------------------------


def answer_file(folder, name="crystalx_last.json"):
    path = Path(folder) / name
    sites = [
        {
            "label": "Q1",
            "new_label": "C1",
            "element": "C",
            "probabilities": [["C", 0.97], ["N", 0.02]],
            "h_count": 2,
            "h_probabilities": {"2": 0.95, "1": 0.05},
            "hfix": 23,
            "note": "",
        },
        {
            "label": "Q2",
            "new_label": "N1",
            "element": "N",
            "probabilities": [["N", 0.96], ["O", 0.03]],
            "h_count": 1,
            "h_probabilities": {"1": 0.09, "0": 0.91},
            "hfix": 43,
            "note": "",
        },
    ]
    path.write_text(
        json.dumps(
            {
                "structure": "x.res",
                "result": {"sites": sites},
                "evidence": {"Q1": {"peak_height": 3.2}},
            }
        )
    )
    return path


def test_12_a_panel_that_cannot_start_is_reported_with_its_last_error_line(ethanol, monkeypatch):
    pytest.importorskip("PySide6.QtWidgets")
    state, plugin = ethanol
    answer_file(*os.path.split(plugin._session().answer_path))  # the file its panel watches
    state.params["crystalx.core_interpreter"] = sys.executable
    monkeypatch.setenv(
        "QT_QPA_PLATFORM", "xcb"
    )  # no X server here: what a desktop without libxcb-cursor0 gets
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    state.functions["crystalx.panel"]()
    state.pump(lambda: any("panel stopped" in m for m in plugin._session().messages), timeout=60)
    message = [m for m in plugin._session().messages if "panel stopped" in m][-1]
    log = Path(state.params["_data_dir"]) / "crystalx_panel.log"
    last = [line for line in log.read_text().splitlines() if line.strip()][-1].strip()
    assert message.endswith(last) and "exit" in message


def test_13_a_row_clicked_in_the_panel_selects_and_centres_the_atom_in_olex2(ethanol, monkeypatch):
    pytest.importorskip("PySide6.QtWidgets")
    state, plugin = ethanol
    answer_file(*os.path.split(plugin._session().answer_path))  # the file its panel watches
    state.params["crystalx.core_interpreter"] = sys.executable
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    state.functions["crystalx.panel"]()
    link = plugin.panel_link
    deadline = time.monotonic() + 60
    while link.alive() and time.monotonic() < deadline and not link.ready:
        time.sleep(0.05)
    assert link.alive() and link.ready
    link._post(("select", "C2"))  # what the reader posts for a `select C2` line
    state.pump(lambda: not state.scheduled)
    assert state.centred is state.find("C2") and state.selection == [state.find("C2")]
    plugin._session().show(model_of(state), {"sites": [], "spurious": [], "commands": []})
    state.run("name Q1 C3")  # applied since: the panel still says Q1
    link._post(("select", "Q1"))
    state.pump(lambda: not state.scheduled)
    assert state.log[-2:] == ["sel #c3", "center #c3"] and state.centred is state.find("C3")
    state.run("sel O1")
    plugin.panel_select()  # Olex2's selection to the panel: a line on its stdin
    link.process.stdin.close()  # Olex2 closing: the panel quits
    assert link.process.wait(30) == 0


class _PanelLines(object):
    """Stands for CrystalX.PanelLink (plugin/plugin-CrystalX/CrystalX.py): a running panel,
    and the lines `send` would write to its stdin."""

    def __init__(self):
        self.lines = []

    def alive(self):
        return True

    def send(self, line):
        self.lines.append(line)


def test_13_olex2s_selection_reaches_the_panel_by_the_answers_labels(ethanol, monkeypatch):
    """The panel lists the answer's labels (Q1); after Apply Olex2 calls that atom C3, and
    Olex2's Sel writes a symmetry image with its EQIV (mainform.cpp funSel, atomref.cpp
    ExplicitCAtomRef::GetExpression: O1_$1). panel_select sent "select C3" and "select O1_$1",
    neither of which the panel holds."""
    state, plugin = ethanol
    session = plugin._session()
    session.show(model_of(state), {"sites": [], "spurious": [], "commands": []})
    state.run("name Q1 C3")
    state.run("sel C3")
    state.selected_images = [(state.find("O1"), 1)]
    session_module = sys.modules["crystalx_plugin.session"]
    readings = []

    def counted(*args):  # one reading of the model asks Olex2 for every atom
        readings.append(1)
        return read_model(*args)

    read_model = session_module.read_model
    monkeypatch.setattr(session_module, "read_model", counted)
    plugin.panel_link = link = _PanelLines()
    try:
        plugin.panel_select()
    finally:
        plugin.panel_link = None
    assert link.lines == ["select Q1", "select O1"] and len(readings) == 1


def test_13_the_panel_highlights_low_h_probability_labels_its_histogram_and_answers_clicks(
    tmp_path,
):
    QtWidgets = pytest.importorskip("PySide6.QtWidgets")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    import io
    from PySide6.QtCore import Qt
    from crystalx_core.panel.rows import read_assignment
    from crystalx_core.panel.window import LOW, Link, PanelWindow

    rows = read_assignment(answer_file(tmp_path)).rows
    assert [r.low(0.9) for r in rows] == [False, True] and rows[
        0
    ].evidence == "Q-peak height 3.20 e/Å³"
    out = io.StringIO()
    link = Link(stdin=io.StringIO("select N1\n"), stdout=out)
    window = PanelWindow(tmp_path / "crystalx_last.json", link)
    window.show()
    deadline = time.monotonic() + 5
    while not window.selected_labels() and time.monotonic() < deadline:
        app.processEvents()
    current = window.table.currentIndex()
    assert current.siblingAtColumn(1).data() == "N1"  # Olex2's selection arrived
    assert current.siblingAtColumn(6).data(Qt.BackgroundRole) == LOW  # p(H) 0.09
    window.table.clicked.emit(current)
    assert out.getvalue().splitlines()[-1] == "select Q2"
    image = window.histogram.grab().toImage()
    dark = sum(
        1
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
        if image.pixelColor(x, y).lightness() < 80
    )
    assert dark > 150  # axes, tick labels and titles drawn, not bare bars


@pytest.mark.skipif(
    shutil.which("Xvfb") is None, reason="Xvfb is not installed (CI installs it with .ci/run)"
)
def test_12_the_panel_runs_in_a_real_x_server_and_its_screenshot_is_not_empty(tmp_path):
    display = ":%d" % (90 + os.getpid() % 100)
    server = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        shot = tmp_path / "panel.png"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "crystalx_core.panel",
                str(answer_file(tmp_path)),
                "--screenshot",
                str(shot),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr[-1000:]
        QtGui = pytest.importorskip("PySide6.QtGui")
        image = QtGui.QImage(str(shot))
        colours = {
            image.pixelColor(x, y).name()
            for x in range(0, image.width(), 7)
            for y in range(0, image.height(), 7)
        }
        assert image.width() >= 700 and len(colours) > 10
    finally:
        server.kill()
        server.wait()


# --- the service's command building (issue 24 points 2 and 3), through `crystalx serve` -------


@pytest.fixture(scope="module")
def serve():
    process = subprocess.Popen(
        [sys.executable, "-m", "crystalx_core.cli", "serve", "--stdio"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )

    def ask(method, params):
        process.stdin.write(
            json.dumps({"protocol": 1, "id": 7, "method": method, "params": params}).encode()
            + b"\n"
        )
        process.stdin.flush()
        timer = threading.Timer(60, process.kill)  # an endless loop must fail the test, not hang it
        timer.start()
        try:
            return json.loads(process.stdout.readline())
        finally:
            timer.cancel()

    yield ask
    process.stdin.close()
    process.wait(30)


PLAN_STRUCTURE = {
    "cell": list(CELL),
    "symops": ["x,y,z"],
    "sfac": ["C", "O"],
    "unit": [2, 1],
    "sites": [
        {"label": "C1", "element": "C", "frac": [0.1, 0.1, 0.1]},
        {"label": "C2", "element": "C", "frac": [0.252, 0.1, 0.1]},
        {"label": "O1", "element": "O", "frac": [0.252, 0.243, 0.1]},
    ],
}


@pytest.mark.parametrize(
    "new_label, words",
    [
        ("C1", "held by a site that keeps its label"),  # issue 24.2: looped forever
        ("O 1; kill all", "should be one word"),  # issue 24.3: went to Olex2 as a command
        ("C12345", "longer than the 4 characters"),
        ("Ca1", "would read it as Ca, not C"),
    ],
)
def test_apply_plan_new_labels_olex2_cannot_take_are_typed_errors(serve, new_label, words):
    reply = serve(
        "apply-plan",
        {
            "structure": PLAN_STRUCTURE,
            "plan": {
                "sites": [{"label": "O1", "element": "C", "new_label": new_label, "h_count": 0}]
            },
        },
    )
    assert reply["error"]["code"] == "bad-label" and words in reply["error"]["message"]
    assert "O1" in reply["error"]["message"]
    assert serve("ping", {})["result"]["protocol"] == PROTOCOL  # still serving


def test_apply_plan_swaps_go_through_a_spare_label_olex2_keeps(serve):
    reply = serve(
        "apply-plan",
        {
            "structure": PLAN_STRUCTURE,
            "plan": {
                "sites": [
                    {"label": "C1", "element": "C", "new_label": "C2", "h_count": 3},
                    {"label": "C2", "element": "C", "new_label": "C1", "h_count": 2},
                ]
            },
        },
    )
    names = [c for c in reply["result"]["commands"] if c.startswith("name")]
    assert names == ["name C1 C999", "name C2 C1", "name C999 C2"]
    assert all(len(c.split()[2]) <= 4 for c in names)


def test_an_atom_typed_against_its_label_is_retyped_and_revert_restores_its_type(
    serve, tmp_path, monkeypatch, close_plugin
):
    """N1 typed C in Olex2 (a .ins's SFAC order can do it): a plan that keeps the label and
    makes it N sends `name N1 N1`, which Olex2 (and the double, gxapp.cpp `TGXApp::Name`)
    answers by typing the atom from the label; Revert gives the C back through Olex2's undo."""
    atoms = [
        ("C1", "C", (0.10, 0.10, 0.10), 0.04),
        ("N1", "C", (0.252, 0.10, 0.10), 0.04),
        ("O1", "O", (0.252, 0.243, 0.10), 0.04),
    ]
    state, plugin = open_in_double(tmp_path, monkeypatch, Snapshot, atoms, z=1, interpreter="")
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    model = model_of(state)
    assert [s["element"] for s in model.snapshot["sites"]] == ["C", "C", "O"]
    structure = {k: v for k, v in model.snapshot.items() if k != "wavelength"}  # protocol 1
    plan = {"sites": [{"label": "N1", "element": "N", "new_label": "N1", "h_count": 0}]}
    reply = serve("apply-plan", {"structure": structure, "plan": plan})
    assert reply["result"]["commands"] == ["name N1 N1"]
    session = plugin._session()
    before = state.model_state()
    journal = olex_model.apply_commands(
        olex, olx, core, reply["result"]["commands"], model, session.say
    )
    assert state.log[-1] == "name #c1 N1" and state.find("N1").type == "N"
    assert model_of(state).snapshot["sites"][1]["element"] == "N"
    session.journals.append(journal)
    assert session.revert() is True and session.messages[-1] == "reverted exactly"
    assert state.model_state() == before and state.find("N1").type == "C"


def test_a_full_disk_keeps_the_panels_answer_file_and_says_so_in_one_line(ethanol, small_disk):
    """The answer of a request with reflections is saved for the Qt panel in Olex2's data
    folder; on a full disk (a real 1 MB tmpfs, filled) the previous file stays byte for byte,
    no temporary is left, the user reads one line, and the table is still shown."""
    state, plugin = ethanol
    state.params["_data_dir"] = str(small_disk)
    session = plugin._session()
    site = answer_site("C1", "C", [["C", 0.97], ["N", 0.03]], 3, 0.9, 33, None)
    result = {
        "sites": [site],
        "spurious": [],
        "commands": [],
        "job_notes": [],
        "reflections": {"path": "/data/structure.hkl", "r1": 0.04, "wr2": 0.1, "changed": 0},
    }
    session.show(model_of(state), result)
    saved = Path(session.answer_path)
    assert json.loads(saved.read_text())["result"] == result
    fill(small_disk, leave=0)
    before = snapshot(small_disk)
    said = len(session.messages)
    html = session.show(model_of(state), {**result, "sites": [{**site, "element": "N"}] * 400})
    assert "C1" in html and snapshot(small_disk) == before
    failures = [m for m in session.messages[said:] if "could not write" in m]
    assert failures == [
        "could not write %s (No space left on device); the probability panel keeps the "
        "previous answer" % saved
    ]


SAVING_WINDOWS = """
import sys, threading
from crystalx_plugin.session import Session

def window(session):
    for _ in range(20):
        session.save_answer({"window": session.out_dir, "sites": ["C" * 99] * 2000})

windows = [Session(None, None, None, None, None, sys.argv[1]) for _ in range(6)]
threads = [threading.Thread(target=window, args=(session,)) for session in windows]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def test_two_olex2_windows_saving_at_once_neither_fails_nor_tears(tmp_path):
    """Two Olex2 windows share one data folder, where the plugin saves its answers and
    crystalx.phil (session.write_whole). With one fixed temporary name (crystalx_last.json.tmp)
    a window's save truncated the other's temporary and renamed it away: the other failed
    with 'No such file or directory' (34 of 120 saves from 6 writers), or a torn file was
    renamed into place. Threads stand for the windows (outside the double, whose GIL is
    Olex2's)."""
    done = subprocess.run(
        [sys.executable, "-c", SAVING_WINDOWS, str(tmp_path)],
        cwd=PLUGIN,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")  # no window said a word
    (saved,) = tmp_path.iterdir()  # one window's answer (one process: one name), whole
    assert saved.name.startswith("crystalx_last_") and saved.name.endswith(".json")
    assert json.loads(saved.read_text())["window"] == str(tmp_path)


ONE_WINDOW = """
import json, sys
from crystalx_plugin.session import Session

session = Session(None, None, None, None, None, sys.argv[1])
session.save_answer({"structure": sys.argv[2], "result": {"sites": []}})
print(session.answer_path)
"""


def test_two_olex2_windows_each_keep_their_own_answer_for_their_panel(tmp_path):
    """Olex2's data folder is one per installation and user (patchapi.h ComposeInstanceDir),
    shared by every window open. Main saved each window's answer as crystalx_last.json there:
    the second window's answer replaced the first's, and the first window's panel showed the
    other structure. Each window (process) now has its own file, the one its panel is given;
    an answer a closed window left a week ago is removed, a recent one kept."""
    stale, recent = tmp_path / "crystalx_last_1.json", tmp_path / "crystalx_last_2.json"
    for path, age in ((stale, 8 * 24 * 3600), (recent, 3600)):
        path.write_text("{}")
        os.utime(path, (time.time() - age, time.time() - age))
    paths = {}
    for structure in ("first.res", "second.res"):  # two Olex2 processes, one after the other
        done = subprocess.run(
            [sys.executable, "-c", ONE_WINDOW, str(tmp_path), structure],
            cwd=PLUGIN,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        paths[structure] = Path(done.stdout.strip())
    assert paths["first.res"] != paths["second.res"]
    for structure, path in paths.items():
        assert path.parent == tmp_path and json.loads(path.read_text())["structure"] == structure
    assert not stale.exists() and recent.exists()


# --- the Olex2 calls as its source has them (session 12) ----------------------------------------


def test_olex2s_undo_pops_one_entry_and_name_may_push_two(ethanol):
    """gxmacro.cpp: `undo` on an empty stack succeeds doing nothing (macUndo); `hadd` on a
    grown structure is a macro error, so olex.m is False (xmacro.cpp macHAdd); `name` pushes
    its entry and, when the rename left a riding-H group's pivot with the wrong number of
    heavy neighbours, ValidateHGroups deletes the group and pushes one more (safe_afix, on by
    default); `kill` of a heavy atom takes its riding H along (gxapp.cpp DeleteXAtoms)."""
    state, _ = ethanol
    Atom = sys.modules["_olex2"].Atom
    assert state.undo_stack == [] and state.run("undo") is True
    state.grown = True
    assert state.run("hadd 23 C2") is False and not [a for a in state.live() if a.type == "H"]
    state.grown = False
    state.run("hadd 23 C2")
    assert [a.label for a in state.live() if a.type == "H"] == ["H2A", "H2B"]
    assert state.undo_stack == []  # hadd itself cannot be undone
    state.atoms.append(Atom("Q2", "Q", (0.252, 0.10, 0.25), 0.05, 1.0, 0, 1.2))  # 1.5 Å from C2
    state.run("name Q2 C4")  # C2 now has three heavy neighbours: HFIX 23 no longer fits
    assert len(state.undo_stack) == 2 and not [a for a in state.live() if a.type == "H"]
    assert any("C2 has wrong connectivity" in e for e in state.errors)
    state.run("undo")  # the H group comes back, the rename stays
    assert state.find("C4") is not None and len([a for a in state.live() if a.type == "H"]) == 2
    state.run("undo")
    assert state.find("Q2") is not None and state.find("C4") is None
    state.run("kill C2")
    assert state.find("C2") is None and not [a for a in state.live() if a.type == "H"]
    state.run("undo")
    assert state.find("C2") is not None and len([a for a in state.live() if a.type == "H"]) == 2


def test_revert_undoes_the_entries_olex2_pushed_not_one_per_command(ethanol):
    """A second round renames a peak next to a carbon that already rides two H: Olex2 deletes
    that H group (safe_afix) and pushes an extra undo entry. Revert undoes until the renamed
    atom is back (one undo per command left the rename in place) and nothing more."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    Atom = sys.modules["_olex2"].Atom
    state.run("name O1 O1")  # an earlier entry of the user's: Revert must not undo it
    state.run("hadd 23 C2")  # an earlier round's riding H
    state.atoms.append(Atom("Q2", "Q", (0.252, 0.10, 0.25), 0.05, 1.0, 0, 1.2))
    session = plugin._session()
    before = state.model_state()
    session.journals.append(
        olex_model.apply_commands(olex, olx, core, ["name Q2 C4"], model_of(state), session.say)
    )
    assert len(state.undo_stack) == 3
    assert session.revert() is True and session.messages[-1] == "reverted exactly"
    assert state.model_state() == before and len(state.undo_stack) == 1


def test_olex2s_formula_functions_give_its_formats_and_a_cifs_items(ethanol):
    """xfiles.cpp TXFile::LibGetFormula: per formula unit ('list', plain, 'split', 'html') or
    per cell ('unit'), refused with no file; xmacro.cpp funIsFileType and xpprocs.cpp funCif:
    a CIF's item, "n/a" when it has none, refused with another file open."""
    state, _ = ethanol
    olx = sys.modules["olx"]
    state.formula, state.z = [("C", 2.0), ("H", 6.0), ("O", 1.0)], 4
    assert olx.xf.GetFormula() == "C2 H6 O1"
    assert olx.xf.GetFormula("list") == "C:2,H:6,O:1"
    assert olx.xf.GetFormula("split") == "C 2 H 6 O 1"
    assert olx.xf.GetFormula("unit") == "C8 H24 O4"
    assert olx.xf.GetFormula("html") == "C<sub>2</sub>H<sub>6</sub>O"
    assert (olx.IsFileType("res"), olx.IsFileType("ires"), olx.IsFileType("cif")) == (
        "true",
        "true",
        "false",
    )
    with pytest.raises(RuntimeError):
        olx.Cif("_chemical_formula_sum")
    state.load(CELL, P1, [("C", 2)], 1, ETHANOL, file="/data/x.cif", cif_items={"_a": "b"})
    assert (olx.IsFileType("cif"), olx.Cif("_a"), olx.Cif("_b")) == ("true", "b", "n/a")
    state.load(CELL, P1, [("C", 2)], 1, ETHANOL, file="/data/x.cmf")
    assert (olx.IsFileType("cmf"), olx.IsFileType("ins")) == ("false", "false")  # no such kind
    with pytest.raises(RuntimeError):
        olx.Cif("_a")
    state.close()
    assert olx.IsFileType("ires") == "false"
    with pytest.raises(RuntimeError):
        olx.xf.GetFormula("list")


@pytest.mark.parametrize(
    "extension, kinds",
    [
        ("res", {"res", "ires"}),
        ("ins", {"ins", "ires"}),
        ("cif", {"cif"}),
        ("fcf", {"cif"}),  # TCif loads .cif, .fcf and .fco (mainform.cpp RegisterFileFormat)
        ("fco", {"cif"}),
        ("mol", {"mol", "xyz"}),  # 'xyz' asks CheckFileType<TMol>
        ("xyz", set()),  # TXyz loads it, and no kind asks for TXyz
        ("p4p", {"p4p"}),
        ("crs", {"crs"}),
        ("pdb", set()),
    ],
)
def test_is_file_type_asks_the_loader_of_the_file_loaded(ethanol, extension, kinds):
    """xmacro.cpp funIsFileType against the loader Olex2 registers for each extension."""
    state, _ = ethanol
    olx = sys.modules["olx"]
    state.load(CELL, P1, [("C", 2)], 1, ETHANOL, file="/data/x." + extension)
    every = ("ins", "res", "ires", "cif", "p4p", "mol", "xyz", "crs", "cmf", "fcf")
    assert {kind for kind in every if olx.IsFileType(kind) == "true"} == kinds


def assign_answer(snapshot):
    from crystalx_core.service import handle

    request = {"protocol": PROTOCOL, "id": 1, "method": "assign"}
    request["params"] = {"structure": snapshot, "options": {"hydrogens": "auto", "top_k": 1}}
    return handle(request)[0]


def test_the_cifs_published_formula_goes_to_the_core_and_sfac_unit_do_not(ethanol):
    """With a CIF open, Olex2's olx.Cif('_chemical_formula_sum') is the published formula
    (the CIF's load also makes it Olex2's SFAC/UNIT: cif.cpp SetUserFormula); the snapshot
    carries it as `formula` (protocol 2), and the core places no H where it has none. With a
    .res open only SFAC/UNIT exist, which list what a solution found: no formula is sent."""
    state, _ = ethanol
    atoms = [a for a in ETHANOL if a[1] != "Q"]
    state.load(CELL, P1, [("C", 2), ("O", 1)], 1, atoms, file="/data/ethanol.res")
    assert "formula" not in model_of(state).snapshot
    with_h = assign_answer(model_of(state).snapshot)
    assert sum(s["h_count"] for s in with_h["sites"]) > 0
    for missing in ("n/a", "?"):
        state.load(CELL, P1, [("C", 2), ("O", 1)], 1, atoms, file="/data/e.cif")
        state.cif_items["_chemical_formula_sum"] = missing
        assert "formula" not in model_of(state).snapshot
    state.cif_items["_chemical_formula_sum"] = "C2 O"
    snapshot = model_of(state).snapshot
    assert snapshot["formula"] == "C2 O"
    without_h = assign_answer(snapshot)
    assert [s["h_count"] for s in without_h["sites"]] == [0, 0, 0]


def test_spy_commands_take_arguments_as_olex2_passes_them_and_fail_in_one_line(
    ethanol, capsys, monkeypatch
):
    """Olex2 calls spy.crystalx.* with string arguments and -key=value as keywords
    (pyext.cpp TFuncWrapper::Call) and would print the traceback of any error (PyErr_Print):
    an argument a command does not take, a bad value or an error inside is one console line,
    the traceback goes to crystalx_plugin.log in the data folder."""
    state, plugin = ethanol
    capsys.readouterr()
    state.call("spy.crystalx.batch(-rounds=many)")
    state.call("spy.crystalx.assign(now)")
    state.call("spy.crystalx.batch(2, 3)")
    assert state.call("spy.crystalx.status()") == "idle"

    def broken():
        raise KeyError("sites")

    monkeypatch.setattr(plugin._session(), "revert", broken)
    state.call("spy.crystalx.revert()")
    lines = capsys.readouterr().out.splitlines()
    log = Path(state.params["_data_dir"]) / "crystalx_plugin.log"
    assert lines == [
        "CrystalX: rounds must be a whole number, not 'many'",
        "CrystalX: spy.crystalx.assign takes no arguments, not 'now'",
        "CrystalX: spy.crystalx.batch takes rounds, not '2', '3'",
        "CrystalX: spy.crystalx.revert failed: 'sites' (details in %s)" % log,
    ]
    assert state.errors == [] and "KeyError: 'sites'" in log.read_text()


def test_after_a_refinement_a_panel_click_finds_the_atom_where_it_was(ethanol):
    """The panel names atoms by the answer's labels, which the plugin turns into ids; a
    refinement reloads the model and renumbers it (C3 moves from id 3 to 6, behind C1's new
    H), so the atom is the one at the site's position now, not the stale id (now H1C)."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    session = plugin._session()
    session.show(model_of(state), {"sites": [], "spurious": [], "commands": []})
    assert session.address("Q1") == "#c3"
    journal = olex_model.apply_commands(
        olex, olx, core, ["name Q1 C3", "hadd 33 C1"], model_of(state), session.say
    )
    assert session.address("Q1") == "#c3"  # renamed, not renumbered
    session.refine(journal)
    assert session.address("Q1") == "#c6" and state.find("#c6") is state.find("C3")
    assert session.address("O9") == "O9"  # a label the answer did not name


# --- review of session 12 (review_olex.md) -------------------------------------------------------


def test_kill_pushes_one_entry_that_takes_the_riding_h_of_the_killed_atoms_neighbours(ethanol):
    """GXLibMacros::macKill pushes app.DeleteXAtoms(todel) and nothing else (no
    ValidateHGroups); under safe_afix TGXApp::DeleteXAtoms (gxlib/gxapp.cpp) goes "one level
    deeper": the riding H (AFIX m != 0) of the killed atom's heavy neighbours go in that same
    entry, unless their part forbids a bond to it (TNetwork::IsBondAllowed). One undo brings
    all back; the plugin counts one undo step per kill, two per name."""
    state, _ = ethanol
    state.run("hadd 23 C2")  # H2A, H2B ride on C2 (bonded to C1 and O1)
    assert state.run("kill C1") is True
    assert state.find("C1") is None and not [a for a in state.live() if a.type == "H"]
    assert len(state.undo_stack) == 1 and not any("connectivity" in e for e in state.errors)
    state.run("undo")
    assert state.find("C1") is not None
    assert [a.label for a in state.live() if a.type == "H"] == ["H2A", "H2B"]
    for h in state.live():
        h.part = 2 if h.type == "H" else h.part
    state.find("C1").part = 1  # no bond allowed between part 1 and part 2
    state.run("kill C1")
    assert len([a for a in state.live() if a.type == "H"]) == 2 and len(state.undo_stack) == 1
    state.run("undo")
    state.safe_afix = False
    state.find("C1").part = 2
    state.run("kill C1")
    assert len([a for a in state.live() if a.type == "H"]) == 2
    journal = sys.modules["crystalx_plugin.olex_model"].Journal(model_of(state))
    journal.record("kill #c0")
    assert journal.steps == 1
    journal.record("name #c1 N1")
    assert journal.steps == 3


def test_name_checks_the_h_groups_even_when_the_rename_fails(ethanol):
    """gxmacro.cpp GXLibMacros::macName calls ValidateHGroups after its if/else, so a `name`
    that renames nothing (an invalid label, an unknown atom) still deletes the riding-H group
    of a pivot whose heavy neighbours no longer fit, and pushes that entry."""
    state, _ = ethanol
    Atom = sys.modules["_olex2"].Atom
    state.run("hadd 23 C2")
    state.atoms.append(Atom("C4", "C", (0.252, 0.10, 0.25), 0.04))  # C2's third neighbour
    assert state.run("name O1 1x") is True and state.find("O1") is not None
    assert not [a for a in state.live() if a.type == "H"] and len(state.undo_stack) == 1
    state.run("undo")
    assert len([a for a in state.live() if a.type == "H"]) == 2
    state.run("name O9 N9")
    assert not [a for a in state.live() if a.type == "H"] and len(state.undo_stack) == 1


def applied_then_refined_by_olex2(state, plugin):
    """Apply renames Q1 to C3 and adds C1's H, then Olex2's own Refine button reloads the
    .res (olex2-gui RunPrg.runAfterProcess → OV.reloadStructureAtreap): the atoms are
    renumbered and the undo stack cleared without the plugin knowing. The session."""
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    session = plugin._session()
    session.show(model_of(state), {"sites": [], "spurious": [], "commands": []})
    journal = olex_model.apply_commands(
        olex, olx, core, ["name Q1 C3", "hadd 33 C1"], model_of(state), session.say
    )
    journal.after = model_of(state)
    session.journals.append(journal)
    state.run("name O1 N1")  # an edit of the user's leaves the ids where they were
    assert session.revert() is False and session.messages[-1].endswith("use Olex2's undo")
    state.run("undo")
    state.run("refine 4")  # Olex2's own button, not the plugin
    return session


def test_after_olex2s_own_refinement_a_panel_click_finds_the_atom_where_it_is(ethanol):
    """The clicked answer's atom is the one now at its site (C3 moved from id 3 to 6)."""
    state, plugin = ethanol
    session = applied_then_refined_by_olex2(state, plugin)
    assert session.address("Q1") == "#c6" and state.find("#c6") is state.find("C3")


def test_after_olex2s_own_refinement_revert_points_to_history_not_undo(ethanol):
    """The reload cleared Olex2's undo: Revert says to go back with History and changes
    nothing."""
    state, plugin = ethanol
    session = applied_then_refined_by_olex2(state, plugin)
    after, log = state.model_state(), len(state.log)
    assert session.revert() is False and "History" in session.messages[-1]
    assert "use Olex2's undo" not in session.messages[-1]
    assert state.model_state() == after and state.log[log:] == []  # no label of ours to hide


def test_an_oversized_plugin_log_is_started_afresh_when_the_plugin_loads(
    tmp_path, monkeypatch, close_plugin
):
    """crystalx_plugin.log gets each failure's traceback; over 1 MB it is emptied when Olex2
    loads the plugin, below that it is kept."""
    log = tmp_path / "crystalx_plugin.log"
    log.write_text("x" * (1 << 20) + "y")
    open_in_double(tmp_path, monkeypatch, Snapshot, ETHANOL, z=1, interpreter="")
    assert log.read_text() == ""
    log.write_text("an earlier traceback\n")
    open_in_double(tmp_path, monkeypatch, Snapshot, ETHANOL, z=1, interpreter="")
    assert log.read_text() == "an earlier traceback\n"


# --- a pivot beside a disorder: hadd places its H per PART ---------------------------------------

DISORDERED = [  # C61 (PART 0) bonded to C60 and to C62A (PART 1, 0.6) or C62B (PART 2, 0.4)
    ("C60", "C", (0.10, 0.10, 0.10), 0.04),
    ("C61", "C", (0.252, 0.10, 0.10), 0.04),
    ("C62A", "C", (0.302, 0.2435, 0.10), 0.05, 0.6, 1),
    ("C62B", "C", (0.302, 0.10, 0.2435), 0.05, 0.4, 2),
]


class DisorderedSnapshot(Snapshot):
    sfac, unit = ["C"], [4]


def test_a_pivot_beside_a_disorder_gets_its_h_in_each_part_from_one_hadd(
    tmp_path, monkeypatch, close_plugin
):
    """The core writes C61's H per PART (PART 1 AFIX 23 ... PART 2 AFIX 23 ...) and sends
    `hadd 23 C61`. Olex2's hadd splits by PART itself (xlib/xmacro.cpp macHAdd, code > 0: a
    pivot whose neighbours lie in two or more PARTs gets one group per PART, on the bonds to
    PART 0 and that PART, its H in that PART at that neighbour's occupancy), so the command
    stands. The double refused it (three bonds for a code that wants two: nothing added) and
    the plugin, counting H per pivot, would have said "C61 got 4 H, not 2"; now the double
    does what the source does and the plugin counts each PART."""
    state, _ = open_in_double(
        tmp_path, monkeypatch, DisorderedSnapshot, DISORDERED, z=1, interpreter=""
    )
    said = []
    journal = sys.modules["crystalx_plugin.olex_model"].apply_commands(
        sys.modules["olex"],
        sys.modules["olx"],
        sys.modules["olex_core"],
        ["hadd 23 C61"],
        model_of(state),
        said.append,
    )
    added = [a for a in state.live() if a.type == "H"]
    assert sorted((a.part, a.occu, a.afix) for a in added) == [
        (1, 0.6, 23),
        (1, 0.6, 23),
        (2, 0.4, 23),
        (2, 0.4, 23),
    ]
    assert all(a.pivot.label == "C61" for a in added) and len(journal.added) == 4
    assert said == [] and state.errors == []


def test_the_h_count_check_counts_each_part_of_a_split_pivot(monkeypatch):
    """hydrogen_shortfall on hadd's H: a pivot whose new H lie in PARTs other than its own was
    split by PART (macHAdd gives H another PART only then) and must have the H asked in each
    of two or more PARTs; any other pivot the H asked in all."""
    monkeypatch.syspath_prepend(str(PLUGIN))
    monkeypatch.syspath_prepend(str(DOUBLE))
    olex_model = importlib.import_module("crystalx_plugin.olex_model")
    pivot = {0: ("C61", "C", 0.0, (0.252, 0.10, 0.10), 0.04, 1.0, 0)}

    def h(k, part):  # an H 1 Å from C61
        return ("H61" + "ABCD"[k], "H", 0.0, (0.252, 0.20, 0.10 + 0.01 * k), 0.05, 0.5, part)

    def short(parts):
        states = {**pivot, **{k + 1: h(k, part) for k, part in enumerate(parts)}}
        model = olex_model.Model({"sites": []}, [], states, list(CELL))
        return olex_model.hydrogen_shortfall({0: 2}, list(range(1, len(parts) + 1)), model)

    assert short([1, 1, 2, 2]) == [] and short([0, 0]) == []
    assert short([1, 1, 2]) == ["C61 got 2 H in PART 1, 1 in PART 2, not 2 in each PART"]
    assert short([1, 1]) == ["C61 got 2 H in PART 1, not 2 in each PART"]
    assert short([0, 0, 0, 0]) == ["C61 got 4 H, not 2"]
    assert short([-1, -1]) == []  # FixAtom's PART -1 (the test below) is no split


ON_A_MIRROR = [  # C1 and C2 on the mirror z = 0 (SHELX occupancy 10.5: Olex2's 0.5)
    ("C1", "C", (0.30, 0.20, 0.0), 0.04, 0.5),
    ("C2", "C", (0.45, 0.20, 0.0), 0.04, 0.5),
]


class MirrorSnapshot(Snapshot):
    symops, sfac, unit = ["x,y,z", "x,y,-z"], ["C"], [2]


def test_a_methyl_on_a_special_position_gets_its_h_in_part_minus_one_and_no_warning(
    tmp_path, monkeypatch, close_plugin
):
    """Olex2 puts the H of a methyl (or NH3) whose PART 0 pivot sits on a special position in
    PART -1, at the pivot's occupancy (xlib/xlcongen.cpp TXlConGen::FixAtom: negative_part
    when the pivot's degeneracy is not 1; SetOccu(pivot's)). The plugin took an H in another
    PART than its pivot for hadd's split by PART and warned "C1 got 3 H in PART -1, not 3 in
    each PART"; the double gave them PART 0 and occupancy 1."""
    state, _ = open_in_double(
        tmp_path, monkeypatch, MirrorSnapshot, ON_A_MIRROR, z=1, interpreter=""
    )
    said = []
    journal = sys.modules["crystalx_plugin.olex_model"].apply_commands(
        sys.modules["olex"],
        sys.modules["olx"],
        sys.modules["olex_core"],
        ["hadd 137 C1"],
        model_of(state),
        said.append,
    )
    added = [a for a in state.live() if a.type == "H"]
    assert [(a.part, a.occu, a.afix, a.pivot.label) for a in added] == [(-1, 0.5, 137, "C1")] * 3
    assert len(journal.added) == 3 and said == [] and state.errors == []


# --- session 16: the calls not checked before, against Olex2's source ----------------------------


def test_olex2s_sel_adds_to_the_selection_and_skips_names_it_cannot_find(ethanol):
    """gxlib/gxmacro.cpp GXLibMacros::macSel (pcxod/olex2): atoms named without an option go
    through TGXApp::SelectAtoms(names, false), which selects each atom not yet selected and
    leaves the rest of the selection; `-u` with names unselects those, `-u` alone all
    (app.SelectAll(false)); a name that finds no atom is skipped and the macro succeeds.
    The double replaced the selection with each `sel`."""
    state, _ = ethanol
    c1, c2 = state.find("C1"), state.find("C2")
    assert state.run("sel C1") and state.run("sel C2") and state.selection == [c1, c2]
    assert state.run("sel -u C1") and state.selection == [c2]
    assert state.run("sel C9") is True and state.selection == [c2]  # no C9: skipped, no error
    assert state.run("sel -u") and state.selection == []
    assert state.errors == []


def test_olex2s_sel_reads_a_symmetry_copys_name_as_its_atom_with_every_copy(ethanol):
    """xlib/label_utils.cpp AtomLabelInfo (pcxod/olex2, 2025) puts the `$1` of C1_$1 in
    equiv_id and gxlib/gxapp.cpp TGXApp::GetXAtoms matches each shown TXAtom by its TCAtom
    (DoesMatch(xa.CAtom(), true)), which never looks at equiv_id: `sel -a C1_$1` selects C1
    and every shown copy of it. C1_2$1 asks for a residue class "2$1" and finds none. Label
    ends with SelectAll(false), copies included. The double found no atom for C1_$1."""
    state, _ = ethanol
    olx = sys.modules["olx"]
    c1, o1 = state.find("C1"), state.find("O1")
    state.grown = True
    state.images = [(c1, 1), (c1, 2), (o1, 1)]
    assert state.run("sel -a C1_$1") and state.selection == [c1]
    assert state.selected_images == [(c1, 1), (c1, 2)]
    assert olx.Sel() == "C1 C1_$1 C1_$2"
    assert state.run("sel -a C1_2$1") and state.selection == [c1]  # names no atom
    assert state.run("sel -u C1") and state.selection == [] and state.selected_images == []
    state.run("sel O1")
    assert olx.Sel() == "O1 O1_$1"
    assert olx.Label("#c0") is True and olx.Sel() == ""
    assert state.errors == []


class _PanelClicks(object):
    """Stands for the panel process: what its reader thread posted (PanelLink.take)."""

    def __init__(self, *labels):
        self.events = [("select", label) for label in labels]

    def take(self):
        events, self.events = self.events, []
        return events

    def alive(self):
        return False


def test_a_panel_click_on_an_atom_olex2_no_longer_has_says_so(ethanol):
    """A click on an atom Olex2 no longer has (deleted or renamed since the answer) selected
    nothing and said nothing: the plugin took `sel`'s result for whether it found the atom,
    but Olex2's sel skips a name it cannot find and succeeds (gxmacro.cpp macSel), so olex.m
    is True. The plugin now reads the selection back with Sel() (xpprocs.cpp funSel) and
    centres only on a selected atom."""
    state, plugin = ethanol
    plugin.panel_link = _PanelClicks("C9")
    plugin.panel_event()
    assert plugin._session().messages[-1] == "Olex2 could not select C9"
    assert state.selection == [] and state.centred is None and "center C9" not in state.log
    plugin.panel_link = _PanelClicks("C2")
    said = len(plugin._session().messages)
    plugin.panel_event()
    assert state.selection == [state.find("C2")] and state.centred is state.find("C2")
    assert len(plugin._session().messages) == said


def test_auto_refine_keeps_the_structures_own_cycle_count(ethanol):
    """olex2-gui macro.xld: `refine [l.s.=-1] [plan=-1.1]` hands its first argument to
    spy.SetMaxCycles, which keeps it as the structure's own count (olexFunctions.py
    OlexFunctions.SetMaxCycles: snum.refinement.max_cycles; programSettings.py
    onMaxCyclesChange rewrites the L.S. instruction). The plugin's `refine 4` left a
    structure refined with L.S. 10 at 4 cycles for Olex2's own Refine button; it now puts
    the structure's count back."""
    state, plugin = ethanol
    assert state.run("refine 6") and state.params["snum.refinement.max_cycles"] == 6
    state.run("refine")  # no argument: the count stays
    assert state.params["snum.refinement.max_cycles"] == 6
    state.params["snum.refinement.max_cycles"] = 10
    session = plugin._session()
    session.refine()
    assert state.log[-1] == "refine 4"  # crystalx.phil refine_cycles
    assert state.params["snum.refinement.max_cycles"] == 10 and state.errors == []


def test_sginfo_gives_whole_number_rotations_with_every_centring_operator(monkeypatch):
    """repository/py_core.cpp pySGInfo: "MatricesAll" is GetMatrices(ml, mattAll) (centring
    and inversion included, include_lattice true without a group name), each matrix three
    rows Py_BuildValue("(iiid)(iiid)(iiid)"); the plugin reads them as 'x,y,z' operators."""
    state = importlib.import_module("_olex2").STATE
    olex_core = importlib.import_module("olex_core")
    state.reset()
    state.matrices = [
        ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0)),
        ((1.0, 0.0, 0.0, 0.5), (0.0, 1.0, 0.0, 0.5), (0.0, 0.0, 1.0, 0.0)),  # C centring
    ]
    rows = [r for m in olex_core.SGInfo()["MatricesAll"] for r in m]
    assert all(type(v) is int for r in rows for v in r[:3]) and all(
        type(r[3]) is float for r in rows
    )
    monkeypatch.syspath_prepend(str(PLUGIN))
    symop = importlib.import_module("crystalx_plugin.olex_model")._symop
    assert [symop(m) for m in olex_core.SGInfo()["MatricesAll"]] == ["x,y,z", "x+1/2,y+1/2,z"]


def test_name_onto_a_used_label_gives_the_other_atom_the_first_free_number(ethanol):
    """gxlib/gxapp.cpp TGXApp::Name(TXAtom&, const olxstr&): the atom takes its new label
    first (TLabelChecker::SetLabel frees its old one); then each other atom of that label in
    its residue (TAsymmUnit::FindDiplicateLabels) takes TLabelChecker::CheckLabel's, its
    element and the first free number (asymmunit.cpp: C1..C9, C10.., without case), in the
    same undo entry. `name C2 C1` leaves C2 free, so the old C1 becomes C2; the double kept
    C2 taken and gave C3. An atom of another residue is no duplicate."""
    state, _ = ethanol
    c1, c2 = state.find("C1"), state.find("C2")
    assert state.run("name C2 C1") and (c2.label, c1.label) == ("C1", "C2")
    assert state.run("undo") and (c2.label, c1.label) == ("C2", "C1")
    c1.resi = 3  # C1 of residue 3: `name C2 C1` in the main residue leaves it alone
    assert state.run("name C2 C1") and (c2.label, c1.label) == ("C1", "C1")


def test_the_label_corrector_renames_as_olex2s_does_in_file_order(ethanol):
    """repository/py_core.cpp pyRefModel runs LabelCorrector (xlib/label_corrector.h) over the
    asymmetric unit in order: a repeated label takes the next of one iterator per element
    that skips only the labels seen so far, so the later atom holding that label is renamed
    in turn: C1, C1, C2 become C1, C2, C3. The double gave the repeat the first label no
    atom held (C1, C3, C2)."""
    state, _ = ethanol
    state.atoms[1].label, state.atoms[2].label, state.atoms[2].type = "C1", "C2", "C"
    assert [s["label"] for s in model_of(state).snapshot["sites"]] == ["C1", "C2", "C3", "Q1"]


def test_the_table_is_put_back_when_olex2_fills_its_virtual_files_afresh(ethanol):
    """olex2-gui PluginLib/PluginTools.py: PluginTools is a VFSDependent (registered in
    olx.VFSDependent), whose load_ressources Olex2 calls to put a plugin's virtual files back
    (gui/help GetHelp.load_ressources does so for its help files). The plugin wrote its
    table only when an answer came, so afterwards the panel's #include named a file that
    was gone; it now writes the last table from load_ressources."""
    state, plugin = ethanol
    state.refill_vfs()
    assert state.vfs["crystalx-table.htm"].startswith("<font size='-1'>Auto-assign")
    plugin.job = ("preview", 1, model_of(state))
    plugin.worker_result = {"sites": [], "spurious": [], "commands": []}
    plugin.finish()
    shown = state.vfs["crystalx-table.htm"]
    state.refill_vfs()
    assert state.vfs["crystalx-table.htm"] == shown and "Auto-assign" not in shown


def test_olex2s_atom_afix_is_the_riding_groups_on_its_h_and_0_on_the_pivot(ethanol):
    """xf.au.GetAtomAfix (pcxod/olex2 xlib/asymmunit.cpp LibGetAtomAfix → xlib/catom.cpp
    TCAtom::GetAfix): an H gets its ParentAfixGroup's code, a riding group's pivot 0 (only a
    group with an explicit pivot, n 6 or 9, or m 0 gives the pivot its code, and that group's
    other atoms m5), an index past the atoms raises; the plugin sends the H's code, and not the
    pivot's, to the core."""
    state, plugin = ethanol
    olx = sys.modules["olx"]
    assert state.run("hadd 33 C1") and state.run("hadd 147 O1")
    codes = dict((a.label, olx.xf.au.GetAtomAfix(i)) for i, a in enumerate(state.atoms))
    assert [codes[h] for h in ("H1A", "H1B", "H1C", "H1")] == ["33", "33", "33", "147"]
    assert (codes["C1"], codes["O1"], codes["C2"]) == ("0", "0", "0")
    # a rigid group with an explicit pivot (n 6: afixgroup.h HasExcplicitPivot): the pivot its
    # code, a member (code/10)*10+5
    atom = sys.modules["_olex2"].Atom
    state.atoms += [
        atom("C9", "C", (0.5, 0.5, 0.5), afix=66),
        atom("H9", "H", (0.6, 0.5, 0.5), afix=66),
    ]
    assert [olx.xf.au.GetAtomAfix(len(state.atoms) - k) for k in (2, 1)] == ["66", "65"]
    with pytest.raises(RuntimeError):
        olx.xf.au.GetAtomAfix(len(state.atoms))
    sent = dict((s["label"], s.get("afix")) for s in model_of(state).snapshot["sites"])
    assert (sent["H1A"], sent["H1"], sent["C1"], sent["O1"]) == (33, 147, None, None)


def test_a_debug_builds_afix_minus_one_reaches_the_core_as_a_release_build_gives_it(ethanol):
    """xlib/catom.cpp TCAtom::GetAfix (pcxod/olex2): for a member of a group with Olex2's
    internal code -1 a release build returns 0 and a _DEBUG build -1. The core refuses a
    negative AFIX (protocol.SiteIn.afix), so the plugin sends what a release build gives: 0."""
    state, plugin = ethanol
    olx = sys.modules["olx"]
    state.atoms.append(sys.modules["_olex2"].Atom("H9", "H", (0.35, 0.1, 0.1), afix=-1))
    index = len(state.atoms) - 1
    assert olx.xf.au.GetAtomAfix(index) == "0"
    state.debug_build = True
    assert olx.xf.au.GetAtomAfix(index) == "-1"
    snapshot = model_of(state).snapshot
    assert [s["afix"] for s in snapshot["sites"] if s["label"] == "H9"] == [0]

    def request(structure):
        return {
            "protocol": PROTOCOL,
            "id": 1,
            "method": "assign",
            "params": {"structure": structure},
        }

    assert read_request(request(snapshot))[0] == "assign"
    as_read = [dict(s, afix=-1) if s["label"] == "H9" else s for s in snapshot["sites"]]
    with pytest.raises(RequestError, match="afix"):  # what the unmended -1 would have met
        read_request(request(dict(snapshot, sites=as_read)))


def test_through_olx_a_macro_answers_a_bool_and_a_function_a_string(ethanol):
    """repository/pyext.cpp runOlexFunctionEx: a macro that succeeded gives True (False when
    it failed), a function its value as a string ("" when it has none). Schedule and
    html.Update are macros (mainform.cpp, olex2c.cpp; htmlmanager.cpp), Freeze and HasGUI
    functions (mainform.cpp this_InitFuncD)."""
    olx = sys.modules["olx"]
    assert olx.Schedule(0, "spy.crystalx.status()") is True
    assert olx.html.Update() is True and olx.html.Update("no-such-window") is False
    assert olx.Freeze(True) == "" and olx.Freeze() == "true" and olx.HasGUI() == "true"


class InProcess(object):
    """The core answering in this process, as the service does (no child to start)."""

    restarts = 0

    def request(self, method, params):
        from crystalx_core.service import handle

        request = {"protocol": PROTOCOL, "id": 1, "method": method, "params": params}
        return handle(request)[0]


def test_a_repeated_q_peak_is_deleted_by_apply_and_revert_brings_it_back(ethanol):
    """Q4 written 0.04 Å from Q1 (peak lists merged by hand): the core leaves the lower peak
    out as Q1's density again (repeated_atoms), but main's answer had no command for it, so
    after Apply Olex2 still held Q4 as a peak on the atom Q1 became, and the note asked the
    user to `kill` it by a label that Apply had just made stale. The answer deletes it in the
    same Apply, which Olex2 records as one undo entry (gxlib/gxmacro.cpp GXLibMacros::macKill,
    app.DeleteXAtoms), so Revert gives it back with its height."""
    state, plugin = ethanol
    olex_model, olex, olx, core = (
        sys.modules[n] for n in ("crystalx_plugin.olex_model", "olex", "olx", "olex_core")
    )
    peak = sys.modules["_olex2"].Atom
    state.atoms = [
        peak("Q1", "Q", (0.10, 0.10, 0.10), peak=6.0),
        peak("Q2", "Q", (0.252, 0.10, 0.10), peak=5.5),
        peak("Q3", "Q", (0.252, 0.243, 0.10), peak=7.0),
        peak("Q4", "Q", (0.104, 0.10, 0.10), peak=2.0),
    ]
    before = state.model_state()
    model = model_of(state)
    answer = assign_answer(model.snapshot)
    assert answer["commands"][0] == "kill Q4"
    assert any("(Q4 on Q1)" in n and "deleted by its commands" in n for n in answer["job_notes"])
    session = plugin._session()
    journal = olex_model.apply_commands(olex, olx, core, answer["commands"], model, session.say)
    assert [a.label for a in state.live() if a.type == "Q"] == []
    assert state.atoms[3].deleted and "kill #c3" in state.log
    session.journals.append(journal)
    assert session.revert() is True and session.messages[-1] == "reverted exactly"
    assert state.model_state() == before


def test_the_cores_labels_follow_olex2s_max_label_length(ethanol):
    """With Olex2's option max_label_length at 6 the label corrector keeps the user's C12AB
    (xlib/xapp.cpp TXApp::GetMaxLabelLength; GetRefinementModel's LabelCorrector trims only
    past it), yet main's core took SHELX's 4 whatever the option and renamed it ("C12AB -> C3
    (over 4 characters)"), a `name` Apply ran. The plugin sends the option it reads (olx.app.
    OptValue) with the request, and the core labels to it: C12AB stays, no `name` renames it."""
    state, plugin = ethanol
    state.options["max_label_length"] = "6"
    state.atoms = [a for a in state.atoms if a.type != "Q"]
    state.atoms[1].label = "C12AB"

    session = plugin._session()
    session.core = InProcess()
    model = session.model()
    assert [s["label"] for s in model.snapshot["sites"]] == ["C1", "C12AB", "O1"]
    result = session.ask(model, [])
    assert [s["new_label"] for s in result["sites"]] == ["C1", "C12AB", "O1"]
    assert not [command for command in result["commands"] if command.startswith("name")]
    assert not any("renamed" in note for note in result["job_notes"]), result["job_notes"]


def test_a_reassign_round_whose_only_change_is_a_kill_applies_it(ethanol):
    """A typed ethanol (a CIF whose formula, C2 O, gives it no H) with a Q-peak 0.04 Å from C1:
    the core's answer is only `kill Q1` (the repeat of C1's density). Session.is_stable
    counted only `name` and `hadd` as changes, so Re-assign called that answer stable and
    left the peak in the model; a kill is a change, applied as Apply would."""
    state, plugin = ethanol
    atoms = [a for a in ETHANOL if a[1] != "Q"] + [
        ("Q1", "Q", (0.104, 0.10, 0.10), 0.05, 1.0, 0, 1.2)
    ]
    state.load(CELL, P1, [("C", 2), ("O", 1)], 1, atoms, file="/data/ethanol.cif")
    state.cif_items["_chemical_formula_sum"] = "C2 O"
    session = plugin._session()
    session.core = InProcess()
    plugin.batch("1")
    state.pump(lambda: plugin.job is None and not state.scheduled)
    assert "kill #c3" in state.log, session.messages
    assert [a.label for a in state.live()] == ["C1", "C2", "O1"]
    assert not any(m.startswith("stable") for m in session.messages)
