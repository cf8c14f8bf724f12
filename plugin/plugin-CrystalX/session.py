"""What the buttons do, without the GUI plumbing: ask the core about the open structure, show
the answer, apply it (journalled), revert it, and the re-assign loop. Python 3.8, stdlib only."""
import json
import os

from olex_model import ApplyError, apply_commands, read_snapshot
from panel_html import assignment_table


class Session(object):
    def __init__(self, olex, olx, olex_core, core, settings, out_dir):
        self.olex, self.olx, self.olex_core = olex, olx, olex_core
        self.core = core  # CoreProcess
        self.settings = settings  # callable: name → value (phil)
        self.out_dir = out_dir
        self.answer = None  # (snapshot, result) of the last preview
        self.journals = []  # one per apply, last first to revert
        self.messages = []

    def say(self, text):
        self.messages.append(text)
        print("CrystalX: " + text)

    # --- steps ----------------------------------------------------------------------------------
    def snapshot(self):
        return read_snapshot(self.olx, self.olex_core)

    def ask(self, snapshot):
        """The core's answer for a snapshot (may run off the GUI thread: no olx calls here)."""
        restarts = self.core.restarts
        result = self.core.request("assign", {"structure": snapshot, "options": {
            "method": self.settings("method"), "hydrogens": self.settings("hydrogens"), "top_k": 3}})
        if self.core.restarts > restarts:
            self.say("the core had stopped and was restarted")
        return result

    def show(self, snapshot, result):
        """Probability labels on the atoms, the HTML table, and the file the Qt panel watches."""
        self.answer = (snapshot, result)
        threshold = float(self.settings("probability_threshold"))
        if self.settings("label_overlay"):
            texts = ["%s=%s %.2f" % (s["label"], s["element"], s["probabilities"][0][1])
                     for s in result["sites"] if s["probabilities"]]
            if texts:
                self.olx.Label(*texts)
        doubtful = [s["label"] for s in result["sites"]
                    if s["probabilities"] and s["probabilities"][0][1] < threshold]
        if doubtful:
            self.say("below %.2f confidence: %s" % (threshold, " ".join(doubtful)))
        path = os.path.join(self.out_dir, "crystalx_last.json")
        temporary = path + ".tmp"
        with open(temporary, "w") as stream:
            json.dump({"structure": snapshot.get("source"), "result": result}, stream)
        os.replace(temporary, path)
        return assignment_table(result, threshold)

    def apply(self):
        """Apply the previewed answer if the model has not changed since; returns the journal."""
        if self.answer is None:
            raise ApplyError("nothing to apply: press Preview or Auto-assign first")
        snapshot, result = self.answer
        now = self.snapshot()
        if _labels(now) != _labels(snapshot):
            self.answer = None
            raise ApplyError("the model changed since the preview; preview again")
        journal = apply_commands(self.olex, self.olx, self.olex_core, result["commands"], snapshot)
        self.journals.append(journal)
        self.answer = None
        self.say("applied %d commands (%d renamed, %d H added)" % (
            len(result["commands"]), len(journal.renames), len(journal.added)))
        if self.settings("auto_refine"):
            self.olex.m("refine %d" % int(self.settings("refine_cycles")))
        return journal

    def revert(self):
        if not self.journals:
            self.say("nothing to revert")
            return False
        journal = self.journals.pop()
        exact = journal.revert(self.olex, self.olx)
        self.say("reverted" if exact else "reverted, but the model differs from before: check it")
        return exact

    def is_stable(self, result):
        """Nothing left to change: no rename and no H to add."""
        return not any(c.startswith(("name ", "hadd ")) for c in result["commands"])


def _labels(snapshot):
    return sorted((s["label"], s["element"]) for s in snapshot["sites"])
