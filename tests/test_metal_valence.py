"""Which metal a site holds, weighed by the bond valence its anions give each candidate
(crystalx_core.assign.metal_valence, bond_valence.valence_likelihood): real inorganic files
whose metals the model swapped, and metals the sum cannot tell apart left as the model has them."""

import math
import re
from pathlib import Path

import crystalx_core  # noqa: F401  (cctbx before gemmi)
import numpy as np
import pytest

from crystalx_core.assign import assign
from crystalx_core.assign.metal_valence import valence_weighed
from crystalx_core.bond_valence import (
    OXIDATION_STATES,
    SIZE_AND_ELECTRONEGATIVITY,
    pair_r0,
    valence_likelihood,
)
from crystalx_core.io.cif import read_cif
from crystalx_core.structure import Site, Structure
from tests.test_real_files import ORIGIN_CHOICE_TWO

# PyPI pyxtal 1.1.5, pyxtal/database/cifs/MPWO.cif (Pb2MgWO6, Pnma, written by pymatgen: its
# formula as the cell's contents, every operator listed), cut to cell, formula and sites
PB2MGWO6 = """data_MgPb2WO6
_symmetry_space_group_name_H-M   Pnma
_cell_length_a   11.60754700
_cell_length_b   8.05258500
_cell_length_c   5.80099800
_cell_angle_alpha   90.00000000
_cell_angle_beta   90.00000000
_cell_angle_gamma   90.00000000
_symmetry_Int_Tables_number   62
_chemical_formula_sum   'Mg4 Pb8 W4 O24'
_cell_formula_units_Z   4
loop_
 _symmetry_equiv_pos_site_id
 _symmetry_equiv_pos_as_xyz
  1  'x, y, z'
  2  '-x, -y, -z'
  3  '-x+1/2, -y, z+1/2'
  4  'x+1/2, y, -z+1/2'
  5  'x+1/2, -y+1/2, -z+1/2'
  6  '-x+1/2, y+1/2, z+1/2'
  7  '-x, y+1/2, -z'
  8  'x, -y+1/2, z'
loop_
 _atom_site_type_symbol
 _atom_site_label
 _atom_site_symmetry_multiplicity
 _atom_site_fract_x
 _atom_site_fract_y
 _atom_site_fract_z
 _atom_site_occupancy
  Mg  Mg0  4  0.12027800  0.75000000  0.25567000  1
  Pb  Pb1  8  0.14533100  0.00529900  0.79126500  1
  W  W2  4  0.11660700  0.25000000  0.25399000  1
  O  O3  8  0.13389300  0.00834300  0.22913300  1
  O  O4  4  0.00132300  0.25000000  0.01499000  1
  O  O5  4  0.01026200  0.25000000  0.49539200  1
  O  O6  4  0.23550300  0.25000000  0.97740000  1
  O  O7  4  0.24854000  0.75000000  0.96264200  1
"""


def _assigned(tmp_path: Path, text: str, name: str) -> dict[str, str]:
    path = tmp_path / name
    path.write_text(text)
    structure = read_cif(path).structure
    return {site.label: site.element for site in assign(structure).sites}


def test_the_pyrochlore_keeps_its_ho_and_ti(tmp_path):
    """cryspy's Ho2Ti2O7: the model called both cation sites Ti (0.78, 0.72) and the formula
    gave the Ho to the Ti site. The Ti site's six O at 1.99 Å give a Ho 6.5 v.u. (Ho's only
    state is 3), a Ti 3.7; the Ho site's eight O at 2.22-2.52 Å give a Ti 1.55 (Ti: 3, 4)."""
    elements = _assigned(tmp_path, ORIGIN_CHOICE_TWO, "crystal_Ho2Ti2O7.cif")
    assert elements == {"Ho": "Ho", "Ti": "Ti", "O1": "O", "O2": "O"}


def test_the_lead_of_a_double_perovskite_is_not_an_oxygen(tmp_path):
    """pyxtal's Pb2MgWO6: the model calls the Pb site O (0.94) and the cover put the formula's
    Pb on O3. Of the site's small metal share, Mg and W would take 0.6 and 1.1 v.u. from its
    O at 2.48-3.05 Å, Pb 1.8: the share goes to Pb, which the formula then places there."""
    elements = _assigned(tmp_path, PB2MGWO6, "MPWO.cif")
    assert elements == {
        "Mg0": "Mg",
        "Pb1": "Pb",
        "W2": "W",
        **{f"O{k}": "O" for k in range(3, 8)},
    }


def _square(metal: str, ligand: str, distance: float, n: int = 4) -> Structure:
    """A metal with n ligands at `distance` Å in a 20 Å cube (P1)."""
    d = distance / 20
    offsets = [(d, 0, 0), (-d, 0, 0), (0, d, 0), (0, -d, 0), (0, 0, d), (0, 0, -d)][:n]
    sites = [Site(label="M1", element=metal, frac=(0.5, 0.5, 0.5))] + [
        Site(label=f"X{k}", element=ligand, frac=tuple(0.5 + o for o in off))
        for k, off in enumerate(offsets)
    ]
    return Structure(
        cell=(20.0, 20.0, 20.0, 90.0, 90.0, 90.0), symops=["x,y,z"], sites=sites, source="t"
    )


@pytest.mark.parametrize(
    "metal, ligand, distance, n",
    [("Cu", "N", 2.00, 4), ("Zn", "N", 2.05, 4), ("Cu", "O", 1.95, 4), ("Zn", "O", 2.10, 6)],
)
def test_copper_and_zinc_stay_as_the_model_has_them(metal, ligand, distance, n):
    """Cu(II) and Zn(II) among N or O at their usual distances: either metal's sum lies
    within PLAUSIBLE of a state, so the model's probabilities are left exactly as they are."""
    structure = _square(metal, ligand, distance, n)
    classes = ["Cu", "Zn", ligand, "Q"]
    probabilities = np.array([[0.7, 0.3, 0.0, 0.0]] + [[0.0, 0.0, 1.0, 0.0]] * n)
    weighed = valence_weighed(structure, probabilities, classes)
    assert weighed == pytest.approx(probabilities)


def test_a_metal_bonded_to_carbon_is_left_to_the_model():
    """A carbonyl's or an aryl's C gives no bond valence to trust: a site with a bonded C keeps
    the model's metals, however far off the anions alone would put them (Ho among O at Ti's
    distances would be 6.5 v.u.)."""
    structure = _square("Ti", "O", 1.99, 6)
    sites = list(structure.sites)
    sites[-1] = Site(label="C1", element="C", frac=sites[-1].frac)
    with_carbon = structure.with_sites(sites)
    classes = ["Ho", "Ti", "O", "C"]
    rows = [[0.5, 0.5, 0.0, 0.0]] + [[0.0, 0.0, 1.0, 0.0]] * 5
    probabilities = np.array(rows + [[0.0, 0.0, 0.0, 1.0]])
    assert valence_weighed(with_carbon, probabilities, classes) == pytest.approx(probabilities)
    weighed = valence_weighed(structure, np.array(rows + [[0.0, 0.0, 1.0, 0.0]]), classes)
    assert weighed[0, 1] > 0.9  # among six O, the sum speaks for Ti


def test_the_likelihood_is_bounded_below():
    """However far off a sum, the likelihood never falls under LEAST_LIKELIHOOD (0.01): the
    model's choice is weighed, not overruled."""
    assert valence_likelihood("Ho", 3.0) == 1.0
    assert valence_likelihood("Ho", 30.0) == 0.01
    assert 0.01 < valence_likelihood("Ti", 1.55) < 0.5


def _pymatgen_file(name: str) -> Path:
    pytest.importorskip("pymatgen")
    import pymatgen.core

    return Path(pymatgen.core.__file__).parent / name


def test_element_parameters_are_okeeffe_and_brese_as_pymatgen_holds_them():
    """SIZE_AND_ELECTRONEGATIVITY is O'Keeffe & Brese's (1991) r and c, as pymatgen's
    core/bvparam_1991.yaml holds them (the dev extra), for every element we list; their R0 is
    within 0.05 Å of Brese & O'Keeffe's per-state values (Ti(IV)-O 1.815, Ho(III)-O 2.025,
    Zn(II)-O 1.704: 1.658)."""
    import yaml

    table = yaml.safe_load(_pymatgen_file("bvparam_1991.yaml").read_text())
    for element, (r, c) in SIZE_AND_ELECTRONEGATIVITY.items():
        assert (r, c) == (table[element]["r"], table[element]["c"]), element
    for cation, r0 in (("Ti", 1.815), ("Ho", 2.025), ("Zn", 1.704)):
        assert pair_r0(cation, "O") == pytest.approx(r0, abs=0.05)


def test_oxidation_states_are_those_of_five_per_cent_of_the_icsd_entries():
    """OXIDATION_STATES: each metal's positive states found in at least 5 % of its ICSD
    entries, as pymatgen's core/icsd_bv.yaml counts them ("occurrence")."""
    import yaml

    occurrence = yaml.safe_load(_pymatgen_file("icsd_bv.yaml").read_text())["occurrence"]
    counts: dict[str, dict[int, int]] = {}
    for species, n in occurrence.items():
        element, charge, sign = re.fullmatch(r"([A-Z][a-z]?)(\d*)([+-])", species).groups()
        if sign == "+" and charge != "0":
            counts.setdefault(element, {})[int(charge or 1)] = n
    for metal, states in OXIDATION_STATES.items():
        total = sum(counts[metal].values())
        expected = tuple(sorted(s for s, n in counts[metal].items() if n >= 0.05 * total))
        assert states == expected, metal
    assert math.isclose(pair_r0("Ho", "O"), 2.0215, abs_tol=1e-3)


def _disordered(occupancy: float, ligand_part: int) -> Structure:
    """A Dy among six O at 2.40 Å, the Dy in PART 1 at `occupancy` and its O in `ligand_part`
    at the same occupancy (SHELXL's PART: atoms of two different non-zero PARTs are never
    bonded, its connectivity table's rule; sof 21 / -21 ties them to one free variable)."""
    structure = _square("Dy", "O", 2.40, 6)
    metal, *ligands = structure.sites
    return structure.with_sites(
        [Site(label="M1", element="Dy", frac=metal.frac, occupancy=occupancy, part=1)]
        + [
            Site(label=s.label, element="O", frac=s.frac, occupancy=occupancy, part=ligand_part)
            for s in ligands
        ]
    )


def test_a_disordered_metal_counts_its_own_ligands_whole():
    """A metal disordered together with its ligands (one PART, occupancy 0.5 each) has all its
    bonds whenever it is there: the sum is the whole one, so the model's choice between Dy and
    Na is left as it was at full occupancy (the halved sum gave the site to Na, 0.015 : 0.985).
    Ligands of another PART are never its bonds: no anion left, no sum, the site left alone."""
    classes = ["Dy", "Na", "O", "Q"]
    probabilities = np.array([[0.6, 0.4, 0.0, 0.0]] + [[0.0, 0.0, 1.0, 0.0]] * 6)
    whole = valence_weighed(_disordered(1.0, 1), probabilities, classes)
    half = valence_weighed(_disordered(0.5, 1), probabilities, classes)
    assert whole[0, :2] == pytest.approx([0.6, 0.4])
    assert half[0, :2] == pytest.approx(whole[0, :2])
    other_part = valence_weighed(_disordered(0.5, 2), probabilities, classes)
    assert other_part == pytest.approx(probabilities)
