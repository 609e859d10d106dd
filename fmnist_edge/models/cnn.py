"""Plain CNNs: a conv stack, flatten, a dense stack. Each variant is a table of layers.

Every conv and hidden dense layer is laid out as layer (linear) -> [BN] -> ReLU, so a
conv followed by BN folds into one int8 conv in TFLite. The papers write
Conv(activation="relu") -> BN; moving the ReLU after BN changes no parameter count
(and tfmot cannot quantize a BN that does not directly follow a conv or dense layer).
"""
from __future__ import annotations

from typing import NamedTuple

from .blocks import classifier_head
from .registry import register


class ConvSpec(NamedTuple):
    filters: int
    kernel: int
    l2: float = 0.0  # L2 weight penalty on the kernel
    batch_norm: bool = False
    dropout: float = 0.0
    pool: bool = False  # 2x2 max pool, after the dropout


class DenseSpec(NamedTuple):
    units: int
    batch_norm: bool = False
    dropout: float = 0.0


def _plain_cnn(input_shape, num_classes: int, *, name: str, convs, dense):
    from .. import _tf

    keras = _tf.keras()
    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, c in enumerate(convs, start=1):
        x = layers.Conv2D(c.filters, c.kernel, padding="same", kernel_initializer="he_normal",
                          kernel_regularizer=keras.regularizers.L2(c.l2) if c.l2 else None,
                          name=f"conv{i}")(x)
        if c.batch_norm:
            x = layers.BatchNormalization(name=f"conv{i}_bn")(x)
        x = layers.ReLU(name=f"conv{i}_relu")(x)
        if c.dropout:
            x = layers.Dropout(c.dropout, name=f"conv{i}_dropout")(x)
        if c.pool:
            x = layers.MaxPooling2D(2, name=f"conv{i}_pool")(x)
    if any(d.batch_norm for d in dense):
        # Dense -> BN becomes a float FULLY_CONNECTED in TFLite (tfmot quantizes Dense
        # kernels per tensor, so the converter cannot fold BN's per-unit scale into int8
        # weights), and tfmot refuses a BN that follows anything but a conv or dense.
        # So a dense layer followed by BN is built as the identical 1x1 conv on a 1x1xN
        # map: same parameters, same maths, per-channel int8 with BN folded.
        features = x.shape[1] * x.shape[2] * x.shape[3]  # static: a -1 here leaves TFLite a dynamic conv
        x = layers.Reshape((1, 1, features), name="flatten")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
    for i, d in enumerate(dense, start=1):
        if d.batch_norm:
            x = layers.Conv2D(d.units, 1, kernel_initializer="he_normal", name=f"fc{i}")(x)
            x = layers.BatchNormalization(name=f"fc{i}_bn")(x)
        else:
            if len(x.shape) > 2:
                x = layers.Flatten(name=f"fc{i}_flatten")(x)
            x = layers.Dense(d.units, kernel_initializer="he_normal", name=f"fc{i}")(x)
        x = layers.ReLU(name=f"fc{i}_relu")(x)
        if d.dropout:
            x = layers.Dropout(d.dropout, name=f"fc{i}_dropout")(x)
    if len(x.shape) > 2:
        x = layers.Flatten(name="features")(x)
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name=name)


@register(
    "cnn-bn",
    source="student paper on Fashion-MNIST: regularized CNN with BatchNorm, dropout and L2 (3,477,578 parameters)",
    description="4 convs (32, 64, 64 5x5, 128) with BN, dropout, L2 on the last two; dense 512, 128 with BN",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
    min_input_size=(4, 4),  # two 2x2 pools: 4x4 -> 1x1
)
def cnn_bn(input_shape, num_classes, name):
    return _plain_cnn(
        input_shape, num_classes, name=name,
        convs=(ConvSpec(32, 3, batch_norm=True, dropout=0.3),
               ConvSpec(64, 3, batch_norm=True, dropout=0.4, pool=True),
               ConvSpec(64, 5, l2=0.01, batch_norm=True, dropout=0.5, pool=True),
               ConvSpec(128, 3, l2=0.01, batch_norm=True, dropout=0.25)),
        dense=(DenseSpec(512, batch_norm=True, dropout=0.5), DenseSpec(128, batch_norm=True, dropout=0.5)),
    )


@register(
    "alexnet-s",
    source="student paper on Fashion-MNIST: small AlexNet variant (5x5 convs, dense 256/128, dropout 0.7)",
    description="2 convs 5x5 (32, 64) each with 2x2 max pool; dense 256, 128 each with dropout 0.7",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
    min_input_size=(4, 4),  # two 2x2 pools: 4x4 -> 1x1
)
def alexnet_s(input_shape, num_classes, name):
    return _plain_cnn(
        input_shape, num_classes, name=name,
        convs=(ConvSpec(32, 5, pool=True), ConvSpec(64, 5, pool=True)),
        dense=(DenseSpec(256, dropout=0.7), DenseSpec(128, dropout=0.7)),
    )
