"""Writing results without ever losing the user's files: the outputs of a job change together or
not at all, old outputs are kept as backups, and a failure leaves the folder as it was."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import stat
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path

from crystalx_core.errors import STOP_SIGNALS, OutputError, raise_if_stopped

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

_say_waits = [True]  # False in a batch's worker (quiet_waits)
STALE_AFTER = 600.0  # s: a temporary untouched this long has no live writer (drop_temporaries)


def write_outputs(
    files: dict[Path, str | bytes],
    protected: list[Path] = (),
    stale_after: float | None = STALE_AFTER,
) -> list[Path]:
    """Write every file or none, as one transaction; returns the backups of replaced outputs.

    All temporaries are written and fsynced first, every target is checked and backed up, and
    only then are the temporaries renamed over the targets. Any failure (disk full, a file that
    cannot be replaced) restores the previous outputs exactly and removes every temporary.
    Texts are written as UTF-8, bytes as they are; `protected` (the inputs) may never be a target.
    Temporaries of these same outputs older than `stale_after` seconds, left by a killed writer,
    are dropped first (drop_temporaries); None skips that scan, for a caller (a batch) that has
    already cleared them under its lock.
    """
    files = {Path(path): text for path, text in files.items()}
    protected_real = {Path(p).resolve() for p in protected}
    for path in files:
        if path.resolve() in protected_real:
            raise OutputError(
                "refusing to overwrite an input file: give --out another name", str(path)
            )
    by_folder: dict[Path, set[str]] = {}
    for path in files:
        by_folder.setdefault(path.parent, set()).add(path.name)
    with folders_held(by_folder) as held:
        backups = _commit(files, by_folder, stale_after, held)
    for folder in by_folder:
        _sync_folder(folder)
    return [backup for backup in backups.values() if backup]


def _commit(files, by_folder, stale_after, held) -> dict[Path, Path | None]:
    """write_outputs' transaction, under the locks of the folders in `held`."""
    if stale_after is not None:
        for folder, names in by_folder.items():
            drop_temporaries(folder, names, older_than=None if folder in held else stale_after)
    temporaries: dict[Path, Path] = {}
    backups: dict[Path, Path | None] = {}
    replaced: list[Path] = []
    try:
        for path, text in files.items():
            with _naming(path, "write"):
                _write_temporary(path, utf8(text) if isinstance(text, str) else text, temporaries)
        for path in files:
            _check_replaceable(path)
        with _signals_held():
            raise_if_stopped()  # a stop whose Stopped a finalizer swallowed: nothing replaced
            for path in files:
                with _naming(path, "back up"):
                    backups[path] = back_up(path)
            for path, temporary in temporaries.items():
                with _naming(path, "replace"):
                    os.replace(temporary, path)
                replaced.append(path)
    except BaseException:
        with _signals_held():
            _roll_back(temporaries, backups, replaced)
        raise
    return backups


@contextmanager
def folders_held(folders):
    """Two jobs writing the same outputs at once (two `assign --out` of one name, a job and the
    plugin) each replace the set whole, one after the other: without this, their renames could
    interleave and leave one job's .res beside the other's .cif. The lock is flock(2) on each
    folder itself (no lock file in the user's folder; released when its holder dies, even by
    SIGKILL), taken in one order so two writers never wait on each other, and before stop
    signals are held, so Ctrl-C still ends a wait. Where a folder cannot be locked (Windows, an
    NFS mount that refuses flock on a folder) the writes go on as before. Yields the folders
    held: there no writer is mid-write but this one (drop_temporaries).

    That holds only among the machines the lock reaches. Where a mount grants flock locally
    alone (NFS with local_lock=flock or =all, CIFS, FUSE file systems), a writer on another
    machine is not kept out: its outputs may interleave with ours, and a temporary of its
    could be dropped as stale; that writer then fails cleanly (cannot replace the output, an
    OutputError), its earlier outputs kept.

    Never nested for one folder: a second flock on it from this process would wait forever."""
    handles, held = [], set()
    try:
        for folder in sorted(folders):
            try:
                folder.mkdir(parents=True, exist_ok=True)  # `--out new/`
                handle = os.open(folder, os.O_RDONLY)
            except OSError:  # _write_temporary meets it again and names the output
                continue
            handles.append(handle)
            if fcntl is not None and _lock(handle, folder):
                held.add(folder)
        yield held
    finally:
        for handle in handles:
            os.close(handle)


def quiet_waits() -> None:
    """This process is a batch's worker: its waits for the folder are for its sibling workers,
    which the batch's progress already shows, so none is said as "another CrystalX job"."""
    _say_waits[0] = False


def _lock(handle: int, folder: Path) -> bool:
    """flock(2) on an open folder; False where it cannot be locked. A wait for another writer
    (a long one: a batch clearing its folders) is said on one stderr line, not a silent hang,
    except in a batch's worker (quiet_waits)."""
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if _say_waits[0] and sys.stderr is not None:  # print(file=None): standard output
                print(
                    f"crystalx: waiting for another CrystalX job writing in {folder}",
                    file=sys.stderr,
                    flush=True,
                )
            fcntl.flock(handle, fcntl.LOCK_EX)
    except OSError:
        return False
    return True


def back_up(path: Path) -> Path | None:
    """Keep `path` under the first free name.bak, name.bak1, ...; None when there is nothing to
    keep.

    A hard link keeps the old file itself (no space needed, mode and times intact); where the
    file system has none, a copy. Both are created exclusively, so writers racing on one output
    each get their own backup. Linux's link(2) also answers ENOENT when another writer renames
    its output over `path` between the lookup and the link (the looked-up file has lost its
    last name: fs/namei.c vfs_link, `i_nlink == 0`); the output is still there, so try again
    on what is there now.
    """
    number = 0
    while True:
        candidate = path.with_name(path.name + (f".bak{number}" if number else ".bak"))
        try:
            if os.link in os.supports_follow_symlinks:
                os.link(path, candidate, follow_symlinks=False)
            else:
                os.link(path, candidate)
            return candidate
        except FileExistsError:
            number += 1
        except FileNotFoundError:
            if not os.path.lexists(path):
                return None
        except OSError:  # no hard links here (FAT, some network shares)
            try:
                return _copy_exclusively(path, candidate)
            except FileExistsError:
                number += 1


def _copy_exclusively(path: Path, candidate: Path) -> Path | None:
    try:
        with open(path, "rb") as old, open(candidate, "xb") as backup:
            try:
                shutil.copyfileobj(old, backup)
                backup.flush()
                os.fsync(backup.fileno())
            except BaseException:
                backup.close()
                os.unlink(candidate)
                raise
    except FileNotFoundError:
        return None
    # the copy is the backup; mode and times go with it where the file system keeps them (FAT
    # keeps no mode: fusefat answers chmod with ENOSYS, Linux vfat with EPERM)
    with suppress(OSError):
        shutil.copystat(path, candidate)
    return candidate


TEMPORARY = re.compile(
    r"\.(?P<name>.+)\.[0-9a-f]{8}\.tmp"
)  # _write_temporary's `.{name}.{hex8}.tmp`


def _write_temporary(path: Path, data: bytes, temporaries: dict[Path, Path]) -> None:
    """A hidden temporary beside `path`, registered before its first byte so a failure removes it.

    Created with mode 0666 so the user's umask (and a folder's default ACL) decide, as for
    any file the user writes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    with _signals_held():
        while True:
            temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            try:
                handle = os.open(temporary, flags, 0o666)
                break
            except FileExistsError:
                continue
        temporaries[path] = temporary
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def drop_temporaries(folder: Path, names: set[str], older_than: float | None = None) -> None:
    """Remove what a writer of the outputs `names` in `folder` killed mid-write (SIGKILL, no
    roll-back) left: the hidden temporaries _write_temporary names.

    A live writer's temporary must never go. Every writer holds its folder (folders_held)
    from its first temporary to its last rename, so to the holder of that lock every one is
    stale (older_than None): write_outputs clears those of its outputs so, and a batch clears
    its folders' once, before its structures run (their write_outputs skip the scan,
    stale_after=None, which per structure would read the folder N times). Where a folder
    cannot be locked (an NFS mount that refuses flock), write_outputs passes
    older_than=STALE_AFTER instead: a temporary lives only from its creation to its rename,
    the seconds three texts take to write, so one untouched for 10 minutes (far beyond that,
    and beyond the clock skew of a network share) was left by a writer that is gone.
    """
    cutoff = None if older_than is None else time.time() - older_than
    try:
        with os.scandir(folder) as entries:
            found = [
                entry.path
                for entry in entries
                if _temporary_of(entry.name) in names and _modified_before(entry, cutoff)
            ]
    except OSError:
        return
    for temporary in found:
        with suppress(OSError):
            os.unlink(temporary)


def _modified_before(entry: os.DirEntry, cutoff: float | None) -> bool:
    if cutoff is None:
        return True
    try:
        return entry.stat(follow_symlinks=False).st_mtime < cutoff
    except OSError:  # gone meanwhile: renamed by its writer, or dropped by another job
        return False


def _temporary_of(name: str) -> str | None:
    match = TEMPORARY.fullmatch(name)
    return match["name"] if match else None


def _check_replaceable(path: Path) -> None:
    """Only a regular file (or a link) may be replaced: a folder or a device of the output's name
    is the user's, and renaming over it would fail half-way through the set."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise OutputError(f"cannot replace: {error.strerror}", str(path)) from None
    if stat.S_ISDIR(mode):
        raise OutputError("cannot replace: a folder has the output's name", str(path))
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise OutputError("cannot replace: not a regular file", str(path))


def _roll_back(
    temporaries: dict[Path, Path], backups: dict[Path, Path | None], replaced: list[Path]
) -> None:
    """Put every replaced output back from its backup, drop backups and temporaries made so far."""
    for path in replaced:
        with suppress(OSError):
            if backups.get(path):
                os.replace(backups[path], path)
            else:
                os.unlink(path)
    for path, backup in backups.items():
        if backup and path not in replaced:
            with suppress(OSError):
                os.unlink(backup)
    for temporary in temporaries.values():
        with suppress(OSError):
            os.unlink(temporary)


@contextmanager
def _naming(path: Path, action: str):
    """An OSError of one step as an OutputError naming the output it was for."""
    try:
        yield
    except OSError as error:
        raise OutputError(
            f"cannot {action} the output: {error.strerror or error}", str(path), errno=error.errno
        ) from None


@contextmanager
def _signals_held():
    """SIGINT/SIGTERM/SIGHUP wait until the renames (or the roll-back) are through, so a stopped
    job never leaves half of a set replaced; a no-op where signals cannot be blocked."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def utf8(text: str) -> bytes:
    """UTF-8, a file name's undecodable bytes (Python's surrogate escapes: 'caf\\udce9' for a
    Latin-1 'café.res' on a UTF-8 system) written as '\\xe9', so that a summary naming such a
    file is still text, not an internal UnicodeEncodeError after every structure was done."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return text.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace").encode("utf-8")


def _sync_folder(folder: Path) -> None:
    """Make the renames durable; folders cannot be opened for this on Windows."""
    with suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _in_encoding_of(text: str, shelx) -> str | bytes:
    """The .res in the encoding its input was read in (a Windows-1252 REM stays byte for byte;
    no byte order mark, which SHELX does not expect), UTF-8 where the new text needs it."""
    encoding = getattr(shelx, "encoding", "utf-8").replace("utf-8-sig", "utf-8")
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return text


JOB_SUFFIXES = (".res", ".cif", ".json")  # of a job's outputs, prefix + suffix
OUTPUT_MARK = "_crystalx"  # after the input's name in a job's outputs: x_crystalx.res


def job_paths(prefix: Path) -> dict[str, Path]:
    """A job's outputs by suffix: prefix.res, prefix.cif, prefix.json."""
    return {suffix: prefix.with_name(prefix.name + suffix) for suffix in JOB_SUFFIXES}


def write_job_outputs(
    result,
    source: Path,
    inputs: list[Path],
    shelx=None,
    prefix: Path | None = None,
    stale_after: float | None = STALE_AFTER,
    read: dict | None = None,
) -> tuple[dict[str, Path], dict, list[Path]]:
    """x_crystalx.res/.cif/.json of a job, together or not at all: (paths, report, backups).

    The .res keeps every instruction of a SHELX input and replaces only atoms and HFIX; an
    atom name over SHELX's 4 characters is an OutputError before anything is written. The CIF's
    data block is the prefix's name, blanks and non-ASCII letters (which CIF 1.1 names may not
    hold) made '_'. `stale_after` is write_outputs'; `read`, the inputs' stamps taken before
    the job read them (io.files.file_stamp), goes into the report for a batch to resume by.
    """
    import json

    from crystalx_core.crystallography.weights import DEFAULT
    from crystalx_core.hydrogens import hfix_groups
    from crystalx_core.io.shelx_write import new_ins_text, render_with_sites
    from crystalx_core.report import job_json, result_cif
    from crystalx_core.residues import bare_label
    from crystalx_core.residues import MAX_LABEL

    prefix = prefix or source.with_name(source.stem + OUTPUT_MARK)
    paths = job_paths(prefix)
    long = [
        atom.label
        for site in result.structure.sites
        for atom in site.with_mixed
        if len(bare_label(atom.label)) > MAX_LABEL
    ]
    if long:  # the job names what it adds within the limit; this is a name the input brought
        raise OutputError(
            f"atom names over {MAX_LABEL} characters, which SHELX cannot read: "
            f"{' '.join(long[:5])}; "
            "rename them in the input",
            str(source),
        )
    groups = hfix_groups(result.assignment.hfix_codes())
    restraints = _written_restraints(result)
    final = result.final
    suggested = final.suggested.suggested_line() if final and final.suggested else None
    res_text = (
        render_with_sites(
            shelx,
            result.structure,
            hfix_groups=groups,
            refined=bool(result.refinements),
            notes=result.notes,
            restraints=restraints,
            extinction=final.extinction[0] if final and final.extinction else None,
            suggested=suggested,
            weighting=((final and final.weighting) or DEFAULT).res_line(),
            twin_fractions=final.twin_fractions if final else None,
        )
        if shelx is not None
        else new_ins_text(
            result.structure,
            instructions=_fresh_instructions(final),
            restraints=restraints,
            suggested=suggested,
        )
    )
    res_text = with_omit_remarks(res_text, getattr(result, "omit", []))
    cif_text = result_cif(result, res_text, data_name=re.sub(r"[^!-~]", "_", prefix.name))
    report = job_json(result, files={k.lstrip("."): str(v) for k, v in paths.items()}, read=read)
    backups = write_outputs(
        {
            paths[".res"]: _in_encoding_of(res_text, shelx),
            paths[".cif"]: cif_text,
            paths[".json"]: json.dumps(report, indent=1) + "\n",
        },
        protected=inputs,
        stale_after=stale_after,
    )
    return paths, report, backups


def with_omit_remarks(text: str, omit: list[tuple[int, int, int]]) -> str:
    """`REM OMIT h k l` before HKLF for each reflection the verdict set aside
    (pipeline._weigh_outliers): the user's to make OMIT, never applied by the job."""
    if not omit:
        return text
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if line[:4].upper() == "HKLF"), len(lines))
    held = {" ".join(line.split()).upper() for line in lines}  # a job's own .res run again
    remarks = [
        f"REM OMIT {h} {k} {l}{newline}" for h, k, l in omit if f"REM OMIT {h} {k} {l}" not in held
    ]
    return "".join(lines[:at] + remarks + lines[at:])


def _written_restraints(result) -> list[str]:
    """The DFIX/DANG lines that hold the H the job placed without a riding model (water, an
    H found in the map), as refined here: without them SHELXL would refine those H freely.
    A line naming an atom the final model lacks (renamed after the H were placed) is left
    out rather than written to stop SHELXL."""
    plan = getattr(result, "hydrogens", None)
    # a residue's atoms are named with their residue (O1_3), as SHELXL resolves them anywhere
    labels = {atom.label.upper() for s in result.structure.sites for atom in s.with_mixed}
    return [
        line
        for line in getattr(plan, "restraints", [])
        if all(word.upper() in labels for word in line.split()[2:])
    ]


def _fresh_instructions(final) -> list[str] | None:
    """A fresh .ins's instructions with the WGHT the final refinement used (a CIF's own scheme,
    io.cif_weights) in place of WGHT 0.1, as SHELXL writes the one it refined with; None (the
    plain set-up) where that is WGHT 0.1."""
    from crystalx_core.io.shelx_write import DEFAULT_INSTRUCTIONS

    if final is None or final.weighting is None or final.weighting.is_default():
        return None
    used = final.weighting.res_line()
    return [used if line.split()[0] == "WGHT" else line for line in DEFAULT_INSTRUCTIONS]
