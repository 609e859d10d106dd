"""The tf.data input pipeline: uint8 arrays in, batches of float images and one-hot labels out.

Images stay uint8 until here (a quarter of the memory of float32). Augmentation runs
on whole batches after batching, with vectorized ops, on the fly each epoch: with only
two CPU cores, per-image Python-level work would starve the model.

Levels:
    none    scale to [0, 1]
    basic   + random shift of up to `MAX_SHIFT_PX` pixels (zero fill) and horizontal flip
    strong  + random erasing (one random rectangle per image, probability 0.5)
    photo   basic + camera conditions as they look after the photo conversion of
            docs/preprocessing.md (a `photo_share` of the images, PHOTO_PROBABILITY unless the run
            says otherwise): a small rotation and scale, blur,
            contrast (gamma), a faint background residue with a gradient, sensor noise and
            the loss of detail of a low-resolution or compressed picture
"""
from __future__ import annotations

import math

import numpy as np

from ..contract import PIXEL_SCALE
from .. import _tf
from ..settings import AUGMENTATIONS, PHOTO_PROBABILITY

# Fashion-MNIST garments are centred in 28x28 with a ~2 px margin: a larger shift cuts them.
MAX_SHIFT_PX = 2
ERASE_PROBABILITY = 0.5
ERASE_AREA = (0.02, 0.25)  # fraction of the image, as in the random-erasing paper (Zhong et al.)
ERASE_ASPECT = (0.3, 3.3)
# Camera conditions (augment="photo"), each range chosen to cover what the photo conversion
# leaves on the pictures of benchmarks/photos.py rendered from *training* images.
PHOTO_ROTATION_DEG = 10.0
PHOTO_SCALE = (0.85, 1.0)  # the conversion fits the box, so a garment only shrinks (when rotated)
PHOTO_GAMMA = (0.7, 1.45)  # contrast: cloth colour against the wall is not linear in grey
PHOTO_RESIDUE = 0.08  # at most this much background left after subtraction, as a tilted plane
PHOTO_NOISE = 0.04  # standard deviation, at most
PHOTO_DETAIL_LOSS = 0.3  # share of photo images averaged over 2x2 blocks (a small or compressed garment)


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
    photo_share: float = PHOTO_PROBABILITY,
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
        photo_share: with augment="photo", the share of images given camera conditions.

    Example:
        >>> ds = make_dataset(data.x_train, data.y_train, 10, 128, augment="basic", shuffle=True)
    """
    tf = _tf.tf()
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    transform = _batch_transform(x.shape[1], x.shape[2], num_classes, augment, seed, photo_share)
    ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if targets is not None:
        ds = ds.map(targets, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if augment == "none" and not shuffle:
        ds = ds.cache()  # evaluation batches are identical every epoch: compute them once
    if device is not None:
        return ds.apply(tf.data.experimental.prefetch_to_device(device, buffer_size=2))
    return ds.prefetch(tf.data.AUTOTUNE)


def make_fresh_closet_dataset(garments: np.ndarray, labels: np.ndarray, n: int, num_classes: int, batch_size: int, *,
                              augment: str = "none", seed: int = 0, first_epoch: int = 0, targets=None,
                              photo_share: float = PHOTO_PROBABILITY):
    """Training batches of closet canvases composed anew every epoch (data/closet.py fresh_canvases): n
    canvases per pass, epoch e's drawn from (seed, e). Keras iterates the training set once per epoch,
    and each pass starts the generator again, so the passes count the epochs from `first_epoch` (a
    resumed run's completed epochs). Then the same transforms as make_dataset."""
    import itertools

    from .closet import CANVAS_SHAPE, fresh_canvases

    tf = _tf.tf()
    epochs = itertools.count(first_epoch)
    height, width = CANVAS_SHAPE

    def one_epoch():
        yield from fresh_canvases(garments, labels, n, batch_size, seed, next(epochs))

    ds = tf.data.Dataset.from_generator(one_epoch, output_signature=(
        tf.TensorSpec((None, height, width), tf.uint8), tf.TensorSpec((None,), tf.int64)))
    # Keras runs steps_per_execution steps per call: it must know how many batches an epoch has
    ds = ds.apply(tf.data.experimental.assert_cardinality(math.ceil(n / batch_size)))
    transform = _batch_transform(height, width, num_classes, augment, seed, photo_share)
    ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if targets is not None:
        ds = ds.map(targets, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _batch_transform(height: int, width: int, num_classes: int, augment: str, seed: int, photo_share: float):
    tf = _tf.tf()
    if augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augment!r}")

    def transform(images, labels):
        if augment != "none":
            images = shift_and_flip(images, MAX_SHIFT_PX, seed=seed)
        images = tf.cast(images, tf.float32)[..., None] / PIXEL_SCALE  # the input contract (contract.py)
        if augment == "strong":
            images = random_erasing(images)
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


def random_erasing(images, probability: float = ERASE_PROBABILITY):
    """Zero one random rectangle in each image of a (B, H, W, C) batch with `probability`.

    Vectorized over the batch: each image's rectangle is a mask built from coordinate
    comparisons, so the cost is a few elementwise ops per batch.
    """
    tf = _tf.tf()
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)
    area = tf.random.uniform([batch], *ERASE_AREA) * h * w
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

    Vectorized: one projective transform for the whole batch (each image its own rotation and
    scale), one fixed 3x3 blur blended in by a per-image weight, and elementwise ops.
    """
    tf = _tf.tf()
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    ones = tf.ones([batch])

    def uniform(low, high):
        return tf.random.uniform([batch], low, high)

    # Rotation and scale about the centre: the transform maps each output pixel to its input point.
    angle = uniform(-1.0, 1.0) * (PHOTO_ROTATION_DEG * math.pi / 180)
    scale = uniform(*PHOTO_SCALE)
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    cx, cy = (w - 1) / 2, (h - 1) / 2
    transforms = tf.stack([cos, sin, cx - cos * cx - sin * cy, -sin, cos, cy + sin * cx - cos * cy,
                           0 * ones, 0 * ones], axis=1)
    out = tf.raw_ops.ImageProjectiveTransformV3(images=images, transforms=transforms, output_shape=shape[1:3],
                                                fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    # Blur: a binomial 3x3 kernel, blended in by a per-image weight.
    kernel = tf.constant([1.0, 2.0, 1.0]) / 4.0
    kernel = (kernel[:, None] * kernel[None, :])[:, :, None, None]
    blurred = tf.nn.conv2d(out, kernel, strides=1, padding="SAME")
    out = out + uniform(0.0, 1.0)[:, None, None, None] * (blurred - out)
    # Loss of detail: 2x2 block averages for a share of the images.
    coarse = tf.image.resize(tf.nn.avg_pool2d(out, 2, 2, "SAME"), shape[1:3], method="bilinear")
    lose = tf.cast(tf.random.uniform([batch]) < PHOTO_DETAIL_LOSS, tf.float32)[:, None, None, None]
    out = out + lose * (coarse - out)
    # Contrast, then renormalise so the brightest pixel stays where the conversion puts it (255).
    peak = tf.reduce_max(out, axis=[1, 2, 3], keepdims=True)
    gamma = tf.exp(uniform(math.log(PHOTO_GAMMA[0]), math.log(PHOTO_GAMMA[1])))[:, None, None, None]
    out = tf.pow(tf.math.divide_no_nan(out, peak), gamma) * peak
    # A faint background residue: an offset plane with a random tilt.
    rows = tf.linspace(-0.5, 0.5, height)[None, :, None, None]
    cols = tf.linspace(-0.5, 0.5, width)[None, None, :, None]
    level = uniform(0.0, PHOTO_RESIDUE)[:, None, None, None]
    tilt_y, tilt_x = (uniform(-1.0, 1.0)[:, None, None, None] * level for _ in range(2))
    out = out + tf.nn.relu(level + tilt_y * rows + tilt_x * cols) * tf.cast(
        tf.random.uniform([batch]) < 0.5, tf.float32)[:, None, None, None]
    out = out + tf.random.normal(tf.shape(out)) * uniform(0.0, PHOTO_NOISE)[:, None, None, None]
    out = tf.clip_by_value(out, 0.0, 1.0)
    chosen = tf.random.uniform([batch]) < probability
    return tf.where(chosen[:, None, None, None], out, images)
