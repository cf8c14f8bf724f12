"""A group the core declares in a negative PART (crystalx_core.special_disorder) is declared in
Olex2 too: the answer lists it ("parts") and its `part`/`fvar` commands come before `hadd`, so
that Olex2 bonds its C to its own two Cl only and places the H inside the PART. Olex2's part
and fvar macros push no undo entry (the double: tests/olex2_double/_olex2.py cites macPart,
macFvar, XVarManager::SetParam and TNetwork::IsBondAllowed), so Revert puts PART and
occupancy back itself."""

import sys

import pytest

from crystalx_core.io.cif import read_cif
from crystalx_core.service import handle
from tests.conftest import CORPUS

from .test_olex2_faithful import model_of
from .test_plugin import close_plugin, open_in_double  # noqa: F401

pytestmark = pytest.mark.usefixtures("close_plugin")

CH2CL2 = "codtools_1100192-r-factor.cif"  # COD 1100192, cod-developers/cod-tools tests/inputs


def _opened(tmp_path, monkeypatch, variables=1):
    """COD 1100192's non-H atoms open in the double as the CIF writes them (the CH2Cl2 across
    -1 at full occupancy, outside PART; its labels without the CIF's '?', which Olex2's labels
    cannot hold), with `variables` free variables in Olex2's model: (state, session)."""
    structure = read_cif(CORPUS / CH2CL2).structure
    atoms = [
        (s.label.rstrip("?"), s.element, s.frac, 0.05, s.occupancy, s.part)
        for s in structure.sites
        if s.element != "H"
    ]
    state, plugin = open_in_double(tmp_path, monkeypatch, structure, atoms, z=2, interpreter="")
    state.variables = [1.0] + [0.3] * (variables - 1)
    return state, plugin._session()


def _answer(model):
    """The real core's answer to the plugin's snapshot of the model."""
    result, _ = handle(
        {"protocol": 2, "id": 1, "method": "assign", "params": {"structure": model.snapshot}}
    )
    return result


def _h_on(state, label):
    pivot = state.find(label)
    return sorted((a.part, round(a.occu, 3)) for a in state.live() if a.pivot is pivot)


def test_the_ch2cl2_goes_into_its_negative_part_with_two_h_and_revert_undoes_it(
    tmp_path, monkeypatch
):
    state, session = _opened(tmp_path, monkeypatch)
    before = state.model_state()
    model = model_of(state)
    result = _answer(model)
    assert result["parts"] == [
        {"labels": ["C48", "Cl2", "Cl3"], "part": -1, "free_variable": 2, "occupancy": 1.0}
    ]
    declared = [c for c in result["commands"] if c.split()[0] in ("part", "fvar")]
    assert declared == ["part -1 C48 Cl2 Cl3", "fvar 21 C48 Cl2 Cl3"]
    first_hadd = next(k for k, c in enumerate(result["commands"]) if c.startswith("hadd"))
    assert result["commands"].index(declared[-1]) < first_hadd
    session.answer = (model, result)
    session.apply()
    assert {state.find(x).part for x in ("C48", "Cl2", "Cl3")} == {-1}
    # on FVAR 2, which Olex2 makes at 0.5: one of the two orientations (no FVAR 3 .. 21)
    assert {round(state.find(x).occu, 3) for x in ("C48", "Cl2", "Cl3")} == {0.5}
    assert len(state.variables) == 2
    assert _h_on(state, "C48") == [(-1, 0.5), (-1, 0.5)]
    assert "C48 Cl2 Cl3 in PART -1" in " ".join(session.messages)
    assert session.revert() is True and session.messages[-2] == "reverted exactly"
    assert session.messages[-1].startswith("FVAR 2, made for the declared group, is unused")
    assert state.model_state() == before


def test_the_free_variable_comes_after_those_olex2_holds(tmp_path, monkeypatch):
    """The snapshot carries no free variables, so the core numbers its own from 2; in a model
    with FVAR 1 0.3 0.3 the group gets FVAR 4, not the user's 2."""
    state, session = _opened(tmp_path, monkeypatch, variables=3)
    model = model_of(state)
    session.answer = (model, _answer(model))
    session.apply()
    assert "fvar 4 1 " in " ".join(state.log)  # Olex2's fvar: the variable, then the factor
    assert len(state.variables) == 4 and state.variables[1:3] == [0.3, 0.3]
    assert {round(state.find(x).occu, 3) for x in ("C48", "Cl2", "Cl3")} == {0.5}


def test_in_olex2_a_negative_part_bonds_to_no_image_of_itself(tmp_path, monkeypatch):
    """Outside PART the C meets both orientations' Cl and its own image 1.9 Å away (5 bonds:
    hadd 23 does not fit); in PART -1 only its own two Cl (TNetwork::IsBondAllowed)."""
    state, _ = _opened(tmp_path, monkeypatch)
    c48 = state.find("C48")
    assert state.heavy_neighbours(c48) == 5
    assert sys.modules["olx"].Part("-1", "C48", "Cl2", "Cl3") is True
    assert state.heavy_neighbours(c48) == 2
    assert state.undo_stack == []


def test_revert_gives_an_atom_on_a_special_position_its_occupancy_back(tmp_path, monkeypatch):
    """macFvar sets `fvar 1 k` as k over the atom's degeneracy: main's Revert gave an atom on a
    centre of symmetry (sof 0.5) 0.25 and said so; now `fvar 1 1` (0.5 × 2), read from what
    `fvar 1 0.5` gave. The FVAR Apply made stays in Olex2's list, unused, and Revert says so:
    no macro removes a variable (Olex2 drops it when it next writes the model)."""
    state, session = _opened(tmp_path, monkeypatch)
    olex_model = sys.modules["crystalx_plugin.olex_model"]
    modules = [sys.modules[name] for name in ("olex", "olx", "olex_core")]
    c48 = state.find("C48")
    c48.crd, c48.occu = [0.0, 0.0, 0.0], 0.5  # on the centre of symmetry
    assert state.degeneracy(c48) == 2
    before = olex_model.read_model(*modules[1:])
    said = []
    journal = olex_model.apply_commands(
        *modules, ["part -1 C48 Cl2", "fvar 21 C48 Cl2"], before, said.append
    )
    assert (round(c48.occu, 3), c48.part, len(state.variables)) == (0.25, -1, 2)
    assert journal.revert(*modules) == []
    assert (c48.occu, c48.part) == (0.5, 0)
    assert {state.find("Cl2").occu} == {1.0}
    assert journal.unused_variables == [2] and len(state.variables) == 2


def test_revert_gives_the_h_riding_on_a_special_position_atom_their_own_part_and_occupancy(
    tmp_path, monkeypatch
):
    """macPart and macFvar also set the H riding on each atom named (see the double), so the
    H get theirs back after their pivot's: C48 on the centre of symmetry (sof 0.5, PART 0)
    with its H in PART -1 at 0.5, as TXlConGen::FixAtom leaves a methyl's there. The branch
    gave C48 `part 0` and `fvar 1 1` after its H, which put them in PART 0 at 1.0."""
    state, session = _opened(tmp_path, monkeypatch)
    olex_model = sys.modules["crystalx_plugin.olex_model"]
    modules = [sys.modules[name] for name in ("olex", "olx", "olex_core")]
    c48 = state.find("C48")
    c48.crd, c48.occu = [0.0, 0.0, 0.0], 0.5
    state._add_riding(c48, 23, 2, -1, 0.5)
    before_state = state.model_state()
    before = olex_model.read_model(*modules[1:])
    journal = olex_model.apply_commands(
        *modules, ["part -1 C48 Cl2", "fvar 21 C48 Cl2"], before, [].append
    )
    assert (c48.occu, _h_on(state, "C48")) == (0.25, [(-1, 0.5), (-1, 0.5)])
    assert journal.revert(*modules) == []
    assert _h_on(state, "C48") == [(-1, 0.5), (-1, 0.5)]
    assert (c48.occu, c48.part) == (0.5, 0)
    assert state.model_state() == before_state


def test_revert_gives_an_occupancy_on_a_free_variable_its_link_back(tmp_path, monkeypatch):
    """An occupancy on a free variable before Apply (C48 and Cl2 on 21, fv(2); Cl3 on -21,
    1 - fv(2)) comes back on it after Revert, as Olex2 exports it (XVarManager::PyExport: the
    variable's references, each atom by its tag, relation and k): main put them
    back fixed at their values (fvar 1 p), which a refinement then no longer refined."""
    state, session = _opened(tmp_path, monkeypatch, variables=2)
    olex_model = sys.modules["crystalx_plugin.olex_model"]
    modules = [sys.modules[name] for name in ("olex", "olx", "olex_core")]
    state.variables[1] = 0.7
    # a Q-peak first: the export names an atom by its tag (its place among the exported
    # atoms, peaks left out: TAsymmUnit::GetPersistentIdOf), which is then not its aunit id
    state.atoms.insert(0, sys.modules["_olex2"].Atom("Q1", "Q", (0.9, 0.9, 0.9), peak=1.2))
    state._set_param(state.atoms[0], 31.0)  # a peak on fv(3): its tag -1 names no atom
    assert state.run("fvar 2 1 C48 Cl2") and state.run("fvar -2 1 Cl3")
    labels = ("C48", "Cl2", "Cl3")
    linked = [state.find(label).occu_link for label in labels]
    assert linked == [(2, "var", 1.0), (2, "var", 1.0), (2, "one_minus_var", 1.0)]
    before = olex_model.read_model(*modules[1:])
    assert sorted(before.links.values()) == [(-2, 1.0), (2, 1.0), (2, 1.0)]  # not the peak's
    journal = olex_model.apply_commands(
        *modules, ["part -1 C48 Cl2 Cl3", "fvar 21 C48 Cl2 Cl3"], before, [].append
    )
    assert {state.find(label).occu_link for label in ("C48", "Cl2", "Cl3")} == {(4, "var", 1.0)}
    assert journal.revert(*modules) == []
    assert [state.find(label).occu_link for label in labels] == linked
    assert [round(state.find(label).occu, 6) for label in ("C48", "Cl2", "Cl3")] == [0.7, 0.7, 0.3]
    state.variables[1] = 0.6  # a refinement moving fv(2) moves all three with it
    state._follow_variables()
    assert [round(state.find(label).occu, 6) for label in ("C48", "Cl2", "Cl3")] == [0.6, 0.6, 0.4]
