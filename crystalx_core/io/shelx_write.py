"""SHELX .ins/.res text written: a file read by `io.shelx_read` with a new atom list (every
other instruction kept), or a fresh .ins for a structure.

Atom lines are written as SHELXL writes them (fixed columns, 80 at most); a site read from
a file keeps its free-variable, fixed-parameter and riding-Uiso codes where they still hold.
Chemical occupancies become SHELX sofs with the site multiplicities (the reader's inverse).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from crystalx_core.elements import is_hydrogen, normalise_symbol
from crystalx_core.errors import InputError
from crystalx_core.geometry import site_multiplicities
from crystalx_core.io.shelx_names import (
    _wrapped,
    follow_renamed_atoms,
    hfix_without_riding_pivots,
)
from crystalx_core.io.shelx_order import anis_by_name, order_changes, order_dependent
from crystalx_core.io.shelx_read import (
    RIDING_U,
    AtomLine,
    ShelxFile,
    ShelxLine,
    decode_parameter,
    is_end_line,
    parse_shelx,
)
from crystalx_core.residues import bare_label, residue_number, residue_order
from crystalx_core.structure import Site, Structure
from crystalx_core.symmetry import shelx_latt_symm

# What a fresh .ins asks SHELXL for: 10 least-squares cycles, the 20 highest difference peaks of
# an Fo - Fc map, an .fcf of Fo² and Fc² (LIST 4), a simple weight, one overall scale.
DEFAULT_INSTRUCTIONS = ["L.S. 10", "PLAN 20", "FMAP 2", "LIST 4", "WGHT 0.1", "FVAR 1.0"]
RESIDUE_CLASS = "RES"  # the class a fresh .ins gives residues whose own class it was not told
_CLOSE = dict(rel_tol=1e-9, abs_tol=1e-7)


def _left_open(region: list[ShelxLine]) -> tuple[int, set[str]]:
    """(line of the atom list's last atom, the groups, AFIX and/or PART, that it is in and no
    line after it closes)."""
    atoms = [line for line in region if isinstance(line, AtomLine)]
    if not atoms:
        return 0, set()
    last = atoms[-1]
    after = [line.keyword for line in region if line.number > last.number]
    groups = {"AFIX"} if last.site and last.site.afix and "AFIX" not in after else set()
    if last.site and last.site.part and "PART" not in after:
        groups.add("PART")
    return last.number, groups


def _numbered(closings: list[tuple[int | None, str]]) -> list[tuple[float, str]]:
    """The closing AFIX 0 / PART 0 lines with the file line each goes at: the file's own at
    theirs, a new one just after them (before anything placed with them where there are
    none)."""
    own = [number for number, _ in closings if number is not None]
    at = max(own) + 0.5 if own else -1
    return [(at if number is None else number, text) for number, text in closings]


def _field(value: float, decimals: int, width: int) -> str:
    """Right-aligned in `width` columns like SHELXL, always at least one blank before it."""
    return " " + f"{value:.{decimals}f}".rjust(width - 1)


def _num(value: float) -> str:
    """Shortest plain decimal (at most 6 places): 90.0 → '90', 0.71073 → '0.71073'."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class _SiteWriter:
    """Writes sites as SHELX atom lines, opening and closing AFIX and PART groups as they
    change. A site read from the file (its `origin` line) keeps the original codes (free
    variables, fixed values, riding Uiso) wherever they still decode to the site's value."""

    def __init__(
        self,
        structure: Structure,
        sites: list[Site],
        fvars: list[float],
        newline: str,
        origins: dict[int, AtomLine] | None = None,
        fv_offset: int = 0,
        closing: Sequence[ShelxLine] = (),
    ):
        self.sfac_index = {element: k + 1 for k, element in enumerate(structure.sfac)}
        self.source = structure.source or None
        order = len(structure.symops)
        multiplicities = site_multiplicities(structure.with_sites(sites)) if sites else []
        self.sof_factor = [m / order for m in multiplicities]
        self.fvars, self.nl = fvars, newline
        self.fv_offset = fv_offset  # the file's own free variables come before the model's
        # every free variable as the FVAR written will hold them: the file's, then the model's
        self.all_fvars = [*(fvars or [1.0])][: fv_offset + 1] + free_variables(sites)
        self.origins = (
            origins or {}
        )  # line → atom as read: a mixed site's atoms keep their order and codes
        self.afix: tuple[int, ShelxLine | None] = (0, None)
        self.rigid: set[ShelxLine] = set()  # AFIX lines of the rigid group being written
        self.part: tuple[int, ShelxLine | None] = (0, None)
        self.previous_ueq: float | None = None
        self.previous_sof: float | None = None  # the sof code of the pivot of riding H
        self.previous_part = 0  # and its PART
        # PART → the sof codes of the file's atoms in it: the variable of an H put in a PART
        # other than its pivot's (riding._per_part)
        self.part_sofs: dict[int, list[float]] = {}
        for line in self.origins.values():
            if line.site and line.site.part and not is_hydrogen(line.site.element or ""):
                self.part_sofs.setdefault(line.site.part, []).append(line.sof_code)
        self.shift = _lattice_shift(sites)
        # the file's own AFIX 0 and PART 0 lines, and the file line of the last site written:
        # a group closed where the file closed it is closed by the user's line, as written
        # and in its order ('PART 0', 'AFIX 0' as SHELXL-2014 wrote FC_1979688); a PART 0
        # between two PART groups stays (the instructions after it stood outside either),
        # where 'PART 2' alone would end PART 1 too
        self.closing = sorted(closing, key=lambda line: line.number)
        self.last_line: int | None = None

    def emit(
        self, index: int, site: Site, origin: AtomLine | None, between: list[ShelxLine]
    ) -> list[str]:
        """`site` (the index-th written) with the group changes before it. The instructions
        `between` go after the groups that close here, and stay in file order with the
        original PART/AFIX lines of the groups that open."""
        atoms = site.with_mixed
        if self.origins and all(
            atom.line in self.origins for atom in atoms
        ):  # a file's mixed site: as it was
            atoms = sorted(atoms, key=lambda atom: atom.line)
        sources = [origin if atom is site else self.origins.get(atom.line) for atom in atoms]
        afix = (site.afix, origin.afix_line if origin and origin.site.afix == site.afix else None)
        interrupting, resumed, going_on = self._rigid_group(site, afix)
        if resumed and afix[0] % 10 != 5:  # the group was written unbroken: go on as AFIX m5
            afix = (afix[0] // 10 * 10 + 5, None)
        if going_on:  # the site before was the group's too: no AFIX line between them
            afix = self.afix
        # the PART of the atom written first (a mixed site's atoms may sit in PART 1 and 2)
        part = self._part(atoms[0], sources[0])
        out = []
        placed = [(line.number, line.text) for line in between]
        if part != self.part and afix == self.afix and afix[0] % 10 not in (5, 6, 9) and afix[0]:
            # riding H of one pivot in two PARTs (beside a disordered neighbour): SHELXL and
            # smtbx build a group of the H under one AFIX, all in one PART, so it opens again
            out.append("AFIX   0" + self.nl)
            self.afix = (0, None)
        before = origin.number if origin else None
        closings = []
        if afix != self.afix and self.afix[0] and not (interrupting or resumed):
            closings.append(self._closing("AFIX", before))
        if part != self.part and self.part[0]:
            own = self._closing("PART", before)
            if not part[0] or own[0] is not None:  # PART n ends PART m by itself
                closings.append(own)
        placed += _numbered(closings)
        for changed, (n, line), name in (
            (part != self.part, part, "PART {}"),
            (afix != self.afix, afix, "AFIX{:>4}"),
        ):
            if changed and n:
                text = name.format(n)
                if name.startswith("AFIX") and site.afix_d and is_hydrogen(site.element or ""):
                    text += f" {site.afix_d:g}"  # the user's X–H (AFIX mn d), kept
                placed.append((line.number, line.text) if line else (math.inf, text + self.nl))
        out += [text for _, text in sorted(placed, key=lambda item: item[0])]
        self.afix, self.part = afix, part
        for atom, source in zip(atoms, sources):
            if atom.part != self.part[0]:  # a mixed site's atom in a PART of its own
                self.part = self._part(atom, source)
                line = self.part[1]
                out.append(line.text if line else f"PART {atom.part}{self.nl}")
            out.append(self._atom_text(index, atom, source))
        self.last_line = origin.number if origin else self.last_line
        return out

    def _part(self, site: Site, origin: AtomLine | None) -> tuple[int, ShelxLine | None]:
        """(PART number, the file's own PART line to write for it, if it has one)."""
        part_line = origin.part_line if origin and origin.site.part == site.part else None
        if origin is None and site.part == self.part[0]:
            part_line = self.part[1]  # a new site (an added H) stays in its neighbour's PART
        return site.part, part_line

    def _rigid_group(self, site: Site, afix) -> tuple[bool, bool, bool]:
        """Whether `site` interrupts a rigid group (AFIX m6/m9, its H riding under their own
        AFIX), resumes the one interrupted, or goes on with it from the site before. SHELXL
        writes such a group AFIX 66, C1, C2, AFIX 43, H2, AFIX 65, C3, C4, ...: an AFIX 0 there
        would end the group short of its atoms, and AFIX 66 again would open another (manual,
        AFIX: n = 5, dependent atoms of a rigid group)."""
        code, line = afix
        if code and site.element and is_hydrogen(site.element) and self.rigid:
            return True, False, False
        if code % 10 not in (5, 6, 9) or line is None:
            self.rigid = set()
            return False, False, False
        same = line in self.rigid or (code % 10 == 5 and bool(self.rigid))
        inside = self.afix[0] % 10 in (5, 6, 9)  # the site before is a rigid group's
        if not same:
            self.rigid = set()  # another group opens
        self.rigid.add(line)
        return False, same and not inside, same and inside

    def _closing(self, keyword: str, before: int | None) -> tuple[int | None, str]:
        """(line number, text) of the file's own 'AFIX 0' or 'PART 0' between the last site
        written and the line `before` (None: the end of the atom list), else (None, a new
        one)."""
        after = self.last_line
        for line in self.closing if after is not None else ():
            if line.keyword == keyword and after < line.number < (before or math.inf):
                return line.number, line.text
        return None, ("AFIX   0" if keyword == "AFIX" else "PART 0") + self.nl

    def close(self, left_open: tuple[int, set[str]] = (0, set())) -> list[str]:
        """The AFIX 0 / PART 0 that end the atom list; `left_open` (the file's last atom line,
        the groups the file leaves open after it) are left open as the file left them when
        that atom is the last written (FC_SH2185 ends in PART 2 before HKLF)."""
        last, groups = left_open
        kept = groups if last and self.last_line == last else set()
        closings = [self._closing("AFIX", None)] if self.afix[0] and "AFIX" not in kept else []
        closings += [self._closing("PART", None)] if self.part[0] and "PART" not in kept else []
        self.afix, self.part = (0, None), (0, None)
        self.rigid = set()
        return [text for _, text in sorted(_numbered(closings), key=lambda item: item[0])]

    def _keep(self, value: float, code: float | None) -> float:
        """The original code if it still means `value`, else the value itself."""
        if code is not None and self._means(code, value):
            return code
        return _plain(value)

    def _means(self, code: float, value: float) -> bool:
        """Whether `code` decodes to `value` with the free variables written."""
        return math.isclose(decode_parameter(code, self.fvars, "", "", 0), value, **_CLOSE)

    def _atom_text(self, index: int, site: Site, origin: AtomLine | None) -> str:
        if site.is_peak:
            sfac = 1
        else:
            sfac = self.sfac_index.get(normalise_symbol(site.element))
            if sfac is None:
                raise ValueError(
                    f"site {site.label}: element {site.element} is not in SFAC "
                    f"{' '.join(self.sfac_index)}"
                )
        codes = origin.xyz_codes if origin else (None, None, None)
        xyz = "".join(
            _field(self._keep(*_shifted(v, c, t)), 6, 12)
            for v, c, t in zip(site.frac, codes, self.shift)
        )
        sof = site.occupancy * self.sof_factor[index]
        if site.free_variable:  # 10m + site factor: occupancy fv(m), or 1 - fv(m) when negative
            m = abs(site.free_variable) + self.fv_offset
            sof_code = math.copysign(10 * m + self.sof_factor[index], site.free_variable)
        elif origin and math.isclose(origin.sof, sof, **_CLOSE):
            sof_code = origin.sof_code
        elif site.input_variable and abs(site.input_variable[0]) <= len(self.fvars):
            m, c = site.input_variable  # the input's variable, as refined (FVAR written)
            coded = math.copysign(10 * abs(m) + c * self.sof_factor[index], m)
            if origin and self._means(origin.sof_code, sof):
                sof_code = origin.sof_code
            else:  # a code that no longer means the occupancy (a site made whole) is not kept
                sof_code = coded if self._means(coded, sof) else 10 + sof
        else:
            sof_code = self._riding_sof(site, origin, sof)
        head = f"{bare_label(site.label):<5} {sfac}" + xyz + _field(sof_code, 5, 12)
        if site.u_aniso is not None:
            u_codes = origin.u_codes if origin and len(origin.u_codes) == 6 else (None,) * 6
            try:
                u = [_field(self._keep(v, c), 5, 11) for v, c in zip(site.u_aniso, u_codes)]
            except ValueError:
                raise self._bad_u(site, site.u_aniso) from None
            split = 2 if len(head) + 22 <= 78 else 1  # a long label moves U22 down: ≤ 80 columns
            text = (
                head + "".join(u[:split]) + " =" + self.nl + "     " + "".join(u[split:]) + self.nl
            )
        else:
            try:
                text = head + _field(self._u_iso_code(site, origin), 5, 11)
            except ValueError:
                raise self._bad_u(site, (site.u_iso,)) from None
            if site.is_peak and site.peak_height is not None:
                text += _field(site.peak_height, 2, 9)
            text += self.nl
        if not site.is_peak and not is_hydrogen(site.element):
            self.previous_ueq = site.u_iso
            self.previous_sof = sof_code
            self.previous_part = site.part
        return text

    def _riding_sof(self, site: Site, origin: AtomLine | None, sof: float) -> float:
        """A new riding H's sof code: on its pivot's free variable, as SHELXL writes the H of a
        disordered group (-21 under a -21 atom, 30.33333 for a methyl's three H disordered over
        a threefold axis under a 30.33333 carbon), so that the H follow the refined occupancy;
        for an H in a PART other than its pivot's (beside a disordered neighbour), on the
        variable of the file's atom of that PART whose occupancy it has (21 / -21); else the
        occupancy fixed."""
        if origin is None and site.afix and is_hydrogen(site.element):
            if site.part and site.part != self.previous_part:
                for code in self.part_sofs.get(site.part, []):
                    coded = self._on_variable(code, sof, site.occupancy)
                    if coded is not None:
                        return coded
            if self.previous_sof:  # the pivot's (an H of a pivot less occupied than the PART)
                coded = self._on_variable(self.previous_sof, sof)
                if coded is not None:
                    return coded
        return 10 + sof

    def _on_variable(self, code: float, sof: float, occupancy: float | None = None):
        """`sof` as a code on the free variable of `code` (10m + p), if `code` has one (and
        that variable's share is `occupancy`, where given); else None."""
        m = int(abs(code) / 10 + 0.5)
        if not 1 < m <= len(self.all_fvars):
            return None
        fv = self.all_fvars[m - 1]
        share = fv if code > 0 else 1 - fv
        if occupancy is not None and not math.isclose(share, occupancy, abs_tol=1e-4):
            return None
        if share > 0 and sof / share < 5:
            return math.copysign(10 * m + sof / share, code)
        return None

    def _bad_u(self, site: Site, values) -> InputError:
        """A U that SHELX would read as a free-variable code (|U| >= 5 Å²) is the input's error."""
        return InputError(
            f"site {site.label}: displacement parameter {max(values, key=abs):g} Å² is not "
            "physical (U in units of 10⁻⁴ Å² without the scale?)",
            self.source,
            site.line,
        )

    def _u_iso_code(self, site: Site, origin: AtomLine | None) -> float:
        """Riding Uiso written back as SHELX's -1.2/-1.5 (× Ueq of the previous non-H atom)."""
        ratios = [1.2, 1.5] if is_hydrogen(site.element) else []
        if origin and len(origin.u_codes) == 1:
            code = origin.u_codes[0]
            if not RIDING_U[0] < code < RIDING_U[1]:
                return self._keep(site.u_iso, code)
            ratios.insert(0, -code)
        for ratio in ratios:
            if self.previous_ueq and math.isclose(site.u_iso, ratio * self.previous_ueq, **_CLOSE):
                return -ratio
        return _plain(site.u_iso)


_UNWRITABLE = 4.9999995  # a coordinate that rounds to |x| >= 5 reads back as a free-variable code


def _lattice_shift(sites: list[Site]) -> tuple[int, int, int]:
    """Whole cells to move every site by along each axis so that SHELX can write the
    coordinates: none where all can be written as they are, else the centroid goes into the
    first cell (a lattice translation of the whole model keeps molecules whole)."""
    shift = []
    for values in zip(*(site.frac for site in sites)):
        unwritable = max(abs(v) for v in values) >= _UNWRITABLE
        shift.append(-math.floor(sum(values) / len(values)) if unwritable else 0)
    return (*shift, *[0] * (3 - len(shift)))


def _shifted(value: float, code: float | None, shift: int) -> tuple[float, float | None]:
    """(coordinate, code) moved by `shift` cells, and an atom still out of reach alone
    into the first cell; a fixed coordinate stays fixed, here or where it was read moved (a
    MOVE applied, ShelxFile.moves), written 10 + x whatever x's sign (-0.7 as 9.3, as
    iotbx.shelx fvar_encoding writes a fixed value: SHELXL reads -10.7 as 0)."""
    moved = value + shift
    if abs(moved) >= _UNWRITABLE:
        moved -= math.floor(moved)
    if code is None or not 5 <= abs(code) < 15:
        return moved, code if moved == value else None
    return moved, 10 + moved


def _plain(value: float) -> float:
    """A value written as itself; SHELX would read |value| >= 5 as a 10m+p code."""
    if abs(value) >= 5:
        raise ValueError(f"{value:g} cannot be written as a SHELX parameter (|value| >= 5)")
    return value


def free_variables(sites: Sequence[Site]) -> list[float]:
    """Values of the free variables 2, 3, ... the sites' occupancies refine with
    (Site.free_variable), read back from the occupancies."""
    values: dict[int, float] = {}
    for site in sites:
        m = site.free_variable
        if m:
            values.setdefault(abs(m), site.occupancy if m > 0 else 1 - site.occupancy)
    return [values.get(m, 0.5) for m in range(2, max(values) + 1)] if values else []


def fvar_lines(values: Sequence[float]) -> list[str]:
    """FVAR instructions for the overall scale and free variables, seven values a line (80
    columns)."""
    return [
        "FVAR " + " ".join(f"{v:.5f}" for v in values[k : k + 7]) for k in range(0, len(values), 7)
    ]


def sump_lines(sums: Sequence[Sequence[int]], offset: int = 0) -> list[str]:
    """SUMP 1 0.01 1 m1 1 m2 ... for each set of the job's free variables that sum to one
    (Structure.occupancy_sums), numbered after the file's own `offset` variables."""
    return ["SUMP 1 0.01 " + " ".join(f"1 {m + offset}" for m in variables) for variables in sums]


def hfix_lines(groups: Sequence[tuple[int, Sequence[str]]], width: int = 80) -> list[str]:
    """One SHELX `HFIX code labels...` instruction per group, wrapped to `width` columns.

    SHELX continues an instruction when a line ends in ' =' and the next one starts with a
    blank, so every line but the last of an instruction keeps two columns for ' ='.
    """
    lines: list[str] = []
    for code, labels in groups:
        if not labels:
            continue  # a bare `HFIX code` would apply to every atom
        current = f"HFIX {code}"
        for index, label in enumerate(labels):
            is_last = index == len(labels) - 1
            if len(current) + 1 + len(label) + (0 if is_last else 2) <= width:
                current += " " + label
            else:
                lines.append(current + " =")
                current = " " + label
        lines.append(current)
    return lines


def _sfac_unit_lines(
    sfac: list[str], unit: list[float], long_form: dict[str, ShelxLine], newline: str
) -> tuple[list[str], str]:
    """SFAC line(s) (short form, long-form lines reused for their elements) and UNIT."""
    sfac_lines, short = [], []
    for element in sfac:
        if element in long_form:
            if short:
                sfac_lines.append("SFAC " + " ".join(short) + newline)
                short = []
            sfac_lines.append(long_form[element].text)
        else:
            short.append(element)
    if short:
        sfac_lines.append("SFAC " + " ".join(short) + newline)
    return sfac_lines, "UNIT " + " ".join(_num(n) for n in unit) + newline


def _atom_region(lines: list[ShelxLine]) -> tuple[int, int]:
    """[start, end) of the atom list: first atom/peak/AFIX/PART up to HKLF (else END)."""
    end = next((k for k, line in enumerate(lines) if line.keyword == "HKLF"), None)
    if end is None:
        end = next((k for k, line in enumerate(lines) if line.keyword == "END"), len(lines))
    start = next(
        (
            k
            for k, line in enumerate(lines[:end])
            if isinstance(line, AtomLine) or line.keyword in ("AFIX", "PART")
        ),
        end,
    )
    return start, end


def _renamed_and_gone(sites: list[Site], origins: dict[int, Site], structure: Structure):
    """Old label → new of the input's atoms (`origins`: each by its Site.line) the job renamed,
    and the labels of those it dropped
    (upper case, residue addresses). A dropped atom's label that the model gives another atom
    is gone all the same, unless that atom stands where it stood (within `_SAME_ATOM` Å) or is
    an H of the same pivot (riding H the job placed again under the user's names): else an
    instruction naming it would silently restrain another atom (C1's H1A given to N1's H)."""
    written = [atom for site in sites for atom in site.with_mixed]
    holder = {atom.label.upper(): atom for atom in written}
    renamed = {}
    for atom in written:
        origin = origins.get(atom.line)
        if origin is not None and origin.label.upper() != atom.label.upper():
            renamed[origin.label.upper()] = atom.label
    kept = {atom.line for atom in written}
    read = list(origins.items())
    gone = {
        site.label.upper()
        for number, site in read
        if number not in kept
        and not _same_atom(site, holder.get(site.label.upper()), read, written, structure)
    }
    return renamed, gone - set(renamed)


def _read_sites(origins: dict[int, AtomLine]) -> dict[int, Site]:
    """The sites the file's atom lines read, by line number."""
    return {number: line.site for number, line in origins.items() if line.site}


_SAME_ATOM = 0.3  # Å: an atom the job moved less than this is the one the file held


def _same_atom(old: Site, new: Site | None, read, written: list[Site], structure) -> bool:
    """Whether `new`, which holds the label of the file's dropped atom `old`, stands for it."""
    if new is None:
        return False

    def distance(a: Site, b: Site) -> float:
        step = np.subtract(a.frac, b.frac)
        return float(np.linalg.norm(structure.cartesian(step - np.round(step))))

    if distance(old, new) < _SAME_ATOM:
        return True
    if not (is_hydrogen(old.element or "") and is_hydrogen(new.element or "")):
        return False
    heavy_read = [(n, s) for n, s in read if not s.is_peak and not is_hydrogen(s.element or "")]
    heavy_now = [s for s in written if not s.is_peak and not is_hydrogen(s.element or "")]
    if not heavy_read or not heavy_now:
        return False
    pivot_then = min(heavy_read, key=lambda item: distance(old, item[1]))[0]
    pivot_now = min(heavy_now, key=lambda site: distance(new, site)).line
    return pivot_now == pivot_then


def _without_lone_rigid_groups(
    sites: list[Site], origins: dict[int, AtomLine], notes: list[str] | None
) -> list[Site]:
    """The sites, an atom left alone in the rigid group it opened (AFIX n = 6 or 9, as Olex2
    writes a water: AFIX 6, O10, H10A, H10B) out of it: its other members were H the job
    replaced, and a rigid group of one atom is no longer the group the file meant."""

    def group(site: Site) -> int | None:
        origin = origins.get(site.line)
        if origin is None or origin.afix_line is None or origin.site.afix != site.afix:
            return None
        return origin.afix_line.number

    members = Counter(group(site) for site in sites)
    out = []
    for site in sites:
        line = group(site)
        if site.afix % 10 in (6, 9) and line is not None and members[line] == 1:
            if notes is not None:
                notes.append(
                    f"AFIX {site.afix} (line {line}) held {site.label} with the H the job "
                    f"replaced: {site.label} written without it"
                )
            site = replace(site, afix=0)
        out.append(site)
    return out


def _riding_pivots(sites: list[Site]) -> set[str]:
    """Residue addresses (upper case) of the atoms whose H follow them in `sites` under an
    AFIX, or placed by the job (no line of the file: a water's or a strong hydrogen bond's H,
    refined without AFIX, are written after their atom too)."""
    pivots, pivot = set(), None
    for site in sites:
        if not is_hydrogen(site.element or ""):
            pivot = None if site.is_peak else site.label.upper()
        elif pivot and (site.afix or site.line is None):
            pivots.add(pivot)
    return pivots


def render_with_sites(
    shelx_file: ShelxFile,
    structure: Structure,
    hfix_groups=(),
    keep_peaks: bool = False,
    refined: bool = False,
    notes: list[str] | None = None,
    restraints: list[str] = (),
    extinction: float | None = None,
    suggested: str | None = None,
    weighting: str = "WGHT    0.100000",
    twin_fractions: tuple[float, ...] | None = None,
) -> str:
    """The file with its atom list replaced by `structure`'s sites.

    Every other instruction is kept verbatim and in order; those inside the atom list
    (RESI, REM, HTAB, ...) stay next to the atoms they followed when the sites keep their
    file order (Site.line). AFIX/PART lines are regenerated from Site.afix/part, reusing the
    original line (with its sof or AFIX parameters) where the group is unchanged. SFAC/UNIT
    are rewritten only when the structure's differ. `hfix_groups` ((code, labels), ...)
    become HFIX lines just before the atom list, for the atoms whose H `structure` does not
    hold (SHELXL's .res has riding H under AFIX and no HFIX for them); `restraints` (the
    DFIX/DANG that hold the H no AFIX rides: water's, riding.HydrogenPlan.restraints) after
    them. A `refined` structure's file ends at END: what SHELXL wrote after it (its R1
    summary, the Q peaks of its map) described the old model.
    Instructions naming atoms follow their new names (io.shelx_names); `notes` gets a note per
    instruction that had to become a REM line, and one for the file's HFIX of atoms whose riding
    H are written (io.shelx_names.hfix_without_riding_pivots). As SHELXL writes its .res, the
    file's EXTI line carries the refined `extinction`, and the WGHT line `suggested` for the
    next cycles goes after END (where SHELXL stops reading and Olex2 finds its proposed weight).
    A file without WGHT then gets `weighting`, the one refined with, before FVAR as SHELXL writes
    it: Olex2 takes a file's first WGHT for the one to refine with (pcxod/olex2 xlib/ins.cpp,
    TIns::_ParseIns), which would otherwise be the suggestion. The refined `twin_fractions`
    replace the BASF of a file with TWIN or HKLF 5, as SHELXL writes them; a TWIN without BASF
    (a perfect twin, its fractions kept equal) stays without; HKLF 5 without BASF gets one
    before FVAR (its fractions were refined from an estimate).
    """
    nl = shelx_file.newline
    lines = shelx_file.lines
    start, end = _atom_region(lines)
    sites = [site for site in structure.sites if keep_peaks or not site.is_peak]
    origins = {line.number: line for line in lines[start:end] if isinstance(line, AtomLine)}
    sites = _without_lone_rigid_groups(sites, origins, notes)
    renamed, gone = _renamed_and_gone(sites, _read_sites(origins), structure)
    followed, follow_notes = follow_renamed_atoms(lines[:end], renamed, gone)
    lines = [
        replace(line, text=followed[line.number]) if line.number in followed else line
        for line in lines
    ]
    riding = _riding_pivots(sites)
    hfix, hfix_notes = hfix_without_riding_pivots(
        lines[:end], riding, [site.label for site in sites]
    )
    if notes is not None:
        notes += follow_notes + hfix_notes
    lines = [
        replace(line, text=hfix[line.number]) if line.number in hfix else line for line in lines
    ]
    moving = moving_lines(shelx_file)
    lines = [
        replace(line, text=moving[line.number]) if line.number in moving else line for line in lines
    ]
    cards = shelx_file.cards
    hklf5 = shelx_file.hklf is not None and shelx_file.hklf.code == 5
    # as many BASF as written, continued with ' =' past 80 columns as SHELXL reads a line
    basf = _wrapped(["BASF", *(f"{v:.5f}" for v in twin_fractions or ())], "", nl)
    if twin_fractions and ("TWIN" in cards or hklf5) and "BASF" in cards:  # before or among atoms
        number = cards["BASF"].number
        lines = [replace(line, text=basf) if line.number == number else line for line in lines]
    pending = [
        line
        for line in lines[start:end]
        if not isinstance(line, AtomLine) and line.keyword not in ("AFIX", "PART")
    ]

    replaced: dict[int, list[str]] = {}
    fvar_numbers = [line.number for line in lines if line.keyword == "FVAR"]
    new_fvars = free_variables(sites)
    fvars = input_fvars(shelx_file.fvars, structure.free_variable_values)
    if new_fvars or fvars != shelx_file.fvars:  # the file's own as refined, the model's after
        fvar_text = [
            text + nl
            for text in fvar_lines([*(fvars or [1.0]), *new_fvars])
            + sump_lines(structure.occupancy_sums, max(len(fvars), 1) - 1)
        ]
        for number in fvar_numbers:
            replaced[number] = []
        if fvar_numbers:
            replaced[fvar_numbers[0]] = fvar_text
    if extinction is not None:  # SHELXL's EXTI stands in the .ins itself, never an include
        for number in [line.number for line in lines if line.keyword == "EXTI"][:1]:
            replaced[number] = [exti_line(extinction) + nl]
    used = [weighting + nl] if suggested and "WGHT" not in shelx_file.cards else []
    if twin_fractions and hklf5 and "BASF" not in cards and fvar_numbers:
        # HKLF 5 without BASF: its refined fractions before FVAR, as SHELXL orders BASF
        first = next(line for line in lines if line.number == fvar_numbers[0])
        replaced[first.number] = [basf] + replaced.get(first.number, [first.text])
    if used and fvar_numbers:
        first = next(line for line in lines if line.number == fvar_numbers[0])
        replaced[first.number] = used + replaced.get(first.number, [first.text])
        used = []
    if list(structure.sfac) != shelx_file.sfac or list(structure.unit) != shelx_file.unit:
        sfac_lines, unit_line = _sfac_unit_lines(
            structure.sfac, structure.unit, shelx_file.sfac_long, nl
        )
        sfac_numbers = [line.number for line in lines if line.keyword == "SFAC"]
        unit_numbers = [line.number for line in lines if line.keyword == "UNIT"]
        for number in sfac_numbers:
            replaced[number] = []
        if unit_numbers:
            replaced[unit_numbers[0]] = [unit_line]
        else:
            sfac_lines.append(unit_line)
        if sfac_numbers:
            replaced[sfac_numbers[0]] = sfac_lines

    def verbatim(block: list[ShelxLine]) -> list[str]:
        return [text for line in block for text in replaced.get(line.number, [line.text])]

    # no HFIX for an atom whose H are written as atoms: SHELXL would add them a second time
    groups = [
        (code, [a for a in labels if a.upper() not in riding]) for code, labels in hfix_groups
    ]
    out = verbatim(lines[:start]) + [line + nl for line in [*hfix_lines(groups), *restraints]]
    out += used  # no FVAR in the file: before the atoms, where FVAR would stand
    if new_fvars and not fvar_numbers:
        out += fvar_text
    offset = max(len(fvars), 1) - 1
    closing = [
        line
        for line in lines[start:end]
        if line.keyword in ("AFIX", "PART") and line.fields[:1] == ["0"]
    ]
    writer = _SiteWriter(structure, sites, fvars, nl, origins, offset, closing)
    for index, site in enumerate(sites):
        origin = origins.get(site.line)
        between = []
        while origin is not None and pending and pending[0].number < origin.number:
            between.append(pending.pop(0))
        out += writer.emit(index, site, origin, between)
    out += writer.close(_left_open(lines[start:end]))
    tail = lines[end:]
    if refined and not shelx_file.carries_reflections():  # HKLF -n: its data follow
        # lines after HKLF are not parsed into keywords: END is the first word
        ends = (k for k, line in enumerate(tail) if is_end_line(line.text))
        stop = next(ends, len(tail) - 1)
        tail = tail[: stop + 1]
    out += [line.text for line in pending]
    if "HKLF" not in shelx_file.cards:  # read as HKLF 4 (ShelxFile.reflection_format)
        if out and not out[-1].endswith(("\n", "\r")):  # the file's last line had no ending
            out[-1] += nl
        out += _hklf_for(shelx_file, nl, notes)
    out += verbatim(tail)
    if not any(is_end_line(line.text) for line in tail) and "HKLF" not in shelx_file.cards:
        out.append("END" + nl)
    if suggested and any(is_end_line(line.text) for line in tail):  # never read as an instruction
        out += [nl, suggested + nl]
    return _order_kept("".join(out), shelx_file.path, lines[:end], renamed, gone, notes)


def moving_lines(shelx_file: ShelxFile) -> dict[int, str]:
    """Line number → the REM that takes the place of each MOVE that moves atoms: they are read
    moved (ShelxFile.moved_notes) and written so, and SHELXL would move them again."""
    nl = shelx_file.newline
    return {
        line.number: "REM " + " ".join(["MOVE", *line.fields]) + " (applied: the atoms after it "
        "are written moved)" + nl
        for line in shelx_file.moves
    }


def _order_kept(text: str, path: str, read: list[ShelxLine], renamed, gone, notes) -> str:
    """`text` with each 'ANIS n' whose next n atoms are no longer the ones it meant written by
    name, and a note for each range or SAME that now spans other atoms (io.shelx_order)."""
    if not any(order_dependent(line) for line in read):
        return text
    try:
        written = parse_shelx(text, path, Path(path).parent).lines
    except InputError as error:  # an include file gone since it was read: say so, write on
        if notes is not None:
            notes.append(f"the order of atoms the SAME/ANIS n/ranges count not checked: {error}")
        return text
    physical = text.splitlines(keepends=True)
    said = []
    for before, after, kind, meant, now, residue in order_changes(read, written, renamed, gone):
        where = f"{before.text.split(None, 1)[0]} (line {before.number})"
        if kind == "ANIS" and after.text.count("\n") <= 1:
            physical[after.number - 1] = anis_by_name(after, meant, gone, residue)
            said.append(
                f"{where} meant {' '.join(meant)}, and the atoms after it are now others: "
                "written by name"
            )
        elif kind == "SAME":
            pairs = " ".join(f"{a}={b}" for a, b in meant)
            said.append(
                f"{where} made {pairs} alike, and the atoms after it are now others "
                f"({' '.join(b for _, b in now)}): check it"
            )
        elif kind == "ANIS":  # continued over lines: not rewritten in place
            said.append(
                f"{where} meant {' '.join(meant)}, and the atoms after it are now others: check it"
            )
        else:
            spans = "; ".join(" ".join(span or ("?",)) for span in meant)
            said.append(f"{where} spanned {spans} and now spans other atoms: check it")
    if notes is not None:
        notes += said
    return "".join(physical)


def _hklf_for(shelx_file: ShelxFile, nl: str, notes) -> list[str]:
    """'HKLF 4' for a file that has none, before its END: a job reads any reflections so, and
    SHELXL reads them only at the HKLF the .ins 'should always ... finish with' (manual,
    'Alphabetical list of SHELXL instructions'; a .res written without it stops SHELXL)."""
    if notes is not None:
        notes.append(
            f"{Path(shelx_file.path).name} has no HKLF instruction: the .res written ends with "
            "HKLF 4 (SHELXL needs one), the format reflections given with it are read in"
        )
    return ["HKLF 4" + nl]


def exti_line(value: float) -> str:
    """EXTI as SHELXL writes the refined value: 'EXTI    0.032253'."""
    return f"EXTI{value:12.6f}"


def input_fvars(given: list[float], refined: Sequence[float]) -> list[float]:
    """The file's FVAR values (overall scale first) with its free variables as refined
    (Structure.free_variable_values); the file's where the model holds none or lost one."""
    if not given or len(refined) != len(given) - 1 or not all(map(math.isfinite, refined)):
        return list(given)
    return [given[0], *refined]


def _with_free_variables(
    instructions: list[str], values: list[float], sums: Sequence[Sequence[int]] = ()
) -> list[str]:
    """The instructions with the free variables after the overall scale of their FVAR (a new
    FVAR at the end where they have none), and the SUMP of those that sum to one after it."""
    if not values:
        return list(instructions)
    out, placed = [], False
    for line in instructions:
        words = line.split()
        if words[:1] != ["FVAR"]:
            out.append(line)
        elif not placed:
            out += fvar_lines([float(words[1]) if len(words) > 1 else 1.0, *values])
            out += sump_lines(sums)
            placed = True
    return out if placed else out + fvar_lines([1.0, *values]) + sump_lines(sums)


def _zerr_lines(structure: Structure) -> list[str]:
    """ZERR Z and the cell's standard uncertainties (SHELXL manual: 'ZERR Z esd(a) esd(b)
    esd(c) esd(α) esd(β) esd(γ)', Z the formula units per cell); where Z is not known, one
    formula unit per asymmetric unit, said in a REM line."""
    su = " ".join(_num(v) for v in (structure.cell_su or (0,) * 6))
    if structure.formula_units:
        return [f"ZERR {_num(structure.formula_units)} {su}\n"]
    z = len(structure.symops)
    return [
        "REM Z not known (no _cell_formula_units_Z or formula): one per asymmetric unit\n",
        f"ZERR {z} {su}\n",
    ]


def new_ins_text(
    structure: Structure,
    instructions: list[str] | None = None,
    keep_peaks: bool = False,
    restraints: list[str] = (),
    suggested: str | None = None,
) -> str:
    """A fresh .ins for `structure`: header from the cell, symmetry and SFAC/UNIT, then
    `instructions` (default: a plain SHELXL least-squares setup) with `restraints` after its
    L.S., the sites (those of residues last, crystalx_core.residues.residue_order), HKLF 4,
    END, and after it the WGHT line `suggested` for the next cycles (as SHELXL writes it)."""
    latt, symm = shelx_latt_symm(structure.symops, structure.source, structure.symmetry_line)
    title = " ".join((structure.title or "crystalx").split())[:75]  # TITL fits 80 columns
    sfac_lines, unit_line = _sfac_unit_lines(structure.sfac, structure.unit, {}, "\n")
    out = [
        f"TITL {title}\n",
        "CELL " + " ".join(_num(v) for v in (structure.wavelength, *structure.cell)) + "\n",
        *_zerr_lines(structure),
        f"LATT {latt}\n",
    ]
    out += [f"SYMM {op.upper()}\n" for op in symm]
    out += sfac_lines + [unit_line]
    if structure.temperature_c is not None:
        out.append(f"TEMP {structure.temperature_c:.1f}\n")
    if instructions is None:
        instructions = DEFAULT_INSTRUCTIONS
    instructions = instructions[:1] + list(restraints) + instructions[1:]
    sites = [site for site in structure.sites if keep_peaks or not site.is_peak]
    out += [
        line + "\n"
        for line in _with_free_variables(
            instructions, free_variables(sites), structure.occupancy_sums
        )
    ]
    sites = [sites[k] for k in residue_order([site.label for site in sites])]
    writer = _SiteWriter(structure, sites, [], "\n")
    residue = 0  # atoms of residue 2 (labelled C1_2) go under RESI 2, written as C1
    for index, site in enumerate(sites):
        if residue_number(site.label) != residue:
            residue = residue_number(site.label)
            out += writer.close() + [f"RESI {residue} {RESIDUE_CLASS}\n"]
        out += writer.emit(index, site, None, [])
    out += writer.close()
    out += ["HKLF 4\n", "END\n"]
    if suggested:
        out += ["\n", suggested + "\n"]
    return "".join(out)
