"""Atoms in SHELX residues (RESI), named as SHELX and Olex2 address them.

Labels are unique per residue only: two residues may each hold a C1. The core therefore
labels an atom of residue n > 0 by its address, C1_n, which is unique in the structure and
what SHELXL instructions (HFIX, DFIX) and Olex2 commands accept; the .res writer drops the
suffix again, since the RESI line before the atom says which residue it is in.
"""

from __future__ import annotations

import re

_SUFFIX = re.compile(r"_(\d+)$")  # SHELX labels never hold '_': it always starts a residue
# characters of an atom name without its residue: SHELX reads no more, Olex2 trims longer ones
MAX_LABEL = 4


def residue_address(label: str, residue: int) -> str:
    """C1 in residue 0, C1_2 in residue 2."""
    return label if not residue or residue_suffix(label) else f"{label}_{residue}"


def residue_suffix(label: str) -> str:
    """'_2' of C1_2; '' for an atom outside residues."""
    match = _SUFFIX.search(label)
    return match.group(0) if match else ""


def bare_label(label: str) -> str:
    """The label as written inside its residue: C1 of C1_2."""
    return label[: len(label) - len(residue_suffix(label))]


def residue_number(label: str) -> int:
    """2 for C1_2; 0 outside residues."""
    suffix = residue_suffix(label)
    return int(suffix[1:]) if suffix else 0


def residue_order(labels: list[str]) -> list[int]:
    """Indices of `labels` with the atoms outside residues first, then each residue's atoms,
    each group in the order given: a fresh .ins lists them so, under one `RESI n class` line
    per residue (smtbx, which refines from such a file, cannot go back by `RESI 0`)."""
    return sorted(range(len(labels)), key=lambda k: residue_number(labels[k]))
