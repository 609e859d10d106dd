"""Edge-first networks: MobileNetV2-style inverted residual blocks, sized for phones.

Every block is 1x1 expand -> BN -> ReLU6 -> 3x3 depthwise -> BN -> ReLU6 -> 1x1 linear
projection -> BN, with an identity add when the stride is 1 and the width is unchanged
(Sandler et al. 2018). Every op maps to a builtin int8 TFLite kernel (conv/depthwise with
folded BN, RELU6 fused, ADD, MEAN, FULLY_CONNECTED, SOFTMAX), and ReLU6 bounds the
activation ranges, which keeps int8 quantization error small.

28x28 inputs are tiny, so the network downsamples only twice (28 -> 14 -> 7) and spends
most of its blocks at 14x14, where extra depth costs few parameters.
"""
from __future__ import annotations

from .blocks import classifier_head
from .registry import register


def _inverted_residual(keras, x, expansion: int, filters: int, stride: int, name: str):
    layers = keras.layers
    in_channels = x.shape[-1]
    y = x
    if expansion != 1:
        y = layers.Conv2D(in_channels * expansion, 1, use_bias=False, name=f"{name}_expand")(y)
        y = layers.BatchNormalization(name=f"{name}_expand_bn")(y)
        y = layers.ReLU(6.0, name=f"{name}_expand_relu")(y)
    y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(y)
    y = layers.BatchNormalization(name=f"{name}_dw_bn")(y)
    y = layers.ReLU(6.0, name=f"{name}_dw_relu")(y)
    y = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_project")(y)
    y = layers.BatchNormalization(name=f"{name}_project_bn")(y)  # linear bottleneck: no ReLU
    if stride == 1 and in_channels == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


def _edge(input_shape, num_classes: int, *, name: str, stem: int, stages, head: int, dropout: float):
    """`stages` = ((expansion, filters, repeats, first_stride), ...) as in the MobileNetV2 paper."""
    from .. import _tf

    keras = _tf.keras()
    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(stem, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    for s, (expansion, filters, repeats, stride) in enumerate(stages, start=1):
        for r in range(1, repeats + 1):
            x = _inverted_residual(keras, x, expansion, filters, stride if r == 1 else 1, f"stage{s}_block{r}")
    if head:
        x = layers.Conv2D(head, 1, use_bias=False, name="head_conv")(x)
        x = layers.BatchNormalization(name="head_bn")(x)
        x = layers.ReLU(6.0, name="head_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name=name)


@register(
    "edge-s",
    source="fmnist-edge's own design, after MobileNetV2 (Sandler et al. 2018) inverted residuals",
    description="stem 16 @28x28, inverted residuals 16 @28, 3x24 (x6) @14, 2x40 (x4) @7, 1x1 128, GAP; <60k params",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
)
def edge_s(input_shape, num_classes, name):
    return _edge(
        input_shape, num_classes, name=name, stem=16,
        # (expansion, filters, repeats, first stride): 28x28 -> 28 -> 14 -> 7
        stages=((1, 16, 1, 1), (6, 24, 3, 2), (4, 40, 2, 2)),
        head=128, dropout=0.2,
    )
