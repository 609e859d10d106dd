"""fmnist-edge: train, quantize, export and benchmark compact Fashion-MNIST classifiers.

    import fmnist_edge as fe
    run = fe.train("vgg198k", epochs=30, out="runs/vgg")
    print(run.summary())

The public API is flat and lazy: `import fmnist_edge` loads neither TensorFlow nor
numpy-heavy modules until a name that needs them is used, so a deploy-only install
(no TensorFlow) can import the package.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_API = {
    "train": "stages.train",
    "Run": "stages.train",
    "ensemble": "stages.ensemble",
    "Ensembled": "stages.ensemble",
    "evaluate_model": "artifacts.keras_files",
    "quantize": "stages.quantize",
    "Optimized": "stages.quantize",
    "QuantizeSettings": "stages.quantize",
    "load_model": "formats.runtime",
    "predict": "stages.predict",
    "export": "stages.export",
    "Exported": "stages.export",
    "bench": "stages.benchmark",
    "BenchResult": "stages.benchmark",
    "check": "stages.benchmark",
    "pipeline": "workflow",
    "TrainSettings": "settings",
    "resolve_settings": "settings",
    "build_model": "models",
    "list_models": "models",
    "Dataset": "data",
    "load_dataset": "data",
    "load_fashion_mnist": "data",
    "make_closet": "data",
    "save_closet": "data",
    "load_closet": "data",
    "FmnistEdgeError": "errors",
    "BudgetExceededError": "errors",
}

__all__ = sorted(_API) + ["__version__", "zoo"]


_SUBPACKAGES = ("zoo",)  # `fmnist_edge.zoo.load(NAME)` works after a bare `import fmnist_edge`


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name not in _API:
        raise AttributeError(f"module 'fmnist_edge' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
