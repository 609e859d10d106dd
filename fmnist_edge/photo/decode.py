"""Reading what `predict` is given: picture files and .npz arrays, each turned into model inputs.

A picture of the model's exact size (a Fashion-MNIST image saved as PNG) is already a model input: it
is only made grey and, with `invert="auto"`, negated when its border is light. Any other picture, a
camera photo of one garment, goes through the photo conversion (conversion.py, docs/conversion.md).
A JPEG is decoded at a reduced scale when it is large (Pillow's draft mode): the conversion works on
~100 px anyway. Every other format decodes whole, so its size is limited.

An `.npz` holds images already in the contract: uint8 arrays (N, H, W) or (N, H, W, 1) of exactly the
model's size, under the only key or one of `images`, `x_test`, `x`. Each is inverted by the same border
rule but never resized: a wrong shape is an error, not a guess. A file is never unpickled.
"""
from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, one_line
from . import conversion

INVERT_MODES = ("auto", "yes", "no")
# Pictures other than JPEG decode whole: 40 MP (a 200 MP JPEG still decodes at 1/8 scale) keeps a picture
# under ~160 MB of memory where an 11,000 px square PNG would take over a gigabyte.
MAX_PICTURE_PIXELS = 40_000_000
NPZ_KEYS = ("images", "x_test", "x")  # tried in this order when an .npz holds several arrays


@dataclass(frozen=True)
class ModelInput:
    """One image as the model receives it, and where it came from."""

    source: str
    image: np.ndarray  # (H, W) uint8
    inverted: bool
    note: str | None = None


def read_model_inputs(path: Path, size: tuple[int, int], invert: str = "auto") -> list[ModelInput]:
    """The model inputs in one file: one per picture, one per image of an .npz."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not an image file")
    if not path.exists():
        raise DataError(f"{path}: no such image file")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file (a pipe, socket or device); give an image file")
    if path.suffix.lower() == ".npz":
        return [ModelInput(f"{path}[{i}]", *conversion.negate_if_light(image, invert))
                for i, image in enumerate(_read_npz(path, size))]
    grey = _read_picture(path)
    if grey.shape == size:
        return [ModelInput(str(path), *conversion.negate_if_light(grey, invert))]
    if size[0] != size[1]:  # the conversion frames one garment in a square: a canvas model takes its own size only
        raise DataError(f"{path}: a {grey.shape[1]}x{grey.shape[0]} picture; this model takes {size[1]}x{size[0]} "
                        f"canvases as they are (a closet canvas of 2-4 garments, as fmnist-edge data closet makes "
                        f"them); the photo conversion frames one garment, for the 28x28 garment models")
    note = None
    if min(grey.shape) < min(size):
        note = f"a small picture ({grey.shape[1]}x{grey.shape[0]} px): upscaled to {size[1]}x{size[0]}"
    try:
        converted = conversion.to_model_input(grey, size, invert)
    except conversion.NoGarmentError as exc:
        raise DataError(f"{path}: {exc}") from None
    if converted.rival is not None:
        taken, (other, percent) = converted.box, converted.rival
        note = "; ".join(filter(None, [note, (
            f"two things stand out (two garments?): took the one with more outline, at {_where(taken, converted.reduction)}; the "
            f"other, {percent}% of its size, is at {_where(other, converted.reduction)} (crop the picture to choose)")]))
    return [ModelInput(str(path), converted.image, converted.inverted, note)]


def _where(box: tuple[int, int, int, int], reduction: int) -> str:
    """A box of the reduced picture in the picture's own pixels."""
    top, left, bottom, right = (v * reduction for v in box)
    return f"x {left}-{right}, y {top}-{bottom}"


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
                short = conversion.WORK_SHORT_SIDE * 2
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
        return conversion.grey_pixels(np.asarray(picture.convert("RGBA"), dtype=np.uint8))
    return conversion.grey_pixels(np.asarray(picture.convert("RGB"), dtype=np.uint8))


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
