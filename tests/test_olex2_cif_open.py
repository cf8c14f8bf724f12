"""A CIF opened in Olex2: its atoms are assigned, Apply is undone by Olex2's undo as for any
file, and where Olex2's undo is gone Revert says how to go back. Olex2 keeps no History for a
CIF (olex2-gui PyToolLib/History.py create_history: "don't attempt to make a history if a cif
is loaded"); refining its model writes <name>.ins and loads SHELXL's <name>.res
(RunPrg.py RunRefinementPrg.run: OV.File; runAfterProcess: reloadStructureAtreap), which
clears the undo, so the CIF is opened again to go back (the double does all of this:
tests/olex2_double/_olex2.py load, _cmd_refine)."""

import importlib

import pytest

from crystalx_core.elements import is_hydrogen
from crystalx_core.io.cif import read_cif

from .conftest import BENCHMARK
from .test_olex2_faithful import CELL, ETHANOL, P1, Snapshot
from .test_olex2_refine_and_labels import applied
from .test_plugin import click, close_plugin, open_in_double  # noqa: F401


@pytest.fixture
def ethanol_cif(tmp_path, monkeypatch, close_plugin):  # noqa: F811
    """ETHANOL opened from a CIF, the plugin loaded without a core."""
    state, plugin = open_in_double(
        tmp_path, monkeypatch, Snapshot, ETHANOL, z=1, interpreter="", file="/data/ethanol.cif"
    )
    return state, plugin


def test_a_cif_has_no_history_node_until_its_model_is_refined_as_a_res(ethanol_cif):
    state, _ = ethanol_cif
    history = importlib.import_module("History")  # Olex2's GUI imports it at start
    assert history.tree is None and state.params["snum.history.current_node"] is None
    state.run("refine 4")
    assert state.file == "/data/ethanol.res" and history.tree.active_node is not None


def test_apply_on_a_cif_is_undone_by_olex2s_undo(ethanol_cif):
    state, plugin = ethanol_cif
    before = state.model_state()
    session = applied(state, plugin, ["name O1 N1", "kill Q1"])
    assert state.find("N1") is not None
    assert session.revert() is True and session.messages[-1] == "reverted exactly"
    assert state.model_state() == before


@pytest.mark.parametrize("program", ["ShelXL", "olex2.refine"])
def test_after_the_cifs_model_was_refined_revert_says_to_open_the_cif_again(ethanol_cif, program):
    """Revert said "/data/ethanol.res is open, not /data/ethanol.cif" after Olex2's own
    refine, and "go back with Olex2's History" after the plugin's, which has no entry for
    the CIF's model."""
    state, plugin = ethanol_cif
    state.refine_program = program
    session = applied(state, plugin, ["name O1 N1"])
    state.run("refine 4")  # Olex2's Refine button
    assert session.revert() is False
    extension = ".ins" if program == "olex2.refine" else ".res"
    assert session.messages[-1] == (
        "not reverted: Olex2 refined the CIF's model as ethanol%s, which cleared its undo; "
        "Olex2 keeps no History for a CIF: open ethanol.cif again to go back" % extension
    )
    state.load(CELL, P1, [("C", 2), ("O", 1)], 1, ETHANOL, file="/data/ethanol.cif")
    session = applied(state, plugin, ["name O1 N1"])
    assert session.refine() is True  # the plugin's auto-refine: the file is the .res now
    assert session.revert() is False
    assert session.messages[-1].endswith("open ethanol.cif again to go back")
    assert state.find("N1") is not None


def test_a_published_cif_open_in_olex2_is_assigned_and_reverted_exactly(
    tmp_path,
    monkeypatch,
    shared_data,
    close_plugin,  # noqa: F811
):
    """The published alanine CIF without its H, opened in Olex2: the plugin sends the CIF's
    _chemical_formula_sum, the core answers, Apply adds the H riding, and Revert takes them
    away again (hadd has no undo: the plugin's journal kills them)."""
    cif = BENCHMARK / "XH_alanine" / "model.cif"
    truth = read_cif(cif).structure
    atoms = [
        (s.label, s.element, s.frac, s.u_iso, 1.0, 0, 0.0)
        for s in truth.sites
        if not is_hydrogen(s.element)
    ]
    state, plugin = open_in_double(
        tmp_path,
        monkeypatch,
        truth,
        atoms,
        4,
        settings={"crystalx.method": "baseline", "crystalx.hydrogens": "rules"},
        file=str(cif),
    )
    state.cif_items["_chemical_formula_sum"] = "C3 H7 N O2"
    before = state.model_state()
    click(state, plugin, "assign")
    assert plugin.session.shown.snapshot["formula"] == "C3 H7 N O2"
    assert plugin.session.shown.snapshot["source"] == str(cif)
    assert plugin.session.messages[-1].startswith("applied")
    assert sum(a.type == "H" for a in state.live()) == 7  # C3 H7 N O2: every H placed
    click(state, plugin, "revert")
    assert plugin.session.messages[-1] == "reverted exactly"
    assert state.model_state() == before


def test_a_cif_whose_reflections_olex2_holds_is_the_reflection_file_sent(tmp_path, ethanol_cif):
    """Opening a CIF without a reflection file beside it, Olex2 reads its `_refln` loop, else
    its `_diffrn_refln` loop, else its `_shelx_hkl_file` into the refinement model and leaves
    the HKL source empty (xlib/xfiles.cpp TXFile::PostLoad: SetReflections): main sent no
    data and said Olex2 does not use them; the plugin now sends the CIF as the reflection file,
    which the core reads as `crystalx assign x.cif --hkl x.cif` does. Reflections in the
    IUCr's text fields, which Olex2 does not read, get one line; a CIF without any, none."""
    state, _ = ethanol_cif
    olex_model = importlib.import_module("crystalx_plugin.olex_model")
    olx, olex_core = (importlib.import_module(n) for n in ("olx", "olex_core"))
    cif = tmp_path / "ethanol.cif"
    cif.write_text("data_e\n_cell_length_a 10\n_shelx_hkl_file\n;\n   1   0   0   5.0   1.0\n;\n")
    state.load(CELL, P1, [("C", 2), ("O", 1)], 1, ETHANOL, file=str(cif))
    model = olex_model.read_model(olx, olex_core)
    assert model.data_note is None
    assert (model.reflections["path"], model.reflections["hklf"]) == (str(cif), 4)
    cif.write_text("data_e\n_cell_length_a 10\n_iucr_refine_reflections_details\n;\n1 0 0\n;\n")
    model = olex_model.read_model(olx, olex_core)
    assert model.reflections is None
    assert model.data_note == (
        "ethanol.cif carries its reflections in _iucr_refine_reflections_details, which Olex2 "
        "does not read, so the answer is the model's alone (`crystalx assign ethanol.cif --hkl "
        "ethanol.cif` weighs it by them)"
    )
    cif.write_text("data_e\n_cell_length_a 10\n")
    assert olex_model.read_model(olx, olex_core).data_note is None


def test_a_published_cifs_own_reflections_weigh_the_plugins_job(
    tmp_path,
    monkeypatch,
    shared_data,
    close_plugin,  # noqa: F811
):
    """The published alanine CIF (SHELXL's, its .hkl embedded) without its H, opened with no
    .hkl beside it: the core refines against the CIF's reflections (main's answer was the
    model's alone)."""
    import json

    from crystalx_core.service import PROTOCOL, reply_to

    cif = tmp_path / "alanine.cif"
    cif.write_bytes((BENCHMARK / "XH_alanine" / "model.cif").read_bytes())
    truth = read_cif(cif).structure
    atoms = [
        (s.label, s.element, s.frac, s.u_iso, 1.0, 0, 0.0)
        for s in truth.sites
        if not is_hydrogen(s.element)
    ]
    open_in_double(tmp_path, monkeypatch, truth, atoms, 4, interpreter="", file=str(cif))
    olex_model = importlib.import_module("crystalx_plugin.olex_model")
    olx, olex_core = (importlib.import_module(n) for n in ("olx", "olex_core"))
    model = olex_model.read_model(olx, olex_core)
    assert model.reflections["path"] == str(cif)
    params = {
        "structure": model.snapshot,
        "options": {"method": "baseline", "hydrogens": "rules"},
        "reflections": model.reflections,
    }
    request = {"protocol": PROTOCOL, "id": 1, "method": "assign", "params": params}
    reply, _ = reply_to(json.dumps(request).encode())
    figures = reply["result"]["reflections"]
    assert figures["path"].startswith(str(cif)) and figures["reflections"] > 1000
    assert figures["r1"] < 0.05
