"""Bond valence of an O from the metals around it: how much of its valence of two they already
take, so how many H it has room for (an oxide's O none, a hydroxide's one, a water's two).

s = exp((R0 - d) / B) per bond, B = 0.37 Å (Brown & Altermatt 1985, Acta Cryst. B41, 244-247;
Brese & O'Keeffe 1991, Acta Cryst. B47, 192-197). The oxidation state of a metal is not known
here, so each metal takes the smallest R0 either paper gives it against O2- over its oxidation
states (as I. D. Brown's accumulated table bvparm2011.cif lists them, refs a and b): the sum
is then a lower bound for the states those papers cover. Lower states only later refs give have
a smaller R0 (bvparm2011.cif: Cu(I) 1.610, Mo(III) 1.834, Mo(IV) 1.856, W(IV) 1.851 Å), so an O
bonded to such metals alone may get up to about a fifth too much: a μ-OH between two of them at
short distances may be left no room (see docs/benchmarks.md, session 19 review).

Below those, the parameters for the other use, which metal a site holds (assign.metal_valence):
R0 of any cation-anion pair, each metal's common oxidation states, and how plausible a sum is.
"""

from __future__ import annotations

import math

from crystalx_core.elements import is_metal

B = 0.37  # Å

# Å: R0 of M–O2-, the smallest over the metal's oxidation states in refs a (Brown & Altermatt
# 1985) and b (Brese & O'Keeffe 1991) of bvparm2011.cif; the state it belongs to in the comment
R0_OXIDE = {
    "Li": 1.466,  # +1
    "Na": 1.803,  # +1
    "K": 2.132,  # +1
    "Rb": 2.263,  # +1
    "Cs": 2.417,  # +1
    "Be": 1.381,  # +2
    "Mg": 1.693,  # +2
    "Ca": 1.967,  # +2
    "Sr": 2.118,  # +2
    "Ba": 2.285,  # +2
    "Al": 1.651,  # +3 (ref a, Brown & Altermatt 1985)
    "Ga": 1.730,  # +3
    "In": 1.902,  # +3
    "Tl": 2.003,  # +3
    "Sn": 1.905,  # +4
    "Pb": 2.042,  # +4
    "Bi": 2.060,  # +5
    "Sc": 1.849,  # +3
    "Y": 2.014,  # +3
    "La": 2.172,  # +3
    "Ce": 2.028,  # +4
    "Pr": 2.138,  # +3
    "Nd": 2.105,  # +3
    "Sm": 2.088,  # +3
    "Eu": 2.074,  # +3
    "Gd": 2.065,  # +3
    "Tb": 2.032,  # +3
    "Dy": 2.001,  # +3
    "Ho": 2.025,  # +3
    "Er": 1.988,  # +3
    "Tm": 2.000,  # +3
    "Yb": 1.965,  # +3
    "Lu": 1.971,  # +3
    "Ti": 1.791,  # +3
    "Zr": 1.928,  # +4
    "Hf": 1.923,  # +4
    "V": 1.743,  # +3
    "Nb": 1.911,  # +5
    "Ta": 1.920,  # +5
    "Cr": 1.724,  # +3
    "Mo": 1.907,  # +6
    "W": 1.917,  # +6
    "Mn": 1.753,  # +4
    "Fe": 1.734,  # +2
    "Ru": 1.834,  # +4
    "Os": 1.811,  # +4
    "Co": 1.692,  # +2
    "Rh": 1.793,  # +3
    "Ir": 1.916,  # +5
    "Ni": 1.654,  # +2
    "Pd": 1.792,  # +2
    "Pt": 1.768,  # +2
    "Cu": 1.679,  # +2
    "Ag": 1.805,  # +1
    "Au": 1.833,  # +3
    "Zn": 1.704,  # +2
    "Cd": 1.904,  # +2
    "Hg": 1.900,  # +1
    "Th": 2.167,  # +4
    "U": 2.075,  # +5, +6
}

# v.u. of an O-H bond of 0.97 Å (a neutron O-H): exp((0.907 - 0.97) / 0.28), with the O-H
# parameters for bonds under 1.05 Å of Brown 2002 (The Chemical Bond in Inorganic Chemistry,
# p. 230; ref bc of bvparm2011.cif)
H_BOND_VALENCE = 0.80


def metal_valence(structure, site, contacts) -> float:
    """Bond valence sum an O receives from its metal neighbours (`contacts`, from
    geometry.connectivity), each bond weighed by the metal site's occupancy (a partly occupied
    alkali gives its share); metals without parameters give nothing (a lower bound)."""
    total = 0.0
    for contact in contacts:
        for atom in structure.sites[contact.j].with_mixed:
            r0 = R0_OXIDE.get(atom.element) if is_metal(atom.element) else None
            if r0 is not None:
                total += atom.occupancy * math.exp((r0 - contact.distance) / B)
    return total


def h_room_left(valence: float) -> int:
    """The H an O whose metals give it `valence` v.u. has room for: the whole number of O-H
    bonds (H_BOND_VALENCE each) nearest to what its valence of two still lacks. An oxide's O
    (LiCoO2: 2.07 v.u.) none, a hydroxide's (Mg(OH)2: 1.0) one, a water's (an aqua ligand: about
    0.4) two."""
    return max(0, math.floor((2.0 - valence) / H_BOND_VALENCE + 0.5))


# Which metal a site holds, from the valence its anions give it (assign.metal_valence): R0 of any
# cation-anion pair from each element's size r (Å) and electronegativity c, R0 = r1 + r2 -
# r1 r2 (√c1 - √c2)² / (c1 r1 + c2 r2) (O'Keeffe & Brese 1991, J. Am. Chem. Soc. 113, 3226-3229;
# the values as pymatgen's core/bvparam_1991.yaml holds them, which tests/test_bond_valence.py
# compares): one R0 per pair over the oxidation states, within 0.05 Å of the per-state values of
# Brese & O'Keeffe 1991 (Ti-O 1.814 against Ti(IV) 1.815, Ho-O 2.022 against Ho(III) 2.025, Zn-O
# 1.658 against Zn(II) 1.704)
SIZE_AND_ELECTRONEGATIVITY = {
    "Ag": (1.12, 1.42),
    "Al": (1.13, 1.47),
    "Ba": (1.88, 0.97),
    "Be": (0.81, 1.47),
    "Bi": (1.54, 1.67),
    "Ca": (1.5, 1.04),
    "Cd": (1.28, 1.46),
    "Ce": (1.68, 1.08),
    "Co": (1.09, 1.7),
    "Cr": (1.16, 1.56),
    "Cs": (2.05, 0.86),
    "Cu": (0.87, 1.75),
    "Dy": (1.54, 1.1),
    "Er": (1.51, 1.11),
    "Eu": (1.62, 1.01),
    "Fe": (1.16, 1.64),
    "Ga": (1.14, 1.82),
    "Gd": (1.58, 1.11),
    "Hf": (1.42, 1.23),
    "Hg": (1.32, 1.44),
    "Ho": (1.53, 1.1),
    "In": (1.34, 1.49),
    "Ir": (1.37, 1.55),
    "K": (1.73, 0.91),
    "La": (1.71, 1.08),
    "Li": (1.0, 0.97),
    "Lu": (1.47, 1.14),
    "Mg": (1.21, 1.23),
    "Mn": (1.17, 1.6),
    "Mo": (1.37, 1.3),
    "Na": (1.36, 1.01),
    "Nb": (1.4, 1.23),
    "Nd": (1.64, 1.07),
    "Ni": (1.04, 1.75),
    "Pb": (1.53, 1.55),
    "Pd": (1.11, 1.35),
    "Pr": (1.66, 1.07),
    "Rb": (1.84, 0.89),
    "Re": (1.37, 1.46),
    "Rh": (1.18, 1.54),
    "Ru": (1.21, 1.42),
    "Sc": (1.34, 1.2),
    "Sm": (1.61, 1.07),
    "Sn": (1.37, 1.72),
    "Sr": (1.66, 0.99),
    "Ta": (1.39, 1.33),
    "Tb": (1.56, 1.1),
    "Th": (1.7, 1.11),
    "Ti": (1.27, 1.32),
    "Tl": (1.62, 1.44),
    "Tm": (1.5, 1.11),
    "U": (1.59, 1.22),
    "V": (1.21, 1.45),
    "W": (1.38, 1.4),
    "Y": (1.52, 1.11),
    "Yb": (1.49, 1.06),
    "Zn": (1.07, 1.66),
    "Zr": (1.43, 1.22),
    "N": (0.72, 2.61),
    "O": (0.63, 3.15),
    "F": (0.58, 3.98),
    "S": (1.03, 2.35),
    "Cl": (0.99, 2.74),
    "Se": (1.18, 2.51),
    "Br": (1.13, 2.58),
    "Te": (1.4, 2.72),
    "I": (1.33, 2.38),
}
ANIONS = frozenset({"N", "O", "F", "S", "Cl", "Se", "Br", "Te", "I"})

# the positive oxidation states each metal holds in at least 5 % of its ICSD entries (the
# survey of pymatgen's core/icsd_bv.yaml, "occurrence"; tests/test_bond_valence.py derives them
# again): the valences a metal site's bond valence sum is held against
OXIDATION_STATES = {
    "Ag": (1,),
    "Al": (3,),
    "Ba": (2,),
    "Be": (2,),
    "Bi": (3, 5),
    "Ca": (2,),
    "Cd": (2,),
    "Ce": (3, 4),
    "Co": (2, 3),
    "Cr": (2, 3, 4, 5, 6),
    "Cs": (1,),
    "Cu": (1, 2),
    "Dy": (3,),
    "Er": (3,),
    "Eu": (2, 3),
    "Fe": (2, 3),
    "Ga": (3,),
    "Gd": (3,),
    "Hf": (4,),
    "Hg": (1, 2),
    "Ho": (3,),
    "In": (1, 3),
    "Ir": (3, 4, 5, 6),
    "K": (1,),
    "La": (3,),
    "Li": (1,),
    "Lu": (3,),
    "Mg": (2,),
    "Mn": (2, 3, 4),
    "Mo": (3, 4, 5, 6),
    "Na": (1,),
    "Nb": (3, 4, 5),
    "Nd": (3,),
    "Ni": (2, 3),
    "Pb": (2, 4),
    "Pd": (2, 4),
    "Pr": (3, 4),
    "Rb": (1,),
    "Re": (3, 4, 5, 6, 7),
    "Rh": (3, 4),
    "Ru": (2, 3, 4, 5, 6),
    "Sc": (2, 3),
    "Sm": (2, 3),
    "Sn": (2, 4),
    "Sr": (2,),
    "Ta": (4, 5),
    "Tb": (3, 4),
    "Th": (3, 4),
    "Ti": (3, 4),
    "Tl": (1, 3),
    "Tm": (2, 3),
    "U": (4, 5, 6),
    "V": (3, 4, 5),
    "W": (5, 6),
    "Y": (3,),
    "Yb": (2, 3),
    "Zn": (2,),
    "Zr": (3, 4),
}
# ln(sum / state) within which a metal's bond valence sum is as plausible as its state itself:
# every metal of the corpus's train split bonded to anions alone (133 sites) came within 0.41
# of one of its OXIDATION_STATES with these R0 (Co(III) among amines, 4.5 v.u.), while Cu and Zn
# on each other's sites come within 0.25: a sum 1.5 times a state or two thirds of it says
# nothing, only one further off does
PLAUSIBLE = 0.4
SPREAD = 0.15  # past PLAUSIBLE, the likelihood falls as a normal density of this width in ln
# the least likelihood a metal gets however far its sum strays: the valence weighs the model's
# choice by at most 1 / LEAST_LIKELIHOOD (a likelihood, not an override)
LEAST_LIKELIHOOD = 0.01


def pair_r0(cation: str, anion: str) -> float | None:
    """R0 (Å) of a cation-anion bond from O'Keeffe & Brese's element parameters, None for an
    element they give none."""
    if cation not in SIZE_AND_ELECTRONEGATIVITY or anion not in SIZE_AND_ELECTRONEGATIVITY:
        return None
    r1, c1 = SIZE_AND_ELECTRONEGATIVITY[cation]
    r2, c2 = SIZE_AND_ELECTRONEGATIVITY[anion]
    return r1 + r2 - r1 * r2 * (math.sqrt(c1) - math.sqrt(c2)) ** 2 / (c1 * r1 + c2 * r2)


def valence_likelihood(metal: str, valence: float) -> float:
    """How plausible a bond valence sum (> 0) is for `metal`: 1 within PLAUSIBLE (in ln) of the
    nearest of its OXIDATION_STATES, falling as a normal density of width SPREAD beyond, never
    under LEAST_LIKELIHOOD."""
    return state_likelihood(valence, OXIDATION_STATES[metal], LEAST_LIKELIHOOD)


def state_likelihood(
    valence: float, states: tuple[int, ...], least: float, short_allowed: float = 0.0
) -> float:
    """How plausible a bond valence sum is for an ion of one of these `states`: 1 within
    PLAUSIBLE (in ln) of the nearest, a normal density of width SPREAD beyond, never under
    `least`. A sum may fall short of a state by `short_allowed` v.u. at no cost (what H bonds
    not in the model may give an anion); a sum of 0 beyond that gets `least`."""
    if valence <= 0 and short_allowed <= 0:
        return least
    off = min(
        max(0.0, math.log(max(valence, 1e-9) / state), math.log(state / (valence + short_allowed)))
        for state in states
    )
    return max(math.exp(-0.5 * (max(0.0, off - PLAUSIBLE) / SPREAD) ** 2), least)
