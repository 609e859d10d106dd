"""The only module that imports TensorFlow and Keras.

tensorflow-model-optimization needs Keras 2 (tf_keras): TF_USE_LEGACY_KERAS must be
set before tensorflow is first imported, so every other module gets TensorFlow from
here, lazily, inside functions. That keeps `fmnist-edge --help` instant and lets the
deploy-only install run without TensorFlow at all.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Lines TensorFlow's C++ side prints while it loads, before absl logging is set up (so
# TF_CPP_MIN_LOG_LEVEL cannot silence them). They say nothing a user can act on.
_STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on|"
    r"Could not find cuda drivers|failed call to cuInit|This TensorFlow binary is optimized|"
    r"To enable the following instructions|Unable to register cu(DNN|FFT|BLAS) factory|"
    r"computation placer already registered|TF-TRT Warning"
)
_loaded = None


def tf():
    """Return the tensorflow module, imported with Keras 2 as tf.keras."""
    global _loaded
    if _loaded is None:
        with _filtered_stderr():
            import tensorflow

            tensorflow.config.list_physical_devices()  # device discovery prints the CUDA lines
        _loaded = tensorflow
    return _loaded


@contextlib.contextmanager
def _filtered_stderr():
    """Capture file descriptor 2 (C++ writes there directly) and replay all but start-up noise."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr (some embedded hosts): nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as captured:
        sys.stderr.flush()
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not _STARTUP_NOISE.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


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
