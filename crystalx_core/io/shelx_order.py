"""Instructions whose atoms depend on the ORDER of the atom list, checked across a rewrite.

A rewritten .res keeps the user's atoms on their lines but inserts riding H after their pivots,
leaves atoms out and adds new ones, so an instruction that names no atom but counts them can
silently come to mean other atoms:

- a range 'C1 > C6' ('C6 < C1' backwards) spans the atoms between its ends in the atom list,
  H, D and Q peaks not counted (Olex2's reading of SHELXL, pcxod/olex2 xlib/atomref.cpp:
  TAtomReference::IsValidAtom, `!ca->IsDeleted() && ca->GetType().z > 1`);
- 'ANIS n' makes 'the next n isotropic non-hydrogen atoms anisotropic' (SHELXL manual, ANIS,
  as ShelXFile quotes it: dkratzert/ShelXFile shelxfile/shelx/cards.py, class ANIS);
- 'SAME' compares its list with as many atoms as FOLLOW it in the file (SHELXL manual, SAME),
  H and D skipped, consecutive SAME lines sharing those atoms (pcxod/olex2 xlib/ins.cpp,
  TIns::_ProcessSame: `if (a.GetAtomInfo() == iHydrogenIndex || ... iDeuteriumIndex)
  { max_atoms++; continue; }`).

So riding H inserted after their pivots change none of them; an atom left out, retyped to or
from H, or added among the others can.

`order_changes` reads each such instruction in the file as read (its atoms renamed as the job
renamed them) and in the file as written, and says where they differ. 'ANIS n' is then written
with the atoms it meant by name, which keeps its meaning whatever the order; a range or SAME
that no longer means its atoms gets a note naming the instruction and line: never a silent
change. Instructions for a residue class (SAME_CLS, SIMU_*) serve several residues and are left
to io.shelx_names' note.
"""

from __future__ import annotations

from crystalx_core.elements import is_hydrogen
from crystalx_core.io.shelx_names import _address, _number, _wrapped
from crystalx_core.io.shelx_read import AtomLine, ShelxLine, resi_fields
from crystalx_core.residues import bare_label, residue_number

RANGED = frozenset("SIMU DELU RIGU ISOR FLAT SADI DFIX DANG HFIX ANIS EXYZ EADP CHIV SAME".split())


def order_dependent(line: ShelxLine) -> bool:
    """Whether `line` may mean atoms by their order: a range, 'ANIS n' or SAME (not one for a
    residue class or another residue, 'SAME_CCF3': io.shelx_names' business)."""
    if line.kind != "instruction" or line.keyword not in RANGED:
        return False
    if "_" in line.text.split(None, 1)[0]:
        return False
    words = _words(line.text)
    return (
        line.keyword == "SAME"
        or "<" in words
        or ">" in words
        or (line.keyword == "ANIS" and len(words) == 1 and words[0].isdigit())
    )


class _Atom:
    """An atom of the list as SHELXL counts it: its address, H or not, isotropic or not."""

    __slots__ = ("address", "counted", "isotropic", "line")

    def __init__(self, address: str, counted: bool, isotropic: bool, line: int):
        self.address, self.counted, self.isotropic, self.line = address, counted, isotropic, line


def _atoms(lines: list[ShelxLine], renamed: dict[str, str]) -> list[_Atom]:
    """The atoms of `lines` in file order, under the job's names (`renamed`: old address → new
    label); peaks and H are there but not counted."""
    out = []
    for line in lines:
        if not isinstance(line, AtomLine) or line.site is None or line.kind != "atom":
            continue
        site = line.site
        address = renamed.get(site.label.upper(), site.label).upper()
        counted = not site.is_peak and not is_hydrogen(site.element or "")
        out.append(_Atom(address, counted, len(line.u_codes) != 6, line.number))
    return out


def _words(text: str) -> list[str]:
    """An instruction's arguments over its continuation lines ('!' and '=' start comments)."""
    words: list[str] = []
    for physical in text.splitlines():
        words += physical.partition("!")[0].partition("=")[0].split()
    return words[1:]


def _span(words: list[str], k: int, residue: int, atoms: list[_Atom]) -> tuple[str, ...] | None:
    """The counted atoms of the range at words[k] ('>' or '<'); None where an end is missing
    (or is a symmetry equivalent or a residue class: io.shelx_names._address)."""
    if not 0 < k < len(words) - 1:
        return None
    addresses = [a.address for a in atoms]
    ends = []
    for word in (words[k - 1], words[k + 1]):
        address = _address(word, residue)
        if address is None or address not in addresses:
            return None
        ends.append(addresses.index(address))
    first, last = ends if words[k] == ">" else ends[::-1]
    if first > last:
        return None
    span = tuple(a.address for a in atoms[first : last + 1] if a.counted)
    return span if words[k] == ">" else span[::-1]


def _following(atoms: list[_Atom], number: int, count: int, isotropic: bool = False):
    """The first `count` counted atoms after file line `number` (isotropic ones only if asked)."""
    after = [a for a in atoms if a.line > number and a.counted and (a.isotropic or not isotropic)]
    return tuple(a.address for a in after[:count])


def _listed(words: list[str], residue: int, atoms: list[_Atom]) -> list[str]:
    """A SAME's atoms in order, ranges spelt out (a range whose ends are not atoms: its ends)."""
    out: list[str] = []
    k = 0
    while k < len(words):
        word = words[k]
        if _number(word):
            k += 1
            continue
        if word in "<>":
            span = _span(words, k, residue, atoms)
            if span is not None:
                out = out[:-1] + list(span)
                k += 2
                continue
            k += 1
            continue
        out.append(_address(word, residue) or word.upper())
        k += 1
    return out


def _meanings(lines: list[ShelxLine], atoms: list[_Atom]) -> list[tuple]:
    """(line, what, atoms meant, residue current at it) for each order-dependent instruction
    of `lines`, in order."""
    out = []
    residue = 0
    for line in lines:
        if line.kind != "instruction":
            continue
        if line.keyword == "RESI":
            residue = resi_fields(line.fields)[0]
            continue
        if not order_dependent(line):
            continue
        words = _words(line.text)
        spans = [_span(words, k, residue, atoms) for k, w in enumerate(words) if w in "<>"]
        if any(span is not None for span in spans):
            out.append((line, "range", tuple(spans), residue))
        if line.keyword == "ANIS" and len(words) == 1 and words[0].isdigit():
            out.append((line, "ANIS", _following(atoms, line.number, int(words[0]), True), residue))
        if line.keyword == "SAME":
            listed = _listed(words, residue, atoms)
            following = _following(atoms, line.number, len(listed))
            out.append((line, "SAME", tuple(zip(listed, following)), residue))
    return out


def order_changes(
    read: list[ShelxLine],
    written: list[ShelxLine],
    renamed: dict[str, str],
    gone: set[str],
) -> list[tuple]:
    """(line as read, line as written, kind, atoms meant then, atoms meant now, residue) for each
    order-dependent instruction whose atoms changed: `read` the input's lines with the job's
    renaming already in their text, `written` the lines of the file written. Atoms the job
    dropped (`gone`) are not counted against it: the instruction cannot mean them any more.
    Instructions are paired by their text, in order."""
    then = _meanings(read, _atoms(read, renamed))
    atoms_now = _atoms(written, {})
    now = _meanings(written, atoms_now)
    pending: dict[tuple[str, str], list] = {}
    for item in now:
        pending.setdefault((item[1], _key(item[0])), []).append(item)
    aniso_now = {a.address for a in atoms_now if not a.isotropic}
    changes = []
    for line, kind, meant, residue in then:
        matches = pending.get((kind, _key(line)))
        if not matches:
            continue
        after, _, meant_now, _ = matches.pop(0)
        if kind == "range":
            meant = tuple(
                None if span is None else tuple(a for a in span if a not in gone) for span in meant
            )
            if meant != meant_now:
                changes.append((line, after, kind, meant, meant_now, residue))
        elif kind == "ANIS":
            wanted = {a for a in meant if a not in gone and a not in aniso_now}
            if set(meant_now) != wanted:
                changes.append((line, after, kind, meant, meant_now, residue))
        elif tuple(p for p in meant if not set(p) & gone) != meant_now:
            changes.append((line, after, kind, meant, meant_now, residue))
    return changes


def _key(line: ShelxLine) -> str:
    return " ".join(line.text.split()).upper()


def anis_by_name(line: ShelxLine, meant: tuple[str, ...], gone: set[str], residue: int) -> str:
    """'ANIS n' as 'ANIS names' of the atoms it meant (those still in the model), named as in
    residue `residue` (an atom of another residue with its number appended)."""
    names = [bare_label(a) if residue_number(a) == residue else a for a in meant if a not in gone]
    ending = line.text[len(line.text.rstrip("\r\n")) :]
    was = " ".join(line.text.split())
    if not names:
        return f"REM CrystalX: the atoms it meant are not in this model; was: {was}{ending}"
    return _wrapped(["ANIS", *names], f" ! was {was}", ending)
