"""A riding H's Uiso stays its pivot's Ueq x 1.2 (-1.2 in the .ins) whatever constraints the
pivot carries (smtbx builds constraints in list order: an EADP built after the riding H left it
on a copy of the pivot's U), and no refined atom is left with non-positive definite Uij unsaid.
Sucrose (cctbx's model, simulated data, crystalx_core.demo); FC_SH2185, where H17B under EADP
C17A C17B was written with Uiso -0.047."""

import pytest
from cctbx import adptbx, uctbx

from crystalx_core.crystallography.convert import from_xray_structure
from crystalx_core.crystallography.refine import refine, refinement_instructions
from crystalx_core.demo import WAVELENGTH, demo_model, simulate_reflections
from crystalx_core.io.hkl import Reflections
from crystalx_core.riding import ride_existing_hydrogens

from .conftest import BENCHMARK


def sucrose(flat: str = ""):
    """Sucrose with its H riding (AFIX from the geometry) and Fo² simulated to 0.8 Å; `flat`
    names an atom whose true Uij have a negative eigenvalue (data that no ellipsoid fits, as
    absorption or disorder give)."""
    xs = demo_model()
    for sc in xs.scatterers():
        if sc.label == flat:
            sc.u_star = adptbx.u_cart_as_u_star(xs.unit_cell(), (0.04, 0.03, -0.01, 0, 0, 0))
    truth = from_xray_structure(
        xs.deep_copy_scatterers(), sfac=["C", "H", "O"], wavelength=WAVELENGTH, title="sucrose"
    )
    indices, observed, sigmas = simulate_reflections(xs, 0.8, 3, 1e5)
    return ride_existing_hydrogens(truth).structure, Reflections(
        indices, observed, sigmas, None, "simulated.hkl"
    )


@pytest.fixture(scope="module")
def riding():
    return sucrose()


def refined(structure, reflections, *lines):
    result = refine(
        structure, reflections, anisotropic=True, instructions=refinement_instructions(lines)
    )
    return result, {site.label: site for site in result.structure.sites}


def test_an_h_rides_its_pivots_u_when_an_eadp_ties_the_pivot_to_an_atom_before_it(riding):
    """EADP C4 C3: C3 takes C4's Uij, and H31 must ride that U; built after the riding H, the
    EADP left H31 on a copy of C3's Uij that refined on its own (H31 at 1.42 Ueq(C3), six
    parameters more)."""
    structure, reflections = riding
    free, _ = refined(structure, reflections)
    tied, atoms = refined(structure, reflections, "EADP C4 C3")
    assert atoms["C3"].u_aniso == atoms["C4"].u_aniso
    assert atoms["H31"].u_iso == pytest.approx(1.2 * atoms["C3"].u_iso, rel=1e-9)
    assert tied.n_parameters == free.n_parameters - 6


def test_an_eadp_naming_riding_h_leaves_them_riding(riding):
    structure, reflections = riding
    _, atoms = refined(structure, reflections, "EADP C4 C3", "EADP H31 H41")
    assert atoms["H31"].u_iso == pytest.approx(1.2 * atoms["C3"].u_iso, rel=1e-9)
    assert atoms["H41"].u_iso == pytest.approx(1.2 * atoms["C4"].u_iso, rel=1e-9)


def test_an_atom_refined_non_positive_definite_is_said_as_shelxl_warns():
    """SHELXL keeps an NPD atom and warns; so does the job (the remedy, ISOR or isotropic, is
    the user's): the note names C7, whose true Uij no ellipsoid fits, and only C7."""
    structure, reflections = sucrose(flat="C7")
    result, atoms = refined(structure, reflections)
    assert not positive_definite(atoms["C7"], result.structure)
    npd = [n for n in result.notes if "not positive definite" in n]
    assert len(npd) == 1 and "C7;" in npd[0], result.notes
    others = [s for s in result.structure.sites if s.element in "CO" and s.label != "C7"]
    assert all(positive_definite(s, result.structure) for s in others)
    assert not refined(*sucrose())[0].notes


def positive_definite(site, structure) -> bool:
    u11, u22, u33, u23, u13, u12 = site.u_aniso
    cell = uctbx.unit_cell(structure.cell)
    return adptbx.is_positive_definite(adptbx.u_cif_as_u_cart(cell, (u11, u22, u33, u12, u13, u23)))


def test_sh2185s_minor_ring_h_rides_under_the_users_eadp(shared_data, tmp_path):
    """H17B (AFIX 43 on C17B, PART 2; EADP C17A C17B) is written -1.2 and holds 1.2 Ueq(C17B)."""
    from crystalx_core.cli import EXIT_OK, main
    from crystalx_core.io.shelx_read import read_shelx

    folder = BENCHMARK / "FC_SH2185"
    args = ["assign", str(folder / "published.res"), "--hkl", str(folder / "data.hkl")]
    assert main([*args, "--quiet", "--json", "--out", str(tmp_path)]) == EXIT_OK
    res = tmp_path / "published_crystalx.res"
    h17b = next(line for line in res.read_text().splitlines() if line.startswith("H17B "))
    assert h17b.split()[-1] == "-1.20000", h17b
    atoms = {s.label: s for s in read_shelx(res).to_structure().sites}
    assert atoms["H17B"].u_iso == pytest.approx(1.2 * atoms["C17B"].u_iso, rel=1e-3)
