"""The model zoo: trained int8 models that ship inside the package, ready on a device.

    fmnist-edge zoo list
    fmnist-edge predict --zoo res-s-photo shirt.jpg
    model = fmnist_edge.zoo.load("res-s-photo"); model.predict(uint8_images)

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

    def verified_path(self, file: str | None = None, sha256: str | None = None) -> Path:
        """The model file (or another file of the entry, such as its batch-1 "page" file, with its sha256),
        after checking it is the one the manifest describes."""
        path = self.path if file is None else self.folder / Path(file).name
        expected = self.record["sha256"] if sha256 is None else sha256
        if not path.is_file():
            raise FmnistEdgeError(f"zoo model {self.name}: {path} is missing from the package")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected:
            raise FmnistEdgeError(f"zoo model {self.name}: {path.name} does not match the manifest "
                                  f"(sha256 {digest[:12]}..., expected {expected[:12]}...); reinstall fmnist-edge")
        return path


def list_models(folder: Path | None = None) -> list[ZooModel]:
    """Every zoo model, in the manifest's order (the recommended one first). `folder`: another zoo folder."""
    folder = Path(folder) if folder is not None else ZOO_DIR
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise FmnistEdgeError(f"{manifest}: the zoo manifest is missing; reinstall fmnist-edge")
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FmnistEdgeError(f"{manifest}: the zoo manifest is not valid JSON ({exc}); reinstall fmnist-edge") from None
    entries = document.get("models") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise FmnistEdgeError(f"{manifest}: the zoo manifest has no \"models\" list; reinstall fmnist-edge")
    return [ZooModel(_check_entry(manifest, i, entry)["name"], entry, folder) for i, entry in enumerate(entries, 1)]


# What every manifest entry must hold, and of what type: the commands read these without asking again.
REQUIRED = {"name": str, "model": str, "dataset": str, "file": str, "sha256": str, "size_bytes": int, "accuracy": float}


def _check_entry(manifest: Path, i: int, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise FmnistEdgeError(f"{manifest}: model {i} is not an object; reinstall fmnist-edge")
    for key, kind in REQUIRED.items():
        value = entry.get(key)
        ok = isinstance(value, (int, float) if kind is float else kind) and not isinstance(value, bool)
        if not ok or (key == "sha256" and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value))):
            raise FmnistEdgeError(f"{manifest}: model {i} ({entry.get('name', '?')}) has no valid {key!r}; "
                                  f"reinstall fmnist-edge")
    if Path(entry["file"]).name != entry["file"]:
        raise FmnistEdgeError(f"{manifest}: model {i} ({entry['name']}): file {entry['file']!r} must be a plain "
                              f"file name in the zoo folder")
    return entry


def get(name: str, folder: Path | None = None) -> ZooModel:
    models = {m.name: m for m in list_models(folder)}
    if name not in models:
        raise FmnistEdgeError(f"no zoo model {name!r}; choose from: {', '.join(models)}")
    return models[name]


def load(name: str, num_threads: int | None = None, folder: Path | None = None):
    """The zoo model `name` in LiteRT (fmnist_edge.formats.runtime.TFLiteModel), its sha256 checked first.

    Example:
        >>> fmnist_edge.zoo.load("res-s-photo").predict(x_test[:8]).argmax(1)
    """
    from ..formats.runtime import load_model

    return load_model(get(name, folder).verified_path(), num_threads=num_threads)
