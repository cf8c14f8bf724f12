"""UNIT checked against the cell: a placeholder UNIT (`UNIT 1 2 3 4 5`, `UNIT 1 1 0 0 1`, common
in files made by hand or by other programs) must not decide how many atoms a job looks for.

Non-H atoms in molecular crystals take about 18 Å³ each (Kempster & Lipson's rule); the
553 corpus CIFs span 12.4–32.1 Å³ per non-H atom (1st to 99th percentile). A UNIT whose
non-H total gives far less or far more than that is implausible; the job is then told so
and works from contents estimated from the cell: one atom of each heavier SFAC element per
asymmetric unit, the rest C, N and O in organic proportions, H as organic molecules carry.

A composition the file declares without H (a CIF's _chemical_formula_sum) is evidence of the
opposite kind: no H is placed there (declared_without_h), by the job, the audit and the
service's answers alike (held_to_formula).
"""

from __future__ import annotations

import re
from dataclasses import replace

from crystalx_core.elements import is_hydrogen, normalise_symbol
from crystalx_core.errors import InputError
from crystalx_core.geometry import site_multiplicities
from crystalx_core.structure import Structure

VOLUME_PER_ATOM = 18.0  # Å³ per non-H atom in organic crystals
PLAUSIBLE_VOLUME = (8.0, 45.0)  # Å³ per non-H atom that a UNIT may imply
ORGANIC_SHARES = {"C": 6.0, "N": 1.0, "O": 1.5}  # typical C:N:O of small organic molecules
HYDROGEN_PER_ATOM = {"C": 1.1, "N": 0.6, "O": 0.4}  # H carried per C, N, O in organic molecules
UNIT_SHORTFALL = 3.0  # model's non-H atoms over UNIT's beyond which UNIT is no formula


def unit_problem(structure: Structure) -> str | None:
    """Why the structure's UNIT cannot be the cell's contents, or None when it is plausible."""
    if not structure.sfac or len(structure.unit) != len(structure.sfac):
        return None
    heavy = sum(n for element, n in zip(structure.sfac, structure.unit) if not is_hydrogen(element))
    volume = structure.volume
    low, high = PLAUSIBLE_VOLUME
    if heavy > 0 and low <= volume / heavy <= high:
        return None
    given = "UNIT " + " ".join(f"{n:g}" for n in structure.unit)
    if heavy <= 0:
        return f"{given} gives no non-H atoms for a cell of {volume:.0f} Å³"
    return (
        f"{given} gives {heavy:g} non-H atoms for a cell of {volume:.0f} Å³, {volume / heavy:.0f} "
        "Å³ each "
        f"({low:g}–{high:g} expected, about {VOLUME_PER_ATOM:g} in organic crystals)"
    )


def estimated_unit(structure: Structure) -> list[float]:
    """Cell contents from the cell volume, for the SFAC elements that UNIT lists as present."""
    order = structure.space_group_order
    total = max(order, round(structure.volume / VOLUME_PER_ATOM))
    present = [
        el for el, n in zip(structure.sfac, structure.unit) if n > 0 and not is_hydrogen(el)
    ] or [el for el in structure.sfac if not is_hydrogen(el)]
    organic = [el for el in present if el in ORGANIC_SHARES]
    others = [el for el in present if el not in ORGANIC_SHARES]
    counts = {el: float(order) for el in others}  # one of each per asymmetric unit
    if organic:
        left = max(total - sum(counts.values()), order * len(organic))
        shares = sum(ORGANIC_SHARES[el] for el in organic)
        counts.update({el: float(round(left * ORGANIC_SHARES[el] / shares)) for el in organic})
    elif others:
        counts = {el: float(max(order, round(total / len(others)))) for el in others}
    hydrogen = float(round(sum(counts.get(el, 0.0) * n for el, n in HYDROGEN_PER_ATOM.items())))
    return [hydrogen if is_hydrogen(el) else counts.get(el, 0.0) for el in structure.sfac]


def checked_contents(structure: Structure) -> tuple[Structure, str | None]:
    """The structure with a plausible UNIT (its own, or one estimated from the cell) and,
    when UNIT was replaced, a note saying so."""
    problem = unit_problem(structure)
    if problem is None:
        return structure, None
    unit = estimated_unit(structure)
    estimate = " ".join(f"{el} {n:g}" for el, n in zip(structure.sfac, unit))
    return replace(structure, unit=unit), (
        f"{problem}: a placeholder? The job estimates the contents from the "
        f"cell instead ({estimate} per cell)"
    )


def _numbering(unit: list[float]) -> bool:
    """Whether UNIT counts 1, 2, 3, ... one per SFAC element: the SFAC numbers, which DSR's
    examples write as their UNIT (dsr-shelx 243 example/p21c.res `UNIT 1 2 3 4 5 6`,
    p21n_cf3.res `UNIT 1 2 3 4 5`), a placeholder like `UNIT 1 1 1`, not proportions."""
    return len(unit) >= 3 and [float(n) for n in unit] == [
        float(k) for k in range(1, len(unit) + 1)
    ]


def unit_set_aside(structure: Structure, line: str = "") -> tuple[Structure, str | None]:
    """A model of atoms whose UNIT cannot be its cell contents, marked so that the element and
    H choices see no UNIT (Structure.unit_set_aside), and the note naming the file and `line`
    ('line 9'); the structure unchanged and None where UNIT may be the contents.

    Files from other programs carry UNITs that are not the contents: DSR's database exports
    write `UNIT 1 1 1`, one per SFAC (dkratzert/DSR pictures/supersilyle.res), some
    converters UNIT 0, and a .ins may keep an earlier model's UNIT. Taken as a formula,
    `UNIT 1 1 1` scaled up to the sites asked for as many O as Si and C and made three of
    supersilyle's C into O. The test is the count, not the proportions: the model's non-H
    atoms in the cell (occupancy × site multiplicity, each element as the model has it; peaks
    are not counted) more than UNIT_SHORTFALL times UNIT's non-H total, or UNIT giving no non-H
    at all. A UNIT merely off (solvent left out, H wrong, written for Z' = 1 of a Z' = 2
    structure: twice short at most) is still a formula, fitted as composition.trusted_counts
    says. A UNIT with proportions of its own (not every count the same, as a placeholder's,
    and not the SFAC numbers 1, 2, 3, ... that DSR's examples write: _numbering) may also have
    been written for one formula unit, a common slip SHELXL forgives but for the density and
    F(000): its limit is then UNIT_SHORTFALL times the group's order (the Z of a Z' = 1
    structure) as many, and it is fitted for its proportions, as before. A UNIT that counts
    the model's atoms but in numbers its whole atoms cannot make is set aside too
    (_not_whole_atoms)."""
    if not structure.sfac or len(structure.unit) != len(structure.sfac) or structure.unit_set_aside:
        return structure, None
    held = sum(
        n
        for el, n in cell_counts(structure.with_sites(structure.atoms)).items()
        if not is_hydrogen(el)
    )
    counts = [n for el, n in zip(structure.sfac, structure.unit) if not is_hydrogen(el)]
    given = sum(counts)
    per_formula_unit = (
        len(structure.symops) if len(set(counts)) > 1 and not _numbering(structure.unit) else 1
    )
    unheld = _not_whole_atoms(structure, dict(zip(structure.sfac, structure.unit)), held)
    if held <= 0 or (
        given > 0 and held <= UNIT_SHORTFALL * given * per_formula_unit and not unheld
    ):
        return structure, None
    where = ", ".join(part for part in (structure.source, line) if part)
    unit = "UNIT " + " ".join(f"{n:g}" for n in structure.unit)
    why = unheld or f"the model's non-H atoms are {held:g} per cell, " + (
        f"more than {UNIT_SHORTFALL:g} × its {given:g}" if given > 0 else "it gives none"
    )
    reason = (
        f"{where + ': ' if where else ''}{unit} cannot be the cell contents: {why}; the elements "
        "and H were chosen without it (the .res keeps its numbers)"
    )
    return replace(structure, unit_set_aside=reason), reason


def _not_whole_atoms(structure: Structure, unit: dict[str, float], held: float) -> str:
    """Why `unit` (element → count per cell) cannot be the model's own atoms counted by
    element, or '': a model whose non-H atoms are all whole and on general positions holds each
    element in multiples of the group order, so a UNIT counting its very number of atoms but
    an element in another number is some other formula. CRYSTALS' demo for finding H
    (richardicooper/crystals precomp/all/demo/Hydrogen/hydrogen.ins, P21/c) counts 56 like
    its 14 atoms × 4, as 46 C, 4 N, 4 O and 2 S; fitted, it made an N an O and another a C.
    A UNIT counting more atoms (solvent the model leaves out) or fewer (a solution missing
    some, a UNIT for one formula unit) is not judged here."""
    order = structure.space_group_order
    atoms = [s for s in structure.atoms if not is_hydrogen(s.element)]
    given = {el: n for el, n in unit.items() if not is_hydrogen(el) and n > 0}
    if not atoms or abs(sum(given.values()) - held) > 0.5:
        return ""
    multiplicities = site_multiplicities(structure.with_sites(atoms))
    if any(
        s.mixed or abs(s.occupancy - 1.0) > 0.01 or m != order
        for s, m in zip(atoms, multiplicities)
    ):
        return ""
    odd = [f"{el} {n:g}" for el, n in given.items() if abs(n / order - round(n / order)) > 0.01]
    if not odd:
        return ""
    return (
        f"the model's {held:g} non-H atoms per cell are whole and on general positions, each "
        f"element {order} times over, which {', '.join(odd)} is not"
    )


def declared_without_h(structure: Structure, formula: dict[str, float]) -> str:
    """What says that `structure`, which has no H atoms, holds none: a CIF's
    _chemical_formula_sum without H (`formula`, element → count), the formula the structure was
    published with. '' where it does not. SFAC and UNIT are no such evidence: a solution's own
    file lists what the solution found (SHELXT writes 'SFAC C O' for sucrose, benchmark
    FC_sucrose), so an inorganic compound read from a .ins gets H as the rules give them."""
    if any(is_hydrogen(atom.element) for s in structure.sites for atom in s.with_mixed):
        return ""  # the file's own H say otherwise
    if formula and not any(is_hydrogen(el) and n > 0 for el, n in formula.items()):
        terms = " ".join(f"{el}{n:g}" if n != 1 else el for el, n in formula.items())
        return f"_chemical_formula_sum '{terms}' has no H"
    return ""


_TERM = r"([A-Z][a-z]?)\s*((?:\d+(?:\.\d*)?|\.\d+)?)"  # a lone '.' is no count
_FORMULA_TERM = re.compile(_TERM)
_FORMULA = re.compile(rf"\s*(?:{_TERM}\s*,?\s*)+")  # a comma between moieties


def formula_counts(text: str) -> dict[str, float]:
    """A formula as _chemical_formula_sum writes it ('C10 H20 Cl N O3') as element → count;
    empty (no formula) unless the whole text is element symbols with counts: 'Not given' or
    'Water' is no formula, not nobelium or 'Wa' without H, which would take every H off. The
    moieties a comma parts ('C12 H8 N2, C20 H14 O2', COD 2007325) are summed."""
    if not text or not _FORMULA.fullmatch(text):
        return {}
    formula: dict[str, float] = {}
    for element, count in _FORMULA_TERM.findall(text):
        try:
            element = normalise_symbol(element)
        except InputError:
            return {}
        formula[element] = formula.get(element, 0.0) + float(count or 1)
    return formula


def held_to_formula(
    declared_no_h: str, counts: list[tuple[int, dict[int, float]]]
) -> tuple[list[tuple[int, dict[int, float]]], str | None]:
    """Per-site H counts (count, probabilities) as the declared composition allows, and the note
    to give: none anywhere where `declared_no_h` (declared_without_h's reason) says the compound
    has no H, else `counts` unchanged and no note. The job, the audit and the service's answers
    all pass their counts through here, so one file gets one answer whichever path reads it."""
    if not declared_no_h:
        return counts, None
    return [(0, {0: 1.0}) for _ in counts], f"{declared_no_h}: no H placed"


def cell_counts(structure: Structure) -> dict[str, float]:
    """Element → atoms of the model per unit cell, as UNIT counts them: each atom (a mixed
    site's partners included) by its occupancy times its site multiplicity."""
    counts: dict[str, float] = {}
    for site, multiplicity in zip(structure.sites, site_multiplicities(structure)):
        for atom in site.with_mixed:
            if atom.element:
                counts[atom.element] = counts.get(atom.element, 0.0) + atom.occupancy * multiplicity
    return counts


def unit_with_model_atoms(structure: Structure) -> tuple[Structure, str | None]:
    """The structure to write, with UNIT 0 of an element its model holds (typically H: a UNIT
    given without H, or an SFAC H the job added) replaced by the model's count in the cell
    (occupancy × site multiplicity), and a note saying so; UNIT numbers the user gave stay.
    SHELXL takes F(000), the density and μ from UNIT, and its CIF's formula from it. A file
    without UNIT (or one shorter than SFAC) gets one number per SFAC element, as SHELXL needs.
    A UNIT set aside as no possible contents (unit_set_aside) keeps its numbers too: the user's
    statement of the formula, which DSR's fragment database writes on purpose, is not rewritten
    behind their back; the job's note says it was not used."""
    counts = cell_counts(structure)
    unit = list(structure.unit)[: len(structure.sfac)]
    unit += [0.0] * (len(structure.sfac) - len(unit))
    filled = []
    for k, element in enumerate(structure.sfac):
        held = round(counts.get(element, 0.0), 2)
        if unit[k] == 0 and held > 0:
            unit[k] = held
            filled.append(f"{element} {held:g}")
    if not filled:
        return structure, None
    return replace(structure, unit=unit), (
        f"UNIT gave no {', '.join(f.split()[0] for f in filled)}: written with the model's "
        f"{', '.join(filled)} per cell"
    )
