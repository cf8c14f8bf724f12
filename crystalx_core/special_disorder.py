"""Groups disordered about a special position that the model leaves in PART 0.

A molecule on an inversion centre, a twofold axis or a mirror that lacks that symmetry sits
there in two (or more) orientations, each the other's symmetry image. SHELXL users put it in a
negative PART, whose atoms bond to no symmetry image of that PART (SHELXL manual, PART), and
every step here reads a negative PART that way (geometry.may_bond, features, riding, refine).
Published CIFs often write such a group in no disorder group, at half or even full occupancy
(COD 1100192's CH2Cl2 across -1: Cl2 0.41 Å from Cl3's image); read as written, its C is
bonded to both orientations' four Cl and has no room for its two H. Declaring the group in a
negative PART of its own makes it read as SHELXL reads it. A real bond to a site's own image
(a Se–Se across a twofold, an ordered molecule's central C–C across -1) is no overlap: two
atoms closer than geometry.OVERLAP are two places of one atom, never a bond.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from crystalx_core.elements import is_hydrogen, is_metal
from crystalx_core.geometry import (
    OVERLAP,
    SAME_POSITION,
    connectivity,
    identity_operator,
    neighbours,
)
from crystalx_core.structure import Structure

SHARE_TOLERANCE = 0.01  # occupancies this close are one (a CIF rounds a third to 0.333 or 0.3333)


@dataclass(frozen=True)
class Orientation:
    """One orientation of a group disordered about a special position: its sites (those on
    the symmetry element left out), and how many orientations share the place (it and its
    images that meet it)."""

    sites: list[int]
    orientations: int
    meeting: list[int]  # the sites within OVERLAP of an image of the group


def undeclared_groups(structure: Structure) -> list[Orientation]:
    """The PART 0 atoms (Q-peaks left out) bonded together within the asymmetric unit, group
    by group, of the groups whose non-H atoms meet a symmetry image of their own group closer
    than OVERLAP (and not at one place: that is one atom on the special position), as one
    orientation does (_one_orientation_apart). A group with two of its own atoms that close
    holds several orientations itself: none to declare. A Q-peak starts no group: a peak so
    near its image is an atom on the special position (assign.model.PEAK_ON_SPECIAL)."""
    sites = structure.sites
    members = [k for k, s in enumerate(sites) if s.part == 0 and not s.is_peak]
    if not members:
        return []
    identity = identity_operator(structure)
    group = {k: k for k in members}

    def root(k: int) -> int:
        while group[k] != k:
            group[k] = group[group[k]]
            k = group[k]
        return k

    bonds = connectivity(structure)
    for k in members:
        for c in bonds[k]:
            if c.j in group and c.op == identity and not any(c.shift):
                group[root(k)] = root(c.j)
    # a PART of its own would cut its bonds to another PART's atoms (SHELXL bonds no two
    # non-zero PARTs): COD 7105250's Ru1–Ru2 at a quarter each, amid ligands in PART -1 and -2
    tied = {root(k) for k in members for c in bonds[k] if sites[c.j].part != 0}
    heavy = [k for k in members if not is_hydrogen(sites[k].element)]
    met: dict[int, set[int]] = {}  # atom → the group atoms whose images it meets
    operators: dict[int, set[int]] = {}  # group → the operators of the images that meet it
    crowded = set()
    for k, contacts in zip(heavy, neighbours(structure, OVERLAP, centres=heavy)):
        for c in contacts:
            if c.j not in group or is_hydrogen(sites[c.j].element) or root(c.j) != root(k):
                continue
            if c.op == identity and not any(c.shift):
                crowded.add(root(k))
            elif c.distance >= SAME_POSITION:
                met.setdefault(k, set()).add(c.j)
                operators.setdefault(root(k), set()).add(c.op)
    found: dict[int, list[int]] = {}
    for k in members:
        found.setdefault(root(k), []).append(k)
    kept = []
    for key, atoms in found.items():
        if key in crowded | tied or key not in operators:
            continue
        # an atom on the symmetry element itself (a BF4⁻'s B on the threefold axis its F are
        # disordered about) stays outside: SHELXL holds it on the element only there
        off = [k for k in atoms if not _fixed_by(structure, k, operators[key])]
        if _one_orientation_apart(off, met, sites):
            kept.append(Orientation(off, 1 + len(operators[key]), [k for k in off if k in met]))
    return kept


def _fixed_by(structure: Structure, k: int, operators: set[int]) -> bool:
    """Whether site k lies on the symmetry element of each of `operators` (its image by
    each, lattice shifts aside, within SAME_POSITION of it)."""
    frac = structure.frac_array[k]
    matrices = structure.symmetry_matrices()
    for op in operators:
        rot, tran = matrices[op]
        gap = rot @ frac + tran - frac
        if np.linalg.norm(structure.orthogonalisation @ (gap - np.round(gap))) >= SAME_POSITION:
            return False
    return True


def _one_orientation_apart(members: list[int], met: dict[int, set[int]], sites) -> bool:
    """Whether a group (its atoms off the symmetry element) is one orientation of a group
    disordered about the special position: half its non-H atoms at least meet an image of it
    (COD 1100192's CH2Cl2: both Cl, not the C 0.97 Å off -1; not 2000332's cation, whose
    phenyl alone, 6 of 18 atoms, meets its image), none meets the images of two of its atoms
    (a smear of several orientations, 2102163's 16 C of solvent in R-3m, which no one
    orientation describes), and all are there as often (one molecule, whole or absent; not
    sfarchiv2_2004827's solvent O at a half and a quarter, nor finalcif_1512154's CH2Cl2 whose
    Cl are two pairs at 0.5, 0.34 and 0.15). A metal off the element must meet an image too:
    a metal bonded in the asymmetric unit to one bridging atom half there across -1 (written
    whole) is an ordered metal beside a disordered ligand, not one orientation of a molecule."""
    heavy = [k for k in members if not is_hydrogen(sites[k].element)]
    meeting = [k for k in heavy if k in met]
    occupancies = [sites[k].occupancy for k in heavy]
    return (
        bool(meeting)
        and 2 * len(meeting) >= len(heavy)
        and all(len(met[k]) == 1 for k in meeting)
        and all(k in met for k in heavy if is_metal(sites[k].element))
        and max(occupancies) - min(occupancies) <= SHARE_TOLERANCE
    )


def declared(structure: Structure) -> tuple[Structure, str]:
    """`structure` with each undeclared group (undeclared_groups) in a negative PART of its
    own, numbered after the PARTs in use, and a note naming them ('' and the same structure
    when there is none). An occupancy over the group's share of its place (one of two
    orientations: 0.5; a CIF's 1 counts both whole) cannot be right: the group refines on a
    free variable of its own from it, as the data decide (the formula the job fits, UNIT, was
    read with the occupancies given, which the assignment keeps). One the input ties to its own
    variable, or at most the share, stays as it is."""
    groups = undeclared_groups(structure)
    if not groups:
        return structure, ""
    sites = list(structure.sites)
    number = max(abs(s.part) for s in sites)
    variable = max({abs(s.free_variable) for s in sites} | {1})
    told = []
    for group in groups:
        number += 1
        share = 1.0 / group.orientations
        over = sorted(
            {
                round(sites[k].occupancy, 3)
                for k in group.meeting
                if sites[k].occupancy > share + SHARE_TOLERANCE
            }
        )
        free = bool(over) and not any(
            sites[k].input_variable or sites[k].free_variable for k in group.sites
        )
        variable += free
        for k in group.sites:
            sites[k] = replace(
                sites[k], part=-number, free_variable=variable if free else sites[k].free_variable
            )
        given = " and ".join(f"{v:g}" for v in over)
        refined = ", refined on a free variable of its own" if free else ""
        told.append(
            " ".join(structure.sites[k].label for k in group.sites)
            + f" in PART -{number}"
            + (
                f" (occupancy {given} given, {share:.2g} at most for one of "
                f"{group.orientations}{refined})"
                if over
                else ""
            )
        )
    note = (
        "groups that meet their own symmetry image outside PART, disordered about a special "
        f"position: {'; '.join(told)}, read as SHELXL reads a negative PART (no bonds to its "
        "own images)"
    )
    return structure.with_sites(sites), note
