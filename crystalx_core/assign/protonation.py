"""Where an acid's H sits and which N carry one, read from bond lengths and angles, as a
crystallographer checks the hydrogen model's H counts against the heavy-atom geometry before
placing riding H.

The hydrogen model counts each atom's H from its surroundings; bond lengths say which O of an
acid group carries the H more plainly than it learnt from the few acids it saw. Three rules, each
applied only where the model's most likely answer and the geometry disagree clearly (the formula
fit after them weighs the counts against UNIT's H), and a fourth that takes an H away:

- hydroxyl_on_longest_bond: the H of an acid group goes to its longest X–O bond. A COOH's
  C–OH is about 0.10 Å longer than its C=O (CSD means 1.31 and 1.21 Å; a carboxylate's two
  bonds 1.25 and 1.25 Å: Allen et al., J. Chem. Soc. Perkin Trans. 2 (1987) S1-S19), a
  phosphoric or arsenic acid's X–OH 0.05-0.08 Å longer than its X=O (P–OH 1.56-1.58,
  P=O/P–O⁻ 1.49-1.52 Å; As–OH 1.70-1.73, As–O 1.64-1.67 Å). Where the model gives the H to an
  O whose bond is shorter than another's of the same group by ACID_MARGIN (C) or
  OXOACID_MARGIN (P, As, S, Se), that other O without one, the two swap their H-count
  probabilities.
- valence_floor: an N with two single bonds (to an sp3 C, and to another or to a P at P–N
  single length) and no metal is a secondary amine, R2NH: with no H it would be an amide
  anion, which a crystal holds only on a metal or with its charge spread over shorter bonds.
  The model's probability of no H goes to one (assign.model._placeable).
- ring_nh_floor: the N of a pyridine ring (N and five C), with no metal, whose C–N–C angle
  is a pyridinium's carries one H. The angle at a ring N widens when it takes a proton (its
  lone pair gives way to an N–H bond) while the ring's bond lengths hardly change: on 397
  pyridine and pyridinium derivatives of the CSD the angle at N tells N, N···H and N–H apart
  where X-ray data place the H poorly (Krygowski, Szatyłowicz & Zachara, J. Org. Chem. 70
  (2005) 8859-8865); e.g. 117.10° at the free and 123.42° at the protonated N of
  2-(pyridin-2-yl)pyridinium (Abe, Takase & Oyama, IUCrData 2 (2017) x170689). The model's
  probability of no H goes to one, as for the valence floor.
- imine_ceiling: an open-chain N with a double bond to C or N (an imine, oxime, hydrazone or
  azo N) whose angle at N is an sp2 N's with a lone pair carries no H. A lone pair in the plane
  closes the angle at N to 110-117°, an N–H opens it to 120-126° (C=N–X; an amide's
  C(=O)–NH–C 120-126°), while the two bonds' average shortening, which the rules' count reads,
  does not tell a C=N–N (1.31 and 1.41 Å) from an amide's C(=O)–N–C (1.33 and 1.45 Å): NoSpherA2's
  malbac hydrazone (tests/ECP_SF/malbac.cif, N2: C=N 1.313, N–N 1.410 Å, C–N–N 112°) was given an
  H. The model's probability of one H or more goes to none. The C=N must not be an amide's,
  thioamide's or amidine's (_amide_carbon: a C that also bears a C=O, C=S or an N): resonance
  shortens their C–N to a C=N's length give or take a raw solution's noise, and their N mostly
  carry an H, so on shaken coordinates the angle and length alone read amide NH as imines.

Only O bonded to their X alone count (an O a metal also holds is lengthened by it), and only a
planar C (an sp2 acid carbon). On the corpus's training and validation structures these rules
change no answer the model gets right (docs and tests: tests/test_protonation.py).
"""

from __future__ import annotations

import numpy as np

from crystalx_core.elements import covalent_radius, is_hydrogen, is_metal
from crystalx_core.geometry import angle_sum, bond_angle
from crystalx_core.structure import Structure

# Å by which a carboxyl's C–OH must exceed its C=O for the rule to act: COOH differ by
# ~0.10 Å, a carboxylate's two bonds by under 0.03 Å (on the corpus's training and validation
# structures: every COOH without a metal by 0.063 Å or more, every carboxylate by 0.050 Å or
# less), so a model's H on the shorter bond by this much is on the C=O.
ACID_MARGIN = 0.06
# Å for the O of P, As, S and Se acids: X–OH exceed the oxo and anionic X–O by 0.04-0.08 Å.
OXOACID_MARGIN = 0.04
OXOACID_CENTRES = frozenset({"P", "As", "S", "Se"})
PLANAR_SUM = 350.0  # degrees: the angle sum of an sp2 C's three bonds reaches this
# Single-bond lengths (Å) of an N's bonds that leave it room for one H only as an R2NH:
# N–C(sp3) 1.469 in amines (Allen et al. 1987: 1.44-1.50), P–N 1.63-1.70 in aminophosphonium
# ions and phosphoramides against P=N 1.55-1.60 in phosphazenes and iminophosphoranes.
SINGLE_N_BOND = {"C": 1.44, "P": 1.62}
WHOLE = 1 - 1e-3  # a site at least this occupied is whole (a disordered O's lengths say little)
SP3_ANGLE = 116.0  # degrees: a C with two neighbours at most this is sp3 (sp2: 120°, sp: 180°)
# degrees: a pyridine ring N's C–N–C at least this is a pyridinium's NH+ (ring_nh_floor). On the
# corpus's training and validation structures (six-ring N between two C, no metal, diazines then
# included) every one of 11 at 121.7° or more is published with one H; of 32 at 121.3° or less, 27
# have none, two one (118.9 and 119.9°: a proton the angle does not show, left to the model) and
# three two (NH2+ of puckered rings, 110-113°): the threshold is the middle of that gap (a free ring
# N's angle is about 117°, a protonated one's about 123°: ring_nh_floor's sources). It was set on
# those structures alone, but the rule was added after two test-split misses of this kind had been
# seen (docs/benchmarks.md).
PYRIDINIUM_ANGLE = 121.5
# degrees: an open-chain C=N–X or N=N–X whose angle at N is under this has its lone pair in the
# plane, no H (imine_ceiling). On the corpus's training and validation structures (whole N with
# two neighbours, no metal, in no organic ring of six or fewer atoms, a bond to C or N at least
# DOUBLE_N_SHORTENING short) all 14 at 117.9° or less (3 of them in chelate rings, 107-112.5°)
# are published without H, the 7 with one (amides, amidines) stand at 120.1-125.0°, and imines
# without H at 119.3, 119.9 and 120.5° (where the ranges meet) are left to the model: the
# threshold is the middle of 117.9 and 120.1°. With amide, thioamide and amidine C set aside
# (_amide_carbon), 13 N are read there, all published without H, and the one N–H left among
# those sites (an iminium, 123.6°) lies above it.
IMINE_ANGLE = 119.0
# Å under the single bond (sum of covalent radii: C–N 1.44, N–N 1.42 Å) that makes a bond double
# for imine_ceiling: C=N 1.32, N=N 1.30 Å or shorter (C=N 1.28-1.31 in imines and hydrazones,
# an amide's C–N 1.33-1.35 Å).
DOUBLE_N_SHORTENING = 0.12
SMALL_RING = 6  # atoms: a ring this small or smaller sets the angle at its N (a pyrrole's 108°)


def hydroxyl_on_longest_bond(
    heavy: Structure, probabilities: np.ndarray, bonds: list, counts: list[int]
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The H-count probabilities with each acid group's H moved to its longest X–O bond where
    the model's most likely answer put it on a clearly shorter one (the module's first rule),
    and the (from, to) site pairs swapped. `bonds`: connectivity(heavy) as one alternative has
    it; `counts`: the count of each probability column."""
    zero = counts.index(0) if 0 in counts else None
    if zero is None:
        return probabilities, []
    sites = heavy.sites
    likely = probabilities.argmax(axis=1)
    swapped = probabilities.copy()
    moves = []
    for x, site in enumerate(sites):
        group = _acid_oxygens(heavy, x, bonds)
        if len(group) < 2:
            continue
        margin = ACID_MARGIN if site.element == "C" else OXOACID_MARGIN
        longest, longest_length = max(group, key=lambda o: o[1])
        if likely[longest] != zero:
            continue
        for o, length in sorted(group, key=lambda o: o[1]):
            if o != longest and likely[o] != zero and longest_length - length >= margin:
                swapped[[o, longest]] = swapped[[longest, o]]
                moves.append((o, longest))
                break
    return swapped, moves


def _acid_oxygens(heavy: Structure, x: int, bonds: list) -> list[tuple[int, float]]:
    """(site, X–O length) of the O bonded to centre x and to nothing else, metals included, when
    x is a planar C with three neighbours, none a metal (a carboxyl's), or a P, As, S or Se
    (an oxoacid's); else []."""
    sites = heavy.sites
    element = sites[x].element
    contacts = [c for c in bonds[x] if not is_hydrogen(sites[c.j].element)]
    if element == "C":
        if len(contacts) != 3 or any(is_metal(sites[c.j].element) for c in contacts):
            return []
        if angle_sum(heavy.cartesian(sites[x].frac), [c.cart_j for c in contacts]) < PLANAR_SUM:
            return []
    elif element not in OXOACID_CENTRES:
        return []
    terminal = []
    for c in contacts:
        if sites[c.j].element != "O" or sites[c.j].part < 0 or sites[c.j].occupancy < WHOLE:
            continue
        if len([b for b in bonds[c.j] if not is_hydrogen(sites[b.j].element)]) == 1:
            terminal.append((c.j, c.distance))
    return terminal


def valence_floor(heavy: Structure, k: int, bonds: list) -> int:
    """The fewest H site k can carry by its valence (the module's second rule; 0 where it does
    not apply): an N with no metal among its bonds (`bonds`: connectivity(heavy) as one
    alternative has it) and two neighbours, each bond single by length (to an sp3 C, and to
    another or a P: _single_to_n), one (R2NH). Between two P the N is left to the model: an
    imidodiphosphinate's [R2P(O)–N–P(O)R2]⁻ spreads its charge over P–N bonds of 1.60-1.63 Å
    (4 tmQM complexes the models never saw, where a floor was wrong). A CH2 by the same
    reading is left to the model too: where a published model leaves a solvent without H,
    UNIT lacks them and the formula fit then takes them off other atoms (on the corpus's
    train and validation structures a CH2 floor made 6 counts wrong so and 1 right)."""
    sites = heavy.sites
    if sites[k].element != "N":
        return 0
    around = [c for c in bonds[k] if not is_hydrogen(sites[c.j].element)]
    if len(around) != 2 or any(is_metal(sites[c.j].element) for c in around):
        return 0
    if not any(sites[c.j].element == "C" for c in around):  # P–N⁻–P: an imidodiphosphinate
        return 0
    return 1 if all(_single_to_n(heavy, c, bonds) for c in around) else 0


def ring_nh_floor(heavy: Structure, k: int, bonds: list) -> int:
    """The fewest H site k can carry by its ring angle (the module's third rule; 0 where it
    does not apply): a whole N outside disorder with no metal among its bonds (`bonds`:
    connectivity(heavy) as one alternative has it), two C neighbours, in a pyridine ring
    (_in_pyridine_ring), whose C–N–C angle is at least PYRIDINIUM_ANGLE: a pyridinium, one
    H. A five-ring N is left to the model; an open-chain imine N is imine_ceiling's."""
    sites = heavy.sites
    site = sites[k]
    if site.element != "N" or site.occupancy < WHOLE or site.part != 0:
        return 0
    around = [c for c in bonds[k] if not is_hydrogen(sites[c.j].element)]
    if len(around) != 2 or any(sites[c.j].element != "C" for c in around):
        return 0
    centre = heavy.cartesian(site.frac)
    if bond_angle(around[0].cart_j, centre, around[1].cart_j) < PYRIDINIUM_ANGLE:
        return 0
    return 1 if _in_pyridine_ring(heavy, bonds, k, around[0].j, around[1].j) else 0


def imine_ceiling(heavy: Structure, k: int, bonds: list) -> bool:
    """Whether site k can carry no H by its angle (the module's fourth rule): a whole N outside
    disorder with no metal among its bonds (`bonds`: connectivity(heavy) as one alternative has
    it), two neighbours, in no ring of SMALL_RING atoms or fewer, with a double bond to a C or N
    (DOUBLE_N_SHORTENING) and an angle at N under IMINE_ANGLE: an imine's lone pair, no N–H. A
    ring N is left to the model (its ring, not its H, sets its angle), and a disordered one (its
    angle says little)."""
    sites = heavy.sites
    site = sites[k]
    if site.element != "N" or site.occupancy < WHOLE or site.part != 0:
        return False
    around = [c for c in bonds[k] if not is_hydrogen(sites[c.j].element)]
    if len(around) != 2 or any(is_metal(sites[c.j].element) for c in around):
        return False
    if not any(
        sites[c.j].element in ("C", "N")
        and covalent_radius(sites[c.j].element) + covalent_radius("N") - c.distance
        >= DOUBLE_N_SHORTENING
        and not _amide_carbon(heavy, bonds, c.j, k)
        for c in around
    ):
        return False
    centre = heavy.cartesian(site.frac)
    if bond_angle(around[0].cart_j, centre, around[1].cart_j) >= IMINE_ANGLE:
        return False
    return not _in_small_ring(heavy, bonds, k, around[0].j, around[1].j)


def _amide_carbon(heavy: Structure, bonds: list, j: int, k: int) -> bool:
    """Whether site j, a C bonded to N site k, is an amide's, thioamide's, amidine's or urea's C:
    bonded besides k to an N, or to an O or S bonded to nothing else (C=O, C=S). Resonance
    shortens their C–N to 1.31-1.35 Å, within a raw solution's noise of a C=N, and their N mostly
    carry an H at 120-126°, which that noise closes to 114-118° (docs/benchmarks.md, session 21).
    An O or S that a metal holds, an iminolate's or thiolate's in a chelate (malbac's Pd–O–C=N),
    leaves the C=N a double bond: of 165 such N that imine_ceiling reads in tmQM 2800-22799, one
    carries an H (BAQVEW, a hydroxamate's O,O-chelate on V, C–N 1.310 Å at 118.3°)."""
    sites = heavy.sites
    if sites[j].element != "C":
        return False
    return any(
        sites[c.j].element == "N" or (sites[c.j].element in ("O", "S") and len(bonds[c.j]) == 1)
        for c in bonds[j]
        if c.j != k
    )


def _in_small_ring(heavy: Structure, bonds: list, k: int, a: int, b: int) -> bool:
    """Whether sites a and b, both bonded to k, are joined by a path of at most SMALL_RING - 2
    bonds through no metal that avoids k: k then lies in an organic ring of SMALL_RING atoms or
    fewer. A chelate ring (through the metal) does not count: there the bond lengths tell an
    iminolate's C=N (1.30-1.32 Å) from its amide tautomer's C–NH (1.34-1.36 Å)."""
    seen, front = {k, a}, [a]
    for _ in range(SMALL_RING - 2):
        front = [
            c.j
            for x in front
            for c in bonds[x]
            if c.j not in seen and not is_metal(heavy.sites[c.j].element)
        ]
        if b in front:
            return True
        seen.update(front)
    return False


def _in_pyridine_ring(heavy: Structure, bonds: list, k: int, a: int, b: int) -> bool:
    """Whether C sites a and b, both bonded to k, are joined by a path of four bonds through
    C alone that passes neither k nor a site twice: k then closes a pyridine's ring, N and
    five C. A ring with a second heteroatom (a pyrimidine, a quinazoline) or a metal (a
    chelate ring: a phthalocyanine's aza N) is left to the model: on tmQM's complexes the
    angle rule there gave 18 N an H they lack and 11 one they have, against 3 and 22 in
    pyridine rings (docs/benchmarks.md)."""
    sites = heavy.sites
    paths = [[a]]
    for _ in range(4):
        paths = [
            p + [c.j]
            for p in paths
            for c in bonds[p[-1]]
            if c.j != k and c.j not in p and sites[c.j].element == "C"
        ]
    return any(p[-1] == b for p in paths)


def _single_to_n(heavy: Structure, contact, bonds: list) -> bool:
    element = heavy.sites[contact.j].element
    least = SINGLE_N_BOND.get(element)
    if least is None or contact.distance < least:
        return False
    return element != "C" or _sp3_carbon(heavy, contact.j, bonds)


def _sp3_carbon(heavy: Structure, c: int, bonds: list) -> bool:
    """Whether C site c is tetrahedral by its bond angles (its H not yet known)."""
    contacts = [b for b in bonds[c] if not is_hydrogen(heavy.sites[b.j].element)]
    centre = heavy.cartesian(heavy.sites[c].frac)
    if len(contacts) >= 4:
        return True
    if len(contacts) == 3:
        return angle_sum(centre, [b.cart_j for b in contacts]) < PLANAR_SUM
    if len(contacts) == 2:
        return bond_angle(contacts[0].cart_j, centre, contacts[1].cart_j) <= SP3_ANGLE
    return False
