"""The model zoo: every model by name, built on demand with tf_keras (Keras 2).

    from fmnist_edge.models import build_model, list_models
    model = build_model("edge-s")                 # default 28x28x1 input, 10 classes
    print([m.name for m in list_models()])

Importing this package registers every family module but does not import TensorFlow.
"""
from __future__ import annotations

from .registry import MODELS, ModelInfo, build_model, get_model_info, list_models, register

# Importing a family module registers its models.
from . import cifar_resnet, cnn, edge, ensemble, mlp, resnet, vgg  # noqa: E402,F401  isort: skip

__all__ = ["MODELS", "ModelInfo", "build_model", "get_model_info", "list_models", "register"]
