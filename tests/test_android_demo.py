"""The Android app's assets and contract: what `fmnist-edge export ... --android android_demo` placed must be
exactly the shipped export, and the app must take its labels and input contract from the model's files.

The APK itself cannot be built on these machines (no Android SDK, no Google Maven); the app's pure-Kotlin
photo conversion is compiled and run on the JVM by test_kotlin_conversion.py, and its reading of model.json
(ModelContract.kt) here, against Android's org.json (Debian's libandroid-json-java, `make tools`).
"""
import copy
import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fmnist_edge.demo import page_model
from fmnist_edge.formats import runtime
from fmnist_edge.stages.export.android import android_assets_dir

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "android_demo"
ASSETS = APP / "app" / "src" / "main" / "assets"
SHIPPED_EXPORT = ROOT / "shipped" / "res-s-photo" / "export"
APP_SOURCES = APP / "app" / "src" / "main" / "java" / "org" / "fmnistedge" / "closet"
KOTLINC = ROOT / ".tools" / "node_modules" / "kotlin-compiler" / "bin" / "kotlinc"
ANDROID_JSON = Path("/usr/share/java/com.android.json.jar")


def test_assets_are_the_shipped_export_byte_for_byte():
    assert android_assets_dir(APP) == ASSETS  # export --android accepts the project as it is
    record = json.loads((SHIPPED_EXPORT / "model.json").read_text())
    assert (ASSETS / "model.json").read_bytes() == (SHIPPED_EXPORT / "model.json").read_bytes()
    assert (ASSETS / "labels.txt").read_bytes() == (SHIPPED_EXPORT / "labels.txt").read_bytes()
    models = sorted(p.name for p in ASSETS.glob("*.tflite"))
    assert models == ["model_int8.tflite", "model_int8_b1.tflite", "model_int8_mirror_b1.tflite"]
    by_file = {entry["file"]: entry for entry in record["formats"].values()}
    for name in models:
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == by_file[name]["sha256"], name


def test_the_model_the_app_loads_is_uint8_batch1_looking_twice_with_its_labels_packed_in():
    """The app loads the uint8 batch-1 file of model.json that looks most often (ModelContract.parse, the page's
    rule): the mirror file, which scores a picture and its mirror alike, with its labels in its metadata."""
    record = json.loads((ASSETS / "model.json").read_text())
    chosen = page_model(record)
    assert chosen["file"] == "model_int8_mirror_b1.tflite" and chosen["views"] == 2
    io = chosen["io"]
    assert io["input"]["shape"] == [1, 28, 28, 1] and io["output"]["shape"] == [1, len(record["labels"])]
    assert record["input"]["polarity"] == "light garment on a dark background"
    model = runtime.load_model(ASSETS / chosen["file"])
    assert model.labels == record["labels"]
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(model.predict(images), model.predict(np.ascontiguousarray(images[:, :, ::-1])))


@pytest.fixture(scope="module")
def app_contract(tmp_path_factory):
    """ModelContract.kt compiled for the JVM: a function from model.json records to the line the app's
    contract prints for each (ModelContractCheck.kt)."""
    assert KOTLINC.exists(), f"{KOTLINC} is missing: run `make tools` (bash scripts/install-tools.sh)"
    assert ANDROID_JSON.exists(), f"{ANDROID_JSON} is missing: run `make tools` (Debian's libandroid-json-java)"
    folder = tmp_path_factory.mktemp("contract")
    jar = folder / "contract.jar"
    sources = [APP_SOURCES / "ModelContract.kt", APP / "app/src/test/java/org/fmnistedge/closet/ModelContractCheck.kt"]
    compiled = subprocess.run([str(KOTLINC), *map(str, sources), "-cp", str(ANDROID_JSON), "-include-runtime",
                               "-d", str(jar)], capture_output=True, text=True, timeout=600)
    assert compiled.returncode == 0, compiled.stderr[-2000:]

    def parse(records: list[dict]) -> list[str]:
        paths = []
        for i, record in enumerate(records):
            paths.append(folder / f"model{i}.json")
            paths[-1].write_text(json.dumps(record))
        result = subprocess.run(["java", "-cp", f"{jar}:{ANDROID_JSON}", "org.fmnistedge.closet.ModelContractCheckKt",
                                 *map(str, paths)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.splitlines()

    return parse


@pytest.mark.slow
def test_the_app_and_the_page_pick_the_same_file_from_any_model_json(app_contract):
    """ModelContract.kt against fmnist_edge.demo.page_model (app.js applies the same rule): the assets' record,
    the mirror file listed first or last, a tie, no uint8 batch-1 file at all."""
    record = json.loads((ASSETS / "model.json").read_text())
    formats = record["formats"]
    mirror_last = copy.deepcopy(record)
    mirror_first = {**record, "formats": {"tflite-int8-mirror-b1": formats["tflite-int8-mirror-b1"],
                                          **{k: v for k, v in formats.items() if k != "tflite-int8-mirror-b1"}}}
    tie = copy.deepcopy(record)
    del tie["formats"]["tflite-int8-mirror-b1"]["views"]  # both batch-1 files look once: the first listed wins
    plain_only = {**record, "formats": {k: v for k, v in formats.items() if k != "tflite-int8-mirror-b1"}}
    none = {**record, "formats": {k: v for k, v in formats.items() if k == "tflite-int8"}}  # a dynamic batch only
    records = [mirror_last, mirror_first, tie, plain_only, none]
    lines = app_contract(records)
    io = formats["tflite-int8-b1"]["io"]
    contract = (f"28x28 in {io['input']['quantization'][0]} {io['input']['quantization'][1]} out "
                f"{io['output']['quantization'][0]} {io['output']['quantization'][1]} classes 10")
    expected = [f"{page_model(r)['file']} {contract}" if page_model(r) else
                "refused: model.json lists no uint8 model with batch 1 (export --format tflite-int8-b1)" for r in records]
    assert lines == expected
    assert [line.split()[0] for line in lines[:4]] == ["model_int8_mirror_b1.tflite", "model_int8_mirror_b1.tflite",
                                                       "model_int8_b1.tflite", "model_int8_b1.tflite"]


def test_app_holds_no_model_constants():
    """Labels come from the metadata, the file name and input contract from model.json: no Kotlin source may
    name the labels file or the model file itself."""
    for source in APP_SOURCES.glob("*.kt"):
        text = source.read_text()
        for constant in ("labels.txt", "model_int8.tflite", "model_int8_b1.tflite", "model_int8_mirror_b1.tflite",
                         "1 / 255", "0.00392"):
            assert constant not in text, f"{source.name} hard-codes {constant!r}"
