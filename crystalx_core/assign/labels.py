"""Atom labels as a crystallographer relabels by hand, and atoms in SHELX residues.

A typed atom whose element does not change keeps its label: restraints, HTAB/EQIV lines
and the author's numbering scheme all refer to it (a label held twice, as some CIFs have
it, only once). A retyped atom keeps its number under the new symbol (O5 → N5, as
Olex2's `name O5 N` does) when that label is free; a peak, or a retyped atom whose label
is taken, gets the element and the next free running number.

Every label fits SHELX's 4 characters (SHELXL cannot read longer atom names and Olex2
trims them): a longer one is never kept, and after C999 the running labels go on as SHELX
names the parts of a disordered atom (C1A … C99Z, then C1AA … C9ZZ). A model in Olex2 whose
user set another max_label_length (the structure's max_label) is labelled to that length,
as Olex2's label corrector keeps it (xlib/xapp.cpp TXApp::GetMaxLabelLength).

Labels are unique per residue only: an atom of a SHELX residue keeps its residue suffix
(crystalx_core.residues), and only the labels of its own residue can be taken.
"""

from __future__ import annotations

import itertools
import re
import string

from crystalx_core.elements import atomic_number
from crystalx_core.errors import InputError
from crystalx_core.residues import MAX_LABEL, bare_label, residue_suffix
from crystalx_core.structure import Site, Structure


def element_labels(structure: Structure, elements: dict[int, str]) -> dict[int, str]:
    """Label per site index of `elements` (site index → its element in the assignment), each
    of at most the structure's max_label characters."""
    longest = structure.max_label
    taken = {s.label.upper() for k, s in enumerate(structure.sites) if k not in elements}
    keeps = set()
    for k in sorted(elements):  # a label a CIF repeats (it happens) is kept once
        site = structure.sites[k]
        if _keeps_label(site, elements[k], longest) and site.label.upper() not in taken:
            keeps.add(k)
            taken.add(site.label.upper())
    labels, running = {}, {}
    for k in sorted(elements):
        site, element = structure.sites[k], elements[k]
        if k in keeps:
            labels[k] = site.label
            continue
        suffix = residue_suffix(site.label)
        number = _number_part(site)
        label = (
            f"{element}{number}{suffix}" if number and len(element + number) <= longest else None
        )
        while label is None or label.upper() in taken:
            label = next(
                running.setdefault((element, suffix), running_labels(element, suffix, longest)),
                None,
            )
            if label is None:
                raise InputError(
                    f"no {element} label of at most {longest} characters is left for another "
                    f"{element} atom (SHELX and Olex2 read no longer names)",
                    structure.source or None,
                )
        taken.add(label.upper())
        labels[k] = label
    return labels


def relabel(structure: Structure, sites) -> dict[str, str]:
    """Give every assignment site (`sites`, indexing `structure`) its label for the element
    it now holds (element_labels); return each old `new_label`'s new one."""
    labels = element_labels(structure, {site.index: site.element for site in sites})
    renamed = {}
    for site in sites:
        renamed[site.new_label], site.new_label = labels[site.index], labels[site.index]
    return renamed


def renames_note(structure: Structure, sites) -> str:
    """One job note naming each atom that kept its element but not its label, old -> new, and
    why: a SHELXL user looks for C2* or C2ABC in the new file and must learn it is C1 now (a
    retyped atom's new name follows from its new element, and says so in its row)."""
    counts: dict[str, int] = {}
    for site in structure.sites:
        counts[site.label.upper()] = counts.get(site.label.upper(), 0) + 1
    renames = []
    for assigned in sites:
        site = structure.sites[assigned.index]
        if site.element is None or site.element.upper() != assigned.element.upper():
            continue
        if assigned.new_label == site.label:
            continue
        why = _why_renamed(site, counts, structure.max_label)
        renames.append(f"{site.label} -> {assigned.new_label} ({why})")
    if not renames:
        return ""
    return f"atoms renamed, their elements unchanged: {', '.join(renames)}"


def _why_renamed(site: Site, counts: dict[str, int], longest: int) -> str:
    """Why _keeps_label (or a repeated label) did not let an atom keep its label."""
    label = bare_label(site.label)
    odd = "".join(dict.fromkeys(c for c in label if not re.fullmatch(r"[0-9A-Za-z']", c)))
    if odd:
        return f"{odd!r} is not a letter, digit or prime"
    if len(label) > longest:
        return f"over {longest} characters"
    if not label.upper().startswith(site.element.upper()):
        return f"does not start with {site.element}"
    if not _symbol_label(site):
        return f"reads as another element than {site.element}"
    if counts.get(site.label.upper(), 0) > 1:
        return "the label is held twice"
    return "its label was taken"


def running_labels(element: str, suffix: str, longest: int = MAX_LABEL):
    """The labels of `element` that fit `longest` characters, in the order they are given:
    the element and a number, then a number and letters (C1 … C999, C1A … C99Z, C1AA … C9ZZ
    for 4)."""
    room = longest - len(element)
    for letters in range(room):
        for number in range(1, 10 ** (room - letters)):
            for tail in itertools.product(string.ascii_uppercase, repeat=letters):
                yield f"{element}{number}{''.join(tail)}{suffix}"


def free_label(element: str, used: set[str]) -> str | None:
    """The first running label of `element` whose upper case is not in `used` (which it joins),
    or None when all MAX_LABEL-character labels of the element are taken."""
    label = next((name for name in running_labels(element, "") if name.upper() not in used), None)
    if label is not None:
        used.add(label.upper())
    return label


def _keeps_label(site: Site, element: str, longest: int) -> bool:
    """An atom staying the same element, under a label that starts with that element's symbol
    and that SHELX (or Olex2, `longest` characters at most) can read: C12A, or the symbol
    alone (Olex2's sample malbac names its atoms Pd, P, Cl, O) or with letters before its
    number (OW1, a water's O), but not one that reads as another element's (CL1 on a carbon)."""
    return (
        site.element is not None
        and site.element.upper() == element.upper()
        and _symbol_label(site)
        and len(bare_label(site.label)) <= longest
    )


def _symbol_label(site: Site) -> bool:
    """Whether the label is the atom's element symbol, then digits, letters or primes, without
    the symbol and its next letter making another element's (Cl, Cu, Na on C or N)."""
    label = bare_label(site.label)
    if not label.upper().startswith(site.element.upper()):
        return False
    rest = label[len(site.element) :]
    if not re.fullmatch(r"[0-9A-Za-z']*", rest):
        return False
    return not (rest[:1].isalpha() and atomic_number(site.element + rest[0].lower()) > 0)


def _number_part(site: Site) -> str | None:
    """What follows the element symbol in a typed atom's label when it starts with a digit
    (C12A → 12A); None for peaks (Q7) and free-form labels."""
    label = bare_label(site.label)
    if site.element is None or not label.upper().startswith(site.element.upper()):
        return None
    rest = label[len(site.element) :]
    return rest if re.fullmatch(r"\d[0-9A-Za-z']*", rest) else None
