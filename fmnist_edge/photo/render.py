"""Camera-like pictures rendered from Fashion-MNIST garments: for the photo benchmark and golden vectors.

Each picture puts one 28x28 garment, enlarged, coloured and slightly rotated, somewhere on a
tinted wall or floor, with a lighting gradient, wall texture, often a soft shadow, sensor
noise, blur and JPEG compression: the things that separate a phone's photo from a
Fashion-MNIST test image. Everything is drawn from one seeded generator per picture, so
picture i of a seed is the same on every machine.

    for photo in render_photos(data.x_test[:5], seed=0):
        photo.image.save(f"{photo.index}.jpg", quality=photo.jpeg_quality)

`careless=` adds one of the conditions a hurried phone photo brings (CARELESS): a crooked phone, a
vignette with a flash hot spot, a printed garment, a slanted shot, a strong background texture, a
second small object at the frame's edge, the garment running off an edge, a small low-quality
messenger copy. Those draw from a generator of their own, so the rest of picture i is the same
picture with and without them.

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

# The careless conditions, each with the ranges it is drawn from.
CARELESS = ("crooked", "flash", "print", "angle", "texture", "object", "cropped", "messenger")
CROOKED_DEG = (12.0, 25.0)  # the phone held crooked: the garment rotated this far either way
VIGNETTE = (0.45, 0.7)  # dark corners: brightness falls by this share at the frame's corners
HOT_SPOT = (60.0, 120.0)  # a flash's bright spot: grey levels added at its centre
PRINT_AMPLITUDE = (0.25, 0.45)  # stripes or checks: the print's contrast against the cloth's colour
SHEAR_DEG = (8.0, 18.0)  # shot at an angle: a shear, and unequal x/y scale
ASPECT_SQUASH = (0.75, 0.9)
TEXTURE_AMPLITUDE = (15.0, 35.0)  # wood grain or woven fabric behind the garment, in grey levels
OBJECT_SIZE = (0.08, 0.16)  # a hanger or another small item: its size as a share of the short side
OFF_EDGE = (0.04, 0.12)  # the share of the garment's extent that runs off the frame
MESSENGER_SHORT_SIDE = (160, 260)
MESSENGER_JPEG_QUALITY = (25, 45)


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


def render_photos(garments: np.ndarray, seed: int = 0, start: int = 0, careless: str | None = None) -> Iterator[Photo]:
    """Render one picture per 28x28 uint8 garment; picture i uses the generator seeded (seed, start + i), and
    a careless condition the generator seeded (seed, start + i, 1 + its place in CARELESS)."""
    if careless is not None and careless not in CARELESS:
        raise ValueError(f"careless must be one of {', '.join(CARELESS)}; got {careless!r}")
    for offset, garment in enumerate(garments):
        index = start + offset
        extra = np.random.default_rng([seed, index, 1 + CARELESS.index(careless)]) if careless else None
        yield render_photo(garment, np.random.default_rng([seed, index]), index, careless, extra)


def render_photo(garment: np.ndarray, rng: np.random.Generator, index: int = 0, careless: str | None = None,
                 extra: np.random.Generator | None = None) -> Photo:
    from PIL import Image, ImageFilter

    short = int(rng.integers(SHORT_SIDE_PX[0], SHORT_SIDE_PX[1] + 1))
    if careless == "messenger":
        short = int(extra.integers(MESSENGER_SHORT_SIDE[0], MESSENGER_SHORT_SIDE[1] + 1))
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
    if careless == "texture":
        texture = _strong_texture(extra, yy, xx, short)
    wall = background[None, None, :] * gradient[..., None] + texture[..., None]

    # The garment: enlarged with its long side covering 30-90% of the short side, rotated, placed off-centre.
    coverage = rng.uniform(*COVERAGE)
    size = max(8, int(round(coverage * min(height, width))))
    rotation = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)
    if careless == "crooked":
        rotation = float(extra.choice([-1.0, 1.0]) * extra.uniform(*CROOKED_DEG))
    alpha_image = Image.fromarray(garment).resize((size, size), Image.Resampling.BICUBIC)
    if careless == "angle":
        alpha_image = _slanted(alpha_image, extra)
    alpha_image = alpha_image.rotate(rotation, resample=Image.Resampling.BICUBIC, expand=True)
    alpha = np.asarray(alpha_image, np.float32) / 255.0
    gh, gw = alpha.shape
    gh, gw = min(gh, height), min(gw, width)
    alpha = alpha[:gh, :gw]
    top = int(rng.integers(0, height - gh + 1))
    left = int(rng.integers(0, width - gw + 1))
    if careless == "cropped":
        top, left = _off_edge(alpha, top, left, height, width, extra)
    full_alpha = _placed(alpha, top, left, height, width)

    shadow = bool(rng.random() < 0.5)
    if shadow:  # a soft shadow cast beside the garment darkens the wall
        shift = int(round(size * rng.uniform(0.03, 0.08)))
        cast = np.roll(np.roll(full_alpha, shift, axis=0), shift * int(rng.choice([-1, 1])), axis=1)
        cast_image = Image.fromarray((cast * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(size * 0.04))
        wall = wall * (1.0 - rng.uniform(0.15, 0.35) * np.asarray(cast_image, np.float32)[..., None] / 255.0)

    # Shading across the garment (folds, light falloff) keeps it from being one flat colour.
    shading = 1.0 + 0.15 * _smooth_noise(rng, height, width, cells=8)
    if careless == "print":
        shading = shading * _print_pattern(extra, yy, xx, size)
    cloth = colour[None, None, :] * shading[..., None] * gradient[..., None]
    picture = wall * (1.0 - full_alpha[..., None]) + cloth * full_alpha[..., None]
    if careless == "object":
        picture = _with_object(picture, full_alpha, colour, extra, height, width)
    if careless == "flash":
        picture = _vignette_and_flash(picture, extra, yy, xx)
    picture += rng.normal(0.0, rng.uniform(1.0, 6.0), picture.shape).astype(np.float32)  # sensor noise
    image = Image.fromarray(np.clip(picture + 0.5, 0, 255).astype(np.uint8), "RGB")
    blur = float(rng.choice([0.0, 0.6, 1.5])) * short / 400
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    if careless == "messenger":
        quality = int(extra.integers(MESSENGER_JPEG_QUALITY[0], MESSENGER_JPEG_QUALITY[1] + 1))
    conditions = {
        "careless": careless or "none",
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


def _placed(alpha: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """`alpha` pasted at (top, left) into a height x width frame; what falls outside the frame is cut off."""
    full = np.zeros((height, width), np.float32)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + alpha.shape[0], height), min(left + alpha.shape[1], width)
    if y1 > y0 and x1 > x0:
        full[y0:y1, x0:x1] = alpha[y0 - top:y1 - top, x0 - left:x1 - left]
    return full


def _off_edge(alpha: np.ndarray, top: int, left: int, height: int, width: int, extra: np.random.Generator):
    """(top, left) that push OFF_EDGE of the garment's own extent (not its box's) past one frame edge."""
    rows, cols = np.nonzero(alpha > 0.1)
    if len(rows) == 0:
        return top, left
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    side = str(extra.choice(["top", "bottom", "left", "right"]))
    share = extra.uniform(*OFF_EDGE)
    if side == "top":
        return -r0 - int(round(share * (r1 - r0))), left
    if side == "bottom":
        return height - r1 + int(round(share * (r1 - r0))), left
    if side == "left":
        return top, -c0 - int(round(share * (c1 - c0)))
    return top, width - c1 + int(round(share * (c1 - c0)))


def _slanted(image, extra: np.random.Generator):
    """A garment shot at an angle: squashed along one axis, then sheared by SHEAR_DEG either way."""
    from PIL import Image

    w, h = image.size
    squash = extra.uniform(*ASPECT_SQUASH)
    if extra.random() < 0.5:
        w = max(4, int(round(w * squash)))
    else:
        h = max(4, int(round(h * squash)))
    image = image.resize((w, h), Image.Resampling.BICUBIC)
    k = float(np.tan(np.radians(extra.uniform(*SHEAR_DEG))) * extra.choice([-1.0, 1.0]))
    out_w = int(np.ceil(w + abs(k) * h))
    # Pillow maps each output pixel (x, y) to the input pixel (x + k y + c, y).
    return image.transform((out_w, h), Image.Transform.AFFINE, (1.0, k, -k * h if k > 0 else 0.0, 0.0, 1.0, 0.0),
                           resample=Image.Resampling.BICUBIC)


def _strong_texture(extra: np.random.Generator, yy: np.ndarray, xx: np.ndarray, short: int) -> np.ndarray:
    """Wood grain (wavy stripes) or woven fabric (a fine check), TEXTURE_AMPLITUDE grey levels either way."""
    amplitude = extra.uniform(*TEXTURE_AMPLITUDE)
    height, width = yy.shape
    if extra.random() < 0.5:  # wood grain: stripes bent by slow noise
        angle = extra.uniform(0, np.pi)
        period = extra.uniform(0.02, 0.06) * short
        along = np.cos(angle) * xx + np.sin(angle) * yy
        wobble = 3.0 * _smooth_noise(extra, height, width, cells=4)
        return amplitude * np.sin(2 * np.pi * along / period + wobble).astype(np.float32)
    period = extra.uniform(0.008, 0.02) * short  # a weave: threads a few pixels apart
    weave = np.sign(np.sin(2 * np.pi * xx / period)) * np.sign(np.sin(2 * np.pi * yy / period))
    return (amplitude * 0.7 * weave + amplitude * 0.3 * _smooth_noise(extra, height, width, cells=40)).astype(np.float32)


def _print_pattern(extra: np.random.Generator, yy: np.ndarray, xx: np.ndarray, size: int) -> np.ndarray:
    """A multiplier for the cloth: stripes or checks, PRINT_AMPLITUDE around 1, 5-10% of the garment wide."""
    amplitude = extra.uniform(*PRINT_AMPLITUDE)
    period = extra.uniform(0.05, 0.10) * size
    angle = extra.uniform(0, np.pi)
    u = np.cos(angle) * xx + np.sin(angle) * yy
    pattern = np.sign(np.sin(2 * np.pi * u / period))
    if extra.random() < 0.5:  # checks
        v = -np.sin(angle) * xx + np.cos(angle) * yy
        pattern = pattern * np.sign(np.sin(2 * np.pi * v / period))
    return (1.0 + amplitude * pattern).astype(np.float32)


def _with_object(picture: np.ndarray, garment: np.ndarray, colour: np.ndarray, extra: np.random.Generator,
                 height: int, width: int) -> np.ndarray:
    """A hanger's hook or a small item near the frame edge farthest from the garment, in a garment-like colour."""
    from PIL import Image, ImageDraw, ImageFilter

    short = min(height, width)
    size = max(6, int(round(extra.uniform(*OBJECT_SIZE) * short)))
    rows, cols = np.nonzero(garment > 0.1)
    cy, cx = (rows.mean() / height, cols.mean() / width) if len(rows) else (0.5, 0.5)
    # the edge farthest from the garment's centre
    side = max((("top", cy), ("bottom", 1 - cy), ("left", cx), ("right", 1 - cx)), key=lambda e: e[1])[0]
    margin = int(round(extra.uniform(0.02, 0.06) * short))
    along = extra.uniform(0.2, 0.8)
    if side in ("top", "bottom"):
        x = int(along * (width - size))
        y = margin if side == "top" else height - margin - size
    else:
        y = int(along * (height - size))
        x = margin if side == "left" else width - margin - size
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    box = (x, y, x + size, y + size)
    if extra.random() < 0.5:  # a hanger's hook: a thick arc
        draw.arc(box, start=180, end=360 + 90, fill=255, width=max(2, size // 6))
    else:  # another small item: a blob
        draw.ellipse((x, y + size // 4, x + size, y + size - size // 4), fill=255)
    alpha = np.asarray(mask.filter(ImageFilter.GaussianBlur(max(0.5, size / 40))), np.float32)[..., None] / 255.0
    tint = np.clip(colour * extra.uniform(0.7, 1.2) + extra.uniform(-20, 20, 3), 0, 255).astype(np.float32)
    return picture * (1.0 - alpha) + tint[None, None, :] * alpha


def _vignette_and_flash(picture: np.ndarray, extra: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Dark corners (a radial fall-off of VIGNETTE) and a flash's hot spot (HOT_SPOT grey levels at its centre)."""
    height, width = yy.shape
    r = np.hypot((yy - height / 2) / (height / 2), (xx - width / 2) / (width / 2)) / np.sqrt(2)
    fall = 1.0 - extra.uniform(*VIGNETTE) * r ** 2
    sy, sx = extra.uniform(0.25, 0.75) * height, extra.uniform(0.25, 0.75) * width
    sigma = extra.uniform(0.08, 0.2) * min(height, width)
    spot = extra.uniform(*HOT_SPOT) * np.exp(-((yy - sy) ** 2 + (xx - sx) ** 2) / (2 * sigma ** 2))
    return picture * fall[..., None] + spot[..., None]
