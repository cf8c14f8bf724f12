"""Shared fixtures: the read-only real data beside the checkout."""
from pathlib import Path

import pytest

import crystalx_core  # noqa: F401  (fixes the cctbx-before-gemmi import order for every test)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BENCHMARK = SHARED / "benchmark"
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED
