"""Classify image files with an exported model: what `fmnist-edge predict` runs. No TensorFlow.

    predictions = predict("runs/q/export/model_int8.tflite", ["shirt.jpg", "boots.png"])
    predictions[0].top   # [Guess("Shirt", 6, 0.91), Guess("T-shirt/top", 0, 0.05), ...]

Pictures and .npz files are read by `fmnist_edge.photo.decode`: a camera photo of one garment goes
through the photo conversion of docs/preprocessing.md (`fmnist_edge.photo.conversion`): the
background is estimated from the corners, the garment found as the largest region that stands out
from it, trimmed, fitted with its longest edge to the model's size, centred, negated when it is
darker than the background, and stretched so its brightest pixel is 255.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import DataError, FmnistEdgeError
from ..formats.runtime import load_model
from ..photo.decode import INVERT_MODES, ModelInput, read_model_inputs

class Guess(NamedTuple):
    label: str
    index: int
    probability: float


@dataclass(frozen=True)
class Prediction:
    """The top classes for one image; `source` is the file, with [i] for the i-th image of an .npz."""

    source: str
    inverted: bool
    top: list[Guess]
    note: str | None = None  # something the user should know about how the picture was read

    def as_dict(self) -> dict:
        record = {"image": self.source, "inverted": self.inverted,
                  "top": [{"label": g.label, "index": g.index, "probability": round(g.probability, 6)} for g in self.top]}
        return record | ({"note": self.note} if self.note else {})


def predict(model: str | Path, images: list[str | Path], *, invert: str = "auto", top: int = 3,
            num_threads: int | None = None, save_input: str | Path | None = None,
            errors: list[str] | None = None) -> list[Prediction]:
    """Classify image files (PNG, JPEG or anything Pillow reads, and .npz) with an exported .tflite or .onnx.

    Labels come from the model file itself (metadata labels in a .tflite, the "labels" property of an
    .onnx), else from labels.txt beside it, else they are "class <i>".

    Args:
        save_input: a folder to write each image as the model saw it (PNG, named after the source).
        errors: a list to collect the one-line problem of each unreadable image in; those images are left
            out and the others answered. None: the first unreadable image raises DataError.
    """
    if invert not in INVERT_MODES:
        raise FmnistEdgeError(f"--invert must be one of {', '.join(INVERT_MODES)}, got {invert!r}")
    if top < 1:
        raise FmnistEdgeError(f"--top must be at least 1, got {top}")
    if num_threads is not None and num_threads < 1:
        raise FmnistEdgeError(f"--threads must be at least 1, got {num_threads}")
    if not images:
        raise FmnistEdgeError("no images given")
    deployed = load_model(model, num_threads=num_threads)
    height, width, channels = deployed.input_shape
    if channels != 1:
        raise FmnistEdgeError(f"{model}: takes {channels}-channel images; predict feeds grayscale (1 channel)")
    inputs = []
    for path in map(Path, images):
        try:
            inputs.extend(read_model_inputs(path, (height, width), invert))
        except DataError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    if not inputs:
        raise DataError(errors[0] if len(errors) == 1 else f"none of the {len(errors)} images could be read: "
                        + "; ".join(errors))
    if save_input is not None:
        _save_inputs(inputs, Path(save_input))
    scores = deployed.predict(np.stack([item.image for item in inputs]))
    labels = _labels(Path(model), deployed, scores.shape[1])
    k = min(top, scores.shape[1])
    predictions = []
    for item, row in zip(inputs, scores):
        order = np.argsort(-row, kind="stable")[:k]  # stable: ties keep label order, as argmax does
        predictions.append(Prediction(item.source, item.inverted,
                                      [Guess(labels[i], int(i), float(row[i])) for i in order], item.note))
    return predictions


def _save_inputs(inputs: list[ModelInput], folder: Path) -> None:
    """Write each model input as a PNG named after its source, never over an existing file (the input
    picture itself among them): every name is checked before the first file is written."""
    from PIL import Image

    from ..files import atomic_path

    targets = _save_input_names(inputs, folder)
    for target in targets:
        if target.exists() or target.is_symlink():
            raise FmnistEdgeError(f"{target}: exists; --save-input never overwrites a file (choose an empty folder)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FmnistEdgeError(f"{folder}: cannot create the --save-input folder ({exc.strerror})") from None
    for item, target in zip(inputs, targets):
        with atomic_path(target) as tmp:
            Image.fromarray(item.image).save(tmp, format="PNG")


def _save_input_names(inputs: list[ModelInput], folder: Path) -> list[Path]:
    """"photos/shirt.jpg" -> shirt.png; "batch.npz[3]" -> batch_3.png; two sources with one stem keep their
    suffix (a.jpg -> a_jpg.png, a.png -> a_png.png); sources that still collide are refused."""
    def stem(item: ModelInput, with_suffix: bool) -> str:
        file_name, _, index = item.source.partition("[")
        path = Path(file_name)
        name = path.stem + (f"_{path.suffix.lstrip('.').lower()}" if with_suffix and path.suffix else "")
        return name + (f"_{index.rstrip(']')}" if index else "")

    plain = [stem(item, False) for item in inputs]
    names = [stem(item, True) if plain.count(name) > 1 else name for item, name in zip(inputs, plain)]
    for i, name in enumerate(names):
        if names.index(name) != i:
            first = inputs[names.index(name)].source
            raise FmnistEdgeError(f"--save-input: {first} and {inputs[i].source} would both be saved as {name}.png; "
                                  f"give them in separate calls")
    return [folder / f"{name}.png" for name in names]


def _labels(model: Path, deployed, classes: int) -> list[str]:
    labels = deployed.labels
    beside = model.parent / "labels.txt"
    if labels is None and beside.is_file():
        labels = beside.read_text(encoding="utf-8").splitlines()
    if labels is None:
        return [f"class {i}" for i in range(classes)]
    if len(labels) != classes:
        raise FmnistEdgeError(f"{model}: has {classes} outputs but {len(labels)} labels")
    return labels
