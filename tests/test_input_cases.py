"""Jobs on small files made in the image of real ones that were refused or misread: atoms on
special positions (NaCl, CaF2, CsSnCl3), reflections with sigma 0.00 and -1.00, a
placeholder UNIT."""

import json
from dataclasses import replace

import pytest
from cctbx import sgtbx

from crystalx_core.cli import main
from crystalx_core.contents import checked_contents, estimated_unit, unit_problem
from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure
from crystalx_core.demo import simulate_reflections
from crystalx_core.io.hkl import hkl_text
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.io.shelx_write import new_ins_text
from crystalx_core.structure import Site, Structure
from crystalx_core.symmetry import full_operator_list

CUBIC = {  # name: (space group, a, sites (label, element, xyz), SFAC, UNIT)
    "nacl": (
        "F m -3 m",
        5.64,
        [("Na1", "Na", (0, 0, 0)), ("Cl1", "Cl", (0.5, 0.5, 0.5))],
        ["Na", "Cl"],
        [4, 4],
    ),
    "caf2": (
        "F m -3 m",
        5.463,
        [("Ca1", "Ca", (0, 0, 0)), ("F1", "F", (0.25, 0.25, 0.25))],
        ["Ca", "F"],
        [4, 8],
    ),
    "cssncl3": (
        "P m -3 m",
        5.56,
        [("Cs1", "Cs", (0.5, 0.5, 0.5)), ("Sn1", "Sn", (0, 0, 0)), ("Cl1", "Cl", (0.5, 0, 0))],
        ["Cs", "Sn", "Cl"],
        [1, 1, 3],
    ),
}


def _cubic(name: str) -> Structure:
    group, a, sites, sfac, unit = CUBIC[name]
    return Structure(
        cell=(a, a, a, 90, 90, 90),
        symops=full_operator_list(sgtbx.space_group_info(group).group()),
        sites=[Site(label, element, xyz, u_iso=0.012) for label, element, xyz in sites],
        sfac=sfac,
        unit=unit,
        title=name,
    )


def _write_job(tmp_path, structure: Structure) -> tuple:
    """x.res (the model) and x.hkl (Fo² simulated from it with counting noise)."""
    xs = to_xray_structure(structure)
    set_dispersion(xs, structure.wavelength)
    indices, observed, sigmas = simulate_reflections(xs, d_min=0.7)
    res, hkl = tmp_path / f"{structure.title}.res", tmp_path / f"{structure.title}.hkl"
    res.write_text(new_ins_text(structure))
    hkl.write_text(hkl_text(indices, observed, sigmas))
    return res, hkl


@pytest.mark.parametrize("name", sorted(CUBIC))
def test_atoms_on_special_positions_pass_the_density_check(name):
    """Counted on general positions, NaCl's 2 sites fill 384 places in 179 Å³; by multiplicity 8."""
    from crystalx_core.assign import assign

    structure = _cubic(name)
    assignment = assign(structure, "baseline")
    assert [s.element for s in assignment.sites] == [site.element for site in structure.sites]


@pytest.mark.parametrize("name", ["nacl", "caf2"])
def test_assign_with_reflections_completes_on_special_positions(tmp_path, capsys, name):
    res, hkl = _write_job(tmp_path, _cubic(name))
    assert (
        main(["assign", str(res), "--hkl", str(hkl), "--quiet", "--json", "--method", "baseline"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["refinement"]["r1"] < 0.05


def test_assign_reads_sigma_zero_and_leaves_out_negative_sigma(tmp_path, capsys):
    """One line at 0.00 (weak, kept) and -1.00 -1.00 placeholders (left out), as in real files."""
    res, hkl = _write_job(tmp_path, _cubic("nacl"))
    lines = hkl.read_text().splitlines()
    lines[3] = lines[3][:20] + "    0.00"
    lines[4:4] = ["   9   9   9   -1.00   -1.00", "   9   9   7   -1.00   -1.00"]
    hkl.write_text("\n".join(lines) + "\n")
    assert (
        main(["assign", str(res), "--hkl", str(hkl), "--quiet", "--json", "--method", "baseline"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["notes"][:2] == [
        "2 reflection(s) with a negative sigma left out, as SHELXL does (the first on line 5)",
        "1 reflection(s) with sigma 0.00 kept, weighted as the file's smallest sigma (10.44)",
    ]
    assert report["refinement"]["r1"] < 0.05


def test_a_twin_law_the_crystal_already_has_is_said_and_not_refined(tmp_path, capsys):
    """NaCl (Fm-3m) given TWIN 0 1 0 1 0 0 0 0 -1 2, a symmetry of its point group: the second
    component diffracts as the first, so its BASF is kept as given and the note says why
    (least squares would meet a singular matrix); the job refines as untwinned data would."""
    res, hkl = _write_job(tmp_path, _cubic("nacl"))
    res.write_text(res.read_text().replace("HKLF 4", "TWIN 0 1 0 1 0 0 0 0 -1 2\nBASF 0.3\nHKLF 4"))
    assert main(["assign", str(res), "--hkl", str(hkl), "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["refinement"]["twin_fractions"] == [0.3]
    assert any("component 2 (BASF 1) diffracts as the first" in n for n in report["notes"])
    assert report["refinement"]["r1"] < 0.05


# --- placeholder UNIT ----------------------------------------------------------------------


def test_real_units_are_plausible(shared_data):
    from tests.conftest import BENCHMARK

    for path in sorted(BENCHMARK.glob("*/published.res")):
        assert unit_problem(read_shelx(path).to_structure()) is None, path


def test_placeholder_unit_is_named_and_replaced_by_an_estimate():
    sucrose = Structure(
        cell=(7.76, 8.7, 10.86, 90, 102.9, 90),
        symops=["x,y,z", "-x,y+1/2,-z"],
        sfac=["C", "H", "O"],
        unit=[24, 44, 22],
    )
    assert unit_problem(sucrose) is None and checked_contents(sucrose) == (sucrose, None)
    placeholder = replace(sucrose, unit=[1, 2, 3])
    checked, note = checked_contents(placeholder)
    assert note == (
        "UNIT 1 2 3 gives 4 non-H atoms for a cell of 715 Å³, 179 Å³ each (8–45 expected, about 18 "
        "in "
        "organic crystals): a placeholder? The job estimates the contents from the cell instead "
        "(C 32 H 38 O 8 per cell)"
    )
    assert checked.unit == [32, 38, 8]
    metal = replace(sucrose, sfac=["C", "H", "N", "O", "Cu"], unit=[1, 1, 0, 0, 1])
    assert estimated_unit(metal) == [38, 42, 0, 0, 2]  # one Cu per asymmetric unit, N and O absent


def test_solve_with_a_placeholder_unit_finds_the_whole_molecule(tmp_path):
    """Sucrose (23 non-H atoms) with UNIT 1 2 3: UNIT alone gave 8 atoms and R1 0.44;
    from the estimate all 23 are found (21 with the right element) and R1 is 0.06."""
    from crystalx_core.crystallography.compare import match_sites
    from crystalx_core.demo import write_demo_inputs
    from crystalx_core.io.hkl import read_hkl
    from crystalx_core.pipeline import solve_job

    reference, ins, hkl = write_demo_inputs(tmp_path)
    structure = replace(read_shelx(ins).to_structure(), unit=[1, 2, 3])
    result = solve_job(structure, read_hkl(hkl), cycles=5)
    assert result.notes[0].startswith("UNIT 1 2 3 gives 4 non-H atoms for a cell of 722 Å³")
    found = match_sites(
        reference.with_sites([s for s in reference.sites if s.element != "H"]),
        result.structure.with_sites([s for s in result.structure.sites if s.element != "H"]),
    )
    assert found.n_found >= 22 and found.n_right_element >= 20
    assert result.final.r1 < 0.08


# --- mixed sites (EXYZ/EADP) -----------------------------------------------------------------

MIXED = (
    "TITL mixed\nCELL 0.71073 10 11 12 90 95 90\nZERR 4 0 0 0 0 0 0\nLATT 1\nSYMM -X, 1/2+Y, "
    "1/2-Z\n"
    "SFAC C H N O\nUNIT 8 8 2 4\nEXYZ C2 N2\nEADP C2 N2\nFVAR 1.0 0.7\n"
    "C1 1 0.1 0.2 0.3 11.0 0.03\nC2 1 0.2 0.25 0.3 21.0 0.03\nN2 3 0.2 0.25 0.3 -21.0 0.03\n"
    "O1 4 0.3 0.2 0.35 11.0 0.04\nHKLF 4\nEND\n"
)


def test_mixed_site_is_read_as_one_site_and_written_back_as_it_was():
    from crystalx_core.io.shelx_read import parse_shelx
    from crystalx_core.io.shelx_write import render_with_sites

    shelx = parse_shelx(MIXED, "x.res")
    structure = shelx.to_structure()
    assert [s.label for s in structure.sites] == ["C1", "C2", "O1"]
    c2 = structure.sites[1]
    assert [(a.label, a.element, a.frac) for a in c2.mixed] == [("N2", "N", (0.2, 0.25, 0.3))]
    assert (c2.occupancy, c2.mixed[0].occupancy) == pytest.approx((0.7, 0.3))
    rendered = render_with_sites(
        shelx, structure
    ).splitlines()  # free-variable codes and file order kept
    assert rendered[10:14] == [
        "C1    1    0.100000    0.200000    0.300000    11.00000    0.03000",
        "C2    1    0.200000    0.250000    0.300000    21.00000    0.03000",
        "N2    3    0.200000    0.250000    0.300000   -21.00000    0.03000",
        "O1    4    0.300000    0.200000    0.350000    11.00000    0.04000",
    ]
    assert rendered[:10] == MIXED.splitlines()[:10] and rendered[14:] == ["HKLF 4", "END"]
    written = new_ins_text(structure).splitlines()
    n2, c2_line = (
        next(k for k, line in enumerate(written) if line.startswith(label))
        for label in ("N2", "C2")
    )
    assert n2 == c2_line - 1  # before its site, so that riding H after the site still ride on it


def _mixed_sucrose(tmp_path):
    """Sucrose with its O1 site shared by O (0.6) and S (0.4), reflections simulated from it."""
    from crystalx_core.crystallography.convert import from_xray_structure
    from crystalx_core.demo import demo_model

    reference = from_xray_structure(demo_model(), sfac=["C", "H", "O", "S"], title="mixed")
    sites = []
    for site in reference.sites:
        if site.label == "O1":
            sites += [
                replace(site, occupancy=0.6, u_iso=0.03, u_aniso=None),
                replace(site, label="S1", element="S", occupancy=0.4, u_iso=0.03, u_aniso=None),
            ]
        else:
            sites.append(site)
    truth = replace(reference, sites=sites, unit=[24, 44, 22, 0.8])
    xs = to_xray_structure(truth)
    set_dispersion(xs, truth.wavelength)
    indices, observed, sigmas = simulate_reflections(xs)
    res, hkl = tmp_path / "mixed.res", tmp_path / "mixed.hkl"
    text = new_ins_text(truth.with_sites([s for s in truth.sites if s.element != "H"]))
    res.write_text(text.replace("L.S. 10", "EXYZ O1 S1\nEADP O1 S1\nL.S. 10"))
    hkl.write_text(hkl_text(indices, observed, sigmas))
    return res, hkl


def test_assign_refines_a_mixed_site_together(tmp_path, capsys):
    """Refined apart, O1/S1 on one position went their own ways and the S went to C12 (R1 0.09);
    kept together (shared position and U) and as given, R1 is 0.04. The file's own EXYZ/EADP
    for the pair is the mixed site's constraint already: smtbx warned (on the user's terminal)
    of constraining the partner twice."""
    import warnings

    from smtbx.refinement.constraints import ConflictingConstraintWarning

    res, hkl = _mixed_sucrose(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        args = ["assign", str(res), "--hkl", str(hkl), "--quiet", "--json", "--cycles", "5"]
        assert main(args) == 0
    assert not [w for w in caught if issubclass(w.category, ConflictingConstraintWarning)]
    report = json.loads(capsys.readouterr().out)
    assert report["refinement"]["r1"] < 0.05
    assert {a["new_label"]: a["element"] for a in report["atoms"]}["O1"] == "O"
    assert "S" not in {a["element"] for a in report["atoms"]}  # no other site took the S
    out = read_shelx(tmp_path / "mixed_crystalx.res")
    o1, s1 = (next(a for a in out.atoms if a.site.label == label) for label in ("O1", "S1"))
    assert o1.site.frac == s1.site.frac and o1.site.u_aniso == s1.site.u_aniso
    assert (o1.site.occupancy, s1.site.occupancy) == pytest.approx((0.6, 0.4))
    assert "EXYZ O1 S1" in out.render()


def test_audit_refines_the_embedded_reflections_of_a_twin(shared_data, tmp_path, capsys):
    """The CIF's own .res says TWIN: its _shelx_hkl_file is refined as twinned data (urea's
    light atoms tell the hands apart little: only that the twin was refined is asked)."""
    from tests.conftest import BENCHMARK

    text = (BENCHMARK / "XH_urea" / "model.cif").read_text()
    cif = tmp_path / "twin.cif"
    cif.write_text(text.replace("\nHKLF 4", "\nTWIN\nHKLF 4", 1))
    assert main(["audit", str(cif), "--quiet", "--json"]) == 0
    out = capsys.readouterr().out
    assert "twinned data (TWIN -1 0 0 0 -1 0 0 0 -1 2)" in out


@pytest.mark.parametrize("command", ["assign", "batch"])
def test_a_cif_whose_res_says_twin_refines_a_separate_hkl_as_twinned(
    shared_data, tmp_path, capsys, command
):
    """Reflections given beside the CIF are read as its own .res says (TWIN: twinned), as
    for a .res; a batch refines them the same way."""
    from crystalx_core.io import load
    from tests.conftest import BENCHMARK

    published = BENCHMARK / "XH_urea" / "model.cif"
    cif, hkl = tmp_path / "twin.cif", tmp_path / "twin.hkl"
    cif.write_text(published.read_text().replace("\nHKLF 4", "\nTWIN\nHKLF 4", 1))
    hkl.write_text(load(published).hkl_text)
    args = ["--quiet", "--method", "baseline"]
    if command == "assign":
        assert (
            main(["assign", str(cif), "--hkl", str(hkl), *args, "--out", str(tmp_path / "a")]) == 0
        )
        report = json.loads((tmp_path / "a.json").read_text())
    else:
        assert main(["batch", str(tmp_path), *args, "--json"]) == 0
        [row] = json.loads(capsys.readouterr().out)["rows"]
        assert row["status"] == "ok" and row["note"] == ""
        report = json.loads((tmp_path / "twin_crystalx.json").read_text())
    assert len(report["refinement"]["twin_fractions"]) == 1
    assert any(n.startswith("twinned data (TWIN -1 0 0 0 -1 0 0 0 -1 2)") for n in report["notes"])


def test_mixed_site_on_a_special_position_refines_together():
    """Cl/Br sharing NaCl's anion site (m-3m): one position, one U, R1 as for any ordered site."""
    from crystalx_core.crystallography.refine import refine
    from crystalx_core.io.hkl import reflections_from_text
    from crystalx_core.structure import grouped_mixed_sites

    truth = replace(_cubic("nacl"), unit=[4, 2.8, 1.2], sfac=["Na", "Cl", "Br"])
    truth.sites = grouped_mixed_sites(
        [
            truth.sites[0],
            replace(truth.sites[1], occupancy=0.7, u_iso=0.015),
            Site("Br1", "Br", (0.5, 0.5, 0.5), occupancy=0.3, u_iso=0.015),
        ]
    )
    xs = to_xray_structure(truth)
    set_dispersion(xs, truth.wavelength)
    reflections = reflections_from_text(hkl_text(*simulate_reflections(xs, d_min=0.7)))
    start = truth.with_sites(
        [
            replace(s, u_iso=0.03, mixed=tuple(replace(m, u_iso=0.03) for m in s.mixed))
            for s in truth.sites
        ]
    )
    result = refine(start, reflections, anisotropic=True)
    cl1 = result.structure.sites[1]
    assert [m.label for m in cl1.mixed] == ["Br1"] and cl1.mixed[0].u_aniso == cl1.u_aniso
    assert cl1.u_iso == pytest.approx(0.015, abs=0.002) and result.r1 < 0.03
