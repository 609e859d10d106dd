"""The model registry: a plain dict from a model's name to how to build it.

Each family module (resnet.py, vgg.py, ...) registers its named variants with
`@register(...)`; `build_model(name)` looks the name up and builds a fresh tf_keras
model. Importing this module (or the family modules) does not import TensorFlow.

    from fmnist_edge.models import build_model, list_models
    [info.name for info in list_models()]
    model = build_model("vgg198k")                      # 28x28x1, 10 classes
    model = build_model("vgg198k", (64, 128, 1), 9)     # closet canvases, 9 price classes
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import FmnistEdgeError

# builder(input_shape, num_classes, name) -> keras.Model (a flat functional model named `name`, the registry
# name made a valid Keras name: every saved file carries it)
Builder = Callable[[tuple, int, str], Any]

# Ensembles are named by their members: "ensemble:vgg-a+vgg-a+vgg198k" (models/ensemble.py builds them).
ENSEMBLE_PREFIX = "ensemble:"
MEMBER_SEPARATOR = "+"
MAX_MEMBERS = 8  # keeps one file phone-sized (four vgg-a make 991 KB int8); not a limit of the graph itself


@dataclass(frozen=True)
class ModelInfo:
    """One registered model: its name, how to build it and what it expects."""

    name: str  # the registry name users type, e.g. "cnn-bn"
    builder: Builder  # builder(input_shape, num_classes, name) -> keras.Model
    source: str  # where the architecture comes from, one line
    description: str  # what it is, one line
    default_input_shape: tuple[int, int, int]  # (height, width, channels), NHWC
    default_num_classes: int
    # Smallest (height, width) the graph can be built for; smaller inputs are refused
    # with a clear message instead of a Keras shape error deep inside the build.
    min_input_size: tuple[int, int] = (1, 1)

    @property
    def keras_name(self) -> str:
        """The model's name inside Keras (and in saved files): "cnn-bn" -> "cnn_bn"."""
        return keras_name(self.name)


MODELS: dict[str, ModelInfo] = {}


def keras_name(name: str) -> str:
    """A registry name made valid as a Keras model name: "cnn-bn" -> "cnn_bn"."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def register(
    name: str,
    *,
    source: str,
    description: str,
    default_input_shape: tuple[int, int, int],
    default_num_classes: int,
    min_input_size: tuple[int, int] = (1, 1),
) -> Callable[[Builder], Builder]:
    """Decorator that adds a builder `fn(input_shape, num_classes, name) -> keras.Model` to MODELS.

    Example:
        @register("mlp", source="...", description="...", default_input_shape=(28, 28, 1),
                  default_num_classes=10)
        def mlp(input_shape, num_classes, name):
            return _mlp(input_shape, num_classes, name=name, hidden=(512, 256, 128))
    """

    def decorator(fn: Builder) -> Builder:
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        MODELS[name] = ModelInfo(
            name=name,
            builder=fn,
            source=source,
            description=description,
            default_input_shape=tuple(default_input_shape),
            default_num_classes=default_num_classes,
            min_input_size=tuple(min_input_size),
        )
        return fn

    return decorator


def list_models() -> list[ModelInfo]:
    """Every registered model, sorted by name."""
    return [MODELS[name] for name in sorted(MODELS)]


def get_model_info(name: str) -> ModelInfo:
    """The ModelInfo for `name` ("cnn_bn" is accepted for "cnn-bn"); an ensemble of registered models,
    "ensemble:vgg-a+vgg-t" (models/ensemble.py), is described from its members.

    Raises:
        FmnistEdgeError: the name is not registered; the message lists the choices.
    """
    key = str(name).strip().lower()
    if is_ensemble(key):
        return _ensemble_info(key)
    if key not in MODELS:
        by_keras_name = {keras_name(n): n for n in MODELS}
        key = by_keras_name.get(keras_name(key), key)
    if key not in MODELS:
        raise FmnistEdgeError(f"unknown model '{name}'; choose from: {', '.join(sorted(MODELS))}")
    return MODELS[key]


def is_ensemble(name: str) -> bool:
    return str(name).strip().lower().startswith(ENSEMBLE_PREFIX)


def ensemble_name(members: Sequence[str]) -> str:
    """"ensemble:a+b+c" for the registry names `members`, in order."""
    return ENSEMBLE_PREFIX + MEMBER_SEPARATOR.join(members)


def ensemble_members(name: str) -> list[str]:
    """The member names of an ensemble name, each a registered model; FmnistEdgeError when malformed."""
    body = str(name).strip().lower()[len(ENSEMBLE_PREFIX):]
    members = [part.strip() for part in body.split(MEMBER_SEPARATOR)]
    if len(members) < 2 or not all(members):
        raise FmnistEdgeError(f"model '{name}': an ensemble names two or more models joined by "
                              f"'{MEMBER_SEPARATOR}', e.g. {ensemble_name(['vgg-a', 'vgg-t'])}")
    if len(members) > MAX_MEMBERS:
        raise FmnistEdgeError(f"model '{name}': at most {MAX_MEMBERS} members, got {len(members)}")
    if any(is_ensemble(member) for member in members):
        raise FmnistEdgeError(f"model '{name}': an ensemble's members are single models")
    names = [get_model_info(member).name for member in members]  # unknown names fail here, listing the choices
    shapes = {(MODELS[n].default_input_shape, MODELS[n].default_num_classes) for n in names}
    if len(shapes) > 1:
        raise FmnistEdgeError(f"model '{name}': its members are made for different inputs or class counts")
    return names


# models/ensemble.py hands its builder over when the package is imported: the registry describes
# ensembles without importing the module that builds them.
_ENSEMBLE_BUILDER: list[Callable[[str, tuple, int], Any]] = []


def register_ensemble_builder(build: Callable[[str, tuple, int], Any]) -> None:
    _ENSEMBLE_BUILDER[:] = [build]


def _ensemble_info(name: str) -> ModelInfo:
    members = [MODELS[member] for member in ensemble_members(name)]
    canonical = ensemble_name([m.name for m in members])
    return ModelInfo(
        name=canonical,
        builder=lambda shape, classes, _name: _ENSEMBLE_BUILDER[0](canonical, shape, classes),
        source="fmnist-edge's ensemble of " + ", ".join(m.name for m in members),
        description="its members side by side in one graph, the softmax of their mean logit",
        default_input_shape=members[0].default_input_shape,
        default_num_classes=members[0].default_num_classes,
        min_input_size=tuple(max(m.min_input_size[k] for m in members) for k in range(2)),
    )


BATCHNORM_MOMENTUM = 0.9


def build_model(name: str, input_shape: tuple[int, ...] | None = None, num_classes: int | None = None):
    """Build a fresh, untrained tf_keras model from the zoo.

    Every model takes float32 images in [0, 1] shaped (batch, height, width, channels) and
    returns class probabilities from a float32 softmax layer named "probs", so it trains
    under a mixed_bfloat16 policy. Models are flat functional graphs that
    `tfmot.quantization.keras.quantize_model` accepts and that convert to TFLite with
    builtin int8 ops only.

    Args:
        name: registry name, e.g. "vgg198k" (see `list_models()`).
        input_shape: (height, width, channels); None uses the model's default.
        num_classes: number of output classes; None uses the model's default.

    Returns:
        An uncompiled keras.Model named after the registry name ("cnn-bn" -> "cnn_bn").

    Raises:
        FmnistEdgeError: unknown name, malformed shape, input smaller than the model's
            minimum, or fewer than 2 classes.

    Example:
        model = build_model("edge-s")
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    """
    info = get_model_info(name)
    shape = info.default_input_shape if input_shape is None else _check_shape(info, input_shape)
    classes = info.default_num_classes if num_classes is None else _check_classes(info, num_classes)
    model = info.builder(tuple(shape), classes, info.keras_name)
    for layer in model.layers:
        if hasattr(layer, "moving_mean"):
            # Keras' 0.99 needs ~500 steps before the moving statistics used at inference are
            # warm, so short runs (quick checks, a fine-tuning epoch) evaluate near chance; 0.9
            # (PyTorch's default) warms in ~50 steps and trains long runs just as well.
            layer.momentum = BATCHNORM_MOMENTUM
    return model


def count_macs(model) -> int:
    """Multiply-accumulates per image of a built model's Conv2D, DepthwiseConv2D and Dense layers: the count
    `inspection.tflite_macs` reads from an exported file (BatchNorm folds into the convolution before it;
    pooling, activations and additions are not counted)."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind not in ("Conv2D", "DepthwiseConv2D", "Dense"):
            continue
        out = [int(d) for d in layer.output_shape[1:]]
        if kind == "Conv2D":
            per_output = int(layer.kernel_size[0] * layer.kernel_size[1] * layer.input_shape[-1])
        elif kind == "DepthwiseConv2D":
            per_output = int(layer.kernel_size[0] * layer.kernel_size[1])
        else:
            per_output = int(layer.input_shape[-1])
        outputs = 1
        for d in out:
            outputs *= d
        total += outputs * per_output
    return total


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_shape(info: ModelInfo, input_shape: Any) -> tuple[int, int, int]:
    try:
        dims = tuple(input_shape)
    except TypeError:
        dims = ()
    if len(dims) != 3 or not all(_is_int(d) and d >= 1 for d in dims):
        raise FmnistEdgeError(
            f"model '{info.name}': input shape must be three positive integers "
            f"(height, width, channels); got {input_shape!r}"
        )
    shape = tuple(int(d) for d in dims)
    min_h, min_w = info.min_input_size
    if shape[0] < min_h or shape[1] < min_w:
        raise FmnistEdgeError(
            f"model '{info.name}' needs inputs of at least {min_h}x{min_w} pixels "
            f"(height x width); got {shape[0]}x{shape[1]}"
        )
    return shape


def _check_classes(info: ModelInfo, num_classes: Any) -> int:
    if not _is_int(num_classes) or num_classes < 2:
        raise FmnistEdgeError(f"model '{info.name}': num_classes must be an integer >= 2; got {num_classes!r}")
    return int(num_classes)
