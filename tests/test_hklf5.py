"""Non-merohedral twins: HKLF 5 data with BASF refined as SHELXL and olex2.refine refine them.

SHELXL manual, HKLF 5: each line's batch number m names the twin component whose indices it
gives; the lines of one observation (reflections of several components overlapping on one
spot) carry -m, all but the last, whose +m closes the group; BASF k1.. are the fractions of
components 2.., the first taking 1 - their sum. cctbx's xray.observations reads them so
(cctbx/xray/observations.h: a negative line's component joins the next positive line's
observation), and olex2.refine hands HKLF 5 data to smtbx unmerged, as
miller.array.as_xray_observations(scale_indices=batches, twin_fractions=BASF) (olex2's
cctbx_controller.py, reflections.merge/filter/get_observations; cctbx_olex_adapter.py reads
HKLF 5's BASF as those twin fractions).

The data are real data twinned in the test (benchmarks/twin_benchmark.hklf5_twinned): a
monoclinic crystal's merged Fo², a second domain turned by a twofold about the direct a axis
(no symmetry of a monoclinic lattice with β ≠ 90°: its reciprocal matrix has a fractional
element), at a known fraction; a spot of one domain that falls within 0.1 of whole indices
of the other overlaps it (a group of two lines), the others are singles of their component.
"""

import json

import numpy as np
import pytest

from crystalx_core.crystallography.refine import refine
from crystalx_core.errors import InputError
from crystalx_core.io import load, read_reflections
from crystalx_core.io.hkl import Reflections, Twin, reflections_from_text
from crystalx_core.io.shelx_read import parse_shelx
from tests.conftest import BENCHMARK, benchmark_script

ENTRY = BENCHMARK / "XH_HMaMg"  # P21/c, a 10.195 c 6.621 Å, β 103.67°: 43 atoms


def _bench():
    return benchmark_script("twin_benchmark")


@pytest.fixture(scope="module")
def hmamg():
    loaded = load(ENTRY / "published.res")
    measured = read_reflections(ENTRY / "data.hkl", loaded.reflection_format())
    law = _bench().twofold_law(loaded.structure.cell, (1, 0, 0))
    return loaded, measured, law


def _refined(structure, reflections):
    return refine(structure, reflections, 10, anisotropic=True, input_variables=True)


def test_the_twofold_about_a_is_no_lattice_symmetry_and_overlaps_in_part(hmamg):
    """The law the data are twinned by: h' = h, k' = -k, l' = -l - 0.307·h (2c·cos β / a),
    so only reflections whose 0.307·h is near a whole number overlap (h 0, ±3, ±10, ...):
    groups of two lines beside singles of both components, every group closed by a positive
    batch, some by component 2."""
    loaded, measured, law = hmamg
    assert np.allclose(law[:2], [[1, 0, 0], [0, -1, 0]], atol=1e-9)
    assert law[2, 0] == pytest.approx(-0.307, abs=0.001) and law[2, 2] == pytest.approx(-1)
    data = _bench().hklf5_twinned(loaded.structure, measured, law, 0.3)
    batches = data.batches
    assert set(batches) == {-2, -1, 1, 2} and batches[-1] > 0
    overlapped = int((batches < 0).sum())
    assert 0.1 < overlapped / int((batches > 0).sum()) < 0.3  # partial overlap
    closing = batches[1:][batches[:-1] < 0]
    assert set(closing) == {1, 2}


def test_an_hklf5_twin_refines_to_its_fraction_and_r1(hmamg):
    """XH_HMaMg twinned at 0.30 as HKLF 5, refined from BASF 0.5: the fraction within 0.02,
    R1 no worse than the crystal's own merged data give (0.005), and the same lines refined
    without the twin (the observations' closing lines as plain HKLF 4) clearly worse."""
    loaded, measured, law = hmamg
    structure = loaded.structure
    data = _bench().hklf5_twinned(structure, measured, law, 0.3)
    data.twin = Twin(n=2, fractions=(0.5,), hklf5=True)
    result = _refined(structure, data)
    untwinned = _refined(structure, measured)
    rows = data.batches > 0
    ignored = _refined(
        structure,
        Reflections(data.indices[rows], data.intensities[rows], data.sigmas[rows], None),
    )
    assert abs(result.twin_fractions[0] - 0.3) < 0.02
    assert data.twin.fractions == result.twin_fractions  # the next refinement starts there
    assert result.r1 < untwinned.r1 + 0.005
    assert ignored.r1 > 3 * result.r1
    assert result.n_reflections == int(rows.sum())  # unmerged, one per observation
    assert any(n.startswith("twinned data (HKLF 5, 2 components)") for n in result.notes)
    assert 0 < result.twin_su[1] < 0.01


def test_detwinned_hklf5_data_are_one_domains_observations(hmamg):
    """What the maps and the element evidence read (twin.detwinned): one line per
    observation, its Fo² times Fc²(own) / Σ f·Fc² over the group (cctbx's
    observations.detwin): a single of component 2 comes back divided by f2, an overlapped
    observation near its own domain's Fo²; no twin, no batches left."""
    from crystalx_core.crystallography.twin import detwinned

    loaded, measured, law = hmamg
    data = _bench().hklf5_twinned(loaded.structure, measured, law, 0.3)
    data.twin = Twin(n=2, fractions=(0.3,), hklf5=True)
    one = detwinned(loaded.structure, data)
    rows = data.batches > 0
    assert one.twin is None and one.batches is None and len(one) == int(rows.sum())
    single_2 = np.flatnonzero(rows & (data.batches == 2) & (np.roll(data.batches, 1) > 0))
    single_2 = single_2[single_2 > 0]
    where = np.searchsorted(np.flatnonzero(rows), single_2)
    # but where Fc² is near 0 (twin.WEAK: the ratio of two near-zero numbers), kept as given
    same = np.isclose(one.intensities[where], data.intensities[single_2] / 0.3)
    assert same.mean() > 0.99
    # the whole set as one domain: R1 of the detwinned Fo² against the model's Fc², merged
    from cctbx import miller
    from cctbx.array_family import flex

    from crystalx_core.crystallography.convert import to_xray_structure

    xs = to_xray_structure(loaded.structure)
    fo = one.to_miller_array(loaded.structure.cell, loaded.structure.symops)
    fo = fo.merge_equivalents().array()
    fc = miller.set(fo, fo.indices()).structure_factors_from_scatterers(xs).f_calc()
    f_obs = fo.f_sq_as_f()
    scale = flex.sum(f_obs.data() * flex.abs(fc.data())) / flex.sum(flex.norm(fc.data()))
    r1 = flex.sum(flex.abs(f_obs.data() - scale * flex.abs(fc.data()))) / flex.sum(f_obs.data())
    assert r1 < 0.06


def test_without_atoms_each_components_singles_are_put_on_one_scale(hmamg):
    """solve's data (no model yet: twin.detwinned can only assume equal Fc² on every line,
    cctbx's observations.detwin ratio with Fc² alike): a single of component m divided by
    its fraction fm, an overlapped observation by the Σ f over its lines (here 1). Taken as
    measured (before), equivalents seen as singles of component 2 (0.3·Fo²) and of component
    1 (0.7·Fo²) were merged on scales 2.3 apart."""
    from crystalx_core.crystallography.twin import detwinned

    loaded, measured, law = hmamg
    data = _bench().hklf5_twinned(loaded.structure, measured, law, 0.3)
    data.twin = Twin(n=2, fractions=(0.3,), hklf5=True)
    one = detwinned(loaded.structure.with_sites([]), data)
    rows = data.batches > 0
    assert one.twin is None and len(one) == int(rows.sum())
    closing = data.batches[rows]
    single = np.r_[True, data.batches[:-1] > 0][rows]  # no -m line before the closing one
    share = np.where(single, np.where(closing == 1, 0.7, 0.3), 1.0)
    assert np.allclose(one.intensities, data.intensities[rows] / share)
    assert np.allclose(one.sigmas, data.sigmas[rows] / share)


HKL5 = (
    "   1   0   0  100.00    2.00   1\n"
    "   2   0   0   50.00    1.00  -2\n"
    "   2   0   1   50.00    1.00   1\n"
    "   0   2   0   80.00    2.00   2\n"
    "   1   1   0   30.00   -1.00  -2\n"
    "   1   1   1   30.00   -1.00   1\n"
)


@pytest.mark.parametrize(
    "text",
    [
        HKL5,
        HKL5.replace("  -1.00  -2\n", "   1.00  -2\n"),  # only the closing line flagged
        HKL5.replace("  -1.00   1\n", "   1.00   1\n"),  # only the -2 line flagged
    ],
)
def test_an_hklf5_file_is_read_as_its_groups(text):
    """Signed batches kept line by line, two components; a group with a negative σ on any
    of its lines (the flag for 'leave out') goes whole, never leaving its -2 line to join
    the next group nor its closing line alone as a single."""
    assert text.count("-1.00") == (2 if text is HKL5 else 1)
    hklf = parse_shelx(
        "TITL t\nCELL 0.71073 10 11 12 90 95 90\nLATT 1\nSFAC C\nUNIT 8\nBASF 0.25\nHKLF 5\nEND\n",
        "t.ins",
    ).reflection_format()
    assert hklf.code == 5 and hklf.twin.hklf5 and hklf.twin.fractions == (0.25,)
    reflections = reflections_from_text(text, "t.hkl", hklf)
    assert list(reflections.batches) == [1, -2, 1, 2]
    assert reflections.twin.n == 2 and reflections.twin.fractions == (0.25,)
    assert any("negative sigma" in note for note in reflections.notes)


@pytest.mark.parametrize(
    "closing",
    ["   0", "    ", ""],  # batch 0, a blank batch field, a line ending at sigma
)
def test_an_hklf5_line_without_batch_or_batch_0_is_component_1_closing_its_group(closing):
    """SHELXL manual, HKLF: "If BN is zero or absent, it is reset to one" (wingx sxl224.htm,
    ccp14 paulboyle/shelxl/HKLF.html). So a group's last line with batch 0 or none is a line
    of component 1 that closes it, and a lone one a single of component 1; a note says how
    many lines were so read."""
    text = HKL5.replace("   1\n   0   2   0", closing + "\n   0   2   0").replace(
        "   1   0   0  100.00    2.00   1\n", "   1   0   0  100.00    2.00" + closing + "\n"
    )
    assert text.count("   1\n") == 1  # two of the three batch-1 lines lost their batch
    hklf = parse_shelx(
        "TITL t\nCELL 0.71073 10 11 12 90 95 90\nLATT 1\nSFAC C\nUNIT 8\nBASF 0.25\nHKLF 5\nEND\n",
        "t.ins",
    ).reflection_format()
    reflections = reflections_from_text(text, "t.hkl", hklf)
    exact = reflections_from_text(HKL5, "t.hkl", hklf)
    assert list(reflections.batches) == list(exact.batches) == [1, -2, 1, 2]
    assert reflections.twin == exact.twin
    assert any(
        "2 HKLF 5 line(s) without a batch number or with batch 0" in n for n in reflections.notes
    )
    assert not any("batch 0" in n for n in exact.notes)


@pytest.mark.parametrize(
    "text, line, message",
    [
        (
            HKL5 + "   3   0   0   10.00    1.00  -2\n",
            7,
            r"from 3 0 0 \(batch -2\) is never closed",
        ),
        (HKL5.replace("   2\n", "  13\n"), 4, "batch 13 names component 13"),
        (HKL5.replace("  -2\n", "  -1\n").replace("   2\n", "   1\n"), 1, "every line names"),
    ],
)
def test_a_malformed_hklf5_group_is_refused_on_its_line(text, line, message):
    """SHELXL's HKLF 5 groups (manual, HKLF): every line names its component, and a group
    ends with a positive batch; a file that breaks that stops naming the line."""
    with pytest.raises(InputError, match=message) as error:
        reflections_from_text(
            text,
            "t.hkl",
            parse_shelx(
                "TITL t\nCELL 0.71073 10 11 12 90 95 90\nLATT 1\nSFAC C\nUNIT 8\nHKLF 5\nEND\n"
            ).reflection_format(),
        )
    assert error.value.path == "t.hkl" and error.value.line == line


def test_an_hklf5_basf_beyond_a_fraction_is_refused_on_its_line():
    """BASF 10.3 (SHELXL's 'fixed' code, which no source at hand confirms for BASF) is no
    fraction of HKLF 5's component 2: refused naming the BASF line, not clamped to 1."""
    with pytest.raises(InputError, match=r"BASF 10\.3: a twin fraction lies in") as error:
        parse_shelx(
            "TITL t\nCELL 0.71073 10 11 12 90 95 90\nLATT 1\nSFAC C\nUNIT 8\nBASF 10.3\n"
            "HKLF 5\nEND\n",
            "t.ins",
        ).reflection_format()
    assert (error.value.path, error.value.line) == ("t.ins", 6)


def test_more_basf_than_hklf5_components_is_refused_on_the_basf_line():
    hklf = parse_shelx(
        "TITL t\nCELL 0.71073 10 11 12 90 95 90\nLATT 1\nSFAC C\nUNIT 8\nBASF 0.2 0.1\nHKLF 5\n"
        "END\n",
        "t.ins",
    ).reflection_format()
    with pytest.raises(InputError, match="BASF gives 2 fractions for the 2 components") as error:
        reflections_from_text(HKL5, "t.hkl", hklf)
    assert (error.value.path, error.value.line) == ("t.ins", 6)


def test_assign_refines_an_hklf5_res_and_writes_hklf5_and_basf_back(tmp_path, hmamg):
    """XH_HMaMg's published .res with HKLF 5 and BASF 0.5 beside its data twinned at 0.30 as
    an HKLF 5 file in SHELX's columns (3I4, 2F8.2, I4): `assign --hkl` refines every stage
    twinned, gives the fraction (within 0.02) in the JSON, keeps the published elements (the
    evidence reads detwinned observations), and writes HKLF 5 with the refined BASF in the
    .res, which reads back; the CIF reports the twin (cif_twin.dic's _twin_individual loop,
    the fractions summing to 1, the second's su; the matrices unknown: '?')."""
    import gemmi

    from crystalx_core.cli import main

    loaded, measured, law = hmamg
    data = _bench().hklf5_twinned(loaded.structure, measured, law, 0.3)
    hkl = tmp_path / "twin.hkl"
    hkl.write_text(_bench().hklf5_text(data))
    text = (ENTRY / "published.res").read_text()
    assert "\nHKLF 4" in text and "BASF" not in text
    res = tmp_path / "twin.res"
    res.write_text(text.replace("\nHKLF 4", "\nBASF 0.5\nHKLF 5"))
    out = str(tmp_path / "out")
    assert main(["assign", str(res), "--hkl", str(hkl), "--quiet", "--out", out]) == 0
    report = json.loads((tmp_path / "out.json").read_text())
    (fraction,) = report["refinement"]["twin_fractions"]
    assert abs(fraction - 0.3) < 0.02 and report["refinement"]["r1"] < 0.04
    published = {s.label: s.element for s in loaded.structure.atoms}
    written = load(tmp_path / "out.res")
    assert {s.label: s.element for s in written.structure.atoms if s.label in published} == (
        published
    )
    written_text = (tmp_path / "out.res").read_text()
    assert "\nHKLF 5" in written_text and "TWIN" not in written_text
    twin = written.reflection_format().twin
    assert twin.hklf5 and twin.fractions == pytest.approx((fraction,), abs=1e-5)
    block = gemmi.cif.read(str(tmp_path / "out.cif")).sole_block()
    table = block.find("_twin_individual_", ["id", "mass_fraction_refined", "twin_matrix_11"])
    values = [gemmi.cif.as_number(row[1]) for row in table]
    assert [row[0] for row in table] == ["1", "2"] and sum(values) == pytest.approx(1, abs=1e-4)
    assert values[1] == pytest.approx(fraction, abs=1e-4) and "(" in table[1][1]
    assert [row[2] for row in table] == ["1", "?"]
    details = " ".join(gemmi.cif.as_string(block.find_value("_refine_special_details")).split())
    assert details.startswith("Refined as a 2-component non-merohedral twin against HKLF 5")
    assert "inversion" not in details  # HKLF 5's default matrix is no inversion twin


@pytest.mark.parametrize("shel, kept", [("SHEL 99 4.8", [1, -2, 1, 2]), ("SHEL 99 5.2", [1, 2])])
def test_shel_keeps_or_leaves_an_hklf5_observation_whole(shel, kept):
    """SHEL (and OMIT) judge an HKLF 5 observation by its own, closing line: 2 0 1 (d 4.6 Å)
    overlapping 2 0 0 (d 4.98 Å) stays with it inside d 4.8 Å, and both go with 2 0 0 beyond
    d 5.2 Å; never a lone -2 line left to join the next observation."""
    from crystalx_core.io.data_limits import limited

    shelx = parse_shelx(
        f"TITL t\nCELL 0.71073 10 11 12 90 95 90\nLATT 1\nSFAC C\nUNIT 8\n{shel}\nHKLF 5\nEND\n",
        "t.ins",
    )
    text = (
        "   1   0   0  100.00    2.00   1\n"
        "   2   0   1   50.00    1.00  -2\n"
        "   2   0   0   50.00    1.00   1\n"
        "   0   2   0   80.00    2.00   2\n"
    )
    reflections = reflections_from_text(text, "t.hkl", shelx.reflection_format())
    out = limited(shelx, reflections, shelx.cell, ["x,y,z", "-x,-y,-z"])
    assert list(out.batches) == kept
    assert out.twin == reflections.twin


def test_a_long_basf_is_written_back_continued_within_80_columns():
    """BASF with eleven fractions (TWIN N -12) written with SHELX's ' =' continuation, as the
    input had it: SHELXL reads 80 columns of a line, and the rewrite had put them all on one
    (105 columns), losing the last ones to SHELXL; read back they are the refined values."""
    from crystalx_core.io.shelx_write import render_with_sites

    entry = BENCHMARK / "XH_alanine"
    head, _, tail = (entry / "published.res").read_text().partition("\nHKLF")
    basf = "BASF 0.01 0.02 0.03 0.04 0.05 0.06 =\n   0.07 0.08 0.09 0.01 0.02\n"
    shelx = parse_shelx(head + "\nTWIN 0 0 1 0 -1 0 1 0 0 -12\n" + basf + "HKLF" + tail, "t.res")
    assert shelx.twin().fractions == (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.01,
                                      0.02)  # fmt: skip
    refined = tuple(0.012345 * k for k in range(1, 12))
    written = render_with_sites(shelx, load(entry / "published.res").structure,
                                twin_fractions=refined)  # fmt: skip
    assert max(len(line) for line in written.splitlines()) <= 80
    assert " =\n " in written[written.index("BASF") :]
    again = parse_shelx(written, "again.res").twin()
    assert again.fractions == pytest.approx(refined, abs=1e-5)


def test_the_plugin_sends_hklf5_and_its_basf_and_the_service_refines_it(tmp_path, hmamg):
    """Olex2's refinement model gives HKLF 5's BASF under "hklf" when there is no TWIN
    (olex2's cctbx_olex_adapter.py: model['hklf'].get('basf') as the HKLF 5 twin fractions);
    the plugin sends them as the request's basf, and the service reads the file as HKLF 5
    with them (protocol.ReflectionsIn)."""
    import importlib.util
    from pathlib import Path

    from crystalx_core.protocol import ReflectionsIn
    from crystalx_core.service import read_reflections as service_reflections

    path = Path(__file__).resolve().parents[1] / "plugin/plugin-CrystalX/crystalx_plugin"
    spec = importlib.util.spec_from_file_location("olex_model_hklf5", path / "olex_model.py")
    olex_model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(olex_model)
    loaded, measured, law = hmamg
    hkl = tmp_path / "twin.hkl"
    hkl.write_text(
        _bench().hklf5_text(_bench().hklf5_twinned(loaded.structure, measured, law, 0.3))
    )

    class Olx:
        @staticmethod
        def HKLSrc():
            return str(hkl)

    # GetRefinementModel() always holds "aunit" (xlib/refmodel.cpp RefinementModel::PyExport);
    # this model has no restraints, so its atoms are not needed here
    refinement = {"hklf": {"value": 5, "s": 1, "basf": [0.4]}, "aunit": {"residues": []}}
    sent, why = olex_model.reflection_file(Olx, refinement)
    assert why is None and sent["hklf"] == 5 and sent["basf"] == [0.4] and not sent["twin"]
    reflections, left_out = service_reflections(ReflectionsIn(**sent), loaded.structure)
    assert left_out is None
    assert reflections.twin.hklf5 and reflections.twin.fractions == (0.4,)
    assert reflections.twin.n == 2 and (reflections.batches < 0).any()


@pytest.mark.slow  # 49 s on two loaded cores
def test_solve_from_an_hklf5_ins_refines_the_twin(tmp_path, hmamg):
    """`crystalx solve x.ins x.hkl` with HKLF 5 and BASF 0.5 in the .ins (XH_HMaMg twinned at
    0.30): the maps of the search read the observations, each component's singles put on one
    scale by the BASF (no model yet: twin.detwinned), every refinement of the completion is
    twinned, and the .res keeps HKLF 5 with the refined BASF (0.3004 and R1 0.0229 when written)."""
    from crystalx_core.cli import main

    loaded, measured, law = hmamg
    data = _bench().hklf5_twinned(loaded.structure, measured, law, 0.3)
    (tmp_path / "t.hkl").write_text(_bench().hklf5_text(data))
    lines = (ENTRY / "published.res").read_text().splitlines()
    head = lines[: next(k for k, line in enumerate(lines) if line.startswith("FVAR"))]
    (tmp_path / "t.ins").write_text("\n".join([*head, "BASF 0.5", "HKLF 5", "END", ""]))
    out = str(tmp_path / "o")
    assert main(["solve", str(tmp_path / "t.ins"), str(tmp_path / "t.hkl"), "--quiet", "--out",
                 out]) == 0  # fmt: skip
    report = json.loads((tmp_path / "o.json").read_text())
    (fraction,) = report["refinement"]["twin_fractions"]
    assert abs(fraction - 0.3) < 0.02 and report["refinement"]["r1"] < 0.04
    written = load(tmp_path / "o.res")
    assert written.reflection_format().twin.fractions == pytest.approx((fraction,), abs=1e-5)


def test_a_cif_of_an_hklf5_refinement_carries_its_twin(tmp_path, hmamg):
    """A CIF as SHELXL writes it for HKLF 5 data: its _shelx_res_file with BASF and HKLF 5,
    its _shelx_hkl_file the HKLF 5 lines. Loaded, its data are the twin's (batches signed,
    BASF the start) and refine to the fraction; named as the reflection file of another
    .ins (cif_reflections, no HKLF of its own), they are read as HKLF 5 too, with a note
    (they were refused as HKLF 4 data with negative batches)."""
    from crystalx_core.io.cif import cif_reflections

    loaded, measured, law = hmamg
    data = _bench().hklf5_twinned(loaded.structure, measured, law, 0.3)
    text = (ENTRY / "model.cif").read_text()
    head, _, rest = text.partition("_shelx_hkl_file\n;\n")
    _, _, tail = rest.partition("\n;\n")
    assert head.count("\nHKLF 4") == 1
    head = head.replace("\nHKLF 4", "\nBASF 0.5\nHKLF 5")
    hkl = _bench().hklf5_text(data).rstrip("\n")
    cif = tmp_path / "twin.cif"
    cif.write_text(head + "_shelx_hkl_file\n;\n" + hkl + "\n;\n" + tail)
    model = load(cif)
    reflections = model.reflections_in(model.reflections_file())
    assert reflections.twin.hklf5 and reflections.twin.fractions == (0.5,)
    assert (reflections.batches < 0).sum() == (data.batches < 0).sum()
    result = refine(model.structure, reflections, 5)
    assert abs(result.twin_fractions[0] - 0.3) < 0.02
    named = cif_reflections(cif)
    assert named.twin.hklf5 and len(named) == len(data)
    assert any(note.startswith("HKLF 5 and BASF of the CIF's own .res") for note in named.notes)


def test_hklf5_without_basf_gets_its_refined_basf_before_fvar():
    """HKLF 5 data without BASF are refined from the fractions' linear fit; the .res gets a
    BASF line with them just before FVAR, where SHELXL writes it, and reads back as HKLF 5
    with them."""
    from crystalx_core.io.shelx_write import render_with_sites

    text = (ENTRY / "published.res").read_text().replace("\nHKLF 4", "\nHKLF 5")
    shelx = parse_shelx(text, "t.res")
    assert "BASF" not in shelx.cards and shelx.reflection_format().twin.hklf5
    written = render_with_sites(shelx, load(ENTRY / "published.res").structure,
                                twin_fractions=(0.29876,))  # fmt: skip
    lines = written.splitlines()
    fvar = next(k for k, line in enumerate(lines) if line.startswith("FVAR"))
    assert lines[fvar - 1] == "BASF 0.29876"
    again = parse_shelx(written, "again.res").reflection_format()
    assert again.code == 5 and again.twin.fractions == (0.29876,)


def test_three_hklf5_components_refine_to_their_fractions(hmamg):
    """Three domains (XH_HMaMg; the second turned by the twofold about a at 0.30, the third
    by the twofold about c, h' = -h - 0.728·l, at 0.15): groups of two and three lines,
    singles of each component, BASF 0.5 0.2 refined to both fractions (within 0.02), each
    with its su, R1 as untwinned."""
    loaded, measured, law = hmamg
    structure = loaded.structure
    about_c = _bench().twofold_law(structure.cell, (0, 0, 1))
    data = _bench().hklf5_twinned(structure, measured, [law, about_c], [0.3, 0.15])
    batches = data.batches
    assert set(batches) == {-3, -2, -1, 1, 2, 3}
    closing = np.flatnonzero(batches > 0)
    assert (np.diff(closing) == 3).any()  # some spots of all three domains
    data.twin = Twin(n=3, fractions=(0.5, 0.2), hklf5=True)
    result = _refined(structure, data)
    assert np.allclose(result.twin_fractions, (0.3, 0.15), atol=0.02)
    assert all(0 < su < 0.01 for su in result.twin_su)
    assert result.r1 < _refined(structure, measured).r1 + 0.005


def test_a_group_goes_only_where_every_line_is_systematically_absent(hmamg):
    """cctbx's observations.filter_data (observations.h), as olex2.refine filters HKLF 5
    data: an observation whose closing line is extinguished by P21/c but whose other
    component's line is not keeps both (the spot holds that domain's intensity); only a
    group all of whose lines are absent goes, and never one line of a group alone."""
    from cctbx import xray

    from crystalx_core.crystallography.refine import _hklf5_observations

    structure = hmamg[0].structure
    rows = [  # h k l, batch: (1 0 1), (0 3 0), (0 1 0) and (0 0 1) absent in P21/c
        ((2, 1, 0), -2), ((1, 0, 1), 1),  # closing line absent, the other not: kept
        ((0, 1, 0), -2), ((0, 3, 0), 1),  # both absent: left out
        ((1, 1, 1), 1),  # a single
        ((0, 0, 1), -1), ((2, 2, 2), 2),  # the -1 line absent, closing line not: kept
    ]  # fmt: skip
    reflections = Reflections(
        indices=np.array([h for h, _ in rows]),
        intensities=np.full(len(rows), 100.0),
        sigmas=np.full(len(rows), 2.0),
        batches=np.array([m for _, m in rows]),
    )
    observations = _hklf5_observations(structure, reflections, [xray.twin_fraction(0.3, True)])
    assert list(observations.indices) == [(1, 0, 1), (1, 1, 1), (2, 2, 2)]
    assert list(observations.measured_scale_indices) == [1, 1, 2]


def test_hklf5_data_asked_of_a_cif_refln_loop_are_refused_naming_the_file(tmp_path):
    """A _refln loop has no batch column to carry HKLF 5 groups: an HKLF 5 .ins naming such
    a CIF as its reflections is refused, one line naming the CIF, never refined as HKLF 4."""
    from crystalx_core.io.hkl import HklfFormat

    from .test_foreign_files import CELL, SYMOPS

    path = tmp_path / "x.cif"
    path.write_text(
        "data_x\n" + CELL + SYMOPS + "loop_\n_refln_index_h\n_refln_index_k\n_refln_index_l\n"
        "_refln_F_squared_meas\n_refln_F_squared_sigma\n1 1 0 40.0 2.0\n0 0 2 20.0 1.0\n"
    )
    hklf = HklfFormat(code=5, twin=Twin(fractions=(0.3,), hklf5=True))
    with pytest.raises(
        InputError, match=r"HKLF 5 twin data read from a CIF loop \(_refln_F_sq"
    ) as e:
        read_reflections(path, hklf)
    assert e.value.path == str(path) and "\n" not in str(e.value)
