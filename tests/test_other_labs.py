"""Conventions met in real files of other labs (session 10's survey of public repositories):
each test reproduces one in a small file written here and names the file it was seen in."""

from dataclasses import replace

import crystalx_core  # noqa: F401  (cctbx before gemmi)

from crystalx_core.io.shelx_read import parse_shelx
from crystalx_core.io.shelx_write import render_with_sites

# dkratzert/ShelXFile tests/resources/test_bedelone_inline.res (SHELXL 2019), cut to two atoms
BEDE_LONE = (
    "TITL test_bede_lone_inline.res in P2(1)2(1)2(1)\n"
    "CELL  0.71073   5.9682   9.0435  18.3940   90.000   90.000   90.000\n"
    "ZERR    4.000   0.0001   0.0001   0.0003    0.000    0.000    0.000\n"
    "LATT -1\nSYMM 1/2-X, -Y, 1/2+Z\nSYMM -X, 1/2+Y, 1/2-Z\nSYMM 1/2+X, 1/2-Y, -Z\n"
    "SFAC C H O S\nUNIT 44 40 8 4\nL.S. 10\n"
    "FVAR       1.04075   0.39165   0.51366   0.62866\n"
    "S1    4    0.190322    0.680965    0.259571    11.00000    0.03991\n"
    "C8    1    0.363959    0.623727    0.327809    11.00000    0.03852\n"
    "\nBEDE S1 C8 1.708 20.874 30.112 40.382\nLONE S1 2 21.786 30.164 40.361 1.786 92.00\n"
    "\nHKLF 4\n\n"
    "L1      2    0.32950    0.63509    0.31426  !    0.18094    0.21368  S1\n\nEND\n"
)


def _rewritten(text: str, labels: dict[str, tuple[str, str]]) -> tuple[str, list[str]]:
    """The .res written after giving atoms a new (label, element), as a job does."""
    shelx = parse_shelx(text, "x.res")
    structure = shelx.to_structure()
    sites = [
        replace(s, label=labels[s.label][0], element=labels[s.label][1]) if s.label in labels else s
        for s in structure.sites
    ]
    notes: list[str] = []
    return render_with_sites(shelx, structure.with_sites(sites), notes=notes), notes


def test_bede_and_lone_follow_a_retyped_atom():
    """SHELXL 2019's BEDE (bonding density between two atoms) and LONE (lone pairs of an atom)
    name their atoms before their numbers; an S1 retyped to O1 kept 'BEDE S1 C8' and
    'LONE S1', which SHELXL stops on (no atom S1). Both now follow the atom, their numbers
    (free-variable codes such as 20.874) untouched; what SHELXL wrote after HKLF is kept."""
    out, _ = _rewritten(BEDE_LONE, {"S1": ("O1", "O")})
    lines = out.splitlines()
    assert "BEDE O1 C8 1.708 20.874 30.112 40.382" in lines
    assert "LONE O1 2 21.786 30.164 40.361 1.786 92.00" in lines
    assert not [ln for ln in lines if ln.startswith(("BEDE S1", "LONE S1"))]
    assert "L1      2    0.32950    0.63509    0.31426  !    0.18094    0.21368  S1" in lines
