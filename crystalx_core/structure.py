"""The one structure model every step passes along: cell, symmetry, SFAC/UNIT and sites."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from crystalx_core.elements import is_hydrogen, normalise_symbol
from crystalx_core.residues import MAX_LABEL

MAX_SITES = (
    20_000  # peaks per asymmetric unit; far beyond any small molecule, bounds memory and time
)
MAX_CELL_EDGE = 1000.0  # Å; anything longer is a typo, not a small-molecule cell
MIN_CELL_EDGE = 1.0  # Å; shorter than any bond
MIN_CELL_FLATNESS = (
    0.01  # V / (abc); a needle-flat cell means a typo and explodes neighbour searches
)


SAME_SITE_DECIMALS = (
    4  # atoms whose fractional coordinates agree to this many places share one site
)
# two occupancies of one element summing to more than this on one place are not a split or
# mixed site's: the atom listed twice (here and in repeated_atoms)
WHOLE = 1.0 + 1e-3


def grouped_mixed_sites(sites: list["Site"]) -> list["Site"]:
    """Atoms written at the very same position (a mixed site: two elements sharing it, SHELX
    EXYZ) as one Site carrying the others in `mixed`, so that no step sees two atoms on top
    of each other; peaks and H are never grouped. A whole atom of the host's own element there
    is the host listed twice, no mixed site: it stays apart, for repeated_atoms to leave out
    with a note (grouped, it took its element's whole UNIT from the assignment)."""
    kept: list[Site] = []
    host_of: dict[tuple, int] = {}
    for site in sites:
        key = tuple(round(v, SAME_SITE_DECIMALS) + 0.0 for v in site.frac)
        atom = site.element is not None and not is_hydrogen(site.element)
        host = host_of.get(key) if atom else None
        if host is not None and _listed_twice(kept[host], site):
            host = None
        if host is None:
            if atom:
                host_of[key] = len(kept)
            kept.append(site)
        else:
            kept[host] = replace(kept[host], mixed=(*kept[host].mixed, site))
    return kept


def _listed_twice(host: "Site", site: "Site") -> bool:
    """Whether `site` is `host` again: its element, and more than one whole atom between them
    (WHOLE, as repeated_atoms tells a repeat)."""
    return host.element.upper() == site.element.upper() and host.occupancy + site.occupancy > WHOLE


def cell_problem(cell) -> str | None:
    """Why six numbers are not a usable unit cell, or None; shared by every reader."""
    a, b, c, alpha, beta, gamma = cell
    if not all(math.isfinite(x) for x in cell):
        return f"cell {' '.join(f'{x:g}' for x in cell)} is not finite"
    if not all(MIN_CELL_EDGE <= edge <= MAX_CELL_EDGE for edge in (a, b, c)):
        return (
            f"cell edges {a:g} {b:g} {c:g} Å: each must be in "
            f"[{MIN_CELL_EDGE:g}, {MAX_CELL_EDGE:g}]"
        )
    if not all(0 < angle < 180 for angle in (alpha, beta, gamma)):
        return f"cell angles {alpha:g} {beta:g} {gamma:g}: each must be in (0, 180)"
    cosines = [math.cos(math.radians(angle)) for angle in (alpha, beta, gamma)]
    flatness = math.sqrt(max(0.0, 1 - sum(x * x for x in cosines) + 2 * math.prod(cosines)))
    if flatness < MIN_CELL_FLATNESS:
        return (
            f"cell angles {alpha:g} {beta:g} {gamma:g} give a cell of almost no volume "
            f"(V/abc = {flatness:.2g}, at least {MIN_CELL_FLATNESS:g} expected)"
        )
    return None


@dataclass
class Site:
    """An atom or an unassigned electron-density peak (element None) in fractional coordinates."""

    label: str
    element: str | None
    frac: tuple[float, float, float]
    occupancy: float = 1.0
    u_iso: float = 0.05
    peak_height: float | None = None
    part: int = 0
    u_aniso: tuple[float, float, float, float, float, float] | None = (
        None  # U11 U22 U33 U23 U13 U12
    )
    afix: int = 0  # SHELX AFIX mn this site is written under (riding H: 13, 23, 43, 137, ...)
    line: int | None = None  # 1-based line in the file the site was read from
    mixed: tuple[
        "Site", ...
    ] = ()  # other atoms on this very site (SHELX EXYZ/EADP): same position and U
    # SHELX free variable m >= 2 the occupancy refines with: +m means occupancy = fv(m), -m
    # occupancy = 1 - fv(m) (sof codes 10m+s and -(10m+s)); 0: occupancy as it is
    free_variable: int = 0
    # the input file's free variable the occupancy is tied to, (±m, c): occupancy c·fv(m) for +m,
    # c·(1 − fv(m)) for −m, as SHELX's sof ±(10m + p) with p = c × site-symmetry factor (m >= 2,
    # numbered as the input's FVAR, values in Structure.free_variable_values); None: the job's
    # own variable (free_variable) or a fixed occupancy
    input_variable: tuple[int, float] | None = None
    # the d (Å) of the file's `AFIX mn d` over a riding H: its X–H, which SHELXL holds it at
    afix_d: float | None = None

    @property
    def with_mixed(self) -> list["Site"]:
        """The atoms of a mixed site, the others first (as written before it, so that riding H
        that follow the site still ride on it), or just this one."""
        return [*self.mixed, self]

    @property
    def is_peak(self) -> bool:
        return self.element is None

    def with_element(self, element: str | None, label: str | None = None) -> "Site":
        return replace(self, element=element, label=label or self.label)


@dataclass
class Structure:
    """A crystal structure or a solution in progress.

    `symops` holds every operator of the space group (centring and inversion expanded)
    as x,y,z strings; `sfac`/`unit` are the SHELX scattering types and cell contents.
    """

    cell: tuple[float, float, float, float, float, float]
    symops: list[str]
    sites: list[Site] = field(default_factory=list)
    sfac: list[str] = field(default_factory=list)
    unit: list[float] = field(default_factory=list)
    wavelength: float = 0.71073
    temperature_c: float | None = (
        None  # data-collection temperature (SHELX TEMP); sets riding X–H lengths
    )
    title: str = ""
    source: str = ""
    # the line of `source` its symmetry was read from, named where a .res cannot be written
    symmetry_line: int | None = None
    formula_units: float | None = None  # Z, formula units per cell (SHELX ZERR's first number)
    # the published formula (a CIF's _chemical_formula_sum), element → count; empty without one
    formula: dict[str, float] = field(default_factory=dict)
    cell_su: tuple[float, ...] | None = None  # standard uncertainties of the six cell parameters
    # what in the input says the compound holds no H (a CIF's _chemical_formula_sum): the job
    # then places none (contents.declared_without_h)
    declared_no_h: str = ""
    # the input's free variables 2, 3, ... (FVAR after the overall scale) as last refined:
    # fv(m) is free_variable_values[m - 2] (Site.input_variable)
    free_variable_values: tuple[float, ...] = ()
    # the job's free variables (Site.free_variable, m >= 2) whose values sum to one: one atom's
    # three places, as SHELXL's SUMP 1 0.01 1 m1 1 m2 1 m3 holds them (refined exactly so)
    occupancy_sums: tuple[tuple[int, ...], ...] = ()
    # the input's SUMP over its free variables, (c, ((c1, m1), ...)) for c1·fv(m1) + ... = c:
    # refined so where every variable ties occupancies alone (refine._occupancy_constraints)
    input_sums: tuple[tuple[float, tuple[tuple[float, int], ...]], ...] = ()
    # anomalous dispersion the input gives (SHELX DISP), element → (f', f''): used in place of
    # the tables for the wavelength, as SHELXL uses it
    dispersion: dict[str, tuple[float, float]] = field(default_factory=dict)
    # why UNIT cannot be this model's cell contents (contents.unit_set_aside): the formula fits
    # then see no UNIT, as for a file without one, while the written UNIT stays the user's
    unit_set_aside: str = ""
    # the longest atom name the labels given to its atoms may have: SHELX's 4, or the user's
    # Olex2 option max_label_length where the model is Olex2's (the service)
    max_label: int = MAX_LABEL

    def __post_init__(self):
        self.sfac = [normalise_symbol(s) for s in self.sfac]

    # --- lattice -----------------------------------------------------------------------
    @property
    def orthogonalisation(self) -> np.ndarray:
        """Fractional → Cartesian matrix (a along x, b in the xy plane; SHELX/PDB convention);
        read-only, computed once per cell."""
        return _orthogonalisation(tuple(self.cell))

    @property
    def volume(self) -> float:
        return float(np.linalg.det(self.orthogonalisation))

    def cartesian(self, frac) -> np.ndarray:
        return np.asarray(frac, dtype=float) @ self.orthogonalisation.T

    def fractional(self, cart) -> np.ndarray:
        return np.asarray(cart, dtype=float) @ _deorthogonalisation(tuple(self.cell)).T

    # --- symmetry ----------------------------------------------------------------------
    @property
    def space_group_order(self) -> int:
        return len(self.symops)

    def symmetry_matrices(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each operator as (rotation 3x3, translation 3) acting on fractional coordinates
        (read-only arrays, parsed once per operator list)."""
        return list(_symmetry_matrices(tuple(self.symops)))

    # --- contents ----------------------------------------------------------------------
    @property
    def frac_array(self) -> np.ndarray:
        return np.array([s.frac for s in self.sites], dtype=float).reshape(-1, 3)

    @property
    def atoms(self) -> list[Site]:
        return [s for s in self.sites if not s.is_peak]

    @property
    def peaks(self) -> list[Site]:
        return [s for s in self.sites if s.is_peak]

    def cell_contents(self) -> dict[str, float]:
        """Element → atoms per unit cell from UNIT (what the user says the crystal holds); none
        where UNIT was set aside as no possible contents of the model (unit_set_aside)."""
        if self.unit_set_aside:
            return {}
        return {el: float(n) for el, n in zip(self.sfac, self.unit)}

    def asymmetric_unit_contents(self, include_h: bool = False) -> dict[str, float]:
        """Element → expected atoms in the asymmetric unit (UNIT divided by the group order)."""
        order = self.space_group_order
        return {
            el: n / order
            for el, n in self.cell_contents().items()
            if include_h or not is_hydrogen(el)
        }

    def with_sites(self, sites: list[Site]) -> "Structure":
        return replace(self, sites=list(sites))


# Riding H and neighbour searches ask for these once per atom: cached, thousands of atoms
# would otherwise spend seconds rebuilding the same few matrices.
@lru_cache(maxsize=256)
def _orthogonalisation(cell: tuple[float, ...]) -> np.ndarray:
    a, b, c, al, be, ga = cell
    al, be, ga = (math.radians(v) for v in (al, be, ga))
    cos_al, cos_be, cos_ga, sin_ga = math.cos(al), math.cos(be), math.cos(ga), math.sin(ga)
    volume = (
        a * b * c * math.sqrt(1 - cos_al**2 - cos_be**2 - cos_ga**2 + 2 * cos_al * cos_be * cos_ga)
    )
    orth = np.array(
        [
            [a, b * cos_ga, c * cos_be],
            [0.0, b * sin_ga, c * (cos_al - cos_be * cos_ga) / sin_ga],
            [0.0, 0.0, volume / (a * b * sin_ga)],
        ]
    )
    orth.setflags(write=False)
    return orth


@lru_cache(maxsize=256)
def _deorthogonalisation(cell: tuple[float, ...]) -> np.ndarray:
    inverse = np.linalg.inv(_orthogonalisation(cell))
    inverse.setflags(write=False)
    return inverse


@lru_cache(maxsize=256)
def _symmetry_matrices(symops: tuple[str, ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    from crystalx_core.symmetry import parse_symop

    matrices = tuple(parse_symop(op) for op in symops)
    for rotation, translation in matrices:
        rotation.setflags(write=False)
        translation.setflags(write=False)
    return matrices
