"""New atom labels for an assignment: element symbol plus a running number."""
from __future__ import annotations

from crystalx_core.structure import Structure


def element_labels(structure: Structure, elements: dict[int, str]) -> dict[int, str]:
    """Element + running number in site order, skipping labels held by the other sites."""
    taken = {s.label.upper() for k, s in enumerate(structure.sites) if k not in elements}
    labels, counters = {}, {}
    for k in sorted(elements):
        el = elements[k]
        while True:
            counters[el] = counters.get(el, 0) + 1
            label = f"{el}{counters[el]}"
            if label.upper() not in taken:
                break
        labels[k] = label
    return labels
