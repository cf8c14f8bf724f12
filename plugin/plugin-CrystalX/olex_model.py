"""Olex2's current model as a CrystalX snapshot, and applying a plan with a journal so that
Revert restores the model exactly. Standard library only, Python 3.8.

Olex2 conventions relied on: every olx call returns a string ("true"/"false" for booleans),
olx calls raise RuntimeError, olex.m returns a bool and never raises, GetAtomCount counts
deleted atoms too, `name` and `kill` are undoable but `hadd` is not, and `kill` with no
label deletes the selection (so it is never sent without labels).
"""
H_BOND = 1.3  # Å: an H this close to an atom rides on it


class ApplyError(Exception):
    """A command failed; the model has been rolled back to where it was."""


def _floats(text):
    return [float(v) for v in str(text).replace(",", " ").split()]


def read_snapshot(olx, olex_core):
    """Cell, symmetry, SFAC/UNIT and every live site (atoms and Q-peaks) of the open structure."""
    au = olx.xf.au
    sites = []
    for i in range(int(au.GetAtomCount())):
        if au.IsAtomDeleted(i) == "true":
            continue
        peak = au.IsPeak(i) == "true"
        sites.append({
            "label": au.GetAtomName(i),
            "element": None if peak else au.GetAtomType(i),
            "frac": _floats(au.GetAtomCrd(i)),
            "u_iso": float(au.GetAtomUiso(i)),
            "occupancy": float(au.GetAtomOccu(i)),
            "part": int(au.GetAtomPart(i)),
            "peak_height": float(au.GetPeak(i)) if peak else None,
        })
    info = olex_core.SGInfo()
    if not info:
        raise ValueError("the structure has no space group")
    symops = [_symop(m) for m in info["MatricesAll"]]
    sfac, unit = _formula(olx)
    return {"cell": _floats(au.GetCell()), "symops": symops, "sfac": sfac, "unit": unit,
            "sites": sites, "title": olx.FileName(), "source": olx.FileFull()}


def _symop(matrix):
    """((r00,r01,r02,t0),(r10,...),(r20,...)) → 'x,-y,z+1/2'."""
    rows = []
    for row in matrix:
        terms = ""
        for coefficient, axis in zip(row[:3], "xyz"):
            c = int(round(coefficient))
            if c:
                terms += ("+" if c > 0 and terms else "-" if c < 0 else "") + ("" if abs(c) == 1 else str(abs(c)) + "*") + axis
        t = float(row[3]) % 1.0
        if t > 1e-6:
            terms += "+%s" % _fraction(t)
        rows.append(terms or "0")
    return ",".join(rows)


def _fraction(t):
    for d in (2, 3, 4, 6, 8, 12):
        if abs(t * d - round(t * d)) < 1e-4:
            return "%d/%d" % (round(t * d), d)
    return "%.6f" % t


def _formula(olx):
    """SFAC and UNIT (cell contents): 'list' gives per formula unit, so times Z."""
    z = float(olx.xf.au.GetZ())
    sfac, unit = [], []
    for item in str(olx.xf.GetFormula("list")).split(","):
        if ":" in item:
            element, count = item.split(":")
            sfac.append(element.strip())
            unit.append(round(float(count) * z, 4))
    return sfac, unit


def live_labels(olx):
    au = olx.xf.au
    return [au.GetAtomName(i) for i in range(int(au.GetAtomCount())) if au.IsAtomDeleted(i) != "true"]


class Journal(object):
    """What apply changed, in order, with how to undo it: renames and the H that hadd added."""

    def __init__(self, before):
        self.before = before  # snapshot taken just before applying
        self.renames = []  # (old, new) in the order applied
        self.added = []  # labels of atoms hadd created

    def revert(self, olex, olx):
        """Delete the added H, undo the renames last first; True when the model is as before."""
        ok = True
        alive = set(live_labels(olx))
        added = [label for label in self.added if label in alive]
        if added:
            ok &= bool(olex.m("kill " + " ".join(added)))
        for old, new in reversed(self.renames):
            ok &= bool(olex.m("name %s %s" % (new, old)))
        self.renames, self.added = [], []
        return ok and sorted(live_labels(olx)) == sorted(s["label"] for s in self.before["sites"])


def apply_commands(olex, olx, commands, before):
    """Run the core's commands inside Freeze, journalled; on a failed command roll back and raise."""
    journal = Journal(before)
    frozen = olx.Freeze()
    olx.Freeze(True)
    try:
        for command in commands:
            words = command.split()
            if not words or (words[0] == "kill" and len(words) < 2):
                continue  # never a bare kill: Olex2 would delete the selection
            labels_before = set(live_labels(olx)) if words[0] == "hadd" else None
            if not olex.m(command):
                journal.revert(olex, olx)
                raise ApplyError("Olex2 refused %r; the model was put back as it was" % command)
            if words[0] == "name":
                journal.renames.append((words[1], words[2]))
            elif words[0] == "hadd":
                journal.added += [lab for lab in live_labels(olx) if lab not in labels_before]
    finally:
        olx.Freeze(frozen == "true")
    return journal
