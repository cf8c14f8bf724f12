"""Olex2's current model as a CrystalX snapshot, and applying the core's commands so that
Revert can undo them. Standard library only, Python 3.8.

Olex2 as it behaves (read from its source; see README "Olex2"): olx values are strings
("true"/"false"), `olex.m` returns a bool and is True even when the macro only logged an
error; unknown labels are skipped silently; a bare label matches in every residue, so every
command here names atoms by their unique `#c<aunit id>`; `name` zeroes a Q-peak's height and
only Olex2's `undo` restores it; `hadd` cannot be undone, is refused on a grown structure and
adds nothing where the HFIX code does not fit the atom's bonds; GetRefinementModel trims
labels over the option max_label_length (4 unless set). So every step is checked by
reading the model back.

Olex2's undo is a stack of entries, not of commands: `name` and `kill` push one each, and
under the safe_afix option (on by default) `name` and `hadd` push one more whenever they made
Olex2 delete riding-H groups whose pivot lost its bonds (gxlib/gxmacro.cpp macName,
xlib/xmacro.cpp macHAdd, xlib/lattice.cpp ValidateHGroups); `kill` instead deletes the riding
H of the killed atom's neighbours in its own entry (gxlib/gxapp.cpp TGXApp::DeleteXAtoms);
`undo` pops one entry.
So Revert undoes until the atoms Apply touched are back, never more entries than Apply can
have pushed. Olex2 has no way to make several commands one undo entry; loading a file (as a
refinement does) clears the stack and renumbers the atoms (gxlib/gxapp.cpp
xappXFileLoad::Enter), after which only Olex2's History goes back.

The reflections are Olex2's own: `olx.HKLSrc()` is the refinement model's HKL source
(xlib/xmacro.cpp funHKLSrc), the same-named .hkl found on loading or "" when there is none
(xlib/xfiles.cpp PostLoad: then a CIF's own reflections, where it has them, are read into the
model, no .hkl written), and may name a file since moved; `GetRefinementModel()` gives
the HKLF instruction ("hklf": value, s, matrix), the CELL card's wavelength ("exptl":
radiation) and "twin" when a TWIN instruction applies, with its "matrix", "n" and "basf"
(xlib/refmodel.cpp PyExport, xlib/experimental.cpp), which is how olex2-gui's own refinement
reads them (util/pyUtil/CctbxLib/cctbx_olex_adapter.py: OV.HKLSrc(), model['hklf'],
exptl['radiation'], model['twin']).
"""

import math
import os

MAX_LABEL = 4  # Olex2's label corrector trims longer labels (its option's default)
OLEX2_MERG, OLEX2_OMIT = 2, (-2.0, 180.0)  # xlib/refmodel.h def_MERG, def_OMIT_s, def_OMIT_2t
H_PER_CODE = {
    1: 1,
    2: 2,
    3: 3,
    4: 1,
    8: 1,
    9: 2,
    12: 3,
    13: 3,
    14: 1,
    15: 1,
    16: 1,
}  # HFIX m → H added


class ApplyError(Exception):
    """A command failed or did not do what it should; the model has been put back (in
    olex2c, which has no undo, the message says what stands instead)."""


def has_gui(olx):
    """Whether this is Olex2 with its GUI, not olex2c. Only the GUI registers Freeze
    (olex/mainform.cpp), Label and undo (gxlib/gxmacro.cpp GXLibMacros) and the html library
    (olex/html/htmlmanager.cpp): olx exports only what is registered (repository/pyext.cpp
    ExportLib), so in olex2c `olx.Freeze` is an AttributeError and `undo` an unknown macro.
    HasGUI is "true" in mainform.cpp, "false" in olex2c/olex2c.cpp (TOlex2c::funHasGUI), and
    is what PluginTools.setup_gui and initpy_funcs.set_plugins_paths ask."""
    return str(olx.HasGUI()) == "true"


def _floats(text):
    return [float(v) for v in str(text).replace(",", " ").split()]


class Model(object):
    """One reading of the open structure: the snapshot for the core, and per live atom its
    aunit id (`ids[k]` for `snapshot["sites"][k]`) and state, to check and revert changes;
    the reflection file to weigh the answer with (None without one) and, when Olex2 names
    a file that cannot be read, a note saying so; `longest`, the labels Olex2 keeps
    (max_label_length), which the core's labels must fit."""

    def __init__(
        self,
        snapshot,
        ids,
        states,
        cell,
        reflections=None,
        data_note=None,
        exact=None,
        variables=1,
        links=None,
        longest=MAX_LABEL,
    ):
        self.snapshot, self.ids, self.states, self.cell = snapshot, ids, states, cell
        self.longest = longest
        self.reflections, self.data_note = reflections, data_note
        self.exact = exact or {}  # aunit id → Olex2's own strings for the atom, unrounded
        self.variables = variables  # free variables Olex2 holds, FVAR 1 (the scale) included
        self.links = links or {}  # aunit id → its occupancy's free variable (occupancy_links)

    def same_as(self, other):
        """Olex2 holds exactly this model still: the same file, the same live atoms under the
        same ids, every value as Olex2 gave it to the last digit (a refinement changes them
        even where `states`, rounded, cannot tell)."""
        return self.snapshot["source"] == other.snapshot["source"] and self.exact == other.exact

    def id_of(self, address):
        for site, index in zip(self.snapshot["sites"], self.ids):
            if site["label"].upper() == address.upper():
                return index
        return None

    def labels(self):
        return dict((i, (s[0], s[1])) for i, s in self.states.items())


def read_model(olx, olex_core):
    """Cell, symmetry, SFAC/UNIT, the wavelength and every live site (atoms and Q-peaks) of
    the open structure, and its reflection file. Each H carries its AFIX as Olex2 holds it
    (xf.au.GetAtomAfix: xlib/asymmunit.cpp LibGetAtomAfix, xlib/catom.cpp TCAtom::GetAfix,
    the riding group's code on its H, 0 on the pivot), so that the core shows the code an
    atom that keeps its H keeps, not the one it would have chosen."""
    source = olx.FileFull()
    if str(source) == "none":  # no structure open (xlib/xmacro.cpp funFileFull)
        raise ValueError("no structure is open in Olex2")
    refinement = olex_core.GetRefinementModel(False)  # first: it runs Olex2's label corrector
    residues = residue_numbers(refinement)
    au = olx.xf.au
    sites, ids, states, exact = [], [], {}, {}
    for i in range(int(au.GetAtomCount())):
        if au.IsAtomDeleted(i) == "true":
            continue
        peak = au.IsPeak(i) == "true"
        label, element = au.GetAtomName(i), au.GetAtomType(i)
        crd, uiso, occu, part, height = (
            str(au.GetAtomCrd(i)),
            str(au.GetAtomUiso(i)),
            str(au.GetAtomOccu(i)),
            str(au.GetAtomPart(i)),
            str(au.GetPeak(i)),
        )
        exact[i] = (label, element, crd, uiso, occu, part, height)
        site = {
            "label": address(label, residues.get(i, 0)),
            "residue": residues.get(i, 0),
            "element": None if peak else element,
            "frac": _floats(crd),
            "u_iso": float(uiso),
            "occupancy": float(occu),
            "part": int(part),
            "peak_height": float(height) if peak else None,
        }
        if element in ("H", "D"):  # the code its group rides under, which the core shows as kept
            site["afix"] = release_afix(au.GetAtomAfix(i))
        sites.append(site)
        ids.append(i)
        states[i] = (
            label,
            element,
            round(float(height), 3),
            tuple(round(c, 4) for c in site["frac"]),
            round(site["u_iso"], 4),
            round(site["occupancy"], 4),
            site["part"],
        )
    info = olex_core.SGInfo()
    if not info:
        raise ValueError("the structure has no space group")
    symops = [_symop(m) for m in info["MatricesAll"]]
    sfac, unit = _formula(olx)
    cell = _floats(au.GetCell())
    snapshot = {
        "cell": cell,
        "symops": symops,
        "sfac": sfac,
        "unit": unit,
        "sites": sites,
        "title": olx.FileName(),
        "source": source,
    }
    wavelength = float(refinement.get("exptl", {}).get("radiation", 0) or 0)
    if wavelength > 0:
        snapshot["wavelength"] = wavelength
    temperature = temperature_c(refinement.get("exptl", {}))
    if temperature is not None:
        snapshot["temperature"] = temperature
    formula = published_formula(olx)
    if formula:
        snapshot["formula"] = formula
    reflections, note = reflection_file(olx, refinement)
    # XVarManager::PyExport: one entry per variable, FVAR 1 first (xlib/refmodel.cpp PyExport)
    variables = len(refinement.get("variables", {}).get("variables", ())) or 1
    links = occupancy_links(refinement)
    return Model(
        snapshot,
        ids,
        states,
        cell,
        reflections,
        note,
        exact,
        variables,
        links,
        max_label_length(olx),
    )


# the occupancy among an atom's parameters as XVarReference's "index" names them: xlib/catom.h
# catom_var_name_Sof = 4 (after _Scale 0, _X 1, _Y 2, _Z 3); 3 would read a link on z
SOF_INDEX = 4


def occupancy_links(refinement):
    """aunit id → (m, k) of each atom whose occupancy rides on free variable m > 1: k × fv(m),
    m negative for k × (1 - fv(m)), SHELX's sof ±(10m + k). From the export's "variables"
    (xlib/leq.cpp XVarManager::PyExport, XVar::PyExport, XVarReference::PyExport: per
    variable its references, each "name" "catom" for an atom (TAsymmUnit::IdName), its
    "id" (GetPersistentId: TAsymmUnit::GetPersistentIdOf gives the atom's tag, its place
    among the exported atoms, as a restraint's), the parameter's "index", "relation" "var"
    or "one_minus_var", and "k")."""
    aunit_ids = [
        int(atom["aunit_id"])
        for residue in refinement["aunit"]["residues"]
        for atom in residue["atoms"]
    ]
    links = {}
    variables = refinement.get("variables", {}).get("variables", ())
    for number, variable in enumerate(variables, 1):
        for ref in variable.get("references", ()):
            relation, tag = ref.get("relation"), int(ref.get("id", -1))
            # a Q-peak's tag is -1 (TAsymmUnit::PyExport leaves peaks out): no atom to link
            if ref.get("name") == "catom" and ref.get("index") == SOF_INDEX and number > 1:
                if relation in ("var", "one_minus_var") and 0 <= tag < len(aunit_ids):
                    sign = 1 if relation == "var" else -1
                    links[aunit_ids[tag]] = (sign * number, float(ref["k"]))
    return links


def temperature_c(exptl):
    """The experiment's temperature in °C from Olex2's experimental details, or None where it
    is not set. PyExport gives "temperature" (xlib/experimental.cpp), in °C, or in the scale
    "temperature_char" names ('C', 'K', 'F') where a build exports it; unset is below absolute
    zero (experimental.h: -1000, IsTemperatureSet: >= -273.15)."""
    try:
        value = float(exptl.get("temperature"))
    except (TypeError, ValueError):
        return None
    scale = str(exptl.get("temperature_char") or "C").upper()
    value = value - 273.15 if scale == "K" else (value - 32.0) * 5 / 9 if scale == "F" else value
    return round(value, 2) if -273.15 <= value <= 1500 else None


def release_afix(text):
    """An atom's AFIX as a release build of Olex2 gives it: a debug build returns the internal
    group code -1 as it is, a release build 0 (xlib/catom.cpp TCAtom::GetAfix: `a == -1 ? 0 :
    a` unless _DEBUG). AFIX codes are never negative in SHELX, and the core refuses one."""
    code = int(text)
    return code if code >= 0 else 0


def published_formula(olx):
    """The formula as the open CIF gives it (_chemical_formula_sum), or None: with a .res or
    .ins open Olex2's formula is its SFAC/UNIT (xlib/xfiles.cpp LibGetFormula reads the
    user content, which a CIF's load sets from _chemical_formula_sum: xlib/cif.cpp), and
    SFAC/UNIT list what a solution found, not the compound. olx.Cif answers "n/a" for an
    item the CIF lacks and refuses with another file open (xmacro.cpp funIsFileType,
    xpprocs.cpp funCif)."""
    try:
        if str(olx.IsFileType("cif")) != "true":
            return None
        text = str(olx.Cif("_chemical_formula_sum")).strip().strip("'\"").strip()
    except (AttributeError, RuntimeError):
        return None
    return text if text and text not in ("n/a", "?", ".") else None


def reflection_file(olx, refinement):
    """(what the core needs to read Olex2's reflection file, None) when the file is there and
    readable; (None, why not) when Olex2 names one that is not; (None, None) without one. A
    CIF open without a reflection file whose own reflections Olex2 holds (xfiles.cpp PostLoad)
    is the file: the core reads them from it as `crystalx assign x.cif --hkl x.cif` does."""
    path = str(olx.HKLSrc() or "").strip()
    if not path:  # a CIF's own, where Olex2 holds them (OLEX2_HELD_TAGS): the CIF is the file
        source = str(olx.FileFull())
        tag = cif_reflection_tag(source)
        if tag is None:
            return None, None
        if not tag.lower().startswith(OLEX2_HELD_TAGS):
            return None, own_reflections_note(source, tag)
        path = source
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        return None, "the reflection file %s is missing or unreadable: the data are not used" % path
    hklf = refinement.get("hklf", {})
    reflections = {
        "path": os.path.abspath(path),
        "hklf": abs(int(hklf.get("value", 4))) or 4,
        "scale": float(hklf.get("s", 1.0)) or 1.0,
        "twin": "twin" in refinement,
    }
    matrix = hklf.get("matrix")
    if matrix:
        reflections["matrix"] = [[float(v) for v in row] for row in matrix]
    twin = refinement.get("twin")
    if isinstance(twin, dict):  # its law, N and BASF, as olex2.refine reads them
        if twin.get("matrix"):
            reflections["twin_matrix"] = [[float(v) for v in row] for row in twin["matrix"]]
        if twin.get("n") is not None:
            reflections["twin_n"] = int(twin["n"])
        if twin.get("basf"):
            reflections["basf"] = [float(v) for v in twin["basf"]]
    elif hklf.get("basf"):  # HKLF 5's component fractions, where olex2.refine reads them
        # (cctbx_olex_adapter.py: model['hklf'].get('basf') when there is no TWIN)
        reflections["basf"] = [float(v) for v in hklf["basf"]]
    reflections.update(refined_subset(refinement))
    reflections.update(final_weights(refinement))
    restraints = restraint_lines(refinement)
    if restraints:
        reflections["restraints"] = restraints
    return reflections, None


# where a CIF carries reflections: SHELXL's embedded .hkl or .fcf, or a _refln loop of measured
# Fo² (crystalx_core io/cif.py REFLECTION_TAGS and its measured _refln tags)
CIF_REFLECTION_TAGS = (
    "_shelx_hkl_file",
    "_iucr_refine_reflections_details",
    "_iucr_refine_fcf_details",
    "_refln_f_squared_meas",
    "_refln_intensity_meas",
    "_refln_f_meas",
    "_diffrn_refln_intensity_net",
)
_CIF_TAGS_SEEN = {}  # (path, mtime, size) → the first such tag in the file, or None


# the forms of them Olex2 reads into its refinement model on opening a CIF that has no HKL
# source: a _refln loop, a _diffrn_refln loop, else _shelx_hkl_file (xlib/xfiles.cpp
# TXFile::PostLoad: RefinementModel::SetReflections, the HKL source left empty)
OLEX2_HELD_TAGS = ("_refln_", "_diffrn_refln_", "_shelx_hkl_file")


def cif_reflection_tag(source):
    """The first tag of CIF_REFLECTION_TAGS in the open file `source` when it is a CIF, else
    None (also where it cannot be read)."""
    if not source.lower().endswith(".cif"):
        return None
    try:  # the model is read at every step: a CIF of megabytes is read once, not each time
        stat = os.stat(source)
        key = (source, stat.st_mtime_ns, stat.st_size)
        if key not in _CIF_TAGS_SEEN:
            with open(source, encoding="utf-8", errors="replace") as cif:
                _CIF_TAGS_SEEN[key] = next(
                    (
                        line.split()[0]
                        for line in cif
                        if line.lstrip().lower().startswith(CIF_REFLECTION_TAGS)
                    ),
                    None,
                )
    except OSError:
        return None
    return _CIF_TAGS_SEEN[key]


def own_reflections_note(source, tag):
    """The line for a CIF open without an HKL source whose reflections (under `tag`) Olex2
    does not read (the IUCr's text fields: not among OLEX2_HELD_TAGS), which `crystalx assign
    x.cif --hkl x.cif` refines against."""
    name = os.path.basename(source)
    return (
        "%s carries its reflections in %s, which Olex2 does not read, so the answer is the "
        "model's alone (`crystalx assign %s --hkl %s` weighs it by them)" % (name, tag, name, name)
    )


def refined_subset(refinement):
    """MERG, OMIT and SHEL as Olex2's refinement model holds them, for the core to refine the
    reflections the structure's own refinement would. PyExport gives "merge" (MERG, 2 by
    default), "omit" with "s" and "2theta" (OMIT s 2θ: -2 and 180 unless the file sets them;
    whether it did is not exported, so only values other than those are sent) and "hkl" (each
    OMIT h k l), and "shel" with "low" and "high" only under a SHEL instruction
    (xlib/refmodel.cpp RefinementModel::PyExport, SetDefaults, AddOMIT, SetSHEL), which is how
    olex2.refine filters its data (cctbx_olex_adapter.py initialise_reflections:
    model.get('merge'), model['omit'], model.get('shel'))."""
    sent = {}
    merge = refinement.get("merge")
    if merge is not None and int(merge) != OLEX2_MERG:
        sent["merge"] = int(merge)
    omit = refinement.get("omit") or {}
    s, two_theta = float(omit.get("s", OLEX2_OMIT[0])), float(omit.get("2theta", OLEX2_OMIT[1]))
    if (s, two_theta) != OLEX2_OMIT:
        sent["omit_s"], sent["omit_2theta"] = s, two_theta
    if omit.get("hkl"):
        sent["omit_hkl"] = [[int(v) for v in hkl] for hkl in omit["hkl"]]
    shel = refinement.get("shel")
    if shel:
        sent["shel"] = [float(shel["low"]), float(shel["high"])]
    return sent


def final_weights(refinement):
    """WGHT and EXTI as Olex2's refinement model holds them, for the core's final refinement to
    weigh as the structure's own does. PyExport gives "weight" (the WGHT's numbers as the file
    wrote them, none without a WGHT; a .res's second WGHT, SHELXL's suggestion, is
    "proposed_weight", not used until Olex2 takes it) and "exti" only under EXTI
    (xlib/refmodel.cpp RefinementModel::PyExport); olex2.refine weighs with "weight", a 0.1 and
    b 0 where it has none (cctbx_olex_adapter.py get_shelxl_weighting)."""
    sent = {}
    weight = [float(v) for v in refinement.get("weight") or ()][:6]
    if weight:
        sent["weight"] = weight
    if refinement.get("exti") is not None:
        sent["exti"] = float(refinement["exti"])
    return sent


# each kind's numbers in SHELX's order, as Olex2 reads and writes them (xlib/ins.cpp
# TIns::ParseRestraint, xlib/srestraint.cpp TSimpleRestraint::ToString): "value" the target
# (SIMU's dmax), "esd1" and "esd2" its two standard deviations (PyExport's names for Esd, Esd1)
RESTRAINT_NUMBERS = (
    ("dfix", ("value", "esd1")),
    ("dang", ("value", "esd1")),
    ("sadi", ("esd1",)),
    ("chiv", ("value", "esd1")),
    ("flat", ("esd1",)),
    ("delu", ("esd1", "esd2")),
    ("rigu", ("esd1", "esd2")),
    ("simu", ("esd1", "esd2", "value")),
    ("isor", ("esd1", "esd2")),
    ("eadp", ()),
)


# a restraint's Q-peak, which Olex2's export does not name (crystalx_core io.shelx_restraints)
PEAK_WORD = "Q?"


def restraint_lines(refinement):
    """The restraints and constraints Olex2's refinement model holds, one SHELX line each with
    every atom by its snapshot label, for the core to refine with as `crystalx assign x.ins
    --hkl` does with the .ins's. PyExport gives each kind under its name ("dfix" ... "rigu",
    "eadp": xlib/refmodel.cpp RefinementModel::PyExport) as dicts of "value", "esd1", "esd2",
    "allNonH" and "atoms", each atom (tag, None or its EQIV's matrix), ranges and residues
    spelt out by Olex2 (xlib/srestraint.cpp TSimpleRestraint::PyExport, AtomRefList::Expand);
    "exyz" as groups of tags (xlib/exyzgroup.cpp). A tag is the atom's place among the
    exported atoms, residue by residue (xlib/asymmunit.cpp TAsymmUnit::PyExport); an atom of
    an EQIV is named `C1_$n`, the n-th of "equivalents" (RefinementModel::PyExport: each
    EQIV's rotation rows and translation), each sent as `EQIV $n x,y,z` for the core. A
    Q-peak's tag is -1 (TAsymmUnit::PyExport leaves them out), which peak the export does not
    say: it is written PEAK_WORD, which the core names in the job's notes and never refines
    (labels[-1] would restrain the last atom instead).
    Olex2's own kinds (olex2.restraint.*) are not sent: the command line reads none either;
    SAME is sent as a bare SAME, which the core names as one smtbx has no form of."""
    labels = [
        address(atom["label"], int(residue.get("number") or 0))
        for residue in refinement["aunit"]["residues"]
        for atom in residue["atoms"]
    ]
    equivalents = list(refinement.get("equivalents") or ())

    def name(tag, matrix=None):
        if not 0 <= tag < len(labels):  # a Q-peak's -1: which one, the export does not say
            return PEAK_WORD
        if matrix is None:
            return labels[tag]
        number = equivalents.index(matrix) + 1 if matrix in equivalents else 0
        return "%s_$%d" % (labels[tag], number)

    lines = []
    for kind, numbers in RESTRAINT_NUMBERS:
        for restraint in refinement.get(kind) or ():
            words = [kind.upper()] + ["%.6g" % float(restraint[key]) for key in numbers]
            lines.append(" ".join(words + [name(*atom) for atom in restraint["atoms"]]))
    for group in refinement.get("exyz") or ():
        lines.append("EXYZ " + " ".join(name(tag) for tag in group))
    for number, matrix in enumerate(equivalents, 1):  # ((r0), (r1), (r2), (t0, t1, t2))
        rows = [tuple(matrix[k]) + (matrix[3][k],) for k in range(3)]
        lines.append("EQIV $%d %s" % (number, _symop(rows)))
    if refinement.get("same"):
        lines.append("SAME")
    return lines


def _symop(matrix):
    """((r00,r01,r02,t0),(r10,...),(r20,...)) → 'x,-y,z+1/2'."""
    rows = []
    for row in matrix:
        terms = ""
        for coefficient, axis in zip(row[:3], "xyz"):
            c = int(round(coefficient))
            if c:
                terms += (
                    ("+" if c > 0 and terms else "-" if c < 0 else "")
                    + ("" if abs(c) == 1 else str(abs(c)) + "*")
                    + axis
                )
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


def residue_numbers(refinement):
    """Asymmetric-unit index → RESI number of the atoms in residues (none for the rest: the
    main residue, and Q-peaks, which the refinement model leaves out). Olex2's number, a
    class-only `RESI CLS` included, which it numbers after the highest residue before it
    (TAsymmUnit::NewResidue) where SHELXL reads 0: the core keeps the difference
    (io.shelx_names._residue_classes says why)."""
    numbers = {}
    for residue in refinement["aunit"]["residues"]:
        if residue.get("number"):  # the main residue has no number
            for atom in residue["atoms"]:
                numbers[int(atom["aunit_id"])] = int(residue["number"])
    return numbers


def address(label, residue):
    """C1 in the main residue, C1_2 in residue 2 (how the core names sites)."""
    return "%s_%d" % (label, residue) if residue else label


def split_address(label):
    """('C1', '_2') for C1_2; (label, '') outside residues."""
    stem, _, number = label.rpartition("_")
    return (stem, "_" + number) if stem and number.isdigit() else (label, "")


def max_label_length(olx):
    """The longest label Olex2 keeps: its option max_label_length, default 4 (xlib/xapp.cpp
    TXApp::GetMaxLabelLength, which GetRefinementModel's label corrector trims to), read as
    olex2-gui reads an option (util/pyUtil/olexFunctions.py: olx.app.OptValue; sdl/bapp.cpp
    BAPP_GetOptValue, registered as app.OptValue in olex2 and olex2c); MAX_LABEL where it
    cannot be read."""
    try:
        return int(olx.app.OptValue("max_label_length", str(MAX_LABEL))) or MAX_LABEL
    except (AttributeError, ValueError):
        return MAX_LABEL


def translate(commands, model, longest=MAX_LABEL):
    """The core's commands with every atom named by `#c<aunit id>`, and the H asked per id.
    A label the model does not hold, or a new label Olex2 would trim (over `longest`
    characters: max_label_length), raises ApplyError."""
    ids = dict((s["label"].upper(), i) for s, i in zip(model.snapshot["sites"], model.ids))
    out, asked = [], {}

    def unique(label):
        if label.upper() not in ids:
            raise ApplyError(
                "the core named %s, which the model does not hold; nothing was changed" % label
            )
        return ids[label.upper()]

    for command in commands:
        words = command.split()
        if not words:
            continue
        verb = words[0].lower()
        if verb == "name" and len(words) == 3:
            stem, residue = split_address(words[2])
            if len(stem) > longest or residue:
                raise ApplyError(
                    "the core proposed label %s, which Olex2 cannot keep; nothing was changed"
                    % words[2]
                )
            index = unique(words[1])
            ids.pop(words[1].upper())
            ids[(stem + split_address(words[1])[1]).upper()] = index
            out.append("name #c%d %s" % (index, stem))
        elif verb == "kill" and len(words) > 1:
            out.append("kill " + " ".join("#c%d" % unique(w) for w in words[1:]))
        elif verb == "part" and len(words) > 2 and words[1].lstrip("-").isdigit():
            out.append("part %s %s" % (words[1], " ".join("#c%d" % unique(w) for w in words[2:])))
        elif verb == "fvar" and len(words) > 2 and words[1].isdigit() and int(words[1]) > 20:
            # the core sends SHELX's 10m+k; Olex2's fvar takes the variable and k apart (an
            # integer first number is the variable itself: xlib/xmacro.cpp macFvar), and the
            # core numbers its variables from 2, knowing none: after Olex2's own here
            m, k = divmod(int(words[1]), 10)
            atoms = " ".join("#c%d" % unique(w) for w in words[2:])
            out.append("fvar %d %d %s" % (m + model.variables - 1, k, atoms))
        elif verb == "hadd" and len(words) > 2 and words[1].isdigit():
            pivots = [unique(w) for w in words[2:]]
            for index in pivots:
                asked[index] = H_PER_CODE.get(int(words[1]) // 10, 0)
            out.append("hadd %s %s" % (words[1], " ".join("#c%d" % i for i in pivots)))
        elif verb == "hadd" and explicit_hadd(words):
            atoms = [unique(w) for w in words[2:-2]]
            asked[atoms[0]] = H_PER_CODE.get(int(words[1][1:]) // 10, 0)
            out.append(
                "hadd %s %s %s"
                % (words[1], " ".join("#c%d" % i for i in atoms), " ".join(words[-2:]))
            )
        else:
            raise ApplyError("unexpected command from the core: %r; nothing was changed" % command)
    return out, asked


def explicit_hadd(words):
    """`hadd -CODE pivot first others -a=CODE -p=PART`: one group on the atoms listed (the
    core's form where Olex2's `hadd CODE pivot` would place other groups: crystalx_core
    olex2.olex2_hadd)."""
    return (
        len(words) >= 6
        and words[1][:1] == "-"
        and words[1][1:].isdigit()
        and words[-2] == "-a=" + words[1][1:]
        and words[-1][:3] == "-p="
        and words[-1][3:].lstrip("-").isdigit()
    )


def run_command(olex, olx, command):
    """Run one translated command: an explicit hadd through olx.HAdd, which hands each word
    to the macro as it is (repository/pyext.cpp runOlexFunctionEx: arguments to Cmds, keywords
    to options) so its negative code is a code, not an option; every other through olex.m."""
    words = command.split()
    if words[0] == "hadd" and explicit_hadd(words):
        options = dict(w[1:].split("=", 1) for w in words[-2:])
        return olx.HAdd(*words[1:-2], **options) is not False
    if words[0] == "part":  # its number a word of the macro, never read as an option
        return olx.Part(*words[1:]) is not False
    return bool(olex.m(command))


class Journal(object):
    """What an Apply did: the Olex2 undo entries it may have pushed, the atoms its name and
    kill commands touched, the H hadd made, and the model before and after, so that Revert
    can use Olex2's undo and then check the result."""

    def __init__(self, before):
        self.before = before  # Model read just before applying
        self.after = None  # Model read just after
        self.undoable = 0  # name and kill commands: one undo entry each
        self.steps = 0  # the most undo entries the commands can have pushed (safe_afix)
        self.touched = []  # aunit ids that name or kill changed
        self.added = []  # aunit ids of the H atoms hadd created
        self.declared = []  # aunit ids that part or fvar changed (no undo entry: put back)
        # the free variables Apply made that Revert leaves in Olex2's list, nothing using them:
        # no macro deletes a variable; Olex2 drops those nothing refers to when it writes the
        # model (xlib/xfiles.cpp TXFile::SaveToFile → UpdateAsymmUnit → RefinementModel::
        # Validate → XVarManager::Validate, xlib/leq.cpp), as before every refinement
        self.unused_variables = []
        self.refined = False
        self.history = None  # Olex2's History node when applied (Session.history_node)

    def record(self, command):
        """Count the undo entries a command that ran may have pushed, and what it touched."""
        words = command.split()
        if words[0] in ("name", "kill"):
            self.undoable += 1
            # name: its own entry and ValidateHGroups' when that deleted H groups; kill: one
            # entry, riding H of the neighbours included (gxapp.cpp TGXApp::DeleteXAtoms)
            self.steps += 2 if words[0] == "name" else 1
            ids = [int(w[2:]) for w in words[1:] if w.startswith("#c")]
            self.touched += ids[:1] if words[0] == "name" else ids
        elif words[0] == "hadd":
            self.steps += 1  # ValidateHGroups' entry only: hadd itself cannot be undone
        elif words[0] in ("part", "fvar"):  # xlib macros: no undo entry, Revert resets them
            self.declared += [int(w[2:]) for w in words[2:] if w.startswith("#c")]

    def restored(self, olx):
        """Every atom Apply renamed or deleted is back with its label and element, and no atom
        of before is deleted (ValidateHGroups may have taken riding H)."""
        au = olx.xf.au
        for index in self.touched:
            label, element = self.before.states[index][:2]
            if au.IsAtomDeleted(index) == "true" or (
                au.GetAtomName(index),
                au.GetAtomType(index),
            ) != (label, element):
                return False
        return not any(au.IsAtomDeleted(i) == "true" for i in self.before.states)

    def undeclare(self, olex, olx, links):
        """Give every atom of before whose PART, occupancy or occupancy's free variable
        differs now (`links`: occupancy_links now) its PART and its occupancy back. macPart
        and macFvar also set the H riding on each atom named, so the H are put back after the
        other atoms. `fvar m k` sets k over the atom's degeneracy d (macFvar), so the atom is
        first fixed with `fvar 1 p`, d read from the p/d that gave (on a special position), then
        given p × d fixed, or its link back, `fvar ±m k×d` (SetParam(±(10m + k)): k × fv(m),
        or k × (1 - fv(m)) for -m). The free variable made stays in Olex2's list, unused: no
        macro removes one (see `unused_variables`)."""
        au, ok = olx.xf.au, True
        for hydrogens in (False, True):
            for index in sorted(self.before.states):
                element, _, _, occu, part = self.before.exact[index][1:6]
                if (element in ("H", "D")) != hydrogens or au.IsAtomDeleted(index) == "true":
                    continue
                atom = "#c%d" % index
                if str(au.GetAtomPart(index)) != part:
                    ok &= olx.Part(part, atom) is not False
                link = self.before.links.get(index)
                if str(au.GetAtomOccu(index)) == occu and links.get(index) == link:
                    continue
                wanted = float(occu)
                ok &= bool(olex.m("fvar 1 %.10g %s" % (wanted, atom)))
                given = float(au.GetAtomOccu(index))
                degeneracy = round(wanted / given) if given else 1
                if link:
                    ok &= bool(olex.m("fvar %d %.10g %s" % (link[0], link[1] * degeneracy, atom)))
                elif degeneracy != 1:
                    ok &= bool(olex.m("fvar 1 %.10g %s" % (wanted * degeneracy, atom)))
        return ok

    def revert(self, olex, olx, olex_core):
        """Put the model back; a list of what differs from before (empty when exact)."""
        ok = True
        for _ in range(self.steps):
            if self.restored(olx):
                break
            ok &= bool(olex.m("undo"))
        au = olx.xf.au
        new = [  # hadd's H, and any an undo of ValidateHGroups brought back
            i
            for i in range(int(au.GetAtomCount()))
            if i not in self.before.states and au.IsAtomDeleted(i) != "true"
        ]
        if new:
            ok &= bool(olex.m("kill " + " ".join("#c%d" % i for i in new)))
        if self.declared:
            ok &= self.undeclare(olex, olx, occupancy_links(olex_core.GetRefinementModel(False)))
        self.undoable, self.steps, self.touched, self.added = 0, 0, [], []
        self.declared = []
        now = read_model(olx, olex_core)
        problems = differences(self.before, now)
        problems += [
            "%s: its occupancy's free variable differs (was %s, now %s)"
            % (self.before.states[i][0], _sof_code(link), _sof_code(now.links.get(i)))
            for i, link in sorted(self.before.links.items())
            if i in now.states and now.links.get(i) != link
        ]
        if not ok:
            problems.insert(0, "Olex2 refused part of the revert")
        self.unused_variables = list(range(self.before.variables + 1, now.variables + 1))
        return problems


def _sof_code(link):
    """SHELX's sof code of an occupancy_links entry: 21 for (2, 1.0), -21 for (-2, 1.0)."""
    if link is None:
        return "none"
    m, k = link
    return "%g" % ((10 * abs(m) + k) * (1 if m > 0 else -1))


def differences(before, now, limit=6):
    """Plain words for every atom whose state differs between two readings."""
    names = ("label", "element", "peak height", "position", "Uiso", "occupancy", "part")
    found = []
    for index, old in sorted(before.states.items()):
        new = now.states.get(index)
        if new is None:
            found.append("%s is gone" % old[0])
        elif new != old:
            fields = [names[k] for k in range(len(old)) if old[k] != new[k]]
            found.append(
                "%s: %s differ%s (was %s, now %s)"
                % (
                    old[0],
                    ", ".join(fields),
                    "" if len(fields) > 1 else "s",
                    _show(old, fields, names),
                    _show(new, fields, names),
                )
            )
    extra = [s[0] for i, s in sorted(now.states.items()) if i not in before.states]
    if extra:
        found.append("atoms not there before: %s" % " ".join(extra))
    return found[:limit] + (["and %d more" % (len(found) - limit)] if len(found) > limit else [])


def changed_since(before, now, limit=3):
    """Nothing (an empty text) when the open model `now` is still `before`: the same file,
    cell, symmetry and SFAC/UNIT, the same atoms under the same ids with the same label,
    element, peak height, position, Uiso, occupancy and PART. Else what differs, in one line:
    the core's answer for `before` names atoms by the ids, labels and sites of then, so it is
    not applied to anything else."""
    if now.snapshot["source"] != before.snapshot["source"]:
        return "%s is open, not %s" % (now.snapshot["source"], before.snapshot["source"])
    for keys, what in (
        (("cell",), "the cell"),
        (("symops",), "the symmetry"),
        (("sfac", "unit"), "SFAC/UNIT"),  # another element under the same count is a change
    ):
        if [now.snapshot[k] for k in keys] != [before.snapshot[k] for k in keys]:
            return "%s changed" % what
    return "; ".join(differences(before, now, limit))


def renumbered_since(before, now, limit=0.5):
    """Some aunit id names an atom more than `limit` Å from where that id's atom was: the
    atoms were renumbered, as loading a file (a refinement's .res) does; a rename or a
    refinement's shifts leave each id where it was."""
    return any(
        _distance(now.cell, now.states[i][3], state[3]) > limit
        for i, state in before.states.items()
        if i in now.states
    )


def same_site(cell, crd, other, limit=0.5):
    """Two of Olex2's atom coordinates ("x, y, z", xf.au.GetAtomCrd) within `limit` Å: the
    same atom, moved at most by a refinement's shifts, not another one renumbered onto its id."""
    return _distance(cell, _floats(crd), _floats(other)) <= limit


def _show(state, fields, names):
    return " ".join(str(state[names.index(f)]) for f in fields)


def apply_commands(olex, olx, olex_core, commands, before, say):
    """Run the core's commands by aunit id inside Freeze and check what Olex2 did; on a
    refused command, a rename that did not happen or a label Olex2 changed, put the model back
    and raise ApplyError. H that hadd did not add (or added more of) are reported via `say`;
    a named hadd that fails (macHAdd, Hfix < 0: "at least 2 atoms are expected" where fewer
    of its atoms are found) costs only its H: it is named in one line, the rest stands.
    Without Olex2's GUI (olex2c: no Freeze, no undo) nothing is frozen and a refusal says
    which commands stand."""
    translated, asked = translate(commands, before, max_label_length(olx))
    if asked and is_grown(olx) is not False:
        olex.m("fuse")  # hadd refuses a grown structure; the asymmetric unit is unchanged
        say("fused the grown structure so that riding H can be added")
    journal = Journal(before)
    gui = has_gui(olx)
    killed = _killed_ids(translated)
    declares = any(c.split()[0] in ("part", "fvar") for c in translated)
    if (killed or declares) and gui:  # kill deletes only the selected ones of the atoms it
        # names, if any is selected (gxmacro.cpp GXLibMacros::macKill), and fvar takes the
        # selection over the atoms named (macFvar); name clears it too
        olex.m("sel -u")
    frozen = olx.Freeze() if gui else "false"
    if gui:
        olx.Freeze(True)
    try:
        refused = []
        for done_before, command in enumerate(translated):
            done = run_command(olex, olx, command)
            journal.record(command)  # a refused command may still have pushed entries
            if not done and explicit_hadd(command.split()):
                refused.append(command.split()[2])  # its H are missing, the rest stands
            elif not done and not gui:
                raise ApplyError(
                    "Olex2 refused %r; olex2c has no undo, so the %d command%s before it "
                    "stand%s: load the file again to go back"
                    % (command, done_before, *(("", "s") if done_before == 1 else ("s", "")))
                )
            elif not done:
                _roll_back(journal, olex, olx, olex_core)
                raise ApplyError("Olex2 refused %r; the model was put back as it was" % command)
        now = read_model(olx, olex_core)
        journal.added = [
            i for i in now.states if i not in before.states and now.states[i][1] == "H"
        ]
        expected = _expected_labels(translated)
        wrong = [
            "rename %s (now %s)" % (label, now.states.get(i, ("gone",))[0])
            for i, label in sorted(expected.items())
            if now.states.get(i, ("",))[0] != label
        ] + ["delete %s" % now.states[i][0] for i in killed if i in now.states]
        wrong += [
            "put %s in PART %d" % (now.states[i][0], part)
            for i, part in sorted(_declared_parts(translated).items())
            if now.states.get(i, ("",) * 7)[6] != part
        ]
        if wrong and not gui:
            raise ApplyError(
                "Olex2 did not %s; olex2c has no undo: load the file again to go back"
                % ", ".join(wrong)
            )
        if wrong:
            _roll_back(journal, olex, olx, olex_core)
            raise ApplyError(
                "Olex2 did not %s; the model was put back as it was" % ", ".join(wrong)
            )
        journal.after = now
    finally:
        if gui:
            olx.Freeze(frozen == "true")
    if refused:
        say(
            "Olex2 did not take hadd with the bonds named for %s"
            % " ".join(now.states[int(m[2:])][0] for m in refused)
        )
    short = hydrogen_shortfall(asked, journal.added, now)
    if short:
        say("Olex2's hadd did not give the H asked for: %s" % "; ".join(short))
    return journal


def is_grown(olx):
    """True or False from Olex2's xf.latt.IsGrown (xlib/lattice.cpp TLattice::LibIsGrown);
    None when this Olex2 cannot tell (then fuse anyway: fusing an unfolded structure changes
    nothing)."""
    try:
        return str(olx.xf.latt.IsGrown()).lower() == "true"
    except (AttributeError, RuntimeError):
        return None


def _expected_labels(translated):
    """aunit id → the label its last `name` gives it."""
    labels = {}
    for command in translated:
        words = command.split()
        if words[0] == "name":
            labels[int(words[1][2:])] = words[2]
    return labels


def _declared_parts(translated):
    """aunit id → the PART its last `part` command gives it."""
    parts = {}
    for command in translated:
        words = command.split()
        if words[0] == "part":
            parts.update((int(w[2:]), int(words[1])) for w in words[2:])
    return parts


def _killed_ids(translated):
    """aunit ids the `kill` commands name."""
    return [
        int(word[2:])
        for command in translated
        if command.startswith("kill ")
        for word in command.split()[1:]
    ]


def _roll_back(journal, olex, olx, olex_core):
    olx.Freeze(False)
    journal.revert(olex, olx, olex_core)


def hydrogen_shortfall(asked, added, model):
    """Per pivot asked for n riding H: how many hadd gave it (each new H counts for its
    nearest non-H atom); a line for every pivot that got another number. hadd gives an H a
    positive PART other than its pivot's only where it split the pivot by the PARTs of a
    disorder beside it (xlib/xmacro.cpp XLibMacros::macHAdd): such a pivot must have n in each
    of two or more PARTs. PART -1 is no split: the H of a methyl or NH3 whose PART 0 pivot
    sits on a special position (xlib/xlcongen.cpp TXlConGen::FixAtom)."""
    got = dict((i, {}) for i in asked)
    heavy = [i for i, s in model.states.items() if s[1] not in ("H", "Q") and i not in added]
    for h in added:
        nearest = min(
            heavy, key=lambda i: _distance(model.cell, model.states[i][3], model.states[h][3])
        )
        parts = got.setdefault(nearest, {})
        parts[model.states[h][6]] = parts.get(model.states[h][6], 0) + 1
    lines = []
    for i in sorted(got):
        want, parts = asked.get(i, 0), got[i]
        if any(0 < part != model.states[i][6] for part in parts):  # split by PART
            if len(parts) < 2 or any(n != want for n in parts.values()):
                counts = ", ".join(
                    "%d%s in PART %d" % (n, " H" if k == 0 else "", part)
                    for k, (part, n) in enumerate(sorted(parts.items()))
                )
                lines.append("%s got %s, not %d in each PART" % (model.states[i][0], counts, want))
        elif sum(parts.values()) != want:
            lines.append("%s got %d H, not %d" % (model.states[i][0], sum(parts.values()), want))
    return lines


def nearest_atom(model, frac, limit=0.5, atoms_first=True):
    """aunit id of the atom (H and Q-peaks last unless not `atoms_first`) within `limit` Å of
    `frac`, nearest first; None when there is none."""
    near = [
        (atoms_first and s[1] in ("H", "Q"), _distance(model.cell, s[3], frac), i)
        for i, s in model.states.items()
    ]
    near = [item for item in near if item[1] <= limit]
    return min(near)[2] if near else None


def _distance(cell, a, b):
    """Å between fractional points, nearest lattice image (hadd puts H beside its atom)."""
    d = [(x - y) - round(x - y) for x, y in zip(a, b)]
    la, lb, lc = cell[:3]
    ca, cb, cg = (math.cos(math.radians(v)) for v in cell[3:6])
    return math.sqrt(
        max(
            0.0,
            (la * d[0]) ** 2
            + (lb * d[1]) ** 2
            + (lc * d[2]) ** 2
            + 2 * lb * lc * ca * d[1] * d[2]
            + 2 * la * lc * cb * d[0] * d[2]
            + 2 * la * lb * cg * d[0] * d[1],
        )
    )
