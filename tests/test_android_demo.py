"""The Android app's assets and contract: what `fmnist-edge export ... --android android_demo` placed must be
exactly the shipped export, and the app must take its labels and input contract from the model's files.

The APK itself cannot be built on these machines (no Android SDK, no Google Maven); the app's pure-Kotlin
photo conversion is compiled and run on the JVM by test_kotlin_conversion.py.
"""
import hashlib
import json
from pathlib import Path

import numpy as np

from fmnist_edge.formats import runtime
from fmnist_edge.stages.export.android import android_assets_dir

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "android_demo"
ASSETS = APP / "app" / "src" / "main" / "assets"
SHIPPED_EXPORT = ROOT / "shipped" / "res-s-photo" / "export"
APP_SOURCES = APP / "app" / "src" / "main" / "java" / "org" / "fmnistedge" / "closet"


def test_assets_are_the_shipped_export_byte_for_byte():
    assert android_assets_dir(APP) == ASSETS  # export --android accepts the project as it is
    record = json.loads((SHIPPED_EXPORT / "model.json").read_text())
    assert (ASSETS / "model.json").read_bytes() == (SHIPPED_EXPORT / "model.json").read_bytes()
    assert (ASSETS / "labels.txt").read_bytes() == (SHIPPED_EXPORT / "labels.txt").read_bytes()
    models = sorted(p.name for p in ASSETS.glob("*.tflite"))
    assert models == ["model_int8.tflite", "model_int8_b1.tflite"]
    by_file = {entry["file"]: entry for entry in record["formats"].values()}
    for name in models:
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == by_file[name]["sha256"], name


def test_the_model_the_app_loads_is_uint8_batch1_with_its_labels_packed_in():
    """The app picks the uint8 batch-1 entry of model.json (ModelContract.parse) and reads its labels from the
    model's metadata: both must be there, and agree with the export's labels."""
    record = json.loads((ASSETS / "model.json").read_text())
    chosen = [e for e in record["formats"].values()
              if e.get("io", {}).get("input", {}).get("dtype") == "uint8" and e["io"]["input"]["shape"][0] == 1]
    assert [e["file"] for e in chosen] == ["model_int8_b1.tflite"]
    io = chosen[0]["io"]
    assert io["input"]["shape"] == [1, 28, 28, 1] and io["output"]["shape"] == [1, len(record["labels"])]
    assert record["input"]["polarity"] == "light garment on a dark background"
    model = runtime.load_model(ASSETS / "model_int8_b1.tflite")
    assert model.labels == record["labels"]
    image = np.zeros((1, 28, 28), np.uint8)
    assert model.predict(image).shape == (1, len(record["labels"]))


def test_app_holds_no_model_constants():
    """Labels come from the metadata, the file name and input contract from model.json: no Kotlin source may
    name the labels file or the model file itself."""
    for source in APP_SOURCES.glob("*.kt"):
        text = source.read_text()
        for constant in ("labels.txt", "model_int8.tflite", "model_int8_b1.tflite", "1 / 255", "0.00392"):
            assert constant not in text, f"{source.name} hard-codes {constant!r}"
