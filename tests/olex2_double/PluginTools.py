"""Test double of Olex2's PluginLib/PluginTools.py: phil reading and Work-tab registration."""

import os
import re
import time

from _olex2 import STATE


class PluginTools(object):
    def __init__(self):
        self.headless = False

    def deal_with_phil(self, operation="read", which="user_local"):
        """read: declare every `name = value` of <p_path>/<p_scope>.phil as <scope>.<path>,
        read as UTF-8 as PluginTools does; a value already set (the user's saved settings) wins."""
        if operation != "read":
            return
        path = os.path.join(self.p_path, self.p_scope + ".phil")
        scopes = []
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
                    STATE.params.setdefault(
                        ".".join(scopes + [value.group(1)]), _phil_value(value.group(2))
                    )

    def print_version_date(self):
        print("Loading %s (Version %s)" % (self.p_name, time.ctime(os.path.getmtime(self.p_path))))

    def setup_gui(self, force=False):
        location = STATE.params.get(self.p_scope + ".gui.location", "tools")
        STATE.index_work.append(
            (location, self.p_name, os.path.join(self.p_path, self.p_htm + ".htm"))
        )


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
