"""Keras model -> deployable bytes: .tflite for each kind of deployed model, and .onnx.

    fp32      float model, float I/O
    fp16      float16 weights, float I/O (dequantized at load; half the size)
    dynamic   int8 weights, float activations and I/O (dynamic-range quantization)
    int8      full-integer post-training quantization calibrated on real images, uint8 I/O
    int8-qat  full-integer from a quantization-aware-trained model (its own ranges), uint8 I/O

`mirror_averaged(model)` wraps a model to look at each image and its mirror before conversion.

Integer models take raw uint8 pixels: the float models' input is pixels/255 in [0, 1],
so an int8 input range of exactly [0, 1] gives scale 1/255 and zero point 0. Only
builtin ops are allowed (no select TF ops), so older on-device runtimes load the files.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..contract import float_pixels
from .. import _tf
from .._quiet import quiet_native_stderr
from ..errors import FmnistEdgeError, one_line
from .inspection import tflite_ops

TFLITE_MODES = ("fp32", "fp16", "dynamic", "int8", "int8-qat")
DEFAULT_ONNX_OPSET = 17  # onnxruntime 1.18+ and every current mobile runtime read it
# tf2onnx 1.17 writes opsets up to 18; below 9 it cannot express BatchNormalization's inference form and
# fails after a screen of log lines, so those are refused before any conversion starts.
ONNX_OPSETS = range(9, 19)


def to_tflite(model, mode: str, calibration_images: np.ndarray | None = None, batch_size: int | None = None) -> bytes:
    """Convert a tf_keras model to a .tflite flatbuffer.

    Args:
        model: a float tf_keras model, or a quantization-aware one for "int8-qat".
        mode: one of TFLITE_MODES.
        calibration_images: uint8 (N, H, W) images; required for "int8", where every one
            of them is run through the model to choose activation ranges.
        batch_size: None keeps the batch dimension dynamic (-1 in the shape signature); a number
            fixes it, for runtimes that refuse dynamic shapes (LiteRT.js 2.5).

    Example:
        >>> data = to_tflite(model, "int8", calibration_images=x_train[:500])
    """
    tf = _tf.tf()
    if mode not in TFLITE_MODES:
        raise ValueError(f"unknown TFLite mode {mode!r}")
    if batch_size is None:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
    else:
        # The same graph traced at a fixed batch: only the shape signature differs.
        spec = tf.TensorSpec([batch_size, *model.input_shape[1:]], tf.float32)
        forward = tf.function(lambda images: model(images, training=False)).get_concrete_function(spec)
        converter = tf.lite.TFLiteConverter.from_concrete_functions([forward], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        if calibration_images is None or len(calibration_images) == 0:
            raise ValueError("int8 post-training quantization needs calibration images")
        converter.representative_dataset = _representative_dataset(calibration_images)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if mode in ("int8", "int8-qat"):
        # With a QAT model the ranges come from training; TFLITE_BUILTINS_INT8 alone would
        # demand a representative dataset there, so int8-qat keeps TFLITE_BUILTINS.
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    try:
        with quiet_native_stderr(), warnings.catch_warnings():
            # Raised for every uint8-input conversion; the ranges come from calibration or QAT instead.
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
            data = bytes(converter.convert())
    except Exception as exc:  # the converter raises many internal types; the message is what matters
        raise FmnistEdgeError(f"TFLite conversion ({mode}) failed: {one_line(exc)}") from None
    custom = [op for op in tflite_ops(data) if op.startswith("CUSTOM")]
    if custom:  # supported_ops should make this impossible; a converter change must not slip through
        raise FmnistEdgeError(f"TFLite conversion ({mode}) produced non-builtin ops: {', '.join(custom)}")
    return data


def mirror_averaged(model):
    """`model` looking twice: at each image and at its left-right mirror, the two probabilities averaged.

    Every Fashion-MNIST class is left-right symmetric in kind and the training recipes flip at random, so
    the mirror is a second opinion at twice the multiply-accumulates and no new weights: the image and its
    mirror go through the network as one batch of 2N, so each layer (and each stored weight) is there once.
    The graph is built for conversion only (its concat, reverse and mean are TensorFlow ops, not layers
    a run directory saves). For the integer file, the mean is fake-quantized the way a uint8 softmax is
    stored (scale 1/256, zero point 0), which gives the converter the range it needs for an integer output.

    Example:
        >>> data = to_tflite(mirror_averaged(qat_model), "int8-qat")
    """
    tf, keras = _tf.tf(), _tf.keras()
    image = keras.Input(shape=model.input_shape[1:], name="image")
    both = tf.concat([image, tf.reverse(image, axis=[2])], axis=0)
    probabilities = model(both)
    mean = tf.reduce_mean(tf.reshape(probabilities, [2, -1, probabilities.shape[-1]]), axis=0)
    mean = tf.quantization.fake_quant_with_min_max_args(mean, min=0.0, max=255 / 256)
    return keras.Model(image, mean, name=f"{model.name}_mirror_averaged")


def mirror_averaged_scores(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """What `mirror_averaged(model)` computes, in float: the mean of the scores of float images (N, H, W, C)
    and of their mirrors."""
    mirrored = np.ascontiguousarray(images[:, :, ::-1])
    return (model.predict(images, batch_size=batch_size, verbose=0)
            + model.predict(mirrored, batch_size=batch_size, verbose=0)) / 2


def _representative_dataset(images: np.ndarray):
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]

    def generate():
        for image in images:
            yield [float_pixels(image[None])]

    return generate


def to_onnx(model, opset: int = DEFAULT_ONNX_OPSET) -> bytes:
    """Convert a float tf_keras model to ONNX (tf2onnx), dynamic batch, NHWC float input in [0, 1].

    The result passes `onnx.checker.check_model(full_check=True)`.
    """
    tf = _tf.tf()
    import logging

    import onnx
    import tf2onnx

    if opset not in ONNX_OPSETS:
        raise FmnistEdgeError(f"--opset must be from {ONNX_OPSETS.start} to {ONNX_OPSETS.stop - 1}, got {opset}")
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)  # its per-conversion INFO lines are not the user's news
    spec = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="image"),)
    try:
        with quiet_native_stderr():
            proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset)
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # tf2onnx and the checker raise many types; the first line says what failed
        raise FmnistEdgeError(f"ONNX conversion (opset {opset}) failed: {one_line(exc)}") from None
    return proto.SerializeToString()
