"""Structure ↔ cctbx xray.structure, for the steps that hand our model to cctbx."""

from __future__ import annotations

import re

import numpy as np

from cctbx import adptbx, crystal, sgtbx, xray
from cctbx.eltbx import henke, sasaki

from crystalx_core.errors import InputError
from crystalx_core.geometry import SAME_POSITION
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


# the anomalous-scattering tables, in the order tried for each element: Sasaki's (Z 4-83 and 92,
# 0.1-2.89 Å) and Henke's (Z 1-92, 10 eV-30 keV: 0.41 Å and up)
DISPERSION_TABLES = (sasaki, henke)

# the tables' "no value": cctbx returns it as f′ and f″ outside a table's range
NO_VALUE = -9999.0


def set_dispersion(
    xs: xray.structure,
    wavelength: float,
    given: dict[str, tuple[float, float]] | None = None,
    merge: int = 2,
) -> None:
    """f′ and f″ of every atom of `xs` at `wavelength` (Å): those `given` for its element (the
    input's DISP, which SHELXL refines with), else see anomalous_scattering; f″ zero under the
    data's MERG 4, as SHELXL sets it (manual, MERG).

    Why not cctbx's set_inelastic_form_factors: it takes one table for all atoms, looks each one
    up by the label's first letters (Po gets P's values, Th and Ra raise "Unknown scattering
    type label"), and outside the table's range (2.89 Å included: it passes the wavelength as a
    C++ float, 2.8900001) writes the "no value", −9999, as f′ and f″ of every non-H atom, which
    then scatters about −9999 e whatever its element (carbamazepine at 0.025 Å refined to the
    same R1 to 10⁻⁶ with N2 as C, N or O)."""
    given = {symbol.upper(): values for symbol, values in (given or {}).items()}
    for sc in xs.scatterers():
        symbol = re.match(r"[A-Za-z]*", sc.scattering_type).group().upper()
        sc.fp, sc.fdp = given.get(symbol) or anomalous_scattering(sc.scattering_type, wavelength)
        if merge == 4:
            sc.fdp = 0.0
        sc.flags.set_use_fp_fdp(sc.fp != 0.0 or sc.fdp != 0.0)
    xs.inelastic_form_factors_source = "sasaki, else henke"


def anomalous_scattering(element: str, wavelength: float) -> tuple[float, float]:
    """(f′, f″) of `element` at `wavelength` (Å) from the first table that holds the element
    itself (an exact look-up) and covers the wavelength; (0, 0) where none does (electrons,
    0.025 Å: far above every edge; Z over 92)."""
    symbol = re.match(r"[A-Za-z]*", element).group()  # an ion's charge ("Fe3+") is no matter here
    for table in DISPERSION_TABLES:
        try:
            value = table.table(symbol, True).at_angstrom(wavelength)
        except ValueError:  # "Unknown scattering type label": not in this table
            continue
        if value.is_valid_fp() and value.fp() > NO_VALUE and value.fdp() > NO_VALUE:
            return value.fp(), value.fdp()
    return 0.0, 0.0


def to_xray_structure(structure: Structure) -> xray.structure:
    """Atoms only (peaks have no scattering type); Uij in SHELX order U11 U22 U33 U23 U13 U12."""
    symmetry = crystal_symmetry(structure)
    xs = xray.structure(crystal_symmetry=symmetry)
    for site in (atom for host in structure.atoms for atom in host.with_mixed):
        ops = own_site_symmetry(site.frac, site.part, xs)
        xs.add_scatterer(scatterer(site, symmetry.unit_cell()), site_symmetry_ops=ops)
    return xs


def own_site_symmetry(frac, part: int, xs: xray.structure):
    """The site symmetry of an atom of a negative PART (None for the others: cctbx's own,
    which moves a site within 0.5 Å of its image onto the symmetry element). SHELXL generates
    no special-position constraint for a negative PART: a solvent disordered about an axis
    keeps each atom where it is, its images apart (FC_1979688's methanol C39, 0.49 Å from its
    image across a two-fold axis, would sit on the axis as a C=O 1.24 Å from O13). Only an
    atom on the element itself (SAME_POSITION, as geometry counts images) stays special."""
    return None if part >= 0 else unconstrained_site_symmetry(frac, xs)


def unconstrained_site_symmetry(frac, xs: xray.structure):
    """The site symmetry of `frac` in `xs` that moves no site: special only where the site is
    on a symmetry element already (within SAME_POSITION), not within cctbx's 0.5 Å of one."""
    return sgtbx.site_symmetry(
        xs.unit_cell(), xs.space_group(), frac, min_distance_sym_equiv=SAME_POSITION
    )


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
        out.u_star = u_star(site.u_aniso, unit_cell)
        out.flags.set_use_u_iso(False).set_use_u_aniso(True)
    return out


def u_star(u_aniso: tuple[float, ...], unit_cell) -> tuple[float, ...]:
    """cctbx's u_star of Uij given in SHELX order (U11 U22 U33 U23 U13 U12; cctbx's U_cif
    order ends U12 U13 U23)."""
    u11, u22, u33, u23, u13, u12 = u_aniso
    return adptbx.u_cif_as_u_star(unit_cell, (u11, u22, u33, u12, u13, u23))


def turned_u(u_aniso: tuple[float, ...], rotation, unit_cell) -> tuple[float, ...]:
    """Uij (SHELX order) of an atom's image under a symmetry operator of `rotation` (3x3, on
    fractional coordinates): the displacements turn with the atom, U* = R U* R^T."""
    r = np.asarray(rotation, dtype=float).reshape(3, 3)
    s11, s22, s33, s12, s13, s23 = u_star(u_aniso, unit_cell)
    star = np.array([[s11, s12, s13], [s12, s22, s23], [s13, s23, s33]])
    t = r @ star @ r.T
    u11, u22, u33, u12, u13, u23 = adptbx.u_star_as_u_cif(
        unit_cell, (t[0, 0], t[1, 1], t[2, 2], t[0, 1], t[0, 2], t[1, 2])
    )
    return (u11, u22, u33, u23, u13, u12)


def u_eq(u_aniso: tuple[float, ...], unit_cell) -> float:
    """Ueq of Uij in SHELX order: a third of the trace of U on Cartesian axes, as SHELXL
    computes it for the CIF and for a riding H's Uiso (-1.2, -1.5 times it). The mean of
    U11 U22 U33 is that only in an orthogonal cell. The one implementation: the .res and
    the CIF reader both take it, so that a riding H gets the same U from either."""
    return float(adptbx.u_star_as_u_iso(unit_cell, u_star(u_aniso, unit_cell)))


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
