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
import functools
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator


from ..contract import float_pixels, scores
from .. import _tf
from ..data import Dataset
from ..errors import RunDirError, one_line
from ..models import build_model
from .rundir import RunDir
from ..files import read_json

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
    kind = check_keras_file(path)
    keras = _tf.keras()
    scope = _tf.tfmot().quantization.keras.quantize_scope() if quantized else contextlib.nullcontext()
    try:
        with scope:
            if kind == "hdf5":
                return keras.models.load_model(path, compile=False)
            return keras.models.load_model(path, compile=False, safe_mode=True)
    except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise RunDirError(f"{path}: cannot load the model ({one_line(exc)[:200]})") from None


def check_keras_file(path: str | Path) -> str:
    """Refuse a Keras file whose stored config holds anything but Keras' and tfmot's own classes, without
    loading it (RunDirError naming the file and what is wrong); returns its container kind, "zip" or "hdf5".
    For a command that loads the model later, in another process: it refuses before spending any time."""
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"{path}: no such model file")
    kind = _keras_format(path)
    _check_config(path, _zip_config(path) if kind == "zip" else _hdf5_config(path))
    return kind


def _keras_format(path: Path) -> str:
    """"zip" or "hdf5": the one format the file is, which is also the loader tf_keras will pick for it.

    tf_keras picks its loader by the name and by probing (a .keras name that is a zip goes to the v3
    loader, anything else to the legacy one, which finds an HDF5 signature at offset 0, 512, 1024, ...,
    inside a user block). A file that parses as both could pass the check of one format and be loaded
    as the other, so it is refused, as is a zip whose name sends it to the legacy loader.
    """
    import h5py

    with open(path, "rb") as handle:
        head = handle.read(8)
    is_zip = head[:4] == b"PK\x03\x04" or zipfile.is_zipfile(path)  # a truncated zip still starts like one
    try:
        is_hdf5 = head == HDF5_SIGNATURE or bool(h5py.is_hdf5(str(path)))
    except OSError:
        is_hdf5 = False
    if is_zip and is_hdf5:
        raise RunDirError(f"{path}: refused: the file is both a zip archive and an HDF5 file (a file made to pass "
                          f"one format's check and load as the other); fmnist-edge never writes one")
    if is_zip and path.suffix != ".keras":
        raise RunDirError(f"{path}: refused: a Keras archive (zip) must be named .keras; under any other name "
                          f"tf_keras reads it with its legacy loader")
    if is_zip:
        return "zip"
    if is_hdf5:
        return "hdf5"
    raise RunDirError(f"{path}: not a Keras model file (neither a .keras archive nor HDF5)")


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
        raise RunDirError(f"{path}: damaged HDF5 model file ({one_line(exc)[:120]})") from None
    if raw is None:
        raise RunDirError(f"{path}: an HDF5 file without a model config (weights only?) is not a model file")
    try:
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunDirError(f"{path}: the stored model config is not valid JSON") from None


# The packages a serialized object's "module" may name (fmnist_edge: the distillation loss of fitting/loop.py):
# Keras deserialization imports that module to find the class, so any other name ("os", "this") would run
# its import-time code.
ALLOWED_PACKAGES = {"keras", "tf_keras", "tensorflow_model_optimization", "fmnist_edge"}
CONTAINERS = {"Functional", "Sequential", "Model"}
# The classes fitting/loop.py registers (package "fmnist_edge"): a distilled run's compile_config holds them.
FMNIST_EDGE_CLASSES = {"DistillationLoss", "LabelAccuracy"}


def _check_config(path: Path, config: Any) -> None:
    """Refuse the config unless every serialized object in it, at any depth and under any key (a wrapped
    layer, a Bidirectional's backward_layer, an initializer, the top-level model), is a class of Keras' or
    tfmot's own, from their own modules."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise RunDirError(f"{path}: the stored model config has no layer classes")
    allowed, registered = _allowed_classes()
    for where, entry in _serialized_objects(config, "config"):
        class_name, module, registered_name = entry["class_name"], entry.get("module"), entry.get("registered_name")
        inner = entry.get("config")
        name = inner.get("name") if isinstance(inner, dict) and isinstance(inner.get("name"), str) else None
        what = f"layer {name!r}" if name else f"the object at {where}"
        if not isinstance(class_name, str):
            raise RunDirError(f"{path}: refused: {what} has a class_name that is not a name ({class_name!r})")
        if class_name in NEVER:
            raise RunDirError(f"{path}: refused: {what} is a {class_name}, which holds code; fmnist-edge never writes one")
        if class_name not in allowed:
            raise RunDirError(f"{path}: refused: {what} has class {class_name!r}, not one of Keras' own classes "
                              f"or tfmot's")
        if module is not None and (not isinstance(module, str) or module.split(".")[0] not in ALLOWED_PACKAGES):
            raise RunDirError(f"{path}: refused: {what} names module {module!r}, which loading would import; "
                              f"only Keras' and tfmot's own modules are allowed")
        if registered_name not in (None, class_name) and registered_name not in registered:
            raise RunDirError(f"{path}: refused: {what} has registered name {registered_name!r}, not one of "
                              f"Keras', tfmot's or fmnist-edge's")


def _serialized_objects(node: Any, where: str) -> Iterator[tuple[str, dict]]:
    """(location, dict) of every dict holding a "class_name", anywhere under `node`."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield where, node
        for key, value in node.items():
            yield from _serialized_objects(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _serialized_objects(value, f"{where}[{i}]")


@functools.cache
def _allowed_classes() -> tuple[frozenset[str], frozenset[str]]:
    """(class names, registered names) a file of ours can hold: Keras' layers, initializers, regularizers,
    constraints, optimizers and their schedules, losses, metrics and precision policies; tfmot's
    quantization and pruning classes; fmnist-edge's own loss and metric."""
    keras, tfmot = _tf.keras(), _tf.tfmot()
    namespaces = (keras.layers, keras.initializers, keras.regularizers, keras.constraints, keras.optimizers,
                  keras.optimizers.schedules, keras.losses, keras.metrics, keras.mixed_precision)
    names = {name for space in namespaces for name in dir(space) if isinstance(getattr(space, name), type)}
    for scope in (tfmot.quantization.keras.quantize_scope(), tfmot.sparsity.keras.prune_scope()):
        for objects in scope.custom_objects:
            names.update(objects)
    names |= FMNIST_EDGE_CLASSES | CONTAINERS
    return frozenset(names), frozenset(f"fmnist_edge>{name}" for name in FMNIST_EDGE_CLASSES)


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
    record = run_dir.read_finished_run(offer_allow_incomplete=False)  # --init, --teacher, ensemble: no such option
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
    net = load_keras_model(model_path)
    probs = net.predict(float_pixels(data.x_test[..., None]), batch_size=batch_size, verbose=0)
    scored = scores(probs.argmax(axis=1), data.y_test, list(data.class_names))
    return {
        "test_accuracy": scored["accuracy"],
        "test_images": int(len(data.y_test)),
        "per_class_accuracy": scored["per_class_accuracy"],
        "confusion_matrix": scored["confusion_matrix"],
        "class_names": list(data.class_names),
    }
