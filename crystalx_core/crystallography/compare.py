"""How well a model reproduces a reference: atoms matched within a tolerance, allowed origin shifts
included."""

from __future__ import annotations

from dataclasses import dataclass

from cctbx import euclidean_model_matching as emma

from crystalx_core.crystallography.convert import crystal_symmetry
from crystalx_core.elements import is_hydrogen, is_metal
from crystalx_core.geometry import (
    bonded_h_contacts,
    held_h_counts,
    neighbours,
)
from crystalx_core.structure import Structure


@dataclass
class Match:
    n_reference: int  # non-H atoms in the reference
    n_found: int  # of those, matched by a site within the tolerance
    n_right_element: int  # of those, with the reference's element
    rms: float  # Å over the matched pairs
    pairs: list[tuple[int, int]]  # (reference site index, candidate site index)
    # the candidate's fractional coordinates → the reference's (cctbx matrix.rt), None unmatched
    to_reference: object = None

    @property
    def found_fraction(self) -> float:
        return self.n_found / self.n_reference if self.n_reference else 0.0

    @property
    def element_fraction(self) -> float:
        return self.n_right_element / self.n_found if self.n_found else 0.0


def match_sites(reference: Structure, candidate: Structure, tolerance: float = 0.5) -> Match:
    """Pair non-H sites of `candidate` with those of `reference` under the space group's
    permitted origin shifts and enantiomorph choice (cctbx's Euclidean model matching)."""
    ref_index = [i for i, s in enumerate(reference.sites) if not is_hydrogen(s.element)]
    cand_index = [i for i, s in enumerate(candidate.sites) if not is_hydrogen(s.element)]
    settings = crystal_symmetry(reference).special_position_settings()
    ref_model = emma.model(
        settings, [emma.position(str(i), reference.sites[i].frac) for i in ref_index]
    )
    cand_model = emma.model(
        settings, [emma.position(str(i), candidate.sites[i].frac) for i in cand_index]
    )
    if not ref_index or not cand_index:
        return Match(len(ref_index), 0, 0, 0.0, [])
    matches = emma.model_matches(
        ref_model, cand_model, tolerance=tolerance, break_if_match_with_no_singles=False
    ).refined_matches
    if not matches:
        return Match(len(ref_index), 0, 0, 0.0, [])
    best = matches[0]
    pairs = [(ref_index[a], cand_index[b]) for a, b in best.pairs]
    right = sum(1 for a, b in pairs if reference.sites[a].element == candidate.sites[b].element)
    return Match(len(ref_index), len(pairs), right, float(best.rms), pairs, best.rt)


@dataclass
class HydrogenMatch:
    n_reference: int  # H atoms in the reference
    n_candidate: int  # H atoms in the candidate
    pairs: list[
        tuple[int, int, float]
    ]  # (reference index, candidate index, distance Å), one to one

    @property
    def n_matched(self) -> int:
        return len(self.pairs)

    @property
    def missing(self) -> int:
        return self.n_reference - self.n_matched

    @property
    def extra(self) -> int:
        return self.n_candidate - self.n_matched


def match_hydrogens(
    reference: Structure, candidate: Structure, tolerance: float = 0.3
) -> HydrogenMatch:
    """Pair H atoms of two models of the same crystal in the same frame (no origin search):
    each reference H with the nearest unpaired candidate H, or any symmetry image of one,
    within `tolerance`, closest pairs first."""
    ref_h = [s for s in reference.sites if is_hydrogen(s.element)]
    cand_h = [s for s in candidate.sites if is_hydrogen(s.element)]
    both = reference.with_sites(ref_h + cand_h)
    near = neighbours(both, tolerance, centres=list(range(len(ref_h)))) if ref_h and cand_h else []
    options = sorted(
        (c.distance, i, c.j - len(ref_h))
        for i, contacts in enumerate(near)
        for c in contacts
        if c.j >= len(ref_h)
    )
    pairs, used_ref, used_cand = [], set(), set()
    for distance, i, j in options:
        if i not in used_ref and j not in used_cand:
            pairs.append((i, j, distance))
            used_ref.add(i)
            used_cand.add(j)
    return HydrogenMatch(len(ref_h), len(cand_h), sorted(pairs))


def hydrogens_per_atom(structure: Structure, reach: float | None = None) -> dict[str, int]:
    """Label → H atoms a model with H puts on each of its non-H atoms (geometry.bonded_h_counts:
    every H counted once, on its nearest allowed atom within its element's reach (h_reach: a
    P–H of 1.32-1.44 Å is a bond) unless `reach` is given, with its images about that atom, each
    by its occupancy): the H counts a published model stands for, as the rules count them (a water
    on a 2-fold axis lists one H and carries two; an NH3 disordered over a mirror, six half H)."""
    sites = structure.sites
    counts = {s.label: 0 for s in sites if not is_hydrogen(s.element)}
    holders = bonded_h_contacts(structure, reach)
    non_h = [i for i, s in enumerate(sites) if not is_hydrogen(s.element)]
    for i, n in zip(non_h, held_h_counts(structure, holders)):
        if i in holders:  # a repeated label keeps the count of its last site with H
            counts[sites[i].label] = n
    return counts


def metals_with_h(structure: Structure, counts: dict[str, float] | None = None) -> list[str]:
    """'Zn1 2 H' for every metal of a model that carries H (hydrogens_per_atom unless the counts
    are given): no benchmark output may put an H on a metal the published model has none on."""
    counts = hydrogens_per_atom(structure) if counts is None else counts
    return [
        f"{s.label} {counts[s.label]:g} H"
        for s in structure.sites
        if is_metal(s.element) and counts.get(s.label)
    ]


def hydrogen_pivots(structure: Structure, reach: float | None = None) -> dict[int, int]:
    """H site → the non-H site it is bonded to (geometry.bonded_h_contacts): the nearest within
    its element's reach (or `reach` Å) that SHELX's PART rules let it bond to (an N split over
    PART 1 and 2 0.04 Å apart held both H, and a methanol's O about an inversion centre, PART
    -1, the methyl H of its image), a tie to the first in site order."""
    return {c.j: i for i, contacts in bonded_h_contacts(structure, reach).items() for c in contacts}
