"""VGG-style networks: stages of 3x3 convs with BatchNorm, max pooling between stages.

`vgg198k` is the student papers' "optimized VGG" (198,351 parameters at 28x28x1 and
10 classes). Its exact layer widths are not published; the stages below land 19
parameters (0.01%) above it. An exact match is impossible with even channel widths:
every term (conv kernels and biases, BN's four vectors per channel, the dense head)
is then even, and 198,351 is odd.
"""
from __future__ import annotations

from .blocks import classifier_head
from .registry import register


def _vgg(input_shape, num_classes: int, *, name: str, stages, dropouts, use_bias: bool = True):
    """`stages` = ((convs, filters), ...); a 2x2 max pool after every stage but the last,
    dropout `dropouts[i]` after stage i (the last one after global average pooling)."""
    from .. import _tf

    keras = _tf.keras()
    if len(dropouts) != len(stages):
        raise ValueError("one dropout rate per stage")
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for s, ((convs, filters), rate) in enumerate(zip(stages, dropouts), start=1):
        for c in range(1, convs + 1):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=use_bias,
                                    kernel_initializer="he_normal", name=f"stage{s}_conv{c}")(x)
            x = keras.layers.BatchNormalization(name=f"stage{s}_bn{c}")(x)
            x = keras.layers.ReLU(name=f"stage{s}_relu{c}")(x)
        if s < len(stages):
            x = keras.layers.MaxPooling2D(2, name=f"stage{s}_pool")(x)
        else:
            x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
        x = keras.layers.Dropout(rate, name=f"stage{s}_dropout")(x)
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name=name)


@register(
    "vgg198k",
    source="student paper on Fashion-MNIST: optimized VGG, 198,351 parameters (BN, He init, dropout, GAP)",
    description="3 VGG stages of two 3x3 convs (24, 56, 104 filters) with BN, dropout 0.1/0.2/0.3, GAP",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
    min_input_size=(4, 4),  # two 2x2 pools: 4x4 -> 1x1
)
def vgg198k(input_shape, num_classes, name):
    return _vgg(input_shape, num_classes, name=name,
                stages=((2, 24), (2, 56), (2, 104)), dropouts=(0.1, 0.2, 0.3))


@register(
    "vgg-a",
    source="fmnist-edge's hardware-aligned variant of vgg198k (widths on oneDNN's 16-channel fast path)",
    description="3 VGG stages of two 3x3 convs (16, 64, 112 filters) with BN, dropout 0/0.1/0.2, GAP; 229k params",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
    min_input_size=(4, 4),
)
def vgg_a(input_shape, num_classes, name):
    # Every width a multiple of 16, the channel block of oneDNN's AVX-512 bf16 convolutions: the same bare
    # fit runs vgg198k's 24/56/104 at ~1,200 img/s and these at ~3,900 (benchmarks/results/train_throughput.json).
    # The 28x28 stage costs the most per filter, so it is the narrow one and the capacity sits at 14x14 and
    # 7x7: about vgg198k's MACs (19.6M against 19.5M) at three times its training speed.
    # Lighter dropout than vgg198k: with 16/48/112 and 0.1/0.2/0.3, training accuracy stayed a point
    # below validation for all 30 epochs (92.52% test): the model was held back, not overfitting.
    return _vgg(input_shape, num_classes, name=name,
                stages=((2, 16), (2, 64), (2, 112)), dropouts=(0.0, 0.1, 0.2))


@register(
    "vgg-t",
    source="fmnist-edge's tiny VGG for the 50 KB class (int8 file with metadata under 50,000 bytes)",
    description="3 VGG stages of 3x3 convs (2x16, 2x32, 1x64 filters) with BN, dropout 0/0/0.1, GAP; 36k params",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
    min_input_size=(4, 4),
)
def vgg_t(input_shape, num_classes, name):
    # Sized by the int8 file, not the parameter count: TFLite stores a float scale and an int64 zero point
    # per output channel of every per-channel-quantized tensor (bias included), about 28 bytes a channel,
    # so few wide layers fit 50 KB better than many thin ones (edge-s's 56k parameters make 113 KB).
    # Untrained int8 conversions: this one 44,448 bytes; 2x16/2x32/2x48 61,560; 1x16/1x32/2x48 48,008.
    return _vgg(input_shape, num_classes, name=name,
                stages=((2, 16), (2, 32), (1, 64)), dropouts=(0.0, 0.0, 0.1))
