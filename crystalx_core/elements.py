"""Element symbols, atomic numbers and covalent radii (from gemmi's tables)."""

from __future__ import annotations

import gemmi

from crystalx_core.errors import InputError


def normalise_symbol(symbol: str, path: str | None = None, line: int | None = None) -> str:
    """'CL', 'cl' or 'Cl' → 'Cl'; raises InputError for anything that is not an element."""
    text = symbol.strip()
    if text.upper() == "D":
        return "D"
    element = gemmi.Element(text)
    if element.atomic_number == 0 or element.name.upper() != text.upper():
        raise InputError(f"unknown element symbol {symbol!r}", path, line)
    return element.name


def atomic_number(symbol: str) -> int:
    return 1 if symbol == "D" else gemmi.Element(symbol).atomic_number


def covalent_radius(symbol: str) -> float:
    return gemmi.Element("H" if symbol == "D" else symbol).covalent_r


def is_hydrogen(symbol: str | None) -> bool:
    return symbol in ("H", "D")


# Elements treated as covalent partners; every other element is a metal (coordination bonds).
# Ge and Sb are covalent here (germanes, stibines), though gemmi's metal flag says otherwise.
NON_METALS = frozenset(
    {
        "H",
        "D",
        "He",
        "B",
        "C",
        "N",
        "O",
        "F",
        "Ne",
        "Si",
        "P",
        "S",
        "Cl",
        "Ar",
        "Ge",
        "As",
        "Se",
        "Br",
        "Kr",
        "Sb",
        "Te",
        "I",
        "Xe",
    }
)


def is_metal(symbol: str | None) -> bool:
    return (
        symbol is not None and symbol not in NON_METALS and gemmi.Element(symbol).atomic_number > 0
    )


def symbol(z: int) -> str:
    """Atomic number → element symbol."""
    return gemmi.Element(z).name
