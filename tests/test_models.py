"""The model zoo: every registered model builds, counts, predicts, quantizes and converts.

Tests iterate over the registry, so a newly registered model is covered automatically
(and fails until its exact parameter count is added to PARAMS below).
"""
from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fmnist_edge.errors import FmnistEdgeError
from fmnist_edge.models import MODELS, ModelInfo, build_model, get_model_info, list_models

NAMES = sorted(MODELS)

# Exact trainable + non-trainable parameter counts at each model's default input shape
# and class count. Changing an architecture means changing its line here, on purpose.
PARAMS = {
    "alexnet-s": 889_354,
    "cnn-bn": 3_477_578,  # the paper's count
    "edge-s": 55_754,
    "mlp": 567_434,
    "mresnet": 372_137,
    "resnet50": 23_601_930,
    "vgg198k": 198_370,  # the paper reports 198,351
    "vgg-a": 228_986,
    "vgg-t": 36_154,
    "res-t": 35_098,
    "res-s": 176_090,  # the CIFAR ResNet-14 of the table
    "res-s-wide": 223_770,
    "res-m": 469_082,  # ResNet-32, as measured in the table
    "res-closet": 156_761,
}
# The published or required envelope each exact count must also sit in.
PARAM_BOUNDS = {
    "cnn-bn": (3_477_578, 3_477_578),
    "edge-s": (0, 59_999),
    "mresnet": (360_000, 380_000),
    "resnet50": (23_400_000, 23_700_000),
    "vgg198k": (198_351 * 0.99, 198_351 * 1.01),
    "vgg-a": (0, 240_000),  # its int8 file must stay under 250 KB
    "vgg-t": (0, 40_000),  # its int8 file must stay under 50 KB
    "res-t": (0, 40_000),  # its int8 file must stay under 50 KB
    "res-s": (0, 225_000),  # under 250 KB
    "res-s-wide": (0, 225_000),  # under 250 KB: 247,352 B without metadata
    "res-m": (0, 950_000),  # under 1 MB
    "res-closet": (0, 380_000),  # the closet model's int8 file must stay under 400 KB
}


def _keras():
    from fmnist_edge import _tf

    return _tf.keras()


@functools.lru_cache(maxsize=None)
def _default_model(name: str):
    """One build per model at its defaults, shared by the tests that only read it."""
    return build_model(name)


def _images(shape, batch: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, *shape), dtype=np.float32)


def _assert_probabilities(probs: np.ndarray, batch: int, classes: int, atol: float = 1e-4) -> None:
    assert probs.shape == (batch, classes)
    assert probs.dtype == np.float32
    assert np.all(np.isfinite(probs)) and np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=atol)


def test_registry_holds_the_zoo():
    assert {"mresnet", "resnet50", "vgg198k", "cnn-bn", "mlp", "alexnet-s", "edge-s"} <= set(MODELS)
    assert [m.name for m in list_models()] == NAMES
    for info in list_models():
        assert isinstance(info, ModelInfo)
        assert info.source.strip() and info.description.strip()
        assert len(info.default_input_shape) == 3 and info.default_num_classes >= 2
    assert MODELS["mresnet"].default_input_shape == (64, 128, 1) and MODELS["mresnet"].default_num_classes == 9
    assert MODELS["vgg198k"].default_input_shape == (28, 28, 1) and MODELS["vgg198k"].default_num_classes == 10


def test_importing_the_zoo_does_not_import_tensorflow():
    code = "import sys, fmnist_edge.models; assert 'tensorflow' not in sys.modules and 'tf_keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", NAMES)
def test_builds_at_its_defaults_with_the_exact_parameter_count(name):
    assert name in PARAMS, f"add the exact parameter count of new model {name!r} to PARAMS"
    info = MODELS[name]
    model = _default_model(name)
    assert model.name == info.keras_name == name.replace("-", "_")
    assert tuple(model.input_shape) == (None, *info.default_input_shape)
    assert model.count_params() == PARAMS[name]
    low, high = PARAM_BOUNDS.get(name, (1, float("inf")))
    assert low <= model.count_params() <= high


@pytest.mark.parametrize("name", NAMES)
def test_is_flat_and_ends_in_a_float32_softmax(name):
    keras = _keras()
    model = _default_model(name)
    nested = [layer.name for layer in model.layers if isinstance(layer, keras.Model)]
    assert nested == [], "tfmot quantize_model refuses nested models"
    last = model.layers[-1]
    assert isinstance(last, keras.layers.Activation) and last.name == "probs"
    assert last.get_config()["activation"] == "softmax" and last.dtype == "float32"


@pytest.mark.parametrize("name", NAMES)
def test_predicts_probabilities(name):
    info = MODELS[name]
    model = _default_model(name)
    probs = model(_images(info.default_input_shape, batch=3), training=False).numpy()
    _assert_probabilities(probs, 3, info.default_num_classes)


@pytest.mark.parametrize("name", NAMES)
def test_builds_at_a_non_default_shape_and_class_count(name):
    info = MODELS[name]
    shape = (28, 28, 1) if info.default_input_shape[:2] != (28, 28) else (64, 128, 1)
    model = build_model(name, shape, 7)
    assert tuple(model.input_shape) == (None, *shape)
    _assert_probabilities(model(_images(shape, batch=1), training=False).numpy(), 1, 7)


@pytest.mark.parametrize("name", NAMES)
def test_builds_and_predicts_at_its_minimum_input(name):
    min_h, min_w = MODELS[name].min_input_size
    shape = (min_h, min_w, 1)
    _assert_probabilities(build_model(name, shape, 3)(_images(shape, batch=1)).numpy(), 1, 3)


@pytest.mark.parametrize("name", [n for n in NAMES if MODELS[n].min_input_size != (1, 1)])
def test_refuses_inputs_below_its_minimum(name):
    min_h, min_w = MODELS[name].min_input_size
    for shape in [(min_h - 1, min_w, 1), (min_h, min_w - 1, 1)]:
        if 0 in shape:
            continue
        with pytest.raises(FmnistEdgeError, match=rf"at least {min_h}x{min_w} pixels .*got {shape[0]}x{shape[1]}$"):
            build_model(name, shape)


@pytest.mark.parametrize("name", NAMES)
def test_trains_under_mixed_bfloat16(name):
    keras = _keras()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_model(name)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    info = MODELS[name]
    first_weighted = next(layer for layer in model.layers if layer.weights)
    assert first_weighted.compute_dtype == "bfloat16" and first_weighted.dtype == "float32"
    assert model.output.dtype == "float32"
    probs = model(_images(info.default_input_shape, batch=2), training=False).numpy()
    _assert_probabilities(probs, 2, info.default_num_classes, atol=2e-2)  # bf16 has 8 mantissa bits


@pytest.mark.parametrize("name", NAMES)
def test_saves_and_loads_as_a_keras_file_without_custom_objects(name, tmp_path):
    keras = _keras()
    info = MODELS[name]
    model = _default_model(name)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    x = _images(info.default_input_shape, batch=2)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)


# The conversion below costs a minute for the two largest models and proves nothing new for them: res-m is
# res-s's builder with five blocks a stage instead of two, res-s-wide with 48 channels at 14 px instead of 32
# (the same ops; res-s, res-t and res-closet are converted here), and resnet50 is keras.applications' network, whose shipped QAT file is read instead.
CONVERTED_BY_A_SIBLING = {"res-m": "res-s", "res-s-wide": "res-s", "resnet50": "shipped/resnet50-paper/export/model_int8.tflite"}


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in NAMES if name not in CONVERTED_BY_A_SIBLING])
def test_quantization_aware_model_converts_to_full_int8_tflite(name):
    """quantize_model (default 8-bit scheme) -> builtin-only TFLite with int8 I/O -> LiteRT.

    The converted model must hold no float tensor at all (every op runs in int8) and
    agree with the quantized Keras model to within a few output quantization steps.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from fmnist_edge import _tf

    tf, tfmot = _tf.tf(), _tf.tfmot()
    info = MODELS[name]
    quantized = tfmot.quantization.keras.quantize_model(_default_model(name))
    x = _images(info.default_input_shape, batch=1, seed=1)
    expected = quantized(x, training=False).numpy()
    _assert_probabilities(expected, 1, info.default_num_classes)

    converter = tf.lite.TFLiteConverter.from_keras_model(quantized)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no SELECT_TF_OPS
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    flatbuffer = converter.convert()

    interpreter = Interpreter(model_content=flatbuffer,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert not {op for op in ops if op.startswith("Flex") or op == "CUSTOM"}, ops
    floats = [t["name"] for t in interpreter.get_tensor_details() if t["dtype"] == np.float32]
    assert floats == [], f"not fully int8: {floats[:5]}"

    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    scale, zero = inp["quantization"]
    interpreter.set_tensor(inp["index"], np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8))
    interpreter.invoke()
    scale, zero = out["quantization"]
    probs = (interpreter.get_tensor(out["index"]).astype(np.float32) - zero) * scale
    _assert_probabilities(probs, 1, info.default_num_classes, atol=info.default_num_classes * scale)
    np.testing.assert_allclose(probs, expected, atol=4 * scale)


def test_unknown_name_lists_the_choices():
    with pytest.raises(FmnistEdgeError) as err:
        build_model("resnet18")
    assert str(err.value) == f"unknown model 'resnet18'; choose from: {', '.join(NAMES)}"
    assert "vgg198k" in str(err.value) and "\n" not in str(err.value)


def test_keras_style_names_are_accepted():
    assert get_model_info("cnn_bn") is MODELS["cnn-bn"]
    assert get_model_info(" Edge-S ") is MODELS["edge-s"]


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1, 1), (28, 0, 1), (28.0, 28, 1), "28x28"])
def test_malformed_input_shapes_are_refused(shape):
    with pytest.raises(FmnistEdgeError, match="input shape must be three positive integers"):
        build_model("mlp", shape)


@pytest.mark.parametrize("classes", [0, 1, 2.5, True, "10"])
def test_bad_class_counts_are_refused(classes):
    with pytest.raises(FmnistEdgeError, match="num_classes must be an integer >= 2"):
        build_model("mlp", None, classes)


def test_the_aligned_vgg_has_every_width_a_multiple_of_16():
    """oneDNN's bf16 convolutions take channels in blocks of 16: widths off that grid halve the speed."""
    widths = [layer.filters for layer in _default_model("vgg-a").layers if hasattr(layer, "filters")]
    assert widths and all(w % 16 == 0 for w in widths)


@pytest.mark.parametrize("name", ["res-s", "edge-s", "vgg-a", "mresnet"])
def test_the_keras_mac_count_equals_the_exported_files(name):
    """`fmnist-edge models`' MACs (counted on the Keras graph) and bench's (read from the .tflite) agree."""
    from fmnist_edge.formats.conversion import to_tflite
    from fmnist_edge.formats.inspection import tflite_macs
    from fmnist_edge.models.registry import count_macs

    model = build_model(name)
    assert count_macs(model) == tflite_macs(to_tflite(model, "fp32"))


def test_the_closet_model_fits_the_closet_budget_of_100M_macs():
    from fmnist_edge.models.registry import count_macs

    assert count_macs(_default_model("res-closet")) == 97_657_984


def test_models_command_times_each_architectures_int8_file():
    """`fmnist-edge models NAME --latency`: the architecture converted to int8 (noise-calibrated) and timed in
    LiteRT; its file size is the converter's, its p50 a positive time; an unknown name lists the names."""
    import json

    from click.testing import CliRunner

    from fmnist_edge.cli import cli

    result = CliRunner().invoke(cli, ["models", "res-t", "--latency", "--json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output[result.output.index("["):])
    assert row["name"] == "res-t" and row["params"] == PARAMS["res-t"]
    assert 40_000 < row["int8_bytes"] < 50_000
    assert 0 < row["int8_p50_ms"] <= row["int8_p90_ms"]
    unknown = CliRunner().invoke(cli, ["models", "nope"])
    assert unknown.exit_code != 0 and "unknown model 'nope'; choose from:" in unknown.output


def test_the_models_left_out_of_the_conversion_are_covered():
    from ai_edge_litert.interpreter import Interpreter

    def layer_kinds(name):
        return {type(layer).__name__ for layer in _default_model(name).layers}

    for name in ("res-m", "res-s-wide"):  # nothing res-s's test misses
        assert layer_kinds(name) == layer_kinds(CONVERTED_BY_A_SIBLING[name]), name
    root = Path(__file__).resolve().parents[1]
    interpreter = Interpreter(model_path=str(root / CONVERTED_BY_A_SIBLING["resnet50"]))
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert not {op for op in ops if op.startswith("Flex") or op == "CUSTOM"}, ops
    assert [t["name"] for t in interpreter.get_tensor_details() if t["dtype"] == np.float32] == []
    assert {interpreter.get_input_details()[0]["dtype"], interpreter.get_output_details()[0]["dtype"]} == {np.uint8}
