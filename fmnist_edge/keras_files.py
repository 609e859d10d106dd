"""Load Keras model files from a run directory without ever running code stored in them.

Run directories travel between people (and ship in the repository), so a model file is input
like any other. A Keras file can carry code: a Lambda layer's Python bytecode, or a class
name that makes Keras import and call something. tf_keras' `.keras` (zip) loader refuses
Lambda layers with `safe_mode=True`, but its legacy HDF5 loader, which it falls back to for
any HDF5 file whatever its suffix, ignores `safe_mode`. So every file is inspected first:

- a Keras v3 zip (`.keras`): its config.json is checked, then it is loaded with `safe_mode=True`;
- an HDF5 file (our QAT models, `model.h5`): its stored `model_config` is checked before any
  deserialization;
- anything else is refused.

The check walks every layer (wrapped layers included) and accepts only Keras' own layer
classes and tfmot's quantization wrappers; a Lambda layer or any other class is refused with
one line naming the file and the layer.

    model = load_keras_model("runs/vgg/model.keras")
    qat = load_keras_model("runs/vgg/optimized/qat/model.h5", quantized=True)

It is also the artifact layer the stages share, so that none of them imports another: the
loaders of a run's models (`load_run_model`, `load_float32_model`, `load_qat_model`, and
`load_trained_run` for a finished run that teaches or joins an ensemble) and `evaluate_model`, which
scores a saved model on the official test set.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import _tf
from .data import Dataset
from .errors import RunDirError
from .models import build_model
from .rundir import RunDir, read_json

# quantize writes its quantization-aware models as HDF5: tfmot's quantize layers lose variables in
# the .keras (v3) format and cannot be loaded back; HDF5, the format tfmot's own guide uses,
# round-trips exactly. load_qat_model reads them back.
QAT_MODEL_FILE = "model.h5"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# tfmot's classes a quantization-aware model is saved with (quantize_scope's objects).
QUANTIZATION_CLASSES = {"QuantizeLayer", "QuantizeWrapper", "QuantizeWrapperV2", "QuantizeAnnotate",
                        "PruneLowMagnitude"}
NEVER = {"Lambda", "TFOpLambda", "SlicingOpLambda"}  # layers that hold code


def load_keras_model(path: str | Path, *, quantized: bool = False):
    """A Keras model from a file we wrote, or RunDirError naming the file and what is wrong.

    Args:
        quantized: load tfmot's quantization-aware layers (QAT and prune+QAT models).
    """
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"{path}: no such model file")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head == HDF5_SIGNATURE:
        config = _hdf5_config(path)
    elif head[:4] == b"PK\x03\x04" or zipfile.is_zipfile(path):  # a truncated zip still starts like one
        config = _zip_config(path)
    else:
        raise RunDirError(f"{path}: not a Keras model file (neither a .keras archive nor HDF5)")
    _check_layers(path, config)
    keras = _tf.keras()
    scope = _tf.tfmot().quantization.keras.quantize_scope() if quantized else contextlib.nullcontext()
    try:
        with scope:
            if head == HDF5_SIGNATURE:
                return keras.models.load_model(path, compile=False)
            return keras.models.load_model(path, compile=False, safe_mode=True)
    except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunDirError(f"{path}: cannot load the model ({message[:200]})") from None


def _zip_config(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except KeyError:
        raise RunDirError(f"{path}: a zip without config.json is not a Keras model") from None
    except (zipfile.BadZipFile, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: damaged Keras archive ({type(exc).__name__})") from None


def _hdf5_config(path: Path) -> dict:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path}: damaged HDF5 model file ({str(exc).splitlines()[0][:120]})") from None
    if raw is None:
        raise RunDirError(f"{path}: an HDF5 file without a model config (weights only?) is not a model file")
    try:
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunDirError(f"{path}: the stored model config is not valid JSON") from None


def _check_layers(path: Path, config: dict) -> None:
    allowed = _keras_layer_classes() | QUANTIZATION_CLASSES
    try:
        layers = list(_layers(config))
    except RunDirError as exc:
        raise RunDirError(f"{path}: {exc}") from None
    for name, class_name in layers:
        if class_name in NEVER:
            raise RunDirError(f"{path}: refused: layer {name!r} is a {class_name}, which holds code; "
                              f"fmnist-edge never writes one")
        if class_name not in allowed:
            raise RunDirError(f"{path}: refused: layer {name!r} has class {class_name!r}, not one of Keras' "
                              f"own layers or tfmot's")


CONTAINERS = {"Functional", "Sequential", "Model"}


def _layers(entry: Any) -> Iterator[tuple[str, str]]:
    """(name, class_name) of every layer under a model config entry, nested models and wrapped layers included."""
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise RunDirError("the stored model config has no layer classes")
    inner = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    if entry["class_name"] not in CONTAINERS:
        yield str(inner.get("name", "?")), str(entry["class_name"])
    for child in inner.get("layers") or []:
        yield from _layers(child)
    if isinstance(inner.get("layer"), dict):  # a wrapper (tfmot's QuantizeWrapper) and the layer it wraps
        yield from _layers(inner["layer"])


def _keras_layer_classes() -> set[str]:
    keras = _tf.keras()
    return {name for name in dir(keras.layers) if isinstance(getattr(keras.layers, name), type)}


def load_qat_model(path: str | Path):
    """A quantization-aware model saved by quantize (qat, prune+qat)."""
    return load_keras_model(path, quantized=True)


def load_run_model(model_path: str | Path, model_name: str, image_shape, num_classes: int):
    """A run's saved model, as saved (its precision included), checked against what run.json names."""
    model = load_keras_model(model_path)
    expected_model = build_model(model_name, image_shape, num_classes)
    # run.json and the model file must describe the same network: a mismatch would export, bench and
    # name one model as another.
    found = (model.name, int(model.count_params()), tuple(model.input_shape[1:]))
    expected = (expected_model.name, int(expected_model.count_params()), tuple(expected_model.input_shape[1:]))
    if found != expected:
        raise RunDirError(f"{model_path}: holds {found[0]} ({found[1]:,} parameters, input {found[2]}), but the run "
                          f"names {model_name} ({expected[1]:,} parameters, input {expected[2]})")
    return model


def load_float32_model(model_path: str | Path, model_name: str, image_shape, num_classes: int):
    """A saved model with float32 compute: TFLite has no bf16/fp16 kernels for a mixed-precision graph.

    Mixed-precision models keep float32 variables, so rebuilding the architecture under the
    float32 policy and copying the weights gives the same model in float32.
    """
    model = load_run_model(model_path, model_name, image_shape, num_classes)
    if all(layer.compute_dtype in (None, "float32") for layer in model.layers):
        return model
    float32 = build_model(model_name, image_shape, num_classes)
    float32.set_weights(model.get_weights())
    return float32


@dataclass(frozen=True)
class TrainedRun:
    """A finished run's model as another step uses it (a teacher, an ensemble member), and what identifies it."""

    path: str
    model_name: str
    settings: dict[str, Any]  # run.json's "settings": how it was trained
    data: dict[str, Any]  # run.json's "data": dataset, image_shape, classes, ...
    model: Any
    sha256: str  # of its model.keras
    test_accuracy: float | None

    @property
    def task(self) -> tuple[str, tuple[int, ...], list[str]]:
        """(dataset, image shape, class names): what two runs must share to stand in for each other."""
        return self.data.get("dataset"), tuple(self.data["image_shape"]), list(self.data["classes"])

    def describe(self) -> dict[str, Any]:
        return {"run": self.path, "model": self.model_name, "sha256": self.sha256, "test_accuracy": self.test_accuracy}


def load_trained_run(path: str | Path, float32: bool = False) -> TrainedRun:
    """A complete run's best model (in float32 compute when asked) with its record; RunDirError when the run
    is unfinished, has no model, or predates run.json's record of its data."""
    run_dir = RunDir(Path(path))
    record = run_dir.read_finished_run()
    data = record.get("data") or {}
    if "image_shape" not in data or "classes" not in data:
        raise RunDirError(f"{path}: run.json does not record its data (image shape, classes); train it again")
    model_path = run_dir.require_model()
    loader = load_float32_model if float32 else load_run_model
    model = loader(model_path, record["settings"]["model"], tuple(data["image_shape"]), len(data["classes"]))
    metrics = read_json(run_dir.metrics) if run_dir.metrics.exists() else {}
    return TrainedRun(str(path), record["settings"]["model"], record["settings"], data, model,
                      hashlib.sha256(model_path.read_bytes()).hexdigest(), metrics.get("test_accuracy"))


def evaluate_model(model_path: str | Path, data: Dataset, batch_size: int = 256) -> dict[str, Any]:
    """Score a saved Keras model on the official test set: accuracy, per-class accuracy, confusion matrix."""
    tf = _tf.tf()
    net = load_keras_model(model_path)
    images = data.x_test[..., None].astype(np.float32) / 255.0  # the float input contract: pixels in [0, 1]
    probs = net.predict(images, batch_size=batch_size, verbose=0)
    predicted = probs.argmax(axis=1)
    confusion = tf.math.confusion_matrix(data.y_test, predicted, num_classes=data.num_classes).numpy()
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {
        "test_accuracy": float((predicted == data.y_test).mean()),
        "test_images": int(len(data.y_test)),
        "per_class_accuracy": {name: float(acc) for name, acc in zip(data.class_names, per_class)},
        "confusion_matrix": confusion.tolist(),
        "class_names": list(data.class_names),
    }
