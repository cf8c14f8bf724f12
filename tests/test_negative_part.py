"""A negative PART, as SHELXL reads it: no special-position constraint and no bond to the
part's own symmetry images. A solvent disordered about a symmetry element keeps its atoms
where they are through refinement, and their images are no hydrogen-bond partners (real data:
FC_1979688's methanol, PART -1 at half occupancy beside a two-fold axis)."""

import numpy as np
import pytest

from crystalx_core.crystallography.compare import hydrogens_per_atom
from crystalx_core.crystallography.convert import to_xray_structure
from crystalx_core.crystallography.maps import difference_density
from crystalx_core.crystallography.refine import refine
from crystalx_core.elements import is_hydrogen
from crystalx_core.io.hkl import read_hkl
from crystalx_core.io.shelx_read import read_shelx
from crystalx_core.riding import add_riding_hydrogens
from crystalx_core.structure import Site, Structure

from .conftest import BENCHMARK


def _beside_axis(part: int, x: float) -> Structure:
    """One half-occupied C in P2 (b unique), x·10 Å from the two-fold axis."""
    site = Site("C1", "C", (x, 0.3, 0.0), occupancy=0.5, part=part)
    return Structure(
        cell=(10.0, 10.0, 10.0, 90.0, 90.0, 90.0),
        symops=["x,y,z", "-x,y,-z"],
        sites=[site],
        sfac=["C"],
        unit=[1.0],
    )


def test_a_negative_parts_atom_beside_an_axis_stays_there_in_cctbx():
    """0.2 Å off the axis, 0.4 Å from its image: cctbx's default (0.5 Å) puts any site on the
    axis, SHELXL a negative PART's atom only where it already is on it."""
    moved = to_xray_structure(_beside_axis(0, 0.02))
    assert moved.site_symmetry_table().is_special_position(0)
    assert moved.scatterers()[0].site[0] == pytest.approx(0.0)
    kept = to_xray_structure(_beside_axis(-1, 0.02))
    assert not kept.site_symmetry_table().is_special_position(0)
    assert kept.scatterers()[0].site == pytest.approx((0.02, 0.3, 0.0))
    assert to_xray_structure(_beside_axis(-1, 0.0)).site_symmetry_table().is_special_position(0)


def _site(structure, label):
    return next(i for i, s in enumerate(structure.sites) if s.label == label)


def _from_image(structure, i) -> float:
    """Å from site i to its nearest image by another operator of the space group."""
    frac = np.asarray(structure.sites[i].frac)
    gaps = []
    for rotation, translation in structure.symmetry_matrices()[1:]:
        step = rotation @ frac + translation - frac
        gaps.append(np.linalg.norm(structure.orthogonalisation @ (step - np.round(step))))
    return min(gaps)


@pytest.fixture(scope="module")
def methanol(shared_data):
    """(published model, its non-H atoms refined without H, their Fo − Fc map)."""
    folder = BENCHMARK / "FC_1979688"
    published = read_shelx(folder / "published.res").to_structure()
    heavy = published.with_sites([s for s in published.sites if not is_hydrogen(s.element)])
    reflections = read_hkl(folder / "data.hkl")
    model = refine(heavy, reflections, anisotropic=True).structure
    return published, model, difference_density(model, reflections)


def test_refinement_keeps_a_methanol_disordered_about_a_twofold_axis(methanol):
    """The published C39 stands 0.49 Å from its image; moved onto the axis it made O13–C39 a
    1.24 Å C=O, and the hydrogen model called O13 bare (published: an OH)."""
    published, model, _ = methanol
    c39, o13 = _site(model, "C39"), _site(model, "O13")
    assert _from_image(published, _site(published, "C39")) == pytest.approx(0.49, abs=0.01)
    assert _from_image(model, c39) > 0.4
    gap = model.cartesian(model.sites[c39].frac) - model.cartesian(model.sites[o13].frac)
    assert 1.35 < np.linalg.norm(gap) < 1.50


def test_a_negative_parts_own_image_is_no_hydrogen_bond_acceptor(methanol):
    """O13 lies 2.17 Å from its own image, the other orientation of the same methanol: no
    hydrogen bond. Its H rides (AFIX 147, turned into the map) near the published H13A."""
    published, model, density = methanol
    counts = hydrogens_per_atom(published)
    plan = add_riding_hydrogens(
        model, {i: counts.get(s.label, 0) for i, s in enumerate(model.sites)}, density=density
    )
    o13 = _site(model, "O13")
    assert "hydrogen bond" not in plan.notes.get(o13, "")
    assert plan.codes[o13] == 147
    (h,) = [plan.structure.sites[k] for k in plan.groups[o13]]
    h13a = published.sites[_site(published, "H13A")]
    gap = published.cartesian(h.frac) - published.cartesian(h13a.frac)
    assert np.linalg.norm(gap) < 0.3


def test_the_model_counts_the_methanols_h_on_the_refined_model(methanol):
    """The hydrogen model's count for O13 on the refined geometry: one H, as published."""
    from crystalx_core.assign.model import model_h_counts

    published, model, _ = methanol
    counts = model_h_counts(model)
    assert counts[_site(model, "O13")][0] == hydrogens_per_atom(published)["O13"] == 1


def test_the_published_methanols_riding_groups_build(shared_data):
    """smtbx's bond table, built without the negative PART's exclusions, bonded C39 to its own
    image 0.49 Å away: the O13 and C39 riding groups failed ('bad connectivity') and their H
    were held fixed. With the exclusions every group rides."""
    folder = BENCHMARK / "FC_1979688"
    published = read_shelx(folder / "published.res").to_structure()
    result = refine(published, read_hkl(folder / "data.hkl"), anisotropic=True)
    assert result.fixed_hydrogens == {}


PARTS = """TITL parts
CELL 0.71073 10.0 11.0 12.0 90.0 100.0 90.0
ZERR 2 0.001 0.001 0.001 0 0.01 0
LATT -1
SYMM -X,Y,-Z
SFAC C O
UNIT 12 4
FVAR 1.0 0.6
C1 1 0.1 0.2 0.3 11.0 0.05
PART 1 21
C2 1 0.3 0.2 0.3 21.0 0.05
PART 2 -21
C3 1 0.32 0.25 0.3 -21.0 0.05
PART 0
C4 1 0.0 0.4 0.0 10.5 0.05
C5 1 0.02 0.5 0.0 11.0 0.05
PART -1
O1 1 0.6 0.6 0.6 10.5 0.05
C6 1 0.0 0.7 0.0 10.5 0.05
PART 0
HKLF 4
END
"""


def test_the_refinement_model_is_iotbx_s_but_for_a_negative_parts_special_positions():
    """refine._refinement_model repeats iotbx.shelx.parse_smtbx_refinement_model's parser chain
    with its own builder: the same sites, special positions, conformer and symmetry-exclusion
    indices for PART 0 (C5, 0.4 Å from its image, moved onto the axis), PART n, and a negative
    PART's atoms off any symmetry element or on one (C6); only a negative PART's atom near an
    element (none here) would differ."""
    import io

    from iotbx.shelx import parse_smtbx_refinement_model

    from crystalx_core.crystallography.refine import _refinement_model

    ours = _refinement_model(PARTS)
    theirs = parse_smtbx_refinement_model(file=io.StringIO(PARTS), strictly_shelxl=False)
    a, b = ours.structure, theirs.structure
    assert [s.label for s in a.scatterers()] == [s.label for s in b.scatterers()]
    assert list(a.sites_frac().as_double()) == pytest.approx(list(b.sites_frac().as_double()))
    special = list(a.site_symmetry_table().special_position_indices())
    assert special == list(b.site_symmetry_table().special_position_indices()) == [3, 4, 6]
    assert list(ours.conformer_indices) == list(theirs.conformer_indices) == [0, 1, 2, 0, 0, 0, 0]
    assert list(ours.sym_excl_indices) == list(theirs.sym_excl_indices)
    assert list(ours.sym_excl_indices) == [0, 0, 0, 0, 0, 1, 1]
