"""Whether a site of an ionic solid holds an anion or a cation, by bond valence from both sides.

The heavy model learnt from molecular crystals; in an oxide it may call a cation site O
(pyxtal's Fm-3m Pb2MgWO6: the Pb site, O at 0.97) or an anion a metal. A crystallographer
settles this by Pauling's second rule: a cation's anion neighbours give it about its oxidation
state in bond valence, an anion's cation neighbours about its own (O 2, F 1). Each site the model
leaves both roles is read as either: the metals it allows weighed by the sum of their anion
neighbours (bond_valence.valence_likelihood's terms), the anions by the sum of their metal
neighbours; the site's metal and anion shares are then weighed by how plausible each role's sum
is (the share-weighted mean over its classes), and which metal or which anion stays as the model
and metal_valence have it. Where the compound may hold H (SFAC or the CIF's formula lists it), an
anion's sum may fall short of its valence by as much as H can give it (a water's O has no metal
to take), so only a sum too large counts against it; without H an O among O alone is no O.

Only ionic sites are read: one whose neighbours within bonding distance are all metals or anions
(an O bonded to C, P, S or another O, a metal bonded to C or P is the model's), with bond valence
parameters for every element on both sides. One role's sum fitting and the other's far off is
strong evidence, so the weight goes down to LEAST_ROLE_LIKELIHOOD, under metal_valence's 1 %;
where neither role fits (FITS), the model's choice stands.
"""

from __future__ import annotations

import numpy as np

from crystalx_core.assign.metal_valence import (
    BONDED,
    contacts_in_reach,
    held_through_oxygen,
    oxyanion_centres,
    present_with,
    valence_sum,
)
from crystalx_core.bond_valence import ANIONS, OXIDATION_STATES, state_likelihood
from crystalx_core.elements import atomic_number, covalent_radius, is_hydrogen, is_metal
from crystalx_core.structure import Structure

# the valence of each anion (the magnitude of its usual charge)
ANION_VALENCE = {"N": 3, "O": 2, "F": 1, "S": 2, "Cl": 1, "Se": 2, "Br": 1, "Te": 2, "I": 1}
# the least weight a role gets: both roles judged and one far off is stronger evidence than two
# metals' sums (metal_valence: at most 100:1), yet a likelihood, not an override: a role the
# model gives under 0.1 % keeps losing (pyxtal's Fm-3m Pb2MgWO6: Pb 0.02 on its Pb site)
LEAST_ROLE_LIKELIHOOD = 1e-3
# the better role must fit at least this well (valence_likelihood's scale, 1 within PLAUSIBLE):
# where neither sum fits (a water whose H the model lacks, a wrong neighbour), the model decides
FITS = 0.5
# a neighbour whose own role (metal or anion) the model gives less than this is no ground to
# judge a site on: pyxtal's NaSb3F10 in the first pass, its Sb site F at 0.76, made the F around
# it look like Na among F at 1.93 Å
SURE_ROLE = 0.9
# Å: no cation-anion bond is shorter (V=O and Cr-O of a chromate 1.57-1.6 Å, U=O 1.75 Å), so a
# closer neighbour makes the site no ion of either role: a ghost peak by a heavy atom
CLOSEST_BOND = 1.5


def role_weighed(
    structure: Structure,
    probabilities: np.ndarray,
    classes: list[str],
    searched: dict[int, list] | None = None,
):
    """`probabilities` (sites × classes) with each ionic site's metal and anion shares weighed by
    the bond valence plausibility of either role, their sum kept. Neighbours' elements are the
    model's most likely classes; `searched` as metal_valence.contacts_in_reach."""
    metals = [c for c, element in enumerate(classes) if is_metal(element)]
    anions = [c for c, element in enumerate(classes) if element in ANION_VALENCE]
    if not metals or not anions:
        return probabilities
    metal_share = probabilities[:, metals].sum(axis=1)
    anion_share = probabilities[:, anions].sum(axis=1)
    # a role the weighing cannot lift past the other (under LEAST_ROLE_LIKELIHOOD of it) is not
    # weighed: an organic O's 1e-4 of metal needs no neighbour search
    weighable = np.minimum(metal_share, anion_share) >= LEAST_ROLE_LIKELIHOOD * np.maximum(
        metal_share, anion_share
    )
    ionic = np.isin(probabilities.argmax(axis=1), metals + anions)  # a C's site is no ion's
    open_sites = np.flatnonzero(weighable & (metal_share > 0) & ionic).tolist()
    if not open_sites:
        return probabilities
    likely = [classes[c] for c in probabilities.argmax(axis=1)]
    role_share = np.where(np.isin(probabilities.argmax(axis=1), metals), metal_share, anion_share)
    unsure = set(np.flatnonzero(ionic & (role_share < SURE_ROLE)).tolist())
    around = contacts_in_reach(structure, open_sites, searched)
    centres = oxyanion_centres(structure, likely, {c.j for contacts in around for c in contacts})
    hydrogen = _hydrogen_possible(structure)
    weighed = probabilities.copy()
    for k, contacts in zip(open_sites, around):
        if any(c.j in unsure and c.j != k for c in contacts):
            continue
        held = held_through_oxygen(contacts, centres, likely)
        roles = []
        for members in (metals, anions):
            candidates = [c for c in members if probabilities[k, c] > 0]
            role = [
                _likelihood(structure, k, likely, classes[c], contacts, hydrogen, held)
                for c in candidates
            ]
            if any(value is None for value in role):
                break
            shares = probabilities[k, candidates]
            roles.append((candidates, shares.sum(), float(shares @ role) / shares.sum()))
        else:
            (metal_classes, metal_share, metal_fit), (anion_classes, anion_share, anion_fit) = roles
            if max(metal_fit, anion_fit) < FITS:
                continue
            total = metal_share + anion_share
            scale = total / (metal_share * metal_fit + anion_share * anion_fit)
            weighed[k, metal_classes] *= metal_fit * scale
            weighed[k, anion_classes] *= anion_fit * scale
    return weighed


def _hydrogen_possible(structure: Structure) -> bool:
    """Whether the compound may hold H the model has no sites for: SFAC or a CIF's
    _chemical_formula_sum lists H; not where the formula has none (contents.declared_without_h)
    or, with no formula, SFAC has none."""
    if structure.declared_no_h:
        return False
    listed = [*structure.sfac, *(el for el, n in structure.formula.items() if n > 0)]
    return any(is_hydrogen(element) for element in listed)


def _likelihood(
    structure: Structure,
    k: int,
    likely: list[str],
    element: str,
    contacts,
    hydrogen: bool,
    held: set[int],
) -> float | None:
    """How plausible site k's bond valence sum is for `element`, a metal (from its anion
    neighbours but the oxyanion centres `held` through their O: positions in `contacts`) or an
    anion (from its metal neighbours); None where the site is not ionic, an element lacks
    parameters, or an anion would have no metal neighbour where H is possible: that reading
    costs nothing, so it is no evidence, yet it made a metal whose ligands are not its neighbours
    (a disordered endohedral fullerene's Sc, its cage C in another PART: the corpus's
    finalcif_1514866) lose to Cl by 1000:1 on its sum of 0 as a metal."""
    metal = is_metal(element)
    if metal and element not in OXIDATION_STATES:
        return None
    partners = []  # the other role's neighbours, whose bonds make the sum
    for n, contact in enumerate(contacts):
        other = likely[contact.j]
        share = present_with(structure.sites[k], structure.sites[contact.j])
        if atomic_number(other) == 0 or share == 0 or (metal and n in held):
            continue  # "not an atom", another PART's, or a sulfate's S (its valence is its O's)
        if contact.distance < CLOSEST_BOND:
            return None
        if contact.j == k and structure.sites[k].occupancy < 1:
            continue  # a disordered site's own image (Sc 2.3 Å off a fullerene's mirror): not both
        bonded = contact.distance <= covalent_radius(element) + covalent_radius(other) + BONDED
        if not is_metal(other) and other not in ANIONS:
            if bonded or not metal:
                # a covalent partner (C, P, Si, B, Sb): bonded to a metal it leaves no sum to
                # trust; near an anion it may take a share of its valence no parameter gives
                return None
            continue
        if is_metal(other) == metal:
            if bonded and not metal:
                return None  # an anion bonded to another: a sulfate's O to its S, a peroxide
            continue  # cations among cations, anions among anions give no bond valence
        partners.append((contact, other))
    valence = valence_sum(structure, k, element, partners)
    if valence is None:
        return None
    if metal:
        return state_likelihood(valence, OXIDATION_STATES[element], LEAST_ROLE_LIKELIHOOD)
    if valence <= 0 and hydrogen:
        return None
    state = ANION_VALENCE[element]
    short = state if hydrogen else 0.0
    return state_likelihood(valence, (state,), LEAST_ROLE_LIKELIHOOD, short)
