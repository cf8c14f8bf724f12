"""Readers for the structure files a user hands us; `load` picks one by suffix."""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from crystalx_core.errors import InputError
from crystalx_core.structure import Structure

if TYPE_CHECKING:
    from crystalx_core.io.cif_weights import CifWeighting
    from crystalx_core.io.hkl import HklfFormat, Reflections
    from crystalx_core.io.shelx_read import ShelxFile
    from crystalx_core.io.stated_r1 import StatedR1


@dataclass(frozen=True)
class Loaded:
    """A structure file as read once: the Structure, and what else a job needs from the file."""

    path: Path
    structure: Structure
    shelx: ShelxFile | None = (
        None  # a .res/.ins: the result is written back into it, instructions kept
    )
    hkl_text: str | None = None  # a CIF's own reflections (_shelx_hkl_file, the IUCr's tags)
    embedded: ShelxFile | None = None  # and the .res they were refined with (_shelx_res_file)
    hkl_tag: str = "_shelx_hkl_file"  # the tag hkl_text was read from
    refln_tag: str = ""  # else the measured tag of the CIF block's own _refln loop of Fo²
    # a loop that cannot be read (a powder pattern's, one without indices): why, and where (no
    # refln_tag then)
    refln_problem: str = ""
    refln_problem_line: int | None = None
    # refln_tag's loop has no σ (they are estimated): a .hkl beside the CIF is read before it
    refln_without_sigma: bool = False
    notes: tuple[str, ...] = ()  # what the reader chose (the block of a CIF), for the user
    template: ShelxFile | None = None  # a CIF's embedded .res, where its atoms are the CIF's
    block: str = ""  # the CIF data block read, where the file holds several structures
    cif_block: str = ""  # the CIF data block read, named even where it is the only structure
    not_xray: str = ""  # a CIF's word that its data are neutron (or electron) data
    not_xray_line: int | None = None
    probe: str = "x-ray"  # neutron, electron or gamma where a CIF says so
    # a CIF's weighting scheme read as SHELXL's WGHT (io.cif_weights), for want of a .res's
    weighting: CifWeighting | None = None
    stated_r1: StatedR1 | None = None  # the R1 the file states for its own model (io.stated_r1)

    def output_prefix(self, mark: str) -> Path:
        """name{mark} beside the input, name_BLOCK{mark} for one of several structures of a CIF,
        so that the jobs on two blocks never write the same outputs."""
        return self.path.with_name(block_stem(self.path, self.block) + mark)

    def output_template(self) -> ShelxFile | None:
        """The file the output .res is written over, so that the user's instructions stay: the
        .res/.ins read, or the .res the CIF embeds (the CIF's sites carry its lines, as a
        .res's do); None for a fresh .ins."""
        return self.template or self.shelx

    def check_writable(self) -> None:
        """Refuse, before any work, symmetry a fresh .ins cannot state (a centring with no
        SHELX LATT code), naming the line: the job would otherwise run only to fail writing."""
        if self.output_template() is None:
            from crystalx_core.symmetry import shelx_latt_symm

            s = self.structure
            shelx_latt_symm(s.symops, s.source, s.symmetry_line)

    def add_notes(self, result, *more: str) -> None:
        """Put what the reader chose (and `more`) before the job's own notes in `result`."""
        result.notes[:0] = [*self.notes, *more]

    def reflection_format(self) -> HklfFormat | None:
        """The HKLF format of the .res (or of the .res a CIF embeds); None without one. A TWIN
        or HKLF 5 there comes with it (HklfFormat.twin: the data are refined as twinned), never
        read as plain HKLF 4; a CIF's wavelength that is not X-ray, or a CIF that says its data
        are neutron data, is refused (a .res's CELL and NEUT are checked by its own reader)."""
        return self._reflection_format

    @cached_property
    def _reflection_format(self) -> HklfFormat | None:
        """Worked out once (a refusal is not cached)."""
        if self.shelx is not None:
            return self.shelx.reflection_format()
        from crystalx_core.io.cif import not_xray_error
        from crystalx_core.io.hkl import xray_problem

        # the probe first: an electron CIF's 0.025 Å says only "not X-ray", its probe says
        # what the data are and where to refine them
        if self.not_xray:  # X-ray form factors would refine neutron data to nonsense
            raise not_xray_error(self.not_xray, self.probe, self.path, self.not_xray_line)
        problem = xray_problem(self.structure.wavelength)
        if problem:
            raise InputError(f"_diffrn_radiation_wavelength: {problem}", str(self.path))
        # an embedded file we cannot read (None) says nothing about the data
        return self.embedded.reflection_format() if self.embedded is not None else None

    @cached_property
    def hkl_source(self) -> Path | None:
        """The reflection file Olex2 names in the .res (ShelxFile.hkl_source), looked up once
        per job rather than by each step that asks; a file of that name but for case where
        it is not there as named (named on Windows, which ignores case)."""
        source = self.shelx.hkl_source() if self.shelx is not None else None
        if source is None or os.path.lexists(source):
            return source
        from crystalx_core.io.files import differently_cased

        return next(iter(differently_cased([source])), source)

    def reflections_file(self, beside: bool = True) -> Path | None:
        """Where this structure's reflections are, the one rule for every command: the file
        itself where it carries them (a CIF's _shelx_hkl_file or _refln loop of Fo², data after
        a negative HKLF; a loop without σ yields to name.hkl beside it where `beside`), the file
        Olex2 names in a .res (HklSrc) where it exists, else (with
        `beside`) name.hkl, or name.fcf, beside it as SHELX looks for it; None without any."""
        if self.carries_reflections or (
            self.shelx is not None and self.shelx.carries_reflections()
        ):
            if self.refln_without_sigma and beside and not self.block:
                from crystalx_core.io.files import reflections_beside

                measured = reflections_beside(self.path)  # its σ are the file's, not estimates
                if measured is not None:
                    return measured
            return self.path
        source = self.hkl_source
        if source is not None and source.is_file():
            return source
        if not beside or self.block:  # name.hkl is not one block's of a multi-structure CIF
            return None
        from crystalx_core.io.files import reflections_beside

        return reflections_beside(self.path)

    def no_reflections_note(self) -> str:
        """What reflections_file looked for and did not find, for a batch row assigned without
        reflections ('model only: ...')."""
        if self.block:
            return f"model only: data_{self.block} carries no reflections"
        from crystalx_core.io.files import reflections_looked_for

        source = self.hkl_source
        named = f"Olex2's HklSrc names {source.name}, not there; " if source is not None else ""
        return f"model only: no reflections ({named}{reflections_looked_for(self.path)})"

    def reflections_in(self, where: Path) -> Reflections:
        """The reflections in `where` (a reflections_file), read as this file's HKLF says and
        checked to be this crystal's (read)."""
        if where != self.path:
            reflections = self.read(where)
            if where == self.hkl_source:
                reflections.notes.insert(
                    0, f"reflections from {where.name}, named by Olex2 (HklSrc)"
                )
            return reflections
        if self.shelx is None:
            reflections = self.embedded_reflections()
        else:
            from crystalx_core.io.hkl import reflections_from_text

            inline = self.shelx.inline_reflections()
            reflections = reflections_from_text(inline, str(self.path), self.reflection_format())
        return self._checked(reflections)

    def read(self, hkl) -> Reflections:
        """The reflection file `hkl`, read as this file's HKLF says; another crystal's stops the
        job before any work, naming both files (io.pairing). The model file itself named as
        `hkl` gives the reflections of the block read (its own _refln loop), not those of its
        first block."""
        if (self.block or self.refln_tag) and _same_file(hkl, self.path):
            if not self.carries_reflections:
                raise InputError(f"no reflections in data_{self.block}", str(self.path))
            return self.reflections_in(self.path)
        return self._checked(read_reflections(hkl, self.reflection_format()))

    def _checked(self, reflections: Reflections | None) -> Reflections | None:
        """The reflections checked to be this crystal's, without those past the Ewald limit
        (io.pairing) and those the file's own OMIT and SHEL instructions (or its embedded
        .res's) leave out (io.data_limits), to be merged as its MERG says (Reflections.merged)."""
        if reflections is not None:
            from crystalx_core.io.pairing import check_pairing, within_ewald_limit

            check_pairing(self.structure, reflections, str(self.path))
            reflections = within_ewald_limit(self.structure, reflections)
            instructions = self.shelx if self.shelx is not None else self.embedded
            if instructions is not None:
                from crystalx_core.io.data_limits import limited

                reflections = limited(
                    instructions, reflections, self.structure.cell, self.structure.symops
                )
        return reflections

    def own_reflections(self) -> Reflections | None:
        """The reflections the file carries or names (reflections_file without the one
        beside); None without any."""
        where = self.reflections_file(beside=False)
        return None if where is None else self.reflections_in(where)

    def unrefinable(self, where: Path | None) -> str:
        """Why the reflections the structure names (at `where`) cannot be refined here (TWIN
        with HKLF 5, neutron, electron or Laue data: reflection_format), or, with none, why a
        CIF's own _refln loop is not read (a powder pattern's, one without indices), as a note
        starting 'not refined: '; '' when they can, or there are none. The jobs that find the
        reflections themselves (batch, audit) still do the atoms' part without them, as
        `assign` without --hkl does, rather than fail."""
        if where is None:
            unread = self.unread_reflections()
            return f"not refined: {unread}" if unread else ""
        try:
            self.reflection_format()
        except InputError as error:
            return f"not refined: {error.one_line()}"
        return ""

    def unread_reflections(self) -> str:
        """Why the CIF's own _refln loop is not read as its reflections, as a one-line error
        naming file and line; '' where it is, or there is none."""
        if not self.refln_problem:
            return ""
        return InputError(self.refln_problem, str(self.path), self.refln_problem_line).one_line()

    @property
    def carries_reflections(self) -> bool:
        """Whether a CIF holds its own reflections: SHELXL's embedded .hkl or .fcf, else a
        _refln loop of measured Fo² in the block read that can be read (refln_problem)."""
        return bool(self.hkl_text or self.refln_tag)

    def embedded_reflections(self) -> Reflections | None:
        """The reflections a CIF carries (SHELXL writes them in, or its own _refln loop), None
        without them."""
        if not self.hkl_text:
            if not self.refln_tag:
                return None
            from crystalx_core.io.cif import block_reflections

            return block_reflections(self.path, self.cif_block, self.reflection_format())
        from crystalx_core.io.cif import FCF_TAG, embedded_fcf_reflections, embedded_hkl_reflections

        block = f"data_{self.block} " if self.block else ""  # which block's, in any message
        where = f"{self.path} ({block}{self.hkl_tag})"
        if self.hkl_tag == FCF_TAG:
            return embedded_fcf_reflections(self.hkl_text, Path(where), self.reflection_format())
        return embedded_hkl_reflections(self.hkl_text, where, self.reflection_format())


def _same_file(a, b) -> bool:
    try:
        return Path(a).samefile(b)
    except OSError:
        return False


# what SHELXL needs before it refines a .res written for X-rays from such data (SHELXL manual:
# NEUT for neutron scattering lengths; electron form factors are given on SFAC lines)
_TO_DO = {
    "neutron": "add NEUT before SHELXL refines it",
    "electron": "give SHELXL electron form factors on SFAC lines before it refines it",
    "gamma": "check its form factors before refining it",
}


def load(path, block: str | None = None) -> Loaded:
    """A .cif (its `block`, default the first with atoms), .ins or .res file, read once."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in STRUCTURE_CIF_SUFFIXES:
        from crystalx_core.io.cif import read_consistent_cif

        entry = read_consistent_cif(path, block)
        structure, embedded, template, notes = entry.structure, None, None, entry.notes
        if entry.shelx_res_text:
            from crystalx_core.io.embedded_res import embedded_template, read_embedded

            embedded, note = read_embedded(entry.shelx_res_text, path)
            if embedded is not None:
                where = f"{path.name}'s embedded .res"
                template, structure, note = embedded_template(embedded, structure, where)
            notes += (note,) if note else ()
        if entry.not_xray:  # written as X-ray data; SHELXL needs to be told otherwise
            notes += (
                f"{entry.not_xray}: the .res written is set up for X-rays ({_TO_DO[entry.probe]})",
            )
        return Loaded(
            path,
            structure,
            hkl_text=entry.shelx_hkl_text,
            embedded=embedded,
            hkl_tag=entry.hkl_tag,
            refln_tag=entry.refln_tag,
            refln_problem=entry.refln_problem,
            refln_problem_line=entry.refln_problem_line,
            refln_without_sigma=entry.refln_without_sigma,
            notes=notes + _deuterium_notes(structure),
            template=template,
            block=entry.block_name if entry.one_of_several else "",
            cif_block=entry.block_name,
            not_xray=entry.not_xray,
            not_xray_line=entry.not_xray_line,
            probe=entry.probe,
            weighting=entry.weighting,
            stated_r1=entry.stated_r1,
        )
    if block is not None:
        raise InputError(f"--block {block}: only a CIF has data blocks", str(path))
    if suffix in SHELX_SUFFIXES:
        from crystalx_core.io.shelx_read import read_shelx
        from crystalx_core.io.stated_r1 import shelx_stated_r1

        shelx = read_shelx(path)
        structure = shelx.to_structure()
        notes = shelx.continuation_notes() + shelx.unread_notes() + shelx.moved_notes()
        notes += _deuterium_notes(structure)
        stated = shelx_stated_r1(shelx.lines, path)
        return Loaded(path, structure, shelx=shelx, notes=notes, stated_r1=stated)
    if suffix in MACROMOLECULAR_SUFFIXES:
        raise InputError(
            f"unsupported file type {suffix!r}, the PDB's format for macromolecular models: "
            "CrystalX assigns small-molecule crystal structures (.cif, .ins or .res); proteins "
            "and nucleic acids are out of its scope",
            str(path),
        )
    raise InputError(
        f"unsupported file type {suffix or '(no suffix)'!r}: expected .cif, .ins or .res (or a "
        "magnetic .mcif)",
        str(path),
    )


# the wwPDB's coordinate files (PDB format, its .ent archive name, mmCIF under its own suffix)
MACROMOLECULAR_SUFFIXES = {".pdb", ".ent", ".mmcif", ".bcif"}


def _deuterium_notes(structure: Structure) -> tuple[str, ...]:
    """D (SHELXL's SFAC D, a CIF's type symbol D) is hydrogen to X-rays (same form factor): it
    is read and refined as H, and the riding atoms put in its place are D only where SFAC has
    no H (riding.riding_element); said, so that a partly deuterated crystal's atoms are renamed."""
    labels = [
        atom.label for site in structure.sites for atom in site.with_mixed if atom.element == "D"
    ]
    if not labels:
        return ()
    from crystalx_core.riding import riding_element

    shown = " ".join(labels[:6]) + (" ..." if len(labels) > 6 else "")
    read = f"{len(labels)} deuterium atom(s) ({shown}) read as hydrogen, as X-rays see them"
    if riding_element(structure.sfac) == "D":
        return (f"{read}; the riding atoms written in their place are D, as SFAC has no H",)
    return (
        f"{read}; the riding atoms written in their place are H (SFAC has H too): rename them "
        "D if the crystal is deuterated",
    )


_UNSAFE = re.compile(r"[^\w.-]")  # in a file name


def block_stem(path: Path, block: str) -> str:
    """The file's name without suffix, and the data block's where one of several is read (the
    characters a file name may not hold made '_')."""
    return f"{path.stem}_{_UNSAFE.sub('_', block)}" if block else path.stem


CIF_SUFFIXES = (".cif", ".fcf")
# a structure's CIF; .mcif is the magnetic CIF of Bilbao's MAGNDATA (COMCIFS/spinCIF
# test/mcif/0.199_Mn3Sn.mcif), read for its atoms as a .cif with magnetic operators is
STRUCTURE_CIF_SUFFIXES = (".cif", ".mcif")
SHELX_SUFFIXES = (".ins", ".res")  # SHELX instruction files


def read_reflections(path, hklf: HklfFormat | None = None) -> Reflections:
    """A SHELX .hkl file, or a CIF named in its place (by its suffix, or its first line where
    the name says .hkl, as the IUCr's sup2.hkl): the .hkl SHELXL 2014+ writes into its CIF
    (_shelx_hkl_file), else the Fo² of an .fcf; or an XDS_ASCII or Scalepack file (by its
    first line: io.other_hkl)."""
    from crystalx_core.io.files import read_input_bytes
    from crystalx_core.io.hkl import reflections_from_bytes

    path = Path(path)
    if path.suffix.lower() in SHELX_SUFFIXES:
        raise InputError("a SHELX instruction file, not reflections: pass the .hkl", str(path))
    data = read_input_bytes(str(path), "reflection file")
    if path.suffix.lower() in CIF_SUFFIXES or _starts_as_cif(data):
        from crystalx_core.io.cif import cif_reflections

        return cif_reflections(path, hklf, data)
    from crystalx_core.io.other_hkl import other_format, read_other

    head = data.removeprefix(codecs.BOM_UTF8)[:200].decode("latin-1")
    if other_format(head):  # XDS_ASCII.HKL, a Scalepack .sca
        return read_other(data.removeprefix(codecs.BOM_UTF8).decode("latin-1"), str(path), hklf)
    return reflections_from_bytes(data, str(path), hklf)


def _starts_as_cif(data: bytes) -> bool:
    """A CIF's first line is a comment or data_; a reflection line starts with h."""
    head = data.removeprefix(codecs.BOM_UTF8).lstrip()[:5].lower()
    return head.startswith((b"#", b"data_"))


def find_reflections(loaded: Loaded, where: Path | None = None) -> Reflections | None:
    """The reflections Loaded.reflections_file names, or `where` it named already (a note says
    so where a file of the same name beside is not the one); None without any."""
    where = where or loaded.reflections_file()
    if where is None:
        return None
    reflections = loaded.reflections_in(where)
    if loaded.refln_without_sigma and where != loaded.path:  # the .hkl beside it, read first
        reflections.notes.append(
            f"{loaded.path.name}'s own {loaded.refln_tag} loop not read (it has no σ): "
            f"{where.name} beside it is"
        )
    named = where == loaded.path or (where == loaded.hkl_source)
    if not named:  # the file beside it, looked for once already
        if where.suffix.lower() == ".cif" and loaded.path.suffix.lower() in SHELX_SUFFIXES:
            reflections.notes.insert(  # SHELXL's name.cif, no name.hkl there: said, not silent
                0, f"reflections: the .hkl inside {where.name} beside it, no {loaded.path.stem}.hkl"
            )
        return reflections
    from crystalx_core.io.files import reflections_beside

    beside = reflections_beside(loaded.path)
    if beside is not None and beside != where:
        holder = "it carries" if where == loaded.path else f"Olex2 names ({where.name})"
        reflections.notes.append(f"{beside.name} beside it not read: the reflections {holder} are")
    return reflections


def solve_reflections(loaded: Loaded, hkl) -> Reflections:
    """The reflections to solve against: `hkl` if named, else those find_reflections finds; an
    InputError saying what to pass otherwise."""
    if hkl is not None:
        return loaded.read(hkl)
    found = find_reflections(loaded)
    if found is not None:
        return found
    if loaded.block:
        raise InputError(
            f"no reflections in data_{loaded.block}: pass the .hkl file (one beside a CIF of "
            "several structures is not taken for one of them)",
            str(loaded.path),
        )
    in_cif = ", and no _shelx_hkl_file or _refln loop in the CIF" if loaded.shelx is None else ""
    if loaded.refln_problem:  # the line of the loop, and why it is not read
        in_cif = f"; the CIF's own _refln loop cannot be read: {loaded.refln_problem}"
    from crystalx_core.io.files import reflections_looked_for

    raise InputError(
        f"no reflections: pass the .hkl file ({reflections_looked_for(loaded.path)}{in_cif})",
        str(loaded.path),
        loaded.refln_problem_line,
    )
