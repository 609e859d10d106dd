"""Read what a .tflite file holds without running it: its ops and its multiply-accumulates per image.

    tflite_ops(data)   ['CONV_2D', 'FULLY_CONNECTED', 'QUANTIZE', ...]; custom or select-TF ops as 'CUSTOM:<name>'
    tflite_macs(data)  multiply-accumulates of one image through the convolutions and fully connected layers

Both read the flatbuffer with the schema module LiteRT ships (ai_edge_litert.schema_py_generated,
TensorFlow's own where only TensorFlow is installed), so a deploy-only install can use them.
"""
from __future__ import annotations

import functools
import struct

import numpy as np

from ..errors import FmnistEdgeError


def tflite_schema():
    """The flatc-generated TFLite model schema (with the object API), from LiteRT, else TensorFlow."""
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:
        from .. import _tf

        _tf.tf()  # import TensorFlow the project's way before its submodules
        from tensorflow.lite.python import schema_py_generated
    return schema_py_generated


def _model(data: bytes):
    if len(data) < 8 or bytes(data[4:8]) != b"TFL3":
        raise FmnistEdgeError("not a TFLite flatbuffer (no TFL3 identifier)")
    schema = tflite_schema()
    return schema, schema.Model.GetRootAs(data, 0)


def _op_name(schema, model, index: int) -> str:
    code = model.OperatorCodes(index)
    # Codes below 127 live in the deprecated int8 field, newer ones only in builtin_code: take the larger.
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == schema.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{(code.CustomCode() or b'?').decode()}"
    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    return names.get(builtin, f"BUILTIN_{builtin}")


def _corrupt_is_an_error(read):
    """A truncated or corrupt flatbuffer makes the generated readers fail deep inside (struct.error,
    IndexError, ...): turn that into one FmnistEdgeError."""
    @functools.wraps(read)
    def guarded(data: bytes):
        try:
            return read(data)
        except (struct.error, IndexError, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise FmnistEdgeError(f"not a TFLite flatbuffer (truncated or corrupt: {exc})") from None
    return guarded


@_corrupt_is_an_error
def tflite_ops(data: bytes) -> list[str]:
    """The sorted operator names a .tflite file uses; custom or select-TF (Flex) ops as "CUSTOM:<name>"."""
    schema, model = _model(data)
    return sorted({_op_name(schema, model, i) for i in range(model.OperatorCodesLength())})


@_corrupt_is_an_error
def tflite_macs(data: bytes) -> int:
    """Multiply-accumulates per image of the CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED ops.

    These dominate every zoo model; pooling, activations, additions and (de)quantization are not
    counted. Shapes are the file's own (batch 1), divided by the batch dimension of the output. A graph
    that stacks extra images onto the batch (a CONCATENATION on axis 0, as a mirror file's image and
    mirror) runs the ops after it once per stacked image, and is counted so.
    """
    schema, model = _model(data)
    graph = model.Subgraphs(0)
    images = {graph.Inputs(i): 1 for i in range(graph.InputsLength())}  # tensor -> images it holds per input image
    total = 0
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        name = _op_name(schema, model, op.OpcodeIndex())
        held = [images[t] for t in op.InputsAsNumpy() if t in images]
        stacked = sum(held) if name == "CONCATENATION" and _concat_axis(schema, op) == 0 else max(held, default=1)
        for t in op.OutputsAsNumpy():
            images[t] = stacked
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        out = graph.Tensors(op.Outputs(0)).ShapeAsNumpy()
        weights = graph.Tensors(op.Inputs(1)).ShapeAsNumpy()
        per_output = int(np.prod(weights[1:])) if name == "CONV_2D" else (
            int(np.prod(weights[1:3])) if name == "DEPTHWISE_CONV_2D" else int(weights[1]))
        # every output value costs one multiply-accumulate per weight that feeds it
        total += int(np.prod(out)) // max(1, int(out[0])) * per_output * stacked
    return total


def _concat_axis(schema, op) -> int:
    table = op.BuiltinOptions()
    options = schema.ConcatenationOptions()
    options.Init(table.Bytes, table.Pos)
    return options.Axis()
