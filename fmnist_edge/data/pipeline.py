"""The tf.data input pipeline: uint8 arrays in, batches of float images and one-hot labels out.

Images stay uint8 until here (a quarter of the memory of float32). Augmentation runs
on whole batches after batching, with vectorized ops, on the fly each epoch: with only
two CPU cores, per-image Python-level work would starve the model.

Levels:
    none    scale to [0, 1]
    basic   + random shift of up to `MAX_SHIFT_PX` pixels (zero fill) and horizontal flip
    strong  + random erasing (one random rectangle per image, probability 0.5)
"""
from __future__ import annotations

import math

import numpy as np

from .. import _tf

# Fashion-MNIST garments are centred in 28x28 with a ~2 px margin: a larger shift cuts them.
MAX_SHIFT_PX = 2
ERASE_PROBABILITY = 0.5
ERASE_AREA = (0.02, 0.25)  # fraction of the image, as in the random-erasing paper (Zhong et al.)
ERASE_ASPECT = (0.3, 3.3)


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    batch_size: int,
    *,
    augment: str = "none",
    shuffle: bool = False,
    seed: int = 0,
):
    """A batched tf.data.Dataset of (float32 images (B, H, W, 1) in [0, 1], one-hot labels (B, C)).

    Args:
        x: uint8 images (N, H, W).
        y: integer labels (N,).
        augment: "none", "basic" or "strong" (see the module docstring).
        shuffle: reshuffle every epoch (training); evaluation sets keep their order.

    Example:
        >>> ds = make_dataset(data.x_train, data.y_train, 10, 128, augment="basic", shuffle=True)
    """
    tf = _tf.tf()
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    transform = _batch_transform(x.shape[1], x.shape[2], num_classes, augment, seed)
    ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if augment == "none" and not shuffle:
        ds = ds.cache()  # evaluation batches are identical every epoch: compute them once
    return ds.prefetch(tf.data.AUTOTUNE)


def _batch_transform(height: int, width: int, num_classes: int, augment: str, seed: int):
    tf = _tf.tf()
    keras = _tf.keras()
    if augment not in ("none", "basic", "strong"):
        raise ValueError(f"unknown augmentation {augment!r}")
    layers = []
    if augment in ("basic", "strong"):
        # Keras' preprocessing layers draw a different transform for each image of the batch.
        # Nearest interpolation keeps shifts whole-pixel (no blur); zero fill matches the background.
        layers.append(keras.layers.RandomTranslation(
            MAX_SHIFT_PX / height, MAX_SHIFT_PX / width, fill_mode="constant", fill_value=0.0,
            interpolation="nearest", seed=seed))
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed + 1))

    def transform(images, labels):
        images = tf.cast(images, tf.float32)[..., None] / 255.0
        for layer in layers:
            images = layer(images, training=True)
        if augment == "strong":
            images = random_erasing(images)
        return images, tf.one_hot(labels, num_classes)

    return transform


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
