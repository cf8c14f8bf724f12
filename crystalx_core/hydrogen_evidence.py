"""H counts on O, N and S (and H on metals) weighed by the difference map before riding H
are placed.

The H counts come from rules or the hydrogen model, which see only geometry: a zwitterion's
NH3+/COO− and a neutral NH2/COOH look alike to them. An Fo − Fc map of the refined model
without H shows each H as a peak 0.8-1.0 Å from its donor. Around every O, N and S the map
is sampled on a shell at that distance, in every direction an H could take (all rotamers of
an OH or NH3+, the in-plane position of an sp2 N), away from the atom's bonds; each local
maximum there is a candidate H. The map decides only when it is clear:

- an H the model put on the wrong end of a hydrogen bond D–H···A (acid H on a carboxylate
  instead of the pyridinium N, NH3+ vs COOH, a water's H on the O it donates to) or on the
  wrong one of two bonded O/N (a tautomer) goes back by comparing the two ends, as a
  crystallographer reads the map: a peak on D pointing at A clearly over the density on A
  pointing at D, A showing no peak for that H (_move_hydrogens). The pair keeps its total;
- a peak of at least ADD_RMS × the map's rms where the model put no H adds one, taken from an
  H-bond partner that shows fewer H than it is given where there is one (the pair's total
  kept);
- a model H with nothing over LOW_RMS × rms anywhere on its donor's shell is taken off only
  when an H-bond partner's own H points at the donor (the H sits on the acceptor side, as
  when a carboxylate O is given the H of the NH3+ it accepts from) and the reflections, where
  given, do not hold it (a weak O–H that accepts an N–H's bond).

Where the map leans to D without being clear (a weak H, under PAIR_RMS, or a peak aimed at A
that D's own count seems to explain) and the reflections are given, they decide as a
crystallographer's refinement of both alternatives would: the model with the H on A against
the one with it on D, compared on Fo² by Hamilton's R-factor ratio test (hydrogen_data,
_move_by_data; where riding cannot place D's own count, an NH3 without bonds, A with and
without the H on the model with D complete); not at either end of a short hydrogen bond, whose
H goes to the O with the longer bond to its planar C (the hydroxyl, not the C=O) where the map
leans that way (_move_by_bond_lengths). An A given more H than it can carry loses one to a D
whose peak aims at it, or whose density lies along D···A, without the margin over A's side. An H
moved onto an atom SHELXL has no HFIX for (a hydroxide, an imine N, a hydrazine's NH2) is placed
from the map and restrained (hydrogens.restrained_group). Anything else in between keeps the
model's count. An O bonded to metals alone (aqua, hydroxo or oxo: geometry cannot tell) keeps
only the H its map shows where the reflections significantly prefer that count
(_metal_oxygens_by_data). A metal gets an H only where a peak 1.4-1.8 Å from it supports one;
it is then placed on the peak and restrained (DFIX) to that distance. An O, N or S that lies,
or is bonded to an atom that lies, within OVERLAP of another atom (two places of a disordered
atom, with or without PART) is not judged: the model's count stays, with a note. An O or N
in a short hydrogen bond to its own symmetry image shares the bond's one H with it: found in
the map between them, it is given as half an H (_shared_with_own_image).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from crystalx_core.assign.baseline import bridging_metals, metal_oxygen_room
from crystalx_core.elements import is_hydrogen, is_metal
from crystalx_core.geometry import (
    OVERLAP,
    connectivity,
    neighbours,
    overlapping_sites,
    present_bonds,
    shares_neighbour,
)
from crystalx_core.hydrogen_data import MIN_COMPLETENESS, HydrogenFits
from crystalx_core.hydrogens import (
    _PLANAR_ANGLE_SUM,
    HBOND_DISTANCE,
    _sphere_directions,
    angle_sum,
    choose_hfix,
    restrained_group,
)
from crystalx_core.riding import (
    RIDING_U_FACTOR,
    SAME_SITE,
    STRONG_HBOND,
    WRITTEN,
    InputH,
    short_bond_peak,
    site_operators,
)
from crystalx_core.structure import Structure

# Peak heights in units of the map's rms, from the entries of benchmarks/hydrogen_benchmark.py
# (published non-H atoms refined without H): on the O and N the published model leaves bare
# (carbonyl and carboxylate lone pairs, ether O, pyridine-like N) the highest shell maximum is
# 2.0 rms, the acceptor end of a short hydrogen bond aside (_share_hydrogens); published O–H
# and N–H stand at 1.3-8.7 rms, most over 4 on good data. So an H is added at 4 rms, 2 rms
# clear of any lone pair, and the H under that stay as the model counts them (the map is not
# clear there). A donor loses an H only with nothing over 2.5 rms (a lone pair's 2.0 at most)
# and a partner's H of 4 rms or more pointing at it. On the benchmark this changes no published
# count on O, N or S (64 of 64 kept).
ADD_RMS = 4.0
LOW_RMS = 2.5
# An H the model put on the wrong end of a hydrogen bond D–H···A goes back to D on a comparison
# of the two ends (_move_hydrogens): a peak of PAIR_RMS on D pointing at A (a lone pair's 2.0 rms
# at most, as above), PAIR_MARGIN rms over the density on A pointing at D. Set on half a of the
# structures of `swap_benchmark.py --limit 300 --only-hydrogens` (2.0 put back 3 more of 204,
# 3.0 and a margin of 2 fewer; none changed a right count but the one the 4 rms rule changes)
# and reported on half b: 182/206 moved H put back (151 with the 4 rms rule alone), no donor
# changed wrongly. The ones left stand under 2.5 rms or on sites riding cannot hold the H
# (N–NH2, an OH without bonds).
PAIR_RMS = 2.5
PAIR_MARGIN = 1.0
# The reflections weigh a pair only where D's side holds some electron (Fo − Fc over 0, the
# sign): a side with none is no weak H, and a placement there fits better only by standing
# near some other missing H (a Co-oxime's water took an oxime N's surplus H at −0.3 rms against
# −1.1, Hamilton's ratio 1.07; a weak water H at 0.2 rms against −0.8 fits by 1.40)
PAIR_CONE = 55.0  # degrees: D's peak from the line D···A (bent intramolecular bonds reach 50°)
# Where a donor's H is seen (Å from the donor): X-ray X–H are 0.8-1.0 Å; S–H 1.2-1.35 Å.
SHELL = {"O": (0.75, 0.85, 0.95), "N": (0.8, 0.9, 1.0), "S": (1.1, 1.2, 1.3)}
METAL_SHELL = (1.4, 1.5, 1.6, 1.7, 1.8)  # M–H of terminal and bridging hydrides
DONORS = tuple(SHELL)
ACCEPTORS = (*DONORS, "F", "Cl", "Br", "I")
MIN_BOND_ANGLE = 95.0  # degrees: an X–H makes at least this with each bond of X
MIN_METAL_ANGLE = 70.0  # degrees: an M–H with each bond of the metal (octahedral cis is 90°)
H_SEPARATION = 70.0  # degrees: two maxima closer than this are one H (H–X–H is 104-120°)
LOCAL = 20.0  # degrees: a maximum is highest among all shell directions within this
POINTS_AT = 35.0  # degrees: a partner's H points at the donor within this of the line
# Donor···acceptor (Å): HBOND_DISTANCE widened down to the short, strong bonds (hydrogen
# maleate O···O 2.40 Å); the two O of one carboxylate (2.2 Å) stay out
HBOND_RANGE = (2.35, HBOND_DISTANCE[1])
# Donor···acceptor (Å) up to which one H can sit near the middle and show on both shells (strong,
# short bonds); in longer ones each O/N keeps its own H (sucrose O4···O8 2.89 Å: both carry one)
SHARED_HBOND_MAX = 2.6
DIRECTIONS = 800  # shell directions (≈ 7° apart)
# In a short O–H···O bond (≤ SHARED_HBOND_MAX) the H near the middle shows on both shells and
# fits about as well on either O, but the heavy atoms show whose it is: the donor's X–O is the
# longer (C–OH 1.30-1.34 Å against C=O 1.21-1.26 Å in acids, enols and resonance-assisted
# bonds; Gilli et al. 1989, J. Am. Chem. Soc. 111, 1023). Bonds to one element that differ by
# less than BOND_MARGIN Å are too alike to say (a centred H; the two C–O of a free carboxylate
# differ by up to about 0.02 Å from packing; a monodentate metal carboxylate's by 0.03-0.08 Å,
# which is why an O a metal holds is left out: _single_bond)
BOND_MARGIN = 0.03
# Å: a short bond's H whose image lies this close is one H on the symmetry element between
# the pair (the map's maximum, sampled every 0.05 Å, is not sharper: an X-ray H peak is some
# 0.5 Å wide); further apart they are two half H, PART -1
ON_ELEMENT = 0.3


@dataclass(eq=False)  # identity, as geometry.Contact: value equality of an array is ambiguous
class Peak:
    position: np.ndarray  # Cartesian, Å
    height: float  # e Å⁻³
    distance: float  # Å from the atom


@dataclass
class HydrogenEvidence:
    """What the map changed: new H counts, H placed on metals from the map (riding's `given`:
    positions, code 0, restrained to their distance), notes."""

    counts: dict[int, int]  # site index → H count after the evidence
    given: dict[int, tuple[list[np.ndarray], int | None]] = field(default_factory=dict)
    # site index → what changed and why, or why the map could not judge it
    notes: dict[int, str] = field(default_factory=dict)
    skipped: str | None = None  # why the reflections did not weigh what the map left open
    # O/N site → whether its half H (one H shared with the site's own image across a short
    # hydrogen bond: _shared_with_own_image) lies on the symmetry element; counts[i] is then 1
    # at half occupancy, its position in `given`
    halves: dict[int, bool] = field(default_factory=dict)
    # O, N or S site the map judged → its H peaks over LOW_RMS (the H it shows)
    shown: dict[int, int] = field(default_factory=dict)
    # the reflections' fits the counts were weighed with; None without reflections or where too
    # incomplete to judge (a later step asks them the same way)
    fits: HydrogenFits | None = field(default=None, repr=False, compare=False)

    def job_notes(self, structure: Structure) -> list[str]:
        sites = [f"{structure.sites[i].label}: {note}" for i, note in sorted(self.notes.items())]
        return [self.skipped, *sites] if self.skipped else sites


def weigh_hydrogens(
    structure: Structure, counts: dict[int, int], density, reflections=None, fits=None
) -> HydrogenEvidence:
    """H counts of `structure` (index → count, as the rules or model gave them) checked
    against `density` (Fo − Fc of the refined model without H, with its rms) and, where the
    map leans without being clear, against the `reflections` themselves (hydrogen_data); `fits`
    (a HydrogenFits of the same structure, reflections and density) saves preparing them again
    when one structure is weighed many times."""
    rms = density.rms
    evidence = HydrogenEvidence(counts=dict(counts))
    if not rms > 0:
        return evidence
    bonds = connectivity(structure)
    sites = structure.sites
    candidates = [
        i
        for i, s in enumerate(sites)
        if not s.is_peak and (s.element in DONORS or (is_metal(s.element) and counts.get(i, 0)))
    ]
    peaks: dict[int, list[Peak]] = {}
    overlaps = overlapping_sites(structure, declared=False)  # PART alternatives are read apart
    for i in candidates:
        site = sites[i]
        centre = structure.cartesian(site.frac)
        # a metal site empty in most cells (geometry.vacant_metal) leaves the H its direction:
        # COD 1552546's μ2-OH shows its H (2.8 rms) 39° from the line to its 6 % Al site M1
        held = present_bonds(structure, site, bonds[i])
        bonded = [c.cart_j for c in held if not is_hydrogen(sites[c.j].element)]
        if is_metal(site.element):
            _weigh_metal(evidence, i, site.element, centre, bonded, density)
            continue
        beside = _beside_overlap(structure, i, bonds[i], overlaps)
        if beside:  # the map there holds two orientations at once: no H read from it
            evidence.notes[i] = f"H count not weighed by the difference map: {beside}"
            continue
        peaks[i] = shell_peaks(density, centre, bonded, SHELL[site.element], MIN_BOND_ANGLE)
    # H-bond partners of each O, N and S; two atoms SHARED_HBOND_MAX apart or less that are
    # both bonded to one atom are an edge of its polyhedron (two O of a sulfate or phosphate, cis
    # ligands of a metal at 2.35-2.5 Å), not a hydrogen bond: an H between them would sit closer
    # to that atom than any bond allows
    near = {
        i: [c for c in contacts if c.distance > SHARED_HBOND_MAX or not shares_neighbour(bonds, c)]
        for i, contacts in zip(peaks, neighbours(structure, HBOND_DISTANCE[1], centres=list(peaks)))
    }
    _share_hydrogens(structure, peaks, near, rms)
    evidence.shown = {i: _seen(found, LOW_RMS * rms) for i, found in peaks.items()}
    if fits is None and reflections is not None:
        fits = HydrogenFits(structure, reflections, density)
    if fits is not None and fits.completeness < MIN_COMPLETENESS:
        evidence.skipped = (
            f"H counts not weighed by the reflections: they are {100 * fits.completeness:.0f} % "
            f"complete to their resolution (at least {100 * MIN_COMPLETENESS:.0f} % needed); "
            "the difference map alone decided"
        )
        fits = None
    evidence.fits = fits
    doubtful = _move_hydrogens(structure, evidence, peaks, near, bonds, density, fits)
    # the map's clear peaks before the reflections: a pair weighed on Fo² while a donor's clear
    # H is still missing from the model fits better wherever a placement stands near that H (an
    # NH4+ short of one made a sulfate O take the surplus H of its neighbour by 1.03)
    _add_from_map(structure, evidence, counts, peaks, near, bonds, rms, fits)
    if fits is not None:
        _move_by_data(structure, evidence, doubtful, peaks, near, bonds, density, fits)
        # only beside the reflections: the map's lean alone, without PAIR_MARGIN, moves no H
        _move_by_bond_lengths(structure, evidence, doubtful, bonds, rms, fits)
    _take_off_by_map(structure, evidence, counts, peaks, near, bonds, rms, fits)
    _shared_with_own_image(structure, evidence, peaks, bonds, density)
    if fits is not None and evidence.halves:  # later fits hold that H as placed
        fits.share(evidence.given, evidence.halves)
    if fits is not None:
        _metal_oxygens_by_data(structure, evidence, peaks, bonds, rms, fits)
    return evidence


def _add_from_map(structure, evidence, counts, peaks, near, bonds, rms, fits) -> None:
    """One H for each clear peak (ADD_RMS) beyond the model's count on an O, N or S not yet
    decided, each taken from a partner given one too many where there is one."""
    for i, found in peaks.items():
        if i in evidence.notes:  # moved along its hydrogen bond: decided
            continue
        n_model = counts.get(i, 0)
        strong = [p for p in found if p.height >= ADD_RMS * rms]
        wanted = min(len(strong), _most_hydrogens(structure, i, bonds[i]))
        if wanted > n_model and _placeable(structure, i, bonds[i], wanted):
            heights = ", ".join(_height(p, rms) for p in strong[n_model:wanted])
            evidence.counts[i] = wanted
            evidence.notes[i] = (
                f"+{wanted - n_model} H by the difference map (the model gave {n_model}): "
                f"peak {heights} at the riding position"
            )
            for _ in range(wanted - n_model):
                _take_from_partner(structure, evidence, i, near[i], peaks, bonds, rms, fits)


def _shared_with_own_image(structure, evidence, peaks, bonds, density) -> None:
    """Half an H on an O or N in a short hydrogen bond (≤ STRONG_HBOND) to its own symmetry
    image (across a two-fold axis, a mirror or an inversion centre): the one H of the bond is
    either atom's, so each carries it at half occupancy, as SHELXL users write it (PART -1,
    occupancy 0.5; on the symmetry element itself where it lies there), which whole H counts
    cannot say (the formula's half H went to another O instead). Placed on the difference
    map's maximum between the two, where that stands at PAIR_RMS or more (clear of any lone
    pair's 2.0 rms, as for the short bonds of _move_hydrogens); else the model's count stays."""
    rms = density.rms
    for i in peaks:
        site = structure.sites[i]
        if site.element not in ("O", "N") or evidence.counts.get(i, 0) > 1:
            continue
        if site.occupancy < 1 - 1e-3:  # a partly occupied atom's image is its alternative, not
            continue  # its partner (FC_1979688's methanol O13, half there, across a two-fold)
        if len([c for c in bonds[i] if not is_hydrogen(structure.sites[c.j].element)]) != 1:
            continue  # a hydroxyl's or an NH's own H: an atom with more bonds holds its own H
        own = [
            c
            for c in neighbours(structure, STRONG_HBOND, centres=[i])[0]
            if c.j == i and not shares_neighbour(bonds, c) and _involution(structure, c)
        ]
        pivot = structure.cartesian(site.frac)
        found = short_bond_peak(structure, own, pivot, bonds, density)
        if found is None:
            continue
        position, contact = found
        height = float(density(position[None, :])[0])
        if height < PAIR_RMS * rms:
            continue
        rotation, translation = structure.symmetry_matrices()[contact.op]
        twin = structure.cartesian(
            rotation @ structure.fractional(position) + translation + np.asarray(contact.shift)
        )  # the same H seen from the image: the operator of a two-fold or a centre is its own
        if np.linalg.norm(twin - pivot) < np.linalg.norm(position - pivot):
            position = twin  # of two equal maxima, this atom's is the nearer
        on_element = bool(site_operators(structure, structure.fractional(position), ON_ELEMENT))
        if on_element:  # on the two-fold axis or the inversion centre: there exactly
            position = (pivot + contact.cart_j) / 2
        n_model = evidence.counts.get(i, 0)
        evidence.counts[i] = 1
        evidence.given[i] = ([position], 0)
        evidence.halves[i] = on_element
        evidence.notes[i] = (
            f"H shared with its own symmetry image ({contact.distance:.2f} Å): peak "
            f"{height / rms:.1f} rms between them, placed there "
            + ("on the symmetry element" if on_element else "at occupancy 0.5 in PART -1")
            + f" (the model gave {n_model})"
        )


def _involution(structure: Structure, c) -> bool:
    """Whether the operator of contact `c` (a site to its own image) maps the image back onto
    the site: a two-fold axis, a mirror or an inversion centre between them, one H bond the
    pair shares, not a screw axis or glide plane, whose images make a chain of bonds."""
    rotation, translation = structure.symmetry_matrices()[c.op]
    back = rotation @ structure.fractional(c.cart_j) + translation + np.asarray(c.shift)
    site = structure.cartesian(structure.sites[c.i].frac)
    return bool(np.linalg.norm(structure.cartesian(back) - site) < SAME_SITE)


def _take_off_by_map(structure, evidence, counts, peaks, near, bonds, rms, fits) -> None:
    """The model's H off an O, N or S not yet decided that shows fewer peaks (LOW_RMS) than it
    is given, where a partner's H points at it and the reflections do not hold them. An
    alcohol keeps one (_alcohol): the acid, pyridine and ammonium pairs this rule tells apart
    have a base organic crystals hold; an alkoxide without a metal they do not, and an alcohol's
    O–H both gives and takes H bonds (codtools_2006132's O87: 1.9 rms at most on simulated
    data holding its H, N31's H pointing at it, the fixed-atom fit no better with the H)."""
    for i, found in peaks.items():
        seen = [p for p in found if p.height >= LOW_RMS * rms]
        n_model = counts.get(i, 0)
        floor = max(len(seen), 1 if _alcohol(structure, i, bonds, counts) else 0)
        if i in evidence.notes or n_model <= floor:
            continue
        donors = _pointing_at(structure, i, near[i], peaks, rms)
        if not donors or not _placeable(structure, i, bonds[i], floor):
            continue
        if _reflections_keep(fits, evidence.counts, {i: floor}):
            continue
        top = max((p.height for p in found), default=0.0)
        evidence.counts[i] = floor
        evidence.notes[i] = (
            f"−{n_model - floor} H by the difference map (the model gave "
            f"{n_model}): nothing over {LOW_RMS:g} rms at the riding positions (highest "
            f"{top / rms:.1f} rms) and an acceptor here: {'; '.join(donors)}"
        )


def _metal_oxygens_by_data(structure, evidence, peaks, bonds, rms, fits) -> None:
    """The H count of an O bonded to metals and nothing else, where the map shows fewer H
    (peaks over LOW_RMS) than it is given, decided by the reflections. Geometry cannot tell an
    aqua ligand (two H) from a hydroxo (one) or an oxo (none): the rules call every such O a
    water. Missing peaks are evidence only where an H there would stand out: its own peak
    in this map must reach LOW_RMS over the measurements' noise or the map's rms, whichever is
    larger (HydrogenFits.hydrogen_visibility, the riding H's Uiso); on weaker data (simulated
    Sr and Fe aqua ligands at 300 counts: one H under 1.3 times the noise) the non-H atoms
    refined without H have taken up the H's density, the fit without H can win Hamilton's test
    by that bias, and the model's count stands. Otherwise the map's count is taken only where
    the fit with it is significantly better (Hamilton, hydrogen_data) than with the model's.
    Clear aqua H are not judged here at all (N2_water's Mn–OH2 and XH_HMaMg's Mg–OH2 show
    5.8-8.7 rms: tests/test_hydrogen_evidence). Where one of the O's H shows (LOW_RMS), the map
    shows this O's H and a missing one is evidence whatever the estimate says (COD 1552546's
    μ2-OH: its H at 2.8-3.2 rms, the estimate 1.3).
    An O with a covalent partner is left to the rules above, as is any O whose fewer H riding
    places only as a group held by restraints (a hydroxide from one peak), but for an O that
    bridges two or more metals (assign.baseline.bridging_metals): a μ-OH is the published
    models' common case there, a μ-aqua rare, and its one H is placed on the map's peak."""
    counts = evidence.counts
    for i, found in peaks.items():
        n_model = counts.get(i, 0)
        heavy = [c for c in bonds[i] if not is_hydrogen(structure.sites[c.j].element)]
        if structure.sites[i].element != "O" or i in evidence.notes or not n_model or not heavy:
            continue
        if not all(is_metal(structure.sites[c.j].element) for c in heavy):
            continue
        seen = _seen(found, LOW_RMS * rms)
        # an O bridging metals: a hydroxide is the published models' common case there
        # (assign.baseline.metal_oxygen_prior), so one peak may make one, placed from the map
        bridge = bridging_metals(structure, structure.sites[i], bonds[i]) >= 2
        if seen >= n_model or not _placeable(structure, i, bonds[i], seen, moved=bridge):
            continue
        u_iso = RIDING_U_FACTOR[147] * structure.sites[i].u_iso  # SHELXL's riding O–H
        if not seen and fits.hydrogen_visibility(u_iso, rms) < LOW_RMS:
            continue  # a real H would show no peak either: the missing ones are no evidence
        verdict = fits.compare_counts(counts, {**counts, i: seen})
        if verdict is None or not math.isfinite(verdict.wr_first) or not verdict.second_better:
            continue  # only a fit of both counts decides: riding placing one is no evidence
        metals = "/".join(sorted({structure.sites[c.j].element for c in heavy}))
        top = max((p.height for p in found), default=0.0)
        counts[i] = seen
        evidence.notes[i] = (
            f"−{n_model - seen} H by the reflections (the model gave {n_model}): an O bonded "
            f"only to {metals} (aqua, hydroxo or oxo ligand) with {seen} peak(s) over "
            f"{LOW_RMS:g} rms at the riding positions (highest {top / rms:.1f} rms); "
            f"{verdict.text()}"
        )


def _beside_overlap(structure, i, bonds, overlaps) -> str:
    """Why the map cannot judge site i's H, or "": i or a non-H atom bonded to it lies within
    OVERLAP of another atom (geometry.overlapping_sites), so the density about i is that of two
    places of a disordered group, one of them perhaps unmodelled (a ring in two orientations
    published without PART). Alternatives the model's PARTs declare are read apart, each with
    its own H (FC_p31c's NH over PART 1 and 2, 0.04 Å apart: the map gave each its one H)."""
    sites = structure.sites
    for k in (i, *(c.j for c in bonds if not is_hydrogen(sites[c.j].element))):
        if k in overlaps:
            where = "" if k == i else f" (bonded to {sites[i].label})"
            return (
                f"{sites[k].label}{where} lies {overlaps[k].distance:.2f} Å from "
                f"{sites[overlaps[k].j].label}, under {OVERLAP:g} Å: two places of one "
                "disordered atom"
            )
    return ""


def shell_peaks(
    density, centre: np.ndarray, bonded: list[np.ndarray], radii, min_angle: float
) -> list[Peak]:
    """Local maxima of `density` on shells of `radii` about `centre`, in directions at least
    `min_angle` from every bond, highest first, at least H_SEPARATION apart."""
    directions, cosine, local = _shell_grid()
    points = centre + np.asarray(radii)[:, None, None] * directions[None]  # (r, d, 3)
    values = density(points.reshape(-1, 3)).reshape(len(radii), len(directions))
    best_r = values.argmax(axis=0)
    value = values.max(axis=0)
    allowed = np.ones(len(directions), dtype=bool)
    for b in bonded:
        axis = (b - centre) / np.linalg.norm(b - centre)
        allowed &= directions @ axis <= math.cos(math.radians(min_angle))
    # a maximum among the allowed directions: an H whose top lies just past MIN_BOND_ANGLE
    # (M–O–H of a μ3-OH at 93°) still shows, at the border, instead of vanishing
    is_max = value >= np.where(allowed, value, -np.inf)[local].max(axis=1)
    kept: list[int] = []
    for k in np.argsort(-value):
        if allowed[k] and is_max[k] and all(cosine[k, j] < _SEPARATED for j in kept):
            kept.append(int(k))
    return [Peak(points[best_r[k], k], float(value[k]), float(radii[best_r[k]])) for k in kept]


_SEPARATED = math.cos(math.radians(H_SEPARATION))


@functools.cache
def _shell_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shell's directions, the cosines between them, and for each the indices of those
    within LOCAL of it (padded with itself): made once, every donor samples the same."""
    directions = np.array(_sphere_directions(DIRECTIONS))
    cosine = directions @ directions.T
    close = [np.flatnonzero(row >= math.cos(math.radians(LOCAL))) for row in cosine]
    width = max(len(c) for c in close)
    local = np.array(
        [np.pad(c, (0, width - len(c)), constant_values=k) for k, c in enumerate(close)]
    )
    return directions, cosine, local


def _weigh_metal(evidence, i, element, centre, bonded, density) -> None:
    """Keep the H the model asked on a metal only where the map has a peak for each, placed
    there and restrained to its distance; else none, with a note."""
    asked = evidence.counts[i]
    found = shell_peaks(density, centre, bonded, METAL_SHELL, MIN_METAL_ANGLE)
    strong = [p for p in found if p.height >= ADD_RMS * density.rms][:asked]
    if not strong:
        top = max((p.height for p in found), default=0.0) / density.rms
        evidence.counts[i] = 0
        evidence.notes[i] = (
            f"{asked} H asked on the metal {element}: no difference peak 1.4-1.8 Å from it "
            f"(highest {top:.1f} rms, {ADD_RMS:g} needed), so none placed"
        )
        return
    evidence.counts[i] = len(strong)
    evidence.given[i] = ([p.position for p in strong], 0)
    distance = float(np.mean([p.distance for p in strong]))
    evidence.notes[i] = (
        f"{len(strong)} H on the metal {element} from the difference map "
        f"({', '.join(_height(p, density.rms) for p in strong)}, {distance:.2f} Å from it), "
        f"restrained with DFIX {distance:.2f}"
    )


HYDRIDE_WITHIN = 0.3  # Å around an input hydride where the map's maximum is read


def input_hydrides_shown(
    structure: Structure,
    hydrides: dict[int, list[InputH]],
    density,
    left_out: str = WRITTEN.dropped,
) -> dict[int, tuple[bool, str]]:
    """Metal site → whether the Fo − Fc map of the model without H shows each of the input's
    hydrides on it (`hydrides`: riding.input_hydrides, each beside it), LOW_RMS within
    HYDRIDE_WITHIN Å, as for a donor's H, and a note saying so: the user's hydride is the
    evidence of where to look, the map whether it is there. No angle rule: cod-tools'
    no_Z_valid_estimation's Ru–H lies 59° from its Ru–Si bond (an Ru–H···Si contact).
    `left_out` says what becomes of one the map does not show (riding.InputHFate.dropped of
    the path; the audit's corrected model); the job gives the metal no H then."""
    step = np.arange(-HYDRIDE_WITHIN, HYDRIDE_WITHIN + 1e-9, 0.1)
    offsets = np.array([(x, y, z) for x in step for y in step for z in step])
    offsets = offsets[np.linalg.norm(offsets, axis=1) <= HYDRIDE_WITHIN + 1e-9]
    out = {}
    for k, group in hydrides.items():
        heights = [float(density(h.xyz + offsets).max()) / density.rms for h in group]
        seen = min(heights) >= LOW_RMS
        element = structure.sites[k].element
        out[k] = (
            seen,
            f"the input's hydride{'s' if len(group) > 1 else ''} on {structure.sites[k].label} "
            + ("kept: " if seen else f"{left_out}: ")
            + f"the difference map shows {', '.join(f'{h:.1f}' for h in heights)} rms there "
            f"({LOW_RMS:g} needed)" + ("" if seen else f"; the job gives the metal {element} no H"),
        )
    return out


def _share_hydrogens(structure, peaks, near, rms) -> None:
    """One H between two O/N that both show it: in a short hydrogen bond (hydrogen maleate,
    O···O 2.4 Å) the H midway is a peak on both donors' shells, each pointing at the other.
    It is kept by the donor with the higher peak, ADD_RMS at least, and struck from the
    other's list, however low it stands there (a pyridinium's N–H 1.6 Å from the carboxylate
    O it bonds to shows on that O's shell as a tail of 3 rms)."""
    strong = ADD_RMS * rms
    for i, contacts in near.items():
        for c in contacts:
            if c.j not in peaks or c.j == i or c.distance > SHARED_HBOND_MAX:
                continue
            mine = [p for p in peaks[i] if _points_at(structure, i, c, p, strong, from_centre=True)]
            back = next(
                (
                    (k, p)
                    for k, p in enumerate(peaks[c.j])
                    if _points_at(structure, i, c, p, 0.0, from_centre=False)
                ),
                None,
            )
            if mine and back and mine[0].height >= back[1].height:
                del peaks[c.j][back[0]]
            elif mine and back and back[1].height >= strong:
                peaks[i].remove(mine[0])


def _move_hydrogens(structure, evidence, peaks, near, bonds, density, fits=None) -> list[tuple]:
    """Each H the model put on the wrong end of a hydrogen bond D–H···A (or on an O/N bonded to
    its donor, a tautomer) moved back to D; the pairs where the map leans to D without being
    clear are returned (lean, D's side, A's side, a, d, D···A), strongest lean first, for the
    reflections to decide (_move_by_data).

    The two places are compared on the same map: D's peak pointing at A (and at no other
    acceptor of D better) against the density on A's shell pointing at D; for a bonded pair D's
    highest peak, ADD_RMS or more, against A's highest. The H goes to D when D's side stands
    PAIR_RMS or more and PAIR_MARGIN rms over A's (no margin where A holds more H than it can
    carry: it must lose one whatever its side shows), A shows fewer peaks (over LOW_RMS) than the
    model gives it or more H than it can carry, and D can carry one more and shows a peak the
    model's count leaves unexplained (a water: fewer than two H). The pair's total is kept (the
    model's formula and charge); only where the H sits is decided. Strongest evidence first, so
    that one peak moves one H."""
    rms = density.rms
    counts = evidence.counts
    options, leaning = [], []
    cone = math.cos(math.radians(PAIR_CONE))
    best = {  # per peak of each donor: the cosine of the acceptor it points at best
        d: [_closest_acceptor(structure, d, near[d], bonds[d], p) for p in peaks[d]]
        for d in peaks
        if d in near
    }
    for a, contacts in near.items():
        if not counts.get(a):  # an acceptor without H has none to give back
            continue
        # A given more H than it can carry (a water with three) must lose one whatever its map
        # shows: the density on A's side toward D is then its own H's or a shared H's tail, no
        # claim on the surplus, so D needs only its PAIR_RMS side (a peak aimed at A, or its
        # shell on the line D···A where a short bond's shared peak was given to A)
        surplus = counts[a] > _most_hydrogens(structure, a, bonds[a])
        here = structure.cartesian(structure.sites[a].frac)
        radii = np.asarray(SHELL[structure.sites[a].element])
        bonded = {c.j for c in bonds[a]}
        for c in contacts:
            d = c.j
            if d not in peaks or d == a or not peaks[d]:
                continue
            if d in bonded:  # a tautomer: only a clear peak, the H-bond's direction unknown
                toward, needed = peaks[d][0].height, ADD_RMS * rms
                on_a = max((p.height for p in peaks[a]), default=0.0)
            elif HBOND_RANGE[0] <= c.distance <= HBOND_RANGE[1]:
                aimed = []
                for k, p in enumerate(peaks[d]):
                    cosine = _cosine(structure, a, c, p, False)
                    if cosine >= cone and cosine >= best[d][k] - 1e-6:
                        aimed.append(p)
                line = (c.cart_j - here) / c.distance
                on_a = float(density(here + radii[:, None] * line).max())
                # none aimed at A: nothing for the map alone, but where D's shell on the line
                # D···A stands over A's the reflections weigh the pair (_move_by_data)
                radii_d = np.asarray(SHELL[structure.sites[d].element])
                toward = (
                    aimed[0].height
                    if aimed
                    else float(density(c.cart_j - radii_d[:, None] * line).max())
                )
                needed = PAIR_RMS * rms if aimed or surplus else math.inf
            else:
                continue
            option = (toward, on_a, a, d, c.distance)
            if toward >= needed and (surplus or toward - on_a >= PAIR_MARGIN * rms):
                options.append(option)
            else:
                leaning.append(option)
    # the donor whose map most clearly shows an H its count leaves unexplained goes first (an
    # NH2's own H aimed at a water that holds one H too many is explained by its count; the
    # water short of one is not), then the strongest peak
    spare = {d: _spare(peaks[d], counts.get(d, 0)) for d in peaks}
    for height, on_a, a, d, distance in sorted(options, key=lambda o: (-spare[o[3]], -o[0])):
        n_a, n_d = counts.get(a, 0), counts.get(d, 0)
        if a in evidence.notes or d in evidence.notes or n_a == 0:
            continue
        seen_a = _seen(peaks[a], LOW_RMS * rms)
        seen_d = _seen(peaks[d], PAIR_RMS * rms)
        unsupported = seen_a < n_a or n_a > _most_hydrogens(structure, a, bonds[a])
        most_d = _most_hydrogens(structure, d, bonds[d])
        # a water, free or an aqua ligand (no covalent bond, one metal at most): an O bridging
        # metals with one H is a μ-OH whose peak is that H's, not a second one
        water = structure.sites[d].element == "O" and most_d == 2 and len(bonds[d]) <= 1
        if not (unsupported and (seen_d > n_d or water)):
            if unsupported or distance <= SHARED_HBOND_MAX:
                # D's peak aims at A, yet D's count seems to explain every peak D shows: the
                # moved H's own peak is the one aimed at A and D's other H stands under
                # PAIR_RMS (an amide NH2 given one H, its anti H at 2.4 rms). Counting peaks
                # cannot say which H is whose; the reflections can (_move_by_data). In a short
                # bond A's peak toward D may be the one H's tail, so A seems to hold its count:
                # the bond lengths may tell (_move_by_bond_lengths)
                leaning.append((height, on_a, a, d, distance))
            continue
        if not _movable(structure, bonds, a, d, counts, restrained=False):
            if _movable(structure, bonds, a, d, counts):
                # it would make a group SHELXL has no HFIX for (a hydroxide, an imine N–H, an
                # NH2 on an sp3 N): the map alone does not decide that, the reflections may
                leaning.append((height, on_a, a, d, distance))
            continue
        if _reflections_keep(fits, counts, {a: n_a - 1, d: n_d + 1}):
            continue  # the reflections say otherwise
        counts[a], counts[d] = n_a - 1, n_d + 1
        sides = _sides(structure, a, d, height, on_a, distance, rms)
        if n_a > _most_hydrogens(structure, a, bonds[a]):
            sides += f"; {structure.sites[a].label} cannot carry {n_a} H"
        _note_move(structure, evidence, a, d, n_a, n_d, "the difference map", sides, seen_a)
    return sorted(
        (o for o in leaning if o[2] not in evidence.notes and o[3] not in evidence.notes),
        key=lambda o: o[1] - o[0],
    )


def _move_by_data(structure, evidence, doubtful, peaks, near, bonds, density, fits) -> None:
    """The pairs the map left undecided, weighed by the reflections: where the map leans to D
    (D's side over A's and positive: a weak H, or one no peak of D aims at) and A shows fewer
    peaks over LOW_RMS than the model gives it H, D takes the H of the partner A whose move fits
    Fo² best, only when significantly better than the model's own (hydrogen_data: Hamilton's
    test); else the model's count stands. Where riding cannot place D's own count (an NH3
    without bonds) there is no fit of the model's counts: A with and without its H is weighed on
    the model with D complete (codtools_4000464's NH4+ given three beside a sulfate O given the
    fourth H), never the map alone, which would take a real but weak O–H of A for a clear H of
    D's aimed elsewhere. D chooses among its partners: a water short of one H fits better with
    any neighbour's H, so the H must come from the A that lacks it least. Neither end may be in
    a short hydrogen bond (O/N to O/N of `near` within SHARED_HBOND_MAX): the H midway there
    fits about as well on either O, and the reflections cannot say whose it is (a Co-oxime's
    O–H···O bridge of 2.46 Å took an oxime N's H onto the wrong O)."""
    counts, rms = evidence.counts, density.rms
    short = {  # O/N in a short hydrogen bond: one H near the middle, owned by neither end
        i
        for i, contacts in near.items()
        for c in contacts
        if c.j in near and HBOND_RANGE[0] <= c.distance <= SHARED_HBOND_MAX
    }
    by_donor: dict[int, list[tuple]] = {}
    for option in doubtful:
        by_donor.setdefault(option[3], []).append(option)
    for d, options in by_donor.items():
        if d in evidence.notes or d in short:
            continue
        weighed = []
        for toward, on_a, a, _, distance in options:
            n_a = counts.get(a, 0)
            if a in evidence.notes or a in short or not n_a or toward <= max(on_a, 0.0):
                continue
            if _seen(peaks[a], LOW_RMS * rms) >= n_a:
                continue  # every H the model gives A stands in the map
            if not _movable(structure, bonds, a, d, counts):
                continue
            moved = {**counts, a: n_a - 1, d: counts.get(d, 0) + 1}
            verdict = fits.compare_counts(counts, moved)
            # the model's own count riding cannot place: no fit to compare, so only where A
            # cannot carry that many H, or D is an N on one metal and nothing else given a
            # count riding cannot place (two H: an amido ligand, where the moved count is an
            # ammine's three; ammines are far commoner, so that is a prior, not an
            # impossibility: a μ-NH2 or an N with other bonds is left as it is), and the map
            # leans to D by PAIR_MARGIN: the alternative the data can be fitted with, the map
            # favours
            n_d = counts.get(d, 0)
            impossible = n_a > _most_hydrogens(structure, a, bonds[a]) or (
                _on_one_metal(structure, d, bonds[d])
                and not _placeable(structure, d, bonds[d], n_d, moved=True)
            )
            placeable = verdict is not None and (
                math.isfinite(verdict.wr_first)
                or (impossible and toward - on_a >= PAIR_MARGIN * rms)
            )
            held = ""
            if (
                verdict is not None
                and not placeable
                and not _placeable(structure, d, bonds[d], n_d)
            ):
                # D's own count is the one riding cannot place (an NH3 without bonds): weigh
                # A with and without its H on the model with D complete, which riding can
                # place, so the data, not the map alone, say whether A's H is A's
                verdict = fits.compare_counts({**counts, d: n_d + 1}, moved)
                placeable = verdict is not None and math.isfinite(verdict.wr_first)
                held = f"; {structure.sites[d].label} given {n_d + 1} in both"
            if placeable and verdict.second_better:
                weighed.append((verdict.ratio, verdict, toward, on_a, a, distance, held))
        if not weighed:
            continue
        _, verdict, toward, on_a, a, distance, held = max(weighed, key=lambda w: w[0])
        n_a, n_d = counts.get(a, 0), counts.get(d, 0)
        counts[a], counts[d] = n_a - 1, n_d + 1
        sides = _sides(structure, a, d, toward, on_a, distance, rms)
        _note_move(
            structure,
            evidence,
            a,
            d,
            n_a,
            n_d,
            "the reflections",
            f"{verdict.text()}{held}; map: {sides}",
        )


def _move_by_bond_lengths(structure, evidence, doubtful, bonds, rms, fits) -> None:
    """A short O–H···O bond's H that neither the map (no margin) nor the reflections (either end
    fits; `fits` given, never None) placed, put on the O whose one bond, to a planar C, is the
    longer by BOND_MARGIN (_single_bond), where the map leans that way too: that O is the
    hydroxyl, the other the C=O (sfcod_1000006's enol O19, C–O 1.315 Å, against the C=O O11,
    1.254 Å, 2.48 Å apart: 3.6 against 2.6 rms)."""
    counts = evidence.counts
    for toward, on_a, a, d, distance in doubtful:
        if not HBOND_RANGE[0] <= distance <= SHARED_HBOND_MAX or toward <= on_a:
            continue
        if a in evidence.notes or d in evidence.notes or not counts.get(a):
            continue
        ends = [_single_bond(structure, k, bonds) for k in (a, d)]
        if None in ends:
            continue
        (x_a, length_a), (x_d, length_d) = ends
        if length_d - length_a < BOND_MARGIN or not _movable(structure, bonds, a, d, counts):
            continue
        n_a, n_d = counts[a], counts.get(d, 0)
        if _reflections_keep(fits, counts, {a: n_a - 1, d: n_d + 1}):
            continue
        counts[a], counts[d] = n_a - 1, n_d + 1
        labels = [structure.sites[k].label for k in (x_d, d, x_a, a)]
        why = (
            f"{labels[0]}–{labels[1]} {length_d:.3f} Å against {labels[2]}–{labels[3]} "
            f"{length_a:.3f} Å, the H of a short hydrogen bond on the O with the longer bond; "
            f"map: {_sides(structure, a, d, toward, on_a, distance, rms)}"
        )
        _note_move(structure, evidence, a, d, n_a, n_d, "the bond lengths", why)


def _on_one_metal(structure, i, bonds) -> bool:
    """Whether site i is an N bonded to exactly one metal and to no other atom but H (an
    ammine's or a terminal amido's N)."""
    sites = structure.sites
    heavy = [c for c in bonds if not is_hydrogen(sites[c.j].element)]
    return sites[i].element == "N" and len(heavy) == 1 and is_metal(sites[heavy[0].j].element)


def _alcohol(structure, i, bonds, counts) -> bool:
    """Whether site i is an alcohol's O: bonded to one C and nothing else, that C sp3 (four
    neighbours with the H `counts` gives it). A C the model gives too few H reads as sp2, and
    its O then falls back to the map's rule (_take_off_by_map): the safe side."""
    sites = structure.sites
    heavy = [c for c in bonds[i] if not is_hydrogen(sites[c.j].element)]
    if sites[i].element != "O" or len(heavy) != 1 or sites[heavy[0].j].element != "C":
        return False
    c = heavy[0].j
    around = [b for b in bonds[c] if not is_hydrogen(sites[b.j].element)]
    return len(around) + counts.get(c, 0) == 4


def _single_bond(structure, i, bonds) -> tuple[int, float] | None:
    """(index, length) of the one bond of O `i` (`bonds`: connectivity of all sites)
    when it is bonded to nothing but a planar C with three neighbours (an acid's, an enol's or a
    C=O's sp2 C), or None: Gilli's lengths hold there only. An sp3 C–O (an alkoxide's
    1.40-1.43 Å), an oxime's N–O, a P–O or S–O, or an O a metal also holds has other lengths, so
    the longer bond there says nothing of the H."""
    sites = structure.sites
    heavy = [c for c in bonds[i] if not is_hydrogen(sites[c.j].element)]
    if sites[i].element != "O" or len(heavy) != 1 or sites[heavy[0].j].element != "C":
        return None
    c = heavy[0]
    around = [b.cart_j for b in bonds[c.j] if not is_hydrogen(sites[b.j].element)]
    if len(around) != 3:
        return None
    centre = structure.cartesian(sites[c.j].frac)
    if angle_sum(centre, around) < _PLANAR_ANGLE_SUM:
        return None
    return c.j, c.distance


def _take_from_partner(structure, evidence, d, contacts, peaks, bonds, rms, fits) -> None:
    """The H the map adds to d taken from an H-bond partner that shows fewer H (peaks over
    LOW_RMS) than it is given, where there is one: the pair's total is kept, as a moved H's. A
    model that put d's H on its acceptor gives that acceptor one too many, which stays when no
    H points straight at it (an NH4+'s H 42° off a sulfate O; an ether O given an N–H's H). The
    partner that can carry it least goes first, then the one with the most H unseen, then the
    nearest; not where the reflections hold that H (_reflections_keep)."""
    counts, low = evidence.counts, LOW_RMS * rms
    partners = []
    for c in contacts:
        a, n_a = c.j, counts.get(c.j, 0)
        if a == d or a not in peaks or a in evidence.notes or not n_a:
            continue
        if not HBOND_RANGE[0] <= c.distance <= HBOND_RANGE[1]:
            continue
        seen_a = _seen(peaks[a], low)
        if seen_a < n_a and _placeable(structure, a, bonds[a], n_a - 1, moved=True):
            over = n_a > _most_hydrogens(structure, a, bonds[a])
            partners.append((not over, seen_a - n_a, c.distance, a, seen_a))
    for *_, a, seen_a in sorted(partners):
        if _reflections_keep(fits, counts, {a: counts[a] - 1}):
            continue
        label_a, label_d = structure.sites[a].label, structure.sites[d].label
        why = f"{label_d} shows an H its count did not explain"
        _note_taken(structure, evidence, a, d, counts[a], "the difference map", why, seen_a)
        evidence.notes[d] += f"; taken from {label_a}, which shows fewer H than it was given"
        counts[a] -= 1
        return


def _reflections_keep(fits, counts: dict[int, int], changes: dict[int, int]) -> bool:
    """Whether the reflections (a HydrogenFits, or None) hold the H the map would move or take
    off: the model's counts fit Fo² significantly better (Hamilton) than with `changes`. A
    partner's H pointing at an O–H is as often an H bond it accepts as the H it was given
    (an alcohol whose H stands at 2 rms accepting an N–H of 5: the data keep it by 1.027, 1.0015
    needed)."""
    if fits is None:
        return False
    verdict = fits.compare_counts(counts, {**counts, **changes})
    return verdict is not None and verdict.first_better


def _movable(structure, bonds, a, d, counts, restrained: bool = True) -> bool:
    """Whether one H can go from a to d: d can carry one more, and riding places both (with
    `restrained`, also as a group held by DFIX/DANG: hydrogens.restrained_group)."""
    n_a, n_d = counts.get(a, 0), counts.get(d, 0)
    return (
        n_d < _most_hydrogens(structure, d, bonds[d])
        and _placeable(structure, d, bonds[d], n_d + 1, moved=restrained)
        and _placeable(structure, a, bonds[a], n_a - 1, moved=restrained)
    )


def _spare(peaks: list[Peak], n_h: int) -> float:
    """The height of the strongest of `peaks` beyond the `n_h` highest, which the site's own H
    count explains (0 when there is none)."""
    return peaks[n_h].height if len(peaks) > n_h else 0.0


def _seen(peaks: list[Peak], height: float) -> int:
    """How many of `peaks` stand at least `height` high."""
    return sum(1 for p in peaks if p.height >= height)


def _sides(structure, a, d, toward, on_a, distance, rms) -> str:
    label_a, label_d = structure.sites[a].label, structure.sites[d].label
    return (
        f"{toward / rms:.1f} rms on {label_d} toward {label_a}, {on_a / rms:.1f} rms on "
        f"{label_a} toward {label_d} ({label_d}···{label_a} {distance:.2f} Å)"
    )


def _note_move(structure, evidence, a, d, n_a, n_d, by, why, seen_a=None) -> None:
    label_a = structure.sites[a].label
    evidence.notes[d] = f"+1 H from {label_a} by {by} (the model gave {n_d}): {why}"
    _note_taken(structure, evidence, a, d, n_a, by, why, seen_a)


def _note_taken(structure, evidence, a, d, n_a, by, why, seen_a=None) -> None:
    """The note on a, which gives one of its n_a H to d (seen_a: its peaks over LOW_RMS)."""
    label_d = structure.sites[d].label
    seen = "" if seen_a is None else f"; {seen_a} peak(s) over {LOW_RMS:g} rms here"
    evidence.notes[a] = f"−1 H to {label_d} by {by} (the model gave {n_a}{seen}): {why}"


def _points_at(structure, i, contact, peak, floor, from_centre) -> bool:
    """Whether a peak of centre i, `floor` high at least, points at the image of j in
    `contact` (from_centre), or such a peak of j (found about its site in the cell) points at
    i."""
    low, high = HBOND_RANGE
    return (
        peak.height >= floor
        and low <= contact.distance <= high
        and _cosine(structure, i, contact, peak, from_centre) >= math.cos(math.radians(POINTS_AT))
    )


def _closest_acceptor(structure, d, contacts, bonds, peak) -> float:
    """The cosine between D's peak and the nearest in direction of D's possible acceptors:
    a peak between two acceptors belongs to the H-bond it points at best (in a short O–H···O
    bridge beside an oxime N, the H's tail on the O is no H for the N)."""
    bonded = {c.j for c in bonds}
    return max(
        (
            _cosine(structure, d, c, peak, from_centre=True)
            for c in contacts
            if c.j not in bonded
            and HBOND_RANGE[0] <= c.distance <= HBOND_RANGE[1]
            and structure.sites[c.j].element in ACCEPTORS
        ),
        default=-1.0,
    )


def _cosine(structure, i, contact, peak, from_centre) -> float:
    """Cosine between an X–H peak and the line i → image of j (from_centre: the peak is i's),
    or j's peak (found about its site in the cell) and the line j → i."""
    centre = structure.cartesian(structure.sites[i].frac)
    line = (contact.cart_j - centre) / contact.distance
    if from_centre:
        direction = peak.position - centre
    else:
        direction, line = _image_direction(structure, contact, peak.position), -line
    return float(direction @ line / np.linalg.norm(direction))


def _pointing_at(structure, i, contacts, peaks, rms) -> list[str]:
    """The H-bond partners of site i (O or N) whose own strong shell peak points at it."""
    found = []
    for c in contacts:
        for p in peaks.get(c.j, ()):
            if _points_at(structure, i, c, p, ADD_RMS * rms, from_centre=False):
                label = structure.sites[c.j].label
                found.append(
                    f"{label}'s H points at it ({_height(p, rms)}, {label}···{c.distance:.2f} Å)"
                )
                break
    return found


def _image_direction(structure: Structure, contact, position: np.ndarray) -> np.ndarray:
    """Partner j's X–H vector (its peaks were found about its site in the cell) turned into
    the frame of the image of j that i sees: the symmetry operator's rotation applied."""
    rotation, _ = structure.symmetry_matrices()[contact.op]
    ortho = structure.orthogonalisation
    vector = position - structure.cartesian(structure.sites[contact.j].frac)
    return ortho @ rotation @ np.linalg.inv(ortho) @ vector


def _most_hydrogens(structure: Structure, i: int, bonds) -> int:
    """H an O, N or S can carry beside its bonds (onium ions left out): O two less its
    covalent bonds (water, OH; an aqua ligand keeps both), N four less the order of all its
    bonds read from their lengths (NH4+, NH3+, ammine, pyridinium; a nitrile N, coordinated or
    not, an azide's or a nitro group's none), S one as a thiol; an O of a perchlorate or a
    nitro group or nitrate none (_oxo); an O bonded to metals alone no more than their bond
    valence sum leaves room for (baseline.metal_oxygen_room: an oxide's O none, so no ripple
    of its metals is taken for an H)."""
    element = structure.sites[i].element
    covalent = [c for c in bonds if not is_metal(structure.sites[c.j].element)]
    if element == "O":
        if any(_oxo(structure, c) for c in covalent):
            return 0
        return min(
            max(0, 2 - len(covalent)), metal_oxygen_room(structure, structure.sites[i], bonds)
        )
    if element == "S":
        return 1 if len(covalent) == 1 else 0
    if len(bonds) == 1 and bonds[0].distance < 1.2:
        return 0
    return max(0, math.floor(4 - sum(_bond_order(structure, c) for c in bonds) + 1e-9))


def _oxo(structure: Structure, bond) -> bool:
    """Whether an O's bond is one that leaves it no H: to a Cl (perchlorate, chlorate), or an
    N–O no longer than N_DOUBLE (nitro, nitrate). Of the O with one non-metal bond in the
    models with H of shared/data, the 64 on a Cl carry none (Cl–O 0.64-1.64 Å, disordered ones
    included); of those on an N, 435 carry none (N–O 1.18-1.36 Å) and 9 one (oximes and
    hydroxylamines, 1.33-1.40 Å). The cut at N_DOUBLE (1.26 Å) is cautious on purpose: an N–O
    of 1.27-1.32 Å (a long nitro bond, an N-oxide) is left for the map to judge rather than
    risk an oxime's H. A disordered perchlorate's other orientation stands where an
    O's riding H would (COD 2240189: a peak of 6.7 rms, 0.75 Å from the O at Cl–O–peak 100°,
    read as an H). S–O and P–O lengths of acids and their anions overlap (S: 1.37-1.54 Å
    without H, 1.45 with; P: 1.46-1.58 without, 1.50-1.58 with): not read."""
    other = structure.sites[bond.j].element
    return other == "Cl" or (other == "N" and bond.distance <= N_DOUBLE)


# Bonds of N to C, N or O read by their length (Å), as a crystallographer reads a valence:
# triple or cumulated up to N_TRIPLE (C≡N 1.14, N≡N 1.10, an azide's N=N=N 1.13-1.18), double
# up to N_DOUBLE (N=N 1.24-1.25, nitro and nitrate N=O 1.21-1.25), conjugated up to
# N_CONJUGATED (aromatic and amide C–N 1.31-1.37: one and a half), single beyond; a bond to a
# metal or another element counts one. On every ordered N of shared/data (1,246 sites) the
# published H count stays within 4 less their sum, but for codtools_2000332's N(3'), 1.15 Å
# from N(3): two places of one disordered N, published without PART.
N_TRIPLE, N_DOUBLE, N_CONJUGATED = 1.19, 1.26, 1.37


def _bond_order(structure: Structure, bond) -> float:
    if structure.sites[bond.j].element not in ("C", "N", "O"):
        return 1.0
    if bond.distance <= N_TRIPLE:
        return 3.0
    if bond.distance <= N_DOUBLE:
        return 2.0
    return 1.5 if bond.distance <= N_CONJUGATED else 1.0


def _placeable(structure: Structure, i: int, bonds, n_h: int, moved: bool = False) -> bool:
    """Whether riding (or the rigid water/NH4+ groups) can place n_h H on site i; with `moved`
    also the restrained groups SHELXL has no HFIX for (hydrogens.restrained_group: a hydroxide,
    an imine N–H, a hydrazine's NH2): for an H moved along its bond (the pair's total kept), or
    the one H left on an O bridging metals (_metal_oxygens_by_data), where a μ-OH is the
    published models' common case (assign.baseline.MU2_COUNTS). Otherwise an H is never added
    or taken off alone to make one of those: that would change the formula on the strength of
    one peak."""
    if n_h == 0:
        return True
    site = structure.sites[i]
    covalent = sum(1 for c in bonds if not is_metal(structure.sites[c.j].element))
    if (site.element, n_h, covalent) in (("O", 2, 0), ("N", 4, 0)):  # water (aqua), NH4+
        return True
    bonded = [(structure.sites[c.j].element, c.cart_j) for c in bonds]
    code, _ = choose_hfix(site.element, n_h, structure.cartesian(site.frac), bonded)
    return code != 0 or (moved and restrained_group(site.element, n_h, covalent))


def placeable(structure: Structure, i: int, n_h: int, bonds=None) -> bool:
    """Whether riding (or the rigid water/NH4+ groups) places n_h H on site i (_placeable);
    `bonds`, the structure's connectivity, where the caller has it."""
    return _placeable(structure, i, (bonds or connectivity(structure))[i], n_h)


def _height(peak: Peak, rms: float) -> str:
    return f"{peak.height:.2f} e/Å³ = {peak.height / rms:.1f} rms"
