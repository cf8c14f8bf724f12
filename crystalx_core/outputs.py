"""Writing results without ever losing the user's files: atomic writes, backups of old outputs."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from crystalx_core.errors import CrystalXError


def back_up(path: Path) -> Path | None:
    """Copy `path` to the first free name.bak, name.bak1, ...; None when there is nothing to keep.

    The backup is created exclusively ('x'), so writers racing on one output each get their
    own backup instead of overwriting one another's; the copy sees either the old or the new
    file whole because outputs only ever change by os.replace.
    """
    number = 0
    while True:
        candidate = path.with_name(path.name + (f".bak{number}" if number else ".bak"))
        try:
            with open(path, "rb") as old:
                with open(candidate, "xb") as backup:
                    shutil.copyfileobj(old, backup)
            return candidate
        except FileExistsError:
            number += 1
        except FileNotFoundError:
            return None


def write_outputs(files: dict[Path, str | bytes], protected: list[Path] = ()) -> list[Path]:
    """Write every file or none: all texts are ready before the first byte hits the disk.

    Texts are written as UTF-8, bytes as they are. Existing outputs are copied to a backup
    first; `protected` (the inputs) may never be a target. Returns the backups made.
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
            with os.fdopen(handle, "wb") as stream:
                stream.write(text if isinstance(text, bytes) else text.encode("utf-8"))
            temporaries[path] = temporary
    except OSError as error:
        for temporary in temporaries.values():
            os.unlink(temporary)
        raise CrystalXError(f"cannot write output: {error.strerror}", str(error.filename or "")) from None
    backups = []
    for path, temporary in temporaries.items():
        backup = back_up(path)
        if backup:
            backups.append(backup)
        os.replace(temporary, path)
    return backups


def write_job_outputs(result, source: Path, inputs: list[Path], shelx=None,
                      prefix: Path | None = None) -> tuple[dict[str, Path], dict, list[Path]]:
    """x_crystalx.res/.cif/.json of a job, together or not at all: (paths, report, backups).

    The .res keeps every instruction of a SHELX input and replaces only atoms and HFIX.
    """
    import json

    from crystalx_core.hydrogens import hfix_groups
    from crystalx_core.io.shelx import new_ins_text, render_with_sites
    from crystalx_core.report import job_json, result_cif

    prefix = prefix or source.with_name(source.stem + "_crystalx")
    paths = {ext: prefix.with_name(prefix.name + ext) for ext in (".res", ".cif", ".json")}
    groups = hfix_groups({s.new_label: s.hfix for s in result.assignment.sites if s.hfix})
    res_text = render_with_sites(shelx, result.structure, hfix_groups=groups) if shelx is not None \
        else new_ins_text(result.structure)
    cif_text = result_cif(result, res_text, data_name=prefix.name)
    report = job_json(result, files={k.lstrip("."): str(v) for k, v in paths.items()})
    backups = write_outputs({paths[".res"]: res_text, paths[".cif"]: cif_text,
                             paths[".json"]: json.dumps(report, indent=1) + "\n"}, protected=inputs)
    return paths, report, backups
