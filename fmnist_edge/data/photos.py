"""Camera-like pictures rendered from Fashion-MNIST garments: for the photo benchmark and golden vectors.

Each picture puts one 28x28 garment, enlarged, coloured and slightly rotated, somewhere on a
tinted wall or floor, with a lighting gradient, wall texture, often a soft shadow, sensor
noise, blur and JPEG compression: the things that separate a phone's photo from a
Fashion-MNIST test image. Everything is drawn from one seeded generator per picture, so
picture i of a seed is the same on every machine.

    for photo in render_photos(data.x_test[:5], seed=0):
        photo.image.save(f"{photo.index}.jpg", quality=photo.jpeg_quality)

No TensorFlow; numpy and Pillow only.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

ASPECT_RATIOS = (1.0, 4 / 3, 3 / 4, 3 / 2, 2 / 3, 16 / 9, 9 / 16)
SHORT_SIDE_PX = (200, 1200)
COVERAGE = (0.3, 0.9)  # the garment's long side as a fraction of the picture's short side
MAX_ROTATION_DEG = 10.0
JPEG_QUALITY = (60, 90)


@dataclass
class Photo:
    """One rendered picture and the conditions it was drawn with (for per-condition accuracy)."""

    index: int
    image: "object"  # PIL.Image.Image, RGB
    jpeg_quality: int
    conditions: dict = field(default_factory=dict)

    def jpeg_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="JPEG", quality=self.jpeg_quality)
        return buffer.getvalue()


def render_photos(garments: np.ndarray, seed: int = 0, start: int = 0) -> Iterator[Photo]:
    """Render one picture per 28x28 uint8 garment; picture i uses the generator seeded (seed, start + i)."""
    for offset, garment in enumerate(garments):
        index = start + offset
        yield render_photo(garment, np.random.default_rng([seed, index]), index)


def render_photo(garment: np.ndarray, rng: np.random.Generator, index: int = 0) -> Photo:
    from PIL import Image, ImageFilter

    short = int(rng.integers(SHORT_SIDE_PX[0], SHORT_SIDE_PX[1] + 1))
    ratio = float(rng.choice(ASPECT_RATIOS))
    height, width = (short, int(round(short * ratio))) if ratio >= 1 else (int(round(short / ratio)), short)
    height, width = min(height, 1200), min(width, 1200)
    dark_background = bool(rng.random() < 0.5)
    background, colour = _colours(rng, dark_background)

    # The wall: a tint, a lighting gradient across the frame and a soft texture.
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / width + np.sin(angle) * yy / height)
    gradient = 1.0 + rng.uniform(0.05, 0.25) * (ramp - ramp.mean())
    textured = bool(rng.random() < 0.5)
    texture = _smooth_noise(rng, height, width, cells=int(rng.integers(6, 30))) * (rng.uniform(4, 12) if textured else 0)
    wall = background[None, None, :] * gradient[..., None] + texture[..., None]

    # The garment: enlarged with its long side covering 30-90% of the short side, rotated, placed off-centre.
    coverage = rng.uniform(*COVERAGE)
    size = max(8, int(round(coverage * min(height, width))))
    rotation = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)
    alpha_image = Image.fromarray(garment).resize((size, size), Image.Resampling.BICUBIC)
    alpha_image = alpha_image.rotate(rotation, resample=Image.Resampling.BICUBIC, expand=True)
    alpha = np.asarray(alpha_image, np.float32) / 255.0
    gh, gw = alpha.shape
    gh, gw = min(gh, height), min(gw, width)
    alpha = alpha[:gh, :gw]
    top = int(rng.integers(0, height - gh + 1))
    left = int(rng.integers(0, width - gw + 1))
    full_alpha = np.zeros((height, width), np.float32)
    full_alpha[top:top + gh, left:left + gw] = alpha

    shadow = bool(rng.random() < 0.5)
    if shadow:  # a soft shadow cast beside the garment darkens the wall
        shift = int(round(size * rng.uniform(0.03, 0.08)))
        cast = np.roll(np.roll(full_alpha, shift, axis=0), shift * int(rng.choice([-1, 1])), axis=1)
        cast_image = Image.fromarray((cast * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(size * 0.04))
        wall = wall * (1.0 - rng.uniform(0.15, 0.35) * np.asarray(cast_image, np.float32)[..., None] / 255.0)

    # Shading across the garment (folds, light falloff) keeps it from being one flat colour.
    shading = 1.0 + 0.15 * _smooth_noise(rng, height, width, cells=8)
    cloth = colour[None, None, :] * shading[..., None] * gradient[..., None]
    picture = wall * (1.0 - full_alpha[..., None]) + cloth * full_alpha[..., None]
    picture += rng.normal(0.0, rng.uniform(1.0, 6.0), picture.shape).astype(np.float32)  # sensor noise
    image = Image.fromarray(np.clip(picture + 0.5, 0, 255).astype(np.uint8), "RGB")
    blur = float(rng.choice([0.0, 0.6, 1.5])) * short / 400
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    conditions = {
        "polarity": "light-on-dark" if dark_background else "dark-on-light",
        "size": "small" if short < 400 else ("medium" if short < 800 else "large"),
        "background": ("shadow" if shadow else "plain") + ("+texture" if textured else ""),
        "blur": "none" if blur == 0 else ("light" if blur < short / 400 else "heavy"),
        "short_side": short, "coverage": round(coverage, 3), "rotation": round(rotation, 2),
    }
    return Photo(index, image, quality, conditions)


def _colours(rng: np.random.Generator, dark_background: bool) -> tuple[np.ndarray, np.ndarray]:
    """A tinted background and a garment colour that stands at least 70 grey levels away from it."""
    while True:
        tint = rng.uniform(-18, 18, 3)
        base = rng.uniform(20, 70) if dark_background else rng.uniform(185, 240)
        background = np.clip(base + tint, 0, 255).astype(np.float32)
        colour = rng.uniform(0, 255, 3).astype(np.float32)
        contrast = _luma(colour) - _luma(background)
        if (contrast >= 70) if dark_background else (contrast <= -70):
            return background, colour


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Zero-mean noise in [-1, 1] that varies over about `cells` cells across the frame (bicubic-upsampled)."""
    from PIL import Image

    grid = rng.uniform(0, 255, (max(2, cells * height // max(height, width)), max(2, cells * width // max(height, width))))
    up = Image.fromarray(grid.astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(up, np.float32) / 127.5 - 1.0
