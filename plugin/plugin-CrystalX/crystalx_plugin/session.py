"""What the buttons do, without the GUI plumbing: ask the core about the open structure (with
its reflection file when Olex2 has one), show the answer, apply it (journalled), revert it,
and the re-assign loop. Python 3.8, stdlib only."""

import glob
import json
import os
import tempfile
import time

from .olex_model import (
    ApplyError,
    apply_commands,
    changed_since,
    differences,
    has_gui,
    nearest_atom,
    read_model,
    renumbered_since,
    same_site,
)
from .panel_html import assignment_table, changed_from, element_probability, probability_text

WARM_UP = {  # a tiny structure whose assignment loads the core's models
    "cell": [8.0, 8.0, 8.0, 90.0, 90.0, 90.0],
    "symops": ["x,y,z"],
    "sfac": ["C", "O"],
    "unit": [1, 1],
    "sites": [
        {"label": "Q1", "element": None, "frac": [0.1, 0.1, 0.1], "peak_height": 6.0},
        {"label": "Q2", "element": None, "frac": [0.1, 0.1, 0.279], "peak_height": 5.0},
    ],
    "title": "warm-up",
    "source": "warm-up",
}


class Session(object):
    def __init__(self, olex, olx, olex_core, core, settings, out_dir, ov=None):
        self.olex, self.olx, self.olex_core = olex, olx, olex_core
        self.ov = ov  # olexFunctions.OlexFunctions: the structure's own refinement settings
        self.core = core  # CoreProcess
        self.settings = settings  # callable: name → value (phil)
        self.out_dir = out_dir
        self.answer_path = answer_path(out_dir)
        self.answer = None  # (Model, result) of the last preview
        self.shown = None  # the Model the last answer (and the panel) describes
        self.journals = []  # one per apply, last first to revert
        self.to_check = []  # (aunit id, probabilities) of the atoms the last answer flags
        self.labelled = []  # (aunit id, its site then, whether our text shows) per label made
        self.labelled_node = None  # Olex2's History node when they were made (history_node)
        self.messages = []

    def say(self, text):
        """Tell the user (main thread only: Olex2's console is not for other threads)."""
        self.messages.append(text)
        print("CrystalX: " + text)

    # --- steps ----------------------------------------------------------------------------------
    def model(self):
        """The open structure, or one line saying why it cannot be read."""
        try:
            return read_model(self.olx, self.olex_core)
        except (RuntimeError, ValueError) as error:
            raise ApplyError("cannot read the model: %s" % error) from None

    def ask(self, model, notes):
        """The core's answer for a model; runs off the GUI thread, so no olx call and no print:
        anything to say goes into `notes`."""
        restarts = self.core.restarts
        params = {
            "structure": model.snapshot,
            "options": {
                "method": self.settings("method"),
                "hydrogens": self.settings("hydrogens"),
                "top_k": 3,
                # the labels Olex2 keeps, read with the model on the GUI thread
                "max_label_length": model.longest,
            },
        }
        if self.weighs(model):  # the data weigh the answer (assign --hkl's stage)
            params["reflections"] = model.reflections
        result = self.core.request("assign", params)
        if self.core.restarts > restarts:
            notes.append("the core had stopped and was restarted")
        return result

    def weighs(self, model):
        """The request for `model` carries its reflections: Olex2 has them and the setting
        allows it."""
        return model.reflections is not None and bool(self.settings("use_reflections"))

    def warm_up(self):
        """Start the core and load its models (off the GUI thread)."""
        self.core.request("assign", {"structure": WARM_UP, "options": {"top_k": 1}})

    def show(self, model, result):
        """The atoms to check (below the threshold, or changed by the data) labelled in the
        view with their probabilities and listed in the console with the data's decision, the
        HTML table, and the file the Qt panel watches."""
        self.answer = (model, result)
        self.shown = model
        threshold = float(self.settings("probability_threshold"))
        flagged = [
            s
            for s in result["sites"]
            if s["probabilities"] and (element_probability(s) < threshold or changed_from(s))
        ]
        if flagged:
            self.say(
                "below %.2f confidence or changed by the data: %s"
                % (
                    threshold,
                    "; ".join("%s %s" % (s["label"], probability_text(s)) for s in flagged),
                )
            )
        ids = [(model.id_of(s["label"]), s) for s in flagged]
        self.to_check = [(i, probability_text(s)) for i, s in ids if i is not None]
        self.mark()
        data = result.get("reflections")
        if data:
            self.say(
                "weighed by the data in %s (R1 %.4f, wR2 %.4f): %d element%s changed"
                % (
                    os.path.basename(data["path"]),
                    data["r1"],
                    data["wr2"],
                    data["changed"],
                    "" if data["changed"] == 1 else "s",
                )
            )
        for note in result.get(
            "job_notes", []
        ):  # e.g. a placeholder UNIT replaced, each change the data made, data left out
            self.say(note)
        evidence = dict(
            (s["label"], {"peak_height": s["peak_height"]})
            for s in model.snapshot["sites"]
            if s.get("peak_height") is not None
        )
        self.save_answer(
            {
                "structure": model.snapshot.get("source"),
                "result": result,
                "evidence": evidence,
                "threshold": threshold,
            }
        )
        return assignment_table(result, threshold)

    def mark(self):
        """Label the atoms to check by their aunit ids (which survive renames) with their label
        as it is now and their probabilities, "C2 C 0.62": Olex2's Label takes `atom=text`
        (gxlib/gxmacro.cpp GXLibMacros::macLabel; olex2-gui's label_rsa uses it). One call per
        atom, as one atom it cannot label (hidden, or shown twice in a grown structure) fails
        the whole call; where it fails, or this Olex2 predates the form, the atom shows its
        own label and the console line carries the numbers. A label is a text fixed when made,
        so after Apply the atoms are labelled again."""
        self.clear_labels()
        if not self.to_check or not self.settings("label_overlay") or not has_gui(self.olx):
            return  # olex2c has no view to label (no Label macro: olex_model.has_gui)
        selected = self.selection()
        self.labelled_node = self.history_node()
        failed = []
        for index, numbers in self.to_check:
            mark, au = "#c%d" % index, self.olx.xf.au
            text = "%s %s" % (au.GetAtomName(index), numbers)
            site = str(au.GetAtomCrd(index))
            if self.olx.Label("%s=%s" % (mark, text)) is not False:
                self.labelled.append((index, site, True))
            elif self.olx.Label(mark) is not False:
                self.labelled.append((index, site, False))
            else:
                failed.append(mark)
        self.select(selected)
        if failed:
            self.say("Olex2 could not label the atoms to check")

    def clear_labels(self):
        """Take the last answer's labels out of the view (before a new one, and on Revert), and
        only those: `kill labels` hides every label, the user's own (atom and bond labels,
        free text) too (gxlib/gxmacro.cpp GXLibMacros::macKill), and the view has no undo.
        `Label #c<id>=` with no text leaves that atom's label showing nothing (macLabel). An
        atom that is no longer the one labelled (deleted, or its id another atom's, more than
        0.5 Å from the labelled site, after a reload renumbered them: the reload took the label
        with it) is left alone; a rename since (Apply) keeps the atom. Only where
        the atom shows its own label (an Olex2 without `atom=text`, whose Label cannot take it
        back) is it `kill labels`. After a refinement (a new History node) the reload took
        every label with the old model, so none is touched: an id's new atom near the old
        site (a disorder partner) may carry the user's own. olex2c has no view and labels none."""
        labelled, self.labelled = self.labelled, []
        if not labelled or not has_gui(self.olx) or self.history_node() != self.labelled_node:
            return
        if not all(with_text for _, _, with_text in labelled):
            self.olex.m("kill labels")
            return
        au = self.olx.xf.au
        count = int(au.GetAtomCount())
        cell = [float(v) for v in str(au.GetCell()).replace(",", " ").split()]
        selected = self.selection()
        for index, site, _ in labelled:
            if index < count and au.IsAtomDeleted(index) != "true":
                if same_site(cell, str(au.GetAtomCrd(index)), site):
                    self.olx.Label("#c%d=" % index)  # a hidden atom refuses: nothing shows
        self.select(selected)

    def selection(self):
        """The atoms the user has selected, as Olex2 names them (olx.Sel: mainform.cpp funSel,
        each by xlib/atomref.cpp ExplicitCAtomRef::GetExpression: C1, C1_2, a symmetry copy
        C1_$1); every Label call clears the selection (macLabel ends SelectAll(false))."""
        return str(self.olx.Sel()).split()

    def select(self, atoms):
        """Select `atoms` again: `sel -a` with atoms named selects each of them (gxlib/gxmacro.cpp
        GXLibMacros::macSel, FindXAtoms then Select(atom, true)); without any it would select
        every atom, so an empty selection stays empty. A bond or plane selected (Sel gives its
        atoms) comes back as its atoms. A symmetry copy (C1_$1, C1_2$1) is left out: no name
        selects one copy alone, as `sel` reads C1_$1 as C1 (xlib/label_utils.cpp AtomLabelInfo
        keeps `$1` in equiv_id, which gxlib/gxapp.cpp TGXApp::GetXAtoms never checks) and would
        add C1 and all its copies, and C1_2$1 names none. An atom named brings its shown copies
        with it, as any `sel` of it does in a grown structure."""
        atoms = [atom for atom in atoms if "$" not in atom]
        if atoms:
            self.olex.m("sel -a %s" % " ".join(atoms))

    def save_answer(self, answer):
        """This window's answer (answer_path, what its Qt panel reads), whole or not at all: on
        a full disk or a folder that refuses it the previous file stays, no temporary is left
        and the user is told in one line; the answer is still shown and can be applied."""
        path = self.answer_path
        try:
            write_whole(path, json.dumps(answer))
        except OSError as error:
            self.say(
                "could not write %s (%s); the probability panel keeps the previous answer"
                % (path, error.strerror or error)
            )

    def apply(self):
        """Apply the previewed answer if the model has not changed since; returns the journal."""
        if self.answer is None:
            raise ApplyError("nothing to apply: press Preview or Auto-assign first")
        before, result = self.answer
        now = self.model()
        changed = changed_since(before, now)
        if changed:
            self.answer = None
            raise ApplyError("the model changed since the preview (%s); preview again" % changed)
        journal = apply_commands(
            self.olex, self.olx, self.olex_core, result["commands"], now, self.say
        )
        journal.history = self.history_node()
        self.journals.append(journal)
        self.answer = None
        self.mark()
        self.say(
            "applied %d commands (%d renames or deletions, %d H added)"
            % (len(result["commands"]), journal.undoable, len(journal.added))
        )
        for group in result.get("parts", []):  # a group disordered about a special position
            self.say(
                "%s in PART %d%s, as SHELXL reads one orientation about a special position"
                % (
                    " ".join(group["labels"]),
                    group["part"],
                    ", its occupancy on a free variable of its own"
                    if group["free_variable"]
                    else "",
                )
            )
        if self.settings("auto_refine"):
            self.refine(journal)
        return journal

    def unchanged_since(self, model):
        """The open model is still `model`, the one a request described; otherwise say in one
        line what changed and that the answer is left alone. While the core works Olex2 is
        the user's (the work runs on a thread): an edit, Olex2's own Refine (a reload that
        renumbers the atoms and puts new Q-peaks where the old ids were) or another file
        makes the answer's ids and labels name other atoms than the ones it is about."""
        try:
            changed = changed_since(model, self.model())
        except ApplyError as error:
            changed = str(error)
        if changed:
            self.say(
                "the model changed while the core worked (%s); the answer is not shown or "
                "applied: ask again" % changed
            )
        return not changed

    def refine(self, journal=None):
        """Refine `refine_cycles` cycles. Olex2's refine macro hands its first argument to
        spy.SetMaxCycles (olex2-gui macro.xld `refine`), which keeps it as the structure's
        own cycle count (olexFunctions.py SetMaxCycles: snum.refinement.max_cycles, and the
        L.S. instruction through programSettings.onMaxCyclesChange), so the structure's own
        count is put back afterwards: Olex2's Refine button refines as many as before.
        Whether it refined is read from the model, not from the macro's answer: olex.m gives
        the macro's success (repository/pyext.cpp runOlexMacro), but the GUI's refine has an
        `onabort`, which clears the failure of a command that stopped it (sdl/macrolib.cpp
        TEMacroLib::ProcessMacro: ClearErrorFlag), and RunRefinementPrg prints its own errors
        and returns (PyToolLib/RunPrg.py: no reflection file, no program), so a refine that
        never ran answers True there; olex2c's (macrox.xld) False, or True where its copy has
        an onabort. A refinement moves the atoms and reloads the file, and Olex2 records it in
        its History (history_node); a model Olex2 holds unchanged to the last digit and no new
        History node mean it was not refined, so the journal stays revertible. A converged
        refinement changes no digit: the History node tells it."""
        cycles = int(self.settings("refine_cycles"))
        own = self.ov.GetParam("snum.refinement.max_cycles") if self.ov is not None else None
        try:
            before = read_model(self.olx, self.olex_core)
        except (RuntimeError, ValueError):
            before = None
        node = self.history_node()
        answered = self.olex.m("refine %d" % cycles)
        if own is not None and str(own) != str(self.ov.GetParam("snum.refinement.max_cycles")):
            self.ov.SetMaxCycles(own)
        try:
            refined = before is None or not read_model(self.olx, self.olex_core).same_as(before)
        except (RuntimeError, ValueError):
            refined = True  # no model to read: Olex2 did something to it; Revert checks
        refined = refined or self.history_node() != node
        if not refined:
            self.say(
                "Olex2's refine %s and left the model as it was (its own lines say why); "
                "the model was not refined" % ("failed" if not answered else "stopped early")
            )
            return False
        for entry in [journal] if journal else self.journals[-1:]:
            entry.refined = True
        return True

    def history_node(self):
        """Olex2's History node for the open structure, as (its name, the node itself, whether
        History is skipped): RunRefinementPrg.doHistoryCreation makes a new one for each
        refinement that gave an R1 and sets snum.history.current_node to its name (olex2-gui
        PyToolLib/RunPrg.py, History.py), which no edit touches; a refine that stopped early
        makes none. The name is md5(time.asctime()), so two refinements within one second
        share it; each is a new Node object, History.tree.active_node (HistoryTree.add_node;
        a load unpickles the tree: new objects again), which Node compares by identity (it has
        no __eq__). Under snum.init.skip_routine no node is made ("Skipping History"), but
        runAfterProcess sets it False after the refinement: the flag going tells it. None
        without OV."""
        if self.ov is None:
            return None
        return (
            self.ov.GetParam("snum.history.current_node"),
            active_history_node(),
            str(self.ov.GetParam("snum.init.skip_routine")).lower() == "true",
        )

    def revert(self):
        """Undo the last Apply with Olex2's undo, then compare every atom with before; after
        a refinement (a reload in Olex2) refuse, as Olex2's undo can no longer do it."""
        self.clear_labels()
        if not self.journals:
            self.say("nothing to revert")
            return False
        if not has_gui(self.olx):
            self.say(
                "not reverted: olex2c has no undo (Olex2's GUI registers it); load the file "
                "again to go back"
            )
            return False
        journal = self.journals[-1]
        try:
            now = read_model(self.olx, self.olex_core)  # its own wording: "not reverted: ..."
        except (RuntimeError, ValueError) as error:
            self.say("not reverted: %s" % error)
            return False
        source = journal.before.snapshot["source"]
        if now.snapshot["source"] != source and refined_from_cif(source, now.snapshot["source"]):
            self.say(
                "not reverted: Olex2 refined the CIF's model as %s, which cleared its undo; %s"
                % (os.path.basename(now.snapshot["source"]), way_back(source))
            )
            return False
        if now.snapshot["source"] != source:
            self.say("not reverted: %s is open, not %s" % (now.snapshot["source"], source))
            return False
        if journal.refined:  # SHELXL's .res loaded, or olex2.refine's EndUpdate: undo cleared
            self.say(
                "not reverted: the refinement after Apply cleared Olex2's undo (a SHELXL "
                "refinement also renumbers the atoms); %s" % way_back(source)
            )
            return False
        if journal.history is not None and self.history_node() != journal.history:
            # a refinement or a solution makes a new node, a step in History makes an older
            # one current (History.py revert_history: active_node, then Atreap): each a load
            self.say(
                "not reverted: Olex2's History changed since Apply (a refinement, a solution or "
                "a step back in History), which cleared its undo; %s" % way_back(source)
            )
            return False
        changed = differences(journal.after, now)
        if changed:
            renumbered = renumbered_since(journal.after, now)
            self.say(
                "not reverted: the model changed since Apply (%s); %s"
                % (
                    "; ".join(changed),
                    "the atoms were renumbered, as a reload (a refinement) does, which "
                    "also clears Olex2's undo: %s" % way_back(source)
                    if renumbered
                    else "use Olex2's undo",
                )
            )
            return False
        self.journals.pop()
        problems = journal.revert(self.olex, self.olx, self.olex_core)
        self.say(
            "reverted exactly"
            if not problems
            else "reverted, but not exactly: " + "; ".join(problems)
        )
        if journal.unused_variables:
            self.say(
                "FVAR %s, made for the declared group, is unused now: no Olex2 command "
                "removes a variable; Olex2 drops it when it next writes the model"
                % " ".join(str(m) for m in journal.unused_variables)
            )
        return not problems

    def address(self, label):
        """`#c<id>` of the atom now at the site of the last answer's `label` (a refinement,
        the plugin's or from Olex2's own button, reloads and renumbers the atoms), else its
        id then (ids survive renames), else the label."""
        index = self.shown.id_of(label) if self.shown is not None else None
        if index is not None:
            site = self.shown.snapshot["sites"][self.shown.ids.index(index)]
            try:
                found = nearest_atom(read_model(self.olx, self.olex_core), site["frac"])
            except (RuntimeError, ValueError):
                found = None
            index = index if found is None else found
        return label if index is None else "#c%d" % index

    def answer_labels(self, labels):
        """The label the last answer gave the site of each of Olex2's atoms `labels` now (the
        way back of `address`), else the label itself. The model is read once for them all:
        a selection can hold every atom, and each reading asks Olex2 for every atom."""
        if self.shown is None or not labels:
            return list(labels)
        try:
            now = read_model(self.olx, self.olex_core)
        except (RuntimeError, ValueError):
            return list(labels)
        found = []
        for label in labels:
            index = now.id_of(label)
            site = (
                None
                if index is None
                else nearest_atom(self.shown, now.states[index][3], atoms_first=False)
            )
            found.append(
                label
                if site is None
                else self.shown.snapshot["sites"][self.shown.ids.index(site)]["label"]
            )
        return found

    def is_stable(self, result):
        """Nothing left to change: the answer has no command. Each command changes the model
        and is not asked again once applied (a rename, H to add, a peak to delete, a group to
        declare in a PART), so a round that has one applies it."""
        return not result["commands"]


def active_history_node():
    """History.tree.active_node of olex2-gui's History module (PyToolLib/History.py: the
    module global `tree`, None until a history is made or loaded), or None where this Olex2
    has none."""
    try:
        import History  # Olex2's own module (cctbx_olex_adapter.py: from History import hist)
    except Exception:  # noqa: BLE001  (Olex2's module failing to import must not stop ours)
        return None
    try:
        tree = getattr(History, "tree", None)
        return None if tree is None else tree.active_node
    except (AttributeError, IndexError, TypeError):  # a tree unpickled from an older version
        return None


def way_back(source):
    """How to get the model of `source` back once Olex2's undo is gone: its History, which
    keeps every refinement of a SHELX file; a CIF has none (History.py create_history: "don't
    attempt to make a history if a cif is loaded"), so it is opened again."""
    if str(source).lower().endswith(".cif"):
        return "Olex2 keeps no History for a CIF: open %s again to go back" % os.path.basename(
            str(source)
        )
    return "go back with Olex2's History"


def refined_from_cif(source, now):
    """`now` is the .ins or .res Olex2 made of the CIF `source` to refine its model: a refine
    writes <name>.ins (RunPrg.py RunRefinementPrg.run: OV.File) and loads SHELXL's <name>.res
    (runAfterProcess: reloadStructureAtreap)."""
    stem, extension = os.path.splitext(str(source))
    other, kind = os.path.splitext(str(now))
    return extension.lower() == ".cif" and other == stem and kind.lower() in (".ins", ".res")


# a window's answer left by a closed Olex2 is removed once this old (an open one rewrites its own)
STALE_ANSWER_S = 7 * 24 * 3600


def answer_path(folder):
    """This Olex2 window's crystalx_last_<pid>.json, the file its Qt panel watches. The data
    folder is one per installation and user, not per window (pcxod/olex2 repository/patchapi.h,
    PatchAPI::ComposeInstanceDir: the MD5 of the base dir and tag), so with one fixed name two
    open windows overwrote each other's answer and each panel showed the other's structure.
    Answers that closed windows left there a week ago are removed."""
    for old in glob.glob(os.path.join(folder, "crystalx_last_*.json")):
        try:
            if time.time() - os.path.getmtime(old) > STALE_ANSWER_S:
                os.remove(old)
        except OSError:
            pass  # another window removed it first, or it cannot be: left as it is
    return os.path.join(folder, "crystalx_last_%d.json" % os.getpid())


def write_whole(path, text):
    """`text` into `path` whole or not at all: a hidden temporary beside it, then a rename.
    The temporary's name is its own (tempfile) because two Olex2 windows share one data
    folder: with one fixed name a second window's write truncated the first's temporary
    while it was written, and the file renamed into place could be torn."""
    folder, name = os.path.split(path)
    handle, temporary = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())  # on disk before the name points at it (a power cut)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise
