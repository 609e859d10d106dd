"""Run exported models on uint8 images, with no TensorFlow: what a device needs.

    model = load_model("runs/q/optimized/qat/model.tflite")
    scores = model.predict(images_uint8)          # (N, classes) float32 probabilities

Every deployed model follows one input contract: NHWC images; float models take pixels
scaled to [0, 1]; integer models take raw uint8 pixels (their input scale is 1/255 with
zero point 0, so a camera's bytes go straight in). `predict` always takes the uint8
images (N, H, W) or (N, H, W, 1) and applies the model's own input convention, so
every format is scored the same way.

.tflite files run in LiteRT (`ai-edge-litert`), or `tflite-runtime` where only that is
installed; .onnx files run in onnxruntime. `model.labels` are the class names the file
carries (a .tflite's metadata labels file, an .onnx's "labels" metadata property), or None.
"""
from __future__ import annotations

import json
import io
import zipfile
from pathlib import Path

import numpy as np

from ..contract import PIXEL_SCALE, float_pixels
from .._quiet import quiet_native_stderr
from ..errors import FmnistEdgeError, one_line

DEFAULT_BATCH = 256  # large enough to amortize interpreter calls, small enough for any phone-class memory


class TFLiteModel:
    """A .tflite model in the LiteRT interpreter, resized to any batch on demand."""

    def __init__(self, path: str | Path, num_threads: int | None = None):
        self.path = Path(path)
        Interpreter = _tflite_interpreter_class()
        try:
            with quiet_native_stderr():
                self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        except (ValueError, RuntimeError) as exc:
            raise FmnistEdgeError(f"{self.path}: not a loadable TFLite model ({one_line(exc)})") from None
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise FmnistEdgeError(f"{self.path}: expected one input and one output, found {len(inputs)} and {len(outputs)}")
        self._input, self._output = inputs[0], outputs[0]
        self._batch = None
        self.io_contract = {"input": _contract(inputs[0]), "output": _contract(outputs[0])}
        _check_classifier(self.path, self.io_contract["input"]["shape"], self.io_contract["output"]["shape"])

    @property
    def labels(self) -> list[str] | None:
        """The labels file packed into the model (TFLite Model Metadata's associated file), if any."""
        packed = read_associated_files(self.path.read_bytes())
        # The export names it labels.txt; other writers' label files are the .txt files too.
        name = "labels.txt" if "labels.txt" in packed else next((n for n in packed if n.endswith(".txt")), None)
        return packed[name].decode("utf-8").splitlines() if name else None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """(H, W, C) of one image."""
        return tuple(int(d) for d in self._input["shape"][1:])

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self._input["dtype"])

    @property
    def input_quantization(self) -> tuple[float, int] | None:
        scale, zero_point = self._input["quantization"]
        return (float(scale), int(zero_point)) if scale else None

    def predict(self, images: np.ndarray, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """Class scores (N, classes) as float32 for uint8 images (N, H, W[, 1])."""
        images = _as_nhwc_uint8(images, self.input_shape, self.path)
        chunks = [self.run(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, int(self._output["shape"][-1])), np.float32)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """One interpreter call on uint8 images already shaped (N, H, W, C): what bench times."""
        first_call = self._batch is None
        if self._batch != len(batch):
            self._interpreter.resize_tensor_input(self._input["index"], [len(batch), *self.input_shape])
            with quiet_native_stderr():  # LiteRT announces its XNNPACK delegate here
                self._interpreter.allocate_tensors()
            self._input = self._interpreter.get_input_details()[0]
            self._output = self._interpreter.get_output_details()[0]
            self._batch = len(batch)
        self._interpreter.set_tensor(self._input["index"], _to_input(batch, self.input_dtype, self.input_quantization))
        if first_call:
            with quiet_native_stderr():  # ... or here, on the first invoke
                self._interpreter.invoke()
        else:
            self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output["index"])
        scale, zero_point = self._output["quantization"]
        if scale:
            return ((raw.astype(np.float32) - zero_point) * scale).astype(np.float32)
        return raw.astype(np.float32)


class ONNXModel:
    """An .onnx model (float NHWC input in [0, 1]) in onnxruntime on the CPU."""

    def __init__(self, path: str | Path, num_threads: int | None = None):
        self.path = Path(path)
        try:
            import onnxruntime
        except ImportError:
            raise FmnistEdgeError("running .onnx models needs onnxruntime: pip install onnxruntime") from None
        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        try:
            self._session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable files
            raise FmnistEdgeError(f"{self.path}: not a loadable ONNX model ({one_line(exc)})") from None
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise FmnistEdgeError(f"{self.path}: expected one input and one output, found {len(inputs)} and {len(outputs)}")
        self._input_name = inputs[0].name
        # onnxruntime gives a symbolic dimension as its name (a str) or None: -1, as TFLite's shape signature does.
        dims = [[d if isinstance(d, int) else -1 for d in io.shape] for io in (inputs[0], outputs[0])]
        _check_classifier(self.path, *dims)
        self._classes = int(dims[1][-1])
        self.input_shape = tuple(int(d) for d in dims[0][1:])
        self.input_dtype = np.dtype(np.float32)
        self.input_quantization = None
        properties = self._session.get_modelmeta().custom_metadata_map
        try:
            self.labels = json.loads(properties["labels"]) if "labels" in properties else None
        except json.JSONDecodeError:
            raise FmnistEdgeError(f"{self.path}: its 'labels' metadata property is not a JSON list") from None

    def predict(self, images: np.ndarray, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """Class scores (N, classes) as float32 for uint8 images (N, H, W[, 1])."""
        images = _as_nhwc_uint8(images, self.input_shape, self.path)
        chunks = [self.run(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self._classes), np.float32)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """One session call on uint8 images already shaped (N, H, W, C): what bench times."""
        return self._session.run(None, {self._input_name: float_pixels(batch)})[0].astype(np.float32)


_RUNTIMES = {".tflite": TFLiteModel, ".onnx": ONNXModel}


def _contract(details: dict) -> dict:
    """A tensor as a runtime in another language must feed or read it: shape as stored (-1 = any),
    dtype and, for integer tensors, (scale, zero point) with real = scale * (q - zero point)."""
    scale, zero_point = details["quantization"]
    return {"shape": [int(d) for d in details["shape_signature"]], "dtype": np.dtype(details["dtype"]).name,
            "quantization": [float(scale), int(zero_point)] if scale else None}


def _check_classifier(path: Path, input_shape: list[int], output_shape: list[int]) -> None:
    """Refuse a model that is not an image classifier of the contract: input (batch, H, W, C) with H, W and C
    fixed, output (batch, classes). -1 is a dimension the file leaves open."""
    if len(input_shape) != 4 or any(d < 1 for d in input_shape[1:]):
        shown = "x".join("?" if d < 0 else str(d) for d in input_shape)
        raise FmnistEdgeError(f"{path}: its input is {shown}; fmnist-edge runs image classifiers whose input is "
                              f"(batch, height, width, channels) with the height, width and channels fixed")
    if len(output_shape) != 2 or output_shape[1] < 2:
        shown = "x".join("?" if d < 0 else str(d) for d in output_shape)
        raise FmnistEdgeError(f"{path}: its output is {shown}; fmnist-edge runs classifiers whose output is "
                              f"(batch, classes)")


def read_associated_files(tflite_bytes: bytes) -> dict[str, bytes]:
    """Return the files packed after a .tflite model as a zip ({} if there is none): TFLite Model
    Metadata's associated files, such as labels.txt.

    Example:
        >>> read_associated_files(Path("model.tflite").read_bytes())["labels.txt"][:12]
        b'T-shirt/top\\n'
    """
    stream = io.BytesIO(tflite_bytes)
    if not zipfile.is_zipfile(stream):
        return {}
    with zipfile.ZipFile(stream) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def load_model(path: str | Path, num_threads: int | None = None) -> TFLiteModel | ONNXModel:
    """Load an exported model by its suffix (.tflite or .onnx). Unknown suffix or missing file: FmnistEdgeError."""
    path = Path(path)
    if not path.is_file():
        raise FmnistEdgeError(f"{path}: no such model file")
    if path.suffix not in _RUNTIMES:
        raise FmnistEdgeError(f"{path}: unsupported model format {path.suffix!r} (expected {' or '.join(_RUNTIMES)})")
    return _RUNTIMES[path.suffix](path, num_threads=num_threads)


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Top-1 accuracy of `model` on uint8 images, and its predicted labels."""
    predicted = model.predict(images).argmax(axis=1)
    return float((predicted == labels).mean()), predicted


def top1_agreement(scores: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """Share of rows whose top-1 labels agree, and how many rows hold a tie.

    Quantized outputs tie on unsure images (uint8 probabilities move in steps of 1/256, and a
    QAT model's fake-quantized logits can be exactly equal): a tie agrees with any label it ties.
    """
    top = scores == scores.max(axis=1, keepdims=True)
    reference_top = reference == reference.max(axis=1, keepdims=True)
    ties = int(((top.sum(1) > 1) | (reference_top.sum(1) > 1)).sum())
    return float((top & reference_top).any(axis=1).mean()), ties


def _to_input(batch: np.ndarray, dtype: np.dtype, quantization: tuple[float, int] | None) -> np.ndarray:
    if dtype == np.float32:
        return float_pixels(batch)
    if quantization is None:
        raise FmnistEdgeError(f"integer input of type {dtype} without quantization parameters")
    scale, zero_point = quantization
    if dtype == np.uint8 and abs(scale * PIXEL_SCALE - 1.0) < 1e-6 and zero_point == 0:
        return batch  # the raw-pixel contract: no arithmetic at all
    info = np.iinfo(dtype)
    q = np.round(float_pixels(batch) / scale + zero_point)
    return np.clip(q, info.min, info.max).astype(dtype)


def _as_nhwc_uint8(images: np.ndarray, shape: tuple[int, ...], where: Path) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.dtype != np.uint8 or images.ndim != 4 or tuple(images.shape[1:]) != tuple(shape):
        raise FmnistEdgeError(f"{where}: expects uint8 images shaped (N, {', '.join(map(str, shape))}), "
                              f"got {images.dtype} {tuple(images.shape)}")
    return images


def _tflite_interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise FmnistEdgeError("running .tflite models needs LiteRT: pip install ai-edge-litert") from None
    return Interpreter
