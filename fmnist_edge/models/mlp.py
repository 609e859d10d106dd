"""Fully connected baseline: flatten the image, a few ReLU dense layers with dropout."""
from __future__ import annotations

from .blocks import classifier_head
from .registry import register


def _mlp(input_shape, num_classes: int, *, name: str, hidden, dropout: float):
    from .. import _tf

    keras = _tf.keras()
    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(hidden, start=1):
        x = keras.layers.Dense(units, activation="relu", kernel_initializer="he_normal", name=f"fc{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"fc{i}_dropout")(x)
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name=name)


@register(
    "mlp",
    source="student papers on Fashion-MNIST: fully connected (multilayer perceptron) baseline",
    description="flatten, dense 512, 256, 128 (ReLU, dropout 0.2 each), softmax",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
)
def mlp(input_shape, num_classes, name):
    return _mlp(input_shape, num_classes, name=name, hidden=(512, 256, 128), dropout=0.2)
