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


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
