"""The model zoo: trained int8 models that ship inside the package, ready on a device.

    fmnist-edge zoo list
    fmnist-edge predict --zoo vgg-a-photo shirt.jpg
    model = fmnist_edge.zoo.load("vgg-a-photo"); model.predict(uint8_images)

Each model is a .tflite file (full integer, uint8 in and out, TFLite Model Metadata with its labels)
beside zoo.json, the manifest: dataset, accuracy on the official test set (measured when the file was
exported, and held by `check` to budget.toml), size, sha256, the exact training command, seed, the git
commit it was trained at and the date. A file whose sha256 differs from the manifest is refused. Works
in the deploy-only install (no TensorFlow). `scripts/build_zoo.py` writes the folder from `shipped/`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FmnistEdgeError

ZOO_DIR = Path(__file__).resolve().parent
MANIFEST = "zoo.json"


@dataclass(frozen=True)
class ZooModel:
    """One zoo entry as the manifest records it."""

    name: str
    record: dict[str, Any]
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / self.record["file"]

    def verified_path(self) -> Path:
        """The model file, after checking it is the one the manifest describes."""
        if not self.path.is_file():
            raise FmnistEdgeError(f"zoo model {self.name}: {self.path} is missing from the package")
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        if digest != self.record["sha256"]:
            raise FmnistEdgeError(f"zoo model {self.name}: {self.path.name} does not match the manifest "
                                  f"(sha256 {digest[:12]}..., expected {self.record['sha256'][:12]}...); reinstall fmnist-edge")
        return self.path


def list_models(folder: Path | None = None) -> list[ZooModel]:
    """Every zoo model, in the manifest's order (the recommended one first). `folder`: another zoo folder."""
    folder = Path(folder) if folder is not None else ZOO_DIR
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise FmnistEdgeError(f"{manifest}: the zoo manifest is missing; reinstall fmnist-edge")
    return [ZooModel(entry["name"], entry, folder) for entry in json.loads(manifest.read_text())["models"]]


def get(name: str, folder: Path | None = None) -> ZooModel:
    models = {m.name: m for m in list_models(folder)}
    if name not in models:
        raise FmnistEdgeError(f"no zoo model {name!r}; choose from: {', '.join(models)}")
    return models[name]


def load(name: str, num_threads: int | None = None, folder: Path | None = None):
    """The zoo model `name` in LiteRT (fmnist_edge.runtime.TFLiteModel), its sha256 checked first.

    Example:
        >>> fmnist_edge.zoo.load("vgg-a-photo").predict(x_test[:8]).argmax(1)
    """
    from ..runtime import load_model

    return load_model(get(name, folder).verified_path(), num_threads=num_threads)
