"""Where a peak becomes an element: method dispatch and applying an answer to a structure."""

from __future__ import annotations

from dataclasses import replace

from crystalx_core.assignment import Assignment
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import CrystalXError, InputError
from crystalx_core.structure import MAX_SITES, Structure

METHODS = ("auto", "model", "baseline")
MAX_SITES_PER_A3 = 1.0  # crystals hold about 0.1 atoms per Å³; ten times that is overlapping junk
MAX_MULTIPLICITY_WORK = (
    50_000_000  # sites × operators²: the pairwise image comparison stays under a second
)
# Å: two sites of different alternatives (PARTs) this close are one atom split over them; no
# two atoms of one alternative come closer than a bond to H (0.8 Å)
SPLIT_REACH = 0.7


def resolve_method(method: str) -> str:
    """'auto' is the shipped models; an error says so when they are missing (never a silent
    fall back to the baseline)."""
    if method not in METHODS:
        raise CrystalXError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    if method != "auto":
        return method
    from crystalx_core.runtime import require_models

    require_models(("heavy", "hydrogen"), "--method baseline")
    return "model"


def assign(
    structure: Structure, method: str = "auto", standing_for: Structure | None = None
) -> Assignment:
    """Elements and H counts for every non-H site of `structure` by the chosen method.

    `standing_for`: the model whose non-H atoms `structure`'s peaks stand for (an Fo map's
    heights at them: element evidence, audit --hkl). The peaks take that model's contents as its
    own assignment does (with_contents, less its mixed sites' other atoms), fitted as a formula:
    peaks have no elements to count, so a model without a UNIT to go by (DSR's `UNIT 1 2 3 4 5
    6`, UNIT 0) lent them nothing and they were refused as 'SFAC/UNIT list no non-H atoms'. The
    model's own atoms are then the composition the peaks hold, fitted as a UNIT would be (a model
    of atoms goes unfitted: its elements are its first guesses; peaks have none, and each could
    otherwise be called 'not an atom')."""
    if not [s for s in structure.sites if not is_hydrogen(s.element)]:
        raise InputError(
            "no peaks or atoms to assign (a structure still to solve, as SHELXT's .ins: "
            "`crystalx solve` it with its reflections)",
            structure.source,
        )
    if len(structure.sites) > MAX_SITES:
        raise InputError(
            f"{len(structure.sites)} sites: CrystalX assigns at most {MAX_SITES} per structure",
            structure.source,
        )
    _check_density(structure)
    target, formula = with_contents(structure if standing_for is None else standing_for)
    if standing_for is not None:
        left = unit_left_to_assign(target)
        target = replace(
            structure, sfac=left.sfac, unit=left.unit, unit_set_aside=left.unit_set_aside
        )
        formula = True
    if resolve_method(method) == "model":
        from crystalx_core.assign.model import assign_model

        def run(target):
            return assign_model(target, **({} if formula else {"penalty": 0.0}))
    else:
        from crystalx_core.assign.baseline import assign_baseline as run
    answer = run(unit_left_to_assign(target))
    pinned = _mixed_sites_kept(structure, answer)
    joined = _split_sites_agree(structure, answer)
    if pinned or joined:  # labels given again for the elements changed
        from crystalx_core.assign.labels import relabel

        relabel(structure, answer.sites)
    return answer


def with_contents(structure: Structure) -> tuple[Structure, bool]:
    """(structure, whether UNIT is a formula to fit). A model of atoms without a UNIT to go by
    (none given, all zeros, or set aside as no possible contents: contents.unit_set_aside) is
    assigned as the model's own atoms count in the cell: the baseline's first guesses hand
    out those elements, and the formula fit runs with no penalty (the model's own choice; an
    SFAC element the atoms never held is not forced on a site, a DSR export's SFAC F I).
    A structure of peaks alone keeps its UNIT (or the error that it gives no atoms)."""
    from crystalx_core.contents import cell_counts

    if any(n > 0 for el, n in structure.cell_contents().items() if not is_hydrogen(el)):
        return structure, True
    held = cell_counts(structure.with_sites([s for s in structure.sites if not s.is_peak]))
    if not any(held.get(el, 0.0) > 0 for el in structure.sfac if not is_hydrogen(el)):
        return structure, True
    unit = [round(held.get(el, 0.0), 4) for el in structure.sfac]
    return replace(structure, unit=unit, unit_set_aside=""), False


def unit_left_to_assign(structure: Structure) -> Structure:
    """UNIT less what the other atoms of mixed sites account for (they are the user's model,
    not assigned); an element they account for wholly leaves SFAC, so that the assignment
    does not hand it to some other site."""
    if not any(site.mixed for site in structure.sites):
        return structure
    from crystalx_core.geometry import site_multiplicities

    held: dict[str, float] = {}
    for site, multiplicity in zip(structure.sites, site_multiplicities(structure)):
        for atom in site.mixed:
            held[atom.element] = held.get(atom.element, 0.0) + atom.occupancy * multiplicity
    left = [(el, n - held.get(el, 0.0)) for el, n in zip(structure.sfac, structure.unit)]
    sites_elements = {site.element for site in structure.sites}
    kept = [
        (el, max(n, 0.0)) for el, n in left if n > 1e-6 or el in sites_elements or el not in held
    ]
    return replace(structure, sfac=[el for el, _ in kept], unit=[n for _, n in kept])


def _mixed_sites_kept(structure: Structure, answer: Assignment) -> bool:
    """A mixed site keeps the element it was given (the user modelled the mix); whether that
    changed an answer."""
    pinned = False
    for site in answer.sites:
        given = structure.sites[site.index]
        if given.mixed and given.element is not None and site.element != given.element:
            site.element, site.element_scores, pinned = given.element, {given.element: 1.0}, True
    return pinned


def _split_sites_agree(structure: Structure, answer: Assignment) -> bool:
    """An atom split over two alternatives (PART 1 and 2, SPLIT_REACH apart or less, given the
    same element) is one atom: each part gets the element of their probabilities weighed by
    occupancy. The minor part's strained geometry alone made FC_p31c's N2' (a quarter
    occupied, 0.18 Å from N2) a C. Whether that changed an answer."""
    groups = _split_groups(structure)
    if not groups:
        return False
    by_index, changed = answer.by_index(), False
    for group in groups:
        members = [by_index[i] for i in group if i in by_index]
        if len({m.element for m in members}) < 2:
            continue
        weight = {m.index: structure.sites[m.index].occupancy for m in members}
        total = sum(weight.values()) or 1.0
        scores: dict[str, float] = {}
        for m in members:
            for element, p in m.element_scores.items():
                scores[element] = scores.get(element, 0.0) + p * weight[m.index] / total
        best = max(scores, key=scores.get)
        for m in members:
            m.element, m.element_scores = best, dict(scores)
        changed = True
    return changed


def _split_groups(structure: Structure) -> list[set[int]]:
    """Sites of different non-zero PARTs, given one element (or, as Fo-map peaks, none), within
    SPLIT_REACH of each other (any image), joined into groups of one split atom each; mixed
    sites keep their own element (_mixed_sites_kept) and stay out. A user's split of two
    elements (C in PART 1, N in PART 2) is not joined."""
    sites = structure.sites
    split = [
        i for i, s in enumerate(sites) if s.part and not is_hydrogen(s.element) and not s.mixed
    ]
    if not split:
        return []
    from crystalx_core.geometry import linked_groups, neighbours

    position = {i: k for k, i in enumerate(split)}
    linked = [
        [
            position[c.j]
            for c in contacts
            if c.j in position
            and sites[c.j].part != sites[i].part
            and sites[c.j].element == sites[i].element
        ]
        for i, contacts in zip(split, neighbours(structure, SPLIT_REACH, centres=split))
    ]
    return [{split[k] for k in g} for g in linked_groups(linked) if len(g) > 1]


def _check_density(structure: Structure) -> None:
    """Refuse more sites in the cell than atoms can fill. Every site counted on a general
    position first (cheap); only when that is too many are the sites' real multiplicities
    counted (NaCl in Fm-3m: 2 sites × 192 operators, but 8 atoms in 181 Å³)."""
    order, volume = len(structure.symops), structure.volume
    in_cell = len(structure.sites) * order
    if (
        in_cell / volume > MAX_SITES_PER_A3
        and len(structure.sites) * order**2 <= MAX_MULTIPLICITY_WORK
    ):
        from crystalx_core.geometry import site_multiplicities

        in_cell = sum(site_multiplicities(structure))
    if in_cell / volume > MAX_SITES_PER_A3:
        raise InputError(
            f"{len(structure.sites)} sites give {in_cell} in the cell of {volume:.0f} Å³, "
            f"{in_cell / volume:.1f} per Å³ (at most {MAX_SITES_PER_A3:g}): is the cell or the "
            "peak "
            "list wrong?",
            structure.source,
        )


HYDROGEN_METHODS = ("auto", "rules", "model")


def resolve_hydrogen_method(method: str) -> str:
    """'auto' is the shipped hydrogen model (an error when it is missing), which reads the
    geometry rules' answer with each atom and beats them on the held-out corpus structures
    and the benchmark (MODEL_CARD.md, docs/benchmarks.md)."""
    if method not in HYDROGEN_METHODS:
        raise CrystalXError(
            f"unknown hydrogen method {method!r} (choose from {', '.join(HYDROGEN_METHODS)})"
        )
    if method != "auto":
        return method
    from crystalx_core.runtime import require_models

    require_models(("hydrogen",), "--hydrogens rules")
    return "model"


def hydrogen_counts(
    structure: Structure, method: str = "auto"
) -> list[tuple[int, dict[int, float]]]:
    """(H count, scores) for every non-H site of an assigned structure, in site order."""
    if resolve_hydrogen_method(method) == "model":
        from crystalx_core.assign.model import model_h_counts

        return model_h_counts(structure)
    from crystalx_core.assign.baseline import baseline_h_counts

    return [(n, {n: 1.0}) for n in baseline_h_counts(structure)]


def apply_assignment(structure: Structure, assignment: Assignment) -> Structure:
    """Relabelled, retyped sites, one per site of the answer in its order (their original
    order); dropped peaks and old H removed."""
    return structure.with_sites(
        [structure.sites[s.index].with_element(s.element, s.new_label) for s in assignment.sites]
    )
