"""Test double of Olex2's `olx` module: every call returns a string and errors are RuntimeError."""

from types import SimpleNamespace

from _olex2 import STATE


def _bool(value):
    return "true" if value else "false"


def _au_count(*element):
    if element:
        return str(sum(1 for a in STATE.live() if a.type.upper() == element[0].upper()))
    return str(len(STATE.atoms))  # deleted atoms and peaks included, as in Olex2


def _crd(i):
    return ", ".join("%g" % c for c in STATE.atom(i).crd)


def _new_atom(label, x, y, z):
    from _olex2 import Atom, _type_of

    if STATE.find(label) is not None or _type_of(label) is None:
        raise RuntimeError("cannot create atom %s" % label)
    STATE.atoms.append(Atom(label, _type_of(label), [float(x), float(y), float(z)]))
    return str(len(STATE.atoms) - 1)


def _formula(mode=""):
    if mode == "list":
        return ",".join("%s:%g" % (el, n) for el, n in STATE.formula)
    if mode in ("unit", "html", "split"):
        return " ".join("%s%g" % (el, round(n * STATE.z)) for el, n in STATE.formula)
    return " ".join("%s%g" % (el, n) for el, n in STATE.formula)


au = SimpleNamespace(
    GetAtomCount=_au_count,
    IsAtomDeleted=lambda i: _bool(STATE.atom(i).deleted),
    IsPeak=lambda i: _bool(STATE.atom(i).type == "Q"),
    GetAtomName=lambda i: STATE.atom(i).label,
    GetAtomType=lambda i: STATE.atom(i).type,
    GetAtomCrd=_crd,
    GetAtomUiso=lambda i: "%g" % STATE.atom(i).uiso,
    GetAtomOccu=lambda i: "%g" % STATE.atom(i).occu,
    GetAtomPart=lambda i: str(STATE.atom(i).part),
    GetAtomAfix=lambda i: str(STATE.atom(i).afix),
    GetPeak=lambda i: "%g" % STATE.atom(i).peak,
    GetCell=lambda *a: ", ".join("%g" % v for v in STATE.cell),
    GetZ=lambda: str(STATE.z),
    NewAtom=_new_atom,
)
xf = SimpleNamespace(au=au, GetFormula=_formula)


def _update(name=""):
    STATE.html_updates += 1
    return ""


html = SimpleNamespace(Update=_update)


def Freeze(*value):
    if not value:
        return _bool(STATE.freeze)
    STATE.freeze = bool(value[0])
    STATE.freeze_log.append(STATE.freeze)
    return ""


def Label(*args, **options):
    """Olex2's Label macro through olx (gxmacro.cpp macLabel): every visible atom an argument
    names shows its own label (a `#c<id>`, a label or an address; anything else names
    none), the selection is cleared, and the macro succeeds."""
    for item in args:
        for atom in STATE.find_all(str(item)):
            index = STATE.atoms.index(atom)
            if index not in STATE.hidden:
                STATE.labels[index] = atom.label
    STATE.selection = []
    return True


def Schedule(interval, macro, **options):
    """Runs `macro` later on the main thread (mainform.cpp), never at once and never not."""
    STATE.schedule(interval, macro)
    return ""


def Sel():
    """The selected atoms' labels, space separated."""
    return " ".join(a.address for a in STATE.selection)


def IsGrown():
    return _bool(STATE.grown)


def FileFull():
    """The structure's file, or "none" when no structure is open (xmacro.cpp funFileFull)."""
    return STATE.file or "none"


def IsFileLoaded():
    return _bool(STATE.file)


def HKLSrc(*path):
    """The HKL source, or with an argument set it (xmacro.cpp funHKLSrc)."""
    if path:
        STATE.hkl_src = path[0]
        return ""
    return STATE.hkl_src


def FileName():
    return STATE.file.rsplit("/", 1)[-1].rsplit(".", 1)[0] if STATE.file else "none"


def FilePath():
    return STATE.file.rsplit("/", 1)[0] if STATE.file else "none"


def BaseDir():
    return STATE.params.get("_base_dir", "/olex2")


def DataDir():
    return STATE.params.get("_data_dir", "/olex2-data")


def HasGUI():
    return "true"
