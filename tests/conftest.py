"""Shared fixtures. The real Fashion-MNIST (Debian package dataset-fashion-mnist) is loaded once."""
from __future__ import annotations

import pytest

from fmnist_edge.data import fashion as fashion_module
from fmnist_edge.data import load_fashion_mnist
from fmnist_edge.errors import DataError


@pytest.fixture(scope="session")
def fashion_mnist():
    """The full real Fashion-MNIST from the Debian package. Fails (never skips) if it is missing: CI installs it."""
    try:
        return load_fashion_mnist(fashion_module.DEBIAN_DATA_DIR)
    except DataError as exc:
        pytest.fail(f"real Fashion-MNIST is required: sudo apt-get install dataset-fashion-mnist ({exc})")
