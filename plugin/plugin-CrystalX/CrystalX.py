"""CrystalX for Olex2: machine-learned element and hydrogen assignment, as spy.crystalx.*.

Olex2 imports this file from util/pyUtil/PluginLib/plugin-CrystalX/ when "CrystalX" is listed
in plugins.xld. It only translates: the open model goes to the CrystalX core (a separate
Python with the models) and the core's Olex2 commands come back. Standard library only,
Python 3.8 or later.

Threads follow Olex2's rule (mainform.cpp; NoSpherA2 does the same): Olex2's main thread
keeps the GIL and lends it to other threads only while olex_core's running-thread count is
raised. So the count is raised on the main thread before a thread starts and lowered by the
thread in `finally`; a thread never prints or calls olx except `olx.Schedule`, which hands
its result back to the main thread. Schedule counts whole seconds (mainform.cpp), so the
callback is scheduled with interval 0: it runs within the next second, not 1-2 s later.

Without the GUI (olex2c, which imports plugins when LOAD_HEADLESS_PLUGINS is set:
initpy_funcs.py set_plugins_paths) no thread ever gets the GIL: olex2c's timer runs
scheduled tasks but never lends it (olex2c/olex2c.cpp TOlex2c::Dispatch), so there the core
is asked on the calling thread and the command returns with the answer applied, as a
script wants; the panel, labels, Freeze and undo are GUI-only (olex_model.has_gui).
"""

import functools
import inspect
import os
import subprocess
import sys
import threading
import traceback

import olex
import olex_core
import olx
from olexFunctions import OlexFunctions
from PluginTools import PluginTools

P_PATH = os.path.dirname(os.path.abspath(__file__))
if P_PATH not in sys.path:
    sys.path.append(P_PATH)

# An Olex2 whose Python is older (older releases ran Python 2: olex2-gui's own PluginTools.py was
# Python 2 code, `print "..."`, before its Python 3 form) would fail on the first line of the
# helpers it cannot compile, and print only "Failed to load plugin 'CrystalX': invalid
# syntax" (olex2-gui util/pyUtil/initpy_funcs.py set_plugins_paths prints the exception of a
# plugin's import in one line). So this file compiles under Python 2 and says what is wrong
# before the helpers are imported; plugins written for both (pcxod/FragmentDB fragmentdb.py:
# `from __future__ import print_function`) and Olex2's own skeleton check nothing.
OLD_PYTHON = (
    "CrystalX needs an Olex2 whose Python is 3.8 or later (Olex2 1.5 and newer); this Olex2 "
    "runs Python %d.%d"
)
if sys.version_info < (3, 8):
    raise ImportError(OLD_PYTHON % tuple(sys.version_info[:2]))

from crystalx_plugin.core_client import CoreError, CoreProcess, child_environment, no_console  # noqa: E402
from crystalx_plugin.olex_model import ApplyError, has_gui  # noqa: E402
from crystalx_plugin.session import Session, write_whole  # noqa: E402

OV = OlexFunctions()
SCOPE = "crystalx"
TABLE = "crystalx-table.htm"
EMPTY_TABLE = (
    "<font size='-1'>Auto-assign to see each atom's element and H probabilities here.</font>"
)


def in_background(target, *args):
    """Run target(*args) on a thread that Olex2 lets run: the count is raised here, on the
    main thread, and lowered by the thread when it ends."""
    olex_core.IncRunningThreadsCount()

    def run():
        try:
            target(*args)
        finally:
            olex_core.DecRunningThreadsCount()

    thread = threading.Thread(target=run)
    thread.daemon = True
    try:
        thread.start()
    except RuntimeError:
        olex_core.DecRunningThreadsCount()
        raise
    return thread


# crystalx.phil's settings that are the user's (the core's interpreter and folder: the installer's)
USER_SETTINGS = (
    "method",
    "hydrogens",
    "probability_threshold",
    "auto_refine",
    "refine_cycles",
    "use_reflections",
    "label_overlay",
    "batch_rounds",
)


def phil_value(value):
    """A setting as phil writes it: True/False, numbers bare, text quoted."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return str(value)
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def phil_defaults(path):
    """{name: value} of the `name = value` lines directly in the scope of the plugin's own
    .phil (not in its gui scope), read back as phil types them: quoted text, True/False,
    numbers."""
    defaults, depth = {}, 0
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            line = line.split("#")[0].strip()
            if line.endswith("{"):
                depth += 1
            elif line == "}":
                depth -= 1
            elif depth == 1 and "=" in line and not line.startswith("."):
                name, text = (part.strip() for part in line.split("=", 1))
                defaults[name] = _phil_literal(text)
    return defaults


def _phil_literal(text):
    if text[:1] in ("'", '"'):
        return text[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def differs(value, default):
    """Whether a setting is not its default (True is not 1, 0.5 is 0.50)."""
    return isinstance(value, bool) != isinstance(default, bool) or value != default


LOG_LIMIT = 1 << 20  # bytes: a longer crystalx_plugin.log is started afresh when Olex2 starts


def cap_log(path, limit=LOG_LIMIT):
    """Empty the plugin's own error log when earlier sessions left it over `limit` bytes, so
    that it cannot grow without end in Olex2's data folder."""
    try:
        if os.path.getsize(path) > limit:
            open(path, "w").close()
    except OSError:
        pass  # no log yet, or a folder that refuses it: spy_function says so when it writes


def spy_function(function, log_dir):
    """`function` as a spy.crystalx command: Olex2 passes every argument as a string and
    -key=value as a keyword (repository/pyext.cpp TFuncWrapper::Call), and prints the full
    traceback of anything a function raises (PyErr_Print). Here arguments the command does
    not take, and any error, are one line on the console; the traceback goes to
    crystalx_plugin.log in Olex2's data folder."""
    signature = inspect.signature(function)
    name = "spy.crystalx.%s" % function.__name__

    def call(*args, **kwargs):
        try:
            signature.bind(*args, **kwargs)
        except TypeError:
            given = ", ".join([repr(a) for a in args] + ["-%s=%s" % kv for kv in kwargs.items()])
            takes = ", ".join(signature.parameters) or "no arguments"
            print("CrystalX: %s takes %s, not %s" % (name, takes, given))
            return None
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001  (Olex2 would print a traceback)
            path = os.path.join(log_dir, "crystalx_plugin.log")
            try:
                with open(path, "a", encoding="utf-8") as log:
                    log.write(traceback.format_exc())
            except OSError:
                path = "no log: %s is not writable" % log_dir
            print("CrystalX: %s failed: %s (details in %s)" % (name, error, path))
            return None

    return functools.update_wrapper(call, function)


class CrystalX(PluginTools):
    def __init__(self):
        super(CrystalX, self).__init__()
        self.p_name, self.p_path, self.p_scope, self.p_htm = "CrystalX", P_PATH, SCOPE, "CrystalX"
        self.p_img = [("CrystalX", "h1")]
        self.deal_with_phil(operation="read")
        self.print_version_date()
        self.table = EMPTY_TABLE
        self.load_ressources()  # the panel includes the table from the first render
        self.setup_gui()
        self.core = None
        self.session = None
        self.job = None  # (mode, rounds left, model) while the core works
        self.worker = None
        self.worker_result = None
        self.worker_notes = []
        self.panel_link = None
        self.gui = has_gui(olx)
        cap_log(os.path.join(OV.DataDir(), "crystalx_plugin.log"))
        for function in (
            self.assign,
            self.preview,
            self.apply,
            self.revert,
            self.batch,
            self.panel,
            self.finish,
            self.status,
            self.panel_event,
            self.panel_select,
            self.save_settings,
        ):
            OV.registerFunction(spy_function(function, OV.DataDir()), False, "crystalx")
        if self.setting("core_interpreter") and self.gui:  # olex2c: started on first use
            self.worker = in_background(self._warm_up, self._session())

    def load_ressources(self):
        """The table in Olex2's virtual files. PluginTools is a VFSDependent (olex2-gui
        PluginLib/PluginTools.py): Olex2 calls load_ressources on each when its virtual files
        are filled again, as gui/help's GetHelp does to put its files back; without it the
        panel's #include would name a file that is gone."""
        OV.write_to_olex(TABLE, self.table)

    def setting(self, name):
        return OV.GetParam("%s.%s" % (SCOPE, name))

    def _session(self):
        if self.session is None:
            self.core = CoreProcess(
                self.setting("core_interpreter"),
                self.setting("core_directory") or OV.DataDir(),
                OV.BaseDir(),
            )
            self.session = Session(olex, olx, olex_core, self.core, self.setting, OV.DataDir(), OV)
        return self.session

    def _warm_up(self, session):
        try:
            session.warm_up()
        except CoreError as error:
            self.worker_notes.append("the core could not start: %s" % error)
            olx.Schedule(0, "spy.crystalx.finish()")

    # --- commands -------------------------------------------------------------------------------
    def assign(self):
        """Auto-assign: preview, then apply when the answer arrives."""
        self._start("assign", 1)

    def preview(self):
        self._start("preview", 1)

    def apply(self):
        try:
            self._session().apply()
        except (ApplyError, CoreError) as error:
            self._session().say(str(error))
        self._refresh()

    def revert(self):
        self._session().revert()
        self._refresh()

    def batch(self, rounds=""):
        """Re-assign the open structure: assign, apply, refine, until nothing changes or N
        rounds (Olex2 passes the argument as text)."""
        try:
            rounds = int(rounds or self.setting("batch_rounds"))
        except ValueError:
            self._session().say("rounds must be a whole number, not %r" % rounds)
            return
        self._start("batch", rounds)

    def status(self):
        return "busy" if self.job else "idle"

    def save_settings(self):
        """Keep the settings edited with Settings (spy.EditParams changes them for this session
        only) in Olex2's data folder, in <DataDir>/crystalx.phil, which PluginTools reads over
        the plugin's own at every start (olex2-gui PluginTools.deal_with_phil), so they also
        survive a reinstall or an upgrade. Only the settings that differ from the plugin's own
        .phil are written, as Olex2's Save*Params do (diff_only=True): a saved default would
        hide a later version's new default for good. The core's interpreter and folder are
        left to the installer: a saved copy would hide the next installation's."""
        path = os.path.join(OV.DataDir(), SCOPE + ".phil")
        lines = ["%s {" % SCOPE]
        try:
            defaults = phil_defaults(os.path.join(P_PATH, SCOPE + ".phil"))
            for name in USER_SETTINGS:
                value = self.setting(name)
                if name not in defaults or differs(value, defaults[name]):
                    lines.append("  %s = %s" % (name, phil_value(value)))
            write_whole(path, "\n".join(lines + ["}", ""]))
        except OSError as error:
            self._session().say(
                "could not save the settings in %s: %s: %s"
                % (path, error.filename or path, error.strerror)
            )
            return
        self._session().say("settings saved in %s" % path)

    # --- the work off the GUI thread --------------------------------------------------------------
    def _start(self, mode, rounds):
        session = self._session()
        if self.job is not None:
            session.say("still working on the previous request")
            return
        try:
            model = session.model()
        except ApplyError as error:
            session.say(str(error))
            return
        session.clear_labels()
        if model.data_note:
            session.say(model.data_note)
        self.job = (mode, rounds, model)
        session.say(
            "asking the core about %d sites%s"
            % (
                len(model.snapshot["sites"]),
                " with %s (refining: this takes longer)"
                % os.path.basename(model.reflections["path"])
                if session.weighs(model)
                else "",
            )
        )
        if self.gui:
            self.worker = in_background(self._work, session, model)
        else:
            self._ask(session, model)
            self.finish()

    def _work(self, session, model):
        try:
            self._ask(session, model)
        finally:
            olx.Schedule(0, "spy.crystalx.finish()")

    def _ask(self, session, model):
        try:
            self.worker_result = session.ask(model, self.worker_notes)
        except CoreError as error:
            self.worker_result = error

    def finish(self):
        """Back on the GUI thread with the core's answer."""
        session = self._session()
        notes, self.worker_notes = self.worker_notes, []
        for note in notes:
            session.say(note)
        if self.job is None or self.worker_result is None:
            return  # only notes (the warm-up's), or the job's answer is still coming
        mode, rounds, model = self.job
        self.job, answer, self.worker_result = None, self.worker_result, None
        if isinstance(answer, Exception):
            session.say(str(answer))
            return
        if not session.unchanged_since(model):  # the user worked on while the core did
            return
        self.table = session.show(model, answer)
        self.load_ressources()
        if mode == "batch" and session.is_stable(answer):
            session.say("stable: nothing left to change")
        elif mode in ("assign", "batch"):
            try:
                journal = session.apply()
            except ApplyError as error:
                session.say(str(error))
                rounds, journal = 0, None
            if mode == "batch" and rounds > 1:
                if journal is not None and not self.setting("auto_refine"):
                    session.refine(journal)  # Apply refined (or tried to) when auto_refine
                session.say("round done; %d left" % (rounds - 1))
                self._start("batch", rounds - 1)
        self._refresh()

    def _refresh(self):
        if self.gui:
            olx.html.Update()

    # --- the probability panel: its own process, a line protocol on its stdin/stdout ---------
    def panel(self):
        """Open the Qt probability panel (Olex2 runs no Qt inside), linked both ways: a row
        clicked there selects the atom here, spy.crystalx.panel_select() the other way."""
        session = self._session()
        if not self.gui:
            session.say("the probability panel needs Olex2's GUI; olex2c has none")
            return
        if self.panel_link is not None and self.panel_link.alive():
            return
        try:
            self.panel_link = PanelLink(
                self.setting("core_interpreter"),
                self.core.directory,
                OV.BaseDir(),
                session.answer_path,
                OV.DataDir(),
            )
        except (OSError, TypeError, ValueError) as error:
            session.say(
                "cannot open the panel with %r: %s" % (self.setting("core_interpreter"), error)
            )

    def panel_event(self):
        """On the main thread: act on what the panel sent (select and centre an atom) and
        report a panel that stopped."""
        link = self.panel_link
        if link is None:
            return
        for kind, value in link.take():
            if kind == "select":
                atom = self._session().address(value)  # the panel names atoms as the answer did
                # sel skips a name it cannot find and still succeeds (gxmacro.cpp macSel,
                # TGXApp::SelectAtoms), so what it selected is read back with Sel()
                olex.m("sel -u")
                if olex.m("sel %s" % atom) and str(olx.Sel()).split():
                    olex.m("center %s" % atom)
                else:
                    self._session().say("Olex2 could not select %s" % value)
            elif kind == "stopped":
                self._session().say(value)

    def panel_select(self):
        """Show Olex2's current selection in the panel, each atom by the label the panel's
        answer gave the atom at its site (an Apply or a refinement since renamed or renumbered
        it). Olex2 writes a symmetry image of an atom with its EQIV, C1_$1 or C1_2$1
        (xlib/atomref.cpp ExplicitCAtomRef::GetExpression): the panel shows the atom."""
        if self.panel_link is not None and self.panel_link.alive():
            labels = [word.split("$")[0].rstrip("_") for word in str(olx.Sel()).split()]
            for label in self._session().answer_labels(labels):
                self.panel_link.send("select %s" % label)


class PanelLink(object):
    """The panel process and the thread that reads its lines for as long as it runs (the
    running-thread count stays raised for that time, so the thread can act on a click)."""

    def __init__(self, interpreter, directory, base_dir, watched, log_dir):
        if not interpreter:
            raise ValueError("no core interpreter is set")
        self.log_path = os.path.join(log_dir, "crystalx_panel.log")
        self.events = []
        self.ready = False  # the panel said it is shown
        self.lock = threading.Lock()
        options = no_console()  # a dict, so that this file compiles under Python 2 (OLD_PYTHON)
        options.update(stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=directory)
        options.update(env=child_environment(os.environ, base_dir))
        with open(self.log_path, "wb") as log:
            command = [window_python(interpreter), "-m", "crystalx_core.panel", watched, "--link"]
            self.process = subprocess.Popen(command, stderr=log, **options)
        self.reader = in_background(self._read)

    def alive(self):
        return self.process.poll() is None

    def send(self, line):
        try:
            self.process.stdin.write((line + "\n").encode("utf-8"))
            self.process.stdin.flush()
        except (OSError, ValueError):
            pass  # the panel has gone; the reader reports it

    def take(self):
        with self.lock:
            events, self.events = self.events, []
        return events

    def _read(self):
        for raw in iter(self.process.stdout.readline, b""):
            words = raw.decode("utf-8", "replace").split()
            if words[:1] == ["ready"]:
                self.ready = True
            elif words[:1] == ["select"] and len(words) == 2:
                self._post(("select", words[1]))
        code = self.process.wait()
        if code != 0 or not self.ready:
            self._post(
                (
                    "stopped",
                    "the probability panel stopped (exit %s): %s"
                    % (code, last_line(self.log_path)),
                )
            )

    def _post(self, event):
        with self.lock:
            self.events.append(event)
        olx.Schedule(0, "spy.crystalx.panel_event()")


def window_python(interpreter):
    """pythonw.exe beside python.exe on Windows: a GUI child without a console window."""
    folder, name = os.path.split(interpreter)
    windowed = os.path.join(folder, name.lower().replace("python.exe", "pythonw.exe"))
    return windowed if sys.platform.startswith("win") and os.path.isfile(windowed) else interpreter


def last_line(path):
    try:
        with open(path, "rb") as stream:
            lines = [
                line.strip()
                for line in stream.read().decode("utf-8", "replace").splitlines()
                if line.strip()
            ]
    except OSError:
        lines = []
    return lines[-1] if lines else "no message"


CrystalX_instance = CrystalX()
