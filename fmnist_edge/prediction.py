"""Classify image files with an exported model: what `fmnist-edge predict` runs. No TensorFlow.

    predictions = predict("runs/q/export/model_int8.tflite", ["shirt.jpg", "boots.png"])
    predictions[0].top   # [Guess("Shirt", 6, 0.91), Guess("T-shirt/top", 0, 0.05), ...]

A picture of the model's exact size (a Fashion-MNIST image saved as PNG) is already a model
input: it is only made grey and, with `invert="auto"`, negated when its border is light.
Any other picture, a camera photo of one garment, goes through the photo conversion of
docs/preprocessing.md (`fmnist_edge.preprocessing`): the background is estimated from the
corners, the garment found as the largest region that stands out from it, trimmed, fitted
with its longest edge to the model's size, centred, negated when it is darker than the
background, and stretched so its brightest pixel is 255. A JPEG is decoded at a reduced
scale when it is large (Pillow's draft mode): the conversion works on ~100 px anyway.

An `.npz` holds images already in the contract: uint8 arrays (N, H, W) or (N, H, W, 1) of
exactly the model's size, under the only key or one of `images`, `x_test`, `x`. Each is
inverted by the same border rule but never resized: a wrong shape is an error, not a guess.
"""
from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import preprocessing
from .errors import DataError, FmnistEdgeError, one_line
from .runtime import load_model

INVERT_MODES = ("auto", "yes", "no")
# Pictures other than JPEG decode whole: 40 MP (a 200 MP JPEG still decodes at 1/8 scale) keeps a picture
# under ~160 MB of memory where an 11,000 px square PNG would take over a gigabyte.
MAX_PICTURE_PIXELS = 40_000_000
NPZ_KEYS = ("images", "x_test", "x")  # tried in this order when an .npz holds several arrays


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


@dataclass(frozen=True)
class ModelInput:
    """One image as the model receives it, and where it came from."""

    source: str
    image: np.ndarray  # (H, W) uint8
    inverted: bool
    note: str | None = None


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


def read_model_inputs(path: Path, size: tuple[int, int], invert: str = "auto") -> list[ModelInput]:
    """The model inputs in one file: one per picture, one per image of an .npz."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not an image file")
    if not path.exists():
        raise DataError(f"{path}: no such image file")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file (a pipe, socket or device); give an image file")
    if path.suffix.lower() == ".npz":
        return [ModelInput(f"{path}[{i}]", *preprocessing.negate_if_light(image, invert))
                for i, image in enumerate(_read_npz(path, size))]
    grey = _read_picture(path)
    if grey.shape == size:
        return [ModelInput(str(path), *preprocessing.negate_if_light(grey, invert))]
    note = None
    if min(grey.shape) < min(size):
        note = f"a small picture ({grey.shape[1]}x{grey.shape[0]} px): upscaled to {size[1]}x{size[0]}"
    try:
        converted = preprocessing.to_model_input(grey, size, invert)
    except preprocessing.NoGarmentError as exc:
        raise DataError(f"{path}: {exc}") from None
    return [ModelInput(str(path), converted.image, converted.inverted, note)]


def _save_inputs(inputs: list[ModelInput], folder: Path) -> None:
    """Write each model input as a PNG named after its source, never over an existing file (the input
    picture itself among them): every name is checked before the first file is written."""
    from PIL import Image

    from .rundir import atomic_path

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


def _read_picture(path: Path) -> np.ndarray:
    """Decode a picture to grey uint8 (step 1 of the spec), EXIF rotation applied."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns past 89 MP and refuses past 179 MP; the size is judged below instead, in one line.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(path)
        with picture:
            pixels = picture.size[0] * picture.size[1]
            # A JPEG decodes at down to 1/8 scale (below); other formats decode whole.
            limit = MAX_PICTURE_PIXELS * (64 if picture.format == "JPEG" else 1)
            if pixels > limit:
                raise DataError(f"{path}: a {picture.size[0]}x{picture.size[1]} picture ({pixels / 1e6:.0f} MP) is "
                                f"larger than predict decodes ({limit / 1e6:.0f} MP for {picture.format}); "
                                f"scale it down first")
            if picture.format == "JPEG":
                # Decode straight to luma at the largest 1/2, 1/4 or 1/8 scale that keeps the short side
                # at least twice the conversion's working size: most of a large JPEG's decoding is skipped.
                short = preprocessing.WORK_SHORT_SIDE * 2
                scale = max(1, min(picture.size) // short)
                picture.draft("L", (picture.size[0] // scale, picture.size[1] // scale))
            picture = ImageOps.exif_transpose(picture)
            grey = _grey_array(picture)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: not a readable image ({one_line(exc)})") from None
    if grey.ndim != 2 or min(grey.shape) < 1:
        raise DataError(f"{path}: an image with no pixels")
    return grey


def _grey_array(picture) -> np.ndarray:
    """Pillow image -> grey uint8 by the spec's step 1; 16-bit and float pictures are scaled by their range."""
    mode = picture.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(picture, dtype=np.float64)
        if mode.startswith("I;16"):
            low, high = 0.0, 65535.0
        else:
            low, high = float(values.min()), float(values.max())
            if mode == "F" and low >= 0.0 and high <= 1.0:
                low, high = 0.0, 1.0  # a float picture in [0, 1] keeps its own scale
        span = high - low or 1.0
        return np.floor((values - low) * (255.0 / span) + 0.5).clip(0, 255).astype(np.uint8)
    if mode == "L":
        return np.asarray(picture, dtype=np.uint8)
    if mode in ("RGBA", "LA", "P", "PA") or "transparency" in picture.info:
        return preprocessing.grey_pixels(np.asarray(picture.convert("RGBA"), dtype=np.uint8))
    return preprocessing.grey_pixels(np.asarray(picture.convert("RGB"), dtype=np.uint8))


def _read_npz(path: Path, size: tuple[int, int]) -> np.ndarray:
    if not zipfile.is_zipfile(path):  # checked first: numpy reads other bytes as a pickle and names allow_pickle
        with open(path, "rb") as handle:
            damaged = handle.read(2) == b"PK"
        raise DataError(f"{path}: not a readable .npz (a truncated or damaged zip)" if damaged else
                        f"{path}: not an .npz archive (an .npz is a zip of .npy arrays)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            key = keys[0] if len(keys) == 1 else next((k for k in NPZ_KEYS if k in keys), None)
            if key is None:
                raise DataError(f"{path}: holds arrays {', '.join(keys) or '(none)'}; "
                                f"expected one array or one named {', '.join(NPZ_KEYS)}")
            images = archive[key]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz ({one_line(exc)})") from None
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 2:
        images = images[None]
    expected = f"(N, {size[0]}, {size[1]})"
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != size or len(images) == 0:
        raise DataError(f"{path}: array {key!r} is {images.dtype} {images.shape}; the model takes uint8 images "
                        f"{expected} or {expected[:-1]}, 1)")
    return images


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
