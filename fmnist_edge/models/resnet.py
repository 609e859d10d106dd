"""Residual networks: the compact modified ResNet and the ResNet-50 baseline.

Both are built as one flat functional graph (no nested sub-models), because
`tfmot.quantization.keras.quantize_model` refuses nested models.
"""
from __future__ import annotations

from .blocks import classifier_head
from .registry import register


def _conv_bn(keras, x, filters: int, kernel: int, name: str, relu: bool = True):
    """Conv (no bias: BN follows) -> BN [-> ReLU], the pattern TFLite folds into one int8 conv."""
    x = keras.layers.Conv2D(filters, kernel, padding="same", use_bias=False,
                            kernel_initializer="he_normal", name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    if relu:
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return x


def _basic_block(keras, x, filters: int, name: str):
    """ResNet v1 basic block (post-activation): conv-BN-ReLU, conv-BN, identity add, ReLU."""
    shortcut = x
    x = _conv_bn(keras, x, filters, 3, f"{name}_1")
    x = _conv_bn(keras, x, filters, 3, f"{name}_2", relu=False)
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.ReLU(name=f"{name}_out")(x)


def _mresnet(input_shape, num_classes: int, *, name: str, stem=(32, 64), pool: int = 3,
             blocks: int = 4, width: int = 64, dense: int = 256, dropout: float = 0.5):
    """Stem convs, one max pool, `blocks` basic blocks at `width`, a last conv, GAP, dense head."""
    from .. import _tf

    keras = _tf.keras()
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, filters in enumerate(stem, start=1):
        x = _conv_bn(keras, x, filters, 3, f"stem{i}")
    # pool_size 3 with Keras' default stride (= pool size, 3) and 'valid' padding:
    # 64x128 -> 21x42, 28x28 -> 9x9. It is the only downsampling in the network.
    x = keras.layers.MaxPooling2D(pool, name="stem_pool")(x)
    if stem[-1] != width:  # identity adds need the stem to end at the block width
        x = _conv_bn(keras, x, width, 1, "stem_proj")
    for b in range(1, blocks + 1):
        x = _basic_block(keras, x, width, f"block{b}")
    x = _conv_bn(keras, x, width, 3, "last")
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(dense, activation="relu", kernel_initializer="he_normal", name="fc")(x)
    x = keras.layers.Dropout(dropout, name="fc_dropout")(x)
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name=name)


def _applications_resnet(input_shape, num_classes: int, *, name: str, variant: str = "ResNet50",
                         min_size: int = 32):
    """A keras.applications ResNet (random init, never downloaded weights) with a softmax head.

    Inputs smaller than `min_size` (Keras' minimum for these nets) are zero-padded in the
    graph, so 28x28 images run at 32x32. The base is built on our own input tensor and its
    output tensor is reused, so the result is one flat graph, not a model inside a model.
    """
    from .. import _tf

    keras = _tf.keras()
    height, width = input_shape[0], input_shape[1]
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    pad_h, pad_w = max(0, min_size - height), max(0, min_size - width)
    if pad_h or pad_w:
        x = keras.layers.ZeroPadding2D(((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)),
                                       name="pad_to_min")(x)
    base = getattr(keras.applications, variant)(include_top=False, weights=None, input_tensor=x, pooling="avg")
    outputs = classifier_head(base.output, num_classes)
    return keras.Model(inputs, outputs, name=name)


@register(
    "mresnet",
    source="student paper on Fashion-MNIST 'closet' price canvases: modified 15-layer ResNet",
    description="2 stem convs, 3x3 max pool, 4 basic residual blocks of 64 channels, conv, GAP, dense 256",
    default_input_shape=(64, 128, 1),
    default_num_classes=9,
    min_input_size=(3, 3),
)
def mresnet(input_shape, num_classes, name):
    return _mresnet(input_shape, num_classes, name=name)


@register(
    "resnet50",
    source="He et al. 2015 ResNet-50 (keras.applications, random init), the heavy baseline of the student papers",
    description="bottleneck ResNet-50 (3, 4, 6, 3 blocks), inputs zero-padded to at least 32x32, GAP, softmax",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
)
def resnet50(input_shape, num_classes, name):
    return _applications_resnet(input_shape, num_classes, name=name, variant="ResNet50")
