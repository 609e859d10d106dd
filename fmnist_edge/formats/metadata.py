"""TFLite Model Metadata for image classifiers, written without tflite-support.

Android Studio ML Model Binding and the TFLite Task Library read "TFLite Model Metadata": a
flatbuffer (schema metadata_schema.fbs, file identifier "M001") stored in one of the model's
buffers and named TFLITE_METADATA in the model's `metadata` vector. Associated files
(labels.txt) follow the model as an uncompressed zip archive, so the file is both a valid
.tflite flatbuffer and a valid zip. tflite-support, which writes this, cannot be installed
beside TensorFlow 2.21 (it needs protobuf<4), so this module writes the same structure as its
image-classifier MetadataWriter with the `flatbuffers` package:

    meta = ImageClassifierMetadata(name="fmnist-vgg", description="Fashion-MNIST classifier",
                                   version="1", author="me", license="Apache-2.0", labels=CLASSES)
    out.write_bytes(add_metadata(plain.read_bytes(), meta))
    read_metadata(out.read_bytes())["output"]["associated_files"]  # [{"name": "labels.txt", ...}]

Checked against tflite-support 0.4.4 in a separate environment: its MetadataDisplayer parses
the result, and its populated image-classifier metadata is the same apart from the color space
(its create_for_inference always writes RGB). Its Task Library ImageClassifier, like MediaPipe
Tasks, accepts only RGB inputs of shape 1 x H x W x 3 and refuses GRAYSCALE ("Only RGB color
space is supported for now"). So a 28x28x1 model needs an RGB-input variant to run there; on
an RGB model it read these labels and normalization and matched LiteRT's scores exactly.

Both directions use flatc-generated schema modules, never hand-written offsets: the TFLite model
schema that LiteRT ships (ai_edge_litert.schema_py_generated, TensorFlow's copy where only TensorFlow
is installed; see inspection.tflite_schema) and the metadata schema below. Reading (`read_metadata`,
`read_associated_files`) needs no TensorFlow, so a deploy-only install can read the labels out of a
model.

The metadata schema bindings, _metadata_schema_generated.py, are flatc output for
metadata_schema.fbs (vendored beside it, from the tflite-support 0.4.4 wheel). To regenerate:

    apt-get install flatbuffers-compiler   # Debian bookworm ships flatc 2.0.8
    flatc --python --gen-object-api --gen-onefile -o /tmp/out fmnist_edge/formats/metadata_schema.fbs
    # then put the license and provenance header of the current _metadata_schema_generated.py
    # in front of /tmp/out/metadata_schema_generated.py and save it under that name.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, fields
from struct import error as struct_error

import flatbuffers
import numpy as np

from . import _metadata_schema_generated as _mfb
from .inspection import tflite_schema
from .runtime import read_associated_files  # noqa: F401  (part of this module's reading API)

METADATA_NAME = "TFLITE_METADATA"  # the model metadata entry every metadata reader looks up
_MODEL_IDENTIFIER = b"TFL3"
_METADATA_IDENTIFIER = b"M001"
# TFLite's schema declares Buffer.data with (force_align: 16) and the converter honours it;
# flatc's Python BufferT.Pack ignores force_align, so buffers are packed aligned here.
_BUFFER_ALIGNMENT = 16
# tflite-support's MetadataPopulator records the oldest metadata parser that understands every
# schema member in use. All members written here (ImageProperties, FeatureProperties,
# NormalizationOptions, Stats, a TENSOR_AXIS_LABELS file without a version) exist since 1.0.0.
_MIN_PARSER_VERSION = "1.0.0"
_OPTIONAL_FIELDS = ("input_range", "output_range", "min_parser_version")  # may be None
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same model and metadata give the same bytes
# The descriptions tflite-support's image-classifier MetadataWriter writes.
_INPUT_DESCRIPTION = "Input image to be classified."
_OUTPUT_DESCRIPTION = "Probabilities of the labels respectively."
_LABELS_DESCRIPTION = "Labels for categories that the model can recognize."


@dataclass(frozen=True)
class ImageClassifierMetadata:
    """What an image-classifier .tflite tells Android Studio and the TFLite Task Library.

    Sequences are stored as tuples of str / float, so lists are accepted too.
    """

    name: str
    description: str
    version: str
    author: str
    license: str
    labels: tuple[str, ...]  # one per output score, in output order; written as labels.txt
    input_name: str = "image"  # the names tflite-support's image-classifier writer uses
    output_name: str = "probability"
    color_space: str = "GRAYSCALE"  # an ImageProperties ColorSpaceType: UNKNOWN, RGB or GRAYSCALE
    # The Task Library feeds float models (pixel - mean) / std: 0 and 255 give the pixels/255
    # our models train on. For uint8 inputs it skips normalization, but image-classifier
    # MetadataWriter records it anyway, and so does this module.
    norm_mean: tuple[float, ...] = (0.0,)
    norm_std: tuple[float, ...] = (255.0,)
    # Stats: the (min, max) of the values in the input / output tensor (informational; the Task
    # Library does not read them). None derives them from the tensor's type, as tflite-support's
    # image-classifier MetadataWriter does: uint8 -> (0, 255); float32 input -> the pixel range
    # 0..255 normalized, (0 - mean) / std .. (255 - mean) / std, so (0, 1) by default; float32
    # output -> (0, 1), softmax probabilities; any other type -> no stats.
    input_range: tuple[float, float] | None = None
    output_range: tuple[float, float] | None = None
    labels_file: str = "labels.txt"  # name of the label file in the appended zip
    # None records what tflite-support's MetadataPopulator computes for this content: "1.0.0".
    min_parser_version: str | None = None

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "labels":
                value = tuple(value)
            elif field.name in ("norm_mean", "norm_std") or (field.name.endswith("_range") and value is not None):
                value = tuple(float(v) for v in value)
            elif not isinstance(value, str) and not (field.name in _OPTIONAL_FIELDS and value is None):
                raise ValueError(f"ImageClassifierMetadata.{field.name} must be a string, got {value!r}")
            object.__setattr__(self, field.name, value)
        if self.color_space not in _enum_values(_mfb.ColorSpaceType):
            raise ValueError(
                f"color_space must be one of {sorted(_enum_values(_mfb.ColorSpaceType))}, got {self.color_space!r}"
            )
        if not self.norm_mean or len(self.norm_mean) != len(self.norm_std):
            raise ValueError(
                f"norm_mean and norm_std need the same, non-zero length: got {self.norm_mean} and {self.norm_std}"
            )
        if any(std == 0 for std in self.norm_std):
            raise ValueError(f"norm_std must not contain 0: got {self.norm_std}")
        for range_name in ("input_range", "output_range"):
            if getattr(self, range_name) is not None and len(getattr(self, range_name)) != 2:
                raise ValueError(f"{range_name} must be (min, max), got {getattr(self, range_name)}")
        if not self.labels:
            raise ValueError("labels must not be empty")
        for label in self.labels:
            if not isinstance(label, str) or not label or "\n" in label or "\r" in label:
                raise ValueError(f"each label must be a non-empty one-line string, got {label!r}")
        if not self.labels_file or "/" in self.labels_file or "\\" in self.labels_file:
            raise ValueError(f"labels_file must be a plain file name, got {self.labels_file!r}")
        version = self.min_parser_version
        if version is not None and not re.fullmatch(r"\d+(\.\d+){0,2}", version):
            raise ValueError(f"min_parser_version must look like '1.0.0', got {version!r}")


def add_metadata(tflite_bytes: bytes, meta: ImageClassifierMetadata, *, keep_tensor_names: bool = True) -> bytes:
    """Return `tflite_bytes` with image-classifier metadata and its labels file packed in.

    The model flatbuffer is unpacked and repacked with TensorFlow's TFLite schema (same
    tensors, operators, buffers, signatures and other metadata entries such as
    min_runtime_version; constant buffers stay 16-byte aligned), plus one buffer holding the
    metadata flatbuffer and a TFLITE_METADATA entry pointing at it. An existing
    TFLITE_METADATA entry is replaced in place. The labels follow as an uncompressed zip
    holding exactly `meta.labels_file`, one label per line; any zip that followed the input
    (for example from an earlier add_metadata) is dropped.

    Args:
        tflite_bytes: a .tflite model whose main subgraph has one input and one output.
        meta: what to record.
        keep_tensor_names: False drops the names of every tensor but the subgraphs' inputs and
            outputs (see drop_intermediate_tensor_names).

    Returns:
        The new .tflite file's bytes.

    Raises:
        ValueError: not a TFLite model, more than one input or output, a label count that
            differs from the output size, or buffers stored outside the flatbuffer (>2 GB models).

    Example:
        >>> tagged = add_metadata(Path("int8.tflite").read_bytes(), meta)
        >>> read_associated_files(tagged)["labels.txt"].decode().split()[:2]
        ['T-shirt/top', 'Trouser']
    """
    _check_tflite(tflite_bytes)
    schema = tflite_schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(tflite_bytes, 0))
    if not model.subgraphs:
        raise ValueError("the TFLite model has no subgraph")
    subgraph = model.subgraphs[0]
    n_inputs, n_outputs = len(_as_list(subgraph.inputs)), len(_as_list(subgraph.outputs))
    if n_inputs != 1 or n_outputs != 1:
        raise ValueError(
            "image classifier metadata needs a model with exactly one input and one output; "
            f"this model's main subgraph has {n_inputs} input(s) and {n_outputs} output(s)"
        )
    output_shape = _as_list(subgraph.tensors[int(subgraph.outputs[0])].shape)
    if output_shape and output_shape[-1] > 0 and output_shape[-1] != len(meta.labels):
        raise ValueError(
            f"the model outputs {output_shape[-1]} scores but {len(meta.labels)} labels were given"
        )
    if any((buffer.offset or 0) > 1 for buffer in model.buffers or ()):
        raise ValueError("buffers stored outside the flatbuffer (models over 2 GB) are not supported")

    input_stats = _input_range(meta, subgraph.tensors[int(subgraph.inputs[0])].type, schema.TensorType)
    output_stats = _output_range(meta, subgraph.tensors[int(subgraph.outputs[0])].type, schema.TensorType)
    _set_metadata_buffer(model, schema, _build_metadata(meta, input_stats, output_stats))
    if not keep_tensor_names:
        drop_intermediate_tensor_names(model)
    model.buffers = [_AlignedBuffer(buffer, schema) for buffer in model.buffers]
    builder = flatbuffers.Builder(len(tflite_bytes) + 4096)  # sized once: growing copies the buffer
    builder.Finish(model.Pack(builder), file_identifier=_MODEL_IDENTIFIER)
    labels_text = "".join(label + "\n" for label in meta.labels).encode("utf-8")
    return _append_zip(bytes(builder.Output()), {meta.labels_file: labels_text})


def drop_intermediate_tensor_names(model) -> None:
    """Clear the names of every tensor but each subgraph's inputs and outputs, in a TFLite ModelT.

    The converter names a tensor after every op fused into it ("vgg/conv2/Conv2D;vgg/bn2/
    FusedBatchNormV3;..."): 3-4 KB per model, 6% of a 48 KB int8 file. Nothing reads them at run
    time; they only label graphs in viewers such as Netron. TensorFlow's
    flatbuffer_utils.strip_strings clears them too, but also drops the signature defs, which
    LiteRT's CompiledModel and signature runners look models up by; these are kept, as are the
    input and output names.
    """
    for subgraph in model.subgraphs or ():
        kept = {int(i) for i in _as_list(subgraph.inputs)} | {int(i) for i in _as_list(subgraph.outputs)}
        for index, tensor in enumerate(subgraph.tensors or ()):
            if index not in kept:
                tensor.name = None


def read_metadata(tflite_bytes: bytes) -> dict:
    """Parse a model's TFLITE_METADATA into a plain dict (no TensorFlow needed).

    Returns:
        {name, description, version, author, license, min_parser_version,
         input: {name, description, color_space, mean, std, min, max},
         output: {name, description, min, max, associated_files: [{name, description, type}]}}
        for the first input and output tensor (ours have one each; None if not described).
        mean, std, min and max are per-channel lists (None if absent); float32 values come
        back as the shortest decimal that round-trips, so 0.1 written reads as 0.1.

    Raises:
        ValueError: not a TFLite model, no TFLITE_METADATA entry, or not M001 metadata.

    Example:
        >>> read_metadata(Path("model.tflite").read_bytes())["input"]["std"]
        [255.0]
    """
    buffer = _metadata_buffer(tflite_bytes)
    if not _mfb.ModelMetadata.ModelMetadataBufferHasIdentifier(buffer, 0):
        raise ValueError(f"the {METADATA_NAME} buffer is not TFLite Model Metadata (identifier is not M001)")
    metadata = _mfb.ModelMetadataT.InitFromObj(_mfb.ModelMetadata.GetRootAs(buffer, 0))
    subgraph = metadata.subgraphMetadata[0] if metadata.subgraphMetadata else None
    inputs = (subgraph.inputTensorMetadata if subgraph else None) or []
    outputs = (subgraph.outputTensorMetadata if subgraph else None) or []
    return {
        "name": _text(metadata.name),
        "description": _text(metadata.description),
        "version": _text(metadata.version),
        "author": _text(metadata.author),
        "license": _text(metadata.license),
        "min_parser_version": _text(metadata.minParserVersion),
        "input": _input_dict(inputs[0]) if inputs else None,
        "output": _output_dict(outputs[0]) if outputs else None,
    }


def _check_tflite(data: bytes) -> None:
    if len(data) < 8 or bytes(data[4:8]) != _MODEL_IDENTIFIER:
        raise ValueError(f"not a TFLite model: bytes 4..8 are {bytes(data[4:8])!r}, expected {_MODEL_IDENTIFIER!r}")


def _as_list(values) -> list[int]:
    return [] if values is None else [int(v) for v in values]


# Stats as (per-channel minima, per-channel maxima), or None for no stats.
_Stats = tuple[list[float], list[float]] | None


def _input_range(meta: ImageClassifierMetadata, tensor_type: int, types) -> _Stats:
    if meta.input_range is not None:
        return [meta.input_range[0]], [meta.input_range[1]]
    if tensor_type == types.UINT8:
        return [0.0], [255.0]
    if tensor_type == types.FLOAT32:  # pixels 0..255 after normalization, per channel
        pairs = list(zip(meta.norm_mean, meta.norm_std))
        return [(0.0 - mean) / std for mean, std in pairs], [(255.0 - mean) / std for mean, std in pairs]
    return None


def _output_range(meta: ImageClassifierMetadata, tensor_type: int, types) -> _Stats:
    if meta.output_range is not None:
        return [meta.output_range[0]], [meta.output_range[1]]
    return {types.UINT8: ([0.0], [255.0]), types.FLOAT32: ([0.0], [1.0])}.get(tensor_type)


def _build_metadata(meta: ImageClassifierMetadata, input_stats: _Stats, output_stats: _Stats) -> bytes:
    """The ModelMetadata flatbuffer (identifier M001) that tflite-support's image-classifier writer makes."""
    image = _mfb.ImagePropertiesT()
    image.colorSpace = _enum_values(_mfb.ColorSpaceType)[meta.color_space]
    normalization = _mfb.NormalizationOptionsT()
    normalization.mean, normalization.std = list(meta.norm_mean), list(meta.norm_std)
    unit = _mfb.ProcessUnitT()
    unit.optionsType, unit.options = _mfb.ProcessUnitOptions.NormalizationOptions, normalization
    input_md = _tensor_metadata(meta.input_name, _INPUT_DESCRIPTION, input_stats)
    input_md.content = _content(_mfb.ContentProperties.ImageProperties, image)
    input_md.processUnits = [unit]

    labels = _mfb.AssociatedFileT()
    labels.name, labels.description = meta.labels_file, _LABELS_DESCRIPTION
    labels.type = _mfb.AssociatedFileType.TENSOR_AXIS_LABELS
    output_md = _tensor_metadata(meta.output_name, _OUTPUT_DESCRIPTION, output_stats)
    output_md.content = _content(_mfb.ContentProperties.FeatureProperties, _mfb.FeaturePropertiesT())
    output_md.associatedFiles = [labels]

    subgraph = _mfb.SubGraphMetadataT()
    subgraph.inputTensorMetadata, subgraph.outputTensorMetadata = [input_md], [output_md]
    model = _mfb.ModelMetadataT()
    model.name, model.description, model.version = meta.name, meta.description, meta.version
    model.author, model.license = meta.author, meta.license
    model.subgraphMetadata = [subgraph]
    model.minParserVersion = meta.min_parser_version or _MIN_PARSER_VERSION
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=_METADATA_IDENTIFIER)
    return bytes(builder.Output())


def _tensor_metadata(name: str, description: str, stats: _Stats):
    tensor = _mfb.TensorMetadataT()
    tensor.name, tensor.description = name, description
    tensor.stats = _mfb.StatsT()  # an empty Stats table when the range is unknown, as tflite-support writes
    if stats is not None:
        tensor.stats.min, tensor.stats.max = stats
    return tensor


def _content(kind: int, properties):
    content = _mfb.ContentT()
    content.contentPropertiesType, content.contentProperties = kind, properties
    return content


def _set_metadata_buffer(model, schema, metadata: bytes) -> None:
    """Point the model's TFLITE_METADATA entry at a buffer holding `metadata`, as MetadataPopulator does."""
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata, dtype=np.uint8)
    entries = list(model.metadata or [])
    ours = [entry for entry in entries if _text(entry.name) == METADATA_NAME]
    if ours:  # replace in place; drop duplicate entries a broken writer may have left
        model.buffers[ours[0].buffer] = buffer
        model.metadata = [entry for entry in entries if entry is ours[0] or _text(entry.name) != METADATA_NAME]
        return
    model.buffers = list(model.buffers or []) + [buffer]
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(model.buffers) - 1
    model.metadata = entries + [entry]


class _AlignedBuffer:
    """Packs a schema BufferT as BufferT.Pack does, with its data starting on a 16-byte boundary."""

    def __init__(self, buffer, schema):
        self._buffer, self._schema = buffer, schema

    def Pack(self, builder):  # noqa: N802 (the flatbuffers object API's method name)
        schema, data = self._schema, None
        if self._buffer.data is not None:
            payload = np.ascontiguousarray(self._buffer.data, dtype=np.uint8).ravel()
            builder.Prep(_BUFFER_ALIGNMENT, payload.size)  # so the bytes written next end up aligned
            data = builder.CreateNumpyVector(payload)
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        schema.BufferAddOffset(builder, self._buffer.offset)
        schema.BufferAddSize(builder, self._buffer.size)
        return schema.BufferEnd(builder)


def _append_zip(model: bytes, files: dict[str, bytes]) -> bytes:
    """`model` followed by a stored (uncompressed) zip of `files`, offsets counted from the file start.

    The Task Library's and the Android metadata extractor's zip readers only handle stored entries.
    """
    out = io.BytesIO()
    out.write(model)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:  # "w" starts at out.tell()
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, content, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


# --- reading the model flatbuffer without TensorFlow: only Model.metadata and Model.buffers ---
def _metadata_buffer(data: bytes) -> bytes:
    """The bytes of the buffer the TFLITE_METADATA entry points at, read with the generated schema."""
    _check_tflite(data)
    try:
        model = tflite_schema().Model.GetRootAs(data, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if entry.Name() == METADATA_NAME.encode():
                index = entry.Buffer()
                if index >= model.BuffersLength():
                    raise ValueError(f"{METADATA_NAME} points at buffer {index}, but the model has {model.BuffersLength()}")
                buffer = model.Buffers(index)
                if buffer.DataLength():
                    return buffer.DataAsNumpy().tobytes()
                if buffer.Offset() > 1:  # >2 GB models keep buffer data after the flatbuffer, at a file offset
                    return bytes(data[buffer.Offset() : buffer.Offset() + buffer.Size()])
                return b""
    except (IndexError, struct_error) as exc:
        raise ValueError(f"not a valid TFLite flatbuffer ({exc})") from exc
    raise ValueError(f"the model has no {METADATA_NAME} metadata entry (no TFLite Model Metadata)")


# --- turning the metadata object tree into plain Python values ---


def _text(value) -> str | None:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _floats(values) -> list[float] | None:
    """float32 values as the shortest decimals that round-trip through float32."""
    return None if values is None else [float(str(np.float32(v))) for v in values]


def _enum_values(enum) -> dict[str, int]:
    return {name: value for name, value in vars(enum).items() if not name.startswith("_")}


def _enum_name(enum, value: int) -> str:
    return {v: k for k, v in _enum_values(enum).items()}.get(value, str(value))


def _tensor_dict(tensor) -> dict:
    stats = tensor.stats
    return {
        "name": _text(tensor.name),
        "description": _text(tensor.description),
        "min": _floats(stats.min) if stats else None,
        "max": _floats(stats.max) if stats else None,
    }


def _input_dict(tensor) -> dict:
    result = _tensor_dict(tensor)
    content = tensor.content
    is_image = content is not None and content.contentPropertiesType == _mfb.ContentProperties.ImageProperties
    result["color_space"] = _enum_name(_mfb.ColorSpaceType, content.contentProperties.colorSpace) if is_image else None
    norms = [
        unit.options
        for unit in tensor.processUnits or []
        if unit.optionsType == _mfb.ProcessUnitOptions.NormalizationOptions
    ]
    result["mean"] = _floats(norms[0].mean) if norms else None
    result["std"] = _floats(norms[0].std) if norms else None
    return result


def _output_dict(tensor) -> dict:
    result = _tensor_dict(tensor)
    result["associated_files"] = [
        {
            "name": _text(file.name),
            "description": _text(file.description),
            "type": _enum_name(_mfb.AssociatedFileType, file.type),
        }
        for file in tensor.associatedFiles or []
    ]
    return result
