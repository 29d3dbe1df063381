"""Shared test configuration: the `julia` marker skips (with the reason) where no Julia runtime is usable."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def pytest_collection_modifyitems(config, items):
    from neuroflow.julia import available

    ok, reason = available()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"needs a Julia runtime: {reason}")
    for item in items:
        if "julia" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout (notes and measured data); tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present beside the checkout")
    return SHARED
