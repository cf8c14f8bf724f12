"""Test double of Olex2's `olex_core` module."""

from _olex2 import STATE


def SGInfo(*args):
    """None when no structure is open (py_core.cpp pySGInfo). "MatricesAll" is every
    operator of the group, centring and inversion included (include_lattice true unless a
    group is named with False: GetMatrices(ml, mattAll)), each three rows built as
    Py_BuildValue("(iiid)(iiid)(iiid)"): whole-number rotations, a float translation."""
    if STATE.file is None:
        return None
    matrices = tuple(
        tuple((int(round(r[0])), int(round(r[1])), int(round(r[2])), float(r[3])) for r in m)
        for m in STATE.matrices
    )
    return {
        "Number": 0,
        "MatricesAll": matrices,
        "Matrices": matrices,
        "Centrosymmetric": False,
    }


def IncRunningThreadsCount():
    STATE.raise_count()


def DecRunningThreadsCount():
    STATE.lower_count()


def GetRefinementModel(calculate_connectivity=False):
    """Atoms only (Q-peaks are not part of the refinement model), by residue: the main one
    first, without a number, and no residue without atoms (asymmunit.cpp
    TAsymmUnit::PyExport); `aunit_id` is the atom's index for olx.xf.au. Runs Olex2's label
    corrector first, as the real one does (py_core.cpp). With the HKLF instruction, the
    experimental details, MERG ("merge") and OMIT ("omit": s and 2theta always, "hkl" only
    with an OMIT h k l) always, "weight" and "proposed_weight" always (empty tuples without
    WGHT), and only under TWIN the twin, only under SHEL "shel" (low, high), only under EXTI
    "exti" (refmodel.cpp PyExport)."""
    STATE.correct_labels()
    residues = {}
    for index, a in enumerate(STATE.atoms):
        if not a.deleted and a.type != "Q":
            residues.setdefault(a.resi, []).append(
                {
                    "label": a.label,
                    "type": a.type,
                    "crd": [list(a.crd)],
                    "occu": [a.occu],
                    "uiso": [a.uiso],
                    "part": a.part,
                    "aunit_id": index,
                }
            )
    main = residues.pop(0, [])  # an empty residue is left out, the main one too
    exported = [{"class": "default", "atoms": tuple(main)}] if main else []
    exported += [
        {"class": "RES", "alias": n, "number": n, "chainId": "", "atoms": tuple(atoms)}
        for n, atoms in sorted(residues.items())
    ]
    cell = dict(  # each a (value, esd) pair, as FragmentDB's get_cell reads ['a'][0]
        (name, (value, 0.0))
        for name, value in zip(("a", "b", "c", "alpha", "beta", "gamma"), STATE.cell)
    )
    model = {
        "aunit": {"cell": cell, "residues": exported},
        "hklf": dict(STATE.hklf),
        "exptl": {
            "radiation": STATE.radiation,
            "temperature": STATE.temperature,
            "size": (0.0, 0.0, 0.0),
        },
    }
    omit = {"s": STATE.omit_s, "2theta": STATE.omit_2theta}
    if STATE.omits:
        omit["hkl"] = tuple(tuple(hkl) for hkl in STATE.omits)
    model["variables"] = {"variables": _variables(_tags(exported)), "equations": ()}
    model.update(merge=STATE.merge, omit=omit)
    model.update(weight=tuple(STATE.used_weight), proposed_weight=tuple(STATE.proposed_weight))
    if STATE.exti is not None:
        model["exti"] = STATE.exti
    if STATE.twin is not None:
        model["twin"] = dict(STATE.twin)
    if STATE.shel is not None:
        model["shel"] = {"low": STATE.shel[0], "high": STATE.shel[1]}
    model.update(_restraints(exported))
    return model


# the occupancy as XVarReference's "index" names it: xlib/catom.h catom_var_name_Sof = 4
# (catom_var_name_Scale 0, _X 1, _Y 2, _Z 3, _Sof 4, _Uiso 5, then the six U)
SOF_INDEX = 4


def _tags(exported):
    """aunit id → the atom's tag: its place among the exported atoms, residue by residue
    (TAsymmUnit::PyExport sets each atom's tag so before the restraints and variables)."""
    atoms = [atom for residue in exported for atom in residue["atoms"]]
    return dict((atom["aunit_id"], tag) for tag, atom in enumerate(atoms))


def _variables(tags):
    """XVarManager::PyExport (xlib/leq.cpp): one entry per variable, FVAR 1 first, each its
    "value" and "references" (XVar::PyExport: the valid referencers only, a deleted atom
    none), each reference (XVarReference::PyExport) the container's "name" ("catom":
    TAsymmUnit::IdName), "id" the referencer's GetPersistentId, for an atom its tag
    (TAsymmUnit::GetPersistentIdOf: TCAtom::GetTag, set by the export; -1 for a Q-peak,
    which is valid but not exported), the parameter's
    "index", the "relation" (XVarManager::RelationNames: "None", "var", "one_minus_var")
    and "k"."""
    references = [[] for _ in STATE.variables]
    for index, atom in enumerate(STATE.atoms):
        if atom.occu_link and not atom.deleted:
            m, relation, k = atom.occu_link
            reference = {"name": "catom", "id": tags.get(index, -1), "index": SOF_INDEX}
            reference.update(relation=relation, k=k)
            references[m - 1].append(reference)
    return tuple(
        {"value": value, "references": tuple(refs)}
        for value, refs in zip(STATE.variables, references)
    )


# TSimpleRestraint::Validate (xlib/srestraint.cpp): a list of rltAtomsNN type needs N atoms
# (refmodel.cpp's constructor: FLAT rltAtoms4N; DELU, SIMU, RIGU, EADP rltAtoms2N; CHIV,
# ISOR rltAtoms1N), else it is emptied and not exported
FEWEST_ATOMS = {"flat": 4, "delu": 2, "simu": 2, "rigu": 2, "eadp": 2}


def _restraints(exported):
    """The restraints and constraints as RefinementModel::PyExport gives them: every kind of
    TIns::ParseRestraint under its lower-case name, always (a tuple, empty without one);
    each restraint a dict of "allNonH", "esd1", "esd2", "value" and "atoms", each atom (tag,
    None or its EQIV's entry of "equivalents"), the deleted ones left out, and a restraint
    left with fewer than its kind needs (FEWEST_ATOMS) and not for all non-H atoms not
    exported (srestraint.cpp
    TSRestraintList::PyExport); DFIX, DANG and SADI one dict with all their atoms, whole
    pairs only (AtomRefList::EnsureAtomGroups), here every other kind too (Olex2: one per
    residue it is expanded in; the double's lines name one). An atom's tag is its place
    among the exported atoms, -1 for a Q-peak (asymmunit.cpp TAsymmUnit::PyExport, which
    leaves the Q-peaks out). "exyz" is a tuple of
    groups of tags (exyzgroup.cpp), "same" None without SAME, else one entry per group (its
    words here: sameg.cpp TSameGroupList::PyExport) and
    "equivalents" each EQIV's matrix, ((r00, r01, r02), (r10, ...), (r20, ...), (t0, t1, t2))
    (refmodel.cpp RefinementModel::PyExport), an atom of an EQIV given that same entry."""
    from _olex2 import RESTRAINT_READING

    tags = _tags(exported)
    index = dict((id(a), i) for i, a in enumerate(STATE.atoms))
    equivalents = dict((name.upper(), matrix) for name, matrix in STATE.equivalents)

    def atoms_of(refs):  # a Q-peak's tag is -1: TAsymmUnit::PyExport sets it so, and only
        # deleted atoms are dropped (AtomRefList::Validate, run after it)
        return tuple(
            (tags.get(index[id(a)], -1), None if eq is None else equivalents.get(eq.upper()))
            for a, eq in refs
            if not a.deleted
        )

    out = dict((kind.lower(), []) for kind in RESTRAINT_READING)
    for kind, read in STATE.restraints:
        atoms = atoms_of(read["atoms"])
        if kind in ("dfix", "dang", "sadi"):  # pairs only (AtomRefList::EnsureAtomGroups)
            atoms = atoms[: len(atoms) // 2 * 2]
        if len(atoms) >= FEWEST_ATOMS.get(kind, 1) or read["allNonH"]:
            entry = dict((key, read[key]) for key in ("allNonH", "esd1", "esd2", "value"))
            entry["atoms"] = atoms
            out[kind].append(entry)
    out = dict((kind, tuple(entries)) for kind, entries in out.items())
    out["exyz"] = tuple(
        tuple(tag for tag, _ in atoms_of(group)) for group in STATE.exyz if atoms_of(group)
    )
    out["same"] = tuple(STATE.same) or None
    out["equivalents"] = tuple(matrix for _, matrix in STATE.equivalents)
    return out
