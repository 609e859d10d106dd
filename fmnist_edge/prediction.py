"""Classify image files with an exported model: what `fmnist-edge predict` runs. No TensorFlow.

    predictions = predict("runs/q/export/model_int8.tflite", ["shirt.jpg", "boots.png"])
    predictions[0].top   # [Guess("Shirt", 6, 0.91), Guess("T-shirt/top", 0, 0.05), ...]

Every image is brought to the model's input contract before it runs:

1. grayscale (EXIF rotation applied first; transparent areas become white, like paper);
2. polarity: Fashion-MNIST garments are light on a dark background, photos of clothes are
   mostly dark on a light one. `invert="auto"` inverts when the image's border (its
   outermost pixel ring, which is background in a garment photo) is light on average;
   "yes" and "no" force it;
3. fitted into the model's H x W keeping the aspect ratio, centred, the margin filled with
   the border's own median grey (so padding looks like background), with Lanczos filtering.

An `.npz` holds images already in the contract: uint8 arrays (N, H, W) or (N, H, W, 1) of
exactly the model's size, under the only key or one of `images`, `x_test`, `x`. Each is
inverted by the same rule but never resized: a wrong shape is an error, not a guess.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import DataError, FmnistEdgeError
from .runtime import load_model

INVERT_MODES = ("auto", "yes", "no")
NPZ_KEYS = ("images", "x_test", "x")  # tried in this order when an .npz holds several arrays
LIGHT_BACKGROUND = 128  # border mean at or above this is a light background


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

    def as_dict(self) -> dict:
        return {"image": self.source, "inverted": self.inverted,
                "top": [{"label": g.label, "index": g.index, "probability": round(g.probability, 6)} for g in self.top]}


def predict(model: str | Path, images: list[str | Path], *, invert: str = "auto", top: int = 3,
            num_threads: int | None = None) -> list[Prediction]:
    """Classify image files (PNG, JPEG or anything Pillow reads, and .npz) with an exported .tflite or .onnx.

    Labels come from the model file itself (metadata labels in a .tflite, the "labels" property of an
    .onnx), else from labels.txt beside it, else they are "class <i>".
    """
    if invert not in INVERT_MODES:
        raise FmnistEdgeError(f"--invert must be one of {', '.join(INVERT_MODES)}, got {invert!r}")
    if top < 1:
        raise FmnistEdgeError(f"--top must be at least 1, got {top}")
    if not images:
        raise FmnistEdgeError("no images given")
    deployed = load_model(model, num_threads=num_threads)
    height, width, channels = deployed.input_shape
    if channels != 1:
        raise FmnistEdgeError(f"{model}: takes {channels}-channel images; predict feeds grayscale (1 channel)")
    sources, pixels, inverted = [], [], []
    for path in map(Path, images):
        for source, image, flipped in _read(path, (height, width), invert):
            sources.append(source)
            pixels.append(image)
            inverted.append(flipped)
    scores = deployed.predict(np.stack(pixels))
    labels = _labels(Path(model), deployed, scores.shape[1])
    k = min(top, scores.shape[1])
    predictions = []
    for source, flipped, row in zip(sources, inverted, scores):
        order = np.argsort(-row, kind="stable")[:k]  # stable: ties keep label order, as argmax does
        predictions.append(Prediction(source, flipped, [Guess(labels[i], int(i), float(row[i])) for i in order]))
    return predictions


def _read(path: Path, size: tuple[int, int], invert: str) -> list[tuple[str, np.ndarray, bool]]:
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    if path.suffix.lower() == ".npz":
        return [(f"{path}[{i}]", *_polarity(image, invert)) for i, image in enumerate(_read_npz(path, size))]
    image, flipped = _polarity(_read_picture(path), invert)
    return [(str(path), _fit(image, size), flipped)]


def _read_picture(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as picture:
            picture = ImageOps.exif_transpose(picture)
            if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
                canvas = Image.new("RGBA", picture.size, "white")
                picture = Image.alpha_composite(canvas, picture.convert("RGBA"))
            gray = np.asarray(picture.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: not a readable image ({str(exc).splitlines()[0] or type(exc).__name__})") from None
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise DataError(f"{path}: an image with no pixels")
    return gray


def _read_npz(path: Path, size: tuple[int, int]) -> np.ndarray:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            key = keys[0] if len(keys) == 1 else next((k for k in NPZ_KEYS if k in keys), None)
            if key is None:
                raise DataError(f"{path}: holds arrays {', '.join(keys) or '(none)'}; "
                                f"expected one array or one named {', '.join(NPZ_KEYS)}")
            images = archive[key]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz ({str(exc).splitlines()[0] or type(exc).__name__})") from None
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 2:
        images = images[None]
    expected = f"(N, {size[0]}, {size[1]})"
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != size or len(images) == 0:
        raise DataError(f"{path}: array {key!r} is {images.dtype} {images.shape}; the model takes uint8 images "
                        f"{expected} or {expected[:-1]}, 1)")
    return images


def _polarity(image: np.ndarray, invert: str) -> tuple[np.ndarray, bool]:
    flip = invert == "yes" or (invert == "auto" and bool(_border(image).mean() >= LIGHT_BACKGROUND))
    return (255 - image if flip else image), flip


def _border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize into (height, width) keeping the aspect ratio; the margin is the border's median grey."""
    if image.shape == size:
        return image
    from PIL import Image, ImageOps

    height, width = size
    background = int(np.median(_border(image)))
    fitted = ImageOps.pad(Image.fromarray(image), (width, height), method=Image.Resampling.LANCZOS,
                          color=background)
    return np.asarray(fitted, dtype=np.uint8)


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
