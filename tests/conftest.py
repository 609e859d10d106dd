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


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """An mlp trained for a moment on 3,000 real images, exported to every format (checks included).

    Shared by the export, predict and deploy-install tests; they must not modify its files.
    """
    from fmnist_edge.stages.export import export
    from fmnist_edge.stages.train import train

    out = tmp_path_factory.mktemp("exported") / "run"
    train("mlp", out, epochs=1, limit=3000, progress="none")
    return export(out, "all")


@pytest.fixture(scope="session")
def closet_dir(fashion_mnist, tmp_path_factory):
    """A small closet-price dataset (600 training, 100 test canvases) on disk: a second task for the tests
    that must refuse mixing tasks."""
    from fmnist_edge.data import make_closet, save_closet

    out = tmp_path_factory.mktemp("closet")
    save_closet(make_closet(fashion_mnist, n_train=600, n_test=100, seed=0), out)
    return out


@pytest.fixture(scope="session")
def finished_mlp(tmp_path_factory):
    """A complete mlp run (1 epoch on 2,000 images) that other runs learn from or start from. Read-only."""
    from click.testing import CliRunner

    from fmnist_edge.cli import cli

    out = tmp_path_factory.mktemp("finished") / "mlp"
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "2000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
