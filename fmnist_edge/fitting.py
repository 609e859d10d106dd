"""What every loop that fits a Keras model shares: training (`train`) and the fine-tuning of
`quantize` (QAT, pruning) build their input pipelines, optimizer, loss and precision policy here,
from the same settings, so a fine-tuned model sees exactly the data and objective it was trained on.
"""
from __future__ import annotations

import contextlib

import numpy as np

from . import _tf
from .data.pipeline import make_dataset
from .distribution import Distribution, distribute_options


def make_optimizer(name: str, lr, weight_decay: float = 0.0):
    """A Keras optimizer by settings name ("adam", "rmsprop", "sgd", "sgdm": SGD with Nesterov momentum 0.9)
    with a rate or a schedule; a weight decay makes it decoupled (Keras applies var -= var * weight_decay * lr
    each step: Adam becomes AdamW)."""
    optimizers = _tf.keras().optimizers
    decay = weight_decay or None
    if name == "sgdm":
        return optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=decay)
    kind = {"adam": optimizers.Adam, "rmsprop": optimizers.RMSprop, "sgd": optimizers.SGD}[name]
    return kind(lr, weight_decay=decay)


@contextlib.contextmanager
def precision_policy(mixed: bool):
    """bf16 mixed precision on CPU (AVX-512 BF16), fp16 on GPU; restores float32 afterwards."""
    if not mixed:
        yield
        return
    keras, tf = _tf.keras(), _tf.tf()
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    keras.mixed_precision.set_global_policy("mixed_float16" if on_gpu else "mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def fit_datasets(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, num_classes: int,
                 settings, distribution: Distribution, device: str | None = None):
    """(training batches, validation batches or None) as `settings` (a TrainSettings) says: its batch size,
    augmentation and seed; shuffled and augmented for training only; `device`: prefetch there (one GPU)."""
    train = distribute_options(make_dataset(x_train, y_train, num_classes, settings.batch_size,
                                            augment=settings.augment, shuffle=True, seed=settings.seed, device=device),
                               distribution)
    val = distribute_options(make_dataset(x_val, y_val, num_classes, settings.batch_size), distribution) \
        if len(x_val) else None
    return train, val


def compile_classifier(model, optimizer, label_smoothing: float = 0.0) -> None:
    """The one objective: categorical cross-entropy (with the run's label smoothing) and accuracy."""
    keras = _tf.keras()
    model.compile(optimizer=optimizer,
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
