"""Which files of a folder tree `crystalx batch` runs: one structure per crystal, as the
programs that wrote the folder leave it (SHELXT's solutions, a refinement beside them, a
file manager's copies, Windows' upper-case names), each choice named in the structure's row."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PureWindowsPath
from typing import Callable

from crystalx_core.errors import CrystalXError, InputError
from crystalx_core.outputs import OUTPUT_MARK

MODEL_SUFFIXES = (".res", ".ins", ".cif", ".mcif")  # .mcif: a magnetic CIF, read as a CIF
# levels of subfolders below the folder given: a dataset's folder (1), APEX's sample/work (2),
# CrysAlisPro's exp_1/struct/olex2_exp_1 (3), one more to spare; a home or drive named by
# mistake is not searched to the bottom
MAX_DEPTH = 4


@dataclass(frozen=True)
class BatchItem:
    """One structure file; where its reflections are is Loaded.reflections_file's to say."""

    model: Path
    left_out: tuple[Path, ...] = ()  # other files of the same structure, not read
    block: str = ""  # the data block, for one of several structures of a CIF
    folder: str = ""  # the model's folder below the one the batch was given (--out mirrors it)

    @property
    def name(self) -> str:
        from crystalx_core.io import block_stem

        return block_stem(self.model, self.block)

    @property
    def label(self) -> str:
        """The name with its subfolder, so that two datasets' x.res are told apart in a row."""
        return f"{self.folder}/{self.name}" if self.folder else self.name

    def load(self):
        from crystalx_core.io import load

        return load(self.model, self.block or None)


def find_inputs(
    target: str, skip: Path | None = None, unsearched: list[str] | None = None
) -> list[BatchItem]:
    """Structures in a folder and its subfolders (model_files), or matching a glob: one per
    crystal (choose), the others of it kept as left out, our own outputs skipped; a CIF of
    several structures (data blocks with atoms) gives one per block. `skip`: a folder not
    searched (the batch's --out); `unsearched` gets model_files' folders not searched."""
    path = Path(target)
    if path.is_dir():
        root, candidates = path, model_files(path, skip, unsearched)
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
    for model, left_out in choose(groups):
        folder = model.parent.relative_to(root).as_posix() if model.parent != root else ""
        blocks = structure_block_names(model)
        items += [BatchItem(model, left_out, block, folder) for block in blocks or [""]]
    return items


def _is_model(path: Path) -> bool:
    return (
        path.suffix.lower() in MODEL_SUFFIXES and OUTPUT_MARK not in path.stem and not path.is_dir()
    )


def model_files(
    root: Path, skip: Path | None = None, unsearched: list[str] | None = None
) -> list[Path]:
    """Every file in `root` and its subfolders to MAX_DEPTH, in order of path; hidden folders
    (Olex2's .olex, whose originals/ keeps the first name.res and name.ins: pcxod/olex2-gui
    olexex.py revert_to_original) and `skip` are not searched; a link to a folder is followed,
    each folder read once (a link back up the tree ends there). A folder deeper than MAX_DEPTH
    or one that cannot be read is added to `unsearched` ('path (why)'), for the user to hear
    of: a dataset there would otherwise be missing from the batch without a word."""
    seen = {_identity(skip)} if skip is not None and skip.is_dir() else set()
    seen.discard(_identity(root))  # `batch DIR --out DIR`: DIR's structures are still read
    found = []
    unsearched = [] if unsearched is None else unsearched

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
                found.append(folder / entry.name)
            elif entry.name.startswith("."):
                continue
            elif depth < MAX_DEPTH:
                walk(folder / entry.name, depth + 1)
            else:
                unsearched.append(f"{folder / entry.name} (deeper than {MAX_DEPTH} levels)")

    walk(root, 0)
    return found


def _identity(folder: Path) -> tuple[int, int]:
    info = folder.stat()
    return info.st_dev, info.st_ino


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link looping on itself
        return False


def choose(groups: dict[tuple[Path, str], list[Path]]) -> list[tuple[Path, tuple[Path, ...]]]:
    """(the file read, the others of its structure) for each structure of `groups` (files by
    folder and name), in order of path."""
    folders: dict[Path, dict[str, list[Path]]] = {}
    for (folder, stem), files in groups.items():
        folders.setdefault(folder, {})[stem] = _ordered(files)
    return sorted(chosen for names in folders.values() for chosen in _choose_in(names))


def _choose_in(names: dict[str, list[Path]]) -> list[tuple[Path, tuple[Path, ...]]]:
    """The structures of one folder's `names` (casefolded, each with its files in _ordered's
    order): a name and its variants (variant_of: SHELXT's solutions, copies) are one
    structure, the first of their files in that order that holds atoms read (XPREP's
    name.ins has none: a name.cif beside it, or SHELXT's name_a.res, is the structure)."""
    has_atoms = cache(_has_atoms)  # each file parsed once
    base_of = {stem: variant_of(stem, names, has_atoms) for stem in names}
    family: dict[str, list[str]] = {}
    for stem in names:
        root = stem
        while base_of[root] is not None:  # a copy of a solution belongs to the solved name
            root = base_of[root]
        family.setdefault(root, []).append(stem)
    result = []
    for root, members in family.items():
        # the name's own files, its solutions' (a, b, ...), then its copies'
        members.sort(key=lambda m: (m != root, not _is_solution(m, root), m))
        files = [path for member in members for path in names[member]]
        if len(files) > 1:  # read only where another file could be run instead
            first = next((f for f in files if has_atoms(f)), files[0])
            files.remove(first)
            files.insert(0, first)
        result.append((files[0], tuple(sorted(files[1:]))))
    return result


def _ordered(files: list[Path]) -> list[Path]:
    """One name's files, the one to read first: a file before a dangling link or a FIFO (its
    row says why it was not read, unless a file of its name is run instead), then .res before
    .ins before .cif."""
    return sorted(
        files,
        key=lambda f: (not f.is_file(), MODEL_SUFFIXES.index(f.suffix.lower()), f.name),
    )


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


def variant_of(
    stem: str, names: dict[str, list[Path]], has_atoms: Callable[[Path], bool]
) -> str | None:
    """The name whose structure the files of name `stem` are a variant of, of the `names` (the
    files of each name of the folder, names casefolded): a copy or backup of it, or SHELXT's
    solution of it (marked so, or beside the .ins without atoms it solved: `has_atoms`); None
    for a structure of its own."""
    for pattern in (_COPY, _COPY_OF):
        found = pattern.fullmatch(stem)
        if found and found["base"] in names:
            return found["base"]
    found = _SOLUTION.fullmatch(stem)
    if not found or found["base"] not in names or not _is_solution(stem, found["base"]):
        return None
    solution, solved = names[stem][0], names[found["base"]]
    if solution.suffix.lower() != ".res":
        return None
    if _is_shelxt_solution(solution) or (
        [f.suffix.lower() for f in solved] == [".ins"] and not has_atoms(solved[0])
    ):
        return found["base"]
    return None


def _is_solution(stem: str, base: str) -> bool:
    """Whether `stem` is named as SHELXT names a solution of `base`."""
    return stem.startswith(base) and _SOLUTION_LETTER.fullmatch(stem[len(base) :]) is not None


def _is_shelxt_solution(path: Path) -> bool:
    """Whether the .res is as SHELXT wrote it: marked, and titled with its own name ('TITL
    name_a.res in P2(1)'). SHELXL and Olex2 keep both lines when they refine a solution, so
    a refined cu_b.res (TITL cu_b_a.res) is another crystal's structure, not cu's solution."""
    try:
        with path.open("rb") as stream:
            head = stream.read(2048).decode("latin-1")
    except OSError:
        return False
    title = head.split(maxsplit=2)[1:2] if head[:4].upper() == "TITL" else []
    own_name = [PureWindowsPath(t).name.casefold() for t in title] == [path.name.casefold()]
    return own_name and SHELXT_MARK.casefold() in head.casefold()


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
