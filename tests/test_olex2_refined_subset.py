"""The plugin's job refines the reflections the command line would: MERG, HKLF's matrix, OMIT
s 2θ, OMIT h k l and SHEL as Olex2's refinement model holds them are sent with the job
(olex_model.refined_subset) and applied by the one rule `crystalx assign --hkl` applies to the
.ins's own lines (io.data_limits.instructed).

Input: the published L-alanine (P2₁2₁2₁; benchmark XH_alanine: SHELXL-2018's .res and its
.hkl), without its H, WGHT and TEMP (ins_text), opened as an
.ins in Olex2 (the double reads the reflection instructions as xlib/ins.cpp and refmodel.cpp
keep them) and given to `crystalx assign --hkl` as it is. For MERG the .hkl is written as a
diffractometer gives it, each reflection with an equivalent (-h -k l, one of 222's) and its
Friedel opposite (-h -k -l): MERG 0 keeps the 3 observations, MERG 4 merges them to 1, MERG
2 to 2 (to 1 in a centric zone)."""

import importlib
import io
import json
import sys
from contextlib import redirect_stdout

import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)
from crystalx_core.cli import main
from crystalx_core.io import load
from crystalx_core.service import PROTOCOL, reply_to

from .conftest import BENCHMARK, DOUBLE_MODULES, PLUGIN_MODULES
from .test_plugin import DOUBLE, PLUGIN

ALANINE = BENCHMARK / "XH_alanine"
OPTIONS = {"method": "baseline", "hydrogens": "rules"}


def ins_text(instructions: str) -> str:
    """The published .res as an .ins without H, WGHT and TEMP (the plugin sends neither a
    weighting scheme nor the temperature, which sets riding C-H lengths), each atom isotropic
    at its Ueq (as Olex2 gives the plugin its atoms: xf.au.GetAtomUiso), `instructions`
    before HKLF."""
    text = (ALANINE / "published.res").read_text().replace("=\n", "")
    kept = []
    for line in text.splitlines():
        words = line.split()
        if line.startswith(("WGHT", "TEMP", "H")) and not line.startswith("HKLF"):
            continue
        # an atom with U11 U22 U33 U23 U13 U12: orthorhombic, so Ueq is their first three's mean
        if len(words) == 12 and words[1].isdigit():
            line = " ".join(words[:6] + ["%.5f" % (sum(float(u) for u in words[6:9]) / 3)])
        kept.append(line)
    return "\n".join(kept).replace("\nHKLF 4", "\n" + instructions, 1) + "\n"


def hkl_lines(transform):
    """The .hkl's lines up to its end, each as the lines of the indices `transform`(h, k, l)."""
    out = []
    for line in (ALANINE / "data.hkl").read_text().splitlines():
        if not line.strip() or line.split()[:3] == ["0", "0", "0"]:
            break  # the data's end
        h, k, l = int(line[0:4]), int(line[4:8]), int(line[8:12])
        out += ["%4d%4d%4d%s" % (*hkl, line[12:]) for hkl in transform(h, k, l)]
    return "\n".join(out + ["   0   0   0    0.00    0.00"]) + "\n"


MEASURED = lambda h, k, l: [(h, k, l), (-h, -k, l), (-h, -k, -l)]  # noqa: E731
CASES = {
    "MERG 0": ("MERG 0\nHKLF 4", MEASURED),
    "MERG 4": ("MERG 4\nHKLF 4", MEASURED),
    "MERG 2": ("HKLF 4", MEASURED),
    # the file's indices in another setting (k h -l), HKLF's matrix brings them back
    "HKLF matrix": ("HKLF 4 1 0 1 0 1 0 0 0 0 -1", lambda h, k, l: [(k, h, -l)]),
    "OMIT and SHEL": (
        "OMIT -3 50\nOMIT 0 4 0\nOMIT 1 2 1\nSHEL 6 0.8\nHKLF 4",
        lambda h, k, l: [(h, k, l)],
    ),
}


def cli_job(tmp_path, case):
    instructions, transform = CASES[case]
    ins, hkl = tmp_path / "x.ins", tmp_path / "x.hkl"
    ins.write_text(ins_text(instructions))
    hkl.write_text(hkl_lines(transform))
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(
            ["assign", str(ins), "--hkl", str(hkl), "--json", "--out", str(tmp_path / "cli")]
            + ["--method", OPTIONS["method"], "--hydrogens", OPTIONS["hydrogens"]]
        )
    assert code == 0
    return ins, hkl, json.loads(out.getvalue())


@pytest.fixture
def double(monkeypatch):
    """Olex2's modules (the double) and the plugin's reader of its model, freshly imported."""
    for path in (str(DOUBLE), str(PLUGIN)):
        monkeypatch.syspath_prepend(path)
    for name in PLUGIN_MODULES + DOUBLE_MODULES:
        sys.modules.pop(name, None)
    state = importlib.import_module("_olex2").STATE
    state.reset()
    for name in ("olx", "olex_core"):
        importlib.import_module(name)
    yield state, importlib.import_module("crystalx_plugin.olex_model")
    for name in PLUGIN_MODULES + DOUBLE_MODULES:
        sys.modules.pop(name, None)


def open_in_olex2(state, ins, hkl):
    """The .ins opened in the double as Olex2 opens it: its atoms, cell, symmetry, formula,
    wavelength and reflection instructions, `hkl` as its HKL source."""
    from cctbx import sgtbx

    structure = load(ins).structure
    matrices = []
    for op in structure.symops:
        rt = sgtbx.rt_mx(op)
        r, t = rt.r().as_double(), rt.t().as_double()
        matrices.append(tuple(tuple(r[3 * k : 3 * k + 3]) + (t[k],) for k in range(3)))
    atoms = [(s.label, s.element, s.frac, s.u_iso, s.occupancy, 0, 0.0) for s in structure.sites]
    state.load(
        structure.cell,
        matrices,
        [(el, n / 4) for el, n in zip(structure.sfac, structure.unit)],
        4,
        atoms,
        file=str(ins),
        hkl=str(hkl),
        radiation=structure.wavelength,
    )
    state.read_instructions(ins.read_text())


def plugin_job(state, olex_model):
    """What the plugin sends for the open structure, answered by the service."""
    model = olex_model.read_model(sys.modules["olx"], sys.modules["olex_core"])
    params = {"structure": model.snapshot, "options": OPTIONS, "reflections": model.reflections}
    request = {"protocol": PROTOCOL, "id": 1, "method": "assign", "params": params}
    reply, _ = reply_to(json.dumps(request).encode())
    return model.reflections, reply["result"]


def test_the_double_gives_merg_omit_and_shel_as_olex2s_refinement_model(double):
    """refmodel.cpp PyExport: "merge" and "omit" (s, 2theta; "hkl" only with an OMIT h k l)
    always, "shel" only under SHEL; AddOMIT keeps each h k l once."""
    state, olex_model = double
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


@pytest.mark.parametrize("case", list(CASES))
def test_a_plugin_job_refines_the_reflections_the_command_line_refines(
    tmp_path, shared_data, double, case
):
    """The same figures from both: the reflections refined, R1 and wR2. Main sent none of
    MERG, OMIT, SHEL: its plugin job merged as MERG 2 and refined every reflection."""
    state, olex_model = double
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
    }
    if case in expected:
        assert figures["reflections"] == expected[case]
    elif case == "MERG 2":  # a centric zone's opposites merge: fewer than twice as many
        assert 2519 < figures["reflections"] < 2 * 2519
    else:  # every limit left some out, and said so as the command line says it
        assert figures["reflections"] < 2519
        for words in ("beyond 2θ 50°", "observations of 0 4 0", "outside d 0.8-6 Å"):
            assert any(words in note for note in result["job_notes"]), words
    assert figures["r1"] < 0.05  # the indices were read in the model's setting
