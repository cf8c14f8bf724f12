"""The answer for one structure: element and H count per site, with probabilities or scores."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SiteAssignment:
    """What one site becomes. `element_scores`/`h_scores` are probabilities (model) or scores (baseline)."""

    index: int  # index into Structure.sites
    label: str  # label as read
    element: str
    new_label: str
    element_scores: dict[str, float] = field(default_factory=dict)
    h_count: int = 0
    h_scores: dict[int, float] = field(default_factory=dict)
    hfix: int = 0  # chosen HFIX code, 0 = none
    note: str = ""  # why H could not be placed, flags for the user
    evidence: dict | None = None  # what the reflections said about the element (element_evidence.SiteEvidence)

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        return sorted(self.element_scores.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self, top_k: int = 5) -> dict:
        """The site's answer as the job JSON and the service give it: the top_k elements as
        [element, probability] pairs, most likely first; H-count probabilities by count; the
        data's evidence on the element (None without reflections)."""
        return {"label": self.label, "new_label": self.new_label, "element": self.element,
                "probabilities": [[el, round(p, 4)] for el, p in self.top(top_k)],
                "h_count": self.h_count,
                "h_probabilities": {str(n): round(p, 4) for n, p in self.h_scores.items()},
                "hfix": self.hfix, "note": self.note, "evidence": self.evidence}


@dataclass
class Assignment:
    method: str  # "baseline" or the model's name
    sites: list[SiteAssignment]
    dropped: list[int] = field(default_factory=list)  # peaks judged spurious (indices into sites)

    def by_index(self) -> dict[int, SiteAssignment]:
        return {s.index: s for s in self.sites}
