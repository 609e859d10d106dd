"""The zoo inside the package: its manifest, its files, loading them, and the commands that use them."""
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fmnist_edge
from fmnist_edge.formats import runtime
from fmnist_edge import zoo
from fmnist_edge.cli import cli
from fmnist_edge.errors import FmnistEdgeError
from fmnist_edge.stages.predict import predict

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "preprocess"


def test_manifest_describes_every_file_exactly():
    models = zoo.list_models()
    assert [m.name for m in models][0] == "res-s-photo"  # the recommended model (the demos') first
    pages = [m.record["page"] for m in models if "page" in m.record]  # batch-1 files for the web page
    assert sorted(p.name for p in zoo.ZOO_DIR.glob("*.tflite")) == sorted(
        [m.record["file"] for m in models] + [page["file"] for page in pages])
    total = 0
    for page in pages:
        data = (zoo.ZOO_DIR / page["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == page["sha256"] and len(data) == page["size_bytes"]
        assert page["io"]["input"]["shape"][0] == 1
        total += len(data)
    for m in models:
        data = m.path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == m.record["sha256"] and len(data) == m.record["size_bytes"]
        exported = json.loads((ROOT / m.record["source"] / "export" / "model.json").read_text())["formats"]
        source = exported[m.record.get("export_format", "tflite-int8")]  # res-t-mirror: its run's mirror file
        assert source["sha256"] == m.record["sha256"] and source["accuracy"] == m.record["accuracy"]
        if m.record["model"].startswith("ensemble:"):  # made from trained runs: its command, then theirs
            assert m.record["command"].startswith("fmnist-edge ensemble ")
            members = [member["command"] for member in m.record["members"]]
            assert m.record["model"] == "ensemble:" + "+".join(c.split()[3] for c in members)
            assert all(c.startswith("fmnist-edge train --model ") for c in members)
        else:
            assert m.record["command"].startswith(f"fmnist-edge train --model {m.record['model']}")
        assert m.record["git"]["commit"] and m.record["trained"] and m.record["seed"] == 0
        total += len(data)
    assert total < 4_000_000  # with the page and LiteRT.js, the wheel stays under 10 MB (test_deploy_install)


def test_each_model_names_its_datasets_classes():
    # What each file scores is held to the manifest's record by `check` (budget.toml holds every zoo file,
    # test_budget_holds_every_zoo_model; the zoo_record line, tests/test_bench.py), which make test runs.
    from fmnist_edge.data.closet import CLOSET_CLASSES
    from fmnist_edge.data.fashion import FASHION_CLASSES

    classes = {"fashion": FASHION_CLASSES, "closet": CLOSET_CLASSES}
    for m in zoo.list_models():
        assert zoo.load(m.name).labels == m.record["labels"] == list(classes[m.record["dataset"]]), m.name


def test_a_file_that_differs_from_the_manifest_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "zoo"
    shutil.copytree(zoo.ZOO_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    data = bytearray((folder / "edge-s.tflite").read_bytes())
    data[-1] ^= 0xFF
    (folder / "edge-s.tflite").write_bytes(bytes(data))
    with pytest.raises(FmnistEdgeError, match=r"zoo model edge-s: edge-s.tflite does not match the manifest"):
        zoo.load("edge-s", folder=folder)
    monkeypatch.setattr(zoo, "ZOO_DIR", folder)
    result = CliRunner().invoke(cli, ["predict", "--zoo", "edge-s", str(GOLDEN / "00_photo_0.png")])
    assert result.exit_code == 2 and result.output.startswith("Error: zoo model edge-s: edge-s.tflite does not match")
    assert result.output.count("\n") == 1


def test_predict_with_a_zoo_model_equals_predict_with_its_file():
    pictures = [GOLDEN / "00_photo_0.png", GOLDEN / "05_photo_5.png"]
    result = CliRunner().invoke(cli, ["predict", "--zoo", "res-s-photo", *map(str, pictures), "--json"])
    assert result.exit_code == 0, result.output
    expected = [p.as_dict() for p in predict(zoo.get("res-s-photo").path, pictures)]
    assert [r["top"] for r in json.loads(result.output)] == [e["top"] for e in expected]


def test_zoo_list_and_python_access():
    result = CliRunner().invoke(cli, ["zoo", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["name", "model", "dataset"] and len(lines) == 1 + len(zoo.list_models())
    assert lines[1].startswith("res-s-photo")
    # Columns stay aligned whatever the longest model name (an ensemble's names its members).
    datasets = [m.record["dataset"] for m in zoo.list_models()]
    starts = {line.index(f" {dataset} ") for line, dataset in zip(lines[1:], datasets)}
    assert starts == {lines[0].index(" dataset ")}
    assert next(line for line in lines if line.startswith("res-t-mirror ")).split()[1:4] == ["res-t", "x2", "(mirror)"]
    assert fmnist_edge.zoo.load("vgg198k").predict(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)


def test_unknown_zoo_model_and_missing_images_are_one_line():
    result = CliRunner().invoke(cli, ["predict", "--zoo", "nope", "x.png"])
    assert result.exit_code == 2 and result.output.strip().startswith("Error: no zoo model 'nope'; choose from: res-s-photo")
    result = CliRunner().invoke(cli, ["predict", "model.tflite"])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: give a MODEL file and at least one IMAGE (or --zoo NAME and the images)"


def test_budget_holds_every_zoo_model():
    from fmnist_edge.stages.benchmark.budget import read_budget

    entries = {Path(e["file"]).resolve(): e for e in read_budget(ROOT / "budget.toml")}
    for m in zoo.list_models():
        entry = entries.get(m.path.resolve())
        assert entry is not None, f"budget.toml does not hold zoo model {m.name}"
        assert entry["max_drop"] <= 0.5 and entry["min_accuracy"] <= m.record["accuracy"]
        assert m.record["size_bytes"] <= entry["max_size_bytes"]
        assert Path(entry["source"]).resolve() == (ROOT / m.record["source"]).resolve()
        assert entry.get("dataset", "fashion") == m.record["dataset"], m.name  # scored on its own test set


@pytest.mark.slow
def test_bench_zoo_measures_every_zoo_model(exported, tmp_path, monkeypatch):
    # A zoo folder of three of the package's models, one of them a closet model scored on its own canvases:
    # bench's zoo path is what is under test; `check` scores every shipped file in make test already.
    kept = ["res-t", "vgg-t", "res-closet"]
    folder = tmp_path / "zoo"
    folder.mkdir()
    document = json.loads((zoo.ZOO_DIR / zoo.MANIFEST).read_text())
    document["models"] = [m for m in document["models"] if m["name"] in kept]
    for m in document["models"]:
        shutil.copy(zoo.ZOO_DIR / m["file"], folder / m["file"])
    (folder / zoo.MANIFEST).write_text(json.dumps(document))
    monkeypatch.setattr(zoo, "ZOO_DIR", folder)
    baseline = exported.path.parent  # a small trained run: the zoo rows are what is under test
    result = CliRunner().invoke(cli, ["bench", "--zoo", "--out", str(tmp_path / "bench"), "--runs", "3",
                                      "--warmup", "1", "--baseline", str(baseline)])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "bench" / "bench.json").read_text())["rows"]
    by_model = {r["model"]: r for r in rows if not r["baseline"]}
    assert sorted(by_model) == sorted(kept) and [m.name for m in zoo.list_models()] == list(by_model)
    for m in zoo.list_models():
        row = by_model[m.name]
        assert row["accuracy"] == m.record["accuracy"] and row["size_bytes"] == m.record["size_bytes"]
        assert row["dataset"] == m.record["dataset"]


def test_readme_and_manual_tables_are_the_results_files():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_tables.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
