"""A second look at the elements once the model is refined, as a crystallographer takes one.

The first assignment reads peak heights from the solution's map (charge flipping or what the
user's solver gave). Once the atoms are refined, an Fo map phased by the model is far cleaner:
the same assignment run on its peaks corrects C/N/O that the first map's heights misled
(COD 1501469: four atoms). The change is kept only when the data agree: both models, the
first and the rechecked elements, refined isotropically from the same refined positions for
the same cycles, and the rechecked one's R1 lower by at least R1_GAIN.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from crystalx_core.assign import assign, unit_left_to_assign
from crystalx_core.assign.labels import element_labels
from crystalx_core.assignment import Assignment, SiteAssignment
from crystalx_core.crystallography.maps import fobs_peaks
from crystalx_core.crystallography.refine import RefinementResult, refine
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import RefinementError
from crystalx_core.structure import Structure

R1_GAIN = 0.0005  # absolute R1: below this a change of element is "data undecided" (also the audit's verdict)


@dataclass
class ElementCheck:
    changes: dict[str, str]  # model label → element the Fo map of the refined model proposes
    r1_kept: float  # first elements, refined again from the refined positions
    r1_changed: float  # proposed elements, refined the same way
    refined: RefinementResult  # of the proposed elements
    second: dict[str, SiteAssignment] = field(repr=False)  # model label → the second pass's answer

    @property
    def accepted(self) -> bool:
        return self.r1_changed <= self.r1_kept - R1_GAIN

    def note(self) -> str:
        listed = ", ".join(f"{label} → {element}" for label, element in self.changes.items())
        verdict = "changed" if self.accepted else "kept as assigned (the data do not agree)"
        return (f"second look at the elements on the Fo map of the refined model: {listed}; {verdict}: "
                f"isotropic R1 {self.r1_kept:.4f} as assigned, {self.r1_changed:.4f} changed")


def recheck_elements(model: Structure, reflections, method: str, cycles: int) -> ElementCheck | None:
    """Assign the refined `model`'s non-H atoms again from an Fo map it phases; None when
    every element stays (or a refinement to compare them fails). Sites the second pass calls
    'not an atom' keep their element (the refinement's Uiso has already judged them)."""
    heavy = [s for s in model.sites if not is_hydrogen(s.element)]
    left = unit_left_to_assign(model)  # the peaks carry no mixed sites: UNIT without what those hold
    peaks = replace(fobs_peaks(model, reflections), sfac=left.sfac, unit=left.unit)  # non-H atoms as Q1, Q2, ...
    second = {heavy[k].label: answer for k, answer in assign(peaks, method).by_index().items()}
    first = {s.label: s.element for s in heavy}
    mixed = {s.label for s in heavy if s.mixed}  # a mixed site keeps the elements the user gave it
    changes = {label: answer.element for label, answer in second.items()
               if answer.element != first[label] and label not in mixed}
    if not changes:
        return None
    changed = model.with_sites([s.with_element(changes[s.label]) if s.label in changes else s for s in model.sites])
    try:
        r1_kept = refine(model, reflections, cycles).r1
        refined = refine(changed, reflections, cycles)
    except RefinementError:  # either version diverging is no case for a change: the job goes on as assigned
        return None
    return ElementCheck(changes, r1_kept, refined.r1, refined, second)


def take_rechecked_elements(assignment: Assignment, check: ElementCheck, assigned: Structure) -> Structure:
    """Put the second pass's elements and probabilities into `assignment` (sites it called
    'not an atom' stay as they were), relabel every site as the first pass labels them
    (crystalx_core.assign.labels; `assigned` is the structure the assignment indexes) and
    return the rechecked refinement's structure under the new labels."""
    for site in assignment.sites:
        answer = check.second.get(site.new_label)
        if answer is not None:
            site.element, site.element_scores = answer.element, answer.element_scores
    labels = element_labels(assigned, {s.index: s.element for s in assignment.sites})
    renamed = {}
    for site in assignment.sites:
        renamed[site.new_label], site.new_label = labels[site.index], labels[site.index]
    refined = check.refined.structure
    return refined.with_sites([replace(s, label=renamed.get(s.label, s.label)) for s in refined.sites])
