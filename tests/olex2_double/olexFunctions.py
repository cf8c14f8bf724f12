"""Test double of Olex2's olexFunctions.OlexFunctions (the `OV` object plugins use)."""

import olex
import olx
from _olex2 import STATE


class OlexFunctions(object):
    def registerFunction(self, function, profiling=False, namespace=""):
        olex.registerFunction(function, profiling, namespace)

    def GetParam(self, name, default=None):
        """olex2-gui olexFunctions.py OlexFunctions.GetParam: the phil value; a name phil does
        not declare prints "Variable NAME could not be found" and gives `default` (recorded
        in `errors`: a misspelt setting reads as its default, silently for the user)."""
        if name not in STATE.params:
            STATE.errors.append("Variable %s could not be found" % name)
        return STATE.params.get(name, default)

    def SetParam(self, name, value):
        if name not in STATE.params:  # Olex2 stores undeclared names outside phil, silently
            STATE.params.setdefault("structure_params", {})[name] = value
            return
        STATE.params[name] = value

    def write_to_olex(self, name, text, copyToDisk=False):
        """OlexFunctions.write_to_olex: OlexVFS.write_to_olex keeps text as UTF-8 in Olex2's
        virtual file system (olex.writeImage), where the panel's #include finds it; an error
        is printed, never raised."""
        if not isinstance(text, (str, bytes)):
            STATE.errors.append("An error occurred whilst trying to write to the VFS")
            return
        STATE.vfs[name] = text

    def SetMaxCycles(self, max_cycles):
        """OlexFunctions.SetMaxCycles: the structure's own cycle count
        (SetParam('snum.refinement.max_cycles'); programSettings.onMaxCyclesChange puts it in
        the L.S./CGLS instruction); a failure is printed, never raised."""
        STATE.params["snum.refinement.max_cycles"] = max_cycles

    def UpdateHtml(self, name=""):
        return olx.html.Update(name) if name else olx.html.Update()

    def cmd(self, command):
        return olex.m(command)

    def HasGUI(self):
        """olexFunctions.py OlexFunctions.HasGUI: olx.HasGUI() == 'true' (read once, as _HasGUI)."""
        return olx.HasGUI() == "true"

    def BaseDir(self):
        return STATE.params.get("_base_dir", "/olex2")

    def DataDir(self):
        return STATE.params.get("_data_dir", "/olex2-data")

    def FileFull(self):
        return olx.FileFull()

    def HKLSrc(self, new_HKLSrc=""):
        return olx.HKLSrc(new_HKLSrc) if new_HKLSrc else olx.HKLSrc()

    def FileName(self):
        return olx.FileName()

    def FilePath(self):
        return olx.FilePath()
