"""Turn H counts into riding H sites (with AFIX codes) on a structure, using its connectivity."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from crystalx_core.elements import is_hydrogen
from crystalx_core.geometry import Contact, connectivity, neighbours
from crystalx_core.hydrogens import (NON_METALS, Density, _perpendicular, choose_hfix, h_label,
                                     place_ammonium_hydrogens, place_hydrogens, place_water_hydrogens)
from crystalx_core.residues import bare_label, residue_suffix
from crystalx_core.structure import Site, Structure

WATER_OH = 0.84  # Å, X-ray O–H for DFIX
WATER_HH = 1.36  # Å, H···H for DANG (H–O–H ≈ 104.5°)
ACCEPTOR_RANGE = (2.5, 3.2)  # Å, donor···acceptor distances worth pointing an H at
RIDING_U_FACTOR = {137: 1.5, 147: 1.5, 33: 1.5}  # SHELXL: 1.5 Ueq for CH3/OH, else 1.2
H_BOND_MAX = 1.3  # Å: an H this close to a non-H atom is bonded to it (S–H ≈ 1.2 Å)
# Donor···acceptor (O, N) at most this long is a short, strong hydrogen bond (hydrogen maleate
# O···O 2.40 Å, acid salts, enols): its H sits far from the riding distance, often midway, so
# it is taken from the difference map and refined freely, as crystallographers do.
STRONG_HBOND = 2.50
_STRONG_HBOND_CLEARANCE = 0.75  # Å: the H is searched no closer than this to donor or acceptor
_STRONG_HBOND_SEARCH = 0.3  # Å: and no further than this off the donor–acceptor line
_ONE_THREE = 1.9  # Å: an atom this close to the donor's neighbour is bonded to it


@dataclass
class HydrogenPlan:
    structure: Structure  # input atoms (old H removed) with the new H sites after their pivots
    codes: dict[str, int]  # pivot label → HFIX code (0 for restrained water)
    # pivot label → why its H were not placed, or how they were (restrained, disordered)
    notes: dict[str, str] = field(default_factory=dict)
    restraints: list[str] = field(default_factory=list)  # DFIX/DANG lines for water


def add_riding_hydrogens(structure: Structure, h_counts: dict[int, int],
                         given: dict[int, tuple[list[np.ndarray], int | None]] | None = None,
                         density: Density | None = None) -> HydrogenPlan:
    """Place `h_counts[i]` hydrogens on site i; sites absent from h_counts get none.

    Existing H atoms are replaced. Rotating donor groups (OH, NH3+) and water are turned to
    their best hydrogen bonds. Every atom that should carry H but cannot be given a
    geometry is reported in `notes`, never dropped silently. `given[i]` = (Cartesian H
    positions, AFIX code or None) keeps known H of site i where they are instead.
    `density` (an Fo − Fc map of the model without H) turns rotating groups and water to
    where the data put their H, as SHELXL's HFIX 137/147 Fourier search does. On a special
    position the site symmetry is respected: an XH3 is disordered over it (see site_operators).
    A metal never carries riding H: a count on it (the hydrogen model's answer) becomes a note.
    """
    given = given or {}
    heavy = structure.with_sites([s for s in structure.sites if not is_hydrogen(s.element) and not s.is_peak])
    old_index = {id(s): i for i, s in enumerate(structure.sites)}
    bonds = connectivity(heavy)
    temperature = heavy.temperature_c if heavy.temperature_c is not None else 20.0
    plan = HydrogenPlan(structure=heavy, codes={})
    sites: list[Site] = []
    placed: list[np.ndarray] = []  # Cartesian H positions so far, to keep donors apart
    used_labels = {s.label.upper() for s in heavy.sites}
    h_element = "D" if "D" in heavy.sfac and "H" not in heavy.sfac else "H"  # a deuterated compound
    for i, site in enumerate(heavy.sites):
        sites.append(site)
        n_h = h_counts.get(old_index[id(site)], 0)
        if n_h <= 0:
            continue
        if site.element not in NON_METALS and old_index[id(site)] not in given:
            plan.notes[site.label] = (f"{n_h} H asked on the metal {site.element}: metals carry no riding H; "
                                      "locate a hydride in the difference map and refine it (DFIX)")
            continue
        pivot = heavy.cartesian(site.frac)
        neighbours = _distinct([(heavy.sites[c.j].element, c.cart_j) for c in bonds[i]])
        second = _second_neighbours(heavy, bonds, bonds[i][0]) if len(bonds[i]) == 1 else None
        code, note = choose_hfix(site.element, n_h, pivot, neighbours, second_neighbours=second)
        known, known_code = given.get(old_index[id(site)], (None, None))
        operators = site_operators(heavy, site.frac)
        strong = _strong_hbond_hydrogen(heavy, i, pivot, [xyz for _, xyz in neighbours], density) \
            if known is None and n_h == 1 and site.element in ("O", "N") else None
        if known is not None:
            positions, code = known, code if known_code is None else known_code
        elif strong is not None:
            positions, code, note = [strong[0]], 0, strong[1]
        else:
            try:
                positions = _positions(heavy, i, site, code, n_h, pivot, neighbours, second, placed, temperature,
                                       operators, density)
            except ValueError as error:  # hydrogens._unit: atoms on top of each other
                positions, note = None, f"no H placed: {error}"
        if positions is None:
            plan.notes[site.label] = note or f"no riding model for {site.element} with {n_h} H"
            continue
        occupancy = site.occupancy
        if operators and code == 0:  # no AFIX group to keep whole: H made by the symmetry go
            positions = _unique_under(operators, pivot, positions)
        elif operators and code // 10 in (3, 13) and known is None:  # XH3 disordered over the site symmetry
            occupancy = site.occupancy / (len(operators) + 1)
            plan.notes[site.label] = (f"XH3 on a special position: disordered over its site symmetry, "
                                      f"{n_h} H at occupancy {occupancy:.3g}")
        labels = _free_labels(site.label, len(positions), used_labels, h_element)
        u_iso = RIDING_U_FACTOR.get(code, 1.2) * site.u_iso
        sites.extend(Site(label=lab, element=h_element, frac=tuple(heavy.fractional(xyz)), u_iso=u_iso,
                          occupancy=occupancy, part=site.part, afix=code)
                     for lab, xyz in zip(labels, positions))
        placed.extend(positions)
        plan.codes[site.label] = code
        if code == 0:
            plan.notes[site.label] = note or f"{site.element}H{n_h}: restrained, not riding"
            if strong is None:
                plan.restraints.extend(_restraints(site.label, labels))
    plan.structure = heavy.with_sites(sites)
    if placed and h_element not in heavy.sfac:  # the formula left H out: the H we add still need an SFAC
        plan.structure = replace(plan.structure, sfac=[*heavy.sfac, "H"], unit=[*heavy.unit, 0.0])
    return plan


def ride_existing_hydrogens(structure: Structure, codes_by_h_label: dict[str, int] | None = None) -> HydrogenPlan:
    """The structure's own H atoms as riding groups: each H joins its nearest non-H atom
    within bonding distance, keeps its position, and rides with the code given for its label
    (e.g. the AFIX of a published .res) or else the code the pivot's geometry calls for.
    A published H model then refines under exactly the settings of a placed one."""
    codes_by_h_label = {k.upper(): v for k, v in (codes_by_h_label or {}).items()}
    h_index = [i for i, s in enumerate(structure.sites) if is_hydrogen(s.element)]
    pivots = [i for i, s in enumerate(structure.sites) if not is_hydrogen(s.element) and not s.is_peak]
    nearest: dict[int, tuple[float, int, np.ndarray]] = {}  # H index → (distance, pivot, H xyz near pivot)
    for i, near in zip(pivots, neighbours(structure, H_BOND_MAX, centres=pivots)):
        for c in near:
            if c.j in h_index and (c.j not in nearest or c.distance < nearest[c.j][0]):
                nearest[c.j] = (c.distance, i, c.cart_j)
    given: dict[int, tuple[list[np.ndarray], int | None]] = {}
    for j, (_, i, xyz) in sorted(nearest.items()):
        positions, _ = given.setdefault(i, ([], None))
        positions.append(xyz)
        code = codes_by_h_label.get(structure.sites[j].label.upper())
        if code is not None:
            given[i] = (positions, code)
    plan = add_riding_hydrogens(structure, {i: len(p) for i, (p, _) in given.items()}, given)
    orphans = [structure.sites[j].label for j in h_index if j not in nearest]
    if orphans:
        plan.notes["(none)"] = "H without a non-H atom within %.1f Å left out: %s" % (H_BOND_MAX, " ".join(orphans))
    return plan


def _distinct(neighbours: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """One neighbour per position: the parts of a disordered site sharing one position
    (EXYZ, as C23/C23X of COD 2103700) are one bond, not two that cancel."""
    kept: list[tuple[str, np.ndarray]] = []
    for element, xyz in neighbours:
        if all(np.linalg.norm(xyz - other) >= SAME_SITE for _, other in kept):
            kept.append((element, xyz))
    return kept


def _positions(structure, i, site, code, n_h, pivot, neighbours, second, placed, temperature, operators,
               density=None):
    """Idealised H positions for one atom, or None when no model applies."""
    bonded = [xyz for _, xyz in neighbours]
    if code == 0:
        rigid = {("O", 2): place_water_hydrogens, ("N", 4): place_ammonium_hydrogens}.get((site.element, n_h))
        if rigid is None:
            return None
        return rigid(pivot, _acceptors(structure, i), bonded=bonded, known_hydrogens=placed, density=density)
    donor = code in (137, 147) and site.element in ("N", "O", "S")
    return place_hydrogens(code, pivot, bonded, n_h, site.element, second_neighbours=second,
                           acceptors=_acceptors(structure, i) if donor else None,
                           known_hydrogens=placed, temperature_c=temperature, density=density,
                           site_operators=operators)


def _strong_hbond_hydrogen(structure: Structure, i: int, pivot: np.ndarray, bonded: list[np.ndarray],
                           density) -> tuple[np.ndarray, str] | None:
    """(H position, note) for the one H of site i when it donates to an O or N within
    STRONG_HBOND: the highest difference density near the donor–acceptor line, at least
    _STRONG_HBOND_CLEARANCE from both ends. None without a map or such an acceptor. Atoms
    bonded to one of the donor's `bonded` neighbours (the other O of a carboxylate, 2.2 Å
    away) are not acceptors."""
    if density is None:
        return None
    near = [c for c in neighbours(structure, STRONG_HBOND, centres=[i])[0]
            if c.distance > H_BOND_MAX and structure.sites[c.j].element in ("O", "N")
            and all(np.linalg.norm(c.cart_j - b) > _ONE_THREE for b in bonded)]
    if not near:
        return None
    acceptor = min(near, key=lambda c: c.distance)
    axis = (acceptor.cart_j - pivot) / acceptor.distance
    side = _perpendicular(axis, None)
    other = np.cross(axis, side)
    along = np.arange(_STRONG_HBOND_CLEARANCE, acceptor.distance - _STRONG_HBOND_CLEARANCE + 1e-9, 0.02)
    offsets = np.arange(-_STRONG_HBOND_SEARCH, _STRONG_HBOND_SEARCH + 1e-9, 0.05)
    t, u, v = (g.ravel() for g in np.meshgrid(along, offsets, offsets, indexing="ij"))
    keep = u ** 2 + v ** 2 <= _STRONG_HBOND_SEARCH ** 2
    points = pivot + t[keep, None] * axis + u[keep, None] * side + v[keep, None] * other
    best = points[int(np.argmax(density(points)))]
    return best, (f"H in a short hydrogen bond to {structure.sites[acceptor.j].label} "
                  f"({acceptor.distance:.2f} Å): placed on the difference-map maximum, refined freely")


SAME_SITE = 0.1  # Å: an atom this close to its own image is on a special position


def site_operators(structure: Structure, frac) -> list[np.ndarray]:
    """Cartesian rotations (about the site) of the symmetry operators that map the site at
    `frac` onto itself, the identity left out: empty for a general position."""
    frac = np.asarray(frac, dtype=float)
    ortho = structure.orthogonalisation
    to_frac = np.linalg.inv(ortho)
    found = []
    for rotation, translation in structure.symmetry_matrices():
        if np.allclose(rotation, np.eye(3)):
            continue  # identity and pure centring translations move no H about the site
        moved = rotation @ frac + translation - frac
        if np.linalg.norm(ortho @ (moved - np.round(moved))) < SAME_SITE:
            found.append(ortho @ rotation @ to_frac)
    return found


def _unique_under(operators: list[np.ndarray], pivot: np.ndarray, positions) -> list[np.ndarray]:
    """The H of one group without those the site symmetry generates from another of them:
    of a water on a 2-fold axis only one H is in the asymmetric unit, the other is its image."""
    kept: list[np.ndarray] = []
    for h in positions:
        images = [pivot + rotation @ (np.asarray(h) - pivot) for rotation in operators]
        if not any(np.linalg.norm(image - k) < SAME_SITE for image in images for k in kept):
            kept.append(np.asarray(h))
    return kept


def _restraints(pivot: str, labels: list[str]) -> list[str]:
    """DFIX on every X–H and DANG on every H···H of a group that has no riding model (water, NH4+)."""
    lines = ["DFIX %.2f %s" % (WATER_OH, " ".join(f"{pivot} {h}" for h in labels))]
    lines += ["DANG %.2f %s %s" % (WATER_HH, a, b) for k, a in enumerate(labels) for b in labels[k + 1:]]
    return lines


def _free_labels(pivot_label: str, n_h: int, used: set[str], element: str = "H") -> list[str]:
    labels = [h_label(pivot_label, k, n_h, element) for k in range(n_h)]
    for k, label in enumerate(labels):
        base, residue, suffix = bare_label(label), residue_suffix(label), 0
        while label.upper() in used:
            suffix += 1
            label = f"{base[:3]}{suffix}{residue}"
        labels[k] = label
        used.add(label.upper())
    return labels


def _second_neighbours(structure: Structure, bonds: list[list[Contact]], contact: Contact) -> list[np.ndarray]:
    """Bonded atoms of the pivot's single neighbour (other than the pivot), in the pivot's frame."""
    rot, tran = structure.symmetry_matrices()[contact.op]
    out = []
    for c in bonds[contact.j]:
        frac_in_j_frame = structure.fractional(c.cart_j)
        frac = rot @ frac_in_j_frame + tran + np.asarray(contact.shift)
        xyz = structure.cartesian(frac)
        if np.linalg.norm(xyz - structure.cartesian(structure.sites[contact.i].frac)) > 0.5:
            out.append(xyz)
    return out


def _acceptors(structure: Structure, i: int) -> list[np.ndarray]:
    """N, O, F, Cl atoms (any image) at hydrogen-bond distance from site i, nearest first."""
    lo, hi = ACCEPTOR_RANGE
    found = [c for c in neighbours(structure, hi, centres=[i])[0]
             if lo <= c.distance <= hi and structure.sites[c.j].element in ("N", "O", "F", "Cl")]
    return [c.cart_j for c in sorted(found, key=lambda c: c.distance)]
