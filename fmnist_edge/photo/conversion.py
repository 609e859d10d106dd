"""A camera picture -> the model's input: the Python side of docs/preprocessing.md.

Fashion-MNIST was made from product photos by a fixed conversion (trim to the garment,
fit the longest edge, centre, negate, 8-bit grey). `to_model_input` follows that recipe
for an arbitrary picture of one garment, step by step as the spec numbers them, in
integer arithmetic wherever a threshold decides something, so that the Kotlin (app) and
JavaScript (web page) ports give the same bytes. The golden vectors in
tests/golden/preprocess/ hold all three to it.

    grey = grey_pixels(rgb_or_rgba_uint8)      # step 1
    converted = to_model_input(grey, (28, 28))  # steps 2-9
    converted.image                              # (28, 28) uint8, light garment on black
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError

# Step 2: pictures are reduced by whole-pixel block averaging until their short side is
# below 2 x WORK_SHORT_SIDE: enough pixels to frame a garment that covers a third of the
# frame, few enough to stay within a few milliseconds.
WORK_SHORT_SIDE = 96
# Step 3: the background is a surface fitted to the picture's border band, this fraction of the
# short side wide: a level, a tilt in x and y (a lighting gradient) and a radial fall-off about the
# frame's centre (a lens's vignette, which a blend of the corners read as one uniform dark wall).
BAND_FRACTION = 20  # band width = max(1, short // BAND_FRACTION)
# Step 3: band pixels further than max(TRIM, 4 x the fit's median residual) from the fit are left
# out of the refit (a garment running off an edge, an object lying on the band).
TRIM = 24
# Step 3b: the surface cannot follow a flash's hot spot (a bright disc off the frame's centre), which lights the
# wall and the garment alike. So the wall near each pixel corrects it: the mean difference from the surface of
# the wall pixels (further than short // WALL_MARGIN_FRACTION from the foreground steps 4-5 find) within
# short // WALL_RADIUS_FRACTION, where they fill at least WALL_SHARE_PERCENT of that window; then steps 4-9
# run on the corrected difference. On photos of validation garments (never the reported ones), with
# res-s-photo: flash 82.5 -> 85.0%, crooked +1, print, object, cropped +0.5, messenger +1, texture -0.5, base
# (1,000) -0.1, angle unchanged; a window of short // 4 cost base pictures 0.6 points, short // 6 helped flash
# less (84.5), a margin of short // 40 or // 10 helped flash less (84.0).
WALL_MARGIN_FRACTION = 20
WALL_RADIUS_FRACTION = 3
WALL_SHARE_PERCENT = 10
# Step 4: the difference is smoothed by a 3x3 mean before it is thresholded: a wood-grain or woven wall
# (stripes a few working pixels apart) and a garment's print average out, a garment's outline does not.
# On photos of validation garments (never the reported ones), with res-s-photo: texture 81.5 -> 87.5%,
# base 89.7 -> 91.7%, crooked +2, print +1.5, messenger -1.5, every other row within 1 point. The garment's
# strength (step 8) keeps the unsmoothed difference: smoothing it too cost base pictures 2.4 points.
SMOOTH_RADIUS = 1  # a (2r+1) x (2r+1) mean
# Step 4: a strongly textured wall (stripes wider than the 3x3 mean averages out) leaves the border ring noisy:
# when its lower median |mean| is at least WIDE_SMOOTH_NOISE, the mask reads the 5x5 mean instead. On photos of
# validation garments (never the reported ones), with res-s-photo: texture 87.5 -> 90.0%, base (1,000), flash,
# print, crooked, object, messenger, angle and cropped unchanged; from a noise of 5 or 6 it cost base pictures
# 0.2-0.7 points, from 10 or 12 it helped texture less (88.5, 87.5).
WIDE_SMOOTH_NOISE = 8
WIDE_SMOOTH_RADIUS = 2
# Step 4: a pixel belongs to the foreground when its smoothed difference from the background exceeds
# max(MIN_THRESHOLD, NOISE_FACTOR x the border's median absolute smoothed difference).
MIN_THRESHOLD = 16
NOISE_FACTOR = 4
# Step 6: foreground pieces closer than this fraction of the short side are one garment
# (a sandal's straps, a shirt's collar) when the garment's region is chosen.
BRIDGE_FRACTION = 40  # dilation radius = max(1, short // BRIDGE_FRACTION)
# Step 6: a garment's outline is sharp, a flash's hot spot or a soft shadow is not: a foreground pixel is
# sharp where the difference changes by more than SHARP_NUMERATOR / SHARP_DENOMINATOR x the threshold
# across it (central differences in x and y, summed). The garment's region is the one with the most sharp
# pixels, and its box and polarity come from them. On photos of validation garments (never the reported
# ones) this took flash pictures from 49.5% to 84.5% with res-s-photo, every other row within 1.5 points;
# 1x the threshold gave 81.5%, 2x 86.0% but cost base pictures 0.6 points, 3x cost every row.
SHARP_NUMERATOR, SHARP_DENOMINATOR = 3, 2
# Step 6: a second region with at least this share of the chosen one's garment pixels is a second
# garment: predict says which one it took.
RIVAL_PERCENT = 50
# Step 6: fewer foreground pixels than this in the chosen region means no garment.
MIN_GARMENT_PIXELS = 12
# Step 6: a region touching all four edges and covering this share of the frame is not a garment
# on a background but a frame of texture: nothing to classify.
MAX_COVER_PERCENT = 95
# Step 8b: a tilted garment (a phone held crooked) is turned upright when a box turned by the slope
# k / TILT_RUN (k = -TILT_STEPS..TILT_STEPS: up to 30 degrees either way, steps of about 0.9) holds its pixels
# in at most TILT_GAIN percent of the upright box's area (Fashion-MNIST's items stand upright, their edges
# along the frame's). On photos of validation garments (never the reported ones), with res-s-photo: crooked
# 84.0 -> 90.0%, angle 84.0 -> 85.0, print 86.0 -> 86.5, texture 87.5 -> 88.0, messenger 93.5 -> 94.5,
# object 91.0 -> 90.5, base (1,000), flash and cropped unchanged. Turning whenever any slope gave a smaller box
# cost base pictures 0.6 points; the whole garment region's pixels instead of those inside the outline's box
# took a flash's hot spot for part of the garment (flash -7 points).
TILT_RUN = 64
TILT_STEPS = 37
TILT_GAIN = 95
# Step 9: Fashion-MNIST's own recipe sharpens after resizing. An unsharp mask of this amount (the
# image plus SHARPEN times its difference from a 3x3 binomial blur, kept within [0, peak]) lifted the
# models by 1-2 points on photos of validation garments (600 pictures, never the reported test ones).
SHARPEN = 1.0


@dataclass(frozen=True)
class Converted:
    """The model input and what the conversion decided on the way (for --save-input and tests)."""

    image: np.ndarray  # (H, W) uint8, light garment on a black background
    inverted: bool  # the garment was darker than its background, so it was negated
    box: tuple[int, int, int, int]  # top, left, bottom, right (exclusive) in the reduced picture
    reduction: int  # the block size of step 2
    background: tuple[int, int, int, int]  # the fitted background at the corners: top-left, top-right, bottom-left, bottom-right
    threshold: int
    # The slope step 8b turned the garment by, k / TILT_RUN (0: left upright); about 0.9 degrees a step,
    # positive when the garment leaned clockwise in the picture.
    tilt: int = 0
    # The next largest region when it has at least RIVAL_PERCENT of the chosen one's garment pixels (two
    # garments in the picture): its box in the reduced picture and its size as a percentage. Not part of
    # the model input (the spec's ports need not compute it); predict turns it into a note.
    rival: tuple[tuple[int, int, int, int], int] | None = None


LIGHT_BACKGROUND = 128  # step 0: a border ring whose mean is at least this is a light background


def negate_if_light(image: np.ndarray, invert: str = "auto") -> tuple[np.ndarray, bool]:
    """Step 0: an image already of the model's size; negated when forced, or (auto) when its border ring is light."""
    border = np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])
    flip = invert == "yes" or (invert == "auto" and bool(border.mean() >= LIGHT_BACKGROUND))
    return (255 - image if flip else image), flip


class NoGarmentError(DataError):
    """The picture holds no region that stands out from its background."""


def grey_pixels(pixels: np.ndarray) -> np.ndarray:
    """Step 1: RGB(A) or grey uint8 pixels -> grey uint8 (ITU-R 601 weights, alpha on white).

    grey = (19595 R + 38470 G + 7471 B + 32768) >> 16, the weights of Pillow's "L" mode; a
    transparent pixel is first composited on white: c = (c a + 255 (255 - a) + 127) // 255.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise DataError(f"pixels must be uint8, got {pixels.dtype}")
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise DataError(f"pixels must be (H, W), (H, W, 3) or (H, W, 4); got {pixels.shape}")
    channels = pixels.astype(np.int64)
    if pixels.shape[2] in (2, 4):  # grey+alpha or RGBA
        alpha = channels[..., -1:]
        channels = (channels[..., :-1] * alpha + 255 * (255 - alpha) + 127) // 255
    if channels.shape[2] == 1:
        return channels[..., 0].astype(np.uint8)
    r, g, b = channels[..., 0], channels[..., 1], channels[..., 2]
    return ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16).astype(np.uint8)


def reduction_factor(height: int, width: int) -> int:
    """Step 2's block size: the largest k with short side // k >= WORK_SHORT_SIDE (at least 1)."""
    return max(1, min(height, width) // WORK_SHORT_SIDE)


def block_average(grey: np.ndarray, k: int) -> np.ndarray:
    """Step 2: mean of each k x k block, rounded half up; rows and columns past the last whole block are dropped."""
    if k == 1:
        return grey
    h, w = grey.shape[0] // k, grey.shape[1] // k
    blocks = grey[:h * k, :w * k].astype(np.int64).reshape(h, k, w, k).sum(axis=(1, 3))
    return ((blocks + k * k // 2) // (k * k)).astype(np.uint8)


def to_model_input(grey: np.ndarray, size: tuple[int, int] = (28, 28), invert: str = "auto") -> Converted:
    """Steps 2-9 of docs/preprocessing.md: a grey picture of one garment -> (H, W) uint8 model input.

    Args:
        grey: (H, W) uint8 picture, any size (step 1's output).
        size: the model's (height, width).
        invert: "auto" negates when the garment is darker than its background; "yes"/"no" force it.

    Raises:
        NoGarmentError: nothing in the picture stands out from its background.

    Example:
        >>> converted = to_model_input(grey_pixels(np.asarray(Image.open("shirt.jpg"))))
        >>> converted.image.shape
        (28, 28)
    """
    k = reduction_factor(*grey.shape)
    small = block_average(grey, k).astype(np.int64)
    h, w = small.shape
    background = _fitted_background(small)
    background = background + _wall_nearby(small - background)  # step 3b: what the surface misses (a hot spot)
    corners = (int(background[0, 0]), int(background[0, -1]), int(background[-1, 0]), int(background[-1, -1]))
    raw = small - background  # signed: the garment's difference from the wall behind it
    diff, threshold, mask = _foreground(raw)  # steps 4-5

    # Step 6: the region with the most sharp pixels (a garment's outline), after bridging small gaps.
    dilated = _dilate(mask, max(1, min(h, w) // BRIDGE_FRACTION))
    sharp = mask & (SHARP_DENOMINATOR * _edge_strength(diff) > SHARP_NUMERATOR * threshold)
    region = _garment_region(dilated, sharp)
    garment = mask & region
    count = int(garment.sum())
    if count < MIN_GARMENT_PIXELS:
        raise NoGarmentError("no garment found: nothing in the picture stands out from its background")
    top, left, bottom, right = _bounding_box(garment)
    if top == 0 and left == 0 and bottom == h and right == w and 100 * count >= MAX_COVER_PERCENT * h * w:
        raise NoGarmentError("no garment found: the whole picture differs from its corners (no background to "
                             "separate the garment from)")
    # The box and the polarity follow the outline when it has enough pixels: a hot spot inside the
    # region widens neither. The 3x3 mean spreads a contrasty edge one pixel onto the wall, so the outline
    # is the sharp pixels whose own difference stands out too: a clean picture's box stays the garment's.
    outline = sharp & region & (np.abs(raw) > threshold)
    decided_by = outline if int(outline.sum()) >= MIN_GARMENT_PIXELS else garment
    top, left, bottom, right = _bounding_box(decided_by)

    # Step 7: polarity. The garment is darker than the background when its differences sum below zero.
    if invert == "auto":
        inverted = int(diff[decided_by].sum()) < 0
    else:
        inverted = invert == "yes"
    sign = -1 if inverted else 1
    # Step 8: the garment's strength above the background, the noise floor taken off.
    strength = np.clip(sign * raw[top:bottom, left:right] - threshold // 2, 0, None)
    strength[~region[top:bottom, left:right]] = 0  # clutter outside the garment's region stays background

    # Step 8b: turn a tilted garment upright, by the slope whose box holds its pixels in the least area.
    ys, xs = _row_ends(garment[top:bottom, left:right])
    tilt = _tilt(ys, xs)
    if tilt:
        strength = _turned_upright(strength, ys, xs, tilt)

    # Step 9: fit the longest edge, centre by the box, stretch the brightest pixel to 255.
    image = _fit_and_stretch(strength, size)
    return Converted(image, inverted, (top, left, bottom, right), k, corners, threshold, tilt,
                     _rival(mask, sharp, dilated & ~region, count, int((sharp & region).sum())))


def _row_ends(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first and last set pixel of every row that has one, as (ys, xs): a turned box's extents are theirs."""
    rows = np.flatnonzero(pixels.any(axis=1))
    firsts = pixels[rows].argmax(axis=1)
    lasts = pixels.shape[1] - 1 - pixels[rows, ::-1].argmax(axis=1)
    return np.concatenate([rows, rows]).astype(np.int64), np.concatenate([firsts, lasts]).astype(np.int64)


def _spreads(ys: np.ndarray, xs: np.ndarray, k: int) -> tuple[int, int, int, int]:
    """Step 8b's extents along the turned axes p = TILT_RUN x + k y and q = TILT_RUN y - k x: (min p, spread of p,
    min q, spread of q), each spread with TILT_RUN added (one pixel's width)."""
    p = TILT_RUN * xs + k * ys
    q = TILT_RUN * ys - k * xs
    return int(p.min()), int(p.max() - p.min()) + TILT_RUN, int(q.min()), int(q.max() - q.min()) + TILT_RUN


def _tilt(ys: np.ndarray, xs: np.ndarray) -> int:
    """Step 8b: the slope k (in steps of 1 / TILT_RUN) whose box holds the pixels at (ys, xs) in the least area,
    tried in the order 1, -1, 2, -2, ... after 0 (the first of equal areas wins); 0 unless that area is at most
    TILT_GAIN percent of the upright box's. Exact integers: a box's area is P Q / (TILT_RUN^2 + k^2)."""
    def area(k: int) -> int:
        _, p_spread, _, q_spread = _spreads(ys, xs, k)
        return p_spread * q_spread

    upright = area(0)
    best_k, best_area, best_norm = 0, upright, TILT_RUN * TILT_RUN
    for k in (sign * m for m in range(1, TILT_STEPS + 1) for sign in (1, -1)):
        turned, norm = area(k), TILT_RUN * TILT_RUN + k * k
        if turned * best_norm < best_area * norm:
            best_k, best_area, best_norm = k, turned, norm
    if best_k and 100 * best_area * TILT_RUN * TILT_RUN <= TILT_GAIN * upright * best_norm:
        return best_k
    return 0


def _turned_upright(strength: np.ndarray, ys: np.ndarray, xs: np.ndarray, k: int) -> np.ndarray:
    """Step 8b: the box turned by slope k / TILT_RUN that holds the pixels at (ys, xs), sampled bilinearly from
    `strength` (0 outside it), in doubles in the spec's order of operations."""
    p_min, p_spread, q_min, q_spread = _spreads(ys, xs, k)
    run, slope = float(TILT_RUN), float(k)
    length = np.sqrt(run * run + slope * slope)
    width = int(np.floor((p_spread - TILT_RUN) / length)) + 1
    height = int(np.floor((q_spread - TILT_RUN) / length)) + 1
    across = p_min / length + np.arange(width, dtype=np.float64)[None, :]
    down = q_min / length + np.arange(height, dtype=np.float64)[:, None]
    x = (run * across - slope * down) / length
    y = (slope * across + run * down) / length
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    padded = np.pad(strength.astype(np.float64), 1)  # the zero border stands for "outside the box"
    h, w = strength.shape

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return padded[np.clip(yy, -1, h) + 1, np.clip(xx, -1, w) + 1]

    return ((at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx) * (1 - fy)
            + (at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx) * fy)


def _foreground(raw: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Steps 4-5: the difference's 3x3 mean, 5x5 on a strongly textured wall (what decides the mask, the outline
    and the polarity), the threshold from the noise on the picture's border ring, and the cleaned foreground mask."""
    diff = _smoothed(raw, SMOOTH_RADIUS)
    noise = _ring_noise(diff)
    if noise >= WIDE_SMOOTH_NOISE:  # a strongly textured wall: a wider mean
        diff = _smoothed(raw, WIDE_SMOOTH_RADIUS)
        noise = _ring_noise(diff)
    threshold = max(MIN_THRESHOLD, NOISE_FACTOR * noise)
    return diff, threshold, _open3(np.abs(diff) > threshold)


def _ring_noise(diff: np.ndarray) -> int:
    """Step 4: the lower median of |diff| over the picture's outermost ring (every pixel when h or w is 1)."""
    h, w = diff.shape
    ring = np.concatenate([diff[0], diff[-1], diff[1:-1, 0], diff[1:-1, -1]]) if h > 1 and w > 1 else diff.ravel()
    return _lower_median(np.abs(ring))


def _wall_nearby(raw: np.ndarray) -> np.ndarray:
    """Step 3b: at every pixel, the mean difference of the wall pixels within WALL_RADIUS_FRACTION of the short
    side (rounded half up), where they fill at least WALL_SHARE_PERCENT of that window; else 0. Wall pixels are
    those further than WALL_MARGIN_FRACTION of the short side from steps 4-5's foreground on this difference."""
    h, w = raw.shape
    _, _, mask = _foreground(raw)
    wall = ~_dilate(mask, max(1, min(h, w) // WALL_MARGIN_FRACTION))
    r = max(1, min(h, w) // WALL_RADIUS_FRACTION)
    total = _window_sums(np.where(wall, raw, 0), r)
    count = _window_sums(wall.astype(np.int64), r)
    pixels = _window_sums(np.ones_like(raw), r)
    enough = 100 * count >= WALL_SHARE_PERCENT * pixels
    safe = np.maximum(count, 1)
    return np.where(enough, (2 * total + safe) // (2 * safe), 0)


def _window_sums(values: np.ndarray, r: int) -> np.ndarray:
    """Sum of `values` over the (2r+1) x (2r+1) window about every pixel, clipped to the picture (exact integers,
    by a summed-area table)."""
    h, w = values.shape
    table = np.zeros((h + 1, w + 1), np.int64)
    table[1:, 1:] = values.astype(np.int64).cumsum(axis=0).cumsum(axis=1)
    y0, y1 = np.clip(np.arange(h) - r, 0, h), np.clip(np.arange(h) + r + 1, 0, h)
    x0, x1 = np.clip(np.arange(w) - r, 0, w), np.clip(np.arange(w) + r + 1, 0, w)
    return table[y1][:, x1] - table[y0][:, x1] - table[y1][:, x0] + table[y0][:, x0]


def _rival(mask: np.ndarray, sharp: np.ndarray, rest: np.ndarray, count: int, outline: int):
    """The region of `rest` (the dilated mask without the chosen region) step 6 would choose next, when its
    garment pixels are at least RIVAL_PERCENT of `count` and its sharp pixels of `outline` (a hot spot has
    no outline): (its box, its size in percent of the chosen one's), else None."""
    region = _garment_region(rest, sharp)
    other = mask & region
    pixels = int(other.sum())
    if (pixels < MIN_GARMENT_PIXELS or 100 * pixels < RIVAL_PERCENT * count
            or 100 * int((sharp & region).sum()) < RIVAL_PERCENT * outline):
        return None
    return _bounding_box(other), round(100 * pixels / count)


def _bounding_box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """top, left, bottom, right (bottom and right exclusive) of the set pixels (at least one)."""
    rows, cols = np.nonzero(pixels.any(axis=1))[0], np.nonzero(pixels.any(axis=0))[0]
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _smoothed(diff: np.ndarray, radius: int) -> np.ndarray:
    """Step 4: floor((sum of the (2r+1) x (2r+1) neighbourhood + side^2 // 2) / side^2), coordinates clamped to
    the picture."""
    side = 2 * radius + 1
    padded = np.pad(diff, radius, mode="edge")
    h, w = diff.shape
    total = sum(padded[dy:dy + h, dx:dx + w] for dy in range(side) for dx in range(side))
    return (total + side * side // 2) // (side * side)  # numpy's // floors, as the spec's does


def _edge_strength(diff: np.ndarray) -> np.ndarray:
    """Step 6: |d(y, x+1) - d(y, x-1)| + |d(y+1, x) - d(y-1, x)|, coordinates clamped to the picture."""
    padded = np.pad(diff, 1, mode="edge")
    return (np.abs(padded[1:-1, 2:] - padded[1:-1, :-2]) + np.abs(padded[2:, 1:-1] - padded[:-2, 1:-1]))


def _lower_median(values: np.ndarray) -> int:
    """The lower median: sorted ascending, element (count - 1) // 2 (an element: integer arithmetic stays integer)."""
    return int(np.sort(values, axis=None)[(values.size - 1) // 2])


def _surface_terms(ys: np.ndarray, xs: np.ndarray, h: int, w: int) -> list[np.ndarray]:
    """Step 3's four terms at pixels (ys, xs), integers: 1, u, v and q (u, v: twice the offset from the centre;
    q: the squared radius, each axis scaled to the frame's shape, so that a lens's circular fall-off is one term)."""
    u = 2 * xs.astype(np.int64) - (w - 1)
    v = 2 * ys.astype(np.int64) - (h - 1)
    q = (u * u * (h - 1) * (h - 1) + v * v * (w - 1) * (w - 1)) // max(1, (w - 1) * (h - 1))
    return [np.ones_like(u), u, v, q]


def _fitted_background(small: np.ndarray) -> np.ndarray:
    """Step 3: the background surface c0 + c1 u + c2 v + c3 q fitted to the border band, rounded half up.

    Least squares over the band, then robust to what lies on it: five fits (the whole band, and the band
    without each of its four sides, for a garment running off one edge) are scored by the lower median of
    their residuals over the whole band; the best one's outliers are left out and the fit is made again,
    twice. Sums are exact integers; the 4x4 solve is written out so the ports reproduce it bit for bit.
    """
    h, w = small.shape
    b = max(1, min(h, w) // BAND_FRACTION)
    ys, xs = np.nonzero(_band(h, w, b))
    level = small[ys, xs].astype(np.int64)
    terms = _surface_terms(ys, xs, h, w)
    best = None
    for left_out in (np.zeros(len(level), bool), ys < b, ys >= h - b, xs < b, xs >= w - b):
        residual = np.abs(level - _evaluate(_least_squares(terms, level, ~left_out), terms))
        score = _lower_median(residual)
        if best is None or score < best[0]:
            best = (score, residual)
    keep = best[1] <= max(TRIM, 4 * best[0])
    for _ in range(2):
        coefficients = _least_squares(terms, level, keep)
        residual = np.abs(level - _evaluate(coefficients, terms))
        keep = residual <= max(TRIM, 4 * _lower_median(residual[keep]))
    yy, xx = np.mgrid[0:h, 0:w]
    return _evaluate(coefficients, _surface_terms(yy, xx, h, w))


def _band(h: int, w: int, b: int) -> np.ndarray:
    band = np.zeros((h, w), bool)
    band[:b] = band[h - b:] = True
    band[:, :b] = band[:, w - b:] = True
    return band


def _least_squares(terms: list[np.ndarray], level: np.ndarray, keep: np.ndarray) -> list[float]:
    """The coefficients minimizing the squared residual over the kept pixels: the normal equations (exact
    integer sums, then doubles), Gaussian elimination with partial pivoting (the first largest pivot), a
    zero pivot's coefficient 0."""
    n = len(terms)
    kept = [t[keep] for t in terms]
    rows = [[float(int((kept[i] * kept[j]).sum())) for j in range(n)] + [float(int((kept[i] * level[keep]).sum()))]
            for i in range(n)]
    for col in range(n):
        pivot = col
        for r in range(col + 1, n):
            if abs(rows[r][col]) > abs(rows[pivot][col]):
                pivot = r
        rows[col], rows[pivot] = rows[pivot], rows[col]
        if rows[col][col] == 0.0:
            continue
        for r in range(col + 1, n):
            factor = rows[r][col] / rows[col][col]
            for c in range(col, n + 1):
                rows[r][c] = rows[r][c] - factor * rows[col][c]
    solution = [0.0] * n
    for r in range(n - 1, -1, -1):
        total = rows[r][n]
        for c in range(r + 1, n):
            total = total - rows[r][c] * solution[c]
        solution[r] = total / rows[r][r] if rows[r][r] != 0.0 else 0.0
    return solution


def _evaluate(coefficients: list[float], terms: list[np.ndarray]) -> np.ndarray:
    """((c0 + c1 u) + c2 v) + c3 q in doubles, in that order, rounded half up to integers."""
    c0, c1, c2, c3 = coefficients
    value = c0 * terms[0].astype(np.float64) + c1 * terms[1].astype(np.float64)
    value = value + c2 * terms[2].astype(np.float64) + c3 * terms[3].astype(np.float64)
    return np.floor(value + 0.5).astype(np.int64)


def _shifted(mask: np.ndarray, dy: int, dx: int, fill: bool) -> np.ndarray:
    out = np.full_like(mask, fill)
    h, w = mask.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = mask[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    """Square (2r+1) erosion; outside the picture counts as foreground, so edges do not erode."""
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out &= _shifted(mask, dy, dx, True)
    return out


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    """Square (2r+1) dilation."""
    # Separable: a square's dilation is a row dilation followed by a column dilation.
    rows = mask.copy()
    for dx in range(1, r + 1):
        rows |= _shifted(mask, 0, dx, False) | _shifted(mask, 0, -dx, False)
    out = rows.copy()
    for dy in range(1, r + 1):
        out |= _shifted(rows, dy, 0, False) | _shifted(rows, -dy, 0, False)
    return out


def _open3(mask: np.ndarray) -> np.ndarray:
    """Step 5: 3x3 opening (erode, then dilate): removes specks of noise and texture."""
    return _dilate(_erode(mask, 1), 1)


def _garment_region(mask: np.ndarray, sharp: np.ndarray) -> np.ndarray:
    """Step 6: the 8-connected region of `mask` with the most `sharp` pixels; on a tie the one with the most
    pixels, then the first in raster order (so with no sharp pixel at all, the largest region).

    Labels runs of foreground pixels row by row and joins runs of neighbouring rows that touch
    (8-connectivity: columns overlapping when widened by one), with union-find.
    """
    runs = []  # (row, start, end exclusive)
    for r, line in enumerate(mask):
        padded = np.concatenate(([False], line, [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        runs.extend((r, int(s), int(e)) for s, e in zip(edges[::2], edges[1::2]))
    if not runs:
        return np.zeros_like(mask)
    parent = list(range(len(runs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    previous_row: list[int] = []
    current_row: list[int] = []
    row = runs[0][0]
    for i, (r, s, e) in enumerate(runs):
        if r != row:
            previous_row = current_row if r == row + 1 else []
            current_row, row = [], r
        for j in previous_row:
            _, ps, pe = runs[j]
            if ps <= e and s <= pe:  # [s-1, e+1) overlaps [ps, pe): touching, diagonals included
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # the root is the region's first run in raster order
        current_row.append(i)
    sizes: dict[int, int] = {}
    edges: dict[int, int] = {}
    for i, (r, s, e) in enumerate(runs):
        root = find(i)
        sizes[root] = sizes.get(root, 0) + e - s
        edges[root] = edges.get(root, 0) + int(sharp[r, s:e].sum())
    best = min(sizes, key=lambda root: (-edges[root], -sizes[root], root))
    out = np.zeros_like(mask)
    for i, (r, s, e) in enumerate(runs):
        if find(i) == best:
            out[r, s:e] = True
    return out


def _fit_and_stretch(strength: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Step 9: area-average the box so its longest edge fills the frame, centre it, sharpen, stretch to 255."""
    out_h, out_w = size
    h, w = strength.shape
    # Scale so the box fits: the longest edge relative to the frame decides.
    if h * out_w >= w * out_h:
        new_h, new_w = out_h, max(1, (2 * w * out_h + h) // (2 * h))
    else:
        new_h, new_w = max(1, (2 * h * out_w + w) // (2 * w)), out_w
    resized = _area_matrix(h, new_h) @ strength.astype(np.float64) @ _area_matrix(w, new_w).T
    top, left = (out_h - new_h) // 2, (out_w - new_w) // 2
    image = np.zeros(size, np.float64)
    image[top:top + new_h, left:left + new_w] = resized
    peak = image.max()
    # Sharpened values stay within [0, peak]: overshoot at bright edges saturates, as in an 8-bit image.
    image = np.clip(image + SHARPEN * (image - _binomial_blur(image)), 0.0, peak)
    if peak <= 0:
        return np.zeros(size, np.uint8)
    return np.floor(image * (255.0 / peak) + 0.5).clip(0, 255).astype(np.uint8)


def _binomial_blur(image: np.ndarray) -> np.ndarray:
    """3x3 blur with weights [1, 2, 1] x [1, 2, 1] / 16, edge pixels repeated: summed row by row, as the spec says."""
    padded = np.pad(image, 1, mode="edge")
    h, w = image.shape
    weights = (1.0, 2.0, 1.0)
    total = np.zeros_like(image)
    for dy in range(3):
        for dx in range(3):
            total = total + (weights[dy] * weights[dx]) * padded[dy:dy + h, dx:dx + w]
    return total / 16.0


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of area averaging: output cell i covers input [i n_in / n_out, (i+1) n_in / n_out)."""
    weights = np.zeros((n_out, n_in), np.float64)
    for i in range(n_out):
        start, end = i * n_in / n_out, (i + 1) * n_in / n_out
        for j in range(int(start), min(n_in, int(np.ceil(end)))):
            weights[i, j] = min(end, j + 1) - max(start, j)
    return weights / (n_in / n_out)
