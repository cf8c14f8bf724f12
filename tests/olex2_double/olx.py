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


def _file_loaded(name):
    """Olex2 refuses a psFileLoaded function with no structure open; through olx that is a
    RuntimeError (repository/pyext.cpp runOlexFunctionEx)."""
    if STATE.file is None:
        raise RuntimeError("Function '%s' failed: wrong program state" % name)


def _formula(mode="", digits=None):
    """xf.GetFormula (xlib/xfiles.cpp TXFile::LibGetFormula): the user's content (SFAC/UNIT,
    or a CIF's _chemical_formula_sum) per formula unit, or per cell for 'unit': 'C2 H6 O1'
    by default, 'C:2,H:6,O:1' for 'list', 'C 2 H 6 O 1' for 'split', 'C2 H6 O1' rounded
    cell content for 'unit', 'C<sub>2</sub>H<sub>6</sub>O' for 'html' (no 1, no spaces)."""
    _file_loaded("GetFormula")
    parts = []
    for element, count in STATE.formula:
        value = round(count * STATE.z) if mode == "unit" else count
        text = "%g" % value
        if mode == "list":
            parts.append("%s:%s" % (element, text))
        elif mode == "split":
            parts.append("%s %s" % (element, text))
        elif mode == "html":
            shown = abs(value - 1) > 0.01 and abs(value) > 0.01
            parts.append(element + ("<sub>%s</sub>" % text if shown else ""))
        else:
            parts.append(element + text)
    return ("," if mode == "list" else "" if mode == "html" else " ").join(parts)


def _is_grown():
    """xf.latt.IsGrown (xlib/lattice.cpp TLattice::LibIsGrown, library "latt" attached to
    "xf" by TXFile::ExportLibrary); there is no olx.IsGrown."""
    return _bool(STATE.grown)


def _afix(i):
    """xf.au.GetAtomAfix (xlib/asymmunit.cpp TAsymmUnit::LibGetAtomAfix, registered as
    "GetAtomAfix", "Returns atom AFIX": TCAtom::GetAfix of xlib/catom.cpp): an atom in an AFIX
    group gets the group's code (a riding H its group's, 33 for a methyl's), (code/10)*10+5
    where the group has an explicit pivot (n 6 or 9: afixgroup.h HasExcplicitPivot); a pivot
    0 unless its group has an explicit pivot or m 0 (a code under 10); an index out of range
    raises. The double's atoms hold the code of the AFIX they were listed under, as a SHELX
    file gives it (hadd's H their group's), and no groups: an H is taken for a member, a
    non-H atom for the pivot (under a riding code 0; under n 6 or 9 the group's code, which
    Olex2 gives only the first atom: the plugin reads no non-H atom's AFIX). A member of a
    group with the internal code -1 gets 0 from a release build and -1 from a debug build
    (STATE.debug_build; catom.cpp `#ifdef _DEBUG return a; #else return a == -1 ? 0 : a;`)."""
    atom = STATE.atom(i)
    if atom.afix == -1:  # Olex2's internal group code: 0 in a release build, -1 under _DEBUG
        return "-1" if STATE.debug_build else "0"
    explicit = atom.afix % 10 in (6, 9)
    if atom.type in ("H", "D"):
        return str(atom.afix // 10 * 10 + 5 if explicit else atom.afix)
    return str(atom.afix if explicit or atom.afix < 10 else 0)


# xf.au: xlib/asymmunit.cpp TAsymmUnit::Lib* (read for session 13): an index past AtomCount
# raises; GetAtomCount counts deleted atoms too, and with an element only the live atoms of it;
# GetAtomCrd is the vector's ToString, GetAtomUiso the atom's Uiso (Ueq of an anisotropic one),
# GetPeak any atom's Q-peak value, GetCell the six cell values, GetZ the Z (a double).
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
    GetAtomAfix=_afix,
    GetPeak=lambda i: "%g" % STATE.atom(i).peak,
    GetCell=lambda *a: ", ".join("%g" % v for v in STATE.cell),
    GetZ=lambda: str(STATE.z),
    NewAtom=_new_atom,
)
xf = SimpleNamespace(au=au, GetFormula=_formula, latt=SimpleNamespace(IsGrown=_is_grown))

# app: sdl/bapp.cpp TBasicApp::ExportLibrary, attached in olex2 and olex2c alike; OptValue the
# option's value from ConfigDir/.options, else the default given (BAPP_GetOptValue)
app = SimpleNamespace(OptValue=lambda name, default="": STATE.options.get(name, str(default)))


def _update(*window):
    """html.Update, a macro (olex/html/htmlmanager.cpp THtmlManager::macUpdate): reloads the
    main panel, or the named window; a name that is no window is an error, so through olx
    False (no popup windows in the double)."""
    if window:
        STATE.errors.append("undefined html window: '%s'" % window[0])
        return False
    STATE.html_updates += 1
    return True


def _Freeze(*value):
    """A function, not a macro (olex/mainform.cpp this_InitFuncD(Freeze, fpNone|fpOne)):
    "true"/"false" without an argument, "" when setting."""
    if not value:
        return _bool(STATE.freeze)
    STATE.freeze = bool(value[0])
    STATE.freeze_log.append(STATE.freeze)
    return ""


def _Label(*args, **options):
    """Olex2's Label macro through olx (gxlib/gxmacro.cpp GXLibMacros::macLabel, read in
    pcxod/olex2 024a95a; olx gives each Python argument as one argument, quotes taken off:
    repository/pyext.cpp runOlexFunctionEx). Arguments of the form `atom=text` (text may hold
    blanks) label the atoms they name with `text`: the atoms are found for the `atom` parts
    in order (FindXAtoms: visible atoms only, every visible copy of a `#c<id>`), and unless
    exactly one is found per text the macro fails ("number of atoms does not match to the
    number of labels"), labels nothing and leaves the selection; arguments without `=` are
    then ignored. Without any `=` every visible atom named shows its own label. Either way
    the macro ends by clearing the selection (app.SelectAll(false)). A build from before the
    `atom=text` form (STATE.label_text_form False: the older stored versions of macLabel)
    reads `#c0=text` as an atom id, which is not a number (GetXAtoms: ToSizeT, o_atoui throws
    on any non-digit, sdl/estring.h), so the macro fails."""
    relabel = [str(a).split("=", 1) for a in args if "=" in str(a)]
    if relabel and not STATE.label_text_form:
        if any(atom.lower().startswith("#c") for atom, _ in relabel):
            STATE.errors.append("Macro 'Label' failed: invalid integer format")
            return False
        relabel = []  # another label with '=' names no atom
    if relabel:
        found = [
            atom
            for name, _ in relabel
            for atom in STATE.find_all(name)
            if STATE.atoms.index(atom) not in STATE.hidden
        ]
        if len(found) != len(relabel):
            STATE.errors.append(
                "Macro 'Label' failed: number of atoms does not match to the number of labels"
            )
            return False
        for atom, (_, text) in zip(found, relabel):
            STATE.labels[STATE.atoms.index(atom)] = text
    else:
        for item in args:
            for atom in STATE.find_all(str(item)):
                index = STATE.atoms.index(atom)
                if index not in STATE.hidden:
                    STATE.labels[index] = atom.label
    STATE.selection, STATE.selected_images = [], []
    return True


def HAdd(*args, **options):
    """The HAdd macro through olx: each argument a word of the macro as given, keywords its
    options (repository/pyext.cpp runOlexFunctionEx); True, or False when it failed. Only the
    negative-code form is modelled here; `hadd CODE atoms` goes through olex.m."""
    words = [str(a) for a in args]
    if not words or not (words[0][:1] == "-" and words[0][1:].isdigit()):
        raise NotImplementedError("the double's olx.HAdd takes the negative-code form only")
    return STATE.hadd_listed(words, dict((k, str(v)) for k, v in options.items()))


def Part(*args):
    """The Part macro through olx, each argument one word (repository/pyext.cpp
    runOlexFunctionEx): True, or False when it failed."""
    return STATE.part_macro([str(a) for a in args])


def Schedule(interval, macro, **options):
    """Runs `macro` later on the main thread (mainform.cpp), never at once and never not. A
    macro (this_InitMacroD(Schedule, "r-repeatable&;g-..."), mainform.cpp and
    olex2c/olex2c.cpp), so through olx it returns True (repository/pyext.cpp
    runOlexFunctionEx: a macro that succeeded without a value)."""
    STATE.schedule(interval, macro)
    return True


def Sel():
    """The selection as an atom list (olex/mainform.cpp TMainForm::funSel: AtomRefList's
    GetExpression, each atom by xlib/atomref.cpp ExplicitCAtomRef::GetExpression): the label,
    `_<residue>` for an atom of a residue, and for a symmetry image (a grown structure) the
    EQIV's number after `_$` (`$` after a residue suffix): C1, C1_2, C1_$1, C1_2$1. The
    double's images are STATE.selected_images, (atom, EQIV number) pairs."""
    words = [a.address for a in STATE.selection]
    words += [a.address + ("$%d" if a.resi else "_$%d") % eqiv for a, eqiv in STATE.selected_images]
    return " ".join(words)


def FileFull():
    """The structure's file, or "none" when no structure is open (xmacro.cpp funFileFull)."""
    return STATE.file or "none"


def IsFileLoaded():
    return _bool(STATE.file)


# the loader Olex2 gives each extension (olex/mainform.cpp, olex2c: XFile().RegisterFileFormat)
LOADERS = {
    "ins": "ins",
    "res": "ins",
    "cif": "cif",
    "fcf": "cif",
    "fco": "cif",
    "mol": "mol",
    "xyz": "xyz",
    "p4p": "p4p",
    "crs": "crs",
    "pdb": "pdb",
    "mas": "mas",
}
# the loader each kind of IsFileType asks for: 'xyz' asks TMol's, as Olex2 does, not TXyz's
KINDS = {"ires": "ins", "cif": "cif", "p4p": "p4p", "mol": "mol", "xyz": "mol", "crs": "crs"}


def IsFileType(kind):
    """xlib/xmacro.cpp XLibMacros::funIsFileType (the stored versions whose body was read):
    'ins' and 'res' are the ins loader and that extension, 'ires' either; 'cif' the CIF
    loader (CheckFileType<TCif>: a .fcf or .fco too); 'p4p', 'mol', 'crs' their loaders, and
    'xyz' the mol loader (CheckFileType<TMol>, so a .mol file, never a .xyz, which TXyz
    loads); any other kind "false" (`else E.SetRetVal(false)`); "false" with no file. The
    newest stored xmacro.cpp (406,828 characters) registers the function as "Checks type of
    currently loaded file [ins,res,ires,cif,cmf,mol,xyz]": its body, past what the index
    holds, was not read, so what 'cmf' answers there is unknown; the double says "false".
    The plugin asks only 'cif'. The double takes the loader from the file's extension."""
    extension = STATE.file.rsplit(".", 1)[-1].lower() if STATE.file else ""
    loader, kind = LOADERS.get(extension), kind.lower()
    if kind in ("ins", "res"):
        return _bool(loader == "ins" and extension == kind)
    return _bool(kind in KINDS and loader == KINDS[kind])


def Cif(item):
    """A loaded CIF's data item as Olex2 gives it (olex/xpprocs.cpp funCif: the value without
    quotes, "n/a" when the CIF has no such item); with another file open the function is
    refused (psCheckFileTypeCif), a RuntimeError through olx."""
    if IsFileType("cif") != "true":
        raise RuntimeError("Function 'Cif' failed: wrong program state")
    return STATE.cif_items.get(item, "n/a")


def HKLSrc(*path):
    """The HKL source, or with an argument set it (xmacro.cpp funHKLSrc)."""
    if path:
        STATE.hkl_src = path[0]
        return ""
    return STATE.hkl_src


def FileName():
    """xmacro.cpp funFileName: the loaded file's name without folder and extension, "none"
    without one."""
    return STATE.file.rsplit("/", 1)[-1].rsplit(".", 1)[0] if STATE.file else "none"


def FilePath():
    return STATE.file.rsplit("/", 1)[0] if STATE.file else "none"


def BaseDir():
    """xmacro.cpp funBaseDir: Olex2's folder without the trailing separator."""
    return STATE.params.get("_base_dir", "/olex2")


def DataDir():
    return STATE.params.get("_data_dir", "/olex2-data")


def HasGUI():
    """mainform.cpp TMainForm::funHasGUI: true; olex2c/olex2c.cpp TOlex2c::funHasGUI: false."""
    return _bool(STATE.gui)


# What only Olex2's GUI registers: Freeze (olex/mainform.cpp), Label (gxlib/gxmacro.cpp) and the
# html library (olex/html/htmlmanager.cpp). olx holds what the running program registered
# (repository/pyext.cpp ExportLib writes one Python function per registered function and
# macro), so in olex2c (STATE.gui False) these names are an AttributeError.
GUI_ONLY = {"Freeze": _Freeze, "Label": _Label, "html": SimpleNamespace(Update=_update)}


def __getattr__(name):
    if name in GUI_ONLY and STATE.gui:
        return GUI_ONLY[name]
    raise AttributeError("module 'olx' has no attribute %r" % name)
