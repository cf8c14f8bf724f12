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
