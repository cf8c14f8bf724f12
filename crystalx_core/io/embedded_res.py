"""The .res a CIF embeds (_shelx_res_file, SHELXL 2014+ and Olex2) as the template of the .res
written from that CIF, so that the user's instructions (restraints, OMIT, HTAB, WGHT, free
variables ...) survive as they do when the input is the .res itself.

SHELXL writes the CIF's atoms from the same refinement as the .res, in the same order, with
residue atoms labelled C1_2 (as `residues.residue_address` names them), rounded to their
standard uncertainties. A CIF whose atoms are those of its .res therefore takes the .res's
exact values (so that a free-variable occupancy or a fixed coordinate is written back as a
code, not as a rounded number); a CIF edited since (atoms added, moved or renamed) does not,
and a note says which instructions are not carried.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from crystalx_core.errors import InputError
from crystalx_core.io.shelx_read import ShelxFile, parse_shelx
from crystalx_core.structure import Site, Structure

SAME_POSITION = 2e-3  # fractional: a CIF coordinate rounded to its su (0.158(2)) is this close
# instructions a fresh .ins does not write: the ones a note names when the template is not used
_FRESH = {"TITL", "CELL", "ZERR", "LATT", "SYMM", "SFAC", "UNIT", "TEMP", "L.S.", "PLAN"}
_FRESH |= {"FMAP", "LIST", "WGHT", "FVAR", "AFIX", "PART", "HKLF", "END", "REM", "RESI"}
# what a CIF site takes from its .res atom: the unrounded values, and the line the writer keys by
_FROM_RES = ("frac", "occupancy", "u_iso", "u_aniso", "afix", "part", "line")


def read_embedded(res_text: str, path: Path) -> tuple[ShelxFile | None, str | None]:
    """(the embedded .res, parsed once, its errors naming `path` (_shelx_res_file), None); (None,
    a note) where it cannot be read, since its instructions are then not carried."""
    try:
        return parse_shelx(res_text, f"{path} (_shelx_res_file)"), None
    except InputError as error:
        return None, f"{error.one_line()}: its instructions are not carried"


def embedded_template(
    shelx: ShelxFile, structure: Structure, where: str
) -> tuple[ShelxFile | None, Structure, str | None]:
    """(the embedded .res, the CIF's structure with its exact values, None) where the two hold
    the same atoms; else (None, the structure unchanged, a note naming what is not carried)."""
    atoms = {atom.site.label.upper(): atom.site for atom in shelx.atoms if atom.kind == "atom"}
    cif_atoms = [atom for site in structure.sites for atom in site.with_mixed]
    same = len(atoms) == len(cif_atoms) and all(
        _same_atom(atom, atoms.get(atom.label.upper())) for atom in cif_atoms
    )
    if not same:
        lost = sorted({line.keyword for line in shelx.lines if line.keyword} - _FRESH)
        what = f" ({' '.join(lost)})" if lost else ""
        return (
            None,
            structure,
            f"the atoms of {where} are not the CIF's (edited since?): its instructions{what} "
            "are not carried into the .res written",
        )
    exact = [_exact(site, atoms) for site in structure.sites]
    return shelx, replace(structure, sites=exact), None


def _same_atom(atom: Site, res: Site | None) -> bool:
    if res is None or res.element != atom.element:
        return False
    return all(abs(a - b) <= SAME_POSITION for a, b in zip(atom.frac, res.frac))


def _exact(site: Site, atoms: dict[str, Site]) -> Site:
    """The site with the .res's unrounded values and its line there (where the writer finds the
    atom's codes, as for a .res read), its mixed atoms likewise."""

    def one(atom: Site) -> Site:
        res = atoms[atom.label.upper()]
        return replace(atom, **{field: getattr(res, field) for field in _FROM_RES})

    return replace(one(site), mixed=tuple(one(atom) for atom in site.mixed))
