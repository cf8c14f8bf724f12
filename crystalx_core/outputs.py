"""Writing results without ever losing the user's files: atomic writes, backups of old outputs."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from crystalx_core.errors import CrystalXError


def backup_path(path: Path) -> Path:
    """First free name of the form name.bak, name.bak1, name.bak2, ..."""
    candidate = path.with_name(path.name + ".bak")
    number = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak{number}")
        number += 1
    return candidate


def write_outputs(files: dict[Path, str], protected: list[Path] = ()) -> list[Path]:
    """Write every file or none: all texts are ready before the first byte hits the disk.

    Existing outputs are renamed to a backup first; `protected` (the inputs) may never be
    a target. Returns the backups made.
    """
    protected_real = {Path(p).resolve() for p in protected}
    for path in files:
        if Path(path).resolve() in protected_real:
            raise CrystalXError("refusing to overwrite an input file", str(path))
    temporaries: dict[Path, str] = {}
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(text)
            temporaries[path] = temporary
    except OSError as error:
        for temporary in temporaries.values():
            os.unlink(temporary)
        raise CrystalXError(f"cannot write output: {error.strerror}", str(error.filename or "")) from None
    backups = []
    for path, temporary in temporaries.items():
        if path.exists():
            backup = backup_path(path)
            os.replace(path, backup)
            backups.append(backup)
        os.replace(temporary, path)
    return backups
