"""Twinned HKLF 4 data refined as SHELXL refines TWIN/BASF (issue 23).

SHELXL manual, TWIN r11..r33 N [-1 0 0 0 -1 0 0 0 -1 2]: the matrix applied repeatedly gives
|N| components; a negative N doubles them with the inverted ones (racemic twinning beside a
twin law); BASF k1.. are the fractions of components 2..|N|, the first taking 1 - their sum.
The refinement is cctbx/smtbx's as olex2.refine builds it (cctbx miller.array
.as_xray_observations(twin_components=...), smtbx reparametrisation(twin_fractions=...):
olex2's cctbx_olex_adapter.py; iotbx/shelx/parsers.py reads TWIN into those components).

The twinned data are real data twinned in the test: the merged Fo² of a benchmark crystal
mixed with the Fo² of the reflection the twin law brings onto it, (1 - f)·Fo²(h) + f·Fo²(R·h),
σ propagated, so that the fraction f is known and the measurement errors are the crystal's.
"""

import json
import math

import pytest

from crystalx_core.crystallography.refine import refine
from crystalx_core.errors import InputError
from crystalx_core.io import load, read_reflections
from crystalx_core.io.hkl import Reflections, Twin
from crystalx_core.io.shelx_read import parse_shelx
from tests.conftest import BENCHMARK, benchmark_script

HEADER = "TITL t\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT -1\nSFAC C O\nUNIT 8 4\n"
ATOMS = "FVAR 1.0\nC1 1 0.1 0.2 0.3 11.0 0.03\nHKLF 4\nEND\n"
MEROHEDRAL = ((-1, 0, 0), (0, -1, 0), (0, 0, 1))  # the twofold along c: -3m1 into 6/mmm
INVERSION = ((-1, 0, 0), (0, -1, 0), (0, 0, -1))


def _twin(text: str) -> Twin | None:
    return parse_shelx(HEADER + text + ATOMS, "t.ins").reflection_format().twin


def test_twin_and_basf_read_as_the_shelxl_manual_defines_them():
    """No matrix: the inversion and N 2; the matrix applied repeatedly; a negative N adds the
    inverted components after the |N|/2 proper ones; BASF gives components 2.. (missing ones
    start from 1/|N|); the BASF of a file without TWIN stay batch scales."""
    plain = _twin("TWIN\nBASF 0.25\n")
    assert plain.matrix == INVERSION and plain.n == 2 and plain.fractions == (0.25,)
    assert plain.laws() == [INVERSION]
    three = _twin("TWIN 0 1 0 0 0 1 1 0 0 3\nBASF 0.2\n")
    assert three.laws() == [((0, 1, 0), (0, 0, 1), (1, 0, 0)), ((0, 0, 1), (1, 0, 0), (0, 1, 0))]
    assert three.start() == pytest.approx((0.2, 1 / 3))
    racemic = _twin("TWIN 0 1 0 1 0 0 0 0 -1 -4\n")
    swap = ((0, 1, 0), (1, 0, 0), (0, 0, -1))
    assert racemic.laws() == [swap, INVERSION, tuple(tuple(-v for v in row) for row in swap)]
    assert racemic.start() == (0.25, 0.25, 0.25)
    assert _twin("") is None
    assert "batch scale" in " ".join(
        parse_shelx(HEADER + "BASF 0.3\n" + ATOMS, "t.ins").reflection_format().notes
    )


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("TWIN 0 1 0 1 0 0 0 0 -1 -3\n", "even number", 7),
        ("TWIN 0.5 1 0 1 0 0 0 0 -1\n", "whole numbers", 7),
        ("TWIN 2 0 0 0 1 0 0 0 1\n", "determinant", 7),
        ("TWIN 1 0 0\n", "nine matrix elements", 7),
        ("TWIN\nBASF 0.2 0.1\n", "BASF gives 2 fractions", 8),
        # SHELXL's parameter code (10 + x fixed, 20 + x free variable 2): no source at hand
        # confirms BASF takes it, so it is refused, never clamped to a fraction of 1
        ("TWIN\nBASF 10.25\n", r"BASF 10\.25: a twin fraction lies in \[0, 1\]", 8),
        ("TWIN 0 1 0 1 0 0 0 0 -1 3\nBASF 0.2 21.0\n", r"BASF 21\.0: .*not supported", 8),
        ("TWIN\nBASF 1.4\n", "a twin fraction lies in", 8),
    ],
)
def test_a_twin_shelxl_would_not_refine_stops_naming_the_line(text, message, line):
    with pytest.raises(InputError, match=message) as error:
        _twin(text)
    assert error.value.path == "t.ins" and error.value.line == line


def _twinned(structure, reflections, law, fraction) -> Reflections:
    """(1 - f)·Fo²(h) + f·Fo²(R·h) of the merged data (benchmarks/twin_benchmark.py)."""
    return benchmark_script("twin_benchmark").twinned(structure, reflections, law, fraction)


@pytest.fixture(scope="module")
def p31c():
    loaded = load(BENCHMARK / "FC_p31c" / "published.res")
    reflections = read_reflections(BENCHMARK / "FC_p31c" / "data.hkl", loaded.reflection_format())
    return loaded.structure, reflections


def _refined(structure, reflections):
    return refine(structure, reflections, 10, anisotropic=True, input_variables=True)


def test_a_merohedral_twin_refines_to_its_fraction_and_r1(p31c):
    """FC_p31c (P31c, published R1 0.032) twinned by the twofold along c at 0.20, from BASF
    0.5: the fraction within 0.02, R1 no worse than the same reflections untwinned give (the mix
    averages two measurements), and refined without TWIN the same data stay far worse."""
    structure, reflections = p31c
    untwinned = _refined(structure, _twinned(structure, reflections, MEROHEDRAL, 0.0))
    data = _twinned(structure, reflections, MEROHEDRAL, 0.2)
    ignored = _refined(structure, data)
    data.twin = Twin(MEROHEDRAL, 2, (0.5,))
    result = _refined(structure, data)
    assert abs(result.twin_fractions[0] - 0.2) < 0.02
    assert data.twin.fractions == result.twin_fractions  # the next refinement starts there
    assert result.r1 < untwinned.r1 + 0.005
    assert ignored.r1 > 2 * result.r1
    assert any("BASF 0.19" in note or "BASF 0.20" in note for note in result.notes)


@pytest.mark.slow  # 27 s: FC_p31c refined twice, again where held
def test_a_fraction_stays_within_zero_and_one(p31c):
    """FC_p31c's own (untwinned) data refined with the twofold along c as a twin law from BASF
    0.4: the fraction comes down to the bound, never below 0 (held there if least squares
    takes it under, as SHELXL's BASF cannot be negative), R1 as untwinned."""
    structure, reflections = p31c
    data = _twinned(structure, reflections, MEROHEDRAL, 0.0)
    untwinned = _refined(structure, data)
    data.twin = Twin(MEROHEDRAL, 2, (0.4,))
    result = _refined(structure, data)
    assert 0.0 <= result.twin_fractions[0] < 0.01
    assert result.r1 == pytest.approx(untwinned.r1, abs=0.002)


def test_a_racemic_twin_refines_to_one_half(p31c):
    """An even mix of the two hands (TWIN with no matrix, BASF 0.3): 0.50 whatever the
    crystal's own Flack parameter, which a mix at 0.5 cancels; its P and Cl scatter
    anomalously (Mo Kα)."""
    structure, reflections = p31c
    data = _twinned(structure, reflections, INVERSION, 0.5)
    data.twin = Twin(fractions=(0.3,))
    result = _refined(structure, data)
    assert abs(result.twin_fractions[0] - 0.5) < 0.02
    assert math.isfinite(result.r1) and result.r1 < 0.04


def test_a_component_the_crystals_symmetry_makes_keeps_its_fraction():
    """sf_atomstwoline's TWIN 0 -1 0 -1 0 0 0 0 -1 3: its third component (R², the identity)
    diffracts as the first, so only their sum is defined: its BASF is kept, with a note (least
    squares would meet a singular matrix); the second refines."""
    loaded = load(BENCHMARK / "XH_alanine" / "published.res")
    structure = loaded.structure
    reflections = read_reflections(
        BENCHMARK / "XH_alanine" / "data.hkl", loaded.reflection_format()
    )
    law = ((0, 0, 1), (0, -1, 0), (1, 0, 0))  # a ↔ c: a law, not a symmetry, of P212121
    reflections.twin = Twin(law, 3, (0.1, 0.05))
    result = refine(structure, reflections, 5)
    assert result.twin_fractions[1] == pytest.approx(0.05)
    assert any("component 3 (BASF 2) diffracts as the first" in note for note in result.notes)


# the twofold along a of the hexagonal lattice (x-y,-y,-z) as SHELX writes it, h' = R·h on the
# column: h' = h, k' = -h-k, l' = -l. Not a symmetric matrix, and not in P31c's Laue group
# -31m: a merohedral twin law of FC_p31c whose transpose is none
TWOFOLD_A = ((1, 0, 0), (-1, -1, 0), (0, 0, -1))


def test_a_twin_law_that_is_not_symmetric_acts_on_the_column_h(p31c, tmp_path):
    """SHELXL's TWIN matrix "is applied ... to generate the indices of the twin components
    from the input reflection indices" as HKLF's matrix (h' = r11·h + r12·k + r13·l); cctbx's
    xray.twin_component applies its law to the row h (xray/observations.h, generate), so
    olex2.refine hands cctbx the transpose (olex2's cctbx_olex_adapter.py, matrix[j][i]).
    The manual's own example shows the column: TWIN 0 0 1 0 1 0 -1 0 -1 3 for a P21/c cell
    with a = c, β = 120° keeps the reciprocal metric only so. FC_p31c twinned by a law that
    is not symmetric (its transpose not even a lattice symmetry) at 0.25 refines back to it
    from BASF 0.5: a law taken the wrong way round would pair each reflection with another."""
    import numpy as np
    from cctbx import uctbx

    shelxl_example = np.array(((0, 0, 1), (0, 1, 0), (-1, 0, -1)))
    g_star = np.array(uctbx.unit_cell((10, 13, 10, 90, 120, 90)).reciprocal_metrical_matrix())
    g_star = g_star[[0, 3, 4, 3, 1, 5, 4, 5, 2]].reshape(3, 3)  # (a*², b*², c*², a*b*, ..)
    assert np.allclose(shelxl_example.T @ g_star @ shelxl_example, g_star)
    assert not np.allclose(shelxl_example @ g_star @ shelxl_example.T, g_star)

    structure, reflections = p31c
    data = _twinned(structure, reflections, TWOFOLD_A, 0.25)
    data.twin = Twin(TWOFOLD_A, 2, (0.5,))
    result = refine(structure, data, 5, anisotropic=True, input_variables=True)
    assert abs(result.twin_fractions[0] - 0.25) < 0.02
    assert result.r1 < 0.04
    # the CIF's matrix U of individual 2 is that law as SHELX writes it, row by row
    # (cif_twin.dic: (h' k' l') = U (h k l), the column convention of TWIN), not its transpose
    fractions, sus, matrices, details = _cif_of(result, tmp_path / "twin.cif")
    assert matrices == [((1, 0, 0), (0, 1, 0), (0, 0, 1)), TWOFOLD_A]
    assert fractions[1] == pytest.approx(result.twin_fractions[0], abs=1e-4)
    assert 0 < sus[1] < 0.02 and details == "Refined as a 2-component twin."


def test_a_twin_without_basf_is_perfect_and_kept_so(tmp_path):
    """SHELXL manual, TWIN: "If BASF is omitted the TWIN factors are all assumed to be equal
    (i.e. 'perfect' twinning)"; olex2's cctbx_olex_adapter.py gives those components 1/N with
    their gradient off. XH_alanine twinned at 0.30 by its a ↔ c swap: TWIN without BASF keeps
    0.5 (a note says so; the data's twin keeps no BASF for the next refinement, and the .res
    none), while BASF 0.5 is refined to 0.30."""
    from crystalx_core.io.shelx_write import render_with_sites

    entry = BENCHMARK / "XH_alanine"
    loaded = load(entry / "published.res")
    measured = read_reflections(entry / "data.hkl", loaded.reflection_format())
    data = _twinned(loaded.structure, measured, PSEUDO, 0.3)
    data.twin = Twin(PSEUDO, 2)
    perfect = refine(loaded.structure, data, 5)
    assert perfect.twin_fractions == (0.5,) and data.twin.fractions == ()
    assert any("without BASF: a perfect twin" in note for note in perfect.notes)
    fractions, sus, _, details = _cif_of(perfect, tmp_path / "perfect.cif")
    assert fractions == [0.5, 0.5] and sus == [0.0, 0.0]  # held, so given without su
    assert "TWIN without BASF: a perfect twin" in details
    data.twin = Twin(PSEUDO, 2, (0.5,))
    refined = refine(loaded.structure, data, 5)
    assert abs(refined.twin_fractions[0] - 0.3) < 0.02 and refined.r1 < perfect.r1
    text = (entry / "published.res").read_text()
    head, _, tail = text.partition("\nHKLF")
    for basf in ("", "BASF 0.5\n"):
        shelx = parse_shelx(head + "\nTWIN 0 0 1 0 -1 0 1 0 0 2\n" + basf + "HKLF" + tail, "t.res")
        written = render_with_sites(shelx, perfect.structure, twin_fractions=(0.3,))
        assert ("BASF 0.30000" in written) == bool(basf) and "TWIN 0 0 1 0 -1 0 1 0 0 2" in written


PSEUDO = ((0, 0, 1), (0, -1, 0), (1, 0, 0))  # a ↔ c: alanine's a 5.928 Å, c 5.794 Å (2 %)


def _hkl_text(reflections: Reflections) -> str:
    return benchmark_script("twin_benchmark").hkl_text(reflections)


def test_assign_refines_a_twinned_res_and_writes_the_fractions_back(tmp_path):
    """XH_alanine (P212121, published R1 0.027) twinned by the pseudo-merohedral swap of its
    near-equal a and c at 0.30, its published .res given TWIN 0 0 1 0 -1 0 1 0 0 2 and BASF
    0.5: `assign --hkl` refines every stage twinned, reports the fraction (within 0.02) in
    the JSON and a note, keeps the published elements (the evidence reads detwinned Fo²),
    and writes TWIN and the refined BASF in the .res, which our reader reads back. The same
    data without TWIN refine clearly worse (R1 0.22: no solution).
    Only 593 reflections have their mate measured (24 % complete): the elements stay the
    model's, as for any data that incomplete."""
    from crystalx_core.cli import main

    entry = BENCHMARK / "XH_alanine"
    loaded = load(entry / "published.res")
    reflections = read_reflections(entry / "data.hkl", loaded.reflection_format())
    data = _twinned(loaded.structure, reflections, PSEUDO, 0.3)
    hkl = tmp_path / "twin.hkl"
    hkl.write_text(_hkl_text(data))
    text = (entry / "published.res").read_text()
    head, _, tail = text.partition("\nHKLF")
    twinned_res = tmp_path / "twin.res"
    twinned_res.write_text(head + "\nTWIN 0 0 1 0 -1 0 1 0 0 2\nBASF 0.5\nHKLF" + tail)
    plain_res = tmp_path / "plain.res"
    plain_res.write_text(text)
    for res, code in ((twinned_res, 0), (plain_res, 5)):  # 5: no solution, R1 over 0.20
        out = str(tmp_path / f"{res.stem}_out")
        assert main(["assign", str(res), "--hkl", str(hkl), "--quiet", "--out", out]) == code
    twinned = json.loads((tmp_path / "twin_out.json").read_text())
    plain = json.loads((tmp_path / "plain_out.json").read_text())
    fraction = twinned["refinement"]["twin_fractions"][0]
    assert abs(fraction - 0.3) < 0.02
    assert twinned["refinement"]["r1"] < 0.04 and plain["refinement"]["r1"] > 0.08
    assert plain["refinement"]["twin_fractions"] is None
    law = "twinned data (TWIN 0 0 1 0 -1 0 1 0 0 2)"
    assert any(note.startswith(law) for note in twinned["notes"])
    published = {s.label: s.element for s in loaded.structure.atoms}
    written = load(tmp_path / "twin_out.res")
    kept = {s.label: s.element for s in written.structure.atoms if s.label in published}
    assert kept == published
    twin = written.reflection_format().twin
    assert twin.matrix == PSEUDO and twin.n == 2
    assert twin.fractions == pytest.approx((fraction,), abs=1e-5)
    assert "\nTWIN 0 0 1 0 -1 0 1 0 0 2\nBASF " in (tmp_path / "twin_out.res").read_text()
    # the CIF reports the twin as cif_twin.dic defines it, read back by gemmi and iotbx.cif
    fractions, sus, matrices, details = _cif_twin(tmp_path / "twin_out.cif")
    assert fractions == pytest.approx((1 - fraction, fraction), abs=1e-4)
    assert sum(fractions) == pytest.approx(1.0, abs=1e-4)
    assert sus[0] == sus[1] and 0 < sus[1] < 0.01  # one refined fraction: one su for both
    assert matrices == [((1, 0, 0), (0, 1, 0), (0, 0, 1)), PSEUDO]
    assert details == "Refined as a 2-component twin."
    assert _cif_twin(tmp_path / "plain_out.cif") is None  # untwinned: no twin items


def _cif_of(result, path):
    """_cif_twin of a CIF block holding only the twin items the job's CIF gives `result`."""
    import iotbx.cif

    from crystalx_core.report import _twin_items

    block = iotbx.cif.model.block()
    _twin_items(block, result)
    model = iotbx.cif.model.cif()
    model["twin"] = block
    path.write_text(str(model))
    return _cif_twin(path)


def _cif_twin(path):
    """(fractions, su, matrices, _refine_special_details) of the twin loop of a CIF we wrote,
    as gemmi reads it, the same loop's values checked against iotbx.cif's reading; None where
    the CIF has no twin items. COMCIFS cif_twin.dic: _twin_individual.twin_matrix U takes the
    reference individual's indices to this one's, (h' k' l') = U (h k l), the reference U = I."""
    import gemmi
    import iotbx.cif

    block = gemmi.cif.read(str(path)).sole_block()
    other = iotbx.cif.reader(file_path=str(path)).model()[block.name]
    table = block.find("_twin_individual_", ["id", "mass_fraction_refined"]
                       + [f"twin_matrix_{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3)])  # fmt: skip
    if not table:
        assert (
            "_twin_individual_id" not in other
            and block.find_value("_refine_special_details") is None
        )
        return None
    assert [row[0] for row in table] == [str(k) for k in range(1, len(table) + 1)]
    assert list(other["_twin_individual_mass_fraction_refined"]) == [row[1] for row in table]
    values = [gemmi.cif.as_number(row[1]) for row in table]
    sus = [float(row[1].partition("(")[2].rstrip(")") or 0) for row in table]
    sus = [
        su * 10 ** -len(row[1].partition("(")[0].partition(".")[2]) for su, row in zip(sus, table)
    ]
    matrices = [
        tuple(tuple(int(row[2 + 3 * i + j]) for j in range(3)) for i in range(3)) for row in table
    ]
    details = " ".join(gemmi.cif.as_string(block.find_value("_refine_special_details")).split())
    return values, sus, matrices, details


def test_sf_atomstwoline_reads_its_twin_and_knows_which_component_is_its_own_image():
    """The corpus's Olex2 CIF (P2/c, a ≈ b ≈ c, β 91.2°; published R1 0.1836) embeds a .res
    with TWIN 0 -1 0 -1 0 0 0 0 -1 3 and BASF 0.17379 0.18405: its data now come with that
    twin (no refusal), and the third component, R² = the identity, is the one whose fraction
    cannot be refined apart from the first's. (The whole job, 178 non-H atoms, is
    refine_benchmark's --measured line: docs/benchmarks.md.)"""
    from crystalx_core.crystallography.twin import symmetric_components
    from crystalx_core.symmetry import space_group_from_operators
    from tests.conftest import CORPUS

    loaded = load(CORPUS / "sf_atomstwoline.cif")
    twin = loaded.reflection_format().twin
    assert twin.matrix == ((0, -1, 0), (-1, 0, 0), (0, 0, -1)) and twin.n == 3
    assert twin.fractions == (0.17379, 0.18405)
    assert twin.laws()[1] == ((1, 0, 0), (0, 1, 0), (0, 0, 1))
    group = space_group_from_operators(loaded.structure.symops)
    assert symmetric_components(twin, group) == {1}
    reflections = loaded.reflections_in(loaded.reflections_file())
    assert reflections.twin == twin and len(reflections) > 10_000


def test_solve_refines_with_the_twin_of_the_users_ins(tmp_path):
    """`crystalx solve x.ins x.hkl` with TWIN and BASF in the .ins (XH_urea, P-421m: the
    racemic twin is the only merohedral one of -42m): every refinement of the completion is
    twinned, the .res keeps TWIN with the refined BASF, and the JSON gives the fraction
    (urea's real crystal is one hand: the fraction comes down to the bound 0)."""
    from crystalx_core.cli import main

    entry = BENCHMARK / "XH_urea"
    lines = (entry / "published.res").read_text().splitlines()
    head = lines[: next(k for k, line in enumerate(lines) if line.startswith("FVAR"))]
    ins = tmp_path / "urea.ins"
    ins.write_text("\n".join([*head, "TWIN", "BASF 0.2", "HKLF 4", "END", ""]))
    hkl = tmp_path / "urea.hkl"
    hkl.write_bytes((entry / "data.hkl").read_bytes())
    out = tmp_path / "out"
    assert main(["solve", str(ins), str(hkl), "--quiet", "--out", str(out)]) == 0
    report = json.loads((tmp_path / "out.json").read_text())
    (fraction,) = report["refinement"]["twin_fractions"]
    assert 0.0 <= fraction < 0.05 and report["refinement"]["r1"] < 0.04
    written = load(tmp_path / "out.res").reflection_format().twin
    assert written.matrix == ((-1, 0, 0), (0, -1, 0), (0, 0, -1)) and written.n == 2
    assert written.fractions == pytest.approx((fraction,), abs=1e-5)
    # the CIF: a 2-component inversion twin whose BASF is the Flack parameter, as SHELXL
    # writes it ("uses the BASF parameter and its esd for the Flack parameter in the .cif")
    import gemmi

    fractions, sus, matrices, details = _cif_twin(tmp_path / "out.cif")
    assert fractions[1] == pytest.approx(fraction, abs=1e-4) and sum(fractions) == pytest.approx(1)
    assert matrices[1] == INVERSION
    assert details.startswith("Refined as a 2-component inversion twin.")
    held = "individual 2 was held" in details
    assert (sus[1] > 0) != held  # a fraction held at the bound 0 is given without su
    block = gemmi.cif.read(str(tmp_path / "out.cif")).sole_block()
    flack = block.find_value("_refine_ls_abs_structure_Flack")
    assert flack == block.find_values("_twin_individual_mass_fraction_refined")[1]
