"""The metal-complex subset that atoms.evaluate reports beside the whole split (issue 25)."""

from dataclasses import replace
from pathlib import Path

import pytest

from crystalx_core.assign import resolve_method
from crystalx_core.io.cif import read_cif
from crystalx_core.training.atoms import evaluate
from crystalx_core.training.atoms.evaluate import heavy_metrics, hydrogen_metrics, is_metal_complex

pytestmark = pytest.mark.skipif(
    resolve_method("auto") != "model", reason="no shipped models in onnx_models/"
)


def _small(corpus: Path, metal: bool, n: int) -> list:
    return [
        t
        for t in evaluate.test_structures(corpus, "val")
        if is_metal_complex(t) == metal and sum(s.element not in ("H", "D") for s in t.sites) <= 30
    ][:n]


def test_the_metal_subset_is_the_metal_structures_measured_alone(shared_data):
    corpus = Path(shared_data) / "corpus"
    metals, organics = _small(corpus, True, 2), _small(corpus, False, 2)
    assert len(metals) == 2 and len(organics) == 2
    mixed = heavy_metrics(organics + metals, 0.0, seeds=(7,))
    alone = heavy_metrics(metals, 0.0, seeds=(7,))
    subset = mixed["metal_complexes"]
    assert subset["structures"] == 2
    assert subset["atoms"] == alone["atoms"] < mixed["atoms"]
    assert subset["accuracy"] == pytest.approx(alone["accuracy"])
    assert subset["structures_fully_correct"] == pytest.approx(alone["structures_fully_correct"])
    assert heavy_metrics(organics, 0.0, seeds=(7,))["metal_complexes"]["accuracy"] is None

    h_mixed, h_alone = hydrogen_metrics(organics + metals), hydrogen_metrics(metals)
    assert h_mixed["metal_complexes"]["atoms"] == h_alone["atoms"]
    assert h_mixed["metal_complexes"]["accuracy"] == pytest.approx(h_alone["accuracy"])


def test_only_d_block_metals_make_a_metal_complex(shared_data):
    sucrose = read_cif(Path(shared_data) / "benchmark" / "FC_sucrose" / "model.cif").structure
    first, *rest = sucrose.sites
    assert not is_metal_complex(sucrose)
    assert not is_metal_complex(sucrose.with_sites([replace(first, element="Na"), *rest]))
    assert is_metal_complex(sucrose.with_sites([replace(first, element="Cu"), *rest]))
