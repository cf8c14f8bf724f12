"""Olex2 commands that apply an answer to the model open in Olex2: `kill`, `name`, `part`,
`fvar`, `hadd`.

Olex2 reads labels its own way (it types an atom from its label and trims labels over its
option max_label_length, 4 unless the user set it: the structure's max_label), so every new
label is checked here before a command carries it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from crystalx_core.assign.labels import running_labels
from crystalx_core.assignment import Assignment
from crystalx_core.elements import normalise_symbol
from crystalx_core.errors import InputError, RequestError
from crystalx_core.residues import MAX_LABEL, bare_label, residue_suffix
from crystalx_core.riding import PivotBonds
from crystalx_core.structure import Structure


def olex2_commands(
    structure: Structure,
    assignment: Assignment,
    groups,
    declared: Sequence[dict] = (),
    repeats: Sequence[str] = (),
) -> list[str]:
    """Olex2 commands that turn the snapshot into the assignment: delete the Q-peaks
    `repeats` (left out of `structure` as a repeat of an atom or a higher peak: the same
    density, which Olex2 would keep as a Q on the atom it became) and the peaks judged
    spurious (when asked), rename (which retypes) every site whose label changes, name a site
    that keeps its label but not its element by that same label (Olex2 types an atom from the
    label `name` gives it, an unchanged one too: gxapp.cpp `TGXApp::Name(TXAtom&, ...)`; an
    N1 typed C, as a .ins's SFAC order can give it, becomes N), put each `declared` group in
    its negative PART (olex2_part_commands), then add riding H to atoms that have none yet, so
    that hadd places them inside the PART. H atoms already in the model are kept.

    Renames are ordered so that no label is taken when it is given; a cycle (C1→C2, C2→C1)
    goes through a spare label of the same element. An atom of a residue is named by its
    address (C1_2) and given its new label without the suffix: it stays in its residue.
    Every new label must be one Olex2 keeps as it is (see `olex2_label_problem`) and must not
    be held by a site that keeps its label: either is a RequestError naming the site.
    """
    kill = list(repeats) + [structure.sites[i].label for i in assignment.dropped]
    commands = [f"kill {' '.join(kill)}"] if kill else []
    pending = {s.label: s.new_label for s in assignment.sites if s.label != s.new_label}
    elements = {s.new_label: s.element for s in assignment.sites}
    held = {s.label.upper() for s in structure.sites} - {label.upper() for label in kill}
    staying = held - {old.upper() for old in pending}
    given: dict[str, str] = {}
    for old, new in pending.items():
        problem = olex2_label_problem(new, elements[new], structure.max_label)
        if problem:
            raise RequestError("bad-label", f"new label {new!r} of {old}: {problem}")
        if new.upper() in staying:
            raise RequestError(
                "bad-label", f"new label {new} of {old} is held by a site that keeps its label"
            )
        if new.upper() in given:
            raise RequestError(
                "bad-label", f"{given[new.upper()]} and {old} would both become {new}"
            )
        given[new.upper()] = old
    while pending:
        ready = [old for old, new in pending.items() if new.upper() not in held]
        if not ready:  # a cycle: park one of its sites on an unused label of its element
            old = next(iter(pending))
            parked = _spare_label(
                elements[pending[old]], residue_suffix(old), held, structure.max_label
            )
            commands.append(f"name {old} {bare_label(parked)}")
            held.discard(old.upper())
            held.add(parked.upper())
            pending[parked] = pending.pop(old)
            continue
        for old in ready:
            commands.append(f"name {old} {bare_label(pending[old])}")
            held.discard(old.upper())
            held.add(pending.pop(old).upper())
    retyped = [
        s
        for s in assignment.sites
        if s.label == s.new_label and _retyped(structure.sites[s.index], s.element)
    ]
    for site in retyped:
        problem = olex2_label_problem(site.label, site.element, structure.max_label)
        if problem:
            raise RequestError(
                "bad-label", f"kept label {site.label} of a {site.element}: {problem}"
            )
    commands += [f"name {s.label} {bare_label(s.label)}" for s in retyped]
    return commands + olex2_part_commands(declared) + olex2_hadd_commands(groups)


def olex2_part_commands(declared: Sequence[dict]) -> list[str]:
    """For each group disordered about a special position (service.declared_parts: new
    labels, PART, free variable): `part N atoms`, which sets the PART of the atoms and of the
    H bonded to them, and where the group refines on a free variable m of its own `fvar
    10m+1 atoms`, its occupancy 1 x fv(m) as SHELX reads the code. Olex2's own fvar takes
    the variable and the factor apart (`fvar m 1`: pcxod/olex2 xlib/xmacro.cpp macFvar reads
    an integer first number as the variable itself; XVarManager::SetParam makes fv(m) at 0.5
    when the model has fewer), so the client splits the code and numbers m after the
    variables it holds (the snapshot carries none)."""
    commands = []
    for group in declared:
        labels = " ".join(group["labels"])
        commands.append(f"part {group['part']} {labels}")
        if group["free_variable"]:
            commands.append(f"fvar {10 * group['free_variable'] + 1} {labels}")
    return commands


def _retyped(site, element: str) -> bool:
    return site.element is not None and site.element.upper() != element.upper()


OLEX2_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9']*$")


def olex2_label_problem(label: str, element: str, longest: int = MAX_LABEL) -> str | None:
    """Why Olex2 would not keep `label` (its bare part, without a residue address) for an atom
    of `element`, or None: at most `longest` (max_label_length) letters, digits or primes,
    starting with the element's symbol read as Olex2 reads it (it types an atom from its
    label: Ca1 is calcium)."""
    bare = bare_label(label)
    if not OLEX2_LABEL.match(bare):
        return "a label is a letter followed by letters, digits or '"
    if len(bare) > longest:
        return f"longer than the {longest} characters Olex2 keeps"
    read = _label_element(bare)
    if read is None or read.upper() != element.upper():
        return f"Olex2 would read it as {read or 'no element'}, not {element}"
    return None


def _label_element(label: str) -> str | None:
    """The element Olex2 gives an atom of this label: the two-letter symbol when the label
    starts with one, else the one-letter symbol."""
    for size in (2, 1):
        head = label[:size]
        if len(head) == size and head.isalpha():
            try:
                return normalise_symbol(head)
            except InputError:
                continue
    return None


def _spare_label(element: str, residue: str, held: set[str], longest: int = MAX_LABEL) -> str:
    """An unused label of `element` that fits Olex2's `longest` characters, counting down from
    the largest number that fits (C999, Cl99 for 4), so it does not collide with the usual
    labels; past those, the lettered ones new atoms are named with (C1A … C9ZZ). Made one at a
    time: a long max_label_length allows billions."""
    numbered = 10 ** (longest - len(element)) - 1  # running_labels gives C1 … C999 first
    for label in itertools.chain(
        (f"{element}{n}{residue}" for n in range(numbered, 0, -1)),
        itertools.islice(running_labels(element, residue, longest), numbered, None),
    ):
        if label.upper() not in held:
            return label
    raise RequestError(
        "bad-label", f"no free {element} label of {longest} characters to rename through"
    )


def olex2_hadd_commands(
    groups: Sequence[tuple[int, Sequence[str]]], max_length: int = 200
) -> list[str]:
    """Olex2 `hadd code labels...` commands, a long group split so none exceeds `max_length`."""
    commands: list[str] = []
    for code, labels in groups:
        head = f"hadd {code}"
        current = head
        for label in labels:
            if current != head and len(current) + 1 + len(label) > max_length:
                commands.append(current)
                current = head
            current += " " + label
        commands.append(current)
    return commands


# TXlConGen::ShelxToOlex (xlib/xlcongen.cpp): the pivot elements and bond counts (every atom
# in the environment, metals too) for which hadd with HFIX m places a group; else it places
# none and only logs "Failed to translate HFIX code"
_OLEX2_HFIX = {
    1: ({"C", "N", "Si", "O"}, (3,)),
    2: ({"C", "N", "O"}, (1, 2)),
    9: ({"C", "N", "O"}, (1, 2)),
    3: ({"C", "N"}, (1,)),
    13: ({"C", "N"}, (1,)),
    12: ({"C"}, (1,)),
    4: ({"C", "N"}, (2,)),
    8: ({"O", "S"}, (1,)),
    14: ({"O", "S"}, (1,)),
    15: ({"B"}, (4, 5)),
    16: ({"C"}, (1,)),
}


def _olex2_places(code: int, element: str, count: int) -> bool:
    elements, counts = _OLEX2_HFIX.get(code // 10, (set(), ()))
    return element in elements and count in counts


def olex2_hadd(label: str, bonds: PivotBonds | None) -> list[str]:
    """The hadd commands that give `label` the riding groups the core placed (its .res), or
    [] where `hadd CODE label` does (the usual case).

    What `hadd CODE atom` does (pcxod/olex2 xlib/xmacro.cpp XLibMacros::macHAdd, code > 0):
    the atom's environment is every atom bonded to it, metals included
    (TUnitCell::GetAtomEnviList); when those lie in two or more PARTs other than 0 and the
    atom's own (negative PARTs too) it places one group per such PART, on the bonds to PART 0
    and that PART, in that PART, with the occupancy (free variable included:
    RefinementModel Vars.GetParam/SetParam) of that PART's first neighbour; otherwise one
    group on all the bonds, in the atom's PART at its occupancy (TXlConGen::FixAtom). A group
    is placed only where the bond count fits the code (ShelxToOlex). So a Cp or arene C bonded
    to a metal gets no H from `hadd 43` (three bonds), and an atom beside a disordered metal
    or between negative PARTs is split where the core rides one group on it. There the core
    names the environment itself: `hadd -CODE atom first others -a=CODE -p=PART` (the same
    macro, code < 0) places one group on exactly the atoms listed, with the first one's
    occupancy, in PART `-p`, AFIX `-a`; Olex2 reads it as written only through
    `olx.HAdd(...)`, which the plugin uses for it. The plain command stays where no listed
    atom has the group's occupancy as Olex2 holds it (a neighbour on a mirror: 0.5), and where
    the group rides on a symmetry image (Olex2 takes each named atom at its asymmetric-unit
    position: riding._pivot_bonds): Olex2 then places other H, which the plugin reports. A
    pivot on a special position keeps the plain form (riding gives it no bonds, in the split
    branch too: _per_part), so the newest macHAdd's GetAtomEnviList(remove_redundant=true),
    which concerns such pivots, is not modelled."""
    if bonds is None or not bonds.groups:
        return []
    code = max(bonds.groups, key=lambda g: g.occupancy).code
    others = []
    for _, _, part, _ in bonds.bonded:
        if part not in (0, bonds.part) and part not in others:
            others.append(part)
    if len(others) >= 2:
        olex2 = [
            (
                part,
                sum(1 for b in bonds.bonded if b[2] in (0, part)),
                next(b[3] for b in bonds.bonded if b[2] == part),
            )
            for part in others
        ]
    else:
        olex2 = [(bonds.part, len(bonds.bonded), bonds.occupancy)]
    ours = sorted((g.part, g.code, round(g.occupancy, 3)) for g in bonds.groups)
    theirs = sorted((part, code, round(occupancy, 3)) for part, _, occupancy in olex2)
    if ours == theirs and all(_olex2_places(code, bonds.element, n) for _, n, _ in olex2):
        return []
    occupancy = {label: occupancy for label, _, _, occupancy in bonds.bonded}
    commands = []
    for group in bonds.groups:
        if (
            not group.neighbours
            or not _olex2_places(group.code, bonds.element, len(group.neighbours))
            or abs(occupancy[group.neighbours[0]] - group.occupancy) >= 1e-3
        ):  # no list Olex2 takes, or none at the group's occupancy: the plain form, whose
            return []  # misplaced H the plugin reports (a wrong occupancy it could not see)
        commands.append(
            "hadd -%d %s %s -a=%d -p=%d"
            % (group.code, label, " ".join(group.neighbours), group.code, group.part)
        )
    return commands
