"""The state behind the Olex2 test double: one asymmetric unit, a command interpreter with an
undo stack, and what the GUI was asked to show. Stricter than Olex2's own dummy modules:
it keeps Olex2's return conventions (strings, "true"/"false", RuntimeError from olx, bool
from olex.m) and its traps (GetAtomCount counts deleted atoms, a bare `kill` deletes the
selection, `hadd` cannot be undone, Q-peaks are absent from GetRefinementModel) and its
residues: labels are unique per RESI residue, an atom of residue n is found as LABEL_n
only, and `name` gives a label within the atom's residue (a new label holding '_' is
refused here: Olex2 would take it literally and SHELX could not write it)."""
import re

ELEMENTS = set("H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se "
               "Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Sm Eu Gd Tb Dy Ho "
               "Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi U D".split())
H_PER_GROUP = {1: 1, 2: 2, 3: 3, 4: 1, 8: 1, 9: 2, 13: 3, 14: 1, 15: 1, 16: 1}


class Atom(object):
    def __init__(self, label, type_, crd, uiso=0.05, occu=1.0, part=0, peak=0.0, afix=0, resi=0):
        self.label, self.type, self.crd = label, type_, list(crd)
        self.uiso, self.occu, self.part, self.peak, self.afix = uiso, occu, part, peak, afix
        self.resi = resi
        self.deleted = False

    @property
    def address(self):
        return _address(self.label, self.resi)

    def state(self):
        return (self.label, self.type, tuple(round(c, 6) for c in self.crd), self.uiso, self.occu, self.part,
                self.peak, self.afix, self.resi, self.deleted)


class Olex2(object):
    def __init__(self):
        self.reset()

    def reset(self):
        self.atoms = []
        self.cell = (10.0, 10.0, 10.0, 90.0, 90.0, 90.0)
        self.matrices = [((1, 0, 0, 0.0), (0, 1, 0, 0.0), (0, 0, 1, 0.0))]
        self.formula = []  # [(element, count per formula unit)]
        self.z = 1
        self.file = "/data/structure.res"
        self.selection = []
        self.undo_stack = []
        self.log = []  # every olex.m command, in order
        self.freeze = False
        self.freeze_log = []
        self.labels = {}  # olx.Label texts by atom
        self.vfs = {}  # OV.write_to_olex files
        self.html_updates = 0
        self.functions = {}  # "namespace.name" → callable
        self.params = {}
        self.scheduled = []
        self.index_work = []  # tool lines added to index-work.htm
        self.refinements = 0
        self.fail_on = None  # a command prefix that olex.m should refuse (fault injection)

    # --- model ------------------------------------------------------------------------------
    def load(self, cell, matrices, formula, z, atoms, file="/data/structure.res"):
        self.reset_model()
        self.cell, self.matrices, self.formula, self.z, self.file = tuple(cell), matrices, formula, z, file
        self.atoms = [Atom(*a) if not isinstance(a, Atom) else a for a in atoms]

    def reset_model(self):
        self.atoms, self.selection, self.undo_stack, self.log = [], [], [], []

    def live(self):
        return [a for a in self.atoms if not a.deleted]

    def find(self, label):
        for atom in self.atoms:
            if not atom.deleted and atom.address.upper() == label.upper():
                return atom
        return None

    def atom(self, index):
        try:
            index = int(index)
        except ValueError:
            atom = self.find(index)
            if atom is None:
                raise RuntimeError("Could not locate specified atom: %s" % index)
            return atom
        if not 0 <= index < len(self.atoms):
            raise RuntimeError("index out of range: %d" % index)
        return self.atoms[index]

    def model_state(self):
        return sorted(a.state() for a in self.atoms if not a.deleted)

    # --- olex.m ---------------------------------------------------------------------------------
    def run(self, command):
        self.log.append(command)
        if self.fail_on and command.startswith(self.fail_on):
            return False
        words = command.split()
        if not words:
            return True
        verb, args = words[0].lower(), words[1:]
        handler = getattr(self, "_cmd_" + verb, None)
        if handler is None:
            return False
        try:
            return handler(args) is not False
        except RuntimeError:
            return False

    def _cmd_name(self, args):
        if len(args) != 2:
            return False
        atom = self.find(args[0])
        if atom is None or "_" in args[1]:
            return False
        holder = self.find(_address(args[1], atom.resi))
        if holder is not None and holder is not atom:
            return False
        new_type = _type_of(args[1])
        if new_type is None:
            return False
        self.undo_stack.append(("name", atom, atom.label, atom.type))
        atom.label, atom.type = args[1], new_type
        return True

    def _cmd_kill(self, args):
        targets = [self.find(a) for a in args] if args else list(self.selection)
        if any(t is None for t in targets):
            return False
        for atom in targets:
            atom.deleted = True
        self.selection = []
        self.undo_stack.append(("kill", targets))
        return True

    def _cmd_sel(self, args):
        if args == ["-u"]:
            self.selection = []
            return True
        found = [self.find(a) for a in args]
        if any(f is None for f in found):
            return False
        self.selection = found
        return True

    def _cmd_hadd(self, args):
        if not args or not args[0].isdigit():
            return False
        code = int(args[0])
        n = H_PER_GROUP.get(code // 10)
        pivots = [self.find(a) for a in args[1:]]
        if n is None or not pivots or any(p is None or p.type == "Q" for p in pivots):
            return False
        for pivot in pivots:
            stem = "H" + pivot.label[len(pivot.type):]
            names = [stem] if n == 1 else [stem + "ABC"[k] for k in range(n)]
            for k, name in enumerate(names):
                while self.find(_address(name, pivot.resi)) is not None:
                    name += "'"
                self.atoms.append(Atom(name, "H", [c + 0.01 * (k + 1) for c in pivot.crd], uiso=1.2 * pivot.uiso,
                                       afix=code, resi=pivot.resi))
        return True  # hadd pushes nothing on the undo stack: Olex2 cannot undo it

    def _cmd_refine(self, args):
        self.refinements += 1
        return True

    def _cmd_undo(self, args):
        if not self.undo_stack:
            return False
        entry = self.undo_stack.pop()
        if entry[0] == "name":
            _, atom, label, type_ = entry
            atom.label, atom.type = label, type_
        else:
            for atom in entry[1]:
                atom.deleted = False
        return True


def _address(label, resi):
    """How Olex2 finds an atom: C1 in the main residue, C1_2 in residue 2."""
    return label if not resi else "%s_%d" % (label, resi)


def _type_of(label):
    """Olex2 types an atom from its label: Q = peak, else the longest element symbol prefix."""
    if re.match(r"^Q\d", label, re.I):
        return "Q"
    two, one = label[:2].capitalize(), label[:1].upper()
    if two in ELEMENTS and not label[1:2].isdigit():
        return two
    return one if one in ELEMENTS else None


STATE = Olex2()
