"""What the space-group models predict: the 230 space groups, and 46 symmetry rules (the 32
point groups and the 14 Bravais lattices) that rare groups share with common ones.

Each rule has two binary targets per space group, as in Chemical Sight Net: "present" (the
group's point group / Bravais lattice is this rule) and "inverse" (the rule holds for the
group with an inversion centre added, i.e. its Laue class; a lattice is its own inverse).
Powder patterns obey Friedel's law, so the inverse targets are what the data show most directly.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from cctbx import sgtbx

N_SPACE_GROUPS = 230
POINT_GROUPS = (
    "1",
    "-1",
    "2",
    "m",
    "2/m",
    "222",
    "mm2",
    "mmm",
    "4",
    "-4",
    "4/m",
    "422",
    "4mm",
    "-42m",
    "4/mmm",
    "3",
    "-3",
    "32",
    "3m",
    "-3m",
    "6",
    "-6",
    "6/m",
    "622",
    "6mm",
    "-62m",
    "6/mmm",
    "23",
    "m-3",
    "432",
    "-43m",
    "m-3m",
)
BRAVAIS_LATTICES = (
    "aP",
    "mP",
    "mC",
    "oP",
    "oC",
    "oI",
    "oF",
    "tP",
    "tI",
    "hP",
    "hR",
    "cP",
    "cI",
    "cF",
)
RULES = POINT_GROUPS + BRAVAIS_LATTICES
_FAMILY = {
    "Triclinic": "a",
    "Monoclinic": "m",
    "Orthorhombic": "o",
    "Tetragonal": "t",
    "Trigonal": "h",
    "Hexagonal": "h",
    "Cubic": "c",
}


@lru_cache(maxsize=None)
def space_group(number: int) -> sgtbx.space_group_info:
    if not 1 <= number <= N_SPACE_GROUPS:
        raise ValueError(f"space group number {number} is not in 1..230")
    return sgtbx.space_group_info(number)


def symbol(number: int) -> str:
    """Hermann–Mauguin symbol of the standard setting, e.g. 'P 1 21/c 1'."""
    return space_group(number).type().lookup_symbol()


def crystal_system(number: int) -> str:
    return space_group(number).group().crystal_system()


def bravais_lattice(number: int) -> str:
    group = space_group(number).group()
    centring = group.conventional_centring_type_symbol()
    centring = {"A": "C", "B": "C"}.get(centring, centring)
    return _FAMILY[group.crystal_system()] + centring


@lru_cache(maxsize=None)
def rule_targets(number: int) -> tuple[np.ndarray, np.ndarray]:
    """(present, inverse): two 0/1 vectors over RULES for one space group."""
    group = space_group(number).group()
    present = np.zeros(len(RULES), dtype=np.float32)
    inverse = np.zeros(len(RULES), dtype=np.float32)
    present[RULES.index(group.point_group_type())] = 1
    inverse[RULES.index(group.laue_group_type())] = 1
    lattice = RULES.index(bravais_lattice(number))
    present[lattice] = inverse[lattice] = 1
    return present, inverse


def rule_matrix() -> np.ndarray:
    """(230, 2 × 46) targets of every space group, present then inverse."""
    return np.stack([np.concatenate(rule_targets(n)) for n in range(1, N_SPACE_GROUPS + 1)])
