"""Which files of a folder tree `crystalx batch` runs: one structure per crystal, as the
programs that wrote the folder leave it (SHELXT's solutions, a refinement beside them, a
file manager's copies, Windows' upper-case names), each choice named in the structure's row."""

from __future__ import annotations

import codecs
import filecmp
import glob
import os
import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path, PureWindowsPath

from crystalx_core.errors import CrystalXError, InputError
from crystalx_core.outputs import OUTPUT_MARK

MODEL_SUFFIXES = (".res", ".ins", ".cif", ".mcif")  # .mcif: a magnetic CIF, read as a CIF
# levels of subfolders below the folder given: a dataset's folder (1), APEX's sample/work (2),
# CrysAlisPro's exp_1/struct/olex2_exp_1 (3), one more to spare; a home or drive named by
# mistake is not searched to the bottom
MAX_DEPTH = 4
# an .ins saved this long after its .res was edited after SHELXL's run; within it, a folder
# copied or unpacked at once (FAT keeps times to 2 s)
EDITED_AFTER_NS = 2 * 10**9


@dataclass(frozen=True)
class BatchItem:
    """One structure file; where its reflections are is Loaded.reflections_file's to say."""

    model: Path
    left_out: tuple[Path, ...] = ()  # other files of the same structure, not read
    block: str = ""  # the data block, for one of several structures of a CIF
    folder: str = ""  # the model's folder below the one the batch was given (--out mirrors it)
    why: str = ""  # for the row: why this file of the structure was read, where not plain
    alias: str = ""  # the name of a block whose own is another file's (distinct_names)

    @property
    def name(self) -> str:
        from crystalx_core.io import block_stem

        return self.alias or block_stem(self.model, self.block)

    @property
    def label(self) -> str:
        """The name with its subfolder, so that two datasets' x.res are told apart in a row."""
        return f"{self.folder}/{self.name}" if self.folder else self.name

    def load(self):
        from crystalx_core.io import load

        return load(self.model, self.block or None)


@dataclass(frozen=True)
class FoundInputs:
    """What find_inputs found: the structures, and the folders it did not search ('path
    (why)'), for the user to hear of: a dataset there is missing from the batch."""

    items: list[BatchItem]
    unsearched: list[str]


def find_inputs(target: str, skip: Path | None = None) -> FoundInputs:
    """Structures in a folder and its subfolders (model_files), or matching a glob: one per
    crystal (choose), the others of it kept as left out, our own outputs skipped; a CIF of
    several structures (data blocks with atoms) gives one per block. `skip`: a folder not
    searched (the batch's --out)."""
    path = Path(target)
    unsearched: list[str] = []
    if path.is_dir():
        root = path
        candidates, unsearched = model_files(path, skip)
    else:
        candidates = sorted(Path(p) for p in glob.glob(target, recursive=True))
        if not candidates:
            raise InputError("no such folder, and no file matches this pattern", target)
        root = Path(os.path.commonpath([p.parent for p in candidates]))
    groups: dict[tuple[Path, str], list[Path]] = {}
    for candidate in candidates:
        if _is_model(candidate):  # one name, whatever its case (Windows' NAME.RES and name.ins)
            groups.setdefault((candidate.parent, candidate.stem.casefold()), []).append(candidate)
    from crystalx_core.io.cif import structure_block_names

    items = []
    for model, left_out, why in choose(groups):
        folder = model.parent.relative_to(root).as_posix() if model.parent != root else ""
        blocks = structure_block_names(model)
        items += [BatchItem(model, left_out, block, folder, why) for block in blocks or [""]]
    return FoundInputs(_distinct_names(_solved_below(items)), unsearched)


def _distinct_names(items: list[BatchItem]) -> list[BatchItem]:
    """`items`, a CIF block whose name is another structure's of its folder (zk.cif's data_a
    and zk_a.res are both zk_a, any case) named after its file's suffix too (zk_cif_a), said
    in its row: both wrote zk_a_crystalx.*, the second job's replacing the first's."""
    from crystalx_core.io import block_stem

    count = Counter((item.folder, item.name.casefold()) for item in items)
    renamed = []
    for item in items:
        if item.block and count[(item.folder, item.name.casefold())] > 1:
            own = Path(f"{item.model.stem}_{item.model.suffix[1:].lower()}")
            alias = block_stem(own, item.block)
            note = f"named {alias}, as {item.name} is another file's name here"
            item = replace(item, alias=alias, why="; ".join(filter(None, (item.why, note))))
        renamed.append(item)
    return renamed


def _solved_below(items: list[BatchItem]) -> list[BatchItem]:
    """`items` less each .ins or .res without atoms (a crystal still to solve) whose name is a
    structure with atoms in a folder below it, left out of that structure with a note, so the
    crystal is one row, not a second failed one: CrysAlisPro leaves exp_1/exp_1.ins beside
    exp_1.hkl and AutoChem solves and refines a copy in exp_1/struct/olex2_exp_1/ (where
    FlorianMeurer/plugin-SISYPHOS reads the structure). Only the same crystal's (its cell): an
    exp_1 of another crystal below is its own structure, and the .ins still to solve."""
    from crystalx_core.io.files import model_cell, same_cell

    below: dict[tuple[str, Path], list[int]] = {}  # (name, a folder above): its structures
    for j, item in enumerate(items):
        if not item.block:  # a tree of a thousand exp_1: each looked up once, not paired
            for folder in item.model.parent.parents:
                below.setdefault((item.model.stem.casefold(), folder), []).append(j)
    merged = dict(enumerate(items))
    for k, item in enumerate(items):
        if item.block or item.model.suffix.lower() not in (".ins", ".res"):
            continue
        candidates = below.get((item.model.stem.casefold(), item.model.parent), [])
        if not candidates or _has_atoms(item.model):
            continue
        cell = model_cell(item.model)  # the same crystal's: a same-named one below is not
        solved = next(
            (
                j
                for j in candidates
                if _has_atoms(items[j].model)
                and cell is not None
                and (theirs := model_cell(items[j].model)) is not None
                and same_cell(cell, theirs)
            ),
            None,
        )
        if solved is None:
            continue
        note = (
            f"{item.label}{item.model.suffix} left out: no atoms, the crystal before it was solved"
        )
        into = merged[solved]
        merged[solved] = replace(
            into,
            left_out=tuple(sorted((*into.left_out, item.model, *item.left_out))),
            why="; ".join(filter(None, (into.why, note))),
        )
        del merged[k]
    return [merged[k] for k in sorted(merged)]


def _is_model(path: Path) -> bool:
    return (
        path.suffix.lower() in MODEL_SUFFIXES and OUTPUT_MARK not in path.stem and not path.is_dir()
    )


def model_files(root: Path, skip: Path | None = None) -> tuple[list[Path], list[str]]:
    """The files named as structures (MODEL_SUFFIXES, any case) in `root` and its subfolders to
    MAX_DEPTH, in order of path, and the folders not searched ('path (why)'); a dataset's
    thousands of frames are passed over as they are listed, not held (a lab's tree of 200
    datasets of 3000 frames took 425 MiB). Hidden folders
    (Olex2's .olex, whose originals/ keeps the first name.res and name.ins: pcxod/olex2-gui
    olexex.py revert_to_original) and `skip` are not searched; a link to a folder is followed,
    each folder read once (a link back up the tree ends there). A folder deeper than MAX_DEPTH
    or one that cannot be read is not searched."""
    seen = {_identity(skip)} if skip is not None and skip.is_dir() else set()
    seen.discard(_identity(root))  # `batch DIR --out DIR`: DIR's structures are still read
    found: list[Path] = []
    unsearched: list[str] = []

    def walk(folder: Path, depth: int) -> None:
        identity = _identity(folder)
        if identity in seen:
            return
        seen.add(identity)
        try:  # scandir: no stat for each of a data folder's thousands of frames
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as error:  # unreadable: named once, not its files one by one
            unsearched.append(f"{folder} ({error.strerror or error})")
            return
        for entry in entries:
            if not _is_folder(entry):
                if os.path.splitext(entry.name)[1].lower() in MODEL_SUFFIXES:
                    found.append(folder / entry.name)
            elif entry.name.startswith("."):
                continue
            elif depth < MAX_DEPTH:
                walk(folder / entry.name, depth + 1)
            else:
                unsearched.append(f"{folder / entry.name} (deeper than {MAX_DEPTH} levels)")

    walk(root, 0)
    return found, unsearched


def _identity(folder: Path) -> tuple[int, int]:
    info = folder.stat()
    return info.st_dev, info.st_ino


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link looping on itself
        return False


def choose(
    groups: dict[tuple[Path, str], list[Path]],
) -> list[tuple[Path, tuple[Path, ...], str]]:
    """(the file read, the others of its structure, why that file where not plain) for each
    structure of `groups` (files by folder and name), in order of path."""
    folders: dict[Path, dict[str, list[Path]]] = {}
    for (folder, stem), files in groups.items():
        folders.setdefault(folder, {})[stem] = _ordered(files)
    return sorted(
        chosen for names in folders.values() for chosen in _choose_in(_FolderFiles(names))
    )


class _FolderFiles:
    """One folder's model files by name (casefolded, each name's in _ordered's order), each
    file read at most once to choose."""

    def __init__(self, names: dict[str, list[Path]]):
        self.names = names
        self.has_atoms = cache(_has_atoms)
        self.title = cache(_shelxt_title)


# where a variant's files come in its structure's, after the name's own: a solution renamed
# by the user (their choice), SHELXT's solutions (a, b, ...), then copies
_VARIANT_ORDER = {None: 0, "renamed": 0, "solution": 1, "copy": 2}


def _choose_in(folder: _FolderFiles) -> list[tuple[Path, tuple[Path, ...], str]]:
    """The structures of one folder: a name and its variants (variant_of: SHELXT's solutions,
    a solution renamed, copies) are one structure, the first of their files in that order that
    holds atoms read (XPREP's name.ins has none: a name.cif beside it, or SHELXT's name_a.res,
    is the structure)."""
    names = folder.names
    variant = {stem: variant_of(stem, folder) for stem in names}
    family: dict[str, list[str]] = {}
    for stem in names:
        root, seen = stem, {stem}
        while variant[root] is not None and variant[root][0] not in seen:  # a copy of a
            root = variant[root][0]  # solution belongs to the solved name
            seen.add(root)
        family.setdefault(root, []).append(stem)
    result = []
    for root, members in family.items():
        members.sort(key=lambda m: (m != root, _VARIANT_ORDER[variant[m] and variant[m][1]], m))
        files = [path for member in members for path in names[member]]
        if len(files) > 1:  # read only where another file could be run instead
            first = next((f for f in files if folder.has_atoms(f)), files[0])
            files.remove(first)
            files.insert(0, first)
        renamed = (variant[files[0].stem.casefold()] or ("", ""))[1] == "renamed"
        result.append((files[0], tuple(sorted(files[1:])), _why_read(files, folder, renamed)))
    return result


def _why_read(files: list[Path], folder: _FolderFiles, renamed: bool) -> str:
    """The row's word on the file read (files[0]) where the others' names do not say it: an
    .ins read before its older .res; the SHELXT solution a file under a name of the user's
    (`renamed`) came from, which made the crystal's files its (zk.res from zk_a.res beside it
    says nothing: every refinement beside its solutions would)."""
    read, why = files[0], []
    edited = _edited_ins(folder.names[read.stem.casefold()])
    if edited is not None and edited[0] == read:
        why.append(
            f"{read.name} saved {_duration(edited[2])} after {edited[1].name}, SHELXL's last "
            "result: the newer read, as Olex2 opens it"
        )
    source = folder.title(read)
    solution = next((f for f in files[1:] if f.name.casefold() == source), None)
    if renamed and solution is not None:
        why.append(f"started from SHELXT's {solution.name} (its TITL)")
    return "; ".join(why)


def _ordered(files: list[Path]) -> list[Path]:
    """One name's files, the one to read first: a file before a dangling link or a FIFO (its
    row says why it was not read, unless a file of its name is run instead), then .res before
    .ins before .cif, but an .ins edited after its .res first (_edited_ins)."""
    edited = (_edited_ins(files) or (None,))[0]
    return sorted(
        files,
        key=lambda f: (
            not f.is_file(),
            f != edited,
            MODEL_SUFFIXES.index(f.suffix.lower()),
            f.name,
        ),
    )


def _edited_ins(files: list[Path]) -> tuple[Path, Path, float] | None:
    """(name.ins, name.res, seconds between them) of one name's files where the .ins was saved
    after the .res (the row says how long after: a day's edit, or seconds of a copy that did
    not keep the times, which the user can tell apart where we cannot). SHELXL reads name.ins
    and writes name.res, so an .ins newer than the .res is the user's edit since
    the last run, their latest model (Olex2's reap of a bare name opens the newer of the two:
    pcxod/olex2 olex/xpprocs.cpp, TMainForm::macReap). Olex2 takes the .ins on a tie of whole
    seconds; within EDITED_AFTER_NS we keep the .res: an .ins written by Olex2 just before
    SHELXL ran on it, or a folder copied at once, ties with the .res it gave. None otherwise."""
    by_suffix = {f.suffix.lower(): f for f in files if f.is_file()}
    ins, res = by_suffix.get(".ins"), by_suffix.get(".res")
    if ins is None or res is None:
        return None
    try:
        after = ins.stat().st_mtime_ns - res.stat().st_mtime_ns
    except OSError:
        return None
    return (ins, res, after / 1e9) if after > EDITED_AFTER_NS else None


def _duration(seconds: float) -> str:
    """A gap between two files' times as a person says it: '5 s', '12 min', '3 h', '40 days'."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


# SHELXT (Bruker's XT) writes the solutions of name.ins as name_a.res, name_b.res, ...
# ('outputs possible solutions to name_x.res and name_x.hkl (x=a,b,c...)': SHELXT's manual,
# shelx.uni-goettingen.de/shelxt_keywords.php), each beginning 'REM SHELXT solution in'
# (read so by dkratzert/FinalCif's get_solution_program)
_SOLUTION = re.compile(r"(?P<base>.+)_[a-z]")
_SOLUTION_LETTER = re.compile(r"_[a-z]")
SHELXT_MARK = "REM SHELXT solution in"
# the name a second copy of name.res gets: Windows Explorer 'name - Copy', 'name - Copy (2)',
# 'Copy of name' (Windows XP); GNOME Files 'name (copy)', 'name (another copy)', 'name (3rd
# copy)'; macOS Finder 'name copy', 'name copy 2'; a browser's 'name (1)'; FinalCif's
# completed CIF of name.cif, name-finalcif.cif (dkratzert/FinalCif CifContainer.finalcif_file);
# and by hand name_old, name_bak, name_backup, name_orig
_COPY = re.compile(
    r"(?P<base>.+?)(?: - copy(?: \(\d+\))?| \((?:\d+|copy|another copy|\d+(?:st|nd|rd|th) "
    r"copy)\)| copy(?: \d+)?|[ _.-](?:old|bak|backup|orig|original)\d*|-finalcif)"
)
_COPY_OF = re.compile(r"copy (?:\(\d+\) )?of (?P<base>.+)")


def variant_of(stem: str, folder: _FolderFiles) -> tuple[str, str] | None:
    """(the name whose structure the files of name `stem` are a variant of, how) of the
    folder's names: a copy or backup of it ('copy'), SHELXT's solution of it, marked so or
    beside the .ins without atoms it solved ('solution'), or a solution of it under a name of
    the user's while it has no refinement ('renamed'); None for a structure of its own."""
    names = folder.names
    for pattern in (_COPY, _COPY_OF):
        found = pattern.fullmatch(stem)
        if found and found["base"] in names:
            return found["base"], "copy"
    first = names[stem][0]
    if first.suffix.lower() not in (".res", ".ins"):
        return None
    found = _SOLUTION.fullmatch(stem)
    if found and first.suffix.lower() == ".res" and _is_solution(stem, found["base"], names):
        solved = names[found["base"]]
        if folder.title(first) == first.name.casefold() or (
            [f.suffix.lower() for f in solved] == [".ins"] and not folder.has_atoms(solved[0])
        ):
            return found["base"], "solution"
    return _renamed_solution_of(stem, folder)


def _renamed_solution_of(stem: str, folder: _FolderFiles) -> tuple[str, str] | None:
    """SHELXL and Olex2 keep SHELXT's title, so a file's TITL names the solution it came from
    (FC_sucrose: DK_zucker2_0m.res titled DK_Zucker2_0m_a.res): a file so titled after a
    solution of a name here without atoms (XPREP's name.ins) is that crystal's refinement
    under another name. Where that name holds a refinement, the file is another dataset
    started from its model (name_293K from name_100K); so is a file whose reflections (its
    name.hkl) are neither the crystal's nor its solution's: another crystal."""
    source = Path(folder.title(folder.names[stem][0])).stem
    found = _SOLUTION.fullmatch(source)
    if not found or found["base"] == stem or not _is_solution(source, found["base"], folder.names):
        return None
    from crystalx_core.io.files import reflections_beside

    solved = folder.names[found["base"]]
    if any(folder.has_atoms(f) for f in solved):
        return None
    own = reflections_beside(folder.names[stem][0])
    crystals = [reflections_beside(f) for f in (solved[0], solved[0].with_name(source + ".res"))]
    if own is not None and not any(_same_data(own, data) for data in crystals):
        return None  # another crystal's reflections: a dataset started from that solution
    return found["base"], "renamed"


def _same_data(path: Path, other: Path | None) -> bool:
    """Whether two reflection files hold the same bytes (a copy made to refine under a new
    name); False where one cannot be read."""
    try:
        return other is not None and filecmp.cmp(path, other, shallow=False)
    except OSError:
        return False


def _is_solution(stem: str, base: str, names: dict[str, list[Path]] | None = None) -> bool:
    """Whether `stem` is named as SHELXT names a solution of `base` (one of `names`, if given)."""
    if names is not None and base not in names:
        return False
    return stem.startswith(base) and _SOLUTION_LETTER.fullmatch(stem[len(base) :]) is not None


def _shelxt_title(path: Path) -> str:
    """The file name the TITL of a file SHELXT wrote gives ('zk_a.res in P2(1)': 'zk_a.res'),
    casefolded; '' for a file not marked 'REM SHELXT solution in'. SHELXL and Olex2 keep both
    lines when they refine a solution, so the title names the solution a refinement came
    from. A byte order mark or UTF-16 (a solution saved by Windows Notepad) is read through."""
    if path.suffix.lower() not in (".res", ".ins") or not path.is_file():  # no FIFO's wait
        return ""
    try:
        with path.open("rb") as stream:
            head = stream.read(4096)
    except OSError:
        return ""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head[: len(head) // 2 * 2].decode("utf-16", errors="ignore")
    else:
        text = head.removeprefix(codecs.BOM_UTF8).decode("latin-1")
    words = text.split(maxsplit=2)
    if (
        len(words) < 2
        or words[0].upper() != "TITL"
        or SHELXT_MARK.casefold() not in text.casefold()
    ):
        return ""
    return PureWindowsPath(words[1]).name.casefold()


def _has_atoms(path: Path) -> bool:
    """Whether a structure file lists atoms or peaks (a CIF always counts); True where it
    cannot be read, so that its error is the row's."""
    if path.suffix.lower() not in (".res", ".ins"):
        return True
    from crystalx_core.io.shelx_read import read_shelx

    try:
        return bool(read_shelx(path).atoms)
    except CrystalXError:
        return True
