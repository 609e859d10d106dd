"""Compact residual networks for 28x28 inputs: CIFAR-style ResNets (He et al. 2015, section 4.2).

A 3x3 stem, then three stages of 3x3 basic blocks at 28x28, 14x14 and 7x7 (the first block of
stages 2 and 3 has stride 2 and a 1x1 projection shortcut), global average pooling and the
logits. No dense hidden layer and no dropout: the regularization comes from the recipe (weight
decay, random erasing), as in the published CIFAR-style Fashion-MNIST results these are measured
against (zhunzhong07/Random-Erasing: ResNet-20 95.61%, 95.98% with random erasing).

Every width is a multiple of 16 (oneDNN's channel block on this CPU), and each variant is sized
by its int8 file with metadata for one size class of the zoo, not by its parameter count.
One flat functional graph (quantize_model refuses nested models); every op is a builtin int8
TFLite kernel (conv with folded BN and fused ReLU, ADD, MEAN, FULLY_CONNECTED, SOFTMAX).
"""
from __future__ import annotations

from .blocks import classifier_head
from .registry import register


def _conv_bn(keras, x, filters: int, kernel: int, stride: int, name: str, relu: bool = True):
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                            kernel_initializer="he_normal", name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    if relu:
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return x


def _basic_block(keras, x, filters: int, stride: int, name: str):
    """conv3x3-BN-ReLU, conv3x3-BN, add the shortcut (a strided 1x1 conv-BN when the shape changes), ReLU."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(keras, x, filters, 1, stride, f"{name}_proj", relu=False)
    y = _conv_bn(keras, x, filters, 3, stride, f"{name}_1")
    y = _conv_bn(keras, y, filters, 3, 1, f"{name}_2", relu=False)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def _cifar_resnet(input_shape, num_classes: int, *, name: str, widths: tuple[int, int, int],
                  blocks: tuple[int, int, int], hidden: int = 0):
    """`widths[i]` channels and `blocks[i]` basic blocks in stage i; depth = 2 * sum(blocks) + 2; `hidden` > 0
    puts a dense ReLU layer of that width between the pooling and the logits."""
    from .. import _tf

    keras = _tf.keras()
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn(keras, inputs, widths[0], 3, 1, "stem")
    for s, (filters, count) in enumerate(zip(widths, blocks), start=1):
        for b in range(1, count + 1):
            x = _basic_block(keras, x, filters, 2 if (s > 1 and b == 1) else 1, f"stage{s}_block{b}")
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    if hidden:
        x = keras.layers.Dense(hidden, activation="relu", kernel_initializer="he_normal", name="hidden")(x)
    outputs = classifier_head(x, num_classes)
    return keras.Model(inputs, outputs, name=name)


# Sizes at 28x28x1 and 10 classes: parameters, and the int8 file of the untrained model by post-training
# conversion (uint8 in and out, every tensor name kept, no metadata; `fmnist-edge export` keeps only the
# input and output names and adds about 1 KB of metadata). Other shapes measured the same way, for the
# record: 16/32/48 one block each 56,826 params 69,856 B (over 50 KB); 16/32/32 one block each 39,834 and
# 51,704 B; 32/64/112 three blocks each 903,498 and 947,104 B (a wider 1 MB option, 1.9x res-m's cost).

@register(
    "res-t",
    source="fmnist-edge's CIFAR-style ResNet for the 50 KB class: the stem as stage 1, one block at 14 and 7 px",
    description="3x3 stem 16 @28x28, one basic block of 32 @14x14 and one of 32 @7x7, GAP; 35,098 params, 45,200 B",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
    min_input_size=(4, 4),  # two stride-2 stages
)
def res_t(input_shape, num_classes, name):
    # The 28x28 stage costs the most compute per parameter and the 7x7 one the most bytes: the budget goes to
    # the middle, as vgg-t's does (its 36k parameters make a 48 KB file).
    return _cifar_resnet(input_shape, num_classes, name=name, widths=(16, 32, 32), blocks=(0, 1, 1))


@register(
    "res-s",
    source="fmnist-edge's CIFAR-style ResNet-14 for the 250 KB class (He et al. 2015, section 4.2)",
    description="3x3 stem 16, two basic blocks per stage at 16/32/64 channels (28/14/7 px), GAP; 176,090 params, 198,248 B",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
    min_input_size=(4, 4),
)
def res_s(input_shape, num_classes, name):
    # ResNet-20 (three blocks a stage, 273,754 params) makes a 303 KB file: two blocks a stage is the deepest
    # plain CIFAR ResNet under 250 KB.
    return _cifar_resnet(input_shape, num_classes, name=name, widths=(16, 32, 64), blocks=(2, 2, 2))


@register(
    "res-s-wide",
    source="fmnist-edge's CIFAR-style ResNet-14 with a wider middle stage, the 250 KB class's bytes spent",
    description="3x3 stem 16, two basic blocks per stage at 16/48/64 channels (28/14/7 px), GAP; 223,770 params, 247,352 B",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
    min_input_size=(4, 4),
)
def res_s_wide(input_shape, num_classes, name):
    # res-s leaves 51 KB of the class unused. Spent on width at 7 px (16/32/80) it makes a 267 KB file; at
    # 14 px (16/48/64) 247 KB, and a third block at 28 and 14 px (16/32/64, 3/3/2) 226 KB: both cost about
    # 28M MACs against res-s's 20.2M. The wider one is tried first: it has the more parameters of the two.
    return _cifar_resnet(input_shape, num_classes, name=name, widths=(16, 48, 64), blocks=(2, 2, 2))


@register(
    "res-m",
    source="CIFAR-style ResNet-32 (He et al. 2015), the published 96.20% Fashion-MNIST model (random erasing), 1 MB class",
    description="3x3 stem 16, five basic blocks per stage at 16/32/64 channels (28/14/7 px), GAP; 469,082 params, 514,592 B",
    default_input_shape=(28, 28, 1),
    default_num_classes=10,
    min_input_size=(4, 4),
)
def res_m(input_shape, num_classes, name):
    return _cifar_resnet(input_shape, num_classes, name=name, widths=(16, 32, 64), blocks=(5, 5, 5))


@register(
    "res-closet",
    source="fmnist-edge's closet-price model: res-s's stem, stage-2 block 1 and stage-3 blocks over the whole canvas",
    description="3x3 stem 16 @64x128, one basic block of 32 @32x64, two of 64 @16x32, GAP, dense 128; "
                "156,761 params, 97.7M MACs (the closet's 100M budget)",
    default_input_shape=(64, 128, 1),
    default_num_classes=9,
    min_input_size=(4, 4),
)
def res_closet(input_shape, num_classes, name):
    # Fully convolutional: a 28x28 garment on the black canvas meets the same zero border as a Fashion-MNIST
    # image meets the convolutions' zero padding, so res-s's trained layers (same names and shapes) start it
    # (train --backbone). res-s itself costs 211M MACs on a canvas; its stage-1 blocks (7.2M of its 20.2M
    # MACs at 28x28) and the second stage-2 block are the cheapest to leave out: a residual block removed
    # leaves the identity path standing. Global average pooling over a fixed canvas is a sum over
    # garments; a linear head on it learned the totals slowly (52.6% training accuracy after 3 epochs, as
    # vgg-a's linear head stalled near 50%), while mresnet's dense layer after the pooling learns them:
    # the hidden layer turns the pooled garment evidence into totals.
    return _cifar_resnet(input_shape, num_classes, name=name, widths=(16, 32, 64), blocks=(0, 1, 2), hidden=128)
