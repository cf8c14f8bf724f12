"""The machine-learned assignment: heavy-atom model in two passes, then the hydrogen model.

Pass 1 starts from the baseline's guesses (height order, SFAC in UNIT proportion), pass 2
from pass 1's answer, as in the CrystalX paper. Classes are restricted to the SFAC
elements (plus "not an atom" for unassigned peaks); where they leave a site more than one
metal, each is weighed by its bond valence sum (crystalx_core.assign.metal_valence), and an
ionic site's metal and anion shares by how well either role's sum fits (assign.ion_role). Each
pass's answer is the most likely one that also fits the formula
(crystalx_core.assign.composition: UNIT counts as a soft constraint), and every SFAC element
is made to appear at least once, moving the atom that the model finds most likely to be it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from crystalx_core.assign.baseline import (
    aryl_methyls,
    baseline_elements,
    baseline_h_counts,
    h_fixed,
    h_room,
    metal_oxygen_prior,
    metal_sp2_carbon,
)
from crystalx_core.assign.composition import (
    PENALTY,
    constrained_choice,
    move_costs,
    trusted_counts,
)
from crystalx_core.assign.labels import element_labels
from crystalx_core.assign.ion_role import role_weighed
from crystalx_core.assign.metal_valence import valence_weighed
from crystalx_core.assign.omitted_h import fit_with_omissions, solvent_molecules
from crystalx_core.assign.protonation import (
    hydroxyl_on_longest_bond,
    imine_ceiling,
    ring_nh_floor,
    valence_floor,
)
from crystalx_core.assignment import Assignment, SiteAssignment
from crystalx_core.elements import atomic_number, is_hydrogen, is_metal
from crystalx_core.errors import CrystalXError
from crystalx_core.features import build_graph, combined_tokens, height_bins
from crystalx_core.geometry import connectivity, one_alternative, site_multiplicities
from crystalx_core.runtime import MODEL_DIR
from crystalx_core.special_disorder import declared
from crystalx_core.structure import Structure
from crystalx_core.symmetry import smallest_site_share

NOT_AN_ATOM = "Q"
# heavy-model passes: the first from the baseline's guesses, each later one from the last answer
PASSES = 2
PEAK_ON_SPECIAL = 0.5  # Å: images of a whole site this close are one atom on a special position
FORMULA_MIN_PROBABILITY = 0.01  # an H count the formula may choose instead of the most likely one


def load_model(model_dir: str | Path, name: str):
    """The ONNX model NAME.onnx of a model folder, loaded once per process however the
    folder is spelt (a str or a Path, relative or not)."""
    return _load_model(str(Path(model_dir).resolve()), name)


@lru_cache(maxsize=None)
def _load_model(model_dir: str, name: str):
    from crystalx_core.runtime import OnnxModel

    return OnnxModel(Path(model_dir) / f"{name}.onnx")


def assign_model(
    structure: Structure,
    model_dir: str | Path = MODEL_DIR,
    penalty: float | None = PENALTY,
    record: dict | None = None,
) -> Assignment:
    """Elements of the non-H sites; penalty=None takes each site's most likely class instead
    of the best choice under the formula (crystalx_core.assign.composition). `record`, for an
    audit of the stages (benchmarks/element_stages.py), receives per non-H site the class
    index each pass P chose: pP_sfac (most likely SFAC class), pP_sites (after the
    strong-peak and refined-site rules, before the metals' bond valence: metal_valence),
    pP_formula (under the formula, with a penalty);
    cover (the answer), and probabilities (the last pass's) and classes."""
    heavy_model = load_model(model_dir, "heavy")
    sites = [i for i, s in enumerate(structure.sites) if not is_hydrogen(s.element)]
    target, _ = declared(structure.with_sites([structure.sites[i] for i in sites]))
    allowed = _allowed_classes(target, heavy_model.classes)
    heights = [s.peak_height if s.is_peak else None for s in target.sites]
    counted, weights = _formula(target, heavy_model.classes)
    site_allowed = _site_classes(
        allowed, heights, heavy_model.classes, _refined_sites(target), sum(counted.values())
    )
    baseline, _ = baseline_elements(target)
    guesses = [atomic_number(baseline[k]) if k in baseline else 0 for k in range(len(target.sites))]
    bins = (
        height_bins(heights, sum(counted.values()))
        if heavy_model.config.get("height_tokens")
        else None
    )
    searched: dict[int, list] = {}  # the contacts both bond valence weighings read, each pass
    for p in range(1, PASSES + 1):
        graph = build_graph(target, guesses, heavy_model.cutoff, heavy_model.context)
        if bins is not None:
            graph = replace(graph, z=combined_tokens(graph.z, bins[graph.site]))
        raw = heavy_model.predict(graph)
        probabilities = _restricted(raw, site_allowed)
        if record is not None:
            record[f"p{p}_sfac"] = _restricted(raw, allowed).argmax(axis=1)
            record[f"p{p}_sites"] = probabilities.argmax(axis=1)
        probabilities = valence_weighed(target, probabilities, heavy_model.classes, searched)
        probabilities = role_weighed(target, probabilities, heavy_model.classes, searched)
        if penalty is not None:
            atoms_seen = float(
                weights @ (1.0 - probabilities[:, heavy_model.classes.index(NOT_AN_ATOM)])
            )
            expected, shortfall = trusted_counts(counted, atoms_seen, float(weights.sum()))
            fit = dict(counted=expected, weights=weights, penalty=penalty, shortfall=shortfall)
            choice = constrained_choice(probabilities, allowed=allowed, **fit)
            if record is not None:
                record[f"p{p}_formula"] = choice
        else:
            choice = probabilities.argmax(axis=1)
            fit = None
        guesses = [
            0 if heavy_model.classes[c] == NOT_AN_ATOM else atomic_number(heavy_model.classes[c])
            for c in choice
        ]
    smallest = smallest_site_share(tuple(target.symops))
    # UNIT counts more atoms than a model of atoms has sites: a fragment the user modelled,
    # whose missing elements are not forced on it (_cover_every_element)
    fragment_of_atoms = fit is not None and not fit["shortfall"] and not target.peaks
    if not fragment_of_atoms:
        choice = _cover_every_element(
            probabilities, choice, allowed, heavy_model.classes, fit, smallest
        )
    if record is not None:
        record.update(cover=choice, probabilities=probabilities, classes=heavy_model.classes)
    elements = {
        k: heavy_model.classes[c]
        for k, c in enumerate(choice)
        if heavy_model.classes[c] != NOT_AN_ATOM
    }
    labels = element_labels(target, elements)
    reported = heavy_model.calibrated(probabilities)
    answer = []
    for k, element in elements.items():
        scores = {
            heavy_model.classes[c]: float(reported[k, c])
            for c in np.argsort(-reported[k])[:5]
            if reported[k, c] > 0
        }
        answer.append(
            SiteAssignment(
                index=sites[k],
                label=target.sites[k].label,
                element=element,
                new_label=labels[k],
                element_scores=scores,
            )
        )
    dropped = [sites[k] for k in range(len(target.sites)) if k not in elements]
    return Assignment(method="model", sites=answer, dropped=dropped)


def model_h_counts(
    structure: Structure,
    model_dir: str | Path = MODEL_DIR,
    penalty: float | None = PENALTY,
    record: dict | None = None,
) -> list[tuple[int, dict[int, float]]]:
    """(H count, probabilities) for every non-H site of an assigned structure: the most likely
    counts that also fit UNIT's H (penalty=None: each site's most likely count). `record`, for
    an audit of the stages (benchmarks/hydrogen_stages.py), receives per non-H site the rules'
    counts (rules) and the model's probabilities over `counts`: raw (as the model gives them),
    room (restricted to the H the atom has room for) and agreed (split atoms pooled); and the
    answer's counts (final)."""
    hydrogen_model, heavy, counts, probabilities = _h_probabilities(structure, model_dir, record)
    omitted: list[list[int]] = []
    if penalty is None:
        choice = probabilities.argmax(axis=1)
    else:
        molecules = solvent_molecules(heavy, one_alternative(heavy, connectivity(heavy)))
        choice, omitted = _h_counts_under_formula(
            heavy, probabilities, np.asarray(counts), penalty, molecules=molecules
        )
    if record is not None:
        record["final"] = [counts[c] for c in choice]
        record["omitted"] = omitted
    return [
        (counts[c], {counts[j]: float(p[j]) for j in np.argsort(-p)[:3] if p[j] > 0})
        for c, p in zip(choice, hydrogen_model.calibrated(probabilities))
    ]


def _h_probabilities(structure: Structure, model_dir: str | Path, record: dict | None = None):
    """(hydrogen model, the non-H sites, its count classes, per-site probabilities of each
    restricted to the counts the atom has room for)."""
    hydrogen_model = load_model(model_dir, "hydrogen")
    # a group about a special position in PART 0 read as SHELXL reads it: its own images are
    # its other orientation, not neighbours (special_disorder)
    heavy, _ = declared(
        structure.with_sites([s for s in structure.sites if not is_hydrogen(s.element)])
    )
    graph = build_graph(
        heavy,
        [atomic_number(s.element) for s in heavy.sites],
        hydrogen_model.cutoff,
        hydrogen_model.context,
    )
    # for the rules' tokens and the room each atom has: one alternative's bonds, not both
    bonds = one_alternative(heavy, connectivity(heavy))
    # the tokens the shipped model was trained with: every O bonded to metals alone a water
    rules = np.asarray(baseline_h_counts(heavy, bonds, metal_oxygens=False), dtype=np.int64)
    if hydrogen_model.config.get("rule_tokens"):
        graph = replace(graph, z=combined_tokens(graph.z, rules[graph.site]))
    counts = [int(c) for c in hydrogen_model.classes]
    raw = hydrogen_model.predict(graph)
    room = _placeable(raw, heavy, bonds, counts)
    # an acid's H on its longest X–O bond, where the model put it on a clearly shorter one
    probabilities, moved = hydroxyl_on_longest_bond(heavy, room, bonds, counts)
    agreed = _split_atoms_agree(heavy, probabilities, bonds)
    if record is not None:
        record.update(
            rules=rules.tolist(),
            raw=raw,
            room=room,
            agreed=agreed,
            counts=counts,
            acid_moves=moved,
        )
    return hydrogen_model, heavy, counts, agreed


def _split_atoms_agree(heavy: Structure, probabilities: np.ndarray, bonds) -> np.ndarray:
    """One atom split over alternatives (positive PARTs, one element, SPLIT_REACH apart or
    less in the same asymmetric unit, as many non-metal neighbours each) is one chemical group
    in two places, so its alternatives share one set of H-count probabilities: each gets their
    occupancy-weighed mean, restricted to the counts it has room for (the counts are still
    fitted to UNIT site by site). The minor part's strained geometry alone made N2_thpp's C6A
    (14 % occupied, N–C 1.38 Å) a CH beside its CH2 C6. Close sites with different neighbour
    counts are different atoms (finalcif_1503204's C74A, three neighbours, lies by the CH
    C78B), and a group holds one site per PART, nearest pairs joined first, so a chain of close
    sites over three PARTs is not pooled whole. Negative PARTs stay apart: their overlapping
    images are other molecules (SXF_I43d's acetonitrile lies across its toluene)."""
    from crystalx_core.assign import SPLIT_REACH
    from crystalx_core.geometry import identity_operator, neighbours

    sites = heavy.sites
    split = [k for k, s in enumerate(sites) if s.part > 0 and not s.mixed]
    if not split:
        return probabilities
    identity = identity_operator(heavy)
    degree = [sum(not is_metal(sites[c.j].element) for c in contacts) for contacts in bonds]
    links = sorted(
        (c.distance, k, c.j)
        for k, contacts in zip(split, neighbours(heavy, SPLIT_REACH, centres=split))
        for c in contacts
        if k < c.j
        and sites[c.j].part > 0
        and not sites[c.j].mixed
        and c.op == identity
        and not any(c.shift)
        and sites[c.j].part != sites[k].part
        and sites[c.j].element == sites[k].element
        and degree[c.j] == degree[k]
    )
    group = {k: [k] for k in split}
    for _, i, j in links:  # nearest first; never two sites of one PART in a group
        if group[i] is group[j] or {sites[k].part for k in group[i]} & {
            sites[k].part for k in group[j]
        }:
            continue
        joined = group[i] + group[j]
        for k in joined:
            group[k] = joined
    agreed = probabilities.copy()
    for members in {id(g): g for g in group.values()}.values():
        if len(members) < 2:
            continue
        weight = np.array([sites[k].occupancy for k in members])
        mean = weight @ probabilities[members] / max(weight.sum(), 1e-12)
        for k in members:
            kept = _restricted(mean[None, :], probabilities[k][None, :] > 0)[0]
            if kept.sum() > 0:
                agreed[k] = kept
    return agreed


def formula_h_refitted(
    structure: Structure,
    counts: list[int],
    floors: dict[int, int],
    model_dir: str | Path = MODEL_DIR,
    penalty: float = PENALTY,
    halves: set[int] = frozenset(),
    to_floor: set[int] = frozenset(),
) -> list[int]:
    """The H counts of every non-H site (`counts`, in site order, after the difference map
    weighed them) fitted to UNIT's H total again. Only the sites of `floors` are open, and on
    them only H the first fit gave beyond the site's most likely count, to meet the total, may
    be withdrawn, down to that count and never under the site's floor (the H the map shows
    there): the formula's H that the map has since found elsewhere are not placed twice. A
    count is never raised here: H the formula lacks are not guessed again. The one H of each
    site of `halves` is shared with the site's own image: half an H to the total."""
    _, heavy, classes, probabilities = _h_probabilities(structure, model_dir)
    values = np.asarray(classes)
    kept = np.zeros_like(probabilities)
    open_sites = set()
    for k, n in enumerate(counts):
        likely = 0 if k in to_floor else values[probabilities[k].argmax()]
        lowest = max(likely, floors.get(k, n))
        if k in floors and n in classes and lowest < n:
            allowed = (values >= lowest) & (values <= n) & (probabilities[k] > 0)
            allowed[classes.index(n)] = True
            kept[k] = np.where(allowed, probabilities[k], 0.0)
            open_sites.add(k)
        else:  # held at its count for certain, even one the model thought impossible
            kept[k, classes.index(n) if n in classes else probabilities[k].argmax()] = 1.0
    kept /= np.clip(kept.sum(axis=1, keepdims=True), 1e-12, None)
    choice, _ = _h_counts_under_formula(heavy, kept, values, penalty, halves)
    return [int(values[c]) if k in open_sites else counts[k] for k, c in enumerate(choice)]


def _h_counts_under_formula(
    heavy: Structure,
    probabilities: np.ndarray,
    counts: np.ndarray,
    penalty: float,
    halves: set[int] = frozenset(),
    molecules: list[list[int]] = (),
) -> tuple[np.ndarray, list[list[int]]]:
    """(count class per site, the `molecules` read as published without H: omitted_h) under
    UNIT's H total, as elements are chosen under its element counts: where the formula asks
    for one H more than the most likely counts give (the H of a hydrogen maleate in its short
    O···H···O bond), the least unlikely extra H is added.
    UNIT's H is only an upper bound when more H than the atoms have room for, and is scaled
    to the H the model expects when it is far short of them (composition.trusted_counts).
    Only counts the model gives at least FORMULA_MIN_PROBABILITY, on non-metals, are open to
    the formula: an H shortfall (unmodelled solvent, a wrong UNIT) must not hang H on a metal
    or on an atom the model is sure has none. A whole molecule of `molecules` loses all its H
    where that explains UNIT's shortfall better than taking H off atoms one by one
    (omitted_h); a partly occupied solvent never does (its UNIT an H or two short is rounded:
    SXF_I43d's quarter-occupied toluene keeps the H the user modelled)."""
    expected = sum(
        n for el, n in heavy.asymmetric_unit_contents(include_h=True).items() if is_hydrogen(el)
    )
    if expected <= 0:  # no H in the formula: nothing to fit
        return probabilities.argmax(axis=1), []
    weights = site_weights(heavy)
    weights[list(halves)] /= 2  # an H shared with the site's own image: half of it here
    seen = float(weights @ (probabilities @ counts))
    room = float(weights @ np.where(probabilities > 0, counts[None, :], 0).max(axis=1))
    target, shortfall = trusted_counts({0: expected}, seen, room)
    open_to_formula = np.array([not is_metal(s.element) for s in heavy.sites])[:, None] & (
        probabilities >= FORMULA_MIN_PROBABILITY
    )
    plausible = np.where(
        open_to_formula | (probabilities == probabilities.max(axis=1, keepdims=True)),
        probabilities,
        0.0,
    )
    return fit_with_omissions(
        plausible, counts, target[0], weights, penalty, shortfall, list(molecules)
    )


def _placeable(
    probabilities: np.ndarray, heavy: Structure, bonds: list, counts: list[int]
) -> np.ndarray:
    """H-count probabilities restricted to counts the atom has room for (a C with three
    neighbours takes one H at most, a C or N bonded to a metal one fewer, a boron-cluster
    atom its one exo H: h_room), renormalised, as the element classes are restricted to
    SFAC: the geometry rules could never place more. An N with two single bonds and no metal
    (protonation.valence_floor) is given the probability the model gave it no H as one: the
    valence asks for an NH, not an NH2+; so is a pyridine ring N whose C–N–C angle is a
    pyridinium's (protonation.ring_nh_floor); the N of a C=N–X or N=N–X outside a small ring
    whose angle is an imine's, under 119°, is given the probability of one H or more as none:
    its lone pair, not an H, closes the angle (protonation.imine_ceiling). Where geometry
    settles the count (a tetrahedral B's BH/BH2/BH3: h_fixed; a methyl on an aromatic ring,
    whatever its refined C–C: aryl_methyls) that count alone is left. An sp2 C on a metal by
    its M–C–C angle (baseline.metal_sp2_carbon: an M=CH–R, an M–CH=CR2) is given the
    probability the model gave it more than one H as one: a CH2 read where the angle says
    CH. An O bridging two metals is weighed by how often the published models give such an O
    each count (metal_oxygen_prior: a μ2-OH one, rarely a μ-aqua two), which the model's
    tokens, a water for every O bonded to metals alone, did not tell it.
    `bonds`: connectivity(heavy) as one alternative has it."""
    allowed = np.ones_like(probabilities, dtype=bool)
    weighed = np.ones_like(probabilities)
    settled = {}
    raised = []
    lowered = []
    folded = probabilities.copy()
    methyls = aryl_methyls(heavy, bonds) if 3 in counts else set()
    for k, (site, contacts) in enumerate(zip(heavy.sites, bonds)):
        room = h_room(heavy, site, contacts)
        if room is not None:
            allowed[k] = [n <= room for n in counts]
        # an R2NH (no amide anion without a metal), a pyridinium by its ring angle
        floor = max(valence_floor(heavy, k, bonds), ring_nh_floor(heavy, k, bonds))
        if floor and floor in counts and allowed[k, counts.index(floor)]:
            raised.append((k, floor))
        if 0 in counts and imine_ceiling(heavy, k, bonds):  # a lone pair where an H was read
            lowered.append(k)
        if 1 in counts and metal_sp2_carbon(heavy, site, contacts):  # a CH2 read as a CH
            above = np.asarray(counts) > 1
            folded[k, counts.index(1)] += folded[k, above].sum()
            folded[k, above] = 0.0
        prior = metal_oxygen_prior(heavy, site, contacts)  # a μ2-O: what the data hold
        if prior is not None:
            weighed[k] = [prior.get(n, 0.0) for n in counts]
        fixed = 3 if k in methyls else h_fixed(heavy, site, contacts)
        if fixed is not None and fixed in counts:
            settled[k] = counts.index(fixed)
    placeable = _restricted(folded * weighed, allowed)
    for k, floor in raised:  # fewer H read as the valence's
        below = np.asarray(counts) < floor
        placeable[k, counts.index(floor)] += placeable[k, below].sum()
        placeable[k, below] = 0.0
    for k in lowered:  # more H read as the imine's none
        placeable[k, counts.index(0)] = placeable[k].sum()
        placeable[k, np.asarray(counts) > 0] = 0.0
    for k, c in settled.items():  # certain even where the model gave it no probability at all
        placeable[k] = 0.0
        placeable[k, c] = 1.0
    return placeable


# Spurious peaks of a solution map (noise, series-termination ripples, a split peak) are weak:
# on 165 simulated maps of training and validation structures none of 2,104 reached 0.3 of the
# strongest peak, while the model called 9 real atoms above that "not an atom" (FC_p21c's
# Ga+, held between two arenes at 2.9 Å, is the map's strongest peak and looked spurious).
STRONG_PEAK = 0.3
# A map's peak heights follow the electrons of the atoms: a peak of element Z stands about Z / Z_t
# as high as the typical atom's (Z_t its element), so about Z / Z_ref, Z_ref SFAC's lightest
# element; heavy atoms' cores stand higher still (their scattering falls off more slowly and they
# vibrate less: 2-3 times Z / Z_ref at 0.8 Å from cctbx's form factors, more beside floppy light
# atoms at high resolution), and TOO_STRONG is an empirical margin over that. No atom's peak
# passed Z / Z_ref by more than 2.13 times on evaluate's 378 simulated validation maps (U beside
# B), 1.90 on the 17 benchmark entries' Fobs maps (SXF_I43d's Cl; benchmarks/peak_ceiling.py);
# sfcod_4060313's Tl, the map's strongest peak at 24 times the typical one, was called F
# (p 0.993) by the model.
TOO_STRONG = 5.0  # times Z / Z_ref over the typical peak: no atom of element Z stands so high
# an occupancy at least this is a whole site: a sof written to five decimals (10.33333) and
# divided by its site-symmetry factor falls short of one by 1e-5 (benchmarks/swap_benchmark.py)
WHOLE = 1 - 1e-3


def strong_peaks(heights: list[float | None]) -> np.ndarray:
    """Per site (its peak height, None for an atom or a peak without one): a peak at least
    STRONG_PEAK of the strongest, which stands for an atom. Only for a map's peak list (every
    site a peak with a height): beside atoms already assigned, the peaks are residual density,
    which no height rule can vouch for."""
    values = np.array([np.nan if h is None else h for h in heights], dtype=float)
    if not len(values) or not np.isfinite(values).all() or values.max() <= 0:
        return np.zeros(len(values), dtype=bool)
    return values >= STRONG_PEAK * values.max()


def too_light(
    heights: list[float | None], classes: list[str], allowed: np.ndarray, atoms: float
) -> np.ndarray:
    """(sites, classes) mask of the allowed elements too light for their peak: a peak more than
    TOO_STRONG × Z / Z_ref times as high as the typical atom's (the median of the `atoms`
    strongest peaks, the atoms UNIT counts in the asymmetric unit; all peaks without a count),
    Z_ref the lightest allowed element. Only for a map's peak list, as strong_peaks."""
    values = np.array([np.nan if h is None else h for h in heights], dtype=float)
    mask = np.zeros((len(values), len(classes)), dtype=bool)
    elements = [k for k, c in enumerate(classes) if allowed[k] and c != NOT_AN_ATOM]
    if not len(values) or not elements or not np.isfinite(values).all() or values.max() <= 0:
        return mask
    n = int(round(atoms)) if atoms >= 1 else len(values)
    typical = float(np.median(np.sort(values)[::-1][: min(n, len(values))]))
    if typical <= 0:
        return mask
    z = np.array([atomic_number(classes[k]) for k in elements], dtype=float)
    ceiling = TOO_STRONG * z / z.min()  # highest peak, over the typical one, each element can make
    mask[:, elements] = (values / typical)[:, None] > ceiling[None, :]
    return mask


def site_classes(structure: Structure, classes: list[str]) -> np.ndarray:
    """(sites, classes) mask of what each non-H site may become: the SFAC elements but those
    too light for a peak (too_light), and 'not an atom' for a peak unless it is a strong one
    (strong_peaks) or a refined site (_refined_sites)."""
    heights = [s.peak_height if s.is_peak else None for s in structure.sites]
    atoms = sum(_formula(structure, classes)[0].values())
    return _site_classes(
        _allowed_classes(structure, classes), heights, classes, _refined_sites(structure), atoms
    )


def _refined_sites(structure: Structure) -> np.ndarray:
    """Per site: a peak of a map's peak list (every site a peak, as strong_peaks) with an
    occupancy below one, which only a refinement gives: a Q-peak's sof below 1 is only its
    site-symmetry factor, which the readers divide out (SXF_I43d's Q11, sof 10.33333 on a
    3-fold, reads 0.99999; WHOLE allows for the rounding). Such a peak is a site of a
    disordered model whose elements were hidden (crystallography.maps.fobs_peaks for the
    audit, `assign --hkl`'s priors and the model benchmark): weak because it is a fraction of
    an atom, not because it is noise, so it may not become 'not an atom' (FC_SH2185's C2AA at
    0.094, N2_thpp's C6A and C7B at 0.139, SXF_I43d's C40 and C41 at 0.25 were all dropped).
    Beside atoms, peaks are residual density whatever their occupancy."""
    sites = structure.sites
    if not sites or not all(s.is_peak for s in sites):
        return np.zeros(len(sites), dtype=bool)
    return np.array([s.occupancy < WHOLE for s in sites], dtype=bool)


def _site_classes(
    allowed: np.ndarray,
    heights: list,
    classes: list[str],
    refined: np.ndarray | None = None,
    atoms: float = 0.0,
) -> np.ndarray:
    site_allowed = np.tile(allowed, (len(heights), 1))
    light = too_light(heights, classes, allowed, atoms)
    elements = allowed & (np.array(classes) != NOT_AN_ATOM)
    kept = (elements & ~light).any(axis=1)  # a peak too strong for every element keeps them all
    site_allowed[kept] &= ~light[kept]
    site_allowed[strong_peaks(heights), classes.index(NOT_AN_ATOM)] = False
    if refined is not None:
        site_allowed[refined, classes.index(NOT_AN_ATOM)] = False
    return site_allowed


def _allowed_classes(structure: Structure, classes: list[str]) -> np.ndarray:
    wanted = {el for el in structure.sfac if not is_hydrogen(el)}
    missing = wanted - set(classes)
    if missing:
        # an element past the model's classes (Am-Cf complexes are in the CSD, not in the
        # training data) is no input error: the rules still serve, so the message says so
        known = [c for c in classes if c != NOT_AN_ATOM]
        raise CrystalXError(
            f"the model has no class for {', '.join(sorted(missing))} (it knows {known[0]} to "
            f"{known[-1]}): assign this structure with --method baseline",
            structure.source,
        )
    has_peaks = any(s.is_peak for s in structure.sites)
    return np.array([c in wanted or (c == NOT_AN_ATOM and has_peaks) for c in classes])


def _formula(structure: Structure, classes: list[str]) -> tuple[dict[int, float], np.ndarray]:
    """UNIT as expected counts per class in the asymmetric unit, and what each site counts for."""
    index = {c: k for k, c in enumerate(classes)}
    counted = {
        index[el]: n for el, n in structure.asymmetric_unit_contents().items() if el in index
    }
    return counted, site_weights(structure)


def site_weights(structure: Structure) -> np.ndarray:
    """What each site counts for against UNIT in the asymmetric unit: multiplicity × occupancy /
    group order. Occupancy matters for a disordered model (two CF3 orientations at 0.48 and
    0.52 count as one CF3, as UNIT counts them), whether its sites carry elements or are
    fobs_peaks' peaks that keep them; a solver's peaks have none and count whole.

    A whole site's images within PEAK_ON_SPECIAL Å are one atom (a peak found a little off a
    special position sits on it). A partly occupied site takes the exact multiplicity, the one
    the readers turned its sof into an occupancy with (geometry.chemical_occupancies): SXF_I43d's
    C20 and C26 (PART -1, a quarter each, their images 0.04 and 0.46 Å apart across a two-fold
    axis) are each one of 48 images, not 24."""
    occupancy = np.array([s.occupancy for s in structure.sites], dtype=float)
    multiplicity = np.asarray(site_multiplicities(structure, PEAK_ON_SPECIAL), dtype=float)
    partial = occupancy < 1
    if partial.any():
        exact = np.asarray(site_multiplicities(structure), dtype=float)
        multiplicity = np.where(partial, exact, multiplicity)
    return multiplicity * occupancy / structure.space_group_order


def _restricted(probabilities: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Probabilities of the allowed classes (a mask per class, or per site and class),
    renormalised."""
    kept = np.where(allowed, probabilities, 0.0)
    return kept / np.clip(kept.sum(axis=1, keepdims=True), 1e-12, None)


def trace_elements(counted: dict[int, float], smallest: float) -> set[int]:
    """Classes whose count in the asymmetric unit is under half of the smallest a site can
    count for (`smallest`, symmetry.smallest_site_share: the space group's most special
    Wyckoff position): a dopant or a minor substituent on a mixed site (COD 1552546's Ti, 0.2
    of 7.8 Al in the cell), which a whole atom of its own would overstate many times over: a
    cleaner cover, not what solves the mica (the second round of charge flipping does; its solve
    ends the same without this rule). The
    group's, not the solution's: XH_urea's C and O (a quarter each in P-421m, on the -4 axis)
    are atoms whether or not a peak was found on that axis."""
    return {c for c, n in counted.items() if n < 0.5 * smallest}


def _cover_every_element(
    probabilities, choice, allowed, classes, fit: dict | None, smallest: float
):
    """Give each SFAC element absent from the answer to the site whose move costs least, taken
    only from an element that keeps at least one other atom. The cost is the formula fit's own
    objective (composition.move_costs; `fit` holds constrained_choice's counted, weights,
    penalty and shortfall), so the donor's count counts too: an O the model calls N at 0.996
    beside UNIT's one N (sfarchiv2_2004902, the formula could not move it alone) becomes the
    missing O, not the C that is likeliest O (0.094) and would leave the N too many. Without
    a formula (`fit` None, --no-formula) no count speaks for a donor, and the site likeliest
    to be the element takes it. An element the formula gives less than half of the most
    special site the group has (trace_elements, `smallest`) is no atom of its own and is not
    given one. Where UNIT asks for more atoms than there are sites (a fragment or a model
    still to be completed: a CSD fragment's 5 atoms under its Ru complex's UNIT, dkratzert/DSR
    pictures/pyrazole-CUJWEK.res), an element is given a site only where the sites, holding a
    share `held` of the asymmetric unit, more likely than not hold one of its atoms: n × held
    at least ln 2 (1 − e^−n·held ≥ ½) of min(n, 1) atoms. A Ru, a P and a B were forced onto a
    pyrazole's C and N, an I onto a benzene's C (6 of 17 atoms). A model of atoms (no peaks)
    with fewer sites than UNIT counts is not covered at all (assign_model): its atoms are what
    the user modelled, and a fragment is a molecule, not a random share of the cell (DSR's
    dabco-ISIHUN: 16 of 40 atoms, yet a C was made the F of its counter-ion)."""
    choice = choice.copy()
    trace = trace_elements(fit["counted"], smallest) if fit is not None else set()
    if fit is not None:
        total = sum(fit["counted"].values())
        held = min(1.0, float(np.sum(fit["weights"])) / total) if total > 0 else 1.0
        if held < 1.0:
            trace |= {c for c, n in fit["counted"].items() if n * held < math.log(2) * min(n, 1.0)}
    for c in np.flatnonzero(allowed):
        if classes[c] == NOT_AN_ATOM or (choice == c).any() or c in trace:
            continue
        counts = Counter(choice.tolist())
        donors = [
            k
            for k in range(len(choice))
            if classes[choice[k]] != NOT_AN_ATOM and counts[choice[k]] > 1
        ] or [k for k in range(len(choice)) if classes[choice[k]] == NOT_AN_ATOM]
        if donors:
            if fit is None:
                choice[max(donors, key=lambda k: probabilities[k, c])] = c
                continue
            cost = move_costs(probabilities, choice, np.asarray(donors), int(c), **fit)
            choice[donors[int(np.argmin(cost))]] = c
    return choice
