"""Riding H atoms as SHELXL places them: which HFIX code, where the H go, how to write it.

Everything here is plain geometry on Cartesian coordinates in Å (numpy arrays), so it can be
used and tested without a Structure: the caller finds the bonded atoms (including symmetry
images) and passes their positions.

The codes are SHELXL's AFIX/HFIX mn: m chooses the geometry (1 tertiary XH, 2 XH2 between two
neighbours, 3 staggered XH3, 4 aromatic/amide XH, 9 terminal planar =XH2, 13 rotating XH3,
14 rotating OH/SH, 15 polyhedral BH, 16 acetylenic CH) and n the refinement (3 riding,
7 riding with a refined torsion). The geometry follows the SHELXL manual and cctbx's
re-implementation of it (smtbx.refinement.constraints.geometrical.hydrogens), so positions
placed here are what SHELXL itself would generate in the first cycle; for the rotating
groups (137, 147) SHELXL then refines the torsion, so any sensible start will do.

Metal atoms are told apart from covalent partners: an H atom's direction is set by the covalent
framework, while contacts to metals are coordination bonds (an η5-Cp carbon bonded to Fe is
still an aromatic CH). Metals count only where the covalent framework cannot explain the H
count, as for M–CH3 or an ammine ligand.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from crystalx_core.elements import NON_METALS
from crystalx_core.geometry import exo_bond_taken
from crystalx_core.residues import bare_label, residue_suffix

# SHELXL's default X–H distances (Å) at room temperature by AFIX m and pivot element (SHELXL
# manual, AFIX; the same table is in smtbx.refinement.constraints.geometrical.hydrogens).
_ROOM_TEMPERATURE_DISTANCE = {
    1: {"C": 0.98, "N": 0.91, "B": 0.98},
    2: {"C": 0.97, "N": 0.90},
    3: {"C": 0.96, "N": 0.89},
    4: {"C": 0.93, "N": 0.86},
    9: {"C": 0.93, "N": 0.86},
    13: {"C": 0.96, "N": 0.89},
    14: {"O": 0.82, "S": 1.20},
    15: {"B": 1.10, "C": 1.10},
    16: {"C": 0.93},
}
# How many H atoms each geometry m generates, and how many bonded atoms it is built on
# (at least; polyhedral BH uses all of them, the terminal groups 3, 9, 13, 14, 16 one).
_HYDROGENS_PER_GROUP = {1: 1, 2: 2, 3: 3, 4: 1, 9: 2, 13: 3, 14: 1, 15: 1, 16: 1}
_NEIGHBOURS_USED = {1: 3, 2: 2, 4: 2, 15: 4}

# Donor···acceptor distances (Å) that count as a hydrogen bond when orienting OH, NH3+, water
# or an acceptor-pointing H.
HBOND_DISTANCE = (2.5, 3.2)
# Water O–H restrained distance for X-ray data (DFIX 0.84) and the H–O–H angle of free water.
WATER_OH = 0.84
WATER_ANGLE = 104.5
# N–H of an ammonium ion: SHELXL's N–H of an NH3+ group (no HFIX exists for NH4+ itself).
AMMONIUM_NH = 0.89
# X–H restrained (DFIX) where SHELXL has no HFIX for the group (X-ray distances, as the water's
# 0.84): a hydroxide's O–H, an imine or pyramidal amine's N–H, a free SH; a terminal B–H given
# without a code (SHELXL's AFIX 153 B–H is 1.10 Å; a bridging one the user refined is kept).
RESTRAINED_XH = {"O": WATER_OH, "N": 0.88, "S": 1.20, "B": 1.10}

DENSITY_WEIGHT = 2.0  # score per e Å⁻³ of Fo − Fc density on a trial H site
RIGID_SEARCH_DIRECTIONS = 400  # bisector directions tried for water/NH4+ against a difference map
Density = Callable[[np.ndarray], np.ndarray]  # Cartesian points (k, 3) → Fo − Fc (k,)

_TETRAHEDRAL = math.degrees(math.acos(-1.0 / 3.0))
# Bond-length and angle limits for recognising sp and sp2 partners from geometry alone.
_TRIPLE_BOND = 1.25  # C≡C 1.18–1.21 Å; C=C is 1.32 Å and longer
# Conjugated bonds are shorter: C=C 1.34, benzene 1.39, Cp 1.40–1.42, amide C–N 1.33,
# aniline C–N 1.38–1.41 Å; single C–C and C(sp3)–N bonds are 1.45 Å and longer.
_CONJUGATED_BOND = 1.43
_SP2_ANGLE = 115.0  # Y–X–Z above this means a planar (sp2) pivot with two neighbours
_PLANAR_ANGLE_SUM = 350.0  # sum of the three angles around a planar three-connected atom
# An X–H bond should make at least 100° with a bond from X to a metal (M–O–H of an aqua
# ligand is 105–125°); the H-bond score penalises anything tighter.
_COS_100 = math.cos(math.radians(100.0))


# --- choosing the code ---------------------------------------------------------------------


def has_riding_geometry(element: str | None) -> bool:
    """Whether SHELXL's HFIX codes give H on `element` a geometry (C, N, O, S, B: choose_hfix);
    an H a user refined on P, Si, Ge or As has none to ride on and is kept as refined."""
    return element in _RULES


def choose_hfix(
    element: str,
    n_h: int,
    pivot: np.ndarray,
    neighbours: Sequence[tuple[str, np.ndarray]],
    prefer_staggered: bool = False,
    second_neighbours: Sequence[np.ndarray] | None = None,
    in_flat_ring: bool = False,
) -> tuple[int, str]:
    """The SHELXL HFIX code for `n_h` H atoms on `pivot`, and a note that says why.

    `neighbours` are the bonded non-H atoms as (element, Cartesian xyz); `second_neighbours`
    are the other non-H atoms bonded to the pivot's single neighbour, used to tell a planar
    =CH2/NH2 partner from an sp3 one (without them a bond shorter than 1.43 Å decides).
    Code 0 means "no HFIX": the note then gives the reason and what to do instead, so an
    atom is never dropped silently. `prefer_staggered` asks for 33 instead of the rotating
    137 on methyl groups (for data too poor to locate the H atoms in a difference map).
    For a disordered model pass only the neighbours in the pivot's own PART and PART 0:
    atoms of the other part make the neighbour count meaningless. `in_flat_ring`: the pivot
    lies in a flat six-ring (geometry.flat_ring_sites; riding asks its bonds alike too outside
    any PART, where no disorder spoils them), so a CH or NH between two ring
    neighbours is sp2 (AFIX 43) whatever its angle and bonds, which a disordered minor part or
    a restrained ring spoils (FC_SH2185's C17B: 99.6° and bonds of 1.52 and 1.63 Å).
    """
    if n_h < 0:
        raise ValueError(f"negative H count {n_h}")
    if n_h == 0:
        return 0, "no H atoms"
    pivot = np.asarray(pivot, dtype=float)
    covalent = [np.asarray(xyz, dtype=float) for el, xyz in neighbours if el in NON_METALS]
    metals = [np.asarray(xyz, dtype=float) for el, xyz in neighbours if el not in NON_METALS]
    others = [np.asarray(xyz, dtype=float) for xyz in (second_neighbours or [])]
    rule = _RULES.get(element)
    if rule is None:
        return 0, (
            f"{element}-H{n_h}: SHELXL has no default {element}–H geometry; "
            "place from the difference map and restrain with DFIX"
        )
    in_cage = any(el == "B" for el, _ in neighbours)
    if in_flat_ring and n_h == 1 and element in ("C", "N") and len(covalent) == 2:
        return 43, f"aromatic/sp2 {element}H (flat six-ring)"
    return rule(element, n_h, pivot, covalent, metals, others, prefer_staggered, in_cage)


# One rule per pivot element, all with the same signature so choose_hfix can dispatch on it.
# `covalent`/`metals` are the neighbour positions split by element, `others` the second
# neighbours, `in_cage` whether any neighbour is boron (a carborane or borane cluster).


def _carbon(element, n_h, pivot, covalent, metals, others, prefer_staggered, in_cage):
    methyl = (33, "staggered CH3") if prefer_staggered else (137, "rotating CH3")
    n_cov = len(covalent)
    if n_h == 1:
        if n_cov >= 4 and in_cage and exo_bond_taken(pivot, covalent + metals):
            return 0, _EXO_TAKEN
        if n_cov >= 4 and in_cage:
            return 153, "cage C–H (carborane)"
        if n_cov >= 4:
            return 0, f"CH with {n_cov} neighbours and no boron: disorder parts mixed or bad bonds"
        if n_cov == 3:
            return 13, "tertiary CH"
        if n_cov == 2:
            if _is_planar_pair(pivot, covalent):
                return 43, "aromatic/sp2 CH"
            if metals:
                return 13, "tertiary CH with one metal–carbon bond"
            return 0, "CH with two sp3-like neighbours: a neighbour or an H is missing"
        if n_cov == 1 and _distance(pivot, covalent[0]) < _TRIPLE_BOND:
            return 163, "acetylenic ≡CH"
        # an alkylidene M=CH–R or vinyl M–CH=CR2: SHELXL's AFIX 43 counts the metal as the
        # second neighbour (COD 2224874's Ru=CH–Ar H41 sits on the bisector at 0.95 Å)
        if n_cov == 1 and len(metals) == 1 and _angle(metals[0], pivot, covalent[0]) > _SP2_ANGLE:
            return 43, "sp2 CH on a metal (M=CH–R, M–CH=CR2)"
        return 0, f"CH with {n_cov} non-metal neighbours and no triple bond: cannot place"
    if n_h == 2:
        if n_cov == 2:
            return 23, "secondary CH2"
        if n_cov == 1:
            if _neighbour_is_sp2(pivot, covalent[0], others):
                return 93, "terminal =CH2"
            if metals:
                return 23, "CH2 bonded to a metal (σ-alkyl)"
            return 0, "CH2 on an sp3 neighbour with nothing else bonded: an atom is missing"
        return 0, f"CH2 with {n_cov} non-metal neighbours: cannot place"
    if n_h == 3:
        if n_cov == 1:
            return methyl
        if n_cov == 0 and len(metals) == 1:
            return methyl[0], methyl[1] + " bonded to a metal"
        return 0, f"CH3 with {n_cov} non-metal and {len(metals)} metal neighbours: cannot place"
    return 0, f"CH{n_h}: no riding model; a free molecule needs restraints (DFIX/DANG)"


def _nitrogen(element, n_h, pivot, covalent, metals, others, prefer_staggered, in_cage):
    n_cov = len(covalent)
    if n_h == 1:
        if n_cov == 3:
            return 13, "tertiary ammonium N–H (R3NH+)"
        if n_cov == 2:
            if _is_planar_pair(pivot, covalent):
                return 43, "aromatic/amide N–H"
            if metals:
                return 13, "coordinated secondary amine N–H (R2NH–M)"
            return 0, "pyramidal secondary amine N–H: no HFIX; refine freely or with DFIX"
        return 0, f"NH with {n_cov} non-metal neighbours (imine or ligand): refine with DFIX"
    if n_h == 2:
        if n_cov == 2:
            return 23, "secondary ammonium NH2 (R2NH2+)"
        if n_cov == 1:
            if _neighbour_is_sp2(pivot, covalent[0], others):
                return 93, "planar amide/amine NH2"
            if metals:
                return 23, "coordinated amine NH2 (M–NH2–R)"
            return 0, "pyramidal R–NH2: SHELXL has no HFIX for it; restrain with DFIX/DANG"
        return 0, f"NH2 with {n_cov} non-metal neighbours: cannot place"
    if n_h == 3:
        if n_cov + len(metals) == 1:
            note = "NH3+" if n_cov else "ammine ligand NH3"
            return (33, "staggered " + note) if prefer_staggered else (137, "rotating " + note)
        if n_cov + len(metals) == 0:
            return 0, "free NH3 molecule: no riding model; restrain with DFIX/DANG"
        return 0, f"NH3 with {n_cov + len(metals)} neighbours: cannot place"
    if n_h == 4 and n_cov + len(metals) == 0:
        return 0, (
            "ammonium NH4+: tetrahedron from place_ammonium_hydrogens, "
            "restrained with DFIX/DANG (no HFIX)"
        )
    return 0, f"NH{n_h} with {n_cov + len(metals)} neighbours: cannot place"


def _chalcogen(element, n_h, pivot, covalent, metals, others, prefer_staggered, in_cage):
    n_cov = len(covalent)
    if n_h == 1:
        if n_cov == 1:
            return 147, "rotating OH" if element == "O" else "rotating SH"
        if n_cov == 0 and metals:
            return 0, f"{element}H bonded only to metals (hydroxide ligand): refine with DFIX"
        if n_cov == 0:
            return 0, f"free {element}H− ion: refine with DFIX"
        return 0, f"{element}H with {n_cov} non-metal neighbours (onium): refine with DFIX"
    if n_h == 2 and n_cov == 0 and element == "O":
        return 0, "water: place with DFIX/DANG, not by HFIX"
    return 0, f"{element}H{n_h} with {n_cov} non-metal neighbours: restrain with DFIX/DANG"


# AFIX 153 puts the H on the exo bond; where a substituent holds it there is no place for one
_EXO_TAKEN = (
    "a neighbour sits where the cage atom's exo H would go (a substituent, or the atom is "
    "inside its cage): no riding H; locate any in the difference map"
)


def _boron(element, n_h, pivot, covalent, metals, others, prefer_staggered, in_cage):
    n_cov = len(covalent)
    if n_h == 1 and n_cov >= 4 and exo_bond_taken(pivot, covalent + metals):
        return 0, _EXO_TAKEN
    if n_h == 1 and n_cov >= 4:
        return 153, "cage B–H (borane cluster)"
    if n_h == 1 and n_cov == 3:
        return 13, "tertiary B–H"
    return 0, f"BH{n_h} with {n_cov} neighbours: no SHELXL default; refine with DFIX"


_RULES = {"C": _carbon, "N": _nitrogen, "O": _chalcogen, "S": _chalcogen, "B": _boron}


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def _angle(a: np.ndarray, centre: np.ndarray, b: np.ndarray) -> float:
    u, v = _unit(a - centre), _unit(b - centre)
    return math.degrees(math.acos(np.clip(u @ v, -1.0, 1.0)))


def angle_sum(centre: np.ndarray, around: list[np.ndarray]) -> float:
    """The three angles at a three-connected `centre` between its neighbours `around`, summed:
    360° where it is planar (sp2), about 328° where tetrahedral."""
    return sum(_angle(around[i], centre, around[j]) for i, j in ((0, 1), (0, 2), (1, 2)))


def _is_planar_pair(pivot: np.ndarray, neighbours: list[np.ndarray]) -> bool:
    """Whether an X with two neighbours is sp2: a wide angle, or a conjugated (short) bond.

    Five-membered aromatic rings (pyrrole N–H, Cp C–H) close the angle to ~108°, so a short
    bond alone is enough; a saturated ring or chain has both bonds ≥ 1.45 Å and ~110°.
    """
    y, z = neighbours
    if _angle(y, pivot, z) > _SP2_ANGLE:
        return True
    return min(_distance(pivot, y), _distance(pivot, z)) < _CONJUGATED_BOND


def _neighbour_is_sp2(pivot: np.ndarray, neighbour: np.ndarray, others: list[np.ndarray]) -> bool:
    """Whether the single neighbour Y of a terminal XH2 is planar (C=CH2, amide or urea C–NH2).

    With Y's two other substituents known, Y must be planar; with three it is sp3; otherwise
    (none given, or Y has one other partner) the X–Y bond length decides.
    """
    if len(others) == 2:
        return angle_sum(neighbour, [pivot, *others]) > _PLANAR_ANGLE_SUM
    if len(others) >= 3:
        return False
    return _distance(pivot, neighbour) < _CONJUGATED_BOND


# --- placing the H atoms -------------------------------------------------------------------


def riding_distance(code: int, element: str, temperature_c: float = 20.0) -> float:
    """SHELXL's default X–H distance for an AFIX/HFIX code, lengthened at low temperature.

    SHELXL adds 0.01 Å below −20 °C and 0.02 Å below −70 °C (TEMP): X-ray X–H bonds look
    short partly through libration, which is smaller in a cold crystal.
    """
    m = code // 10
    table = _ROOM_TEMPERATURE_DISTANCE.get(m)
    if table is None:
        raise ValueError(f"HFIX {code}: not a hydrogen-placing code")
    if element not in table:
        raise ValueError(f"HFIX {code}: SHELXL has no default {element}–H distance")
    distance = table[element]
    if temperature_c < -70.0:
        return distance + 0.02
    if temperature_c < -20.0:
        return distance + 0.01
    return distance


def place_hydrogens(
    code: int,
    pivot: np.ndarray,
    neighbours: Sequence[np.ndarray],
    n_h: int,
    element: str,
    second_neighbours: Sequence[np.ndarray] | None = None,
    *,
    acceptors: Sequence[np.ndarray] | None = None,
    known_hydrogens: Sequence[np.ndarray] = (),
    temperature_c: float = 20.0,
    distance: float | None = None,
    density: Density | None = None,
    site_operators: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Idealised Cartesian positions (n_h, 3) of the H atoms of one HFIX group.

    `neighbours` are the bonded non-H atoms of the pivot. When more are passed than the
    geometry uses (a metal bonded to a Cp carbon), the nearest ones are taken, as covalent
    bonds are shorter than coordination bonds. `second_neighbours` are the other atoms bonded
    to the pivot's neighbour: they fix the plane of =CH2/NH2 (93) and the staggering of
    CH3/NH3/OH (33, 137, 147), staggered on the shortest such bond as in SHELXL; without them
    an arbitrary but fixed reference is used. For the rotating donor groups (137 on N, 147),
    `acceptors` (positions of potential H-bond acceptors) turn the group to the best hydrogen
    bonds instead, like SHELXL's HFIX 148 search, and `known_hydrogens` (H atoms already in
    the model) keep them clear of other H, so an acceptor that itself donates to the pivot
    is not chosen. `distance` overrides SHELXL's default. With `density` (Fo − Fc at
    Cartesian points) the rotating groups 137/147 take the torsion with the most difference
    density on their H sites, as SHELXL's circular Fourier search does, H bonds breaking ties.
    `site_operators` (Cartesian rotations about the pivot that map it onto itself: its site
    symmetry, identity left out) turn an XH onto a torsion the site symmetry maps onto itself
    (the H in the mirror), and an XH3 onto one whose images stand clear of its own H: the
    group is then disordered over the site symmetry (3 H at 1/2 occupancy on a mirror, 6 half
    H in all), as SHELXL users model a methyl on a mirror plane; see riding.py.
    """
    m = code // 10
    expected = _HYDROGENS_PER_GROUP.get(m)
    if expected is None:
        raise ValueError(f"HFIX {code}: geometry m={m} is not a riding-H geometry handled here")
    if n_h != expected:
        raise ValueError(f"HFIX {code} places {expected} H atoms, not {n_h}")
    pivot = np.asarray(pivot, dtype=float)
    near = sorted(
        (np.asarray(p, dtype=float) for p in neighbours), key=lambda p: _distance(pivot, p)
    )
    needed = _NEIGHBOURS_USED.get(m, 1)
    if len(near) < needed:
        raise ValueError(f"HFIX {code} needs {needed} bonded atoms, got {len(near)}")
    d = distance if distance is not None else riding_distance(code, element, temperature_c)

    if m == 1:
        directions = [_tertiary_direction(pivot, near[:3])]
    elif m == 2:
        directions = _secondary_directions(pivot, near[0], near[1])
    elif m == 4:
        directions = [_unit(_unit(pivot - near[0]) + _unit(pivot - near[1]))]
    elif m == 9:
        directions = _terminal_planar_directions(pivot, near[0], second_neighbours)
    elif m == 15:
        directions = [_unit(-sum(_unit(p - pivot) for p in near))]
    elif m == 16:
        directions = [_unit(pivot - near[0])]
    else:  # 3, 13, 14: terminal tetrahedral groups
        seek_hbonds = m != 3 and element in ("N", "O", "S") and acceptors
        directions = _terminal_tetrahedral_directions(
            pivot,
            near[0],
            n_h,
            second_neighbours,
            acceptors if seek_hbonds else None,
            known_hydrogens,
            d,
            density if m != 3 else None,
            site_operators,
        )
    return pivot + d * np.array(directions)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    if norm < 1e-6:
        raise ValueError("degenerate geometry: two atoms coincide or directions cancel")
    return v / norm


def _perpendicular(axis: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """Unit vector ⟂ `axis` towards `reference`; a fixed Cartesian axis if none is usable."""
    if reference is not None:
        v = reference - (reference @ axis) * axis
        if np.linalg.norm(v) > 1e-3 * max(np.linalg.norm(reference), 1.0):
            return _unit(v)
    fallback = np.eye(3)[int(np.argmin(np.abs(axis)))]
    return _unit(fallback - (fallback @ axis) * axis)


def _tertiary_direction(pivot: np.ndarray, neighbours: list[np.ndarray]) -> np.ndarray:
    """X–H making equal angles with the three bonds: the normal of the plane through the tips
    of the three unit bond vectors (SHELXL AFIX 13), on the side away from the neighbours."""
    u = [_unit(pivot - p) for p in neighbours]
    normal = _unit(np.cross(u[0] - u[1], u[1] - u[2]))
    return normal if normal @ sum(u) > 0 else -normal


def _secondary_directions(pivot, y, z) -> list[np.ndarray]:
    """The two H of X–CH2–Y in the plane bisecting X–C–Y, with SHELXL's H–C–H angle
    θ/2 = 0.9678 + 0.0698 cos(X–C–Y) rad: 108.2° for a tetrahedral X–C–Y, wider as X–C–Y
    closes (115° in an epoxide). The constants are SHELXL's, as cctbx's smtbx copies them."""
    u_y, u_z = _unit(pivot - y), _unit(pivot - z)
    bisector = _unit(u_y + u_z)
    normal = _unit(np.cross(_unit(u_z - u_y), bisector))
    half = 0.9678 + 0.0698 * float(u_y @ u_z)
    return [
        math.cos(half) * bisector + math.sin(half) * normal,
        math.cos(half) * bisector - math.sin(half) * normal,
    ]


def _terminal_planar_directions(pivot, neighbour, second_neighbours) -> list[np.ndarray]:
    """=XH2: both H in the plane of X, its neighbour Y and Y's other substituent Z, at 120°
    to X–Y; the first H is cis to Z (SHELXL AFIX 93)."""
    axis = _unit(pivot - neighbour)
    z = _reference_substituent(neighbour, second_neighbours)
    in_plane = _perpendicular(axis, None if z is None else z - neighbour)
    half_sqrt3 = math.sqrt(3.0) / 2.0
    return [0.5 * axis + half_sqrt3 * in_plane, 0.5 * axis - half_sqrt3 * in_plane]


def _reference_substituent(neighbour, second_neighbours) -> np.ndarray | None:
    """The substituent of the pivot's neighbour with the shortest bond (SHELXL's choice)."""
    if not second_neighbours:
        return None
    return min(
        (np.asarray(p, dtype=float) for p in second_neighbours),
        key=lambda p: _distance(neighbour, p),
    )


def _terminal_tetrahedral_directions(
    pivot,
    neighbour,
    n_h,
    second_neighbours,
    acceptors,
    known_hydrogens,
    d,
    density=None,
    site_operators=(),
) -> list[np.ndarray]:
    """XH3 or XH on a cone at the tetrahedral angle to X–Y.

    The start is staggered: the first H anti to Y's substituent with the shortest bond. With
    acceptors or difference density, the torsion is instead the one (1° steps) with the best
    score, and the staggered start wins when nothing scores. On a special position an XH
    tries only torsions the site symmetry maps onto themselves (made exactly symmetric), an
    XH3 only those whose symmetry images keep DISORDER_CLEARANCE from its H.
    """
    axis = _unit(pivot - neighbour)
    z = _reference_substituent(neighbour, second_neighbours)
    e1 = _perpendicular(axis, None if z is None else z - neighbour)
    e2 = np.cross(axis, e1)
    sin_t = math.sin(math.radians(_TETRAHEDRAL))

    def cones(phis: list[float]) -> np.ndarray:
        """(len(phis), n_h, 3) unit X–H directions, all torsions at once (360 of them per
        rotating group); math.cos/sin as for a single one, so each is the same to the bit."""
        azimuths = [phi + k * 2.0 * math.pi / 3.0 for phi in phis for k in range(n_h)]
        cos = np.array([math.cos(a) for a in azimuths]).reshape(len(phis), n_h, 1)
        sin = np.array([math.sin(a) for a in azimuths]).reshape(len(phis), n_h, 1)
        return axis / 3.0 + sin_t * (cos * e1 + sin * e2)

    def cone(phi: float) -> np.ndarray:
        return cones([phi])[0]

    staggered = math.pi
    steps = [staggered + math.radians(step) for step in range(360)]
    clearance = {}
    if site_operators and n_h == 1:
        steps = [phi for phi in steps if _is_invariant(cone(phi), site_operators)] or steps
    elif site_operators:
        clearance = {phi: _clearance(d * cone(phi), site_operators) for phi in steps}
        steps = [phi for phi in steps if clearance[phi] > DISORDER_CLEARANCE] or steps
    context = _HBondContext(pivot, acceptors or (), (), known_hydrogens, density)
    if not context.acceptors and density is None and clearance:
        best = max(steps, key=clearance.get)  # the images midway between the group's H
    elif not context.acceptors and density is None:
        best = steps[0]
    else:
        scores = context.scores(d * cones(steps))
        best = steps[int(np.argmax(scores))]
    return list(_symmetrised(cone(best), site_operators) if n_h == 1 else cone(best))


DISORDER_CLEARANCE = (
    0.6  # Å between an H of a disordered XH3 and the images of its H (0.84 at best)
)
_SAME_DIRECTION = 0.03  # unit vectors closer than this (≈ 0.03 Å at 1 Å) count as one H


def _is_invariant(directions: np.ndarray, operators: Sequence[np.ndarray]) -> bool:
    """Every operator maps every direction onto one of the set."""
    return all(
        np.min(np.linalg.norm(directions - rotation @ v, axis=1)) < _SAME_DIRECTION
        for rotation in operators
        for v in directions
    )


def _clearance(vectors: np.ndarray, operators: Sequence[np.ndarray]) -> float:
    """Shortest distance from an X–H vector of the group to a symmetry image of one."""
    return min(
        float(np.min(np.linalg.norm(vectors - rotation @ v, axis=1)))
        for rotation in operators
        for v in vectors
    )


def _symmetrised(directions: np.ndarray, operators: Sequence[np.ndarray]) -> np.ndarray:
    """Each direction averaged with its images that fall on it: an H within 1° of a mirror
    is put in the mirror, so it sits exactly on its special position."""
    out = []
    for v in directions:
        images = [rotation @ v for rotation in operators]
        close = [w for w in images if np.linalg.norm(w - v) < _SAME_DIRECTION]
        out.append(_unit(v + sum(close)) if close else v)
    return np.array(out)


_H_CLASH = 2.0  # Å: H···H closer than this is penalised
_MAX_X_H = 1.5  # Å: longer than any X–H trial vector
KNOWN_H_REACH = (
    _H_CLASH + _MAX_X_H
)  # Å from the donor: a known H further away cannot clash with a trial H


class _HBondContext:
    """What an H on `donor` may bond to, and how a trial set of X–H vectors scores.

    The score adds, for each H, its best hydrogen bond: max(0, 2.7 Å − H···A) times
    max(0, −cos X–H···A), so short and straight bonds count and angles below 90° do not.
    It subtracts 2 per Å that an H comes closer than 2.0 Å to an H already in the model (an
    acceptor whose own H points at the donor is donating, not accepting), and 5 per unit of
    cosine that an X–H bond comes within 100° of a bond to a `bonded` atom (a metal). With
    `density` it adds DENSITY_WEIGHT per e Å⁻³ of difference density on the H sites: the
    measured electrons outweigh the geometric guess.
    """

    def __init__(
        self,
        donor: np.ndarray,
        acceptors: Sequence[np.ndarray],
        bonded: Sequence[np.ndarray],
        known_hydrogens: Sequence[np.ndarray],
        density: Density | None = None,
    ):
        self.donor = np.asarray(donor, dtype=float)
        low, high = HBOND_DISTANCE
        self.acceptors = [
            np.asarray(a, dtype=float) for a in acceptors if low <= _distance(self.donor, a) <= high
        ]
        self.bonded = [_unit(np.asarray(b, dtype=float) - self.donor) for b in bonded]
        # only H within reach can be closer than 2.0 Å to a trial H (X–H < 1.5 Å): the rest of
        # the structure's H would make every score O(all H) and a 1,000-atom job take minutes
        known = np.asarray(known_hydrogens, dtype=float).reshape(-1, 3)
        self.known = list(known[np.linalg.norm(known - self.donor, axis=1) < KNOWN_H_REACH])
        self.density = density

    def scores(self, candidates: np.ndarray) -> np.ndarray:
        """(m,) scores of m trial sets of X–H vectors (m, k, 3), all at once: a rigid-group
        search tries tens of thousands of orientations."""
        vectors = np.asarray(candidates, dtype=float)
        m, k = vectors.shape[:2]
        total = np.zeros(m)
        h = self.donor + vectors
        if self.density is not None:
            total += DENSITY_WEIGHT * self.density(h.reshape(-1, 3)).reshape(m, k).sum(axis=1)
        units = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
        if self.acceptors:
            to_a = np.asarray(self.acceptors)[None, None] - h[:, :, None]  # (m, k, a, 3)
            length = np.linalg.norm(to_a, axis=-1)
            straightness = np.einsum("mkd,mkad->mka", units, to_a) / length  # cos of X–H···A at H
            bond = np.clip(2.7 - length, 0.0, None) * np.clip(straightness, 0.0, None)
            total += bond.max(axis=2).sum(axis=1)
        if self.known:
            clash = np.linalg.norm(h[:, :, None] - np.asarray(self.known)[None, None], axis=-1)
            total -= 2.0 * np.clip(_H_CLASH - clash, 0.0, None).sum(axis=(1, 2))
        if self.bonded:
            cosines = np.einsum("mkd,bd->mkb", units, np.asarray(self.bonded))
            total -= 5.0 * np.clip(cosines - _COS_100, 0.0, None).sum(axis=(1, 2))
        return total


# --- groups without an HFIX: placed from the map, restrained (DFIX/DANG) -------------------


def restrained_group(element: str, n_h: int, n_covalent: int) -> bool:
    """Whether `n_h` H on `element` with `n_covalent` non-metal bonds, a group SHELXL has no
    HFIX for (choose_hfix gives 0), are placed by place_restrained_hydrogens and held by DFIX
    (and DANG): one H on a hydroxide O (free or on metals), an imine or pyramidal secondary
    amine N or a lone S, and the pyramidal NH2 of R–NH2 (a hydrazine's N–NH2; SHELXL's AFIX 93 is
    only the planar =NH2, and no AFIX m makes a pyramidal XH2 on one neighbour)."""
    if n_h == 1 and element in ("O", "S"):
        return n_covalent == 0
    if n_h == 1 and element == "N":
        return n_covalent in (1, 2)
    return element == "N" and n_h == 2 and n_covalent == 1


def place_restrained_hydrogens(
    element: str,
    n_h: int,
    pivot: np.ndarray,
    bonded: Sequence[np.ndarray],
    second_neighbours: Sequence[np.ndarray] | None = None,
    acceptors: Sequence[np.ndarray] = (),
    known_hydrogens: Sequence[np.ndarray] = (),
    density: Density | None = None,
) -> np.ndarray:
    """Positions (n_h, 3) of a restrained_group's H at RESTRAINED_XH from the pivot: an NH2 on
    the tetrahedral cone about its one bond (two of a staggered NH3's three places, turned to
    the difference density and H bonds); a single H in the direction, at least 100° from every
    bond, with the most difference density and the best H bond (_HBondContext)."""
    pivot = np.asarray(pivot, dtype=float)
    d = RESTRAINED_XH[element]
    bonded = [np.asarray(b, dtype=float) for b in bonded]
    if n_h == 2:
        directions = _terminal_tetrahedral_directions(
            pivot, bonded[0], 2, second_neighbours, acceptors, known_hydrogens, d, density
        )
        return pivot + d * np.array(directions)
    context = _HBondContext(pivot, acceptors, bonded, known_hydrogens, density)
    directions = np.array(_sphere_directions(RIGID_SEARCH_DIRECTIONS))
    if bonded:
        axes = np.array([_unit(b - pivot) for b in bonded])
        directions = directions[np.all(directions @ axes.T <= _COS_100, axis=1)]
        if not len(directions):  # bonds all round: straight away from their sum
            directions = np.array([_unit(-sum(axes))])
    scores = context.scores(d * directions[:, None, :])
    return pivot + d * directions[int(np.argmax(scores))][None, :]


# --- water and ammonium: no HFIX, placed towards hydrogen-bond acceptors --------------------


def place_water_hydrogens(
    o_xyz: np.ndarray,
    acceptors: Sequence[np.ndarray],
    bonded: Sequence[np.ndarray] = (),
    known_hydrogens: Sequence[np.ndarray] = (),
    distance: float = WATER_OH,
    angle: float = WATER_ANGLE,
    density: Density | None = None,
    site_operators: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Two water H atoms (2, 3) at `distance` from O with H–O–H = `angle`.

    The orientation is the one with the best hydrogen bonds to `acceptors` within 2.5–3.2 Å
    of O (see _HBondContext), among: both H aimed symmetrically at a pair of acceptors, or
    one H aimed at one acceptor and the other turned about that bond in 5° steps. `bonded`
    are atoms bonded to the O (the metal of an aqua ligand): the H atoms keep away from
    them, and when the second H has no acceptor it takes the position that makes both
    M–O–H angles equal, as in a coordinated water. `known_hydrogens` (H already in the
    model) keep the H off acceptors that donate to this O. With no acceptor the orientation
    is arbitrary but fixed. With `density` every orientation on a fine grid is scored as
    well, the difference density on the H sites counting most (see _HBondContext). On a
    special position (`site_operators`, riding.site_operators) the group is one the site
    symmetry maps onto itself where there is such (_invariant_trials). These are starting
    points for refinement with DFIX/DANG.
    """
    return _place_rigid(
        o_xyz,
        acceptors,
        bonded,
        known_hydrogens,
        distance,
        angle,
        n_h=2,
        density=density,
        site_operators=site_operators,
    )


def place_ammonium_hydrogens(
    n_xyz: np.ndarray,
    acceptors: Sequence[np.ndarray],
    bonded: Sequence[np.ndarray] = (),
    known_hydrogens: Sequence[np.ndarray] = (),
    distance: float = AMMONIUM_NH,
    density: Density | None = None,
    site_operators: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """The four H atoms (4, 3) of a tetrahedral NH4+ ion, oriented for the best hydrogen
    bonds (and difference density) in the same way as place_water_hydrogens."""
    return _place_rigid(
        n_xyz,
        acceptors,
        bonded,
        known_hydrogens,
        distance,
        _TETRAHEDRAL,
        n_h=4,
        density=density,
        site_operators=site_operators,
    )


def _place_rigid(
    centre,
    acceptors,
    bonded,
    known_hydrogens,
    distance,
    angle,
    n_h,
    density=None,
    site_operators: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Best orientation of a rigid H2O-like (2 H) or tetrahedral (4 H) group on `centre`.

    Frames are (bisector b, in-plane p, normal n): H1,2 = cos(a/2) b ± sin(a/2) p and, for a
    tetrahedron, H3,4 = −cos(a/2) b ± sin(a/2) n. Ties keep the first candidate: pairs of
    acceptors, then single acceptors by distance, then the fixed fallback.
    """
    centre = np.asarray(centre, dtype=float)
    context = _HBondContext(centre, acceptors, bonded, known_hydrogens, density)
    half = math.radians(angle) / 2.0
    c, s = math.cos(half), math.sin(half)

    group = functools.partial(_rigid_group, n_h=n_h, c=c, s=s, distance=distance)

    def symmetry_penalty(candidates: np.ndarray) -> np.ndarray:
        """Unequal angles to a bonded metal, which a coordinated water does not have."""
        if not context.bonded:
            return np.zeros(len(candidates))
        first_two = candidates[:, :2] / np.linalg.norm(candidates[:, :2], axis=-1, keepdims=True)
        cosines = np.einsum("mkd,bd->mbk", first_two, np.asarray(context.bonded))
        return 0.5 * np.abs(cosines[:, :, 0] - cosines[:, :, 1]).sum(axis=1)

    candidates: list[np.ndarray] = []
    nearest = sorted(context.acceptors, key=lambda a: _distance(centre, a))
    directions = [_unit(a - centre) for a in nearest]
    for i, u_i in enumerate(directions):
        for u_j in directions[i + 1 :]:
            if abs(u_i @ u_j) < 0.999:
                candidates.append(group(_unit(u_i + u_j), _unit(u_i - u_j)))
    away = (
        -sum(context.bonded) if context.bonded else None
    )  # none when the bonds cancel (a bridging water)
    away = _unit(away) if away is not None and np.linalg.norm(away) > 1e-3 else None
    for u in directions:
        # H1 = u exactly when b = cos(a/2) u − sin(a/2) w and p = sin(a/2) u + cos(a/2) w.
        w0 = -_perpendicular(u, away)
        w1 = np.cross(u, w0)
        for step in range(0, 360, 5):
            w = math.cos(math.radians(step)) * w0 + math.sin(math.radians(step)) * w1
            candidates.append(group(c * u - s * w, s * u + c * w))
    if not candidates and density is None and not len(site_operators):
        bisector = away if away is not None else np.array([0.0, 0.0, 1.0])
        return centre + group(bisector, _perpendicular(bisector, None))
    trials = np.array(candidates).reshape(-1, n_h, 3)
    if density is not None or len(site_operators):
        trials = np.concatenate([trials, _density_grid(n_h, c, s, distance)])
    if len(site_operators):
        trials = _invariant_trials(trials, site_operators, distance)
    scores = context.scores(trials) - symmetry_penalty(trials)
    return centre + trials[int(np.argmax(scores))]


# Å: a trial group whose every H lies this close to an image of one of its H under the site
# symmetry is taken as that symmetry's group and made exact (_invariant_trials). The grid of
# _density_grid has bisectors about 10° apart, which puts the nearest group to a 2-fold axis
# up to about 0.15 Å off its images; an H 0.35 Å from its own image is another place, not the
# same H.
_INVARIANT_REACH = 0.35


def _invariant_trials(
    trials: np.ndarray, operators: Sequence[np.ndarray], distance: float
) -> np.ndarray:
    """Of trial groups (m, k, 3) on a special position, those the site symmetry (`operators`,
    rotations about the centre) maps onto themselves within _INVARIANT_REACH, each averaged
    with its images so that it is exactly invariant: a water on a 2-fold axis has its two H as
    images of each other (one H in the asymmetric unit, riding._unique_under), as SHELXL
    refines it; any other orientation puts four half-H about the O, which the riding H, written
    at full occupancy, make four whole ones. All trials where none is invariant: a water on an
    inversion centre or a 3-fold axis can only be disordered, and stays so (riding's
    _disorder_note tells the user)."""
    images = np.einsum("rij,mkj->rmki", np.asarray(operators), trials)  # (r, m, k, 3)
    # for each operator, trial and H: the H of the trial nearest its image
    gaps = np.linalg.norm(images[:, :, :, None] - trials[None, :, None], axis=-1)  # (r,m,k,l)
    nearest = gaps.argmin(axis=3)
    invariant = (gaps.min(axis=3) < _INVARIANT_REACH).all(axis=(0, 2))
    if not invariant.any():
        return trials
    kept, nearest = trials[invariant], nearest[:, invariant]
    total = kept.copy()
    m = np.arange(len(kept))[:, None]
    for r in range(len(operators)):
        # the image of H l lands on H k: add it to H k's sum
        np.add.at(total, (m, nearest[r]), images[r][invariant])
    return distance * total / np.linalg.norm(total, axis=-1, keepdims=True)


@functools.cache
def _density_grid(n_h: int, c: float, s: float, distance: float) -> np.ndarray:
    """Every orientation of a rigid group on a fine grid, (k, n_h, 3), as _place_rigid's
    group() builds them: RIGID_SEARCH_DIRECTIONS bisectors b, each turned in 6° steps about
    itself (in-plane p = cos t·p0 + sin t·p1), all at once and made once (a loop over 12,000
    of them made each water with a map take half a second). Read only."""
    bisectors = np.array(_sphere_directions(RIGID_SEARCH_DIRECTIONS))
    p0 = np.array([_perpendicular(b, None) for b in bisectors])
    p1 = np.cross(bisectors, p0)
    t = np.radians(np.arange(0, 180 if n_h == 2 else 90, 6))
    b = np.repeat(bisectors, len(t), axis=0)
    in_plane = np.cos(t)[None, :, None] * p0[:, None] + np.sin(t)[None, :, None] * p1[:, None]
    grid = _rigid_group(b, in_plane.reshape(-1, 3), n_h, c, s, distance)
    grid.flags.writeable = False
    return grid


def _rigid_group(
    bisector: np.ndarray, in_plane: np.ndarray, n_h: int, c: float, s: float, distance: float
) -> np.ndarray:
    """The H (..., n_h, 3) of rigid groups with these frames (..., 3): cos(a/2) b ± sin(a/2) p
    and, for a tetrahedron, −cos(a/2) b ± sin(a/2) n (c, s: cos and sin of a/2)."""
    vectors = [c * bisector + s * in_plane, c * bisector - s * in_plane]
    if n_h == 4:
        normal = np.cross(bisector, in_plane)
        vectors += [-c * bisector + s * normal, -c * bisector - s * normal]
    return distance * np.stack(vectors, axis=-2)


def _sphere_directions(n: int) -> list[np.ndarray]:
    """n nearly even unit vectors (Fibonacci sphere): the orientation grid of a rigid group."""
    k = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * k / n)
    azimuth = math.pi * (1.0 + math.sqrt(5.0)) * k
    return list(
        np.column_stack(
            [np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)]
        )
    )


# --- writing the instructions --------------------------------------------------------------


def hfix_groups(codes_by_label: dict[str, int]) -> list[tuple[int, list[str]]]:
    """Labels grouped by HFIX code, codes in order of first appearance, labels in input order.

    Code 0 (no HFIX) is left out: those atoms carry a note saying how their H are handled.
    """
    groups: dict[int, list[str]] = {}
    for label, code in codes_by_label.items():
        if code:
            groups.setdefault(code, []).append(label)
    return list(groups.items())


def h_label(pivot_label: str, k: int, n_h: int, element: str = "H") -> str:
    """SHELXL's name for the k-th (0-based) of `n_h` H (or, element="D", D) atoms riding on
    `pivot_label`.

    The pivot's leading element letters are replaced by H (C5 → H5, C5A → H5A, N12 → H12),
    and a letter is appended when there are several (C5 → H5A, H5B, H5C). A label without a
    digit after its first one or two letters (e.g. 'CA') loses only its first letter. The result
    is not shortened: SHELX allows 4 characters, and a longer name (C12A with two H → H12AA,
    H12AB) is returned as is because cutting it would silently duplicate another atom's name;
    the caller that writes the .ins must rename such atoms. Two pivots that differ only in
    their element (C1, N1) give the same name, and the caller must resolve that clash too.
    A pivot in a residue gives H of the same residue (C5_2 → H5A_2).
    """
    if not 0 <= k < n_h:
        raise ValueError(f"H index {k} out of range for {n_h} H atoms")
    residue, pivot_label = residue_suffix(pivot_label), bare_label(pivot_label)
    match = re.match(r"[A-Za-z]{1,2}(?=\d)", pivot_label)
    suffix = pivot_label[match.end() :] if match else pivot_label[1:]
    name = element + suffix
    if n_h > 1:
        name += "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[k]
    return name + residue
