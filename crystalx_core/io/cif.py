"""Read a small-molecule CIF (one data block) into a Structure, with its embedded SHELX files.

Symmetry comes from the operator list when it is a closed group, else from the Hall
symbol, else from the H-M symbol (CIFs in the wild often carry typos in one of them); a list
that is a subgroup of the group the symbol or number names yields to that group where
_chemical_formula_sum x Z counts the atoms as that group's, with a note (_listed_or_named).
SFAC/UNIT are not in a CIF: they are the cell contents counted from the sites, so that
the Structure looks like the .ins the structure was refined from; where _chemical_formula_sum
times _cell_formula_units_Z (CIF core) gives other contents, a note says so (formula_note).
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import gemmi
import numpy as np
from cctbx import sgtbx, uctbx

from crystalx_core.contents import declared_without_h, formula_counts
from crystalx_core.crystallography.convert import u_eq
from crystalx_core.elements import normalise_symbol
from crystalx_core.errors import InputError
from crystalx_core.io import STRUCTURE_CIF_SUFFIXES
from crystalx_core.io.cif2_syntax import Cif11Text, UnclosedValue, as_cif11, is_cif2
from crystalx_core.io.cif_weights import CifWeighting, cif_weighting
from crystalx_core.io.files import DOS_END, read_input_bytes
from crystalx_core.io.stated_r1 import StatedR1, stated_r1
from crystalx_core.io.hkl import (
    INDEX_RANGE,
    HklfFormat,
    Reflections,
    free_r_flags,
    free_r_note,
    outside_index_range,
    usable_reflections,
    reflections_from_text,
)
from crystalx_core.geometry import site_multiplicities
from crystalx_core.structure import (
    MAX_SITES,
    Site,
    Structure,
    cell_problem,
    grouped_mixed_sites,
)
from crystalx_core.symmetry import (
    full_operator_list,
    metric_problem,
    space_group_from_operators,
)

DEFAULT_WAVELENGTH = 0.71073  # Mo Kα, when the CIF does not say
_CELL_TAGS = (
    "_cell_length_a",
    "_cell_length_b",
    "_cell_length_c",
    "_cell_angle_alpha",
    "_cell_angle_beta",
    "_cell_angle_gamma",
)
_FRACT_TAGS = ("_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z")
# a fractional coordinate past this is no position: 1e300 modulo 1 is 0 in a float, and an
# atom was put there silently; the service's schema holds a snapshot's frac to the same bound
MAX_FRACTIONAL = 1e3
_R1_TAG = "_refine_ls_R_factor_gt"  # the published R1, on Fo > 4σ(Fo) as SHELXL's
_SYMOP_TAGS = ("_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz")
# a modulated structure's (3+d)-dimensional operators, x1,x2,x3,x4 (Jana2006, COD's mcodcif)
_SSG_TAG = "_space_group_symop_ssg_operation_algebraic"
# a magnetic CIF's operators, x,y,z,+1 (magCIF: _space_group_symop_magn_operation.xyz and its
# centring loop; ISODISTORT, cryspy, Bilbao's MAGNDATA)
_MAGN_TAG = "_space_group_symop_magn_operation_xyz"
_MAGN_CENTRING_TAG = "_space_group_symop_magn_centering_xyz"


@dataclass
class CifEntry:
    """One data block: the structure plus what the CIF embeds for later refinement."""

    structure: Structure
    shelx_res_text: str | None
    shelx_hkl_text: str | None
    published_r1: float | None
    stated_r1: StatedR1 | None  # published_r1 with its line, for pipeline.verdict
    block_name: str
    one_of_several: bool = False  # the file holds other structures (data blocks with atoms)
    hkl_tag: str = "_shelx_hkl_file"  # the tag shelx_hkl_text was read from
    # without an embedded file, the measured tag of the block's own _refln loop (COD and IUCr
    # CIFs carry their Fo² there: cif_reflections reads them), '' without one
    refln_tag: str = ""
    # where the block's own _refln loop cannot be read (a powder pattern's, one without indices):
    # why, and its line; refln_tag is '' then (a .hkl beside is read in its place)
    refln_problem: str = ""
    refln_problem_line: int | None = None
    # the loop of refln_tag has no σ column: its σ are estimated, and a .hkl beside is read first
    refln_without_sigma: bool = False
    notes: tuple[str, ...] = ()  # which block was read (of several), what symmetry assumed
    not_xray: str = ""  # why the block's data are not X-ray data ('' when they are)
    not_xray_line: int | None = None
    probe: str = "x-ray"  # what the block says its data were measured with (_NOT_XRAY)
    # why the cell cannot be one of the symmetry's (symmetry.metric_problem), and its line: a
    # job stops on it (io.load); the atoms alone are still read, for a look at the geometry
    metric: str = ""
    metric_line: int | None = None
    # the block's weighting scheme as SHELXL's WGHT (io.cif_weights), for want of a .res's
    weighting: CifWeighting = field(default_factory=CifWeighting)


def _split_lines(text: str) -> list[str]:
    """The text's lines by CIF's line ends (not Unicode's); those of the text _parse keeps are
    kept with it, for the next block of the same file. Read-only for its callers."""
    if _kept is None or _kept.text is not text:
        return re.split(r"\r\n|\r|\n", text)
    if not _kept.lines:
        _kept.lines = re.split(r"\r\n|\r|\n", text)
    return _kept.lines


def _heading(block_name: str) -> str:
    """A pattern for the rest of the line that opens data block `block_name`: CIF 1.1 lets
    white space and a comment follow the heading (`data_x  # pasted again`)."""
    return rf"data_{re.escape(block_name)}[ \t\r]*(?:#.*)?$"


class _Lines:
    """Line numbers for messages: gemmi keeps none once the file is parsed."""

    def __init__(self, text: str, block_name: str):
        self.lines = _split_lines(text)
        header = re.compile(rf"\s*{_heading(block_name)}", re.IGNORECASE)
        self.block = next((n for n, text in enumerate(self.lines) if header.match(text)), 0)
        self.end = next(
            (
                n
                for n in range(self.block + 1, len(self.lines))
                if self.lines[n].lstrip().lower().startswith("data_")
            ),
            len(self.lines),
        )

    @property
    def block_line(self) -> int:
        return self.block + 1

    def tag(self, *tags: str) -> int:
        """1-based line of the first of `tags` in the block, else the block's data_ line."""
        wanted = {t.lower() for t in tags}
        for n in range(self.block, self.end):
            words = self.lines[n].split()
            if words and words[0].lower() in wanted:
                return n + 1
        return self.block_line

    def loop(self, tag: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
        """The tags (lower case) of the loop holding `tag` and its rows as (1-based line of the
        row's first value, values unquoted); ([], []) where no loop in the block holds it."""
        wanted = tag.lower()
        tags: list[str] = []
        values: list[tuple[int, str]] = []
        in_loop = False
        for n, _, token, quoted in _tokens(self.lines, self.block + 1, self.end):
            word = "" if quoted else token.lower()
            if not word.startswith(("_", "loop_", "data_", "save_", "global_", "stop_")):
                if in_loop:
                    values.append((n + 1, token))
            elif word.startswith("_") and in_loop and not values:
                tags.append(word)
            elif wanted in tags:  # anything else ends the loop
                break
            else:
                tags, values, in_loop = [], [], word == "loop_"
        if wanted not in tags:
            return [], []
        width = len(tags)
        rows = [
            (values[k][0], [value for _, value in values[k : k + width]])
            for k in range(0, len(values) - width + 1, width)
        ]
        return tags, rows

    def atom_rows(self) -> dict[str, int]:
        """Label (_atom_site_label, as gemmi unquotes it) → 1-based line of its row."""
        tags, rows = self.loop("_atom_site_fract_x")
        if "_atom_site_label" not in tags:
            return {}
        column = tags.index("_atom_site_label")
        found: dict[str, int] = {}
        for line, values in rows:
            found.setdefault(values[column], line)
        return found


# a CIF 1.1 token: a quoted string ends at its quote followed by white space
_TOKEN = re.compile(r"""'(.*?)'(?=\s|$)|"(.*?)"(?=\s|$)|(#.*)|(\S+)""")


def _tokens(lines: list[str], start: int, end: int) -> Iterator[tuple[int, int, str, bool]]:
    """(0-based line, column, value, quoted) of each token of lines[start:end]: quotes and
    ;-text fields unquoted (column 0 for a text field), comments skipped."""
    n = start
    while n < end:
        line = lines[n]
        if line.startswith(";"):
            first = n
            n += 1
            while n < end and not lines[n].startswith(";"):
                n += 1
            yield first, 0, "\n".join([line[1:], *lines[first + 1 : n]]), True
            n += 1
            continue
        for found in _TOKEN.finditer(line):
            single, double, comment, bare = found.groups()
            if comment is None:
                quoted = bare is None
                value = bare if not quoted else (single if single is not None else double)
                yield n, found.start(), value, quoted
        n += 1


# DDLm names whose DDL1 alias is not the name with its dot made an underscore (coreCIF 3:
# _diffrn_radiation_wavelength.value has the alias _diffrn_radiation_wavelength)
_DDL1_ALIAS = {"_diffrn_radiation_wavelength.value": "_diffrn_radiation_wavelength"}


def _ddl1_names(text: str) -> str:
    """The text with CIF2/DDLm dotted tags (_cell.length_a, _atom_site.fract_x) under their DDL1
    names (_cell_length_a), which is all gemmi's small-structure reader and this module look up.
    In coreCIF 3 each DDLm name's alias is the category and object joined by '_' (but
    _DDL1_ALIAS). Tags only: quoted values and text fields are left as written, line for line;
    a dotted tag whose DDL1 name the file also holds is left too (gemmi reads the DDL1 one)."""
    if not re.search(r"(?m)(?:^|\s)_[^\s.]+\.", text):
        return text
    parts = re.split(r"(\r\n|\r|\n)", text)  # lines, each followed by its own line end
    lines = parts[0::2]
    tags = [
        (n, column, token)
        for n, column, token, quoted in _tokens(lines, 0, len(lines))
        if not quoted and token.startswith("_")
    ]
    written = {token.lower() for _, _, token in tags if "." not in token}
    # two DDLm names may join to one DDL1 name (_diffrn_radiation.wavelength_id and
    # _diffrn_radiation_wavelength.id, as imgCIF writes both): those stay dotted, as two tags
    sources: dict[str, set[str]] = {}
    for _, _, token in tags:
        if "." in token:
            target = _DDL1_ALIAS.get(token.lower(), token.replace(".", "_")).lower()
            sources.setdefault(target, set()).add(token.lower())
    written |= {target for target, dotted in sources.items() if len(dotted) > 1}
    for n, column, token in reversed(tags):  # from a line's end: a shorter alias moves none
        name = _DDL1_ALIAS.get(token.lower(), token.replace(".", "_"))
        if name != token and name.lower() not in written:
            lines[n] = lines[n][:column] + name + lines[n][column + len(token) :]
    parts[0::2] = lines
    return "".join(parts)


_NO_VALUE = r"(_\S+) has no value(?:\n|$)"  # gemmi's message for a tag with no value
_MAX_NO_VALUE = 100  # tags read as '?' in one file before its syntax error is reported


def _parse(
    path: Path, data: bytes | None = None, empty: list[str] | None = None
) -> tuple[gemmi.cif.Document, str]:
    """Parse with gemmi from text we decoded: UTF-8 (CIF 2) or, failing that, Latin-1, which
    old CIFs use for names; gemmi would hand back undecodable strings later otherwise. The
    text comes back too, for line numbers in messages. `data`: the file's bytes, read already.
    A tag written with no value before the next tag (ICSD-for-WWW writes
    `_refine_ls_R_factor_all` so) is read as '?', unknown, and named in `empty`."""
    global _kept
    if data is None:
        if not path.exists():
            raise InputError("file not found", str(path))
        data = read_input_bytes(str(path), "CIF")
    key = None
    if len(data) > _CACHED_FROM and len(_BLOCK.findall(data, 0, _CACHED_FROM)) > 1:
        key = hashlib.blake2b(data, digest_size=16).digest()
    if key is not None and _kept is not None and _kept.key == key:  # a batch reads a CIF of
        if empty is not None:  # 500 blocks once per block: it is parsed once
            empty.extend(_kept.unknown)
        return _kept.doc, _kept.text
    found: list[str] = []
    doc, text = _parse_bytes(path, data, found)
    if empty is not None:
        empty.extend(found)
    if key is not None:
        _kept = _KeptParse(key, doc, text, tuple(found))  # the one file a process keeps
    return doc, text


# a CIF this large, of several blocks (a journal's or Olex2's multi-structure file, which a
# batch reads once per block), is parsed once per process; one file of one block is not kept
_CACHED_FROM = 2**20  # bytes
_BLOCK = re.compile(rb"(?im)^[ \t]*data_")


@dataclass
class _KeptParse:
    """The parse _parse keeps, by the file's bytes (blake2b): a file changed on disk, whatever
    its name, size or time stamp, is parsed anew."""

    key: bytes
    doc: gemmi.cif.Document
    text: str
    unknown: tuple[str, ...]  # the tags read as '?' (_parse's `empty`)
    lines: list[str] = field(default_factory=list)  # split once asked for (_split_lines)


_kept: _KeptParse | None = None


def _parse_bytes(path: Path, data: bytes, empty: list[str]) -> tuple[gemmi.cif.Document, str]:
    """_parse's work on the file's bytes: decoded, DDL1 names, gemmi."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    text = text.split(DOS_END, 1)[0]  # Ctrl-Z ends a file written by a DOS program
    cif11 = Cif11Text(text, text)
    if is_cif2(text):  # lists, tables and triple quotes in terms gemmi reads
        try:
            cif11 = as_cif11(text)
        except UnclosedValue as error:
            raise InputError(f"CIF syntax error: {error}", str(path), error.line) from None
    text = _ddl1_names(cif11.for_gemmi)
    if not text.endswith(("\n", "\r")):  # gemmi names a valueless last tag only before a newline
        text += "\n"
    lines = text  # the text messages take line numbers from: the file's own lines
    if cif11.by_line != cif11.for_gemmi:
        lines = _ddl1_names(cif11.by_line)
    for _ in range(_MAX_NO_VALUE):
        try:
            return gemmi.cif.read_string(text), lines
        except (ValueError, RuntimeError) as error:
            message = str(error)
        found = re.match(r"string:(\d+)\b.*?" + _NO_VALUE, message)
        if not found:
            break
        line, tag = int(found.group(1)), found.group(2)
        patched = _with_unknown_value(text, line, tag)
        if patched is None:
            break
        if lines is text:
            lines = patched
        else:  # the same line of the file's own text
            lines = _with_unknown_value(lines, cif11.file_line(line), tag) or lines
        text = patched
        empty.append(tag)
    twice = re.fullmatch(
        r"string: duplicate block name: (.+)", message.splitlines()[0] if message else ""
    )
    if twice:  # CIF 1.1: block codes are unique in a file, case aside; gemmi names no line
        blocks = re.finditer(rf"(?im)^[ \t]*{_heading(twice[1])}", lines)
        second = [m.start() for m in blocks][1:2]
        raise InputError(
            f"CIF syntax error: a second data block named data_{twice[1]} (block names are "
            "unique in a file: give each its own)",
            str(path),
            lines.count("\n", 0, second[0]) + 1 if second else None,
        ) from None
    found = re.search(r"^string:(\d+)(?::\d+\(\d+\))?:?\s*(?:in data_\S*:\s*)?(.*)", message)
    if not found:
        raise InputError(
            f"CIF syntax error: {message.splitlines()[0] if message else 'parse error'}",
            str(path),
        ) from None
    line = cif11.file_line(int(found.group(1)))
    detail = found.group(2).splitlines()[0] if found.group(2) else "parse error"
    if detail == "parse error":
        detail = _unquoted_words(lines, line) or detail
    raise InputError(f"CIF syntax error: {detail}", str(path), line) from None


def _unquoted_words(text: str, line: int) -> str:
    """What gemmi's bare 'parse error' means on a line '_tag two words' (Dans_Diffraction
    writes `_pd_phase_name  Na0.8CoO2_P63mmc supercell`): a value with a space needs quotes."""
    lines = text.splitlines()
    found = (
        re.fullmatch(r"\s*(_\S+)\s+([^'\";\s]\S*(?:[ \t]+[^\s#]+)+)\s*", lines[line - 1])
        if (0 < line <= len(lines))
        else None
    )
    if not found:
        return ""
    return (
        f"the value of {found[1]} is several words ({found[2]}): CIF needs a value with spaces "
        "in quotes ('...')"
    )


def _with_unknown_value(text: str, line: int, tag: str) -> str | None:
    """`text` with '?' after `tag`, which gemmi says has no value, on 1-based `line`, before a
    comment there; None where that line does not end with it."""
    parts = re.split(r"(\r\n|\r|\n)", text)  # lines, each followed by its own line end
    n = 2 * (line - 1)
    wanted = rf"(?i)(?:^|\s){re.escape(tag)}(\s*(?:#.*)?)$"
    found = re.search(wanted, parts[n]) if n < len(parts) else None
    if found is None:
        return None
    parts[n] = f"{parts[n][: found.start(1)]} ?{parts[n][found.start(1) :]}"
    return "".join(parts)


def _choose_block(
    doc: gemmi.cif.Document, block: str | None, path: Path
) -> tuple[gemmi.cif.Block, str | None, int]:
    """The block asked for, else the first with atom sites; a note naming it when the file
    holds more than one structure; and how many it holds."""
    if len(doc) == 0:
        raise InputError("no data block (data_...) in the file", str(path))
    with_sites = structure_blocks(doc)
    if block is not None:
        found = doc.find_block(block)
        if found is None:
            names = ", ".join(b.name for b in doc)
            raise InputError(f"no data block {block!r} (the file has: {names})", str(path))
        return found, None, len(with_sites)
    if len(with_sites) < 2:
        return (with_sites or [doc[0]])[0], None, len(with_sites)
    names = ", ".join(b.name for b in with_sites)
    note = (
        f"read data_{with_sites[0].name}, the first of {len(with_sites)} structures in "
        f"{path.name} ({names}); --block NAME reads another"
    )
    return with_sites[0], note, len(with_sites)


def structure_blocks(doc: Iterable[gemmi.cif.Block]) -> list[gemmi.cif.Block]:
    """The data blocks that hold a structure (atom sites). A loop whose coordinates are all '?'
    or '.' holds none: SpringerMaterials' Pauling File CIFs add such blocks (the published
    and reduced cells) after the one with the atoms."""
    return [
        b
        for b in doc
        if any(value not in ("?", ".") for value in b.find_values("_atom_site_fract_x"))
    ]


def embedded_hkl_cell(path: Path, data: bytes) -> tuple[str, tuple[float, ...] | None]:
    """(the name, the cell) of the block of a CIF whose _shelx_hkl_file cif_reflections reads
    (the first to carry one), for the model beside it to be checked against; ('', None) where
    none carries one or the CIF does not parse."""
    try:
        doc = _parse(path, data)[0]
    except InputError:
        return "", None
    for block in doc:
        if embedded_file(block, HKL_TAGS)[0] is not None:
            cell = tuple(_number(block, tag) for tag in _CELL_TAGS)
            return block.name, None if None in cell else cell
    return "", None


def structure_block_names(path: Path) -> list[str]:
    """Names of the blocks of a CIF that hold a structure, where it holds more than one (a
    journal's or Olex2's multi-structure CIF); [] otherwise, for a file that is not a .cif or
    .mcif (a SHELX file) and for one that does not parse (its own job says why). Looks for a second
    data_ line before parsing."""
    if Path(path).suffix.lower() not in STRUCTURE_CIF_SUFFIXES:  # .cif, and a magnetic .mcif
        return []
    try:
        data = read_input_bytes(str(path), "CIF")
    except InputError:
        return []
    if len(re.findall(rb"(?im)^\s*data_", data)) < 2:
        return []
    try:
        names = [block.name for block in structure_blocks(_parse(path, data)[0])]
    except InputError:
        return []
    return names if len(names) > 1 else []


def _cartesian_only(block: gemmi.cif.Block) -> str | None:
    """Why a block whose atoms have Cartesian coordinates and no fractional ones is not read
    (None where it has none): the PDB's mmCIF (_atom_site.Cartn_x, with ATOM/HETATM records,
    residues, polymer entities) is a macromolecule's model, out of CrystalX's scope; a coreCIF
    block may give _atom_site_Cartn_x alone. Either was 'has no atom sites' before."""
    if not any(value not in ("?", ".") for value in block.find_values("_atom_site_Cartn_x")):
        return None
    polymer = [gemmi.cif.as_string(v) for v in block.find_values("_entity_poly_type")]
    entities = {gemmi.cif.as_string(v).lower() for v in block.find_values("_entity_type")}
    evidence = [
        f"a {polymer[0]} entity (_entity_poly.type)" if polymer else "",
        "a polymer entity (_entity.type)" if "polymer" in entities and not polymer else "",
        "ATOM/HETATM rows (_atom_site.group_PDB)"
        if block.find_values("_atom_site_group_PDB")
        else "",
        "residues (_atom_site.label_comp_id)"
        if block.find_values("_atom_site_label_comp_id")
        else "",
    ]
    evidence = [e for e in evidence if e]
    if evidence:
        return (
            f"is a macromolecular model in the PDB's mmCIF form ({', '.join(evidence)}, "
            "Cartesian _atom_site.Cartn_x): CrystalX assigns small-molecule crystal structures "
            "in fractional coordinates (_atom_site_fract_x); proteins and nucleic acids are out "
            "of its scope"
        )
    return (
        "gives its atom sites in Cartesian coordinates only (_atom_site_Cartn_x): CrystalX reads "
        "fractional ones (_atom_site_fract_x); write those from the program that made the file"
    )


def _text_field(block: gemmi.cif.Block, tag: str) -> str | None:
    """A ;-delimited text field as the file it embeds: the newline after the opening ';'
    is a delimiter, and the one before the closing ';' ended the file's last line (with the
    field's own line ending: a CIF saved with CR LF gave a .res of CR LF lines but the last)."""
    raw = block.find_value(tag)
    if raw is None or raw in ("?", "."):
        return None
    text = gemmi.cif.as_string(raw)
    if text.startswith("\r\n"):
        text = text[2:]
    elif text.startswith("\n"):
        text = text[1:]
    first = text.find("\n")
    return text + ("\r\n" if first > 0 and text[first - 1] == "\r" else "\n")


# the .res and .hkl a CIF embeds: SHELXL's tags, then the IUCr's (cif_iucr.dic), which
# CRYSCALC and WinGX write
RES_TAGS = ("_shelx_res_file", "_iucr_refine_instructions_details")
HKL_TAGS = ("_shelx_hkl_file", "_iucr_refine_reflections_details")
# the .fcf (LIST 4) IUCr journals ask for and Olex2's own refinement embeds (olex2.refine's CIF)
FCF_TAG = "_iucr_refine_fcf_details"
REFLECTION_TAGS = (*HKL_TAGS, FCF_TAG)  # where a CIF carries its own reflections, in that order


def embedded_file(block: gemmi.cif.Block, tags: tuple[str, ...]) -> tuple[str | None, str]:
    """(the file the first of `tags` embeds, that tag); (None, tags[0]) without one. The
    banner CRYSCALC writes before it (' .hkl SHELXL file: NAME', then a line of dots) is not
    part of the file."""
    for tag in tags:
        text = _text_field(block, tag)
        if text is not None:
            lines = text.split("\n", 2)
            banner = len(lines) == 3 and lines[0].lstrip().startswith((".hkl", ".res"))
            if banner and set(lines[1].strip()) == {"."}:
                text = lines[2]
            return text, tag
    return None, tags[0]


# CIF core: _diffrn_radiation_probe is 'x-ray', 'neutron', 'electron' or 'gamma';
# _diffrn_radiation_type is free text ('MoK\\a', 'neutron', 'synchrotron'); CIF2/DDLm files
# write them dotted
_PROBE_TAGS = (
    "_diffrn_radiation_probe",
    "_diffrn_radiation.probe",
    "_diffrn_radiation_type",
    "_diffrn_radiation.type",
)
_NOT_XRAY = ("neutron", "electron", "gamma")


def _not_xray(block: gemmi.cif.Block) -> tuple[str, str]:
    """(tag, value) where the block says its data were measured with neutrons, electrons or
    gamma rays (GSAS and Jana write neutron CIFs at X-ray-like wavelengths, 1.54 Å); ('', '')
    for X-ray data or a block that does not say."""
    for tag in _PROBE_TAGS:
        raw = block.find_value(tag)
        if raw is None or raw in ("?", "."):
            continue
        value = gemmi.cif.as_string(raw).strip()
        if any(word in value.lower() for word in _NOT_XRAY):
            return tag, value
        return "", ""
    return "", ""


def _probe(value: str) -> str:
    """The probe a _diffrn_radiation_probe value names (_NOT_XRAY), 'x-ray' otherwise."""
    return next((word for word in _NOT_XRAY if word in value.lower()), "x-ray")


def not_xray_error(not_xray: str, probe: str, path, line: int | None) -> InputError:
    """The one refusal of a CIF's data that are not X-ray data, wherever they are read (its own
    reflections, `--hkl x.cif`, `solve x.ins x.cif`): `not_xray` says what the file says, and
    where else to refine them; neutron data can be refined in SHELXL with NEUT."""
    elsewhere = "SHELXL with NEUT, or in " if probe == "neutron" else ""
    return InputError(
        f"{not_xray}; CrystalX refines X-ray data only (refine this one in {elsewhere}the "
        "program that wrote it)",
        str(path),
        line,
    )


def _number(block: gemmi.cif.Block, tag: str) -> float | None:
    raw = block.find_value(tag)
    if raw is None or raw in ("?", "."):
        return None
    value = gemmi.cif.as_number(raw)
    return None if math.isnan(value) else value


_NUMBER_TAGS = (
    "_space_group_IT_number",
    "_symmetry_Int_Tables_number",
    "_space_group.IT_number",
    "_symmetry.Int_Tables_number",
)


_HALL_TAGS = ("_space_group_name_Hall", "_symmetry_space_group_name_Hall")
_HM_TAGS = ("_space_group_name_H-M_alt", "_symmetry_space_group_name_H-M")
_SYMBOL_TAGS = (*_HALL_TAGS, *_HM_TAGS)


def _symmetry_line(lines: _Lines) -> int:
    """The line the symmetry was read from, as _symops prefers: the operator list, else the
    Hall or H-M symbol, else the number; the block's data_ line without any."""
    for tags in (_SYMOP_TAGS, _SYMBOL_TAGS, _NUMBER_TAGS):
        line = lines.tag(*tags)
        if line != lines.block_line:
            return line
    return lines.block_line


def _symops(
    small: gemmi.SmallStructure, block: gemmi.cif.Block, lines: _Lines, path: Path
) -> tuple[list[str], str | None]:
    """Full operator list: the CIF's own list if it is a closed group, else Hall, else H-M,
    else the space-group number in its standard setting (with a note saying which). An R
    group named without its axes ('R -3', or 148) is read on rhombohedral axes where the cell
    has them (_rhombohedral_axes), on hexagonal ones otherwise, as ITA's default."""
    cell = small.cell
    rhombohedral = _rhombohedral_axes(cell.alpha, cell.gamma)
    candidates = []
    if small.symops:
        candidates.append(("", list(small.symops), lines.tag(*_SYMOP_TAGS)))
    if small.spacegroup_hall.strip():
        try:
            hall_ops = gemmi.symops_from_hall(small.spacegroup_hall)
            candidates.append(
                (
                    f"Hall symbol {small.spacegroup_hall.strip()!r}",
                    [op.triplet() for op in hall_ops],
                    lines.tag(*_HALL_TAGS),
                )
            )
        except (RuntimeError, ValueError):
            pass
    setting = _setting_code(block)
    # gemmi's prefer= takes the origin choice ('1', '2') and axes ('H', 'R') for a bare symbol;
    # an explicit ':2' in the symbol, and for R the cell's axes, still win over it
    space_group = (
        gemmi.find_spacegroup_by_name(small.spacegroup_hm, cell.alpha, cell.gamma, prefer=setting)
        if small.spacegroup_hm
        else None
    )
    if space_group is not None:
        candidates.append(
            (
                f"H-M symbol {small.spacegroup_hm.strip()!r}",
                [op.triplet() for op in space_group.operations()],
                lines.tag(*_HM_TAGS),
            )
        )
    number = next((n for tag in _NUMBER_TAGS if (n := _number(block, tag))), None)
    numbered = number is not None and number == int(number) and 1 <= number <= 230
    number_line = lines.tag(*_NUMBER_TAGS)
    for k, (name, ops, _) in enumerate(candidates):
        if group := _closed_group(ops):
            if k == 0 and small.symops:
                named = [(what, line, _closed_group(them)) for what, them, line in candidates[1:]]
                if numbered:
                    standard = sgtbx.space_group_info(number=int(number)).group()
                    named.append((f"space-group number {int(number)}", number_line, standard))
                read, note = _listed_or_named(
                    group, candidates[0][2], named, small, path, _stated_non_h(block)
                )
                return full_operator_list(read), note
            return full_operator_list(group), None if k == 0 else (
                f"the {len(small.symops)} symmetry operators listed are no space group "
                f"({_not_a_group(small.symops)}): the {name} read instead"
            )
    if numbered:
        info = sgtbx.space_group_info(number=int(number))  # cctbx's reference setting
        if setting in ("1", "2"):  # H or R axes: the cell's, below, as for the H-M symbol
            try:
                info = sgtbx.space_group_info(symbol=f"{int(number)}:{setting}")
                return full_operator_list(info.group()), (
                    f"symmetry from the space-group number {int(number)} and setting "
                    f"{setting!r} alone: {info}"
                )
            except RuntimeError:
                pass  # no such setting of this group: the number alone, as before
        if rhombohedral and info.group().conventional_centring_type_symbol() == "R":
            info = sgtbx.space_group_info(symbol=f"{int(number)}:R")
            return full_operator_list(info.group()), (
                f"symmetry from the space-group number {int(number)} alone: {info} assumed "
                "(the cell is on rhombohedral axes)"
            )
        return full_operator_list(info.group()), (
            f"symmetry from the space-group number {int(number)} alone: its standard setting "
            f"{info} assumed"
        )
    if len(block.find_values(_MAGN_TAG)):
        group = _closed_group(_magnetic_operators(block))
        if group is None:
            raise InputError(
                "magnetic operators whose spatial parts are no 3D group: give the operator list "
                "of the atoms' space group (_space_group_symop_operation_xyz)",
                str(path),
                lines.tag(_MAGN_TAG),
            )
        return full_operator_list(group), (
            f"symmetry from the magnetic operators ({_MAGN_TAG}, with its centrings): their "
            "spatial parts; time reversal moves no atom"
        )
    if len(block.find_values(_SSG_TAG)):
        group = _closed_group(_average_operators(block))
        if group is None:
            raise InputError(
                "superspace operators whose first three components are no 3D group: give the "
                "CIF of its average structure (_space_group_symop_operation_xyz)",
                str(path),
                lines.tag(_SSG_TAG),
            )
        return full_operator_list(group), (
            f"symmetry from the superspace operators ({_SSG_TAG}): their first three "
            "components, the 3D group of the average structure"
        )
    raise InputError(
        "no usable symmetry: the operator list is not a group and no valid "
        "Hall or H-M symbol or space-group number is given",
        str(path),
        lines.tag(
            *_SYMOP_TAGS, "_space_group_name_Hall", "_symmetry_space_group_name_Hall", *_NUMBER_TAGS
        ),
    )


def _listed_or_named(
    listed: sgtbx.space_group,
    list_line: int,
    named: list[tuple[str, int, sgtbx.space_group | None]],
    small: gemmi.SmallStructure,
    path: Path,
    stated: float | None,
) -> tuple[sgtbx.space_group, str | None]:
    """The group read where the CIF's own operators, a closed group, are not the group its first
    readable Hall or H-M symbol or number names, with a note naming both; the same group in
    another setting or order (P 21/n's operators beside 'P 21/c') is read without one.
    cif_core makes the list the authority, and gemmi reads it as given; but writers leave out the
    inversion half (NRCVAX), the centring (TEXSAN) or all but x,y,z (COD 2001925), while a right
    list can stand beside a wrong symbol of a larger group. So a list that is a subgroup of the
    named group yields to it only where the file's `stated` non-H atoms per cell (formula x Z)
    are the named group's reading of the atoms, within _FORMULA_FIT and closer than the list's."""
    what, line, group = next(((w, n, g) for w, n, g in named if g is not None), ("", 0, None))
    if group is None or group.type().number() == listed.type().number():
        return listed, None
    head = f"{path.name} line {line}: the {what} names {_group_order(group)}, the operators listed"
    if not _operators(listed) <= _operators(group):
        return listed, f"{head} on line {list_line} make {_group_order(listed)}: the list is read"
    made = f"{head} on line {list_line} make {_group_order(listed, ', a subgroup')}"
    if not stated:
        return listed, (
            f"{made}; no _chemical_formula_sum and _cell_formula_units_Z to weigh them: the list "
            "is read (cif_core: the list is the structure's)"
        )
    by_name, by_list = _non_h_per_cell(small, group), _non_h_per_cell(small, listed)
    evidence = (
        f"{made}; _chemical_formula_sum x Z gives {stated:g} non-H atoms per cell, the {what} "
        f"{by_name:g}, the list {by_list:g}"
    )
    off = abs(by_name - stated)
    if off <= _FORMULA_FIT * stated and off < abs(by_list - stated):
        return group, f"{evidence}: the {what} is read"
    return listed, f"{evidence}: the list is read"


# the share of formula x Z's non-H atoms a group's reading may miss or add and still be the
# file's: any subgroup's reading is at least twice or at most half the group's (index >= 2)
_FORMULA_FIT = 0.2


def _stated_non_h(block: gemmi.cif.Block) -> float | None:
    """Non-H atoms per cell that _chemical_formula_sum x _cell_formula_units_Z give; None where
    either is missing."""
    z = _number(block, "_cell_formula_units_Z")
    heavy = sum(n for el, n in _formula_counts(block).items() if el not in ("H", "D"))
    return round(z * heavy, 2) if z and z > 0 and heavy > 0 else None


def _non_h_per_cell(small: gemmi.SmallStructure, group: sgtbx.space_group) -> float:
    """Non-H atoms in the cell that `group` makes of the sites, occupancy-weighted, an atom on a
    special position counted once (cctbx's site symmetry, 0.5 Å)."""
    cell = uctbx.unit_cell(small.cell.parameters)
    total = 0.0
    for site in small.sites:
        if site.element.name in ("H", "D"):
            continue
        fract = (site.fract.x, site.fract.y, site.fract.z)
        symmetry = sgtbx.site_symmetry(cell, group, fract, 0.5, False)
        total += site.occ * symmetry.multiplicity()
    return round(total, 2)


def _operators(group: sgtbx.space_group) -> set[str]:
    return {str(group(i).mod_positive()) for i in range(group.order_z())}


def _group_order(group: sgtbx.space_group, more: str = "") -> str:
    """'P 1 21/c 1 (4 operators)', the way a note names a group."""
    n = group.order_z()
    return f"{sgtbx.space_group_info(group=group)} ({n} operator{'s' if n > 1 else ''}{more})"


def _not_a_group(ops: list[str]) -> str:
    """Why a CIF's operator list is not read, for the note: its first unreadable operator, else
    that the operators do not close (some left out, or one given twice)."""
    for op in ops:
        try:
            space_group_from_operators([op])
        except InputError:
            return f"{op!r} does not read"
    return "not closed, or one given twice"


_SETTING_TAGS = (
    "_space_group_IT_coordinate_system_code",
    "_space_group.IT_coordinate_system_code",
)


def _setting_code(block: gemmi.cif.Block) -> str:
    """cif_core's _space_group_IT_coordinate_system_code where it names an origin choice ('1',
    '2') or axes ('H', 'R'), the settings a bare H-M symbol or number leaves open; '' else."""
    for tag in _SETTING_TAGS:
        raw = block.find_value(tag)
        if raw is not None:
            code = gemmi.cif.as_string(raw).strip().upper()
            if code in ("1", "2", "H", "R"):
                return code
    return ""


def _rhombohedral_axes(alpha: float, gamma: float) -> bool:
    """Whether a cell reads as an R lattice's rhombohedral axes (a = b = c, alpha = beta =
    gamma) rather than its hexagonal ones (gamma 120, alpha 90): gemmi's rule in
    find_spacegroup_by_name, gamma < 1.125 alpha (gamma:alpha is 1 on the first, 4/3 on the
    second), which picks the :R symbol for an R name in the H-M branch above."""
    return gamma < 1.125 * alpha


def _closed_group(ops: list[str]) -> sgtbx.space_group | None:
    """The group of `ops` where they are readable and already closed (each operator once);
    None otherwise."""
    try:
        group = space_group_from_operators(ops)
    except InputError:  # unreadable triplets, or no group
        return None
    distinct = {str(sgtbx.rt_mx(op.lower().replace(" ", "")).mod_positive()) for op in ops}
    return group if group.order_z() == len(distinct) else None


def _average_operators(block: gemmi.cif.Block) -> list[str]:
    """The 3D operators of a modulated structure's average structure: the first three
    components of each (3+d)-dimensional superspace operator (x1,x2,x3 as x,y,z), which in a
    superspace group involve x1..x3 only (Janner & Janssen; ITC vol. C, 9.8). [] where one
    does not read so."""
    ops = []
    for raw in block.find_values(_SSG_TAG):
        parts = gemmi.cif.as_string(raw).lower().replace(" ", "").split(",")
        if len(parts) < 4 or re.search(r"x[04-9]", ",".join(parts[:3])):
            return []
        ops.append(re.sub(r"x([123])", lambda m: "xyz"[int(m[1]) - 1], ",".join(parts[:3])))
    return ops


def _magnetic_operators(block: gemmi.cif.Block) -> list[str]:
    """The atoms' space group of a magnetic CIF: each operation's spatial part (x,y,z of
    'x,y,z,+1', the fourth component being time reversal) with each centring, each once; []
    where one does not read so."""

    def spatial(tag: str) -> list[sgtbx.rt_mx]:
        out = []
        for raw in block.find_values(tag):
            parts = gemmi.cif.as_string(raw).lower().replace(" ", "").split(",")
            if len(parts) != 4:
                raise ValueError(raw)
            out.append(sgtbx.rt_mx(",".join(parts[:3])))
        return out

    try:
        operations = spatial(_MAGN_TAG)
        centrings = spatial(_MAGN_CENTRING_TAG) or [sgtbx.rt_mx()]
    except (ValueError, RuntimeError):  # a malformed operator: refused by the caller
        return []
    products = (str((op.multiply(c)).mod_positive()) for op in operations for c in centrings)
    return list(dict.fromkeys(products))


_PAIRS = ("11", "22", "33", "12", "13", "23")


def _aniso_from_b_or_beta(block: gemmi.cif.Block, orth: np.ndarray) -> dict[str, tuple]:
    """Label → (U11, U22, U33, U12, U13, U23) of the anisotropic rows a CIF gives as B or beta,
    which gemmi does not read (it reads _atom_site_aniso_U_ alone). CIF core: B^ij = 8 pi^2 U^ij
    (_atom_site_aniso_B_, T = exp(-1/4 sum B^ij h_i h_j a*_i a*_j)); beta^ij = 2 pi^2 a*_i a*_j
    U^ij (_atom_site_aniso_beta_, T = exp(-sum beta^ij h_i h_j), as FullProf writes them).
    A row with '?' or '.' is left out (its atom stays isotropic)."""
    recip = np.linalg.norm(np.linalg.inv(orth), axis=1)  # a*, b*, c*
    axes = {"1": 0, "2": 1, "3": 2}
    for kind in ("B", "beta"):
        table = block.find("_atom_site_aniso_", ["label", *(f"{kind}_{ij}" for ij in _PAIRS)])
        if len(table):
            break
    else:
        return {}
    found = {}
    for row in table:
        values = [gemmi.cif.as_number(row[k + 1]) for k in range(6)]
        if any(math.isnan(v) for v in values):
            continue
        if kind == "B":
            found[gemmi.cif.as_string(row[0])] = tuple(v / (8 * math.pi**2) for v in values)
        else:
            found[gemmi.cif.as_string(row[0])] = tuple(
                v / (2 * math.pi**2 * recip[axes[ij[0]]] * recip[axes[ij[1]]])
                for v, ij in zip(values, _PAIRS)
            )
    return found


def _unknown_aniso_u(block: gemmi.cif.Block) -> list[str]:
    """Labels whose _atom_site_aniso_U_ row holds a value that is no number ('?', '.', text):
    such a row is left out and its atom stays isotropic, as a B or beta row with one is
    (_aniso_from_b_or_beta); gemmi would read the value as 0."""
    table = block.find("_atom_site_aniso_", ["label", *(f"U_{ij}" for ij in _PAIRS)])
    return [
        gemmi.cif.as_string(row[0])
        for row in table
        if any(math.isnan(gemmi.cif.as_number(row[k + 1])) for k in range(6))
    ]


def _u_iso(
    site: gemmi.SmallStructure.Site, unit_cell, from_b_or_beta: tuple | None = None
) -> tuple[float, tuple | None]:
    """(Uiso or Ueq, U_aniso in SHELX order U11 U22 U33 U23 U13 U12 or None). `from_b_or_beta`:
    the site's U11 U22 U33 U12 U13 U23 read from B or beta, where gemmi found no U. An atom with
    Uij gets the Ueq of its Uij as written, not the CIF's _atom_site_U_iso_or_equiv (worked out
    from the unrounded Uij): SHELXL takes a riding H's U from the .res's Uij, and the CIF written
    gives that Ueq too (COD 2105019's C5: 0.193 given, 0.1912 from its Uij; H5A 1.2 times it).
    `unit_cell`: cctbx's, for convert.u_eq (the .res reader's Ueq)."""
    a = site.aniso
    if a.nonzero():
        u11, u22, u33, u12, u13, u23 = a.u11, a.u22, a.u33, a.u12, a.u13, a.u23
    elif from_b_or_beta is not None:
        u11, u22, u33, u12, u13, u23 = from_b_or_beta
    else:
        return site.u_iso, None
    u_aniso = (u11, u22, u33, u23, u13, u12)
    return u_eq(u_aniso, unit_cell), u_aniso


_SU = re.compile(r"[-+]?[\d.]+(?:[eE][-+]?\d+)?\((\d+)\)$")  # 10.123(4): su 0.004


def _su(block: gemmi.cif.Block, tag: str) -> float:
    """The standard uncertainty written in brackets after a value (0 without one)."""
    return _su_of(block.find_value(tag))


def _su_of(raw: str | None) -> float:
    """The standard uncertainty of a value as written ('0.52(3)': 0.03; 0 without one)."""
    found = _SU.match(raw or "")
    if not found:
        return 0.0
    value = raw[: raw.index("(")].lower()
    mantissa = value.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(value.split("e")[1]) if "e" in value else 0
    return int(found.group(1)) * 10.0 ** (exponent - decimals)


def _formula_units(
    block: gemmi.cif.Block, structure: Structure, formula: dict[str, float]
) -> float | None:
    """Z: _cell_formula_units_Z, else the cell contents over the `formula` (_formula_counts)
    where every element but H gives the same whole number; None where neither says."""
    z = _number(block, "_cell_formula_units_Z")
    if z is not None and z > 0:
        return z
    contents = dict(zip(structure.sfac, structure.unit))
    ratios = [contents.get(el, 0.0) / n for el, n in formula.items() if el not in ("H", "D") and n]
    if not ratios or min(ratios) < 0.5:
        return None
    z = round(ratios[0])
    return float(z) if all(abs(r - z) <= 0.05 * z for r in ratios) else None


def _formula_counts(block: gemmi.cif.Block) -> dict[str, float]:
    """_chemical_formula_sum ('C10 H20 Cl N O3') as element → count; empty when not given."""
    value = block.find_value("_chemical_formula_sum")
    return formula_counts(gemmi.cif.as_string(value)) if value else {}


# a type symbol for an atom with its H (SpringerMaterials' Pauling File: 'OH', 'OH2' for a
# hydroxide's or a water's O whose H were not located, 'NH4' an ammonium's N): the atom
_WITH_ITS_H = re.compile(r"([A-GI-Z][a-z]?)H\d*[+-]?$")
_NOT_HERE = {0, 107, 113}  # what gemmi makes of those: no element, bohrium, nihonium


def _element(raw: gemmi.SmallStructure.Site, formula: set[str], typed: bool) -> gemmi.Element:
    """The site's element. Without _atom_site_type_symbol gemmi reads it from the label (and
    gives the label as the type), and a hydroxyl H labelled HO1 becomes holmium: a two-letter
    reading that the formula lacks, whose first letter it has, is that one-letter element."""
    element = raw.element
    group = _WITH_ITS_H.match(raw.type_symbol) if typed else None
    if group and gemmi.Element(group.group(1)).atomic_number and element.atomic_number in _NOT_HERE:
        return gemmi.Element(group.group(1))  # 'NH4' is no nihonium, 'BH4' no bohrium
    if (
        raw.type_symbol in ("", raw.label)
        and formula
        and element.name not in formula
        and len(element.name) == 2
        and element.name[0] in formula
    ):
        return gemmi.Element(element.name[0])
    return element


def _dummies(block: gemmi.cif.Block, small: gemmi.SmallStructure) -> dict[int, str]:
    """Row index → label of the dummy sites (_atom_site_calc_flag 'dum', CIF core: 'dummy site
    with meaningless coordinates': a ring centroid such as PLATON's Cg1), which are no atoms.
    By row, as gemmi makes one site of each row of the loop, since a dummy may share its label
    (H+, ?) with an atom."""
    table = block.find("_atom_site_", ["label", "calc_flag"])
    if len(table) != len(small.sites):  # no flags, or not the loop gemmi read the sites from
        return {}
    return {
        k: gemmi.cif.as_string(row[0])
        for k, row in enumerate(table)
        if gemmi.cif.as_string(row[1]).strip().lower() == "dum"
    }


# CIF core _atom_site_occupancy: the fraction of the site the atom fills, default 1.0, which
# "must lie in the 99.97% Gaussian confidence interval -3u =< x =< 1 + 3u" (cif_core.dic); a
# value written without su is allowed its last digit's rounding
_OCCUPANCY_ROUNDING = 1e-3


def _occupancies(block: gemmi.cif.Block, small: gemmi.SmallStructure) -> list[str] | None:
    """Each site's _atom_site_occupancy as written (row by row, as gemmi makes the sites), for
    what gemmi reads as 1 silently ('nan', 'inf', text) and the su; None without the column
    or where the loop is not the one gemmi read the sites from."""
    table = block.find("_atom_site_", ["label", "occupancy"])
    if len(table) != len(small.sites):
        return None
    return [row.str(1) if row[1] not in ("?", ".") else row[1] for row in table]


def _occupancy(raw: gemmi.SmallStructure.Site, written: str | None) -> tuple[float, str]:
    """(the site's occupancy, why it cannot be one: '' where it can). '?' and '.' are the
    dictionary's default 1; a value past 0 or 1 by more than 3 su (and rounding) is no fraction
    of a site (SHELX's site factor 11.0 pasted in, an atom count) and is refused where it was
    read as so many atoms before; within 3 su it is the edge it passes. An ICSD dummy's H count
    (occupancy 5 on a 'dum' row, COD 1000451) is no atom and never gets here (_dummies)."""
    if written is None or written in ("?", "."):
        value, written = raw.occ, f"{raw.occ:g}"
    else:
        try:
            value = float(re.sub(r"\(\d+\)$", "", written))
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            return 1.0, f"occupancy {written!r} is not a number"
    slack = 3 * _su_of(written) + _OCCUPANCY_ROUNDING
    if value < -slack:
        return value, f"occupancy {written} is negative"
    if value > 1 + slack:
        return value, (
            f"occupancy {written} is above 1: a CIF's _atom_site_occupancy is the fraction of "
            "the site filled (0 to 1), not SHELX's site factor nor an atom count"
        )
    return min(max(value, 0.0), 1.0), ""


def _sites(
    small: gemmi.SmallStructure,
    unit_cell,
    lines: _Lines,
    path: Path,
    formula: set[str],
    dummies: frozenset[int] = frozenset(),
    aniso: dict[str, tuple] | None = None,
    typed: bool = False,
    unknown_u: frozenset[str] = frozenset(),
    occupancies: list[str] | None = None,
) -> list[Site]:
    """The atoms (`unit_cell`: cctbx's, for Ueq); `typed`: the loop has _atom_site_type_symbol
    (else gemmi reads the labels); `unknown_u`: labels whose U row is not read
    (_unknown_aniso_u), left isotropic."""
    loop_line = lines.tag("_atom_site_fract_x")  # once: it reads the block up to the loop
    count = len(small.sites) - len(dummies)
    if count > MAX_SITES:  # refused before the rows are read one by one (minutes for 10⁶)
        raise InputError(
            f"{count} atom rows: CrystalX reads at most {MAX_SITES} atom rows per structure (a "
            "site shared by two elements is two rows)",
            str(path),
            loop_line,
        )
    rows = lines.atom_rows()
    aniso = aniso or {}
    sites = []
    for k, raw in enumerate(small.sites):
        if k in dummies:
            continue
        line = rows.get(raw.label, loop_line)
        element = _element(raw, formula, typed)
        if element.atomic_number == 0:
            raise InputError(
                f"site {raw.label}: unknown element {raw.type_symbol or raw.label!r}",
                str(path),
                line,
            )
        frac = tuple(raw.fract.tolist())
        if not all(math.isfinite(v) for v in frac):
            raise InputError(f"site {raw.label}: missing or invalid coordinates", str(path), line)
        if any(abs(v) > MAX_FRACTIONAL for v in frac):
            raise InputError(
                f"site {raw.label}: coordinates {' '.join(f'{v:g}' for v in frac)} are no "
                f"fractional coordinates (|x|, |y|, |z| <= {MAX_FRACTIONAL:g})",
                str(path),
                line,
            )
        occupancy, why = _occupancy(raw, occupancies[k] if occupancies else None)
        if why:
            raise InputError(f"site {raw.label}: {why}", str(path), line)
        u_iso, u_aniso = _u_iso(raw, unit_cell, aniso.get(raw.label))
        if raw.label in unknown_u:  # gemmi reads '?' as 0: U11 = 0 beside the rest is no
            u_iso, u_aniso = raw.u_iso, None  # ellipsoid, and its trace no Ueq
        sites.append(
            Site(
                label=raw.label,
                element=normalise_symbol(element.name, str(path), line),
                frac=frac,
                occupancy=occupancy,
                u_iso=u_iso if u_iso > 0 else Site.u_iso,
                part=raw.disorder_group,
                u_aniso=u_aniso,
                line=line,
            )
        )
    return sites


def sfac_unit_from_sites(structure: Structure) -> tuple[list[str], list[float]]:
    """Cell contents from the sites (occupancy × multiplicity), SFAC in SHELX order:
    C, H, then the rest alphabetically."""
    contents: dict[str, float] = {}
    for site, multiplicity in zip(structure.sites, site_multiplicities(structure)):
        contents[site.element] = contents.get(site.element, 0.0) + site.occupancy * multiplicity
    order = sorted(contents, key=lambda el: ({"C": 0, "H": 1}.get(el, 2), el))
    return order, [round(contents[el], 4) for el in order]


_SAME_COUNT = 0.05  # atoms per cell: a formula's count this close to the sites' is theirs


def formula_note(structure: Structure) -> str:
    """What _chemical_formula_sum times Z (CIF core: Z formula units in the cell) says where it
    gives other cell contents than the sites (H the model left out, solvent SQUEEZE took out, a
    site factor written as occupancy, a Z for another formula unit); '' where they agree or
    either is missing. UNIT stays the sites' count, as refined: on the 92 corpus CIFs where the
    two differ, the formula's UNIT broke 23 published elements and fixed 6, and 79 published H
    counts and fixed 24 (benchmarks/cif_unit_sweep.py, docs/benchmarks.md): it is said, not used."""
    z = structure.formula_units
    if not structure.formula or not z:
        return ""
    counted = dict(zip(structure.sfac, structure.unit))

    def differing(stated: dict[str, float]) -> list[str]:
        return [
            el
            for el in dict.fromkeys([*stated, *counted])
            if abs(counted.get(el, 0.0) - stated.get(el, 0.0)) > _SAME_COUNT
        ]

    # pymatgen's CifWriter gives the cell's contents as the sum, and Z formula units of the
    # reduced formula ('Mg4 Pb8 W4 O24', Z 4): the sites agree with the sum itself then
    if not differing({el: n for el, n in structure.formula.items() if n > 0}):
        return ""
    stated = {el: round(n * z, 4) for el, n in structure.formula.items() if n > 0}
    differ = differing(stated)
    if not differ:
        return ""
    more = " ..." if len(differ) > 5 else ""
    says = ", ".join(f"{el} {stated.get(el, 0.0):g}" for el in differ[:5]) + more
    sites = ", ".join(f"{el} {counted.get(el, 0.0):g}" for el in differ[:5]) + more
    return (
        f"_chemical_formula_sum x Z gives {says} per cell, the atom sites {sites}: UNIT counted "
        "from the sites, as refined"
    )


def _temperature_c(block: gemmi.cif.Block) -> float | None:
    kelvin = _number(block, "_diffrn_ambient_temperature") or _number(
        block, "_cell_measurement_temperature"
    )
    return None if kelvin is None or kelvin <= 0 else kelvin - 273.15


def read_cif(path, block: str | None = None) -> CifEntry:
    """Read one data block (default: the first with atom sites) of a CIF."""
    path = Path(path)
    empty: list[str] = []
    doc, text = _parse(path, empty=empty)
    chosen, note, structures = _choose_block(doc, block, path)
    lines = _Lines(text, chosen.name)
    missing = [tag for tag in _CELL_TAGS if _number(chosen, tag) is None]
    if missing:
        which = (
            " (_cell_length_a ... _cell_angle_gamma)"
            if len(missing) == len(_CELL_TAGS)
            else f": no value for {', '.join(missing)} (CIF2's _cell.angle_gamma and the like "
            "read as the same)"
        )
        raise InputError(
            f"data_{chosen.name} has no unit cell{which}",
            str(path),
            lines.tag(*_CELL_TAGS),
        )
    try:
        small = gemmi.make_small_structure_from_block(chosen)
    except (RuntimeError, ValueError) as error:
        raise InputError(
            f"cannot read data_{chosen.name}: {error}", str(path), lines.block_line
        ) from None
    if not small.sites or not structure_blocks([chosen]):  # none, or a row of '?' alone
        cartesian = _cartesian_only(chosen)
        if cartesian:
            raise InputError(
                f"data_{chosen.name} {cartesian}", str(path), lines.tag("_atom_site_Cartn_x")
            )
        raise InputError(
            f"data_{chosen.name} has no atom sites (_atom_site_fract_x loop)",
            str(path),
            lines.block_line,
        )
    missing = [tag for tag in _FRACT_TAGS if not len(chosen.find_values(tag))]
    if missing:  # gemmi would put every atom at 0 on that axis
        raise InputError(
            f"the atom_site loop has no {', '.join(missing)}", str(path), lines.tag(*_FRACT_TAGS)
        )
    cell = small.cell
    cell_values = (cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma)
    problem = cell_problem(cell_values)
    if problem:
        raise InputError(f"data_{chosen.name}: {problem}", str(path), lines.tag(*_CELL_TAGS))
    symops, symmetry_note = _symops(small, chosen, lines, path)
    metric = metric_problem(cell_values, space_group_from_operators(symops))
    read_as = []  # what this block is read as where it is not a plain 3D list of atoms
    if empty:
        read_as.append(f"{', '.join(empty)} written with no value: read as '?', unknown")
    dimension = _number(chosen, "_cell_modulation_dimension")
    if dimension:
        read_as.append(
            f"a modulated structure (_cell_modulation_dimension {dimension:g}): its average "
            "structure is read (3D operators, mean positions)"
        )
    hkl_text, hkl_tag = embedded_file(chosen, REFLECTION_TAGS)
    structure = Structure(
        cell=(cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma),
        symops=symops,
        wavelength=small.wavelength if small.wavelength > 0 else DEFAULT_WAVELENGTH,
        temperature_c=_temperature_c(chosen),
        title=chosen.name,
        source=str(path),
        symmetry_line=_symmetry_line(lines),  # a .res writer's refusal names it
    )
    formula = _formula_counts(chosen)
    dummies = _dummies(chosen, small)
    orth = structure.orthogonalisation
    aniso = _aniso_from_b_or_beta(chosen, orth)
    typed = len(chosen.find_values("_atom_site_type_symbol")) > 0
    unknown_u = _unknown_aniso_u(chosen)
    structure.sites = _sites(
        small,
        uctbx.unit_cell(structure.cell),
        lines,
        path,
        set(formula),
        frozenset(dummies),
        aniso,
        typed,
        frozenset(unknown_u),
        _occupancies(chosen, small),
    )
    if unknown_u:
        read_as.append(
            f"_atom_site_aniso_U row of {', '.join(unknown_u)} holds '?' or no number: "
            "left out, isotropic"
        )
    if dummies:
        many = "s" if len(dummies) > 1 else ""
        read_as.append(
            f"dummy site{many} {' '.join(dummies.values())} (_atom_site_calc_flag dum) left "
            "out: no atom"
        )
    structure.sfac, structure.unit = sfac_unit_from_sites(structure)
    structure.declared_no_h = declared_without_h(structure, formula)
    structure.formula_units = _formula_units(chosen, structure, formula)
    structure.formula = formula
    read_as.append(formula_note(structure))
    structure.cell_su = tuple(_su(chosen, tag) for tag in _CELL_TAGS)
    structure.sites = grouped_mixed_sites(structure.sites)
    probe_tag, probe = _not_xray(chosen)
    published_r1 = _number(chosen, _R1_TAG)
    refln_tag, refln_problem, unread = ("", "", "") if hkl_text is not None else _own_refln(chosen)
    return CifEntry(
        structure=structure,
        shelx_res_text=embedded_file(chosen, RES_TAGS)[0],
        shelx_hkl_text=hkl_text,
        hkl_tag=hkl_tag,
        refln_tag=refln_tag,
        refln_problem=refln_problem,
        refln_problem_line=lines.tag(unread) if unread else None,
        refln_without_sigma=bool(refln_tag) and without_sigma(chosen, refln_tag),
        published_r1=published_r1,
        stated_r1=stated_r1(published_r1, path, lines.tag(_R1_TAG)),
        block_name=chosen.name,
        one_of_several=structures > 1,
        notes=tuple(n for n in (note, symmetry_note, *read_as) if n),
        not_xray=f"{probe_tag} {probe}: not X-ray data" if probe_tag else "",
        not_xray_line=lines.tag(probe_tag) if probe_tag else None,
        probe=_probe(probe),
        metric=f"data_{chosen.name}: {metric}" if metric else "",
        metric_line=lines.tag(*_CELL_TAGS) if metric else None,
        weighting=cif_weighting(chosen, lines.tag),
    )


# (measured, σ) as CIF core names them: Fo² (SHELXL's .fcf), I (other programs), F (a program
# that refines on F, SHELXL's LIST 3), then the unmerged net intensities of a raw-data loop
# (_diffrn_refln: FinalCif and QCrBox write a .hkl so); each σ under its DDL1 name and its coreCIF
# 3 (DDLm) name, _su, which _ddl1_names leaves as _..._su
_MEASURED = (
    ("_refln_F_squared_meas", ("_refln_F_squared_sigma", "_refln_F_squared_meas_su")),
    ("_refln_intensity_meas", ("_refln_intensity_sigma", "_refln_intensity_meas_su")),
    ("_refln_F_meas", ("_refln_F_sigma", "_refln_F_meas_su")),
    (
        "_diffrn_refln_intensity_net",
        (
            "_diffrn_refln_intensity_u",
            "_diffrn_refln_intensity_sigma",
            "_diffrn_refln_intensity_net_su",
        ),
    ),
)
# the status columns of a _refln loop: CIF core _refln_include_status (its older name
# _refln_observed_status, which SHELXL writes), mmCIF's _refln.status, and CIF core
# _refln_refinement_status ('incl', 'excl', 'extn'); a row any of them leaves out is not refined
_STATUS = (
    "_refln_observed_status",
    "_refln_include_status",
    "_refln_status",
    "_refln_refinement_status",
)
# CIF core _refln_include_status: 'o' and '<' (observed, below the threshold) are refined, and
# mmCIF's 'f' (the free set, refined by SHELXL with the rest as its batch -1 is); the others mark
# what the refinement that wrote the file left out, and are left out as it left them
_REFINED = {"o", "<", "f", "incl", "?", "."}  # and '?' or '.', no status given
_NOT_REFINED = {
    "-": "systematically absent",
    "x": "excluded",
    "h": "beyond the high-angle cut-off",
    "l": "below the low-angle cut-off",
    "excl": "excluded from the refinement",
    "extn": "excluded for extinction",
}


def read_consistent_cif(path, block: str | None = None) -> CifEntry:
    """read_cif, refusing a block whose cell lacks its symmetry's metric as every job does
    (cctbx would assert on it at the job's first step, without a line)."""
    entry = read_cif(path, block)
    if entry.metric:
        raise InputError(entry.metric, str(path), entry.metric_line)
    return entry


def _own_refln(block: gemmi.cif.Block) -> tuple[str, str, str]:
    """(the measured tag, '', '') of the block's _refln loop of Fo², I or F (or _diffrn_refln
    loop of unmerged I) where it can be read as the file's reflections, σ or not; ('', why,
    that tag) where it cannot (a powder pattern's, a loop without its indices: it is then not
    the file's reflections, and --hkl X.cif refuses it by name); empty without one."""
    for measured, _ in _MEASURED:
        if not len(block.find_values(measured)):
            continue
        problem = _loop_problem(block, measured)
        if problem:
            return "", problem, measured
        return measured, "", ""
    return "", "", ""


def without_sigma(block: gemmi.cif.Block, measured: str) -> bool:
    """Whether the loop of `measured` has no σ column (its σ are to be estimated)."""
    return _sigma_tag(block, measured) is None


def block_reflections(path: Path, block: str, hklf: HklfFormat | None = None) -> Reflections:
    """The Fo² of the _refln loop of data_`block` of the CIF at `path` (that block's, never
    another's), read as cif_reflections reads them."""
    doc, text = _parse(path, None)
    chosen = doc.find_block(block)
    found = _measured([chosen], text, path, hklf) if chosen is not None else None
    if found is None:
        raise InputError(f"no _refln loop of Fo² in data_{block}", str(path))
    return found


def cif_reflections(path, hklf: HklfFormat | None = None, data: bytes | None = None) -> Reflections:
    """The reflections of a CIF named where reflections are asked for: SHELXL's _shelx_hkl_file
    (the .hkl itself, read as `hklf` says), else a _refln loop of measured Fo² or I (an .fcf
    of LIST 4, 6 or 8, of F: LIST 3, an IUCr sup2.hkl), read as written: merged, reindexed and
    scaled already; else a _diffrn_refln loop of unmerged net intensities."""
    path = Path(path)
    doc, text = _parse(path, data)
    for block in doc:
        hkl, tag = embedded_file(block, HKL_TAGS)
        if hkl is not None:
            hklf = _with_own_twin(hklf, _refuse_unrefinable(block, text, path))
            return embedded_hkl_reflections(hkl, f"{path} (data_{block.name} {tag})", hklf)
    found = _measured(doc, text, path, hklf, refuse=True)
    if found is not None:
        return found
    for block in doc:
        fcf = _text_field(block, FCF_TAG)
        if fcf is not None:
            hklf = _with_own_twin(hklf, _refuse_unrefinable(block, text, path))
            return embedded_fcf_reflections(
                fcf, Path(f"{path} (data_{block.name} {FCF_TAG})"), hklf
            )
    raise InputError(
        "no _shelx_hkl_file (the reflections SHELXL writes into its CIF) and no _refln loop of "
        "Fo² in this file: pass the .hkl the structure was refined against",
        str(path),
    )


def _with_own_twin(hklf: HklfFormat | None, own: HklfFormat | None) -> HklfFormat | None:
    """`hklf` (the instructions the data are read with), given the TWIN of the CIF's own .res
    (`own`, _refuse_unrefinable's) where it has none: the data were refined as twinned, and
    are so here, said in a note; an own .res of HKLF 5 makes the data HKLF 5 (their batch
    numbers are its components)."""
    if own is None or own.twin is None or (hklf is not None and hklf.twin is not None):
        return hklf
    base = hklf or HklfFormat()
    if own.twin.hklf5:  # HKLF 5 data: their batches name the components, read as such
        note = f"HKLF 5 and BASF of the CIF's own .res ({own.where}) applied to its data"
        return replace(base, code=5, twin=own.twin, notes=(*base.notes, note))
    note = f"TWIN of the CIF's own .res ({own.twin.where}) applied to its data"
    return replace(base, twin=own.twin, notes=(*base.notes, note))


def _refuse_unrefinable(block: gemmi.cif.Block, text: str, path: Path) -> HklfFormat | None:
    """An InputError where the block that carries the reflections says they cannot be refined
    as X-ray HKLF 4 data, whatever the instructions they are read with: its probe (electron,
    neutron), or its own embedded .res (TWIN, HKLF 5, NEUT: ShelxFile.reflection_format, naming
    its line). A CIF named as the reflection file of a fresh .ins (`crystalx solve x.ins x.cif`)
    was otherwise read as untwinned X-ray data (sf_atomstwoline's TWIN). The block is the one
    whose reflections are read, not the first of the file that carries any. Returns the
    embedded .res's format (its TWIN with it: _with_own_twin), None without one."""
    tag, probe = _not_xray(block)
    if tag:
        raise not_xray_error(
            f"{tag} {probe}: not X-ray data", _probe(probe), path, _Lines(text, block.name).tag(tag)
        )
    res, res_tag = embedded_file(block, RES_TAGS)
    if res is None:
        return
    from crystalx_core.io.shelx_read import parse_shelx

    try:
        instructions = parse_shelx(res, f"{path} ({res_tag})")
    except InputError:  # an embedded file we cannot read says nothing about the data
        return None
    return instructions.reflection_format()


_CIF_TEXT = re.compile(r"\s*(#.*\n\s*)*data_")  # comment lines, then a data block: a CIF


def embedded_hkl_reflections(text: str, where: str, hklf: HklfFormat | None = None) -> Reflections:
    """A CIF's embedded .hkl (_shelx_hkl_file); an .fcf put there instead (COD 2020660 holds its
    LIST 4 .fcf, data_ block and all) is read as the .fcf it is (its note says so)."""
    if _CIF_TEXT.match(text):
        return embedded_fcf_reflections(text, Path(where), hklf)
    return reflections_from_text(text, where, hklf)


def embedded_fcf_reflections(text: str, where: Path, hklf: HklfFormat | None = None) -> Reflections:
    """The Fo² of an .fcf embedded as text (_iucr_refine_fcf_details), read as the .fcf itself;
    `where` names it in messages, whose lines are the embedded text's."""
    if not _CIF_TEXT.match(text):
        text = "data_fcf " + text  # on the first line: the embedded text's lines stay
    doc, text = _parse(where, text.encode("utf-8"))
    found = _measured(doc, text, where, hklf)
    if found is not None:
        return found
    raise InputError("no _refln loop of Fo² in the embedded .fcf", str(where))


def _measured(
    doc: gemmi.cif.Document,
    text: str,
    path: Path,
    hklf: HklfFormat | None,
    refuse: bool = False,
) -> Reflections | None:
    """The first loop of measured Fo² (or I, or F) of the document; None without one. With
    `refuse`, its block's probe and embedded .res are asked first (_refuse_unrefinable). A
    TWIN of the instructions (or, with `refuse`, of the block's own .res) goes with the data:
    a twinned refinement's Fo² are the twinned intensities (Olex2 writes the raw .hkl as such
    a loop: sf_atomstwoline's 98375 unmerged rows)."""
    for block in doc:
        for measured, _ in _MEASURED:
            if len(block.find_values(measured)):
                if refuse:
                    hklf = _with_own_twin(hklf, _refuse_unrefinable(block, text, path))
                if hklf is not None and hklf.twin is not None and hklf.twin.hklf5:
                    raise InputError(
                        f"HKLF 5 twin data read from a CIF loop ({measured}), whose rows keep "
                        "no HKLF 5 groups here: pass the HKLF 5 .hkl file",
                        str(path),
                    )
                reflections = _refln_loop(block, measured, text, path)
                if hklf is not None and hklf.twin is not None:
                    reflections.twin = hklf.twin
                    reflections.notes += [n for n in hklf.notes if n.startswith("TWIN of the")]
                if hklf is not None and (hklf.code != 4 or hklf.scale != 1 or hklf.matrix):
                    reflections.notes.append(
                        f"HKLF {hklf.code} of the instructions not applied to {path.name}: its "
                        "Fo² are reindexed and scaled already"
                    )
                return reflections
    return None


def _statuses(block: gemmi.cif.Block, measured: str) -> list[str]:
    """The status tags (_STATUS) of the loop of `measured`, in its order of _STATUS."""
    written = _loop_tags(block, measured)
    return [tag for tag in _STATUS if tag.lower() in written]


def _loop_tags(block: gemmi.cif.Block, measured: str) -> set[str]:
    """The tags of the loop of `measured`, lower case; empty where it is no loop."""
    loop = block.find_loop(measured).get_loop()
    return {tag.lower() for tag in loop.tags} if loop is not None else set()


def _indices(measured: str) -> list[str]:
    """h, k, l of the category of `measured` (_refln_ or _diffrn_refln_)."""
    category = "_diffrn_refln" if measured.startswith("_diffrn_refln") else "_refln"
    return [f"{category}_index_{axis}" for axis in "hkl"]


def _sigma_tag(block: gemmi.cif.Block, measured: str) -> str | None:
    """The σ tag of the loop of `measured` (the first of its names written there), None without
    one, or where its every row is '?' or '.' (a σ column with no σ in it is none)."""
    return _sigma_column(block, measured)[0]


def _sigma_column(block: gemmi.cif.Block, measured: str) -> tuple[str | None, str]:
    """(the σ tag of the loop of `measured` or None, why there is none: '' where none is written,
    the tag written with '?' or '.' in every row)."""
    written = _loop_tags(block, measured)
    names = dict(_MEASURED)[measured]
    tag = next((tag for tag in names if tag.lower() in written), None)
    if tag is not None and all(value in ("?", ".") for value in block.find_values(tag)):
        return None, tag
    return tag, ""


def _refln_loop(block: gemmi.cif.Block, measured: str, text: str, path: Path) -> Reflections:
    """h, k, l, the measured value and its σ of each row whose status is refined; the lines of
    `text` are looked at for a message alone (a large .fcf's tokens are read once, if at all).
    A loop without σ is read with every σ 0, which usable_reflections weighs as SHELXL weighs
    σ = 0 (by WGHT alone, _weighable_sigmas): a note says so."""
    lines = functools.cache(lambda: _Lines(text, block.name))
    problem = _loop_problem(block, measured)
    if problem:
        raise InputError(problem, str(path), lines().tag(measured))
    sigma, empty = _sigma_column(block, measured)
    statuses = _statuses(block, measured)
    tags = _indices(measured) + [measured] + ([sigma] if sigma else [])
    table = block.find(tags + statuses)
    rows = functools.cache(lambda: lines().loop(measured)[1])

    def line_of(row: float) -> int:
        return rows()[int(row)][0]

    columns = [  # a row's Fo² or σ '?' (unknown) or '.' (none): no observation, left out
        _loop_numbers(table.column(k), tag, line_of, path, unknown=k > 2)
        for k, tag in enumerate(tags)
    ]
    if sigma is None:
        columns.append(np.zeros_like(columns[3]))
    h, k, l = columns[:3]
    indices = np.stack([h, k, l])
    fractional = (indices != np.round(indices)).any(axis=0)
    if fractional.any():
        row = int(np.argmax(fractional))
        raise InputError("a Miller index that is not an integer", str(path), line_of(row))
    beyond = outside_index_range(indices.T)  # 1e11 overflows cctbx's int indices
    if beyond.any():
        row = int(np.argmax(beyond))
        raise InputError(
            f"Miller index {' '.join(f'{v:g}' for v in indices[:, row])} out of range "
            f"({INDEX_RANGE})",
            str(path),
            line_of(row),
        )
    groups = _scale_groups(block, measured)
    flagged = 0
    if groups is not None and (groups < 0).any():  # a .hkl's batch column: as the .hkl is read
        rows = [
            (*map(int, indices[:, n]), columns[3][n], columns[4][n], line_of(n))
            for n in range(len(h))
        ]
        flagged = free_r_flags(rows, groups.tolist(), str(path))
    keep = ~(np.isnan(columns[3]) | np.isnan(columns[4]))
    notes = [free_r_note(flagged)] if flagged else []
    if not keep.all():
        written = f"{measured} or {sigma}" if sigma else measured
        notes.append(
            f"{int((~keep).sum())} reflection(s) with '?' or '.' for {written} "
            f"left out: not measured (the first on line {line_of(int(np.argmin(keep)))})"
        )
    for n, status in enumerate(statuses):
        flags = np.array([gemmi.cif.as_string(value) for value in table.column(len(tags) + n)])
        for flag, why in _NOT_REFINED.items():
            left_out = flags == flag
            if left_out.any():
                notes.append(
                    f"{int(left_out.sum())} reflection(s) {why} ({status} '{flag}') left out"
                )
            keep &= ~left_out
        free = int((flags == "f").sum())  # mmCIF's free set, refined as SHELXL's batch -1
        if free:
            notes.append(
                f"{free} reflection(s) of the free set ({status} 'f') refined with the rest: "
                "CrystalX reports no R(free)"
            )
        odd = sorted(set(flags.tolist()) - _REFINED - set(_NOT_REFINED))
        if odd:  # refined, as SHELXL refines what it is not told to omit, but said
            notes.append(
                f"{int(np.isin(flags, odd).sum())} reflection(s) with {status} "
                f"{', '.join(repr(flag) for flag in odd[:3])}, not a CIF core or mmCIF value: "
                "refined with the rest"
            )
    listed = _list_code(block)
    written = f" ({listed})" if listed else ""
    table = np.column_stack([h, k, l, columns[3], columns[4], np.arange(len(h))])[keep]
    if not len(table):
        raise InputError(f"no reflection of {path.name} is to be refined", str(path), line_of(0))
    as_f = measured == "_refln_F_meas"  # F, σ(F) made Fo², σ(Fo²) as SHELXL's HKLF 3 does
    batches = np.abs(groups[keep]) if groups is not None else None
    hklf = HklfFormat(3 if as_f else 4)
    reflections = usable_reflections(table, batches, str(path), hklf, line_of)
    if sigma is None:  # the all-zero note of _weighable_sigmas, said of the loop
        floor = float(reflections.sigmas[0])
        reflections.notes = [n for n in reflections.notes if not n.startswith("every reflection")]
        notes.append(
            (
                f"no σ column in the {measured} loop (as {_SIGMA_NAMES[measured]})"
                if not empty
                else f"no σ in the {measured} loop ({empty}: '?' or '.' in every row)"
            )
            + ": every σ(Fo²) "
            f"set to {floor:.3g} (1 % of the median Fo²), the weights from WGHT alone, as SHELXL "
            "weighs reflections of σ 0"
        )
    unmerged = measured.startswith("_diffrn_refln")
    source = "unmerged net intensities" if unmerged else "reflections"
    how = (
        "as measured, each observation apart, merged by the refinement as an unmerged .hkl is"
        if unmerged
        else "as written there, merged, indexed and scaled by the program that wrote it"
    )
    reflections.notes[:0] = [
        f"{source} from the {measured} loop of {path.name}{written}: {how}"
        + ("; F and σ(F) squared to Fo² as HKLF 3 reads them" if as_f else ""),
        *notes,
    ]
    return reflections


def _scale_groups(block: gemmi.cif.Block, measured: str) -> np.ndarray | None:
    """A raw-data loop's _diffrn_refln_scale_group_code as the batch numbers of a .hkl (FinalCif
    writes a .hkl's batch column there), signed as written (-1 SHELX's free-R flag, other
    negative numbers HKLF 5 twin components: free_r_flags), where each is a whole number; None
    otherwise."""
    tag = "_diffrn_refln_scale_group_code"
    if not measured.startswith("_diffrn_refln") or tag not in _loop_tags(block, measured):
        return None
    codes = [gemmi.cif.as_string(v) for v in block.find(_indices(measured) + [tag]).column(3)]
    if not all(re.fullmatch(r"[+-]?\d{1,4}", code) for code in codes):
        return None
    return np.array(codes, dtype=int)


_SIGMA_NAMES = {measured: " or ".join(names[:2]) for measured, names in _MEASURED}


def _loop_problem(block: gemmi.cif.Block, measured: str) -> str:
    """Why the loop of `measured` cannot be read as single-crystal reflections, '' when it can:
    the indices it lacks, a powder pattern's (GSAS writes _pd_refln_ tags in it: its Fo² come
    from a Rietveld fit, σ or not), an .fcf whose SHELXL list has no σ (LIST 5: the .hkl it
    was made from has them, and its estimates would stand in for measured ones), a σ or status
    written apart from it. A loop of Fo² and Fc² without σ and list code (COD files written
    from an .fcf without it, as COD 2019572: the only data published) is read."""
    indices = _indices(measured)
    written = _loop_tags(block, measured)
    powder = any(tag.startswith("_pd_") for tag in written)
    missing = [tag for tag in indices if tag.lower() not in written]
    if written and missing:
        why = f"{measured} needs {' and '.join(missing)} in its loop"
        return why + (f" ({_POWDER})" if powder else "")
    if powder:
        return f"{measured}: {_POWDER}"
    if not written:
        return f"{measured} needs {', '.join(indices)} in one loop with it"
    if not len(block.find(indices + [measured])):
        return f"{measured}: its loop has no row"
    listed = _list_code(block)
    if listed and _sigma_tag(block, measured) is None:  # SHELXL's LIST 5 (F, Fc, phase)
        return (
            f"{measured}: an .fcf of {listed} with no σ, written for Fourier maps from the "
            "refined model, not for refining against: pass the .hkl the structure was refined "
            "against, or an .fcf written with LIST 4 or 6"
        )
    apart = [
        tag
        for tag in (*dict(_MEASURED)[measured], *_STATUS)
        if len(block.find_values(tag))
        and tag.lower() not in written
        and not (tag in _STATUS and not measured.startswith("_refln"))
    ]
    if apart and (apart[0] in _STATUS or _sigma_tag(block, measured) is None):
        return f"{apart[0]} is written apart from the {measured} loop: it must be a column of it"
    return ""


_POWDER = (
    "powder data, _pd_ tags: Fo² apportioned by a Rietveld fit; CrystalX refines "
    "single-crystal data only"
)


def _list_code(block: gemmi.cif.Block) -> str:
    """'SHELXL LIST n' of an .fcf, as its _shelx_refln_list_code says; '' without one."""
    code = block.find_value("_shelx_refln_list_code")
    return f"SHELXL LIST {code}" if code else ""


def _loop_numbers(column, tag: str, line_of, path: Path, unknown: bool = False) -> np.ndarray:
    """A loop column as numbers; '?', '.' (NaN where `unknown` allows them) or text is an
    InputError naming its row."""
    values = list(column)
    missing = np.array([unknown and value in ("?", ".") for value in values], dtype=bool)
    try:
        numbers = np.array(["nan" if gone else v for v, gone in zip(values, missing)], dtype=float)
        bad = ~np.isfinite(numbers) & ~missing  # 'nan' or 'inf' written as a value
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"{tag}: {values[row]!r} is not a number", str(path), line_of(row))
        return numbers
    except ValueError:
        for row, value in enumerate(values):
            try:
                float(value)
            except ValueError:
                raise InputError(
                    f"{tag}: {value!r} is not a number", str(path), line_of(row)
                ) from None
        raise
