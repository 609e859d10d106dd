"""The only module that imports TensorFlow and Keras.

tensorflow-model-optimization needs Keras 2 (tf_keras): TF_USE_LEGACY_KERAS must be
set before tensorflow is first imported, so every other module gets TensorFlow from
here, lazily, inside functions. That keeps `fmnist-edge --help` instant and lets the
deploy-only install run without TensorFlow at all.
"""
from __future__ import annotations

import os

from ._quiet import quiet_native_stderr
from .errors import FmnistEdgeError

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_loaded = None


def tf():
    """Return the tensorflow module, imported with Keras 2 as tf.keras."""
    global _loaded
    if _loaded is None:
        try:
            with quiet_native_stderr():
                import tensorflow
        except ImportError:  # a deploy-only install: running exported models needs no TensorFlow
            raise FmnistEdgeError("this needs TensorFlow, which a deploy-only install leaves out: "
                                  "pip install 'fmnist-edge[train]'") from None
        with quiet_native_stderr():
            tensorflow.config.list_physical_devices()  # device discovery prints the CUDA lines
        _loaded = tensorflow
    return _loaded


def keras():
    """Return tf_keras (Keras 2), the Keras every fmnist-edge model is built with."""
    tf()
    import tf_keras

    return tf_keras


def tfmot():
    """Return tensorflow_model_optimization."""
    keras()
    import tensorflow_model_optimization

    return tensorflow_model_optimization
