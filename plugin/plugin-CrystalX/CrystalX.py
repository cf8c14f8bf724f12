"""CrystalX for Olex2: machine-learned element and hydrogen assignment, as spy.crystalx.*.

Olex2 imports this file from util/pyUtil/PluginLib/plugin-CrystalX/ when "CrystalX" is listed
in plugins.xld. It only translates: the open model goes to the CrystalX core (a separate
Python with the models) and the core's Olex2 commands come back. Standard library only,
Python 3.8 or later.
"""
import os
import subprocess
import sys
import threading

import olex
import olex_core
import olx
from olexFunctions import OlexFunctions
from PluginTools import PluginTools

P_PATH = os.path.dirname(os.path.abspath(__file__))
if P_PATH not in sys.path:
    sys.path.append(P_PATH)

from core_client import CoreError, CoreProcess  # noqa: E402
from olex_model import ApplyError  # noqa: E402
from session import Session  # noqa: E402

OV = OlexFunctions()
SCOPE = "crystalx"
TABLE = "crystalx-table.htm"


class CrystalX(PluginTools):
    def __init__(self):
        super(CrystalX, self).__init__()
        self.p_name, self.p_path, self.p_scope, self.p_htm = "CrystalX", P_PATH, SCOPE, "CrystalX"
        self.p_img = [("CrystalX", "h1")]
        self.deal_with_phil(operation="read")
        self.print_version_date()
        self.setup_gui()
        self.core = None
        self.session = None
        self.job = None  # (mode, rounds left) while the core works
        self.worker_result = None
        self.panel_process = None
        for function in (self.assign, self.preview, self.apply, self.revert, self.batch, self.panel, self.finish,
                         self.status):
            OV.registerFunction(function, False, "crystalx")

    def setting(self, name):
        return OV.GetParam("%s.%s" % (SCOPE, name))

    def _session(self):
        if self.session is None:
            self.core = CoreProcess(self.setting("core_interpreter"))
            self.session = Session(olex, olx, olex_core, self.core, self.setting, OV.DataDir())
        return self.session

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
        """Re-assign the open structure: assign, apply, refine, until nothing changes or N rounds."""
        self._start("batch", int(rounds or self.setting("batch_rounds")))

    def panel(self):
        """The Qt probability panel, in its own process (Olex2 runs no Qt inside)."""
        if self.panel_process is not None and self.panel_process.poll() is None:
            return
        watched = os.path.join(OV.DataDir(), "crystalx_last.json")
        try:
            self.panel_process = subprocess.Popen([self.setting("core_interpreter"), "-m", "crystalx_core.panel",
                                                   watched])
        except (OSError, TypeError) as error:
            self._session().say("cannot open the panel with %r: %s" % (self.setting("core_interpreter"), error))

    def status(self):
        return "busy" if self.job else "idle"

    # --- the work off the GUI thread --------------------------------------------------------------
    def _start(self, mode, rounds):
        session = self._session()
        if self.job is not None:
            session.say("still working on the previous request")
            return
        try:
            snapshot = session.snapshot()
        except (RuntimeError, ValueError) as error:
            session.say("cannot read the model: %s" % error)
            return
        self.job = (mode, rounds, snapshot)
        session.say("asking the core about %d sites" % len(snapshot["sites"]))

        def work():
            try:
                self.worker_result = session.ask(snapshot)
            except CoreError as error:
                self.worker_result = error
            olx.Schedule(1, "spy.crystalx.finish()")

        thread = threading.Thread(target=work)
        thread.daemon = True
        thread.start()
        self.worker = thread

    def finish(self):
        """Back on the GUI thread with the core's answer."""
        if self.job is None:
            return
        mode, rounds, snapshot = self.job
        self.job, answer, self.worker_result = None, self.worker_result, None
        session = self._session()
        if isinstance(answer, Exception):
            session.say(str(answer))
            return
        OV.write_to_olex(TABLE, session.show(snapshot, answer))
        if mode == "batch" and session.is_stable(answer):
            session.say("stable: nothing left to change")
        elif mode in ("assign", "batch"):
            try:
                session.apply()
            except ApplyError as error:
                session.say(str(error))
                rounds = 0
            if mode == "batch" and rounds > 1:
                if not session.settings("auto_refine"):
                    olex.m("refine %d" % int(self.setting("refine_cycles")))
                session.say("round done; %d left" % (rounds - 1))
                self._start("batch", rounds - 1)
        self._refresh()

    def _refresh(self):
        olx.html.Update()


CrystalX_instance = CrystalX()
