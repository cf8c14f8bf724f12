"""The jobs behind the commands: solve → assign → refine, and assign an existing solution."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable

from crystalx_core.assign import apply_assignment, assign, hydrogen_counts, resolve_hydrogen_method
from crystalx_core.assignment import Assignment
from crystalx_core.contents import checked_contents
from crystalx_core.crystallography.maps import Residual, difference_density, residual_density
from crystalx_core.crystallography.refine import RefinementResult, refine
from crystalx_core.errors import RefinementError
from crystalx_core.crystallography.solve import Solution, solve
from crystalx_core.element_check import recheck_elements, take_rechecked_elements
from crystalx_core.elements import is_hydrogen
from crystalx_core.riding import HydrogenPlan, add_riding_hydrogens
from crystalx_core.structure import Structure

Progress = Callable[[str], None]
SPURIOUS_U = 0.25  # Å²: an "atom" refining to a larger Uiso is a spurious peak, not an atom


@dataclass
class JobResult:
    input: Structure  # what the user gave (for solve: cell, symmetry and formula only)
    assigned: Structure  # the peaks/atoms the assignment was made on
    assignment: Assignment
    structure: Structure  # final model: assigned atoms and riding H
    hydrogens: HydrogenPlan
    solution: Solution | None = None
    refinements: list[tuple[str, RefinementResult]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    hydrogen_method: str = "rules"
    notes: list[str] = field(default_factory=list)  # what the job had to give up on, for the user
    residual: Residual | None = None  # difference map of the final model (with reflections)

    @property
    def dropped_labels(self) -> list[str]:
        return [self.assigned.sites[i].label for i in self.assignment.dropped]

    @property
    def final(self) -> RefinementResult | None:
        return self.refinements[-1][1] if self.refinements else None

    def element_table(self) -> list[tuple[str, int, float]]:
        """(element, atoms assigned, expected from UNIT) for every SFAC element but H."""
        found = Counter(s.element for s in self.assignment.sites)
        expected = self.input.asymmetric_unit_contents()
        return [(el, found.get(el, 0), expected.get(el, 0.0)) for el in self.input.sfac
                if not is_hydrogen(el)]


def solve_job(structure: Structure, reflections, method: str = "auto", cycles: int = 10,
              progress: Progress = lambda stage: None, hydrogens: str = "auto") -> JobResult:
    """Charge flipping from cell, symmetry and formula, then assign and refine."""
    timings: dict[str, float] = {}
    structure, unit_note = checked_contents(structure)
    with _timed(timings, "solve", progress):
        solution = solve(structure, reflections)
    result = assign_job(solution.structure, reflections, method, cycles, progress, hydrogens)
    result.input, result.solution = structure, solution
    note = solution.completeness_note()
    if note:
        result.notes.insert(0, note)
    if unit_note:
        result.notes.insert(0, unit_note)
    result.timings = {**timings, **result.timings}
    return result


def assign_job(structure: Structure, reflections=None, method: str = "auto", cycles: int = 10,
               progress: Progress = lambda stage: None, hydrogens: str = "auto") -> JobResult:
    """Assign elements and H to the peaks/atoms of a solution; refine when reflections are given."""
    timings: dict[str, float] = {}
    refinements: list[tuple[str, RefinementResult]] = []
    notes: list[str] = list(reflections.notes) if reflections is not None else []  # what the reader left out
    if structure.peaks:  # UNIT decides which peaks are atoms: a placeholder must not
        structure, unit_note = checked_contents(structure)
        notes += [unit_note] if unit_note else []
    with _timed(timings, "assign", progress):
        assignment = assign(structure, method)
        model = apply_assignment(structure, assignment)
    if reflections is not None:
        with _timed(timings, "refine isotropic", progress):
            refinements.append(("isotropic", refine(model, reflections, cycles)))
            smeared = [s.label for s in refinements[-1][1].structure.sites if s.u_iso > SPURIOUS_U]
            if smeared:  # peaks that refine to no atom: drop them, as a crystallographer would
                _drop(assignment, smeared)
                model = model.with_sites([s for s in model.sites if s.label not in smeared])
                refinements.append(("isotropic, spurious removed", refine(model, reflections, cycles)))
        with _timed(timings, "second look at the elements", progress):
            check = recheck_elements(refinements[-1][1].structure, reflections, method, cycles)
            if check is not None:
                notes.append(check.note())
                if check.accepted:
                    relabelled = take_rechecked_elements(assignment, check, structure)
                    refinements.append(("isotropic, elements rechecked", replace(check.refined, structure=relabelled)))
        anisotropic = True
        with _timed(timings, "refine anisotropic", progress):
            try:
                refinements.append(("anisotropic", refine(refinements[-1][1].structure, reflections,
                                                          cycles, anisotropic=True)))
            except RefinementError as error:  # keep the isotropic model rather than lose the job
                anisotropic = False
                notes.append(f"anisotropic refinement failed ({error.message}); the model stays isotropic")
        model = refinements[-1][1].structure
    with _timed(timings, "hydrogens", progress):
        density = difference_density(model, reflections) if reflections is not None else None
        plan = _hydrogens(model, assignment, hydrogens, density)
    if reflections is not None:
        with _timed(timings, "refine with riding H", progress):
            refinements.append(("riding H", refine(plan.structure, reflections, cycles, anisotropic=anisotropic,
                                                   instructions=_instructions(plan))))
        plan.structure = refinements[-1][1].structure
        plan.notes.update(refinements[-1][1].fixed_hydrogens)
        with _timed(timings, "difference map", progress):
            residual = residual_density(plan.structure, reflections)
    else:
        residual = None
    _annotate(assignment, plan)
    return JobResult(input=structure, assigned=structure, assignment=assignment, structure=plan.structure,
                     hydrogens=plan, refinements=refinements, timings=timings,
                     hydrogen_method=resolve_hydrogen_method(hydrogens),
                     notes=notes, residual=residual)


def _hydrogens(model: Structure, assignment: Assignment, method: str, density=None) -> HydrogenPlan:
    """H counts (rules or model) on the (refined) model, then riding H in SHELXL geometry,
    rotating groups and water turned into the difference density when there is one."""
    counts = hydrogen_counts(model, method)
    heavy = [site for site in model.sites if not is_hydrogen(site.element)]
    by_label = {s.new_label: s for s in assignment.sites}
    for site, (n_h, scores) in zip(heavy, counts):
        if site.label in by_label:
            by_label[site.label].h_count = n_h
            by_label[site.label].h_scores = scores
    index = {id(site): i for i, site in enumerate(model.sites)}
    return add_riding_hydrogens(model, {index[id(site)]: n for site, (n, _) in zip(heavy, counts)},
                                density=density)


def _drop(assignment: Assignment, labels: list[str]) -> None:
    """Move the sites with these new labels from the answer to its dropped peaks."""
    gone = [s for s in assignment.sites if s.new_label in labels]
    assignment.sites = [s for s in assignment.sites if s.new_label not in labels]
    assignment.dropped = sorted(assignment.dropped + [s.index for s in gone])


def _annotate(assignment: Assignment, plan: HydrogenPlan) -> None:
    """Record each atom's HFIX code and any note on its H in the answer."""
    by_label = {s.new_label: s for s in assignment.sites}
    for label, code in plan.codes.items():
        by_label[label].hfix = code
    for label, note in plan.notes.items():
        by_label[label].note = note


def _instructions(plan: HydrogenPlan) -> list[str]:
    from crystalx_core.crystallography.refine import DEFAULT_INSTRUCTIONS
    return DEFAULT_INSTRUCTIONS[:1] + plan.restraints + DEFAULT_INSTRUCTIONS[1:]


class _timed:
    def __init__(self, timings: dict[str, float], stage: str, progress: Progress):
        self.timings, self.stage, self.progress = timings, stage, progress

    def __enter__(self):
        self.progress(self.stage)
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.stage] = time.perf_counter() - self.start
