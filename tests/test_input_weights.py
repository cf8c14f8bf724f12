"""The final refinement as the user's file asks for it (WGHT, EXTI) and the WGHT SHELXL would
suggest for the next cycles, written as SHELXL writes its .res (crystallography.weights)."""

import json
import math

import pytest
from cctbx.array_family import flex
from smtbx.refinement import least_squares

from crystalx_core.cli import main
from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure
from crystalx_core.crystallography.refine import refine, refinement_instructions
from crystalx_core.crystallography.weights import DEFAULT, Weighting, final_setup
from crystalx_core.errors import InputError
from crystalx_core.io import load, read_reflections
from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.io.shelx_write import render_with_sites
from crystalx_core.pipeline import with_input_weights
from tests.conftest import BENCHMARK, CORPUS

HEADER = "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSFAC C O\nUNIT 8 4\n"
ATOMS = "FVAR 1.0\nC1 1 0.1 0.2 0.3 11.0 0.03\nHKLF 4\nEND\n"


def _published(name: str, text=lambda text: text):
    """An entry's published .res (as `text` edits it), its ShelxFile and reflections."""
    path = BENCHMARK / name / "published.res"
    loaded = load(path)
    shelx = parse_shelx(text(path.read_text()), str(path))
    reflections = read_reflections(BENCHMARK / name / "data.hkl", loaded.reflection_format())
    return shelx, shelx.to_structure(), reflections


def test_wght_and_exti_are_read_with_shelxls_defaults():
    """SHELXL manual: WGHT a[0.1] b[0] c[0] d[0] e[0] f[.3333]; EXTI x[0]. smtbx weighs with a
    and b (P = (Fo² + 2Fc²)/3), so a c, d, e or f of another value is named, not used."""
    shelx = parse_shelx(HEADER + "WGHT 0.05\nEXTI\n" + ATOMS)
    assert shelx.wght == (0.05,) and shelx.exti == 0.0
    assert Weighting.from_wght(shelx.wght) == Weighting(0.05, 0.0, 0.0, 0.0, 0.0, 1 / 3)
    setup = final_setup(parse_shelx(HEADER + "WGHT 0.05 0.2 10 0 0 .33333\nSWAT\n" + ATOMS))
    assert setup.weighting == Weighting(0.05, 0.2, 10.0, 0.0, 0.0, 0.33333)
    assert "WGHT (line 7): c 10 not applied" in setup.note and "SWAT (line 8)" in setup.note
    assert setup.changes_refinement() and setup.extinction is None
    assert not final_setup(parse_shelx(HEADER + "WGHT 0.1 0\n" + ATOMS)).changes_refinement()
    assert final_setup(None) == final_setup(parse_shelx(HEADER + ATOMS))


def test_a_wght_not_read_weighs_with_the_default_and_says_so():
    """SHELXL writes WGHT in 12-column fields, which run together where b >= 1e4; such a line
    (or one of over 6 numbers) is not the file's refusal, only the final stage's weights: it
    weighs with SHELXL's 0.1, with a note naming the line. Only the first WGHT counts."""
    for fields in ("0.02690012345.678900", "0.1 0 0 0 0 0.3 7"):
        shelx = parse_shelx(HEADER + f"WGHT {fields}\nWGHT 0.05\n" + ATOMS, "t.res")
        assert shelx.wght is None and shelx.cards["WGHT"].number == 7
        setup = final_setup(shelx)
        assert setup.weighting is None and not setup.changes_refinement()
        assert setup.note.startswith(f"WGHT (line 7): '{fields}' is not up to 6 numbers")
    with pytest.raises(InputError, match="EXTI: expected numbers") as error:
        parse_shelx(HEADER + "EXTI x\n" + ATOMS, "t.res")
    assert error.value.line == 7


def test_the_input_wght_weighs_the_final_refinement(shared_data):
    """XH_urea's SHELXL refinement weighs by 1/σ²(Fo²) alone (WGHT 0): published wR2 0.0546,
    GooF 5.851, its H anisotropic. Refined with WGHT 0.1 (H isotropic) the job gave wR2 0.080,
    GooF 0.65; its final refinement now weighs as the file says (a 0 that iotbx's WGHT reader
    would take for its 0.1): 0.060 and 6.4 with isotropic H."""
    shelx, structure, reflections = _published("XH_urea")
    riding = refine(structure, reflections, 10, anisotropic=True)
    assert riding.goof < 1.0  # WGHT 0.1
    refinements = [("riding H", riding)]
    notes = with_input_weights(refinements, reflections, 10, True, refinement_instructions(), shelx)
    assert notes == [] and len(refinements) == 2
    stage, final = refinements[-1]
    assert stage == "riding H, the input's WGHT 0.0000 0.0000"
    assert final.weighting == Weighting(0.0) and final.suggested is not None
    assert abs(final.wr2 - 0.0546) < 0.01 and 5.0 < final.goof < 7.0


def test_a_file_without_wght_keeps_its_refinement(shared_data):
    """No WGHT (SHELXL's 0.1) and no EXTI: the refinement stays the job's, the same figures;
    only the suggested WGHT is added, after END, where SHELXL writes it and stops reading."""
    shelx, structure, reflections = _published(
        "XH_urea", lambda text: text.replace("WGHT    0.000000\n", "")
    )
    assert shelx.wght is None and shelx.exti is None
    riding = refine(structure, reflections, 10, anisotropic=True)
    refinements = [("riding H", riding)]
    with_input_weights(refinements, reflections, 10, True, refinement_instructions(), shelx)
    ((stage, final),) = refinements
    assert stage == "riding H" and final.weighting == DEFAULT and final.suggested is not None
    assert (final.r1, final.wr2, final.goof) == (riding.r1, riding.wr2, riding.goof)
    # the Olex2 service writes no .res: no suggestion, and no refinement of no cycle for it
    unsuggested = [("riding H", riding)]
    args = (unsuggested, reflections, 10, True, refinement_instructions(), shelx)
    assert with_input_weights(*args, suggest=False) == [] and unsuggested[0][1] is riding
    plain = render_with_sites(shelx, final.structure, refined=True)
    written = render_with_sites(
        shelx, final.structure, refined=True, suggested=final.suggested.suggested_line()
    )
    used = plain.replace("\nFVAR", "\nWGHT    0.100000\nFVAR", 1)
    assert written == used + "\n" + final.suggested.suggested_line() + "\n"
    assert "WGHT" not in plain


def test_a_file_without_wght_gets_the_one_used_before_the_suggestion():
    """Olex2 refines with a file's first WGHT (pcxod/olex2 xlib/ins.cpp, TIns::_ParseIns: the
    first met becomes used_weight, the second the proposed one), and reads past END: a file
    without WGHT (a SHELXT .res) would have it refine with the suggestion. The one used goes
    before FVAR, as SHELXL writes it; a file with its own WGHT keeps it alone."""
    suggestion = "WGHT      0.0300      0.1000"
    for atoms in (ATOMS, ATOMS.replace("FVAR 1.0\n", "")):
        shelx = parse_shelx(HEADER + "L.S. 4\n" + atoms)
        written = render_with_sites(shelx, shelx.to_structure(), refined=True, suggested=suggestion)
        wght = [line for line in written.splitlines() if line.startswith("WGHT")]
        assert wght == ["WGHT    0.100000", suggestion]
        before_atoms = written.split("C1 ")[0].splitlines()
        assert before_atoms[-1] in ("WGHT    0.100000", "FVAR 1.0")
        assert "WGHT    0.100000" in before_atoms and written.endswith(
            "END\n\n" + suggestion + "\n"
        )
        plain = render_with_sites(shelx, shelx.to_structure(), refined=True)
        assert "WGHT" not in plain  # nothing suggested: no WGHT, as before
        fresh = render_with_sites(
            shelx, shelx.to_structure(), refined=True, suggested=suggestion, weighting="WGHT 0.05"
        )
        assert [line for line in fresh.splitlines() if line.startswith("WGHT")][0] == "WGHT 0.05"
    own = parse_shelx(HEADER + "WGHT 0.05 0.2\n" + ATOMS)
    written = render_with_sites(own, own.to_structure(), refined=True, suggested=suggestion)
    assert [line for line in written.splitlines() if line.startswith("WGHT")] == [
        "WGHT 0.05 0.2",
        suggestion,
    ]


def test_the_suggested_wght_is_smtbxs_optimiser_on_the_final_fit(shared_data):
    """The suggestion is smtbx's mainstream_shelx_weighting.optimise_parameters (olex2.refine's
    suggested weights) on the fit's Fo², Fc² and scale, recomputed here from the refined model
    with cctbx alone; and it does what SHELXL's does: a flatter analysis of variance over
    Fc²/Fc²max and a GooF nearer 1 than the weights it was refined with."""
    shelx, structure, reflections = _published("XH_urea")
    used = Weighting.from_wght(shelx.wght)  # 1/σ²: the scale that fits does not depend on w
    # a refined model's H are isotropic (riding), as its Fc below are computed
    isotropic_h = refine(structure, reflections, 10, True).structure
    result = refine(isotropic_h, reflections, 10, True, weighting=used, suggest=True)
    xs = to_xray_structure(result.structure)
    set_dispersion(xs, structure.wavelength, structure.dispersion)  # the file's DISP, as refined
    i_obs = reflections.to_miller_array(structure.cell, structure.symops)
    i_obs = i_obs.customized_copy(anomalous_flag=not xs.space_group().is_centric())
    fo_sq = i_obs.eliminate_sys_absent().merge_equivalents().array()
    fc_sq = fo_sq.structure_factors_from_scatterers(xs, algorithm="direct").f_calc()
    fc_sq = fc_sq.as_intensity_array()
    w = 1 / flex.pow2(fo_sq.sigmas())
    k = flex.sum(w * fo_sq.data() * fc_sq.data()) / flex.sum(w * flex.pow2(fc_sq.data()))
    expected = least_squares.mainstream_shelx_weighting().optimise_parameters(
        fo_sq, fc_sq, k, result.n_parameters
    )
    assert result.suggested.a == pytest.approx(expected.a, abs=1e-6)
    assert result.suggested.b == pytest.approx(expected.b, abs=1e-6)

    def binned_goofs(scheme):
        weights = scheme.scheme()(fo_sq.data(), fo_sq.sigmas(), fc_sq.data(), k)
        terms = weights * flex.pow2(fo_sq.data() - k * fc_sq.data())
        order = flex.sort_permutation(fc_sq.data())
        n = len(order) // 10
        bins = [order[i * n : (i + 1) * n] for i in range(10)]
        scaled = len(order) / (len(order) - result.n_parameters)
        goofs = [math.sqrt(flex.sum(terms.select(b)) / len(b) * scaled) for b in bins]
        overall = math.sqrt(flex.sum(terms) / (len(order) - result.n_parameters))
        return sum((g - sum(goofs) / 10) ** 2 for g in goofs), overall

    spread, goof = binned_goofs(result.suggested)
    spread_used, goof_used = binned_goofs(used)
    assert spread < spread_used and abs(goof - 1) < abs(goof_used - 1)


def test_the_suggestion_is_near_shelxls_own(shared_data):
    """FC_sucrose's .res carries SHELXL's suggestion after END (WGHT 0.0388 0.0146, from the
    scheme it refined with): smtbx's, on the job's refinement with that scheme, is near it."""
    shelx, structure, reflections = _published("FC_sucrose")
    result = refine(structure, reflections, 10, True, weighting=final_setup(shelx).weighting)
    probe = refine(result.structure, reflections, 0, True, weighting=DEFAULT, suggest=True)
    assert abs(probe.suggested.a - 0.0388) < 0.005 and probe.suggested.b < 0.1


def test_exti_is_refined_and_written_back(shared_data):
    """XH_xylitol's EXTI 0.032253 is SHELXL's extinction (smtbx's shelx_extinction_correction):
    refined with the model, to one value from the file's and from 0, and written back on its
    EXTI line as SHELXL writes it ('EXTI    0.020224')."""
    shelx, structure, reflections = _published("XH_xylitol")
    setup = final_setup(shelx)
    assert setup.extinction == 0.032253 and setup.weighting == Weighting(0.0)
    settings = dict(cycles=30, anisotropic=True, weighting=setup.weighting)
    from_file = refine(structure, reflections, extinction=setup.extinction, **settings)
    from_zero = refine(structure, reflections, extinction=0.0, **settings)
    without = refine(structure, reflections, **settings)
    (value, su), (other, _) = from_file.extinction, from_zero.extinction
    assert value == pytest.approx(other, abs=su / 10) and 0 < su < value / 3
    assert abs(value - setup.extinction) > su and without.extinction is None
    assert from_file.wr2 < without.wr2
    written = render_with_sites(shelx, from_file.structure, refined=True, extinction=value)
    assert f"EXTI{value:12.6f}\n" in written and "0.032253" not in written
    assert "EXTI" not in render_with_sites(
        parse_shelx(HEADER + ATOMS), parse_shelx(HEADER + ATOMS).to_structure(), extinction=0.1
    )


def test_assign_refines_a_cif_with_its_own_wght(shared_data, tmp_path):
    """COD 2240189 (cod-tools' test CIF; its _shelx_res_file: WGHT 0.0269 23.9134, SHELXL R1
    0.0414, wR2 0.0916, GooF 1.112): with WGHT 0.1 the job's wR2 was 0.206 and its GooF 1.99.
    Its final refinement now weighs as the file says; the .res keeps that WGHT and carries,
    after END, the one suggested next, as the JSON gives it."""
    cif = CORPUS / "codtools_2240189.cif"
    out = tmp_path / "x"
    assert main(["assign", str(cif), "--hkl", str(cif), "--quiet", "--out", str(out)]) == 0
    report = json.loads((tmp_path / "x.json").read_text())["refinement"]
    assert report["weighting"] == {"a": 0.0269, "b": 23.9134}
    assert report["wr2"] < 0.1 and 1.0 < report["goof"] < 1.25 and report["r1"] < 0.045
    res = (tmp_path / "x.res").read_text()
    head, _, tail = res.partition("\nEND\n")
    assert "\nWGHT    0.026900   23.913401\n" in head
    suggested = Weighting(report["suggested_weighting"]["a"], report["suggested_weighting"]["b"])
    assert tail == "\n" + suggested.suggested_line() + "\n"


def test_a_solve_says_its_weights_are_not_the_files():
    """A solve refines with WGHT 0.1 and no EXTI throughout, while its .res keeps the .ins's
    WGHT/EXTI lines: the CIF's weighting details and its embedded .res differ, and a note
    says why (none where the .ins gives SHELXL's default)."""
    from crystalx_core.pipeline import _solve_weights_note

    note = _solve_weights_note(parse_shelx(HEADER + "WGHT 0.05 1.2\nEXTI 0.01\n" + ATOMS))
    assert note.startswith("solve refined with WGHT 0.1, no EXTI")
    assert "your WGHT 0.0500 1.2000, EXTI 0.01 kept in the .res" in note
    exti = _solve_weights_note(parse_shelx(HEADER + "EXTI\n" + ATOMS))
    assert exti.endswith("your EXTI 0 kept in the .res for your next cycles")
    assert _solve_weights_note(parse_shelx(HEADER + "WGHT 0.1\n" + ATOMS)) == ""
    assert _solve_weights_note(None) == ""


def test_the_difference_map_takes_the_refined_extinction(shared_data):
    """After EXTI is refined (XH_xylitol), the final map's Fc carry the extinction correction
    the refinement fitted (SHELXL's Fc·[1 + 0.001·x·Fc²λ³/sin2θ]^-1/4): the strong low-angle
    reflections it damps no longer leave a ripple, so the map is flatter than with plain Fc."""
    from crystalx_core.crystallography.maps import residual_density

    shelx, structure, reflections = _published("XH_xylitol")
    setup = final_setup(shelx)
    refined = refine(structure, reflections, 10, True, weighting=setup.weighting, extinction=0.03)
    value = refined.extinction[0]
    plain = residual_density(refined.structure, reflections)
    corrected = residual_density(refined.structure, reflections, value)
    assert corrected.rms < plain.rms
    assert residual_density(refined.structure, reflections, 0.0) == plain
