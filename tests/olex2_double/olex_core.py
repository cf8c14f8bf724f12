"""Test double of Olex2's `olex_core` module."""
from _olex2 import STATE


def SGInfo(*args):
    return {"Number": 0, "MatricesAll": tuple(STATE.matrices), "Matrices": tuple(STATE.matrices),
            "Centrosymmetric": False}


def GetRefinementModel(calculate_connectivity=False):
    """Atoms only: Q-peaks are not part of the refinement model."""
    atoms = [{"label": a.label, "type": a.type, "crd": [list(a.crd)], "occu": [a.occu], "uiso": [a.uiso],
              "part": a.part} for a in STATE.live() if a.type != "Q"]
    return {"aunit": {"cell": {"a": STATE.cell[0]}, "residues": [{"atoms": atoms}]}}
