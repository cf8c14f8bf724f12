"""Where a peak becomes an element: method dispatch and applying an answer to a structure."""
from __future__ import annotations

from crystalx_core.assignment import Assignment
from crystalx_core.errors import CrystalXError, InputError
from crystalx_core.structure import Structure

METHODS = ("baseline",)


def assign(structure: Structure, method: str = "baseline") -> Assignment:
    """Elements and H counts for every non-H site of `structure` by the chosen method."""
    if not [s for s in structure.sites if s.element not in ("H", "D")]:
        raise InputError("no peaks or atoms to assign", structure.source)
    if method == "baseline":
        from crystalx_core.assign.baseline import assign_baseline
        return assign_baseline(structure)
    raise CrystalXError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")


def apply_assignment(structure: Structure, assignment: Assignment) -> Structure:
    """Relabelled, retyped sites in their original order; dropped peaks and old H removed."""
    by_index = assignment.by_index()
    sites = [site.with_element(by_index[i].element, by_index[i].new_label)
             for i, site in enumerate(structure.sites) if i in by_index]
    return structure.with_sites(sites)
