"""TFLite Model Metadata written without tflite-support: fields, labels zip, runtime, replacement."""
from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

from fmnist_edge import _tf
from fmnist_edge.data import FASHION_CLASSES
from fmnist_edge.formats.metadata import METADATA_NAME, ImageClassifierMetadata, add_metadata, read_associated_files, read_metadata

META = ImageClassifierMetadata(
    name="fmnist-tiny",
    description="A tiny Fashion-MNIST classifier built by the test suite.",
    version="0.1.0",
    author="fmnist-edge tests",
    license="Apache-2.0",
    labels=FASHION_CLASSES,
)
# Every field away from its default, including values float32 cannot hold exactly.
CUSTOM = ImageClassifierMetadata(
    name="fmnist-custom",
    description="Second metadata, written over the first.",
    version="2.0.0",
    author="someone else",
    license="MIT",
    labels=tuple(f"class {i}" for i in range(10)),
    input_name="pixels",
    output_name="scores",
    color_space="RGB",
    norm_mean=(0.1, 127.5, 3.3),
    norm_std=(0.3, 58.4, 1e-3),
    input_range=(-1.5, 2.5),
    output_range=(0.0, 255.0),
    labels_file="classes.txt",
    min_parser_version="1.2.0",
)


def f32(value: float) -> float:
    """What a float32 field reads back as: the shortest decimal that round-trips through float32."""
    return float(str(np.float32(value)))


def expected_dict(meta: ImageClassifierMetadata, io_type: str = "float32") -> dict:
    """read_metadata's answer; stats left as None follow the model's input/output type (float32 or uint8)."""
    if meta.input_range is not None:
        input_min, input_max = [meta.input_range[0]], [meta.input_range[1]]
    elif io_type == "uint8":
        input_min, input_max = [0.0], [255.0]
    else:
        pairs = list(zip(meta.norm_mean, meta.norm_std))
        input_min, input_max = [f32(-m / s) for m, s in pairs], [f32((255 - m) / s) for m, s in pairs]
    output_range = meta.output_range or ((0.0, 255.0) if io_type == "uint8" else (0.0, 1.0))
    return {
        "name": meta.name,
        "description": meta.description,
        "version": meta.version,
        "author": meta.author,
        "license": meta.license,
        "min_parser_version": meta.min_parser_version or "1.0.0",
        "input": {
            "name": meta.input_name,
            "description": "Input image to be classified.",
            "color_space": meta.color_space,
            "mean": list(meta.norm_mean),
            "std": list(meta.norm_std),
            "min": input_min,
            "max": input_max,
        },
        "output": {
            "name": meta.output_name,
            "description": "Probabilities of the labels respectively.",
            "min": [output_range[0]],
            "max": [output_range[1]],
            "associated_files": [
                {
                    "name": meta.labels_file,
                    "description": "Labels for categories that the model can recognize.",
                    "type": "TENSOR_AXIS_LABELS",
                }
            ],
        },
    }


def labels_bytes(meta: ImageClassifierMetadata) -> bytes:
    return "".join(label + "\n" for label in meta.labels).encode()


# --- models: one tiny CNN, converted float and full-int8 (uint8 in/out), built once ---


@pytest.fixture(scope="module")
def keras_model():
    keras = _tf.keras()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(4)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def float_tflite(keras_model) -> bytes:
    return _tf.tf().lite.TFLiteConverter.from_keras_model(keras_model).convert()


@pytest.fixture(scope="module")
def int8_tflite(keras_model) -> bytes:
    tf = _tf.tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    images = np.random.default_rng(0).random((16, 1, 28, 28, 1), dtype=np.float32)
    converter.representative_dataset = lambda: ([image] for image in images)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    with warnings.catch_warnings():  # TF's note that uint8 inputs came without quantization stats
        warnings.filterwarnings("ignore", "Statistics for quantized inputs", UserWarning)
        return converter.convert()


@pytest.fixture(params=["float", "int8"])
def model_bytes(request) -> bytes:
    return request.getfixturevalue(f"{request.param}_tflite")


def io_type(model: bytes) -> str:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=model).get_input_details()[0]["dtype"].__name__


def interpreter_outputs(model: bytes, inputs: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    interpreter.allocate_tensors()
    (input_detail,), (output_detail,) = interpreter.get_input_details(), interpreter.get_output_details()
    results = []
    for image in inputs:
        interpreter.set_tensor(input_detail["index"], image[None].astype(input_detail["dtype"]))
        interpreter.invoke()
        results.append(interpreter.get_tensor(output_detail["index"])[0].copy())
    return np.stack(results)


def tflite_schema():
    _tf.tf()
    from tensorflow.lite.python import schema_py_generated

    return schema_py_generated


def metadata_entries(model: bytes) -> dict[str, bytes]:
    """name -> buffer bytes of every entry in the model's metadata vector (names must be unique)."""
    schema = tflite_schema()
    flat = schema.Model.GetRootAs(model, 0)
    names = [flat.Metadata(i).Name().decode() for i in range(flat.MetadataLength())]
    assert len(names) == len(set(names)), names
    return {
        flat.Metadata(i).Name().decode(): flat.Buffers(flat.Metadata(i).Buffer()).DataAsNumpy().tobytes()
        for i in range(flat.MetadataLength())
    }


def plain(obj):
    """A flatbuffers object-API tree as nested dicts and lists, comparable with ==."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [plain(value) for value in obj]
    if hasattr(obj, "__dict__"):
        return {key: plain(value) for key, value in vars(obj).items()}
    return obj


# --- tests ---


@pytest.mark.slow
def test_read_metadata_returns_every_field_as_given(model_bytes):
    assert read_metadata(add_metadata(model_bytes, META)) == expected_dict(META, io_type(model_bytes))


@pytest.mark.slow
def test_read_metadata_returns_non_default_fields_as_given(float_tflite):
    assert read_metadata(add_metadata(float_tflite, CUSTOM)) == expected_dict(CUSTOM)


@pytest.mark.slow
def test_stats_follow_the_tensor_type_like_tflite_supports_writer(float_tflite, int8_tflite):
    assert io_type(float_tflite) == "float32" and io_type(int8_tflite) == "uint8"
    tagged = read_metadata(add_metadata(float_tflite, META))
    assert (tagged["input"]["min"], tagged["input"]["max"]) == ([0.0], [1.0])  # pixels / 255
    assert (tagged["output"]["min"], tagged["output"]["max"]) == ([0.0], [1.0])
    tagged = read_metadata(add_metadata(int8_tflite, META))
    assert (tagged["input"]["min"], tagged["input"]["max"]) == ([0.0], [255.0])
    assert (tagged["output"]["min"], tagged["output"]["max"]) == ([0.0], [255.0])
    per_channel = dataclasses.replace(CUSTOM, input_range=None, output_range=None)
    tagged = read_metadata(add_metadata(float_tflite, per_channel))
    assert tagged == expected_dict(per_channel, "float32")
    assert tagged["input"]["min"] == [f32(-0.1 / 0.3), f32(-127.5 / 58.4), f32(-3.3 / 1e-3)]  # per channel


@pytest.mark.slow
def test_labels_file_is_appended_as_a_stored_zip(model_bytes):
    tagged = add_metadata(model_bytes, META)
    assert tagged[4:8] == model_bytes[4:8] == b"TFL3"
    assert zipfile.is_zipfile(io.BytesIO(tagged))
    assert read_associated_files(tagged) == {"labels.txt": labels_bytes(META)}
    assert read_associated_files(tagged)["labels.txt"].decode().splitlines() == list(FASHION_CLASSES)
    with zipfile.ZipFile(io.BytesIO(tagged)) as archive:
        # Android's and the Task Library's zip readers only handle uncompressed entries.
        assert [info.compress_type for info in archive.infolist()] == [zipfile.ZIP_STORED]
    assert add_metadata(model_bytes, META) == tagged  # deterministic: no timestamps
    assert read_associated_files(model_bytes) == {}


@pytest.mark.slow
def test_model_with_metadata_runs_and_gives_identical_outputs(model_bytes):
    tagged = add_metadata(model_bytes, META)
    rng = np.random.default_rng(1)
    inputs = rng.integers(0, 256, (8, 28, 28, 1)).astype(np.float32)  # whole pixel values suit both models
    plain_outputs = interpreter_outputs(model_bytes, inputs)
    tagged_outputs = interpreter_outputs(tagged, inputs)
    assert plain_outputs.shape == (8, 10)
    np.testing.assert_array_equal(tagged_outputs, plain_outputs)


def test_dropping_tensor_names_keeps_io_names_signatures_and_outputs(model_bytes):
    from ai_edge_litert.interpreter import Interpreter

    named, slim = add_metadata(model_bytes, META), add_metadata(model_bytes, META, keep_tensor_names=False)
    before, after = Interpreter(model_content=named), Interpreter(model_content=slim)
    io_names = [d["name"] for d in before.get_input_details() + before.get_output_details()]
    assert all(io_names) and [d["name"] for d in after.get_input_details() + after.get_output_details()] == io_names
    assert [d["name"] for d in after.get_tensor_details() if d["name"]] == [
        d["name"] for d in before.get_tensor_details() if d["name"] in io_names]
    assert len([d for d in before.get_tensor_details() if d["name"]]) > len(io_names)  # there were others to drop
    assert after.get_signature_list() == before.get_signature_list() != {}
    # each dropped name frees at least its characters (plus its length prefix, terminator and offset)
    assert len(named) - len(slim) >= sum(len(d["name"]) for d in before.get_tensor_details() if d["name"] not in io_names)
    inputs = np.random.default_rng(2).integers(0, 256, (4, 28, 28, 1)).astype(np.float32)
    np.testing.assert_array_equal(interpreter_outputs(slim, inputs), interpreter_outputs(named, inputs))
    assert read_metadata(slim) == read_metadata(named)


@pytest.mark.slow
def test_model_flatbuffer_is_unchanged_apart_from_the_metadata(model_bytes):
    schema = tflite_schema()
    tagged = add_metadata(model_bytes, META)
    before = plain(schema.ModelT.InitFromObj(schema.Model.GetRootAs(model_bytes, 0)))
    after = plain(schema.ModelT.InitFromObj(schema.Model.GetRootAs(tagged, 0)))
    (ours,) = [entry for entry in after["metadata"] if entry["name"] == METADATA_NAME.encode()]
    assert ours["buffer"] == len(after["buffers"]) - 1 == len(before["buffers"])
    after["metadata"].remove(ours)
    after["buffers"].pop()
    assert after == before
    # Buffer.data is (force_align: 16) in TFLite's schema: every buffer's bytes start aligned.
    flat = schema.Model.GetRootAs(tagged, 0)
    starts = [flat.Buffers(i)._tab.Vector(flat.Buffers(i)._tab.Offset(4)) for i in range(flat.BuffersLength())
              if flat.Buffers(i)._tab.Offset(4)]
    assert starts and all(start % 16 == 0 for start in starts)


@pytest.mark.slow
def test_adding_metadata_twice_replaces_it_and_keeps_other_entries(float_tflite):
    original = metadata_entries(float_tflite)
    assert "min_runtime_version" in original and METADATA_NAME not in original
    once = add_metadata(float_tflite, META)
    twice = add_metadata(once, CUSTOM)
    entries = metadata_entries(twice)
    assert list(entries) == [*original, METADATA_NAME]
    for name, data in original.items():
        assert entries[name] == data
    assert read_metadata(twice) == expected_dict(CUSTOM)
    assert read_associated_files(twice) == {"classes.txt": labels_bytes(CUSTOM)}
    schema = tflite_schema()
    buffers = [schema.Model.GetRootAs(model, 0).BuffersLength() for model in (float_tflite, once, twice)]
    assert buffers[2] == buffers[1] == buffers[0] + 1  # the metadata buffer was reused, not added


@pytest.mark.slow
def test_model_with_two_outputs_is_refused(keras_model):
    keras, tf = _tf.keras(), _tf.tf()
    heads = [keras.layers.Dense(10)(keras_model.layers[-2].output), keras_model.output]
    two_outputs = tf.lite.TFLiteConverter.from_keras_model(keras.Model(keras_model.input, heads)).convert()
    with pytest.raises(ValueError, match=r"exactly one input and one output.*1 input\(s\) and 2 output\(s\)"):
        add_metadata(two_outputs, META)


@pytest.mark.slow
def test_label_count_must_match_the_output(float_tflite):
    three = ImageClassifierMetadata(name="n", description="d", version="1", author="a", license="l",
                                    labels=("a", "b", "c"))
    with pytest.raises(ValueError, match="outputs 10 scores but 3 labels"):
        add_metadata(float_tflite, three)


@pytest.mark.slow
def test_read_metadata_without_metadata_names_tflite_metadata(float_tflite):
    with pytest.raises(ValueError, match="TFLITE_METADATA"):
        read_metadata(float_tflite)


def test_not_a_tflite_model_is_refused():
    for call in (read_metadata, lambda data: add_metadata(data, META)):
        with pytest.raises(ValueError, match="not a TFLite model"):
            call(b"PK\x03\x04 this is a zip, not a model")


@pytest.mark.slow
def test_reading_needs_no_tensorflow(float_tflite, tmp_path):
    model_path = tmp_path / "model.tflite"
    model_path.write_bytes(add_metadata(float_tflite, META))
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"  # any import of tensorflow now fails
        "from fmnist_edge.formats.metadata import read_metadata, read_associated_files\n"
        f"data = open({str(model_path)!r}, 'rb').read()\n"
        "print(read_metadata(data)['name'], len(read_associated_files(data)['labels.txt'].splitlines()))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["fmnist-tiny", "10"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"color_space": "BGR"}, "color_space must be one of"),
        ({"norm_mean": (0.0, 0.0)}, "same, non-zero length"),
        ({"norm_std": (0.0,)}, "must not contain 0"),
        ({"labels": ()}, "labels must not be empty"),
        ({"labels": ("a", "b\nc")}, "one-line string"),
        ({"labels": ("a", "")}, "one-line string"),
        ({"labels_file": "dir/labels.txt"}, "plain file name"),
        ({"min_parser_version": "latest"}, "min_parser_version"),
        ({"input_range": (0.0,)}, r"input_range must be \(min, max\)"),
        ({"name": None}, "name must be a string"),
    ],
)
def test_metadata_fields_are_validated(change, message):
    fields = {"name": "n", "description": "d", "version": "1", "author": "a", "license": "l", "labels": ("x",)}
    with pytest.raises(ValueError, match=message):
        ImageClassifierMetadata(**{**fields, **change})


def test_sequences_are_stored_as_tuples():
    meta = ImageClassifierMetadata(name="n", description="d", version="1", author="a", license="l",
                                   labels=["x", "y"], norm_mean=[0], norm_std=[255])
    assert (meta.labels, meta.norm_mean, meta.norm_std) == (("x", "y"), (0.0,), (255.0,))
    assert hash(meta) == hash(ImageClassifierMetadata(name="n", description="d", version="1", author="a",
                                                      license="l", labels=("x", "y")))
