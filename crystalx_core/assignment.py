"""The answer for one structure: element and H count per site, with probabilities or scores.

A site is known by one identity throughout: its index in the structure the assignment was
made on (`SiteAssignment.index`), whatever its label (labels may repeat in a CIF, and they
change on the way). The model made from an assignment (`assign.apply_assignment`) holds
one site per SiteAssignment, in the order of `Assignment.sites`, and refinement keeps that
order; so the k-th site of the model, and the pivot k of its riding-H plan, is
`Assignment.sites[k]`. Nothing is matched by label or object identity.

The HFIX code of an atom is decided once, by the riding step (`riding.HydrogenPlan.codes`,
which also sets the AFIX of each H it places); `annotate` puts it into the answer, and
every writer (the .res HFIX lines, the service's hfix and hadd commands, the job JSON)
reads it from there (`Assignment.hfix_codes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crystalx_core.riding import HydrogenPlan, PivotBonds


@dataclass
class SiteAssignment:
    """What one site becomes. `element_scores`/`h_scores` are probabilities (model) or scores
    (baseline)."""

    index: int  # index into Structure.sites
    label: str  # label as read
    element: str
    new_label: str
    element_scores: dict[str, float] = field(default_factory=dict)
    h_count: int = 0
    h_scores: dict[int, float] = field(default_factory=dict)
    hfix: int = 0  # chosen HFIX code, 0 = none
    note: str = ""  # why H could not be placed, flags for the user
    evidence: dict | None = (
        None  # what the reflections said about the element (element_evidence.SiteEvidence)
    )
    bonds: PivotBonds | None = None  # bonds and riding groups of its new H (olex2.olex2_hadd)

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        return sorted(self.element_scores.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self, top_k: int = 5) -> dict:
        """The site's answer as the job JSON and the service give it: the top_k elements as
        [element, probability] pairs, most likely first; H-count probabilities by count; the
        data's evidence on the element (None without reflections)."""
        return {
            "label": self.label,
            "new_label": self.new_label,
            "element": self.element,
            "probabilities": [[el, round(p, 4)] for el, p in self.top(top_k)],
            "h_count": self.h_count,
            "h_probabilities": {str(n): round(p, 4) for n, p in self.h_scores.items()},
            "hfix": self.hfix,
            "note": self.note,
            "evidence": self.evidence,
        }


@dataclass
class Assignment:
    method: str  # "baseline" or the model's name
    sites: list[SiteAssignment]
    dropped: list[int] = field(default_factory=list)  # peaks judged spurious (indices into sites)

    def by_index(self) -> dict[int, SiteAssignment]:
        return {s.index: s for s in self.sites}

    def h_counts(self) -> dict[int, int]:
        """H count per site of the model made from this assignment (see the module's docstring)."""
        return {k: s.h_count for k, s in enumerate(self.sites)}

    def hfix_codes(self, leave_out: set[int] = frozenset()) -> dict[str, int]:
        """New label → HFIX code of every site with one, in site order; `leave_out` names
        sites (by index) that get none."""
        return {s.new_label: s.hfix for s in self.sites if s.hfix and s.index not in leave_out}

    def notes(self) -> dict[str, str]:
        """New label → note of every site with one: how its H were placed or why not."""
        return {s.new_label: s.note for s in self.sites if s.note}


def annotate(assignment: Assignment, plan: HydrogenPlan) -> None:
    """Put the riding step's HFIX codes and notes into the answer; the plan's pivots are the
    sites of the model made from `assignment`, in its order."""
    for k, code in plan.codes.items():
        assignment.sites[k].hfix = code
    for k, note in plan.notes.items():
        assignment.sites[k].note = note
    for k, bonds in plan.bonds.items():
        assignment.sites[k].bonds = bonds
