"""SHELX .ins/.res files, read line by line so that nothing the user wrote is lost.

Modelled on dkratzert/ShelXFile: every instruction (one physical line, or several joined
by an `=`, after which SHELXL ignores the rest of the line; a next line that does not start
with a blank, as the manual's continuation lines must, is joined as Olex2 joins it, and
noted) becomes a ShelxLine that keeps its verbatim text and its 1-based line number.
`render()` therefore gives the file back byte for byte, every error names the line, and the
writer (`io.shelx_write.render_with_sites`) can swap the atom list while every other
instruction stays.

Site occupancies in a Structure are chemical (as in a CIF); the SHELX sof also carries the
site-symmetry factor (0.25 for an atom on a 4-fold special position), so both are converted
with the site multiplicities on the way in (and by the writer on the way out).

As SHELXL reads it (its manual, "Alphabetical list of SHELXL instructions"): HKLF ends the
instructions (what follows is kept but not read), and `+file` / `++file` in column 1 read the
instructions of that file, from the folder of the .ins, up to its END.
"""

from __future__ import annotations

import codecs
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path

import numpy as np
from cctbx import sgtbx, uctbx

from crystalx_core.crystallography.convert import u_eq
from crystalx_core.elements import is_hydrogen, normalise_symbol
from crystalx_core.errors import InputError
from crystalx_core.io.files import line_end, read_input_bytes
from crystalx_core.io.shelx_fragments import (
    FIRST_FITTED_CODE,
    MIN_PLACED,
    Fragment,
    fitted_fractional,
    is_placeholder,
)
from crystalx_core.io.hkl import (
    INVERSION,
    REFINED_HKLF,
    TWIN_WITH_HKLF5,
    HklfFormat,
    Twin,
    xray_problem,
)
from crystalx_core.geometry import chemical_occupancies
from crystalx_core.residues import residue_address
from crystalx_core.structure import (
    MAX_SITES,
    Site,
    Structure,
    cell_problem,
    grouped_mixed_sites,
)
from crystalx_core.symmetry import full_operator_list, metric_problem, space_group_from_shelx

# SHELXL instructions, plus those of SHELXS/SHELXD/SHELXT that turn up in .ins/.res files.
# Only the part before '_' counts (SADI_CCF3 is SADI for residue class CCF3).
KEYWORDS = frozenset(
    """
    ABIN ACTA AFIX ANIS ANSC ANSR BASF BEDE BIND BLOC BOND BUMP CELL CGLS CHIV CONF CONN DAMP
    DANG DEFS DELU DFIX DISP EADP END EQIV EXTI EXYZ FEND FLAT FMAP FRAG FREE FVAR GRID HFIX
    HKLF HOPE HTAB ISOR LATT LAUE LIST L.S. LONE MERG MOLE MORE MOVE MPLA NCSY NEUT OMIT PART
    PLAN PRIG REM RESI RIGU RTAB SADI SAME SFAC SHEL SIMU SIZE SPEC STIR SUMP SWAT SYMM TEMP
    TITL TWIN TWST UNIT WGHT WIGL WPDB XNPD ZERR
    DSUL EGEN ESEL FIND FRIE INIT MIND NTRY PATS PATT PHAN PRES PSEE SEED SKIP SPIN TEXP TIME
    TREF VECT""".split()
)
_INTEGER = re.compile(r"[+-]?\d+$")
_UNCONTINUED = ("REM", "TITL", "SYMM", "EQIV")  # an '=' in these is text, not a continuation
MAX_INCLUDE_DEPTH = 8  # nested +file instructions; deeper is a loop
_HKL_SOURCE = re.compile(r'^REM\s+<HklSrc\s+"([^"]*)"', re.IGNORECASE)  # Olex2's extras
_PEAK_LABEL = re.compile(r"Q\d+$", re.IGNORECASE)
IDENTITY_MOVE = (0.0, 0.0, 0.0, 1.0)  # MOVE dx dy dz sign as SHELXL defaults them: no move
RIDING_U = (-5.0, -0.5)  # a Uiso in this range means |U| × Ueq of the previous non-H atom
MAX_WAVELENGTH = 10.0  # Å; beyond any X-ray or neutron source used for crystal structures
TEMPERATURE_RANGE = (-273.15, 1500.0)  # °C
MIN_U_ISO = (
    -0.05
)  # Å²: a little below zero happens in real refinements (non-positive definite), more is a typo


@dataclass(eq=False)
class ShelxLine:
    """One instruction as written: `text` is verbatim, continuation lines and newlines included.

    kind is one of instruction, atom, peak, comment (REM, '!' or a line starting with a
    blank, which SHELX ignores), blank, unknown (kept opaque), fragment (inside FRAG..FEND),
    include (+file, read in place) and trailer (after HKLF or END).
    """

    number: int
    text: str
    kind: str
    keyword: str = ""
    fields: list[str] = field(default_factory=list)
    included: list["ShelxLine"] = field(default_factory=list)  # an include file's instructions


@dataclass(eq=False)
class AtomLine(ShelxLine):
    """An atom or Q-peak with the SHELX codes as written (kept so a rewrite keeps the
    free-variable and fixed-parameter encodings) and the Site they decode to."""

    site: Site | None = None
    xyz_codes: tuple[float, float, float] = (0.0, 0.0, 0.0)
    sof_code: float = 11.0
    u_codes: tuple[float, ...] = ()  # () default, (Uiso,) or (U11, U22, U33, U23, U13, U12)
    sof: float = 1.0  # decoded SHELX sof (chemical occupancy × site-symmetry factor)
    afix_line: ShelxLine | None = None  # the AFIX and PART instructions in force
    part_line: ShelxLine | None = None


def checked_basf(words: list[str], path: str, line: int | None = None) -> tuple[float, ...]:
    """BASF k1 k2 ... as twin fractions. A value beyond ±1 is no fraction: in SHELXL's
    parameter code 10 + x fixes x and 20 + x ties it to free variable 2; no source at hand
    confirms SHELXL reads BASF so, and we cannot hold or tie a fraction, so such a value stops
    the job naming the line rather than being clamped to 1 (s18twinfix). A slightly negative
    BASF, as SHELXL writes one refined below zero, still starts the refinement from 0."""
    if not all(_is_number(v) for v in words):
        raise InputError(f"BASF: not a number in {' '.join(words)!r}", path, line)
    fractions = tuple(float(v) for v in words)
    beyond = [w for w, v in zip(words, fractions) if abs(v) > 1.0]
    if beyond:
        raise InputError(
            f"BASF {' '.join(beyond)}: a twin fraction lies in [0, 1]; a fixed or free-variable "
            "coded BASF (SHELXL's 10 + x, 20 + x) is not supported: give the fraction itself",
            path,
            line,
        )
    return fractions


def checked_twin(
    twin_words: list[str],
    basf_words: list[str],
    path: str,
    line: int | None = None,
    basf_line: int | None = None,
) -> Twin:
    """TWIN [r11..r33 [N]] and BASF k1.. as SHELXL's manual defines them (default the inversion
    and N 2; a negative N even, adding the inverted components; BASF: components 2..|N|),
    checked: a matrix that is not whole numbers (HKLF 4 data need whole indices for every
    component), not of determinant ±1, or more BASF than components stop the job naming the
    line. The .ins reader and the service's request both read their TWIN here."""
    values = [float(v) for v in twin_words if _is_number(v)]
    if len(values) != len(twin_words) or len(values) not in (0, 9, 10):
        raise InputError(
            "TWIN takes nine matrix elements and N (or nothing: the inversion, N 2), got "
            f"{' '.join(twin_words)!r}",
            path,
            line,
        )
    matrix = INVERSION
    if values:
        if any(abs(v - round(v)) > 1e-6 for v in values):
            raise InputError(
                "TWIN: the matrix and N must be whole numbers for HKLF 4 data (a "
                "non-merohedral twin's fractional law needs HKLF 5 data, each component's "
                "indices given in the reflection file, and no TWIN)",
                path,
                line,
            )
        numbers = [int(round(v)) for v in values]
        matrix = tuple(tuple(numbers[3 * i : 3 * i + 3]) for i in range(3))
    n = int(round(values[9])) if len(values) == 10 else 2
    if abs(n) < 2 or (n < 0 and n % 2):
        raise InputError(
            f"TWIN N = {n}: at least 2 components, and an even number where N is negative "
            "(the inverted ones doubling them)",
            path,
            line,
        )
    if abs(round(float(np.linalg.det(np.array(matrix, dtype=float))))) != 1:
        raise InputError(
            "TWIN: the matrix must have determinant ±1 (a twin law keeps the cell volume)",
            path,
            line,
        )
    fractions = checked_basf(basf_words, path, basf_line)
    if len(fractions) > abs(n) - 1:
        raise InputError(
            f"BASF gives {len(fractions)} fractions for TWIN's {abs(n)} components (one "
            f"per component after the first: {abs(n) - 1})",
            path,
            basf_line,
        )
    return Twin(matrix, n, fractions, where=f"{path}:{line}" if line else path)


@dataclass
class ShelxFile:
    path: str
    lines: list[ShelxLine]
    encoding: str = "utf-8"
    title: str = ""
    wavelength: float = 0.71073
    cell: tuple[float, float, float, float, float, float] | None = None
    latt: int = 1
    symm: list[str] = field(default_factory=list)
    symops: list[str] = field(default_factory=list)
    sfac: list[str] = field(default_factory=list)
    sfac_long: dict[str, ShelxLine] = field(default_factory=dict)  # element → long-form SFAC
    unit: list[float] = field(default_factory=list)
    # DISP E f' f'' [mu], else a long-form SFAC's f' f'': element → (f', f''), which SHELXL
    # uses instead of its own tables
    dispersion: dict[str, tuple[float, float]] = field(default_factory=dict)
    dispersion_lines: dict[str, ShelxLine] = field(default_factory=dict)  # where each was read
    # DISP lines without both f' and f'': (element, line)
    partial_disp: list[tuple[str, ShelxLine]] = field(default_factory=list)
    fvars: list[float] = field(default_factory=list)
    hklf: HklfFormat | None = (
        None  # the HKLF instruction as written; reflection_format() says if it can be read
    )
    temperature_c: float | None = None
    wght: tuple[float, ...] | None = None  # the first WGHT's numbers (SHELXL's defaults: 0.1)
    exti: float | None = None  # the first EXTI's value (None: no extinction refined)
    cards: dict[str, ShelxLine] = field(
        default_factory=dict
    )  # first CELL, HKLF, TWIN, BASF, NEUT, ... line
    # lines read as the continuation of a line ending in '=' that do not start with a blank
    # as the manual's continuation lines must: 'line (of file)'
    unindented: list[str] = field(default_factory=list)
    moves: list[ShelxLine] = field(default_factory=list)  # the MOVE lines that move atoms

    def reflection_format(self) -> HklfFormat:
        """How the reflections this file refines against are to be read (its HKLF instruction);
        an InputError naming the instruction for data CrystalX cannot refine (HKLF 6 twins,
        Laue or neutron data, a wavelength that is not X-ray, TWIN with HKLF 5), never a silent
        reading as HKLF 4. A TWIN, or HKLF 5's components with their BASF, comes with it
        (HklfFormat.twin): the data are refined as twinned."""

        def refuse(keyword: str, why: str) -> InputError:
            return InputError(
                f"{keyword}: {why}; CrystalX refines X-ray HKLF 4 (or 3) data, with or "
                "without TWIN, and HKLF 5 twins only (refine this one in SHELXL or Olex2)",
                self.path,
                self.cards[keyword].number,
            )

        hklf = self.hklf or HklfFormat()
        if hklf.code == 5 and "TWIN" in self.cards:
            raise InputError(
                TWIN_WITH_HKLF5,
                self.path,
                self.cards["TWIN"].number,
            )
        twin = self.hklf5_twin() if hklf.code == 5 else self.twin()
        if "NEUT" in self.cards:
            raise refuse("NEUT", "neutron scattering lengths")
        for element, card in self.sfac_long.items():
            numbers = [float(v) for v in card.fields[1:]]
            if len(numbers) >= 9 and not any(numbers[:8]) and numbers[8]:
                raise InputError(
                    f"SFAC {element} gives a scattering length, not X-ray form factor coefficients "
                    "(neutron data); CrystalX refines X-ray data only",
                    self.path,
                    card.number,
                )
        problem = xray_problem(self.wavelength)
        if problem:
            cell = self.cards.get("CELL")
            raise InputError(f"CELL: {problem}", self.path, cell.number if cell else None)
        if hklf.code not in REFINED_HKLF:
            what = {
                6: "twin data (HKLF 6 components)",
                2: "Laue data with a wavelength per reflection",
                1: "F data in an old format",
            }
            raise refuse("HKLF", what.get(hklf.code, f"reflection format {hklf.code}"))
        notes = self._not_honoured()
        hklf = replace(hklf, notes=notes) if notes else hklf
        return replace(hklf, twin=twin) if twin is not None else hklf

    def twin(self) -> Twin | None:
        """The file's TWIN with its BASF fractions, as SHELXL's manual defines them (TWIN
        [r11..r33 [N]], default the inversion and N 2; a negative N even, adding the inverted
        components; BASF k1..: components 2..|N|); None without TWIN. A matrix that is not
        whole numbers (HKLF 4 data need whole indices for every component) or more BASF than
        components stop the job naming the line."""
        card = self.cards.get("TWIN")
        if card is None:
            return None
        basf = self.cards.get("BASF")
        return checked_twin(
            card.fields,
            basf.fields if basf is not None else [],
            self.path,
            card.number,
            basf.number if basf is not None else None,
        )

    def hklf5_twin(self) -> Twin:
        """The twin of HKLF 5 data: BASF k1.. the fractions of components 2.. (SHELXL manual,
        BASF; olex2's cctbx_olex_adapter.py gives HKLF 5's twin fractions the BASF so); how
        many components there are the reflection file says (hkl.hklf5_format), which checks
        the BASF against them."""
        basf = self.cards.get("BASF")
        words = basf.fields if basf is not None else []
        fractions = checked_basf(words, self.path, basf.number if basf is not None else None)
        where = f"{self.path}:{basf.number}" if basf is not None else self.path
        return Twin(n=2, fractions=fractions, where=where, hklf5=True)

    def _not_honoured(self) -> tuple[str, ...]:
        """What the refinement reads but does not do as written: batch scales, the user's own
        form factors (cctbx's tables instead; f' and f'' are used as given) and a DISP without
        both f' and f''."""
        notes = []
        hklf5 = self.hklf is not None and self.hklf.code == 5  # BASF: HKLF 5's fractions
        if "BASF" in self.cards and "TWIN" not in self.cards and not hklf5:  # TWIN's fractions
            notes.append(
                f"BASF (line {self.cards['BASF'].number}): batch scale factors are not refined; "
                "every batch shares one scale"
            )
        for element, card in self.sfac_long.items():
            given, used = self.dispersion_lines.get(element), ""
            if given is card:
                used = "; its f' and f'' are used"
            elif given is not None:
                used = f"; the f' and f'' of DISP (line {given.number}) are used"
            notes.append(
                f"SFAC {element} (line {card.number}): the standard form factor of {element} is "
                f"used, not the Gaussian coefficients given{used}"
            )
        for element, card in self.partial_disp:
            given = self.dispersion_lines.get(element)
            used = "the tables' values" if given is None else f"those of line {given.number}"
            notes.append(
                f"DISP {element} (line {card.number}): f' and f'' not both given; {used} used"
            )
        return tuple(notes)

    def continuation_notes(self) -> tuple[str, ...]:
        """A note naming the lines joined to a line ending in '=' though they do not start with
        a blank (the manual's continuation lines must): read as Olex2 reads them, which may not
        be what the user meant ('REM ...' there takes the place of the continuation)."""
        if not self.unindented:
            return ()
        many = "s" if len(self.unindented) > 1 else ""
        return (
            f"line{many} {', '.join(self.unindented)} of {Path(self.path).name}: after a line "
            "ending in '=' but not starting with a blank as a continuation line must; read as "
            "its continuation, as Olex2 reads it (indent it, or drop the '=', to say which)",
        )

    def unread_notes(self) -> tuple[str, ...]:
        """A note naming the lines that are neither an instruction nor an atom (a misspelt
        instruction, 'SADY C1 C2'), which SHELXL stops at: kept in the .res as written, never
        read, and said so rather than left out unseen."""
        unread: list[str] = []

        def walk(lines, where=""):
            for line in lines:
                if line.kind == "include":
                    walk(line.included, f" of {line.fields[0]}")
                elif line.kind == "unknown":
                    unread.append(f"{line.number}{where} ({line.fields[0]})")

        walk(self.lines)
        if not unread:
            return ()
        many = "s" if len(unread) > 1 else ""
        return (
            f"line{many} {', '.join(unread)} of {Path(self.path).name}: neither a SHELX "
            f"instruction nor an atom (label, SFAC number, x y z): not read, kept as written",
        )

    def moved_notes(self) -> tuple[str, ...]:
        """A note for each MOVE that moves the atoms after it: read at x = dx + sign*x, as
        SHELXL reads them (SHELXL manual, 'MOVE dx[0] dy[0] dz[0] sign[1]'), so that contacts
        across symmetry are the refined structure's; the .res written has them moved, its MOVE
        a REM (io.shelx_write.moving_lines), or SHELXL would move them again."""
        notes = []
        every = [
            ln.number for ln in self.lines if ln.kind == "instruction" and ln.keyword == "MOVE"
        ]
        for line in self.moves:  # each holds until the next MOVE, 'MOVE 0 0 0 1' too
            until = min((n for n in every if n > line.number), default=math.inf)
            moved = sum(1 for atom in self.atoms if line.number < atom.number < until)
            notes.append(
                f"MOVE (line {line.number}) of {Path(self.path).name}: the {moved} atom(s) after "
                "it read moved, x = dx + sign*x, as SHELXL reads them; the .res written has them "
                "moved and the MOVE as a REM"
            )
        return tuple(notes)

    @property
    def atoms(self) -> list[AtomLine]:
        return [line for line in self.lines if isinstance(line, AtomLine)]

    @property
    def newline(self) -> str:
        first = self.lines[0].text if self.lines else ""
        return next((end for end in ("\r\n", "\n", "\r") if first.endswith(end)), "\n")

    def carries_reflections(self) -> bool:
        """Whether reflections follow the HKLF instruction in the file itself (a negative HKLF)."""
        hklf = self.cards.get("HKLF")
        return hklf is not None and hklf.fields[0].startswith("-")

    def inline_reflections(self) -> str | None:
        """The reflections that follow `HKLF -n` in the file itself (SHELX-76's way), as text
        whose line numbers are the file's; None where HKLF is not negative."""
        if not self.carries_reflections():
            return None
        hklf = self.cards["HKLF"]
        after = [line.text for line in self.lines if line.number > hklf.number]
        return self.newline * hklf.number + "".join(after)

    def hkl_source(self) -> Path | None:
        """The reflection file Olex2 names in its extras (`REM <HklSrc "%.\\name.hkl">`, '%.'
        standing for the folder of this file; a path from elsewhere is looked for here by its
        name); None without one."""
        for line in self.lines:
            found = _HKL_SOURCE.search(line.text)
            if found:
                value = found.group(1)
                parts = [part for part in re.split(r"[\\/]+", value.removeprefix("%.")) if part]
                if not parts:
                    return None
                folder = Path(self.path).parent
                return folder.joinpath(*parts) if value.startswith("%.") else folder / parts[-1]
        return None

    def render(self) -> str:
        """The file exactly as read."""
        return "".join(line.text for line in self.lines)

    def to_structure(self, group_mixed: bool = True) -> Structure:
        """Cell, symmetry, SFAC/UNIT and every atom and peak before END, in file order; atoms
        sharing one position (EXYZ) as one mixed site unless group_mixed is False."""
        sites = [replace(atom.site) for atom in self.atoms]
        return Structure(
            cell=self.cell,
            symops=list(self.symops),
            sites=grouped_mixed_sites(sites) if group_mixed else sites,
            sfac=list(self.sfac),
            unit=list(self.unit),
            wavelength=self.wavelength,
            temperature_c=self.temperature_c,
            title=self.title,
            source=self.path,
            free_variable_values=tuple(self.fvars[1:]),
            input_sums=occupancy_sums(self),
            dispersion=dict(self.dispersion),
        )


def _decoded(data: bytes) -> tuple[str, str]:
    """Text and the encoding that gives the bytes back: UTF-8 (with its byte order mark, as
    Windows editors save it), else Latin-1."""
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def read_shelx(path) -> ShelxFile:
    """Read a .ins/.res file (line endings kept); `+file` includes from its folder."""
    path = str(path)
    text, encoding = _decoded(read_input_bytes(path, "SHELX file"))
    shelx = parse_shelx(text, path, folder=Path(path).parent)
    shelx.encoding = encoding
    return shelx


def parse_shelx(text: str, path: str = "<string>", folder: Path | None = None) -> ShelxFile:
    """Parse .ins/.res text; `+file` includes are read from `folder` (refused without one)."""
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise InputError("binary data (NUL byte) in a SHELX file", path, line)
    _refuse_cif(text, path)
    return _Parser(path, folder).parse(text)


def _refuse_cif(text: str, path: str) -> None:
    """A CIF saved or renamed as .res/.ins opens with data_ (after '#' comments), which no
    SHELX file does: said so, instead of an error deep inside it (a ';' text field's word
    'symmetry' read as SYMM)."""
    for number, line in enumerate(io.StringIO(text, newline=None), 1):  # lazily: a 50 MB file
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0].lower().startswith("data_"):
            raise InputError(
                f"a CIF ({words[0][:40]}), not a SHELX file: give it the .cif suffix", path, number
            )
        return


def _physical_lines(text: str) -> list[str]:
    """Lines with their endings, as line_end says they end (a '\\f' within one does not)."""
    end = line_end(text)
    pieces = text.split(end)
    lines = [piece + end for piece in pieces[:-1]]
    return lines + [pieces[-1]] if pieces[-1] else lines


def _content(physical: str) -> str:
    """A line without its ending and its '!' comment."""
    return physical.rstrip("\r\n").split("!", 1)[0].rstrip()


def _instruction_text(physical: str, keyword: str) -> str:
    """What SHELXL reads of a line: up to '!' and, but in TITL/SYMM/EQIV/REM, up to '='."""
    content = _content(physical)
    return content if keyword in _UNCONTINUED else content.split("=", 1)[0]


def _keyword(token: str) -> str:
    """'SADI_CCF3' → 'SADI', 'fmap' → 'FMAP'; '' when the token is not an instruction."""
    head = token.upper().split("_", 1)[0]
    if head in KEYWORDS:
        return head
    return head[:4] if len(head) > 4 and head[:4] in KEYWORDS else ""


def resi_fields(fields: list[str]) -> tuple[int, str]:
    """(residue number, class, upper case) of a RESI instruction's fields, which SHELXL takes
    in either order (`RESI class number [alias]`); 0 and '' where one is missing."""
    numbers = [word for word in fields[:2] if _INTEGER.match(word)]
    names = [word.upper() for word in fields[:2] if not _INTEGER.match(word)]
    return (int(numbers[0]) if numbers else 0), (names[0] if names else "")


def is_end_line(text: str) -> bool:
    """Whether a physical line is SHELX's END: the keyword in the first column (an indented
    line continues the one before)."""
    return bool(text[:1].strip()) and _keyword(text.split()[0]) == "END"


def decode_parameter(
    code: float, fvars: list[float], what: str, path: str, line: int, source: str = ""
) -> float:
    """SHELX parameter codes: |code| < 5 is the value; 10m+p (|p| < 5) is p fixed for m = 1,
    p × fv(m) for m > 1, and -(10m+p) is p × (1 - fv(m)). `source` says where a code not
    on the line itself came from (a PART's sof)."""
    if abs(code) < 5:
        return code
    m, p = _variable(code)
    # 10 + p fixes p, whatever its sign: 9.99716 is -0.00284 (SHELXL, iotbx.shelx). -(10 + p)
    # SHELXL fixes at 0 (iotbx.shelx parsers.decode_variables, m = -1: 'ShelXL does indeed
    # behave so'), where a hand-written -10.5 surely meant -0.5: neither reading is safe
    if m == 1 and code < 0:
        raise InputError(
            f"{what} {code:g}{source}: SHELXL fixes a code from -15 to -5 at 0, not at "
            f"{-p:g}; write {10 - p:g} to fix {-p:g}, or 10 to fix 0",
            path,
            line,
        )
    if m == 1:
        return p
    if m > len(fvars):
        defined = f"FVAR defines 1..{len(fvars)} only" if fvars else "no FVAR comes before it"
        raise InputError(
            f"{what} {code:g}{source} refers to free variable {m if m < 10**6 else f'{m:.4g}'}, "
            f"but {defined}",
            path,
            line,
        )
    return p * fvars[m - 1] if code > 0 else p * (1 - fvars[m - 1])


def _variable(code: float) -> tuple[int, float]:
    """(m, p) of a SHELX code ±(10m + p), p = |code| − 10m with its sign (19 → (2, −1): −fv(2);
    −21 → (2, 1): 1 − fv(2)), as decode_parameter reads it; m 0 for a plain value (p its size)."""
    if abs(code) < 5:
        return 0, abs(code)
    m = int(abs(code) / 10 + 0.5)
    return m, round(abs(code) - 10 * m, 9)  # 10.33333 → 0.33333, not 0.33333000000000013


# instructions whose first number may be a free variable (SHELXL manual: DFIX/DANG d, CHIV V)
_VARIABLE_TARGETS = frozenset(("DFIX", "DANG", "CHIV"))


def _flattened(lines) -> Iterator[ShelxLine]:
    """The lines in file order, those of +include files where they are included."""
    for line in lines:
        if line.kind == "include":
            yield from _flattened(line.included)
        else:
            yield line


def _occupancy_sum(line: ShelxLine) -> tuple[float, tuple[tuple[float, int], ...]] | None:
    """SUMP c sigma c1 m1 c2 m2 ... over two or more free variables (m >= 2) as (c, ((c1,
    m1), (c2, m2), ...)); None for any other line."""
    if line.kind != "instruction" or line.keyword != "SUMP":
        return None
    numbers = [float(w) for w in line.fields if _is_number(w)]
    variables = numbers[3::2]
    if len(numbers) != len(line.fields) or len(numbers) % 2 or len(variables) < 2:
        return None
    if not all(m == int(m) and m >= 2 for m in variables):
        return None
    return numbers[0], tuple(zip(numbers[2::2], map(int, variables)))


def occupancy_sums(shelx: ShelxFile) -> tuple[tuple[float, tuple[tuple[float, int], ...]], ...]:
    """The file's SUMP over free variables: the linear sums SHELXL restrains them to (SHELXL
    manual, SUMP), as a three-place disorder's variables are held to one
    (Structure.input_sums)."""
    return tuple(filter(None, map(_occupancy_sum, _flattened(shelx.lines))))


def occupancy_variables(shelx: ShelxFile) -> set[int]:
    """The free variables (m >= 2) that only tie occupancies: named by sof codes and by no
    coordinate, U, restraint target, AFIX/HFIX distance or U, or SUMP but one summing two or
    more variables (occupancy_sums). Those SHELXL refines as occupancies alone; the refinement
    here refines them so (under their SUMP) and holds any other (a distance on fv(2) as well)
    fixed."""
    in_sof, elsewhere = set(), set()
    for line in _flattened(shelx.lines):
        if isinstance(line, AtomLine):
            in_sof.add(_variable(line.sof_code)[0])
            elsewhere.update(_variable(c)[0] for c in (*line.xyz_codes, *line.u_codes))
        if line.kind != "instruction":
            continue
        numbers = [float(w) for w in line.fields if _is_number(w)]
        if line.keyword == "SUMP" and not _occupancy_sum(line):  # SUMP c sigma c1 m1 ...
            elsewhere.update(int(abs(v)) for v in numbers[3::2])
        elif line.keyword in _VARIABLE_TARGETS and numbers:
            elsewhere.add(_variable(numbers[0])[0])
        elif line.keyword in ("AFIX", "HFIX"):  # AFIX mn d sof U, HFIX mn U d
            d_and_u = numbers[1:4:2] if line.keyword == "AFIX" else numbers[1:3]
            elsewhere.update(_variable(v)[0] for v in d_and_u)
    refined = {m for m in in_sof - elsewhere if 2 <= m <= len(shelx.fvars)}
    # a SUMP left with one refined variable fixes it by the held ones: held too, as each that
    # holds may leave another SUMP with one (fv2 a DFIX target, SUMP 1 0.01 1 2 1 3: fv3 held)
    summed = [{m for _, m in terms} for _, terms in occupancy_sums(shelx)]
    # SUMPs sharing a variable are held as main held any SUMP: the refinement holds one sum
    # exactly per last variable, and would drop all but one of them
    refined -= {m for a, b in combinations(summed, 2) if a & b for m in a | b}
    while alone := set().union(*(ms & refined for ms in summed if len(ms & refined) == 1)):
        refined -= alone
    return refined


def _check_cell(cell: tuple[float, ...], path: str, line: int) -> None:
    problem = cell_problem(cell)
    if problem:
        raise InputError(f"CELL: {problem}", path, line)


class _Parser:
    """One pass over the instructions, tracking what SHELX tracks (AFIX, PART, FRAG, END)."""

    def __init__(self, path: str, folder: Path | None = None):
        self.path = path  # of the file being read: the .ins, or an include file within it
        self.folder = folder  # where +file includes are read from
        self.depth = 0  # of include files
        self.shelx = ShelxFile(path=path, lines=[])
        self.afix_line: ShelxLine | None = None
        self.part_line: ShelxLine | None = None
        self.in_fragment = False
        self.ended = False
        self.previous_ueq: float | None = None  # Ueq of the last non-H atom, for riding Uiso
        self.cards = self.shelx.cards  # CELL, LATT, SYMM, UNIT, ... lines for messages
        self.residue = 0  # of the last RESI
        self.label_lines: dict[str, int] = {}  # atom address (C1, C1_2) → its line
        self._unit_cell = None  # cctbx's, for Ueq (made once the first Uij are read)
        self.move: tuple[float, float, float, float] = IDENTITY_MOVE  # the last MOVE's
        self.atoms_read = 0  # atom and peak lines (a mixed site's each), against MAX_SITES
        self.fragments: dict[int, Fragment] = {}  # FRAG m ... FEND blocks by m
        self.fragment: Fragment | None = None  # the one open (its atoms follow)
        # AFIX m6/m9 (m >= 17) groups: the AFIX line and its atoms, fitted once all is read
        self.fitted_groups: list[tuple[ShelxLine, list[AtomLine]]] = []

    def error(self, message: str, line: int) -> InputError:
        return InputError(message, self.path, line)

    def parse(self, text: str) -> ShelxFile:
        physical = _physical_lines(text)
        self.shelx.lines.extend(self._cards(physical))
        self._finish(len(physical))
        return self.shelx

    def _cards(self, physical: list[str], stop_at_end: bool = False) -> Iterator[ShelxLine]:
        """The instructions in order, each read as it comes; with stop_at_end, those before
        END (how SHELXL reads an include file)."""
        index = 0
        while index < len(physical):
            first = physical[index]
            if stop_at_end and is_end_line(first):
                return
            count = self._continued(physical, index)
            yield self._card(index + 1, physical[index : index + count])
            index += count

    def _continued(self, physical: list[str], index: int) -> int:
        """How many physical lines the instruction starting at `index` spans."""
        first = physical[index]
        if self.ended or not first.strip() or first[0] in " \t!+":
            return 1
        if _keyword(first.split()[0]) in _UNCONTINUED:
            return 1
        count = 1
        while "=" in _content(physical[index + count - 1]):
            if index + count >= len(physical):
                raise self.error(
                    "the file ends inside a '=' continuation (truncated?)", index + count
                )
            following = physical[index + count]
            if not following.strip() and index + count + 1 == len(physical):
                # a copy cut after '=' and part of the blanks that start the next line: the
                # instruction would go on with nothing (an atom with U11 U22 read as Uiso)
                raise self.error(
                    "the file ends inside a '=' continuation (truncated?)", index + count + 1
                )
            if following.strip() and following[0] not in " \t":
                # SHELXL manual ('Alphabetical list of SHELXL instructions'): the instruction
                # goes on 'on the next line which must start with one or more spaces'. Olex2
                # (xlib/ins.cpp, TIns::Preprocess) and ShelXFile join the next line whatever
                # it starts with, and SHELXL's own reading of such a file is not documented:
                # read as they read it, and noted, rather than refuse a file they accept
                where = f" of {Path(self.path).name}" if self.depth else ""
                self.shelx.unindented.append(f"{index + count + 1}{where}")
            count += 1
        return count

    def _include(self, number: int, text: str) -> ShelxLine:
        """`+file` or `++file`: the instructions of that file up to its END, read here."""
        name = text.strip().lstrip("+").strip()
        if self.folder is None:
            raise self.error(f"include file {name!r}: cannot be read from here", number)
        if self.depth >= MAX_INCLUDE_DEPTH:
            raise self.error(
                f"include file {name!r}: include files nested over {MAX_INCLUDE_DEPTH} deep",
                number,
            )
        path = self.folder / name
        if not path.is_file():
            raise self.error(
                f"include file {name!r} not found in {self.folder} (SHELXL reads it from the "
                "folder of the .ins)",
                number,
            )
        text_in, _ = _decoded(read_input_bytes(str(path), "SHELX include file"))
        outer, self.path = self.path, str(path)
        self.depth += 1
        included = []
        try:
            for card in self._cards(_physical_lines(text_in), stop_at_end=True):
                included.append(card)
                if isinstance(card, AtomLine):
                    raise self.error(
                        f"atom {card.text.split()[0]} in an include file: SHELXL takes atoms "
                        "from the .ins itself only",
                        card.number,
                    )
        finally:
            self.path = outer
            self.depth -= 1
        return ShelxLine(number, text, "include", fields=[name], included=included)

    def _card(self, number: int, chunk: list[str]) -> ShelxLine:
        text = "".join(chunk)
        first = chunk[0]
        if self.ended:
            return ShelxLine(number, text, "trailer")
        if not first.strip():
            return ShelxLine(number, text, "blank")
        if first[0] in " \t!":
            return ShelxLine(number, text, "comment")
        if first[0] == "+":
            return self._include(number, text)
        keyword = _keyword(first.split()[0])
        tokens = " ".join(_instruction_text(line, keyword) for line in chunk).split()
        if self.in_fragment and keyword != "FEND":
            if _atom_shaped(tokens):
                self._fragment_atom(tokens, number)
            return ShelxLine(number, text, "fragment", fields=tokens)
        if keyword == "REM":
            return ShelxLine(number, text, "comment", "REM")
        if keyword:
            head = tokens[0]
            if len(head) > 4 and "_" not in head and _atom_shaped(tokens):
                raise self.error(
                    f"{head!r} reads as the instruction {keyword}: SHELX takes an instruction by "
                    "its first four letters, and an atom name has four at most (rename the atom)",
                    number,
                )
            fields = tokens[1:]
            if len(head) > 4 and "_" not in head and _is_number(head[4:]):
                fields = [head[4:], *fields]  # 'HKLF4': the instruction is its first four letters
            card = ShelxLine(number, text, "instruction", keyword, fields)
            self._instruction(card)
            return card
        if _atom_line(tokens):
            return self._atom(number, text, tokens)
        if len(tokens) >= 5 and all(map(_is_number, tokens[1:])):  # an atom, but for its SFAC
            raise self.error(  # number: left unread, it went missing from the job unsaid
                f"atom {tokens[0]}: SFAC number {tokens[1]!r} is not a whole number", number
            )
        return ShelxLine(number, text, "unknown", fields=tokens)

    def _numbers(self, card: ShelxLine, values: list[str], what: str) -> list[float]:
        try:
            numbers = [float(value) for value in values]
        except ValueError:
            raise self.error(
                f"{what}: expected numbers, got {' '.join(values)!r}", card.number
            ) from None
        if not all(math.isfinite(value) for value in numbers):
            raise self.error(f"{what}: NaN or infinite value in {' '.join(values)!r}", card.number)
        return numbers

    # --- instructions ------------------------------------------------------------------
    def _instruction(self, card: ShelxLine) -> None:
        handler = {
            "TITL": self._titl,
            "CELL": self._cell,
            "LATT": self._latt,
            "SYMM": self._symm,
            "SFAC": self._sfac,
            "UNIT": self._unit,
            "FVAR": self._fvar,
            "AFIX": self._afix,
            "PART": self._part,
            "HKLF": self._hklf,
            "FRAG": self._frag,
            "FEND": self._fend,
            "END": self._end,
            "TEMP": self._temp,
            "RESI": self._resi,
            "DISP": self._disp,
            "WGHT": self._wght,
            "EXTI": self._exti,
            "MOVE": self._move,
        }.get(card.keyword)
        if card.keyword != "TITL":  # float() takes 'nan', 'inf' and '1e999': never refined
            for value in card.fields:  # with, nor written back into the .res unread
                if _is_number(value) and not math.isfinite(float(value)):
                    raise self.error(
                        f"{card.keyword}: NaN or infinite value {value!r}", card.number
                    )
        if card.keyword in ("HKLF", "TWIN", "BASF", "NEUT", "WGHT", "EXTI", "SWAT"):
            self.cards.setdefault(card.keyword, card)
        if handler is not None:
            handler(card)

    def _temp(self, card):
        values = self._numbers(card, card.fields[:1], "TEMP")
        low, high = TEMPERATURE_RANGE
        if values and not low <= values[0] <= high:
            raise self.error(
                f"TEMP {values[0]:g} °C is outside {low:g}..{high:g} °C (SHELX gives it in °C)",
                card.number,
            )
        self.shelx.temperature_c = values[0] if values else 20.0

    def _titl(self, card):
        words = card.text.strip().split(None, 1)  # TITL (or TITLE), then the title
        self.shelx.title = words[1].strip() if len(words) > 1 else ""

    def _cell(self, card):
        values = self._numbers(card, card.fields, "CELL")
        if len(values) != 7:
            raise self.error(
                f"CELL needs the wavelength and six cell parameters, got {len(values)} numbers",
                card.number,
            )
        if not 0 < values[0] <= MAX_WAVELENGTH:
            raise self.error(
                f"CELL: wavelength {values[0]:g} Å must be in (0, {MAX_WAVELENGTH:g}] (CELL gives "
                "the wavelength first, then a b c alpha beta gamma)",
                card.number,
            )
        _check_cell(tuple(values[1:]), self.path, card.number)
        self.shelx.wavelength, self.shelx.cell = values[0], tuple(values[1:])
        self.cards.setdefault("CELL", card)

    def _latt(self, card):
        if (
            len(card.fields) != 1
            or not _INTEGER.match(card.fields[0])
            or not 1 <= abs(int(card.fields[0])) <= 7
        ):
            raise self.error(f"LATT needs one of ±1..7, got {' '.join(card.fields)!r}", card.number)
        self.shelx.latt = int(card.fields[0])
        self.cards.setdefault("LATT", card)

    def _symm(self, card):
        operator = " ".join(card.fields)
        try:
            sgtbx.rt_mx(operator.lower().replace(" ", ""))
        except (RuntimeError, ValueError):
            raise self.error(f"cannot read symmetry operator {operator!r}", card.number) from None
        self.shelx.symm.append(operator)
        self.cards.setdefault("SYMM", card)

    def _sfac(self, card):
        """`SFAC E1 E2 ...` or the long form `SFAC E a1 b1 ... c f' f'' mu r wt`; an element
        may be written `$E` (SHELXS manual, SFAC: the '$' 'is allowed for logical consistency
        with certain SHELXL instructions but is ignored', as in DISP $E)."""
        if not card.fields:
            raise self.error("SFAC without element symbols", card.number)
        if len(card.fields) > 1 and _is_number(card.fields[1]):  # SFAC E a1 b1 ... c f' f'' ...
            numbers = self._numbers(card, card.fields[1:], "SFAC " + card.fields[0])
            symbol = normalise_symbol(card.fields[0].lstrip("$"), self.path, card.number)
            self.shelx.sfac_long[symbol] = card
            self.shelx.sfac.append(symbol)
            if len(numbers) >= 11 and symbol not in self.shelx.dispersion:  # DISP's, if given, win
                self.shelx.dispersion[symbol] = (numbers[9], numbers[10])
                self.shelx.dispersion_lines[symbol] = card
        else:
            self.shelx.sfac += [
                normalise_symbol(s.lstrip("$"), self.path, card.number) for s in card.fields
            ]

    def _disp(self, card):
        """`DISP E f' f'' [mu]` (E with or without '$'): the anomalous dispersion of E that
        SHELXL refines with in place of its tables for the wavelength (or of a long-form SFAC,
        which DISP follows)."""
        if not card.fields:
            raise self.error("DISP without an element", card.number)
        symbol = normalise_symbol(card.fields[0].lstrip("$"), self.path, card.number)
        numbers = self._numbers(card, card.fields[1:3], "DISP " + symbol)
        if len(numbers) == 2:
            self.shelx.dispersion[symbol] = (numbers[0], numbers[1])
            self.shelx.dispersion_lines[symbol] = card
        else:  # left to the tables (or the SFAC), with a note
            self.shelx.partial_disp.append((symbol, card))

    def _unit(self, card):
        self.shelx.unit = self._numbers(card, card.fields, "UNIT")
        if any(n < 0 for n in self.shelx.unit):
            raise self.error(f"UNIT: negative atom count in {' '.join(card.fields)!r}", card.number)
        self.cards["UNIT"] = card

    def _fvar(self, card):
        self.shelx.fvars += self._numbers(card, card.fields, "FVAR")

    def _wght(self, card):
        """WGHT a b c d e f, the scheme of the final refinement (crystallography.weights). Only
        the first counts; one that is not up to 6 numbers (SHELXL's 12-column fields run
        together where b >= 1e4: '0.02690012345.678900') leaves `wght` None, and the final
        refinement weighs with SHELXL's default, with a note (weights.final_setup)."""
        if self.cards.get("WGHT") is not card:
            return
        try:
            numbers = self._numbers(card, card.fields, "WGHT")
        except InputError:
            return
        if len(numbers) <= 6:
            self.shelx.wght = tuple(numbers)

    def _exti(self, card):
        """EXTI x: extinction refined from x (0 when not given), as SHELXL refines it."""
        numbers = self._numbers(card, card.fields, "EXTI")
        if len(numbers) > 1:
            raise self.error(f"EXTI takes one number, not {len(numbers)}", card.number)
        if self.shelx.exti is None:
            self.shelx.exti = numbers[0] if numbers else 0.0

    def _move(self, card):
        """`MOVE dx[0] dy[0] dz[0] sign[1]` (SHELXL manual): the atoms after it are read at
        x = dx + sign*x, as SHELXL reads them; sign is 1 or -1 (-1 inverts them, as in MOVE 1 1 1
        -1). The .res written has them moved and the MOVE as a REM (moving_lines), and a MOVE in
        an include file, which that .res cannot take out, is refused."""
        values = self._numbers(card, card.fields, "MOVE")
        if len(values) > 4:
            raise self.error(f"MOVE takes dx dy dz sign, got {len(values)} numbers", card.number)
        values += list(IDENTITY_MOVE[len(values) :])
        if values[3] not in (1.0, -1.0):
            raise self.error(
                f"MOVE: sign {card.fields[3]} must be 1 or -1 (SHELXL's MOVE dx dy dz sign: "
                "x = dx + sign*x)",
                card.number,
            )
        if self.depth and tuple(values) != IDENTITY_MOVE:
            raise self.error(
                "MOVE in an include file: CrystalX writes the atoms after it moved, and cannot "
                "take the MOVE out of this file (put it in the .ins itself)",
                card.number,
            )
        self.move = tuple(values)
        if tuple(values) != IDENTITY_MOVE:
            self.shelx.moves.append(card)

    def _afix(self, card):
        if self._leading_integer(card) // 10 >= FIRST_FITTED_CODE:
            self.fitted_groups.append((card, []))
        self.afix_line = card

    def _part(self, card):
        self._leading_integer(card)
        self._numbers(card, card.fields[1:2], "PART sof")
        self.part_line = card

    def _hklf(self, card):
        """`HKLF n [s [r11..r33]]`, read once: the format of the reflections (the first HKLF
        counts)."""
        code = self._leading_integer(card)
        values = self._numbers(card, card.fields, "HKLF")
        if len(values) > 2 and len(values) < 11:
            raise self.error(
                f"HKLF n s r11..r33: the matrix needs nine numbers, got {len(values) - 2}",
                card.number,
            )
        if len(values) > 1 and values[1] <= 0:
            raise self.error(f"HKLF scale {values[1]:g} must be positive", card.number)
        matrix = (
            tuple(tuple(values[2 + 3 * i : 5 + 3 * i]) for i in range(3))
            if len(values) >= 11
            else None
        )
        if matrix == ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
            matrix = None
        self.ended = True  # SHELXL reads the reflections next: what follows is not the model
        if self.shelx.hklf is None:
            self.shelx.hklf = HklfFormat(
                code=abs(code),
                scale=values[1] if len(values) > 1 else 1.0,
                matrix=matrix,
                where=f"{self.path}:{card.number}",
            )

    def _frag(self, card):
        """`FRAG m [a b c alpha beta gamma]`: the fragment's atoms follow, in that cell (SHELXL's
        default 1 1 1 90 90 90, coordinates in Å)."""
        code = self._leading_integer(card)
        cell = self._numbers(card, card.fields[1:7], "FRAG cell")
        cell += [1.0, 1.0, 1.0, 90.0, 90.0, 90.0][len(cell) :]
        if problem := cell_problem(cell):
            raise self.error(f"FRAG {code} cell: {problem}", card.number)
        self.fragment = self.fragments[code] = Fragment(code, tuple(cell), card.number)
        self.in_fragment = True

    def _fragment_atom(self, tokens: list[str], number: int) -> None:
        """An atom line inside the FRAG ... FEND block opened last: its x y z."""
        xyz = self._numbers(ShelxLine(number, "", "fragment"), tokens[2:5], "FRAG atom")
        self.fragment.frac.append(tuple(xyz))

    def _fend(self, card):
        self.in_fragment = False

    def _end(self, card):
        self.ended = True

    def _resi(self, card):
        """`RESI class number [alias]` (either order) puts the atoms after it in that residue;
        `RESI 0` goes back to the main one. Labels are unique per residue only."""
        self.residue = resi_fields(card.fields)[0]
        if self.residue < 0:
            raise self.error(
                f"RESI needs a residue number of 0 or more, got {self.residue}", card.number
            )

    def _leading_integer(self, card: ShelxLine) -> int:
        if not card.fields or not _INTEGER.match(card.fields[0]):
            raise self.error(
                f"{card.keyword} needs an integer, got {' '.join(card.fields)!r}", card.number
            )
        return int(card.fields[0])

    # --- atoms -------------------------------------------------------------------------
    def _atom(self, number: int, text: str, tokens: list[str]) -> AtomLine:
        label = tokens[0]
        self.atoms_read += 1
        if self.atoms_read > MAX_SITES:  # refused here, not after reading 10⁶ atoms (GBs, minutes)
            raise self.error(
                f"atom {label}: one line too many, CrystalX reads at most {MAX_SITES} atom "
                "and peak lines per structure (a site shared by two elements is two lines)",
                number,
            )
        card = AtomLine(number, text, "peak" if _PEAK_LABEL.match(label) else "atom")
        numbers = self._numbers(card, tokens[1:], f"atom {label}")
        codes = numbers[1:]
        if len(codes) not in (3, 4, 5, 6, 10):
            raise self.error(
                f"atom {label}: expected x y z [sof [Uiso | U11..U12]], got "
                f"{len(codes)} numbers after the SFAC index",
                number,
            )
        if self.shelx.cell is None:
            raise self.error(f"atom {label} comes before any CELL instruction", number)
        element = None
        if card.kind == "atom":
            if not self.shelx.sfac:
                raise self.error(f"atom {label} comes before any SFAC instruction", number)
            index = int(numbers[0])
            if not 1 <= index <= len(self.shelx.sfac):
                raise self.error(
                    f"atom {label}: SFAC index {index} is not in 1.."
                    f"{len(self.shelx.sfac)} ({' '.join(self.shelx.sfac)})",
                    number,
                )
            element = self.shelx.sfac[index - 1]

        part, part_sof = 0, None
        if self.part_line is not None:
            part = int(self.part_line.fields[0])
            if len(self.part_line.fields) > 1:
                part_sof = float(self.part_line.fields[1])
        afix = int(self.afix_line.fields[0]) if self.afix_line is not None else 0
        afix_d = _afix_distance(self.afix_line) if afix else None
        card.xyz_codes = tuple(codes[:3])
        # a PART sof overrides the atom's (SHELXL manual, PART: 'even if set via an AFIX
        # instruction'); an atom without one and outside such a PART is fixed at 1
        sof_from_part = part_sof is not None
        card.sof_code = part_sof if sof_from_part else codes[3] if len(codes) > 3 else 11.0
        card.u_codes = tuple(codes[4:]) if len(codes) in (5, 10) else tuple(codes[4:5])
        card.afix_line = self.afix_line if afix else None
        if self.fitted_groups and self.fitted_groups[-1][0] is self.afix_line:
            self.fitted_groups[-1][1].append(card)
        card.part_line = self.part_line if part else None
        fvars = self.shelx.fvars
        frac = tuple(
            shift + self.move[3] * decode_parameter(code, fvars, "coordinate", self.path, number)
            for code, shift in zip(codes[:3], self.move[:3])
        )
        from_part = sof_from_part and card.part_line is not None
        card.sof = decode_parameter(
            card.sof_code,
            fvars,
            "sof",
            self.path,
            number,
            f" (PART on line {card.part_line.number})" if from_part else "",
        )
        if card.sof < 0:
            raise self.error(f"atom {label}: occupancy (sof) {card.sof:g} is negative", number)

        site = Site(
            label=residue_address(label, self.residue),
            element=element,
            frac=frac,
            afix=afix,
            afix_d=afix_d,
            part=part,
            line=number,
            peak_height=codes[5] if len(codes) == 6 else None,
        )
        first = self.label_lines.setdefault(site.label.upper(), number)
        if first != number:
            raise self.error(
                f"atom {label} repeats the label of line {first}: labels must be unique "
                f"(within a RESI residue)",
                number,
            )
        if len(card.u_codes) == 6:
            site.u_aniso = tuple(
                decode_parameter(code, fvars, "U", self.path, number) for code in card.u_codes
            )
            site.u_iso = self._u_eq(site.u_aniso)
        elif card.u_codes:
            site.u_iso = self._u_iso(card.u_codes[0], label, number)
            if site.u_iso < MIN_U_ISO:
                raise self.error(
                    f"atom {label}: Uiso {site.u_iso:g} Å² is negative (riding H take -0.5..-5)",
                    number,
                )
        if element is not None and not is_hydrogen(element):
            self.previous_ueq = site.u_iso
        card.site = site
        return card

    def _u_eq(self, u_aniso: tuple[float, ...]) -> float:
        """Ueq, a third of the trace of U on Cartesian axes: what SHELXL multiplies a riding
        Uiso (-1.2, -1.5) by and writes to the CIF. The mean of U11 U22 U33 is that only in an
        orthogonal cell: FC_p31c's riding H came out up to 0.0035 Å² off its CIF's Uiso."""
        if self._unit_cell is None:
            self._unit_cell = uctbx.unit_cell(self.shelx.cell)
        return u_eq(u_aniso, self._unit_cell)

    def _u_iso(self, code: float, label: str, number: int) -> float:
        if RIDING_U[0] < code < RIDING_U[1]:
            if self.previous_ueq is None:
                raise self.error(
                    f"atom {label}: riding Uiso {code:g} but no non-hydrogen atom before it", number
                )
            return -code * self.previous_ueq
        return decode_parameter(code, self.shelx.fvars, "Uiso", self.path, number)

    # --- whole-file checks -------------------------------------------------------------
    def _finish(self, n_lines: int) -> None:
        shelx = self.shelx
        if shelx.cell is None:
            raise self.error("no CELL instruction in the file", max(n_lines, 1))
        if "UNIT" in self.cards and len(shelx.unit) != len(shelx.sfac):
            raise self.error(
                f"UNIT gives {len(shelx.unit)} numbers but SFAC lists {len(shelx.sfac)} elements",
                self.cards["UNIT"].number,
            )
        where = self.cards.get("SYMM") or self.cards.get("LATT") or self.cards["CELL"]
        try:
            group = space_group_from_shelx(shelx.latt, shelx.symm)
        except InputError as error:
            raise self.error(error.message, where.number) from None
        if problem := metric_problem(shelx.cell, group):  # most often a CELL typo: named first
            cell = self.cards["CELL"]
            source = f" (the group from {where.keyword}, line {where.number})"
            raise self.error(f"{problem}{source if where is not cell else ''}", cell.number)
        shelx.symops = full_operator_list(group)
        self._place_fitted_groups()
        self._chemical_occupancies()

    def _place_fitted_groups(self) -> None:
        """A group under `AFIX m6`/`AFIX m9` (m >= 17) with atoms at 0,0,0 takes the positions
        of FRAG m fitted on its other atoms (matched in order): SHELXL moves every atom of the
        group onto the fitted fragment before its first cycle (DSR's p21c_step3.res)."""
        for afix, atoms in self.fitted_groups:
            waiting = [i for i, atom in enumerate(atoms) if is_placeholder(atom.xyz_codes)]
            if not waiting:
                continue
            code = int(afix.fields[0])
            fragment = self.fragments.get(code // 10)
            what = f"AFIX {code}: {len(waiting)} of its atoms at 0,0,0 for SHELXL to place"
            if fragment is None:
                raise self.error(f"{what}, but no FRAG {code // 10} gives the shape", afix.number)
            if len(atoms) > len(fragment.frac):
                raise self.error(
                    f"{what}, but FRAG {fragment.code} (line {fragment.line}) has "
                    f"{len(fragment.frac)} atoms for its {len(atoms)}",
                    afix.number,
                )
            placed = {i: a.site.frac for i, a in enumerate(atoms) if i not in waiting}
            if len(placed) < MIN_PLACED:
                raise self.error(
                    f"{what}: SHELXL fits FRAG {fragment.code} on {MIN_PLACED} atoms or more "
                    f"with coordinates, here {len(placed)}",
                    afix.number,
                )
            try:
                fitted = fitted_fractional(fragment, placed, len(atoms), self.shelx.cell)
            except ValueError as problem:
                raise self.error(f"{what}: {problem}", afix.number) from None
            for atom, frac in zip(atoms, fitted):
                atom.site.frac = frac

    def _chemical_occupancies(self) -> None:
        """sof × group order / multiplicity: 1 for a full atom on any position; an occupancy on
        a free variable that ties occupancies alone keeps it (Site.input_variable)."""
        atoms = self.shelx.atoms
        if not atoms:
            return
        structure = self.shelx.to_structure(group_mixed=False)
        refined = occupancy_variables(self.shelx)
        factors = chemical_occupancies(structure, [1.0] * len(atoms))
        for atom, factor in zip(atoms, factors):
            atom.site.occupancy = atom.sof * factor
            m, p = _variable(atom.sof_code)
            if m in refined and p:
                atom.site.input_variable = (int(math.copysign(m, atom.sof_code)), p * factor)


def _atom_line(tokens: list[str]) -> bool:
    """label, SFAC number, x y z and perhaps more: the shape of an atom line."""
    return len(tokens) >= 5 and bool(_INTEGER.match(tokens[1]))


def _atom_shaped(tokens: list[str]) -> bool:
    """An atom line whose fields after the label are all numbers, as an atom's are."""
    return _atom_line(tokens) and all(map(_is_number, tokens[2:]))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _afix_distance(card) -> float | None:
    """The d of `AFIX mn d ...` (SHELXL manual, AFIX: 0 or absent takes the default X–H; a
    free-variable code, 10 or more, is not a distance the job can hold): None unless given."""
    try:
        d = float(card.fields[1]) if len(card.fields) > 1 else 0.0
    except ValueError:
        return None
    return d if 0 < d < 10 else None
