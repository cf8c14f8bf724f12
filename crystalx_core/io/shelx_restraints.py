"""The user's own restraints and constraints (DFIX, SIMU, RIGU, EADP, ...) for the job's
refinement, named as the job names the atoms: an input file's lines (user_restraints) or those
a client sends (sent_restraints: the Olex2 plugin's, from Olex2's refinement model), both
through one set of rules (_carried).

A disordered model refined without the restraints its author needed runs away (a minor ring's
ADPs grow to Å² sizes), so the refinement reads the input file's restraint lines, followed to
the job's labels by io.shelx_names exactly as the written .res follows them; a line naming an
atom the model no longer has is left out, as the writer makes it a REM line. Only the kinds
smtbx applies are carried: iotbx.shelx's restraint_parser reads DFIX DANG SADI FLAT SIMU DELU
RIGU ISOR (cctbx 2025.11, iotbx/shelx/parsers.py; CHIV it reads and ignores), and EADP/EXYZ
become smtbx's shared_u/shared_site constraints (crystallography.refine). A range ('C1 > C6')
is spelt out in the file's atom order (the refinement's is another) without its H, for every
kind: SHELXL's 'all atoms between and including the two named atoms but excluding hydrogens'
(SHELXL-93/97 manual, '.ins' general organisation), as Olex2 does (xlib/atomref.cpp
ListAtomRef::Expand skips `GetType().z < 2`). A residue's atom is C1_2
to the job, as to SHELXL and Olex2 (crystalx_core.residues), so a line is read as SHELXL reads
it (manual, RESI): DFIX_2 in residue 2, DFIX_CLS once for each residue of class CLS, DFIX_*
for every residue, a bare DFIX in the residue current at it, each atom name in that residue
unless suffixed (C1_3, C1_+); one line per residue, on the job's labels, a residue without
the atoms named skipped, as Olex2 drops an empty residue's group (AtomRefList::Expand). An
atom of every residue (SADI Al1 O1_*) is left out with a note naming its line: SHELXL's
manual allows '_*' on the instruction only ('not by _* or _ and a residue class', RESI), and
Olex2 reads it as one list, Al1 O1 O1_1 O1_2 ..., whose SADI pairs are O1_1-O1_2
(xlib/atomref.cpp ImplicitCAtomRef::Expand): on FC_p21c two pairs of disorder partners. A
client's DFIX, DANG or SADI holding that list (the atom of every residue holding it, three or
more side by side: all Olex2 sends for O1_*, in PART 0 too), or pairing two atoms of different
non-zero PARTs, which never coexist, is left out the same way. A DFIX, DANG, SADI or
FLAT on an EQIV's image (C1_$1) is kept with its EQIV (SYMMETRIC); a residue the model lacks,
or an image in another kind is left out with a note; SAME becomes the SADI restraints SHELXL
makes of it (_same_as_sadi), or where it cannot (by residue class, an atom dropped) is named
with its lines. A
DFIX/DANG target given on a free variable (DFIX 21) is put as the distance
it stands for at the input's value: iotbx reads the number as written. A negative target is
SHELXL's anti-bumping restraint, applied only while the distance is under |d| (SHELXL manual,
DFIX: automate-it.com/lee/shelxl/dfix.htm), which smtbx has no form of: iotbx would restrain
the distance to the negative number, pulling the atoms together, so it is left out and said.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from crystalx_core.elements import is_hydrogen
from crystalx_core.io.shelx_names import (
    _address,
    _instructions,
    _number,
    _residue_classes,
    _residues_of,
)
from crystalx_core.io.shelx_write import _atom_region, _num, _read_sites, _renamed_and_gone
from crystalx_core.errors import InputError
from crystalx_core.geometry import connectivity, identity_operator
from crystalx_core.io.shelx_read import AtomLine, ShelxFile, decode_parameter
from crystalx_core.residues import bare_label, residue_address, residue_number
from crystalx_core.structure import Site, Structure

RESTRAINTS = frozenset("DFIX DANG SADI FLAT SIMU DELU RIGU ISOR".split())
CONSTRAINTS = frozenset(("EADP", "EXYZ"))
# restraints whose first number, the target, may be a free variable (SHELXL manual, DFIX/DANG)
VARIABLE_TARGETS = frozenset(("DFIX", "DANG"))
# a DFIX/DANG target under this is a distance as written, above it a free variable (SHELXL
# manual, DFIX: 'Fixing d by adding 10 is not allowed, so the value may lie between 0 and 15')
MAX_WRITTEN_TARGET = 15.0
# SAME's default s1 (s2 twice it) and SHELXL's bond tolerance (CONN: r1 + r2 + 0.5 Å), by which
# SAME finds its 1,2 and 1,3 distances (SHELXL manual, SAME and CONN)
SAME_S1 = 0.02
CONN_TOLERANCE = 0.5
# restraints smtbx has no reader for: the refinement goes on without them, with a note
UNSUPPORTED = frozenset("CHIV SAME NCSY BUMP".split())
# restraints iotbx applies to an EQIV's image (restraint_parser: sym_ops for DFIX, DANG, SADI,
# FLAT); it passes none for SIMU, DELU, RIGU, ISOR, and smtbx's EADP/EXYZ take none either
SYMMETRIC = frozenset("DFIX DANG SADI FLAT".split())
# why a line read as written would restrain the wrong atoms: left out, its first place named
EVERY_RESIDUE = (
    "naming an atom of every residue (O1_*: SHELXL's manual allows '_*' on the instruction "
    "only, and Olex2 pairs the atoms of one list)"
)
PARTNERS = "pairing atoms of two PARTs, disorder partners that never coexist"
# a client's word for a Q-peak it cannot name (the Olex2 plugin: Olex2's export gives a
# restraint's peak as tag -1, TAsymmUnit::PyExport): the line is named in the note, not refined
PEAK_WORD = "Q?"


@dataclass(frozen=True)
class GivenRestraints:
    """Restraint and constraint lines a client sends with its model (the plugin: Olex2's
    refinement model written as SHELX lines, each atom by its label in `sites`), and the
    sites they name, each Site.line its place in the request."""

    lines: tuple[str, ...]
    sites: tuple[Site, ...]
    where: str = "Olex2's refinement model"


@dataclass
class _Candidate:
    """One restraint or constraint line under the job's labels, and what the reading found."""

    keyword: str
    words: list[str]
    where: str  # 'on line 12 of x.res', for the note on anti-bumping lines
    gone: bool = False  # names an atom the model no longer has
    unread: bool = False  # by residue, or in an include file
    peak: bool = False  # names a Q-peak (PEAK_WORD)
    wrong: str = ""  # why, read as written, it would restrain the wrong atoms (EVERY_RESIDUE)
    same: bool = False  # a SADI made of a SAME (_same_as_sadi)


def user_restraints(shelx_file: ShelxFile | None, structure: Structure) -> tuple[list[str], str]:
    """The restraint and constraint lines of `shelx_file` that the refinement of `structure`
    (sites carrying their file lines, Site.line) can apply, one line each under the job's
    labels, and one note on what was left out ('' when nothing)."""
    if shelx_file is None:
        return [], ""
    lines = shelx_file.lines
    start, end = _atom_region(lines)
    origins = {line.number: line for line in lines[start:end] if isinstance(line, AtomLine)}
    sites = [site for site in structure.sites if not site.is_peak]
    renamed, gone_atoms = _renamed_and_gone(sites, _read_sites(origins), structure)
    placed = [  # the file's atoms in its order, under the job's labels (None: one it dropped)
        (
            number,
            None
            if site.label.upper() in gone_atoms
            else renamed.get(site.label.upper(), site.label),
            is_hydrogen(site.element or ""),
        )
        for number, site in ((n, line.site) for n, line in origins.items() if line.site)
    ]
    order = [(label, hydrogen) for _, label, hydrogen in placed if label]  # what a range spans
    hydrogens = {label.upper() for label, hydrogen in order if hydrogen}
    bonds = _Bonds(structure)
    classes = _residue_classes(lines[:end])
    known = {label.upper() for label, _ in order} | gone_atoms  # what the file's atoms are
    candidates, equivalents = [], {}
    for line, residue, include in _instructions(lines[:end]):
        if line.kind == "instruction" and line.keyword == "EQIV" and line.fields:
            equivalents[line.fields[0].upper()] = " ".join(line.text.split())
        if line.kind != "instruction" or line.keyword not in RESTRAINTS | CONSTRAINTS | UNSUPPORTED:
            continue
        # SHELXL reads a line up to '!' or '=' (manual, 'Alphabetical list of SHELXL
        # instructions'): 'SADI C1 C2 = ring A' goes on on the next line, without 'ring A'
        words = " ".join(
            physical.partition("!")[0].partition("=")[0] for physical in line.text.splitlines()
        ).split()
        where = f"on line {line.number} of {shelx_file.path}"
        if any(word.endswith("_*") for word in words[1:]):
            candidates.append(_Candidate(line.keyword, words, where, wrong=EVERY_RESIDUE))
            continue
        # DFIX_2 is for residue 2, DFIX_CLS for each residue of class CLS, DFIX_* for all, a
        # bare DFIX for the residue current at it (SHELXL manual, RESI): one line per residue
        residues, several = _residues_of(line, residue, classes)
        if not residues:  # a class no RESI declares
            candidates.append(_Candidate(line.keyword, words, where, unread=True))
        for number in residues:
            named = [_in_residue(word, number, renamed) for word in words[1:]]
            if several and not all(_atom(word) in known for word in named if _atom(word)):
                continue  # DFIX_* in residue 0, which lacks the residues' atoms
            if several and number == 0 and not line.text.split()[0].endswith("_*"):
                if not any(_atom(word) for word in named):  # SIMU_CLS of a `RESI CLS`:
                    # its atoms share residue 0 with the main ones, which it must not restrain
                    candidates.append(_Candidate(line.keyword, words, where, unread=True))
                    continue
            expanded = _ranges_expanded([line.keyword] + named, order)
            gone = any(word.upper() in gone_atoms for word in named)
            if line.keyword == "SAME" and not several and not gone and include is None:
                following = [label for n, label, h in placed if n > line.number and not h]
                same = _same_as_sadi(expanded[1:], following, bonds, hydrogens)
                if same:
                    candidates += [_Candidate("SADI", w, where, same=True) for w in same]
                    continue
            candidates.append(
                _Candidate(line.keyword, expanded, where, gone=gone, unread=include is not None)
            )
    labels = {label.upper() for label, _ in order}
    return _carried(_merged_sadi(candidates), shelx_file.fvars, labels, equivalents)


class _Bonds:
    """The model's bonds within the asymmetric unit as SHELXL's connectivity table makes them
    (CONN: d < r1 + r2 + 0.5 Å, PART rules), pairs of labels in upper case; made when first
    asked (a SAME)."""

    def __init__(self, structure: Structure):
        self.structure = structure
        self._pairs: set[frozenset[str]] | None = None

    def __contains__(self, pair: frozenset[str]) -> bool:
        if self._pairs is None:
            model = self.structure.with_sites([s for s in self.structure.sites if not s.is_peak])
            identity = identity_operator(model)
            labels = [site.label.upper() for site in model.sites]
            self._pairs = {
                frozenset((labels[c.i], labels[c.j]))
                for contacts in connectivity(model, CONN_TOLERANCE)
                for c in contacts
                if c.op == identity and not any(c.shift)
            }
        return pair in self._pairs


def _same_as_sadi(
    words: list[str], following: list[str | None], bonds: _Bonds, hydrogens: set[str]
) -> list[list[str]]:
    """SAME s1 s2 atoms (ranges spelt out) as the SADI restraints SHELXL makes of it (manual,
    SAME): the atoms against as many of the non-H atoms `following` the line, each 1,2
    distance among those (bonded within the asymmetric unit) and each 1,3 (both bonded to a
    third of them) restrained with s1 (0.02) and s2 (2 s1) to the partner distance in the
    SAME's list, the following atoms' pair first, as Olex2 generates them 'to match ShelXL'
    (xlib/samegroup.cpp TSameGroup::get_generator, xlib DistanceGenerator::Generate); [] where
    the line cannot be read so (too few atoms follow or one the job dropped, a word that is no
    atom or an H, which SHELXL's count of the following atoms leaves out), which leaves it to
    the note."""
    numbers = words[: next((k for k, w in enumerate(words) if not _number(w)), len(words))]
    words = words[len(numbers) :]
    if len(numbers) > 2 or not words or any(_number(w) or w in "<>" or "_$" in w for w in words):
        return []
    if any(w.upper() in hydrogens for w in words) or len({w.upper() for w in words}) < len(words):
        return []
    if len(following) < len(words) or None in following[: len(words)]:
        return []
    s1 = float(numbers[0]) if numbers else SAME_S1
    s2 = float(numbers[1]) if len(numbers) > 1 else 2 * s1
    reference = following[: len(words)]
    upper = [label.upper() for label in reference]

    def bonded(i: int, j: int) -> bool:
        return frozenset((upper[i], upper[j])) in bonds

    out = []
    for i in range(len(words)):
        for j in range(i + 1, len(words)):
            if {upper[i], upper[j]} == {words[i].upper(), words[j].upper()}:
                continue  # the distance itself
            if bonded(i, j):
                sigma = s1
            elif any(bonded(i, k) and bonded(k, j) for k in range(len(words)) if k not in (i, j)):
                sigma = s2
            else:
                continue
            out.append(["SADI", _num(sigma), reference[i], reference[j], words[i], words[j]])
    return out


def _merged_sadi(candidates: list[_Candidate]) -> list[_Candidate]:
    """The candidates with the SADI made of SAMEs that share a distance (several SAMEs before
    one group) made one SADI of every distance they hold equal, each once: SHELXL restrains n
    distances held equal with equal weights (manual, SAME and SADI), where a SADI per reference
    distance (Olex2's TSameGroup::GenerateList) restrains a pair twice, and twice as hard."""
    parent: dict[tuple[str, frozenset[str]], tuple[str, frozenset[str]]] = {}

    def root(key):
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    def distances(words):  # ((sigma, pair), labels) of a SAME's SADI
        return [
            ((words[1], frozenset(w.upper() for w in words[k : k + 2])), words[k : k + 2])
            for k in range(2, len(words), 2)
        ]

    for candidate in candidates:
        if candidate.same:
            first, *others = (key for key, _ in distances(candidate.words))
            for key in others:
                parent[root(key)] = root(first)
    out, merged, held = [], {}, set()
    for candidate in candidates:
        if not candidate.same:
            out.append(candidate)
            continue
        pairs = distances(candidate.words)
        group = root(pairs[0][0])
        if group not in merged:
            merged[group] = replace(candidate, words=candidate.words[:2])
            out.append(merged[group])
        for key, labels in pairs:
            if key not in held:
                held.add(key)
                merged[group].words += labels
    return out


def _in_residue(word: str, residue: int, renamed: dict[str, str]) -> str:
    """An instruction's word under the job's labels, its atom read in `residue` as SHELXL reads
    it (C1 the current residue's, C1_2 residue 2's, C1_+ the next one's: shelx_names._address),
    the job's label an address (C1_2), an EQIV's image that label with its '_$1'; a number,
    '<', '>' or a name of a residue class as written."""
    atom, mark, equivalent = word.partition("_$")
    if mark:  # the EQIV's image of the atom read in `residue`
        return _in_residue(atom, residue, renamed) + mark + equivalent
    address = None if _number(word) or word in "<>" else _address(word, residue)
    if address is None:
        return word
    base = word.partition("_")[0]
    return renamed.get(address, residue_address(base, residue_number(address)))


def sent_restraints(given: GivenRestraints, structure: Structure) -> tuple[list[str], str]:
    """`user_restraints` for lines a client sent: each atom followed from its label in
    `given.sites` to the job's (the job's sites carry their Site.line), a line naming an atom
    the model no longer has left out; then the same rules as for a file's lines."""
    sites = [site for site in structure.sites if not site.is_peak]
    origins = {site.line: site for site in given.sites if site.line}
    renamed, gone_atoms = _renamed_and_gone(sites, origins, structure)
    parts = {site.label.upper(): site.part for site in given.sites}
    # a bare label → every residue's atom in Olex2's order for O1_* (TAsymmUnit::FindResidues
    # "*": the main residue, then each residue as created, the order the sites come in)
    holders: dict[str, list[str]] = {}
    for site in sorted(given.sites, key=lambda site: residue_number(site.label) != 0):
        holders.setdefault(bare_label(site.label).upper(), []).append(site.label.upper())
    candidates, equivalents = [], {}
    for text in given.lines:
        words = text.split()
        if not words:
            continue
        if words[0].upper() == "EQIV" and len(words) > 1:
            equivalents[words[1].upper()] = " ".join(words)
            continue
        named = [word.upper() for word in words[1:]]
        candidates.append(
            _Candidate(
                words[0].upper(),
                words[:1] + [renamed.get(upper, word) for upper, word in zip(named, words[1:])],
                f"in {given.where}: {text}",
                gone=any(upper in gone_atoms for upper in named),
                peak=PEAK_WORD in named,
                wrong=_sent_wrong(words[0].upper(), named, parts, holders),
            )
        )
    return _carried(candidates, [], {site.label.upper() for site in sites}, equivalents)


def _sent_wrong(
    keyword: str, words: list[str], parts: dict[str, int], holders: dict[str, list[str]]
) -> str:
    """Why a client's DFIX, DANG or SADI would restrain the wrong atoms, read as sent: Olex2's
    one list for an atom of every residue (EVERY_RESIDUE, as a file's O1_* is), or a pair of
    disorder partners (PARTNERS); '' when neither."""
    if keyword not in VARIABLE_TARGETS | {"SADI"}:
        return ""
    if _every_residues_atom(words, holders):
        return EVERY_RESIDUE
    return PARTNERS if _pairs_partners(words, parts) else ""


def _every_residues_atom(words: list[str], holders: dict[str, list[str]]) -> bool:
    """Whether `words` hold Olex2's list for O1_* (xlib/atomref.cpp ImplicitCAtomRef::Expand
    over TAsymmUnit::FindResidues("*")): the O1 of every residue holding one, three or more
    side by side in Olex2's order (`holders`, by bare label), which a pair kind reads as
    unrelated pairs (Al1-O1, O1_1-O1_3). Two could be a pair the user wrote, and a list of
    two after Al1 is cut to Al1-O1 by Olex2 itself (AtomRefList::EnsureAtomGroups); the same
    atoms in another order are a line the user wrote out."""
    run: list[str] = []
    for word in words + [""]:
        if run and bare_label(word) == bare_label(run[0]) and word not in run:
            run.append(word)
            continue
        if len(run) > 2 and run == holders.get(bare_label(run[0])):
            return True
        run = [word] if word and not _number(word) else []
    return False


def _pairs_partners(words: list[str], parts: dict[str, int]) -> bool:
    """Whether a pair kind's `words` pair two atoms of different non-zero PARTs (their
    labels' `parts`), which never coexist: no distance to restrain."""
    atoms = [parts.get(word, 0) for word in words if not _number(word)]
    return any(a and b and a != b for a, b in zip(atoms[::2], atoms[1::2]))


def _carried(
    candidates: list[_Candidate],
    fvars: list[float],
    labels: set[str],
    equivalents: dict[str, str],
) -> tuple[list[str], str]:
    """The lines smtbx can apply, and one note on what was left out ('' when nothing): a kind
    smtbx has no reader for (a client's unknown word too, which iotbx would read as an atom
    and fail on), a line naming an atom the model no longer has, one by residue, range,
    symmetry or in an include file, a DFIX/DANG target on a free variable `fvars` does not
    define, an anti-bumping DFIX/DANG, a client's line naming a Q-peak (PEAK_WORD)."""
    kept: list[str] = []
    gone, unread, undefined = 0, 0, 0
    other: dict[str, list[str]] = {}  # a kind smtbx has no reader for → where its lines are
    bumping: list[str] = []  # where the anti-bumping DFIX/DANG are (a negative target)
    peaks: list[str] = []  # the lines naming a Q-peak
    wrong: dict[str, list[str]] = {}  # why a line would restrain the wrong atoms → where
    for line in candidates:
        words = line.words
        if line.peak:
            peaks.append(" ".join(words))
        elif line.wrong:
            wrong.setdefault(line.wrong, []).append(line.where)
        elif line.keyword not in RESTRAINTS | CONSTRAINTS:
            other.setdefault(line.keyword, []).append(line.where)
        elif line.gone:
            gone += 1
        # a residue's atom is C1_2 in `labels` (the job's, upper case), an EQIV's image of
        # one C1_2_$1 where iotbx applies the symmetry; any other '_' is a class or a residue
        # the model lacks
        elif line.unread or any(
            word in "<>" or not _named(word, line.keyword, labels, equivalents)
            for word in words[1:]
        ):
            unread += 1
        elif line.keyword in VARIABLE_TARGETS and not _target_decoded(words, fvars):
            undefined += 1
        # negative as written (-1.8, -21) or as decoded (16 = -4 × fv(2)): iotbx would pull
        # the atoms towards the negative number
        elif line.keyword in VARIABLE_TARGETS and _anti_bumping(words):
            bumping.append(line.where)
        else:
            kept.append(" ".join(words))
    images = {w.partition("_$")[2].upper() for line in kept for w in line.split() if "_$" in w}
    kept = [equivalents["$" + n] for n in sorted(images)] + kept  # the EQIVs they name first
    left = []
    if gone:
        left.append(f"{gone} naming atoms this model no longer has")
    if unread:
        left.append(f"{unread} by residue, range, symmetry or in an include file")
    if undefined:
        left.append(f"{undefined} with a target on a free variable FVAR does not define")
    if bumping:
        left.append(
            f"{len(bumping)} anti-bumping DFIX/DANG (a negative target, which SHELXL applies only "
            f"while the distance is under it; smtbx has no such restraint), the first "
            f"{bumping[0]}"
        )
    for why, where in wrong.items():
        left.append(f"{len(where)} {why}, the first {where[0]}")
    if other:
        left.append(f"{', '.join(_unapplied(other))} (smtbx has no such restraint)")
    if peaks:  # each named: the user meant an atom there, and it is not one yet
        left.append(
            f"{len(peaks)} naming a Q-peak, which is no atom to restrain ({'; '.join(peaks)})"
        )
    note = (
        f"the input's restraints and constraints refined with: {len(kept)} lines; "
        f"left out: {'; '.join(left)}"
        if left
        else ""
    )
    return kept, note


def _unapplied(other: dict[str, list[str]]) -> list[str]:
    """The kinds smtbx cannot apply, SAME with its lines: SHELXL makes SADI restraints of it
    (manual, SAME), which the user may write out as SADI for the job."""
    names = []
    for kind in sorted(other):
        lines = list(dict.fromkeys(other[kind]))  # a SAME_CLS is one line for its residues
        names.append(
            f"SAME ({len(lines)} line{'s' if len(lines) > 1 else ''}, the first {lines[0]}; "
            f"SHELXL makes SADI restraints of it)"
            if kind == "SAME"
            else kind
        )
    return names


def _named(word: str, keyword: str, labels: set[str], equivalents: dict[str, str]) -> bool:
    """A restraint's word iotbx reads as meant: a number, a job's label (C1_2 for residue 2's
    C1), or for a kind iotbx applies symmetry to (SYMMETRIC) a label's image under an EQIV
    the input defines (C1_$1)."""
    if "_" not in word or _number(word):
        return True
    atom, mark, equivalent = word.partition("_$")
    if not mark:
        return word.upper() in labels
    defined = "$" + equivalent.upper() in equivalents
    return keyword in SYMMETRIC and defined and atom.upper() in labels


def _target(words: list[str]) -> float | None:
    """The DFIX/DANG line's target as written, None without one (SHELXL's default, or a
    malformed line iotbx reports)."""
    try:
        return float(words[1]) if len(words) > 1 else None
    except ValueError:
        return None


def _anti_bumping(words: list[str]) -> bool:
    """A negative target, written as a distance (-1.8) or on a free variable (-21)."""
    target = _target(words)
    return target is not None and target < 0


def _target_decoded(words: list[str], fvars: list[float]) -> bool:
    """Put a DFIX/DANG target given on a free variable (21 = fv(2), 30.5 = 0.5 × fv(3)) as
    the distance it stands for, p × fv(m), which iotbx's parser would read as the number
    written (21 Å), at the input's value (a variable named by a target stays fixed:
    shelx_read.occupancy_variables). A target under 15 is a distance as written: SHELXL
    does not fix one by adding 10 (11.54 is 11.54 Å; manual, DFIX). False where the code
    names a variable FVAR does not define."""
    code = _target(words)
    if code is None or code < MAX_WRITTEN_TARGET:
        return True
    try:
        words[1] = f"{decode_parameter(code, fvars, '', '', 0):.5f}"
    except InputError:
        return False
    return True


def _atom(word: str) -> str:
    """The atom an instruction's word names, upper case ('C1_2' for C1_2 and its image
    C1_2_$1); '' for a number, '<' or '>'."""
    if _number(word) or word in "<>":
        return ""
    return word.partition("_$")[0].upper()


def _ranges_expanded(words: list[str], order: list[tuple[str, bool]]) -> list[str]:
    """The words with each 'A > B' ('A < B') made the atoms from A to B in the file's order
    `order` ((label, is H) each), backwards for '<', without the H between (SHELXL and Olex2
    alike: module docstring); unchanged where an end is not in `order`."""
    upper = [label.upper() for label, _ in order]
    out: list[str] = []
    k = 0
    while k < len(words):
        word = words[k]
        if word in "<>" and out and k + 1 < len(words):
            first, last = out[-1].upper(), words[k + 1].upper()
            if first in upper and last in upper:
                i, j = upper.index(first), upper.index(last)
                span = order[i : j + 1] if word == ">" else order[j : i + 1][::-1]
                if len(span) > 1:
                    out[-1:] = [label for label, hydrogen in span if not hydrogen]
                    k += 2
                    continue
        out.append(word)
        k += 1
    return out
