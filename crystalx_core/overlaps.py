"""Two whole atoms closer than any bond, with no PART between them: disorder the model does not
declare, or an atom put where another already is.

No ordered crystal holds two atoms 0.72 Å apart in every cell (mofchecker's RUYGEZ_clean.cif:
Zn beside Zn, each at full occupancy, no PART). A crystallographer's checks say so: checkCIF's
PLATON short-contact alerts, mofchecker's 'atomic overlaps' (kjappelbaum/mofchecker). The job
keeps the model as it is, since either atom may be the right one, and a note names each pair
and its distance. Only pairs geometry.overlapping_sites finds (non-H beside non-H, H beside H,
closer than 1 Å) with both sites whole count: a partly occupied site, PART-declared alternatives
and an atom listed twice (repeated_atoms, left out before) are the model's own disorder; two H
riding on one atom are placed by their AFIX, not seen, and neither is a dihydrogen: two H
0.7-0.95 Å apart bonded to no non-metal (free H2 0.74 Å; a side-on H2 on a metal, Kubas's
η²-H2 complexes, 0.8-0.9 Å, each H 1.6-1.8 Å from the metal) is a molecule, not two atoms.
"""

from __future__ import annotations

from crystalx_core.elements import is_hydrogen, is_metal
from crystalx_core.geometry import H_BOND_MAX, identity_operator, neighbours, overlapping_sites
from crystalx_core.structure import Structure

FULL = 1.0 - 1e-3  # a site's occupancy (its mixed atoms' together) at which it is whole
SHOWN = 5  # pairs named in the note; the rest counted
DIHYDROGEN = (0.7, 0.95)  # Å: H–H of H2, free (0.74) to side-on on a metal (0.8-0.9)


def overlap_note(structure: Structure) -> str:
    """One note naming the pairs of whole atoms closer than a bond outside PART, '' if none."""
    sites = structure.sites
    identity = identity_operator(structure)
    pairs: dict[tuple[int, int], str] = {}
    for i, contact in overlapping_sites(structure, declared=False).items():
        j = contact.j
        key = (min(i, j), max(i, j))
        if key in pairs or not (_whole(sites[i]) and _whole(sites[j])):
            continue
        if is_hydrogen(sites[i].element) and (
            _same_pivot(structure, i, j) or _dihydrogen(structure, i, j, contact.distance)
        ):
            continue
        image = contact.op != identity or any(contact.shift)
        other = f"{sites[j].label} at {_operator(structure, contact)}" if image else sites[j].label
        pairs[key] = f"{sites[i].label} and {other} {contact.distance:.2f} Å"
    if not pairs:
        return ""
    shown = list(pairs.values())
    more = f" and {len(shown) - SHOWN} more" if len(shown) > SHOWN else ""
    # an atom beside its own image is disorder about a special position: two PARTs cannot
    # say it, a negative PART (no bonds to its images), its occupancy shared, does (SHELXL, PART)
    own = (
        "; an atom beside its own image: PART -1, its occupancy shared with its images"
        if any(i == j for i, j in pairs)
        else ""
    )
    return (
        f"whole atoms closer than any bond, outside PART: {'; '.join(shown[:SHOWN])}{more} "
        "(undeclared disorder, or an atom where another is: put alternatives in PART 1 and 2 "
        f"on a free variable, or remove the wrong one{own}); the model is kept as it is"
    )


def _whole(site) -> bool:
    return sum(atom.occupancy for atom in site.with_mixed) >= FULL


def _same_pivot(structure: Structure, i: int, j: int) -> bool:
    """Whether H sites i and j ride on one atom: the same nearest non-H within a bond."""
    pivots = []
    for contacts in neighbours(structure, H_BOND_MAX, centres=[i, j]):
        heavy = [c for c in contacts if not structure.sites[c.j].is_peak]
        heavy = [c for c in heavy if not is_hydrogen(structure.sites[c.j].element)]
        pivots.append(heavy[0].j if heavy else None)
    return pivots[0] is not None and pivots[0] == pivots[1]


def _dihydrogen(structure: Structure, i: int, j: int, distance: float) -> bool:
    """Whether H sites i and j are an H2 molecule: as far apart as H2's bond (0.74 Å free, to
    about 0.95 Å side-on on a metal) and neither bonded to a non-metal but the other."""
    if not (DIHYDROGEN[0] <= distance <= DIHYDROGEN[1]):
        return False
    for contacts in neighbours(structure, H_BOND_MAX, centres=[i, j]):
        for contact in contacts:
            other = structure.sites[contact.j]
            if not (other.is_peak or is_hydrogen(other.element) or is_metal(other.element)):
                return False
    return True


def _operator(structure: Structure, contact) -> str:
    """The image's symmetry operator with its lattice shift, as a CIF or checkCIF writes it
    (-x+1,-y,-z): which copy of the atom is meant."""
    from cctbx import sgtbx

    operator = sgtbx.rt_mx(structure.symops[contact.op])
    shift = sgtbx.tr_vec(tuple(int(t) for t in contact.shift), 1)
    moved = sgtbx.rt_mx(sgtbx.rot_mx(), shift.new_denominator(operator.t().den()))
    return moved.multiply(operator).as_xyz()
