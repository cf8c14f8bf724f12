"""Periodic neighbour search, bonds and angles in a crystal.

Every site is expanded by every space-group operator into the unit cell; images of one
site that coincide (a site on a special position) are kept once. The unit cell is then
repeated over enough lattice translations to cover the search radius and searched with a
k-d tree, so the result is exact for any radius and any cell, however small.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from crystalx_core.elements import covalent_radius, is_hydrogen, is_metal
from crystalx_core.errors import InputError
from crystalx_core.structure import Structure

# Å: two images of one site closer than this are one atom (a special position). Small on
# purpose: refinements keep sites a few hundredths of an Å off an axis as two half-sites
# (PART -1 disorder in SXF_I43d, 0.018 Å off a 2-fold), and 0.02 Å reproduces the CIF's
# own _atom_site_site_symmetry_order for all 2,736 sites in shared/data that state one.
SAME_POSITION = 0.02
MIN_BOND = 0.5  # Å: shorter contacts are overlapping sites (disorder, split peaks), not bonds
# Å: two atoms closer are two places of one disordered atom, whether or not a PART says so: no
# bond between non-H atoms is shorter (C≡O and N≡N 1.10 Å, 1.07 as X-ray data shorten them)
# and no two H of one model come this close (geminal H···H 1.5 Å)
OVERLAP = 1.0


@dataclass(slots=True, eq=False)
class Contact:
    """Site `j` seen from site `i` as the image R_op @ frac_j + t_op + shift.

    No value equality (cart_j is an array): compare (j, op, shift) instead.
    """

    i: int
    j: int
    op: int
    shift: tuple[int, int, int]
    distance: float
    cart_j: np.ndarray


@dataclass(frozen=True)
class _Images:
    """The distinct symmetry images of all sites, wrapped into [0, 1)."""

    site: np.ndarray  # (m,) site index
    op: np.ndarray  # (m,) operator index
    shift: np.ndarray  # (m, 3) lattice shift that wrapped the image into the cell
    frac: np.ndarray  # (m, 3) wrapped fractional position


def _distinct_ops(
    images: np.ndarray, orth: np.ndarray, identity: int, tolerance: float
) -> np.ndarray:
    """Mask (sites, ops) keeping one operator per distinct image of each site.

    The identity comes first, so a site on a general position keeps every operator and a
    site on a special position keeps its own (identity) image plus one per distinct mate.
    """
    n_sites, n_ops, _ = images.shape
    order = [identity] + [k for k in range(n_ops) if k != identity]
    ordered = images[:, order]
    earlier = np.tril(np.ones((n_ops, n_ops), dtype=bool), k=-1)
    keep = np.empty((n_sites, n_ops), dtype=bool)
    chunk = max(1, 2_000_000 // (n_ops * n_ops))
    for start in range(0, n_sites, chunk):
        block = ordered[start : start + chunk]
        diff = block[:, :, None, :] - block[:, None, :, :]
        diff -= np.round(diff)
        close = np.einsum("...a,ba->...b", diff, orth)
        close = np.einsum("...a,...a->...", close, close) < tolerance**2
        keep[start : start + chunk, order] = ~np.any(close & earlier, axis=2)
    return keep


def identity_operator(structure: Structure) -> int:
    """Index of x,y,z in the operator list."""
    for k, (rot, tran) in enumerate(structure.symmetry_matrices()):
        if np.allclose(rot, np.eye(3)) and np.allclose(tran, 0):
            return k
    raise InputError("the symmetry operators do not include x,y,z", structure.source or None)


def _expand(structure: Structure, tolerance: float = SAME_POSITION) -> _Images:
    matrices = structure.symmetry_matrices()
    rot = np.array([r for r, _ in matrices])
    tran = np.array([t for _, t in matrices])
    images = np.einsum("oab,nb->noa", rot, structure.frac_array) + tran  # (sites, ops, 3)
    keep = _distinct_ops(
        images, structure.orthogonalisation, identity_operator(structure), tolerance
    )
    site, op = np.nonzero(keep)
    chosen = images[site, op]
    shift = -np.floor(chosen)
    return _Images(site=site, op=op, shift=shift.astype(int), frac=chosen + shift)


def site_multiplicities(structure: Structure, tolerance: float = SAME_POSITION) -> list[int]:
    """Number of distinct images of each site in the unit cell (the Wyckoff multiplicity);
    images closer than `tolerance` Å count as one."""
    images = _expand(structure, tolerance)
    return np.bincount(images.site, minlength=len(structure.sites)).tolist()


def chemical_occupancies(structure: Structure, crystallographic: list[float]) -> list[float]:
    """SHELX's sof (and Olex2's occupancy) carry the site-symmetry factor, 0.5 for a full atom
    on an inversion centre: × group order / multiplicity gives the chemical occupancy, 1."""
    order = len(structure.symops)
    return [
        occupancy * order / multiplicity
        for occupancy, multiplicity in zip(crystallographic, site_multiplicities(structure))
    ]


def crystallographic_occupancies(structure: Structure) -> list[float]:
    """Each site's occupancy as SHELX's sof and Olex2 hold it, 0.5 for a full atom on a
    mirror: chemical_occupancies undone (× multiplicity / group order)."""
    order = len(structure.symops)
    return [
        site.occupancy * multiplicity / order
        for site, multiplicity in zip(structure.sites, site_multiplicities(structure))
    ]


def neighbours(
    structure: Structure,
    radius: float,
    centres: list[int] | None = None,
    include_self_images: bool = True,
) -> list[list[Contact]]:
    """Every image of every site within `radius` Å of each centre site, nearest first.

    The centre itself is left out; its other symmetry images are included unless
    `include_self_images` is False. One list per centre (default: all sites, in order).
    The lists for all sites are kept for the next calls with the same geometry and radius
    (_RECENT), which then only look them up: one job asks for the same ones many times
    (every model pass, the bonds, each donor's acceptors), which made a 5,000-atom job
    quadratic.
    """
    if not structure.sites:
        return [[] for _ in (centres or ())]
    key = (
        tuple(structure.cell),
        tuple(structure.symops),
        structure.frac_array.tobytes(),
        float(radius),
        bool(include_self_images),
    )
    with _RECENT_LOCK:
        every = _RECENT.pop(key, None)
    if every is None and centres is not None:  # a few centres of a new geometry: those alone
        return _neighbours(structure, radius, list(centres), include_self_images)
    if every is None:
        every = _neighbours(
            structure, radius, list(range(len(structure.sites))), include_self_images
        )
    with _RECENT_LOCK:
        _RECENT[key] = every  # now the most recent
        while len(_RECENT) > _RECENT_SIZE:
            _RECENT.pop(next(iter(_RECENT)))
    return [list(every[i]) for i in (range(len(every)) if centres is None else centres)]


_RECENT: dict[tuple, list[list[Contact]]] = {}  # the last neighbour lists, oldest first
_RECENT_SIZE = 4
_RECENT_LOCK = threading.Lock()


def _neighbours(
    structure: Structure, radius: float, centres: list[int], include_self_images: bool
) -> list[list[Contact]]:
    if not centres:
        return []
    orth = structure.orthogonalisation
    images = _expand(structure)

    # lattice translations that can bring an image within `radius` of a centre in the cell;
    # of the translated images only those within `margin` (the fractional extent of a
    # sphere of that radius) of the cell can: the rest would make the tree 27 cells big
    margin = radius * np.linalg.norm(np.linalg.inv(orth), axis=1) + 1e-9
    reach = np.ceil(margin).astype(int)
    grid = np.stack(
        np.meshgrid(*(np.arange(-k, k + 1) for k in reach), indexing="ij"), axis=-1
    ).reshape(-1, 3)
    point_frac = (images.frac[None, :, :] + grid[:, None, :]).reshape(-1, 3)
    near = np.all((point_frac >= -margin) & (point_frac < 1 + margin), axis=1)
    point_frac = point_frac[near]
    point_image = np.tile(np.arange(len(images.site)), len(grid))[near]
    point_cell = np.repeat(grid, len(images.site), axis=0)[near]

    centre_frac = structure.frac_array[centres]
    centre_cell = np.floor(centre_frac)
    tree = cKDTree(point_frac @ orth.T)
    hits = tree.query_ball_point((centre_frac - centre_cell) @ orth.T, radius)

    which = np.repeat(np.arange(len(centres)), [len(h) for h in hits])
    points = np.concatenate([np.asarray(h, dtype=int) for h in hits])
    image = point_image[points]
    shift = images.shift[image] + point_cell[points] + centre_cell[which].astype(int)
    cart_j = (point_frac[points] + centre_cell[which]) @ orth.T
    distance = np.linalg.norm(cart_j - structure.cartesian(centre_frac)[which], axis=1)

    site_i = np.asarray(centres)[which]
    site_j = images.site[image]
    keep = (site_j != site_i) | (include_self_images & (distance >= SAME_POSITION))
    order = np.nonzero(keep)[0]
    order = order[np.lexsort((distance[order], which[order]))]

    result: list[list[Contact]] = [[] for _ in centres]
    shifts = list(map(tuple, shift[order].tolist()))
    for c, i, j, op, s, d, xyz in zip(
        which[order].tolist(),
        site_i[order].tolist(),
        site_j[order].tolist(),
        images.op[image[order]].tolist(),
        shifts,
        distance[order].tolist(),
        cart_j[order],
    ):
        result[c].append(Contact(i, j, op, s, d, xyz))
    return result


def may_bond(part_i: int, part_j: int, symmetry_image: bool = False) -> bool:
    """SHELX PART rules: parts 1 and 2 never bond; a negative PART bonds to no
    symmetry-generated atom of a non-zero PART (disorder about a special position)."""
    if part_i and part_j and part_i != part_j:
        return False
    return not (symmetry_image and part_i and part_j and min(part_i, part_j) < 0)


def contact_may_bond(sites, c: Contact, identity: int) -> bool:
    """may_bond for a contact from neighbours: an image by any operator but `identity`
    (identity_operator) or by a lattice shift is symmetry-generated."""
    return may_bond(sites[c.i].part, sites[c.j].part, c.op != identity or any(c.shift))


def connectivity(
    structure: Structure, tolerance: float = 0.4, max_bond: float = 3.2
) -> list[list[Contact]]:
    """Bonds of each site: d < r_cov(i) + r_cov(j) + tolerance, between 0.5 Å and `max_bond`.

    Peaks count as carbon; two H never bond; PART rules as in SHELXL.
    """
    sites = structure.sites
    radii = [covalent_radius(s.element or "C") for s in sites]
    identity = identity_operator(structure)
    bonds = []
    for contacts in neighbours(structure, max_bond):
        kept = []
        for c in contacts:
            a, b = sites[c.i], sites[c.j]
            if not MIN_BOND < c.distance < radii[c.i] + radii[c.j] + tolerance:
                continue
            if is_hydrogen(a.element) and is_hydrogen(b.element):
                continue
            if contact_may_bond(sites, c, identity):
                kept.append(c)
        bonds.append(kept)
    return bonds


RING_REACH = 3.3  # Å: every atom of a six-ring lies this close to each member (para 2 × 1.55 Å)


def six_rings(
    structure: Structure,
    k: int,
    member=lambda element: True,
    contacts: list[Contact] | None = None,
) -> list[np.ndarray]:
    """The six-membered rings through site `k`, each as the (6, 3) Cartesian positions of its
    atoms in ring order starting at site k, found among the images within RING_REACH of it.
    Bonds as connectivity makes them (PART rules included, an image by another operator or
    a lattice shift being symmetry-generated); `member(element)` says which atoms may be ring
    atoms (a ring through a metal is a chelate, not a ring of the molecule). `contacts`: site
    k's neighbours within RING_REACH, where the caller has them for every site at once."""
    sites = structure.sites
    if not member(sites[k].element or "C"):
        return []
    if contacts is None:
        contacts = neighbours(structure, RING_REACH, [k])[0]
    contacts = [c for c in contacts if member(sites[c.j].element or "C")]
    identity = identity_operator(structure)
    keys = [(k, identity, (0, 0, 0))] + [(c.j, c.op, tuple(c.shift)) for c in contacts]
    pos = np.array([structure.cartesian(sites[k].frac)] + [c.cart_j for c in contacts])
    which = [k] + [c.j for c in contacts]
    radii = np.array([covalent_radius(sites[j].element or "C") for j in which])
    gap = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    bonded = (gap > MIN_BOND) & (gap < radii[:, None] + radii[None] + 0.4)
    for a in range(len(which)):
        for b in range(a + 1, len(which)):
            image = keys[a][1:] != keys[b][1:]
            if bonded[a, b] and not may_bond(sites[which[a]].part, sites[which[b]].part, image):
                bonded[a, b] = bonded[b, a] = False
    rings, seen = [], set()

    def walk(path):
        if len(path) == 6:
            if bonded[path[-1], 0] and frozenset(path) not in seen:
                seen.add(frozenset(path))
                rings.append(pos[path])
            return
        for nxt in np.flatnonzero(bonded[path[-1]]):
            if nxt not in path:
                walk(path + [int(nxt)])

    walk([0])
    return rings


def ring_planarity(ring: np.ndarray) -> float:
    """The root-mean-square distance (Å) of the ring atoms from their least-squares plane,
    the mean-plane deviation that Olex2 and PLATON report."""
    centred = ring - ring.mean(axis=0)
    normal = np.linalg.svd(centred)[2][-1]
    return float(np.sqrt(np.mean((centred @ normal) ** 2)))


# Å: the ring atoms' r.m.s. distance from their mean plane at most: nearer flat (0) than a
# chair (every atom 0.25 Å off). Of the 4,500 C with two or three neighbours in six-rings of
# the usable corpus entries, the rings of those carrying two H lie 0.10 Å or more off (that
# one with bonds 0.25 Å apart), most 0.23; with bonds alike, any limit from 0.06 to 0.125 Å
# finds the same rings there. SXF_I43d's quarter-occupied benzene lies 0.06 Å off.
AROMATIC_FLAT = 0.125
# Å: longest minus shortest ring bond at most. This is what tells a flat ring holding a CH2
# from an aromatic one: the CH2's C–C single bonds (1.50 Å) against the aromatic 1.39 differ
# by 0.11 Å (Allen et al. 1987, J. Chem. Soc. Perkin Trans. 2, S1), aromatic bonds among
# themselves by a few hundredths (pyridine's C–N 1.34 beside C–C 1.39). The corpus has no
# flat six-ring holding a CH2 to set it by; of its 2,682 ring CH in flat rings 157 have a
# spread over 0.10 Å (319 over 0.08), and leave the aromatic rule for the bond-length rules.
AROMATIC_SPREAD = 0.10
RING_ATOMS = ("C", "N")  # the atoms of the aromatic six-rings the rules know


def flat_ring_sites(
    structure: Structure,
    bonds: list[list[Contact]],
    spread: float | None = None,
    candidates: set[int] | None = None,
) -> set[int]:
    """The C and N sites (of `candidates`, default all) with two or three non-metal neighbours
    in `bonds` that lie in a six-ring of C and N flat to AROMATIC_FLAT, its bonds alike to
    `spread` (longest minus shortest) where one is given. Flatness is what a crystallographer
    reads where disorder or restraints spoil a ring's bond lengths."""
    sites = structure.sites
    wanted = [
        k
        for k, (site, contacts) in enumerate(zip(sites, bonds))
        if (candidates is None or k in candidates)
        and site.element in RING_ATOMS
        and sum(1 for c in contacts if not is_metal(sites[c.j].element)) in (2, 3)
    ]
    if not wanted:
        return set()
    reach = neighbours(structure, RING_REACH, wanted)  # once for all: per site it was quadratic
    found = set()
    for k, contacts in zip(wanted, reach):
        for ring in six_rings(structure, k, lambda element: element in RING_ATOMS, contacts):
            lengths = np.linalg.norm(ring - np.roll(ring, -1, axis=0), axis=1)
            alike = spread is None or lengths.max() - lengths.min() <= spread
            if ring_planarity(ring) <= AROMATIC_FLAT and alike:
                found.add(k)
                break
    return found


def one_alternative(structure: Structure, bonds: list[list[Contact]]) -> list[list[Contact]]:
    """Each site's bonds as one alternative of a disordered model has them: an atom outside
    the disorder (PART 0) bonded to O3 in PART 1 and O3' in PART 2 has one of them, not both
    (connectivity keeps both, as SHELXL's PART rules allow). Of the PARTs other than the
    site's own, only the one of the largest summed occupancy among its bonds is kept (ties:
    the lowest number), so bond counts and angles are those of a model the rules know."""
    sites = structure.sites
    kept = []
    for i, contacts in enumerate(bonds):
        own = sites[i].part
        weight: dict[int, float] = {}
        for c in contacts:
            part = sites[c.j].part
            if part not in (0, own):
                weight[part] = weight.get(part, 0.0) + sites[c.j].occupancy
        if len(weight) < 2:
            kept.append(contacts)
            continue
        chosen = max(weight, key=lambda part: (weight[part], -abs(part), -part))
        kept.append([c for c in contacts if sites[c.j].part in (0, own, chosen)])
    return kept


def overlapping_sites(
    structure: Structure, within: float = OVERLAP, declared: bool = True
) -> dict[int, Contact]:
    """The atoms (Q-peaks left out) with another atom or an image of their own closer than
    `within` Å, H beside H and non-H beside non-H, each with the nearest such contact: sites a
    disordered model holds at once (two orientations of a ring, a molecule on an inversion
    centre), which no ordered model has. `declared=False` leaves out the pairs the model's
    PARTs already declare alternatives (may_bond: they never bond), so only disorder the
    model does not say remains."""
    sites = structure.sites
    identity = identity_operator(structure)
    found = {}
    # all sites, not just the atoms: those lists are kept for the next call (_RECENT)
    for i, contacts in enumerate(neighbours(structure, within)):
        if sites[i].is_peak:
            continue
        close = [
            c
            for c in contacts
            if not sites[c.j].is_peak
            and is_hydrogen(sites[c.j].element) == is_hydrogen(sites[i].element)
            and (declared or contact_may_bond(sites, c, identity))
        ]
        if close:
            found[i] = close[0]
    return found


# A metal site outside any PART whose occupancy (its own and any mixed atoms' together) is under
# half that of the atom beside it is empty in most cells that hold that atom: a vacancy's few
# percent of metal, as the octahedral M1 of COD 1552546's muscovite (Al at 0.064, 2.19 Å from
# the μ2-OH OH05, whose one H points into that site: published H13 1.3 Å from it). What the atom
# holds in most cells is read without it: its H may stand where the metal sits in the rest. A
# partly occupied metal beside a ligand as partly occupied (sfarchiv2_2004954's Re4b and its
# oxo O44b, both 0.423, no PART) is there whenever the ligand is, and is kept.
VACANT = 0.5


def _filled(site) -> float:
    return sum(a.occupancy for a in site.with_mixed)


def vacant_metal(site, beside) -> bool:
    """Whether `site` is a metal site empty in most cells that hold `beside` (VACANT)."""
    return is_metal(site.element) and site.part == 0 and _filled(site) < VACANT * _filled(beside)


def present_bonds(structure: Structure, site, contacts: list[Contact]) -> list[Contact]:
    """`site`'s bonds (`contacts`, from connectivity) without those to a metal site vacant
    beside it (vacant_metal): the bonds its H keep away from, and count on, in most cells."""
    return [c for c in contacts if not vacant_metal(structure.sites[c.j], site)]


def are_bonded(bonds: list[list[Contact]], i: int, j: int, distance: float) -> bool:
    """Whether site i is bonded (in `bonds`, from connectivity) to the image of site j
    `distance` Å away: an image is told from the others of j by its distance."""
    return any(b.j == j and abs(b.distance - distance) < 1e-3 for b in bonds[i])


def shares_neighbour(bonds: list[list[Contact]], contact: Contact) -> bool:
    """Whether the two ends of `contact` (site i and the image of j it names) are both bonded
    (in `bonds`, from connectivity) to one atom: a 1,3 pair, an edge of that atom's
    coordination polyhedron (two O of a sulfate, cis ligands of a metal)."""
    for b in bonds[contact.i]:
        apart = float(np.linalg.norm(b.cart_j - contact.cart_j))
        if are_bonded(bonds, contact.j, b.j, apart):
            return True
    return False


def linked_groups(linked: list[list[int]]) -> list[list[int]]:
    """Indices joined into groups (union-find), `linked[k]` the indices linked to the k-th
    (within a bond, a split atom's other part)."""
    group_of = list(range(len(linked)))

    def root(k):
        while group_of[k] != k:
            k = group_of[k]
        return k

    for k, others in enumerate(linked):
        for j in others:
            group_of[root(j)] = root(k)
    groups: dict[int, list[int]] = {}
    for k in range(len(linked)):
        groups.setdefault(root(k), []).append(k)
    return list(groups.values())


def bond_angle(a, b, c) -> float:
    """Angle a–b–c in degrees, from Cartesian points."""
    u = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    v = np.asarray(c, dtype=float) - np.asarray(b, dtype=float)
    cosine = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return math.degrees(math.acos(max(-1.0, min(1.0, float(cosine)))))


# degrees: a boron-cluster atom's cage neighbours lie 100°–130° from the direction away from
# the others, on the cluster's surface; an exo substituent (OH, Cl, alkyl) lies within 10° of it
# (all 80 cage atoms of the corpus's B structures)
EXO_ANGLE = 45.0


def exo_bond_taken(centre, neighbours) -> bool:
    """Whether one of a cluster atom's neighbours sits on its exo bond (where its H would go):
    within EXO_ANGLE of the direction away from the others."""
    units = [np.asarray(p, dtype=float) - np.asarray(centre, dtype=float) for p in neighbours]
    units = [u / np.linalg.norm(u) for u in units]
    for k, unit in enumerate(units):
        away = -sum(u for j, u in enumerate(units) if j != k)
        if np.linalg.norm(away) > 1e-6 and bond_angle(unit, np.zeros(3), away) < EXO_ANGLE:
            return True
    return False


def angle_sum(centre, neighbours) -> float:
    """Sum of the angles between every pair of bonds at `centre` (360° for a planar sp2 atom)."""
    points = list(neighbours)
    return sum(
        bond_angle(points[p], centre, points[q])
        for p in range(len(points))
        for q in range(p + 1, len(points))
    )


H_BOND_MAX = 1.3  # Å: an H this close to a C, N, O or metal is bonded to it


# Å over the sum of covalent radii (Cordero et al. 2008, gemmi's Element.covalent_r) within which
# an H is bonded to a non-metal: the margin H_BOND_MAX leaves over a C–H (0.73 + 0.31 Å), so the
# reach of C stays H_BOND_MAX and heavier atoms get the same margin over their longer bonds:
# P 1.64 Å (P–H refined 1.32-1.44), Si 1.68 (1.40-1.50), B 1.41 (bridging B–H–B 1.25-1.40), Ge
# 1.77, As 1.76 (~1.5). The form is the connectivity rule of the CSD and Olex2 (d < r_X + r_H +
# delta; Olex2's xlib/xmacro.cpp, delta 0.5 in xlib/lattice.cpp) with a margin that keeps the
# 1.3 Å every H count was measured at for C, N and O (and a short O-H...O decided by it).
H_REACH_MARGIN = H_BOND_MAX - covalent_radius("C") - covalent_radius("H")


# an H 1.3-2.0 Å from a halide is an H bond's (O–H···Cl) or a disorder's, not an H–X bond: H–F
# (0.92 Å) and H–Cl (1.27) lie within H_BOND_MAX, and HBr/HI are gases no structure holds
HALOGENS = frozenset({"F", "Cl", "Br", "I", "At"})


def h_reach(element: str | None) -> float:
    """Å within which an H is bonded to an atom of `element`: H_BOND_MAX, or for a non-metal
    whose covalent sum is longer (B, Si, P, S, Ge, As, Se) that sum plus H_REACH_MARGIN.
    Metals keep H_BOND_MAX: a hydride (M–H 1.5-1.9 Å) is no riding H and is read as held only
    where asked (bonded_h_contacts' `hydrides`: an input's own hydride); halogens (HALOGENS)
    keep it too: an H–Cl within 1.59 Å would be counted as held and then dropped."""
    if element is None or is_metal(element) or element in HALOGENS:
        return H_BOND_MAX
    return max(H_BOND_MAX, covalent_radius(element) + covalent_radius("H") + H_REACH_MARGIN)


H_IMAGE_TOLERANCE = 0.02  # Å: images of one H this much further than its nearest are another bond
# Å: an H no atom holds within its reach and a metal holds within this is that metal's hydride
# (terminal M–H refined 1.44-1.75 Å, bridging up to 1.9: COD 2004877's Ir–H 1.44, 1.46; the Ru–H
# of cod-tools' no_Z_valid_estimation 1.53)
HYDRIDE_REACH = 2.0


def bonded_h_contacts(
    structure: Structure, max_distance: float | None = None, hydrides: bool = False
) -> dict[int, list[Contact]]:
    """Non-H site → its contacts to the H it holds, each H site held by one atom (peaks neither
    hold nor are H): the nearest non-H site within its reach (h_reach of its element, or
    `max_distance` for every element) that SHELX's PART rules let it
    bond to (contact_may_bond), as riding hangs it on one pivot and UNIT counts it once; a tie
    goes to the first in site order. Of that atom's contacts to the H's images, only those
    within H_IMAGE_TOLERANCE of the nearest count: the images a site symmetry makes (a water on
    a twofold axis, a methyl on a threefold) are at one distance, while an O-H...O' to an image
    of the same O puts the H's other image 0.1 Å or more further, another bond of the same H.
    So a bridging H on a special position (O-H-O' about an inversion centre) counts whole for
    its O, not the half UNIT has; bridging hydrides (M-H 1.6-1.9 Å) lie beyond a metal's reach,
    unless `hydrides`: then an H no atom holds within its reach goes to the nearest metal within
    HYDRIDE_REACH (a model's own hydride: what the user refined on a metal is the metal's)."""
    sites = structure.sites
    heavy = [i for i, s in enumerate(sites) if not is_hydrogen(s.element) and not s.is_peak]
    identity = identity_operator(structure)
    reach = {i: h_reach(sites[i].element) if max_distance is None else max_distance for i in heavy}
    bond_reach = dict(reach)
    if hydrides and max_distance is None:
        reach.update({i: HYDRIDE_REACH for i in heavy if is_metal(sites[i].element)})
    bonded = [
        [
            c
            for c in near
            if c.distance <= reach[i]
            and is_hydrogen(sites[c.j].element)
            and not sites[c.j].is_peak
            and contact_may_bond(sites, c, identity)
        ]
        for i, near in zip(
            heavy, neighbours(structure, max(reach.values(), default=H_BOND_MAX), centres=heavy)
        )
    ]
    # H site → (beyond its holder's bond reach: a hydride, distance, holder): a bond first
    nearest: dict[int, tuple[bool, float, int]] = {}
    for i, contacts in zip(heavy, bonded):
        for c in contacts:
            rank = (c.distance > bond_reach[i], c.distance, i)
            if c.j not in nearest or rank[:2] < nearest[c.j][:2]:
                nearest[c.j] = rank
    return {
        i: held
        for i, contacts in zip(heavy, bonded)
        if (
            held := [
                c
                for c in contacts
                if nearest[c.j][2] == i and c.distance <= nearest[c.j][1] + H_IMAGE_TOLERANCE
            ]
        )
    }


def bonded_h_counts(
    structure: Structure, max_distance: float | None = None, hydrides: bool = False
) -> list[int]:
    """H atoms each non-H site holds (bonded_h_contacts: each H counted once, for its nearest
    allowed atom within its reach, ties to the first), in site order, peaks 0.

    A disordered model counts as a crystallographer reads it: only H of the site's own
    alternative (PART) or of none, and of a negative PART only in the site's own image (its
    images are the other orientations), each by its occupancy relative to the site's (at most
    one), rounded. So the H of the other orientation do not count (FC_1979688's methanol about a
    twofold axis: its O has one H, not three, its methyl three, not five), the H of a short
    O-H...O bond within reach of both O (XH_HMaMg's hydrogen maleate, 1.16 and 1.24 Å) counts
    for the nearer alone, and a methyl on a threefold axis, nine H images at a third, counts
    three; an ordered model counts whole H. `hydrides`: a metal counts its hydrides too
    (bonded_h_contacts), as a published model's metal holds them.
    """
    return held_h_counts(structure, bonded_h_contacts(structure, max_distance, hydrides))


def held_h_counts(structure: Structure, held: dict[int, list[Contact]]) -> list[int]:
    """bonded_h_counts from contacts bonded_h_contacts has found already (a caller that needs
    both finds them once)."""
    sites = structure.sites
    counts = []
    for i, pivot in enumerate(sites):
        if is_hydrogen(pivot.element):
            continue
        share = sum(min(sites[c.j].occupancy, pivot.occupancy) for c in held.get(i, []))
        counts.append(int(round(share / pivot.occupancy)) if pivot.occupancy > 0 else 0)
    return counts
