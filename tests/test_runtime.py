"""runtime: the uint8-in, scores-out contract for .tflite files, and its errors."""
import numpy as np
import pytest

from fmnist_edge import _tf
from fmnist_edge.formats import runtime
from fmnist_edge.formats.conversion import to_onnx, to_tflite
from fmnist_edge.errors import FmnistEdgeError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    keras = _tf.keras()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    folder = tmp_path_factory.mktemp("rt")
    images = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    (folder / "fp32.tflite").write_bytes(to_tflite(model, "fp32"))
    (folder / "int8.tflite").write_bytes(to_tflite(model, "int8", calibration_images=images))
    (folder / "model.onnx").write_bytes(to_onnx(model))
    return model, folder, images


@pytest.mark.parametrize("name", ["fp32.tflite", "model.onnx"])
def test_float_models_match_keras_on_any_batch_size(tiny, name):
    model, folder, images = tiny
    deployed = runtime.load_model(folder / name)
    expected = model.predict(images[..., None].astype(np.float32) / 255, verbose=0)
    for batch_size in (1, 7, 256):
        np.testing.assert_allclose(deployed.predict(images, batch_size=batch_size), expected, atol=1e-5)
    assert deployed.input_shape == (28, 28, 1) and deployed.input_dtype == np.float32


def test_int8_model_takes_raw_pixels_and_returns_dequantized_scores(tiny):
    model, folder, images = tiny
    deployed = runtime.load_model(folder / "int8.tflite")
    assert deployed.input_dtype == np.uint8
    scale, zero_point = deployed.input_quantization
    assert scale == pytest.approx(1 / 255) and zero_point == 0
    scores = deployed.predict(images[:, :, :, None])  # (N, H, W, 1) works as well as (N, H, W)
    assert scores.dtype == np.float32 and scores.shape == (40, 10)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=0.05)
    expected = model.predict(images[..., None].astype(np.float32) / 255, verbose=0)
    assert np.abs(scores - expected).max() < 0.02


@pytest.mark.parametrize("name", ["fp32.tflite", "model.onnx"])
@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 32, 32), np.uint8), "expects uint8 images shaped (N, 28, 28, 1), got uint8 (2, 32, 32, 1)"),
    (np.zeros((2, 28, 28), np.float32), "expects uint8 images shaped (N, 28, 28, 1), got float32"),
])
def test_wrong_images_are_refused(tiny, name, images, message):
    _, folder, _ = tiny
    with pytest.raises(FmnistEdgeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        runtime.load_model(folder / name).predict(images)


def test_bad_files_are_refused(tmp_path):
    with pytest.raises(FmnistEdgeError, match="no such model file"):
        runtime.load_model(tmp_path / "missing.tflite")
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(FmnistEdgeError, match="unsupported model format '.pt' \\(expected .tflite or .onnx\\)"):
        runtime.load_model(tmp_path / "model.pt")
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer at all")
    with pytest.raises(FmnistEdgeError, match="junk.tflite: not a loadable TFLite model"):
        runtime.load_model(tmp_path / "junk.tflite")
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf either")
    with pytest.raises(FmnistEdgeError, match="junk.onnx: not a loadable ONNX model"):
        runtime.load_model(tmp_path / "junk.onnx")


def test_runtime_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, fmnist_edge.formats.runtime, fmnist_edge.cli, onnxruntime; "
            "print('tensorflow' in sys.modules or 'tf_keras' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_the_one_scoring_rule():
    from fmnist_edge.contract import scores

    scored = scores(np.array([0, 1, 1, 2, 0]), np.array([0, 1, 2, 2, 1]), ["a", "b", "c"])
    assert scored["accuracy"] == 0.6
    assert scored["per_class_accuracy"] == {"a": 1.0, "b": 0.5, "c": 0.5}
    assert scored["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 1, 1]]


@pytest.mark.parametrize("path", ["shipped/res-s-swa/export/model_int8.tflite",
                                  "shipped/res-s-swa/export/model_fp32.tflite",
                                  "shipped/mresnet-paper/export/model_fp32.tflite"])
def test_scores_do_not_depend_on_the_thread_count(path):
    # check and the zoo test score on every core and time on one: that is sound only while the kernels
    # split the work by output tiles, never a sum, so the scores are bit-identical.
    from pathlib import Path

    file = Path(__file__).resolve().parents[1] / path
    one, two = runtime.load_model(file, num_threads=1), runtime.load_model(file, num_threads=2)
    images = np.random.default_rng(0).integers(0, 256, (64, *one.input_shape), dtype=np.uint8)
    np.testing.assert_array_equal(one.predict(images), two.predict(images))
