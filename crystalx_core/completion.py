"""Structure completion as crystallographers run it after a solution (by hand in SHELXL or
Olex2): assign, refine, read the difference map, add the peaks that look like missing atoms
and drop the atoms that refine to nothing, assign again, and repeat while R1 drops."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from crystalx_core.assign import apply_assignment, assign
from crystalx_core.assign.labels import free_label
from crystalx_core.assignment import Assignment, SiteAssignment
from crystalx_core.crystallography.maps import difference_peaks, fobs_peaks
from crystalx_core.crystallography.refine import NEW_MODEL_DAMPING, RefinementResult, refine
from crystalx_core.crystallography.solve import wilson_u
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import RefinementError
from crystalx_core.geometry import neighbours
from crystalx_core.structure import Site, Structure

SPURIOUS_U = 0.25  # Å²: an "atom" refining to a larger Uiso is a spurious peak, not an atom
MAX_CYCLES = 15  # a safeguard: the cycles stop as soon as R1 no longer drops
MAX_DROPS = 3  # rounds of dropping spurious atoms and refining again
R1_GAIN = 0.002  # isotropic R1 a cycle must gain to be kept: less is refinement noise
MIN_DISTANCE = (
    1.1  # Å: a difference peak nearer an atom is its H, a ripple or disorder, not a missing atom
)
MIN_HEIGHT_RMS = 4.0  # a difference peak under this many rms of the map is noise
MIN_HEIGHT = 0.9  # e Å⁻³: under this a peak is an H atom or less (a missing C shows 2 or more)
NEW_SHARE = 0.3  # new peaks per cycle, as a share of the atoms (at least MIN_NEW)
MIN_NEW = 3


@dataclass
class Stage:
    """One assignment of a peak list and its isotropic refinement (spurious atoms dropped)."""

    peaks: Structure  # what the assignment's indices point into
    assignment: Assignment
    refinements: list[tuple[str, RefinementResult]]

    @property
    def refined(self) -> RefinementResult:
        return self.refinements[-1][1]

    @property
    def r1(self) -> float:
        return self.refined.r1


def assign_and_refine(
    peaks: Structure,
    reflections,
    method: str,
    cycles: int,
    start_u: float | None = None,
    assignment: Assignment | None = None,
) -> Stage:
    """Assign the peaks (or take `assignment`), refine isotropically, and drop atoms whose Uiso
    says they are none until none is left (each drop leaves the others' U to settle again).
    Atoms made from peaks start at `start_u` (default: the data's Wilson Uiso)."""
    if assignment is None:
        assignment = assign(peaks, method)
    if start_u is None:
        start_u = wilson_u(peaks, reflections)
    model = apply_assignment(
        peaks.with_sites([replace(s, u_iso=start_u) if s.is_peak else s for s in peaks.sites]),
        assignment,
    )
    refinements = [("isotropic", refine(model, reflections, cycles, damping=NEW_MODEL_DAMPING))]
    for _ in range(MAX_DROPS):
        refined = refinements[-1][1].structure.sites
        smeared = [s.label for s in refined if s.u_iso > SPURIOUS_U]
        if not smeared or len(smeared) == len(refined):
            break
        # peaks that refine to no atom: drop them, as a crystallographer would
        drop(assignment, smeared)
        model = model.with_sites([s for s in model.sites if s.label not in smeared])
        refinements.append(
            (
                "isotropic, spurious removed",
                refine(model, reflections, cycles, damping=NEW_MODEL_DAMPING),
            )
        )
    return Stage(peaks, assignment, refinements)


def drop(assignment: Assignment, labels: list[str]) -> None:
    """Move the sites with these new labels from the answer to its dropped peaks."""
    gone = [s for s in assignment.sites if s.new_label in labels]
    assignment.sites = [s for s in assignment.sites if s.new_label not in labels]
    assignment.dropped = sorted(assignment.dropped + [s.index for s in gone])


@dataclass
class Cycle:
    r1: float  # isotropic, without H
    atoms: int
    added: int  # difference peaks that became atoms
    dropped: int  # atoms of the cycle before left out
    retyped: int  # atoms of the cycle before given another element
    kept: bool  # R1 dropped enough for the cycle's model to stand


@dataclass
class Completion:
    stage: Stage  # the best model reached
    cycles: list[Cycle] = field(
        default_factory=list
    )  # cycles[0] is the first assignment of the solution
    stopped: str = ""  # why the cycles ended

    def note(self) -> str:
        first, kept = self.cycles[0], [c for c in self.cycles[1:] if c.kept]
        parts = [f"first assignment {first.atoms} atoms, isotropic R1 {first.r1:.4f}"]
        for k, cycle in enumerate(self.cycles[1:], 1):
            parts.append(
                f"cycle {k}: +{cycle.added} −{cycle.dropped} atoms, {cycle.retyped} retyped, "
                f"R1 {cycle.r1:.4f}" + ("" if cycle.kept else " (not kept)")
            )
        return (
            f"structure completion from the difference map: {'; '.join(parts)}; "
            f"{len(kept)} cycle{'s' * (len(kept) != 1)} kept, {self.stopped}"
        )


def complete(
    peaks: Structure, reflections, method: str, cycles: int, max_cycles: int = MAX_CYCLES
) -> Completion:
    """Assign and refine a solution's peaks, then complete the model from its difference maps."""
    start_u = wilson_u(peaks, reflections)
    best = assign_and_refine(peaks, reflections, method, cycles, start_u)
    n_atoms = len(best.assignment.sites)
    history = [Cycle(best.r1, n_atoms, n_atoms, len(peaks.sites) - n_atoms, 0, True)]
    stopped = f"stopped after {max_cycles} cycles"
    for _ in range(max_cycles):
        model = best.refined.structure
        atoms = [s for s in model.sites if not is_hydrogen(s.element)]
        new = missing_atom_peaks(model, reflections)
        trial_peaks = fobs_peaks(model, reflections, new)  # the atoms first, then the new peaks
        try:
            trial = assign_and_refine(trial_peaks, reflections, method, cycles, start_u)
        except RefinementError as error:
            trial, failure = None, error.message
        if new and (trial is None or trial.r1 >= best.r1 - R1_GAIN):
            # the new assignment made things worse, or did not take the peaks: add them to the
            # model as it stands, as the main element, and let the refinement judge them
            try:
                grown = assign_and_refine(
                    trial_peaks,
                    reflections,
                    method,
                    cycles,
                    start_u,
                    grown_assignment(best, trial_peaks),
                )
            except RefinementError as error:
                failure = error.message
            else:
                trial = grown if trial is None or grown.r1 < trial.r1 else trial
        if trial is None:
            stopped = f"stopped: the next cycle's refinement failed ({failure})"
            break
        kept = {s.index for s in trial.assignment.sites}
        added = sum(1 for k in kept if k >= len(atoms))
        lost = len(atoms) - sum(1 for k in kept if k < len(atoms))
        retyped = sum(
            1
            for s in trial.assignment.sites
            if s.index < len(atoms) and s.element != atoms[s.index].element
        )
        if not (added or lost or retyped):
            stopped = "stopped: the difference map shows no more atoms"
            break
        better = trial.r1 < best.r1 - R1_GAIN
        history.append(Cycle(trial.r1, len(kept), added, lost, retyped, better))
        if not better:
            stopped = "stopped: R1 no longer drops"
            break
        best = trial
    return Completion(best, history, stopped)


def grown_assignment(best: Stage, peaks: Structure) -> Assignment:
    """The best stage's atoms as they are (peaks 0..n-1 of fobs_peaks), then the peaks after
    them as atoms of UNIT's most common non-H element, under free running labels (SHELX's four
    characters; a peak left without one is dropped)."""
    atoms = [replace(s, index=k) for k, s in enumerate(best.assignment.sites)]
    contents = best.peaks.asymmetric_unit_contents()
    element = max(contents, key=contents.get) if contents else "C"
    taken = {s.new_label.upper() for s in atoms}
    added, dropped = [], []
    for k, peak in enumerate(peaks.sites[len(atoms) :], len(atoms)):
        label = free_label(element, taken)
        if label is None:
            dropped.append(k)
        else:
            added.append(SiteAssignment(k, peak.label, element, label))
    return Assignment(best.assignment.method, atoms + added, dropped)


def missing_atom_peaks(model: Structure, reflections) -> list[Site]:
    """Difference-map peaks of a refined model that may be missing atoms: high enough above
    the map's noise, at bonding distance or more from every atom, strongest first."""
    atoms = [s for s in model.sites if not is_hydrogen(s.element)]
    limit = max(MIN_NEW, round(NEW_SHARE * len(atoms)))
    found, rms = difference_peaks(model, reflections, max_peaks=3 * limit)
    strong = [p for p in found if p.peak_height >= max(MIN_HEIGHT, MIN_HEIGHT_RMS * rms)]
    if not strong:
        return []
    both = model.with_sites([*atoms, *strong])
    near = neighbours(both, MIN_DISTANCE, centres=list(range(len(atoms), len(both.sites))))
    chosen: list[int] = []
    for k, contacts in enumerate(near):
        index = len(atoms) + k
        if any(c.j < len(atoms) or c.j in chosen for c in contacts):
            continue
        chosen.append(index)
        if len(chosen) == limit:
            break
    return [both.sites[i] for i in chosen]
