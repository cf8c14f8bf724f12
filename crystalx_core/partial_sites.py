"""Partly occupied sites, as SHELXL and Olex2 users add them by hand once the ordered model
has converged: the difference-map peaks left that look like atoms are tried as partly
occupied ones (isotropic, occupancy on a free variable), and kept when they refine to a
sensible occupancy and Uiso and lower both R1 (by R1_GAIN at least) and wR2.

A peak closer than a bond to an atom, and bonded to another (or beside an atom whose large Uiso
says it is smeared over two positions), cannot be there at the same time as the first: it is
its alternative position (the minor part, PART 2, occupancy 1 - fv, with the riding H of the
atom it replaces) and the atom the major part (PART 1, occupancy fv, its riding H with it). A
peak between two or more atoms with none to replace, or far from every atom (partly occupied
solvent), has a free variable of its own (PART -n when it would bond to its own symmetry
image). Peaks within a bond of each other share one free variable. A peak at a bond's length
from one atom only is a heavy atom's ripple or an H's density, not tried.

Before the peaks, the atoms whose electron count falls short of every element they could be
(crystalx_core.element_evidence: a half-occupied methanol across a centre refined whole) have
their occupancy refined, each bonded group (with its riding H) on a free variable of its own,
kept on the same test; two or three of them that are one atom's places (bonded to one atom,
each under PARTNER_DISTANCE from the next) are PART 1/2 of one variable or PART 1/2/3 of
three that sum to one (SHELXL's SUMP).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from crystalx_core.assign.labels import free_label
from crystalx_core.crystallography.maps import difference_peaks
from crystalx_core.crystallography.refine import RefinementResult, refine
from crystalx_core.elements import is_hydrogen, is_metal
from crystalx_core.errors import RefinementError
from crystalx_core.geometry import connectivity, linked_groups, neighbours
from crystalx_core.hydrogens import (
    _CONJUGATED_BOND,
    _PLANAR_ANGLE_SUM,
    angle_sum,
    h_label,
    place_hydrogens,
)
from crystalx_core.residues import bare_label
from crystalx_core.riding import RIDING_U_FACTOR
from crystalx_core.structure import Site, Structure

# A peak is tried when it stands MIN_HEIGHT_RMS rms over the Fo - Fc map (of the model with
# its riding H, so H density is no longer there) and is no residue of the ordered model:
MIN_HEIGHT_RMS = 5.0  # ordered benchmark entries show at most 6 rms, all on bonds; minor parts 6-14
# Å: nearer, the peak is its atom's own anisotropy, lone pair or misfit (alanine's O shows one at
# 0.50 Å, 6 rms); minor parts of the benchmark lie 0.8-1.1 Å from the major atoms
MIN_FROM_ATOM = 0.7
OFF_BOND = 1.0  # Å: a second atom nearer than this puts the peak on their bond (bonding density)
MIN_FROM_H = 0.8  # Å: nearer, the peak is its riding H misplaced
ALTERNATIVE = 1.2  # Å: a peak nearer an atom than this is its alternative position
# ... when it bonds to a neighbour of that atom as the atom does: the neighbour within
# PARTNER_BOND of the atom, the peak at most STRETCH further from it than the atom (a CF3's minor
# F: 1.57-1.71 Å from the C that holds the major F at 1.33 Å). A misplaced H's density (1.1 Å
# from an O, no other atom within 1.7 Å) and the ripples around a heavy atom (0.9 Å from Cd, 1.76
# Å from an O 2.3 Å from the Cd) do not, and simulated ordered data made partial sites of both
PARTNER_BOND, STRETCH = 2.0, 0.45
# an atom whose Uiso is over SMEARED times the model's median is one smeared over two positions
# (FC_p21c's C(CF3)3 groups, 48:52 and 56:44, refine as single atoms of Uiso 0.12-0.20 beside a
# median 0.03): a peak nearer than ALTERNATIVE is its other position whatever its bonds (the
# smeared atom's own lie between both positions). The ordered benchmark entries' published atoms
# stay under 2.5 times their median; 38 of 273 ordered corpus models hold one over 3 (loose end
# groups), where it also takes a 5 rms peak beside it and the R1/wR2 test to make a split
SMEARED = 3.0
ANCHOR = 1.75  # Å: a peak with two or more atoms this close and none to replace is between them
# (FC_p21c's minor F: 1.57-1.71 Å; the Cd ripple above has two O images at 1.76 Å)
BOND = 1.9  # Å: peaks this close are one group (a fragment's minor part, a solvent molecule)
# Å: a group with no alternative position is solvent only this far from every atom (a hydrogen
# bond's O···O is 2.6 Å or more); nearer, at a bond's length to one atom, it is a heavy atom's
# ripple (1.3 Å from P, simulated) more often than a partly occupied substituent
SOLVENT_CLEARANCE = 2.3
MAX_PEAKS = 30  # difference peaks read per cycle
MAX_CYCLES = 3  # new partial sites found in a cycle often show their missing neighbours
# a kept site's occupancy and Uiso: the benchmark's published minor parts hold 0.09 to 0.24, and
# FC_SH2185's (0.09) refines to 0.067 here with R1 0.0374 -> 0.0317, evidence enough
MIN_OCCUPANCY, MAX_OCCUPANCY = 0.05, 0.95
# Å²: FC_p21c's minor F (occupancy 0.18) refine to Uiso 0.005-0.03 beside their full major F
MIN_U, MAX_U = 0.002, 0.15
# occupancy and Uiso correlate: from the start values least squares needs about twice the cycles
# of an ordered model (a half water: occupancy 0.32 after 8 cycles, 0.49 converged after 18)
MIN_CYCLES = 20
# R1 must drop by this share (wR2 drop too): alanine's ordered data gained 0.4 % from a split O,
# true minor parts gain 2-20 % (FC_p31c's second cycle 2.4 %, thpp's 14 % minor part 19 %)
R1_GAIN = 0.02
START_OCCUPANCY = 0.25  # of the minor part or the solvent, before refinement
# ... of the other position of a smeared atom: both halves alike (FC_p21c: from 0.25, 20 cycles
# left the occupancies at 0.75/0.25 and R1 0.0674, 20 more reached 0.56-0.68 and 0.0631; from
# 0.5 the job ends at R1 0.0634)
SMEARED_OCCUPANCY = 0.5
# Å: two sites short of every element, both bonded to one atom and nearer each other than this,
# cannot both be there: they are one disordered atom's alternative positions (CRYSTALS' sugar
# demo: a hydroxyl O over two places 1.22 Å apart on one C, counted 5.2 and 4.4 e); two
# substituents of one atom, 1.3-1.5 Å from it at tetrahedral angles, lie 2.1 Å apart or more
PARTNER_DISTANCE = 1.6
# the common valence of the elements whose split places' H saturated_counts fills
SATURATED = {"C": 4, "N": 3, "O": 2, "S": 2}
SOLVENT_ELEMENT = "O"  # water, the common partly occupied solvent (else the commonest element)


@dataclass
class PartialCycle:
    tried: int  # candidate peaks
    kept: list[float]  # occupancies of the sites kept
    r1: float  # after the cycle (the model before when none kept)


@dataclass
class PartialSites:
    refined: RefinementResult  # the final model, partial sites included (or the one given)
    added: list[str] = field(default_factory=list)  # labels of the new sites
    cycles: list[PartialCycle] = field(default_factory=list)
    occupancies: dict[str, float] = field(default_factory=dict)  # atoms given a free variable
    short_note: str = ""  # what became of the atoms whose count was short
    # of `occupancies`, those that are one atom's places (alternative_pairs and _triples: PART
    # 1, 2, 3), whose H and their neighbours' were planned before the parts (pipeline plans again)
    alternatives: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        return [note for note in (self.short_note, self.note() if self.cycles else "") if note]

    def note(self) -> str:
        parts = []
        for k, cycle in enumerate(self.cycles, 1):
            occupancies = ", ".join(f"{occ:.2f}" for occ in cycle.kept)
            parts.append(
                f"cycle {k}: {cycle.tried} peaks tried, {len(cycle.kept)} kept"
                + (f" (occupancies {occupancies}), R1 {cycle.r1:.4f}" if cycle.kept else "")
            )
        return (
            f"partly occupied sites from the difference map: {len(self.added)} added; "
            + "; ".join(parts)
        )


def refine_short_sites(
    refined: RefinementResult,
    reflections,
    cycles: int,
    anisotropic: bool,
    instructions: list[str],
    short: frozenset[str] = frozenset(),
) -> tuple[PartialSites, RefinementResult | None]:
    """The atoms named in `short` (their count short of every element) with their occupancy
    refined, kept when R1 (by R1_GAIN) and wR2 both drop; and the model refined MIN_CYCLES as
    it stands when this ran it and left it (add_peak_sites starts there). The pipeline plans
    the H of one atom's places (PartialSites.alternatives) before the peaks are read."""
    result = PartialSites(refined)
    if not short:
        return result, None
    whole = _refine_occupancies(result, short, reflections, cycles, anisotropic, instructions)
    return result, whole


def add_peak_sites(
    result: PartialSites,
    reflections,
    cycles: int,
    anisotropic: bool,
    instructions: list[str],
    whole: RefinementResult | None = None,
) -> PartialSites:
    """The difference-map peaks of `result`'s converged model (as refine_short_sites left it;
    `whole`: that model refined MIN_CYCLES, when it ran it) as partly occupied atoms, cycle by
    cycle, keeping each step only when R1 (by R1_GAIN) and wR2 both drop."""
    for _ in range(MAX_CYCLES):
        model = result.refined.structure
        candidates = candidate_peaks(model, reflections)
        if not candidates:
            break
        if cycles < MIN_CYCLES:  # R1 compared after as many cycles with and without the sites
            cycles = MIN_CYCLES
            try:
                converged = (
                    whole
                    if whole is not None
                    else refine(
                        model, reflections, cycles, anisotropic, instructions, _isotropic(model)
                    )
                )
            except RefinementError:
                break
            candidates = candidate_peaks(converged.structure, reflections)
            if not candidates:
                break
            base, model = converged, converged.structure
        else:
            base = result.refined
        trial = with_partial_sites(model, candidates)
        new = [s.label for s in trial.sites[len(model.sites) :]]  # the sites it appended
        if not new:
            break
        kept = _refined_trial(trial, new, reflections, cycles, anisotropic, instructions)
        if kept is None or not _lowers_both(kept, base):
            result.cycles.append(PartialCycle(len(candidates), [], base.r1))
            break
        labels = {s.label for s in kept.structure.sites if not is_hydrogen(s.element)} & set(new)
        result.added += sorted(labels)
        result.cycles.append(
            PartialCycle(
                len(candidates),
                [s.occupancy for s in kept.structure.sites if s.label in labels],
                kept.r1,
            )
        )
        result.refined = kept
    return result


def _refine_occupancies(
    result: PartialSites,
    short: frozenset[str],
    reflections,
    cycles: int,
    anisotropic: bool,
    instructions: list[str],
) -> RefinementResult | None:
    """The atoms named, each bonded group on a free variable, kept in `result` when the
    refinement (MIN_CYCLES at least, the model without them refined as long) agrees. Returns
    the model without them so refined when it stays (the first peak cycle starts from it)."""
    model = result.refined.structure
    trial = with_free_occupancies(model, short)
    named = [s.label for s in trial.sites if s.label in short and s.free_variable]
    if not named:
        return None
    cycles = max(cycles, MIN_CYCLES)
    try:
        base = refine(model, reflections, cycles, anisotropic, instructions, _isotropic(model))
    except RefinementError:
        return None
    try:
        kept = refine(trial, reflections, cycles, anisotropic, instructions, _isotropic(trial))
    except RefinementError:
        return base
    occupancy = {s.label: s.occupancy for s in kept.structure.sites if s.label in named}
    listed = ", ".join(f"{label} {occ:.2f}" for label, occ in occupancy.items())
    sensible = all(MIN_OCCUPANCY <= occ <= MAX_OCCUPANCY for occ in occupancy.values())
    if sensible and _lowers_both(kept, base):
        result.refined, result.occupancies = kept, occupancy
        result.alternatives = [
            s.label for s in kept.structure.sites if s.label in named and s.part > 0
        ]
        result.short_note = (
            f"partly occupied by the data (counts short of every element): {listed} on free "
            f"variables; R1 {kept.r1:.4f}, {base.r1:.4f} with them whole"
        )
        return None
    result.short_note = (
        f"counts short of every element at {', '.join(named)}, left whole: their occupancy "
        f"refined to {listed}, R1 {kept.r1:.4f} against {base.r1:.4f} whole"
    )
    return base


def _lowers_both(kept: RefinementResult, base: RefinementResult) -> bool:
    """The test every added free variable meets: R1 down by a share R1_GAIN, wR2 down."""
    return kept.r1 < (1 - R1_GAIN) * base.r1 and kept.wr2 < base.wr2


def with_free_occupancies(model: Structure, labels: frozenset[str]) -> Structure:
    """The model with the non-H atoms named, each bonded group and its riding H on a free
    variable of its own from SMEARED_OCCUPANCY (PART -n when the group meets its own symmetry
    image: a solvent across a centre), but two that are one atom's positions (alternative_pairs)
    PART 1 and PART 2 of one variable, three (alternative_triples) PART 1, 2 and 3 of three
    variables that sum to one (Structure.occupancy_sums, SUMP); atoms already in a part or on
    a variable are left."""
    sites = list(model.sites)
    chosen = _not_yet_split(model, labels)
    if not chosen:
        return model
    next_fv, next_part = _next_numbers(sites)
    sums = []
    for triple in alternative_triples(model, labels):  # three places: fv each, summing to one
        for j, part in zip(triple, (1, 2, 3)):
            for k in [j, *_riding_on(model, {j})]:
                sites[k] = replace(
                    sites[k], occupancy=1 / 3, free_variable=next_fv + part - 1, part=part
                )
            chosen.remove(j)
        sums.append((next_fv, next_fv + 1, next_fv + 2))
        next_fv += 3
    for *pair, _ in alternative_pairs(model, labels):  # one atom's two places: fv and 1 - fv
        for j, part, occupancy in zip(pair, (1, 2), (SMEARED_OCCUPANCY, 1 - SMEARED_OCCUPANCY)):
            for k in [j, *_riding_on(model, {j})]:
                sites[k] = replace(
                    sites[k],
                    occupancy=occupancy,
                    free_variable=next_fv if part == 1 else -next_fv,
                    part=part,
                )
            chosen.remove(j)
        next_fv += 1
    bonded = neighbours(model, BOND, centres=chosen)
    groups = linked_groups([[chosen.index(c.j) for c in near if c.j in chosen] for near in bonded])
    for group in groups:
        members = [chosen[k] for k in group]
        part, next_part = _part_for(model, members, next_part)
        for j in members + _riding_on(model, set(members)):
            sites[j] = replace(
                sites[j], occupancy=SMEARED_OCCUPANCY, free_variable=next_fv, part=part
            )
        next_fv += 1
    return replace(model.with_sites(sites), occupancy_sums=(*model.occupancy_sums, *sums))


def alternative_pairs(model: Structure, labels) -> list[tuple[int, int, float]]:
    """(i, j, distance) for the pairs of non-H sites named (those short of every element) that
    are one disordered atom's two positions: nearer each other than PARTNER_DISTANCE and both
    bonded (within BOND) to one atom not named; each site in one pair at most, nearest first;
    none of the sites of alternative_triples."""
    named = _not_yet_split(model, labels)
    in_triples = {k for triple in alternative_triples(model, labels) for k in triple}
    taken: set[int] = set(in_triples)
    chosen = []
    for distance, i, j in _partner_links(model, named):
        if i not in taken and j not in taken:
            chosen.append((i, j, distance))
            taken |= {i, j}
    return chosen


def alternative_triples(model: Structure, labels) -> list[list[int]]:
    """Three non-H sites named that are one disordered atom's three places (SHELXL's PART 1, 2
    and 3 with SUMP): linked one to the next as alternative_pairs links two (a rotamer's place
    beside the next), and linked to no fourth."""
    named = _not_yet_split(model, labels)
    links = _partner_links(model, named)
    groups = linked_groups([[named.index(j) for _, i, j in links if i == k] for k in named])
    return [sorted(named[k] for k in group) for group in groups if len(group) == 3]


def _partner_links(model: Structure, named: list[int]) -> list[tuple[float, int, int]]:
    """(distance, i, j), i < j, nearest first, for the named sites nearer each other than
    PARTNER_DISTANCE and both bonded (within BOND) to one atom not named."""
    pairs = []
    for i, near in zip(named, neighbours(model, BOND, centres=named)):
        anchors = [
            c.cart_j for c in near if c.j not in named and not is_hydrogen(model.sites[c.j].element)
        ]
        for c in near:
            if c.j in named and c.j != i and c.distance < PARTNER_DISTANCE:
                if any(np.linalg.norm(a - c.cart_j) <= BOND for a in anchors):
                    pairs.append((c.distance, min(i, c.j), max(i, c.j)))
    return sorted(set(pairs))


def saturated_counts(model: Structure, labels) -> dict[int, int]:
    """H count of each named site in a PART (one atom's places) and of each atom bonded to
    one, that fills its element's common valence (SATURATED) with the bonds it has in one
    PART: the count an ordered sp3 atom there would carry. Only atoms tetrahedral in every
    PART (_tetrahedral_in): a flat ring C or a C=O's O keeps the hydrogen model's count, as
    does an element without a valence there or an atom bonded to a metal (issue 23)."""
    bonds = connectivity(model)
    named = [k for k, s in enumerate(model.sites) if s.label in labels and s.part > 0]
    around = {c.j for k in named for c in bonds[k] if not is_hydrogen(model.sites[c.j].element)}
    counts = {}
    for k in sorted(set(named) | around):
        valence = SATURATED.get(model.sites[k].element)
        in_parts = _bonds_in_parts(model, bonds, k)
        if valence is None or not all(_tetrahedral_in(model, bonds, k, part) for part in in_parts):
            continue
        counts[k] = max(valence - max(len(b) for b in in_parts.values()), 0)
    return counts


def _bonds_in_parts(model: Structure, bonds, k: int) -> dict[int, list]:
    """Site k's non-H bonds as each PART of its neighbours sees them (PART 0: all are in it)."""
    heavy = [c for c in bonds[k] if not is_hydrogen(model.sites[c.j].element)]
    parts = {model.sites[c.j].part for c in heavy} - {0} or {model.sites[k].part}
    return {p: [c for c in heavy if model.sites[c.j].part in (0, p)] for p in parts}


def _tetrahedral_in(model: Structure, bonds, k: int, part: int, from_site: int = -1) -> bool:
    """Whether site k may be an sp3 atom in `part`: no bond to a metal; with one bond, the
    atom it hangs from is so (a CH2OH's O, not a C=O's); with two or three, no conjugated
    bond to an atom of its own PART (a ring C) and three not flat. A bond between PART 0 and a
    place is smeared (sugar's C7: 1.27-1.29 Å to both places, C6-C7-O 117-122°), so neither
    its length nor the angle of two bonds decides."""
    contacts = _bonds_in_parts(model, bonds, k).get(part) or []
    if not contacts or any(is_metal(model.sites[c.j].element) for c in contacts):
        return False
    if len(contacts) == 1:
        j = contacts[0].j
        return j != from_site and _tetrahedral_in(model, bonds, j, part or model.sites[k].part, k)
    own = model.sites[k].part
    if any(c.distance < _CONJUGATED_BOND for c in contacts if model.sites[c.j].part == own):
        return False
    centre = model.cartesian(model.sites[k].frac)
    points = [c.cart_j for c in contacts]
    return len(points) != 3 or angle_sum(centre, points) < _PLANAR_ANGLE_SUM


def _not_yet_split(model: Structure, labels) -> list[int]:
    """Indices of the non-H sites named that are in no part and on no variable yet (the
    user's or an earlier cycle's are left as they are)."""
    return [
        k
        for k, s in enumerate(model.sites)
        if s.label in labels and not is_hydrogen(s.element) and not s.free_variable and not s.part
    ]


def _isotropic(model: Structure) -> frozenset[str]:
    """Labels of the atoms an anisotropic refinement leaves isotropic: the partial sites."""
    return frozenset(
        s.label for s in model.atoms if s.u_aniso is None and not is_hydrogen(s.element)
    )


def candidate_peaks(model: Structure, reflections) -> list[Site]:
    """Difference peaks that may be partly occupied atoms (see the thresholds above)."""
    peaks, rms = difference_peaks(model, reflections, MAX_PEAKS)
    peaks = [p for p in peaks if p.peak_height >= MIN_HEIGHT_RMS * rms]
    if not peaks:
        return []
    n = len(model.sites)
    both = model.with_sites([*model.sites, *peaks])
    kept = []
    for peak, near in zip(
        peaks, neighbours(both, OFF_BOND, centres=list(range(n, n + len(peaks))))
    ):
        atoms = [c.distance for c in near if c.j < n and not is_hydrogen(model.sites[c.j].element)]
        hydrogens = [c.distance for c in near if c.j < n and is_hydrogen(model.sites[c.j].element)]
        if atoms and (atoms[0] < MIN_FROM_ATOM or len(atoms) > 1):
            continue
        if hydrogens and hydrogens[0] < MIN_FROM_H:
            continue
        kept.append(peak)
    return kept


def with_partial_sites(model: Structure, peaks: list[Site]) -> Structure:
    """The model with the peaks as partly occupied atoms on free variables: alternative
    positions and the atoms they replace as PART 2 and PART 1 of one variable, solvent on its
    own (module docstring)."""
    n = len(model.sites)
    both = model.with_sites([*model.sites, *peaks])
    wide = neighbours(both, SOLVENT_CLEARANCE, centres=list(range(n, n + len(peaks))))
    near = [[c for c in contacts if c.distance <= BOND] for contacts in wide]
    groups = linked_groups([[c.j - n for c in contacts if c.j >= n] for contacts in near])
    sites = list(model.sites)
    used = {bare_label(s.label).upper() for s in sites}  # SHELX tells residues' atoms apart
    # by bare label only where it knows their RESI
    next_fv, next_part = _next_numbers(sites)
    smeared = _smeared(model)
    for group in groups:
        heavy_wide = {
            k: [c for c in wide[k] if c.j < n and not is_hydrogen(sites[c.j].element)]
            for k in group
        }
        heavy = {k: [c for c in heavy_wide[k] if c.distance <= BOND] for k in group}
        replaced = {k: _replaced(heavy[k], smeared) for k in group}
        partners = {j for k in group for j in replaced[k]}
        if any(_users_disorder(sites[c.j]) for k in group for c in heavy[k]):
            continue  # the user's own parts and free variables are the user's to extend
        held = [j for j in partners if sites[j].free_variable]
        if held:  # in place of atoms already split: the other part of theirs
            j = min(held, key=lambda j: abs(sites[j].free_variable))
            fv = abs(sites[j].free_variable)
            sign = -1 if sites[j].free_variable > 0 else 1
            part = 3 - sites[j].part if sites[j].part in (1, 2) else sites[j].part
            value = _value(sites, fv)
        elif partners:
            start = SMEARED_OCCUPANCY if partners & smeared else START_OCCUPANCY
            fv, sign, part, value = next_fv, -1, 2, 1 - start
            next_fv += 1
            for j in sorted(partners) + _riding_on(model, partners):
                sites[j] = replace(sites[j], part=1, free_variable=fv, occupancy=1 - start)
        elif any(_crowded(heavy[k]) for k in group) or not any(
            heavy_wide[k] for k in group
        ):  # between atoms, or solvent: a variable of its own; PART -n keeps it from bonding to
            # its own symmetry images
            fv, sign, value = next_fv, 1, START_OCCUPANCY
            next_fv += 1
            part, next_part = _part_for(both, [n + k for k in group], next_part)
        else:  # at a bond's length from one atom only: a heavy atom's ripple, or an H's density
            continue
        for k in group:
            element = _element(
                model, [sites[j] for j in replaced[k]] + [sites[c.j] for c in heavy[k]]
            )
            label = free_label(element, used)
            if label is None:  # every SHELX-length name of the element is taken: no site
                continue
            sites.append(
                Site(
                    label=label,
                    element=element,
                    frac=peaks[k].frac,
                    occupancy=value if sign > 0 else 1 - value,
                    u_iso=0.05,
                    part=part,
                    free_variable=sign * fv,
                )
            )
            bonded = [c.cart_j for c in heavy[k] if c.j not in partners]
            bonded += [c.cart_j for c in near[k] if c.j >= n and c.j - n != k]
            sites += _alternative_hydrogens(model, sites[-1], replaced[k], bonded, used)
    return model.with_sites(sites)


def _alternative_hydrogens(
    model: Structure, alternative: Site, replaced: list[int], bonded: list, used: set[str]
) -> list[Site]:
    """The riding H of the atom an alternative position replaces, placed on the alternative
    (its AFIX mn and count, on the alternative's own bonds: the atoms of no part and the other
    new sites), on the same free variable and part: the minor part of a disordered CH2-CH2 is
    CH2-CH2 too (thpp's C6A/C7B were written without their four H). None where the replaced
    atom has no riding H, or the alternative's bonds give the group no geometry."""
    riding = [model.sites[i] for i in _riding_on(model, set(replaced[:1]))]
    codes = {h.afix for h in riding}
    if not riding or len(codes) != 1 or not min(codes):
        return []
    code = codes.pop()
    element = riding[0].element  # D where the replaced atom carries D (a deuterated crystal)
    try:
        placed = place_hydrogens(
            code, model.cartesian(alternative.frac), bonded, len(riding), alternative.element
        )
    except ValueError:  # too few bonds for the group, or a code that is no riding geometry
        return []
    hydrogens = []
    for k, xyz in enumerate(placed):
        label = h_label(alternative.label, k, len(placed), element)  # SHELXL's name if free
        if len(label) > 4 or label.upper() in used:
            label = free_label(element, used)
        else:
            used.add(label.upper())
        if label is None:
            return hydrogens
        hydrogens.append(
            replace(
                alternative,
                label=label,
                element=element,
                frac=tuple(model.fractional(xyz)),
                u_iso=RIDING_U_FACTOR.get(code, 1.2) * alternative.u_iso,
                afix=code,
            )
        )
    return hydrogens


def _next_numbers(sites: list[Site]) -> tuple[int, int]:
    """The first free variable (2 at the least: 1 is the scale) and PART number not in use."""
    next_fv = max({abs(s.free_variable) for s in sites} | {1}) + 1
    return next_fv, max([abs(s.part) for s in sites] + [0]) + 1


def _part_for(structure: Structure, members: list[int], next_part: int) -> tuple[int, int]:
    """PART -next_part for a group that meets its own symmetry image (else 0), and the next
    PART number left."""
    if _meets_own_image(structure, members):
        return -next_part, next_part + 1
    return 0, next_part


def _smeared(model: Structure) -> set[int]:
    """Indices of the non-H atoms whose Uiso is over SMEARED times the median of them all."""
    heavy = [k for k, s in enumerate(model.sites) if not is_hydrogen(s.element)]
    if not heavy:
        return set()
    median = float(np.median([model.sites[k].u_iso for k in heavy]))
    return {k for k in heavy if model.sites[k].u_iso > SMEARED * median}


def _replaced(contacts: list, smeared: set[int]) -> list[int]:
    """The atoms a peak (its non-H contacts, nearest first) stands in for: those nearer than
    ALTERNATIVE when it bonds to a neighbour of theirs as they do, or when the nearest is
    smeared over two positions; none else."""
    close = [c for c in contacts if c.distance < ALTERNATIVE]
    if close and close[0].j in smeared:
        return [close[0].j]
    for x in contacts if close else ():
        bond = float(np.linalg.norm(close[0].cart_j - x.cart_j))
        if x is not close[0] and bond <= PARTNER_BOND and x.distance <= bond + STRETCH:
            return [c.j for c in close]
    return []


def _crowded(contacts: list) -> bool:
    """Two or more atoms within ANCHOR (asked of a peak that stands in for none): a minor part's
    atom whose major counterpart lies further off (FC_p31c: 1.23, 1.48, 1.59 Å)."""
    return sum(1 for c in contacts if c.distance <= ANCHOR) >= 2


def _users_disorder(site: Site) -> bool:
    return not site.free_variable and (site.part != 0 or site.occupancy < 0.999)


def _value(sites: list[Site], fv: int) -> float:
    """Free variable `fv`'s value as its sites' occupancies give it."""
    site = next(s for s in sites if abs(s.free_variable) == fv)
    return site.occupancy if site.free_variable > 0 else 1 - site.occupancy


def _riding_on(model: Structure, pivots: set[int]) -> list[int]:
    """Indices of the H atoms nearest to one of the `pivots` (those riding on them)."""
    h = [i for i, s in enumerate(model.sites) if is_hydrogen(s.element)]
    if not h:
        return []
    riding = []
    for i, near in zip(h, neighbours(model, 1.3, centres=h)):
        heavy = [c for c in near if not is_hydrogen(model.sites[c.j].element)]
        if heavy and heavy[0].j in pivots:
            riding.append(i)
    return riding


def _meets_own_image(both: Structure, members: list[int]) -> bool:
    near = neighbours(both, BOND, centres=members)
    return any(c.j in members and c.distance > 0.1 for contacts in near for c in contacts)


def _element(model: Structure, neighbours_: list[Site]) -> str:
    """The element of the nearest atom (an alternative position is the atom it replaces; a site
    at a bond's length continues its chain); on its own, water's O where the formula has O,
    else the formula's commonest non-H element."""
    if neighbours_:
        return neighbours_[0].element
    contents = model.asymmetric_unit_contents() or Counter(  # no UNIT: the model's own atoms
        s.element for s in model.sites if s.element and not is_hydrogen(s.element)
    )
    if SOLVENT_ELEMENT in contents:
        return SOLVENT_ELEMENT
    return max(contents, key=contents.get)


def _refined_trial(
    trial: Structure,
    new: list[str],
    reflections,
    cycles: int,
    anisotropic: bool,
    instructions: list[str],
) -> RefinementResult | None:
    """The trial refined; the groups whose occupancy or new sites' Uiso leave the bounds taken
    out and the rest refined again. None when nothing sensible is left."""
    for _ in range(3):
        try:
            refined = refine(
                trial, reflections, cycles, anisotropic, instructions, _isotropic(trial)
            )
        except RefinementError:
            return None
        bad = _out_of_bounds(refined.structure, set(new))
        if not bad:
            return refined
        trial = _without(trial, bad, set(new))
        new = [label for label in new if label in {s.label for s in trial.sites}]
        if not new:
            return None
    return None


def _out_of_bounds(structure: Structure, new: set[str]) -> set[int]:
    """Free variables whose new sites refined to an occupancy or Uiso outside the bounds."""
    bad = set()
    for site in structure.sites:  # a riding H's U and occupancy are its atom's
        if (
            site.label in new
            and not is_hydrogen(site.element)
            and not (
                MIN_OCCUPANCY <= site.occupancy <= MAX_OCCUPANCY and MIN_U <= site.u_iso <= MAX_U
            )
        ):
            bad.add(abs(site.free_variable))
    return bad


def _without(structure: Structure, variables: set[int], new: set[str]) -> Structure:
    """The structure without the new sites on these free variables; atoms left with no
    alternative are whole again."""
    sites = [
        s for s in structure.sites if not (s.label in new and abs(s.free_variable) in variables)
    ]
    minor = {-s.free_variable for s in sites if s.free_variable < 0}
    return structure.with_sites(
        [
            replace(s, part=0, free_variable=0, occupancy=1.0)
            if s.free_variable > 0 and s.part == 1 and s.free_variable not in minor
            else s
            for s in sites
        ]
    )
