"""What every loop that fits a Keras model shares: training (`train`) and the fine-tuning of
`quantize` (QAT, pruning) build their optimizer and precision policy here, from the same settings.
"""
from __future__ import annotations

import contextlib

from . import _tf


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
