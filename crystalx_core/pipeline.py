"""The jobs behind the commands: solve → assign → refine, and assign an existing solution."""

from __future__ import annotations

import math
import time
from pathlib import Path
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable

from crystalx_core.assign import apply_assignment, assign, hydrogen_counts, resolve_hydrogen_method
from crystalx_core.assign.labels import renames_note
from crystalx_core.assignment import Assignment, annotate
from crystalx_core.completion import Completion, Stage, assign_and_refine, complete
from crystalx_core.contents import (
    cell_counts,
    checked_contents,
    held_to_formula,
    unit_set_aside,
    unit_with_model_atoms,
)
from crystalx_core.crystallography.maps import Residual, difference_density, residual_density
from crystalx_core.crystallography.refine import (
    RefinementResult,
    largest_u,
    refine,
    refined_input_variables,
)
from crystalx_core.crystallography.solve import RUNS, Solution, data_r_sigma, solutions
from crystalx_core.errors import CrystalXError, InputError, RefinementError, SolveError
from crystalx_core.element_evidence import relabelled, take_weighed_elements, weigh_elements
from crystalx_core.elements import is_hydrogen
from crystalx_core.hydrogen_evidence import LOW_RMS, input_hydrides_shown, weigh_hydrogens
from crystalx_core.io.stated_r1 import StatedR1
from crystalx_core.partial_sites import (
    MIN_CYCLES,
    PartialSites,
    add_peak_sites,
    refine_short_sites,
    saturated_counts,
)
from crystalx_core.overlaps import overlap_note
from crystalx_core.repeated_atoms import without_repeated_atoms
from crystalx_core.riding import (
    IN_OLEX2,
    WRITTEN,
    HydrogenPlan,
    InputHFate,
    input_groups,
    input_hydrides,
    input_hydrogens_kept,
    keep_input_names,
    ride_as_input,
    unheld_input_hydrogens,
    unseen_metal_hydrogens,
    unwritten_input_hydrogens,
)
from crystalx_core.special_disorder import declared
from crystalx_core.structure import Structure

Progress = Callable[[str], None]
FOREIGN_R1 = 0.50  # a given model's first isotropic R1 above this: the data are not its own
POOR_R1 = 0.20  # final R1 above this is no solution, whatever the data
SUSPECT_R1 = 0.10  # above this, and far above what the data's own noise allows, neither
NOISE_FACTOR = 3.0  # "far above": R1 over this many times the data's Rsigma (on F)
# a final R1 at most STATED_MARGIN over the input model's own (io.stated_r1) is the same fit by
# another program: `refine_benchmark.py ../shared/data/benchmark` gives at most 0.0097 over
# (CCTBX_cu3182 0.0550 / 0.0453; 0.0126 at main 70cdda1), LogBooker's dom1_mC (C2/m Fe3Cl8,
# 25 % complete) 0.0013 over. A margin, not a factor: the verdict asks only above SUSPECT_R1,
# where no pair measured a ratio, and twice the largest gap seen is what the data support
STATED_MARGIN = 0.02
# a completed model (isotropic, no H) is incomplete, and another charge-flipping run worth a try,
# with an R1 over UNSOLVED_R1, or over INCOMPLETE_R1 with fewer atoms than FEW_ATOMS of UNIT's
UNSOLVED_R1, INCOMPLETE_R1, FEW_ATOMS = 0.25, 0.12, 0.9
MAX_RUNS = 3  # charge-flipping runs completed and compared before the best is kept
# rounds of len(RUNS) charge-flipping runs: a second, with phases of its own, only where every run
# the first completed stayed unsolved (which run lands in the right map is a draw: COD 1552546,
# a mica whose maps all score 0.58-0.61, had a right one in the 8th run only, 11 of 11 atoms,
# where the first six gave 9 of 11 at best and completed to R1 0.40 or more)
ROUNDS = 2
# a run whose figure of merit is this close to the best one's is completed too, complete or not:
# the merit cannot rank such maps (SXF_I43d: 0.27, 0.29, 0.30; the first completes to isotropic
# R1 0.108 with its solvent misplaced, the others to 0.096 and 0.092), the completed R1 can
MERIT_TIE = 0.05


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
    failure: str | None = None  # why the final model is no solution (None: it is one)
    runs: list[tuple[Solution, Completion]] = field(
        default_factory=list
    )  # solve: every run completed
    completion: Completion | None = None  # solve: the kept run's completion cycles
    omit: list[tuple[int, int, int]] = field(
        default_factory=list
    )  # reflections the verdict set aside: REM OMIT lines in the .res, for the user to decide
    r1_without_omit: float | None = None  # the final R1 with those set aside (the verdict's)
    # the reflections gave no σ (none written, or every one 0): each was estimated
    # (io.hkl._weighable_sigmas), which a batch's row says beside R1
    sigmas_estimated: bool = False
    # Q-peaks left out as a repeat of an atom or a higher peak (repeated_atoms): the service's
    # commands delete them from the user's Olex2 model
    repeated_peaks: list[str] = field(default_factory=list)

    @property
    def dropped_labels(self) -> list[str]:
        return [self.assigned.sites[i].label for i in self.assignment.dropped]

    @property
    def final(self) -> RefinementResult | None:
        return self.refinements[-1][1] if self.refinements else None

    def element_table(self) -> list[tuple[str, int, float, float]]:
        """(element, atoms, in cell, UNIT) for every SFAC element but H, over the final model's
        atoms, a mixed site's partners included: "in cell" counts each atom by its occupancy
        and site multiplicity, as UNIT counts the cell's contents, so that an atom on a special
        position or one part of a shared site is not weighed as a whole atom."""
        atoms = Counter(atom.element for site in self.structure.sites for atom in site.with_mixed)
        content = cell_counts(self.structure)
        unit = dict(zip(self.input.sfac, self.input.unit))  # as given, even set aside
        return [
            (el, atoms.get(el, 0), content.get(el, 0.0), unit.get(el, 0.0))
            for el in self.input.sfac
            if not is_hydrogen(el)
        ]


def solve_job(
    structure: Structure,
    reflections,
    method: str = "auto",
    cycles: int = 10,
    progress: Progress = lambda stage: None,
    hydrogens: str = "auto",
    shelx=None,
) -> JobResult:
    """Charge flipping from cell, symmetry and formula, completion from difference maps, then
    the assignment's later stages. While a run's completed model stays incomplete, or the next
    run's figure of merit ties with the best, further runs are completed, up to MAX_RUNS, and
    the one of lowest R1 is kept; where every one stays unsolved, a second round (ROUNDS).
    Every refinement weighs with WGHT 0.1 and no EXTI: a note says so where the .ins `shelx`
    gives others (its lines stay in the .res)."""
    timings: dict[str, float] = {}
    reflections = reflections.merged(structure.cell, structure.symops)
    structure, unit_note = checked_contents(structure)
    # the input's atoms (a CIF's published model, solved again) are no part of a solution from
    # cell, symmetry and contents, nor H of the user's to keep: at the solution's origin they
    # were read as such ('H1B of the input on Fe1 not written', sf_p-1_a)
    unused = _unused_atoms_note(structure)
    structure = structure.with_sites([])
    tried: list[tuple[Solution, Completion]] = []
    failed = None
    with timed(timings, "solve and complete", progress):
        for first in range(1, ROUNDS * len(RUNS), len(RUNS)):
            if any(done.stage.r1 <= UNSOLVED_R1 for _, done in tried):
                break
            try:
                failed = (
                    _complete_runs(structure, reflections, method, cycles, tried, first) or failed
                )
            except SolveError:  # no map of this round showed the symmetry
                if first == 1:
                    raise
    if not tried:
        raise SolveError(
            f"no charge-flipping solution refined ({failed.message})", reflections.path
        )
    solution, completion = min(tried, key=lambda pair: pair[1].stage.r1)
    result = _finish_job(
        structure, completion.stage, reflections, method, cycles, progress, hydrogens
    )
    result.solution, result.runs, result.completion = solution, tried, completion
    notes = [_runs_note(tried, solution), completion.note()]
    notes += [note] if (note := _solve_weights_note(shelx)) else []
    incomplete = solution.completeness_note()
    result.notes[:0] = [note for note in (unused, unit_note, incomplete) if note] + notes
    result.timings = {**timings, **result.timings}
    return result


def _solve_weights_note(shelx) -> str:
    """Why a solve's CIF weighting differs from its embedded .res's WGHT/EXTI ('' if not)."""
    from crystalx_core.crystallography.weights import final_setup

    setup = final_setup(shelx)
    if not setup.changes_refinement():
        return ""
    given = [setup.weighting.text()] if setup.weighting else []
    given += [f"EXTI {setup.extinction:g}"] if setup.extinction is not None else []
    return (
        f"solve refined with WGHT 0.1, no EXTI; your {', '.join(given)} kept in the .res for "
        "your next cycles"
    )


def _unused_atoms_note(structure: Structure) -> str:
    """What becomes of the input's atoms in a solve, said once: a user who passes a model may
    expect it kept or refined, which `assign` does."""
    atoms = len(structure.atoms)
    if not atoms:
        return ""
    name = Path(structure.source).name if structure.source else "the input"
    return (
        f"{name}'s {atoms} {'atoms are' if atoms > 1 else 'atom is'} not used: solve starts "
        f"from cell, symmetry and UNIT; assign keeps {'them' if atoms > 1 else 'it'}"
    )


def _complete_runs(
    structure: Structure, reflections, method: str, cycles: int, tried: list, first: int
) -> RefinementError | None:
    """Complete a round of charge-flipping runs (solutions from `first` on) into `tried`, up to
    MAX_RUNS of them, while none is complete or the next one's merit ties with the round's best;
    the last refinement error, if any run could not be completed."""
    failed, start = None, len(tried)
    for solution in solutions(structure, reflections, first=first):
        ours = tried[start:]
        complete_in_hand = any(not _incomplete(done.stage, structure) for _, done in ours)
        if complete_in_hand and solution.figure_of_merit > ours[0][0].figure_of_merit + MERIT_TIE:
            break
        try:
            tried.append((solution, complete(solution.structure, reflections, method, cycles)))
        except RefinementError as error:
            failed = error
            continue
        if len(tried) - start == MAX_RUNS:
            break
    return failed


def _incomplete(stage: Stage, structure: Structure) -> bool:
    expected = sum(structure.asymmetric_unit_contents().values())
    atoms = sum(s.occupancy for s in stage.refined.structure.atoms if not is_hydrogen(s.element))
    return stage.r1 > UNSOLVED_R1 or (stage.r1 > INCOMPLETE_R1 and atoms < FEW_ATOMS * expected)


def _runs_note(tried: list[tuple[Solution, Completion]], best: Solution) -> str:
    runs = "; ".join(
        f"attempt {s.attempts} ({s.settings.describe()}): figure of merit {s.figure_of_merit:.2f}, "
        f"{len(c.stage.assignment.sites)} atoms, R1 {c.stage.r1:.4f}"
        for s, c in tried
    )
    return (
        f"charge flipping: {len(tried)} solution{'s' * (len(tried) != 1)} completed ({runs}); "
        f"kept attempt {best.attempts}"
    )


def assign_job(
    structure: Structure,
    reflections=None,
    method: str = "auto",
    cycles: int = 10,
    progress: Progress = lambda stage: None,
    hydrogens: str = "auto",
    shelx=None,
    olex2_model: bool = False,
    suggest: bool = True,
    cif_weighting=None,
    stated_r1: StatedR1 | None = None,
    given_weights=None,
    given_restraints=None,
) -> JobResult:
    """Assign elements and H to the peaks/atoms of a solution; refine when reflections are given,
    with the restraints and constraints of `shelx` (the input .res, io.shelx_restraints) where
    the atoms keep their labels. `olex2_model`: the structure is the user's model in Olex2 (the
    service), which keeps an atom the job leaves out as repeated. `suggest`: find the WGHT
    SHELXL would suggest next (for a .res written; with_input_weights). `cif_weighting`: a CIF's
    weighting scheme (io.cif_weights), used where `shelx` has no WGHT. `stated_r1`: the R1 the
    input states for its own model, which the verdict weighs the final R1 against.
    `given_weights`: the WGHT and EXTI of the final refinement where no file gives them
    (weights.FinalSetup; the service's, from Olex2's refinement model: weights.olex2_setup).
    `given_restraints`: the restraints and constraints where no file gives them
    (io.shelx_restraints.GivenRestraints: the service's, from Olex2's refinement model)."""
    timings: dict[str, float] = {}
    unit_note = None
    if reflections is not None:  # once, for every step after (io.hkl.Reflections.merged)
        reflections = reflections.merged(structure.cell, structure.symops)
    structure, repeat_note, repeated_peaks = without_repeated_atoms(structure, olex2_model)
    # before the overlap note, which then names only the disorder still undeclared
    structure, special_note = declared(structure)
    overlap = overlap_note(structure)
    structure, unit_note = unit_set_aside(structure, _unit_line(shelx))
    if structure.peaks and not unit_note:  # UNIT decides which peaks are atoms: a placeholder
        structure, unit_note = checked_contents(structure)  # must not
    with timed(timings, "assign", progress):
        if reflections is None:
            stage = Stage(structure, assign(structure, method), [])
        else:
            stage = assign_and_refine(structure, reflections, method, cycles)
            check_first_fit(stage.r1, "after the first refinement", reflections, structure.source)
    result = _finish_job(
        structure,
        stage,
        reflections,
        method,
        cycles,
        progress,
        hydrogens,
        shelx,
        suggest,
        cif_weighting,
        stated_r1,
        given_weights,
        given_restraints,
        IN_OLEX2 if olex2_model else WRITTEN,
    )
    result.notes[:0] = [note for note in (repeat_note, special_note, overlap, unit_note) if note]
    result.repeated_peaks = repeated_peaks
    result.timings = {**timings, **result.timings}
    return result


def _unit_line(shelx) -> str:
    """'line N' of the UNIT instruction of the input .res (`shelx`, a ShelxFile), for notes."""
    numbers = [line.number for line in getattr(shelx, "lines", ()) if line.keyword == "UNIT"]
    return f"line {numbers[0]}" if numbers else ""


def check_first_fit(r1: float, when: str, reflections, source) -> None:
    """A given model's first refinement that ends far above any real start is data of another
    crystal (measured: 0.06-0.21 for the benchmark's own pairs, 0.56-0.75 for another's that
    pass io.pairing): the job stops there, naming both files, before anything is written."""
    if r1 > FOREIGN_R1:
        raise InputError(
            f"R1 {r1:.2f} {when} against {reflections.path}, far above any real start "
            f"(<= {FOREIGN_R1:.2f}): the reflections are another crystal's (or the cell, space "
            "group or atoms are)",
            source or None,
        )


def _finish_job(
    given: Structure,
    stage: Stage,
    reflections,
    method: str,
    cycles: int,
    progress: Progress,
    hydrogens: str,
    shelx=None,
    suggest: bool = True,
    cif_weighting=None,
    stated_r1: StatedR1 | None = None,
    given_weights=None,
    given_restraints=None,
    fate: InputHFate = WRITTEN,
) -> JobResult:
    """From an assignment (isotropically refined when there are reflections): the elements
    weighed by the data, anisotropic refinement, riding H, the final difference map and the
    verdict. `fate`: what becomes of the input's own H on this path, as the notes say it."""
    timings: dict[str, float] = {}
    structure, assignment = stage.peaks, stage.assignment
    refinements = list(stage.refinements)
    notes: list[str] = (
        list(reflections.notes) if reflections is not None else []
    )  # what the reader left out
    short: frozenset[str] = frozenset()  # sites whose count says partly occupied
    if reflections is None:
        model = apply_assignment(structure, assignment)
    else:
        with timed(timings, "elements weighed by the data", progress):
            try:
                weighed = weigh_elements(refinements[-1][1], reflections, method, cycles)
            except (
                RefinementError
            ) as error:  # no evidence is no reason to stop: the elements stay as assigned
                notes.append(f"elements not weighed by the data ({error.message})")
            else:
                renamed = take_weighed_elements(assignment, weighed, structure)
                notes += weighed.notes(renamed)
                short = weighed.short_sites(renamed)
                if weighed.changes:
                    refinements.append(
                        (
                            "isotropic, elements by the data",
                            replace(
                                weighed.refined,
                                structure=relabelled(weighed.refined.structure, renamed),
                            ),
                        )
                    )
        anisotropic = True
        with timed(timings, "refine anisotropic", progress):
            try:
                refinements.append(
                    (
                        "anisotropic",
                        refine(refinements[-1][1].structure, reflections, cycles, anisotropic=True),
                    )
                )
            except RefinementError as error:  # keep the isotropic model rather than lose the job
                anisotropic = False
                notes.append(
                    f"anisotropic refinement failed ({error.message}); the model stays isotropic"
                )
        model = refinements[-1][1].structure
    with timed(timings, "hydrogens", progress):
        density = difference_density(model, reflections) if reflections is not None else None
        groups = input_groups(model, given)  # the input's H by the atom of `model` holding them
        plan = hydrogen_plan(
            model,
            assignment,
            hydrogens,
            density,
            notes,
            reflections,
            given.declared_no_h,
            input_hydrogens_kept(model, given, groups),
            groups,  # the user's AFIX 33 methyl stays 33 where the job gives it as many H
            fate,
        )
        # the user's H1O stays H1O (and restraints on it hold) where its group is unchanged
        keep_input_names(plan, model, given, groups)
        notes += unheld_input_hydrogens(model, given, groups, fate)
        notes += unwritten_input_hydrogens(plan, model, groups, fate)
    if reflections is not None:
        with timed(timings, "refine with riding H", progress):
            refined, instructions = _refined_with_user_restraints(
                plan, reflections, cycles, anisotropic, shelx, notes, given_restraints
            )
            refinements.append(("riding H", refined))
        plan.structure = refinements[-1][1].structure
        # refinement names pivots as SHELX does, a mixed site by any of its atoms
        pivot = {atom.label: k for k, site in enumerate(model.sites) for atom in site.with_mixed}
        plan.notes.update(
            {
                pivot[label]: note
                for label, note in refinements[-1][1].fixed_hydrogens.items()
                if label in pivot
            }
        )
        with timed(timings, "partly occupied sites", progress):
            # an isotropic model's anisotropy shows as peaks beside its atoms: split atoms, no parts
            partial, parted_notes = PartialSites(refinements[-1][1]), []
            if anisotropic:
                partial, whole = refine_short_sites(
                    partial.refined, reflections, cycles, True, instructions, short
                )
                if partial.alternatives and (
                    replanned := _hydrogens_in_parts(
                        partial,
                        assignment,
                        hydrogens,
                        reflections,
                        given,
                        cycles,
                        shelx,
                        given_restraints,
                        parted_notes,
                    )
                ):
                    plan, partial.refined, instructions = replanned
                partial = add_peak_sites(partial, reflections, cycles, True, instructions, whole)
        notes += partial.notes() + parted_notes
        if partial.added or partial.occupancies:
            refinements.append(("riding H, partly occupied sites", partial.refined))
            plan.structure = partial.refined.structure
        with timed(timings, "the input's weights", progress):
            notes += with_input_weights(
                refinements,
                reflections,
                cycles,
                anisotropic,
                instructions,
                shelx,
                suggest,
                cif_weighting,
                given_weights,
            )
        plan.structure = refinements[-1][1].structure
        notes += refinements[-1][1].notes  # what the final refinement leaves for the user
        with timed(timings, "difference map", progress):
            exti = refinements[-1][1].extinction  # (value, su) where EXTI was refined
            residual = residual_density(plan.structure, reflections, exti and exti[0])
    else:
        residual = None
    annotate(assignment, plan)
    final, unit_note = unit_with_model_atoms(plan.structure)
    notes += [unit_note] if unit_note else []
    renames = renames_note(structure, assignment.sites)
    notes += [renames] if renames else []
    if reflections is not None and (note := free_variable_note(given, final)):
        notes.append(note)
    result = JobResult(
        input=given,
        assigned=structure,
        assignment=assignment,
        structure=final,
        hydrogens=plan,
        refinements=refinements,
        timings=timings,
        hydrogen_method=resolve_hydrogen_method(hydrogens),
        notes=notes,
        residual=residual,
        sigmas_estimated=not getattr(reflections, "sigmas_given", True),
    )
    if result.final is not None:
        r_sigma = data_r_sigma(structure, reflections)
        result.failure = verdict(result.final.r1, r_sigma, stated_r1)
        if result.failure is not None:
            _weigh_outliers(result, reflections, r_sigma, stated_r1)
        elif note := stated_r1_note(result.final.r1, r_sigma, stated_r1):
            result.notes.append(note)
    return result


def _weigh_outliers(
    result: JobResult, reflections, r_sigma: float, stated_r1: StatedR1 | None
) -> None:
    """Where the final R1 fails the verdict, the few reflections that disagree by far the
    most (crystallography.outliers, SHELXL's Error/esd) set aside: if R1 then passes, the model
    is a solution and a note names them for OMIT (written as REM OMIT, never applied); else
    the verdict stands, the note saying they do not explain it."""
    from crystalx_core.crystallography.outliers import model_check

    final = result.final
    exti = final.extinction[0] if final.extinction else None
    found = model_check(final.structure, reflections, final.weighting, exti)
    if not found.omitted:
        return
    passed = verdict(found.r1, r_sigma, stated_r1) is None
    result.notes.append(found.note(passed))
    if passed:
        result.failure = None
        result.omit = [d.hkl for d in found.omitted]
        result.r1_without_omit = found.r1


def with_input_weights(
    refinements: list[tuple[str, RefinementResult]],
    reflections,
    cycles: int,
    anisotropic: bool,
    instructions: list[str],
    shelx=None,
    suggest: bool = True,
    cif_weighting=None,
    given_weights=None,
) -> list[str]:
    """The final refinement (the last of `refinements`, replaced or followed in place) as the
    user's file asks for it: the model refined again with its WGHT and EXTI where they differ
    from the job's (WGHT 0.1, no extinction: every decision before is taken with those), and in
    either case, with `suggest`, the WGHT SHELXL would suggest for the next cycles (a refinement
    of no cycle where the model is not refined again). A CIF's `cif_weighting` (io.cif_weights)
    stands for the WGHT where `shelx` has none; `given_weights` (weights.FinalSetup) for both
    where there is no file (the service: Olex2's refinement model). Returns the notes."""
    from crystalx_core.crystallography.weights import DEFAULT, final_setup

    setup = given_weights if given_weights is not None else final_setup(shelx, cif_weighting)
    notes = [setup.note] if setup.note else []
    name, last = refinements[-1]
    isotropic = frozenset(  # every atom stays as the job refined it (a partial site isotropic)
        s.label for s in last.structure.atoms if s.u_aniso is None and not is_hydrogen(s.element)
    )
    settings = dict(
        instructions=instructions,
        keep_isotropic=isotropic if anisotropic else frozenset(),
        input_variables=True,
        suggest=suggest,
    )
    weighting = setup.weighting or DEFAULT
    if (
        setup.changes_refinement()
        and not getattr(reflections, "sigmas_given", True)
        and weighting.a == weighting.b == 0
    ):  # w = 1/σ² with every σ 0: SHELXL's weights would be infinite
        notes.append(
            f"the input's {setup.describe()} not used: it weighs by σ(Fo²) alone, and every "
            "σ in the reflection file is 0 (or none is given); the model stays as refined with "
            "WGHT 0.1"
        )
    elif setup.changes_refinement():
        try:
            refined = refine(
                last.structure,
                reflections,
                cycles,
                anisotropic,
                weighting=weighting,
                extinction=setup.extinction,
                **settings,
            )
        except RefinementError as error:
            notes.append(
                f"the input's {setup.describe()} not used: with it, {error.message}; the model "
                "stays as refined with WGHT 0.1"
            )
        else:
            refinements.append((f"{name}, the input's {setup.describe()}", refined))
            return notes
    if not suggest:
        return notes
    try:  # the model as refined, its Fc once more: no cycle
        probe = refine(last.structure, reflections, 0, anisotropic, weighting=DEFAULT, **settings)
    except RefinementError as error:
        return notes + [f"no WGHT suggested for the next cycles ({error.message})"]
    refinements[-1] = (name, replace(last, weighting=DEFAULT, suggested=probe.suggested))
    return notes


def free_variable_note(given: Structure, final: Structure) -> str:
    """What became of the input's free variables (FVAR 2, 3, ...) that tie occupancies: the
    refinement refines them (crystallography.refine), and the .res carries them back."""
    before, after = given.free_variable_values, final.free_variable_values
    if len(before) != len(after):
        return ""
    values = [
        f"fv({m}) {before[m - 2]:.4f} -> {after[m - 2]:.4f}"
        + (" (held at its bound)" if after[m - 2] in (0.0, 1.0) else "")
        for m in sorted(refined_input_variables(final))
        if f"{after[m - 2]:.4f}" != f"{before[m - 2]:.4f}"  # as written: a change shown
    ]
    return "the input's free variables refined: " + ", ".join(values) if values else ""


def verdict(r1: float, r_sigma: float, stated: StatedR1 | None = None) -> str | None:
    """Why a final R1 is no solution, or None when it is one: over POOR_R1, or over
    SUSPECT_R1 and NOISE_FACTOR times what the data's own noise (Rsigma on F) would give.
    Where the input model `stated` its own R1 on these data, an R1 over the noise test's limit
    but no worse than that (within_stated) is the data's limit (absorption, twinning, a poor
    crystal: what Rsigma does not show and the input's refinement met too); one clearly worse
    is named so. Never one over POOR_R1: a .res states whatever its refinement reached, a
    wrong first model's 0.35 as well, and no stated R1 makes that a solution."""
    poor = _poor_r1(r1, r_sigma)
    if poor is None or stated is None:
        return poor
    if not within_stated(r1, stated):
        return (
            f"final R1 {r1:.4f} is clearly worse than the input model's own {stated}: the "
            "model does not explain the data as the input's did"
        )
    if r1 > POOR_R1:
        return f"{poor}, nor does the input model's own {stated}"
    return None


def within_stated(r1: float, stated: StatedR1) -> bool:
    """Whether `r1` is the input's `stated` fit, as another refinement program reaches it."""
    return r1 <= stated.value + STATED_MARGIN


def stated_r1_note(r1: float, r_sigma: float, stated: StatedR1 | None) -> str:
    """What a passing final R1 means beside the input's `stated` own: poor as that one (the
    verdict let it pass), or clearly worse though under the absolute limits; '' otherwise."""
    if stated is None:
        return ""
    if not within_stated(r1, stated):
        return (
            f"final R1 {r1:.4f} is clearly worse than the input model's own {stated}: this "
            "model fits the data less well than the input's did; compare the two"
        )
    if _poor_r1(r1, r_sigma) is None:
        return ""
    return (
        f"final R1 {r1:.4f} is poor, but no worse than the input model's own {stated}: the "
        "data (their quality, or what neither model holds), not the assignment, limit the fit; "
        "a solution as good as the input's, not a better one"
    )


def _poor_r1(r1: float, r_sigma: float) -> str | None:
    """The verdict on R1 alone, whatever the input states."""
    if r1 > POOR_R1:
        return f"final R1 {r1:.4f} is over {POOR_R1:.2f}: the model does not explain the data"
    if r1 > SUSPECT_R1 and r1 > NOISE_FACTOR * r_sigma:
        return (
            f"final R1 {r1:.4f} is over {SUSPECT_R1:.2f} and {r1 / r_sigma:.0f} times the data's "
            f"Rsigma ({r_sigma:.4f}): the model does not explain the data as well as they allow"
        )
    return None


def hydrogen_plan(
    model: Structure,
    assignment: Assignment,
    method: str,
    density=None,
    notes=None,
    reflections=None,
    declared_no_h: str = "",
    kept: dict | None = None,
    groups: dict | None = None,
    fate: InputHFate = WRITTEN,
) -> HydrogenPlan:
    """H counts (rules or model) on `model`, the (refined) model made from `assignment`, put
    into the answer; with a difference density, the counts on O, N, S and metals weighed by
    it (hydrogen_evidence: each change goes into the site's note and `notes`; where the map
    leans without being clear, the `reflections` decide: hydrogen_data), then riding
    H in SHELXL geometry, rotating groups and water turned into the density. `annotate` puts
    the plan into the answer. Where the input `declared_no_h` (contents.declared_without_h),
    none are placed. `kept` (riding.input_hydrogens_kept): the input's H on atoms no HFIX
    places (P–H, Si–H), written as refined whatever the counts say, never dropped. `groups`
    (riding.input_groups): the input's H, whose AFIX mn stands where the job agrees
    (riding.ride_as_input). `fate`: what the notes say became of the input's own H."""
    if [site.label for site in model.sites] != [site.new_label for site in assignment.sites]:
        raise CrystalXError(
            "internal error: the model's sites are not those of its assignment", model.source
        )
    # the published formula is evidence the geometry rules cannot outweigh
    kept, groups = kept or {}, groups or {}
    # the input's hydrides stay without a map; with one, where it shows them (issue 23)
    hydrides = input_hydrides(model, groups)
    if density is None:
        hydride_notes = {k: unchecked_hydride_note(len(kept[k])) for k in hydrides if k in kept}
    else:
        shown = input_hydrides_shown(model, hydrides, density, fate.dropped)
        hydride_notes = {k: note for k, (seen, note) in shown.items()}
        kept = {k: group for k, group in kept.items() if shown.get(k, (True,))[0]}
    counts, declared = held_to_formula(declared_no_h, hydrogen_counts(model, method))
    for k, (site, (n_h, scores)) in enumerate(zip(assignment.sites, counts)):
        n_h, scores = (len(kept[k]), {len(kept[k]): 1.0}) if k in kept else (n_h, scores)
        site.h_count, site.h_scores = n_h, scores
    if declared:
        if notes is not None:
            notes.append(declared)
        return ride_as_input(model, {}, groups, kept=kept, fate=fate)
    if density is None:  # the riding note keeps what was asked on a metal; the answer none
        plan = ride_as_input(model, assignment.h_counts(), groups, kept=kept, fate=fate)
        for k in unseen_metal_hydrogens(model, assignment.h_counts(), kept):
            assignment.sites[k].h_count = 0
        _prefix_notes(plan, hydride_notes)
        return plan
    # an input hydride is the map's already (input_hydrides_shown), not an H asked on its metal
    for k in set(hydride_notes) - set(kept):
        assignment.sites[k].h_count = 0
    first = {k: n for k, n in assignment.h_counts().items() if k not in hydride_notes}
    evidence = weigh_hydrogens(model, first, density, reflections)
    if resolve_hydrogen_method(method) == "model":
        _withdraw_formula_hydrogens(model, first, evidence)
    for k, n_h in evidence.counts.items():
        assignment.sites[k].h_count = n_h
    plan = ride_as_input(
        model,
        evidence.counts,
        groups,
        evidence.given,
        density=density,
        kept=kept,
        halves=evidence.halves,
        fate=fate,
    )
    _prefix_notes(plan, evidence.notes)
    _prefix_notes(plan, hydride_notes)
    if notes is not None:
        notes += evidence.job_notes(model)
    return plan


def unchecked_hydride_note(n: int) -> str:
    """The note on a metal keeping `n` hydrides of the input where no map weighs them."""
    return f"the input's hydride{'s' if n > 1 else ''} kept: no difference map here to check " + (
        "them" if n > 1 else "it"
    )


def _prefix_notes(plan: HydrogenPlan, notes: dict[int, str]) -> None:
    """Each of `notes` put before the plan's own note on its site: the map's word first, then
    what was written (a kept H's note names the input's H it renamed)."""
    for k, note in notes.items():
        plan.notes[k] = f"{note}; {plan.notes[k]}" if k in plan.notes else note


def _withdraw_formula_hydrogens(model: Structure, first: dict[int, int], evidence) -> None:
    """Where the difference map changed the H total, the H the model's counts carried only to
    meet UNIT's total on an O, N or S the map judged and left alone are weighed against it
    again (assign.model.formula_h_refitted), never under the H the map shows there (peaks over
    LOW_RMS: published O–H and N–H reach 1.3 rms and up): one the map's own H elsewhere now
    stand for is withdrawn, with a note, unless the reflections significantly prefer the count
    with it (Hamilton, hydrogen_data; an H shared with a site's own image fitted as placed,
    half occupied or on the symmetry element: HydrogenFits.share): UNIT is a soft constraint,
    the data are not."""
    changed = {
        k for k in {*first, *evidence.counts} if first.get(k, 0) != evidence.counts.get(k, 0)
    }
    if not changed:
        return
    from crystalx_core.assign.model import formula_h_refitted
    from crystalx_core.geometry import connectivity
    from crystalx_core.hydrogen_evidence import placeable
    from crystalx_core.riding import site_operators

    counts = [evidence.counts.get(k, 0) for k in range(len(model.sites))]
    floors = {k: n for k, n in evidence.shown.items() if k not in evidence.notes}
    # whole counts meet a half H of the formula only on a site of half weight (an O on a
    # two-fold axis, crystio_2020660's O2): once the map has found the half H shared across a
    # short bond (hydrogen_evidence._shared_with_own_image), such a site keeps only what its
    # own map shows
    to_floor = (
        {k for k in floors if site_operators(model, model.sites[k].frac)}
        if evidence.halves
        else set()
    )
    refitted = formula_h_refitted(
        model, counts, floors, halves=set(evidence.halves), to_floor=to_floor
    )
    found = ", ".join(
        f"{model.sites[k].label} "
        + ("+½" if k in evidence.halves else f"{evidence.counts.get(k, 0) - first.get(k, 0):+d}")
        for k in sorted(changed)
    )
    bonds = connectivity(model)
    for k, (n, n_new) in enumerate(zip(counts, refitted)):
        if n_new >= n or not placeable(model, k, n_new, bonds):
            continue
        verdict = (
            evidence.fits.compare_counts(evidence.counts, {**evidence.counts, k: n_new})
            if evidence.fits is not None
            else None
        )
        if verdict is not None and math.isfinite(verdict.wr_first) and verdict.first_better:
            evidence.notes[k] = (
                f"{n} H kept: UNIT's H total, met by the H the difference map found elsewhere "
                f"({found}), would leave {n_new}, but the reflections hold {n}; {verdict.text()}"
            )
            continue
        evidence.counts[k] = n_new
        evidence.notes[k] = (
            f"−{n - n_new} H: given only to meet UNIT's H total, which the H the difference "
            f"map found elsewhere now meet ({found}); {evidence.shown[k]} peak(s) over "
            f"{LOW_RMS:g} rms here" + (f"; {verdict.text()}" if verdict is not None else "")
        )


def _hydrogens_in_parts(
    partial: PartialSites,
    assignment: Assignment,
    hydrogens: str,
    reflections,
    given: Structure,
    cycles: int,
    shelx,
    given_restraints,
    notes: list[str],
):
    """(plan, refinement, instructions) with the H planned again once one atom's places are
    PART 1 and 2 (PartialSites.alternatives), each place and the atoms bonded to them riding
    in each PART on its free variable, as SHELXL's HFIX in a PART does. The counts are the
    hydrogen model's on the parted model, or each element's valence filled in one PART
    (partial_sites.saturated_counts: a smeared pivot's short bonds to both places read as a
    C=O, sugar's CH2OH as CHO) where they lower R1 and wR2 both; kept where it lowers wR2
    below the model as it stands (None else, the note saying so)."""
    parted = partial.refined.structure
    heavy = parted.with_sites([s for s in parted.sites if not is_hydrogen(s.element)])
    if [s.label for s in heavy.sites] != [s.new_label for s in assignment.sites]:
        return None  # the occupancy step adds no site; any other model is not the plan's
    before = [(s.h_count, s.h_scores) for s in assignment.sites]
    groups = input_groups(heavy, given)
    kept = input_hydrogens_kept(heavy, given, groups)
    density = difference_density(heavy, reflections)
    own_notes: list[str] = []
    model_plan = hydrogen_plan(
        heavy,
        assignment,
        hydrogens,
        density,
        own_notes,
        reflections,
        given.declared_no_h,
        kept,
        groups,
    )
    saturated = saturated_counts(heavy, partial.alternatives)
    filled = ride_as_input(
        heavy, {**assignment.h_counts(), **saturated}, groups, density=density, kept=kept
    )
    tried = {}  # how the counts were chosen → (plan, refinement, instructions)
    for how, plan in (("the hydrogen model's counts", model_plan), ("valences filled", filled)):
        keep_input_names(plan, heavy, given, groups)
        try:
            tried[how] = (
                plan,
                *_refined_with_user_restraints(
                    plan, reflections, max(cycles, MIN_CYCLES), True, shelx, [], given_restraints
                ),
            )
        except RefinementError:
            continue
    labels = ", ".join(partial.alternatives)
    how = "the hydrogen model's counts"
    if how not in tried:
        notes.append(f"H of {labels} and their neighbours not placed: no refinement")
        return None
    # the filled valences only where they lower R1 and wR2 both below the model's counts
    if len(tried) == 2 and _lower_both(tried["valences filled"][1], tried[how][1]):
        how = "valences filled"
    plan, refined, instructions = tried[how]
    if refined.wr2 >= partial.refined.wr2:
        for site, (n_h, scores) in zip(assignment.sites, before):
            site.h_count, site.h_scores = n_h, scores
        notes.append(
            f"H of {labels} (one atom's places) and their neighbours not placed in their "
            f"PARTs: wR2 {refined.wr2:.4f} with them, {partial.refined.wr2:.4f} without"
        )
        return None
    chosen = how
    if plan is filled:  # the note names each count the data took over the model's
        overruled = [
            f"{heavy.sites[k].label} {n_h} H (the model's {assignment.sites[k].h_count})"
            for k, n_h in saturated.items()
            if n_h != assignment.sites[k].h_count
        ]
        chosen = f"{how}, over the hydrogen model's by R1 and wR2: " + ", ".join(overruled)
        for k, n_h in saturated.items():
            assignment.sites[k].h_count = n_h
    else:
        notes += [note for note in own_notes if note not in notes]
    in_parts = Counter(s.part for s in plan.structure.sites if is_hydrogen(s.element) and s.part)
    notes.append(
        f"H planned again with {labels} as one atom's places ({chosen}): "
        + ", ".join(f"{n} H in PART {part}" for part, n in sorted(in_parts.items()))
        + f"; R1 {refined.r1:.4f}, wR2 {refined.wr2:.4f} ("
        + "; ".join(
            f"{other} R1 {one[1].r1:.4f}, wR2 {one[1].wr2:.4f}"
            for other, one in tried.items()
            if other != how
        )
        + ("; " if len(tried) == 2 else "")
        + f"without them R1 {partial.refined.r1:.4f}, wR2 {partial.refined.wr2:.4f})"
    )
    return plan, refined, instructions


def _lower_both(one: RefinementResult, other: RefinementResult) -> bool:
    return one.r1 < other.r1 and one.wr2 < other.wr2


def _refined_with_user_restraints(
    plan: HydrogenPlan,
    reflections,
    cycles: int,
    anisotropic: bool,
    shelx,
    notes: list[str],
    given_restraints=None,
):
    """The riding-H refinement with the input's own restraints and constraints (the .res's, or
    those a client sent: `given_restraints`; the atoms keep their labels from here on), and
    the instructions it used; where smtbx fails with them, the refinement without them and a
    note: a job that refines without them must not fail."""
    from crystalx_core.io.shelx_restraints import sent_restraints, user_restraints

    base = _instructions(plan)
    if given_restraints is not None:
        own, note = sent_restraints(given_restraints, plan.structure)
    else:
        own, note = user_restraints(shelx, plan.structure)
    if own:
        with_own = _instructions(plan, own)
        try:
            refined = refine(
                plan.structure,
                reflections,
                cycles,
                anisotropic,
                instructions=with_own,
                input_variables=True,
            )
        except RefinementError as error:
            notes.append(
                f"refined without the input's restraints and constraints: with them, "
                f"{error.message}"
            )
        else:
            loose = _loose_atoms(refined)
            if not loose:
                notes.extend([note] if note else [])
                return refined, with_own
            try:
                without = refine(
                    plan.structure,
                    reflections,
                    cycles,
                    anisotropic,
                    instructions=base,  # the input's variables held as its restraints are
                )
            except RefinementError:  # the restrained result is the one there is
                without = None
            held = _loose_atoms(without) if without is not None else loose
            driven = {label: u for label, u in loose.items() if label not in held}
            if driven:
                label = max(driven, key=driven.get)
                notes.append(
                    f"refined without the input's restraints and constraints: with them "
                    f"{label} reached a displacement of {driven[label]:.2f} Å² (over "
                    f"{UNPHYSICAL_U:g}), without them it stays under"
                )
                return without, base
            notes.extend([note] if note else [])
            return refined, with_own
    elif note:
        notes.append(note)
    refined = refine(
        plan.structure, reflections, cycles, anisotropic, instructions=base, input_variables=True
    )
    return refined, base


# A displacement no atom of an ordinary crystal reaches (loose solvent stays near 0.2-0.3 Å²):
# where the input's own restraints drive an atom past it and the refinement without them keeps
# that atom under it, they fight the job's model (an EADP across a symmetry element the job's
# atoms straddle: SXF_I43d, the one case that set this), and the refinement without them is kept
UNPHYSICAL_U = 0.5


def _loose_atoms(refined: RefinementResult) -> dict[str, float]:
    """The atoms whose largest |U| (Uiso or any Uij, Å²) is past UNPHYSICAL_U, with it."""
    largest = {site.label: largest_u(site) for site in refined.structure.sites}
    return {label: u for label, u in largest.items() if u > UNPHYSICAL_U}


def _instructions(plan: HydrogenPlan, own: list[str] = ()) -> list[str]:
    """The plan's restraints and the input's `own`; a kept H the user restrained himself is
    held by his restraint alone, not also at its input distance (plan.kept_restraints)."""
    from crystalx_core.crystallography.refine import refinement_instructions

    named = {word.upper() for line in own for word in line.split()[1:]}
    kept = set(plan.kept_restraints)
    ours = [
        line
        for line in plan.restraints
        if line not in kept or line.split()[-1].upper() not in named
    ]
    return refinement_instructions([*ours, *own])


class timed:
    """`with timed(timings, stage, progress):` says the stage and records its seconds."""

    def __init__(self, timings: dict[str, float], stage: str, progress: Progress):
        self.timings, self.stage, self.progress = timings, stage, progress

    def __enter__(self):
        self.progress(self.stage)
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.stage] = time.perf_counter() - self.start
