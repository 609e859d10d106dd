"""export: formats, model.json, labels, embedded metadata, and the parity check failing when it must."""
import hashlib
import json

import pytest
from click.testing import CliRunner

from fmnist_edge import runtime
from fmnist_edge.cli import cli
from fmnist_edge.exporting import FORMATS, export
from fmnist_edge.exporting import formats as formats_module
from fmnist_edge.exporting.metadata import read_associated_files, read_metadata

pytestmark = pytest.mark.slow
FLOAT_FORMATS = ["tflite-fp32", "tflite-fp16", "onnx", "saved-model"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from fmnist_edge.training import train

    out = tmp_path_factory.mktemp("exp") / "run"
    train("mlp", out, epochs=1, limit=3000, progress="none")
    return export(out, FLOAT_FORMATS + ["tflite-dynamic"])


def test_float_formats_pass_their_checks_and_are_recorded(exported, fashion_mnist):
    record = json.loads((exported.path / "model.json").read_text())
    assert record == exported.record
    assert set(record["formats"]) == set(FLOAT_FORMATS + ["tflite-dynamic"])
    assert (exported.path / "labels.txt").read_text().splitlines() == list(fashion_mnist.class_names)
    assert record["input"]["shape"] == [-1, 28, 28, 1]
    for name, entry in record["formats"].items():
        path = exported.path / entry["file"]
        assert entry["check"]["passed"], (name, entry["check"])
        if not path.is_dir():
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert entry["size_bytes"] == path.stat().st_size
            deployed = runtime.load_model(path)
            accuracy = float((deployed.predict(fashion_mnist.x_test).argmax(1) == fashion_mnist.y_test).mean())
            assert entry["accuracy"] == accuracy
    assert record["formats"]["tflite-fp32"]["check"]["max_abs_diff"] <= 1e-4


def test_tflite_files_carry_readable_metadata_and_labels(exported, fashion_mnist):
    data = (exported.path / FORMATS["tflite-fp32"].file_name).read_bytes()
    meta = read_metadata(data)
    assert meta["name"] == "fmnist-edge mlp (fp32)" and meta["license"] == "Apache-2.0"
    assert meta["input"]["color_space"] == "GRAYSCALE" and meta["input"]["std"] == [255.0]
    labels = read_associated_files(data)["labels.txt"].decode().splitlines()
    assert labels == list(fashion_mnist.class_names)


def test_a_file_that_differs_from_its_source_fails_with_exit_3(exported, monkeypatch):
    monkeypatch.setattr(formats_module, "FLOAT_ATOL", 0.0)  # no float file can match its source exactly
    result = CliRunner().invoke(cli, ["export", str(exported.path.parent), "--format", "tflite-fp32", "--force"])
    assert result.exit_code == 3, result.output
    assert "export check failed: tflite-fp32: max |diff|" in result.output and "vs 0e+00" in result.output
    record = json.loads((exported.path / "model.json").read_text())
    assert record["formats"]["tflite-fp32"]["check"]["passed"] is False


def test_existing_files_and_bad_formats_are_refused(exported):
    result = CliRunner().invoke(cli, ["export", str(exported.path.parent), "--format", "onnx"])
    assert result.exit_code == 2 and "model.onnx: already exists; pass --force" in result.output
    result = CliRunner().invoke(cli, ["export", str(exported.path.parent), "--format", "coreml"])
    assert result.exit_code == 2 and "unknown format 'coreml'" in result.output
