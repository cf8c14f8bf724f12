"""Readers for the structure files a user hands us; `load_structure` picks one by suffix."""
from __future__ import annotations

from pathlib import Path

from crystalx_core.errors import InputError
from crystalx_core.structure import Structure


def load_structure(path) -> Structure:
    """A .cif, .ins or .res file as a Structure."""
    suffix = Path(path).suffix.lower()
    if suffix == ".cif":
        from crystalx_core.io.cif import read_cif
        return read_cif(path).structure
    if suffix in (".ins", ".res"):
        from crystalx_core.io.shelx import read_shelx
        return read_shelx(path).to_structure()
    raise InputError(f"unsupported file type {suffix or '(no suffix)'!r}: expected .cif, .ins "
                     "or .res", str(path))
