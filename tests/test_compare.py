"""Comparing a model with the published one: H counted per atom within its own alternative."""

from dataclasses import replace

from crystalx_core.crystallography.compare import hydrogens_per_atom, metals_with_h
from crystalx_core.io.cif import read_cif
from crystalx_core.io.shelx_read import read_shelx
from tests.conftest import BENCHMARK


def test_split_atoms_keep_their_own_hydrogens(shared_data):
    """FC_p31c's NH is split over PART 1 and PART 2, N1 and N1' 0.04 Å apart, each with its
    own H: the H of one alternative is never counted on the other's N (the nearer by chance),
    which gave N1 none and N1' two."""
    structure = read_shelx(BENCHMARK / "FC_p31c" / "published.res").to_structure()
    counts = hydrogens_per_atom(structure)
    assert [counts[label] for label in ("N1", "N1'", "N2", "N2'")] == [1, 1, 1, 1]
    assert [counts[label] for label in ("C1", "C1'", "C3", "C3'", "C4", "C7")] == [3, 3, 2, 2, 3, 1]


def test_negative_part_keeps_its_images_hydrogens_apart(shared_data):
    """FC_1979688's methanol lies half occupied about an inversion centre (PART -1): its OH
    holds one H, not also the methyl H of the turned image 0.68 Å from it."""
    structure = read_shelx(BENCHMARK / "FC_1979688" / "published.res").to_structure()
    assert hydrogens_per_atom(structure)["O13"] == 1


def test_a_metal_carrying_hydrogen_is_listed(shared_data):
    """XH_HMaMg's Mg holds waters whose H are the O's: no metal carries H. Given a water's O
    as Zn (its two H then on the metal), the check lists it with its count."""
    structure = read_cif(BENCHMARK / "XH_HMaMg" / "model.cif").structure
    assert metals_with_h(structure) == []
    counts = hydrogens_per_atom(structure)
    water = next(s for s in structure.sites if s.element == "O" and counts[s.label] == 2)
    turned = structure.with_sites(
        [replace(s, element="Zn") if s is water else s for s in structure.sites]
    )
    assert metals_with_h(turned) == [f"{water.label} 2 H"]
