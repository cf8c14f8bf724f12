"""Test double of Olex2's PluginLib/PluginTools.py: phil reading and Work-tab registration."""

import os
import re
import time

from _olex2 import STATE


class PluginTools(object):
    def __init__(self):
        """olex2-gui PluginLib/PluginTools.py: a PluginTools is a VFSDependent, registered in
        olx.VFSDependent, whose load_ressources Olex2 calls to put its virtual files back."""
        self.headless = False
        STATE.vfs_dependents.append(self)

    def load_ressources(self):
        pass

    def deal_with_phil(self, operation="read", which="user_local"):
        """read, as olex2-gui's util/pyUtil/PluginLib/PluginTools.py deal_with_phil does: the
        plugin's <p_path>/<p_scope>.phil (UTF-8) declares <scope>.<path> = value, then the
        user's saved <DataDir>/<p_scope>.phil, when there is one, overrides what it names
        (olx.phil_handler.update). A value set in the double before (a test's saved
        setting) wins over the plugin's default."""
        if operation != "read":
            return
        for value_path, value in _phil_values(os.path.join(self.p_path, self.p_scope + ".phil")):
            STATE.params.setdefault(value_path, value)
        user = os.path.join(STATE.params.get("_data_dir", "/olex2-data"), self.p_scope + ".phil")
        if os.path.isfile(user):
            STATE.params.update(_phil_values(user))

    def print_version_date(self):
        print("Loading %s (Version %s)" % (self.p_name, time.ctime(os.path.getmtime(self.p_path))))

    def setup_gui(self, force=False):
        """Adds the plugin's htm to the Work tab's index; nothing without a GUI or with
        `headless` set (PluginTools.setup_gui: olx.HasGUI() != 'true' or self.headless)."""
        if STATE.gui is not True or self.headless:
            return
        location = STATE.params.get(self.p_scope + ".gui.location", "tools")
        STATE.index_work.append(
            (location, self.p_name, os.path.join(self.p_path, self.p_htm + ".htm"))
        )


def _phil_values(path):
    """(scope.name, value) for every `name = value` of a phil file, scopes as `name {`."""
    scopes, values = [], []
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        opened = re.match(r"^(\w+)\s*\{$", line)
        if opened:
            scopes.append(opened.group(1))
        elif line == "}":
            scopes.pop()
        else:
            value = re.match(r"^(\w+)\s*=\s*(.*?)$", line)
            if value:
                values.append((".".join(scopes + [value.group(1)]), _phil_value(value.group(2))))
    return values


def _phil_value(text):
    text = text.split(".type")[0].strip()
    if text in ("True", "False"):
        return text == "True"
    if text in ("None", ""):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text.strip("'\"")
