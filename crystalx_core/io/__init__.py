"""Readers for the structure files a user hands us; `load` picks one by suffix."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from crystalx_core.errors import InputError
from crystalx_core.structure import Structure

if TYPE_CHECKING:
    from crystalx_core.io.hkl import HklfFormat, Reflections
    from crystalx_core.io.shelx_read import ShelxFile


@dataclass(frozen=True)
class Loaded:
    """A structure file as read once: the Structure, and what else a job needs from the file."""

    path: Path
    structure: Structure
    shelx: ShelxFile | None = (
        None  # a .res/.ins: the result is written back into it, instructions kept
    )
    hkl_text: str | None = None  # a CIF's own reflections (_shelx_hkl_file)
    res_text: str | None = None  # and the .res they were refined with (_shelx_res_file)
    notes: tuple[str, ...] = ()  # what the reader chose (the block of a CIF), for the user

    def add_notes(self, result, *more: str) -> None:
        """Put what the reader chose (and `more`) before the job's own notes in `result`."""
        result.notes[:0] = [*self.notes, *more]

    def reflection_format(self) -> HklfFormat | None:
        """The HKLF format of the .res (or of the .res a CIF embeds); None without one. A TWIN
        or HKLF 5 there is refused rather than read as HKLF 4, and so is a CIF's wavelength that
        is not X-ray (a .res's CELL is checked by its own reader)."""
        return self._reflection_format

    @cached_property
    def _reflection_format(self) -> HklfFormat | None:
        """Worked out once: a CIF's embedded .res is parsed for it (a refusal is not cached)."""
        if self.shelx is not None:
            return self.shelx.reflection_format()
        from crystalx_core.io.hkl import xray_problem

        problem = xray_problem(self.structure.wavelength)
        if problem:
            raise InputError(f"_diffrn_radiation_wavelength: {problem}", str(self.path))
        if not self.res_text:
            return None
        from crystalx_core.io.shelx_read import parse_shelx

        try:
            embedded = parse_shelx(self.res_text, f"{self.path} (_shelx_res_file)")
        except InputError:  # an embedded file we cannot read says nothing about the data
            return None
        return embedded.reflection_format()

    def own_reflections(self) -> Reflections | None:
        """The reflections the file carries or names: a CIF's _shelx_hkl_file, those after a
        negative HKLF, or the file Olex2 names in a .res (HklSrc) where it exists; None
        without any."""
        if self.shelx is None:
            return self.embedded_reflections()
        inline = self.shelx.inline_reflections()
        if inline is not None:
            from crystalx_core.io.hkl import reflections_from_text

            return reflections_from_text(inline, str(self.path), self.reflection_format())
        source = self.shelx.hkl_source()
        if source is None or not source.is_file():
            return None
        reflections = read_reflections(source, self.reflection_format())
        reflections.notes.insert(0, f"reflections from {source.name}, named by Olex2 (HklSrc)")
        return reflections

    def embedded_reflections(self) -> Reflections | None:
        """The reflections a CIF carries (SHELXL writes them in), None without them."""
        if not self.hkl_text:
            return None
        from crystalx_core.io.hkl import reflections_from_text

        return reflections_from_text(
            self.hkl_text, f"{self.path} (_shelx_hkl_file)", self.reflection_format()
        )


def load(path, block: str | None = None) -> Loaded:
    """A .cif (its `block`, default the first with atoms), .ins or .res file, read once."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".cif":
        from crystalx_core.io.cif import read_cif

        entry = read_cif(path, block)
        return Loaded(
            path,
            entry.structure,
            hkl_text=entry.shelx_hkl_text,
            res_text=entry.shelx_res_text,
            notes=entry.notes,
        )
    if block is not None:
        raise InputError(f"--block {block}: only a CIF has data blocks", str(path))
    if suffix in (".ins", ".res"):
        from crystalx_core.io.shelx_read import read_shelx

        shelx = read_shelx(path)
        return Loaded(path, shelx.to_structure(), shelx=shelx)
    raise InputError(
        f"unsupported file type {suffix or '(no suffix)'!r}: expected .cif, .ins or .res", str(path)
    )


CIF_SUFFIXES = (".cif", ".fcf")


def read_reflections(path, hklf: HklfFormat | None = None) -> Reflections:
    """A SHELX .hkl file, or a CIF named in its place (by its suffix, or its first line where
    the name says .hkl, as the IUCr's sup2.hkl): the .hkl SHELXL 2014+ writes into its CIF
    (_shelx_hkl_file), else the Fo² of an .fcf."""
    from crystalx_core.io.files import read_input_bytes
    from crystalx_core.io.hkl import reflections_from_text

    path = Path(path)
    if path.suffix.lower() in (".ins", ".res"):
        raise InputError("a SHELX instruction file, not reflections: pass the .hkl", str(path))
    data = read_input_bytes(str(path), "reflection file")
    if path.suffix.lower() in CIF_SUFFIXES or _starts_as_cif(data):
        from crystalx_core.io.cif import cif_reflections

        return cif_reflections(path, hklf, data)
    return reflections_from_text(
        data.removeprefix(codecs.BOM_UTF8).decode("latin-1"), str(path), hklf
    )


def _starts_as_cif(data: bytes) -> bool:
    """A CIF's first line is a comment or data_; a reflection line starts with h."""
    head = data.removeprefix(codecs.BOM_UTF8).lstrip()[:5].lower()
    return head.startswith((b"#", b"data_"))


def find_reflections(loaded: Loaded) -> Reflections | None:
    """The reflections the file carries or names (a CIF's own, Olex2's HklSrc), else name.hkl
    beside name.ins (SHELX's convention); None without any."""
    own = loaded.own_reflections()
    if own is not None:
        return own
    from crystalx_core.io.files import same_named_hkl

    beside = same_named_hkl(loaded.path)
    return read_reflections(beside, loaded.reflection_format()) if beside else None


def solve_reflections(loaded: Loaded, hkl) -> Reflections:
    """The reflections to solve against: `hkl` if named, else those find_reflections finds; an
    InputError saying what to pass otherwise."""
    if hkl is not None:
        return read_reflections(hkl, loaded.reflection_format())
    found = find_reflections(loaded)
    if found is not None:
        return found
    raise InputError(
        f"no reflections: pass the .hkl file (none named {loaded.path.with_suffix('.hkl').name} "
        "beside it" + (", and no _shelx_hkl_file in the CIF)" if loaded.shelx is None else ")"),
        str(loaded.path),
    )
