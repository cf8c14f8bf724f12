"""Structure ↔ cctbx xray.structure, for the steps that hand our model to cctbx."""

from __future__ import annotations

from cctbx import adptbx, crystal, xray
from cctbx.eltbx import henke, sasaki

from crystalx_core.errors import InputError
from crystalx_core.structure import Site, Structure
from crystalx_core.symmetry import (
    full_operator_list,
    metric_problem,
    space_group_from_operators,
)


def crystal_symmetry(structure: Structure) -> crystal.symmetry:
    """cctbx's symmetry; a cell its space group cannot have (a = b for tetragonal, ...) is an
    InputError."""
    group = space_group_from_operators(structure.symops)
    problem = metric_problem(structure.cell, group)
    if problem:
        raise InputError(problem, structure.source or None)
    return crystal.symmetry(unit_cell=structure.cell, space_group=group)


# the anomalous-scattering tables, in the order tried: Sasaki's (0.1-2.89 Å) and Henke's
# (10 eV-30 keV, 0.41 Å and up)
DISPERSION_TABLES = (("sasaki", sasaki), ("henke", henke))


def set_dispersion(xs: xray.structure, wavelength: float) -> None:
    """f′ and f″ of every atom of `xs` at `wavelength` (Å), from the first table that covers it;
    none where no table does (electrons, 0.025 Å: far above every edge).

    Why not cctbx's set_inelastic_form_factors alone: outside its table it writes the table's
    "no value", −9999, as f′ and f″ of every non-H atom, which then scatters about −9999 e
    whatever its element; no refinement or count tells one element from another (carbamazepine
    at 0.025 Å refined to the same R1 to 10⁻⁶ with N2 as C, N or O)."""
    for name, table in DISPERSION_TABLES:
        if table.table("C").at_angstrom(wavelength).is_valid_fp():
            xs.set_inelastic_form_factors(wavelength, name)
            return


def to_xray_structure(structure: Structure) -> xray.structure:
    """Atoms only (peaks have no scattering type); Uij in SHELX order U11 U22 U33 U23 U13 U12."""
    symmetry = crystal_symmetry(structure)
    xs = xray.structure(crystal_symmetry=symmetry)
    for site in (atom for host in structure.atoms for atom in host.with_mixed):
        xs.add_scatterer(scatterer(site, symmetry.unit_cell()))
    return xs


def scatterer(site: Site, unit_cell) -> xray.scatterer:
    """One site as a cctbx scatterer: Uiso, or its Uij (SHELX order U11 U22 U33 U23 U13 U12)
    as u_star in `unit_cell`."""
    out = xray.scatterer(
        label=site.label,
        site=site.frac,
        u=site.u_iso,
        occupancy=site.occupancy,
        scattering_type=site.element,
    )
    if site.u_aniso is not None:
        u11, u22, u33, u23, u13, u12 = site.u_aniso
        out.u_star = adptbx.u_cif_as_u_star(unit_cell, (u11, u22, u33, u12, u13, u23))
        out.flags.set_use_u_iso(False).set_use_u_aniso(True)
    return out


def from_xray_structure(
    xs: xray.structure, sfac: list[str] | None = None, wavelength: float = 0.71073, title: str = ""
) -> Structure:
    """Our model of a cctbx structure, with UNIT from its unit-cell content."""
    content = xs.unit_cell_content()
    elements = sfac or sorted(content, key=lambda e: (e not in ("C",), e not in ("H",), e))
    sites = []
    for sc in xs.scatterers():
        u_iso, u_aniso = displacement(sc, xs.unit_cell())
        sites.append(
            Site(
                label=sc.label,
                element=sc.scattering_type,
                frac=tuple(sc.site),
                occupancy=sc.occupancy,
                u_iso=u_iso,
                u_aniso=u_aniso,
            )
        )
    return Structure(
        cell=tuple(xs.unit_cell().parameters()),
        symops=full_operator_list(xs.space_group()),
        sites=sites,
        sfac=elements,
        unit=[round(content.get(e, 0.0), 2) for e in elements],
        wavelength=wavelength,
        title=title,
    )


def displacement(scatterer, unit_cell) -> tuple[float, tuple | None]:
    """(Uiso or Ueq, Uij in SHELX order or None) of a cctbx scatterer."""
    if not scatterer.flags.use_u_aniso():
        return float(scatterer.u_iso), None
    u11, u22, u33, u12, u13, u23 = adptbx.u_star_as_u_cif(unit_cell, scatterer.u_star)
    return float(adptbx.u_star_as_u_iso(unit_cell, scatterer.u_star)), (
        u11,
        u22,
        u33,
        u23,
        u13,
        u12,
    )
