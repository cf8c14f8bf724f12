"""Atom names in the instructions a rewritten .res keeps (DFIX, SADI, EADP, HTAB, ...), made to
follow the atoms the job renamed or removed.

A kept restraint must still mean the atoms it meant: a retyped atom (O5 → N5) is renamed in
every instruction that names it, and an instruction naming an atom the new model no longer
has (an H the job replaced, a peak) would make SHELXL stop or restrain something else, so it
is written as a REM line that says why. Names are resolved as the SHELXL manual says (RESI:
'If an atom name is not followed by a residue number, the current residue is assumed (unless
overridden by a global residue number or class appended to the instruction codeword)';
'_+'/'_-' the next/previous residue; '_$n' a symmetry equivalent, EQIV). Instructions for a
residue class (DFIX_CCF3) or for all residues (DFIX_*) name atoms of several residues and are
left as written, with a note. An include file (+file) is the user's and never written: a note
names what in it is stale.

The user's HFIX for atoms whose H the file now holds as atoms lose those atoms
(hfix_without_riding_pivots): SHELXL would add their H a second time.
"""

from __future__ import annotations

import re

from crystalx_core.io.shelx_read import resi_fields
from crystalx_core.residues import bare_label, residue_address, residue_number

# instructions whose arguments (after any numbers) are atom names, SHELXL manual ch. 7; BEDE
# and LONE (SHELXL 2019: bonding and lone-pair density, Lübben et al., Acta Cryst. A75 (2019)
# 50-62) name theirs before their numbers, as in ShelXFile's test_bedelone_inline.res
NAMING = frozenset(
    "DFIX DANG SADI SAME CHIV FLAT DELU SIMU RIGU ISOR NCSY EADP EXYZ BUMP CONN BIND FREE "
    "HFIX MPLA RTAB HTAB ANIS XNPD CONF BOND BLOC SPEC BEDE LONE".split()
)
_TOKEN = re.compile(r"(?<=\s)[^\s=!]+")
_DIGITS = re.compile(r"\d+")  # a residue number (int() reads every such digit, unlike isdigit's)


def _number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _residue(suffix: str, current: int) -> int | None:
    """The residue an atom name's suffix ('' '2' '$1' '+' '-') points to; None for a class."""
    if not suffix or suffix.startswith("$"):
        return current
    if _DIGITS.fullmatch(suffix):
        return int(suffix)
    return {"+": current + 1, "-": current - 1}.get(suffix)


def follow_renamed_atoms(
    lines, renamed: dict[str, str], gone: set[str]
) -> tuple[dict[int, str], list[str]]:
    """New text per line number of the instructions among `lines` (ShelxLine) that name an
    atom of `renamed` (old label → new, residue addresses such as C1_2, upper case) or of
    `gone` (labels no longer in the model), and a note naming those put out as REM lines."""
    replaced: dict[int, str] = {}
    put_out: dict[int, list[str]] = {}  # line → the gone atoms it names
    notes: list[str] = []
    classes = _residue_classes(lines)
    stale: dict[int, list[str]] = {}  # id of an include line → the stale names read from it
    for line, residue, include in _instructions(lines):
        if line.kind == "include":
            notes += _include_note(line, stale.pop(id(line), []))
            continue
        if line.keyword not in NAMING:
            continue
        numbers, several = _residues_of(line, residue, classes)
        if include is not None:  # the user's include file: a note, never an edit
            names = _stale_names(line, numbers, renamed, gone, suffixed=several)
            stale.setdefault(id(include), []).extend(names)
            continue
        if several:  # every residue of a class, or every residue: one text for all
            notes += _class_note(line, numbers, renamed, gone)
            continue
        text, missing = _followed(line, numbers[0], renamed, gone)
        if missing:
            names = " ".join(dict.fromkeys(missing))
            flat = re.sub(r"\s*=\s*\r?\n\s*", " ", text).rstrip()
            ending = line.text[len(line.text.rstrip("\r\n")) :]
            replaced[line.number] = f"REM CrystalX: {names} not in this model; was: {flat}{ending}"
            put_out[line.number] = missing
        elif text != line.text:
            replaced[line.number] = _within_columns(text)
    if not put_out:
        return replaced, notes
    names = " ".join(dict.fromkeys(name for words in put_out.values() for name in words))
    where = ", ".join(str(number) for number in put_out)
    many = "s" if len(put_out) > 1 else ""
    return replaced, notes + [
        f"{len(put_out)} instruction{many} of the SHELX file (line{many} {where}) named atoms "
        f"this model no longer has ({names}): written as REM line{many}"
    ]


def _residue_classes(lines) -> dict[str, list[int]]:
    """Residue numbers per class, from the RESI lines (class and number in either order); a
    residue without a class under '' (include files' RESI too: SHELXL reads them in place).
    `RESI CLS` without a number is residue 0 of class CLS (SHELXL manual: 'RESI class[ ]
    number[0]'), so DFIX_CLS applies to residue 0's atoms. Olex2 numbers it after the highest
    residue before it (xlib/ins.cpp TIns::_ParseIns passes NoResidue to xlib/asymmunit.cpp
    TAsymmUnit::NewResidue), and the plugin sends that number: its job names the atoms C1_n
    where this reading names them C1, the same atoms restrained either way. The two must
    differ: the .res written here goes back to SHELXL, which reads C1_n as residue n's, and
    Olex2 holds the atoms in residue n, whose main residue may hold a C1 of its own."""
    classes: dict[str, list[int]] = {}
    for line, _, _ in _instructions(lines):
        if line.kind == "instruction" and line.keyword == "RESI":
            number, name = resi_fields(line.fields)
            if (number or name) and number not in classes.get(name, []):
                classes.setdefault(name, []).append(number)
    return classes


def _residues_of(line, current: int, classes: dict[str, list[int]]) -> tuple[list[int], bool]:
    """The residues an instruction's atom names are read in, and whether one text serves
    several: DFIX_CLS every residue of class CLS, DFIX_* every residue and residue 0 (SHELXL
    manual, RESI), DFIX_3 residue 3, DFIX the current one."""
    target = line.text.split(None, 1)[0].partition("_")[2]
    if not target:
        return [current], False
    if _DIGITS.fullmatch(target):
        return [int(target)], False
    if target == "*":
        return sorted({0, *(n for numbers in classes.values() for n in numbers)}), True
    return classes.get(target.upper(), []), True


def _stale_names(line, residues: list[int], renamed, gone, suffixed: bool) -> list[str]:
    """The names in `line` that mean a renamed or gone atom in one of `residues` (with the
    residue number appended when it serves several)."""
    stale: list[str] = []
    for number in residues:
        text, missing = _followed(line, number, renamed, gone)
        changed = [old for old, new in zip(line.text.split(), text.split()) if old != new]
        stale += [f"{w}_{number}" if suffixed else w for w in missing + changed]
    return stale


def _class_note(line, residues: list[int], renamed: dict[str, str], gone: set[str]) -> list[str]:
    """A note when an instruction for a residue class (or '_*', all residues) names an atom
    that one of its residues renamed or lost: one text serves every residue, so it cannot
    follow (SHELXL manual, RESI)."""
    stale = _stale_names(line, residues, renamed, gone, suffixed=True)
    if not stale:
        return []
    head = line.text.split(None, 1)[0]
    which = "every residue" if head.endswith("_*") else "every residue of its class"
    return [
        f"{head} (line {line.number}) applies to {which}, and "
        f"{' '.join(dict.fromkeys(stale))} is renamed or not in this model: check it"
    ]


def _instructions(lines, residue: int = 0, include=None):
    """(line, the residue current at it, the include line it was read from or None) for each
    instruction of `lines` and of the include files they read, in the order SHELXL reads them:
    a '+file' in place, a RESI in it going on after it (SHELXL manual, RESI and '+'). An include
    line itself comes after its own instructions, so a note on it can gather them."""
    for line in lines:
        if line.kind == "include":
            residue = yield from _instructions(line.included, residue, line)
            yield line, residue, include
        elif line.kind == "instruction":
            if line.keyword == "RESI":
                residue = resi_fields(line.fields)[0]
            yield line, residue, include
    return residue


def _include_note(include, stale: list[str]) -> list[str]:
    """A note for an include file that names renamed or gone atoms: it is the user's file,
    which CrystalX never writes, so the user has to edit it."""
    if not stale:
        return []
    return [
        f"include file {include.fields[0]} names {' '.join(dict.fromkeys(stale))}, renamed "
        "or not in this model: edit it before refining (CrystalX does not change your files)"
    ]


def _followed(line, current: int, renamed: dict[str, str], gone: set[str]):
    """The instruction's text with renamed atoms renamed, and the names of gone atoms in it."""
    missing: list[str] = []
    count = [0]

    def follow(match: re.Match) -> str:
        word = match.group(0)
        count[0] += 1
        if (line.keyword == "RTAB" and count[0] == 1) or _number(word) or word in "<>":
            return word  # RTAB's first argument names the table
        base, _, suffix = word.partition("_")
        number = _residue(suffix, current)
        if number is None or number < 0:
            return word
        address = residue_address(base.upper(), number)
        if address in renamed:
            return bare_label(renamed[address]) + word[len(base) :]
        if address in gone:
            missing.append(word)
        return word

    pieces = []
    for physical in line.text.splitlines(keepends=True):
        # what follows '!' or '=' on a line is a comment (SHELXL manual, 'Alphabetical list of
        # SHELXL instructions'): 'SADI C1 C2 = was H5' names no H5
        code = physical.partition("!")[0].partition("=")[0]
        pieces.append(_TOKEN.sub(follow, code) + physical[len(code) :])
    return "".join(pieces), missing


def hfix_without_riding_pivots(
    lines, pivots: set[str], order: list[str] = ()
) -> tuple[dict[int, str], list[str]]:
    """New text per line number of the file's HFIX instructions that name an atom of `pivots`
    (residue addresses, upper case: the atoms whose H the rewritten file holds as atoms), with
    those names taken out, a line left with none written as a REM line; and a note. SHELXL
    writes the H an HFIX made as atoms under AFIX and no HFIX with them (every SHELXL .res of
    the benchmark, FC_*: riding H under AFIX 43/137, no HFIX line): the user's would make a
    later SHELXL run add them again. A line with an atom range ('C1 > C6': the atoms between
    in the atom list, `order` the written atoms' addresses) is never split, as the range's
    ends may be the very atoms taken out: it becomes a REM line when any atom of it is a
    pivot. An HFIX naming no atom stands for every atom (of residue n for HFIX_n, of the
    residues of a class for HFIX_CLS): a REM line when one of them is a pivot. HFIX for a
    residue class naming atoms is left as written; one in an include file gets a note."""
    replaced: dict[int, str] = {}
    taken: dict[int, list[str]] = {}
    notes: list[str] = []
    stale: dict[int, list[str]] = {}  # id of an include line → its HFIX's pivots
    classes = _residue_classes(lines)
    for line, residue, include in _instructions(lines):
        if line.kind == "include":
            notes += _hfix_include_note(line, stale.pop(id(line), []))
            continue
        if line.keyword != "HFIX":
            continue
        numbers, several = _residues_of(line, residue, classes)
        head, words, comment = _hfix_words(line.text)
        if all(_number(w) for w in words):  # no names: every atom of its residues
            out = _pivots_of_residues(head, numbers, pivots, order)
        elif several:
            continue
        else:
            out = _named_pivots(words, numbers[0], pivots, order)
        if include is not None:  # the user's include file: a note, never an edit
            stale.setdefault(id(include), []).extend(out)
            continue
        if not out:
            continue
        ending = line.text[len(line.text.rstrip("\r\n")) :]
        kept = [w for w in words if w not in out]
        taken[line.number] = out
        if "<" in words or ">" in words or all(_number(w) for w in kept):
            flat = " ".join([head, *words]) + comment
            replaced[line.number] = (
                f"REM CrystalX: H of {' '.join(out)} written as atoms; was: {flat}{ending}"
            )
        else:
            replaced[line.number] = _wrapped([head, *kept], comment, ending)
    if not taken:
        return replaced, notes
    many = "s" if len(taken) > 1 else ""
    names = " ".join(dict.fromkeys(w for words in taken.values() for w in words))
    where = ", ".join(str(number) for number in taken)
    put_out = sum(replaced[n].startswith("REM") for n in taken)
    how = {
        len(taken): f"written as REM line{many}",
        0: f"taken out of {'them' if many else 'it'}",
    }.get(put_out, "taken out of them (a line left with none is a REM line)")
    return replaced, notes + [
        f"{len(taken)} HFIX instruction{many} of the SHELX file (line{many} {where}) named "
        f"atoms whose H this file now holds as atoms ({names}): {how}"
    ]


def _pivots_of_residues(head: str, numbers: list[int], pivots: set[str], order) -> list[str]:
    """The atoms of `pivots` an HFIX without atom names stands for, in the written order:
    every atom for a bare HFIX, the atoms of residues `numbers` for HFIX_n or HFIX_CLS."""
    suffixed = "_" in head
    return [
        a
        for a in (label.upper() for label in order)
        if a in pivots and (not suffixed or residue_number(a) in numbers)
    ]


def _hfix_words(text: str) -> tuple[str, list[str], str]:
    """An HFIX's keyword, its arguments over every continuation line, and its comments (' !...'
    or ''): SHELXL ignores what follows '!' or '=' on a line (manual, ch. 7)."""
    words: list[str] = []
    comments: list[str] = []
    for physical in text.splitlines():
        code, bang, comment = physical.partition("!")
        words += code.partition("=")[0].split()
        if bang:
            comments.append(comment.rstrip())
    return words[0], words[1:], "".join(f" !{c}" for c in comments)


def _named_pivots(words: list[str], current: int, pivots: set[str], order) -> list[str]:
    """The atoms of `pivots` an instruction's arguments name, as written; a range 'A > B' (or
    'B < A') stands for every atom of `order` from A to B."""
    named = [w for w in words if not _number(w) and w not in "<>"]
    out = [w for w in named if _address(w, current) in pivots]
    addresses = [a.upper() for a in order]
    for k, word in enumerate(words):
        if word not in "<>" or not 0 < k < len(words) - 1:
            continue
        ends = [_address(words[k - 1], current), _address(words[k + 1], current)]
        if all(end in addresses for end in ends):
            first, last = sorted(addresses.index(end) for end in ends)
            out += [a for a in addresses[first : last + 1] if a in pivots and a not in out]
    return list(dict.fromkeys(out))


def _hfix_include_note(include, stale: list[str]) -> list[str]:
    """A note when an include file's HFIX names atoms whose H the file now holds: the user's
    file, never written, so the user has to take them out."""
    if not stale:
        return []
    return [
        f"include file {include.fields[0]} has HFIX for {' '.join(dict.fromkeys(stale))}, whose H "
        "this file now holds as atoms: take them out before refining (CrystalX does not change "
        "your files)"
    ]


def _address(word: str, current: int) -> str | None:
    """The residue address (C1_2, upper case) an atom name in an instruction of residue
    `current` stands for; None for a symmetry equivalent or a residue class."""
    base, _, suffix = word.partition("_")
    number = _residue(suffix, current)
    if number is None or number < 0 or suffix.startswith("$"):
        return None
    return residue_address(base.upper(), number)


def _within_columns(text: str, width: int = 80) -> str:
    """An instruction whose renamed atoms (C12 -> Cl12) made a line longer than `width`
    columns, split there with ' =' continuations: SHELXL reads 80 columns of a line, so a name
    past them would be lost, or the '=' that continues the instruction. A line without a name
    (a long '!' comment alone) stays as it is."""
    out = []
    for physical in text.splitlines(keepends=True):
        body = physical.rstrip("\r\n")
        code, bang, comment = body.partition("!")
        words, equals, after = code.partition("=")
        words = words.split()
        if len(body) <= width or not words:
            out.append(physical)
            continue
        indent = " " if body[:1].isspace() else ""
        tail = (" =" + after.rstrip() if equals else "") + (f" !{comment}" if bang else "")
        out.append(_wrapped([indent + words[0], *words[1:]], tail, physical[len(body) :], width))
    return "".join(out)


def _wrapped(words: list[str], comment: str, ending: str, width: int = 80) -> str:
    """`words` as one instruction, continued with ' =' lines past `width` columns."""
    lines, current = [], words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) + 2 > width:
            lines.append(current + " =")
            current = " "
        current += " " + word if current.strip() else word
    lines.append(current + comment)
    return (ending or "\n").join(lines) + ending
