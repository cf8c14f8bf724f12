"""Where a peak becomes an element: method dispatch and applying an answer to a structure."""
from __future__ import annotations

from crystalx_core.assignment import Assignment
from crystalx_core.elements import is_hydrogen
from crystalx_core.errors import CrystalXError, InputError
from crystalx_core.structure import Structure

METHODS = ("auto", "model", "baseline")
MAX_SITES = 20_000  # peaks per asymmetric unit; far beyond any small molecule, bounds memory and time
MAX_SITES_PER_A3 = 1.0  # crystals hold about 0.1 atoms per Å³; ten times that is overlapping junk


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


def assign(structure: Structure, method: str = "auto") -> Assignment:
    """Elements and H counts for every non-H site of `structure` by the chosen method."""
    if not [s for s in structure.sites if not is_hydrogen(s.element)]:
        raise InputError("no peaks or atoms to assign", structure.source)
    if len(structure.sites) > MAX_SITES:
        raise InputError(f"{len(structure.sites)} sites: CrystalX assigns at most {MAX_SITES} per structure",
                         structure.source)
    density = len(structure.sites) * len(structure.symops) / structure.volume
    if density > MAX_SITES_PER_A3:
        raise InputError(f"{len(structure.sites)} sites × {len(structure.symops)} symmetry operators in "
                         f"{structure.volume:.0f} Å³ is {density:.1f} per Å³ (at most {MAX_SITES_PER_A3:g}): "
                         "is the cell or the peak list wrong?", structure.source)
    if resolve_method(method) == "model":
        from crystalx_core.assign.model import assign_model
        return assign_model(structure)
    from crystalx_core.assign.baseline import assign_baseline
    return assign_baseline(structure)


HYDROGEN_METHODS = ("auto", "rules", "model")


def resolve_hydrogen_method(method: str) -> str:
    """'auto' is the shipped hydrogen model (an error when it is missing), which reads the
    geometry rules' answer with each atom and beats them on the held-out corpus structures
    and the benchmark (MODEL_CARD.md, docs/benchmarks.md)."""
    if method not in HYDROGEN_METHODS:
        raise CrystalXError(f"unknown hydrogen method {method!r} (choose from {', '.join(HYDROGEN_METHODS)})")
    if method != "auto":
        return method
    from crystalx_core.runtime import require_models
    require_models(("hydrogen",), "--hydrogens rules")
    return "model"


def hydrogen_counts(structure: Structure, method: str = "auto") -> list[tuple[int, dict[int, float]]]:
    """(H count, scores) for every non-H site of an assigned structure, in site order."""
    if resolve_hydrogen_method(method) == "model":
        from crystalx_core.assign.model import model_h_counts
        return model_h_counts(structure)
    from crystalx_core.assign.baseline import baseline_h_counts
    return [(n, {n: 1.0}) for n in baseline_h_counts(structure)]


def apply_assignment(structure: Structure, assignment: Assignment) -> Structure:
    """Relabelled, retyped sites in their original order; dropped peaks and old H removed."""
    by_index = assignment.by_index()
    sites = [site.with_element(by_index[i].element, by_index[i].new_label)
             for i, site in enumerate(structure.sites) if i in by_index]
    return structure.with_sites(sites)
