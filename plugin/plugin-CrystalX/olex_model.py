"""Olex2's current model as a CrystalX snapshot, and applying a plan with a journal so that
Revert restores the model exactly. Standard library only, Python 3.8.

Olex2 conventions relied on: every olx call returns a string ("true"/"false" for booleans),
olx calls raise RuntimeError, olex.m returns a bool and never raises, GetAtomCount counts
deleted atoms too, `name` and `kill` are undoable but `hadd` is not, and `kill` with no
label deletes the selection (so it is never sent without labels). Labels are unique per
residue only (RESI); an atom of residue n > 0 is addressed as LABEL_n, as Olex2 commands
take it, and `name C1_2 N1` renames it within its residue.
"""
H_BOND = 1.3  # Å: an H this close to an atom rides on it


class ApplyError(Exception):
    """A command failed; the model has been rolled back to where it was."""


def _floats(text):
    return [float(v) for v in str(text).replace(",", " ").split()]


def read_snapshot(olx, olex_core):
    """Cell, symmetry, SFAC/UNIT and every live site (atoms and Q-peaks) of the open structure."""
    au = olx.xf.au
    residues = residue_numbers(olex_core)
    sites = []
    for i in range(int(au.GetAtomCount())):
        if au.IsAtomDeleted(i) == "true":
            continue
        peak = au.IsPeak(i) == "true"
        sites.append({
            "label": address(au.GetAtomName(i), residues.get(i, 0)),
            "residue": residues.get(i, 0),
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


def residue_numbers(olex_core):
    """Asymmetric-unit index → RESI number of the atoms in residues (none for the rest: the
    main residue, and Q-peaks, which the refinement model leaves out)."""
    numbers = {}
    for residue in olex_core.GetRefinementModel(False)["aunit"]["residues"]:
        if residue.get("number"):  # the main residue has no number
            for atom in residue["atoms"]:
                numbers[int(atom["aunit_id"])] = int(residue["number"])
    return numbers


def address(label, residue):
    """C1 in the main residue, C1_2 in residue 2."""
    return "%s_%d" % (label, residue) if residue else label


def split_address(label):
    """('C1', '_2') for C1_2; (label, '') outside residues."""
    stem, _, number = label.rpartition("_")
    return (stem, "_" + number) if stem and number.isdigit() else (label, "")


def live_labels(olx, olex_core):
    au = olx.xf.au
    residues = residue_numbers(olex_core)
    return [address(au.GetAtomName(i), residues.get(i, 0)) for i in range(int(au.GetAtomCount()))
            if au.IsAtomDeleted(i) != "true"]


class Journal(object):
    """What apply changed, in order, with how to undo it: renames and the H that hadd added."""

    def __init__(self, before, olex_core):
        self.before = before  # snapshot taken just before applying
        self.olex_core = olex_core
        self.renames = []  # (old address, new label within the same residue) in the order applied
        self.added = []  # addresses of atoms hadd created

    def revert(self, olex, olx):
        """Delete the added H, undo the renames last first; True when the model is as before."""
        ok = True
        alive = set(live_labels(olx, self.olex_core))
        added = [label for label in self.added if label in alive]
        if added:
            ok &= bool(olex.m("kill " + " ".join(added)))
        for old, new in reversed(self.renames):
            stem, residue = split_address(old)
            ok &= bool(olex.m("name %s%s %s" % (new, residue, stem)))
        self.renames, self.added = [], []
        return ok and sorted(live_labels(olx, self.olex_core)) == sorted(s["label"] for s in self.before["sites"])


def apply_commands(olex, olx, olex_core, commands, before):
    """Run the core's commands inside Freeze, journalled; on a failed command roll back and raise."""
    journal = Journal(before, olex_core)
    frozen = olx.Freeze()
    olx.Freeze(True)
    try:
        for command in commands:
            words = command.split()
            if not words or (words[0] == "kill" and len(words) < 2):
                continue  # never a bare kill: Olex2 would delete the selection
            labels_before = set(live_labels(olx, olex_core)) if words[0] == "hadd" else None
            if not olex.m(command):
                journal.revert(olex, olx)
                raise ApplyError("Olex2 refused %r; the model was put back as it was" % command)
            if words[0] == "name":
                journal.renames.append((words[1], words[2]))
            elif words[0] == "hadd":
                journal.added += [lab for lab in live_labels(olx, olex_core) if lab not in labels_before]
    finally:
        olx.Freeze(frozen == "true")
    return journal
