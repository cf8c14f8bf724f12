"""Turn H counts into riding H sites (with AFIX codes) on a structure, using its connectivity."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from crystalx_core.elements import is_hydrogen, is_metal
from crystalx_core.errors import InputError
from crystalx_core.geometry import (
    AROMATIC_SPREAD,
    H_BOND_MAX,
    HALOGENS,
    OVERLAP,
    Contact,
    are_bonded,
    bonded_h_contacts,
    connectivity,
    contact_may_bond,
    crystallographic_occupancies,
    flat_ring_sites,
    identity_operator,
    neighbours,
    one_alternative,
    present_bonds,
    shares_neighbour,
)
from crystalx_core.hydrogens import (
    HBOND_DISTANCE,
    KNOWN_H_REACH,
    RESTRAINED_XH,
    WATER_OH,
    _TETRAHEDRAL,
    Density,
    _perpendicular,
    choose_hfix,
    h_label,
    has_riding_geometry,
    place_ammonium_hydrogens,
    place_hydrogens,
    place_restrained_hydrogens,
    place_water_hydrogens,
    restrained_group,
)
from crystalx_core.residues import MAX_LABEL, bare_label, residue_suffix
from crystalx_core.structure import Site, Structure

WATER_HH = 1.36  # Å, H···H for DANG (H–O–H ≈ 104.5°)
RIDING_U_FACTOR = {137: 1.5, 147: 1.5, 33: 1.5}  # SHELXL: 1.5 Ueq for CH3/OH, else 1.2
# Donor···acceptor (O, N) at most this long is a short, strong hydrogen bond (hydrogen maleate
# O···O 2.40 Å, acid salts, enols): its H sits far from the riding distance, often midway, so
# it is taken from the difference map and refined freely, as crystallographers do.
STRONG_HBOND = 2.50
_STRONG_HBOND_CLEARANCE = 0.75  # Å: the H is searched no closer than this to donor or acceptor
_STRONG_HBOND_SEARCH = 0.3  # Å: and no further than this off the donor–acceptor line


@dataclass(frozen=True)
class InputHFate:
    """What becomes of the input's own H on a path, for its notes to say: the job writes a
    .res (a kept H whose label SHELX cannot read renamed in it, one it does not keep not
    written); the service changes no H of the user's Olex2 model (no command names them)."""

    dropped: str  # what becomes of an input H the job does not keep
    renamed: bool  # a kept H SHELX cannot name is renamed in what is written


WRITTEN = InputHFate("not written", renamed=True)  # the job's .res (assign, solve)
IN_OLEX2 = InputHFate("left in the Olex2 model as it is", renamed=False)  # the service's answer


@dataclass
class HydrogenPlan:
    """The riding step's answer. Pivots are known by their index in the structure given to
    add_riding_hydrogens (the key of its h_counts), never by label: labels may repeat in
    the input and the H get theirs only here."""

    structure: Structure  # input atoms (old H removed) with the new H sites after their pivots
    codes: dict[
        int, int
    ]  # pivot → HFIX code (0 for restrained water); each H's Site.afix follows it
    # pivot → why its H were not placed, or how they were (restrained, disordered)
    notes: dict[int, str] = field(default_factory=dict)
    restraints: list[str] = field(default_factory=list)  # DFIX/DANG lines for water
    groups: dict[int, range] = field(default_factory=dict)  # pivot → its H in structure.sites
    # the DFIX of `restraints` that hold a kept H (add_riding_hydrogens' `kept`) at its input
    # distance: a user's own restraint on that H replaces it (pipeline._instructions)
    kept_restraints: list[str] = field(default_factory=list)
    kept: set[int] = field(default_factory=set)  # pivots whose input H are kept as refined
    # pivot → its bonds and riding groups as Olex2's hadd needs them (olex2.olex2_hadd)
    bonds: dict[int, PivotBonds] = field(default_factory=dict)


@dataclass
class RidingGroup:
    """One AFIX group of new riding H on a pivot: its PART, code and occupancy, and the
    non-metal atoms it rides on (labels), the one whose occupancy it takes first; none where
    Olex2 cannot be given them by name (_pivot_bonds)."""

    part: int
    code: int
    occupancy: float
    neighbours: list[str]


@dataclass
class PivotBonds:
    """A pivot's element, PART and occupancy, its bonds as (label, element, PART, occupancy),
    one per bonded image, and the riding groups placed on it; occupancies as Olex2 holds
    them (geometry.crystallographic_occupancies: 0.5 for a full atom on a mirror)."""

    element: str
    part: int
    occupancy: float
    bonded: list[tuple[str, str, int, float]]
    groups: list[RidingGroup]


def _pivot_bonds(
    structure: Structure, i: int, contacts: list[Contact], groups, identity: int, olex2_occupancy
) -> PivotBonds:
    """PivotBonds of site i from its contacts and its groups as (part, code, occupancy,
    contacts ridden on, the site that gives the occupancy or None). Olex2's `hadd -CODE`
    takes each named atom at its asymmetric-unit position and gives the H the first one's
    occupancy (xlib/xmacro.cpp macHAdd: AE.Add(a.CAtom(), a.GetMatrix(), a.crd()),
    Vars.GetParam(satoms[1]->CAtom(), Sof)): a group riding on a symmetry image (a Cp C
    bonded to its own mirror image) names none; the others name first an atom whose Olex2
    occupancy is the group's (a neighbour on a mirror holds 0.5), that site first."""
    sites = structure.sites
    riding = []
    for part, code, occupancy, ridden, source in groups:
        covalent = [c for c in ridden if not is_metal(sites[c.j].element)]
        if any(c.j == c.i or c.op != identity or any(c.shift) for c in covalent):
            riding.append(RidingGroup(part, code, occupancy, []))
            continue
        atoms = sorted(
            (c.j for c in covalent),
            key=lambda j: (abs(olex2_occupancy[j] - occupancy) >= 1e-3, sites[j] is not source),
        )
        riding.append(RidingGroup(part, code, occupancy, [sites[j].label for j in atoms]))
    bonded = [
        (sites[c.j].label, sites[c.j].element, sites[c.j].part, olex2_occupancy[c.j])
        for c in contacts
    ]
    return PivotBonds(sites[i].element, sites[i].part, olex2_occupancy[i], bonded, riding)


def riding_element(sfac) -> str:
    """D for a deuterated compound (SFAC D without H), whose riding atoms are D; else H."""
    return "D" if "D" in sfac and "H" not in sfac else "H"


# where a pivot outside a disorder is bonded to both alternatives (O3 in PART 1, O3' in PART 2)
_DISORDER_NOTE = (
    " (bonded to both alternatives of a disordered group: split the atom into the PARTs, or "
    "place its H in each PART)"
)


def add_riding_hydrogens(
    structure: Structure,
    h_counts: dict[int, int],
    given: dict[int, tuple[list[np.ndarray], int | None]] | None = None,
    density: Density | None = None,
    kept: dict[int, list[Site]] | None = None,
    halves: dict[int, bool] | None = None,
    fate: InputHFate = WRITTEN,
) -> HydrogenPlan:
    """Place `h_counts[i]` hydrogens on site i; sites absent from h_counts get none.

    Existing H atoms are replaced. Rotating donor groups (OH, NH3+) and water are turned to
    their best hydrogen bonds. Every atom that should carry H but cannot be given a
    geometry is reported in `notes`, never dropped silently. `given[i]` = (Cartesian H
    positions, AFIX code or None) keeps known H of site i where they are instead.
    `density` (an Fo − Fc map of the model without H) turns rotating groups and water to
    where the data put their H, as SHELXL's HFIX 137/147 Fourier search does. On a special
    position the site symmetry is respected: an XH3 is disordered over it (see site_operators).
    A metal never carries riding H: a count on it (the hydrogen model's answer) becomes a note;
    H `given` on a metal (found in the map) are restrained (DFIX) to the distance given.
    `kept[i]`: H sites of the input on site i (beside it) written as they are, label, Uiso and
    AFIX, whatever h_counts says: the user's P–H or Si–H, which no HFIX places
    (input_hydrogens_kept); one refined freely (AFIX 0) is held at the input's X–H by DFIX
    (esd 0.02 Å, as SHELXL users restrain a free P–H): a free P–H at 1.5 Å data went to
    0.82 Å. `halves[i]`: the one H `given` on site i is shared with the site's own symmetry
    image (hydrogen_evidence._shared_with_own_image): off the symmetry element (False) at half
    the site's occupancy in PART -1, held at WATER_OH by DFIX; on it (True) whole there, one
    site of that symmetry (SHELXL's sof then halves it), constrained to it, in PART 0 where the
    pivot's PART is negative. `fate`: what the notes on the `kept` H say became of them.
    """
    given, kept, halves = given or {}, kept or {}, halves or {}
    pivots = [
        i for i, s in enumerate(structure.sites) if not is_hydrogen(s.element) and not s.is_peak
    ]
    heavy = structure.with_sites([structure.sites[i] for i in pivots])
    bonds = connectivity(heavy)
    alternatives = one_alternative(heavy, bonds)  # to say why a pivot with both has no H
    # a CH or NH in a flat six-ring is sp2 whatever a disordered part did to its angle
    # (of a ring inside a PART; outside any PART its bonds alike too, as for the H-count
    # rules: a flat ring's CH2 miscounted as CH is no aromatic CH)
    one_h = {i for i, key in enumerate(pivots) if h_counts.get(key, 0) == 1}
    in_part = {i for i in one_h if heavy.sites[i].part}
    flat = flat_ring_sites(heavy, alternatives, candidates=in_part) | flat_ring_sites(
        heavy, alternatives, AROMATIC_SPREAD, candidates=one_h - in_part
    )
    # every site's acceptors and H-bond partners, searched once: none that cannot be there
    # with it (another PART's atom; a negative PART's own image, FC_1979688's methanol O13
    # 2.17 Å from its image across a two-fold axis, took that for a short hydrogen bond)
    identity = identity_operator(heavy)
    near = [
        [c for c in contacts if contact_may_bond(heavy.sites, c, identity)]
        for contacts in neighbours(heavy, HBOND_DISTANCE[1])
    ]
    temperature = heavy.temperature_c if heavy.temperature_c is not None else 20.0
    plan = HydrogenPlan(structure=heavy, codes={})
    sites: list[Site] = []
    placed = _Placed()  # Cartesian H positions so far, to keep donors apart
    new_h: list[range] = []  # where each group's H are in `sites`
    # (pivot label, its H, X–H, H···H or None) of groups held by DFIX (and DANG)
    restrained: list[tuple[str, range, float, float | None]] = []
    h_element = riding_element(heavy.sfac)
    olex2_occupancy: list[float] = []  # of every site, once a pivot's bonds need them
    for i, (key, site) in enumerate(zip(pivots, heavy.sites)):
        sites.append(site)
        if key in kept:
            plan.groups[key] = range(len(sites), len(sites) + len(kept[key]))
            plan.codes[key] = kept[key][0].afix
            plan.kept.add(key)
            sites.extend(kept[key])
            placed.extend(heavy.cartesian(h.frac) for h in kept[key])
            continue
        n_h = h_counts.get(key, 0)
        if n_h <= 0:
            continue
        if is_metal(site.element) and key not in given:
            plan.notes[key] = (
                f"{n_h} H asked on the metal {site.element}: metals carry no riding H; "
                "locate a hydride in the difference map and refine it (DFIX)"
            )
            continue
        pivot = heavy.cartesian(site.frac)
        split = _split_pivot(heavy, site, bonds[i]) if key not in given else []
        # H of each alternative in its PART, as SHELXL users write them; else as below
        done = split and _per_part(
            heavy, bonds, near[i], site, n_h, split, placed, temperature, density
        )
        if done:
            total = sum(len(group.positions) for group in done)
            new_h.append(range(len(sites), len(sites) + total))
            plan.groups[key] = new_h[-1]
            for group in done:
                first = len(sites) - new_h[-1].start  # the H of all PARTs named as one group
                sites.extend(
                    Site(
                        label=h_label(site.label, first + k, total, h_element),
                        element=h_element,
                        frac=tuple(heavy.fractional(xyz)),
                        u_iso=RIDING_U_FACTOR.get(group.code, 1.2) * site.u_iso,
                        occupancy=group.occupancy,
                        part=group.part,
                        afix=group.code,
                        free_variable=group.free_variable,
                        input_variable=group.input_variable,
                    )
                    for k, xyz in enumerate(group.positions)
                )
                placed.extend(group.positions)
            plan.codes[key] = max(done, key=lambda group: group.occupancy).code
            olex2_occupancy = olex2_occupancy or crystallographic_occupancies(heavy)
            plan.bonds[key] = _pivot_bonds(
                heavy,
                i,
                bonds[i],
                [
                    (group.part, group.code, group.occupancy, contacts, neighbour)
                    for group, (_, contacts, neighbour) in zip(done, split)
                ],
                identity,
                olex2_occupancy,
            )
            plan.notes[key] = "H placed in each PART of its disordered neighbour: " + ", ".join(
                f"PART {group.part} AFIX {group.code} at occupancy {group.occupancy:.3g}"
                for group in done
            )
            continue
        # an O's or N's H keep clear of the metals there in most cells (geometry.vacant_metal)
        present = present_bonds(heavy, site, bonds[i]) if site.element in ("O", "N") else bonds[i]
        bonded = _distinct([(heavy.sites[c.j].element, c.cart_j) for c in present])
        second = second_neighbours(heavy, bonds, present[0]) if len(present) == 1 else None
        code, note = choose_hfix(
            site.element, n_h, pivot, bonded, second_neighbours=second, in_flat_ring=i in flat
        )
        known, known_code = given.get(key, (None, None))
        operators = site_operators(heavy, site.frac)
        # a group without an HFIX, placed from the map and held by DFIX (and DANG) if code 0
        no_hfix = restrained_group(site.element, n_h, sum(1 for e, _ in bonded if not is_metal(e)))
        strong = (
            _strong_hbond_hydrogen(heavy, near[i], pivot, bonds, density)
            if known is None and n_h == 1 and site.element in ("O", "N")
            else None
        )
        if known is not None:
            positions, code = known, code if known_code is None else known_code
        elif strong is not None:
            positions, code, note = [strong[0]], 0, strong[1]
        else:
            try:
                positions = _positions(
                    heavy,
                    near[i],
                    site,
                    code,
                    n_h,
                    pivot,
                    bonded,
                    second,
                    placed,
                    temperature,
                    operators,
                    no_hfix,
                    density,
                )
            except ValueError as error:  # hydrogens._unit: atoms on top of each other
                positions, note = None, f"no H placed: {error}"
        if positions is None:
            plan.notes[key] = (note or f"no riding model for {site.element} with {n_h} H") + (
                _DISORDER_NOTE if len(alternatives[i]) < len(bonds[i]) else ""
            )
            continue
        images = [1] * len(positions)  # each H's share: the pivot's occupancy / its images
        occupancies = [site.occupancy] * len(positions)
        if operators and code == 0:  # no AFIX group to keep whole: H made by the symmetry go
            positions = _unique_under(operators, pivot, positions)
            images, occupancies = [1] * len(positions), [site.occupancy] * len(positions)
            total = sum(_images(operators, pivot, h) for h in positions)  # H about it in all
            if disorder := _disorder_note(site.element, n_h, total):
                note = f"{note}; {disorder}" if note else disorder
                occupancies = [site.occupancy * n_h / total] * len(positions)
        elif operators and known is None:  # the whole group, and its images, are written
            images = [_images(operators, pivot, h) for h in positions]
            occupancies = [site.occupancy / n for n in images]
            if note := _special_note(site.element, operators, pivot, positions, occupancies):
                plan.notes[key] = note
        part = site.part
        if key in halves and not halves[key]:  # each image holds the bond's H half the time
            occupancies = [site.occupancy / 2] * len(positions)
            part = -1
        elif key in halves:  # on the element: SHELXL constrains no special position in a
            part = max(part, 0)  # negative PART (convert.own_site_symmetry), as the pivot's may be
        u_iso = RIDING_U_FACTOR.get(code, 1.2) * site.u_iso
        new_h.append(range(len(sites), len(sites) + len(positions)))
        plan.groups[key] = new_h[-1]
        sites.extend(
            Site(
                label=h_label(site.label, k, len(positions), h_element),
                element=h_element,
                frac=tuple(heavy.fractional(xyz)),
                u_iso=u_iso,
                occupancy=occupancy,
                part=part,
                afix=code,
                free_variable=site.free_variable,  # a partly occupied site's H with its variable
                # on the pivot's free variable, as SHELXL's H of a disordered group (21 with it;
                # 30.33333 for a methyl's H over a threefold axis, under a 30.33333 C)
                input_variable=site.input_variable
                and (site.input_variable[0], site.input_variable[1] / n),
            )
            for k, (xyz, occupancy, n) in enumerate(zip(positions, occupancies, images))
        )
        placed.extend(positions)
        plan.codes[key] = code
        if code and known is None and not operators:
            olex2_occupancy = olex2_occupancy or crystallographic_occupancies(heavy)
            plan.bonds[key] = _pivot_bonds(
                heavy,
                i,
                bonds[i],
                [(site.part, code, site.occupancy, bonds[i], None)],
                identity,
                olex2_occupancy,
            )
        if code == 0:
            plan.notes[key] = note or f"{site.element}H{n_h}: restrained, not riding"
            if key in halves:
                plan.notes[key] = "placed from the map, not riding" + (
                    "" if halves[key] else f", DFIX {WATER_OH:.2f}"
                )
            if key in halves and halves[key]:  # on the symmetry element: fixed there
                pass
            elif strong is None and is_metal(site.element):  # a hydride given from the map
                distance = float(np.mean([np.linalg.norm(h - pivot) for h in positions]))
                restrained.append((site.label, new_h[-1], round(distance, 2), None))
            elif strong is None and no_hfix:
                xh = RESTRAINED_XH[site.element]
                hh = 2 * xh * math.sin(math.radians(_TETRAHEDRAL / 2)) if n_h == 2 else None
                restrained.append((site.label, new_h[-1], xh, hh))
            elif (
                strong is None and site.element not in ("O", "N") and site.element in RESTRAINED_XH
            ):
                # H given on B or S without a riding model: their own X–H, no water's angle
                restrained.append((site.label, new_h[-1], RESTRAINED_XH[site.element], None))
            elif strong is None:  # water, NH4+ (and H given without a riding model)
                restrained.append((site.label, new_h[-1], WATER_OH, WATER_HH))
    _name_hydrogens(
        sites,
        [k for group in new_h for k in group],
        {s.label.upper() for s in heavy.sites}
        | {h.label.upper() for own in kept.values() for h in own if _writable(h.label)},
    )
    _write_kept(plan, heavy, sites, fate)
    plan.restraints = [
        line
        for pivot, group, xh, hh in restrained
        for line in _restraints(pivot, [sites[k].label for k in group], xh, hh)
    ] + plan.kept_restraints
    plan.structure = heavy.with_sites(sites)
    if (
        placed and h_element not in heavy.sfac
    ):  # the formula left H out: the H we add still need an SFAC
        plan.structure = replace(plan.structure, sfac=[*heavy.sfac, "H"], unit=[*heavy.unit, 0.0])
    return plan


def _write_kept(plan: HydrogenPlan, heavy: Structure, sites: list[Site], fate: InputHFate) -> None:
    """The kept H groups (plan.kept) named as SHELX reads them, each noted and, where refined
    freely (AFIX 0), held at the input's X–H by DFIX: a CIF's H(1) is no SHELX name, so it
    takes a free name after the riding H have theirs (the input's in the note where `fate`
    writes it; where nothing is written, as in the user's Olex2 model, the note names the H
    by the label the user holds)."""
    # each group follows its pivot in `sites`
    pivot_of = {k: plan.groups[key].start - 1 for key in plan.kept for k in plan.groups[key]}
    odd = [k for k in pivot_of if not _writable(sites[k].label)]
    given = {k: sites[k].label for k in odd}
    for k in odd:
        label = h_label(sites[pivot_of[k]].label, 0, 1, sites[k].element)
        sites[k] = replace(sites[k], label=label)
    _name_hydrogens(sites, odd, {s.label.upper() for k, s in enumerate(sites) if k not in odd})
    for key in sorted(plan.kept):
        site = sites[plan.groups[key].start - 1]
        own = [sites[k] for k in plan.groups[key]]
        renamed = [f"{given[k]} as {sites[k].label}" for k in plan.groups[key] if k in given]
        named = [h.label for h in own]
        if not fate.renamed:
            named, renamed = [given.get(k, sites[k].label) for k in plan.groups[key]], []
        plan.notes[key] = (
            f"{', '.join(named)} kept as the input refined "
            f"{'them' if len(own) > 1 else 'it'}"
            + (f" (the input's {', '.join(renamed)})" if renamed else "")
            + ": "
            + (
                "a hydride (refine it against the data)"
                if is_metal(site.element)
                else "SHELXL has no riding geometry for "
                + (
                    f"this {site.element}H{len(own)} (no HFIX code fits it)"
                    if has_riding_geometry(site.element)
                    else f"{site.element}–H"
                )
            )
        )
        pivot = heavy.cartesian(site.frac)
        plan.kept_restraints += [
            "DFIX %.2f %s %s"
            % (np.linalg.norm(heavy.cartesian(h.frac) - pivot), site.label, h.label)
            for h in own
            if h.afix == 0
        ]


@dataclass
class _PartGroup:
    """The riding H of a pivot outside a disorder for one alternative of its neighbour."""

    part: int
    occupancy: float
    free_variable: int
    input_variable: tuple[int, float] | None
    code: int
    positions: list[np.ndarray]


def _split_pivot(
    structure: Structure, site: Site, contacts: list[Contact]
) -> list[tuple[int, list[Contact], Site]]:
    """For an atom outside a disorder (PART 0) bonded to two or more alternatives (C4 bonded
    to C5A in PART 1 and C5B in PART 2): each alternative's PART, the bonds the atom has in
    it (to PART 0 and that PART), and that PART's neighbour that gives the H its occupancy;
    PARTs in file order. Empty for any other atom, and where only metals are disordered: the
    covalent framework alone sets the H (an aqua O on Ni1/Ni1', a Cp C on Fe/Fe'), the same in
    every alternative. Negative PARTs (SHELXL: symmetry-generated bonds and special-position
    constraints suppressed) are left alone: iotbx reads them into smtbx's conformer 0, where
    an H group in PART -1 riding on a PART 0 pivot bonded to PART -1 and -2 atoms has "bad
    connectivity" and is kept fixed (finalcif_1517016)."""
    if site.part:
        return []
    first: dict[int, Site] = {}
    for c in contacts:
        neighbour = structure.sites[c.j]
        if neighbour.part > 0 and not is_metal(neighbour.element):
            first.setdefault(neighbour.part, neighbour)
    if len(first) < 2:
        return []
    return [
        (part, [c for c in contacts if structure.sites[c.j].part in (0, part)], first[part])
        for part in sorted(first)
    ]


def _per_part(
    structure, bonds, near, site, n_h, split, placed, temperature, density
) -> list[_PartGroup] | None:
    """The riding H of a pivot outside a disorder in each alternative (_split_pivot): in that
    PART, at its neighbour's occupancy and free variable (the pivot's where lower), placed and
    coded on the bonds the alternative has, as SHELXL and smtbx build a PART n H riding on a
    PART 0 atom (its neighbours in PART 0 and n alone). None where an alternative has no
    riding geometry for the H (a group without HFIX, or a pivot on a special position): the
    pivot is then treated as any other, and a note says why it has no H."""
    pivot = structure.cartesian(site.frac)
    if site_operators(structure, site.frac):
        return None
    groups = []
    for part, contacts, neighbour in split:
        bonded = _distinct([(structure.sites[c.j].element, c.cart_j) for c in contacts])
        second = second_neighbours(structure, bonds, contacts[0]) if len(contacts) == 1 else None
        code, _ = choose_hfix(site.element, n_h, pivot, bonded, second_neighbours=second)
        if code == 0:
            return None
        try:
            positions = _positions(
                structure,
                near,
                site,
                code,
                n_h,
                pivot,
                bonded,
                second,
                placed,
                temperature,
                [],
                False,
                density,
            )
        except ValueError:  # hydrogens._unit: atoms on top of each other
            return None
        lower = neighbour.occupancy < site.occupancy
        groups.append(
            _PartGroup(
                part,
                min(neighbour.occupancy, site.occupancy),
                neighbour.free_variable if lower else 0,
                neighbour.input_variable if lower else site.input_variable,
                code,
                list(positions),
            )
        )
    return groups


def ride_existing_hydrogens(
    structure: Structure, codes_by_h_label: dict[str, int] | None = None, own_codes: bool = False
) -> HydrogenPlan:
    """The structure's own H atoms as riding groups: each H joins its nearest non-H atom
    within bonding distance, keeps its position, and rides with the code given for its label
    (e.g. the AFIX of a published .res) or else the code the pivot's geometry calls for.
    A published H model then refines under exactly the settings of a placed one; the H no
    HFIX places (_kept_groups) are kept as refined. `own_codes`: the AFIX mn the structure's
    H carry stand where they suit the group (ride_as_input, as the job and the corrected model
    of an audit keep them)."""
    codes_by_h_label = {k.upper(): v for k, v in (codes_by_h_label or {}).items()}
    groups: dict[int, list[InputH]] = {}
    for j, (i, xyz) in sorted(_nearest_pivots(structure).items()):
        groups.setdefault(i, []).append(InputH(structure.sites[j], xyz, structure.sites[i].element))
    kept = _kept_groups(structure, groups)
    given: dict[int, tuple[list[np.ndarray], int | None]] = {}
    for i, group in groups.items():
        if i in kept:
            continue
        codes = [codes_by_h_label.get(h.site.label.upper()) for h in group]
        code = next((c for c in reversed(codes) if c is not None), None)
        given[i] = ([h.xyz for h in group], code)
    counts = {i: len(p) for i, (p, _) in given.items()}
    return ride_as_input(structure, counts, groups if own_codes else {}, given, kept=kept)


@dataclass(frozen=True)
class InputH:
    """An H of the input: its site, its Cartesian place beside the atom of the job's model
    that holds it, and the element of the atom that held it in the input (None: none did)."""

    site: Site
    xyz: np.ndarray
    held_by: str | None


def input_groups(model: Structure, given: Structure) -> dict[int, list[InputH]]:
    """The H of `given` (the input) by the atom of `model` that holds it (index in `model`,
    _nearest_pivots); `model` holds the input's other atoms, assigned (and refined), without
    its H. Computed once per job: input_hydrogens_kept, keep_input_names and the notes on H
    not written all read it."""
    hydrogens = [s for s in given.sites if is_hydrogen(s.element or "") and not s.is_peak]
    if not hydrogens:
        return {}
    holder = {
        id(given.sites[j]): given.sites[i].element for j, (i, _) in _nearest_pivots(given).items()
    }
    both = model.with_sites([*model.sites, *hydrogens])
    groups: dict[int, list[InputH]] = {}
    for j, (i, xyz) in sorted(_nearest_pivots(both).items()):
        h = both.sites[j]
        groups.setdefault(i, []).append(InputH(h, xyz, holder.get(id(h))))
    return groups


def input_hydrogens_kept(
    model: Structure, given: Structure, groups: dict[int, list[InputH]] | None = None
) -> dict[int, list[Site]]:
    """The H of `given` (the input) on atoms of `model` (its atoms, assigned, without H) that
    no HFIX places (_kept_groups: P, Si, Ge, As ..., a bridging B–H–B, a metal's hydride), by
    pivot, each the input's site moved to its image beside the pivot: the job keeps them as
    the user refined them (add_riding_hydrogens' `kept`) instead of dropping them, a hydride
    where no map, or the map, shows it (hydrogen_evidence.input_hydrides_shown). `groups`:
    input_groups."""
    return _kept_groups(model, input_groups(model, given) if groups is None else groups)


def input_hydrides(model: Structure, groups: dict[int, list[InputH]]) -> dict[int, list[InputH]]:
    """The input's hydrides by the metal of `model` holding them (`groups`: input_groups),
    where the input had them on a metal too: an H the user refined on a metal is not the job's
    to remove without evidence (issue 23): kept, unless a difference map does not show them."""
    return {
        pivot: group
        for pivot, group in groups.items()
        if is_metal(model.sites[pivot].element)
        and all(h.held_by is not None and is_metal(h.held_by) for h in group)
    }


def unwritten_input_hydrogens(
    plan: HydrogenPlan,
    model: Structure,
    groups: dict[int, list[InputH]],
    fate: InputHFate = WRITTEN,
) -> list[str]:
    """A note for each atom of `model` that held H in the input (`groups`: input_groups) and
    gets none in `plan`: the user's H do not vanish without a word (an H on an atom the
    job gave another element, or a count of 0 the model chose); `fate` says what became of
    them."""
    notes = []
    for pivot, group in sorted(groups.items()):
        if pivot in plan.groups or pivot in plan.notes:
            continue
        site = model.sites[pivot]
        was = {h.held_by for h in group} - {site.element, None}
        notes.append(
            f"{' '.join(h.site.label for h in group)} of the input on {site.label} {fate.dropped}: "
            f"the job gives {site.element} no H"
            + (
                f" (the input's {'/'.join(sorted(was))} held {'them' if len(group) > 1 else 'it'})"
                if was
                else ""
            )
        )
    return notes


UNHELD_REACH = 2.0  # Å: the atom named beside an input H bonded to none (a hydride's metal)


def unheld_input_hydrogens(
    model: Structure,
    given: Structure,
    groups: dict[int, list[InputH]] | None = None,
    fate: InputHFate = WRITTEN,
) -> list[str]:
    """A note for each H of `given` (the input) that no atom of `model` holds (none within its
    reach, geometry.h_reach; `groups`: input_groups), naming the nearest atom: the job writes
    no such H, and a hydride (M–H 1.5-1.9 Å, beyond a metal's reach) is never a riding H, nor
    is an H beside a halide: it says so. `fate` says what became of the H."""
    hydrogens = [s for s in given.sites if is_hydrogen(s.element or "") and not s.is_peak]
    if not hydrogens:
        return []
    groups = input_groups(model, given) if groups is None else groups
    held = {id(h.site) for group in groups.values() for h in group}
    both, n = model.with_sites([*model.sites, *hydrogens]), len(model.sites)
    loose = [j for j in range(n, len(both.sites)) if id(both.sites[j]) not in held]
    notes = []
    for j, near in zip(loose, neighbours(both, UNHELD_REACH, centres=loose) if loose else []):
        atoms = [c for c in near if c.j < n]
        nearest = both.sites[atoms[0].j] if atoms else None
        where = f"{atoms[0].distance:.2f} Å from {nearest.label}" if atoms else "no atom near"
        hydride = nearest is not None and is_metal(nearest.element)
        notes.append(
            f"{both.sites[j].label} of the input is bonded to no atom ({where}) and is "
            f"{fate.dropped}"
            + (
                ": a metal carries no riding H; locate the hydride in the difference map and "
                "refine it (DFIX)"
                if hydride
                else ""
            )
        )
    return notes


# pivots with an HFIX geometry whose H the user may still have refined freely where choose_hfix
# finds no code for them: a bridging B–H–B H (1.25-1.40 Å) beside a terminal one, an H2S;
# C, N and O are left to the job's counts (a code-0 OH2, NH4+, OH or NH has its own recipe)
_OWN_GROUPS = ("B", "S")


def _kept_groups(structure: Structure, groups: dict[int, list[InputH]]) -> dict[int, list[Site]]:
    """The H groups of `groups` (by pivot, index in `structure`) written as the user refined
    them (position, Uiso, label, AFIX), each moved beside its pivot: those on a non-metal that
    SHELXL has no HFIX for (hydrogens.has_riding_geometry: P, Si, Ge, As, Se ...) or, on B or
    S, a group choose_hfix gives no code (_OWN_GROUPS), whose atom had such an element in the
    input too (a C the job calls Si held a C–H, no Si–H: the job's count decides), and every H
    a bond's length away (geometry.OVERLAP: not two places of one disordered atom; P–H and
    Si–H refine to 1.2 Å and more). A metal's H is a hydride, kept where the input had it on a
    metal too (input_hydrides); a halide holds none."""
    hydride = input_hydrides(structure, groups)
    heavy_index = [
        i for i, s in enumerate(structure.sites) if not is_hydrogen(s.element) and not s.is_peak
    ]
    heavy = structure.with_sites([structure.sites[i] for i in heavy_index])
    where = {i: k for k, i in enumerate(heavy_index)}
    bonds = None
    kept = {}
    for pivot, group in groups.items():
        site = structure.sites[pivot]
        xyz = structure.cartesian(site.frac)
        if (
            (is_metal(site.element) and pivot not in hydride)
            or site.element in HALOGENS
            or any(
                h.held_by not in (None, site.element) and has_riding_geometry(h.held_by)
                for h in group
            )
            or any(np.linalg.norm(h.xyz - xyz) < OVERLAP for h in group)
        ):
            continue
        if has_riding_geometry(site.element):
            if site.element not in _OWN_GROUPS:
                continue
            bonds = connectivity(heavy) if bonds is None else bonds
            if not _no_hfix(heavy, bonds, where[pivot], len(group)):
                continue
        kept[pivot] = [_beside(structure, h.site, h.xyz) for h in group]
    return kept


def _no_hfix(heavy: Structure, bonds, k: int, n_h: int) -> bool:
    """Whether `n_h` H on heavy site k have no HFIX code (choose_hfix 0) and no DFIX recipe
    (hydrogens.restrained_group): the H the user refined freely stay as they are."""
    site, contacts = heavy.sites[k], bonds[k]
    bonded = _distinct([(heavy.sites[c.j].element, c.cart_j) for c in contacts])
    second = second_neighbours(heavy, bonds, contacts[0]) if len(contacts) == 1 else None
    code, _ = choose_hfix(
        site.element, n_h, heavy.cartesian(site.frac), bonded, second_neighbours=second
    )
    n_covalent = sum(1 for e, _ in bonded if not is_metal(e))
    return code == 0 and not restrained_group(site.element, n_h, n_covalent)


def _beside(structure: Structure, hydrogen: Site, xyz: np.ndarray) -> Site:
    """`hydrogen` moved to the image at Cartesian `xyz` (the one beside its pivot), its Uij (a
    HAR or neutron model's) turned with it by the operator that makes that image."""
    frac = structure.fractional(xyz)
    moved = replace(hydrogen, frac=tuple(float(v) for v in frac))
    if hydrogen.u_aniso is None:
        return moved
    from cctbx import sgtbx, uctbx

    from crystalx_core.crystallography.convert import turned_u

    for operator in structure.symops:
        rt = sgtbx.rt_mx(operator.lower().replace(" ", ""))
        shift = np.array(rt * hydrogen.frac) - frac
        if np.abs(shift - np.round(shift)).max() < 1e-6:
            rotation = rt.r().as_double()
            unit_cell = uctbx.unit_cell(structure.cell)
            return replace(moved, u_aniso=turned_u(hydrogen.u_aniso, rotation, unit_cell))
    raise ValueError(f"{hydrogen.label}: no symmetry operator makes the image beside its pivot")


def keep_input_names(
    plan: HydrogenPlan,
    model: Structure,
    given: Structure,
    groups: dict[int, list[InputH]] | None = None,
) -> None:
    """Give the new H of a pivot of `model` the names its H had in `given` (the input, whose
    H add_riding_hydrogens replaced) where the pivot keeps as many H, of the same kind (the
    same AFIX geometry m, or H the input refined freely), element and PART, and the names fit
    SHELX's 4 characters: the user's H1O, H12A and the restraints naming them keep meaning
    those H. Each name goes to the nearest new H (the user's H in any cell), and the group is
    written in the user's order. A new H given a kept name, the name of the user's H of
    another atom, or that of the user's H it replaces at another occupancy or site kind
    (_unlike: the restraints on the user's H would not fit it), gets a free one;
    plan.restraints follow."""
    sites = list(plan.structure.sites)
    heavy = {s.label.upper() for s in sites if not is_hydrogen(s.element or "")}
    inputs = input_groups(model, given) if groups is None else groups
    names: dict[int, tuple[int, str]] = {}  # place in sites → (new H put there, user's name)
    other: set[int] = set()  # new H not of the kind of the user's H they replace: renamed
    for pivot, group in plan.groups.items():
        old, new = [(h.site, h.xyz) for h in inputs.get(pivot, [])], list(group)
        if not old or len(old) != len(new):
            continue
        cost = [
            [
                np.linalg.norm(xyz - model.cartesian(sites[k].frac))
                + (0 if h.part == sites[k].part else _OTHER_PART)
                for k in new
            ]
            for h, xyz in old
        ]
        _, order = linear_sum_assignment(np.array(cost))
        if unlike := _unlike(
            model, given, [(old[j][0], sites[new[k]]) for j, k in enumerate(order)]
        ):
            # the user's half H in PART -1 is not our H on the two-fold axis: its name, and the
            # DFIX on it (unmeetable there), stay the user's H's (a REM line: shelx_names)
            theirs = {h.label.upper() for h, _ in old}
            other.update(k for k in new if sites[k].label.upper() in theirs)
            plan.notes[pivot] = f"{plan.notes[pivot]}; {unlike}" if pivot in plan.notes else unlike
            continue
        now = sites[new[0]]
        if (
            not _same_kind(old[0][0].afix, now.afix)
            or any(h.element.upper() != now.element.upper() for h, _ in old)
            # the same PARTs (a pivot beside a disorder has H in two: _per_part)
            or sorted(h.part for h, _ in old) != sorted(sites[k].part for k in new)
            or {h.label.upper() for h, _ in old} & (heavy | {n.upper() for _, n in names.values()})
            or any(not _writable(h.label) for h, _ in old)  # a CIF's H1c10, H35?
        ):
            continue
        # each H where its name's H was (the image beside the pivot), in the user's order
        # within each PART: the PARTs' groups stay whole (PART 1 AFIX 23 H H AFIX 0 PART 2 ...)
        for part in dict.fromkeys(sites[k].part for k in new):
            places = [place for place in new if sites[place].part == part]
            theirs = [(h, k) for (h, _), k in zip(old, order) if h.part == part]
            names.update({place: (new[k], h.label) for place, (h, k) in zip(places, theirs)})
    taken = {name.upper() for _, name in names.values()}
    # a name not kept still means the user's H in the user's restraints: no new H of another
    # atom takes it (DFIX N1 H1 would restrain C1's H), so such a restraint becomes a REM line
    owner = {h.label.upper(): None for h in given.sites if is_hydrogen(h.element or "")}
    owner.update({h.site.label.upper(): pivot for pivot, old in inputs.items() for h in old})
    pivot_of = {k: pivot for pivot, group in plan.groups.items() for k in group}
    moved = [
        k
        for k in sorted(set(pivot_of) - set(names))
        if k in other
        or sites[k].label.upper() in taken
        or owner.get(sites[k].label.upper(), pivot_of[k]) != pivot_of[k]
    ]
    if not names and not moved:
        return
    pool = _LabelPool(
        {s.label.upper() for k, s in enumerate(sites) if k not in moved} | taken | set(owner)
    )
    mapping = {sites[k].label: name for k, name in names.values()}
    mapping.update({sites[k].label: pool.take(sites[k].label) for k in moved})
    written = [sites[names[k][0]] if k in names else s for k, s in enumerate(sites)]
    plan.structure = plan.structure.with_sites(
        [replace(s, label=mapping[s.label]) if s.label in mapping else s for s in written]
    )
    plan.restraints, plan.kept_restraints = (
        [" ".join(mapping.get(word, word) for word in line.split()) for line in lines]
        for lines in (plan.restraints, plan.kept_restraints)
    )


_OTHER_PART = 100.0  # Å added to the cost of giving a name to an H of another PART: never
_OTHER_OCCUPANCY = 1.5  # an H at half or twice the occupancy of the user's is another H


def _unlike(model: Structure, given: Structure, pairs: list[tuple[Site, Site]]) -> str | None:
    """Why a new H (each pair: the user's H of `given`, the new H of `model` in its place) is
    not the user's H, or None: of another occupancy (a shared H's half against a whole one:
    a refined pivot's occupancy moves far less than 1.5 times), or on a symmetry element
    where the user's is not, or the reverse (site_operators)."""
    for old, new in pairs:
        if not 1 / _OTHER_OCCUPANCY < old.occupancy / max(new.occupancy, 1e-6) < _OTHER_OCCUPANCY:
            return (
                f"not the input's {old.label} (occupancy {old.occupancy:.2f} against "
                f"{new.occupancy:.2f}): its name and restraints not given to it"
            )
        on = bool(site_operators(model, new.frac))
        if bool(site_operators(given, old.frac)) != on:
            return (
                f"not the input's {old.label} (this H lies {'on' if on else 'off'} a symmetry "
                f"element, the input's {'off' if on else 'on'} it): its name and restraints "
                "not given to it"
            )
    return None


def _nearest_pivots(structure: Structure) -> dict[int, tuple[int, np.ndarray]]:
    """H site → (the non-H site that holds it, geometry.bonded_h_contacts: the nearest within
    its element's reach (h_reach) that it may bond to by SHELX's PART rules; the H's nearest
    image beside that site), as bonded_h_counts counts them; a hydride by its metal."""
    out: dict[int, tuple[float, int, np.ndarray]] = {}
    for i, contacts in bonded_h_contacts(structure, hydrides=True).items():
        for c in contacts:
            if c.j not in out or c.distance < out[c.j][0]:
                out[c.j] = (c.distance, i, c.cart_j)
    return {j: (i, xyz) for j, (_, i, xyz) in out.items()}


def _same_kind(before: int, now: int) -> bool:
    """Whether an input H group under AFIX `before` is of the kind the job rides as `now`: the
    same geometry m (a methyl's 3 and 13 alike), or H the input refined freely (AFIX 0)."""
    methyl = {3, 13}
    m_before, m_now = before // 10, now // 10
    return not before or m_before == m_now or {m_before, m_now} <= methyl


def _distinct(neighbours: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    """One neighbour per position: the parts of a disordered site sharing one position
    (EXYZ, as C23/C23X of COD 2103700) are one bond, not two that cancel."""
    kept: list[tuple[str, np.ndarray]] = []
    for element, xyz in neighbours:
        if all(np.linalg.norm(xyz - other) >= SAME_SITE for _, other in kept):
            kept.append((element, xyz))
    return kept


def _positions(
    structure,
    near,
    site,
    code,
    n_h,
    pivot,
    neighbours,
    second,
    placed,
    temperature,
    operators,
    no_hfix,
    density=None,
):
    """Idealised H positions for one atom (`near`: its contacts within HBOND_DISTANCE), or
    None when no model applies; `no_hfix`: hydrogens.restrained_group for it."""
    bonded = [xyz for _, xyz in neighbours]
    known = placed.near(pivot)
    if code == 0:
        rigid = {("O", 2): place_water_hydrogens, ("N", 4): place_ammonium_hydrogens}.get(
            (site.element, n_h)
        )
        covalent = [xyz for element, xyz in neighbours if not is_metal(element)]
        if rigid is None and no_hfix:
            if n_h == 1 and density is None:  # one H with no bond to orient it: the map decides
                return None
            return place_restrained_hydrogens(
                site.element,
                n_h,
                pivot,
                covalent if n_h == 2 else bonded,
                second_neighbours=second,
                acceptors=_acceptors(structure, near),
                known_hydrogens=known,
                density=density,
            )
        if rigid is None:
            return None
        return rigid(
            pivot,
            _acceptors(structure, near),
            bonded=bonded,
            known_hydrogens=known,
            density=density,
            site_operators=operators,
        )
    donor = code in (137, 147) and site.element in ("N", "O", "S")
    return place_hydrogens(
        code,
        pivot,
        bonded,
        n_h,
        site.element,
        second_neighbours=second,
        acceptors=_acceptors(structure, near) if donor else None,
        known_hydrogens=known,
        temperature_c=temperature,
        density=density,
        site_operators=operators,
    )


class _Placed:
    """The H placed so far, found again by a grid of REACH-sized cells: a group is scored
    only against H within reach of its pivot (hydrogens._HBondContext), and handing it every
    H placed so far made riding quadratic in atoms."""

    REACH = KNOWN_H_REACH

    def __init__(self):
        self.points: list[np.ndarray] = []
        self.cells: dict[tuple[int, int, int], list[int]] = {}

    def __len__(self) -> int:
        return len(self.points)

    def extend(self, points) -> None:
        for point in points:
            self.cells.setdefault(self._cell(point), []).append(len(self.points))
            self.points.append(point)

    def near(self, centre) -> list[np.ndarray]:
        """Every H within REACH of `centre` (and a few more), in the order they were placed."""
        x, y, z = self._cell(centre)
        found = [
            k
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for dz in (-1, 0, 1)
            for k in self.cells.get((x + dx, y + dy, z + dz), ())
        ]
        return [self.points[k] for k in sorted(found)]

    def _cell(self, point) -> tuple[int, int, int]:
        return tuple(
            math.floor(v / self.REACH) if math.isfinite(v) else 0 for v in map(float, point)
        )


def _strong_hbond_hydrogen(
    structure: Structure, near, pivot: np.ndarray, bonds, density
) -> tuple[np.ndarray, str] | None:
    """(H position, note) for the one H of a site (`near`: its contacts within
    HBOND_DISTANCE) when it donates to an O or N within STRONG_HBOND: short_bond_peak."""
    found = short_bond_peak(structure, near, pivot, bonds, density)
    if found is None:
        return None
    best, acceptor = found
    return best, (
        f"H in a short hydrogen bond to {structure.sites[acceptor.j].label} "
        f"({acceptor.distance:.2f} Å): placed on the difference-map maximum, refined freely"
    )


def short_bond_peak(structure: Structure, near, pivot: np.ndarray, bonds, density):
    """(Cartesian position, acceptor contact) of the highest difference density near the line
    from `pivot` to its nearest O or N acceptor within STRONG_HBOND (`near`: its contacts), at
    least _STRONG_HBOND_CLEARANCE from both ends. None without a map or such an acceptor. Atoms
    bonded to the donor or to one of its neighbours (`bonds`, connectivity: an oxime's N, the
    other O of a carboxylate, 2.2 Å away; a cis ligand of the donor's metal, 2.35 Å) are not
    acceptors."""
    if density is None:
        return None
    near = [
        c
        for c in near
        if H_BOND_MAX < c.distance <= STRONG_HBOND
        and structure.sites[c.j].element in ("O", "N")
        and not are_bonded(bonds, c.i, c.j, c.distance)
        and not shares_neighbour(bonds, c)
    ]
    if not near:
        return None
    acceptor = min(near, key=lambda c: c.distance)
    axis = (acceptor.cart_j - pivot) / acceptor.distance
    side = _perpendicular(axis, None)
    other = np.cross(axis, side)
    along = np.arange(
        _STRONG_HBOND_CLEARANCE, acceptor.distance - _STRONG_HBOND_CLEARANCE + 1e-9, 0.02
    )
    offsets = np.arange(-_STRONG_HBOND_SEARCH, _STRONG_HBOND_SEARCH + 1e-9, 0.05)
    t, u, v = (g.ravel() for g in np.meshgrid(along, offsets, offsets, indexing="ij"))
    keep = u**2 + v**2 <= _STRONG_HBOND_SEARCH**2
    points = pivot + t[keep, None] * axis + u[keep, None] * side + v[keep, None] * other
    return points[int(np.argmax(density(points)))], acceptor


SAME_SITE = 0.1  # Å: an atom this close to its own image is on a special position


def site_operators(structure: Structure, frac, within: float = SAME_SITE) -> list[np.ndarray]:
    """Cartesian rotations (about the site) of the symmetry operators that map the site at
    `frac` onto itself, the identity left out: empty for a general position. The identity
    and pure centring translations turn no H about a site and are skipped; every operator
    is tried at once, as riding asks this for each atom. `within` (Å): how close an image
    must come to count as the site itself."""
    frac = np.asarray(frac, dtype=float)
    matrices = structure.symmetry_matrices()
    rotations = np.array([rotation for rotation, _ in matrices])
    moved = rotations @ frac + np.array([translation for _, translation in matrices]) - frac
    ortho = structure.orthogonalisation
    on_site = np.linalg.norm((moved - np.round(moved)) @ ortho.T, axis=1) < within
    turning = np.any(rotations != np.eye(3), axis=(1, 2))
    inverse = np.linalg.inv(ortho)
    return [ortho @ rotations[k] @ inverse for k in np.flatnonzero(on_site & turning)]


def _images(operators: list[np.ndarray], pivot: np.ndarray, h) -> int:
    """How many distinct positions the site symmetry of `pivot` puts an H at `h` on (itself
    included): 1 for an H on the axis, 2 for one beside a 2-fold axis. Each is written at the
    pivot's occupancy over that, as SHELXL gives riding H their pivot's sof: the two H of a
    CH2 on a 2-fold axis are each other's images, and at full occupancy each site held two."""
    h = np.asarray(h, dtype=float)
    found = [h]
    for rotation in operators:
        image = pivot + rotation @ (h - pivot)
        if all(np.linalg.norm(image - k) >= SAME_SITE for k in found):
            found.append(image)
    return len(found)


def _special_note(element: str, operators, pivot, positions, occupancies) -> str | None:
    """What the site symmetry made of a group written whole: H that are each other's images
    (a CH2 on a 2-fold axis) are one group shared out; a group whose every H has images of
    its own (an XH3 on a mirror, 60° off it) is disordered; where one H lies on a symmetry
    element (in a mirror) each H's occupancy is listed. None where no H has an image."""
    mine = [np.asarray(h, dtype=float) for h in positions]
    counts = [_images(operators, pivot, h) for h in mine]
    if max(counts) == 1:  # every H on the symmetry elements (a CH on a 2-fold axis)
        return None
    head = f"{element}H{len(positions)} on a special position:"
    if min(counts) == 1:  # one in a mirror (an ordered CH3 of a molecule on it): not disordered
        listed = ", ".join(f"{o:.3g}" for o in occupancies)
        return (
            f"{head} its H at occupancies {listed} (one beside a symmetry element shares its site)"
        )
    if all(
        any(np.linalg.norm(pivot + r @ (h - pivot) - k) < SAME_SITE for k in mine)
        for r in operators
        for h in mine
    ):
        return f"{head} its H are images of each other, each at occupancy {min(occupancies):.3g}"
    return (
        f"{head} disordered over its site symmetry, {len(positions)} H at occupancy "
        f"{min(occupancies):.3g}"
    )


def _disorder_note(element: str, n_h: int, total: int) -> str | None:
    """Where no orientation of a water or NH4+ is one its site symmetry maps onto itself (a
    water on an inversion centre or a 3-fold axis, hydrogens._invariant_trials), its H and
    their images are more H than it carries: each is written at the share that keeps n_h H
    about it (a water on -1: four half H, as SHELXL users model it), and the note says so.
    `total`: the written H and their images about it in the crystal."""
    if total <= n_h:
        return None
    return (
        f"{element}H{n_h} on a special position whose symmetry keeps no orientation of it: "
        f"{total} H about it in the crystal, each written at {n_h}/{total} of the site's "
        "occupancy (disordered); check the disorder model (PART -1)"
    )


def _unique_under(operators: list[np.ndarray], pivot: np.ndarray, positions) -> list[np.ndarray]:
    """The H of one group without those the site symmetry generates from another of them:
    of a water on a 2-fold axis only one H is in the asymmetric unit, the other is its image."""
    kept: list[np.ndarray] = []
    for h in positions:
        images = [pivot + rotation @ (np.asarray(h) - pivot) for rotation in operators]
        if not any(np.linalg.norm(image - k) < SAME_SITE for image in images for k in kept):
            kept.append(np.asarray(h))
    return kept


def _writable(label: str) -> bool:
    """Whether a label can be written as SHELX reads it: MAX_LABEL characters at most, of
    letters, digits and primes (assign.labels renames a non-H atom's otherwise)."""
    bare = bare_label(label)
    return len(bare) <= MAX_LABEL and re.fullmatch(r"[0-9A-Za-z']+", bare) is not None


def _restraints(pivot: str, labels: list[str], xh: float, hh: float | None) -> list[str]:
    """DFIX `xh` on every X–H and DANG `hh` on every H···H of a group that has no riding model
    (water, NH4+, a pyramidal NH2; one H, or H on a metal, get only their DFIX)."""
    lines = ["DFIX %.2f %s" % (xh, " ".join(f"{pivot} {h}" for h in labels))]
    if hh is None:
        return lines
    lines += ["DANG %.2f %s %s" % (hh, a, b) for k, a in enumerate(labels) for b in labels[k + 1 :]]
    return lines


def _name_hydrogens(sites: list[Site], new_h: list[int], used: set[str]) -> None:
    """Give the new H (sites[k] for k in new_h, named by h_label) unique names of at most
    MAX_LABEL characters, as SHELX and Olex2 read them (see _LabelPool). Names that already
    fit are given out first, in order, so that renaming a long one never takes the name an
    H of a later pivot would have had."""
    pool = _LabelPool(used)
    fits = [k for k in new_h if len(bare_label(sites[k].label)) <= MAX_LABEL]
    long = [k for k in new_h if len(bare_label(sites[k].label)) > MAX_LABEL]
    for k in fits + long:
        sites[k] = replace(sites[k], label=pool.take(sites[k].label))


_LABEL_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPRSTUVWXYZ"  # no Q: Q1 is a peak


class _LabelPool:
    """Labels in use, and free ones handed out: SHELX, smtbx's parser and Olex2 read no name
    over MAX_LABEL characters (C18B's two H, H18BA and H18BB, were read as H18B and a stray
    'A'). A long or taken name becomes its first four characters, else the nearest free name
    of its first three and one more character (_label_candidates). Each such search goes on
    where the last one with that stem stopped: names only ever get taken, so the answer is
    the same as searching from the start, and thousands of H stay linear in time."""

    def __init__(self, used: set[str]):
        self.used = used  # upper-case addresses (C1, C1_2)
        self.searches: dict[tuple[str, str], object] = {}

    def take(self, label: str) -> str:
        base, residue = bare_label(label), residue_suffix(label)
        label = base[:MAX_LABEL] + residue
        if label.upper() in self.used:
            stem = base[: MAX_LABEL - 1]
            search = self.searches.setdefault((stem, residue), _label_candidates(stem, residue))
            label = next((name for name in search if name.upper() not in self.used), None)
            if label is None:
                raise InputError(
                    f"too many atoms: every {MAX_LABEL}-character label starting {stem[0]} is taken"
                )
        self.used.add(label.upper())
        return label


def _label_candidates(stem: str, residue: str):
    """Names of at most MAX_LABEL characters from a stem of three, nearest first: the stem
    with a digit, then with a letter, then any name with its first letter."""
    for suffix in range(1, 10):
        yield f"{stem}{suffix}{residue}"
    for letter in _LABEL_CHARACTERS[10:]:
        yield f"{stem}{letter}{residue}"
    for tail in itertools.product(_LABEL_CHARACTERS, repeat=MAX_LABEL - 1):
        yield stem[0] + "".join(tail) + residue


def second_neighbours(
    structure: Structure, bonds: list[list[Contact]], contact: Contact
) -> list[np.ndarray]:
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


def _acceptors(structure: Structure, near) -> list[np.ndarray]:
    """N, O, F, Cl atoms (any image) at hydrogen-bond distance from a site, nearest first
    (`near`: its contacts within HBOND_DISTANCE)."""
    lo, hi = HBOND_DISTANCE
    found = [
        c
        for c in near
        if lo <= c.distance <= hi and structure.sites[c.j].element in ("N", "O", "F", "Cl")
    ]
    return [c.cart_j for c in sorted(found, key=lambda c: c.distance)]


# AFIX m that ride the same H on the same pivot geometry, the user's pick among them kept
# (SHELXL manual, AFIX/HFIX): a methyl fixed staggered (3) or as found in the map (13), an
# OH as placed (8, riding on its H-bond) or found in the map (14).
_SAME_GROUP = ({3, 13}, {8, 14})
# n of AFIX mn the refinement reads as SHELXL does (iotbx afix_parser): 3 riding, 4 riding
# with X–H refined, 7 rotating, 8 rotating with X–H refined; rotation only for a group that
# can turn about its bond (a methyl, an OH).
_RIDING_N, _ROTATING_N, _ROTATABLE_M = {3, 4}, {7, 8}, {3, 13, 8, 14}


def _accepted_code(user: int, now: int) -> bool:
    """Whether the user's AFIX `user` rides the job's group of AFIX `now` as SHELXL would:
    the same geometry m (or one of _SAME_GROUP), an n it refines, rotating only a rotor."""
    (m_user, n_user), (m_now, _) = divmod(user, 10), divmod(now, 10)
    same = m_user == m_now or any({m_user, m_now} <= group for group in _SAME_GROUP)
    return same and (n_user in _RIDING_N or (n_user in _ROTATING_N and m_user in _ROTATABLE_M))


def keep_input_codes(plan: HydrogenPlan, groups: dict[int, list[InputH]]) -> None:
    """Ride each pivot's new H under the input's AFIX mn where the pivot keeps as many H as
    the input gave it, all under that one code, and the code is one SHELXL takes for the
    group the job placed (_accepted_code): the user's AFIX 33 acetonitrile methyl (not
    rotated: the data cannot define its torsion) stays 33 and is refined unrotated, and
    FC_sucrose's AFIX 148 OH keeps its refined O–H; the d of the user's `AFIX mn d` goes with
    it (Site.afix_d). Where the counts differ the job's code stands. `groups`: input_groups."""
    sites = list(plan.structure.sites)
    changed = False
    for pivot, group in plan.groups.items():
        old = groups.get(pivot, [])
        if pivot in plan.kept or not old or len(old) != len(group):
            continue
        users = {h.site.afix for h in old}
        nows = {sites[k].afix for k in group}
        if len(users) != 1 or len(nows) != 1:
            continue
        user, now = users.pop(), nows.pop()
        distances = {h.site.afix_d for h in old}
        d = distances.pop() if len(distances) == 1 else None
        if not user or not now or not _accepted_code(user, now) or (user == now and d is None):
            continue
        for k in group:
            sites[k] = replace(sites[k], afix=user, afix_d=d)
        if user == now:  # the user's X–H kept, nothing else to say
            changed = True
            continue
        plan.codes[pivot] = user
        if pivot in plan.bonds:
            bonds = plan.bonds[pivot]
            plan.bonds[pivot] = replace(bonds, groups=[replace(g, code=user) for g in bonds.groups])
        kept = f"AFIX {user} kept as the input rode these H (the job's choice: AFIX {now})"
        plan.notes[pivot] = f"{plan.notes[pivot]}; {kept}" if pivot in plan.notes else kept
        changed = True
    if changed:
        plan.structure = plan.structure.with_sites(sites)


def unseen_metal_hydrogens(
    structure: Structure, counts: dict[int, int], kept: dict[int, list[Site]]
) -> set[int]:
    """The metal sites given H in an answer no difference map checked: a metal's H is a
    hydride the map must show (hydrogen_evidence places those it does), so without one the
    metal gets none; the hydrogen model asked 2 H on the framework Ga of CRYSTALS' zngapo
    demo, a GaO4 tetrahedron it had no like of in training. The input's own hydrides (`kept`,
    input_hydrogens_kept) stay: the user's model is the evidence there."""
    return {
        k
        for k, n_h in counts.items()
        if n_h > 0 and is_metal(structure.sites[k].element) and k not in kept
    }


def ride_as_input(
    model: Structure,
    counts: dict[int, int],
    groups: dict[int, list[InputH]],
    given: dict[int, tuple[list[np.ndarray], int | None]] | None = None,
    **options,
) -> HydrogenPlan:
    """add_riding_hydrogens, then the input's AFIX mn kept where the job agrees with it
    (keep_input_codes; `groups`: input_groups): the one way the job, the audit's corrected
    model and the service's apply-plan ride H, so that none of them writes, refines or sends
    the job's 137 for a user's AFIX 33 while another keeps it. `options`: add_riding_hydrogens'."""
    plan = add_riding_hydrogens(model, counts, given, **options)
    keep_input_codes(plan, groups)
    return plan
