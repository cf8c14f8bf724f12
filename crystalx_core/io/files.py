"""What every reader needs of an input file: its bytes, checked; where its lines end; and
the reflection file SHELX looks for beside it."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import stat
from pathlib import Path

from crystalx_core.errors import InputError

DOS_END = "\x1a"  # Ctrl-Z, with which DOS programs end a text file: what follows is not text
MAX_INPUT_BYTES = (
    256 * 2**20
)  # far above any real .res, .cif or .hkl; bounds the memory a reader takes


# the magic numbers of what a .hkl or .cif comes packed in (a journal's supplement, a mail)
_COMPRESSED = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
# bzip2's stream header: 'BZh', the block size 1-9, then the magic of a block (pi) or of the
# end of an empty stream (sqrt pi); 'BZh' alone could begin a line of text
_BZIP2 = re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)")


def read_input_bytes(path: str, what: str) -> bytes:
    """The file's bytes (UTF-16 text, as Windows Notepad saves 'Unicode', given as UTF-8);
    anything but a regular file, files over MAX_INPUT_BYTES, unreadable files and binary data
    (a NUL byte) are InputErrors.

    Opened without blocking, so a FIFO is refused instead of waiting for a writer forever, and
    checked on the open handle, so the file judged is the file read.
    """
    try:
        handle = os.open(
            path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        )
    except FileNotFoundError as error:
        if os.path.islink(path):  # a drive not mounted, a folder moved
            raise InputError(f"a link to {os.readlink(path)}, which is not there", path) from None
        raise InputError(f"cannot read the file: {error.strerror}", path) from None
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror}", path) from None
    except ValueError:  # a NUL in the name, which no file system takes (a service's request)
        raise InputError("cannot read the file: its name holds a NUL character", path) from None
    info = os.fstat(handle)
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_INPUT_BYTES:
        os.close(handle)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"a folder, not a {what}", path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"not a regular file (a pipe, socket or device), not a {what}", path)
        raise InputError(
            f"{info.st_size} bytes, over the {MAX_INPUT_BYTES // 2**20} MB limit for a {what}", path
        )
    with os.fdopen(handle, "rb") as stream:
        try:
            data = stream.read(MAX_INPUT_BYTES + 1)
        except OSError as error:
            raise InputError(f"cannot read the file: {error.strerror}", path) from None
    if len(data) > MAX_INPUT_BYTES:  # grew while we read
        raise InputError(f"over the {MAX_INPUT_BYTES // 2**20} MB limit for a {what}", path)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Notepad's 'Unicode'
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"a {what} in UTF-16 that does not decode", path) from None
    packed = next((name for magic, name in _COMPRESSED if data.startswith(magic)), None)
    packed = packed or ("bzip2" if _BZIP2.match(data) else None)
    if packed:
        raise InputError(f"a {packed} archive, not a {what}: unpack it first", path, 1)
    if b"\0" in data and _utf16_without_bom(data):
        raise InputError(
            f"UTF-16 text without a byte order mark: save the {what} as UTF-8", path, 1
        )
    if b"\0" in data:
        raise InputError(
            f"binary data (NUL byte) in a {what}", path, data.count(b"\n", 0, data.index(b"\0")) + 1
        )
    return data


def _utf16_without_bom(data: bytes) -> bool:
    """Text of ASCII characters in UTF-16 with no byte order mark: a NUL for every other byte
    of its first kilobyte, all in even or all in odd places, and none in the others."""
    head = data[:1024]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    return len(head) >= 16 and min(even, odd) == 0 and max(even, odd) >= 0.9 * (len(head) // 2)


def line_end(text: str) -> str:
    """What ends a line: '\\n' (a '\\r' before it stays part of the line), except in a file
    without any, whose lines end in '\\r' alone (classic Mac OS)."""
    return "\n" if "\n" in text or "\r" not in text else "\r"


# what a repository's download or a mail packs a .hkl in (read_input_bytes refuses them)
PACKED_SUFFIXES = (".gz", ".zip", ".bz2", ".xz", ".7z", ".zst")


def reflections_looked_for(path: Path) -> str:
    """The names reflections_beside looked for beside `path`, said where it found none, and a
    name.hkl.gz or name.hkl.zip there to be unpacked."""
    looked = f"looked for {path.stem}.hkl and {path.stem}.fcf beside it, any case"
    if path.suffix.lower() in (".res", ".ins"):
        looked = (
            f"looked for {path.stem}.hkl, {path.stem}.fcf and the .hkl inside {path.stem}.cif "
            "beside it, any case"
        )
    packed = {
        f"{path.stem}{kind}{pack}".casefold()
        for kind in (".hkl", ".fcf")
        for pack in PACKED_SUFFIXES
    }
    try:
        entries = sorted(name for name in os.listdir(path.parent) if name.casefold() in packed)
    except OSError:
        entries = []
    if entries:
        there = f"{' and '.join(entries)} {'is' if len(entries) == 1 else 'are'} there"
        looked = f"{looked}; {there}: unpack it to refine against it"
    other = other_cif_hkl(path)
    return f"{looked}; {other}" if other else looked


def reflections_beside(path: Path) -> Path | None:
    """name.hkl (or name.HKL, or NAME.hkl: differently_cased) beside name.ins, where SHELX
    looks for the reflections, else the name.fcf SHELXL wrote there, else the name.cif it
    wrote with that .hkl inside (cif_with_hkl); None without one. Where none of them is a file
    but one of the names is there as something else (a link into raw data on a drive not
    mounted, a FIFO, a folder), that one, so that its reader says what it is: a job saying
    there were none, or a batch assigning the structure unrefined without a word, hid it."""
    names = [path.with_suffix(suffix) for suffix in (".hkl", ".HKL", ".fcf", ".FCF")]
    found = next((name for name in names if name.is_file()), None)
    found = found or next(filter(os.path.isfile, differently_cased(names[::2])), None)
    found = found or cif_with_hkl(path)
    return found or next((name for name in names if os.path.lexists(name)), None)


# the tags under which a CIF carries the .hkl it was refined against: SHELXL's, the IUCr's
_EMBEDDED_HKL = re.compile(
    rb"^[ \t]*_(?:shelx_hkl_file|iucr_refine_reflections_details)\s", re.M | re.I
)


def cif_with_hkl(path: Path) -> Path | None:
    """name.cif (any case) beside the SHELX file name.res or name.ins where it carries the .hkl
    of this crystal (_shelx_hkl_file: SHELXL 2014+ writes it there beside name.res), so that a
    folder kept as it was deposited, the .hkl deleted as the CIF holds it, is still refined;
    None otherwise (other_cif_hkl says why where one is there)."""
    return _cif_hkl(path)[0]


def other_cif_hkl(path: Path) -> str:
    """Why name.cif beside `path`, which carries an .hkl, is not read as its reflections (its
    cell is not the model's: another structure's CIF under that name); '' otherwise."""
    return _cif_hkl(path)[1]


# a CIF's cell and the model's CELL agree to this (SHELXL writes the CIF's from CELL, rounded
# to its su); another structure's, or a dataset at another temperature, differs by more
CELL_LENGTH_AGREE = 2e-3  # relative
CELL_ANGLE_AGREE = 0.2  # degrees
_CELL_LINE = re.compile(rb"^[ \t]*CELL[ \t]+\S+((?:[ \t]+\S+){6})", re.M | re.I)
_CIF_CELL = [
    re.compile(rb"^[ \t]*_cell[._]%s[ \t]+([-+.\d]+)" % tag, re.M | re.I)
    for tag in (
        b"length_a",
        b"length_b",
        b"length_c",
        b"angle_alpha",
        b"angle_beta",
        b"angle_gamma",
    )
]


def model_cell(path: Path) -> tuple[float, ...] | None:
    """The unit cell of a SHELX file (its CELL) or of a CIF of one structure (its _cell_*),
    read from the text alone, for two files to be told the same crystal's or not; None where
    it cannot be read."""
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_INPUT_BYTES else b""
    except OSError:
        return None
    try:
        if path.suffix.lower() in (".res", ".ins"):
            found = _CELL_LINE.search(data)
            return tuple(float(v) for v in found[1].split()) if found else None
        found = [tag.search(data) for tag in _CIF_CELL]
        return tuple(float(f[1]) for f in found) if all(found) else None
    except ValueError:
        return None


def _cif_hkl(path: Path) -> tuple[Path | None, str]:
    """(name.cif beside `path` with this crystal's .hkl inside, ''), or (None, why a name.cif
    with an .hkl inside is not this crystal's: its block's cell, read against the CELL of
    `path`, differs), or (None, '') without one."""
    if path.suffix.lower() not in (".res", ".ins"):
        return None, ""
    for cif in differently_cased([path.with_suffix(".cif")]):
        try:
            if not cif.is_file() or cif.stat().st_size > MAX_INPUT_BYTES:
                continue
            data = cif.read_bytes()
        except OSError:
            continue
        ours = model_cell(path) if _EMBEDDED_HKL.search(data) else None
        if ours is None:
            continue
        from crystalx_core.io.cif import embedded_hkl_cell

        block, theirs = embedded_hkl_cell(cif, data)
        if theirs is not None and same_cell(ours, theirs):
            return cif, ""
        said = " ".join(f"{v:g}" for v in theirs) if theirs else "none"
        return None, (
            f"{cif.name}'s .hkl (data_{block}) not read: its cell ({said}) is not "
            f"{path.name}'s ({' '.join(f'{v:g}' for v in ours)}), another crystal's"
        )
    return None, ""


def same_cell(ours: tuple[float, ...], theirs: tuple[float, ...]) -> bool:
    """Whether two cells are one crystal's, to CELL_LENGTH_AGREE and CELL_ANGLE_AGREE."""
    lengths = all(abs(a - b) <= CELL_LENGTH_AGREE * a for a, b in zip(ours[:3], theirs[:3]))
    return lengths and all(abs(a - b) <= CELL_ANGLE_AGREE for a, b in zip(ours[3:], theirs[3:]))


def file_stamp(path) -> list | None:
    """[size, SHA-256 of the content] of a file as it stands; None where there is none or it
    is not there. Equal stamps taken at two moments: the same content. Not the modification
    time: `cp -p`, `rsync -t` and a share's 2-s times give a rewritten file the old one's
    (hashing the largest real .hkl, 3.9 MB, takes 12 ms)."""
    if path is None:
        return None
    try:  # not blocking on a FIFO, which is stamped unread as the readers refuse it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_INPUT_BYTES:
            return [info.st_size, info.st_mtime_ns]  # never read: the readers refuse it
        digest = hashlib.sha256()
        with os.fdopen(fd, "rb", closefd=False) as stream:
            for block in iter(lambda: stream.read(2**20), b""):
                digest.update(block)
    except OSError:
        return None
    finally:
        os.close(fd)
    return [info.st_size, digest.hexdigest()]


class InputStamps:
    """A job's inputs (the model, its reflections) stamped before it reads each: one saved while
    the job ran (an editor, a .hkl a diffractometer is still writing) differs afterwards, though
    it is older than the outputs, and a resumed batch must not take those for its."""

    def __init__(self) -> None:
        self.paths: dict[str, Path | None] = {}
        self.stamps: dict[str, list | None] = {}

    def take(self, role: str, path) -> None:
        self.paths[role], self.stamps[role] = path, file_stamp(path)

    def changed_note(self) -> str:
        """The line saying which inputs are no longer the versions read; '' where none is."""
        changed = [
            Path(path).name
            for role, path in self.paths.items()
            if path is not None and file_stamp(path) != self.stamps[role]
        ]
        if not changed:
            return ""
        return (
            f"{' and '.join(changed)} changed while the job ran: these outputs are of the "
            "version read at its start; run the job again for the new one"
        )


def differently_cased(paths: list[Path]) -> list[Path]:
    """The files of a folder named as `paths` are but for case, in the order of `paths`:
    programs on Windows, whose file names ignore case, leave NAME.HKL beside name.ins
    (FC_sucrose's DK_Zucker2_0m_a.res was refined as DK_zucker2_0m.res), which Linux tells
    apart."""
    wanted = {path.name.casefold(): k for k, path in enumerate(paths)}
    try:
        entries = os.listdir(paths[0].parent)
    except OSError:
        return []
    found = [(wanted[e.casefold()], e) for e in entries if e.casefold() in wanted]
    return [paths[0].parent / name for _, name in sorted(found)]
