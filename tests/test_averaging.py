"""Weight averaging (`train --average-last N`): the run's model is the mean of its last N epochs' weights
with batch normalisation measured again, when that validates at least as well as the best epoch; the
snapshots it averages are plain arrays, refused when damaged or foreign."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge import _tf
from fmnist_edge.cli import cli
from fmnist_edge.errors import RunDirError
from fmnist_edge.fitting.averaging import averaged_weights, reestimate_batch_norm, snapshot_path


def _write(folder, epoch, weights):
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(snapshot_path(folder, epoch), *weights)


def test_the_average_is_the_mean_of_the_window_and_nothing_else(tmp_path):
    like = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]
    for epoch, value in [(1, 100.0), (2, 1.0), (3, 2.0), (4, 6.0)]:
        _write(tmp_path, epoch, [np.full((2, 3), value, np.float32), np.full(3, -value, np.float32)])
    mean = averaged_weights(tmp_path, range(2, 5), like)
    np.testing.assert_array_equal(mean[0], np.full((2, 3), 3.0, np.float32))
    np.testing.assert_array_equal(mean[1], np.full(3, -3.0, np.float32))
    assert [m.dtype for m in mean] == [np.float32, np.float32]


@pytest.mark.parametrize("case", ["missing", "shapes", "pickled", "not npz"])
def test_a_damaged_or_foreign_snapshot_is_refused_with_one_line(tmp_path, case):
    like = [np.zeros((2, 3), np.float32)]
    _write(tmp_path, 1, like)
    path = snapshot_path(tmp_path, 2)
    if case == "shapes":
        _write(tmp_path, 2, [np.zeros((3, 2), np.float32)])
    elif case == "pickled":  # an object array would run code when unpickled: never loaded
        np.savez(path, np.array([{"a": 1}], dtype=object))
    elif case == "not npz":
        path.write_bytes(b"#!/bin/sh\necho hello\n")
    with pytest.raises(RunDirError) as caught:
        averaged_weights(tmp_path, range(1, 3), like)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    expected = {"missing": "missing: the weights of epoch 2 are needed for the average",
                "shapes": "its 1 arrays do not match the model's 1 weights",
                "pickled": "not a weights file this run wrote", "not npz": "not a weights file this run wrote"}
    assert expected[case] in message


def test_batch_norm_statistics_are_measured_again_from_the_batches():
    keras, tf = _tf.keras(), _tf.tf()
    inputs = keras.Input((4,))
    net = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
    rng = np.random.default_rng(0)
    data = rng.normal(loc=[1.0, -2.0, 3.0, 0.5], scale=[1.0, 2.0, 0.5, 3.0], size=(64_000, 4)).astype(np.float32)
    batches = tf.data.Dataset.from_tensor_slices((data, np.zeros(len(data)))).batch(128)
    assert reestimate_batch_norm(net, batches) == 500
    mean, variance = net.get_layer("bn").moving_mean.numpy(), net.get_layer("bn").moving_variance.numpy()
    # momentum 0.99 over 500 batches: the start (0 and 1) weighs 0.99**500 = 0.7%
    np.testing.assert_allclose(mean, data.mean(axis=0), atol=0.1)
    np.testing.assert_allclose(variance, data.var(axis=0), rtol=0.1)
    assert all(np.array_equal(w, s) for w, s in zip(net.get_layer("bn").trainable_weights,
                                                      [np.ones(4), np.zeros(4)]))  # gamma and beta untouched


@pytest.mark.slow
def test_an_averaged_run_records_the_average_and_keeps_it_only_when_it_validates_as_well(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--model", "res-t", "--epochs", "3", "--average-last", "2", "--limit",
                                      "600", "--optimizer", "sgdm", "--lr", "0.05", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    average, best = record["average"], record["best"]
    assert average["epochs"] == [2, 3]
    assert sorted(p.name for p in (out / "checkpoints" / "average").iterdir()) == ["epoch_002.npz", "epoch_003.npz"]
    epoch_best = max(row["val_accuracy"] for row in record["history"])
    assert average["best_epoch_val_accuracy"] == epoch_best
    assert average["kept"] == (average["val_accuracy"] >= epoch_best)
    from fmnist_edge.artifacts.keras_files import load_keras_model
    kernel = load_keras_model(out / "model.keras").get_layer("stem_conv").get_weights()[0]
    snapshots = [np.load(snapshot_path(out / "checkpoints" / "average", e)) for e in (2, 3)]
    names = [w.name for w in load_keras_model(out / "model.keras").weights]
    index = next(i for i, name in enumerate(names) if name.startswith("stem_conv"))
    mean = (snapshots[0][f"arr_{index}"] + snapshots[1][f"arr_{index}"]) / 2
    if average["kept"]:
        assert best == {"epoch": 3, "val_accuracy": average["val_accuracy"], "monitor": "val_accuracy",
                        "averaged": [2, 3]}
        np.testing.assert_allclose(kernel, mean, rtol=1e-6)
    else:
        assert best["val_accuracy"] == epoch_best and "averaged" not in best
        assert not np.allclose(kernel, mean)


@pytest.mark.parametrize("args, message", [
    (["--epochs", "3", "--average-last", "1"], "--average-last averages the last N epochs: N must be 2 to --epochs (3), got 1"),
    (["--epochs", "3", "--average-last", "4"], "--average-last averages the last N epochs: N must be 2 to --epochs (3), got 4"),
    (["--epochs", "3", "--average-last", "2", "--early-stopping", "2"],
     "--average-last averages the run's last epochs, which --early-stopping may never reach: give one"),
])
def test_bad_averaging_settings_get_one_line_and_no_run_directory(tmp_path, args, message):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--model", "res-t", *args, "--limit", "500", "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {message}"
    assert not out.exists()
