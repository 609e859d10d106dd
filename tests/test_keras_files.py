"""Model files from a run directory never run code: the safe loader refuses what we never write."""
import json
import shutil
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge import _tf
from fmnist_edge.cli import cli
from fmnist_edge.errors import RunDirError
from fmnist_edge.artifacts.keras_files import load_keras_model


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
    with pytest.raises(RunDirError, match="layer 'd' has class 'os.system', not one of Keras' own classes"):
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


# --- files made to pass one check and load as something else ---------------------------------------------

def _zip_and_hdf5(tmp_path, marker):
    """A file that is both a zip (a harmless config.json at offset 0, its central directory at the end) and
    an HDF5 model with a Lambda at offset 4096, in the HDF5 user block: a check that sees "PK" inspects the
    zip, while tf_keras, going by the .h5 name, loads the HDF5 model."""
    import io
    import struct

    import h5py

    keras = _tf.keras()
    harmless = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(keras.saving.serialize_keras_object(harmless)))
    packed = buffer.getvalue()
    end_record = packed.rindex(b"PK\x05\x06")
    directory_size, directory_offset = struct.unpack("<II", packed[end_record + 12:end_record + 20])
    local_part, directory = packed[:directory_offset], packed[directory_offset:]
    assert len(local_part) < 4096

    payload = tmp_path / "payload.h5"
    _code_model(marker).save(payload, save_format="h5")
    marker.unlink(missing_ok=True)
    polyglot = tmp_path / "model.h5"
    with h5py.File(polyglot, "w", userblock_size=4096) as out, h5py.File(payload, "r") as src:
        for key, value in src.attrs.items():
            out.attrs[key] = value
        for name in src:
            src.copy(name, out)
    data = bytearray(polyglot.read_bytes())
    data[:len(local_part)] = local_part  # the user block is the HDF5 file's own free space
    moved = bytearray(directory)
    moved[end_record - directory_offset + 16:end_record - directory_offset + 20] = struct.pack("<I", len(data))
    polyglot.write_bytes(bytes(data + moved))
    assert polyglot.read_bytes()[:2] == b"PK" and zipfile.is_zipfile(polyglot) and h5py.is_hdf5(str(polyglot))
    with zipfile.ZipFile(polyglot) as archive:
        assert "Dense" in archive.read("config.json").decode()
    return polyglot


def test_the_polyglot_threat_is_real_keras_alone_runs_its_code(tmp_path):
    marker = tmp_path / "marker.txt"
    polyglot = _zip_and_hdf5(tmp_path, marker)
    _tf.keras().models.load_model(polyglot, compile=False)
    assert marker.read_text() == "ran"


def test_a_file_that_is_both_zip_and_hdf5_is_refused_before_any_code_runs(tmp_path):
    marker = tmp_path / "marker.txt"
    polyglot = _zip_and_hdf5(tmp_path, marker)
    with pytest.raises(RunDirError, match="refused: the file is both a zip archive and an HDF5 file"):
        load_keras_model(polyglot, quantized=True)
    assert not marker.exists()


def test_a_keras_archive_under_another_name_is_refused(tmp_path):
    keras = _tf.keras()
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(tmp_path / "m.keras")
    (tmp_path / "m.keras").rename(tmp_path / "model.h5")
    with pytest.raises(RunDirError, match="a Keras archive \\(zip\\) must be named .keras"):
        load_keras_model(tmp_path / "model.h5")


def _rewrite_zip_config(path, edit):
    """Rewrite a .keras archive's config.json through `edit(config)`, keeping its other members."""
    import json

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_a_top_level_module_is_never_imported(tmp_path, capfd):
    keras = _tf.keras()
    path = tmp_path / "model.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(path)
    _rewrite_zip_config(path, lambda config: config.update(module="this"))
    with pytest.raises(RunDirError, match="names module 'this', which loading would import"):
        load_keras_model(path)
    assert "Beautiful is better than ugly" not in capfd.readouterr().out  # `import this` prints the Zen


def test_the_threat_of_a_top_level_module_is_real(tmp_path, capfd):
    keras = _tf.keras()
    path = tmp_path / "model.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(path)
    _rewrite_zip_config(path, lambda config: config.update(module="this"))
    with pytest.raises(Exception):
        keras.models.load_model(path, compile=False, safe_mode=True)
    assert "Beautiful is better than ugly" in capfd.readouterr().out


def test_a_registered_name_outside_ours_is_refused(tmp_path):
    keras = _tf.keras()
    path = tmp_path / "model.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(path)
    _rewrite_zip_config(path, lambda config: config.update(registered_name="evil>Functional"))
    with pytest.raises(RunDirError, match="registered name 'evil>Functional'"):
        load_keras_model(path)


def _bidirectional_with_lambda_backward(tmp_path, marker):
    keras = _tf.keras()
    inputs = keras.Input((5, 3))
    layer = keras.layers.Bidirectional(keras.layers.LSTM(2), backward_layer=keras.layers.LSTM(2, go_backwards=True),
                                       name="bi")
    model = keras.Model(inputs, layer(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    target = str(marker)
    lambda_config = keras.layers.serialize(
        keras.layers.Lambda(lambda t: (open(target, "w").write("ran"), t)[1], name="payload"))

    def hide_in_backward(config):
        for entry in config["config"]["layers"]:
            if entry["class_name"] == "Bidirectional":
                entry["config"]["backward_layer"] = lambda_config

    _rewrite_zip_config(path, hide_in_backward)
    return path


def test_a_lambda_nested_under_any_key_is_refused(tmp_path):
    marker = tmp_path / "marker.txt"
    path = _bidirectional_with_lambda_backward(tmp_path, marker)
    with pytest.raises(RunDirError, match="refused: layer 'payload' is a Lambda, which holds code"):
        load_keras_model(path)
    assert not marker.exists()


def test_every_shipped_model_file_passes_the_check():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "shipped"
    files = sorted(root.glob("*/model.keras")) + sorted(root.glob("*/optimized/*/model.h5"))
    assert len(files) >= 10
    for path in files:
        load_keras_model(path, quantized=path.suffix == ".h5")
