"""Model files from a run directory never run code: the safe loader refuses what we never write."""
import shutil
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge import _tf
from fmnist_edge.cli import cli
from fmnist_edge.errors import RunDirError
from fmnist_edge.keras_files import load_keras_model


def _code_model(marker):
    """A model whose Lambda layer writes `marker` whenever Keras builds it: code hidden in a model file."""
    keras = _tf.keras()
    path = str(marker)
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Lambda(lambda t: (open(path, "w").write("ran"), t)[1], name="payload")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture()
def hdf5_named_keras(tmp_path):
    """An HDF5 file named model.keras: tf_keras falls back to its legacy loader, which ignores safe_mode."""
    marker = tmp_path / "marker.txt"
    path = tmp_path / "model.keras"
    _code_model(marker).save(path, save_format="h5")
    marker.unlink(missing_ok=True)
    return path, marker


def test_the_threat_is_real_keras_alone_runs_the_code(hdf5_named_keras):
    path, marker = hdf5_named_keras
    _tf.keras().models.load_model(path, compile=False)
    assert marker.read_text() == "ran"  # what the safe loader exists to prevent


def test_the_safe_loader_refuses_it_before_any_code_runs(hdf5_named_keras):
    path, marker = hdf5_named_keras
    with pytest.raises(RunDirError, match=r"model.keras: refused: layer 'payload' is a Lambda, which holds code"):
        load_keras_model(path)
    assert not marker.exists()


def test_a_lambda_in_a_keras_zip_is_refused_too(tmp_path):
    marker = tmp_path / "marker.txt"
    _code_model(marker).save(tmp_path / "model.keras")
    marker.unlink(missing_ok=True)
    with pytest.raises(RunDirError, match="refused: layer 'payload' is a Lambda"):
        load_keras_model(tmp_path / "model.keras")
    assert not marker.exists()


def test_a_class_outside_keras_and_tfmot_is_refused(tmp_path):
    keras = _tf.keras()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
    model.save(tmp_path / "m.h5")
    import h5py

    with h5py.File(tmp_path / "m.h5", "r+") as handle:
        config = handle.attrs["model_config"]
        config = config.decode() if isinstance(config, bytes) else config
        handle.attrs["model_config"] = config.replace('"Dense"', '"os.system"')
    with pytest.raises(RunDirError, match="layer 'd' has class 'os.system', not one of Keras' own layers"):
        load_keras_model(tmp_path / "m.h5")


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:200]), "damaged Keras archive"),
    (lambda p: p.write_bytes(b"garbage"), "not a Keras model file"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("x.txt", "x"), "a zip without config.json"),
])
def test_damaged_files_give_one_line(tmp_path, damage, message):
    keras = _tf.keras()
    path = tmp_path / "model.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(path)
    damage(path)
    with pytest.raises(RunDirError, match=message) as err:
        load_keras_model(path)
    assert "\n" not in str(err.value)


def test_our_own_files_load(tmp_path):
    from fmnist_edge.models import build_model

    model = build_model("edge-s")
    model.save(tmp_path / "model.keras")
    loaded = load_keras_model(tmp_path / "model.keras")
    x = np.random.default_rng(0).random((2, 28, 28, 1), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("command", [["export", "{run}", "--format", "onnx"], ["quantize", "{run}", "--method", "ptq-dynamic"],
                                     ["bench", "{run}", "--runs", "5"]])
def test_no_command_runs_code_from_a_shared_run_directory(exported, tmp_path, command, hdf5_named_keras):
    run = tmp_path / "shared-run"
    shutil.copytree(exported.path.parent, run)
    payload, marker = hdf5_named_keras
    shutil.copy(payload, run / "model.keras")
    result = CliRunner().invoke(cli, [part.format(run=run) for part in command])
    assert result.exit_code == 2, result.output
    assert "refused: layer 'payload' is a Lambda" in result.output and "Traceback" not in result.output
    assert not marker.exists()
