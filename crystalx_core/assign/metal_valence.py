"""Which metal a site holds, weighed by the bond valence its anions give each candidate.

The heavy model learnt from molecular crystals; on inorganic sites it confuses metals far
apart in size and charge (cryspy's Ho2Ti2O7: Ti 0.78 on the Ho site, whose eight O at
2.2-2.5 Å give a Ti 1.55 valence units and a Ho 2.71). A crystallographer checks a metal by its
bond valence sum (Brown & Altermatt 1985; O'Keeffe & Brese 1991): each metal the model allows
a site is weighed by how plausible the sum its anion neighbours give it is for one of its
oxidation states (bond_valence.valence_likelihood), and the site's metal probability is shared
out again in proportion (a likelihood on which metal, given a metal: whether the site is a metal
at all stays the model's: assign.ion_role). Sites bonded to anything but anions (a carbonyl's
C, a phosphine's P, another metal) give no sum to trust and are left alone, as are metals without
parameters. The centre of an oxyanion (a sulfate's S, a nitrate's N, a perchlorate's Cl) gives its
valence to its own O, not to a metal 3 Å away, so it counts neither as a bond nor as a blocker.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from crystalx_core.bond_valence import (
    ANIONS,
    B,
    OXIDATION_STATES,
    pair_r0,
    valence_likelihood,
)
from crystalx_core.elements import atomic_number, covalent_radius, is_metal
from crystalx_core.structure import Site, Structure

REACH = 3.6  # Å: the farthest anion counted (a Pb's or a Ba's twelfth O)
TAIL = 1.3  # Å past R0: a bond of under 0.03 v.u. (s = exp(-TAIL / B)) counts for nothing
# sites the model gives the metals together less than this are left alone: a ligand's C or O
# (about 1e-4 to the metals) whose neighbours need not be searched; an oxide's cation the model
# took for O keeps more (pyxtal's Pb2MgWO6: its Pb site 0.008 in the second pass)
LEAST_METAL_SHARE = 1e-3
# Å over the sum of covalent radii: a non-metal this close is bonded (as geometry.connectivity);
# another metal only within the sum itself (a metal-metal bond: Ru-Ru 2.8 Å), for the cations of
# an oxide stand 3.3-3.6 Å apart (Pb2MgWO6's Pb and W 3.35 Å, Ho2Ti2O7's Ho and Ti 3.57 Å)
BONDED = 0.4
# a neighbour of an anion element other than O and F bonded to this many O or F is the centre
# of an oxyanion (sulfate, sulfite, nitrate, perchlorate, periodate: three or four O), not a
# donor; a nitro group's N (two O) or a sulfoxide's S (one) bonded to a metal still is one
OXYANION_OXYGENS = 3
OXYANION_REACH = 2.5  # Å: the longest E-O bond looked for (I-O 1.8-2.0 Å in a periodate)


def valence_weighed(
    structure: Structure,
    probabilities: np.ndarray,
    classes: list[str],
    searched: dict[int, list] | None = None,
):
    """`probabilities` (sites × classes, over `structure`'s sites) with each site's metal classes
    weighed by their bond valence likelihood and renormalised to the site's metal total. The
    neighbours' elements are the model's most likely classes; `searched` as contacts_in_reach."""
    metals = [c for c, element in enumerate(classes) if is_metal(element)]
    if not metals:
        return probabilities
    shares = probabilities[:, metals]
    open_sites = np.flatnonzero(
        (np.count_nonzero(shares, axis=1) > 1) & (shares.sum(axis=1) >= LEAST_METAL_SHARE)
    ).tolist()
    if not open_sites:
        return probabilities
    likely = [classes[c] for c in probabilities.argmax(axis=1)]
    around = contacts_in_reach(structure, open_sites, searched)
    centres = oxyanion_centres(structure, likely, {c.j for contacts in around for c in contacts})
    weighed = probabilities.copy()
    for k, contacts in zip(open_sites, around):
        held = held_through_oxygen(contacts, centres, likely)
        contacts = [c for n, c in enumerate(contacts) if n not in held]
        candidates = [c for c in metals if probabilities[k, c] > 0]
        likelihoods = [_likelihood(structure, k, likely, classes[c], contacts) for c in candidates]
        if any(value is None for value in likelihoods):
            continue
        weights = probabilities[k, candidates] * np.asarray(likelihoods)
        weighed[k, candidates] = probabilities[k, candidates].sum() * weights / weights.sum()
    return weighed


def contacts_in_reach(structure: Structure, sites: list[int], searched: dict[int, list] | None):
    """Each of `sites`' contacts within REACH, nearest first. `searched` (site → contacts) keeps
    them for the next weighing of the same structure (ion_role's, the next model pass), which
    asks for many of the same sites: only those it lacks are searched."""
    from crystalx_core.geometry import neighbours

    searched = {} if searched is None else searched
    new = [k for k in sites if k not in searched]
    if new:
        searched.update(zip(new, neighbours(structure, REACH, centres=new)))
    return [searched[k] for k in sites]


def _likelihood(
    structure: Structure, k: int, likely: list[str], metal: str, contacts
) -> float | None:
    """valence_likelihood of `metal` on site k with these contacts, or None where the sum says
    nothing: no parameters for the metal, no anion neighbour, or a bonded non-anion."""
    if metal not in OXIDATION_STATES:
        return None
    anions = []
    for contact in contacts:
        element = likely[contact.j]
        if element in ANIONS:
            anions.append((contact, element))
        elif atomic_number(element) > 0 and contact.distance <= (  # not "not an atom"
            _radius(metal) + _radius(element) + (0 if is_metal(element) else BONDED)
        ):
            return None
    valence = valence_sum(structure, k, metal, anions)
    return valence_likelihood(metal, valence) if valence else None


def valence_sum(structure: Structure, k: int, element: str, partners) -> float | None:
    """The bond valence sum of site k as `element` from `partners` ((contact, its element), each
    of the other role: a metal's anions, an anion's metals): each bond exp((R0 - d) / B) as often
    as both are there (present_with), nothing past R0 + TAIL; None where a pair has no R0."""
    metal = is_metal(element)
    valence = 0.0
    for contact, other in partners:
        r0 = pair_r0(element, other) if metal else pair_r0(other, element)
        if r0 is None:
            return None
        if contact.distance <= r0 + TAIL:
            share = present_with(structure.sites[k], structure.sites[contact.j])
            valence += share * math.exp((r0 - contact.distance) / B)
    return valence


def present_with(centre: Site, neighbour: Site) -> float:
    """How often the neighbour is there when the centre is: a bond exists only when both are.
    A disordered metal and its own ligands (one PART, occupancy 0.5 each) bond always, not half
    the time (the halved sum read a Dy among six O at 2.40 Å as 1.1 v.u., not 2.2, and gave the
    site to Na); another PART's atom never; a whole metal's half-occupied ligand half the time."""
    if centre.part and neighbour.part and centre.part != neighbour.part:
        return 0.0
    present = centre.occupancy if centre.occupancy > 0 else 1.0
    return min(1.0, neighbour.occupancy / present)


def oxyanion_centres(structure: Structure, likely: list[str], sites) -> set[int]:
    """Those of `sites` whose likely element is an anion other than O and F with OXYANION_OXYGENS
    or more O or F bonded to it (within the sum of covalent radii plus BONDED)."""
    from crystalx_core.geometry import neighbours

    candidates = sorted(j for j in sites if likely[j] in ANIONS and likely[j] not in ("O", "F"))
    centres = set()
    for j, contacts in zip(candidates, neighbours(structure, OXYANION_REACH, centres=candidates)):
        oxygens = sum(
            likely[c.j] in ("O", "F")
            and c.distance <= _radius(likely[j]) + _radius(likely[c.j]) + BONDED
            for c in contacts
        )
        if oxygens >= OXYANION_OXYGENS:
            centres.add(j)
    return centres


def held_through_oxygen(contacts, centres: set[int], likely: list[str]) -> set[int]:
    """The positions in `contacts` (one metal's) of oxyanion centres held through their own O
    or F: one of the centre's O (bonded to that image of it) nearer the metal than the centre
    (a chelating sulfate's Ca-O 2.46 Å, Ca...S 3.0 Å). A centre nearer than its O is bonded to
    the metal itself and is a donor: an S-bonded sulfite on Pd or Pt (Pd-S 2.29 Å, Pd...O 3.1 Å,
    COD 2008199), which left out gave the Pd a sum of its two N alone."""
    held = set()
    for n, centre in enumerate(contacts):
        if centre.j not in centres:
            continue
        reach = _radius(likely[centre.j]) + BONDED
        if any(
            likely[o.j] in ("O", "F")
            and o.distance < centre.distance
            and np.linalg.norm(o.cart_j - centre.cart_j) <= reach + _radius(likely[o.j])
            for o in contacts
        ):
            held.add(n)
    return held


@lru_cache(maxsize=None)
def _radius(element: str) -> float:
    return covalent_radius(element)
