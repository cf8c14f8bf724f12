"""Which of two places an H takes, decided by the reflections where the difference map is not
clear: the two models are compared on Fo² with Hamilton's R-factor ratio test.

A weak H (its peak under 2.5 rms on poor or noisy data) or one shared by a short O–H···O bond
shows no clear peak, yet its electron still changes every structure factor. As a
crystallographer refines both alternatives and compares wR2, each model here is the refined
non-H atoms (fixed, everything else equal) plus riding H for the counts of that alternative, its
scale fitted (k = Σw·Fo²·Fc² / Σw·Fc⁴, w = 1/σ²(Fo²)), and

    wR = √(Σw(Fo² − k·Fc²)² / Σw·Fo⁴).

Hamilton (1965, Acta Cryst. 18, 502) gives the ratio a wrong model's wR reaches over the right
one's by chance: for a hypothesis of dimension b with n reflections and m parameters,
ℛ(b, n − m, α) = √(1 + b/(n − m) · F(b, n − m, α)). The two placements of one H are the
hypothesis of dimension 1 that Hamilton's own enantiomorph example tests; one is kept only
when wR(other)/wR(it) exceeds ℛ(1, n − m, SIGNIFICANCE), else the model's answer stands. With
the non-H atoms fixed no refinement is needed: each alternative costs the structure factors of
its few H.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from collections.abc import Sequence
from itertools import product

import numpy as np
from cctbx.array_family import flex
from cctbx.eltbx import xray_scattering
from scipy.stats import f as f_distribution

from crystalx_core.crystallography.convert import set_dispersion, to_xray_structure
from crystalx_core.crystallography.solve import merged_intensities
from crystalx_core.elements import is_hydrogen, is_metal
from crystalx_core.geometry import connectivity, identity_operator, may_bond
from crystalx_core.hydrogens import restrained_group
from crystalx_core.riding import add_riding_hydrogens
from crystalx_core.structure import Site, Structure

SIGNIFICANCE = 0.001  # Hamilton's α: set on half a of the swap benchmark's H trials
# of the unique reflections to d_min: from fewer (a truncated file, 20 % collected) a count at a
# site or an H's placement is judged on a biased sample, whatever the test's significance
MIN_COMPLETENESS = 0.7


def hamilton_ratio(freedom: int, significance: float) -> float:
    """ℛ(1, n − m, α) for `freedom` n − m (at least 1) and `significance` α: the ratio of wR a
    hypothesis of dimension 1 must win by (also element_evidence's test of one element)."""
    freedom = max(freedom, 1)
    return math.sqrt(1 + f_distribution.ppf(1 - significance, 1, freedom) / freedom)


@dataclass
class Verdict:
    """wR2 of the two placements and the ratio Hamilton's test needs."""

    wr_first: float
    wr_second: float
    needed: float  # ℛ(1, n − m, SIGNIFICANCE)

    @property
    def ratio(self) -> float:
        return self.wr_first / self.wr_second

    @property
    def second_better(self) -> bool:
        return self.ratio > self.needed

    @property
    def first_better(self) -> bool:
        return self.wr_second / self.wr_first > self.needed

    def text(self) -> str:
        if not math.isfinite(self.wr_first):
            return f"the model's count cannot be placed; wR2 {self.wr_second:.4f} with the H moved"
        return (
            f"wR2 {self.wr_second:.4f} against {self.wr_first:.4f}, Hamilton's ratio "
            f"{max(self.ratio, 1 / self.ratio):.4f} ({self.needed:.4f} needed at "
            f"{100 * SIGNIFICANCE:g} %)"
        )


class HydrogenFits:
    """Fo² of the reflections and Fc of the model's non-H atoms, prepared on first need for a
    structure and its difference `density` (which turns the riding groups): each H placement
    compared then costs one structure-factor sum of its own H."""

    def __init__(self, structure: Structure, reflections, density=None):
        self.structure = structure
        self.reflections = reflections
        self.density = density
        self._placed: tuple[tuple, dict[int, tuple[np.ndarray, list[Site]]]] = ((), {})
        # the H shared with a site's own image (hydrogen_evidence._shared_with_own_image),
        # fitted as placed (riding.add_riding_hydrogens' `given` and `halves`) where a count
        # gives the site its one H: share
        self._given: dict[int, tuple[list[np.ndarray], int | None]] = {}
        self._halves: dict[int, bool] = {}

    def share(self, given: dict, halves: dict[int, bool]) -> None:
        """Fit the one H of each site of `halves` where `given` puts it, at the occupancy and
        PART riding gives a shared H, not as a whole H riding: the placements fitted so far
        are dropped."""
        self._given = {i: given[i] for i in halves}
        self._halves = dict(halves)
        self._placed = ((), {})

    def _shared(self, counts: dict[int, int]):
        """(given, halves) of add_riding_hydrogens for the shared H `counts` keeps (one H)."""
        kept = {i for i in self._halves if counts.get(i, 0) == 1}
        return {i: self._given[i] for i in kept}, {i: self._halves[i] for i in kept}

    @functools.cached_property
    def _merged(self):
        return merged_intensities(self.structure, self.reflections)

    @functools.cached_property
    def f_sq(self):
        return self._merged.select(self._merged.sigmas() > 0)

    @functools.cached_property
    def completeness(self) -> float:
        """Of the unique reflections to the data's resolution (MIN_COMPLETENESS)."""
        return self._merged.completeness()

    @functools.cached_property
    def observed(self) -> np.ndarray:
        return np.array(self.f_sq.data())

    @functools.cached_property
    def weights(self) -> np.ndarray:
        return 1.0 / np.array(self.f_sq.sigmas()) ** 2

    @functools.cached_property
    def _heavy(self) -> Structure:
        return self.structure.with_sites(
            [s for s in self.structure.atoms if not is_hydrogen(s.element)]
        )

    @functools.cached_property
    def f_heavy(self) -> np.ndarray:
        return self._structure_factors(to_xray_structure(self._heavy))

    @functools.cached_property
    def needed(self) -> float:
        """ℛ(1, n − m, SIGNIFICANCE) for these reflections and the non-H atoms' parameters."""
        parameters = 1 + sum(9 if s.u_aniso is not None else 4 for s in self._heavy.sites)
        return hamilton_ratio(len(self.observed) - parameters, SIGNIFICANCE)

    def _structure_factors(self, xs) -> np.ndarray:
        merge = getattr(self.reflections, "merge", 2)  # MERG 4: f'' zero, as refinement has it
        set_dispersion(xs, self.structure.wavelength, self.structure.dispersion, merge)
        return np.array(
            self.f_sq.structure_factors_from_scatterers(xs, algorithm="direct").f_calc().data()
        )

    def hydrogen_visibility(self, u_iso: float, map_rms: float = 0.0) -> float:
        """The peak one missing H of `u_iso` makes in the Fo − Fc map of these reflections, in
        units of that map's noise: the larger of the measurements' own (Cruickshank 1949:
        σ(ρ) = √Σσ(F)² / V, σ(F) put on the model's scale as the map puts Fo) and the map's
        `map_rms` (e Å⁻³), which also holds the model's errors (absorption, series termination
        beside a metal). With the model's phases, (|Fo| − |Fc|)·exp(iφc) brings a missing atom's
        term in whole where the phase is restricted (centric) and, on average, half of it
        where it is not (acentric: Main 1979, Acta Cryst. A35, 779; Read 1986, Acta Cryst.
        A42, 140), so each reflection's scattering of the H is weighted 1 or 1/2 before it is
        summed over the measured sphere and divided by the volume. Where the result is low, a
        real H shows no peak either, so the absence of one says nothing (weak data:
        hydrogen_evidence._metal_oxygens_by_data)."""
        f_obs = self.f_sq.f_sq_as_f()
        f_calc = np.abs(self.f_heavy)
        scale = float(np.sum(np.array(f_obs.data()) * f_calc) / np.sum(f_calc**2))
        share = np.where(np.array(f_obs.centric_flags().data()), 1.0, 0.5)
        weighted = f_obs.customized_copy(data=flex.double(share), sigmas=f_obs.sigmas())
        sphere = weighted.expand_to_p1().generate_bijvoet_mates()
        d_star_sq = np.array(sphere.d_star_sq().data())
        form = np.array(xray_scattering.wk1995("H").fetch().at_d_star_sq(flex.double(d_star_sq)))
        terms = np.array(sphere.data()) * form * np.exp(-2 * math.pi**2 * u_iso * d_star_sq)
        volume = f_obs.unit_cell().volume()
        measured = math.sqrt(float(np.sum((np.array(sphere.sigmas()) / scale) ** 2))) / volume
        noise = max(measured, map_rms)
        return float(np.sum(terms)) / volume / noise if noise > 0 else math.inf

    def hydrogens(self, sites: list[Site]) -> np.ndarray:
        """Fc of the H `sites` (fractional, isotropic) alone."""
        if not sites:
            return np.zeros(len(self.observed), dtype=complex)
        return self._structure_factors(to_xray_structure(self.structure.with_sites(sites)))

    def wr2(self, f_hydrogens: np.ndarray) -> float:
        """wR2 of the non-H atoms with these H, the scale fitted."""
        f_sq = np.abs(self.f_heavy + f_hydrogens) ** 2
        w, observed = self.weights, self.observed
        scale = float(np.sum(w * observed * f_sq) / np.sum(w * f_sq**2))
        return math.sqrt(np.sum(w * (observed - scale * f_sq) ** 2) / np.sum(w * observed**2))

    def compare_counts(self, counts: dict[int, int], other: dict[int, int]) -> Verdict | None:
        """The model with riding H for `counts` against the same with `other` (index → count;
        they differ on a few sites): None when riding cannot place `other`; wR2 infinite for
        `counts` when riding cannot place them (more H than an atom carries) and `other` it can.
        Where riding offers several placements (the three staggered rotamers of a pyramidal NH2)
        each alternative gets the best wR2 of them; Hamilton's `needed` counts no parameter for
        that choice, so such a verdict is a little easier to pass than the test's level says.
        So is one where a lone O/N/S H is also tried on its map peak (_on_peak): that free
        orientation is about two parameters uncounted, and it favours the count of one H; it is
        tried only where the map shows the peak (LOW_RMS), no other H of the model stands on
        it, and the pivot is on a general position."""
        changed = {i for i in {*counts, *other} if counts.get(i, 0) != other.get(i, 0)}
        by_pivot = self._by_pivot(counts)
        f_rest = sum(f for i, (f, _) in by_pivot.items() if i not in changed)
        rest = [h for i, (_, sites) in by_pivot.items() if i not in changed for h in sites]
        fitted = []
        for alternative in (counts, other):
            asked = {i: alternative.get(i, 0) for i in changed}
            choices = _riding(
                self.structure, asked, self.density, self._bonds, rest, self._shared(asked)
            )
            fitted.append(
                min(self.wr2(f_rest + self.hydrogens(sites)) for sites in choices)
                if choices
                else None
            )
        if fitted[1] is None:
            return None
        first = math.inf if fitted[0] is None else fitted[0]
        return Verdict(first, fitted[1], self.needed)

    @functools.cached_property
    def _bonds(self):
        return connectivity(self.structure)

    def _by_pivot(self, counts: dict[int, int]) -> dict[int, tuple[np.ndarray, list[Site]]]:
        """Fc and sites of each pivot's riding H for `counts`, kept while the counts stay the
        same (each pair of a weighing changes only its own two)."""
        key = tuple(sorted((i, n) for i, n in counts.items() if n))
        if key != self._placed[0]:
            given, halves = self._shared(counts)
            plan = add_riding_hydrogens(
                self.structure, counts, given, density=self.density, halves=halves
            )
            sites = plan.structure.sites
            self._placed = (
                key,
                {
                    i: (self.hydrogens(hs), hs)
                    for i, hs in (
                        (i, [sites[k] for k in group]) for i, group in plan.groups.items()
                    )
                },
            )
        return self._placed[1]


def _riding(
    structure: Structure,
    counts: dict[int, int],
    density,
    bonds,
    others: Sequence[Site] = (),
    shared: tuple[dict, dict[int, bool]] = ({}, {}),
) -> list[list[Site]]:
    """The riding H sites for `counts` on `structure` (its non-H atoms), one list for each
    choice of the groups whose orientation the map may not settle (_rotamers), every
    combination of them; [[]] when no H is asked, [] when riding places no group on a pivot
    asked for H. Riding places a group whole or not at all; on a special position it keeps only
    the H the site symmetry does not make from another (codtools_1000451's water on a mirror:
    one site for two H), so the sites are not counted against the count asked. `others`: the
    H the model holds besides these (the other pivots'), whose peaks no lone H may take.
    `shared`: (given, halves) of the H shared with a site's own image (HydrogenFits.share),
    placed where given and not moved."""
    if not any(counts.values()):
        return [[]]
    given, halves = shared
    plan = add_riding_hydrogens(structure, counts, given, density=density, halves=halves)
    if any(n > 0 and i not in plan.groups for i, n in counts.items()):
        return []
    sites = plan.structure.sites
    placed = [*others, *(s for s in structure.atoms if is_hydrogen(s.element))]
    groups = [
        _rotamers(
            structure,
            pivot,
            [sites[k] for k in group],
            plan.codes[pivot],
            bonds,
            density if counts.get(pivot) == 1 and pivot not in halves else None,
            [*placed, *(sites[k] for p, g in plan.groups.items() if p != pivot for k in g)],
        )
        for pivot, group in plan.groups.items()
    ]
    return [[h for group in combination for h in group] for combination in product(*groups)]


def _rotamers(
    structure: Structure,
    pivot: int,
    hydrogens: list[Site],
    code: int,
    bonds,
    density,
    others: Sequence[Site] = (),
):
    """The placements of one pivot's H to compare on Fo²: a pyramidal R–NH2 (no HFIX, placed
    from the map: hydrogens.restrained_group) takes two of a staggered NH3's three places, and
    where its second H is weak (an amine N–H at 1.2 rms beside noise of 1.5) the map may pick
    the wrong two; as a crystallographer refines each rotamer of such a group, each pair of the
    three is fitted and the best kept (codtools_2019572's NH2 beside an Na–O–H: the map's pair
    missed the published H by 1.4 Å, and the fit took the O's H for a third H on the N).
    A lone H on an O, N or S (`density` given only for a count of one: a water on a mirror
    rides as one site for its two H) is also tried where the map has its maximum (_on_peak),
    unless that is another H's (`others`).
    Every other group as riding placed it."""
    site = structure.sites[pivot]
    covalent = [c for c in bonds[pivot] if not is_metal(structure.sites[c.j].element)]
    if len(hydrogens) == 1:
        moved = _on_peak(structure, pivot, hydrogens[0], bonds, density, others)
        return [hydrogens] if moved is None else [hydrogens, [moved]]
    if code != 0 or len(hydrogens) != 2 or not restrained_group(site.element, 2, len(covalent)):
        return [hydrogens]
    centre = structure.cartesian(site.frac)
    axis = covalent[0].cart_j - centre
    axis /= np.linalg.norm(axis)
    arms = [structure.cartesian(h.frac) - centre for h in hydrogens]
    across = [r - (r @ axis) * axis for r in arms]  # the H about the bond's axis, 120° apart
    third = (arms[0] @ axis) * axis - across[0] - across[1]
    moved = replace(hydrogens[1], frac=tuple(structure.fractional(centre + third)))
    first, second = hydrogens
    return [[first, second], [first, moved], [replace(first, frac=moved.frac), second]]


# Å: a shell maximum this close to an H the model already holds is that H's peak (an acceptor
# O's shell passes ~0.95 Å from its donor's H), not a second H's: H on two atoms stand near
# their van der Waals contact (2.4 Å, Bondi 1964); the benchmark's lone O–H and N–H peaks
# (FC_sucrose, XH_xylitol, FC_p31c, FC_1979688's O13) are 2.0-2.3 Å from the nearest other H
OTHER_H = 1.5


def _on_peak(
    structure: Structure, pivot: int, hydrogen: Site, bonds, density, others: Sequence[Site] = ()
) -> Site | None:
    """The lone H of an O, N or S moved, at its riding distance, onto the highest maximum of
    `density` on the pivot's shell (hydrogen_evidence.shell_peaks), where that is a peak the
    map shows (LOW_RMS × its rms, hydrogen_evidence's own level for an H shown) standing over
    the density at the riding place, and no H of `others` that can be there with the pivot lies
    within OTHER_H of it; else None.
    A crystallographer refines such an H freely (DFIX) where its peak is off the ideal place:
    FC_p31c's N1, pyramidal in its PART, has its H 29° off the AFIX 43 bisector, and there one
    H (1.9 rms) fitted worse than two of AFIX 23, one of which came near the 4.8-rms peak. A
    pivot on a special position keeps riding's place, which respects its site symmetry."""
    from crystalx_core.hydrogen_evidence import LOW_RMS, MIN_BOND_ANGLE, SHELL, shell_peaks
    from crystalx_core.riding import site_operators

    site = structure.sites[pivot]
    if density is None or site.element not in SHELL or site_operators(structure, site.frac):
        return None
    centre = structure.cartesian(site.frac)
    bonded = [c.cart_j for c in bonds[pivot] if not is_hydrogen(structure.sites[c.j].element)]
    peaks = shell_peaks(density, centre, bonded, SHELL[site.element], MIN_BOND_ANGLE)
    arm = structure.cartesian(hydrogen.frac) - centre
    if (
        not peaks
        or peaks[0].height < LOW_RMS * density.rms
        or peaks[0].height <= float(density(centre[None] + arm[None])[0])
        or _nearest(structure, peaks[0].position, site.part, others) < OTHER_H
    ):
        return None
    direction = peaks[0].position - centre
    place = centre + np.linalg.norm(arm) * direction / np.linalg.norm(direction)
    return replace(hydrogen, frac=tuple(structure.fractional(place)))


def _nearest(structure: Structure, cart: np.ndarray, part: int, sites: Sequence[Site]) -> float:
    """Å from the Cartesian point `cart`, in PART `part`, to the nearest symmetry image of any
    of `sites` that can be there with it (geometry.may_bond: not another PART's alternative,
    not a negative PART's own image; FC_p31c's N1 and N1' hold their H 0.4 Å apart)."""
    if not sites:
        return math.inf
    frac = np.asarray(structure.fractional(cart))
    rotations, translations = zip(*structure.symmetry_matrices(), strict=True)
    images = np.einsum("kij,sj->ksi", np.array(rotations), np.array([s.frac for s in sites]))
    steps = images + np.array(translations)[:, None, :] - frac
    shifts = np.round(steps)
    gaps = np.linalg.norm((steps - shifts) @ structure.orthogonalisation.T, axis=-1)
    identity = identity_operator(structure)
    for k in range(len(rotations)):
        for n, site in enumerate(sites):
            if not may_bond(part, site.part, k != identity or bool(np.any(shifts[k, n]))):
                gaps[k, n] = math.inf
    return float(gaps.min())
