"""The plugin's job refines the reflections the command line would, weighed as it would: MERG,
HKLF's matrix, OMIT s 2θ, OMIT h k l and SHEL as Olex2's refinement model holds them are sent
with the job (olex_model.refined_subset) and applied by the one rule `crystalx assign --hkl`
applies to the .ins's own lines (io.data_limits.instructed); WGHT and EXTI likewise
(olex_model.final_weights, pipeline.with_input_weights).

Input: the published L-alanine (P2₁2₁2₁; benchmark XH_alanine: SHELXL-2018's .res and its
.hkl) as benchmarks/plugin_reflections.py writes it for each case (ins_text, hkl_lines),
opened as an .ins in Olex2 (the double reads the reflection instructions as xlib/ins.cpp and
refmodel.cpp keep them) and given to `crystalx assign --hkl` as it is. For MERG each
reflection comes with an equivalent and its Friedel opposite: MERG 0 keeps the 3
observations, MERG 4 merges them to 1, MERG 2 to 2 (to 1 in a centric zone)."""

import sys

import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from benchmarks.plugin_reflections import CASES, cli_job, open_in_olex2, plugin_job


def test_the_double_gives_merg_omit_and_shel_as_olex2s_refinement_model(olex2_reader):
    """refmodel.cpp PyExport: "merge" and "omit" (s, 2theta; "hkl" only with an OMIT h k l)
    always, "shel" only under SHEL; AddOMIT keeps each h k l once."""
    state, olex_model = olex2_reader
    olex_core = sys.modules["olex_core"]
    state.load((5.9, 12.3, 5.8, 90, 90, 90), state.matrices, [("C", 1)], 1, [])
    model = olex_core.GetRefinementModel(False)
    assert model["merge"] == 2 and model["omit"] == {"s": -2.0, "2theta": 180.0}
    assert "shel" not in model
    assert olex_model.refined_subset(model) == {}  # Olex2's defaults: nothing to send
    state.read_instructions("MERG 4\nOMIT -3 50\nOMIT 0 4 0\nomit 0 4 0\nOMIT C1\nSHEL 6\n")
    model = olex_core.GetRefinementModel(False)
    assert model["merge"] == 4 and model["shel"] == {"low": 6.0, "high": 0.0}
    assert model["omit"] == {"s": -3.0, "2theta": 50.0, "hkl": ((0, 4, 0),)}
    assert olex_model.refined_subset(model) == {
        "merge": 4,
        "omit_s": -3.0,
        "omit_2theta": 50.0,
        "omit_hkl": [[0, 4, 0]],
        "shel": [6.0, 0.0],
    }


def test_the_weighting_olex2_holds_is_sent_as_written(olex2_reader):
    """refmodel.cpp PyExport: "weight" the first WGHT's numbers as written (a second, SHELXL's
    suggestion after END, is "proposed_weight"), empty without WGHT, and "exti" only under EXTI;
    olex2.refine weighs with "weight" (cctbx_olex_adapter.py get_shelxl_weighting), as the
    core's final refinement does with what the plugin sends."""
    state, olex_model = olex2_reader
    olex_core = sys.modules["olex_core"]
    state.load((5.9, 12.3, 5.8, 90, 90, 90), state.matrices, [("C", 1)], 1, [])
    model = olex_core.GetRefinementModel(False)
    assert model["weight"] == () and "exti" not in model
    assert olex_model.final_weights(model) == {}  # SHELXL's WGHT 0.1 and no extinction
    state.read_instructions("WGHT 0.0269 23.9134\nEXTI 0.0032\nEND\nWGHT 0.0294 1.7311\n")
    model = olex_core.GetRefinementModel(False)
    assert model["proposed_weight"] == (0.0294, 1.7311)
    assert olex_model.final_weights(model) == {"weight": [0.0269, 23.9134], "exti": 0.0032}


def test_a_weighting_scheme_smtbx_cannot_weigh_by_is_named():
    """WGHT c-f have no smtbx counterpart: the plugin's job says so, as for a .res's."""
    from crystalx_core.crystallography.weights import olex2_setup

    setup = olex2_setup([0.05, 1.2, 0, 0, 0, 0.5], None)
    assert (setup.weighting.a, setup.weighting.b) == (0.05, 1.2)
    assert setup.note.startswith("WGHT (Olex2's refinement model): f 0.5 not applied")
    assert olex2_setup([], None).weighting is None


@pytest.mark.parametrize("case", list(CASES))
def test_a_plugin_job_refines_the_reflections_the_command_line_refines(
    tmp_path, shared_data, olex2_reader, case
):
    """The same figures from both: the reflections refined, R1 and wR2. Main sent none of
    MERG, OMIT, SHEL: its plugin job merged as MERG 2 and refined every reflection; nor WGHT
    and EXTI, so it weighed by WGHT 0.1 without extinction (WGHT case: wR2 0.0851 against the
    command line's 0.0704 with the .ins's WGHT 0); and the command line applied both SHEL
    lines where Olex2 keeps the last (379 against 380)."""
    state, olex_model = olex2_reader
    ins, hkl, cli = cli_job(tmp_path, case)
    open_in_olex2(state, ins, hkl)
    sent, result = plugin_job(state, olex_model)
    figures = result["reflections"]
    assert figures is not None, result["job_notes"]
    refined = cli["refinement"]
    assert figures["reflections"] == refined["n_reflections"]
    # the command line's JSON gives five decimals, the service four: one rounding apart
    assert abs(figures["r1"] - refined["r1"]) < 1.1e-4
    assert abs(figures["wr2"] - refined["wr2"]) < 1.1e-4
    expected = {  # what each case changes: the count refined, or the indices read
        "MERG 0": 3 * 2519,
        "MERG 4": 2519,
        "HKLF matrix": 2519,
        "WGHT": 2519,
        "EXTI": 2519,
    }
    # the first WGHT, not SHELXL's suggestion after END; EXTI as the .ins writes it
    assert sent.get("weight") == ([0.0] if case == "WGHT" else None)
    assert sent.get("exti") == (0.01 if case == "EXTI" else None)
    if case in expected:
        assert figures["reflections"] == expected[case]
    elif case == "two SHEL":  # the last line's limits, the command line naming the first
        assert sent["shel"] == [9.0, 0.9] and figures["reflections"] < 2519
        assert any("SHEL 6 0.8" in note and "not applied" in note for note in cli["notes"])
    elif case == "MERG 2":  # a centric zone's opposites merge: fewer than twice as many
        assert 2519 < figures["reflections"] < 2 * 2519
    else:  # every limit left some out, and said so as the command line says it
        assert figures["reflections"] < 2519
        for words in ("beyond 2θ 50°", "observations of 0 4 0", "outside d 0.8-6 Å"):
            assert any(words in note for note in result["job_notes"]), words
    assert figures["r1"] < 0.05  # the indices were read in the model's setting


def test_the_temperature_olex2_holds_is_sent_in_celsius(olex2_reader):
    """TEMP sets riding X-H lengths (hydrogens.riding_distance), as for a .res: the plugin sent
    none, so a 23 K structure's job placed room-temperature C-H (OMIT case: R1 0.0227 against
    the command line's 0.0225). experimental.cpp keeps TEMP in °C (SetTemp), newer builds
    export the scale letter beside it ("temperature_char"); unset is -1000 (experimental.h)."""
    state, olex_model = olex2_reader
    exptl = sys.modules["olex_core"].GetRefinementModel(False)["exptl"]
    assert olex_model.temperature_c(exptl) is None  # no TEMP
    state.read_instructions("TEMP -250\n")
    exptl = sys.modules["olex_core"].GetRefinementModel(False)["exptl"]
    assert olex_model.temperature_c(exptl) == -250.0
    assert olex_model.temperature_c({"temperature": 23.15, "temperature_char": "K"}) == -250.0
    assert olex_model.temperature_c({"temperature": -418.0, "temperature_char": "F"}) == -250.0
