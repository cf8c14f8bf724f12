"""H atoms given with Uij (Hirshfeld atom refinement, neutron data: NoSpherA2's CIFs of
../shared/data/benchmark) keep them where the H itself is kept: refined as anisotropic atoms
and written with their Uij, and moved to another image with the Uij turned as the atom is."""

from dataclasses import replace

import numpy as np
import pytest
from cctbx import adptbx, sgtbx, uctbx
from tests.conftest import BENCHMARK

from crystalx_core.crystallography.convert import to_xray_structure, u_star
from crystalx_core.crystallography.refine import refine
from crystalx_core.io.cif import read_cif
from crystalx_core.io.hkl import read_hkl
from crystalx_core.riding import _beside

pytestmark = pytest.mark.usefixtures("shared_data")


def test_h_refined_with_uij_keeps_them():
    """N2_epoxide (C2H4O, HAR in NoSpherA2): its four H are given with Uij; refined as given
    (anisotropic), they come back with their refined Uij, not their Ueq alone: ellipsoids
    (positive definite) of about the published size (an IAM refinement here, not HAR)."""
    structure = read_cif(BENCHMARK / "N2_epoxide" / "model.cif").structure
    given = {s.label: s for s in structure.sites if s.element == "H"}
    assert len(given) == 4 and all(s.u_aniso is not None for s in given.values())
    result = refine(structure, read_hkl(BENCHMARK / "N2_epoxide" / "data.hkl"), 3, True)
    refined = {s.label: s for s in result.structure.sites if s.element == "H"}
    cell = uctbx.unit_cell(structure.cell)
    assert refined.keys() == given.keys()
    for label, site in refined.items():
        assert site.u_aniso is not None, label
        assert site.u_aniso != pytest.approx(given[label].u_aniso, abs=1e-6)  # refined
        assert adptbx.is_positive_definite(u_star(site.u_aniso, cell)), label
        assert 0.5 < site.u_iso / given[label].u_iso < 2, label


def test_an_h_moved_to_another_image_turns_its_uij():
    """riding._beside moves an input H beside its pivot; its Uij go with the operator's
    rotation (U* = R U* R^T), as cctbx's expand_to_p1 turns them: N2_epoxide's H2a (P21/n,
    U12 0.017(4)) under each operator of the group and a lattice translation."""
    structure = read_cif(BENCHMARK / "N2_epoxide" / "model.cif").structure
    h = next(s for s in structure.sites if s.label == "H2a")
    one = replace(structure, sites=[h])
    p1 = to_xray_structure(one).expand_to_p1(sites_mod_positive=False)
    cell = p1.unit_cell()
    turned = 0
    for operator in [*structure.symops, "x+1,y-1,z"]:
        image = np.array(sgtbx.rt_mx(operator.replace(" ", "")) * h.frac)
        moved = _beside(structure, h, structure.cartesian(image))
        assert moved.frac == pytest.approx(image, abs=1e-9)
        want = min(
            p1.scatterers(),
            key=lambda sc: np.abs(((np.array(sc.site) - image) + 0.5) % 1 - 0.5).max(),
        )
        assert u_star(moved.u_aniso, cell) == pytest.approx(want.u_star, abs=1e-9), operator
        assert moved.u_iso == pytest.approx(h.u_iso)
        turned += moved.u_aniso != pytest.approx(h.u_aniso, abs=1e-6)
    assert turned == 2  # the two-fold screw and the glide flip U12 and U23
