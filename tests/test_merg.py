"""SHELXL's MERG n, honoured as SHELXL reads it (SHELXL-97 manual, ch. 7, MERG,
msg.ucsf.edu/local/programs/shelxl/ch_07.html): MERG 2, the default, merges equivalents and
Friedel opposites only in a centrosymmetric group; MERG 3 merges Friedel opposites in every
group; MERG 4 does so too and sets f'' to zero; MERG 0 merges nothing (the manual's HKLF page:
HKLF 2 "switches off the merging of equivalent reflections BEFORE l.s. refinement (i.e. sets
MERG 0)", ccp14.ac.uk/ccp/web-mirrors/paulboyle/shelxl/HKLF.html). Input: the benchmark's real
FC_sucrose (P2₁, non-centric; 119065 observations, 18563 unique) .res and .hkl, with a MERG
line written before HKLF as a user writes it."""

import numpy as np
import pytest

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.io import load

from .conftest import BENCHMARK

FOLDER = BENCHMARK / "FC_sucrose"


def _loaded(tmp_path, merg: str):
    text = (FOLDER / "published.res").read_text()
    res = tmp_path / "x.res"
    res.write_text(text.replace("\nHKLF 4", f"\n{merg}HKLF 4", 1))
    return load(res)


def _merged(tmp_path, merg: str):
    loaded = _loaded(tmp_path, merg)
    raw = loaded.read(FOLDER / "data.hkl")
    return raw, raw.merged(loaded.structure.cell, loaded.structure.symops)


def test_merg_2_is_the_default_and_keeps_friedel_opposites_apart(shared_data, tmp_path):
    _, default = _merged(tmp_path, "")
    _, two = _merged(tmp_path, "MERG 2\n")
    _, three = _merged(tmp_path, "MERG 3\n")
    assert len(default) == len(two)
    assert np.array_equal(default.indices, two.indices)
    assert len(three) < len(two)  # Friedel opposites merged: fewer unique reflections
    assert not any("MERG" in note for note in two.notes)


@pytest.mark.parametrize("code", [3, 4])
def test_merg_3_and_4_merge_friedel_opposites_in_a_non_centric_group(shared_data, tmp_path, code):
    """Main merged as MERG 2 whatever the file said: Friedel opposites apart in P2₁."""
    _, merged = _merged(tmp_path, f"MERG {code}\n")
    _, two = _merged(tmp_path, "")
    assert merged.laue is None and merged.merge == code
    assert np.array_equal(merged.indices, two.laue.indices)  # MERG 2's merge with mates together
    assert np.allclose(merged.intensities, two.laue.intensities)
    assert any(f"MERG {code}: Friedel opposites merged" in note for note in merged.notes)


def test_merg_0_refines_every_observation_as_read(shared_data, tmp_path):
    """MERG 0: the job keeps the observations (main merged them), the refinement's
    observations are all of them but the systematic absences, and a note says so."""
    from crystalx_core.crystallography.refine import _observations

    raw, kept = _merged(tmp_path, "MERG 0\n")
    _, merged = _merged(tmp_path, "")
    assert len(kept) == len(raw) > len(merged)
    structure = _loaded(tmp_path, "MERG 0\n").structure
    # the count MERG 2 refines: its merge less the systematic absences (18544, not the 18563
    # unique reflections main said, absences included)
    refined_under_2 = _observations(structure, merged, centric=False).indices.size()
    assert refined_under_2 < len(merged)
    said = f"MERG 0: the {len(raw)} observations refined as read, each on its own (MERG 2 would "
    assert f"{said}merge them to {refined_under_2})" in " ".join(kept.notes)
    observations = _observations(structure, kept, centric=False)
    absent = kept.to_miller_array(structure.cell, structure.symops).sys_absent_flags().data()
    assert observations.indices.size() == len(raw) - absent.count(True)


def test_merg_4_sets_f_double_prime_to_zero():
    """MERG 4's f'' of zero, for every atom; MERG 2 keeps Sasaki's f'' (O at Mo Kα: 0.006)."""
    from cctbx import crystal, xray

    from crystalx_core.crystallography.convert import set_dispersion

    def structure():
        symmetry = crystal.symmetry((10, 10, 10, 90, 90, 90), "P1")
        scatterers = [xray.scatterer("O1", (0.1, 0.2, 0.3), 0.02, scattering_type="O")]
        return xray.structure(crystal_symmetry=symmetry, scatterers=flex_scatterers(scatterers))

    def flex_scatterers(items):
        from cctbx.array_family import flex

        return flex.xray_scatterer(items)

    two, four = structure(), structure()
    set_dispersion(two, 0.71073)
    set_dispersion(four, 0.71073, merge=4)
    assert two.scatterers()[0].fdp > 0
    assert four.scatterers()[0].fdp == 0
    assert four.scatterers()[0].fp == two.scatterers()[0].fp


def test_an_unknown_merg_code_merges_as_merg_2_with_a_note(shared_data, tmp_path):
    _, merged = _merged(tmp_path, "MERG 7\n")
    _, two = _merged(tmp_path, "")
    assert np.array_equal(merged.indices, two.indices)
    assert any("MERG 7 is none of SHELXL's" in note for note in merged.notes)


def _anomalous_p21(merge: int):
    """A non-centric (P2₁) model with an anomalous scatterer (Br at Mo Kα: f'' 2.5 e) and
    its simulated Fo², Friedel mates apart, read under MERG `merge`."""
    from dataclasses import replace

    from crystalx_core.crystallography.convert import to_xray_structure
    from crystalx_core.demo import simulate_reflections
    from crystalx_core.io.hkl import Reflections
    from crystalx_core.structure import Site, Structure

    model = Structure(
        cell=(6.0, 7.0, 8.0, 90.0, 101.0, 90.0),
        symops=["x,y,z", "-x,y+1/2,-z"],
        sites=[
            Site("BR1", "Br", (0.11, 0.25, 0.17), u_iso=0.03),
            Site("C1", "C", (0.32, 0.31, 0.29), u_iso=0.03),
            Site("O1", "O", (0.41, 0.52, 0.07), u_iso=0.03),
        ],
        sfac=["C", "O", "Br"],
        unit=[2, 2, 2],
    )
    indices, observed, sigmas = simulate_reflections(to_xray_structure(model), 0.9, 1, 1e4)
    reflections = Reflections(indices, observed, sigmas, None, "x.hkl")
    return model, replace(reflections, merge=merge)


def _reference_fc(model, f_sq, merge: int):
    """Fc of `model`'s atoms at the indices of cctbx array `f_sq`, f'' as MERG `merge` sets."""
    import numpy as np

    from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure

    xs = to_xray_structure(model)
    set_dispersion(xs, model.wavelength, model.dispersion, merge)
    return np.array(f_sq.structure_factors_from_scatterers(xs, algorithm="direct").f_calc().data())


@pytest.mark.parametrize("merge", [2, 4])
def test_the_element_fits_take_f_double_prime_as_the_merg_code_says(merge):
    """element_evidence's fits compute Fc with f'' zero under MERG 4, as refinement does (main
    kept f'' there), and with it under MERG 2."""
    from crystalx_core.element_evidence import FitData, _structure_factors

    model, reflections = _anomalous_p21(merge)
    data = FitData.of(model, reflections)
    assert data.merge == merge
    fc = _structure_factors(model, data, model.sites)
    assert np.allclose(fc, _reference_fc(model, data.f_sq, merge), rtol=1e-9, atol=1e-9)
    other = _reference_fc(model, data.f_sq, 6 - merge)  # the other code's f''
    assert not np.allclose(np.abs(fc), np.abs(other), rtol=1e-3)


@pytest.mark.parametrize("merge", [2, 4])
def test_the_hydrogen_fits_take_f_double_prime_as_the_merg_code_says(merge):
    """hydrogen_data's Fc of the non-H atoms: f'' zero under MERG 4 (main kept it)."""
    from crystalx_core.hydrogen_data import HydrogenFits

    model, reflections = _anomalous_p21(merge)
    fits = HydrogenFits(model, reflections)
    expected = _reference_fc(model, fits.f_sq, merge)
    assert np.allclose(fits.f_heavy, expected, rtol=1e-9, atol=1e-9)
    other = _reference_fc(model, fits.f_sq, 6 - merge)  # the other code's f''
    assert not np.allclose(np.abs(fits.f_heavy), np.abs(other), rtol=1e-3)


def test_an_inversion_twins_domains_scatter_alike_under_merg_4():
    """TWIN (the inversion law): the second domain's Fc² is Fc²(−h). Under MERG 4 f'' is zero, so
    Fc²(h) == Fc²(−h) (main kept f'' and the two differed); under MERG 2 they differ."""
    from dataclasses import replace

    from crystalx_core.crystallography.twin import _calculated
    from crystalx_core.io.hkl import Twin

    twin = Twin(fractions=(0.3,))
    model, four = _anomalous_p21(4)
    calc, own, _ = _calculated(model, replace(four, twin=twin), twin)
    assert np.allclose(calc[:, 0], calc[:, 1], rtol=1e-9)
    assert np.array_equal(own, calc[:, 0])
    _, two = _anomalous_p21(2)
    calc, _, _ = _calculated(model, replace(two, twin=twin), twin)
    assert not np.allclose(calc[:, 0], calc[:, 1], rtol=1e-3)
