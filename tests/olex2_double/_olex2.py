"""The state behind the Olex2 test double: one asymmetric unit, a command interpreter with an
undo stack, what the GUI was asked to show, and Olex2's threading and environment.

It refuses and accepts what Olex2 does, with the same side effects, each read from Olex2's
source (pcxod/olex2 for the C++ core, the olex2-gui tree for util/pyUtil):
- return conventions: olx values are strings ("true"/"false"); `olex.m` returns a bool and
  never raises, and is True even when the macro only logged an error (xmacro.cpp,
  gxmacro.cpp: errors go to the log, the macro "succeeds"); unknown labels in a macro's atom
  list are skipped silently (xatom lookup in gxapp.cpp `FindXAtoms`);
- `name` retypes from the label, zeroes a Q-peak's height and, onto a label in use in its
  residue, gives the other atom its element and the first free number there, the renamed
  atom's old label included (gxapp.cpp `TGXApp::Name`, asymmunit.cpp
  `TLabelChecker::CheckLabel`); Olex2's `undo` restores both; the label
  given may be the atom's own: `name N1 N1` types an N1 that was C as N (gxapp.cpp
  `TGXApp::Name(TXAtom&, const olxstr&)`: the type is found from the new label and set
  whatever the old label, the undo entry kept when only the type changed);
- bare labels match in every residue for `kill`, `Label`, `hadd`; `#c<aunit id>` addresses
  one atom (gxapp.cpp atom lookup; mainform.cpp's own menus send `fix occu ... #c<id>`);
- `hadd` on a grown structure is a macro error, so olex.m is False (xlib/xmacro.cpp
  XLibMacros::macHAdd: "not applicable to grown structures"); it adds nothing for an atom
  whose bond count does not fit the HFIX code ("Failed to translate HFIX code" is only
  logged), and pushes no undo entry of its own (xlcongen.cpp, xmacro.cpp macHAdd); a pivot
  beside a disorder (neighbours in two or more PARTs other than 0 and its own, metals and
  negative PARTs too) gets one group per PART, its H in that PART at that neighbour's
  occupancy (macHAdd "Processing n parts", unitcell.cpp GetAtomEnviList with a part); the
  bond count, metals included, must fit the code (xlcongen.cpp ShelxToOlex); with a negative
  code (through olx.HAdd) one group rides on exactly the atoms listed (`hadd_listed`); any
  other pivot's H get its PART and occupancy,
  but a methyl's or NH3's on a PART 0 pivot on a special position PART -1 (xlcongen.cpp
  TXlConGen::FixAtom: negative_part when the degeneracy is not 1);
- Olex2's undo stack (gxmacro.cpp): `name` pushes one entry per call (GXLibMacros::macName,
  two arguments only) and then, with the `safe_afix` option (default true: xlib/xapp.cpp
  TXApp::DoUseSafeAfix), runs TLattice::ValidateHGroups (xlib/lattice.cpp) whether or not
  the rename worked: it deletes every riding-H group whose pivot no longer has the heavy
  neighbours its AFIX m needs and pushes one more entry when it deleted any (NULL, so
  nothing, otherwise: sdl/undo.h TUndoStack::Push); `hadd` runs the same check; `kill`
  pushes one entry only (GXLibMacros::macKill: app.DeleteXAtoms(todel), no
  ValidateHGroups), in which TGXApp::DeleteXAtoms (gxlib/gxapp.cpp) deletes with a heavy
  atom every H bonded to it and, under safe_afix, "one level deeper" the riding H (AFIX m
  != 0, TNetwork::IsBondAllowed: same part or part 0) of its heavy neighbours; `undo` pops
  one entry and succeeds on an empty stack too (GXLibMacros::macUndo); `kill` with some of
  the atoms it names selected deletes only those selected (`todel`), and is refused inside a
  mode (`mode`: "Kill inaccessible from within a mode");
- `kill labels` hides every label of the view: each atom's and bond's own (made with `Label`)
  and the free ones (TGXApp labels: `esd -label`, the Draw tools'), not the `labels` display
  mode (gxmacro.cpp GXLibMacros::macKill, 024a95a; macLabels toggles TXGlLabels instead);
  `Label atom=` with no text leaves that atom's label showing nothing (macLabel sets the text
  as given; TXGlLabel draws its text, gxlib/gllabel.cpp);
- `sel` adds the atoms it names to the selection and skips a name it cannot find, `sel -u`
  empties it (gxmacro.cpp `macSel`, gxapp.cpp `TGXApp::SelectAtoms`); `refine N` keeps N as
  the structure's own cycle count (olex2-gui macro.xld `refine` → `SetMaxCycles`); the
  GUI's `refine` answers True even when it stopped before refining (its `onabort`, and
  RunRefinementPrg printing its own errors), olex2c's False when a command of it failed;
- a refinement with an external program (SHELXL) ends by loading the .res it wrote
  (olex2-gui, read in MilitaoLucas/olex2-gui: util/pyUtil/PyToolLib/RunPrg.py
  RunPrg.runAfterProcess → util/pyUtil/olexFunctions.py OlexFunctions.reloadStructureAtreap:
  `atreap_fader -b "<path>/<name>.res"`); the
  load clears the undo stack (gxapp.cpp xappXFileLoad::Enter: GetUndo().Clear()) and the
  atoms are numbered in file order, each riding H after its pivot, Q-peaks last, deleted
  atoms gone, and the Q-peaks are the ones SHELXL wrote from its new difference map, the old
  ones gone; olex2.refine reloads nothing: FullMatrixRefine.post_peaks
  (util/pyUtil/CctbxLib/refinement.py, MilitaoLucas/olex2-gui 00f5ddb) kills every Q-peak in
  the asymmetric unit (`kill $Q -au`: deleted where they are, ids kept), adds each new peak
  with xf.au.NewAtom(height, x, y, z) (xlib/asymmunit.cpp LibNewAtom: a deleted atom or a
  peak within 0.01 Å of it is revived as the peak, a live atom there skips it, else a new
  atom at the end; _UpdateQPeaks names the live peaks Q1.. by falling height) and ends with
  xf.EndUpdate, whose OnFileLoad clears the undo stack as a load does (xlib/xfiles.cpp
  TXFile::EndUpdate: "we keep the asymmunit");
- a refinement that gave an R1 is recorded in Olex2's History: RunRefinementPrg
  .doHistoryCreation sets snum.refinement.last_R1 and History.create_history adds a node
  named md5(time.asctime()) and sets snum.history.current_node to it (History.py
  HistoryTree.add_node: the name changes with the clock's second; the node is a new Node
  object, History.tree.active_node, module History); a refine that stopped
  before or in the program records nothing, nor one under snum.init.skip_routine, which the
  refinement then sets False (RunPrg.py doHistoryCreation, runAfterProcess); loading a structure
  sets the node of its history
  (loadHistory, params.phil declares both parameters), but a CIF gets none (create_history
  returns for a .cif); refining a CIF's model writes <name>.ins and loads SHELXL's <name>.res
  (RunRefinementPrg.run: OV.File; runAfterProcess: reloadStructureAtreap), so the open file is
  then the .res (olex2.refine: the .ins, as its xf.EndUpdate needs an .ins loaded);
- `part N atoms` sets the PART of the atoms named and of the H bonded to each non-H one, then
  connectivity is rebuilt (macPart); `fvar m [k] atoms` links each atom's occupancy to FVAR m
  (m = 1: fixed) with the factor k, or its present occupancy without one: an integer m is the
  variable's number, not SHELX's code (`fvar 21` is FVAR 21), only a number that is not an
  integer is read as 10m+k; fv(m) made at 0.5 where the model has fewer variables; neither
  pushes an undo entry (macPart and macFvar, pcxod/olex2 xlib/xmacro.cpp at 0066c58;
  XVarManager::SetParam, GetReferencedVar, NewVar(val = 0.5));
  `GetRefinementModel()["variables"]["variables"]` holds one entry per variable, FVAR 1 (the
  scale) first (XVarManager::PyExport; each XVar's own export is reduced to its value here);
- a negative PART bonds to no symmetry image of its own PART (nor of another non-zero PART):
  two atoms in non-zero PARTs, either negative, bond only untransformed, while a PART 0 atom
  bonds to any image of them (xlib/network.cpp TNetwork::IsBondAllowed(TCAtom, TCAtom,
  smatd): sm.IsFirst(), equivalents left out);
- `GetRefinementModel` runs the label corrector: labels over 4 characters are trimmed and
  duplicates in a residue renamed (py_core.cpp → refmodel/asymmunit `FixLabels`); it gives
  the HKLF instruction as "hklf" (value, s, m, wt, matrix), the CELL card's wavelength in
  "exptl" (radiation, temperature, size) and "twin" only when a TWIN instruction is set
  (xlib/refmodel.cpp `RefinementModel::PyExport`, xlib/experimental.cpp);
- `olx.HKLSrc()` is the refinement model's HKL source, `olx.HKLSrc(path)` sets it
  (xlib/xmacro.cpp `funHKLSrc`); on loading a file whose source is empty or gone Olex2 takes
  the same-named .hkl, or "" when there is none (xlib/xfiles.cpp `PostLoad`); a source set
  later may name a file that has since gone (olex2-gui checks os.path.exists(OV.HKLSrc()));
- no structure open: `olx.FileFull()` is "none" (xlib/xmacro.cpp funFileFull, NoneString),
  `olex_core.SGInfo()` is None (py_core.cpp pySGInfo catches GetLastLoaderSG's throw), the
  asymmetric unit and the HKL source are empty (xfiles.cpp TXFile::Close clears both);
- the `Label` macro labels each atom an `atom=text` argument names with that text, or with
  no `=` each named atom with its own label; an `=` list that names more or fewer visible
  atoms than texts fails and labels nothing; the macro ends by clearing the selection
  (gxlib/gxmacro.cpp GXLibMacros::macLabel, pcxod/olex2 024a95a; olex2-gui
  util/pyUtil/gui/tools/__init__.py label_rsa calls `olx.Label(*["C1=C1*0.12", ...], a=True)`);
  builds from before that form fail on `#c0=text` (see olx.Label); through `olx` a macro
  returns True, or False when it failed (repository/pyext.cpp runOlexFunctionEx, macro branch);
- the same-named .hkl is found whatever the case of its name (xfiles.cpp PostLoad:
  TEFile::Existsi), and HKLSrc gives the name as it is on disk;
- `DecRunningThreadsCount` at 0 logs an error and leaves the count at 0 (py_core.cpp
  pyDecRuningThreads);
- threads: the main thread holds the GIL; a plugin thread runs only while
  `olex_core.IncRunningThreadsCount()` is raised (mainform.cpp timer, since 2021; used by
  util/pyUtil/NoSpherA2/crystal_energies.py); `olx.Schedule` runs its macro later, on the
  main thread, in whole seconds (mainform.cpp ID_TIMER: `TETime::Now() - LastCalled >
  Interval`); `print` from a thread is recorded as a fault;
- a function given to `registerFunction` that raises has its traceback printed on the
  console, not raised (pyext.cpp TFuncWrapper::Call: PyErr_Print), recorded in `errors`;
  it gets its arguments as strings, -key=value as keywords (see call());
- Olex2's start (`start_plugins`): the plugins named in <BaseDir>/plugins.xld, read as XL
  data (olex2app.h, sdl/datafile.cpp), are put on sys.path from PluginLib/plugin-NAME and
  imported one by one, a failure printed in one line (olex2-gui initpy_funcs.py);
  PluginTools reads the plugin's phil, then the user's <DataDir>/<scope>.phil over it;
- the process environment is Olex2's: etc/bin/start sets PYTHONHOME, LD_LIBRARY_PATH,
  PATH, OLEX2_CCTBX_DIR, BOOST_ADAPTBX_*; Olex2 adds LIBTBX_BUILD for its cctbx.
"""

import hashlib
import math
import os
import re
import sys
import threading
import time
import traceback

ELEMENTS = set(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se "
    "Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Sm Eu Gd Tb Dy Ho "
    "Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi U D".split()
)
H_PER_GROUP = {1: 1, 2: 2, 3: 3, 4: 1, 8: 1, 9: 2, 12: 3, 13: 3, 14: 1, 15: 1, 16: 1}
BONDED_TO = {
    1: 3,
    2: 2,
    3: 1,
    4: 2,
    8: 1,
    9: 1,
    12: 1,
    13: 1,
    14: 1,
    16: 1,
}  # heavy neighbours per HFIX m
RADII = {
    "H": 0.32,
    "C": 0.76,
    "N": 0.71,
    "O": 0.66,
    "F": 0.57,
    "S": 1.05,
    "P": 1.07,
    "Cl": 1.02,
    "Br": 1.20,
    "I": 1.39,
    "B": 0.84,
    "Si": 1.11,
}
MAX_LABEL = 4
METALS = set(
    "Li Be Na Mg Al K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd "
    "In Sn Cs Ba La Ce Pr Nd Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi "
    "U".split()
)
# TXlConGen::ShelxToOlex (xlib/xlcongen.cpp): HFIX m → the pivot elements and environment sizes
# (every atom in it, metals too) it translates; anything else is "Failed to translate HFIX code".
# crystalx_core/olex2.py has the same table: this copy, read again from the source, is kept on
# purpose so that the double stays independent of the code it tests.
OLEX2_HFIX = {
    1: ({"C", "N", "Si", "O"}, (3,)),
    2: ({"C", "N", "O"}, (1, 2)),
    9: ({"C", "N", "O"}, (1, 2)),
    3: ({"C", "N"}, (1,)),
    13: ({"C", "N"}, (1,)),
    12: ({"C"}, (1,)),
    4: ({"C", "N"}, (2,)),
    8: ({"O", "S"}, (1,)),
    14: ({"O", "S"}, (1,)),
    15: ({"B"}, (4, 5)),
    16: ({"C"}, (1,)),
}
# congen.cpp AConstraintGenerator's C–H of a CH (fgCH1) by its number of neighbours
CH_DISTANCE = {1: 0.93, 2: 0.93, 3: 0.98}
OLEX2_ENVIRONMENT = {  # what an installed Olex2 has set when it runs a plugin (etc/bin/start)
    "PYTHONHOME": "{base}",
    "PYTHONPATH": "{base}/Lib:{base}/util/pyUtil",
    "OLEX2_CCTBX_DIR": "{base}/cctbx",
    "LIBTBX_BUILD": "{base}/cctbx/cctbx_build",
    "BOOST_ADAPTBX_FPE_DEFAULT": "1",
    "BOOST_ADAPTBX_SIGNALS_DEFAULT": "1",
}


class Atom(object):
    def __init__(self, label, type_, crd, uiso=0.05, occu=1.0, part=0, peak=0.0, afix=0, resi=0):
        self.label, self.type, self.crd = label, type_, list(crd)
        self.uiso, self.occu, self.part, self.peak, self.afix = uiso, occu, part, peak, afix
        self.resi = resi
        self.deleted = False
        self.pivot = None  # the atom a riding H (afix != 0) hangs on
        # the occupancy's XVarReference (XVarManager::AddVarRef): (variable number from 1,
        # "var", "one_minus_var" or "None" for fixed, coefficient k), None when free
        self.occu_link = None

    @property
    def address(self):
        return _address(self.label, self.resi)

    def state(self):
        return (
            self.label,
            self.type,
            tuple(round(c, 6) for c in self.crd),
            self.uiso,
            self.occu,
            self.part,
            self.peak,
            self.afix,
            self.resi,
            self.deleted,
        )


class HistoryNode(object):
    """A node of Olex2's History tree (History.py Node): its name, md5 of the clock's second;
    Node defines no __eq__, so two nodes are the same only when they are one object."""

    def __init__(self, name):
        self.name = name


class Olex2(object):
    def __init__(self):
        self.gil = threading.Condition()
        self.running_threads = 0
        self.schedule_unit = 1.0  # seconds of Olex2's clock (tests compress time)
        self.reset()

    def reset(self):
        self.atoms = []
        self.options = {}  # ConfigDir/.options (TBasicApp::ReadOptions): name → value
        self.cell = (10.0, 10.0, 10.0, 90.0, 90.0, 90.0)
        self.matrices = [((1, 0, 0, 0.0), (0, 1, 0, 0.0), (0, 0, 1, 0.0))]
        self.formula = []  # [(element, count per formula unit)]
        self.z = 1
        self.file = "/data/structure.res"
        self.hkl_src = ""
        self.hklf = {  # refmodel.cpp SetDefaults with refmodel.h def_HKLF_*: 4, s 1, m 0, wt 1, I
            "value": 4,
            "s": 1.0,
            "m": 0.0,
            "wt": 1.0,
            "matrix": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
        }
        self.radiation = 0.71073
        # °C, as experimental.cpp keeps TEMP (SetTemp: °C unless a scale letter follows);
        # unset: experimental.h's -1000 (IsTemperatureSet: >= -273.15)
        self.temperature = -1000.0
        self.twin = None  # {"n": ..., "matrix": ..., "basf": ...} under a TWIN instruction
        # MERG, OMIT s 2θ, OMIT h k l and SHEL as refmodel.cpp holds them: SetDefaults with
        # refmodel.h def_MERG 2, def_OMIT_s -2, def_OMIT_2t 180; AddOMIT keeps each h k l once
        # and sets s (and 2θ) from a one- or two-number OMIT; SetSHEL sets low (and high, else 0)
        self.merge, self.omit_s, self.omit_2theta, self.omits, self.shel = 2, -2.0, 180.0, [], None
        # WGHT and EXTI as refmodel.cpp holds them: used_weight the first WGHT's numbers as
        # written, proposed_weight a second's (SHELXL's suggestion after END; xlib/ins.h
        # _ParseIns), both empty without one (Clear); EXTI only where the file has it (EXTI_set)
        self.used_weight, self.proposed_weight, self.exti = (), (), None
        # restraints and constraints as refmodel.cpp holds them (see read_instructions)
        self.restraints, self.exyz, self.same, self.equivalents = [], [], [], []
        self.selection = []
        self.images = []  # (atom, EQIV number): symmetry copies a grown structure shows
        self.selected_images = []  # (atom, EQIV number): symmetry images selected (olx.Sel)
        self.undo_stack = []
        self.log = []  # every olex.m command, in order
        self.errors = []  # what Olex2 would print as an error
        self.freeze = False
        self.freeze_log = []
        self.labels = {}  # olx.Label texts by atom index (shown; "" shows nothing)
        self.other_labels = []  # the user's bond and free labels (kill labels hides them)
        self.vfs = {}  # OV.write_to_olex files
        self.vfs_dependents = []  # olx.VFSDependent: PluginTools instances (PluginTools.py)
        self.html_updates = 0
        self.functions = {}  # "namespace.name" → callable
        # snum.refinement.max_cycles is declared for every structure (Olex2's snum phil); 10
        # stands for the L.S. 10 of a file as SHELXL writes it
        self.params = {
            "snum.refinement.max_cycles": 10,
            "snum.refinement.last_R1": "n/a",  # params.phil: both declared for every structure
            # RunRefinementPrg.doHistoryCreation makes no History node while it is set, and
            # runAfterProcess sets it False after a refinement that gave an R1 (RunPrg.py)
            "snum.init.skip_routine": False,
            "snum.history.current_node": None,
        }
        self.clock = time.time  # Olex2's clock, as History reads it (tests may hold it still)
        self.history_nodes = []  # History.tree.link_table: every node made, in order
        self.active_history_node = None  # History.tree.active_node
        self.scheduled = []  # (due time, macro)
        self.index_work = []  # tool lines added to index-work.htm
        self.refinements = 0
        self.refine_failure = None  # "file" or "program": how `refine` fails (_cmd_refine)
        self.refine_program = "ShelXL"  # or "olex2.refine" (snum.refinement.program)
        self.converged = False  # a refinement then changes no digit Olex2 gives
        self.difference_peaks = None  # [(crd, height)] the next refinement's map gives
        self.mode = None  # the user's Olex2 mode (`mode name` ...): kill refuses to run in one
        self.fail_on = None  # a command prefix that olex.m should refuse (fault injection)
        self.grown = False
        self.variables = [1.0]  # FVAR 1 (the scale), 2, ... (XVarManager: Vars)
        self.safe_afix = True  # Olex2's option, default true (xapp.cpp TXApp::DoUseSafeAfix)
        self.cif_items = {}  # a loaded CIF's data items, as olx.Cif reads them
        self.hidden = set()  # atom indices hidden in the view
        self.label_text_form = True  # Label's `atom=text` (gxmacro.cpp macLabel as of 024a95a)
        self.hadd_listed_form = True  # macHAdd's negative-code branch (older builds: none)
        self.debug_build = False  # a _DEBUG build of Olex2 (xlib/catom.cpp TCAtom::GetAfix)
        self.gui = True  # False: olex2c (no Freeze, Label, html, undo: olx.py GUI_ONLY)
        self.centred = None
        self.thread_prints = []  # text printed from a thread other than the main one
        self.starved = []  # threads that waited for the GIL in vain

    # --- model ------------------------------------------------------------------------------
    def load(
        self,
        cell,
        matrices,
        formula,
        z,
        atoms,
        file="/data/structure.res",
        hkl=None,
        radiation=None,
        cif_items=None,
    ):
        """Open a structure; its HKL source is `hkl` when that file exists, else the
        same-named .hkl when there is one, else "" (xfiles.cpp PostLoad); a CIF's data items
        in `cif_items`."""
        self.reset_model()
        self.cif_items = dict(cif_items or {})
        self.cell, self.matrices, self.formula, self.z, self.file = (
            tuple(cell),
            matrices,
            formula,
            z,
            file,
        )
        self.atoms = [Atom(*a) if not isinstance(a, Atom) else a for a in atoms]
        for atom in self.atoms:  # an occupancy written as a code (21.0): TIns reads it with
            if abs(atom.occu) > 5:  # XVarManager::SetParam, linking it to its variable
                self._set_param(atom, atom.occu)
        found = [path for path in (hkl, _existsi(os.path.splitext(file)[0] + ".hkl")) if path]
        self.hkl_src = next((path for path in found if os.path.isfile(path)), "")
        if radiation is not None:
            self.radiation = radiation
        if file and file.lower().endswith(".cif"):  # History.create_history: "don't attempt
            # to make a history if a cif is loaded": no node while the CIF is open
            self.active_history_node = None
            self.params["snum.history.current_node"] = None
        else:
            self.new_history_node()

    def read_instructions(self, text):
        """The reflection instructions of an .ins as Olex2's reader keeps them in the
        refinement model, and TEMP (ExperimentalDetails::SetTemp, °C): MERG n (SetMERG), each
        OMIT (TIns::_FinishParsing → AddOMIT: a word first is an omit map, three or more
        numbers one h k l kept once, else s and 2θ), SHEL (SetSHEL: low, and high where
        written), WGHT (the first used, a second proposed), EXTI and HKLF n s matrix
        (SetHKLF); the last of each wins. Restraints and constraints as TIns::ParseRestraint
        keeps them (see _add_restraint), FVAR first (TIns::ParseIns reads it into the
        variables while ParseRestraints runs after the whole file); a line continued by '='
        read as one."""
        lines = re.sub(r"=[ \t]*\r?\n", " ", text).splitlines()
        fvar = [w for line in lines if line[:4].upper() == "FVAR" for w in line.split()[1:]]
        if fvar:
            self.variables = [float(v) for v in fvar]
            self._follow_variables()
        classes = {}  # RESI class → its residue numbers (TResidue: class and number either way)
        for number, name in residues_declared(lines).values():
            classes.setdefault(name, []).append(number)
        for line in lines:
            words = line.split()
            if not words:
                continue
            keyword, numbers = words[0].upper(), words[1:]
            keyword, _, suffix = keyword.partition("_")
            if suffix and keyword in RESTRAINT_READING:  # one restraint per residue it names
                for residue in _residues_named(suffix, classes, self.atoms):
                    self._add_restraint(keyword, numbers, residue)
                continue
            if keyword == "MERG" and numbers:
                self.merge = int(float(numbers[0]))
            elif keyword == "OMIT" and numbers and _is_number(numbers[0]):
                if len(numbers) >= 3:
                    hkl = [int(float(v)) for v in numbers[:3]]
                    if hkl not in self.omits:
                        self.omits.append(hkl)
                else:
                    self.omit_s = float(numbers[0])
                    if len(numbers) > 1:
                        self.omit_2theta = float(numbers[1])
            elif keyword == "TEMP" and numbers:
                self.temperature = float(numbers[0])
            elif keyword == "SHEL" and numbers:  # SetSHEL: a later line's one number keeps
                # the earlier high (refmodel.h def_SHEL_hr 0 before any)
                high = self.shel[1] if self.shel else 0.0
                self.shel = (float(numbers[0]), float(numbers[1]) if len(numbers) > 1 else high)
            elif keyword == "WGHT":
                weight = tuple(float(v) for v in numbers)
                if not self.used_weight:
                    self.used_weight = weight
                else:
                    self.proposed_weight = weight
            elif keyword == "EXTI":
                self.exti = float(numbers[0]) if numbers else 0.0
            elif keyword in RESTRAINT_READING:
                self._add_restraint(keyword, numbers)
            elif keyword == "EXYZ":  # RefinementModel::AddEXYZ: the atoms named, one group
                self.exyz.append([a for w in numbers for a in self._restrained(w)[:1]])
            elif keyword == "SAME":  # its group, reduced to the words here (rSAME)
                self.same.append(tuple(numbers))
            elif keyword == "EQIV" and len(numbers) >= 2:  # AddUsedSymm, by its name
                self.equivalents.append((numbers[0], _symmetry_matrix("".join(numbers[1:]))))
            elif keyword == "HKLF" and numbers:
                values = [float(v) for v in numbers]
                self.hklf["value"] = int(values[0])
                if len(values) > 1:
                    self.hklf["s"] = values[1]
                if len(values) >= 11:
                    m = values[2:11]
                    self.hklf["matrix"] = (tuple(m[0:3]), tuple(m[3:6]), tuple(m[6:9]))

    def _add_restraint(self, keyword, words, residue=0):
        """TIns::ParseRestraint (xlib/ins.cpp): up to as many leading numbers as the kind
        reads, in its order, the rest SetRestraintDefaults' (xlib/refmodel.cpp, DEFS 0.02 0.1
        0.01 0.04: DANG 2 × 0.02, SIMU 0.04 0.08 dmax 2, ISOR 0.1 0.2, RIGU 0.004 0.004);
        where only the first standard deviation is given the second is it times the kind's
        Esd1Mult (SIMU, ISOR 2; DELU, RIGU 1); the target through XVarManager::SetParam (DFIX
        21: fv(2) at FVAR's value), but SIMU's dmax as written (use_var_manager false); a
        DELU, RIGU, SIMU or ISOR without atoms is for
        all non-H atoms (allNonH). Atoms by label in `residue` (the main one, or each residue
        DFIX_2, DFIX_CLS or DFIX_* names: TIns::ParseRestraint gives the residue name to the
        AtomRefList, whose Expand reads a bare label in each residue it names: xlib/atomref.cpp
        AtomRefList::Expand), C1_2 in residue 2, C1_$1 the EQIV $1's image of C1; `A > B` the
        atoms from A to B in the residue's order and `A < B` backwards, deleted atoms, H, D and
        Q-peaks skipped (xlib/atomref.cpp ListAtomRef::Expand: `GetType().z < 2` skipped for
        every kind); an unknown label names nothing."""
        names, esd1_mult, accepts_all = RESTRAINT_READING[keyword]
        value, esd1, esd2 = RESTRAINT_DEFAULTS[keyword]
        read = {"value": value, "esd1": esd1, "esd2": esd2}
        given = 0
        while given < len(names) and given < len(words) and _is_number(words[given]):
            read[names[given]] = float(words[given])
            given += 1
        if keyword != "SIMU":  # its dmax is no parameter (use_var_manager false)
            read["value"] = self._param_value(read["value"])
        if names[:1] == ("esd1",) and given == 1 and esd1_mult:
            read["esd2"] = read["esd1"] * esd1_mult
        atoms, rest = [], words[given:]
        k = 0
        while k < len(rest):
            if rest[k] in (">", "<") and atoms and k + 1 < len(rest):
                last = self._restrained(rest[k + 1], residue)
                atoms[-1:] = self._atom_range(atoms[-1], last, rest[k])
                k += 2
                continue
            atoms += self._restrained(rest[k], residue)
            k += 1
        if not atoms and not (accepts_all and not rest):
            return
        read["allNonH"] = not rest
        read["atoms"] = atoms
        self.restraints.append((keyword.lower(), read))

    def _restrained(self, word, residue=0):
        """[(atom, the EQIV's name or None)] a restraint's word names, [] when none: C1_2 the
        C1 of residue 2, a bare C1 that of `residue`; C1_* the C1 of the main residue and then
        of every other in the order they were made, all in the one list (xlib/atomref.cpp
        ImplicitCAtomRef::Expand over xlib/asymmunit.cpp TAsymmUnit::FindResidues("*"))."""
        label, _, equivalent = word.partition("_$")
        eqiv = "$" + equivalent if equivalent else None
        name, _, suffix = label.partition("_")
        if suffix == "*":
            made = list(dict.fromkeys([0] + [a.resi for a in self.atoms]))
            return [(atom, eqiv) for n in made for atom, _ in self._restrained(_address(name, n))]
        address = label if "_" in label else _address(label, residue)
        atoms = [a for a in self.live() if a.address.upper() == address.upper()]
        return [(atoms[0], eqiv)] if atoms else []

    def _atom_range(self, first, last, op):
        """ListAtomRef::Expand: the non-H atoms from `first` to `last` of their residue."""
        if not last or first[1] != last[0][1] or first[0].resi != last[0][0].resi:
            return []
        residue = [a for a in self.atoms if a.resi == first[0].resi]
        i, j = residue.index(first[0]), residue.index(last[0][0])
        if (op == ">" and i > j) or (op == "<" and i < j):
            return []
        span = residue[i : j + 1] if op == ">" else residue[j : i + 1][::-1]
        return [(a, first[1]) for a in span if not a.deleted and a.type not in ("H", "D", "Q")]

    def history_node(self):
        """The name History gives a node now: md5 of time.asctime() (History.py
        HistoryTree.add_node), the same for every node made within one second."""
        stamp = time.asctime(time.localtime(self.clock()))
        return hashlib.md5(stamp.encode()).hexdigest()

    def new_history_node(self):
        """A new node of Olex2's History made current: a new Node object (History.py
        HistoryTree.add_node / add_top_level_node: Node(link_table, name, ...)), put in the
        tree's link_table and made active, whose setter sets snum.history.current_node to its
        name; a structure loaded gets its tree unpickled (loadHistory), so new objects too.
        Two nodes made within one clock second share a name, never the object."""
        node = HistoryNode(self.history_node())
        self.history_nodes.append(node)
        self.make_current(node)
        return node

    def make_current(self, node):
        """History's active_node setter (History.py HistoryTree.active_node): the node, and
        its name in snum.history.current_node (a step back in History sets an older one)."""
        self.active_history_node = node
        self.params["snum.history.current_node"] = node.name

    def reset_model(self):
        self.atoms, self.selection, self.undo_stack, self.log = [], [], [], []
        self.variables = [1.0]
        self.images, self.selected_images = [], []

    def close(self):
        """No structure open, as after Olex2's `close` (xfiles.cpp TXFile::Close)."""
        self.reset_model()
        self.file, self.hkl_src, self.formula = None, "", []

    def live(self):
        return [a for a in self.atoms if not a.deleted]

    def find_all(self, label):
        """Every live atom a label names: `#c<id>` one atom; C1_2 the C1 of residue 2; a bare C1
        the C1 of every residue (Olex2 matches a bare label in all residues). A symmetry copy's
        name as olx.Sel gives it is read as its atom (xlib/label_utils.cpp AtomLabelInfo, 2025:
        the `$1` of C1_$1 goes to equiv_id, which gxlib/gxapp.cpp TGXApp::GetXAtoms never
        checks, matching with DoesMatch(xa.CAtom(), true)): C1_$1 is a bare C1; C1_2$1 asks
        for a residue class "2$1" and names none."""
        symmetry = re.match(r"^([^_]+)_\$\d+$", label)
        if symmetry:
            label = symmetry.group(1)
        match = re.match(r"^#c(\d+)$", label, re.I)
        if match:
            index = int(match.group(1))
            ok = index < len(self.atoms) and not self.atoms[index].deleted
            return [self.atoms[index]] if ok else []
        exact = [a for a in self.live() if a.address.upper() == label.upper()]
        if exact or "_" in label:
            return exact
        return [a for a in self.live() if a.label.upper() == label.upper()]

    def find(self, label):
        found = self.find_all(label)
        return found[0] if found else None

    def atom(self, index):
        try:
            index = int(index)
        except ValueError:
            atom = self.find(index)
            if atom is None:
                raise RuntimeError("Could not locate specified atom: %s" % index) from None
            return atom
        if not 0 <= index < len(self.atoms):
            raise RuntimeError("index out of range: %d" % index)
        return self.atoms[index]

    def model_state(self):
        return sorted(a.state() for a in self.atoms if not a.deleted)

    def correct_labels(self):
        """Olex2's label corrector as GetRefinementModel runs it (repository/py_core.cpp
        pyRefModel: LabelCorrector(GetMaxLabelLength(), DoRenameParts()), xlib/
        label_corrector.h): every live atom in asymmetric-unit order, Q-peaks too; a label
        over max_label_length characters trimmed (the option, 4 unset: xlib/xapp.cpp
        TXApp::GetMaxLabelLength); one already seen (in any PART: rename_parts is on by
        default) renamed by one iterator per element that starts at the element and 1 and
        skips only the labels seen so far, so a later atom holding the label it gives is
        renamed in turn when reached (C1, C1, C2 become C1, C2, C3). Residue atoms are
        checked within their residue (how GetResiLabel writes their key was not read)."""
        seen, numbers = set(), {}
        longest = int(self.options.get("max_label_length", MAX_LABEL))
        for atom in self.live():
            label = atom.label[:longest]
            if (label.upper(), atom.resi) in seen:
                number = numbers.get(atom.type, 1)
                while ("%s%d" % (atom.type, number)).upper() in [
                    k for k, r in seen if r == atom.resi
                ]:
                    number += 1
                label = "%s%d" % (atom.type, number)
                numbers[atom.type] = number + 1
            seen.add((label.upper(), atom.resi))
            atom.label = label

    def _free_label(self, element, resi, taken=()):
        number = 1
        while True:
            label = "%s%d" % (element, number)
            if (label.upper(), resi) not in taken and not any(
                a.label.upper() == label.upper() and a.resi == resi for a in self.live()
            ):
                return label
            number += 1

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
            self.errors.append("Unknown macro %s" % verb)
            return False
        try:
            return handler(args) is not False
        except RuntimeError as error:
            self.errors.append(str(error))
            return False

    def _cmd_name(self, args):
        """GXLibMacros::macName with two arguments; under safe_afix ValidateHGroups runs
        after it whatever happened to the rename (the call is outside its if)."""
        if len(args) > 3:
            return False  # fpNone|fpOne|fpTwo|fpThree: the macro is not entered
        renamed = self._name(args)
        self._validate_h_groups()
        return renamed

    def _name(self, args):
        if len(args) != 2:
            return False
        atom = self.find(args[0])
        if atom is None:
            return True  # an unknown label is skipped
        new_type = _type_of(args[1])
        if new_type is None or "_" in args[1]:
            self.errors.append("name: invalid label %s" % args[1])
            return True
        entry = [("name", atom, atom.label, atom.type, atom.peak)]
        holders = [  # TAsymmUnit::FindDiplicateLabels: the atom's own residue, any PART
            a
            for a in self.live()
            if a is not atom and a.resi == atom.resi and a.label.upper() == args[1].upper()
        ]
        # without -cs, name clears the selection (gxmacro.cpp macName)
        self.selection, self.selected_images = [], []
        atom.label, atom.type = args[1], new_type
        if new_type != "Q":
            atom.peak = 0.0
        for holder in holders:
            # gxapp.cpp TGXApp::Name(TXAtom&, const olxstr&): after the rename each other atom
            # of that label takes TLabelChecker::CheckLabel's, its element and the first free
            # number in the residue (N1..N9, N10..), the renamed atom's old label free again;
            # in the same undo entry (undo->AddAtom)
            entry.append(("name", holder, holder.label, holder.type, holder.peak))
            holder.label = self._free_label(holder.type, holder.resi)
        self.undo_stack.append(("group", entry))
        return True

    def _cmd_kill(self, args):
        """GXLibMacros::macKill (gxlib/gxmacro.cpp, read in pcxod/olex2 024a95a): refused while
        a mode is on ("Kill inaccessible from within a mode", so False through olex.m);
        `kill labels` hides every label, the user's own too; no atoms named (or `sel`): the
        selection, which is then cleared. Atoms named: when some of them are selected, only
        those selected are deleted (`todel = Selected.IsEmpty() ? Atoms : Selected`); one undo
        entry, TGXApp::DeleteXAtoms's (no ValidateHGroups)."""
        if self.mode is not None:
            self.errors.append("Kill inaccessible from within a mode")
            return False
        if args == ["labels"]:
            self.labels, self.other_labels = {}, []
            return True
        if not args or args == ["sel"]:
            targets, self.selection = list(self.selection), []
        else:
            named = [a for label in args for a in self.find_all(label)]
            targets = [a for a in named if a in self.selection] or named
        deleted = self._delete_atoms(targets)
        self.selection = [a for a in self.selection if not a.deleted]
        if deleted:
            self.undo_stack.append(("kill", deleted))
        return True

    def _delete_atoms(self, targets):
        """TGXApp::DeleteXAtoms: each atom not yet deleted; with a heavy atom (not H, not a
        Q-peak) every H bonded to it, and under safe_afix the riding H (AFIX m != 0) of its
        heavy neighbours whose part allows a bond to it (TNetwork::IsBondAllowed); bonds as
        they were before the kill."""
        before = self.live()
        deleted = []
        for atom in targets:
            if atom.deleted:
                continue
            deleted.append(atom)
            if atom.type not in ("H", "Q"):
                for near in before:
                    if near.deleted or near.type == "Q" or not self.bonded(atom, near):
                        continue
                    if near.type == "H":
                        near.deleted = True
                        deleted.append(near)
                    elif self.safe_afix:  # "go one level deeper"
                        for h in before:
                            if (
                                not h.deleted
                                and h.type == "H"
                                and h.afix // 10 != 0
                                and _bond_allowed(atom, h)
                                and self.bonded(near, h)
                            ):
                                h.deleted = True
                                deleted.append(h)
            atom.deleted = True
        return deleted

    def _cmd_sel(self, args):
        """GXLibMacros::macSel (gxlib/gxmacro.cpp) for atom lists: -u alone unselects all, -a
        alone selects all (app.SelectAll); atoms named with -u are unselected, with -i
        toggled, with -a selected (FindXAtoms, then Select(atom, true) for each, read in
        the stored copy of 203,307 characters); atoms named without an option are added to
        the selection, never replacing
        it (TGXApp::SelectAtoms with Invert false: each atom not yet selected is selected).
        A name that finds no atom is skipped and the macro still succeeds, so `sel C9` of a
        deleted C9 is True through olex.m and selects nothing. A name finds every shown copy of
        its atom in a grown structure (TGXApp::GetXAtoms matches each TXAtom by its TCAtom), so
        `sel -a C1_$1` selects C1 and each of its copies, not the copy $1 alone."""
        options = set(a[1:] for a in args if a in ("-u", "-a", "-i"))
        names = [a for a in args if a not in ("-u", "-a", "-i")]
        if not names:
            if "u" in options:
                self.selection, self.selected_images = [], []
            elif "a" in options:
                self.selection = list(self.live())
                self.selected_images = [i for i in self.images if not i[0].deleted]
            return True
        for atom in [a for label in names for a in self.find_all(label)]:
            copies = [i for i in self.images if i[0] is atom]
            for chosen_list, item in [(self.selection, atom)] + [
                (self.selected_images, i) for i in copies
            ]:
                chosen = item in chosen_list
                if "u" in options and chosen:
                    chosen_list.remove(item)
                elif "i" in options and chosen:
                    chosen_list.remove(item)
                elif "u" not in options and not chosen:
                    chosen_list.append(item)
        return True

    def _cmd_center(self, args):
        """GXLibMacros::macCenter (gxlib/gxmacro.cpp, 024a95a): the view's centre to the
        occupancy-weighted mean of the atoms named; none found changes nothing, and the macro
        never fails; the selection stays (FindXAtoms clears it only for a `sel` token: gxapp.cpp
        TGXApp::FindXAtoms). The double keeps the first atom named as the centre."""
        found = [a for label in args for a in self.find_all(label)]
        if found:
            self.centred = found[0]
        return True

    def _cmd_fuse(self, args):
        """XLibMacros::macFuse (xlib/xmacro.cpp, the stored copy of 406,828 characters): no
        number given, TLattice::Uniq: the grown images go, the asymmetric unit and its ids
        stay; it never fails (a number would first merge same-element atoms closer than it,
        which the plugin never sends)."""
        self.grown = False
        self.images, self.selected_images = [], []
        return True

    def _cmd_hadd(self, args):
        """XLibMacros::macHAdd with a code (xlib/xmacro.cpp, the `Hfix > 0` branch): a pivot
        whose neighbours lie in two or more PARTs other than 0 and its own gets one H group
        per such PART, placed on the neighbours in PART 0 and that PART
        (TUnitCell::GetAtomEnviList with a part, xlib/unitcell.cpp), its H in that PART at
        the occupancy of that PART's first neighbour ("Processing n parts"; the occupancy as
        its SHELX code, Vars.GetParam, set on the H with Vars.SetParam: a free variable
        carries over), negative PARTs and metals counted like any; any other pivot one group
        on all its neighbours. A PART whose bonds (metals included) do not fit the code gets
        none (TXlConGen::ShelxToOlex; "Failed to translate HFIX code" is only logged): a Cp C
        bonded to Fe has three. How Olex2's command line reads `hadd -43 ...` (a negative
        number or an option) was not read: the double refuses it here (see hadd_listed)."""
        if not args or not args[0].isdigit():
            return False
        if self.grown:
            self.errors.append("hadd: not applicable to grown structures")
            return False
        code = int(args[0])
        n = H_PER_GROUP.get(code // 10)
        pivots = [a for label in args[1:] for a in self.find_all(label)]
        if n is None:
            self.errors.append("hadd: unknown code %d" % code)
            return True
        for pivot in pivots:
            if pivot.type in ("Q", "H"):
                self.errors.append("hadd: code %d does not fit %s" % (code, pivot.label))
                continue
            parts = self._other_parts(pivot)
            for part, occu in parts if len(parts) >= 2 else [(None, None)]:
                if not _olex2_places(code, pivot.type, self.heavy_neighbours(pivot, part)):
                    self.errors.append("hadd: code %d does not fit %s" % (code, pivot.label))
                    continue
                self._add_riding(pivot, code, n, part, occu)
        self._validate_h_groups()  # hadd's own H cannot be undone; only this check's entry
        return True

    def _cmd_part(self, args):
        """macPart: the first number the PART, given to every atom named and to the H bonded
        to each non-H one (their Nodes), no undo entry; no number: a macro error here (the
        real one takes the next free PART, which the plugin never asks for)."""
        if not args or not _is_number(args[0]):
            self.errors.append("part: a PART number is expected")
            return False
        part = int(args[0])
        atoms = [a for label in args[1:] for a in self.find_all(label)]
        riders = [
            h
            for a in atoms
            if a.type not in ("H", "Q")
            for h in self.live()
            if h.type == "H" and _bond_allowed(a, h) and self.bonded(a, h)
        ]
        for atom in atoms + riders:
            atom.part = part
        return True

    def part_macro(self, args):
        """`part` through olx.Part: each argument one word of the macro (a negative PART is
        a number, not an option: repository/pyext.cpp runOlexFunctionEx)."""
        self.log.append("part " + " ".join(args))
        return self._cmd_part(list(args))

    def _cmd_fvar(self, args):
        """macFvar (pcxod/olex2 xlib/xmacro.cpp XLibMacros::macFvar, read at 0066c58): up to
        two leading numbers, the variable and the factor k; an integer first number is the
        variable's index itself (`fvar 21` links to FVAR 21), only one that is not an integer
        is read as SHELX's 10m+k. Each atom named, and the H riding on it, gets
        SetParam(sign(m) (10|m| + v)), v = k / its degeneracy, or its present occupancy where
        no k is given; no undo entry. Without a number it only prints: no change."""
        numbers = []
        while args and len(numbers) < 2 and _is_number(args[0]):
            numbers.append(float(args.pop(0)))
        if not numbers:
            return True
        fvar, k = numbers[0], (numbers[1] if len(numbers) > 1 else -1.0)
        if k < 0 and abs(fvar - round(fvar)) > 0.1:
            whole = float(int(int(fvar) / 10))  # C++ int / 10: truncated toward zero
            fvar, k = whole, abs(fvar - whole * 10)
        atoms = [a for label in args for a in self.find_all(label)]
        atoms += [h for a in atoms for h in self.live() if h.pivot is a and h not in atoms]
        sign = -1 if fvar < 0 else 1
        for atom in atoms:
            value = atom.occu if k < 0 else k / self.degeneracy(atom)
            self._set_param(atom, sign * (abs(fvar) * 10 + value))
        return True

    def _set_param(self, atom, code):
        """XVarManager::SetParam on the occupancy (see the module's docstring): its value, and
        its reference to the variable (AddVarRef: relation_None, coefficient 0, for FVAR 1;
        relation_AsVar or relation_AsOneMinusVar with k for another), FreeParam up to 5."""
        atom.occu = self._param_value(code)
        atom.occu_link = None
        if abs(code) > 5:
            m, k = _variable_of(code)
            relation = "None" if abs(m) == 1 else ("var" if m > 0 else "one_minus_var")
            atom.occu_link = (abs(m), relation, 0.0 if abs(m) == 1 else k)

    def _follow_variables(self):
        """Each atom linked to a free variable at k × fv(m) (or k × (1 - fv(m))): Olex2 reads
        FVAR before the atoms (TIns::ParseIns), so their occupancies are of FVAR's values."""
        for atom in self.atoms:
            if atom.occu_link and atom.occu_link[1] != "None":
                m, relation, k = atom.occu_link
                value = self.variables[m - 1]
                atom.occu = k * (value if relation == "var" else 1.0 - value)

    def _param_value(self, code):
        """The value XVarManager::SetParam (xlib/leq.cpp) gives a parameter written as
        `code`: itself up to 5, else SHELX's 10m+k, fixed for m = 1, else k × fv(m) (or
        k × (1 - fv(m)) for a negative code), a variable not yet there made at 0.5."""
        if abs(code) <= 5:
            return code
        m, k = _variable_of(code)
        index = abs(m)
        while len(self.variables) < index:
            self.variables.append(0.5)  # GetReferencedVar → NewVar(), 0.5
        if index == 1:
            return code - m * 10
        value = self.variables[index - 1]
        return k * (value if m > 0 else 1.0 - value)

    def hadd_listed(self, args, options):
        """XLibMacros::macHAdd with a negative code, as olx.HAdd hands it over (each Python
        argument one word, keywords the options: repository/pyext.cpp runOlexFunctionEx): the
        first atom is the pivot and the others, in order, its whole environment, each where
        the asymmetric unit has it (AE.Add(a.CAtom(), a.GetMatrix(), a.crd()): no symmetry
        image can be named, and the pivot named again is an atom on top of it); one group if
        the code fits that many atoms (TXlConGen::ShelxToOlex), AFIX `-a` (3 when not given),
        in the second atom's PART at its occupancy as Olex2 holds it (0.5 for a full atom on
        a mirror; free variable included: Vars.GetParam/SetParam), `-p` overriding the PART;
        fewer than two atoms is a macro error. The H of a CH is placed from the named atoms
        as congen.cpp AConstraintGenerator::Generate_1 does; other groups as _add_riding. A
        bond vector of length 0 (the pivot named as its own neighbour) makes GenerateAtom's
        Normalise throw (sdl/threex3.h TVector3::Normalise: TDivException), which FixAtom
        catches: no H, and the macro succeeds. Not refused on a grown structure (the check is
        `Hfix >= 0`); ValidateHGroups after. An Olex2 without that branch (hadd_listed_form
        False: the older stored macHAdd) reads the code as any other and every named atom as
        a pivot; ShelxToOlex has no negative code, so each only logs "Failed to translate
        HFIX code" and the macro succeeds, having added nothing (a grown structure it
        refuses, as it does for any code)."""
        self.log.append("hadd " + " ".join(args))
        if self.fail_on and ("hadd " + " ".join(args)).startswith(self.fail_on):
            return False
        atoms = [a for label in args[1:] for a in self.find_all(label)]
        if not self.hadd_listed_form:
            if self.grown:
                self.errors.append("hadd: not applicable to grown structures")
                return False
            for atom in atoms:
                self.errors.append("hadd: code %s does not fit %s" % (args[0], atom.label))
            return True
        code = -int(args[0])
        if len(atoms) < 2:
            self.errors.append("hadd: at least 2 atoms are expected")
            return False
        pivot, environment = atoms[0], atoms[1:]
        n = H_PER_GROUP.get(code // 10)
        bonds = [
            [x - y for x, y in zip(self.cartesian(a.crd), self.cartesian(pivot.crd))]
            for a in environment
        ]
        if n is None or not _olex2_places(code, pivot.type, len(environment)):
            self.errors.append("hadd: code %d does not fit %s" % (code, pivot.label))
        elif all(_length(v) > 0 for v in bonds):  # else GenerateAtom throws: no H
            try:
                crds = None
                if n == 1 and pivot.type == "C":
                    h = _generate_1(bonds, CH_DISTANCE[len(bonds)])
                    origin = self.cartesian(pivot.crd)
                    crds = [self.fractional([x + y for x, y in zip(h, origin)])]
            except ZeroDivisionError:  # Normalise's TDivException, which FixAtom catches
                crds = []
            if crds != []:
                part = int(options.get("p", environment[0].part))
                afix = int(options.get("a", 3))
                self._add_riding(pivot, afix, n, part, environment[0].occu, crds)
        self._validate_h_groups()
        return True

    def _other_parts(self, pivot):
        """[(PART, occupancy of its first neighbour)] of the pivot's heavy neighbours in a PART
        other than 0 and the pivot's own, in atom order (macHAdd's `parts` and `occu`)."""
        parts = []
        for other in self.live():
            if (
                other.type not in ("Q", "H")
                and other.part not in (0, pivot.part)
                and other.part not in [p for p, _ in parts]
                and _bond_allowed(pivot, other)
                and self.bonded(pivot, other)
            ):
                parts.append((other.part, other.occu))
        return parts

    def _add_riding(self, pivot, code, n, part, occu, crds=None):
        """n H riding on `pivot` (AFIX `code`), in `part` at `occu` when given, else as
        TXlConGen::FixAtom (xlib/xlcongen.cpp) places them: in the pivot's PART at the pivot's
        occupancy, but in PART -1 for a methyl or NH3 (m 3 or 13, one heavy neighbour) whose
        pivot is in PART 0 on a special position (degeneracy other than 1). At `crds`
        (fractional) when given, else just beside the pivot (no test reads those places)."""
        if part is None and _methyl_like(pivot, code) and pivot.part == 0:
            if self.degeneracy(pivot) != 1:
                part = -1
        stem = "H" + pivot.label[len(pivot.type) :]
        names = [stem] if n == 1 else [stem + "ABC"[k] for k in range(n)]
        for k, name in enumerate(names):
            name = name[:MAX_LABEL]
            while self.find(_address(name, pivot.resi)) is not None:
                name = name[: MAX_LABEL - 1] + "'"
                if self.find(_address(name, pivot.resi)) is not None:
                    name = self._free_label("H", pivot.resi)
            h = Atom(
                name,
                "H",
                crds[k] if crds else [c + 0.01 * (k + 1) for c in pivot.crd],
                uiso=1.2 * pivot.uiso,
                afix=code,
                resi=pivot.resi,
                part=pivot.part if part is None else part,
                occu=pivot.occu if occu is None else occu,
            )
            h.pivot = pivot
            self.atoms.append(h)

    def _validate_h_groups(self):
        """TLattice::ValidateHGroups (pcxod/olex2 xlib/lattice.cpp, read) as macName and
        macHAdd run it under safe_afix: delete each riding-H group whose pivot lacks the heavy
        neighbours its m needs (1: 3; 2, 4: 2; 3, 8, 9, 12, 13, 14, 16: 1; 15: 4 or 5), logged
        as an error, and push one undo entry for all it deleted; nothing when none was. The
        neighbours counted are those in PART 0 or the group's PART (any, for a group in PART
        0), so hadd's per-PART groups are judged on the bonds hadd placed them by; the count
        less the metals among them also passes (a Cp C: two C and the metal). Left out:
        neighbours that ride in a group of their own."""
        if not self.safe_afix:
            return
        groups = {}
        for h in self.live():
            if h.type == "H" and h.afix and h.pivot is not None and not h.pivot.deleted:
                groups.setdefault((id(h.pivot), h.afix, h.part), []).append(h)
        deleted = []
        for members in groups.values():
            pivot, m = members[0].pivot, members[0].afix // 10
            part = members[0].part
            count = self.heavy_neighbours(pivot, part or None)
            metals = self.heavy_neighbours(pivot, part or None, metals_only=True)
            wanted = (4, 5) if m == 15 else (BONDED_TO.get(m, count),)
            if count not in wanted and count - metals not in wanted:
                self.errors.append(
                    "Pivot atom %s has wrong connectivity for the given AFIX group and the "
                    "group was removed. Please revise your model." % pivot.label
                )
                deleted += members
        for h in deleted:
            h.deleted = True
        if deleted:
            self.undo_stack.append(("kill", deleted))

    def heavy_neighbours(self, atom, part=None, metals_only=False):
        """Non-H atoms (any symmetry image) bonded to `atom` (TNetwork::IsBondAllowed: PART 0
        or the same PART), metals included (TUnitCell::GetAtomEnviList, xlib/unitcell.cpp);
        with `part`, only those in PART 0 or that PART; `metals_only`: the metals of them."""
        return sum(
            self._images_bonded(atom, other)
            for other in self.live()
            if other.type not in ("Q", "H")
            and (not metals_only or other.type in METALS)
            and _bond_allowed(atom, other)
            and (part is None or other.part in (0, part))
        )

    def bonded(self, a, b):
        return self._images_bonded(a, b) > 0

    def _images_bonded(self, atom, other):
        """How many distinct symmetry images of `other` lie within the covalent radii + 0.45 Å
        of `atom` (images that coincide, of an atom on a special position, are one atom)."""
        limit = RADII.get(atom.type, 1.2) + RADII.get(other.type, 1.2) + 0.45
        if atom.part and other.part and min(atom.part, other.part) < 0:
            # TNetwork::IsBondAllowed with a matrix: only the untransformed atom
            delta = [o - a for o, a in zip(other.crd, atom.crd)]
            return int(0.1 < self.distance(delta) < limit)
        near = []
        for delta in self._image_deltas(atom, other):
            if 0.1 < self.distance(delta) < limit and not [
                d for d in near if self.distance([x - y for x, y in zip(delta, d)]) <= 0.1
            ]:
                near.append(delta)
        return len(near)

    def degeneracy(self, atom):
        """How many of the cell's symmetry operators map `atom` onto itself (TCAtom's
        degeneracy: 1 on a general position); within 0.1 Å, as _images_bonded tells an
        image of itself from a neighbour."""
        return sum(self.distance(d) <= 0.1 for d in self._image_deltas(atom, atom))

    def _image_deltas(self, atom, other):
        """Fractional vectors from `atom` to each symmetry image of `other`, nearest lattice
        translation."""
        for matrix in self.matrices:
            image = [
                sum(matrix[r][c] * other.crd[c] for c in range(3)) + matrix[r][3] for r in range(3)
            ]
            yield [(image[k] - atom.crd[k]) - round(image[k] - atom.crd[k]) for k in range(3)]

    def _orthogonalisation(self):
        """Rows of the matrix that takes fractional to Cartesian (a along x, b in the xy
        plane), the metric `distance` uses."""
        a, b, c = self.cell[:3]
        al, be, ga = (math.radians(v) for v in self.cell[3:])
        cy = (math.cos(al) - math.cos(be) * math.cos(ga)) / math.sin(ga)
        cz = math.sqrt(1 - math.cos(be) ** 2 - cy**2)
        return (
            (a, b * math.cos(ga), c * math.cos(be)),
            (0.0, b * math.sin(ga), c * cy),
            (0.0, 0.0, c * cz),
        )

    def cartesian(self, crd):
        return [sum(m * x for m, x in zip(row, crd)) for row in self._orthogonalisation()]

    def fractional(self, xyz):
        (m00, m01, m02), (_, m11, m12), (_, _, m22) = self._orthogonalisation()
        z = xyz[2] / m22
        y = (xyz[1] - m12 * z) / m11
        return [(xyz[0] - m01 * y - m02 * z) / m00, y, z]

    def distance(self, delta):
        a, b, c = self.cell[:3]
        al, be, ga = (math.radians(v) for v in self.cell[3:])
        x, y, z = delta
        return math.sqrt(
            (a * x) ** 2
            + (b * y) ** 2
            + (c * z) ** 2
            + 2 * b * c * math.cos(al) * y * z
            + 2 * a * c * math.cos(be) * x * z
            + 2 * a * b * math.cos(ga) * x * y
        )

    def _cmd_refine(self, args):
        """Olex2's GUI `refine [l.s.=-1] [plan=-1.1]` macro (olex2-gui macro.xld, read in
        MilitaoLucas/olex2-gui 00d8e72): `mode off`, `user`, `file` (the model written to its
        file), a first argument other than -1 to spy.SetMaxCycles, which keeps it as the
        structure's own cycle count (OlexFunctions.SetMaxCycles), then spy.RunRefinementPrg().
        How it fails, by `refine_failure`:
        - "file": a command before the program fails (`file` into a folder that refuses it).
          The macro stops at it and, as it has an `onabort` (`echo lasterror()`, `cursor()`),
          clears the error flag and runs that (sdl/macrolib.cpp TEMacroLib::ProcessMacro:
          `Error.ClearErrorFlag()` when onAbort is not empty), so the GUI's refine answers
          True. olex2c's (macrox.xld) answers False where its refine has no onabort (the
          copy session 19 read: `user`, `kill $q`, `file`, ..., `spy.refine.do_refine`) and
          True where it has one (MilitaoLucas/olex2-gui 0650b37: `onabort` `cursor()`): the
          double's olex2c (gui False) is the first. Cycles not set.
        - "program": RunRefinementPrg prints its own errors and returns (RunPrg.py
          RunRefinementPrg.run catches every exception: no reflection file, "Please choose a
          reflection file" in RunPrg.setupFiles; a program that failed skips
          runAfterProcess), and a spy function's error never fails a macro (pyext.cpp
          TFuncWrapper::Call): True, the model untouched.
        Otherwise a refinement: least-squares shifts move every refined atom (the double moves
        each atom that is not a Q-peak 0.0003 along x; a real refinement after a change to the
        model moves them by more than the .res's 5 decimals; none when `converged`), the new
        difference map gives new Q-peaks (`difference_peaks`, else each old peak's moved
        0.0137 along y at 0.8 of its height; the same ones when converged), and, as
        RunPrg.runAfterProcess does for SHELXL, the .res it wrote is loaded: reload(); for
        olex2.refine, post_peaks and EndUpdate instead (replace_peaks). Either way History
        records it (snum.history.current_node, snum.refinement.last_R1)."""
        if self.refine_failure == "file":
            self.errors.append("refine: file: could not write %s" % self.file)
            return self.gui  # the GUI macro's onabort clears the failure
        if args and args[0] != "-1":
            self.params["snum.refinement.max_cycles"] = int(args[0])
        if self.refine_failure == "program":
            self.errors.append("Please choose a reflection file")
            return True
        self.refinements += 1
        if self.file and self.file.lower().endswith(".cif"):
            # RunRefinementPrg.run writes the model to <name>.ins first (OV.File), SHELXL's
            # .res is then loaded (runAfterProcess: reloadStructureAtreap <name>.res), and
            # olex2.refine ends in xf.EndUpdate, which needs an .ins loaded
            # (xfiles.cpp: psCheckFileTypeIns): the open file is no longer the CIF
            stem = os.path.splitext(self.file)[0]
            self.file = stem + (".ins" if self.refine_program == "olex2.refine" else ".res")
        peaks = self.next_peaks()
        for atom in self.live():
            if atom.type != "Q" and not self.converged:
                atom.crd[0] += 0.0003
        if self.refine_program == "olex2.refine":
            self.replace_peaks(peaks)
        else:
            self.reload(peaks)
        self.params["snum.refinement.last_R1"] = "0.0412"
        if not self.params["snum.init.skip_routine"]:  # doHistoryCreation: "Skipping History"
            self.new_history_node()
        self.params["snum.init.skip_routine"] = False  # runAfterProcess's end, once R1 is known
        return True

    def next_peaks(self):
        """[(crd, height)] of the difference map after this refinement."""
        if self.difference_peaks is not None:
            peaks, self.difference_peaks = self.difference_peaks, None
            return [(list(crd), height) for crd, height in peaks]
        if self.converged:
            return [(list(a.crd), a.peak) for a in self.live() if a.type == "Q"]
        return [
            ([a.crd[0], (a.crd[1] + 0.0137) % 1.0, a.crd[2]], round(0.8 * a.peak, 2))
            for a in self.live()
            if a.type == "Q"
        ]

    def replace_peaks(self, peaks):
        """olex2.refine's post_peaks (olex2-gui CctbxLib/refinement.py): `kill $Q -au` deletes
        the live peaks where they are; each new one goes in as xf.au.NewAtom does it
        (asymmunit.cpp LibNewAtom: revive a deleted atom or a peak within 0.01 A, skip one on
        a live atom, else append); the live peaks are named Q1.. by falling height
        (_UpdateQPeaks); then xf.EndUpdate, a load for the GUI: undo cleared, selection and
        labels gone (as reload)."""
        for atom in self.live():
            if atom.type == "Q":
                atom.deleted = True
        for crd, height in peaks:
            there = [
                a
                for a in self.atoms
                if self.distance([(x - y) - round(x - y) for x, y in zip(crd, a.crd)]) <= 0.01
            ]
            if there and not (there[0].deleted or there[0].type == "Q"):
                continue  # a peak on an atom: skipped
            if there:
                atom = there[0]
                atom.deleted, atom.type, atom.peak, atom.crd = False, "Q", height, list(crd)
            else:
                self.atoms.append(Atom("Q", "Q", crd, 0.06, 1.0, 0, height))
        self._name_peaks(self.live())
        self.undo_stack, self.selection, self.labels, self.other_labels = [], [], {}, []

    @staticmethod
    def _name_peaks(atoms):
        peaks = sorted((a for a in atoms if a.type == "Q"), key=lambda a: -a.peak)
        for number, peak in enumerate(peaks, 1):
            peak.label = "Q%d" % number

    def reload(self, peaks=None):
        """Olex2 loading the .res it wrote: deleted atoms gone, each riding H after its pivot,
        Q-peaks last (the order of a SHELX file), ids renumbered, undo stack cleared
        (gxapp.cpp xappXFileLoad::Enter), selection and labels gone. With `peaks`, the
        [(crd, height)] the program wrote in place of the old Q-peaks, Q1 the highest."""
        if peaks is not None:
            for atom in self.live():
                if atom.type == "Q":
                    atom.deleted = True
            new = [Atom("Q", "Q", crd, 0.05, 1.0, 0, height) for crd, height in peaks]
            self._name_peaks(new)
            self.atoms += sorted(new, key=lambda a: -a.peak)
        live = self.live()
        riding = [a for a in live if a.type == "H" and a.pivot in live]
        order = []
        for atom in live:
            if atom.type == "Q" or atom in riding:
                continue
            order.append(atom)
            order += [h for h in riding if h.pivot is atom]
        self.atoms = order + [a for a in live if a.type == "Q"]
        self.undo_stack, self.selection, self.labels, self.other_labels = [], [], {}, []

    def refill_vfs(self):
        """Olex2 filling its virtual files afresh: what plugins wrote is gone until each
        VFSDependent's load_ressources puts its own back (olex2-gui PluginTools.py
        VFSDependent; gui/help GetHelp.load_ressources). What triggers it in Olex2 (a skin
        change, a GUI reload) was not read."""
        self.vfs = {}
        for dependent in self.vfs_dependents:
            dependent.load_ressources()

    def _cmd_undo(self, args):
        """GXLibMacros::macUndo (gxlib/gxmacro.cpp): the GUI's; olex2c registers no undo, so
        there it is an unknown macro."""
        if not self.gui:
            self.errors.append("Unknown macro undo")
            return False
        if not self.undo_stack:
            return True  # macUndo does nothing, successfully
        entry = self.undo_stack.pop()
        if entry[0] == "group":
            for _, atom, label, type_, peak in reversed(entry[1]):
                atom.label, atom.type, atom.peak = label, type_, peak
        else:
            for atom in entry[1]:
                atom.deleted = False
        return True

    # --- the main loop: scheduled macros, Olex2's environment -----------------------------------
    def schedule(self, interval, macro):
        """As Olex2's timer runs its tasks (mainform.cpp, ID_TIMER): a task is due once the
        whole seconds of TETime::Now() since it was scheduled exceed its interval, so
        Schedule(1) runs 1-2 s later and Schedule(0) within the next second."""
        self.scheduled.append((self._second() + int(interval) + 1, macro))

    def _second(self):
        return int(time.monotonic() / self.schedule_unit)

    def run_scheduled(self):
        """Run the scheduled macros that are due, on the calling (main) thread."""
        now = self._second()
        due = [item for item in self.scheduled if item[0] <= now]
        self.scheduled = [item for item in self.scheduled if item[0] > now]
        for _, macro in due:
            if macro.strip().startswith("spy."):
                self.call(macro)
            else:
                self.run(macro)
        return len(due)

    def call(self, text):
        """A spy function as Olex2 calls it from its command line, a button or Schedule:
        `spy.ns.name(a, 'b c', -key=value)`. Every argument arrives as a string, quotes taken
        off; one of the form -key=value becomes a keyword argument (repository/pyext.cpp
        TFuncWrapper::Call with decode_keywords, runRegisterFunction's default). The value
        returned is what Olex2 would print or insert (None when the function returned None)."""
        call = re.match(r"^spy\.([\w.]+)\.(\w+)(?:\((.*)\))?$", text.strip())
        if call is None:
            raise ValueError("not a spy function call: %r" % text)
        args, kwargs = [], {}
        for word in _split_arguments(call.group(3) or ""):
            if word.startswith("-") and "=" in word:
                key, _, value = word[1:].partition("=")
                kwargs[key] = value
            else:
                args.append(word)
        return self.functions["%s.%s" % (call.group(1), call.group(2))](*args, **kwargs)

    def pump(self, until, timeout=120.0):
        """Olex2's idle loop until `until()` holds: scheduled macros run, nothing else does."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError("Olex2's main loop waited %.0f s in vain" % timeout)
            if not self.run_scheduled():
                time.sleep(0.005)

    def registered(self, name, function):
        """What registerFunction stores: an error's traceback is printed (recorded in
        `errors`) as Olex2's PyErr_Print does, never raised."""

        def call(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except Exception:  # noqa: BLE001  (Olex2 swallows it the same way)
                self.errors.append(traceback.format_exc())
                return None

        call.__name__ = function.__name__
        self.functions[name] = call

    def olex2_environment(self, base):
        return dict((k, v.format(base=base)) for k, v in OLEX2_ENVIRONMENT.items())

    # --- the GIL --------------------------------------------------------------------------------
    def raise_count(self):
        with self.gil:
            self.running_threads += 1
            self.gil.notify_all()

    def lower_count(self):
        with self.gil:
            if self.running_threads == 0:
                self.errors.append("pyDecRuningThreads: current value is 0")
                return
            self.running_threads -= 1

    def enforce_gil(self, plugin_dir, patience=60.0):
        """From now on a thread enters plugin code only while the running-thread count is raised
        (checked at each call of a plugin function: a thread that lowered the count may finish
        the function it is in, as it holds the GIL until its next switch), and its print goes
        to `thread_prints`, as in Olex2. Returns the undo function."""
        main = threading.main_thread()
        folder = os.path.normcase(os.path.abspath(plugin_dir))

        def gate(frame, event, arg):
            if self.running_threads <= 0 and threading.current_thread() is not main:
                start = time.monotonic()
                with self.gil:
                    while self.running_threads <= 0:
                        if time.monotonic() - start > patience:
                            self.starved.append(threading.current_thread().name)
                            raise SystemExit("no GIL for %.0f s" % patience)
                        self.gil.wait(0.05)

        def trace(frame, event, arg):
            if event == "call" and os.path.normcase(
                os.path.abspath(frame.f_code.co_filename)
            ).startswith(folder):
                gate(frame, event, arg)
            return None

        real_stdout = sys.stdout
        state = self

        class OlexStdout(object):
            def write(self, text):
                if threading.current_thread() is not main:
                    state.thread_prints.append(text)
                return real_stdout.write(text)

            def flush(self):
                return real_stdout.flush()

        threading.settrace(trace)
        sys.stdout = OlexStdout()

        def undo():
            threading.settrace(None)
            sys.stdout = real_stdout

        return undo


def plugin_list(base_dir):
    """The plugins Olex2 loads: the item names in the `Plugin` item of <base_dir>/plugins.xld
    (olex2app.h AOlex2App::InitOlex2App; olex_core.GetPluginList gives them), the file read as
    sdl/datafile.cpp TDataFile::LoadFromTextStream reads XL data: UTF-8, line ends dropped,
    tabs as blanks, from the first '<'. No file: no plugins; no Plugin item: Olex2 logs
    "Invalid plugins file" and loads none. The list is sorted without regard to case (a
    SortedObjectList with olxstrComparator<true>, filled with Add, not AddUnique: a name
    written twice is listed twice), and GetPluginList gives it in that order."""
    path = os.path.join(base_dir, "plugins.xld")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8-sig") as stream:
        text = stream.read().replace("\r", "").replace("\n", "").replace("\t", " ")
    root = _xl_items(text[text.find("<") :] if "<" in text else "")
    plugin = next((item for item in root if item[0] == "Plugin"), None)
    if plugin is None:
        STATE.errors.append("Invalid plugins file")
        return []
    return sorted((name for name, _ in plugin[1]), key=str.lower)


def _xl_items(text):
    """[(name, [child items])] of XL data `<Name "value" field="v" <Child> >` (the fields and
    values are read past, not kept); a name is what follows `<` up to a blank or `<>"`
    (sdl/dataitem.cpp TDataItem::LoadFromString)."""
    items, stack, k = [], [], 0
    while k < len(text):
        char = text[k]
        if char == '"':
            k = text.find('"', k + 1) + 1 or len(text)
            continue
        if char == "<":
            name = re.match(r"<([^\s<>\"]*)", text[k:]).group(1)  # `< A`: an empty name
            stack.append((name, []))
            k += 1 + len(name)
            continue
        if char == ">" and stack:
            item = stack.pop()
            (stack[-1][1] if stack else items).append(item)
        k += 1
    return items


def start_plugins(base_dir):
    """What Olex2 does with its plugins when it starts (olex2-gui util/pyUtil/initpy_funcs.py
    set_plugins_paths and import_startup_plugins_deferred, GUI mode): every listed plugin's
    folder <base>/util/pyUtil/PluginLib/plugin-NAME goes on sys.path, then each module NAME
    not imported yet is imported; one that raises is reported in one line, "Failed to load
    plugin 'NAME': error", and the others load all the same. Returns what was printed."""
    names = plugin_list(base_dir)
    for name in names:
        folder = "%s/util/pyUtil/PluginLib/plugin-%s" % (base_dir, name)
        if folder not in sys.path:
            sys.path.append(folder)
    printed = []
    for name in names:
        if name in sys.modules:
            continue
        try:
            __import__(name)
        except Exception as err:  # noqa: BLE001  (initpy_funcs catches every error the same way)
            printed.append("Failed to load plugin '%s': %s" % (name, err))
            print(printed[-1])
    return printed


def _split_arguments(text):
    """Olex2's function arguments: comma separated, a quoted one taken as it is without its
    quotes, spaces around each dropped."""
    words, current, quote = [], "", None
    for char in text:
        if quote:
            if char == quote:
                quote = None
            else:
                current += char
        elif char in "'\"":
            quote = char
        elif char == ",":
            words.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip() or words:
        words.append(current.strip())
    return [w for w in words if w != ""]


def _length(v):
    return math.sqrt(sum(x * x for x in v))


def _unit(v):
    return [x / _length(v) for x in v]


def _cross(u, v):
    return [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]


def _generate_1(bonds, distance):
    """AConstraintGenerator::Generate_1 (xlib/congen.cpp): the one H of a CH, from the pivot,
    given the bond vectors; with three neighbours all within 1.95 Å along the normal of the
    plane of their unit vectors, on the side away from them (Luc's AFIX 13 rule; the source
    also lets a longer bond to Br pass, left out), else opposite the sum of the unit
    vectors. A sum of length 0 raises ZeroDivisionError, as Normalise throws."""
    units = [_unit(v) for v in bonds]
    if len(bonds) == 3 and all(_length(v) <= 1.95 for v in bonds):
        rv = _unit([sum(u[k] for u in units) for k in range(3)])
        normal = _cross(
            [x - y for x, y in zip(units[0], units[1])],
            [x - y for x, y in zip(units[2], units[1])],
        )
        side = distance if sum(x * y for x, y in zip(rv, normal)) < 0 else -distance
        return [x * side for x in _unit(normal)]
    return [-distance * x for x in _unit([sum(u[k] for u in units) for k in range(3)])]


def _olex2_places(code, element, count):
    elements, counts = OLEX2_HFIX.get(code // 10, (set(), ()))
    return element in elements and count in counts


def _methyl_like(pivot, code):
    """FixAtom's fgCH3/fgNH3 with one neighbour: AFIX m 3 or 13 on a C or N (xlcongen.cpp
    ShelxToOlex; hadd has checked the one heavy neighbour)."""
    return code // 10 in (3, 13) and pivot.type in ("C", "N")


def _bond_allowed(a, b):
    """TNetwork::IsBondAllowed(TCAtom, TCAtom) (xlib/network.h): either in part 0, or the
    same part."""
    return a.part == 0 or b.part == 0 or a.part == b.part


# TIns::ParseRestraint (xlib/ins.cpp): the numbers each kind reads, in order, its Esd1Mult
# and whether it may name no atoms (AcceptsAll: then for all non-H atoms)
RESTRAINT_READING = {
    "DFIX": (("value", "esd1"), 0, False),
    "DANG": (("value", "esd1"), 0, False),
    "SADI": (("esd1",), 0, False),
    "CHIV": (("value", "esd1"), 0, False),
    "FLAT": (("esd1",), 0, False),
    "DELU": (("esd1", "esd2"), 1, True),
    "RIGU": (("esd1", "esd2"), 1, True),
    "SIMU": (("esd1", "esd2", "value"), 2, True),
    "ISOR": (("esd1", "esd2"), 2, True),
    "EADP": ((), 0, False),
}
# RefinementModel::SetRestraintDefaults (xlib/refmodel.cpp): value, esd1, esd2 of a new one
RESTRAINT_DEFAULTS = {
    "DFIX": (0.0, 0.02, 0.0),
    "DANG": (0.0, 0.04, 0.0),
    "SADI": (0.0, 0.02, 0.0),
    "CHIV": (0.0, 0.1, 0.0),
    "FLAT": (0.0, 0.1, 0.0),
    "DELU": (0.0, 0.01, 0.01),
    "RIGU": (0.0, 0.004, 0.004),
    "SIMU": (2.0, 0.04, 0.08),
    "ISOR": (0.0, 0.1, 0.2),
    "EADP": (0.0, 0.0, 0.0),
}


def _symmetry_matrix(text):
    """'-x,1/2+y,z' as RefinementModel::PyExport gives an EQIV in "equivalents" (xlib/
    refmodel.cpp: Py_BuildValue("(iii)(iii)(iii)(ddd)"): its three rotation rows, then the
    translation."""
    rows, shifts = [], []
    for part in text.replace(" ", "").lower().split(","):
        row, shift = [0, 0, 0], 0.0
        for sign, term in re.findall(r"([+-]?)([^+-]+)", part):
            k = -1 if sign == "-" else 1
            if term in ("x", "y", "z"):
                row["xyz".index(term)] += k
            else:
                number, _, denominator = term.partition("/")
                shift += k * float(number) / float(denominator or 1)
        rows.append(tuple(row))
        shifts.append(shift)
    return tuple(rows) + (tuple(shifts),)


def residues_declared(lines):
    """Index of each RESI line in `lines` → (number, class) as Olex2 reads it: class and
    number in either order (xlib/ins.cpp TIns::_ParseIns), a class alone numbered after the
    highest residue so far (it passes NoResidue to xlib/asymmunit.cpp
    TAsymmUnit::NewResidue, which takes the highest number or alias + 1), 0 the main one."""
    declared = {}
    for index, line in enumerate(lines):
        words = line.split()
        if words and words[0].upper() == "RESI":
            number = [int(w) for w in words[1:3] if w.isdigit()]
            name = [w.upper() for w in words[1:3] if not w.isdigit()]
            highest = max((n for n, _ in declared.values()), default=0)
            declared[index] = (number[0] if number else highest + 1, name[0] if name else "")
    return declared


def residue_of_lines(text):
    """The residue Olex2 puts an atom on each line of an .ins in (1-based line → number):
    the last RESI's before it (residues_declared), 0 before any."""
    lines = text.splitlines()
    declared, current, numbers = residues_declared(lines), 0, {}
    for index in range(len(lines)):
        current = declared.get(index, (current, ""))[0]
        numbers[index + 1] = current
    return numbers


def _residues_named(suffix, classes, atoms):
    """The residue numbers an instruction's suffix names: _2 residue 2, _CLS each residue of
    class CLS, _* every residue and the main one (SHELXL manual, RESI)."""
    if suffix.isdigit():
        return [int(suffix)]
    if suffix == "*":
        return sorted({0} | {a.resi for a in atoms})
    return classes.get(suffix.upper(), [])


def _variable_of(code):
    """(m, k) of a SHELX parameter code 10m+k as XVarManager::SetParam splits it: m negative
    for -(10m+k), k = |code - 10m|, m one higher where that is 5 or more (xlib/leq.cpp)."""
    m = int(code / 10)
    if abs(code - m * 10) >= 5:
        m = (1 if m > 0 else -1) * (abs(m) + 1)
    return m, abs(code - m * 10)


def _address(label, resi):
    """How Olex2 names an atom of a residue: C1 in the main residue, C1_2 in residue 2."""
    return label if not resi else "%s_%d" % (label, resi)


def _is_number(word):
    try:
        float(word)
    except ValueError:
        return False
    return True


def _existsi(path):
    """`path` as it is on disk when a file of that name exists in another case, else `path`
    (TEFile::Existsi)."""
    folder, name = os.path.split(path)
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return path
    same = [n for n in names if n.lower() == name.lower()]
    return os.path.join(folder, name if name in same or not same else same[0])


def _type_of(label):
    """Olex2 types an atom from its label: Q = peak, else the longest element symbol prefix."""
    if re.match(r"^Q\d", label, re.I):
        return "Q"
    two, one = label[:2].capitalize(), label[:1].upper()
    if two in ELEMENTS and not label[1:2].isdigit():
        return two
    return one if one in ELEMENTS else None


STATE = Olex2()
