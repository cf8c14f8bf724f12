"""Test double of Olex2's olexFunctions.OlexFunctions (the `OV` object plugins use)."""

import olex
import olx
from _olex2 import STATE


class OlexFunctions(object):
    def registerFunction(self, function, profiling=False, namespace=""):
        olex.registerFunction(function, profiling, namespace)

    def GetParam(self, name, default=None):
        return STATE.params.get(name, default)

    def SetParam(self, name, value):
        if name not in STATE.params:  # Olex2 stores undeclared names outside phil, silently
            STATE.params.setdefault("structure_params", {})[name] = value
            return
        STATE.params[name] = value

    def write_to_olex(self, name, text, copyToDisk=False):
        STATE.vfs[name] = text

    def UpdateHtml(self, name=""):
        olx.html.Update(name)

    def cmd(self, command):
        return olex.m(command)

    def HasGUI(self):
        return True

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
