"""Molecules a published model left without H, read from UNIT's H total.

A refinement often leaves a solvent molecule's H out (a THF or CH2Cl2 it could not place), and
UNIT, counted from the model's atoms, then lacks all of that molecule's H at once. The hydrogen
model counts H atom by atom from chemistry, so it is sure a THF carbon carries two; fitted to
such a UNIT site by site, the shortfall is taken off the least certain atoms elsewhere (a ligand's
CH2 made a bare C). One omission of a whole molecule is the likelier reading: this weighs it as
one event of cost OMITTED_COST, against the site-by-site fit (composition.constrained_total),
and keeps it where it explains UNIT better.
"""

from __future__ import annotations

import math

import numpy as np

from crystalx_core.assign.composition import constrained_total, total_cost
from crystalx_core.elements import is_metal
from crystalx_core.structure import Structure

# A solvent of crystallisation is a small molecule beside a larger one: the common ones (MeOH,
# MeCN, CH2Cl2, CHCl3, THF, dioxane, benzene, toluene, xylene) have at most 8 non-H atoms.
SOLVENT_SITES = 8
# nats: -ln of the share of such solvent molecules published without H. Of the 44 the model gives
# two H or more on the corpus's training structures (whole, outside disorder, no metal, at most
# SOLVENT_SITES sites, smaller than the structure's largest molecule), 2 have none in the
# published model (a CH2Cl2 and an ethynyl ether): ln(44 / 2) = 3.1. Lone waters are left to the
# site-by-site fit: the model gives an uncoordinated water's "no H" about the share (14 of 72)
# the training structures hold.
OMITTED_COST = math.log(44 / 2)
WHOLE = 1 - 1e-3  # occupancy of a whole site, as assign.model.WHOLE
# Each round refits UNIT once per candidate (an integer programme, up to HiGHS's time limit), so
# the search is bounded: the corpus's most is 7 candidates (codtools_7114517: 0.33 -> 0.42 s);
# 20 THF among 300 uncertain sites took about 50 s, 40 over 260 s (review of s19hmiss). Past
# MAX_CANDIDATES the site-by-site fit stands alone; at most MAX_OMITTED molecules are read so.
MAX_CANDIDATES, MAX_OMITTED = 8, 4


def solvent_molecules(heavy: Structure, bonds: list) -> list[list[int]]:
    """The sites of each solvent molecule that could have been published without H: two to
    SOLVENT_SITES bonded sites (`bonds`: connectivity as one alternative has it, symmetry images
    included), fewer than the largest molecule has (not one of a co-crystal's equal partners,
    nor a counter-ion as large as its cation), no metal among them, all whole and outside
    disorder (a partly occupied solvent's H the user modelled; its UNIT is rounded, not
    short)."""
    sites = heavy.sites
    parent = list(range(len(sites)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for k, contacts in enumerate(bonds):
        for c in contacts:
            parent[root(k)] = root(c.j)
    groups: dict[int, list[int]] = {}
    for k in range(len(sites)):
        groups.setdefault(root(k), []).append(k)
    largest = max((len(members) for members in groups.values()), default=0)
    return [
        members
        for members in groups.values()
        if 2 <= len(members) <= SOLVENT_SITES
        and len(members) < largest
        and all(
            not is_metal(sites[k].element) and sites[k].occupancy >= WHOLE and sites[k].part == 0
            for k in members
        )
    ]


def fit_with_omissions(
    probabilities: np.ndarray,
    values: np.ndarray,
    expected: float,
    weights: np.ndarray,
    penalty: float,
    shortfall: bool,
    molecules: list[list[int]],
) -> tuple[np.ndarray, list[list[int]]]:
    """(class per site, molecules read as published without H): constrained_total's fit, and,
    while the most likely counts exceed `expected`, the molecule whose H all left out (at
    OMITTED_COST, its sites then at no H whatever the model says) makes the fit's cost lowest,
    one at a time while each lowers it."""
    values = np.asarray(values)
    zero = np.flatnonzero(values == 0)
    choice = constrained_total(probabilities, values, expected, weights, penalty, shortfall)
    if not len(zero) or not molecules or len(molecules) > MAX_CANDIDATES:
        return choice, []
    most_likely = weights @ values[probabilities.argmax(axis=1)]
    if most_likely <= expected:
        return choice, []
    best = total_cost(probabilities, choice, values, expected, weights, penalty, shortfall)
    omitted: list[list[int]] = []
    current = probabilities
    while len(omitted) < MAX_OMITTED:
        trials = []
        for members in molecules:
            if members in omitted or not values[current[members].argmax(axis=1)].any():
                continue
            trial = current.copy()
            trial[members] = 0.0
            trial[members, zero[0]] = 1.0
            fitted = constrained_total(trial, values, expected, weights, penalty, shortfall)
            cost = total_cost(trial, fitted, values, expected, weights, penalty, shortfall)
            trials.append((cost + OMITTED_COST * (len(omitted) + 1), members, trial, fitted))
        if not trials:
            return choice, omitted
        cost, members, trial, fitted = min(trials, key=lambda t: t[0])
        if cost >= best:
            return choice, omitted
        best, current, choice = cost, trial, fitted
        omitted.append(members)
    return choice, omitted
