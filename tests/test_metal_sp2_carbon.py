"""An sp2 C on a metal holds one H at most, read from its M–C–C angle and M–C length
(crystalx_core.assign.baseline.metal_sp2_carbon), on published structures; the published H
within 1.3 Å of its atom are the truth. Ru=CH–R: Schwab, Grubbs & Ziller, JACS 118 (1996)
100-110 (Ru=C 1.83 Å)."""

import numpy as np
import pytest

from crystalx_core.assign.baseline import metal_sp2_carbon
from crystalx_core.assign.model import _placeable, model_h_counts
from crystalx_core.elements import is_hydrogen
from crystalx_core.geometry import H_BOND_MAX, bonded_h_counts, connectivity, one_alternative
from crystalx_core.io.cif import read_cif
from crystalx_core.riding import add_riding_hydrogens
from tests.conftest import CORPUS, benchmark_script

COUNTS = [0, 1, 2, 3, 4]


def _published(name: str):
    """(the non-H sites, their bonds as the rules read them, the published H count of each,
    label → index) of a corpus CIF."""
    model = read_cif(CORPUS / f"{name}.cif").structure
    heavy = model.with_sites([s for s in model.sites if not is_hydrogen(s.element)])
    bonds = one_alternative(heavy, connectivity(heavy))
    labels = {s.label: k for k, s in enumerate(heavy.sites)}
    return heavy, bonds, bonded_h_counts(model, H_BOND_MAX), labels


def test_a_ruthenium_benzylidene_carbon_is_a_ch(shared_data):
    """COD 2224874, a Hoveyda–Grubbs Ru=CH–Ar (Ru–C41 1.827 Å, Ru–C41–C42 128°, published with
    one H): the hydrogen model read it as an Ru–CH2 (p 0.99 for two H); the angle and the
    short bond say sp2, a CH, and the model's CH2 is read as that CH."""
    heavy, bonds, published, labels = _published("codtools_2224874")
    k = labels["C41"]
    assert published[k] == 1
    assert metal_sp2_carbon(heavy, heavy.sites[k], bonds[k])
    assert model_h_counts(heavy)[k][0] == 1


def test_the_model_s_ch2_is_folded_into_the_ch(shared_data):
    """The probability of two H or more goes to one, not away (a renormalised 'none' would win)."""
    heavy, bonds, _, labels = _published("codtools_2224874")
    k = labels["C41"]
    rows = np.full((len(heavy.sites), len(COUNTS)), 0.001)
    rows[:, 0] = 0.996
    rows[k] = [0.005, 0.001, 0.992, 0.001, 0.001]
    placed = _placeable(rows, heavy, bonds, COUNTS)
    assert placed[k].argmax() == 1
    assert placed[k, 1] == pytest.approx(0.995, abs=1e-3)
    assert placed[k, 2:].sum() == 0


def test_the_benzylidene_h_rides_where_it_was_published(shared_data):
    """COD 2224874's H41 is a SHELXL AFIX 43 H with Ru as C41's second neighbour (calc R,
    0.95 Å at 100 K, on the outer bisector of Ru–C41–C42): riding places the CH the rule reads
    there, not 'cannot place' (no HFIX for a CH with one non-metal neighbour)."""
    model = read_cif(CORPUS / "codtools_2224874.cif").structure
    heavy, _, _, labels = _published("codtools_2224874")
    k = labels["C41"]
    plan = add_riding_hydrogens(heavy, {k: 1})
    assert plan.codes[k] == 43
    (h,) = [plan.structure.sites[j] for j in plan.groups[k]]
    (published,) = [s for s in model.sites if s.label == "H41"]
    placed = np.asarray(plan.structure.cartesian(h.frac))
    assert np.linalg.norm(placed - np.asarray(model.cartesian(published.frac))) < 0.01


@pytest.mark.parametrize(
    "name, label",
    [
        ("sfarchiv2_2004881", "C(21)"),  # Mo–CH2–C, 2.245 Å, 115°: an alkyl
        ("codtools_converted_new7000001", "C1"),  # Re–CH2–P, 124°: not a C–C
        ("codtools_b002906h-problems-with-merged-biblio_10", "C16"),  # η-bound Rh···C, 67°
    ],
)
def test_an_alkyl_on_a_metal_keeps_its_two_h(shared_data, name, label):
    """A CH2 on a metal (published with two H) keeps its tetrahedral M–C–X angle: not read."""
    heavy, bonds, published, labels = _published(name)
    k = labels[label]
    assert published[k] == 2
    assert not metal_sp2_carbon(heavy, heavy.sites[k], bonds[k])


def test_the_benchmark_reads_the_benzylidene_alone(shared_data):
    """benchmarks/metal_sp2_carbon.py finds the sites the rule reads: COD 2224874's C41 alone."""
    script = benchmark_script("metal_sp2_carbon")
    heavy, _, _, labels = _published("codtools_2224874")
    assert script.read_sites(heavy) == [labels["C41"]]


def test_the_benchmark_finds_an_alkylidene_and_its_h():
    """benchmarks/metal_sp2_carbon.py's molecule scan (no box): a Ru=CH–C (Ru–C 1.83 Å, Ru–C–C
    136°, as Grubbs's benzylidene) is found with its angle and its one H; at Ru–C 2.20 Å (under
    the single bond by less than METAL_C_SHORTENING: Ru 1.46 + C 0.73 Å) it is not."""
    script = benchmark_script("metal_sp2_carbon")
    angle = np.radians(136.0)
    carbene = np.array([1.83, 0.0, 0.0])
    xyz = np.array(
        [
            [0.0, 0.0, 0.0],
            carbene,
            carbene + 1.47 * np.array([-np.cos(angle), np.sin(angle), 0.0]),
            carbene + 1.08 * np.array([-np.cos(angle), -np.sin(angle), 0.0]),
        ]
    )
    (found,) = script.metal_carbons(["Ru", "C", "C", "H"], xyz)
    assert found[0] == pytest.approx(136.0) and found[1] == 1
    longer = xyz + np.array([2.20 - 1.83, 0.0, 0.0]) * (np.arange(4) > 0)[:, None]
    assert script.metal_carbons(["Ru", "C", "C", "H"], longer) == []
