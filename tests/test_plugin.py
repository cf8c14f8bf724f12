"""The Olex2 plugin end to end against the Olex2 test double: a real charge-flipping solution
is loaded, Auto-assign is clicked, and the commands, the model, Revert and the re-assign loop
are checked; plus the core missing, crashing, and a command failing mid-apply."""

import importlib
import json
import os
import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cctbx import sgtbx

from crystalx_core.crystallography.compare import match_sites
from crystalx_core.crystallography.solve import solve
from crystalx_core.elements import is_hydrogen
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.panel.rows import read_assignment
from crystalx_core.structure import Site

from installer.olex2_setup import install

from .conftest import BENCHMARK, PLUGIN_MODULES, fake_olex2

ROOT = Path(__file__).resolve().parents[1]
DOUBLE = ROOT / "tests" / "olex2_double"
PLUGIN = ROOT / "plugin" / "plugin-CrystalX"


@pytest.fixture(scope="module")
def alanine_solution(shared_data):
    truth = read_cif(BENCHMARK / "XH_alanine" / "model.cif").structure
    solution = solve(
        truth.with_sites([]), read_hkl(BENCHMARK / "XH_alanine" / "data.hkl")
    ).structure
    return truth, solution


def olex2_environment(monkeypatch, base):
    """The environment an installed Olex2 gives its plugins (etc/bin/start): a child Python
    that inherits it dies (PYTHONHOME) or imports Olex2's cctbx (LIBTBX_BUILD)."""
    for name, value in importlib.import_module("_olex2").STATE.olex2_environment(str(base)).items():
        monkeypatch.setenv(name, value)
    for name, folder in (("LD_LIBRARY_PATH", "lib"), ("PATH", "bin")):
        monkeypatch.setenv(
            name, os.pathsep.join([str(base / folder)] + [p for p in [os.environ.get(name)] if p])
        )


def open_in_double(
    tmp_path,
    monkeypatch,
    structure,
    atoms,
    z,
    interpreter=sys.executable,
    hkl=None,
    settings=None,
    file="/data/structure.res",
    gui=True,
):
    """The double with `atoms` (the double's Atom arguments) in `structure`'s cell, symmetry,
    formula (z formula units) and wavelength, `hkl` as its HKL source, Olex2's environment
    and thread rule, and a fresh plugin imported into it (which starts the core in the
    background), with `settings` saved before: (state, plugin)."""
    for path in (str(DOUBLE), str(PLUGIN)):
        monkeypatch.syspath_prepend(path)
    for name in PLUGIN_MODULES + (
        "olex",
        "olx",
        "olex_core",
        "olexFunctions",
        "PluginTools",
        "History",
        "_olex2",
    ):
        sys.modules.pop(name, None)
    state = importlib.import_module("_olex2").STATE
    state.reset()
    state.gui = gui
    olex2_environment(monkeypatch, tmp_path / "olex2")
    state.params.update(
        {
            "_data_dir": str(tmp_path),
            "_base_dir": str(tmp_path / "olex2"),
            "crystalx.core_interpreter": interpreter,
            "crystalx.core_directory": str(ROOT),
            **(settings or {}),
        }
    )
    undo = state.enforce_gil(PLUGIN)
    monkeypatch.setattr(state, "undo_gil", undo, raising=False)
    monkeypatch.setattr(
        state, "schedule_unit", 0.01
    )  # time compressed: scheduled macros run 10 ms later
    matrices = []
    for op in structure.symops:
        rt = sgtbx.rt_mx(op)
        r, t = rt.r().as_double(), rt.t().as_double()
        matrices.append(tuple(tuple(r[3 * k : 3 * k + 3]) + (t[k],) for k in range(3)))
    state.load(
        structure.cell,
        matrices,
        [(el, n / z) for el, n in zip(structure.sfac, structure.unit)],
        z,
        atoms,
        file=file,
        hkl=hkl,
        radiation=structure.wavelength,
    )
    plugin = importlib.import_module("CrystalX")
    return state, plugin.CrystalX_instance


@pytest.fixture
def close_plugin():
    yield
    plugin = sys.modules.get("CrystalX")
    if plugin is not None:
        instance = plugin.CrystalX_instance
        if instance.panel_link is not None and instance.panel_link.alive():
            instance.panel_link.process.kill()
        if instance.core is not None:
            instance.core.close()
        state = sys.modules["_olex2"].STATE
        getattr(state, "undo_gil", lambda: None)()
        assert state.thread_prints == [] and state.starved == [] and state.running_threads == 0
    for name in PLUGIN_MODULES:
        sys.modules.pop(name, None)


@pytest.fixture
def olex2(tmp_path, alanine_solution, monkeypatch, close_plugin):
    """The double with the solution loaded, and a fresh plugin imported into it."""
    truth, solution = alanine_solution
    peaks = [(s.label, "Q", s.frac, 0.05, 1.0, 0, s.peak_height) for s in solution.sites]
    state, plugin = open_in_double(
        tmp_path, monkeypatch, replace(solution, sfac=truth.sfac, unit=truth.unit), peaks, z=4
    )
    yield state, plugin, truth


def idle(plugin):
    return plugin.job is None and (plugin.worker is None or not plugin.worker.is_alive())


def click(state, plugin, function, *args):
    """Press a button, then run Olex2's main loop (scheduled macros only) until the plugin
    is idle and nothing is scheduled."""
    state.functions["crystalx." + function](*args)
    state.pump(lambda: idle(plugin) and not state.scheduled)
    assert not state.errors, state.errors[-1]


def elements_at_published_sites(state, truth):
    """Element of the live atom matched to each published non-H atom (within 0.5 Å, allowed
    origin shifts included: charge flipping puts the origin anywhere permitted)."""
    atoms = [Site(a.label, a.type, tuple(a.crd)) for a in state.live() if a.type not in ("Q", "H")]
    match = match_sites(truth, truth.with_sites(atoms), tolerance=0.5)
    return {truth.sites[i].label: atoms[j].element for i, j in match.pairs}


def test_the_plugin_registers_its_commands_and_work_tab_panel(olex2):
    state, plugin, _ = olex2
    assert {
        "crystalx.assign",
        "crystalx.preview",
        "crystalx.apply",
        "crystalx.revert",
        "crystalx.batch",
        "crystalx.panel",
    } <= set(state.functions)
    assert state.index_work == [("work", "CrystalX", str(PLUGIN / "CrystalX.htm"))]
    assert state.params["crystalx.probability_threshold"] == 0.9


def test_auto_assign_types_the_solution_and_revert_restores_it_exactly(olex2):
    state, plugin, truth = olex2
    before = state.model_state()
    click(state, plugin, "assign")
    renames = [c for c in state.log if c.startswith("name ")]
    assert renames and all(len(c.split()) == 3 for c in renames)
    assert not any(c.strip() == "kill" for c in state.log)
    assert state.freeze_log == [True, False]
    assigned = elements_at_published_sites(state, truth)
    published = {s.label: s.element for s in truth.sites if not is_hydrogen(s.element)}
    assert len(assigned) == len(published)
    assert sum(assigned[k] == published[k] for k in published) >= len(published) - 1
    assert sum(1 for a in state.live() if a.type == "H") >= 5  # riding H from hadd
    assert all(text.startswith(state.atoms[i].label + " ") for i, text in state.labels.items())
    assert "crystalx-table.htm" in state.vfs and "<tr" in state.vfs["crystalx-table.htm"]
    assert Path(plugin.session.answer_path).exists()

    click(state, plugin, "revert")
    assert state.model_state() == before
    assert plugin.session.messages[-1] == "reverted exactly"


def test_preview_changes_nothing_and_apply_refuses_a_changed_model(olex2):
    state, plugin, _ = olex2
    before = state.model_state()
    click(state, plugin, "preview")
    assert state.model_state() == before and not [c for c in state.log if c.startswith("name")]
    state.run("kill %s" % state.live()[0].label)
    click(state, plugin, "apply")
    assert "model changed" in plugin.session.messages[-1]


def test_reassign_session_converges_and_refines(olex2):
    state, plugin, _ = olex2
    click(state, plugin, "batch", "4")
    assert state.refinements >= 1
    assert plugin.session.messages[-1].startswith("stable")
    assert state.scheduled == [] and plugin.job is None


def test_reassign_with_auto_refine_refines_once_a_round_even_when_refine_fails(olex2):
    """Apply refines under auto_refine; a round of Re-assign refines only when it did not,
    so a refine that did not refine (the journal stays unrefined: Session.refine) is not run
    twice. Olex2's GUI refine answers True then (RunRefinementPrg prints its error: the
    double's refine_failure); only the unchanged model tells."""
    state, plugin, _ = olex2
    state.params["crystalx.auto_refine"] = True
    state.refine_failure = "program"
    state.functions["crystalx.batch"]("2")
    state.pump(lambda: idle(plugin) and not state.scheduled)
    assert set(state.errors) == {"Please choose a reflection file"}  # Olex2's own line
    applies = [m for m in plugin.session.messages if m.startswith("applied ")]
    refines = [c for c in state.log if c.startswith("refine")]
    assert applies and len(refines) == len(applies) and state.refinements == 0
    not_refined = [m for m in plugin.session.messages if "the model was not refined" in m]
    assert len(not_refined) == len(applies)


def test_a_command_failing_mid_apply_leaves_the_model_as_it_was(olex2):
    state, plugin, _ = olex2
    before = state.model_state()
    state.fail_on = "hadd"
    click(state, plugin, "assign")
    assert state.model_state() == before
    assert any("refused" in m and "put back" in m for m in plugin.session.messages)


def test_headless_olex2c_assigns_on_the_calling_thread_without_gui_calls(
    tmp_path, monkeypatch, alanine_solution, close_plugin
):
    """olex2c imports plugins when LOAD_HEADLESS_PLUGINS is set (olex2-gui
    util/pyUtil/initpy_funcs.py set_plugins_paths; a stored SISYPHOS script running
    olexsys-olex2c.exe sets it), where HasGUI is false and Freeze, Label, html and undo do not exist
    (olex2c/olex2c.cpp TOlex2c registers none; the double's olx raises AttributeError for
    them) and no thread gets the GIL (TOlex2c::Dispatch never lends it). Auto-assign returns
    with the answer applied, Revert and the panel say why they cannot, nothing fails."""
    truth, solution = alanine_solution
    peaks = [(s.label, "Q", s.frac, 0.05, 1.0, 0, s.peak_height) for s in solution.sites]
    state, plugin = open_in_double(
        tmp_path,
        monkeypatch,
        replace(solution, sfac=truth.sfac, unit=truth.unit),
        peaks,
        z=4,
        gui=False,
    )
    assert plugin.worker is None and state.index_work == []  # no warm-up thread, no Work tab
    before = state.model_state()
    state.functions["crystalx.assign"]()
    assert not state.errors, state.errors[-1]
    assert plugin.job is None and plugin.worker is None and state.scheduled == []
    assert [c for c in state.log if c.startswith("name ")]  # applied before the call returned
    assert sum(1 for a in state.live() if a.type == "H") >= 5
    assert state.freeze_log == [] and state.labels == {} and state.html_updates == 0
    assert "undo" not in state.log and "kill labels" not in state.log

    state.functions["crystalx.revert"]()
    assert "olex2c has no undo" in plugin.session.messages[-1] and "undo" not in state.log
    state.functions["crystalx.panel"]()
    assert "needs Olex2's GUI" in plugin.session.messages[-1] and plugin.panel_link is None
    assert not state.errors, state.errors[-1]

    state.reset_model()
    state.load(state.cell, state.matrices, state.formula, state.z, peaks, file=state.file)
    state.fail_on = "hadd"
    state.functions["crystalx.assign"]()
    assert not state.errors and state.model_state() != before
    assert "olex2c has no undo, so the" in " ".join(plugin.session.messages)


def test_a_missing_core_is_a_clear_message(tmp_path, monkeypatch, alanine_solution, close_plugin):
    _, solution = alanine_solution
    peaks = [(s.label, "Q", s.frac, 0.05, 1.0, 0, s.peak_height) for s in solution.sites]
    state, plugin = open_in_double(
        tmp_path, monkeypatch, solution, peaks, z=4, interpreter="/nowhere/python"
    )
    state.pump(lambda: idle(plugin) and not state.scheduled)
    assert (
        "could not start" in plugin.session.messages[-1]
        and "interpreter not found" in plugin.session.messages[-1]
    )
    click(state, plugin, "assign")
    assert "interpreter not found" in plugin.session.messages[-1]


def test_a_crashed_core_is_restarted_and_the_user_told(olex2):
    state, plugin, _ = olex2
    click(state, plugin, "preview")
    plugin.core.process.kill()
    plugin.core.process.wait()
    click(state, plugin, "preview")
    assert any("restarted" in m for m in plugin.session.messages)
    assert plugin.session.answer is not None


def test_atoms_in_residues_are_renamed_within_their_residue_and_revert_exactly(
    tmp_path, monkeypatch, shared_data, close_plugin
):
    """FC_p21c as refined, in Olex2: four RESI residues repeat O1, C1..C4 and F1..F9, and one
    residue-2 O1 has been typed N (as N1). Auto-assign puts it back as O1 of residue 2,
    leaves every other label alone, and Revert restores the model exactly."""
    structure = read_shelx(BENCHMARK / "FC_p21c" / "published.res").to_structure()
    atoms = []
    for site in structure.sites:
        label, _, residue = site.label.partition("_")
        element = "N" if (label, residue) == ("O1", "2") else site.element
        atoms.append(
            (
                "N1" if element == "N" else label,
                element,
                site.frac,
                site.u_iso,
                site.occupancy,
                site.part,
                0.0,
                site.afix,
                int(residue or 0),
            )
        )
    state, plugin = open_in_double(tmp_path, monkeypatch, structure, atoms, z=4)
    before = state.model_state()
    typed_n = next(k for k, a in enumerate(state.atoms) if a.label == "N1")
    click(state, plugin, "assign")
    assert [c for c in state.log if c.startswith("name")] == ["name #c%d O1" % typed_n]
    moved = state.find("O1_2")
    assert moved is not None and moved.type == "O" and moved.resi == 2
    assert sorted(a.address for a in state.live()) == sorted(s.label for s in structure.sites)
    click(state, plugin, "revert")
    assert state.model_state() == before


def test_an_atom_that_keeps_its_riding_hydrogens_shows_their_code_in_the_panel(
    tmp_path, monkeypatch, shared_data, close_plugin
):
    """SXF_I43d as refined, open in Olex2 with its riding H: the plugin sends each H's AFIX
    as Olex2 gives it (olx.xf.au.GetAtomAfix, pcxod/olex2 xlib/asymmunit.cpp
    LibGetAtomAfix → xlib/catom.cpp TCAtom::GetAfix), and the panel's HFIX column shows what
    Olex2 keeps for the acetonitrile's methyl C41, its AFIX 33 marked kept, not the job's
    137 (session 17 showed 137 while Olex2 kept 33); nothing is added to an atom with H."""
    structure = read_shelx(BENCHMARK / "SXF_I43d" / "published.res").to_structure()
    atoms = [
        (s.label, s.element, s.frac, s.u_iso, s.occupancy, s.part, 0.0, s.afix)
        for s in structure.sites
    ]
    state, plugin = open_in_double(tmp_path, monkeypatch, structure, atoms, z=1)
    click(state, plugin, "preview")
    session = plugin._session()
    sent = dict((s["label"], s.get("afix")) for s in session.shown.snapshot["sites"])
    assert (sent["H40A"], sent["H1A"], sent["C41"]) == (33, 137, None)
    row = next(r for r in state.vfs["crystalx-table.htm"].splitlines() if "<td>C41</td>" in r)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert "33 kept" in cells and "137" not in cells
    model, result = session.answer
    assert not [c for c in result["commands"] if c.startswith("hadd")]
    rows = read_assignment(Path(session.answer_path)).rows  # the Qt panel's row says the same
    assert next(r for r in rows if r.label == "C41").hfix_text() == "33 kept"


def test_with_olex2s_reflection_file_the_data_put_swapped_atoms_back_undoably(
    tmp_path, monkeypatch, shared_data, close_plugin
):
    """Alanine as published, with C2 and N1 named and typed as each other (N2, C4), opened
    from "my data/alanine.res" beside its reflections ALANINE.HKL, which Olex2 finds itself
    (xlib/xfiles.cpp PostLoad: the same-named .hkl, TEFile::Existsi ignores the case) and
    gives as olx.HKLSrc(). The baseline's prior follows the names; the reflections overrule
    it, the panel says so per atom, Apply retypes both, Revert restores the swap."""
    truth = read_cif(BENCHMARK / "XH_alanine" / "model.cif").structure
    swaps = {"C2": ("N2", "N"), "N1": ("C4", "C")}
    atoms = [
        swaps.get(s.label, (s.label, s.element)) + (s.frac, s.u_iso, 1.0, 0, 0.0)
        for s in truth.sites
        if not is_hydrogen(s.element)
    ]
    folder = tmp_path / "my data"
    folder.mkdir()
    hkl = str(folder / "ALANINE.HKL")
    shutil.copyfile(BENCHMARK / "XH_alanine" / "data.hkl", hkl)
    state, plugin = open_in_double(
        tmp_path,
        monkeypatch,
        truth,
        atoms,
        4,
        settings={"crystalx.method": "baseline"},
        file=str(folder / "alanine.res"),
    )
    assert sys.modules["olx"].HKLSrc() == hkl
    before = state.model_state()
    click(state, plugin, "assign")
    sent = plugin.session.shown
    assert sent.reflections == {
        "path": hkl,
        "hklf": 4,
        "scale": 1.0,
        "twin": False,
        "matrix": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    }
    assert sent.snapshot["wavelength"] == truth.wavelength
    assert elements_at_published_sites(state, truth) == {
        s.label: s.element for s in truth.sites if not is_hydrogen(s.element)
    }
    messages = plugin.session.messages
    assert (
        "asking the core about 6 sites with ALANINE.HKL (refining: this takes longer)" in messages
    )
    assert any(m.startswith("weighed by the data in ALANINE.HKL") for m in messages), messages
    assert sum("by the data" in m and "→" in m for m in messages) == 2
    table = state.vfs["crystalx-table.htm"]
    assert "by the data" in table and table.count("&rarr;") >= 4  # cell and reason per change
    checked = next(m for m in messages if m.startswith("below 0.90 confidence or changed"))
    assert "was N" in checked and "was C" in checked
    marked = {state.atoms[i].label: text for i, text in state.labels.items()}
    assert sorted(marked) == ["C2", "N4"]  # the swapped pair, labelled again after Apply
    assert all(text.startswith(label + " ") and " was " in text for label, text in marked.items())
    saved = json.loads(Path(plugin.session.answer_path).read_text())
    assert all(site["evidence"] for site in saved["result"]["sites"])
    rows = read_assignment(Path(plugin.session.answer_path)).rows  # what the Qt panel shows
    assert all(row.by_data.startswith("refined as") for row in rows)
    assert sorted(row.changed_from for row in rows if row.changed_from) == ["C", "N"]
    click(state, plugin, "revert")
    assert state.model_state() == before
    assert plugin.session.messages[-1] == "reverted exactly"


@pytest.mark.parametrize("problem", ["missing", "twinned"])
def test_a_reflection_file_that_cannot_be_used_is_said_and_the_model_answers(
    tmp_path, monkeypatch, alanine_solution, close_plugin, problem
):
    """A file that went, or a twin law CrystalX cannot refine with HKLF 4 data (a fractional
    matrix: a non-merohedral twin)."""
    truth, solution = alanine_solution
    peaks = [(s.label, "Q", s.frac, 0.05, 1.0, 0, s.peak_height) for s in solution.sites]
    state, plugin = open_in_double(
        tmp_path, monkeypatch, replace(solution, sfac=truth.sfac, unit=truth.unit), peaks, z=4
    )
    if problem == "missing":  # set, and then the file went (Olex2 keeps the name)
        state.hkl_src = str(tmp_path / "gone.hkl")
    else:
        state.hkl_src = str(BENCHMARK / "XH_alanine" / "data.hkl")
        state.twin = {"n": 2, "matrix": ((-1, 0, 0), (0, -1, 0.5), (0, 0, -1)), "basf": (0.1,)}
    click(state, plugin, "preview")
    messages = plugin.session.messages
    said = {
        "missing": "the reflection file %s is missing or unreadable" % state.hkl_src,
        "twinned": "reflections %s not used (the request's TWIN: the matrix" % state.hkl_src,
    }[problem]
    assert any(said in m for m in messages), messages
    _, result = plugin.session.answer
    assert result["reflections"] is None and result["sites"]
    assert all(site["evidence"] is None for site in result["sites"])
    assert "by the data" not in state.vfs["crystalx-table.htm"]


def test_a_twin_olex2_holds_is_sent_with_its_law_and_refined(
    tmp_path, monkeypatch, alanine_solution, close_plugin
):
    """Under TWIN Olex2's refinement model gives "twin" with "n", "matrix" and "basf"
    (refmodel.cpp PyExport; olex2's cctbx_olex_adapter.py reads them so): the plugin sends
    them and the core refines the data as twinned."""
    truth, solution = alanine_solution
    peaks = [(s.label, "Q", s.frac, 0.05, 1.0, 0, s.peak_height) for s in solution.sites]
    state, plugin = open_in_double(
        tmp_path, monkeypatch, replace(solution, sfac=truth.sfac, unit=truth.unit), peaks, z=4
    )
    state.hkl_src = str(BENCHMARK / "XH_alanine" / "data.hkl")
    state.twin = {"n": 2, "matrix": ((-1, 0, 0), (0, -1, 0), (0, 0, -1)), "basf": (0.1,)}
    click(state, plugin, "preview")
    sent = plugin.session.shown.reflections
    assert sent["twin"] is True and sent["twin_n"] == 2 and sent["basf"] == [0.1]
    assert sent["twin_matrix"] == [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]
    _, result = plugin.session.answer
    assert result["reflections"] is not None
    assert any(
        n.startswith("twinned data (TWIN -1 0 0 0 -1 0 0 0 -1 2)") for n in result["job_notes"]
    )


def test_the_reflections_can_be_switched_off_in_the_settings(
    tmp_path, monkeypatch, alanine_solution, close_plugin
):
    truth, solution = alanine_solution
    peaks = [(s.label, "Q", s.frac, 0.05, 1.0, 0, s.peak_height) for s in solution.sites]
    state, plugin = open_in_double(
        tmp_path,
        monkeypatch,
        replace(solution, sfac=truth.sfac, unit=truth.unit),
        peaks,
        z=4,
        hkl=str(BENCHMARK / "XH_alanine" / "data.hkl"),
        settings={"crystalx.use_reflections": False},
    )
    click(state, plugin, "preview")
    assert "asking the core about %d sites" % len(peaks) in plugin.session.messages
    _, result = plugin.session.answer
    assert result["reflections"] is None
    assert all(site["evidence"] is None for site in result["sites"])


OLEX2_MODULES = {"olex", "olx", "olex_core", "olexFunctions", "PluginTools", "History"}


@pytest.mark.parametrize(
    "path",
    sorted(PLUGIN.rglob("*.py")) + sorted((ROOT / "installer").glob("*.py")),
    ids=lambda p: p.name,
)
def test_plugin_code_is_python_3_8_and_standard_library_only(path):
    """Olex2 1.5 runs Python 3.8 with no numpy for us: the plugin and installer must cope."""
    import ast

    tree = ast.parse(path.read_text(), feature_version=(3, 8))
    local = {p.stem for p in path.parent.glob("*.py")} | {path.parent.name}
    local |= {p.name for p in path.parent.iterdir() if (p / "__init__.py").is_file()}
    for node in ast.walk(tree):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else []
        )
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in OLEX2_MODULES or top in local, (
                f"{path.name}: {name}"
            )


# --- Save settings: the user's settings kept in Olex2's data folder ----------------------------


def test_saved_settings_survive_an_upgrade_and_leave_the_core_to_the_installer(
    tmp_path, olex2_start
):
    """Settings edited in Olex2 (EditParams changes them for the session only) are kept by
    spy.crystalx.save_settings in DataDir/crystalx.phil, which PluginTools reads over the
    plugin's own at every start: an upgrade (install again, another core python) keeps
    them, and the core's interpreter stays the installer's. No core starts: the test sets
    the interpreter empty before each start, as a saved setting."""
    base, data = fake_olex2(tmp_path), tmp_path / "data"
    data.mkdir()
    install(str(base), sys.executable)
    olex2, _ = olex2_start(base, data, **{"crystalx.core_interpreter": ""})
    olex2.STATE.params.update(
        {"crystalx.method": "baseline", "crystalx.probability_threshold": 0.75}
    )
    olex2.STATE.params["crystalx.use_reflections"] = False
    olex2.STATE.functions["crystalx.save_settings"]()
    saved = (data / "crystalx.phil").read_text(encoding="utf-8")
    assert "method = 'baseline'" in saved and "core_interpreter" not in saved
    newer = tmp_path / "newer" / "python3"
    newer.parent.mkdir()
    newer.symlink_to(sys.executable)
    install(str(base), str(newer))
    olex2, _ = olex2_start(base, data, **{"crystalx.core_interpreter": ""})
    params = olex2.STATE.params
    assert (params["crystalx.method"], params["crystalx.probability_threshold"]) == (
        "baseline",
        0.75,
    )
    assert params["crystalx.use_reflections"] is False and params["crystalx.hydrogens"] == "auto"
    phil = base / "util" / "pyUtil" / "PluginLib" / "plugin-CrystalX" / "crystalx.phil"
    assert f"core_interpreter = '{newer}'" in phil.read_text(encoding="utf-8")


def test_only_changed_settings_are_saved_so_a_later_default_reaches_the_user(tmp_path, olex2_start):
    """Save settings writes what differs from the plugin's own .phil, as Olex2's
    SaveUserParams & co. do (variableFunctions.py: diff_only=True): a setting left at its
    default is not frozen, so a later version's new default (here batch_rounds 5 -> 7)
    reaches the user, while the one the user changed stays theirs."""
    base, data = fake_olex2(tmp_path), tmp_path / "data"
    data.mkdir()
    install(str(base), sys.executable)
    olex2, _ = olex2_start(base, data, **{"crystalx.core_interpreter": ""})
    olex2.STATE.params["crystalx.method"] = "baseline"
    olex2.STATE.params["crystalx.probability_threshold"] = 0.90  # the default, typed again
    olex2.STATE.functions["crystalx.save_settings"]()
    assert (data / "crystalx.phil").read_text(encoding="utf-8") == (
        "crystalx {\n  method = 'baseline'\n}\n"
    )
    later = tmp_path / "later" / "plugin-CrystalX"
    shutil.copytree(PLUGIN, later, ignore=shutil.ignore_patterns("__pycache__"))
    phil = (later / "crystalx.phil").read_text(encoding="utf-8")
    assert "batch_rounds = 5\n" in phil
    (later / "crystalx.phil").write_text(phil.replace("batch_rounds = 5\n", "batch_rounds = 7\n"))
    install(str(base), sys.executable, source=str(later))
    olex2, _ = olex2_start(base, data, **{"crystalx.core_interpreter": ""})
    params = olex2.STATE.params
    assert (params["crystalx.batch_rounds"], params["crystalx.method"]) == (7, "baseline")


def test_the_users_settings_are_the_phils_but_the_installers_and_the_panels(olex2_start, tmp_path):
    """USER_SETTINGS names every setting of crystalx.phil but the core's interpreter and
    folder (the installer's) and the gui scope (where the panel goes): one added to the
    .phil and forgotten there could never be saved."""
    base = fake_olex2(tmp_path)
    install(str(base), sys.executable)
    olex2_start(base, tmp_path, **{"crystalx.core_interpreter": ""})
    plugin = sys.modules["CrystalX"]
    declared = [
        name.split(".", 1)[1]
        for name, _ in importlib.import_module("PluginTools")._phil_values(
            str(PLUGIN / "crystalx.phil")
        )
    ]
    users = [n for n in declared if not n.startswith(("core_", "gui."))]
    assert sorted(plugin.USER_SETTINGS) == sorted(users) and len(set(users)) == len(users)
