"""The tf.data input pipeline: uint8 arrays in, batches of float images and one-hot labels out.

Images stay uint8 until here (a quarter of the memory of float32). Augmentation runs
on whole batches after batching, with vectorized ops, on the fly each epoch: with only
two CPU cores, per-image Python-level work would starve the model.

Levels:
    none    scale to [0, 1]
    basic   + random shift of up to `max_shift` pixels (zero fill; MAX_SHIFT_PX unless the run says
            otherwise) and horizontal flip
    strong  + random erasing (one random rectangle per image, probability 0.5, up to `erase_area` of it)
    photo   basic + camera conditions as they look after the photo conversion of
            docs/preprocessing.md (a `photo_share` of the images, PHOTO_PROBABILITY unless the run
            says otherwise): a rotation (for some up to 28 degrees, a crooked phone), a shear and
            squash (shot at an angle), a side cut away (running off the frame), the box fitted
            back as the conversion fits it, a print, blur, contrast (gamma), a hot spot's disc, a
            faint background residue with a gradient, sensor noise and the loss of detail of a
            low-resolution or compressed picture
"""
from __future__ import annotations

import math

import numpy as np

from ..contract import PIXEL_SCALE
from .. import _tf
from ..settings import AUGMENTATIONS, ERASE_MAX_AREA, MAX_SHIFT_PX, PHOTO_PROBABILITY

ERASE_PROBABILITY = 0.5
ERASE_MIN_AREA = 0.02  # fraction of the image, as in the random-erasing paper (Zhong et al.); the largest: settings
ERASE_ASPECT = (0.3, 3.3)
# Camera conditions (augment="photo"), each range chosen to cover what the photo conversion
# leaves on the pictures of benchmarks/photos.py rendered from *training* images, the careless
# conditions included (fmnist_edge.photo.render.CARELESS).
PHOTO_ROTATION_DEG = 10.0
PHOTO_WIDE_ROTATION = 0.3  # share of photo images turned further: a phone held crooked
PHOTO_WIDE_ROTATION_DEG = 28.0
PHOTO_SLANT = 0.25  # share shot at an angle: sheared and squashed along one axis
PHOTO_SHEAR_DEG = 18.0
PHOTO_SQUASH = (0.75, 0.9)
PHOTO_CUT = 0.15  # share with part of the garment cut away at one side: running off the frame
PHOTO_CUT_SHARE = (0.04, 0.12)  # of the garment's extent
PHOTO_PRINT = 0.15  # share with a print: stripes or checks across the cloth
# What the conversion leaves of the renderer's prints (square waves 5-10% of the garment's size apart, the
# cloth's colour 25-45% either side): hard-edged stripes about 1.9-5.6 px apart at 28x28 (median 3.1), the
# dark ones at 22-58% of the bright ones' level (median 36%), since the background's subtraction takes a dim
# stripe's strength toward zero (`python benchmarks/print_pattern.py`, on the tuning set's print pictures).
# Drawn at these ranges, the print costs res-s-photo as much as those pictures do (86.7% against 87.5%).
PHOTO_PRINT_DEPTH = (0.4, 1.0)
PHOTO_PRINT_PERIOD_PX = (1.8, 4.0)
PRINT_SUPERSAMPLE = 4  # the stripes are drawn on a 4x finer grid and averaged down, as a camera's pixels do
PHOTO_SPOT = 0.15  # share with what a flash's hot spot leaves: a small bright disc on the cloth
# What the conversion leaves of a flash (flash pictures rendered from validation garments, against the same
# pictures without it): a disc peaking at 0.06-0.70 of the garment's brightest level (median 0.34), its
# half-maximum 6-53 px (sigma about 1.2-3.5 px).
PHOTO_SPOT_LEVEL = (0.15, 0.7)
PHOTO_SPOT_SIGMA_PX = (1.5, 4.0)
PHOTO_UNEVEN = 0.2  # share lit unevenly: a vignette's fall-off or a lamp to one side dims the cloth across it
PHOTO_UNEVEN_DEPTH = (0.2, 0.6)  # the far side's brightness falls by this share (VIGNETTE of the renderer: 0.45-0.7)
PHOTO_GAMMA = (0.7, 1.45)  # contrast: cloth colour against the wall is not linear in grey
PHOTO_RESIDUE = 0.08  # at most this much background left after subtraction, as a tilted plane
PHOTO_NOISE = 0.04  # standard deviation, at most
PHOTO_DETAIL_LOSS = 0.3  # share of photo images averaged over 2x2 blocks (a small or compressed garment)
# The geometric conditions are drawn at twice the size, with the garment shrunk by this factor so that
# a turned and sheared garment stays inside the frame, then fitted back like the conversion's step 9.
PHOTO_SUPERSAMPLE = 2
PHOTO_ROOM = 1.6

def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    batch_size: int,
    *,
    augment: str = "none",
    shuffle: bool = False,
    seed: int = 0,
    device: str | None = None,
    targets=None,
    soft_targets: np.ndarray | None = None,
    photo_share: float = PHOTO_PROBABILITY,
    max_shift: int = MAX_SHIFT_PX,
    erase_area: float = ERASE_MAX_AREA,
):
    """A batched tf.data.Dataset of (float32 images (B, H, W, 1) in [0, 1], one-hot labels (B, C)).

    Args:
        x: uint8 images (N, H, W).
        y: integer labels (N,).
        augment: one of AUGMENTATIONS (see the module docstring).
        shuffle: reshuffle every epoch (training); evaluation sets keep their order.
        device: prefetch finished batches onto this device ("/gpu:0"), so a GPU never waits for the
            host's copy; None leaves them in host memory.
        targets: a map function (images, one-hot labels) -> (images, y) on the finished batches, e.g.
            adding a teacher's soft targets to the labels (knowledge distillation).
        soft_targets: (N, K) float per image, joined to the labels the same way: y = [one-hot | soft]
            (targets computed ahead, such as a garment teacher's prices of closet canvases).
        photo_share: with augment="photo", the share of images given camera conditions.
        max_shift: with any augmentation, the largest random shift in pixels.
        erase_area: with augment="strong", the largest share of an image random erasing blanks.

    Example:
        >>> ds = make_dataset(data.x_train, data.y_train, 10, 128, augment="basic", shuffle=True)
    """
    tf = _tf.tf()
    if soft_targets is None:
        ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32), soft_targets.astype(np.float32)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    transform = _batch_transform(x.shape[1], x.shape[2], num_classes, augment, seed, photo_share, max_shift,
                                 erase_area)
    ds = ds.map(transform if soft_targets is None else _joined(transform),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if targets is not None:
        ds = ds.map(targets, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if augment == "none" and not shuffle:
        ds = ds.cache()  # evaluation batches are identical every epoch: compute them once
    if device is not None:
        return ds.apply(tf.data.experimental.prefetch_to_device(device, buffer_size=2))
    return ds.prefetch(tf.data.AUTOTUNE)


def make_fresh_closet_dataset(garments: np.ndarray, labels: np.ndarray, n: int, num_classes: int, batch_size: int, *,
                              augment: str = "none", seed: int = 0, first_epoch: int = 0, targets=None,
                              photo_share: float = PHOTO_PROBABILITY, augment_each: bool = False,
                              price_targets=None, max_shift: int = MAX_SHIFT_PX, erase_area: float = ERASE_MAX_AREA):
    """Training batches of closet canvases composed anew every epoch (data/closet.py fresh_canvases): n
    canvases per pass, epoch e's drawn from (seed, e). Keras iterates the training set once per epoch,
    and each pass starts the generator again, so the passes count the epochs from `first_epoch` (a
    resumed run's completed epochs); `augment_each`: each garment is changed on its own before it is
    pasted (closet.augment_garments); `price_targets`: a function of the garments each canvas of a batch holds
    ((B, MAX_ITEMS) indices into `garments`) to soft targets (B, num_classes), joined to the labels as
    make_dataset's soft_targets. Then the same transforms as make_dataset."""
    import itertools

    from .closet import CANVAS_SHAPE, fresh_canvases

    tf = _tf.tf()
    epochs = itertools.count(first_epoch)
    height, width = CANVAS_SHAPE

    def one_epoch():
        for x, y, items in fresh_canvases(garments, labels, n, batch_size, seed, next(epochs), augment_each,
                                          with_items=True):
            yield (x, y) if price_targets is None else (x, y, price_targets(items).astype(np.float32))

    signature = (tf.TensorSpec((None, height, width), tf.uint8), tf.TensorSpec((None,), tf.int64))
    if price_targets is not None:
        signature += (tf.TensorSpec((None, num_classes), tf.float32),)
    ds = tf.data.Dataset.from_generator(one_epoch, output_signature=signature)
    # Keras runs steps_per_execution steps per call: it must know how many batches an epoch has
    ds = ds.apply(tf.data.experimental.assert_cardinality(math.ceil(n / batch_size)))
    transform = _batch_transform(height, width, num_classes, augment, seed, photo_share, max_shift, erase_area)
    ds = ds.map(transform if price_targets is None else _joined(transform),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if targets is not None:
        ds = ds.map(targets, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _joined(transform):
    """`transform` for batches that carry soft targets: (images, labels, soft) -> (images, [one-hot | soft])."""
    tf = _tf.tf()

    def joined(images, labels, soft):
        images, one_hot = transform(images, labels)
        return images, tf.concat([one_hot, soft], axis=-1)

    return joined


def _batch_transform(height: int, width: int, num_classes: int, augment: str, seed: int, photo_share: float,
                     max_shift: int, erase_area: float):
    tf = _tf.tf()
    if augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augment!r}")

    def transform(images, labels):
        if augment != "none":
            images = shift_and_flip(images, max_shift, seed=seed)
        images = tf.cast(images, tf.float32)[..., None] / PIXEL_SCALE  # the input contract (contract.py)
        if augment == "strong":
            images = random_erasing(images, max_area=erase_area)
        if augment == "photo":
            images = photo_conditions(images, photo_share)
        return images, tf.one_hot(labels, num_classes)

    return transform


def shift_and_flip(images, max_shift: int, seed: int | None = None):
    """Shift each image of a (B, H, W) batch by whole pixels (up to `max_shift`, zero fill) and
    flip half of them horizontally.

    One pad and two gathers on the raw uint8 batch: every image gets its own crop window
    of the zero-padded batch, read in reverse column order when it is flipped. Whole-pixel
    moves need no interpolation, so this costs a fraction of a projective transform on
    float images (measured in benchmarks/train_throughput.py).
    """
    tf = _tf.tf()
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    padded = tf.pad(images, [[0, 0], [max_shift, max_shift], [max_shift, max_shift]])
    span = 2 * max_shift + 1
    dy = tf.random.uniform([batch], 0, span, tf.int32, seed=seed)
    dx = tf.random.uniform([batch], 0, span, tf.int32, seed=None if seed is None else seed + 1)
    flip = tf.random.uniform([batch], seed=None if seed is None else seed + 2) < 0.5
    rows = dy[:, None] + tf.range(height)[None, :]
    columns = tf.where(flip[:, None], tf.range(width - 1, -1, -1)[None, :], tf.range(width)[None, :])
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)  # (B, H, W + 2 * max_shift)
    return tf.gather(shifted, dx[:, None] + columns, axis=2, batch_dims=1)


def random_erasing(images, probability: float = ERASE_PROBABILITY, max_area: float = ERASE_MAX_AREA):
    """Zero one random rectangle (ERASE_MIN_AREA to `max_area` of the image) in each image of a (B, H, W, C)
    batch with `probability`.

    Vectorized over the batch: each image's rectangle is a mask built from coordinate
    comparisons, so the cost is a few elementwise ops per batch.
    """
    tf = _tf.tf()
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    area = tf.random.uniform([batch], ERASE_MIN_AREA, max_area) * h * w
    aspect = tf.exp(tf.random.uniform([batch], math.log(ERASE_ASPECT[0]), math.log(ERASE_ASPECT[1])))
    erase_h = tf.clip_by_value(tf.round(tf.sqrt(area * aspect)), 1.0, h)
    erase_w = tf.clip_by_value(tf.round(tf.sqrt(area / aspect)), 1.0, w)
    top = tf.floor(tf.random.uniform([batch]) * (h - erase_h + 1.0))
    left = tf.floor(tf.random.uniform([batch]) * (w - erase_w + 1.0))
    rows = tf.cast(tf.range(height), tf.float32)[None, :, None]
    cols = tf.cast(tf.range(width), tf.float32)[None, None, :]
    inside = (
        (rows >= top[:, None, None]) & (rows < (top + erase_h)[:, None, None])
        & (cols >= left[:, None, None]) & (cols < (left + erase_w)[:, None, None])
    )
    chosen = tf.random.uniform([batch]) < probability
    mask = inside & chosen[:, None, None]
    return tf.where(mask[..., None], tf.zeros_like(images), images)


def photo_conditions(images, probability: float = PHOTO_PROBABILITY):
    """Camera conditions on a (B, H, W, 1) float batch in [0, 1], for a `probability` share of its images.

    Vectorized over the chosen images (gathered, changed, scattered back, so the rest cost nothing): at
    twice the size, one projective transform (each image its own rotation, shear and squash), a cut at
    one side for some, then the garment's box fitted back to the frame as the conversion does (longest
    edge filling it, centred; one crop_and_resize with a box per image); then a print, blur, loss of
    detail, contrast, uneven light, a hot spot's disc, a background residue and noise, each an elementwise
    op or one fixed convolution.
    """
    tf = _tf.tf()
    chosen = tf.where(tf.random.uniform([tf.shape(images)[0]]) < probability)
    changed = _camera_conditions(tf.gather_nd(images, chosen))
    return tf.tensor_scatter_nd_update(images, chosen, changed)


def _camera_conditions(images):
    """photo_conditions' changes, on every image of a (B, H, W, 1) batch."""
    tf = _tf.tf()
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)

    def uniform(low, high):
        return tf.random.uniform([batch], low, high)

    def share(p):
        return tf.random.uniform([batch]) < p

    def per_image(v):
        return v[:, None, None, None]

    out = _turned_sheared_and_refitted(images, uniform, share)
    # A print: hard-edged stripes (or checks) across the cloth.
    depth = tf.cast(share(PHOTO_PRINT), tf.float32) * uniform(*PHOTO_PRINT_DEPTH)
    out = printed(out, depth, uniform(*PHOTO_PRINT_PERIOD_PX), uniform(0.0, math.pi), uniform(0.0, 1.0),
                  share(0.5))
    rows = tf.cast(tf.range(height), tf.float32)[None, :, None, None]
    cols = tf.cast(tf.range(width), tf.float32)[None, None, :, None]
    # Blur: a binomial 3x3 kernel, blended in by a per-image weight.
    kernel = tf.constant([1.0, 2.0, 1.0]) / 4.0
    kernel = (kernel[:, None] * kernel[None, :])[:, :, None, None]
    blurred = tf.nn.conv2d(out, kernel, strides=1, padding="SAME")
    out = out + per_image(uniform(0.0, 1.0)) * (blurred - out)
    # Loss of detail: 2x2 block averages for a share of the images.
    coarse = tf.image.resize(tf.nn.avg_pool2d(out, 2, 2, "SAME"), shape[1:3], method="bilinear")
    out = out + per_image(tf.cast(share(PHOTO_DETAIL_LOSS), tf.float32)) * (coarse - out)
    # Contrast, then renormalise so the brightest pixel stays where the conversion puts it (255).
    peak = tf.reduce_max(out, axis=[1, 2, 3], keepdims=True)
    gamma = per_image(tf.exp(uniform(math.log(PHOTO_GAMMA[0]), math.log(PHOTO_GAMMA[1]))))
    out = tf.pow(tf.math.divide_no_nan(tf.nn.relu(out), peak), gamma) * peak
    # Uneven light, then what a flash's hot spot leaves: a small bright disc somewhere in the middle. The
    # conversion stretches the brightest pixel to 255 again, so a spot dims the rest of the cloth.
    depth = tf.cast(share(PHOTO_UNEVEN), tf.float32) * uniform(*PHOTO_UNEVEN_DEPTH)
    out = unevenly_lit(out, depth, uniform(0.0, 2 * math.pi))
    cy, cx = per_image(uniform(0.25, 0.75) * h), per_image(uniform(0.25, 0.75) * w)
    sigma = per_image(uniform(*PHOTO_SPOT_SIGMA_PX))
    spot = per_image(tf.cast(share(PHOTO_SPOT), tf.float32) * uniform(*PHOTO_SPOT_LEVEL))
    out = out + spot * tf.exp(-((rows - cy) ** 2 + (cols - cx) ** 2) / (2 * sigma ** 2))
    out = tf.math.divide_no_nan(out * peak, tf.reduce_max(out, axis=[1, 2, 3], keepdims=True))
    # A faint background residue: an offset plane with a random tilt.
    level = per_image(uniform(0.0, PHOTO_RESIDUE))
    tilt_y, tilt_x = (per_image(uniform(-1.0, 1.0)) * level for _ in range(2))
    plane = tf.nn.relu(level + tilt_y * (rows / h - 0.5) + tilt_x * (cols / w - 0.5))
    out = out + plane * per_image(tf.cast(share(0.5), tf.float32))
    out = out + tf.random.normal(tf.shape(out)) * per_image(uniform(0.0, PHOTO_NOISE))
    return tf.clip_by_value(out, 0.0, 1.0)


def printed(images, depth, period, angle, phase, checked):
    """A (B, H, W, 1) batch with a print on it: square-wave stripes `period[i]` pixels apart at `angle[i]`
    (radians; 0: vertical stripes), shifted by `phase[i]` periods, crossed by a second set at right angles
    (checks) where `checked[i]`; the dark bands scaled by 1 - depth[i]. The wave is drawn on a
    PRINT_SUPERSAMPLE times finer grid and averaged over each pixel, so a period near two pixels blurs and
    beats as it does in a downscaled picture instead of aliasing. depth 0 leaves an image as it is."""
    tf = _tf.tf()
    shape = tf.shape(images)
    n = PRINT_SUPERSAMPLE
    rows = (tf.cast(tf.range(shape[1] * n), tf.float32) + 0.5) / n
    cols = (tf.cast(tf.range(shape[2] * n), tf.float32) + 0.5) / n
    cos, sin = tf.cos(angle)[:, None, None], tf.sin(angle)[:, None, None]
    period, phase = period[:, None, None], phase[:, None, None]
    along = cos * cols[None, None, :] + sin * rows[None, :, None]
    across = cos * rows[None, :, None] - sin * cols[None, None, :]
    bands = tf.sign(tf.sin(2 * math.pi * (along / period + phase)))
    crossed = bands * tf.sign(tf.sin(2 * math.pi * (across / period + phase)))
    bright = (tf.where(checked[:, None, None], crossed, bands) + 1.0) / 2.0  # 1 on a bright band, 0 on a dark one
    gain = 1.0 - depth[:, None, None] * (1.0 - bright)
    return images * tf.nn.avg_pool2d(gain[..., None], n, n, "VALID")


def unevenly_lit(images, depth, direction):
    """A (B, H, W, 1) batch lit unevenly: each image's brightness scaled by a gain falling linearly from 1 on
    one side of the frame to 1 - depth[i] on the other, along the angle direction[i] (radians; 0: left to
    right), then stretched so its brightest pixel keeps its level. depth 0 leaves an image as it is."""
    tf = _tf.tf()
    shape = tf.shape(images)
    rows = (tf.cast(tf.range(shape[1]), tf.float32) + 0.5) / tf.cast(shape[1], tf.float32) - 0.5
    cols = (tf.cast(tf.range(shape[2]), tf.float32) + 0.5) / tf.cast(shape[2], tf.float32) - 0.5
    along = (tf.cos(direction)[:, None, None] * cols[None, None, :]
             + tf.sin(direction)[:, None, None] * rows[None, :, None])  # -0.71..0.71 over the frame
    low = tf.reduce_min(along, axis=[1, 2], keepdims=True)
    high = tf.reduce_max(along, axis=[1, 2], keepdims=True)
    ramp = tf.math.divide_no_nan(along - low, high - low)  # 0 on the lit side, 1 on the far side
    lit = images * (1.0 - depth[:, None, None, None] * ramp[..., None])
    peak = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True)
    return tf.math.divide_no_nan(lit * peak, tf.reduce_max(lit, axis=[1, 2, 3], keepdims=True))


def _turned_sheared_and_refitted(images, uniform, share):
    """Each image turned (most by up to PHOTO_ROTATION_DEG, some by up to PHOTO_WIDE_ROTATION_DEG), some
    sheared and squashed, some cut at one side, then its garment's box fitted back to the frame."""
    tf = _tf.tf()
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    size = PHOTO_SUPERSAMPLE * shape[1:3]
    big = tf.image.resize(images, size, method="bilinear")
    big_h, big_w = tf.cast(size[0], tf.float32), tf.cast(size[1], tf.float32)
    # The transform maps each output pixel to its input point: input = A (output - c) + c, with A the
    # inverse of turning, shearing and squashing, times PHOTO_ROOM (the garment drawn smaller).
    limit = tf.where(share(PHOTO_WIDE_ROTATION), PHOTO_WIDE_ROTATION_DEG, PHOTO_ROTATION_DEG) * (math.pi / 180)
    angle = uniform(-1.0, 1.0) * limit
    slanted = share(PHOTO_SLANT)
    shear = tf.where(slanted, tf.tan(uniform(-1.0, 1.0) * (PHOTO_SHEAR_DEG * math.pi / 180)), 0.0)
    squash = tf.where(slanted, uniform(*PHOTO_SQUASH), 1.0)
    squash_x = share(0.5)
    sx = PHOTO_ROOM / tf.where(squash_x, squash, 1.0)
    sy = PHOTO_ROOM / tf.where(squash_x, 1.0, squash)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # A = diag(sx, sy) @ [[1, shear], [0, 1]] @ rotation(angle)
    a00, a01 = sx * (cos - shear * sin), sx * (sin + shear * cos)
    a10, a11 = sy * -sin, sy * cos
    cx, cy = (big_w - 1) / 2, (big_h - 1) / 2
    zeros = tf.zeros([batch])
    transforms = tf.stack([a00, a01, cx - a00 * cx - a01 * cy, a10, a11, cy - a10 * cx - a11 * cy, zeros, zeros],
                          axis=1)
    big = tf.raw_ops.ImageProjectiveTransformV3(images=big, transforms=transforms, output_shape=size,
                                                fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    # Running off the frame: PHOTO_CUT_SHARE of the garment's extent cut away at one side.
    top, left, bottom, right = _garment_box(big)
    rows = tf.cast(tf.range(size[0]), tf.float32)[None, :, None, None]
    cols = tf.cast(tf.range(size[1]), tf.float32)[None, None, :, None]
    cut = uniform(*PHOTO_CUT_SHARE)
    side = tf.random.uniform([batch], 0, 4, tf.int32)
    def per(v):
        return v[:, None, None, None]

    def full(m):
        return tf.broadcast_to(m, tf.shape(big))

    kept = tf.stack([
        full(rows >= per(top + cut * (bottom - top))), full(rows <= per(bottom - cut * (bottom - top))),
        full(cols >= per(left + cut * (right - left))), full(cols <= per(right - cut * (right - left)))], axis=0)
    kept = tf.gather(tf.transpose(kept, [1, 0, 2, 3, 4]), side, axis=1, batch_dims=1)  # (B, H, W, 1)
    big = tf.where(per(share(PHOTO_CUT)) & ~kept, 0.0, big)
    # The conversion's step 9: the longest edge of the garment's box fills the frame, centred.
    top, left, bottom, right = _garment_box(big)
    half = tf.maximum(bottom - top, right - left) / 2
    mid_y, mid_x = (top + bottom) / 2, (left + right) / 2
    boxes = tf.stack([(mid_y - half) / (big_h - 1), (mid_x - half) / (big_w - 1),
                      (mid_y + half) / (big_h - 1), (mid_x + half) / (big_w - 1)], axis=1)
    return tf.image.crop_and_resize(big, boxes, tf.range(batch), shape[1:3], method="bilinear",
                                    extrapolation_value=0.0)


def _garment_box(images, level: float = 0.1):
    """Each image's box (top, left, bottom, right; pixel coordinates, inclusive) of the pixels above `level`
    of its brightest; the whole frame for an empty image."""
    tf = _tf.tf()
    peak = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True)
    mask = (images > level * peak)[..., 0] & (peak[..., 0] > 0)
    rows, cols = tf.reduce_any(mask, axis=2), tf.reduce_any(mask, axis=1)
    n_rows, n_cols = tf.shape(rows)[1], tf.shape(cols)[1]

    def first_and_last(hit, n):
        first = tf.argmax(tf.cast(hit, tf.int32), axis=1, output_type=tf.int32)
        last = n - 1 - tf.argmax(tf.cast(tf.reverse(hit, [1]), tf.int32), axis=1, output_type=tf.int32)
        empty = ~tf.reduce_any(hit, axis=1)
        return (tf.cast(tf.where(empty, 0, first), tf.float32), tf.cast(tf.where(empty, n - 1, last), tf.float32))

    top, bottom = first_and_last(rows, n_rows)
    left, right = first_and_last(cols, n_cols)
    return top, left, bottom, right
